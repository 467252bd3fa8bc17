package deployer

import (
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Lifecycle hooks on ROLLING services (docs/pause-hooks.md). The API
// accepts lifecycleHooks on a ROLLING service (DeploymentConfiguration,
// API reference), AWS's announcement of PAUSE hooks (May 2026) names
// rolling deployments among the strategies they work with, and the
// developer guide's hook pages (deployment-lifecycle-hooks.html,
// pause-lifecycle-hooks.html) list the stages without tying them to a
// strategy. Wherever ECS runs a hook it shows it in the service
// deployment's lifecycleHookDetails, which only the service-deployment
// API reports: a ROLLING service with hooks is therefore watched as the
// staged strategy watches its service deployments (a PAUSE hook of ours
// is paused, continued or rolled back per on-pause; a Lambda hook that
// fails makes ECS roll back, named and never doubled), with the ROLLING
// strategy's settings and rollback once the deployment finished
// (UpdateService to the previous revision). A ROLLING service without
// hooks keeps the rolling watch, which needs no service-deployment API.

// rollingWithHooks reports whether svc deploys ROLLING with lifecycle
// hooks.
func rollingWithHooks(svc types.Service) bool {
	c := svc.DeploymentConfiguration
	return !isStaged(strategyOf(svc)) && !isCodeDeploy(svc) && c != nil && len(c.LifecycleHooks) > 0
}
