package deployer

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// awaitRollback watches the rollback deployment (ours, or the one ECS's
// circuit breaker started) until it settles or RollbackTimeout passes.
func (r *run) awaitRollback(ctx context.Context, why, by string) error {
	id := r.strategy.rollbackSubject()
	if by != "" {
		r.d.emit(EventPhase, "Watch rollback by %s (%s)", by, id)
	} else {
		r.d.emit(EventPhase, "Watch rollback %s", id)
	}
	rv := r.strategy.watchRollback(ctx)
	switch rv.kind {
	case verdictSucceeded:
		r.res.Status = StatusRolledBack
		r.res.Reason = fmt.Sprintf("%s; rolled back to %s", why, taskdef.ShortRevision(r.target))
		if by != "" {
			r.res.Reason = fmt.Sprintf("%s; %s rolled the service back to %s", why, by, taskdef.ShortRevision(r.target))
		}
		r.mark("rollback completed")
		r.checkpoint(PhaseDone) // seen settled: nothing is owed
		r.deregisterFailed(ctx)
		return nil
	case verdictCancelled:
		r.res.Status = StatusCancelled
		r.res.Reason = fmt.Sprintf("%s; cancelled while the rollback to %s was in progress (issued, not confirmed)", why, taskdef.ShortRevision(r.target))
		r.res.ManualRollback = r.manualRollback()
		r.checkpoint(PhaseRollingBack)
		return nil
	default:
		r.res.Status = StatusRollbackFailed
		r.res.Reason = fmt.Sprintf("%s; the rollback to %s did not settle: %s", why, taskdef.ShortRevision(r.target), rv.reason)
		r.res.ManualRollback = r.manualRollback()
		// Not seen settled: the post step checks it (and re-plans it
		// when it failed); owed again when re-planning could not issue it.
		if rv.owed {
			r.checkpoint(PhaseRollbackOwed)
		} else {
			r.checkpoint(PhaseRollingBack)
		}
		return nil
	}
}

// issueRollback makes the rollback the run owes with the strategy's
// call, the checkpoint naming it owed before the call (and while the call
// is in flight, retried or refused) and rolling back once it was
// accepted (docs/safety.md, rule 3).
func (r *run) issueRollback(ctx context.Context) error {
	r.checkpoint(PhaseRollbackOwed)
	if err := r.strategy.rollback(ctx); err != nil {
		return err
	}
	r.mark("rollback issued")
	r.checkpoint(PhaseRollingBack)
	return nil
}

// redeployPrevious is the rollback by a new deployment of the previous
// revision, with the service's original deployment configuration (and
// desired count and volumes, when we changed them): the rolling
// strategy's rollback, and the staged one's once its deployment finished.
// It returns the service as the call left it and sets
// Result.RollbackDeploymentID.
func (r *run) redeployPrevious(ctx context.Context) (types.Service, error) {
	ctx, cancel := freshContext(ctx)
	defer cancel()
	var desired *int32
	if r.cfg.DesiredCount != nil {
		desired = aws.Int32(r.svc.DesiredCount)
	}
	in := rollbackInput(r.cfg.Cluster, r.cfg.Service, r.target, r.originalConfig(), desired)
	in.VolumeConfigurations = r.originalVolumes() // volumes.go
	in.EnableExecuteCommand = r.originalExec()    // update.go
	id, svc, err := r.d.rollbackTo(ctx, in, deploymentIDs(r.svc, r.res.DeploymentID))
	if err != nil {
		return types.Service{}, err
	}
	r.res.RollbackDeploymentID = id
	return svc, nil
}

// cancelled handles a cancellation while our deployment is in flight.
func (r *run) cancelled(ctx context.Context) error {
	r.res.Status = StatusCancelled
	r.mark("cancelled")
	if r.cfg.OnCancel == OnCancelLeave || !r.cfg.Rollback {
		r.res.Reason = fmt.Sprintf("cancelled while deployment %s was in progress; left as it is (on-cancel: leave)", r.res.DeploymentID)
		r.res.ManualRollback = r.manualRollback()
		r.checkpoint(PhaseDone)
		return nil
	}
	if err := r.issueRollback(ctx); err != nil {
		r.res.Reason = fmt.Sprintf("cancelled while deployment %s was in progress; the rollback to %s could not be issued: %v", r.res.DeploymentID, taskdef.ShortRevision(r.target), err)
		r.res.ManualRollback = r.manualRollback()
		return nil // the checkpoint still names the rollback owed
	}
	// Issued, not seen settled: the checkpoint stays rolling-back, and
	// the post step checks it.
	r.res.Reason = fmt.Sprintf("cancelled while deployment %s was in progress; rollback to %s issued (not awaited)", r.res.DeploymentID, taskdef.ShortRevision(r.target))
	return nil
}

// manualRollback is the command that finishes a rollback by hand, as
// the run's strategy gives it.
func (r *run) manualRollback() string {
	if r.strategy == nil {
		return manualRollbackCommand(r.cfg.Cluster, r.cfg.Service, r.target)
	}
	return r.strategy.manualRollback()
}

// describeCommand is the command that shows the service's deployments.
func describeCommand(cluster, service string) string {
	return fmt.Sprintf("aws ecs describe-services --cluster %s --services %s --query 'services[0].deployments'",
		shellQuote(cluster), shellQuote(service))
}

func manualRollbackCommand(cluster, service, target string) string {
	if target == "" {
		return ""
	}
	return fmt.Sprintf("aws ecs update-service --cluster %s --service %s --task-definition %s --force-new-deployment",
		shellQuote(cluster), shellQuote(service), shellQuote(target))
}

// rollbackInput is the one rollback UpdateService, for the main step and
// the post step alike: the exact previous revision, the service's original
// deployment configuration, and its original desired count when we
// changed it (nil: unchanged).
func rollbackInput(cluster, service, target string, orig *types.DeploymentConfiguration, desired *int32) *ecs.UpdateServiceInput {
	return &ecs.UpdateServiceInput{
		Cluster:                 aws.String(cluster),
		Service:                 aws.String(service),
		TaskDefinition:          aws.String(target),
		ForceNewDeployment:      true,
		DeploymentConfiguration: orig,
		DesiredCount:            desired,
	}
}

// originalConfig is the service's deployment configuration as it was
// before our update, in the form UpdateService takes it back (nil when
// there is nothing to restore: the service had none, or our update sends
// none, so the service still has every setting it had, the circuit
// breaker's resetOnHealthyTask and thresholdConfiguration included, and
// an endpoint that does not know a newer member is not sent it).
func (r *run) originalConfig() *types.DeploymentConfiguration {
	o := r.origDepl
	if o == nil || r.deploymentConfig() == nil || (o.MinimumHealthyPercent == nil && o.MaximumPercent == nil && o.DeploymentCircuitBreaker == nil && o.Alarms == nil &&
		o.BakeTimeInMinutes == nil && o.LinearConfiguration == nil && o.CanaryConfiguration == nil && o.LifecycleHooks == nil && o.EarlySuccessCriteria == nil) {
		return nil
	}
	c := *o // every setting the service had
	c.Alarms = alarmsToSend(o.Alarms)
	return &c
}

// rollbackTo sends the rollback UpdateService and returns the rollback
// deployment's ID ("" when the endpoint does not say) and the service as
// the response (or a read after a failed call) showed it. When the call
// fails but the service turns out to run the target anyway (a retried
// call that was applied), it is not an error.
func (d *Deployer) rollbackTo(ctx context.Context, in *ecs.UpdateServiceInput, before map[string]bool) (string, types.Service, error) {
	target := aws.ToString(in.TaskDefinition)
	out, err := d.ecs.UpdateService(ctx, in)
	if err != nil {
		s, derr := d.describeService(ctx, aws.ToString(in.Cluster), aws.ToString(in.Service))
		if derr != nil || aws.ToString(s.TaskDefinition) != target {
			return "", types.Service{}, err
		}
		return primaryFor(s, target, before), s, nil
	}
	if out.Service == nil {
		return "", types.Service{}, nil
	}
	return primaryFor(*out.Service, target, before), *out.Service, nil
}

// deregisterFailed deregisters the revision that failed, after a verified
// rollback, when asked to. It never deregisters the revision the service
// runs.
func (r *run) deregisterFailed(ctx context.Context) {
	if !r.cfg.DeregisterFailed || r.newARN == "" || r.newARN == r.target {
		return
	}
	if r.res.Promoted {
		r.d.emit(EventInfo, "deregister-failed: %s was promoted, not registered by this run; leaving it registered", taskdef.ShortRevision(r.newARN))
		return
	}
	ctx, cancel := freshContext(ctx)
	defer cancel()
	svc, err := r.d.describeService(ctx, r.cfg.Cluster, r.cfg.Service)
	if err != nil {
		r.d.emit(EventWarning, "deregister-failed: could not check the service before deregistering %s: %v", taskdef.ShortRevision(r.newARN), err)
		return
	}
	for _, dep := range svc.Deployments {
		if aws.ToString(dep.TaskDefinition) == r.newARN {
			r.d.emit(EventWarning, "deregister-failed: %s is still used by deployment %s; not deregistering it", taskdef.ShortRevision(r.newARN), aws.ToString(dep.Id))
			return
		}
	}
	// A CODE_DEPLOY service has task sets, not deployments (one runs the
	// failed revision through a termination wait).
	if ts := taskSetRunning(svc, r.newARN); ts != "" {
		r.d.emit(EventWarning, "deregister-failed: %s is still used by task set %s; not deregistering it", taskdef.ShortRevision(r.newARN), ts)
		return
	}
	if _, err := r.d.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(r.newARN)}); err != nil {
		r.d.emit(EventWarning, "deregister-failed: deregister %s: %v", taskdef.ShortRevision(r.newARN), err)
		return
	}
	r.d.emit(EventInfo, "Deregistered the failed revision %s", taskdef.ShortRevision(r.newARN))
	r.mark("failed revision deregistered")
}

// Recover is the safety net the post step runs after the main step, even
// when the main step was killed. Given the main step's last Checkpoint,
// it finishes what the checkpoint says is owed (docs/safety.md, rule 3),
// from a fresh read: a rollback owed (PhaseRollbackOwed) is issued
// whatever our deployment's state, completed included; a rollback
// accepted (PhaseRollingBack) is checked, and issued again when it
// failed; a deployment of ours left unfinished is rolled back when
// cp.Rollback is set. The mechanism is the strategy's, chosen by the
// deployment's state (rule 1): UpdateService back to the previous
// revision with the original configuration, desired count and volumes
// (rolling, and a finished staged deployment); StopServiceDeployment or
// ContinueServiceDeployment ROLLBACK for a staged one still running. It
// stops a pre-deploy task left running. It does not watch.
//
// It returns a Result whose Status is empty when there was nothing to do
// (the rollback had settled, or nothing was owed), StatusRollbackIssued
// when it issued a rollback or found one in progress (never
// StatusRolledBack: it did not see it settle), StatusFailed when the
// service is left on our deployment (rollback off), and
// StatusRollbackFailed with an error when the rollback could not be
// issued. It makes no call when the phase does not ask the post step to
// act (Phase.PostStepMustAct).
func (d *Deployer) Recover(ctx context.Context, cp Checkpoint) (Result, error) {
	if cp.Phase.PostStepMustAct() {
		d.reportRecoverySecrets(ctx, cp) // recover_secrets.go
	}
	if len(cp.Targets) > 0 {
		return d.recoverMany(ctx, cp)
	}
	res := Result{Cluster: cp.Cluster, Service: cp.Service, DeploymentID: cp.DeploymentID,
		TaskDefinitionARN: cp.TaskDefinition, PreviousTaskDefinitionARN: cp.RollbackTarget, StartedAt: d.now()}
	if !cp.Phase.PostStepMustAct() {
		res.Reason = "the main step finished; nothing to do"
		return res, nil
	}
	if cp.Cluster == "" {
		cp.Cluster = DefaultCluster
	}
	// First: a one-off task runs without a service too (register-only).
	if cp.Phase == PhasePreDeploy && cp.PreDeployTask != "" {
		return d.recoverPreDeploy(ctx, cp, res)
	}
	if cp.Service == "" || cp.RollbackTarget == "" || cp.TaskDefinition == "" {
		res.Reason = "the main step made no change; nothing to do"
		return res, nil
	}
	return recoveryStrategy(cp).recover(ctx, d, cp, res)
}

// recoverRedeploy is the post step's rollback by a new deployment of the
// previous revision (the rollback's UpdateService, with the original
// configuration, desired count and volumes), for a rolling service and a
// finished staged one alike; what says why. It does not watch.
func recoverRedeploy(ctx context.Context, d *Deployer, cp Checkpoint, res Result, svc types.Service, what string) (Result, error) {
	in := rollbackInput(cp.Cluster, cp.Service, cp.RollbackTarget, cp.OriginalConfiguration, cp.OriginalDesiredCount)
	in.VolumeConfigurations = cp.originalVolumes() // volumes.go
	in.EnableExecuteCommand = cp.OriginalEnableExecuteCommand
	id, _, err := d.rollbackTo(ctx, in, deploymentIDs(svc))
	if err != nil {
		res.Status = StatusRollbackFailed
		res.Reason = fmt.Sprintf("%s; the rollback to %s could not be issued: %v", what, taskdef.ShortRevision(cp.RollbackTarget), err)
		res.ManualRollback = manualRollbackCommand(cp.Cluster, cp.Service, cp.RollbackTarget)
		return res, fmt.Errorf("post: roll back %s: %w", cp.Service, err)
	}
	res.Status = StatusRollbackIssued
	res.RollbackDeploymentID = id
	res.Reason = fmt.Sprintf("%s; rollback to %s issued (a new deployment, %s), not watched to its end: check it with %s",
		what, taskdef.ShortRevision(cp.RollbackTarget), orDash(id), describeCommand(cp.Cluster, cp.Service))
	return res, nil
}

// rollbackInProgress is the post step's answer to a rollback found in
// progress: not a second one, and not rolled-back either (not seen
// settled).
func rollbackInProgress(res Result, cp Checkpoint, id string) Result {
	res.Status = StatusRollbackIssued
	res.RollbackDeploymentID = id
	res.Reason = fmt.Sprintf("the rollback to %s (%s) is in progress; no second rollback, and it was not watched to its end: check it with %s",
		taskdef.ShortRevision(cp.RollbackTarget), orDash(id), describeCommand(cp.Cluster, cp.Service))
	return res
}
