package deployer_test

import (
	"cmp"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// Rows of the outcome matrix for what goes wrong around the rollback
// itself, per strategy (issue 18, section 2): the main step killed
// mid-watch (the post step rolls back from the last checkpoint, as
// docs/how-it-works.md "The post step" promises), the rollback call
// throttled (the SDK's retryer absorbs it: docs/safety.md), failing
// until the step exits (rollback-failed with the manual command, and the
// post step issues it) or refused (rollback-failed with the manual
// command), access lost mid-watch (failed, state unknown, the manual
// commands, no rollback with credentials that no longer work:
// docs/how-it-works.md "access lost"), and someone else's deploy taking
// over (failed, theirs left alone: "taken over").
var rollbackFaultRows = func() []outcomeRow {
	var rows []outcomeRow
	for _, s := range []struct {
		strategy, name string
		rollbackOp     string // the call that rolls back an unfinished deployment
		rollbackCall   int    // which call of rollbackOp is the rollback (UpdateService: ours is the first)
		manual         string // the manual command the reason gives when the rollback call fails
	}{
		{"ROLLING", "rolling", "UpdateService", 2, "aws ecs update-service"},
		{"BLUE_GREEN", "blue/green", "StopServiceDeployment", 1, "aws ecs stop-service-deployment"},
		{"LINEAR", "linear", "StopServiceDeployment", 1, "aws ecs stop-service-deployment"},
		{"CANARY", "canary", "StopServiceDeployment", 1, "aws ecs stop-service-deployment"},
		{deployer.StrategyCodeDeploy, "CodeDeploy", "StopDeployment", 1, "aws deploy stop-deployment"},
	} {
		staged := s.strategy != "ROLLING" && s.strategy != deployer.StrategyCodeDeploy
		var stagedCalls []string
		if s.strategy != "ROLLING" {
			stagedCalls = []string{s.rollbackOp}
		}
		started := updatedAgo(30 * time.Second)
		if s.strategy == deployer.StrategyCodeDeploy {
			started = createdAgo(30 * time.Second)
		}
		rows = append(rows,
			// Killed (SIGKILL) while watching a deployment whose tasks never
			// start: the post step finds our unfinished deployment in the last
			// checkpoint and rolls it back (on-cancel: rollback, the default);
			// a staged one, still in progress, is stopped with ROLLBACK.
			outcomeRow{name: s.name + " killed mid-watch, post step", strategy: s.strategy, moment: "watch", fault: "SIGKILL, then the post step",
				image: "repo/app:pending", killWhen: started, post: true,
				wantPost: deployer.StatusRollbackIssued, serving: map[string]string{"web": "web:1"}, calls: stagedCalls,
				check: lastCheckpointIs(deployer.PhaseWatching)},

			// The rollback call is throttled three times: the SDK retries it
			// and it goes through.
			outcomeRow{name: s.name + " crash, rollback call throttled", strategy: s.strategy, moment: "scale-up", fault: "crash; the rollback call throttled 3 times",
				image: "repo/app:crash",
				setup: func(sim *ecssim.Sim) {
					sim.InjectFault(s.rollbackOp, ecssim.Fault{Error: "ThrottlingException", Message: "Rate exceeded", OnCall: s.rollbackCall, Times: 3})
				},
				want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, calls: stagedCalls},

			// The rollback call fails (5xx) until the step gives up: the
			// failed revision is left in place and the step says so, with
			// the command to finish by hand; the post step issues it.
			outcomeRow{name: s.name + " crash, rollback call failing, post step", strategy: s.strategy, moment: "scale-up", fault: "crash; the rollback call fails until the step exits",
				image: "repo/app:crash",
				setup: func(sim *ecssim.Sim) {
					sim.InjectFault(s.rollbackOp, ecssim.Fault{Error: "ServerException", Message: "injected", OnCall: s.rollbackCall})
				},
				beforePost: func(sim *ecssim.Sim) { sim.ClearFaults() }, post: true,
				want: deployer.StatusRollbackFailed, wantReason: []string{s.manual}, wantPost: deployer.StatusRollbackIssued,
				serving: map[string]string{"web": "web:1"}},

			// The rollback call is refused (a client error, not retried):
			// rollback-failed, with the command to finish by hand.
			outcomeRow{name: s.name + " crash, rollback call refused", strategy: s.strategy, moment: "scale-up", fault: "crash; the rollback call refused",
				image: "repo/app:crash",
				setup: func(sim *ecssim.Sim) {
					sim.InjectFault(s.rollbackOp, ecssim.Fault{Error: "InvalidParameterException", Message: "injected refusal", OnCall: s.rollbackCall})
				},
				want: deployer.StatusRollbackFailed, wantReason: []string{s.manual}},
		)
		if s.strategy == deployer.StrategyCodeDeploy {
			continue
		}
		// Killed during our bake-time, after ECS finished the deployment
		// (COMPLETED, SUCCESSFUL): the post step finds it finished and
		// leaves it, saying the bake was cut short
		// (docs/bake-and-alarms.md, "Cancellation and the post step").
		if s.strategy == "ROLLING" || s.strategy == "BLUE_GREEN" {
			rows = append(rows, outcomeRow{name: s.name + " killed in our bake-time, post step", strategy: s.strategy, moment: "our bake", fault: "SIGKILL, then the post step",
				config: bakeWith(5 * time.Minute), killWhen: deploymentDone("web"), post: true,
				wantPost: "", serving: map[string]string{"web": "web:2"}, noCalls: []string{"StopServiceDeployment"},
				check: func(t *testing.T, o outcome) {
					if n := o.count("UpdateService"); n != 1 {
						t.Errorf("%d UpdateService calls, want 1 (ours)", n)
					}
					if !strings.Contains(o.post.Reason, "completed") || !strings.Contains(o.post.Reason, "leaving it") {
						t.Errorf("the post step's reason does not say it leaves the completed deployment: %q", o.post.Reason)
					}
				}})
		}
		rows = append(rows,
			// Credentials stop working mid-watch: failed, the state is
			// unknown, the commands to check and to roll back by hand, and
			// no rollback attempted.
			outcomeRow{name: s.name + " access lost mid-watch", strategy: s.strategy, moment: "watch", fault: "AccessDenied on every call",
				image: "repo/app:pending",
				setup: func(sim *ecssim.Sim) {
					afterUpdate(sim, 30*time.Second, func() {
						sim.InjectFault("", ecssim.Fault{Error: "AccessDeniedException", Message: "not authorized"})
					})
				},
				want: deployer.StatusFailed, wantReason: []string{"access", "unknown", "aws ecs describe-services"},
				check: noRollbackAttempt},
		)
		if !staged || s.strategy == "BLUE_GREEN" {
			continue // outcome_ecs_test.go and staged_sim_test.go have blue/green's
		}
		rows = append(rows,
			// Someone else deploys while ours shifts traffic: ours has
			// failed, theirs is left alone.
			outcomeRow{name: s.name + " taken over by someone else's deploy", strategy: s.strategy, moment: "traffic shift", fault: "someone else's UpdateService",
				setup: func(sim *ecssim.Sim) {
					c, _ := ecssimtest.InMemoryClients(sim)
					afterUpdate(sim, 30*time.Second, func() {
						c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), ForceNewDeployment: true})
					})
				},
				want: deployer.StatusFailed, noCalls: []string{"StopServiceDeployment", "ContinueServiceDeployment"},
				check: func(t *testing.T, o outcome) {
					if n := o.count("UpdateService"); n != 2 {
						t.Errorf("%d UpdateService calls, want 2 (ours and theirs)", n)
					}
				}},
		)
	}
	// Two services, killed while both are being watched: the post step
	// rolls both back from the one checkpoint.
	for _, st := range []struct{ strategy, name string }{{"ROLLING", "rolling"}, {"BLUE_GREEN", "blue/green"}} {
		rows = append(rows, outcomeRow{name: "two " + st.name + " services killed mid-watch, post step", strategy: st.strategy, services: 2, moment: "watch", fault: "SIGKILL, then the post step",
			image: "repo/app:pending", killWhen: updatedAgo(30 * time.Second), post: true,
			wantPost: deployer.StatusRollbackIssued, serving: map[string]string{"web": "web:1", "worker": "worker:1"},
			check: func(t *testing.T, o outcome) {
				var ops []string
				for _, c := range o.calls {
					if c.ErrCode == "" && strings.Contains(string(c.Input), "worker") && (c.Op == "UpdateService" || c.Op == "StopServiceDeployment") {
						ops = append(ops, c.Op)
					}
				}
				if len(ops) < 2 || ops[0] != "UpdateService" {
					t.Errorf("worker's calls %v, want our UpdateService and the post step's rollback", ops)
				}
			}})
	}
	return rows
}()

func TestOutcomeMatrixRollbackFaults(t *testing.T) {
	t.Parallel()
	runOutcomeRows(t, rollbackFaultRows)
}

// firstUpdate is when the first UpdateService call reached the simulator.
func firstUpdate(sim *ecssim.Sim) (time.Time, bool) {
	for _, c := range sim.Calls() {
		if c.Op == "UpdateService" {
			return c.At, true
		}
	}
	return time.Time{}, false
}

// updatedAgo reports whether our UpdateService was d ago or more.
func updatedAgo(d time.Duration) func(*ecssim.Sim) bool {
	return func(sim *ecssim.Sim) bool {
		at, ok := firstUpdate(sim)
		return ok && time.Since(at) >= d
	}
}

// afterUpdate runs f d after our UpdateService, on its own goroutine.
func afterUpdate(sim *ecssim.Sim, d time.Duration, f func()) {
	go func() {
		for range 3600 {
			time.Sleep(time.Second)
			if updatedAgo(d)(sim) {
				f()
				return
			}
		}
	}()
}

// noRollbackAttempt checks that no rollback call was even tried.
func noRollbackAttempt(t *testing.T, o outcome) {
	t.Helper()
	updates := 0
	for _, c := range o.calls {
		switch {
		case c.Op == "UpdateService":
			if updates++; updates > 1 {
				t.Errorf("a second UpdateService (%s)", cmp.Or(c.ErrCode, "accepted"))
			}
		case c.Op == "StopServiceDeployment", c.Op == "ContinueServiceDeployment" && strings.Contains(string(c.Input), "ROLLBACK"):
			t.Errorf("%s (%s) with credentials that no longer work", c.Op, cmp.Or(c.ErrCode, "accepted"))
		}
	}
}

// lastCheckpointIs checks the phase of the last checkpoint the step saved
// (the one the post step reads).
func lastCheckpointIs(phase deployer.Phase) func(t *testing.T, o outcome) {
	return func(t *testing.T, o outcome) {
		t.Helper()
		if len(o.cps) == 0 {
			t.Fatalf("no checkpoint saved")
		}
		if got := o.cps[len(o.cps)-1].Phase; got != phase {
			t.Errorf("the last checkpoint saved is in phase %s, want %s", got, phase)
		}
	}
}
