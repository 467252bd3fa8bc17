package deployer_test

import (
	"strings"
	"testing"
	"time"

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

func TestOutcomeMatrixSeams(t *testing.T) {
	t.Parallel()
	runOutcomeRows(t, seamRows)
}
