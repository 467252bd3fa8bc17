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
// The rollback acts on a fresh read (docs/safety.md, rule 1): it reads
// our service deployment just before the call and chooses from its state.
// Running: StopServiceDeployment ROLLBACK (ROLLBACK at the PAUSE hook it
// waits at). Finished (SUCCESSFUL, STOPPED, ROLLBACK_FAILED), or a call
// refused because it finished meanwhile: ECS has retired the old revision
// (or could not restore it) and refuses to stop it, so the rollback is a
// new deployment of the previous revision with the service's previous
// deployment configuration (redeployPrevious, shared with the rolling
// strategy), watched as the staged deployment it is (redeploy): the
// service's PAUSE hooks are continued, ECS's planned waits come on top of
// the rollback timeout, and SUCCESSFUL is the rollback done. A refused
// call is read again and planned again.
type stagedStrategy struct {
	r    *run // nil in the post step
	kind types.DeploymentStrategy

	w *stagedWatch // our service deployment's judge, from start (or resume)
	// finished is set once our deployment is known to be finished
	// (SUCCESSFUL, STOPPED, ROLLBACK_FAILED): its rollback is then a new
	// deployment of the previous revision, and redeploy its judge.
	finished bool
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
		st.finished = true // ECS refuses to stop it now
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
// of the watch (verdictECSRollback), and once the deployment is SUCCESSFUL
// ECS's monitors no longer roll it back: there is nothing more to look at.
func (st *stagedStrategy) confirmFailed(_ context.Context, v verdict) verdict { return v }

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
	ctx, cancel := freshContext(ctx)
	defer cancel()
	if !st.finished && st.w.arn == "" {
		// Our service deployment was never found (ECS lists a new one
		// only after a while, and the update's response did not name
		// it): look once more, else roll back as after a finished
		// deployment. Never rollback-failed for the lack of an ARN.
		if svc, err := r.d.describeService(ctx, r.cfg.Cluster, r.cfg.Service); err == nil {
			if arn, err := r.findServiceDeployment(ctx, svc, r.newARN); err == nil && arn != "" {
				st.w.setARN(arn)
			}
		}
		if st.w.arn == "" {
			r.d.emit(EventInfo, "%v; rolling back with a new deployment of %s", errNoServiceDeployment, taskdef.ShortRevision(r.target))
			st.finished = true
		}
	}
	for attempt := 1; !st.finished; attempt++ {
		plan, err := st.planRollback(ctx)
		switch {
		case err != nil:
			return err
		case plan == stagedRollbackRedeploy:
			st.finished = true
		case plan == stagedRollbackUnderway:
			return nil
		default:
			err := r.rollbackStaged(ctx, st.w)
			if err == nil {
				return nil
			}
			if attempt == 3 || !refused(err) {
				return err
			}
			// Refused (the deployment moved on under the call: finished,
			// or a hook that timed out) or failed: read again, plan again.
			r.d.emit(EventInfo, "%v; reading deployment %s again to plan the rollback", err, st.w.j.id)
		}
	}
	return st.redeployPrevious(ctx)
}

// refused reports whether ECS refused a call for the state it found (a
// deployment that finished, a hook no longer awaiting action), as
// opposed to failing it: such a call is planned again from a fresh read.
func refused(err error) bool {
	switch apiErrorCode(err) {
	case "ConflictException", "ClientException", "InvalidParameterException":
		return true
	}
	return false
}

// stagedRollbackPlan is the rollback a fresh read of our service
// deployment calls for.
type stagedRollbackPlan int

const (
	stagedRollbackStop     stagedRollbackPlan = iota // running: stop it with ROLLBACK (ROLLBACK at its hook)
	stagedRollbackUnderway                           // rolling back already, or rolled back: watch it
	stagedRollbackRedeploy                           // finished: a new deployment of the previous revision
)

// planRollback reads our service deployment (rule 1: act on a fresh read)
// and says which rollback its state calls for. A read that fails falls
// back on the last one.
func (st *stagedStrategy) planRollback(ctx context.Context) (stagedRollbackPlan, error) {
	s := st.w
	sd, err := st.r.d.describeServiceDeployment(ctx, s.arn)
	switch {
	case err == nil:
		s.last = &sd
	case s.last == nil:
		return stagedRollbackStop, nil // nothing read yet: try the stop; its answer says more
	default:
		sd = *s.last
	}
	return rollbackPlanFor(sd.Status), nil
}

// rollbackPlanFor maps a service deployment's status to its rollback.
func rollbackPlanFor(status types.ServiceDeploymentStatus) stagedRollbackPlan {
	switch status {
	case types.ServiceDeploymentStatusRollbackRequested, types.ServiceDeploymentStatusRollbackInProgress,
		types.ServiceDeploymentStatusRollbackSuccessful:
		return stagedRollbackUnderway
	case types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentStatusStopped,
		types.ServiceDeploymentStatusRollbackFailed, types.ServiceDeploymentStatusStopRequested:
		return stagedRollbackRedeploy
	}
	return stagedRollbackStop
}

// redeployPrevious rolls a finished deployment of ours back with a new
// deployment of the previous revision (run.redeployPrevious) and sets up
// the judge of the service deployment it starts (named by the response,
// else found by listing while watching).
func (st *stagedStrategy) redeployPrevious(ctx context.Context) error {
	r := st.r
	svc, err := r.redeployPrevious(ctx)
	if err != nil {
		return err
	}
	arn := aws.ToString(svc.CurrentServiceDeployment)
	if st.w != nil && arn == st.w.arn || arn == aws.ToString(r.svc.CurrentServiceDeployment) {
		arn = "" // the response does not name the rollback's: found by listing
	}
	st.redeploy = r.redeployWatch(arn)
	r.d.emit(EventInfo, "Rollback issued: a new deployment of %s (deployment %s), since deployment %s has finished", taskdef.ShortRevision(r.target), orDash(r.res.RollbackDeploymentID), st.ourID())
	if arn != "" {
		r.d.emit(EventInfo, "Rollback service deployment %s (%s of %s)", arn, st.kind, taskdef.ShortRevision(r.target))
	}
	return nil
}

func (st *stagedStrategy) ourID() string {
	if st.w == nil {
		return st.r.res.DeploymentID
	}
	return cmp.Or(st.w.j.id, st.r.res.DeploymentID)
}

func (st *stagedStrategy) rollbackSubject() string {
	if st.redeploy != nil {
		return "by a new deployment " + cmp.Or(st.redeploy.j.id, st.r.res.RollbackDeploymentID)
	}
	return "of deployment " + st.ourID()
}

// watchRollback follows the rollback: our service deployment through its
// ROLLBACK_* statuses, or the new deployment of the previous revision.
// When our deployment's rollback ends ROLLBACK_FAILED (ours or ECS's), or
// it completed instead of rolling back, the rollback is planned again: a
// new deployment of the previous revision, watched in turn.
func (st *stagedStrategy) watchRollback(ctx context.Context) verdict {
	r := st.r
	if st.redeploy == nil {
		s := st.w
		s.what = watchRollback
		w := r.watcher(s)
		w.line, w.beat = s.j.lastLine, r.d.now() // the same deployment: its last line is not news
		v := w.watch(ctx, r.cfg.RollbackTimeout, r.cfg.PollInterval)
		st.release(s)
		if v.kind != verdictFailed || s.last == nil || rollbackPlanFor(s.last.Status) != stagedRollbackRedeploy {
			return v
		}
		r.d.emit(EventWarning, "%s; rolling back with a new deployment of %s", v.reason, taskdef.ShortRevision(r.target))
		st.finished = true
		r.checkpoint(PhaseRollbackOwed)
		if err := st.redeployPrevious(ctx); err != nil {
			return verdict{kind: verdictFailed, owed: true, reason: fmt.Sprintf("%s; a new deployment of %s could not be issued: %v", v.reason, taskdef.ShortRevision(r.target), err)}
		}
		r.checkpoint(PhaseRollingBack)
		r.d.emit(EventPhase, "Watch rollback %s", st.rollbackSubject())
	}
	// A staged deployment of its own: ECS's planned waits (its bake, the
	// steps) come on top of the rollback timeout (rule 5).
	defer st.release(st.redeploy)
	return watchThrough(ctx, r.watcher(st.redeploy), stagedTimeout(r.cfg.RollbackTimeout, r.origDepl), r.cfg.PollInterval, st.answer(st.redeploy))
}

// release stops the step's shared reads of a service deployment whose
// watch ended.
func (st *stagedStrategy) release(s *stagedWatch) {
	if b := st.r.d.batch; b != nil && s.arn != "" {
		b.releaseServiceDeployment(s.arn)
	}
}

// manualRollback is the command that works in the state our deployment
// was last read in (rule 4): while it runs, stopping it with a rollback
// puts the previous revision back; once it finished (or its rollback
// failed), or when it was never found, only a new deployment of the
// previous revision does.
func (st *stagedStrategy) manualRollback() string {
	if st.finished || st.w == nil || st.w.arn == "" || (st.w.last != nil && rollbackPlanFor(st.w.last.Status) == stagedRollbackRedeploy) {
		return manualRollbackCommand(st.r.cfg.Cluster, st.r.cfg.Service, st.r.target)
	}
	return stopCommand(st.w.arn)
}

// stopCommand is the command that rolls a running staged deployment back
// by hand.
func stopCommand(arn string) string {
	return fmt.Sprintf("aws ecs stop-service-deployment --service-deployment-arn %s --stop-type ROLLBACK", shellQuote(arn))
}

// saveTo names the rollback's service deployment once it was accepted:
// ours (stopped with ROLLBACK, or rolled back by ECS), or the new
// deployment of the previous revision.
func (st *stagedStrategy) saveTo(cp *Checkpoint) {
	if cp.Phase != PhaseRollingBack {
		return
	}
	switch {
	case st.redeploy != nil:
		cp.RollbackServiceDeploymentARN = st.redeploy.arn
	case st.w != nil:
		cp.RollbackServiceDeploymentARN = st.w.arn
	}
}
