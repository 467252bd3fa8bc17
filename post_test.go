package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// postRun prepares the post step of main: GitHub runs the action's
// post-entrypoint with the same inputs and environment, no arguments, and
// every entry the main step saved to GITHUB_STATE as STATE_<name>.
func postRun(t *testing.T, main *actionRun) *actionRun {
	t.Helper()
	states := main.states()
	if len(states) == 0 {
		t.Fatalf("the main step saved no state\n%s", main.dump())
	}
	srvURL := main.env["AWS_ENDPOINT_URL_ECS"]
	post := &actionRun{t: t, dir: main.dir, output: main.output, sum: main.sum + ".post", state: main.state + ".post", env: map[string]string{}}
	for k, v := range main.env {
		post.env[k] = v
	}
	post.env["GITHUB_STEP_SUMMARY"] = post.sum
	post.env["GITHUB_STATE"] = post.state
	post.env["AWS_ENDPOINT_URL_ECS"] = srvURL
	for k, v := range states {
		post.env["STATE_"+k] = v
	}
	return post
}

// TestPostAfterKill: the post step is the safety net for a main step that was
// killed (SIGKILL) mid-watch: it rolls back a deployment of ours left
// unfinished (on-cancel: rollback) and says so; it leaves it with the
// manual command (on-cancel: leave); and after a main step that finished,
// it does nothing at all (not a single API call).
func TestPostAfterKill(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		image    string
		onCancel string
		kill     bool // SIGKILL the main step mid-watch
		// wantCalls: the post step calls AWS at all.
		wantCalls    bool
		wantRollback bool
		wantCode     int
		wantSay      []string // in the post step's stdout
	}{
		{name: "main killed mid-watch: rolled back", image: "repo/app:slow", kill: true,
			wantCalls: true, wantRollback: true, wantCode: 0, wantSay: []string{"::warning", "rollback to web:1 issued"}},
		{name: "main killed mid-watch, on-cancel leave: left, manual command", image: "repo/app:slow", onCancel: "leave", kill: true,
			wantCalls: true, wantCode: 1, wantSay: []string{"::error", "aws ecs update-service"}},
		{name: "main succeeded: nothing", image: "repo/app:2", wantCode: 0, wantSay: []string{"nothing to do"}},
		{name: "main rolled back: nothing", image: "repo/app:crash", wantCode: 0, wantSay: []string{"nothing to do"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startSim(t, slowScenario())
			inputs := map[string]string{"image": tt.image}
			if tt.onCancel != "" {
				inputs["on-cancel"] = tt.onCancel
			}
			main := newActionRun(t, srv, inputs)
			if tt.kill {
				main.start()
				waitFor(t, 30*time.Second, "the deployment to be watched", func() bool {
					return watching(srv) && strings.Contains(main.states()["checkpoint"], "watching")
				})
				main.signal(syscall.SIGKILL)
				if code := main.wait(10 * time.Second); code != -int(syscall.SIGKILL) {
					t.Fatalf("main step: got exit %d, want killed by SIGKILL", code)
				}
				if got := main.outputs()["status"]; got != "" {
					t.Fatalf("the killed main step wrote status %q", got)
				}
			} else if code := main.run(); code != 0 && !strings.HasSuffix(tt.image, ":crash") {
				t.Fatalf("main step: exit %d\n%s", code, main.dump())
			}
			mainUpdates := len(updatesTo(srv, ""))
			before := len(srv.Sim.Calls())

			post := postRun(t, main)
			code := post.run()
			calls := srv.Sim.Calls()[before:]
			if code != tt.wantCode {
				t.Errorf("post step exit code: got %d, want %d\n%s", code, tt.wantCode, post.dump())
			}
			if tt.wantCalls != (len(calls) > 0) {
				var ops []string
				for _, c := range calls {
					ops = append(ops, c.Op)
				}
				t.Errorf("post step API calls: got %v, want any: %v", ops, tt.wantCalls)
			}
			rollbacks := 0
			for _, c := range calls {
				if c.Op == "UpdateService" {
					if callTaskDefinition(c) != prevTaskDef {
						t.Errorf("post step UpdateService to %q, want only rollbacks to %s", callTaskDefinition(c), prevTaskDef)
					}
					rollbacks++
				}
				switch c.Op {
				case "RegisterTaskDefinition", "DeregisterTaskDefinition":
					t.Errorf("post step called %s", c.Op)
				}
			}
			if want := map[bool]int{true: 1}[tt.wantRollback]; rollbacks != want {
				t.Errorf("post step rollbacks: got %d, want %d", rollbacks, want)
			}
			if tt.wantRollback {
				svc, _ := srv.Sim.Service("prod", "web")
				if got := *svc.TaskDefinition; got != prevTaskDef {
					t.Errorf("after the post step the service runs %s, want %s", got, prevTaskDef)
				}
				if strings.TrimSpace(post.summary()) == "" {
					t.Errorf("the post step wrote no summary of its rollback")
				}
			}
			for _, w := range tt.wantSay {
				if !strings.Contains(post.stdout.String(), w) {
					t.Errorf("post step stdout does not contain %q\n%s", w, post.dump())
				}
			}
			if got := len(updatesTo(srv, "")) - mainUpdates; got != rollbacks {
				t.Errorf("UpdateService calls after the main step: got %d, want %d", got, rollbacks)
			}
		})
	}
}
