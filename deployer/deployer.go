package deployer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// ErrPreflight wraps every error found before any change was made in AWS:
// invalid configuration, a missing cluster or service, an unknown
// container, an inactive rollback target, or a busy service with
// OnBusyFail.
var ErrPreflight = errors.New("preflight")

// cancelGrace bounds the calls made after the caller's context is
// cancelled (the rollback on cancel, the final checkpoint). GitHub sends
// SIGKILL 10 s after SIGINT.
const cancelGrace = 5 * time.Second

// Deployer runs deployments against one ECS endpoint. It is safe to use
// from one goroutine at a time per Deploy call; it holds no state between
// calls.
type Deployer struct {
	ecs    ECSClient
	logs   LogsClient
	cw     CloudWatchClient
	report func(Event)
	now    func() time.Time
	poll   func(interval time.Duration) backoffFactory
	batch  *serviceBatcher  // a multi-service step's shared reads (nil: one service)
	verify VerifyClients    // the verify phase's clients (verifyapi.go); nil: no verification
	cd     CodeDeployClient // CODE_DEPLOY services (codedeploy.go); nil: none can be deployed
}

// Option configures a Deployer.
type Option func(*Deployer)

// WithReporter sets the function that receives progress events. It is
// called synchronously from the deploying goroutine and must not block
// for long.
func WithReporter(f func(Event)) Option {
	return func(d *Deployer) {
		if f != nil {
			d.report = f
		}
	}
}

// New returns a Deployer using the given ECS client (usually *ecs.Client)
// and CloudWatch Logs client (usually *cloudwatchlogs.Client; nil turns
// log excerpts off).
func New(ecsClient ECSClient, logsClient LogsClient, opts ...Option) *Deployer {
	if c, ok := logsClient.(*cloudwatchlogs.Client); ok && c == nil {
		logsClient = nil // a typed nil would pass the nil check and panic
	}
	d := &Deployer{
		ecs:    ecsClient,
		logs:   logsClient,
		report: func(Event) {},
		now:    time.Now,
		poll:   constantPolling,
	}
	for _, o := range opts {
		o(d)
	}
	return d
}

func (d *Deployer) emit(kind EventKind, format string, args ...any) {
	d.report(Event{Time: d.now(), Kind: kind, Message: fmt.Sprintf(format, args...)})
}

// run is the state of one Deploy call.
type run struct {
	d   *Deployer
	cfg Config
	res *Result

	svc      types.Service // the service as found at preflight
	target   string        // rollback target (the revision running before)
	newARN   string
	register *ecs.RegisterTaskDefinitionInput
	origDepl *types.DeploymentConfiguration
	ours     *rollingJudge // the judge of our deployment's tasks (reused for diagnosis)
	// preContainer is the container the pre-deploy task runs its command in.
	preContainer string
	events       *eventLog     // the service's events, as the run's reads saw them
	updated      types.Service // the service as our UpdateService returned it
	// strategy is what differs by deployment controller and strategy
	// (strategy.go), chosen once from the service at preflight (or
	// resume); nil before.
	strategy strategy

	alarms    *alarmWatch // Config.Alarms, nil when none
	updatedAt time.Time   // our clock, when the update was accepted
	ecsAlarms []string    // the alarms behind ECS's own alarm rollback

	// preVolume is the pre-deploy task's volume configured at launch, if any.
	preVolume *types.TaskVolumeConfiguration
}

// Deploy runs one deployment: preflight → register → [pre-deploy task]
// → start → watch → [bake] → conclude (roll back and watch the rollback
// when our deployment fails or times out), each phase asking the
// service's strategy (strategy.go) what differs by controller and
// strategy.
//
// It always returns a Result filled as far as the run got. The error is
// nil exactly when Result.Status.OK(). Errors found before any change
// wrap ErrPreflight. When ctx is cancelled while our deployment is in
// flight, Deploy rolls back (Config.OnCancel rollback) with the
// strategy's one rollback call on a fresh, short context, does not wait for it to
// settle, and returns StatusCancelled.
//
// With Config.Services naming more than one service, Deploy deploys to
// all of them in one step (targets.go) and the Result has one entry per
// service in Services.
func (d *Deployer) Deploy(ctx context.Context, cfg Config) (Result, error) {
	cfg = cfg.withDefaults()
	if cfg.RegisterOnly {
		return d.registerOnly(ctx, cfg) // revision.go
	}
	if len(cfg.Services) > 1 {
		return d.deployMany(ctx, cfg)
	}
	if len(cfg.Services) == 1 {
		cfg.Cluster, cfg.Service = cmp.Or(cfg.Services[0].Cluster, cfg.Cluster), cfg.Services[0].Service
		cfg.Services = nil
	}
	r := newRun(d, cfg, d.now())
	err := r.deploy(ctx)
	r.keepRevisions(ctx) // revisions.go: after a success only
	r.restoreExec(ctx)   // exec.go: after a rollback that did not send it
	r.res.Alarms = r.alarmsReport()
	r.res.FinishedAt = d.now()
	if r.res.Status == "" {
		r.res.Status = StatusFailed
	}
	if r.res.Status == StatusRollbackFailed && r.res.ManualRollback != "" {
		r.res.Reason += "; finish it by hand with: " + r.res.ManualRollback
	}
	if err == nil && !r.res.Status.OK() {
		err = errors.New(r.res.Reason)
	}
	if err != nil && r.res.Reason == "" {
		r.res.Reason = err.Error()
	}
	return *r.res, err
}

// newRun starts the state of one service's deployment.
func newRun(d *Deployer, cfg Config, start time.Time) *run {
	r := &run{d: d, cfg: cfg, res: &Result{
		Cluster:   cfg.Cluster,
		Service:   cfg.Service,
		StartedAt: start,
	}}
	// Events older than the run are history; allow a second of skew
	// between our clock and ECS's.
	r.events = newEventLog(start.Add(-time.Second))
	return r
}

// deploy runs the phases in order. Each phase either hands over to the
// next or ends the run with r.res filled.
func (r *run) deploy(ctx context.Context) error {
	if r.cfg.Resume != "" {
		return r.resume(ctx)
	}
	if next, err := r.preflightPhase(ctx); !next {
		return err
	}
	// The pre-deploy task runs from the new revision, before anything
	// changes the service.
	if !r.registerPhase(ctx) || !r.preDeployPhase(ctx) || !r.updatePhase(ctx) {
		return nil
	}
	if !r.cfg.Wait {
		r.notWatched()
		return nil
	}
	v := r.bakePhase(ctx, r.watchPhase(ctx))
	return r.conclude(ctx, v)
}

// notWatched ends a run whose deployment is not watched (wait false).
func (r *run) notWatched() {
	r.res.Status = StatusSucceeded
	r.res.Reason = fmt.Sprintf("deployment %s of %s started; not watched (wait is false)", r.res.DeploymentID, taskdef.ShortRevision(r.newARN))
	r.checkpoint(PhaseDone)
}

// preflightPhase validates the Config and checks everything without
// changing anything. next is false when the run ends here (bad input, a
// missing resource, a dry run, a cancellation).
func (r *run) preflightPhase(ctx context.Context) (next bool, err error) {
	if err := r.cfg.Validate(); err != nil {
		return false, r.preflightFailed(err)
	}
	r.d.emit(EventPhase, "Preflight: %s in cluster %s", r.cfg.Service, r.cfg.Cluster)
	if err := r.preflight(ctx); err != nil {
		if ctx.Err() != nil {
			return false, r.cancelledBeforeChange(ctx)
		}
		return false, r.preflightFailed(err)
	}
	if r.cfg.DryRun {
		r.res.Status = StatusDryRun
		r.res.Reason = fmt.Sprintf("dry run: would register a new revision of %s and deploy it to service %s; nothing changed", taskdef.Family(r.target), r.cfg.Service)
		if r.res.Promoted {
			r.res.Reason = fmt.Sprintf("dry run: would deploy the existing revision %s to service %s; nothing changed", taskdef.ShortRevision(r.newARN), r.cfg.Service)
		}
		for _, line := range r.res.Plan {
			r.d.emit(EventInfo, "%s", line)
		}
		return false, nil
	}
	if ctx.Err() != nil {
		return false, r.cancelledBeforeChange(ctx)
	}
	return true, nil
}

// registerPhase registers the new revision; false ends the run.
func (r *run) registerPhase(ctx context.Context) bool {
	r.d.emit(EventPhase, "Deploy")
	if r.res.Promoted {
		r.d.emit(EventInfo, "Promoting %s: nothing is registered", r.newARN)
		if ctx.Err() != nil {
			_ = r.cancelledBeforeChange(ctx)
			return false
		}
		return true
	}
	if err := r.registerRevision(ctx); err != nil {
		if ctx.Err() != nil {
			_ = r.cancelledBeforeChange(ctx)
			return false
		}
		r.res.Status = StatusFailed
		r.res.Reason = fmt.Sprintf("register task definition: %v; the service was not changed", err)
		return false
	}
	if ctx.Err() != nil {
		r.res.Status = StatusCancelled
		r.res.Reason = fmt.Sprintf("cancelled after registering %s and before updating the service; service %s still runs %s", taskdef.ShortRevision(r.newARN), r.cfg.Service, taskdef.ShortRevision(r.target))
		r.checkpoint(PhaseDone)
		return false
	}
	return true
}

// updatePhase starts our deployment (the strategy's update call); false
// ends the run.
func (r *run) updatePhase(ctx context.Context) bool {
	accepted, err := r.strategy.start(ctx)
	if !accepted {
		r.res.Status = StatusFailed
		if ctx.Err() != nil {
			r.res.Status = StatusCancelled
			r.res.Reason = fmt.Sprintf("cancelled before the service update was accepted; service %s still runs %s", r.cfg.Service, r.target)
		} else {
			r.res.Reason = fmt.Sprintf("update service %s: %v; the service was not changed", r.cfg.Service, err)
		}
		r.checkpoint(PhaseDone)
		return false
	}
	if err != nil {
		r.d.emit(EventWarning, "update service returned an error, but the service now runs %s: %v", r.newARN, err)
	}
	r.mark("deploy started")
	r.updatedAt = r.d.now()
	return true
}

// watchPhase watches our deployment until a verdict or the timeout.
func (r *run) watchPhase(ctx context.Context) verdict { return r.strategy.watch(ctx) }

// bakePhase turns a succeeded verdict on our deployment into the bake's
// verdict (bake.go); other verdicts pass through.
func (r *run) bakePhase(ctx context.Context, v verdict) verdict { return r.strategy.bake(ctx, v) }

// watchOurs is the watch of our deployment that every strategy runs:
// the phase line, the checkpoint, the watched alarms (from since) around
// the strategy's judge, and the last counts into the Result. answer, when
// not nil, is asked about each pause the watch meets (see watchThrough).
func (r *run) watchOurs(ctx context.Context, title string, j judge, timeout time.Duration, since func() time.Time, answer func(context.Context, verdict) bool) verdict {
	r.d.emit(EventPhase, "%s", title)
	r.checkpoint(PhaseWatching)
	if r.alarms != nil {
		j = &alarmJudge{inner: j, alarms: r.alarms, since: since, sinceWhat: "the update"}
	}
	w := r.watcher(j)
	v := watchThrough(ctx, w, timeout, r.cfg.PollInterval, answer)
	r.res.Last = w.last
	return v
}

// watchThrough runs w until a verdict within timeout. A pause
// (verdictPaused) that answer answers (true: it made the call that lets
// the deployment go on, or will try again at the next poll) does not end
// the watch: it goes on from the next poll, within the same timeout. The
// judges only judge; the calls that change a deployment are the
// strategy's, made here.
func watchThrough(ctx context.Context, w *watcher, timeout, interval time.Duration, answer func(context.Context, verdict) bool) verdict {
	deadline := w.d.now().Add(timeout)
	w.timeout = timeout
	for {
		v := w.watch(ctx, max(deadline.Sub(w.d.now()), 0), interval)
		if v.kind != verdictPaused || answer == nil || !answer(ctx, v) {
			return v
		}
		w.afterRead = true // the pause was just read: the next poll comes at the next beat
	}
}

func (r *run) watcher(j judge) *watcher {
	return &watcher{d: r.d, cluster: r.cfg.Cluster, service: r.cfg.Service, judge: j, events: r.events}
}

func (r *run) rollingJudge(id, taskDef string, what watchKind) *rollingJudge {
	return &rollingJudge{
		d:         r.d,
		cluster:   r.cfg.Cluster,
		id:        id,
		taskDef:   taskDef,
		target:    r.target,
		threshold: r.cfg.FailedTasksThreshold,
		what:      what,
		stopped:   map[string]bool{},
		before:    deploymentIDs(r.svc),
	}
}

// conclude turns the verdict on our deployment into the final outcome,
// rolling back where needed.
func (r *run) conclude(ctx context.Context, v verdict) error {
	if v.kind == verdictFailed || v.kind == verdictAlarm {
		v = r.strategy.confirmFailed(ctx, v)
	}
	switch v.kind {
	case verdictSucceeded:
		r.res.Status = StatusSucceeded
		r.res.Reason = v.reason
		r.noteEarlySuccess(v) // earlysuccess.go
		r.mark("deployment completed")
		r.checkpoint(PhaseDone)
		return nil
	case verdictTakenOver:
		r.res.Status = StatusFailed
		r.diagnose(ctx)
		r.res.Reason = v.reason
		r.checkpoint(PhaseDone)
		return nil
	case verdictECSMonitorRollback:
		r.mark("deployment failed")
		r.mark("rollback issued")
		r.res.RollbackDeploymentID = v.other
		r.checkpoint(PhaseRollingBack) // ECS's rollback, accepted by ECS itself
		why := r.explain(v, r.diagnose(ctx))
		if names, ok := r.ecsAlarmRollback(ctx, v.reason); ok {
			r.ecsAlarms = names
			why = fmt.Sprintf("deployment %s failed: the service's deployment %s %s went into ALARM", r.res.DeploymentID, plural(len(names), "alarm", "alarms"), quoteNames(names))
			return r.awaitRollback(ctx, why, "ECS's deployment alarms")
		}
		return r.awaitRollback(ctx, why+breakerNote(r.latestService()), "ECS's deployment circuit breaker") // breaker.go
	case verdictCancelled:
		return r.cancelled(ctx)
	case verdictPeerFailed:
		return r.rollBackWithPeer(ctx, v)
	case verdictAccessLost:
		return r.accessLost(v)
	case verdictPaused:
		return r.paused(ctx, v)
	case verdictECSRollback:
		r.mark("deployment failed")
		by := cmp.Or(v.by, "ECS")
		r.mark("rollback by " + by)
		r.checkpoint(PhaseRollingBack)
		why := v.reason
		if h := r.diagnose(ctx); h != "" {
			why += " (" + h + ")"
		}
		return r.awaitRollback(ctx, why, by)
	case verdictStopped:
		if !r.cfg.Rollback {
			r.mark("deployment failed")
			r.res.Status = StatusFailed
			r.res.Reason = v.reason + "; rollback is off, so the service stays as ECS left it"
			r.res.ManualRollback = r.manualRollback()
			r.diagnose(ctx)
			r.checkpoint(PhaseDone)
			return nil
		}
		// ECS stopped our failed deployment without rolling back: we
		// roll back, as for a failed rollout (below).
	case verdictServiceGone:
		r.res.Status = StatusFailed
		r.res.Reason = v.reason + "; nothing to roll back"
		r.mark("service deleted")
		r.checkpoint(PhaseDone)
		return nil
	}

	// Failed, timed out or alarmed: our deployment is still the PRIMARY.
	if v.kind == verdictAlarm && r.alarms.fired != nil {
		r.mark(fmt.Sprintf("alarm %s in ALARM", r.alarms.fired.Name))
	}
	r.mark(v.markName())
	if !r.cfg.Rollback {
		why := r.explain(v, r.diagnose(ctx))
		r.res.Status = StatusFailed
		r.res.Reason = why + "; rollback is off, so the service stays on " + taskdef.ShortRevision(r.newARN)
		r.res.ManualRollback = r.manualRollback()
		r.checkpoint(PhaseDone)
		return nil
	}
	r.d.emit(EventPhase, "Roll back to %s", taskdef.ShortRevision(r.target))
	err := r.issueRollback(ctx)
	// Diagnose while the rollback rolls: it reads only what has happened.
	why := r.explain(v, r.diagnose(ctx))
	if err != nil {
		r.res.Status = StatusRollbackFailed
		r.res.Reason = fmt.Sprintf("%s; the rollback to %s could not be issued: %v", why, taskdef.ShortRevision(r.target), err)
		r.res.ManualRollback = r.manualRollback()
		return nil // the checkpoint still names the rollback owed
	}
	return r.awaitRollback(ctx, why, "")
}

// explain is the first half of the reason: what went wrong, led by the
// diagnosed cause when there is one.
func (r *run) explain(v verdict, headline string) string {
	switch {
	case headline == "" || v.standalone:
		return v.reason
	case v.kind == verdictTimedOut:
		return v.reason + "; " + headline
	default:
		return headline
	}
}

func (r *run) cancelledBeforeChange(ctx context.Context) error {
	r.res.Status = StatusCancelled
	r.res.Reason = fmt.Sprintf("cancelled before any change: %v", context.Cause(ctx))
	return nil
}

func (r *run) preflightFailed(err error) error {
	r.res.Status = StatusFailed
	r.res.Reason = err.Error()
	return fmt.Errorf("%w: %w", ErrPreflight, err)
}

// mark adds a milestone to the timeline (each name once).
func (r *run) mark(name string) {
	for _, m := range r.res.Timeline {
		if m.Name == name {
			return
		}
	}
	r.res.Timeline = append(r.res.Timeline, Milestone{Name: name, At: r.d.now()})
}

// checkpoint reports the state the post step needs: enough to restore
// the service exactly as the rollback would.
func (r *run) checkpoint(phase Phase) {
	cp := &Checkpoint{
		Cluster:               r.cfg.Cluster,
		Service:               r.cfg.Service,
		DeploymentID:          r.res.DeploymentID,
		ServiceDeploymentARN:  r.res.ServiceDeploymentARN,
		Strategy:              r.res.Strategy,
		TaskDefinition:        r.newARN,
		RollbackTarget:        r.target,
		Phase:                 phase,
		PreDeployTask:         r.res.PreDeployTaskARN,
		Rollback:              r.cfg.Rollback && r.cfg.OnCancel != OnCancelLeave,
		OriginalConfiguration: r.originalConfig(),
	}
	if phase == PhaseRollingBack {
		cp.RollbackDeploymentID = r.res.RollbackDeploymentID
	}
	if r.cfg.DesiredCount != nil {
		cp.OriginalDesiredCount = aws.Int32(r.svc.DesiredCount)
	}
	cp.OriginalEnableExecuteCommand = r.originalExec() // update.go
	r.saveVolumes(cp)
	if r.strategy != nil {
		r.strategy.saveTo(cp)
	}
	r.d.report(Event{Time: r.d.now(), Kind: EventCheckpoint, State: cp})
}

// accessLost ends a watch that lost access to AWS: the deployment's
// state is unknown, and a rollback with credentials that no longer work
// would fail too, so none is attempted. The reason gives the commands to
// check the service and to roll back by hand.
func (r *run) accessLost(v verdict) error {
	r.res.Status = StatusFailed
	r.mark("access lost")
	r.res.ManualRollback = r.manualRollback()
	check := describeCommand(r.cfg.Cluster, r.cfg.Service)
	if c, ok := r.strategy.(checkCommander); ok {
		check = c.checkCommand()
	}
	r.res.Reason = fmt.Sprintf("%s; no rollback was attempted. Check the service with: %s; roll back by hand, if needed, with: %s",
		v.reason, check, r.res.ManualRollback)
	r.checkpoint(PhaseDone)
	return nil
}

// freshContext is for calls that must still go out after ctx is
// cancelled: the rollback on cancel, final clean-up.
func freshContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), cancelGrace)
}
