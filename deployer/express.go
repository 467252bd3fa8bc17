package deployer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// Express Mode services (docs/express-mode.md). ECS creates such a
// service from one image with a canary deployment, an Application Load
// Balancer, an alarm and auto scaling; DescribeServices reports it with
// resourceManagementType ECS. What the ECS developer guide and API
// reference say, and what this file does with it:
//
//   - "Updates are deployed using canary deployments with alarm based
//     rollback alarms" (express-service-update-full.html): the deployment
//     is a CANARY service deployment, watched as the staged strategy
//     watches one (staged_run.go); Express Mode's own alarm is the
//     service's alarm-based rollback, so its rollback is ECS's
//     (verdictECSRollback), never doubled.
//   - UpdateExpressGatewayService "creates a new service revision with
//     updated configuration" (API_UpdateExpressGatewayService.html); its
//     taskDefinitionArn deploys a given revision, which "must have a
//     container named Main with a single TCP port mapping" and "FARGATE
//     compatibility". That is the call that deploys our new revision: the
//     Express Mode configuration then names the revision that runs (a
//     direct UpdateService would leave Express Mode's own configuration
//     behind, "Updating Resources Outside of Express Mode",
//     express-service-advanced-customization.html).
//   - The deployment strategy and the load balancers of an Express Mode
//     service cannot be updated: no UpdateService is ever sent to it. A
//     rollback while our deployment runs is StopServiceDeployment
//     ROLLBACK (ContinueServiceDeployment ROLLBACK at a PAUSE hook), which
//     sends no configuration; once it finished, UpdateExpressGatewayService
//     with taskDefinitionArn the previous revision.
//   - UpdateExpressGatewayService has no forceNewDeployment: a new
//     revision ARN is what starts a deployment, so deploying the revision
//     the service already runs is refused before any change.

// isExpress reports whether svc is an Express Mode service.
func isExpress(svc types.Service) bool {
	return svc.ResourceManagementType == types.ResourceManagementTypeEcs
}

// expressTaskDefinition fills an Express Mode service's top-level
// taskDefinition, which DescribeServices may leave out for such a
// service, from its PRIMARY deployment: the revision the service runs.
func expressTaskDefinition(svc *types.Service) {
	if !isExpress(*svc) || aws.ToString(svc.TaskDefinition) != "" {
		return
	}
	if p := primaryOf(*svc); p != nil {
		svc.TaskDefinition = p.TaskDefinition
	}
}

// expressStrategy is an Express Mode service: a CANARY staged strategy
// whose deployments start, and whose finished deployments roll back,
// through UpdateExpressGatewayService.
type expressStrategy struct {
	*stagedStrategy
	serviceARN string
}

var (
	_ strategy    = (*expressStrategy)(nil)
	_ preflighter = (*expressStrategy)(nil)
)

func newExpressStrategy(r *run, svc types.Service) *expressStrategy {
	kind := strategyOf(svc)
	if !isStaged(kind) {
		kind = types.DeploymentStrategyCanary // what Express Mode deploys with
	}
	return &expressStrategy{stagedStrategy: &stagedStrategy{r: r, kind: kind}, serviceARN: aws.ToString(svc.ServiceArn)}
}

// preflight refuses what UpdateExpressGatewayService cannot send (the
// rolling percentages, desired count, tags settings, volumes), then reads
// the service deployments as the staged strategy does.
func (st *expressStrategy) preflight(ctx context.Context) error {
	cfg := st.r.cfg
	svc := cfg.Service
	switch {
	case cfg.MinimumHealthyPercent != nil || cfg.MaximumPercent != nil:
		field := "MinimumHealthyPercent"
		if cfg.MinimumHealthyPercent == nil {
			field = "MaximumPercent"
		}
		return fieldError(field, "service %s is an Express Mode service (resourceManagementType ECS): its deployment configuration is Express Mode's and is not changed by a deploy; leave the percentages unset", svc)
	case cfg.DesiredCount != nil:
		return fieldError("DesiredCount", "service %s is an Express Mode service: Express Mode scales it (its scalingTarget); leave the desired count unset", svc)
	case cfg.EnableECSManagedTags != nil:
		return fieldError("EnableECSManagedTags", "service %s is an Express Mode service: UpdateExpressGatewayService does not change its tag settings; leave it unset", svc)
	case cfg.PropagateTags != "":
		return fieldError("PropagateTags", "service %s is an Express Mode service: UpdateExpressGatewayService does not change its tag settings; leave it unset", svc)
	case cfg.ServiceVolume != nil:
		return fieldError("ServiceVolume", "service %s is an Express Mode service: UpdateExpressGatewayService configures no volumes; leave the service volume unset", svc)
	}
	return st.stagedStrategy.preflight(ctx)
}

// preflightRevision checks the revision against what
// UpdateExpressGatewayService takes (a container named Main, FARGATE
// compatibility) and refuses to redeploy the revision the service runs.
func (st *expressStrategy) preflightRevision(_ context.Context, rev *ecs.RegisterTaskDefinitionInput) error {
	r := st.r
	field := "Images"
	if r.res.Promoted {
		field = "Revision"
		if r.newARN == r.target {
			return fieldError("Revision", "service %s is an Express Mode service and already runs %s: UpdateExpressGatewayService has no force-new-deployment, so the same revision cannot be deployed again; deploy a new revision (an image or any render change registers one)", r.cfg.Service, taskdef.ShortRevision(r.target))
		}
	}
	if !slices.ContainsFunc(rev.ContainerDefinitions, func(c types.ContainerDefinition) bool { return aws.ToString(c.Name) == "Main" }) {
		return fieldError(field, "service %s is an Express Mode service: the revision to deploy must have a container named Main (API reference, UpdateExpressGatewayService taskDefinitionArn)", r.cfg.Service)
	}
	if !slices.Contains(rev.RequiresCompatibilities, types.CompatibilityFargate) {
		return fieldError(field, "service %s is an Express Mode service: the revision to deploy must be FARGATE compatible (requiresCompatibilities FARGATE)", r.cfg.Service)
	}
	return nil
}

// updatePlan is the dry run's account: the call, the canary, the watch
// and the rollback.
func (st *expressStrategy) updatePlan() []string {
	r := st.r
	which := "new"
	if r.res.Promoted {
		which = "promoted"
	}
	plan := []string{fmt.Sprintf("UpdateExpressGatewayService: %s (an Express Mode service, resourceManagementType ECS) in %s to the %s revision (taskDefinitionArn; no UpdateService: its deployment strategy and load balancers cannot be updated)", r.cfg.Service, r.cfg.Cluster, which)}
	if r.cfg.ForceNewDeployment {
		plan = append(plan, "  force-new-deployment: UpdateExpressGatewayService has none; the new revision starts the deployment")
	}
	for _, line := range strategyPlan(r.svc.DeploymentConfiguration) {
		plan = append(plan, "  "+line)
	}
	if !r.cfg.Wait {
		return plan
	}
	return append(plan, st.planWatch())
}

func (st *expressStrategy) planWatch() string {
	r := st.r
	return fmt.Sprintf("watch the Express Mode canary deployment stage by stage for up to %s (timeout plus ECS's own waits); ECS's own alarm rollback is ECS's; on failure StopServiceDeployment ROLLBACK back to %s (once finished: UpdateExpressGatewayService back to %s)",
		stagedTimeout(r.cfg.Timeout, r.svc.DeploymentConfiguration), taskdef.ShortRevision(r.target), taskdef.ShortRevision(r.target))
}

// start deploys our revision with UpdateExpressGatewayService and finds
// the service deployment it started.
func (st *expressStrategy) start(ctx context.Context) (bool, error) {
	r := st.r
	svc, accepted, err := st.deployRevision(ctx, r.newARN)
	if !accepted {
		return false, err
	}
	r.updated = svc
	before := deploymentIDs(r.svc)
	r.res.DeploymentID = primaryFor(svc, r.newARN, before)
	r.res.ServiceDeploymentARN = r.updatedServiceDeployment(svc)
	r.d.emit(EventInfo, "Updated Express Mode service %s with UpdateExpressGatewayService: deployment %s of %s", r.cfg.Service, orDash(r.res.DeploymentID), taskdef.ShortRevision(r.newARN))
	r.checkpoint(PhaseUpdated)
	st.w = r.newStagedWatch(r.res.ServiceDeploymentARN)
	r.ours = st.w.tasks
	if r.res.ServiceDeploymentARN != "" {
		r.d.emit(EventInfo, "Service deployment %s (%s, Express Mode)", r.res.ServiceDeploymentARN, st.kind)
	}
	return true, err
}

// deployRevision sends UpdateExpressGatewayService with taskDefinitionArn
// and reads the service after it. accepted is true when the service now
// moves to taskDef, also when the call failed but was applied (a retried
// call).
func (st *expressStrategy) deployRevision(ctx context.Context, taskDef string) (types.Service, bool, error) {
	r := st.r
	_, err := r.d.ecs.UpdateExpressGatewayService(ctx, &ecs.UpdateExpressGatewayServiceInput{
		ServiceArn:        aws.String(st.serviceARN),
		TaskDefinitionArn: aws.String(taskDef),
	})
	lctx, cancel := freshContext(ctx)
	defer cancel()
	svc, derr := r.d.describeService(lctx, r.cfg.Cluster, r.cfg.Service)
	if err != nil && (derr != nil || aws.ToString(svc.TaskDefinition) != taskDef) {
		return types.Service{}, false, fmt.Errorf("update express gateway service %s: %w", r.cfg.Service, err)
	}
	if derr != nil {
		return types.Service{}, true, nil // the call succeeded; the watch reads the service again
	}
	return svc, true, err
}

// rollback: while our service deployment runs, the staged rollback
// (StopServiceDeployment or ContinueServiceDeployment ROLLBACK); once it
// finished, UpdateExpressGatewayService back to the previous revision,
// watched as the staged deployment it starts.
func (st *expressStrategy) rollback(ctx context.Context) error {
	r := st.r
	if !st.finished && st.w.arn != "" {
		// Rule 1: the mechanism by a fresh read of our deployment.
		if plan, err := st.planRollback(ctx); err == nil && plan == stagedRollbackRedeploy {
			st.finished = true
		}
	}
	if !st.finished {
		err := r.rollbackStaged(ctx, st.w)
		if !errors.Is(err, errNoServiceDeployment) {
			return err
		}
		r.d.emit(EventInfo, "%v; rolling back with UpdateExpressGatewayService to %s", err, taskdef.ShortRevision(r.target))
		st.finished = true
	}
	ctx, cancel := freshContext(ctx)
	defer cancel()
	svc, accepted, err := st.deployRevision(ctx, r.target)
	if !accepted {
		return err
	}
	r.res.RollbackDeploymentID = primaryFor(svc, r.target, deploymentIDs(r.svc, r.res.DeploymentID))
	arn := aws.ToString(svc.CurrentServiceDeployment)
	if arn == st.w.arn || arn == aws.ToString(r.svc.CurrentServiceDeployment) {
		arn = "" // found by listing
	}
	st.redeploy = r.redeployWatch(arn)
	r.d.emit(EventInfo, "Rollback issued: UpdateExpressGatewayService to %s (deployment %s)", taskdef.ShortRevision(r.target), orDash(r.res.RollbackDeploymentID))
	return nil
}

// manualRollback: a running deployment is stopped with a rollback; a
// finished one is rolled back by deploying the previous revision through
// Express Mode.
func (st *expressStrategy) manualRollback() string {
	if st.finished || st.w == nil || st.w.arn == "" || (st.w.last != nil && rollbackPlanFor(st.w.last.Status) == stagedRollbackRedeploy) {
		return expressRollbackCommand(st.serviceARN, st.r.target)
	}
	return stopCommand(st.w.arn)
}

func expressRollbackCommand(serviceARN, target string) string {
	return fmt.Sprintf("aws ecs update-express-gateway-service --service-arn %s --task-definition-arn %s", shellQuote(serviceARN), shellQuote(target))
}

// saveTo records the service's ARN: the post step rolls a finished
// deployment back through Express Mode with it.
func (st *expressStrategy) saveTo(cp *Checkpoint) {
	st.stagedStrategy.saveTo(cp)
	cp.ExpressServiceARN = st.serviceARN
}

// recover is Recover for an Express Mode service: a running deployment
// as staged (Stop/ContinueServiceDeployment ROLLBACK); a finished one
// owed a rollback, or whose ECS rollback failed, with
// UpdateExpressGatewayService back to the previous revision. Never
// UpdateService.
func (st *expressStrategy) recover(ctx context.Context, d *Deployer, cp Checkpoint, res Result) (Result, error) {
	manual := expressRollbackCommand(cp.ExpressServiceARN, cp.RollbackTarget)
	owed := cp.Phase == PhaseRollbackOwed || cp.Phase == PhaseRollingBack
	what := ""
	if cp.ServiceDeploymentARN != "" {
		sd, err := d.describeServiceDeployment(ctx, cp.ServiceDeploymentARN)
		if err == nil && cp.Phase == PhaseRollingBack && cp.RollbackServiceDeploymentARN != "" {
			// A rollback accepted: settled or in progress is the post
			// step's answer (rule 3); failed, it is owed again.
			if done, r, err := recoverCheckRollback(ctx, d, cp, res, sd); done {
				return r, err
			}
		}
		switch {
		case err != nil:
			return st.stagedStrategy.recover(ctx, d, cp, res)
		case sd.Status == types.ServiceDeploymentStatusRollbackFailed:
			what = fmt.Sprintf("ECS's rollback of deployment %s of %s failed (ROLLBACK_FAILED)", serviceDeploymentID(cp.ServiceDeploymentARN), taskdef.ShortRevision(cp.TaskDefinition))
		case sd.Status == types.ServiceDeploymentStatusSuccessful && owed:
			what = fmt.Sprintf("the main step could not issue the rollback of deployment %s of %s (SUCCESSFUL)", serviceDeploymentID(cp.ServiceDeploymentARN), taskdef.ShortRevision(cp.TaskDefinition))
		default:
			return st.stagedStrategy.recover(ctx, d, cp, res)
		}
	} else {
		svc, err := d.describeService(ctx, cp.Cluster, cp.Service)
		if err != nil {
			res.Status, res.ManualRollback = StatusRollbackFailed, manual
			res.Reason = fmt.Sprintf("post: could not check service %s: %v", cp.Service, err)
			return res, fmt.Errorf("post: describe service %s: %w", cp.Service, err)
		}
		if aws.ToString(svc.TaskDefinition) != cp.TaskDefinition {
			res.Reason = fmt.Sprintf("the service no longer runs our revision %s; nothing to do", taskdef.ShortRevision(cp.TaskDefinition))
			return res, nil
		}
		if !owed {
			res.Reason = fmt.Sprintf("the deployment of %s completed before the main step ended; leaving it", taskdef.ShortRevision(cp.TaskDefinition))
			return res, nil
		}
		what = fmt.Sprintf("the main step could not issue the rollback of %s", taskdef.ShortRevision(cp.TaskDefinition))
	}
	if !cp.Rollback && !owed {
		res.Status, res.ManualRollback = StatusFailed, manual
		res.Reason = what + "; leaving it (on-cancel: leave)"
		return res, nil
	}
	if _, err := d.ecs.UpdateExpressGatewayService(ctx, &ecs.UpdateExpressGatewayServiceInput{
		ServiceArn: aws.String(cp.ExpressServiceARN), TaskDefinitionArn: aws.String(cp.RollbackTarget)}); err != nil {
		res.Status, res.ManualRollback = StatusRollbackFailed, manual
		res.Reason = fmt.Sprintf("%s; the rollback to %s could not be issued: %v", what, taskdef.ShortRevision(cp.RollbackTarget), err)
		return res, fmt.Errorf("post: roll back %s: %w", cp.Service, err)
	}
	res.Status = StatusRollbackIssued // issued, not watched settle (rule 3)
	res.Reason = fmt.Sprintf("%s; rollback to %s issued (UpdateExpressGatewayService), not watched to its end", what, taskdef.ShortRevision(cp.RollbackTarget))
	return res, nil
}
