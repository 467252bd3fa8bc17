package deployer_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// Rows of the outcome matrix for issue 24's ECS-controller seams, each
// held by one of docs/safety.md's rules: what happens between two events
// (a failure and a finished deployment in one poll, a call refused
// because the state moved on, a kill while the rollback call is in
// flight).
var seamRows = []outcomeRow{
	// --- rule 3: the checkpoint says what is owed ---
	// A bake failure after COMPLETED, and the step killed while its
	// rollback call is retried: the checkpoint names the rollback owed
	// (it said rolling-back before the call, and the post step read
	// "rolling-back + a completed deployment" as finished).
	bakeAlarmKilled("ROLLING", "rolling alarm in our bake"),
	bakeAlarmKilled("BLUE_GREEN", "blue/green alarm in our bake after SUCCESSFUL"),
	// The rollback accepted and then killed while it rolls: the post
	// step finds it in progress, issues no second one, and does not call
	// it rolled back (it did not see it settle).
	{name: "rolling crash, killed while the rollback rolls, post step", strategy: "ROLLING", moment: "rollback", fault: "crash; SIGKILL",
		image: "repo/app:crash", world: slowRevision("repo/app:1"),
		killWhen: attempts("UpdateService", 2), post: true,
		wantPost: deployer.StatusRollbackIssued, serving: map[string]string{"web": "web:1"},
		check: func(t *testing.T, o outcome) {
			lastCheckpointIs(deployer.PhaseRollingBack)(t, o)
			if n := o.count("UpdateService"); n != 2 {
				t.Errorf("%d UpdateService calls, want 2: ours and one rollback", n)
			}
			if !strings.Contains(o.post.Reason, "in progress; no second rollback") {
				t.Errorf("post step reason: %s", o.post.Reason)
			}
		}},

	// --- rule 1 at a gate: resume: rollback after the PAUSE hook timed
	// out with CONTINUE (ECS answers our Continue after the timeout,
	// refused: the hook no longer awaits action) ---
	{name: "blue/green resume rollback, the PAUSE hook timed out with CONTINUE under the call", strategy: "BLUE_GREEN", moment: "at a PAUSE hook", fault: "hook timeout CONTINUE during ContinueServiceDeployment",
		world: pauseHookAt(types.DeploymentLifecycleHookStagePostTestTrafficShift, 1, types.DeploymentLifecycleHookActionContinue),
		setup: func(sim *ecssim.Sim) {
			sim.InjectFault("ContinueServiceDeployment", ecssim.Fault{Latency: ecssim.Duration(75 * time.Second)})
		},
		resume: deployer.ResumeRollback,
		want:   deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, calls: []string{"StopServiceDeployment"}},

	// --- a staged rollback that ends ROLLBACK_FAILED (ours or ECS's):
	// the rollback is planned again from the finished deployment, a new
	// deployment of the previous revision, watched (never a
	// stop-service-deployment command for a completed deployment) ---
	{name: "blue/green crash, our rollback ends ROLLBACK_FAILED", strategy: "BLUE_GREEN", moment: "rollback", fault: "crash; ROLLBACK_FAILED",
		image: "repo/app:crash", world: func(sc *ecssim.Scenario) { sc.Services[0].RollbackFails = true },
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, calls: []string{"StopServiceDeployment"},
		check: func(t *testing.T, o outcome) {
			rolledBackByNewDeploymentAfterRefusal(t, o)
			lastCheckpointIs(deployer.PhaseDone)(t, o)
		}},
	{name: "blue/green crash, ECS's breaker rollback ends ROLLBACK_FAILED", strategy: "BLUE_GREEN", moment: "rollback", fault: "crash; ECS's ROLLBACK_FAILED",
		image: "repo/app:crash", world: func(sc *ecssim.Scenario) {
			sc.Services[0].RollbackFails = true
			sc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker = &ecssim.CircuitBreaker{Enable: true, Rollback: true}
		},
		config: func(cfg *deployer.Config) { cfg.FailedTasksThreshold = 50 }, // ECS's breaker decides
		want:   deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		check: rolledBackByNewDeploymentAfterRefusal},

	// --- also settle: services + on-pause rollback + rollback-scope all:
	// the paused service's rollback takes the others back (all or
	// nothing), web although its deployment went on to SUCCESSFUL ---
	{name: "two blue/green services, worker at a PAUSE hook with on-pause rollback, scope all", strategy: "BLUE_GREEN", services: 2, moment: "at a PAUSE hook (worker)", fault: "on-pause rollback",
		world:  func(sc *ecssim.Scenario) { pauseHookOn(sc, "worker") },
		config: func(cfg *deployer.Config) { cfg.OnPause = deployer.OnPauseRollback },
		want:   deployer.StatusRolledBack, serving: map[string]string{"web": "web:1", "worker": "worker:1"}},
}

// bakeAlarmKilled is a row whose alarm goes off in our bake (after ECS
// finished: COMPLETED, SUCCESSFUL), whose rollback call keeps failing,
// and whose step is killed while the call is retried: the checkpoint
// names the rollback owed, and the post step issues it.
func bakeAlarmKilled(strategy, name string) outcomeRow {
	return outcomeRow{name: name + ", killed while the rollback call is retried, post step", strategy: strategy, moment: "our bake", fault: "alarm; the rollback call fails; SIGKILL",
		world: withAlarms(alarmAt("web-5xx", ecssim.AnchorCompleted, 20*time.Second)), config: bakeWith(5*time.Minute, "web-5xx"),
		setup: func(sim *ecssim.Sim) {
			sim.InjectFault("UpdateService", ecssim.Fault{Error: "ServerException", Message: "injected", OnCall: 2})
		},
		killWhen: attempts("UpdateService", 3), beforePost: func(sim *ecssim.Sim) { sim.ClearFaults() }, post: true,
		wantPost: deployer.StatusRollbackIssued, serving: map[string]string{"web": "web:1"},
		check: lastCheckpointIs(deployer.PhaseRollbackOwed)}
}

// attempts is when op has been called n times (answered or not).
func attempts(op string, n int) func(*ecssim.Sim) bool {
	return func(sim *ecssim.Sim) bool {
		c := 0
		for _, call := range sim.Calls() {
			if call.Op == op {
				c++
			}
		}
		return c >= n
	}
}

// slowRevision makes image's new tasks take a minute to start.
func slowRevision(image string) func(*ecssim.Scenario) {
	return func(sc *ecssim.Scenario) {
		sc.ImageRules = append([]ecssim.ImageRule{{Image: image, Behavior: ecssim.BehaviorSlow, After: ecssim.Duration(time.Minute)}}, sc.ImageRules...)
	}
}

// alarmAtSuccessRows: the alarm goes red around the poll that sees the
// service deployment SUCCESSFUL (AnchorCompleted is our ECS deployment
// COMPLETED, a moment before), one row per offset so that one poll sees
// both: the rollback reads the deployment just before its call (rule 1)
// and, finding it finished, deploys the previous revision anew; a
// StopServiceDeployment ECS refuses is read again and planned again,
// never rollback-failed.
func alarmAtSuccessRows() []outcomeRow {
	var rows []outcomeRow
	for _, after := range []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 6 * time.Second} {
		rows = append(rows, outcomeRow{name: fmt.Sprintf("blue/green alarm %s after COMPLETED, bake-time", after), strategy: "BLUE_GREEN", moment: "SUCCESSFUL", fault: "alarm in the same poll",
			world: withAlarms(alarmAt("web-5xx", ecssim.AnchorCompleted, after)), config: bakeWith(5*time.Minute, "web-5xx"),
			want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, check: notRefusedToTheEnd})
	}
	for _, after := range []time.Duration{time.Second, 3 * time.Second} {
		// The same after a gate: paused at a PAUSE hook, then resume:
		// continue with alarms and bake-time.
		rows = append(rows, outcomeRow{name: fmt.Sprintf("blue/green resume continue, alarm %s after COMPLETED", after), strategy: "BLUE_GREEN", moment: "after a PAUSE hook, SUCCESSFUL", fault: "alarm in the same poll",
			world: func(sc *ecssim.Scenario) {
				withAlarms(alarmAt("web-5xx", ecssim.AnchorCompleted, after))(sc)
				pauseHook(sc, 0)
			},
			config: bakeWith(5*time.Minute, "web-5xx"), resume: deployer.ResumeContinue,
			want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, check: notRefusedToTheEnd})
	}
	for _, after := range []time.Duration{200 * time.Second, 202 * time.Second, 204 * time.Second} {
		// CANARY with alarms and no bake-time: the alarm goes red at the
		// end of the canary, and our StopServiceDeployment reaches ECS
		// 10 s later (a slow network), after it became SUCCESSFUL:
		// refused, read again, a new deployment of the previous revision.
		rows = append(rows, outcomeRow{name: fmt.Sprintf("canary alarm %s after the update, StopServiceDeployment arriving 10s late", after), strategy: "CANARY", moment: "SUCCESSFUL", fault: "alarm; a slow rollback call",
			world: withAlarms(alarmAt("web-5xx", ecssim.AnchorUpdate, after)), config: bakeWith(0, "web-5xx"),
			setup: func(sim *ecssim.Sim) {
				sim.InjectFault("StopServiceDeployment", ecssim.Fault{Latency: ecssim.Duration(10 * time.Second)})
			},
			want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
			check: func(t *testing.T, o outcome) {
				refusedOnce(t, o)
				rolledBackByNewDeploymentAfterRefusal(t, o)
			}})
	}
	return rows
}

// refusedOnce checks that the row hit its seam: ECS refused a
// StopServiceDeployment (the deployment had finished under the call).
func refusedOnce(t *testing.T, o outcome) {
	t.Helper()
	for _, c := range o.calls {
		if c.Op == "StopServiceDeployment" && c.ErrCode == "ConflictException" {
			return
		}
	}
	t.Errorf("no StopServiceDeployment was refused: the row missed its seam")
}

// rolledBackByNewDeploymentAfterRefusal checks that the rollback was the
// new deployment of the previous revision.
func rolledBackByNewDeploymentAfterRefusal(t *testing.T, o outcome) {
	t.Helper()
	if n := o.count("UpdateService"); n != 2 {
		t.Errorf("%d UpdateService calls, want 2 (ours and the rollback's)", n)
	}
}

// notRefusedToTheEnd checks that a refused StopServiceDeployment was
// followed by the rollback that works: a new deployment of web:1.
func notRefusedToTheEnd(t *testing.T, o outcome) {
	t.Helper()
	if n := o.count("UpdateService"); n != 2 && o.count("StopServiceDeployment") == 0 {
		t.Errorf("%d UpdateService calls and no StopServiceDeployment accepted: no rollback", n)
	}
}

// crashAtSuccessRows: BLUE_GREEN without the breaker; the new tasks run
// through ECS's bake and exit around its end, again and again; the
// service deployment becomes SUCCESSFUL (CLEAN_UP ends once blue is gone)
// while the replacements are PENDING, the crash between two reads (one
// row per moment). SUCCESSFUL with tasks of ours missing is not a
// success: the watch goes on, finds the stopped tasks and rolls back
// (with a new deployment when ECS finished first).
func crashAtSuccessRows() []outcomeRow {
	var rows []outcomeRow
	for _, after := range []time.Duration{134, 135, 136, 137, 138} {
		rows = append(rows, outcomeRow{name: fmt.Sprintf("blue/green crash loop %ds into the tasks, at the end of ECS's bake", after), strategy: "BLUE_GREEN", moment: "ECS's bake → SUCCESSFUL", fault: "crash loop between two polls",
			image: "repo/app:loop", world: crashAfter("repo/app:loop", after*time.Second),
			want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}})
	}
	return rows
}

func TestOutcomeMatrixSeams(t *testing.T) {
	t.Parallel()
	runOutcomeRows(t, slices.Concat(seamRows, alarmAtSuccessRows(), crashAtSuccessRows()))
}
