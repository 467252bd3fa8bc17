package deployer

import (
	"context"
	"fmt"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// OnPause says what to do when our deployment waits at a PAUSE lifecycle
// hook (BLUE_GREEN, LINEAR and CANARY services).
type OnPause string

// The OnPause policies.
const (
	// OnPauseReturn ends the run with StatusPaused: the next workflow step
	// runs its checks and then resumes the deployment (Config.Resume).
	OnPauseReturn OnPause = "return"
	// OnPauseContinue continues the deployment at once and keeps watching.
	OnPauseContinue OnPause = "continue"
	// OnPauseRollback rolls the deployment back at the hook.
	OnPauseRollback OnPause = "rollback"
)

// Resume is the action a resume run takes on the deployment that waits at
// a PAUSE hook. Empty means a normal deploy.
type Resume string

// The Resume actions.
const (
	ResumeContinue Resume = "continue"
	ResumeRollback Resume = "rollback"
)

// paused ends a run whose deployment waits at a pause (v.pause): with
// on-pause return the run ends here (status paused, the notice says what
// to run next); with on-pause rollback the strategy rolls back there.
func (r *run) paused(ctx context.Context, v verdict) error {
	r.mark("paused at " + v.pause.at)
	if r.cfg.OnPause == OnPauseRollback {
		r.d.emit(EventPhase, "Roll back at the PAUSE hook (on-pause: rollback)")
		why := v.reason + "; on-pause: rollback"
		if err := r.issueRollback(ctx); err != nil {
			r.res.Status = StatusRollbackFailed
			r.res.Reason = fmt.Sprintf("%s; the rollback to %s could not be issued: %v", why, taskdef.ShortRevision(r.target), err)
			r.res.ManualRollback = r.manualRollback()
			return nil // the checkpoint still names the rollback owed
		}
		return r.awaitRollback(ctx, why, "")
	}
	r.res.Status = StatusPaused
	r.res.Reason = v.pause.notice
	r.checkpoint(PhaseDone)
	return nil
}

// resume acts on the service's deployment that waits at a pause
// (Config.Resume): the strategy finds it and continues or rolls it back,
// then watches it to its end, with every verdict of a deploy. Finding no
// deployment waiting is a preflight error: nothing changed.
func (r *run) resume(ctx context.Context) error {
	if err := r.cfg.Validate(); err != nil {
		return r.preflightFailed(err)
	}
	where, err := r.findPaused(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return r.cancelledBeforeChange(ctx)
		}
		return r.preflightFailed(err)
	}
	if !r.resumeAt(ctx, where) {
		return nil
	}
	return r.conclude(ctx, r.bakePhase(ctx, r.watchPhase(ctx)))
}

// resumeAt resumes the deployment findPaused found (where), unless this
// is a dry run or ctx is cancelled; true when it is to be watched.
func (r *run) resumeAt(ctx context.Context, where string) (watch bool) {
	switch {
	case r.cfg.DryRun:
		r.res.Status = StatusDryRun
		r.res.Reason = fmt.Sprintf("dry run: would %s %s; nothing changed", r.cfg.Resume, where)
		return false
	case ctx.Err() != nil:
		_ = r.cancelledBeforeChange(ctx)
		return false
	}
	return r.strategy.resume(ctx)
}

// findPaused reads the service, chooses its strategy and asks it for the
// deployment that waits at a pause (see strategy.findPaused).
func (r *run) findPaused(ctx context.Context) (string, error) {
	r.d.emit(EventPhase, "Resume (%s): %s in cluster %s", r.cfg.Resume, r.cfg.Service, r.cfg.Cluster)
	svc, err := r.d.describeService(ctx, r.cfg.Cluster, r.cfg.Service)
	if err != nil {
		return "", err
	}
	if err := checkService(svc, r.cfg.Service); err != nil {
		return "", err
	}
	r.svc, r.origDepl = svc, svc.DeploymentConfiguration
	r.strategy = chooseStrategy(r, svc)
	r.res.Strategy = r.strategy.name()
	where, err := r.strategy.findPaused(ctx)
	if err != nil {
		return "", err
	}
	if len(r.cfg.Alarms) > 0 {
		// Watched from the resume to the end of the bake, as from a
		// deploy's update; none may be in ALARM now.
		r.alarms = newAlarmWatch(r.d, r.cfg.Alarms)
		if err := r.alarms.preflight(ctx); err != nil {
			return "", err
		}
	}
	return where, nil
}
