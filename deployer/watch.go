package deployer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/sethvargo/go-retry"
)

type verdictKind int

const (
	verdictInProgress verdictKind = iota
	verdictSucceeded
	verdictFailed
	verdictTimedOut
	verdictTakenOver      // someone else's deployment replaced ours
	verdictCircuitBreaker // ECS's circuit breaker rolled ours back
	verdictCancelled
)

// verdict is the judgement on one deployment.
type verdict struct {
	kind    verdictKind
	reason  string // one sentence, no trailing period
	other   string // the deployment that replaced ours
	taskDef string // its task definition
}

func (v verdict) markName() string {
	if v.kind == verdictTimedOut {
		return "timed out"
	}
	return "deployment failed"
}

// maxStaleReads is how many reads may miss a just-created deployment
// before it counts as replaced.
const maxStaleReads = 3

// periodicStoppedCheck: while not all of a deployment's tasks run, its
// stopped tasks are listed every this many polls even without a signal
// (one ListTasks; DescribeTasks only for tasks not seen before).
const periodicStoppedCheck = 12

// errInProgress is what a poll returns to go-retry while the deployment
// has not reached a verdict.
var errInProgress = errors.New("deployment in progress")

// watcher judges one deployment (ours, or our rollback) by its ID.
type watcher struct {
	d         *Deployer
	cluster   string
	service   string
	id        string // the deployment watched
	taskDef   string // its task definition
	target    string // the rollback target, to recognise ECS's own rollback
	threshold int
	what      string // "deployment" or "rollback"

	onRunning func() // first task running
	onFailure func() // first failed task seen

	polls       int
	last        Counts
	seenRunning bool
	seenFailure bool
	cbFailed    int // polls that saw our deployment FAILED with ECS's rollback pending

	createdAt time.Time // the deployment's creation, by ECS's clock
	seenFull  bool      // all of the deployment's tasks were running once
	lastEvent time.Time // the newest service event seen
	started   int       // tasks ECS's events say it started for the deployment

	checkedStopped bool
	before         map[string]bool // deployment IDs that existed before our update
	stale          int             // reads that did not show the deployment yet
	recheck        bool            // the last stopped-task check failed
	stopErrs       int             // stopped-task checks that failed
	stopped        map[string]bool // stopped task ARN → counted as a failure
	failedTasks    []types.Task    // our stopped tasks that count as failures
	events         []types.ServiceEvent
}

func (r *run) newWatcher(id, taskDef, what string) *watcher {
	return &watcher{
		d:         r.d,
		cluster:   r.cfg.Cluster,
		service:   r.cfg.Service,
		id:        id,
		taskDef:   taskDef,
		target:    r.target,
		threshold: r.cfg.FailedTasksThreshold,
		what:      what,
		stopped:   map[string]bool{},
		before:    deploymentIDs(r.svc),
	}
}

// watchOurs watches our deployment until a verdict or the timeout.
func (r *run) watchOurs(ctx context.Context) verdict {
	w := r.newWatcher(r.res.DeploymentID, r.newARN, "deployment")
	w.onRunning = func() { r.mark("first task running") }
	w.onFailure = func() { r.mark("first failure") }
	r.watchedBy = w
	v := w.watch(ctx, r.cfg.Timeout, r.cfg.PollInterval)
	r.res.Last = w.last
	return v
}

// watchRollback watches the rollback deployment until it settles or the
// rollback timeout passes.
func (r *run) watchRollback(ctx context.Context) verdict {
	w := r.newWatcher(r.res.RollbackDeploymentID, r.target, "rollback")
	w.before[r.res.DeploymentID] = true // a stale read may still show ours as PRIMARY
	return w.watch(ctx, r.cfg.RollbackTimeout, r.cfg.PollInterval)
}

// watch polls until a verdict, the timeout, or ctx's cancellation.
func (w *watcher) watch(ctx context.Context, timeout, interval time.Duration) verdict {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var v verdict
	err := doPoll(wctx, w.d.poll(interval), func(ctx context.Context) (bool, error) {
		var err error
		v, err = w.poll(ctx)
		if err != nil {
			if ctx.Err() == nil && !isPermanent(err) {
				w.d.emit(EventInfo, "%s %s: status check failed, trying again at the next poll: %v", w.what, w.id, err)
			}
			return false, err
		}
		return v.kind != verdictInProgress, nil
	})
	switch {
	case err == nil:
		return v
	case ctx.Err() != nil:
		return verdict{kind: verdictCancelled, reason: "cancelled"}
	case wctx.Err() != nil:
		return verdict{kind: verdictTimedOut, reason: fmt.Sprintf("timed out after %s: %s", timeout, w.progressText())}
	default:
		return verdict{kind: verdictFailed, reason: fmt.Sprintf("could not watch the %s: %v", w.what, err)}
	}
}

func (w *watcher) progressText() string {
	if w.polls == 0 {
		return "no status was read"
	}
	s := fmt.Sprintf("%d of %d tasks running", w.last.Running, w.last.Desired)
	if w.last.Pending > 0 {
		s += fmt.Sprintf(", %d pending", w.last.Pending)
	}
	return s
}

// poll reads the service once and judges the watched deployment.
func (w *watcher) poll(ctx context.Context) (verdict, error) {
	svc, err := w.d.describeService(ctx, w.cluster, w.service)
	if err != nil {
		return verdict{}, err
	}
	w.polls++
	w.events = svc.Events

	var mine, primary *types.Deployment
	for i := range svc.Deployments {
		dep := &svc.Deployments[i]
		if w.id != "" && aws.ToString(dep.Id) == w.id {
			mine = dep
		}
		if aws.ToString(dep.Status) == "PRIMARY" {
			primary = dep
		}
	}
	if w.id == "" && primary != nil && aws.ToString(primary.TaskDefinition) == w.taskDef {
		// The endpoint did not tell us our deployment's ID: adopt the
		// PRIMARY running our revision.
		mine, w.id = primary, aws.ToString(primary.Id)
	}
	if mine == nil && primary != nil && w.before[aws.ToString(primary.Id)] && w.stale < maxStaleReads {
		// ECS's API is eventually consistent: a read right after our
		// update may not show our deployment yet. The PRIMARY is one that
		// existed before the update, so nobody has replaced ours.
		w.stale++
		return verdict{kind: verdictInProgress}, nil
	}
	if mine == nil || aws.ToString(mine.Status) != "PRIMARY" {
		return w.replaced(svc, mine, primary), nil
	}

	if w.createdAt.IsZero() && mine.CreatedAt != nil {
		w.createdAt = *mine.CreatedAt
	}
	c := Counts{
		Desired:      mine.DesiredCount,
		Running:      mine.RunningCount,
		Pending:      mine.PendingCount,
		Failed:       mine.FailedTasks,
		RolloutState: string(mine.RolloutState),
	}
	// A signal that tasks of ours may have stopped: only then is listing
	// stopped tasks worth a call.
	signal := w.polls > 1 && (c.Failed > w.last.Failed || c.Running < w.last.Running || c.Running+c.Pending < w.last.Running+w.last.Pending)
	// Once our deployment has had all its tasks running, ECS starts more
	// only to replace tasks that stopped: a crash and its replacement can
	// both fall between two polls and leave the counts unchanged, but not
	// the service's events, which come with every poll for free.
	// Before that, more tasks started than the deployment wants means
	// replacements too: tasks that start, run for less than a poll
	// interval and crash leave the counts unchanged from poll to poll.
	replaced := w.startedSince(svc.Events)
	signal = signal || (replaced && (w.seenFull || w.started > int(c.Desired)))
	if c.Desired > 0 && c.Running >= c.Desired {
		w.seenFull = true
	}
	w.last = c
	w.d.report(Event{Time: w.d.now(), Kind: EventProgress, Counts: &c,
		Message: fmt.Sprintf("%s %s: %d/%d running, %d pending, %d failed, %s", w.what, w.id, c.Running, c.Desired, c.Pending, c.Failed, orDash(c.RolloutState))})
	if c.Running > 0 && !w.seenRunning {
		w.seenRunning = true
		if w.onRunning != nil {
			w.onRunning()
		}
	}
	if c.Failed > 0 {
		w.failureSeen()
	}

	if mine.RolloutState == types.DeploymentRolloutStateFailed {
		if circuitBreakerRollsBack(svc) && w.what == "deployment" && w.cbFailed < 3 {
			// ECS is about to start its own rollback: give it a few polls
			// rather than racing it with ours.
			w.cbFailed++
			return verdict{kind: verdictInProgress}, nil
		}
		return verdict{kind: verdictFailed, reason: fmt.Sprintf("%s %s failed: %s", w.what, w.id, strings.TrimSuffix(orDefault(aws.ToString(mine.RolloutStateReason), "rollout state FAILED"), "."))}, nil
	}
	if int(c.Failed) >= w.threshold {
		return verdict{kind: verdictFailed, reason: fmt.Sprintf("%d %s of %s failed to start (failed-tasks-threshold %d)", c.Failed, plural(int(c.Failed), "task", "tasks"), w.id, w.threshold)}, nil
	}

	done := false
	switch {
	case mine.RolloutState == types.DeploymentRolloutStateCompleted:
		done = true
	case mine.RolloutState == "" && len(svc.Deployments) == 1 && c.Running == c.Desired && c.Pending == 0:
		// Endpoints that do not report rolloutState: ours is the only
		// deployment left and it runs what it should.
		done = true
	}
	// Tasks that crash after they run leave failedTasks at 0, and an
	// endpoint may write no events: while not all tasks run, look at the
	// stopped ones every few polls as well.
	periodic := !done && c.Running < c.Desired && w.polls%periodicStoppedCheck == 0
	if signal || w.recheck || done || periodic {
		n, err := w.checkStopped(ctx, w.reachedThreshold)
		switch {
		case err != nil && ctx.Err() != nil:
			return verdict{}, err
		case err != nil:
			// Listing stopped tasks is a second opinion, never the only
			// one: an endpoint that cannot answer it must not fail a
			// healthy rollout. Try again at the next polls, then rely on
			// the deployment's own counts.
			w.stopErrs++
			w.recheck = w.stopErrs < 3
			if w.stopErrs == 1 {
				w.d.emit(EventWarning, "could not check the stopped tasks of %s (judging by the deployment's counts): %v", w.id, err)
			}
		default:
			w.recheck = false
			if n >= w.threshold {
				return verdict{kind: verdictFailed, reason: fmt.Sprintf("%d %s of %s stopped: %s (failed-tasks-threshold %d)", n, plural(n, "task", "tasks"), w.id, stopSummary(w.failedTasks[0]), w.threshold)}, nil
			}
		}
	}
	if done {
		if c.Desired == 0 {
			return verdict{kind: verdictSucceeded, reason: fmt.Sprintf("%s %s completed with desired count 0: the service runs %s but no tasks", w.what, w.id, shortARN(w.taskDef))}, nil
		}
		return verdict{kind: verdictSucceeded, reason: fmt.Sprintf("%s %s completed: %d/%d tasks of %s running", w.what, w.id, c.Running, c.Desired, shortARN(w.taskDef))}, nil
	}
	return verdict{kind: verdictInProgress}, nil
}

// startedSince reports whether the service's events (newest first) say
// that tasks were started since the previous poll, remembers the newest
// event seen, and adds the tasks started since the deployment's creation
// ("has started 2 tasks: (task a) (task b).") to w.started.
func (w *watcher) startedSince(events []types.ServiceEvent) bool {
	started := false
	newest := w.lastEvent
	for _, e := range events {
		at := aws.ToTime(e.CreatedAt)
		if !at.After(w.lastEvent) {
			break
		}
		if at.After(newest) {
			newest = at
		}
		if msg := aws.ToString(e.Message); strings.Contains(msg, "has started") {
			started = true
			if !w.createdAt.IsZero() && !at.Before(w.createdAt) {
				w.started += strings.Count(msg, "(task ")
			}
		}
	}
	first := w.lastEvent.IsZero()
	w.lastEvent = newest
	return started && !first
}

func (w *watcher) failureSeen() {
	if !w.seenFailure {
		w.seenFailure = true
		if w.onFailure != nil {
			w.onFailure()
		}
	}
}

// replaced judges a watched deployment that is no longer the PRIMARY.
func (w *watcher) replaced(svc types.Service, mine, primary *types.Deployment) verdict {
	if primary == nil {
		return verdict{kind: verdictFailed, reason: fmt.Sprintf("the service has no PRIMARY deployment and %s %s is gone", w.what, w.id)}
	}
	pid, ptd := aws.ToString(primary.Id), aws.ToString(primary.TaskDefinition)
	failedReason := ""
	if mine != nil && mine.RolloutState == types.DeploymentRolloutStateFailed {
		failedReason = strings.TrimSuffix(aws.ToString(mine.RolloutStateReason), ".")
	}
	if w.what == "deployment" && ptd == w.target && (failedReason != "" || circuitBreakerRollsBack(svc)) {
		if failedReason == "" {
			failedReason = "ECS deployment circuit breaker: tasks failed to start"
		}
		return verdict{kind: verdictCircuitBreaker, other: pid, taskDef: ptd,
			reason: fmt.Sprintf("deployment %s failed: %s", w.id, failedReason)}
	}
	return verdict{kind: verdictTakenOver, other: pid, taskDef: ptd,
		reason: fmt.Sprintf("another deployment (%s of %s) took over from %s %s; not undoing someone else's deploy", pid, shortARN(ptd), w.what, w.id)}
}

// circuitBreakerRollsBack reports whether ECS rolls the service back by
// itself when a deployment fails.
func circuitBreakerRollsBack(svc types.Service) bool {
	c := svc.DeploymentConfiguration
	return c != nil && c.DeploymentCircuitBreaker != nil && c.DeploymentCircuitBreaker.Enable && c.DeploymentCircuitBreaker.Rollback
}

// checkStopped lists the stopped tasks the watched deployment started,
// page by page, describes the ones not seen before (at most 100 per
// call), and returns how many count as failures. It stops early once
// enough reports true, so a crash loop of thousands of tasks costs a page
// or two, not the whole list at every poll.
func (w *watcher) checkStopped(ctx context.Context, enough func() bool) (int, error) {
	w.checkedStopped = true
	var token *string
	for {
		out, err := w.d.ecs.ListTasks(ctx, &ecs.ListTasksInput{
			Cluster:       aws.String(w.cluster),
			StartedBy:     aws.String(w.id),
			DesiredStatus: types.DesiredStatusStopped,
			NextToken:     token,
		})
		if err != nil {
			return 0, fmt.Errorf("list stopped tasks of %s: %w", w.id, err)
		}
		var fresh []string
		for _, arn := range out.TaskArns {
			if _, ok := w.stopped[arn]; !ok {
				fresh = append(fresh, arn)
			}
		}
		for len(fresh) > 0 {
			n := min(len(fresh), 100)
			batch := fresh[:n]
			fresh = fresh[n:]
			out, err := w.d.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(w.cluster), Tasks: batch})
			if err != nil {
				return 0, fmt.Errorf("describe stopped tasks of %s: %w", w.id, err)
			}
			for _, t := range out.Tasks {
				failed := isFailure(t)
				if !failed && aws.ToString(t.LastStatus) != "STOPPED" {
					// Still stopping: its stop code may not be known yet.
					continue
				}
				w.stopped[aws.ToString(t.TaskArn)] = failed
				if failed {
					w.failedTasks = append(w.failedTasks, t)
					w.failureSeen()
				}
			}
		}
		token = out.NextToken
		if aws.ToString(token) == "" || enough() {
			return len(w.failedTasks), nil
		}
	}
}

// reachedThreshold is checkStopped's stop condition while watching.
func (w *watcher) reachedThreshold() bool { return len(w.failedTasks) >= w.threshold }

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
	return strings.TrimSuffix(orDefault(s, string(t.StopCode)), ".")
}

// doPoll calls f until it reports done, returns a permanent error, or
// ctx ends. Transient API errors (throttling, 5xx, dropped connections
// that outlasted the SDK's own retries) are logged by the caller's next
// poll and retried; permanent ones end the loop.
func doPoll(ctx context.Context, b backoffFactory, f func(context.Context) (bool, error)) error {
	return retry.Do(ctx, b(), func(ctx context.Context) error {
		done, err := f(ctx)
		if err != nil {
			if ctx.Err() != nil || isPermanent(err) {
				return err
			}
			return retry.RetryableError(err)
		}
		if !done {
			return retry.RetryableError(errInProgress)
		}
		return nil
	})
}

// isPermanent reports whether an API error will not go away by polling
// again.
func isPermanent(err error) bool {
	if errors.Is(err, errNotFound) {
		return true
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "AccessDeniedException", "ClusterNotFoundException", "ServiceNotFoundException",
		"ServiceNotActiveException", "InvalidParameterException", "UnrecognizedClientException",
		"InvalidSignatureException", "ExpiredTokenException":
		return true
	}
	return false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
