package ecssim

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Early success criteria of ROLLING deployments
// (deploymentConfiguration.earlySuccessCriteria), as the developer guide
// ("Complete Amazon ECS rolling deployments early with early success
// criteria", early-success-criteria.html) and the API reference
// (DeploymentEarlySuccessCriteria) describe them:
//
//   - "You can use early success criteria only with rolling deployment
//     strategy"; enable true requires healthyPercent (0-100, "greater
//     than or equal to the minimumHealthyPercent value") and
//     sourceServiceRevisionCleanup.
//   - ECS completes the deployment once healthyPercent of the service's
//     desiredCount of the target revision is healthy and, with
//     alarm-based rollback, the bake time elapsed; it "continues to scale
//     the target service revision to 100 percent in the background".
//   - BLOCKING: the source revision's tasks are removed before the
//     deployment is marked successful; DEFERRED: after, in the
//     background.
//   - Once complete, the deployment is no longer IN_PROGRESS: neither the
//     circuit breaker nor alarm-based rollback acts on it (both act on an
//     IN_PROGRESS deployment only, engine.go and alarms.go), while the
//     scheduler keeps launching (and replacing) the target's tasks up to
//     the desired count.

// checkEarlySuccess returns ECS's refusal of an earlySuccessCriteria.
func checkEarlySuccess(es *types.DeploymentEarlySuccessCriteria, strategy types.DeploymentStrategy, minHealthy int32) *apiError {
	if es == nil || !es.Enable {
		return nil
	}
	if strategy != "" && strategy != types.DeploymentStrategyRolling {
		return errInvalidParam("Early success criteria can only be used with the ROLLING deployment strategy.")
	}
	if es.HealthyPercent == nil || es.SourceServiceRevisionCleanup == "" {
		return errInvalidParam("earlySuccessCriteria.healthyPercent and earlySuccessCriteria.sourceServiceRevisionCleanup are required when enable is true.")
	}
	if p := *es.HealthyPercent; p < 0 || p > 100 || p < minHealthy {
		return errInvalidParam("earlySuccessCriteria.healthyPercent must be between 0 and 100 and at least minimumHealthyPercent (%d).", minHealthy)
	}
	switch es.SourceServiceRevisionCleanup {
	case types.ServiceRevisionCleanupBlocking, types.ServiceRevisionCleanupDeferred:
	default:
		return errInvalidParam("earlySuccessCriteria.sourceServiceRevisionCleanup %q is not valid: use BLOCKING or DEFERRED.", es.SourceServiceRevisionCleanup)
	}
	return nil
}

// earlySuccess reports whether the PRIMARY, a ROLLING deployment still
// IN_PROGRESS with primHealthy healthy tasks, meets the service's early
// success criteria now, and the reason ECS gives.
func (s *Sim) earlySuccess(svc *service, prim *deployment, primHealthy int) (string, bool) {
	es := svc.earlySuccess
	if es == nil || !es.Enable || prim.rollout != types.DeploymentRolloutStateInProgress || prim.ecsRollback {
		return "", false
	}
	if svc.sdx != nil && svc.sdx.strategy != "" && svc.sdx.strategy != types.DeploymentStrategyRolling {
		return "", false
	}
	pct := aws.ToInt32(es.HealthyPercent)
	need := (int(svc.desired)*int(pct) + 99) / 100
	if primHealthy < need || primHealthy == 0 && svc.desired > 0 {
		return "", false
	}
	if es.SourceServiceRevisionCleanup == types.ServiceRevisionCleanupBlocking {
		for _, d := range svc.deps[1:] {
			if len(d.live) > 0 {
				return "", false
			}
		}
	}
	return fmt.Sprintf("ECS deployment %s completed: early success criteria met (%d of %d tasks healthy, at least %d%%; %s clean-up).",
		prim.id, primHealthy, svc.desired, pct, es.SourceServiceRevisionCleanup), true
}
