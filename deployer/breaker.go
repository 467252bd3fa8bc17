package deployer

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	circuit "github.com/ecs-rollout/ecs-rollout/internal/breaker"
)

// ECS's deployment circuit breaker, as the service configures it
// (deploymentCircuitBreaker: enable, rollback, resetOnHealthyTask,
// thresholdConfiguration; the formula is internal/breaker's, from the API
// reference). The rolling judge uses it to tell when ECS is about to
// roll our deployment back by itself (so that we do not roll back a
// second time), the plan and the reasons to say at how many failed tasks
// ECS acts. Every rollback of ours sends the service's original
// deploymentCircuitBreaker back whole (rollbackInput), both settings
// included.

// serviceBreaker is the service's circuit-breaker rule.
func serviceBreaker(svc types.Service) circuit.Rule {
	if c := svc.DeploymentConfiguration; c != nil {
		return circuit.Of(c.DeploymentCircuitBreaker)
	}
	return circuit.Of(nil)
}

// breakerDue reports whether ECS's circuit breaker, rolling back by
// itself, has counted enough failed tasks of a deployment (ECS's own
// failedTasks) to fail it now, by the service's threshold for its latest
// desired count.
func breakerDue(svc types.Service, failed int32) bool {
	b := serviceBreaker(svc)
	return b.RollsBack() && failed >= b.Threshold(svc.DesiredCount)
}

// breakerThreshold says at how many failed tasks the service's breaker
// acts, and why: "1 failed task (COUNT 1)".
func breakerThreshold(svc types.Service) string {
	b := serviceBreaker(svc)
	n := b.Threshold(svc.DesiredCount)
	return fmt.Sprintf("%d failed %s (%s)", n, plural(int(n), "task", "tasks"), b.Formula(svc.DesiredCount))
}

// breakerNote is what a reason naming ECS's circuit breaker adds: the
// threshold it used.
func breakerNote(svc types.Service) string {
	if !serviceBreaker(svc).Enabled {
		return ""
	}
	return "; the service's circuit breaker acts at " + breakerThreshold(svc)
}

// breakerPlan is the plan's line on the service's circuit breaker ("" when
// it is off): at how many failed tasks ECS fails the deployment, how it
// counts, whether it rolls back, and who acts first, ECS or our
// failed-tasks-threshold.
func breakerPlan(svc types.Service, ours int) string {
	b := serviceBreaker(svc)
	if !b.Enabled {
		return ""
	}
	n := int(b.Threshold(svc.DesiredCount))
	s := fmt.Sprintf("circuit breaker: ECS fails the deployment at %s; %s", breakerThreshold(svc), b.Counting())
	if !b.Rollback {
		s += "; rollback off: we roll back"
	} else {
		s += "; ECS then rolls back by itself and we follow its rollback (no second one)"
	}
	if ours < n {
		s += fmt.Sprintf("; failed-tasks-threshold %d acts first", ours)
	}
	return s
}

// latestService is the service as our update left it (its desired count
// is the latest, which the breaker's percentages multiply), or as the
// preflight read it.
func (r *run) latestService() types.Service {
	if r.updated.ServiceName != nil && r.updated.DeploymentConfiguration != nil {
		return r.updated
	}
	return r.svc
}
