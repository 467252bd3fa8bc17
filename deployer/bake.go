package deployer

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// The bake: after our deployment succeeded, keep watching it for
// Config.BakeTime. A task of our revision that stops on a failure (the
// rollout's rules and failed-tasks-threshold) or a watched alarm going
// into ALARM fails it; conclude then rolls back as for a failed rollout,
// with a new deployment of the previous revision (ECS has retired the old
// tasks by then). A BLUE_GREEN, LINEAR or CANARY deployment is baked the
// same way once it is SUCCESSFUL, after ECS's own bake
// (bakeTimeInMinutes, while the old revision still runs). The bake shares the rollout's poll: one DescribeServices
// (and one DescribeAlarms when alarms are watched) per poll interval,
// stopped tasks listed only on a sign that some stopped.

// bakeDeployment bakes our ECS deployment (run.ours) after it
// succeeded: a rolling deployment that COMPLETED, or a BLUE_GREEN,
// LINEAR or CANARY one that is SUCCESSFUL (ECS has retired the old
// revision by then, so the staged strategy judges the service as a
// rolling one from here on). Any other verdict, or no bake time, passes
// through.
func (r *run) bakeDeployment(ctx context.Context, v verdict) verdict {
	if v.kind != verdictSucceeded || r.cfg.BakeTime <= 0 || r.ours == nil {
		return v
	}
	r.mark("deployment completed")
	completed := r.d.now()
	r.d.emit(EventPhase, "Bake %s for %s", taskdef.ShortRevision(r.newARN), r.cfg.BakeTime)
	watching := "its tasks"
	if r.alarms != nil {
		watching += fmt.Sprintf(" and %d %s", len(r.alarms.names), plural(len(r.alarms.names), "alarm", "alarms"))
	}
	r.d.emit(EventInfo, "Deployment %s completed; baking for %s (until %s), watching %s", r.res.DeploymentID, r.cfg.BakeTime, completed.Add(r.cfg.BakeTime).UTC().Format("15:04:05 UTC"), watching)
	r.mark("bake started")

	var j judge = &bakeJudge{j: r.ours, completed: orTime(r.ours.completedAt, completed)}
	if r.alarms != nil {
		ecsCompleted := orTime(r.ours.completedAt, completed)
		j = &alarmJudge{inner: j, alarms: r.alarms, since: func() time.Time { return ecsCompleted }, sinceWhat: "the rollout completed"}
	}
	w := r.watcher(j)
	w.afterRead = true // the rollout's last poll has just read the service (and the alarms)
	bv := w.watch(ctx, r.cfg.BakeTime, r.cfg.PollInterval)
	if bv.kind == verdictTimedOut {
		// The bake time is over: one last look, so that its end is
		// watched too (a task of ours that stopped since the last poll
		// fails it: rule 2), unless the last poll was less than a second
		// (at most half a poll interval) ago: not a second read at once.
		bv = verdict{kind: verdictSucceeded}
		if r.d.now().Sub(w.readAt) >= min(time.Second, r.cfg.PollInterval/2) {
			if fv, err := w.poll(ctx); err == nil && fv.kind != verdictInProgress && fv.kind != verdictSucceeded {
				bv = fv
			}
		}
	}
	if w.reported != nil {
		r.res.Last = w.last
	}
	switch bv.kind {
	case verdictSucceeded:
		r.mark("bake completed")
		noAlarm := ""
		if r.alarms != nil {
			noAlarm = ", no alarm"
		}
		r.d.emit(EventInfo, "Bake of %s ended after %s: no failed task%s", taskdef.ShortRevision(r.newARN), r.cfg.BakeTime, noAlarm)
		return verdict{kind: verdictSucceeded, counts: v.counts, reason: fmt.Sprintf("%s; baked for %s with no failure", v.reason, r.cfg.BakeTime)}
	case verdictCancelled:
		return bv
	default:
		r.mark("bake failed")
		bv.reason += earlyBakeNote(r.svc.DeploymentConfiguration, v) // earlysuccess.go
		r.d.emit(EventWarning, "Bake of %s failed after %s: %s", taskdef.ShortRevision(r.newARN), r.d.now().Sub(completed).Round(time.Second), bv.reason)
		return bv
	}
}

// bakeJudge judges our completed deployment during the bake: replaced by
// someone else's deployment, or tasks of ours that stopped on a failure.
// It continues the rollout's judge, so tasks already counted stay
// counted and the threshold is the rollout's.
type bakeJudge struct {
	j         *rollingJudge
	completed time.Time // when the rollout completed (ECS's clock when known, as tasks' stoppedAt)
	polls     int
}

var _ judge = (*bakeJudge)(nil)

func (b *bakeJudge) subject() string { return b.j.subject() }

func (b *bakeJudge) judge(ctx context.Context, s snapshot) (verdict, error) {
	b.polls++
	j := b.j
	j.polls++
	mine, v, found := j.find(s.service)
	if !found {
		return v, nil
	}
	c := Counts{Desired: mine.DesiredCount, Running: mine.RunningCount, Pending: mine.PendingCount, Failed: mine.FailedTasks, RolloutState: string(mine.RolloutState)}
	signal := j.stopSignal(c, s)
	j.observe(c)
	// Without a sign, the stopped tasks are still listed every few polls
	// (an endpoint may write no events): about one call a minute at 5 s.
	if signal || j.recheck || b.polls%periodicStoppedCheck == 0 {
		before := len(j.failedTasks)
		v, failed, err := j.stoppedVerdict(ctx, c)
		if err != nil || !failed {
			return v, err
		}
		if len(j.failedTasks) > before {
			t := j.failedTasks[len(j.failedTasks)-1]
			at := aws.ToTime(t.StoppedAt)
			if at.IsZero() {
				at = s.at
			}
			v.reason = fmt.Sprintf("task %s of %s stopped %s after the rollout completed: %s (failed-tasks-threshold %d)",
				taskID(aws.ToString(t.TaskArn)), taskdef.ShortRevision(j.taskDef), max(at.Sub(b.completed), 0).Round(time.Second), stopSummary(t), j.threshold)
		}
		v.standalone = true
		return v, nil
	}
	return verdict{kind: verdictInProgress, counts: &c}, nil
}

// guard keeps watching our deployment, which succeeded (and baked), until
// done is closed: the other services of the step are still on their way,
// and the step reports this one's success only when it ends (rule 2 at
// the step's level: a task of ours that stops meanwhile fails it, and the
// rollback scope takes the others along). It polls as the bake does, in
// the step's batched beat, until done closes. A step of one service, a verdict
// other than success, or a deployment without an ECS deployment of ours
// to judge (CodeDeploy's task sets) passes through; so does a cancel of
// the step, which watchAndConclude settles.
func (r *run) guard(ctx context.Context, v verdict, done <-chan struct{}) verdict {
	if v.kind != verdictSucceeded || r.ours == nil || done == nil {
		return v
	}
	select {
	case <-done:
		return v
	default:
	}
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-done:
			cancel()
		case <-gctx.Done():
		}
	}()
	w := r.watcher(&bakeJudge{j: r.ours, completed: orTime(r.ours.completedAt, r.d.now())})
	w.afterRead = true // the watch or the bake has just read the service
	gv := w.watch(gctx, r.cfg.Timeout+r.cfg.BakeTime, r.cfg.PollInterval)
	if ctx.Err() != nil {
		return v
	}
	if gv.kind == verdictCancelled || gv.kind == verdictTimedOut || gv.kind == verdictSucceeded || gv.kind == verdictInProgress {
		return v // done closed (or the guard's time ran out) with no failure seen
	}
	if w.reported != nil {
		r.res.Last = w.last
	}
	r.d.emit(EventWarning, "%s failed after it succeeded, while the step's other services were still watched: %s", taskdef.ShortRevision(r.newARN), gv.reason)
	return gv
}
