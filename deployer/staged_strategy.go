package deployer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// stagedStrategy is the ECS deployment controller's BLUE_GREEN, LINEAR
// and CANARY strategies: UpdateService starts a service deployment that
// ECS runs in lifecycle stages, judged from DescribeServiceDeployments
// (stagedWatch, staged_run.go); while it runs, one
// StopServiceDeployment ROLLBACK (ContinueServiceDeployment ROLLBACK at
// a PAUSE hook) puts production traffic back on the previous revision,
// which ECS keeps until the clean-up.
//
// Once the deployment is SUCCESSFUL, ECS has retired the old revision and
// refuses to stop a finished deployment: from then on (the bake, a
// cancel of a multi-service step) the strategy is finished. It rolls back
// with a new deployment of the previous revision (the rolling
// strategy's UpdateService) and watches that rollback as the staged
// deployment it is (redeploy): the service's PAUSE hooks are continued,
// ECS's bake is part of it, and SUCCESSFUL is the rollback done. The post
// step recovers a finished deployment as a rolling one.
type stagedStrategy struct {
	r    *run // nil in the post step
	kind types.DeploymentStrategy

	w *stagedWatch // our service deployment's judge, from start (or resume)
	// finished is set when our deployment is SUCCESSFUL: the rollback is
	// then its UpdateService, and redeploy the judge of the service
	// deployment that UpdateService started.
	finished *rollingStrategy
	redeploy *stagedWatch

	found *types.ServiceDeployment             // findPaused: the deployment waiting
	hook  *types.DeploymentLifecycleHookDetail // findPaused: the PAUSE hook it waits at
}

var _ strategy = (*stagedStrategy)(nil)

func (st *stagedStrategy) name() string { return string(st.kind) }

func (st *stagedStrategy) planWatch() string {
	r := st.r
	return fmt.Sprintf("watch the service deployment stage by stage for up to %s (timeout plus ECS's own waits); on failure StopServiceDeployment ROLLBACK back to %s",
		stagedTimeout(r.cfg.Timeout, r.svc.DeploymentConfiguration), taskdef.ShortRevision(r.target))
}

// preflight reads the service's deployments as the watch will
// (ListServiceDeployments, then DescribeServiceDeployments of the
// service's current one): a role that may update the service but not
// read its service deployments would leave production mid-deploy and
// unwatched.
func (st *stagedStrategy) preflight(ctx context.Context) error {
	r := st.r
	// The service's current one (or one listed); a service ECS has not
	// deployed through the API yet has none to describe.
	_, err := r.d.listServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
		Cluster: aws.String(r.cfg.Cluster), Service: aws.String(r.cfg.Service), MaxResults: aws.Int32(1)},
		aws.ToString(r.svc.CurrentServiceDeployment))
	var re *serviceDeploymentsReadError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re) && accessLost(err):
		return fieldError("Service", "service %s uses %s, which is watched through its service deployments, and the credentials may not read them; allow %s (see iam-policy.json): %w", r.cfg.Service, st.kind, re.action, err)
	}
	return fieldError("Service", "could not read the service deployments of %s: %w", r.cfg.Service, err)
}

// start sends the UpdateService and sets up the judge of the service
// deployment it started (named by the response, else found by listing
// while watching).
func (st *stagedStrategy) start(ctx context.Context) (bool, error) {
	r := st.r
	accepted, err := r.updateService(ctx)
	if !accepted {
		return false, err
	}
	st.w = r.newStagedWatch(r.res.ServiceDeploymentARN)
	r.ours = st.w.tasks
	if r.res.ServiceDeploymentARN != "" {
		r.d.emit(EventInfo, "Service deployment %s (%s)", r.res.ServiceDeploymentARN, st.kind)
	}
	return true, err
}

func (st *stagedStrategy) watch(ctx context.Context) verdict {
	r, s := st.r, st.w
	timeout := stagedTimeout(r.cfg.Timeout, r.origDepl)
	title := fmt.Sprintf("Watch deployment %s (%s, up to %s)", cmp.Or(s.j.id, r.res.DeploymentID), st.kind, timeout)
	v := r.watchOurs(ctx, title, s, timeout, func() time.Time { return r.updatedAt }, st.answer(s))
	st.release(s)
	if v.kind == verdictSucceeded || v.kind == verdictStopped {
		// ECS refuses to stop a finished deployment (SUCCESSFUL or
		// STOPPED): what follows is a new deployment of the previous
		// revision.
		st.finished = &rollingStrategy{r: r}
	}
	return v
}

// answer continues the PAUSE hooks the run is to go past: ours with
// on-pause continue, and every hook of the rollback of a finished
// deployment (it is ours, and must not wait out the hook's timeout).
// Others end the watch (paused). A Continue that fails is tried again at
// the next poll, within the watch's timeout.
func (st *stagedStrategy) answer(s *stagedWatch) func(context.Context, verdict) bool {
	r := st.r
	return func(ctx context.Context, v verdict) bool {
		if !s.redeploy && r.cfg.OnPause != OnPauseContinue || s.paused == nil {
			return false
		}
		if err := r.continueAt(ctx, s, s.paused, types.DeploymentLifecycleHookActionContinue); err != nil {
			if ctx.Err() != nil {
				return false
			}
			r.d.emit(EventWarning, "%v; trying again at the next poll", err)
		}
		s.paused = nil
		return true
	}
}

// confirmFailed: ECS's own rollback of a service deployment is a verdict
// of the watch (verdictECSRollback), so there is nothing more to look at
// until the deployment finished.
func (st *stagedStrategy) confirmFailed(ctx context.Context, v verdict) verdict {
	if st.finished != nil {
		return st.finished.confirmFailed(ctx, v)
	}
	return v
}

// bake: after SUCCESSFUL, our revision's tasks (and the alarms) are
// watched for Config.BakeTime, and the strategy is a finished one.
func (st *stagedStrategy) bake(ctx context.Context, v verdict) verdict {
	if v.kind != verdictSucceeded || st.r.cfg.BakeTime <= 0 || st.r.ours == nil {
		return v
	}
	return st.r.bakeDeployment(ctx, v)
}

func (st *stagedStrategy) rollback(ctx context.Context) error {
	r := st.r
	if st.finished == nil {
		err := r.rollbackStaged(ctx, st.w)
		if !errors.Is(err, errNoServiceDeployment) {
			return err
		}
		// Our service deployment was never found (ECS lists a new one
		// only after a while, and the update's response did not name
		// it): look once more, then roll back as after a finished
		// deployment, with a new deployment of the previous revision.
		// Never rollback-failed for the lack of an ARN.
		lctx, cancel := freshContext(ctx)
		defer cancel()
		if svc, derr := r.d.describeService(lctx, r.cfg.Cluster, r.cfg.Service); derr == nil {
			if arn, ferr := r.findServiceDeployment(lctx, svc, r.newARN); ferr == nil && arn != "" {
				st.w.setARN(arn)
				return r.rollbackStaged(ctx, st.w)
			}
		}
		r.d.emit(EventInfo, "%v; rolling back with a new deployment of %s", err, taskdef.ShortRevision(r.target))
		st.finished = &rollingStrategy{r: r}
	}
	if err := st.finished.rollback(ctx); err != nil {
		return err
	}
	arn := aws.ToString(st.finished.rolledBack.CurrentServiceDeployment)
	if arn == st.w.arn || arn == aws.ToString(r.svc.CurrentServiceDeployment) {
		arn = "" // the response does not name the rollback's: found by listing
	}
	st.redeploy = r.redeployWatch(arn)
	if arn != "" {
		r.d.emit(EventInfo, "Rollback service deployment %s (%s of %s)", arn, st.kind, taskdef.ShortRevision(r.target))
	}
	return nil
}

func (st *stagedStrategy) rollbackSubject() string {
	if st.finished != nil {
		return st.finished.rollbackSubject()
	}
	return "of deployment " + st.w.j.id
}

// watchRollback follows our service deployment through its rollback
// (the same service deployment, ROLLBACK_* statuses).
func (st *stagedStrategy) watchRollback(ctx context.Context) verdict {
	if st.finished != nil && st.redeploy == nil {
		return st.finished.watchRollback(ctx)
	}
	if st.redeploy != nil {
		// A staged deployment of its own: ECS's planned waits (its
		// bake, the steps) come on top of the rollback timeout.
		r := st.r
		defer st.release(st.redeploy)
		return watchThrough(ctx, r.watcher(st.redeploy), stagedTimeout(r.cfg.RollbackTimeout, r.origDepl), r.cfg.PollInterval, st.answer(st.redeploy))
	}
	r, s := st.r, st.w
	defer st.release(s)
	s.what = watchRollback
	w := r.watcher(s)
	w.line, w.beat = s.j.lastLine, r.d.now() // the same deployment: its last line is not news
	return w.watch(ctx, r.cfg.RollbackTimeout, r.cfg.PollInterval)
}

// release stops the step's shared reads of a service deployment whose
// watch ended.
func (st *stagedStrategy) release(s *stagedWatch) {
	if b := st.r.d.batch; b != nil && s.arn != "" {
		b.releaseServiceDeployment(s.arn)
	}
}

// manualRollback: while our service deployment runs, stopping it with a
// rollback puts the previous revision back; once it finished, or when it
// was never found, a new deployment of the previous revision does.
func (st *stagedStrategy) manualRollback() string {
	if st.finished != nil || st.w == nil || st.w.arn == "" {
		return manualRollbackCommand(st.r.cfg.Cluster, st.r.cfg.Service, st.r.target)
	}
	return stopCommand(st.w.arn)
}

// stopCommand is the command that rolls a running staged deployment back
// by hand.
func stopCommand(arn string) string {
	return fmt.Sprintf("aws ecs stop-service-deployment --service-deployment-arn %s --stop-type ROLLBACK", shellQuote(arn))
}

// saveTo: once our deployment finished, the post step recovers the
// service as a rolling one (a new deployment of the previous revision),
// since ECS no longer stops our service deployment.
func (st *stagedStrategy) saveTo(cp *Checkpoint) {
	if st.finished != nil {
		cp.ServiceDeploymentARN = ""
	}
}
