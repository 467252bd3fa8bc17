package ecssim

import (
	"fmt"
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
			if got := cbThreshold(tt.desired); got != tt.want {
				t.Errorf("cbThreshold(%d): got %d, want %d", tt.desired, got, tt.want)
			}
		})
	}
}
