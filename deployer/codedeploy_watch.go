package deployer

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/appspec"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// cdWatch judges a CodeDeploy deployment for the watch loop: ours
// (watchDeployment), or the rollback CodeDeploy runs for it
// (watchRollback, id is then still ours and rbID the rollback's).
//
// One poll reads the service (the loop's read: events, the service being
// deleted) and GetDeploymentTarget (lifecycle events, task sets, traffic
// weights); GetDeployment only at the first poll and when the target is
// no longer Pending or InProgress (an end, Ready, a rollback to name).
// The replacement task set's stopped tasks are listed (ListTasks
// startedBy its ID) when the counts or the service's events hint at a
// stopped task, as for every strategy.
type cdWatch struct {
	st    *codeDeployStrategy
	id    string
	what  watchKind
	tasks *rollingJudge // the replacement task set's tasks

	rbID      string
	forward   bool // rbID is a new deployment of the previous revision
	readyDone bool // ContinueDeployment READY_WAIT sent (or resumed)
	// termDone: ContinueDeployment TERMINATION_WAIT sent to our rollback
	// deployment (termFailed: refused).
	termDone, termFailed bool
	// baking: production traffic is on our task set and the bake runs:
	// success is no verdict, our tasks stopping on a failure are.
	baking   bool
	bakeFrom time.Time
	polls    int
	short    bool // said that production moved before our tasks all ran
	seen     map[string]cdtypes.LifecycleEventStatus
	last     *cdtypes.ECSTarget
	lastLine string
}

var _ judge = (*cdWatch)(nil)

func (w *cdWatch) subject() string {
	if w.what == watchRollback {
		return "rollback " + cmp.Or(w.rbID, "of "+w.id)
	}
	return "CodeDeploy deployment " + w.id
}

// target reads the deployment's ECS target (nil while CodeDeploy has not
// created it yet).
func (w *cdWatch) target(ctx context.Context, id string) (*cdtypes.ECSTarget, error) {
	r := w.st.r
	out, err := r.d.cd.GetDeploymentTarget(ctx, &codedeploy.GetDeploymentTargetInput{
		DeploymentId: aws.String(id), TargetId: aws.String(clusterName(r.cfg.Cluster) + ":" + serviceName(r.cfg.Service)),
	})
	switch {
	case apiErrorCode(err) == "DeploymentTargetDoesNotExistException" || apiErrorCode(err) == "DeploymentNotStartedException":
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get deployment target of %s: %w", id, err)
	case out.DeploymentTarget == nil || out.DeploymentTarget.EcsTarget == nil:
		return nil, nil
	}
	return out.DeploymentTarget.EcsTarget, nil
}

func (w *cdWatch) judge(ctx context.Context, snap snapshot) (verdict, error) {
	w.polls++
	if w.what == watchRollback {
		return w.judgeRollback(ctx, snap)
	}
	r := w.st.r
	tg, err := w.target(ctx, w.id)
	if err != nil {
		return verdict{}, err
	}
	if tg != nil {
		w.last = tg
	}
	var info *cdtypes.DeploymentInfo
	if w.polls == 1 || tg == nil || (tg.Status != cdtypes.TargetStatusPending && tg.Status != cdtypes.TargetStatusInProgress) {
		i, err := w.st.get(ctx, w.id)
		if err != nil {
			return verdict{}, err
		}
		info = &i
	}
	c, green := w.counts(tg, info)
	w.markEvents(tg)
	v := verdict{kind: verdictInProgress, counts: &c, line: w.line(w.id, tg, c)}
	w.lastLine = v.line
	if c.Running > 0 {
		r.mark("first task running")
	}
	if green != "" && w.tasks.id == "" {
		w.tasks.id = green
	}

	status := cdtypes.DeploymentStatusInProgress
	if info != nil {
		status = info.Status
	}
	switch status {
	case cdtypes.DeploymentStatusSucceeded:
		if w.baking {
			return w.bakeTasks(ctx, snap, c, v)
		}
		return w.success(ctx, snap, tg, c, v)
	case cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusStopped:
		w.tasks.failureSeen()
		why := w.failureReason(ctx, *info)
		if rb := rollbackOf(*info); rb != "" {
			w.st.by = "CodeDeploy"
			r.res.RollbackDeploymentID = rb // the rolling-back checkpoint names it
			v.kind, v.by, v.reason = verdictECSRollback, "CodeDeploy", why
			return v, nil
		}
		if tv, ok, err := w.takenOver(ctx, *info); err != nil || ok {
			tv.line = v.line
			return tv, err
		}
		v.kind, v.reason = verdictStopped, why+"; CodeDeploy did not roll it back"
		return v, nil
	case cdtypes.DeploymentStatusReady:
		if w.readyDone {
			return v, nil
		}
		r.mark("Ready")
		if r.cfg.OnPause == OnPauseContinue {
			if err := w.st.continueReady(ctx); err != nil {
				return verdict{}, err
			}
			w.readyDone = true
			return v, nil
		}
		v.kind, v.reason = verdictPaused, fmt.Sprintf("CodeDeploy deployment %s of %s waits in Ready", w.id, taskdef.ShortRevision(r.newARN))
		v.pause = &pause{at: "Ready", notice: w.readyNotice()}
		return v, nil
	}
	if w.baking {
		return w.bakeTasks(ctx, snap, c, v)
	}
	if tg != nil && eventStatus(tg, "AfterAllowTraffic") == cdtypes.LifecycleEventStatusSucceeded && greenWeight(tg) >= 100 {
		return w.success(ctx, snap, tg, c, v)
	}
	fv, failed, err := w.ourTasks(ctx, snap, c, false)
	if err != nil || failed {
		fv.line = v.line
		return fv, err
	}
	return v, nil
}

// ourTasks judges the replacement task set's tasks: its stopped tasks
// are listed on a signal (the counts, the service's events), every
// periodicStoppedCheck polls while not all run, and when final (before a
// success is declared).
func (w *cdWatch) ourTasks(ctx context.Context, snap snapshot, c Counts, final bool) (verdict, bool, error) {
	j := w.tasks
	if j.id == "" {
		return verdict{}, false, nil
	}
	j.polls++
	signal := j.stopSignal(c, snap)
	j.observe(c)
	periodic := c.Running < c.Desired && w.polls%periodicStoppedCheck == 0
	if !signal && !j.recheck && !periodic && !final {
		return verdict{}, false, nil
	}
	return j.stoppedVerdict(ctx, c)
}

// success judges a deployment CodeDeploy calls done (all production
// traffic on our task set, AfterAllowTraffic succeeded, or Succeeded):
// success is a fact about our revision (docs/safety.md, rule 2): the
// replacement task set runs its desired count with nothing pending, and
// no task of ours stopped on a failure since the last read. Until then
// the watch goes on, to success, failure or the timeout.
func (w *cdWatch) success(ctx context.Context, snap snapshot, tg *cdtypes.ECSTarget, c Counts, v verdict) (verdict, error) {
	fv, failed, err := w.ourTasks(ctx, snap, c, true)
	if err != nil || failed {
		fv.line = v.line
		return fv, err
	}
	if tg != nil && w.tasks.id != "" && (c.Desired == 0 || c.Running < c.Desired || c.Pending > 0) {
		if !w.short {
			w.short = true
			w.st.r.d.emit(EventInfo, "CodeDeploy deployment %s has moved production traffic, but %d of %d tasks of %s run: watching on", w.id, c.Running, c.Desired, taskdef.ShortRevision(w.st.r.newARN))
		}
		return v, nil
	}
	v.kind, v.reason = verdictSucceeded, w.successReason(tg)
	return v, nil
}

// takenOver: our deployment ended without a rollback and someone else's
// deployment of the group is in progress: ours was taken over, and theirs
// is left alone (we never undo someone else's deploy).
func (w *cdWatch) takenOver(ctx context.Context, info cdtypes.DeploymentInfo) (verdict, bool, error) {
	st := w.st
	other, err := st.busy(ctx)
	if err != nil || other == "" || other == w.id || other == st.forward {
		return verdict{}, false, err
	}
	theirs, err := st.get(ctx, other)
	if err != nil {
		return verdict{}, false, err
	}
	rev := "a revision"
	if theirs.Revision != nil && theirs.Revision.AppSpecContent != nil {
		if spec, err := appspec.Parse([]byte(aws.ToString(theirs.Revision.AppSpecContent.Content))); err == nil && spec.TaskDefinition() != "" {
			rev = taskdef.ShortRevision(spec.TaskDefinition())
		}
	}
	return verdict{kind: verdictTakenOver, reason: fmt.Sprintf("CodeDeploy deployment %s was %s, and someone else's deployment %s of %s is in progress in deployment group %s; leaving theirs alone",
		w.id, strings.ToLower(string(info.Status)), other, rev, st.group)}, true, nil
}

// bakeTasks judges our task set's tasks during the bake: a stopped task
// of ours that failed (signalled by the counts or the service's events,
// or listed every periodicStoppedCheck polls) fails the bake.
func (w *cdWatch) bakeTasks(ctx context.Context, snap snapshot, c Counts, v verdict) (verdict, error) {
	j := w.tasks
	if j.id == "" {
		return v, nil
	}
	j.polls++
	signal := j.stopSignal(c, snap)
	j.observe(c)
	if !signal && !j.recheck && w.polls%periodicStoppedCheck != 0 {
		return v, nil
	}
	before := len(j.failedTasks)
	fv, failed, err := j.stoppedVerdict(ctx, c)
	if err != nil || !failed {
		return v, err
	}
	if len(j.failedTasks) > before {
		t := j.failedTasks[len(j.failedTasks)-1]
		fv.reason = fmt.Sprintf("task %s of %s stopped %s after production traffic moved to it: %s (failed-tasks-threshold %d)",
			taskID(aws.ToString(t.TaskArn)), taskdef.ShortRevision(w.st.r.newARN), max(aws.ToTime(t.StoppedAt).Sub(w.bakeFrom), 0).Round(time.Second), stopSummary(t), j.threshold)
	}
	fv.line, fv.standalone = v.line, true
	return fv, nil
}

// counts are the replacement task set's counts (Counts.RolloutState is
// the deployment's status), and its ID.
func (w *cdWatch) counts(tg *cdtypes.ECSTarget, info *cdtypes.DeploymentInfo) (Counts, string) {
	c := Counts{}
	if info != nil {
		c.RolloutState = string(info.Status)
	} else if tg != nil {
		c.RolloutState = string(tg.Status)
	}
	if tg == nil {
		return c, ""
	}
	for _, ts := range tg.TaskSetsInfo {
		if ts.TaskSetLabel == cdtypes.TargetLabelGreen {
			c.Desired, c.Running, c.Pending = int32(ts.DesiredCount), int32(ts.RunningCount), int32(ts.PendingCount)
			return c, aws.ToString(ts.Identifer)
		}
	}
	return c, ""
}

// markEvents puts every lifecycle event that ended on the timeline, and
// logs one line when one fails.
func (w *cdWatch) markEvents(tg *cdtypes.ECSTarget) {
	if tg == nil {
		return
	}
	for _, e := range tg.LifecycleEvents {
		name := aws.ToString(e.LifecycleEventName)
		if w.seen[name] == e.Status {
			continue
		}
		w.seen[name] = e.Status
		switch e.Status {
		case cdtypes.LifecycleEventStatusSucceeded:
			w.st.r.mark(name)
		case cdtypes.LifecycleEventStatusFailed:
			w.st.r.mark(name + " failed")
		}
	}
}

// line is the progress line people read: "d-ABC123: AllowTraffic,
// production 40 % → web:42, 3/3 running".
func (w *cdWatch) line(id string, tg *cdtypes.ECSTarget, c Counts) string {
	if tg == nil {
		return fmt.Sprintf("%s: %s", id, cmp.Or(c.RolloutState, "Created"))
	}
	at := currentEvent(tg)
	s := fmt.Sprintf("%s: %s, production %s %% → %s, %d/%d running", id, cmp.Or(at, string(tg.Status)),
		weightText(greenWeight(tg)), taskdef.ShortRevision(w.st.r.newARN), c.Running, c.Desired)
	if c.Pending > 0 {
		s += fmt.Sprintf(", %d pending", c.Pending)
	}
	if tg.Status != cdtypes.TargetStatusInProgress {
		s += ", " + string(tg.Status)
	}
	return s
}

func weightText(w float64) string {
	if w < 0 {
		w = 0
	}
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", w), "0"), ".")
}

// currentEvent is the lifecycle event in progress, else the last one
// that ended.
func currentEvent(tg *cdtypes.ECSTarget) string {
	last := ""
	for _, e := range tg.LifecycleEvents {
		switch e.Status {
		case cdtypes.LifecycleEventStatusInProgress, cdtypes.LifecycleEventStatusFailed:
			return aws.ToString(e.LifecycleEventName)
		case cdtypes.LifecycleEventStatusSucceeded:
			last = aws.ToString(e.LifecycleEventName)
		}
	}
	return last
}

func eventStatus(tg *cdtypes.ECSTarget, name string) cdtypes.LifecycleEventStatus {
	for _, e := range tg.LifecycleEvents {
		if aws.ToString(e.LifecycleEventName) == name {
			return e.Status
		}
	}
	return ""
}

// greenWeight is the production traffic weight on the replacement task
// set.
func greenWeight(tg *cdtypes.ECSTarget) float64 {
	for _, ts := range tg.TaskSetsInfo {
		if ts.TaskSetLabel == cdtypes.TargetLabelGreen {
			return ts.TrafficWeight
		}
	}
	return 0
}

// successReason says our revision serves all production traffic, when
// the original task set goes away and how to roll back until then.
func (w *cdWatch) successReason(tg *cdtypes.ECSTarget) string {
	r := w.st.r
	s := fmt.Sprintf("CodeDeploy deployment %s: %s serves 100 %% of production traffic", w.id, taskdef.ShortRevision(r.newARN))
	if wait := w.st.terminationWait(); wait > 0 {
		end := r.d.now().Add(wait).UTC().Format(time.RFC3339)
		s += fmt.Sprintf("; the original task set (%s) is terminated at about %s, and until then %s rolls back", taskdef.ShortRevision(r.target), end, codeDeployStopCommand(w.id))
	}
	return s
}

// readyNotice is the reason of a run that returns at Ready.
func (w *cdWatch) readyNotice() string {
	r := w.st.r
	s := fmt.Sprintf("CodeDeploy deployment %s of %s waits in Ready: test traffic reaches it, production traffic does not", w.id, taskdef.ShortRevision(r.newARN))
	if bg := w.st.info; bg != nil && bg.BlueGreenDeploymentConfiguration != nil && bg.BlueGreenDeploymentConfiguration.DeploymentReadyOption != nil {
		if m := bg.BlueGreenDeploymentConfiguration.DeploymentReadyOption.WaitTimeInMinutes; m > 0 {
			s += fmt.Sprintf("; CodeDeploy stops it after %d minutes", m)
		}
	}
	return s + fmt.Sprintf(". Next: run ecs-rollout with service: %s and resume: continue (or resume: rollback)", r.cfg.Service)
}

// failureReason names CodeDeploy's failure: the lifecycle event that
// failed, with the hook's diagnostics, and CodeDeploy's error.
func (w *cdWatch) failureReason(ctx context.Context, info cdtypes.DeploymentInfo) string {
	tg := w.last
	if t, err := w.target(ctx, w.id); err == nil && t != nil {
		tg = t
	}
	s := fmt.Sprintf("CodeDeploy deployment %s %s", w.id, strings.ToLower(string(info.Status)))
	if tg != nil {
		for _, e := range tg.LifecycleEvents {
			if e.Status != cdtypes.LifecycleEventStatusFailed {
				continue
			}
			s += " at " + aws.ToString(e.LifecycleEventName)
			if d := e.Diagnostics; d != nil {
				var parts []string
				if n := aws.ToString(d.ScriptName); n != "" {
					parts = append(parts, "hook "+n)
				}
				if m := strings.TrimSpace(aws.ToString(d.Message)); m != "" {
					parts = append(parts, strings.TrimSuffix(m, "."))
				}
				if len(parts) > 0 {
					s += " (" + strings.Join(parts, ": ") + ")"
				}
			}
			break
		}
	}
	if e := info.ErrorInformation; e != nil {
		s += fmt.Sprintf(": %s", strings.TrimSuffix(strings.TrimSpace(cmp.Or(aws.ToString(e.Message), string(e.Code))), "."))
		if e.Code != "" {
			s += fmt.Sprintf(" (%s)", e.Code)
		}
	}
	return s
}

// judgeRollback follows the rollback deployment of ours: CodeDeploy
// names it in our deployment's rollbackInfo.
func (w *cdWatch) judgeRollback(ctx context.Context, snap snapshot) (verdict, error) {
	r := w.st.r
	if w.rbID == "" {
		info, err := w.st.get(ctx, w.id)
		if err != nil {
			return verdict{}, err
		}
		if info.RollbackInfo != nil && aws.ToString(info.RollbackInfo.RollbackDeploymentId) != "" {
			w.rbID = aws.ToString(info.RollbackInfo.RollbackDeploymentId)
			r.res.RollbackDeploymentID = w.rbID
			r.d.emit(EventInfo, "Rollback deployment %s (CodeDeploy)", w.rbID)
		} else if !slices.Contains(activeStatuses, info.Status) {
			// Stopped before any task set moved: nothing to roll back
			// when production still runs the original revision.
			if primary := primaryTaskSet(snap); primary == r.target {
				return verdict{kind: verdictSucceeded, reason: fmt.Sprintf("deployment %s stopped before production traffic moved", w.id)}, nil
			}
			if w.polls > maxStaleReads {
				return verdict{kind: verdictFailed, reason: fmt.Sprintf("CodeDeploy deployment %s is %s and CodeDeploy started no rollback", w.id, info.Status)}, nil
			}
			return verdict{kind: verdictInProgress}, nil
		} else {
			return verdict{kind: verdictInProgress}, nil
		}
	}
	info, err := w.st.get(ctx, w.rbID)
	if err != nil {
		return verdict{}, err
	}
	if w.forward {
		w.st.fwdStatus = info.Status
	}
	if w.forward && info.Status == cdtypes.DeploymentStatusReady && !w.readyDone {
		// The group's Ready wait stops our rollback too: it goes on.
		if _, err := r.d.cd.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(w.rbID), DeploymentWaitType: cdtypes.DeploymentWaitTypeReadyWait}); err != nil {
			return verdict{}, fmt.Errorf("continue rollback deployment %s (READY_WAIT): %w", w.rbID, err)
		}
		w.readyDone = true
	}
	if w.forward && slices.Contains(activeStatuses, info.Status) {
		// A deployment of the previous revision: done once production
		// traffic is all on it, as ours would be.
		tg, err := w.target(ctx, w.rbID)
		if err != nil {
			return verdict{}, err
		}
		if tg != nil {
			c, _ := w.counts(tg, &info)
			line := fmt.Sprintf("rollback %s: %s, production %s %% → %s, %d/%d running", w.rbID, cmp.Or(currentEvent(tg), string(tg.Status)), weightText(greenWeight(tg)), taskdef.ShortRevision(r.target), c.Running, c.Desired)
			if eventStatus(tg, "AfterAllowTraffic") != cdtypes.LifecycleEventStatusSucceeded || greenWeight(tg) < 100 {
				return verdict{kind: verdictInProgress, counts: &c, line: line}, nil
			}
			// Production traffic is all on the previous revision; the
			// original task set of this deployment runs the failed one
			// through the group's termination wait, which our rollback
			// ends: nobody rolls back to the revision that failed.
			if info.InstanceTerminationWaitTimeStarted && !w.termDone {
				w.termDone = true
				if _, err := r.d.cd.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(w.rbID), DeploymentWaitType: cdtypes.DeploymentWaitTypeTerminationWait}); err != nil {
					r.d.emit(EventWarning, "could not end the termination wait of rollback deployment %s (the task set of %s keeps running until it ends): %v", w.rbID, taskdef.ShortRevision(r.newARN), err)
					w.termFailed = true
				} else {
					r.d.emit(EventInfo, "Rollback deployment %s serves all production traffic; ended its termination wait: the task set of %s goes now", w.rbID, taskdef.ShortRevision(r.newARN))
				}
			}
			if w.termFailed {
				return verdict{kind: verdictSucceeded, counts: &c, line: line, reason: fmt.Sprintf("deployment %s of %s serves all production traffic", w.rbID, taskdef.ShortRevision(r.target))}, nil
			}
			return verdict{kind: verdictInProgress, counts: &c, line: line}, nil
		}
	}
	c := Counts{RolloutState: string(info.Status)}
	v := verdict{kind: verdictInProgress, counts: &c, line: fmt.Sprintf("rollback %s: %s", w.rbID, info.Status)}
	switch info.Status {
	case cdtypes.DeploymentStatusSucceeded:
		// Settled once no task set of another revision is left (the
		// replacement drains after the traffic moved back).
		if other := otherTaskSet(snap.service, r.target); other != "" {
			v.line += fmt.Sprintf(", task set %s draining", other)
			return v, nil
		}
		v.kind, v.reason = verdictSucceeded, fmt.Sprintf("rollback %s succeeded", w.rbID)
	case cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusStopped:
		v.kind, v.reason = verdictFailed, fmt.Sprintf("rollback deployment %s %s", w.rbID, strings.ToLower(string(info.Status)))
		if e := info.ErrorInformation; e != nil {
			v.reason += ": " + strings.TrimSuffix(cmp.Or(aws.ToString(e.Message), string(e.Code)), ".")
		}
	}
	return v, nil
}

// otherTaskSet names a task set of the service that runs a revision
// other than target ("" when none).
func otherTaskSet(svc types.Service, target string) string {
	for _, ts := range svc.TaskSets {
		if aws.ToString(ts.TaskDefinition) != target {
			return aws.ToString(ts.Id)
		}
	}
	return ""
}

// primaryTaskSet is the task definition of the service's PRIMARY task set.
func primaryTaskSet(snap snapshot) string {
	for _, ts := range snap.service.TaskSets {
		if aws.ToString(ts.Status) == "PRIMARY" {
			return aws.ToString(ts.TaskDefinition)
		}
	}
	return ""
}
