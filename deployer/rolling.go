package deployer

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// Judging a rolling deployment: by its ID in the service's Deployments
// (status, counts, rolloutState, failedTasks) and by the stopped tasks it
// started (ListTasks startedBy its ID).

// maxStaleReads is how many reads may miss a just-created deployment
// before it counts as replaced.
const maxStaleReads = 3

// periodicStoppedCheck: while not all of a deployment's tasks run, its
// stopped tasks are listed every this many polls even without a signal
// (one ListTasks; DescribeTasks only for tasks not seen before).
const periodicStoppedCheck = 12

// circuitBreakerGrace is how many polls a FAILED deployment of ours that
// is still the PRIMARY waits for ECS's circuit breaker to start its own
// rollback, rather than racing it with ours.
const circuitBreakerGrace = 3

// rollingJudge judges one rolling deployment (ours, or our rollback).
type rollingJudge struct {
	d         *Deployer
	cluster   string
	id        string // the deployment judged ("" until adopted, when the endpoint did not say)
	taskDef   string // its task definition
	target    string // the rollback target, to recognise ECS's own rollback
	threshold int
	what      watchKind

	onRunning func() // first task running
	onFailure func() // first failed task seen

	polls       int
	last        Counts
	seenRunning bool
	seenFailure bool
	sawFailed   bool // ECS reported the rollout FAILED
	cbFailed    int  // polls that saw it FAILED with ECS's rollback pending

	createdAt   time.Time // the deployment's creation, by ECS's clock
	completedAt time.Time // when it reached COMPLETED (its updatedAt then), by ECS's clock
	seenFull    bool      // all of the deployment's tasks were running once
	started     int       // tasks ECS's events say it started for the deployment

	before      map[string]bool // deployment IDs that existed before our update
	stale       int             // reads that did not show the deployment yet
	recheck     bool            // the last stopped-task check failed
	stopErrs    int             // stopped-task checks that failed
	stopped     map[string]bool // stopped task ARN → counted as a failure
	failedTasks []types.Task    // our stopped tasks that count as failures
	// waitingTasks: COMPLETED was read with tasks of ours missing (said
	// once).
	waitingTasks bool
}

var _ judge = (*rollingJudge)(nil)

func (j *rollingJudge) subject() string {
	return j.what.String() + " " + cmp.Or(j.id, "(unknown ID)")
}

// judge judges the deployment in one snapshot.
func (j *rollingJudge) judge(ctx context.Context, s snapshot) (verdict, error) {
	j.polls++
	j.noteFailedEvents(s)
	mine, v, found := j.find(s.service)
	if !found {
		return v, nil
	}
	if j.createdAt.IsZero() && mine.CreatedAt != nil {
		j.createdAt = *mine.CreatedAt
	}
	c := Counts{
		Desired:      mine.DesiredCount,
		Running:      mine.RunningCount,
		Pending:      mine.PendingCount,
		Failed:       mine.FailedTasks,
		RolloutState: string(mine.RolloutState),
	}
	signal := j.stopSignal(c, s)
	j.observe(c)

	if v, failed := j.failed(s.service, mine, c); failed {
		return v, nil
	}
	done := false
	switch {
	case mine.RolloutState == types.DeploymentRolloutStateCompleted:
		done = true
		if j.completedAt.IsZero() {
			j.completedAt = aws.ToTime(mine.UpdatedAt)
		}
	case mine.RolloutState == "" && len(s.service.Deployments) == 1 && c.Running == c.Desired && c.Pending == 0:
		// Endpoints that do not report rolloutState: ours is the only
		// deployment left and it runs what it should.
		done = true
	}
	// Tasks that crash after they run leave failedTasks at 0, and an
	// endpoint may write no events: while not all tasks run, look at the
	// stopped ones every few polls as well.
	periodic := !done && c.Running < c.Desired && j.polls%periodicStoppedCheck == 0
	if signal || j.recheck || done || periodic {
		if v, failed, err := j.stoppedVerdict(ctx, c); err != nil || failed {
			return v, err
		}
	}
	if !done {
		return verdict{kind: verdictInProgress, counts: &c}, nil
	}
	if v, early := earlyVerdict(j.subject(), j.taskDef, s.service, c); early { // earlysuccess.go
		return v, nil
	}
	// COMPLETED is ECS's word on the rollout, not on our tasks: success
	// (past the service's early success criteria, above) is our revision
	// at its desired count with none of its tasks
	// stopped since the last read (docs/safety.md, rule 2). A task that
	// crashed between two reads (its replacement still pending) keeps
	// the watch going, to the tasks back, a failure or the timeout.
	// (The stopped tasks were listed above, as for every COMPLETED read.)
	if c.Running < c.Desired {
		if !j.waitingTasks {
			j.waitingTasks = true
			j.d.emit(EventInfo, "%s is COMPLETED, but %d/%d tasks of %s run: watching until they do", j.subject(), c.Running, c.Desired, taskdef.ShortRevision(j.taskDef))
		}
		return verdict{kind: verdictInProgress, counts: &c}, nil
	}
	if c.Desired == 0 {
		return verdict{kind: verdictSucceeded, counts: &c, reason: fmt.Sprintf("%s completed with desired count 0: the service runs %s but no tasks", j.subject(), taskdef.ShortRevision(j.taskDef))}, nil
	}
	return verdict{kind: verdictSucceeded, counts: &c, reason: fmt.Sprintf("%s completed: %d/%d tasks of %s running", j.subject(), c.Running, c.Desired, taskdef.ShortRevision(j.taskDef))}, nil
}

// find returns the judged deployment in the service. When it is not
// there, or no longer the PRIMARY, found is false and v is the verdict.
func (j *rollingJudge) find(svc types.Service) (mine *types.Deployment, v verdict, found bool) {
	primary := primaryOf(svc)
	for i := range svc.Deployments {
		if dep := &svc.Deployments[i]; j.id != "" && aws.ToString(dep.Id) == j.id {
			mine = dep
		}
	}
	if j.id == "" && primary != nil && aws.ToString(primary.TaskDefinition) == j.taskDef {
		// The endpoint did not tell us our deployment's ID: adopt the
		// PRIMARY running our revision.
		mine, j.id = primary, aws.ToString(primary.Id)
	}
	if mine == nil && primary != nil && j.before[aws.ToString(primary.Id)] && j.stale < maxStaleReads {
		// ECS's API is eventually consistent: a read right after our
		// update may not show our deployment yet. The PRIMARY is one that
		// existed before the update, so nobody has replaced ours.
		j.stale++
		return nil, verdict{kind: verdictInProgress}, false
	}
	if mine == nil || aws.ToString(mine.Status) != "PRIMARY" {
		return nil, j.replaced(svc, mine, primary), false
	}
	return mine, verdict{}, true
}

// stopSignal reports whether this snapshot hints that tasks of ours
// stopped: only then is listing stopped tasks worth a call.
func (j *rollingJudge) stopSignal(c Counts, s snapshot) bool {
	last := j.last
	signal := j.polls > 1 && (c.Failed > last.Failed || c.Running < last.Running || c.Running+c.Pending < last.Running+last.Pending)
	// Once our deployment has had all its tasks running, ECS starts more
	// only to replace tasks that stopped: a crash and its replacement can
	// both fall between two polls and leave the counts unchanged, but not
	// the service's events, which come with every poll for free.
	// Before that, more tasks started than the deployment wants means
	// replacements too: tasks that start, run for less than a poll
	// interval and crash leave the counts unchanged from poll to poll.
	replaced := j.startedSince(s)
	return signal || (replaced && (j.seenFull || j.started > int(c.Desired)))
}

// observe records the counts and the milestones they reach.
func (j *rollingJudge) observe(c Counts) {
	if c.Desired > 0 && c.Running >= c.Desired {
		j.seenFull = true
	}
	j.last = c
	if c.Running > 0 && !j.seenRunning {
		j.seenRunning = true
		if j.onRunning != nil {
			j.onRunning()
		}
	}
	if c.Failed > 0 {
		j.failureSeen()
	}
}

// failed judges ECS's own word on the deployment: rolloutState FAILED,
// or failedTasks past our threshold.
func (j *rollingJudge) failed(svc types.Service, mine *types.Deployment, c Counts) (verdict, bool) {
	if mine.RolloutState == types.DeploymentRolloutStateFailed {
		j.sawFailed = true
		if ecsRollsBack(svc) && j.what == watchDeployment && j.cbFailed < circuitBreakerGrace {
			// ECS is about to start its own rollback: give it a few polls
			// rather than racing it with ours.
			j.cbFailed++
			return verdict{kind: verdictInProgress, counts: &c}, true
		}
		return verdict{kind: verdictFailed, counts: &c, reason: fmt.Sprintf("%s failed: %s", j.subject(), strings.TrimSuffix(cmp.Or(aws.ToString(mine.RolloutStateReason), "rollout state FAILED"), "."))}, true
	}
	if int(c.Failed) >= j.threshold && breakerDue(svc, c.Failed) && j.what == watchDeployment && j.cbFailed < circuitBreakerGrace {
		// ECS's breaker has counted enough failures to fail the
		// deployment by itself (breaker.go: its thresholdConfiguration,
		// e.g. COUNT 1) and will roll it back: give it the same few polls
		// rather than starting a second rollback.
		j.cbFailed++
		return verdict{kind: verdictInProgress, counts: &c}, true
	}
	if int(c.Failed) >= j.threshold {
		return verdict{kind: verdictFailed, counts: &c, reason: fmt.Sprintf("%d %s of %s failed to start (failed-tasks-threshold %d)", c.Failed, plural(int(c.Failed), "task", "tasks"), j.id, j.threshold)}, true
	}
	return verdict{}, false
}

// stoppedVerdict lists the deployment's stopped tasks and judges them.
// Listing stopped tasks is a second opinion, never the only one: an
// endpoint that cannot answer it must not fail a healthy rollout. After
// a failure it tries again at the next polls, then relies on the
// deployment's own counts.
func (j *rollingJudge) stoppedVerdict(ctx context.Context, c Counts) (v verdict, failed bool, err error) {
	n, err := j.checkStopped(ctx, j.reachedThreshold)
	switch {
	case err != nil && ctx.Err() != nil:
		return verdict{}, false, err
	case err != nil:
		j.stopErrs++
		j.recheck = j.stopErrs < 3
		if j.stopErrs == 1 {
			j.d.emit(EventWarning, "could not check the stopped tasks of %s (judging by the deployment's counts): %v", j.id, err)
		}
		return verdict{}, false, nil
	}
	j.recheck = false
	if n >= j.threshold {
		return verdict{kind: verdictFailed, counts: &c, reason: fmt.Sprintf("%d %s of %s stopped: %s (failed-tasks-threshold %d)", n, plural(n, "task", "tasks"), j.id, stopSummary(j.failedTasks[0]), j.threshold)}, true, nil
	}
	return verdict{}, false, nil
}

// startedSince reports whether the snapshot's new service events say
// that tasks were started since the previous read, and adds the tasks
// started since the deployment's creation ("has started 2 tasks: (task
// a) (task b).") to j.started.
func (j *rollingJudge) startedSince(s snapshot) bool {
	started := false
	for _, e := range s.newEvents {
		if msg := aws.ToString(e.Message); strings.Contains(msg, "has started") {
			started = true
			if at := aws.ToTime(e.CreatedAt); !j.createdAt.IsZero() && !at.Before(j.createdAt) {
				j.started += strings.Count(msg, "(task ")
			}
		}
	}
	return started && !s.first
}

// noteFailedEvents records ECS's word, in the service's events, that the
// deployment's rollout failed ("(deployment ecs-svc/1) deployment failed:
// tasks failed to start."): a circuit breaker or alarm rollback may
// replace a failed deployment between two reads.
func (j *rollingJudge) noteFailedEvents(s snapshot) {
	for _, e := range s.newEvents {
		if msg := aws.ToString(e.Message); j.id != "" && strings.Contains(msg, "(deployment "+j.id+")") && strings.Contains(msg, "deployment failed") {
			j.sawFailed = true
		}
	}
}

func (j *rollingJudge) failureSeen() {
	if !j.seenFailure {
		j.seenFailure = true
		if j.onFailure != nil {
			j.onFailure()
		}
	}
}

// replaced judges a watched deployment that is no longer the PRIMARY. It
// is ECS's circuit breaker rolling ours back only when our rollout failed
// (ECS said so: rolloutState FAILED now or at an earlier read, a
// "deployment failed" event of ours, or a PRIMARY that says it is the
// circuit breaker's rollback) and the PRIMARY runs the rollback target;
// anything else is someone else's deployment.
func (j *rollingJudge) replaced(svc types.Service, mine, primary *types.Deployment) verdict {
	if primary == nil {
		return verdict{kind: verdictFailed, reason: fmt.Sprintf("the service has no PRIMARY deployment and %s is gone", j.subject())}
	}
	pid, ptd := aws.ToString(primary.Id), aws.ToString(primary.TaskDefinition)
	failedReason := ""
	if mine != nil && mine.RolloutState == types.DeploymentRolloutStateFailed {
		j.sawFailed = true
		failedReason = strings.TrimSuffix(aws.ToString(mine.RolloutStateReason), ".")
	}
	if pr := aws.ToString(primary.RolloutStateReason); strings.Contains(pr, "circuit breaker") || strings.Contains(pr, "alarm") {
		j.sawFailed = true // ECS says the PRIMARY is its circuit breaker's (or alarms') rollback
	}
	if j.what == watchDeployment && ptd == j.target && j.sawFailed {
		return verdict{kind: verdictECSMonitorRollback, other: pid,
			reason: fmt.Sprintf("deployment %s failed: %s", j.id, cmp.Or(failedReason, "ECS deployment circuit breaker: tasks failed to start"))}
	}
	return verdict{kind: verdictTakenOver, other: pid,
		reason: fmt.Sprintf("another deployment (%s of %s) took over from %s; not undoing someone else's deploy", pid, taskdef.ShortRevision(ptd), j.subject())}
}

// checkStopped lists the stopped tasks the judged deployment started,
// page by page, describes the ones not seen before (at most 100 per
// call), and returns how many count as failures. It stops early once
// enough reports true, so a crash loop of thousands of tasks costs a page
// or two, not the whole list at every poll.
func (j *rollingJudge) checkStopped(ctx context.Context, enough func() bool) (int, error) {
	var token *string
	for {
		out, err := j.d.ecs.ListTasks(ctx, &ecs.ListTasksInput{
			Cluster:       aws.String(j.cluster),
			StartedBy:     aws.String(j.id),
			DesiredStatus: types.DesiredStatusStopped,
			NextToken:     token,
		})
		if err != nil {
			return 0, fmt.Errorf("list stopped tasks of %s: %w", j.id, err)
		}
		var fresh []string
		for _, arn := range out.TaskArns {
			if _, ok := j.stopped[arn]; !ok {
				fresh = append(fresh, arn)
			}
		}
		for len(fresh) > 0 {
			n := min(len(fresh), 100)
			batch := fresh[:n]
			fresh = fresh[n:]
			out, err := j.d.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(j.cluster), Tasks: batch})
			if err != nil {
				return 0, fmt.Errorf("describe stopped tasks of %s: %w", j.id, err)
			}
			for _, t := range out.Tasks {
				failed := isFailure(t)
				if !failed && aws.ToString(t.LastStatus) != "STOPPED" {
					// Still stopping: its stop code may not be known yet.
					continue
				}
				j.stopped[aws.ToString(t.TaskArn)] = failed
				if failed {
					j.failedTasks = append(j.failedTasks, t)
					j.failureSeen()
				}
			}
		}
		token = out.NextToken
		if aws.ToString(token) == "" || enough() {
			return len(j.failedTasks), nil
		}
	}
}

// reachedThreshold is checkStopped's stop condition while watching.
func (j *rollingJudge) reachedThreshold() bool { return len(j.failedTasks) >= j.threshold }

// isFailure reports whether a stopped task stopped because it failed, as
// opposed to being scaled in, replaced by a deployment or stopped by hand.
func isFailure(t types.Task) bool {
	reason := strings.ToLower(aws.ToString(t.StoppedReason))
	switch t.StopCode {
	case types.TaskStopCodeTaskFailedToStart, types.TaskStopCodeEssentialContainerExited:
		return true
	case types.TaskStopCodeUserInitiated, types.TaskStopCodeSpotInterruption, types.TaskStopCodeTerminationNotice:
		return false
	}
	return strings.Contains(reason, "health check") || strings.Contains(reason, "cannotpull") ||
		strings.Contains(reason, "outofmemory") || strings.Contains(reason, "essential container")
}

// stopSummary describes why one task stopped, in a few words.
func stopSummary(t types.Task) string {
	s := aws.ToString(t.StoppedReason)
	for _, c := range t.Containers {
		if c.ExitCode != nil && *c.ExitCode != 0 {
			s += fmt.Sprintf(" (container %q exit code %d", aws.ToString(c.Name), *c.ExitCode)
			if rs := aws.ToString(c.Reason); rs != "" {
				s += ": " + rs
			}
			s += ")"
			break
		}
	}
	return strings.TrimSuffix(cmp.Or(s, string(t.StopCode)), ".")
}

// rollingStrategy is the ECS deployment controller's ROLLING strategy:
// UpdateService starts our deployment, the service's Deployments[] and
// the tasks our deployment started judge it, and the rollback is another
// UpdateService, to the previous revision with the service's original
// deployment configuration.
type rollingStrategy struct {
	r *run // nil in the post step
}

var _ strategy = (*rollingStrategy)(nil)

func (s *rollingStrategy) name() string { return string(types.DeploymentStrategyRolling) }

func (s *rollingStrategy) planWatch() string {
	return fmt.Sprintf("watch deployment for up to %s; on failure roll back to %s", s.r.cfg.Timeout, taskdef.ShortRevision(s.r.target))
}

// preflight: the rolling watch reads only what the preflight has read
// already (the service) and the tasks.
func (s *rollingStrategy) preflight(context.Context) error { return nil }

func (s *rollingStrategy) start(ctx context.Context) (bool, error) { return s.r.updateService(ctx) }

func (s *rollingStrategy) watch(ctx context.Context) verdict {
	r := s.r
	j := r.rollingJudge(r.res.DeploymentID, r.newARN, watchDeployment)
	j.onRunning = func() { r.mark("first task running") }
	j.onFailure = func() { r.mark("first failure") }
	r.ours = j
	return r.watchOurs(ctx, "Watch deployment "+r.res.DeploymentID, j, r.cfg.Timeout,
		func() time.Time { return orTime(j.createdAt, r.updatedAt) }, nil)
}

// confirmFailed: when the service's circuit breaker rolls back by itself
// and ECS has already started its rollback, ours would be a second one.
func (s *rollingStrategy) confirmFailed(ctx context.Context, v verdict) verdict {
	r := s.r
	if !ecsRollsBack(r.svc) || ctx.Err() != nil {
		return v
	}
	svc, err := r.d.describeService(ctx, r.cfg.Cluster, r.cfg.Service)
	if err != nil || !ecsRollsBack(svc) {
		return v
	}
	ours := false // ECS rolls back only a deployment whose rollout FAILED
	for _, dep := range svc.Deployments {
		if aws.ToString(dep.Id) == r.res.DeploymentID && dep.RolloutState == types.DeploymentRolloutStateFailed {
			ours = true
		}
	}
	p := primaryOf(svc)
	if ours && p != nil && aws.ToString(p.Id) != r.res.DeploymentID && aws.ToString(p.TaskDefinition) == r.target {
		return verdict{kind: verdictECSMonitorRollback, other: aws.ToString(p.Id), reason: v.reason}
	}
	return v
}

func (s *rollingStrategy) bake(ctx context.Context, v verdict) verdict {
	return s.r.bakeDeployment(ctx, v)
}

// rollback points the service back at the exact previous revision with
// its original deployment configuration (and desired count, when we
// changed it).
func (s *rollingStrategy) rollback(ctx context.Context) error {
	r := s.r
	if _, err := r.redeployPrevious(ctx); err != nil {
		return err
	}
	r.d.emit(EventInfo, "Rollback issued: deployment %s of %s", orDash(r.res.RollbackDeploymentID), taskdef.ShortRevision(r.target))
	return nil
}

func (s *rollingStrategy) rollbackSubject() string { return s.r.res.RollbackDeploymentID }

func (s *rollingStrategy) watchRollback(ctx context.Context) verdict {
	r := s.r
	j := r.rollingJudge(r.res.RollbackDeploymentID, r.target, watchRollback)
	j.before[r.res.DeploymentID] = true // a stale read may still show ours as PRIMARY
	return r.watcher(j).watch(ctx, r.cfg.RollbackTimeout, r.cfg.PollInterval)
}

func (s *rollingStrategy) manualRollback() string {
	return manualRollbackCommand(s.r.cfg.Cluster, s.r.cfg.Service, s.r.target)
}

// findPaused: a rolling deployment never waits.
func (s *rollingStrategy) findPaused(context.Context) (string, error) {
	return "", fieldError("Resume", "service %s uses the %s strategy without lifecycle hooks, so no deployment of it waits at a PAUSE hook; nothing changed", s.r.cfg.Service, strategyOf(s.r.svc))
}

func (s *rollingStrategy) resume(context.Context) bool {
	_, err := s.findPaused(context.Background())
	_ = s.r.preflightFailed(err)
	return false
}

func (s *rollingStrategy) saveTo(*Checkpoint) {}

// recover finishes what the checkpoint says is owed (docs/safety.md,
// rule 3) from a fresh read of the service: a rollback owed is issued
// whatever our deployment's state (COMPLETED included), a rollback
// accepted is checked (settled, in progress, or failed and issued again),
// and a deployment left unfinished is rolled back (cp.Rollback).
func (s *rollingStrategy) recover(ctx context.Context, d *Deployer, cp Checkpoint, res Result) (Result, error) {
	manual := manualRollbackCommand(cp.Cluster, cp.Service, cp.RollbackTarget)
	svc, err := d.describeService(ctx, cp.Cluster, cp.Service)
	if err != nil {
		res.Status = StatusRollbackFailed
		res.Reason = fmt.Sprintf("post: could not check service %s: %v", cp.Service, err)
		res.ManualRollback = manual
		return res, fmt.Errorf("post: describe service %s: %w", cp.Service, err)
	}
	primary := primaryOf(svc)
	ours := primary != nil && (aws.ToString(primary.Id) == cp.DeploymentID || aws.ToString(primary.TaskDefinition) == cp.TaskDefinition)
	back := primary != nil && !ours && aws.ToString(primary.TaskDefinition) == cp.RollbackTarget
	owed := cp.Phase == PhaseRollbackOwed || cp.Phase == PhaseRollingBack
	switch {
	case owed && back:
		// The rollback is in effect (ours, accepted or applied before
		// its answer was lost, or ECS's own).
		id := aws.ToString(primary.Id)
		if primary.RolloutState == types.DeploymentRolloutStateCompleted {
			res.Reason = fmt.Sprintf("the rollback to %s (deployment %s) has completed; nothing to do", taskdef.ShortRevision(cp.RollbackTarget), id)
			return res, nil
		}
		if primary.RolloutState != types.DeploymentRolloutStateFailed {
			return rollbackInProgress(res, cp, id), nil
		}
		// The rollback itself failed: issued again below.
	case !ours:
		res.Reason = fmt.Sprintf("the service no longer runs our revision %s; nothing to do", taskdef.ShortRevision(cp.TaskDefinition))
		return res, nil
	case !owed && primary.RolloutState == types.DeploymentRolloutStateCompleted:
		res.Reason = fmt.Sprintf("deployment %s of %s completed after the main step ended; leaving it", aws.ToString(primary.Id), taskdef.ShortRevision(cp.TaskDefinition))
		return res, nil
	}
	what := fmt.Sprintf("the main step ended while deployment %s of %s was %s", aws.ToString(primary.Id), taskdef.ShortRevision(cp.TaskDefinition), cmp.Or(string(primary.RolloutState), "unfinished"))
	if owed {
		what = fmt.Sprintf("the main step owed the rollback of deployment %s of %s (%s)", cp.DeploymentID, taskdef.ShortRevision(cp.TaskDefinition), cmp.Or(string(primary.RolloutState), "unfinished"))
	}
	if !cp.Rollback && !owed {
		res.Status = StatusFailed
		res.Reason = what + "; leaving it (on-cancel: leave)"
		res.ManualRollback = manual
		return res, nil
	}
	return recoverRedeploy(ctx, d, cp, res, svc, what)
}
