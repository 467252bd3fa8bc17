package deployer_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// Each test here failed before the fix it is named for (issue 10).

// withRule puts an image rule first.
func withRule(image string, b ecssim.Behavior, after time.Duration) func(*ecssim.Scenario) {
	return func(sc *ecssim.Scenario) {
		sc.ImageRules = append([]ecssim.ImageRule{{Image: image, Behavior: b, After: ecssim.Duration(after)}}, sc.ImageRules...)
	}
}

// onFirstProgress runs f once, at the first progress event of the watch.
func onFirstProgress(f func()) func(deployer.Event) {
	var once sync.Once
	return func(ev deployer.Event) {
		if ev.Kind == deployer.EventProgress {
			once.Do(f)
		}
	}
}

// lastCheckpoint records the checkpoints a run reports.
type checkpoints struct {
	mu  sync.Mutex
	all []deployer.Checkpoint
}

func (c *checkpoints) record(ev deployer.Event) {
	if ev.Kind == deployer.EventCheckpoint && ev.State != nil {
		c.mu.Lock()
		c.all = append(c.all, *ev.State)
		c.mu.Unlock()
	}
}

func (c *checkpoints) last(phase string) (deployer.Checkpoint, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.all) - 1; i >= 0; i-- {
		if phase == "" || string(c.all[i].Phase) == phase {
			return c.all[i], true
		}
	}
	return deployer.Checkpoint{}, false
}

// waitFor polls the simulator (a few ms apart) until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Bug 2: the post step's rollback restores what the main step changed:
// the deployment configuration and the desired count, exactly as the
// main step's own rollback does.
func TestRecoverRestoresOriginalConfiguration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario(func(sc *ecssim.Scenario) {
		sc.Services[0].DeploymentConfiguration = ecssim.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(150)}
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cps checkpoints
	progress := onFirstProgress(cancel) // the main step is stopped mid-watch
	d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) { cps.record(ev); progress(ev) }))
	cfg := config("repo/app:slow")
	cfg.MinimumHealthyPercent, cfg.MaximumPercent = aws.Int32(100), aws.Int32(200)
	cfg.DesiredCount = aws.Int32(3)
	cfg.OnCancel = deployer.OnCancelLeave
	if res, _ := d.Deploy(ctx, cfg); res.Status != deployer.StatusCancelled {
		t.Fatalf("Deploy: got %q %q, want cancelled", res.Status, res.Reason)
	}
	if s := e.service(t); aws.ToInt32(s.DeploymentConfiguration.MinimumHealthyPercent) != 100 || s.DesiredCount != 3 {
		t.Fatalf("the main step did not change the service: min %d, desired %d", aws.ToInt32(s.DeploymentConfiguration.MinimumHealthyPercent), s.DesiredCount)
	}
	// The post step sees the checkpoint saved while watching (the main
	// step was killed there).
	cp, ok := cps.last("watching")
	if !ok {
		t.Fatal("no checkpoint saved while watching")
	}
	cp.Rollback = true
	res, err := deployer.New(e.ecs, e.logs).Recover(context.Background(), cp)
	if err != nil || res.Status != deployer.StatusRollbackIssued {
		t.Fatalf("Recover: got %v %q %q, want rollback-issued", err, res.Status, res.Reason)
	}
	s := e.service(t)
	got := []int32{aws.ToInt32(s.DeploymentConfiguration.MinimumHealthyPercent), aws.ToInt32(s.DeploymentConfiguration.MaximumPercent), s.DesiredCount}
	if diff := cmp.Diff([]int32{50, 150, 2}, got); diff != "" {
		t.Errorf("after the post step's rollback, [minimumHealthyPercent maximumPercent desiredCount] (-want +got):\n%s", diff)
	}
	if want := cp.RollbackTarget; aws.ToString(s.TaskDefinition) != want {
		t.Errorf("service runs %s, want %s", aws.ToString(s.TaskDefinition), want)
	}
}

// Bug 1: a cancel whose rollback could not be issued leaves a checkpoint
// that says a rollback is owed, and Recover issues it, even when our
// deployment has completed in the meantime.
func TestRecoverFinishesAnOwedRollback(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario(withRule("*:soon", ecssim.BehaviorSlow, 300*time.Millisecond)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cps checkpoints
	progress := onFirstProgress(func() {
		e.srv.Sim.InjectFault("UpdateService", ecssim.Fault{Error: "AccessDeniedException"}) // the rollback on cancel fails
		cancel()
	})
	d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) { cps.record(ev); progress(ev) }))
	res, _ := d.Deploy(ctx, config("repo/app:soon"))
	if res.Status != deployer.StatusCancelled || !strings.Contains(res.Reason, "could not be issued") {
		t.Fatalf("Deploy: got %q %q, want cancelled with the rollback not issued", res.Status, res.Reason)
	}
	cp, _ := cps.last("")
	if string(cp.Phase) != "rollback-owed" {
		t.Fatalf("last checkpoint phase: got %q, want rollback-owed", cp.Phase)
	}
	e.srv.Sim.ClearFaults()
	waitFor(t, "our deployment to complete", func() bool {
		p, ok := e.srv.Sim.PrimaryDeployment("prod", "web")
		return ok && p.RolloutState == types.DeploymentRolloutStateCompleted
	})
	rres, err := deployer.New(e.ecs, e.logs).Recover(context.Background(), cp)
	if err != nil || rres.Status != deployer.StatusRollbackIssued {
		t.Fatalf("Recover: got %v %q %q, want the owed rollback issued", err, rres.Status, rres.Reason)
	}
	if got := aws.ToString(e.service(t).TaskDefinition); got != cp.RollbackTarget {
		t.Errorf("service runs %s, want the rollback target %s", got, cp.RollbackTarget)
	}
}

// Bug 4: credentials that stop working while watching are not a failed
// deployment: the run says access was lost and the state is unknown,
// gives the commands to check and to roll back, and attempts nothing.
func TestAccessLostWhileWatching(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"ExpiredTokenException", "AccessDeniedException", "UnrecognizedClientException"} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, scenario())
			d := deployer.New(e.ecs, e.logs, deployer.WithReporter(onFirstProgress(func() {
				e.srv.Sim.InjectFault("", ecssim.Fault{Error: code})
			})))
			res, err := d.Deploy(context.Background(), config("repo/app:slow"))
			if err == nil || res.Status != deployer.StatusFailed {
				t.Fatalf("got %v %q, want failed", err, res.Status)
			}
			for _, want := range []string{"lost access", "unknown", "aws ecs describe-services --cluster prod --services web", "aws ecs update-service --cluster prod --service web --task-definition " + res.PreviousTaskDefinitionARN} {
				if !strings.Contains(res.Reason, want) {
					t.Errorf("reason %q does not contain %q", res.Reason, want)
				}
			}
			if diff := cmp.Diff([]string{"RegisterTaskDefinition", "UpdateService"}, e.mutating()); diff != "" {
				t.Errorf("mutating calls (-want +got), no rollback attempt:\n%s", diff)
			}
		})
	}
}

// Bug 5: with the circuit breaker on, someone else's revert of a
// deployment that never failed is a takeover, not ECS's rollback.
func TestManualRevertIsATakeover(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario(func(sc *ecssim.Scenario) {
		sc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker = &ecssim.CircuitBreaker{Enable: true, Rollback: true}
	}))
	ctx := context.Background()
	old := aws.ToString(e.service(t).TaskDefinition)
	d := deployer.New(e.ecs, e.logs, deployer.WithReporter(onFirstProgress(func() {
		if _, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
			TaskDefinition: aws.String(old), ForceNewDeployment: true}); err != nil {
			t.Errorf("their revert: %v", err)
		}
	})))
	res, _ := d.Deploy(ctx, config("repo/app:slow"))
	if res.Status != deployer.StatusFailed || !strings.Contains(res.Reason, "another deployment") || strings.Contains(res.Reason, "circuit breaker") {
		t.Errorf("got %q %q, want failed: another deployment took over (not the circuit breaker)", res.Status, res.Reason)
	}
}

// Bug 6: a service deleted while we watch ends the watch at once.
func TestServiceDeletedMidWatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario())
	d := deployer.New(e.ecs, e.logs, deployer.WithReporter(onFirstProgress(func() {
		if !e.srv.Sim.DeleteService("prod", "web") {
			t.Error("DeleteService: no such service")
		}
	})))
	cfg := config("repo/app:slow")
	cfg.Timeout = 20 * time.Second
	res, err := d.Deploy(context.Background(), cfg)
	if err == nil || res.Status != deployer.StatusFailed || !strings.Contains(res.Reason, "deleted") {
		t.Errorf("got %v %q %q, want failed: the service was deleted", err, res.Status, res.Reason)
	}
	if took := res.FinishedAt.Sub(res.StartedAt); took > cfg.Timeout/2 {
		t.Errorf("the run took %s: it polled a deleted service toward the %s timeout", took, cfg.Timeout)
	}
	if diff := cmp.Diff([]string{"RegisterTaskDefinition", "UpdateService"}, e.mutating()); diff != "" {
		t.Errorf("mutating calls (-want +got):\n%s", diff)
	}
}

// Bug 6: a Config that does not set the rolling percentages keeps the
// service's own (not a 0 % floor).
func TestUnsetPercentagesKeepTheServiceOwn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario(func(sc *ecssim.Scenario) {
		sc.Services[0].DeploymentConfiguration = ecssim.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(150)}
	}))
	cfg := config("repo/app:2")
	cfg.MinimumHealthyPercent, cfg.MaximumPercent = nil, nil
	res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
	if err != nil || res.Status != deployer.StatusSucceeded {
		t.Fatalf("got %v %q %q, want succeeded", err, res.Status, res.Reason)
	}
	c := e.service(t).DeploymentConfiguration
	if got := []int32{aws.ToInt32(c.MinimumHealthyPercent), aws.ToInt32(c.MaximumPercent)}; !cmp.Equal(got, []int32{50, 150}) {
		t.Errorf("[minimumHealthyPercent maximumPercent]: got %v, want the service's own [50 150]", got)
	}
}

// Bug 7: a timeout where ECS could not place our tasks says so.
func TestTimeoutNamesWhyTasksDidNotStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario(withRule("*:big", ecssim.BehaviorUnplaceable, 0)))
	cfg := config("repo/app:big")
	cfg.Timeout = 1500 * time.Millisecond
	res, _ := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
	if res.Status != deployer.StatusRolledBack {
		t.Errorf("status: got %q, want rolled-back", res.Status)
	}
	for _, want := range []string{"timed out after 1.5s", "unable to place a task", "insufficient memory"} {
		if !strings.Contains(res.Reason, want) {
			t.Errorf("reason %q does not contain %q", res.Reason, want)
		}
	}
}

// Item 8: the service's new events are streamed as they arrive, each
// once, and none from before the run.
func TestServiceEventsStreamed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario())
	var mu sync.Mutex
	var got []deployer.ServiceEvent
	d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
		if ev.Kind == deployer.EventServiceEvent && ev.ServiceEvent != nil {
			mu.Lock()
			got = append(got, *ev.ServiceEvent)
			mu.Unlock()
		}
	}))
	res, err := d.Deploy(context.Background(), config("repo/app:2"))
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	seen := map[string]bool{}
	started := false
	for _, ev := range got {
		if ev.ID == "" || seen[ev.ID] {
			t.Errorf("event %q streamed twice or without an ID", ev.Message)
		}
		seen[ev.ID] = true
		if ev.At.Before(res.StartedAt.Add(-time.Second)) {
			t.Errorf("event from before the run streamed: %v %q", ev.At, ev.Message)
		}
		started = started || strings.Contains(ev.Message, "has started")
	}
	if !started {
		t.Errorf("no \"has started\" event streamed; got %+v", got)
	}
}
