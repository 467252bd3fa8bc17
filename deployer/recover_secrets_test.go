package deployer_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/ecs-rollout/ecs-rollout/deployer"
)

// TestRecoverReportsSecrets: the post step starts knowing no credential;
// Recover reports those of the checkpoint's revisions (EventSecrets)
// before anything else, so that the action redacts what it prints; a
// checkpoint that owes the post step nothing is not read at all.
func TestRecoverReportsSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario())
	const web1 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
	var mu sync.Mutex
	var events []deployer.Event
	d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}))
	cp := deployer.Checkpoint{Cluster: "prod", Service: "web", DeploymentID: "ecs-svc/0", TaskDefinition: web1, RollbackTarget: web1,
		Phase: deployer.PhaseWatching, Rollback: false}
	if _, err := d.Recover(context.Background(), cp); err != nil {
		t.Logf("Recover: %v", err) // what it decides is not this test's concern
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) == 0 || events[0].Kind != deployer.EventSecrets || !slices.Contains(events[0].Secrets, plantedSecret) {
		t.Fatalf("first event %+v, want EventSecrets with the revision's API_TOKEN", events)
	}
	describes := 0
	for _, c := range e.srv.Sim.Calls() {
		if c.Op == "DescribeTaskDefinition" {
			describes++
		}
	}
	if describes != 1 {
		t.Errorf("%d DescribeTaskDefinition calls, want 1 (one revision)", describes)
	}

	done := newEnv(t, scenario())
	cp.Phase = deployer.PhaseDone
	if _, err := deployer.New(done.ecs, done.logs).Recover(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	if calls := done.srv.Sim.Calls(); len(calls) != 0 {
		t.Errorf("a finished checkpoint: %d calls (first %s), want none", len(calls), calls[0].Op)
	}
}
