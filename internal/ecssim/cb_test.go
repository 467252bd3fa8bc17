package ecssim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func withCircuitBreaker(t testing.TB, rollback bool) Scenario {
	sc := demoScenario(t)
	sc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker = &CircuitBreaker{Enable: true, Rollback: rollback}
	return sc
}

// waitDeploymentFailed waits (5 s at most) until deployment id of
// demo/web is FAILED and returns the service and that deployment.
func waitDeploymentFailed(t testing.TB, c *ecs.Client, id, what string) (types.Service, types.Deployment) {
	t.Helper()
	svc := waitService(t, c, "demo", "web", 5*time.Second, what, func(s types.Service) bool {
		d, ok := findDeployment(s, id)
		return ok && d.RolloutState == types.DeploymentRolloutStateFailed
	})
	ours, _ := findDeployment(svc, id)
	return svc, ours
}

func findDeployment(s types.Service, id string) (types.Deployment, bool) {
	for _, d := range s.Deployments {
		if aws.ToString(d.Id) == id {
			return d, true
		}
	}
	return types.Deployment{}, false
}

func TestCircuitBreakerRollback(t *testing.T) {
	t.Parallel()
	sc := withCircuitBreaker(t, true)
	sc.Timings.HealthCheck = Duration(400 * time.Millisecond) // a wide window to observe FAILED before the rollback completes
	srv := NewServer(t, sc)
	c, _ := clients(srv, 0)
	oldID := aws.ToString(describeService(t, c, "demo", "web").Deployments[0].Id)
	id, _ := deploy(t, c, "public.ecr.aws/ecs-rollout/web:crash")

	svc, ours := waitDeploymentFailed(t, c, id, "our deployment FAILED")
	if got, want := aws.ToString(ours.RolloutStateReason), "ECS deployment circuit breaker: tasks failed to start."; got != want {
		t.Errorf("rolloutStateReason: got %q, want %q", got, want)
	}
	if ours.FailedTasks < 3 {
		t.Errorf("failedTasks at trip: got %d, want >= 3 (threshold for 2 tasks)", ours.FailedTasks)
	}
	if got := aws.ToString(ours.Status); got != "ACTIVE" {
		t.Errorf("failed deployment status after rollback started: got %s, want ACTIVE", got)
	}
	prim := svc.Deployments[0]
	if pid := aws.ToString(prim.Id); pid == id || pid == oldID || !deploymentIDRe.MatchString(pid) {
		t.Errorf("rollback PRIMARY id: got %q, want a new ecs-svc/ ID", pid)
	}
	if got, want := aws.ToString(prim.TaskDefinition), "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"; got != want {
		t.Errorf("rollback task definition: got %s, want %s", got, want)
	}
	if got, want := aws.ToString(prim.RolloutStateReason), "ECS deployment circuit breaker: rolling back to deploymentId "+oldID+"."; got != want {
		t.Errorf("rollback rolloutStateReason: got %q, want %q", got, want)
	}
	for _, want := range []string{
		"(service web) (deployment " + id + ") deployment failed: tasks failed to start.",
		"(service web) rolling back to deployment " + oldID + ".",
	} {
		if !hasEvent(svc.Events, want) {
			t.Errorf("events: want %q, got:%s", want, fmtEvents(svc.Events))
		}
	}
	rbID := aws.ToString(prim.Id)
	svc = waitService(t, c, "demo", "web", 5*time.Second, "rollback COMPLETED", func(s types.Service) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	if got := aws.ToString(svc.Deployments[0].Id); got != rbID {
		t.Errorf("completed deployment: got %s, want the rollback %s", got, rbID)
	}
	if got := aws.ToString(svc.TaskDefinition); got != "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1" {
		t.Errorf("service task definition after rollback: got %s, want web:1", got)
	}
}

func TestCircuitBreakerWithoutRollback(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testCircuitBreakerWithoutRollback)
}

func testCircuitBreakerWithoutRollback(t *testing.T) {
	sim, c := fakeClockSim(t, withCircuitBreaker(t, false))
	id, _ := deploy(t, c, "public.ecr.aws/ecs-rollout/web:pull")
	svc := waitService(t, c, "demo", "web", 5*time.Second, "our deployment FAILED", func(s types.Service) bool {
		return s.Deployments[0].RolloutState == types.DeploymentRolloutStateFailed
	})
	if got := aws.ToString(svc.Deployments[0].Id); got != id {
		t.Fatalf("PRIMARY: got %s, want ours %s (no rollback)", got, id)
	}
	started := len(sim.tasksOf(id))
	time.Sleep(time.Minute) // on the fake clock: thousands of back-offs later
	svc = describeService(t, c, "demo", "web")
	if got := len(sim.tasksOf(id)); got != started {
		t.Errorf("tasks started after the circuit breaker tripped: got %d, want %d (no new launches)", got, started)
	}
	if len(svc.Deployments) != 2 || svc.Deployments[1].RunningCount != 2 {
		t.Errorf("old deployment should keep serving: %s", fmtDeployments(svc.Deployments))
	}
	if d := svc.Deployments[0]; d.RolloutState != types.DeploymentRolloutStateFailed || aws.ToString(d.Status) != "PRIMARY" {
		t.Errorf("got %s, want ours PRIMARY FAILED", fmtDeployments(svc.Deployments))
	}
}

// tasksOf lists the IDs of every task a deployment started.
func (s *Sim) tasksOf(deploymentID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, cl := range s.cOrder {
		for _, t := range cl.tOrder {
			if t.startedBy == deploymentID {
				ids = append(ids, t.id)
			}
		}
	}
	return ids
}

func TestCircuitBreakerThreshold(t *testing.T) {
	t.Parallel()
	tests := []struct{ desired, want int32 }{
		{0, 3}, {1, 3}, {2, 3}, {6, 3}, {7, 4}, {10, 5}, {399, 200}, {400, 200}, {1000, 200},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.desired), func(t *testing.T) {
			t.Parallel()
			if got := cbThreshold(&service{desired: tt.desired, cb: &types.DeploymentCircuitBreaker{Enable: true}}); got != tt.want {
				t.Errorf("cbThreshold(%d): got %d, want %d", tt.desired, got, tt.want)
			}
		})
	}
}

// TestCircuitBreakerThresholdConfiguration: the breaker trips at the
// threshold its thresholdConfiguration gives for the desired count
// (COUNT, BOUNDED_PERCENT, UNBOUNDED_PERCENT), counts failures after a
// healthy task only with resetOnHealthyTask false, and DescribeServices
// reports both settings as the scenario gave them.
func TestCircuitBreakerThresholdConfiguration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cb        CircuitBreaker
		desired   int32
		sequence  string // flaky rule of the new image; "" crashes every task
		wantTrip  bool
		wantFails int32 // failedTasks at the trip, at least (tasks that fail together count together)
		started   int   // tasks our deployment started, at most
	}{
		{name: "COUNT 1: the first failure", cb: CircuitBreaker{ThresholdConfiguration: &ThresholdConfiguration{Type: "COUNT", Value: 1}}, desired: 2, wantTrip: true, wantFails: 1, started: 2},
		{name: "BOUNDED_PERCENT 150 of 2", cb: CircuitBreaker{ThresholdConfiguration: &ThresholdConfiguration{Type: "BOUNDED_PERCENT", Value: 150}}, desired: 2, wantTrip: true, wantFails: 3, started: 4},
		{name: "UNBOUNDED_PERCENT 25 of 4: below the bounded minimum", cb: CircuitBreaker{ThresholdConfiguration: &ThresholdConfiguration{Type: "UNBOUNDED_PERCENT", Value: 25}}, desired: 4, wantTrip: true, wantFails: 1, started: 4},
		{name: "UNBOUNDED_PERCENT 300 of 2: past the bounded maximum of the default", cb: CircuitBreaker{ThresholdConfiguration: &ThresholdConfiguration{Type: "UNBOUNDED_PERCENT", Value: 300}}, desired: 2, wantTrip: true, wantFails: 6, started: 6},
		{name: "reset on a healthy task (default): c h c c never trips COUNT 3", cb: CircuitBreaker{ThresholdConfiguration: &ThresholdConfiguration{Type: "COUNT", Value: 3}}, desired: 2, sequence: "chcc"},
		{name: "resetOnHealthyTask false: c h c c trips COUNT 3", cb: CircuitBreaker{ResetOnHealthyTask: aws.Bool(false), ThresholdConfiguration: &ThresholdConfiguration{Type: "COUNT", Value: 3}}, desired: 2, sequence: "chcc", wantTrip: true, wantFails: 3, started: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				sc := demoScenario(t)
				cb := tt.cb
				cb.Enable, cb.Rollback = true, true
				sc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker = &cb
				sc.Services[0].DesiredCount = tt.desired
				image := "public.ecr.aws/ecs-rollout/web:crash"
				if tt.sequence != "" {
					image = "public.ecr.aws/ecs-rollout/web:seq"
					sc.ImageRules = append([]ImageRule{{Image: "*:seq", Behavior: BehaviorFlaky, Sequence: tt.sequence}}, sc.ImageRules...)
				}
				sim, c := fakeClockSim(t, sc)
				got := describeService(t, c, "demo", "web").DeploymentConfiguration.DeploymentCircuitBreaker
				want := cb.ecs()
				if got == nil || aws.ToBool(got.ResetOnHealthyTask) != aws.ToBool(want.ResetOnHealthyTask) ||
					(got.ResetOnHealthyTask == nil) != (want.ResetOnHealthyTask == nil) || *got.ThresholdConfiguration != *want.ThresholdConfiguration {
					t.Fatalf("DescribeServices deploymentCircuitBreaker: got %+v, want %+v", got, want)
				}
				id, _ := deploy(t, c, image)
				svc := waitService(t, c, "demo", "web", time.Minute, "our deployment FAILED or COMPLETED", func(s types.Service) bool {
					d, ok := findDeployment(s, id)
					return ok && d.RolloutState != types.DeploymentRolloutStateInProgress
				})
				ours, _ := findDeployment(svc, id)
				if tripped := ours.RolloutState == types.DeploymentRolloutStateFailed; tripped != tt.wantTrip {
					t.Fatalf("tripped: got %v, want %v: %s", tripped, tt.wantTrip, fmtDeployments(svc.Deployments))
				}
				if tt.wantTrip && ours.FailedTasks < tt.wantFails {
					t.Errorf("failedTasks at the trip: got %d, want at least %d", ours.FailedTasks, tt.wantFails)
				}
				if n := len(sim.tasksOf(id)); tt.wantTrip && n > tt.started {
					t.Errorf("tasks started before the trip: got %d, want at most %d (it tripped late)", n, tt.started)
				}
			})
		})
	}
}

// TestUpdateServiceThresholdConfiguration: UpdateService keeps the
// breaker's settings as sent and refuses a threshold type ECS does not
// have.
func TestUpdateServiceThresholdConfiguration(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, c := fakeClockSim(t, demoScenario(t))
		ctx := context.Background()
		sent := &types.DeploymentCircuitBreaker{Enable: true, Rollback: true, ResetOnHealthyTask: aws.Bool(false),
			ThresholdConfiguration: &types.ThresholdConfiguration{Type: types.ThresholdTypeUnboundedPercent, Value: 300}}
		if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("demo"), Service: aws.String("web"),
			DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: sent}}); err != nil {
			t.Fatalf("UpdateService: %v", err)
		}
		got := describeService(t, c, "demo", "web").DeploymentConfiguration.DeploymentCircuitBreaker
		if aws.ToBool(got.ResetOnHealthyTask) || got.ResetOnHealthyTask == nil || *got.ThresholdConfiguration != *sent.ThresholdConfiguration {
			t.Errorf("after UpdateService: got %+v, want %+v", got, sent)
		}
		_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("demo"), Service: aws.String("web"),
			DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true,
				ThresholdConfiguration: &types.ThresholdConfiguration{Type: "PERCENT", Value: 5}}}})
		if err == nil || !strings.Contains(err.Error(), "InvalidParameterException") {
			t.Errorf("UpdateService with type PERCENT: got %v, want InvalidParameterException", err)
		}
	})
}

// TestCircuitBreakerTripDelay: with Timings.BreakerTrip, failedTasks
// reaches the threshold while the rollout is still IN_PROGRESS, and ECS
// fails and rolls it back that much later.
func TestCircuitBreakerTripDelay(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sc := withCircuitBreaker(t, true)
		sc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker.ThresholdConfiguration = &ThresholdConfiguration{Type: "COUNT", Value: 1}
		sc.Timings.BreakerTrip = Duration(10 * time.Second)
		_, c := fakeClockSim(t, sc)
		id, _ := deploy(t, c, "public.ecr.aws/ecs-rollout/web:crash")
		svc := waitService(t, c, "demo", "web", time.Minute, "a failed task counted", func(s types.Service) bool {
			d, ok := findDeployment(s, id)
			return ok && d.FailedTasks >= 1
		})
		counted := time.Now()
		if d, _ := findDeployment(svc, id); d.RolloutState != types.DeploymentRolloutStateInProgress || aws.ToString(d.Status) != "PRIMARY" {
			t.Fatalf("at the first failure: got %s, want ours PRIMARY IN_PROGRESS until BreakerTrip passes", fmtDeployments(svc.Deployments))
		}
		svc = waitService(t, c, "demo", "web", time.Minute, "our deployment FAILED", func(s types.Service) bool {
			d, ok := findDeployment(s, id)
			return ok && d.RolloutState == types.DeploymentRolloutStateFailed
		})
		if waited := time.Since(counted); waited < 9*time.Second || waited > 11*time.Second {
			t.Errorf("FAILED %s after the threshold was reached, want BreakerTrip (10s)", waited)
		}
		if p := svc.Deployments[0]; aws.ToString(p.Id) == id || !strings.Contains(aws.ToString(p.RolloutStateReason), "circuit breaker") {
			t.Errorf("PRIMARY after the trip: got %s, want ECS's rollback", fmtDeployments(svc.Deployments))
		}
	})
}
