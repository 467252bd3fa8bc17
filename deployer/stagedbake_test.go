package deployer_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// TestStagedBakeAfterSuccessful: a blue/green deployment that ECS reports
// SUCCESSFUL is baked for bake-time; a task of the new revision crashing
// then rolls the service back with a new deployment of the previous
// revision (ECS has retired the old tasks).
func TestStagedBakeAfterSuccessful(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stagedScenario("BLUE_GREEN", func(sc *ecssim.Scenario) {
		sc.ImageRules = append([]ecssim.ImageRule{{Image: "repo/app:late", Behavior: ecssim.BehaviorCrashAfter, After: ecssim.Duration(1500 * time.Millisecond)}}, sc.ImageRules...)
	}))
	cfg := config("repo/app:late")
	cfg.BakeTime = 20 * time.Second
	cfg.Timeout = 20 * time.Second
	rec := &recorder{}
	res, _ := deployer.New(e.ecs, e.logs, deployer.WithReporter(rec.report)).Deploy(context.Background(), cfg)
	if res.Status != deployer.StatusRolledBack {
		t.Fatalf("status %s (%s), want rolled-back\n%s", res.Status, res.Reason, rec.text())
	}
	m := strings.Join(milestones(res), ", ")
	for _, want := range []string{"bake started", "bake failed", "rollback completed"} {
		if !strings.Contains(m, want) {
			t.Errorf("timeline lacks %q: %s", want, m)
		}
	}
	if got := revisionOf(t, e, "prod", "web"); got != "web:1" {
		t.Errorf("the service runs %s, want web:1", got)
	}
	if n := ops(e.srv.Sim.Calls(), "StopServiceDeployment"); n != 0 {
		t.Errorf("%d StopServiceDeployment calls after SUCCESSFUL, want none (a new deployment of web:1)", n)
	}
	t.Logf("%s\n%s", res.Reason, rec.text())
}
