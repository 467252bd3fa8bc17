package deployer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// The run of a BLUE_GREEN, LINEAR or CANARY deployment: finding the
// service deployment our update started, watching it stage by stage
// (stagedWatch, the judge the watch loop asks), rolling it back in one
// call, pausing at and resuming from PAUSE hooks, and the post step's
// recovery. The judging itself is pure, in staged.go.

// stagedWatch judges one staged service deployment for the watch loop:
// ours, or its rollback (the same service deployment).
type stagedWatch struct {
	r    *run
	arn  string // "" until found (the update's response did not name it)
	what watchKind
	// taskDef is the revision the deployment moves to: ours, or the
	// previous one when the deployment is a rollback by redeploying it.
	taskDef string
	// redeploy: the deployment watched is the rollback of a finished
	// deployment of ours, a new deployment of the previous revision. It
	// is judged as a deployment going forward (SUCCESSFUL is the rollback
	// done; PAUSE hooks are continued), and its own rollback is a failure.
	redeploy bool
	j        *stagedJudge
	// tasks judges the stopped tasks of our revision's ECS deployment
	// (ListTasks startedBy its ID), and feeds the diagnosis.
	tasks *rollingJudge

	polls  int
	last   *types.ServiceDeployment // the latest read
	paused *types.DeploymentLifecycleHookDetail
	// waitingTasks: SUCCESSFUL was read with tasks of ours missing (said
	// once).
	waitingTasks bool
}

var _ judge = (*stagedWatch)(nil)

func (s *stagedWatch) subject() string {
	return s.what.String() + " " + cmp.Or(s.j.id, "(not found yet)")
}

// newStagedWatch returns the judge of our service deployment arn ("" when
// it is still to be found).
func (r *run) newStagedWatch(arn string) *stagedWatch {
	var hooks []types.DeploymentLifecycleHook
	if r.origDepl != nil {
		hooks = r.origDepl.LifecycleHooks
	}
	s := &stagedWatch{r: r, arn: arn, what: watchDeployment, taskDef: r.newARN,
		j:     newStagedJudge(arn, taskdef.ShortRevision(r.newARN), taskdef.ShortRevision(r.target), hooks, r.cfg.FailedTasksThreshold),
		tasks: r.rollingJudge("", r.newARN, watchDeployment)}
	s.tasks.onFailure = func() { r.mark("first failure") }
	return s
}

// redeployWatch returns the judge of the rollback of a finished staged
// deployment: the new service deployment arn ("" when still to be found)
// of the previous revision.
func (r *run) redeployWatch(arn string) *stagedWatch {
	var hooks []types.DeploymentLifecycleHook
	if r.origDepl != nil {
		hooks = r.origDepl.LifecycleHooks
	}
	return &stagedWatch{r: r, arn: arn, what: watchRollback, taskDef: r.target, redeploy: true,
		j:     newStagedJudge(arn, taskdef.ShortRevision(r.target), taskdef.ShortRevision(r.newARN), hooks, r.cfg.FailedTasksThreshold),
		tasks: r.rollingJudge("", r.target, watchRollback)}
}

// judge reads our service deployment once and judges it.
func (s *stagedWatch) judge(ctx context.Context, snap snapshot) (verdict, error) {
	s.polls++
	if s.tasks.id == "" {
		s.tasks.id = primaryFor(snap.service, s.taskDef, deploymentIDs(s.r.svc))
	}
	if s.arn == "" {
		// Not found yet is not a failure: ECS's API is eventually
		// consistent, and a new service deployment may be listed only
		// seconds after the update. Keep looking until the watch's
		// timeout, whose rollback then finds it or deploys the previous
		// revision anew (stagedStrategy.rollback).
		arn, err := s.r.findServiceDeployment(ctx, snap.service, s.taskDef)
		if err != nil {
			return verdict{}, err
		}
		if arn == "" {
			return verdict{kind: verdictInProgress}, nil
		}
		s.setARN(arn)
		switch {
		case s.what == watchDeployment:
			s.r.checkpoint(PhaseWatching) // the post step needs it to stop our deployment
		case s.redeploy:
			s.r.checkpoint(PhaseRollingBack) // the post step checks the rollback by it
		}
	}
	sd, err := s.r.d.readServiceDeployment(ctx, s.arn)
	if err != nil {
		return verdict{}, err
	}
	s.last = &sd
	d := s.j.judge(sd)
	c := stagedCounts(sd)
	v := verdict{kind: verdictInProgress, counts: &c, line: s.j.lastLine}
	if c.Running > 0 {
		s.r.mark("first task running")
	}
	for _, st := range d.stages {
		s.r.mark(st)
	}

	if s.redeploy {
		switch d.outcome {
		case stagedSucceeded:
			// The rollback is done only when the previous revision runs
			// at its desired count (rule 2).
			if fv, ok, err := s.ourTasksServe(ctx, snap, d, c); err != nil || !ok {
				return fv, err
			}
			v.kind, v.reason = verdictSucceeded, d.reason
		case stagedPaused:
			// Continued by the strategy (answer), never waited out.
			s.paused = d.hook
			v.kind, v.reason = verdictPaused, d.reason
			v.pause = &pause{at: cmp.Or(string(sd.LifecycleStage), "a PAUSE hook")}
		case stagedFailed, stagedECSRollback, stagedRolledBack, stagedRollbackFailed, stagedStopped:
			v.kind, v.reason = verdictFailed, d.reason
		}
		return v, nil
	}
	switch d.outcome {
	case stagedInProgress:
		if s.what == watchDeployment && !s.j.ourRollback {
			periodic := c.Running < c.Desired && s.polls%periodicStoppedCheck == 0
			signal := s.tasksSignal(snap) || d.signal
			if (signal || s.tasks.recheck || periodic) && s.tasks.id != "" {
				if fv, failed, err := s.tasks.stoppedVerdict(ctx, c); err != nil || failed {
					fv.line = v.line
					return fv, err
				}
			}
		}
		return v, nil
	case stagedSucceeded:
		if s.what == watchRollback {
			v.kind, v.reason = verdictFailed, fmt.Sprintf("deployment %s completed instead of rolling back", s.j.id)
			return v, nil
		}
		// SUCCESSFUL is ECS's word on the deployment, not on our tasks:
		// success is our revision at its desired count with none of its
		// tasks stopped since the last read (rule 2). Missing tasks keep
		// the watch going.
		if fv, ok, err := s.ourTasksServe(ctx, snap, d, c); err != nil || !ok {
			return fv, err
		}
		v.kind, v.reason = verdictSucceeded, d.reason
		if dc := s.tasks.last; s.tasks.polls > 0 {
			v.reason = fmt.Sprintf("deployment %s completed: %d/%d tasks of %s running%s", s.j.id, dc.Running, dc.Desired, taskdef.ShortRevision(s.taskDef), weightNote(targetOf(sd)))
		}
		return v, nil
	case stagedPaused:
		if s.what == watchRollback {
			return v, nil
		}
		s.paused = d.hook // on-pause continue: the strategy continues it (answer)
		v.kind, v.reason = verdictPaused, d.reason
		v.pause = &pause{at: cmp.Or(string(sd.LifecycleStage), "a PAUSE hook"),
			notice: pausedNotice(s.r.cfg.Service, s.j.id, taskdef.ShortRevision(s.r.newARN), sd.LifecycleStage, *d.hook)}
		return v, nil
	case stagedFailed:
		v.kind, v.reason = verdictFailed, d.reason
		s.tasks.failureSeen()
		return v, nil
	case stagedECSRollback, stagedRolledBack, stagedRollbackFailed:
		if s.what == watchRollback {
			switch d.outcome {
			case stagedRolledBack:
				v.kind, v.reason = verdictSucceeded, d.reason
			case stagedRollbackFailed:
				v.kind, v.reason = verdictFailed, d.reason
			}
			return v, nil
		}
		// ECS rolls back by itself (its rollback may even be over
		// already): the rollback watch follows it to its end.
		v.kind, v.reason = verdictECSRollback, d.reason
		if d.outcome != stagedECSRollback {
			v.reason = fmt.Sprintf("deployment %s failed: %s", s.j.id, s.j.trigger(sd))
		}
		return v, nil
	case stagedStopped:
		if s.what == watchRollback {
			v.kind, v.reason = verdictFailed, d.reason
			return v, nil
		}
		if s.j.detected(sd) != "" {
			v.kind, v.reason = verdictStopped, d.reason
			return v, nil
		}
		return s.r.takenOver(ctx, s, d.reason), nil
	}
	return v, nil
}

// ourTasksServe judges a SUCCESSFUL read by our revision's tasks (rule
// 2): ok when its ECS deployment (and the service deployment's target)
// runs the desired count and no sign says a task of it stopped since the
// last read (the running count fell, ECS wrote "has started" for
// replacements, the breaker counted a failure). Otherwise the stopped
// tasks are listed: enough failures are a failed verdict; fewer keep the
// watch going (verdictInProgress) until the tasks are back, a failure or
// the timeout. A SUCCESSFUL deployment whose tasks crash between two
// reads is not a success.
func (s *stagedWatch) ourTasksServe(ctx context.Context, snap snapshot, d stagedDecision, c Counts) (verdict, bool, error) {
	signal := s.tasksSignal(snap) || d.signal
	missing := c.Desired > 0 && c.Running < c.Desired
	if j := s.tasks; j.polls > 0 {
		missing = missing || j.last.Running < j.last.Desired
		c = j.last
	}
	if !signal && !missing {
		return verdict{}, true, nil
	}
	if s.tasks.id != "" {
		fv, failed, err := s.tasks.stoppedVerdict(ctx, c)
		if err != nil || failed {
			fv.line = s.j.lastLine
			return fv, false, err
		}
	}
	if !missing {
		return verdict{}, true, nil
	}
	if !s.waitingTasks {
		s.waitingTasks = true
		s.r.d.emit(EventInfo, "%s is %s, but %d/%d tasks of %s run: watching until they do", s.subject(), types.ServiceDeploymentStatusSuccessful, c.Running, c.Desired, taskdef.ShortRevision(s.taskDef))
	}
	return verdict{kind: verdictInProgress, counts: &c, line: s.j.lastLine}, false, nil
}

// tasksSignal reports whether the service, read at this poll, hints
// that tasks of our revision stopped, as a rolling deployment's watch
// judges it (rollingJudge.stopSignal): our ECS deployment's running or
// pending count fell, or ECS started replacements. The service deployment
// alone cannot say: without the circuit breaker its failureCount stays 0,
// and a crash and its replacement can fall between two reads.
func (s *stagedWatch) tasksSignal(snap snapshot) bool {
	j := s.tasks
	if j.id == "" {
		return false
	}
	for _, dep := range snap.service.Deployments {
		if aws.ToString(dep.Id) != j.id {
			continue
		}
		if j.createdAt.IsZero() && dep.CreatedAt != nil {
			j.createdAt = *dep.CreatedAt
		}
		j.polls++
		c := Counts{Desired: dep.DesiredCount, Running: dep.RunningCount, Pending: dep.PendingCount, Failed: dep.FailedTasks, RolloutState: string(dep.RolloutState)}
		signal := j.stopSignal(c, snap)
		j.observe(c)
		return signal
	}
	return false
}

func (s *stagedWatch) setARN(arn string) {
	s.arn = arn
	s.j.id = serviceDeploymentID(arn)
	s.r.res.ServiceDeploymentARN = arn
	s.r.d.emit(EventInfo, "Watching service deployment %s", arn)
}

// stagedCounts are the target revision's task counts, as Counts.
func stagedCounts(sd types.ServiceDeployment) Counts {
	t := targetOf(sd)
	c := Counts{Desired: t.RequestedTaskCount, Running: t.RunningTaskCount, Pending: t.PendingTaskCount, RolloutState: string(sd.Status)}
	if cb := sd.DeploymentCircuitBreaker; cb != nil {
		c.Failed = cb.FailureCount
	}
	return c
}

// takenOver names the deployment that replaced ours, when the service
// says; ours was stopped without a rollback.
func (r *run) takenOver(ctx context.Context, s *stagedWatch, why string) verdict {
	svc, err := r.d.describeService(ctx, r.cfg.Cluster, r.cfg.Service)
	if err == nil {
		if cur := aws.ToString(svc.CurrentServiceDeployment); cur != "" && cur != s.arn {
			return verdict{kind: verdictTakenOver, other: serviceDeploymentID(cur),
				reason: fmt.Sprintf("another deployment (%s of %s) took over from %s; not undoing someone else's deploy", serviceDeploymentID(cur), taskdef.ShortRevision(aws.ToString(svc.TaskDefinition)), s.subject())}
		}
	}
	return verdict{kind: verdictTakenOver, reason: why + "; not undoing what stopped it"}
}

// describeServiceDeployment reads one service deployment.
func (d *Deployer) describeServiceDeployment(ctx context.Context, arn string) (types.ServiceDeployment, error) {
	out, err := d.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil {
		return types.ServiceDeployment{}, fmt.Errorf("describe service deployment %s: %w", serviceDeploymentID(arn), err)
	}
	for _, sd := range out.ServiceDeployments {
		if aws.ToString(sd.ServiceDeploymentArn) == arn || len(out.ServiceDeployments) == 1 {
			return sd, nil
		}
	}
	why := "not found"
	for _, f := range out.Failures {
		why = cmp.Or(aws.ToString(f.Reason), why)
	}
	return types.ServiceDeployment{}, fmt.Errorf("describe service deployment %s: %s", serviceDeploymentID(arn), why)
}

// updatedServiceDeployment is the service deployment our UpdateService
// started, as its response names it: the service's current one, when it
// is not the one from before the update. "" when the response does not
// say (the watch then looks it up by listing).
func (r *run) updatedServiceDeployment(updated types.Service) string {
	cur := aws.ToString(updated.CurrentServiceDeployment)
	if cur == "" || cur == aws.ToString(r.svc.CurrentServiceDeployment) {
		return ""
	}
	return cur
}

// findServiceDeployment looks for the service deployment our update
// started when its response did not name it: the service's current one
// (svc, as just read; "The ARN of the current service deployment", API
// reference), else the newest one ECS lists for the service since the run
// began; not the one from before, and only one whose target revision runs
// taskDef (ours; the previous revision for the rollback of a finished
// deployment). Never someone else's: a deployment of another task
// definition is not ours. "" when none is found yet.
func (r *run) findServiceDeployment(ctx context.Context, svc types.Service, taskDef string) (string, error) {
	before := aws.ToString(r.svc.CurrentServiceDeployment)
	if cur := aws.ToString(svc.CurrentServiceDeployment); cur != "" && cur != before {
		sd, err := r.d.describeServiceDeployment(ctx, cur)
		if err == nil {
			tds, err := r.d.revisionTaskDefinitions(ctx, []string{aws.ToString(targetOf(sd).Arn)})
			if err != nil {
				return "", err
			}
			if tds[aws.ToString(targetOf(sd).Arn)] == taskDef {
				return cur, nil
			}
		}
	}
	out, err := r.d.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
		Cluster:   aws.String(r.cfg.Cluster),
		Service:   aws.String(r.cfg.Service),
		CreatedAt: &types.CreatedAt{After: aws.Time(r.res.StartedAt.Add(-time.Minute))},
	})
	if err != nil {
		return "", fmt.Errorf("list service deployments: %w", err)
	}
	var cands []types.ServiceDeploymentBrief
	var revs []string
	for _, b := range out.ServiceDeployments {
		if arn := aws.ToString(b.ServiceDeploymentArn); arn != "" && arn != before && aws.ToString(b.TargetServiceRevisionArn) != "" {
			cands = append(cands, b)
			revs = append(revs, aws.ToString(b.TargetServiceRevisionArn))
		}
	}
	if len(cands) == 0 {
		return "", nil
	}
	taskDefs, err := r.d.revisionTaskDefinitions(ctx, revs)
	if err != nil {
		return "", err
	}
	slices.SortFunc(cands, func(a, b types.ServiceDeploymentBrief) int {
		return aws.ToTime(b.CreatedAt).Compare(aws.ToTime(a.CreatedAt))
	})
	for _, b := range cands {
		if taskDefs[aws.ToString(b.TargetServiceRevisionArn)] == taskDef {
			return aws.ToString(b.ServiceDeploymentArn), nil
		}
	}
	return "", nil
}

// revisionTaskDefinitions maps service revision ARNs to their task
// definitions (DescribeServiceRevisions takes up to 20 at a time).
func (d *Deployer) revisionTaskDefinitions(ctx context.Context, arns []string) (map[string]string, error) {
	m := map[string]string{}
	for len(arns) > 0 {
		n := min(len(arns), 20)
		out, err := d.ecs.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: arns[:n]})
		if err != nil {
			return nil, fmt.Errorf("describe service revisions: %w", err)
		}
		for _, rev := range out.ServiceRevisions {
			m[aws.ToString(rev.ServiceRevisionArn)] = aws.ToString(rev.TaskDefinition)
		}
		arns = arns[n:]
	}
	return m, nil
}

// continueAt answers a PAUSE hook of our deployment: CONTINUE goes on,
// ROLLBACK rolls back (ours).
func (r *run) continueAt(ctx context.Context, s *stagedWatch, h *types.DeploymentLifecycleHookDetail, action types.DeploymentLifecycleHookAction) error {
	var waited types.ServiceDeployment // the read that showed the hook waiting
	if s.last != nil {
		waited = *s.last
	}
	in := &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(s.arn), HookId: h.HookId, Action: action}
	// No blind retry: ECS keeps a hook's ID for the whole deployment, so
	// a retry of a Continue that was applied (its response lost) could
	// arrive when the next LINEAR or CANARY step waits at the same hookId,
	// and continue that one too. Each retry reads first, and goes out only
	// while the hook still waits where it waited.
	for attempt := 1; ; attempt++ {
		_, err := r.d.ecs.ContinueServiceDeployment(ctx, in, func(o *ecs.Options) { o.RetryMaxAttempts = 1 })
		if err == nil {
			break
		}
		applied, waiting := r.continueOutcome(ctx, s, waited, h, action)
		if applied {
			break
		}
		retryable := retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
		if !waiting || !retryable || attempt == 3 {
			return fmt.Errorf("continue service deployment %s at %s (%s): %w", s.j.id, hookName(*h), action, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("continue service deployment %s at %s (%s): %w", s.j.id, hookName(*h), action, err)
		case <-time.After(time.Duration(attempt) * time.Second):
		}
	}
	s.j.noteContinued(waited, aws.ToString(h.HookId))
	stage := ""
	if s.last != nil {
		stage = string(s.last.LifecycleStage)
	}
	if action == types.DeploymentLifecycleHookActionRollback {
		s.j.noteRollback()
		r.d.emit(EventInfo, "Rollback requested at %s (%s): ContinueServiceDeployment ROLLBACK", orDash(stage), hookName(*h))
		return nil
	}
	r.d.emit(EventInfo, "Continued deployment %s at %s (%s)", s.j.id, orDash(stage), hookName(*h))
	r.mark("continued at " + cmp.Or(stage, "a PAUSE hook"))
	return nil
}

// continueOutcome reads our deployment again after a
// ContinueServiceDeployment failed. applied: nothing is left to do — the
// hook no longer waits where it waited (waited: a call ECS had applied
// before its response was lost, a hook continued by someone else or timed
// out; the watch judges what follows) and, for ROLLBACK, the deployment
// rolls back. waiting: the hook still waits there, so the call did not go
// through. ECS refuses a Continue at a hook that is not AWAITING_ACTION
// (developer guide, continue-service-deployment.html).
func (r *run) continueOutcome(ctx context.Context, s *stagedWatch, waited types.ServiceDeployment, h *types.DeploymentLifecycleHookDetail, action types.DeploymentLifecycleHookAction) (applied, waiting bool) {
	sd, err := r.d.describeServiceDeployment(ctx, s.arn)
	if err != nil {
		return false, false
	}
	s.last = &sd
	id := aws.ToString(h.HookId)
	for _, d := range sd.LifecycleHookDetails {
		if aws.ToString(d.HookId) == id && d.Status == types.DeploymentLifecycleHookStatusAwaitingAction && hookKey(sd, id) == hookKey(waited, id) {
			waiting = true
		}
	}
	if action == types.DeploymentLifecycleHookActionRollback {
		return isRollbackStatus(sd.Status) && sd.Status != types.ServiceDeploymentStatusRollbackFailed, waiting
	}
	return !waiting, waiting
}

// rollbackStaged rolls our staged deployment back in one call:
// ContinueServiceDeployment ROLLBACK when it waits at a PAUSE hook,
// StopServiceDeployment ROLLBACK otherwise. ECS still runs the previous
// revision until the clean-up, so this puts production traffic straight
// back on it. It works on a fresh, short context when ctx is cancelled.
func (r *run) rollbackStaged(ctx context.Context, s *stagedWatch) error {
	ctx, cancel := freshContext(ctx)
	defer cancel()
	if s.arn == "" {
		return errNoServiceDeployment
	}
	if s.last != nil {
		if h := s.j.awaiting(*s.last); h != nil {
			err := r.continueAt(ctx, s, h, types.DeploymentLifecycleHookActionRollback)
			if err == nil {
				return nil
			}
			// The hook moved on under our call (timed out with CONTINUE,
			// continued by someone else): ECS refuses the Continue, and
			// the deployment, still running, is stopped instead.
			r.d.emit(EventInfo, "%v; stopping the deployment instead", err)
		}
	}
	_, err := r.d.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{
		ServiceDeploymentArn: aws.String(s.arn),
		StopType:             types.StopServiceDeploymentStopTypeRollback,
	})
	if err != nil && !r.alreadyRollingBack(ctx, s) {
		return fmt.Errorf("stop service deployment %s: %w", s.j.id, err)
	}
	s.j.noteRollback()
	r.d.emit(EventInfo, "Rollback requested: StopServiceDeployment ROLLBACK of deployment %s (back to %s)", s.j.id, taskdef.ShortRevision(r.target))
	return nil
}

// errNoServiceDeployment: the service deployment of our update was not
// found; stagedStrategy.rollback then deploys the previous revision anew.
var errNoServiceDeployment = errors.New("the service deployment of our update was never found, so it cannot be stopped")

// alreadyRollingBack reports whether our service deployment is rolling
// back already (a retried call that was applied, or ECS's own rollback):
// a failed rollback call is then no failure.
func (r *run) alreadyRollingBack(ctx context.Context, s *stagedWatch) bool {
	sd, err := r.d.describeServiceDeployment(ctx, s.arn)
	if err != nil {
		return false
	}
	s.last = &sd
	switch sd.Status {
	case types.ServiceDeploymentStatusRollbackRequested, types.ServiceDeploymentStatusRollbackInProgress, types.ServiceDeploymentStatusRollbackSuccessful:
		return true
	}
	return false
}

// stagedTimeout is how long our staged deployment may take: the timeout
// input plus the time ECS is configured to wait on its own (bake time,
// the waits between linear steps, the canary's bake), which is not our
// deployment being slow.
func stagedTimeout(timeout time.Duration, c *types.DeploymentConfiguration) time.Duration {
	return timeout + plannedWaits(c, time.Minute)
}

// plannedWaits is the time ECS waits on purpose during a deployment of
// configuration c, with minute as the length of a minute.
func plannedWaits(c *types.DeploymentConfiguration, minute time.Duration) time.Duration {
	if c == nil {
		return 0
	}
	var m int32
	if c.BakeTimeInMinutes != nil {
		m += *c.BakeTimeInMinutes
	}
	// Settings left out take ECS's defaults (API reference,
	// LinearConfiguration: stepPercent 10.0, stepBakeTimeInMinutes 6, not
	// applied after 100 percent; CanaryConfiguration: canaryBakeTimeInMinutes 10).
	switch c.Strategy {
	case types.DeploymentStrategyLinear:
		pct, bake := 10.0, int32(6)
		if l := c.LinearConfiguration; l != nil {
			pct = aws.ToFloat64(cmp.Or(l.StepPercent, &pct))
			bake = aws.ToInt32(cmp.Or(l.StepBakeTimeInMinutes, &bake))
		}
		if pct > 0 {
			steps := int32(100 / pct)
			if float64(steps)*pct < 100 {
				steps++
			}
			m += max(steps-1, 0) * bake
		}
	case types.DeploymentStrategyCanary:
		bake := int32(10)
		if k := c.CanaryConfiguration; k != nil {
			bake = aws.ToInt32(cmp.Or(k.CanaryBakeTimeInMinutes, &bake))
			if k.CanaryPercent != nil && *k.CanaryPercent >= 100 {
				bake = 0 // all traffic at once: no canary step to bake
			}
		}
		m += bake
	}
	return time.Duration(m) * minute
}

// resume acts on our deployment that waits at a PAUSE hook, as found by
// findPaused: ContinueServiceDeployment with CONTINUE (the deployment is
// then watched to its end, with every verdict of a deploy) or ROLLBACK
// (watched to its end here).
func (st *stagedStrategy) resume(ctx context.Context) bool {
	r, sd, hook := st.r, *st.found, st.hook
	s := r.newStagedWatch("")
	s.setARN(aws.ToString(sd.ServiceDeploymentArn))
	s.last = &sd
	st.w, r.ours = s, s.tasks
	r.res.DeploymentID = s.j.id
	r.mark("resumed at " + cmp.Or(string(sd.LifecycleStage), "a PAUSE hook"))
	if r.cfg.Resume == ResumeRollback {
		// The rollback by a fresh read (rule 1): ROLLBACK at the hook
		// while it still waits; when the hook moved on (timed out with
		// CONTINUE, continued by someone else) StopServiceDeployment
		// ROLLBACK, or a new deployment of the previous revision once the
		// deployment finished.
		r.d.emit(EventPhase, "Roll back deployment %s at %s (resume: rollback)", s.j.id, orDash(string(sd.LifecycleStage)))
		why := fmt.Sprintf("deployment %s of %s was paused at %s; resume: rollback", s.j.id, taskdef.ShortRevision(r.newARN), orDash(string(sd.LifecycleStage)))
		if err := r.issueRollback(ctx); err != nil {
			r.res.Status = StatusRollbackFailed
			r.res.Reason = fmt.Sprintf("%s; the rollback to %s could not be issued: %v", why, taskdef.ShortRevision(r.target), err)
			r.res.ManualRollback = r.manualRollback()
			return false // the checkpoint still names the rollback owed
		}
		_ = r.awaitRollback(ctx, why, "")
		return false
	}
	if err := r.continueAt(ctx, s, hook, types.DeploymentLifecycleHookActionContinue); err != nil {
		r.res.Status = StatusFailed
		r.res.Reason = fmt.Sprintf("resume: %v; the deployment still waits at %s", err, hookName(*hook))
		r.checkpoint(PhaseDone)
		return false
	}
	r.updatedAt = r.d.now() // the alarms are watched from here
	return true
}

// findPaused finds the service's deployment that waits at a PAUSE hook
// and reads the revisions it moves between: the service's current
// deployment first, then the in-progress ones ECS lists.
func (st *stagedStrategy) findPaused(ctx context.Context) (string, error) {
	r, svc := st.r, st.r.svc
	sds, err := r.d.listServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
		Cluster: aws.String(r.cfg.Cluster), Service: aws.String(r.cfg.Service),
		Status: []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusInProgress},
	}, aws.ToString(svc.CurrentServiceDeployment))
	if err != nil {
		return "", fieldError("Resume", "read the service deployments of %s: %w", r.cfg.Service, err)
	}
	var sd types.ServiceDeployment
	var hook *types.DeploymentLifecycleHookDetail
	for _, d := range sds {
		if h := pausedHook(d); h != nil {
			sd, hook = d, h
			break
		}
	}
	if hook == nil {
		return "", fieldError("Resume", "service %s has no deployment waiting at a PAUSE hook; nothing to %s, nothing changed", r.cfg.Service, r.cfg.Resume)
	}
	revs := []string{aws.ToString(targetOf(sd).Arn)}
	for _, src := range sd.SourceServiceRevisions {
		revs = append(revs, aws.ToString(src.Arn))
	}
	tds, err := r.d.revisionTaskDefinitions(ctx, revs)
	if err != nil {
		return "", fieldError("Resume", "%w", err)
	}
	r.newARN = tds[revs[0]]
	r.res.TaskDefinitionARN = r.newARN
	if len(revs) > 1 {
		r.target = tds[revs[1]]
	} else if sd.Rollback != nil {
		r.target = tds[aws.ToString(sd.Rollback.ServiceRevisionArn)]
	}
	r.res.PreviousTaskDefinitionARN = r.target
	st.found, st.hook = &sd, hook
	return fmt.Sprintf("deployment %s of %s at %s (%s)", serviceDeploymentID(aws.ToString(sd.ServiceDeploymentArn)), taskdef.ShortRevision(r.newARN), orDash(string(sd.LifecycleStage)), hookName(*hook)), nil
}

// recover is Recover for a BLUE_GREEN, LINEAR or CANARY service, from a
// fresh read of our service deployment (docs/safety.md, rules 1 and 3):
//
//   - a rollback accepted (PhaseRollingBack) is checked: settled, nothing
//     to do; in progress, no second one (a new deployment of the previous
//     revision waiting at a PAUSE hook is continued: it is ours, and its
//     hook's timeout would roll it back to the failed revision); failed,
//     it is owed again;
//   - a rollback owed is issued whatever the deployment's state: running,
//     StopServiceDeployment ROLLBACK (ContinueServiceDeployment ROLLBACK at
//     the PAUSE hook it waits at); finished (SUCCESSFUL, STOPPED,
//     ROLLBACK_FAILED), or a call refused because it finished meanwhile, a
//     new deployment of the previous revision; rolling back already, no
//     second one;
//   - a deployment left unfinished (PhaseUpdated, PhaseWatching) is rolled
//     back when cp.Rollback says so; one that completed after the main step
//     is left; a failed rollback of ECS's is owed.
//
// It never watches: a rollback it issued is StatusRollbackIssued.
func (st *stagedStrategy) recover(ctx context.Context, d *Deployer, cp Checkpoint, res Result) (Result, error) {
	id := serviceDeploymentID(cp.ServiceDeploymentARN)
	res.ServiceDeploymentARN = cp.ServiceDeploymentARN
	sd, err := d.describeServiceDeployment(ctx, cp.ServiceDeploymentARN)
	if err != nil {
		// Unknown state: the new deployment of the previous revision is
		// the command that works in every state.
		res.Status = StatusRollbackFailed
		res.Reason = fmt.Sprintf("post: could not check deployment %s: %v", id, err)
		res.ManualRollback = manualRollbackCommand(cp.Cluster, cp.Service, cp.RollbackTarget)
		return res, fmt.Errorf("post: %w", err)
	}
	owed := false
	switch cp.Phase {
	case PhaseRollingBack:
		if done, r, err := recoverCheckRollback(ctx, d, cp, res, sd); done {
			return r, err
		}
		owed = true
	case PhaseRollbackOwed:
		owed = true
	default:
		switch {
		case sd.Status == types.ServiceDeploymentStatusRollbackFailed:
			owed = true // ECS could not put the previous revision back
		case isRollbackStatus(sd.Status):
			res.Reason = fmt.Sprintf("deployment %s is %s; nothing to do", id, sd.Status)
			return res, nil
		case sd.Status == types.ServiceDeploymentStatusStopped, sd.Status == types.ServiceDeploymentStatusStopRequested:
			res.Reason = fmt.Sprintf("deployment %s was stopped; nothing to do", id)
			return res, nil
		case sd.Status == types.ServiceDeploymentStatusSuccessful:
			res.Reason = fmt.Sprintf("deployment %s of %s completed after the main step ended; leaving it", id, taskdef.ShortRevision(cp.TaskDefinition))
			return res, nil
		}
	}
	what := fmt.Sprintf("the main step ended while deployment %s of %s was %s at %s", id, taskdef.ShortRevision(cp.TaskDefinition), sd.Status, orDash(string(sd.LifecycleStage)))
	if owed {
		what = fmt.Sprintf("the main step owed the rollback of deployment %s of %s (%s)", id, taskdef.ShortRevision(cp.TaskDefinition), sd.Status)
		if sd.Status == types.ServiceDeploymentStatusRollbackFailed {
			what = fmt.Sprintf("the rollback of deployment %s of %s failed (ROLLBACK_FAILED: %s)", id, taskdef.ShortRevision(cp.TaskDefinition),
				cmp.Or(strings.TrimSuffix(aws.ToString(sd.StatusReason), "."), "no reason given"))
		}
	}
	if !cp.Rollback && !owed {
		res.Status = StatusFailed
		res.Reason = what + "; leaving it (on-cancel: leave)"
		res.ManualRollback = stopCommand(cp.ServiceDeploymentARN)
		return res, nil
	}
	// Rule 1: the mechanism by the state just read; a refusal is read
	// again and planned again.
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		switch rollbackPlanFor(sd.Status) {
		case stagedRollbackUnderway:
			if sd.Status == types.ServiceDeploymentStatusRollbackSuccessful {
				res.Reason = fmt.Sprintf("deployment %s was rolled back to %s; nothing to do", id, taskdef.ShortRevision(cp.RollbackTarget))
				return res, nil
			}
			return rollbackInProgress(res, cp, id), nil
		case stagedRollbackRedeploy:
			svc, err := d.describeService(ctx, cp.Cluster, cp.Service)
			if err != nil {
				lastErr = err
				break
			}
			switch aws.ToString(svc.TaskDefinition) {
			case cp.TaskDefinition:
				return recoverRedeploy(ctx, d, cp, res, svc, what)
			case cp.RollbackTarget:
				return rollbackInProgress(res, cp, aws.ToString(svc.CurrentServiceDeployment)), nil // applied already
			default:
				res.Reason = fmt.Sprintf("%s; the service now runs %s, not ours: not undoing someone else's deploy", what, taskdef.ShortRevision(aws.ToString(svc.TaskDefinition)))
				return res, nil
			}
		default:
			err := errors.New("not waiting at a PAUSE hook")
			if h := pausedHook(sd); h != nil {
				_, err = d.ecs.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{
					ServiceDeploymentArn: aws.String(cp.ServiceDeploymentARN), HookId: h.HookId, Action: types.DeploymentLifecycleHookActionRollback})
			}
			if err != nil { // not at a hook, or the hook moved on under our call: stop it
				_, err = d.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{
					ServiceDeploymentArn: aws.String(cp.ServiceDeploymentARN), StopType: types.StopServiceDeploymentStopTypeRollback})
			}
			if err == nil {
				res.Status = StatusRollbackIssued
				res.Reason = fmt.Sprintf("%s; rollback to %s requested (StopServiceDeployment ROLLBACK), not watched to its end: check it with %s",
					what, taskdef.ShortRevision(cp.RollbackTarget), describeDeploymentCommand(cp.ServiceDeploymentARN))
				return res, nil
			}
			lastErr = err
		}
		// Refused or failed: read again, plan again.
		if next, err := d.describeServiceDeployment(ctx, cp.ServiceDeploymentARN); err == nil {
			sd = next
		}
	}
	res.Status = StatusRollbackFailed
	res.Reason = fmt.Sprintf("%s; the rollback could not be requested: %v", what, lastErr)
	res.ManualRollback = manualRollbackCommand(cp.Cluster, cp.Service, cp.RollbackTarget)
	if !isFinished(sd.Status) {
		res.ManualRollback = stopCommand(cp.ServiceDeploymentARN)
	}
	return res, fmt.Errorf("post: roll back %s: %w", cp.Service, lastErr)
}

// recoverCheckRollback checks the rollback a PhaseRollingBack checkpoint
// names. done: the post step's answer is r (settled, or in progress);
// otherwise the rollback failed and is owed again.
func recoverCheckRollback(ctx context.Context, d *Deployer, cp Checkpoint, res Result, sd types.ServiceDeployment) (done bool, r Result, err error) {
	rb := cp.RollbackServiceDeploymentARN
	if rb == "" || rb == cp.ServiceDeploymentARN {
		// Our deployment's own rollback (ours or ECS's), unless the
		// rollback was a new deployment the main step had not found yet.
		switch {
		case sd.Status == types.ServiceDeploymentStatusRollbackSuccessful:
			res.Reason = fmt.Sprintf("deployment %s was rolled back to %s; nothing to do", serviceDeploymentID(cp.ServiceDeploymentARN), taskdef.ShortRevision(cp.RollbackTarget))
			return true, res, nil
		case sd.Status == types.ServiceDeploymentStatusRollbackRequested, sd.Status == types.ServiceDeploymentStatusRollbackInProgress:
			return true, rollbackInProgress(res, cp, serviceDeploymentID(cp.ServiceDeploymentARN)), nil
		case rb == "" && cp.RollbackDeploymentID != "":
			// A new deployment of the previous revision whose service
			// deployment was not known yet: the service says.
			r, err := (&rollingStrategy{}).recover(ctx, d, cp, res)
			return true, r, err
		}
		return false, res, nil
	}
	rsd, err := d.describeServiceDeployment(ctx, rb)
	if err != nil {
		res.Status = StatusRollbackFailed
		res.Reason = fmt.Sprintf("post: could not check the rollback %s: %v", serviceDeploymentID(rb), err)
		res.ManualRollback = manualRollbackCommand(cp.Cluster, cp.Service, cp.RollbackTarget)
		return true, res, fmt.Errorf("post: %w", err)
	}
	switch {
	case rsd.Status == types.ServiceDeploymentStatusSuccessful:
		res.Reason = fmt.Sprintf("the rollback to %s (deployment %s) has completed; nothing to do", taskdef.ShortRevision(cp.RollbackTarget), serviceDeploymentID(rb))
		return true, res, nil
	case !isFinished(rsd.Status) && !isRollbackStatus(rsd.Status):
		// Ours: a PAUSE hook of it is continued, or its timeout would
		// roll the service back to the failed revision.
		if h := pausedHook(rsd); h != nil {
			if _, err := d.ecs.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{
				ServiceDeploymentArn: aws.String(rb), HookId: h.HookId, Action: types.DeploymentLifecycleHookActionContinue}); err != nil {
				d.emit(EventWarning, "post: could not continue the rollback %s at %s: %v", serviceDeploymentID(rb), hookName(*h), err)
			}
		}
		return true, rollbackInProgress(res, cp, serviceDeploymentID(rb)), nil
	}
	return false, res, nil // failed: owed again, as a new deployment
}

// describeDeploymentCommand is the command that shows a service
// deployment.
func describeDeploymentCommand(arn string) string {
	return fmt.Sprintf("aws ecs describe-service-deployments --service-deployment-arns %s", shellQuote(arn))
}
