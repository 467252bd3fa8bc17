package action

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// postRun prepares the post step of main: GitHub runs the action's
// post-entrypoint (/ecs-rollout-post, a link to the binary in the image)
// with the same inputs and environment, no arguments, and every entry the
// main step saved to GITHUB_STATE as STATE_<name>.
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
	for _, f := range []string{post.sum, post.state} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	post.env["GITHUB_STEP_SUMMARY"] = post.sum
	post.env["GITHUB_STATE"] = post.state
	post.env["AWS_ENDPOINT_URL_ECS"] = srvURL
	for k, v := range states {
		post.env["STATE_"+k] = v
	}
	post.bin = filepath.Join(t.TempDir(), "ecs-rollout-post")
	if err := os.Symlink(actionBinary(t), post.bin); err != nil {
		t.Fatalf("link the post-entrypoint: %v", err)
	}
	return post
}

// killWatching is when the main step watches its deployment and has
// saved that.
func killWatching(srv *ecssim.Server, main *actionRun) bool {
	return watching(srv) && strings.Contains(main.states()["checkpoint"], "watching")
}

// slowPrevious makes new tasks of the previous revision take a minute to
// start, so a rollback stays in progress.
func slowPrevious(sc *ecssim.Scenario) {
	sc.ImageRules = append([]ecssim.ImageRule{{Image: "repo/app:1", Behavior: ecssim.BehaviorSlow, After: ecssim.Duration(time.Minute)}}, sc.ImageRules...)
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
		sc       func(*ecssim.Scenario)
		// killWhen, when set, says when to SIGKILL the main step;
		// without it the main step runs to its end.
		killWhen func(srv *ecssim.Server, main *actionRun) bool
		// hold, when set, holds that operation in the simulator and the
		// main step is killed while its first call is in flight.
		hold string
		// wantCalls: the post step calls AWS at all (unless anyCalls).
		wantCalls    bool
		anyCalls     bool
		wantRollback bool
		wantCode     int
		wantSay      []string // in the post step's stdout
	}{
		{name: "main killed mid-watch: rolled back", image: "repo/app:slow", killWhen: killWatching,
			wantCalls: true, wantRollback: true, wantCode: 0, wantSay: []string{"::warning", "rollback to web:1 issued", "not watched to its end"}},
		{name: "main killed mid-watch, on-cancel leave: left and said", image: "repo/app:slow", onCancel: "leave", killWhen: killWatching,
			wantCalls: true, wantCode: 0, wantSay: []string{"::warning", "on-cancel: leave"}},
		{name: "main succeeded: nothing", image: "repo/app:2", wantCode: 0, wantSay: []string{"nothing to do"}},
		{name: "main rolled back: nothing", image: "repo/app:crash", wantCode: 0, wantSay: []string{"nothing to do"}},
		{name: "main killed while its rollback rolls: no second rollback", image: "repo/app:crash",
			sc: slowPrevious,
			killWhen: func(srv *ecssim.Server, main *actionRun) bool {
				return len(updatesTo(srv, prevTaskDef)) == 1 && strings.Contains(main.states()["checkpoint"], "rolling-back")
			},
			wantCalls: true, wantCode: 0, wantSay: []string{"is in progress; no second rollback", "not watched to its end"}},
		{name: "main killed while registering: nothing", image: "repo/app:2",
			hold:     "RegisterTaskDefinition",
			anyCalls: true, wantCode: 0, wantSay: []string{"nothing to do"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := slowScenario()
			if tt.sc != nil {
				tt.sc(&sc)
			}
			srv := ecssimtest.NewServer(t, sc)
			inputs := map[string]string{"image": tt.image}
			if tt.onCancel != "" {
				inputs["on-cancel"] = tt.onCancel
			}
			main := newActionRun(t, srv, inputs)
			if tt.killWhen != nil || tt.hold != "" {
				var h *ecssim.Hold
				if tt.hold != "" {
					h = ecssimtest.Hold(t, srv, tt.hold)
					main.start()
					ecssimtest.AwaitHeld(t, h, 30*time.Second)
				} else {
					main.start()
					waitFor(t, 30*time.Second, "the moment to kill the main step", func() bool { return tt.killWhen(srv, main) })
				}
				main.signal(syscall.SIGKILL)
				if code := main.wait(10 * time.Second); code != -int(syscall.SIGKILL) {
					t.Fatalf("main step: got exit %d, want killed by SIGKILL", code)
				}
				if h != nil {
					h.Release() // the post step is never held
				}
				if got := main.outputs()["status"]; got != "" {
					t.Fatalf("the killed main step wrote status %q", got)
				}
			} else if code := main.run(); code != 0 && !strings.HasSuffix(tt.image, ":crash") {
				t.Fatalf("main step: exit %d\n%s", code, main.dump())
			}
			mainUpdates := len(updatesTo(srv, ""))
			// The simulator logs a call when it answers it, stamped with
			// its arrival: the post step's calls are those that arrived
			// after it started.
			postStart := time.Now()

			post := postRun(t, main)
			code := post.run()
			var calls []ecssim.Call
			for _, c := range srv.Sim.Calls() {
				if !c.At.Before(postStart) {
					calls = append(calls, c)
				}
			}
			if code != tt.wantCode {
				t.Errorf("post step exit code: got %d, want %d\n%s", code, tt.wantCode, post.dump())
			}
			if !tt.anyCalls && tt.wantCalls != (len(calls) > 0) {
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
