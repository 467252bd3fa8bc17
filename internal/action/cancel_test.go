package action

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

const prevTaskDef = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"

// TestCancelBySignal: GitHub cancels a container action with SIGINT (then
// SIGTERM 7.5 s later, then SIGKILL). On SIGINT or SIGTERM mid-watch, the
// binary issues the rollback within 2 s (on-cancel: rollback), or leaves
// the deployment with the manual command (on-cancel: leave), and sets
// status cancelled, writes the summary, annotates an error and exits
// non-zero, all within 10 s.
func TestCancelBySignal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		sig          syscall.Signal
		then         syscall.Signal // a second signal right after, as an impatient runner might send
		onCancel     string
		wantRollback bool
		// throttled: the next calls to UpdateService (the rollback) are
		// throttled this many times.
		throttled int
	}{
		{"SIGINT, on-cancel rollback", syscall.SIGINT, 0, "", true, 0},
		{"SIGTERM, on-cancel rollback", syscall.SIGTERM, 0, "rollback", true, 0},
		{"SIGINT then SIGTERM, on-cancel rollback", syscall.SIGINT, syscall.SIGTERM, "rollback", true, 0},
		{"SIGINT, on-cancel leave", syscall.SIGINT, 0, "leave", false, 0},
		{"SIGTERM, on-cancel leave", syscall.SIGTERM, 0, "leave", false, 0},
		{name: "SIGINT, the rollback throttled once", sig: syscall.SIGINT, wantRollback: true, throttled: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := ecssimtest.NewServer(t, slowScenario())
			inputs := map[string]string{"image": "repo/app:slow"}
			if tt.onCancel != "" {
				inputs["on-cancel"] = tt.onCancel
			}
			r := newActionRun(t, srv, inputs)
			r.start()
			waitFor(t, 30*time.Second, "the deployment to be watched", func() bool { return watching(srv) })
			ours := updatesTo(srv, "")
			if len(ours) != 1 {
				t.Fatalf("before the signal: got %d UpdateService calls, want 1", len(ours))
			}

			if tt.throttled > 0 {
				srv.Sim.InjectFault("UpdateService", ecssim.Fault{Throttle: tt.throttled})
			}
			sent := time.Now()
			r.signal(tt.sig)
			if tt.then != 0 {
				time.Sleep(time.Millisecond)
				_ = r.cmd.Process.Signal(tt.then) // the process may be gone already
			}
			code := r.wait(10 * time.Second)
			exited := time.Since(sent)

			rollbacks := updatesTo(srv, prevTaskDef)
			if tt.wantRollback {
				if len(rollbacks) != 1 {
					t.Fatalf("got %d rollback UpdateService calls to %s, want 1\n%s", len(rollbacks), prevTaskDef, r.dump())
				}
				if d := rollbacks[0].At.Sub(sent); d > 2*time.Second {
					t.Errorf("the rollback reached ECS %s after the signal, want within 2s", d)
				}
			} else if len(rollbacks) != 0 {
				t.Errorf("on-cancel leave: got %d rollback UpdateService calls, want none", len(rollbacks))
			}
			if code == 0 {
				t.Errorf("exit code: got 0, want non-zero")
			}
			if code < 0 {
				t.Errorf("the process died of signal %d instead of exiting", -code)
			}
			t.Logf("exited with %d %s after the signal", code, exited)

			out := r.outputs()
			if got := out["status"]; got != "cancelled" {
				t.Errorf("output status: got %q, want cancelled\n%s", got, r.dump())
			}
			if out["reason"] == "" {
				t.Errorf("output reason is empty")
			}
			if out["deployment-id"] == "" {
				t.Errorf("output deployment-id is empty")
			}
			if !strings.Contains(r.stdout.String(), "::error") {
				t.Errorf("stdout has no ::error:: annotation\n%s", r.stdout.String())
			}
			sum := r.summary()
			if strings.TrimSpace(sum) == "" {
				t.Errorf("no job summary was written")
			}
			if !tt.wantRollback {
				manual := "aws ecs update-service"
				if !strings.Contains(out["reason"]+sum+r.stdout.String(), manual) {
					t.Errorf("on-cancel leave: neither the reason, the log nor the summary gives the manual command %q\n%s", manual, r.dump())
				}
				if !strings.Contains(sum, manual) {
					t.Errorf("on-cancel leave: the summary does not give the manual command %q", manual)
				}
			}
		})
	}
}

// TestCancelOutsideTheWatch: a signal before our update is applied
// changes nothing more (no UpdateService at all); a signal while the
// rollback is being watched does not issue a second rollback. Both end
// cancelled, with an ::error::, a summary and a non-zero exit.
func TestCancelOutsideTheWatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sc   func(*ecssim.Scenario)
		// hold, when set, holds that operation in the simulator: SIGINT
		// is sent while its first call is in flight.
		hold string
		// ready, without hold: when to send SIGINT.
		ready         func(srv *ecssim.Server) bool
		image         string
		wantUpdates   int // UpdateService calls in all
		wantRollbacks int // of them, to the previous revision
		wantReason    string
	}{
		{
			name:        "while registering",
			sc:          func(*ecssim.Scenario) {},
			hold:        "RegisterTaskDefinition",
			image:       "repo/app:2",
			wantUpdates: 0,
			wantReason:  "cancelled",
		},
		{
			name: "while the rollback is watched",
			sc: func(sc *ecssim.Scenario) {
				// The previous revision's new tasks take a minute to start.
				sc.ImageRules = append([]ecssim.ImageRule{{Image: "repo/app:1", Behavior: ecssim.BehaviorSlow, After: ecssim.Duration(time.Minute)}}, sc.ImageRules...)
			},
			ready: func(srv *ecssim.Server) bool {
				return len(updatesTo(srv, prevTaskDef)) == 1 && srv.Sim.Calls()[len(srv.Sim.Calls())-1].Op != "UpdateService"
			},
			image:         "repo/app:crash",
			wantUpdates:   2,
			wantRollbacks: 1,
			wantReason:    "rollback",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := slowScenario()
			tt.sc(&sc)
			srv := ecssimtest.NewServer(t, sc)
			r := newActionRun(t, srv, map[string]string{"image": tt.image})
			if tt.hold != "" {
				h := ecssimtest.Hold(t, srv, tt.hold)
				r.start()
				ecssimtest.AwaitHeld(t, h, 30*time.Second)
			} else {
				r.start()
				waitFor(t, 30*time.Second, "the moment to cancel", func() bool { return tt.ready(srv) })
			}
			r.signal(syscall.SIGINT)
			if code := r.wait(10 * time.Second); code <= 0 {
				t.Errorf("exit code: got %d, want a non-zero exit\n%s", code, r.dump())
			}
			if got := len(updatesTo(srv, "")); got != tt.wantUpdates {
				t.Errorf("UpdateService calls: got %d, want %d", got, tt.wantUpdates)
			}
			if got := len(updatesTo(srv, prevTaskDef)); got != tt.wantRollbacks {
				t.Errorf("rollback UpdateService calls: got %d, want %d", got, tt.wantRollbacks)
			}
			out := r.outputs()
			if out["status"] != "cancelled" || !strings.Contains(out["reason"], tt.wantReason) {
				t.Errorf("outputs: got status %q reason %q, want cancelled mentioning %q\n%s", out["status"], out["reason"], tt.wantReason, r.dump())
			}
			if !strings.Contains(r.stdout.String(), "::error") || strings.TrimSpace(r.summary()) == "" {
				t.Errorf("want an ::error:: annotation and a summary\n%s", r.dump())
			}
		})
	}
}
