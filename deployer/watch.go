package deployer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/sethvargo/go-retry"
)

// The watch: one loop that reads the service (the read step, a
// snapshot) and hands it to the judge of the deployment being watched
// (the judge step, a verdict). What every strategy shares lives here:
// the loop and its timeout, the verdict types, and the signals that do
// not depend on how a deployment rolls out (the service deleted, access
// lost, the service's events, progress worth a log line, why ECS could
// not start tasks). How a deployment is judged lives with its strategy
// (strategy.go): rolling.go for rolling updates, staged*.go for
// BLUE_GREEN, LINEAR and CANARY.

type verdictKind int

const (
	verdictInProgress verdictKind = iota
	verdictSucceeded
	verdictFailed
	verdictTimedOut
	verdictTakenOver          // someone else's deployment replaced ours
	verdictECSMonitorRollback // ECS's circuit breaker or deployment alarms rolled our rolling deployment back (a new deployment: other)
	verdictCancelled
	verdictAccessLost  // our credentials stopped working: the deployment's state is unknown
	verdictServiceGone // the service was deleted under us
	verdictAlarm       // a watched CloudWatch alarm went into ALARM
	verdictPeerFailed  // another service of the step failed (rollback scope all)
	verdictPaused      // our deployment waits at a pause (a PAUSE hook, a Ready wait): verdict.pause
	verdictECSRollback // ECS rolls our staged deployment back by itself (hook, alarm, breaker)
	verdictStopped     // ECS stopped our staged deployment on a failure, without a rollback
)

// verdict is the judgement on one deployment after one snapshot.
type verdict struct {
	kind   verdictKind
	reason string  // one sentence, no trailing period
	other  string  // the deployment that replaced ours
	counts *Counts // the judged deployment's counts in this snapshot, when known
	// standalone: the reason says it all (an alarm, a failure during the
	// bake); the diagnosis's headline does not replace it.
	standalone bool
	// line is the progress line for people when the judge writes its own
	// ("": the subject and the counts).
	line string
	// by names who rolls back by itself with verdictECSRollback ("" is
	// ECS; "CodeDeploy").
	by string
	// pause is where a verdictPaused deployment waits.
	pause *pause
	// owed: a rollback watch ended with the rollback failed and not
	// re-issued, so the rollback is owed again (checkpoint
	// PhaseRollbackOwed).
	owed bool
}

func (v verdict) markName() string {
	if v.kind == verdictTimedOut {
		return "timed out"
	}
	return "deployment failed"
}

// snapshot is one read of one service: what every judge of it sees.
// The read step builds it; a shared poll of several services (one
// DescribeServices names up to maxServicesPerDescribe) builds one per
// service.
type snapshot struct {
	at      time.Time     // our clock, when the read returned
	service types.Service // the service as DescribeServices returned it
	// newEvents are the service's events no earlier read returned,
	// oldest first (de-duplicated by event ID).
	newEvents []types.ServiceEvent
	// first is set on the watch's first read: newEvents is then the
	// backlog since the run began, not what happened since the last read.
	first bool
}

// judge decides on one deployment from one snapshot. rollingJudge
// (rolling.go) judges a rolling deployment; a strategy that needs more
// than the service (a staged deployment's DescribeServiceDeployments)
// reads it inside judge with ctx. An error is such a read failing: the
// loop treats it as it treats a failed DescribeServices (tried again at
// the next poll when transient, access lost, service gone).
type judge interface {
	judge(ctx context.Context, s snapshot) (verdict, error)
	// subject names what is judged, for the log: "deployment ecs-svc/1".
	subject() string
}

// watchKind says what a watch is watching.
type watchKind int

const (
	watchDeployment watchKind = iota // our deployment
	watchRollback                    // the rollback (ours or ECS's)
)

func (k watchKind) String() string {
	if k == watchRollback {
		return "rollback"
	}
	return "deployment"
}

// heartbeat is the longest time without a progress event while the
// counts stay the same: the log gets one line when something changes,
// and a sign of life once a minute otherwise.
const heartbeat = time.Minute

// errInProgress is what a poll returns to go-retry while the deployment
// has not reached a verdict.
var errInProgress = errors.New("deployment in progress")

// watcher is the poll loop of one watch: it reads the service, keeps the
// signals every strategy shares, and asks its judge for a verdict.
type watcher struct {
	d       *Deployer
	cluster string
	service string
	judge   judge
	events  *eventLog // shared by the watches of one run
	// timeout is the whole watch's timeout, as its reason names it
	// (watchThrough resumes a watch with what is left of it).
	timeout time.Duration
	// afterRead: the watch takes over from one that has just read the
	// service (the bake after the rollout), so its first poll waits one
	// interval instead of reading it again at once.
	afterRead bool

	polls       int
	lastService types.Service // the latest read of the service
	readAt      time.Time     // when it was read
	line        string        // the progress line last reported
	last        Counts        // the latest counts the judge reported
	reported    *Counts       // the counts of the last progress event
	beat        time.Time     // when the last progress event was emitted
}

// watch polls until a verdict, the timeout, or ctx's cancellation.
func (w *watcher) watch(ctx context.Context, timeout, interval time.Duration) verdict {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if w.d.batch != nil {
		defer w.d.batch.release(w.cluster, w.service)
	}
	if w.afterRead {
		wait, _ := w.d.poll(interval)().Next()
		select {
		case <-wctx.Done(): // doPoll below says why
		case <-time.After(wait):
		}
	}
	var v verdict
	err := doPoll(wctx, w.d.poll(interval), func(ctx context.Context) (bool, error) {
		var err error
		v, err = w.poll(ctx)
		switch {
		case err == nil:
			return v.kind != verdictInProgress, nil
		case ctx.Err() != nil:
			return false, err
		case errors.Is(err, errNotFound) || apiErrorCode(err) == "ServiceNotFoundException" || apiErrorCode(err) == "ServiceNotActiveException":
			v = verdict{kind: verdictServiceGone, reason: fmt.Sprintf("service %s was deleted while watching %s: %v", w.service, w.judge.subject(), err)}
			return true, nil
		case accessLost(err):
			v = verdict{kind: verdictAccessLost, reason: fmt.Sprintf("lost access to AWS while watching %s (%v), so its state is unknown", w.judge.subject(), err)}
			return true, nil
		case !isPermanent(err):
			w.d.emit(EventInfo, "%s: status check failed, trying again at the next poll: %v", w.judge.subject(), err)
		}
		return false, err
	})
	switch {
	case err == nil:
		return v
	case ctx.Err() != nil:
		return verdict{kind: verdictCancelled, reason: "cancelled"}
	case wctx.Err() != nil:
		total := cmp.Or(w.timeout, timeout)
		reason := fmt.Sprintf("timed out after %s: %s", total, w.progressText())
		if cause := w.events.startTrouble(); cause != "" {
			reason = fmt.Sprintf("timed out after %s: ECS could not start the tasks: %s (%s)", total, cause, w.progressText())
		}
		return verdict{kind: verdictTimedOut, reason: reason}
	default:
		return verdict{kind: verdictFailed, reason: fmt.Sprintf("could not watch %s: %v", w.judge.subject(), err)}
	}
}

// poll is one read step and one judge step.
func (w *watcher) poll(ctx context.Context) (verdict, error) {
	s, err := w.read(ctx)
	if err != nil {
		return verdict{}, err
	}
	if why := serviceGone(s.service); why != "" {
		return verdict{kind: verdictServiceGone, reason: fmt.Sprintf("service %s was deleted while watching %s: %s", w.service, w.judge.subject(), why)}, nil
	}
	v, err := w.judge.judge(ctx, s)
	if err != nil {
		return verdict{}, err
	}
	if v.counts != nil {
		w.progress(*v.counts, v.line)
	}
	return v, nil
}

// read is the read step: the service and its new events.
func (w *watcher) read(ctx context.Context) (snapshot, error) {
	svc, err := w.d.readService(ctx, w.cluster, w.service)
	if err != nil {
		return snapshot{}, err
	}
	w.polls++
	w.lastService, w.readAt = svc, w.d.now()
	s := snapshot{at: w.d.now(), service: svc, first: w.polls == 1}
	s.newEvents = w.events.add(svc.Events)
	for _, e := range s.newEvents {
		ev := serviceEvent(e)
		w.d.report(Event{Time: s.at, Kind: EventServiceEvent, Message: ev.Message, ServiceEvent: &ev})
	}
	return s, nil
}

// progress reports the judged deployment's counts when they changed, and
// otherwise at most once per heartbeat.
func (w *watcher) progress(c Counts, line string) {
	w.last = c
	now := w.d.now()
	same := w.reported != nil && *w.reported == c
	if line != "" {
		same = line == w.line // the judge's own line says everything people see
	}
	if same && now.Sub(w.beat) < heartbeat {
		return
	}
	w.reported, w.beat, w.line = &c, now, line
	w.d.report(Event{Time: now, Kind: EventProgress, Counts: &c, Message: cmp.Or(line, w.judge.subject()+": "+c.String())})
}

func (w *watcher) progressText() string {
	if w.reported == nil {
		return "no status was read"
	}
	s := fmt.Sprintf("%d of %d tasks running", w.last.Running, w.last.Desired)
	if w.last.Pending > 0 {
		s += fmt.Sprintf(", %d pending", w.last.Pending)
	}
	return s
}

// eventLog is the service's events as one run saw them, de-duplicated by
// event ID (events that share a timestamp are distinct events).
type eventLog struct {
	since time.Time // events older than this, by ECS's clock, are history
	seen  map[string]bool
	all   []types.ServiceEvent // oldest first
}

func newEventLog(since time.Time) *eventLog {
	return &eventLog{since: since, seen: map[string]bool{}}
}

// add records the events of one read (ECS lists them newest first) and
// returns those not seen before and not older than since, oldest first.
func (l *eventLog) add(events []types.ServiceEvent) []types.ServiceEvent {
	var fresh []types.ServiceEvent
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		key := aws.ToString(e.Id)
		if key == "" {
			key = aws.ToTime(e.CreatedAt).String() + "\x00" + aws.ToString(e.Message)
		}
		if l.seen[key] {
			continue
		}
		l.seen[key] = true
		if aws.ToTime(e.CreatedAt).Before(l.since) {
			continue
		}
		fresh = append(fresh, e)
	}
	l.all = append(l.all, fresh...)
	return fresh
}

// startTroublePhrases are what ECS's service events say when it cannot
// place or provision a task (lower case).
var startTroublePhrases = []string{
	"unable to place a task",
	"no container instance met all of its requirements",
	"insufficient memory",
	"insufficient cpu",
	"insufficient capacity",
	"capacity is unavailable",
	"capacity unavailable",
	"is unable to consistently start tasks",
	"unable to start tasks",
	"failed to launch",
	"no container instances",
}

// startTrouble returns the latest service event that says ECS could not
// place or start tasks ("" when none did), without its trailing period.
func (l *eventLog) startTrouble() string {
	for i := len(l.all) - 1; i >= 0; i-- {
		msg := aws.ToString(l.all[i].Message)
		lower := strings.ToLower(msg)
		for _, p := range startTroublePhrases {
			if strings.Contains(lower, p) {
				return strings.TrimSuffix(strings.TrimSpace(msg), ".")
			}
		}
	}
	return ""
}

func serviceEvent(e types.ServiceEvent) ServiceEvent {
	return ServiceEvent{ID: aws.ToString(e.Id), At: aws.ToTime(e.CreatedAt), Message: aws.ToString(e.Message)}
}

// doPoll calls f until it reports done, returns a permanent error, or
// ctx ends. Transient API errors (throttling, 5xx, dropped connections
// that outlasted the SDK's own retries) are retried at the next poll;
// permanent ones end the loop.
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

func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// accessLost reports whether err says our credentials no longer work (or
// never let us do this): polling again will not help, and acting on the
// service with them will fail too.
func accessLost(err error) bool {
	switch apiErrorCode(err) {
	case "AccessDeniedException", "AccessDenied", "ExpiredToken", "ExpiredTokenException",
		"UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
		"SignatureDoesNotMatch", "RequestExpired", "UnauthorizedOperation", "InvalidAccessKeyId":
		return true
	}
	return false
}

// isPermanent reports whether an API error will not go away by polling
// again.
func isPermanent(err error) bool {
	if errors.Is(err, errNotFound) || accessLost(err) {
		return true
	}
	switch apiErrorCode(err) {
	case "ClusterNotFoundException", "ServiceNotFoundException", "ServiceNotActiveException", "InvalidParameterException":
		return true
	}
	return false
}
