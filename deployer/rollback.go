package deployer

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// issueRollback points the service back at the exact previous revision
// with its original deployment configuration (and desired count, when we
// changed it). It works on a fresh, short context when ctx is already
// cancelled, so a cancelled run still rolls back.
func (r *run) issueRollback(ctx context.Context) error {
	ctx, cancel := freshContext(ctx)
	defer cancel()
	in := &ecs.UpdateServiceInput{
		Cluster:                 aws.String(r.cfg.Cluster),
		Service:                 aws.String(r.cfg.Service),
		TaskDefinition:          aws.String(r.target),
		ForceNewDeployment:      true,
		DeploymentConfiguration: r.originalConfig(),
	}
	if r.cfg.DesiredCount != nil {
		in.DesiredCount = aws.Int32(r.svc.DesiredCount)
	}
	id, err := r.d.rollbackTo(ctx, in, deploymentIDs(r.svc, r.res.DeploymentID))
	if err != nil {
		return err
	}
	r.res.RollbackDeploymentID = id
	r.d.emit(EventInfo, "Rollback issued: deployment %s of %s", orDash(id), shortARN(r.target))
	return nil
}

// rollbackTo sends the rollback UpdateService and returns the rollback
// deployment's ID ("" when the endpoint does not say). When the call
// fails but the service turns out to run the target anyway (a retried
// call that was applied), it is not an error.
func (d *Deployer) rollbackTo(ctx context.Context, in *ecs.UpdateServiceInput, before map[string]bool) (string, error) {
	target := aws.ToString(in.TaskDefinition)
	out, err := d.ecs.UpdateService(ctx, in)
	if err != nil {
		s, derr := d.describeService(ctx, aws.ToString(in.Cluster), aws.ToString(in.Service))
		if derr != nil || aws.ToString(s.TaskDefinition) != target {
			return "", err
		}
		return primaryFor(s, target, before), nil
	}
	if out.Service == nil {
		return "", nil
	}
	return primaryFor(*out.Service, target, before), nil
}

// deregisterFailed deregisters the revision that failed, after a verified
// rollback, when asked to. It never deregisters the revision the service
// runs.
func (r *run) deregisterFailed(ctx context.Context) {
	if !r.cfg.DeregisterFailed || r.newARN == "" || r.newARN == r.target {
		return
	}
	ctx, cancel := freshContext(ctx)
	defer cancel()
	svc, err := r.d.describeService(ctx, r.cfg.Cluster, r.cfg.Service)
	if err != nil {
		r.d.emit(EventWarning, "deregister-failed: could not check the service before deregistering %s: %v", shortARN(r.newARN), err)
		return
	}
	for _, dep := range svc.Deployments {
		if aws.ToString(dep.TaskDefinition) == r.newARN {
			r.d.emit(EventWarning, "deregister-failed: %s is still used by deployment %s; not deregistering it", shortARN(r.newARN), aws.ToString(dep.Id))
			return
		}
	}
	if _, err := r.d.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(r.newARN)}); err != nil {
		r.d.emit(EventWarning, "deregister-failed: deregister %s: %v", shortARN(r.newARN), err)
		return
	}
	r.d.emit(EventInfo, "Deregistered the failed revision %s", shortARN(r.newARN))
	r.mark("failed revision deregistered")
}

// Recover is the safety net the post step runs after the main step, even
// when the main step was killed. Given the main step's last Checkpoint,
// it checks whether the service was left on an unfinished or failed
// deployment of ours and, when cp.Rollback is set, rolls it back (one
// UpdateService, not awaited).
//
// It returns a Result whose Status is empty when there was nothing to do,
// StatusRolledBack when it issued a rollback, StatusFailed when the
// service is left on our deployment (rollback off), and
// StatusRollbackFailed with an error when the rollback could not be
// issued. It makes no call when the main step finished (phase "done").
func (d *Deployer) Recover(ctx context.Context, cp Checkpoint) (Result, error) {
	res := Result{Cluster: cp.Cluster, Service: cp.Service, DeploymentID: cp.DeploymentID,
		TaskDefinitionARN: cp.TaskDefinition, PreviousTaskDefinitionARN: cp.RollbackTarget, StartedAt: d.now()}
	switch cp.Phase {
	case "", "preflight", "done":
		res.Reason = "the main step finished; nothing to do"
		return res, nil
	}
	if cp.Service == "" || cp.RollbackTarget == "" || cp.TaskDefinition == "" {
		res.Reason = "the main step made no change; nothing to do"
		return res, nil
	}
	if cp.Cluster == "" {
		cp.Cluster = DefaultCluster
	}
	svc, err := d.describeService(ctx, cp.Cluster, cp.Service)
	if err != nil {
		res.Status = StatusRollbackFailed
		res.Reason = fmt.Sprintf("post: could not check service %s: %v", cp.Service, err)
		res.ManualRollback = manualRollbackCommand(cp.Cluster, cp.Service, cp.RollbackTarget)
		return res, fmt.Errorf("post: describe service %s: %w", cp.Service, err)
	}
	var primary *types.Deployment
	for i := range svc.Deployments {
		if aws.ToString(svc.Deployments[i].Status) == "PRIMARY" {
			primary = &svc.Deployments[i]
		}
	}
	if primary == nil || (aws.ToString(primary.Id) != cp.DeploymentID && aws.ToString(primary.TaskDefinition) != cp.TaskDefinition) {
		res.Reason = fmt.Sprintf("the service no longer runs our revision %s; nothing to do", shortARN(cp.TaskDefinition))
		return res, nil
	}
	if primary.RolloutState == types.DeploymentRolloutStateCompleted {
		res.Reason = fmt.Sprintf("deployment %s of %s completed after the main step ended; leaving it", aws.ToString(primary.Id), shortARN(cp.TaskDefinition))
		return res, nil
	}
	what := fmt.Sprintf("the main step ended while deployment %s of %s was %s", aws.ToString(primary.Id), shortARN(cp.TaskDefinition), orDefault(string(primary.RolloutState), "unfinished"))
	if !cp.Rollback {
		res.Status = StatusFailed
		res.Reason = what + "; leaving it (on-cancel: leave)"
		res.ManualRollback = manualRollbackCommand(cp.Cluster, cp.Service, cp.RollbackTarget)
		return res, nil
	}
	in := &ecs.UpdateServiceInput{
		Cluster:            aws.String(cp.Cluster),
		Service:            aws.String(cp.Service),
		TaskDefinition:     aws.String(cp.RollbackTarget),
		ForceNewDeployment: true,
	}
	id, err := d.rollbackTo(ctx, in, deploymentIDs(svc))
	if err != nil {
		res.Status = StatusRollbackFailed
		res.Reason = fmt.Sprintf("%s; the rollback to %s could not be issued: %v", what, shortARN(cp.RollbackTarget), err)
		res.ManualRollback = manualRollbackCommand(cp.Cluster, cp.Service, cp.RollbackTarget)
		return res, fmt.Errorf("post: roll back %s: %w", cp.Service, err)
	}
	res.Status = StatusRolledBack
	res.RollbackDeploymentID = id
	res.Reason = fmt.Sprintf("%s; rollback to %s issued (deployment %s)", what, shortARN(cp.RollbackTarget), orDash(id))
	return res, nil
}
