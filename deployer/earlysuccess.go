package deployer

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// Early success criteria (deploymentConfiguration.earlySuccessCriteria,
// ROLLING only; developer guide early-success-criteria.html, API
// reference DeploymentEarlySuccessCriteria): ECS marks a rolling
// deployment COMPLETED once healthyPercent of the service's desired
// count of the target revision is healthy (and, with alarm-based
// rollback, its bake elapsed), and scales the rest in the background,
// outside the deployment: from then on neither the circuit breaker nor
// alarm-based rollback acts on it. BLOCKING removes the old revision's
// tasks before success, DEFERRED after it.
//
// What succeeded means then (docs/strategy-rolling.md): ECS completed our
// deployment AND, in the same read, at least ceil(healthyPercent% ×
// desired) tasks of our revision run (success is a fact about our
// revision, not ECS's word alone). The rest of the desired count is
// named as scaling outside the deployment. With bake-time the bake
// watches every task of our deployment, the background scale-out
// included, and a failure then rolls back (earlySuccessCriteria left as it
// was, or sent back as it was with the original configuration) although
// ECS no longer would.

// EarlySuccess is how a deployment succeeded under ECS's early success
// criteria: the share of the desired count that ran when ECS completed
// it; the rest scaled outside the deployment.
type EarlySuccess struct {
	HealthyPercent int32  `json:"healthyPercent"` // the service's healthyPercent
	Running        int32  `json:"running"`        // tasks of our revision running at success
	Desired        int32  `json:"desired"`        // the desired count
	Cleanup        string `json:"cleanup"`        // sourceServiceRevisionCleanup: BLOCKING or DEFERRED
}

// earlySuccessOf returns the configuration's early success criteria when
// enabled, else nil.
func earlySuccessOf(c *types.DeploymentConfiguration) *types.DeploymentEarlySuccessCriteria {
	if c == nil || c.EarlySuccessCriteria == nil || !c.EarlySuccessCriteria.Enable {
		return nil
	}
	if c.Strategy != "" && c.Strategy != types.DeploymentStrategyRolling {
		return nil
	}
	return c.EarlySuccessCriteria
}

// earlyShare is the number of tasks healthyPercent of desired asks for
// (rounded up).
func earlyShare(es *types.DeploymentEarlySuccessCriteria, desired int32) int32 {
	return (desired*aws.ToInt32(es.HealthyPercent) + 99) / 100
}

// earlyVerdict judges a COMPLETED rolling deployment that runs fewer
// tasks than desired on a service with early success criteria: succeeded
// when at least the criteria's share of our revision runs, still in
// progress otherwise. ok is false when early success does not apply
// (the plain rule: completed and running its desired count).
func earlyVerdict(subject, taskDef string, svc types.Service, c Counts) (v verdict, ok bool) {
	es := earlySuccessOf(svc.DeploymentConfiguration)
	if es == nil || c.Running >= c.Desired {
		return verdict{}, false
	}
	need := earlyShare(es, c.Desired)
	if c.Running < need || c.Running == 0 {
		return verdict{kind: verdictInProgress, counts: &c}, true
	}
	return verdict{kind: verdictSucceeded, counts: &c, reason: fmt.Sprintf(
		"%s completed under ECS's early success criteria: %d/%d tasks of %s running (healthyPercent %d: at least %d); the other %d scale outside the deployment, %s",
		subject, c.Running, c.Desired, taskdef.ShortRevision(taskDef), aws.ToInt32(es.HealthyPercent), need, c.Desired-c.Running, cleanupNote(es))}, true
}

func cleanupNote(es *types.DeploymentEarlySuccessCriteria) string {
	if es.SourceServiceRevisionCleanup == types.ServiceRevisionCleanupDeferred {
		return "and the previous revision's tasks are removed in the background (DEFERRED)"
	}
	return "the previous revision's tasks removed before success (BLOCKING)"
}

// noteEarlySuccess records in the Result how a succeeded deployment met
// the service's early success criteria, when it did (fewer tasks than
// desired running at success).
func (r *run) noteEarlySuccess(v verdict) {
	es := earlySuccessOf(r.svc.DeploymentConfiguration)
	if es == nil || v.counts == nil || v.counts.Running >= v.counts.Desired {
		return
	}
	r.res.EarlySuccess = &EarlySuccess{HealthyPercent: aws.ToInt32(es.HealthyPercent), Running: v.counts.Running,
		Desired: v.counts.Desired, Cleanup: string(es.SourceServiceRevisionCleanup)}
}

// earlySuccessPlan is the dry run's line for a service with early
// success criteria.
func earlySuccessPlan(c *types.DeploymentConfiguration, desired int32, bake bool) string {
	es := earlySuccessOf(c)
	if es == nil {
		return ""
	}
	s := fmt.Sprintf("early success criteria: ECS completes the deployment once %d %% of the desired count (%d of %d) is healthy, scales the rest in the background (its circuit breaker and alarms no longer act), %s; succeeded means at least that share of the new revision runs",
		aws.ToInt32(es.HealthyPercent), earlyShare(es, desired), desired, cleanupNote(es))
	if bake {
		s += "; the bake watches every task of the new revision, the background scale-out included, and rolls back on a failure"
	}
	return s
}

// earlyMinimumDefault is the minimumHealthyPercent RollingDefaults sends
// when none was given: 100, except on a service with early success
// criteria, whose own minimumHealthyPercent is kept (nil: not sent),
// since ECS refuses a minimumHealthyPercent above healthyPercent.
func earlyMinimumDefault(c *types.DeploymentConfiguration) *int32 {
	if earlySuccessOf(c) != nil {
		return nil
	}
	return aws.Int32(100)
}

// checkEarlyMinimum refuses, before any change, a minimumHealthyPercent
// that ECS would refuse with the service's early success criteria
// ("greater than or equal to the minimumHealthyPercent value", API
// reference DeploymentEarlySuccessCriteria).
func checkEarlyMinimum(c *types.DeploymentConfiguration, minHealthy *int32, service string) error {
	es := earlySuccessOf(c)
	if es == nil || minHealthy == nil || *minHealthy <= aws.ToInt32(es.HealthyPercent) {
		return nil
	}
	return fieldError("MinimumHealthyPercent", "%d is above the early success criteria's healthyPercent %d of service %s, and ECS refuses a minimumHealthyPercent above it; give at most %d, or leave it unset to keep the service's",
		*minHealthy, aws.ToInt32(es.HealthyPercent), service, aws.ToInt32(es.HealthyPercent))
}

// earlyBakeNote is what a bake failure adds to its reason when the
// deployment succeeded under early success criteria (v, the success
// baked): the failure may be in the background scale-out, which ECS no
// longer rolls back, so the rollback is ours.
func earlyBakeNote(c *types.DeploymentConfiguration, v verdict) string {
	if earlySuccessOf(c) == nil || v.counts == nil || v.counts.Running >= v.counts.Desired {
		return ""
	}
	return fmt.Sprintf(" (ECS had completed the deployment under its early success criteria with %d/%d tasks running and no longer rolls it back: the rest scaled outside the deployment)", v.counts.Running, v.counts.Desired)
}
