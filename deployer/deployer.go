// Package deployer ships a new revision of an ECS service with a rolling
// update, watches the deployment it started (by its ID) and rolls back to
// the exact previous revision when that deployment fails or times out.
//
// The flow of Deploy is preflight → register → update → watch → (rollback
// → watch the rollback) → diagnose. Nothing in AWS changes before the
// preflight has passed: bad input and missing resources end the run with
// an error wrapping ErrPreflight and no mutating call made.
//
// The package never reads the environment and never writes GitHub
// workflow commands: callers pass a Config and AWS clients, receive
// progress as Events through the reporter, and get one Result back.
package deployer

import (
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
	ecs    ecsAPI
	logs   logsAPI
	report func(Event)
	now    func() time.Time
	poll   func(interval time.Duration) backoffFactory
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
func New(ecsClient ecsAPI, logsClient logsAPI, opts ...Option) *Deployer {
	if c, ok := logsClient.(*cloudwatchlogs.Client); ok && c == nil {
		logsClient = nil // a typed nil would pass the nil check and panic
	}
	d := &Deployer{
		ecs:    ecsClient,
		logs:   logsClient,
		report: func(Event) {},
		now:    time.Now,
		poll:   adaptivePolling,
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

	svc       types.Service // the service as found at preflight
	target    string        // rollback target (the revision running before)
	newARN    string
	register  *ecs.RegisterTaskDefinitionInput
	origDepl  *types.DeploymentConfiguration
	watchedBy *watcher // the watcher of our deployment (reused for diagnosis)
}

// Deploy runs preflight, register, update, watch and, when our
// deployment fails or times out, rollback and a watch of the rollback.
//
// It always returns a Result filled as far as the run got. The error is
// nil exactly when Result.Status.OK(). Errors found before any change
// wrap ErrPreflight. When ctx is cancelled while our deployment is in
// flight, Deploy rolls back (Config.OnCancel rollback) with one
// UpdateService on a fresh, short context, does not wait for it to
// settle, and returns StatusCancelled.
func (d *Deployer) Deploy(ctx context.Context, cfg Config) (Result, error) {
	cfg = cfg.withDefaults()
	r := &run{d: d, cfg: cfg, res: &Result{
		Cluster:   cfg.Cluster,
		Service:   cfg.Service,
		StartedAt: d.now(),
	}}
	err := r.deploy(ctx)
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

func (r *run) deploy(ctx context.Context) error {
	if err := r.cfg.Validate(); err != nil {
		return r.preflightFailed(err)
	}
	r.d.emit(EventPhase, "Preflight: %s in cluster %s", r.cfg.Service, r.cfg.Cluster)
	if err := r.preflight(ctx); err != nil {
		if ctx.Err() != nil {
			return r.cancelledBeforeChange(ctx)
		}
		return r.preflightFailed(err)
	}
	if r.cfg.DryRun {
		r.res.Status = StatusDryRun
		r.res.Reason = fmt.Sprintf("dry run: would register a new revision of %s and deploy it to service %s; nothing changed", taskdef.Family(r.target), r.cfg.Service)
		for _, line := range r.res.Plan {
			r.d.emit(EventInfo, "%s", line)
		}
		return nil
	}
	if ctx.Err() != nil {
		return r.cancelledBeforeChange(ctx)
	}

	r.d.emit(EventPhase, "Deploy")
	if err := r.registerRevision(ctx); err != nil {
		if ctx.Err() != nil {
			return r.cancelledBeforeChange(ctx)
		}
		r.res.Status = StatusFailed
		r.res.Reason = fmt.Sprintf("register task definition: %v; the service was not changed", err)
		return nil
	}
	if ctx.Err() != nil {
		r.res.Status = StatusCancelled
		r.res.Reason = fmt.Sprintf("cancelled after registering %s and before updating the service; service %s still runs %s", shortARN(r.newARN), r.cfg.Service, shortARN(r.target))
		r.checkpoint("done")
		return nil
	}
	accepted, err := r.updateService(ctx)
	if !accepted {
		r.res.Status = StatusFailed
		if ctx.Err() != nil {
			r.res.Status = StatusCancelled
			r.res.Reason = fmt.Sprintf("cancelled before the service update was accepted; service %s still runs %s", r.cfg.Service, r.target)
		} else {
			r.res.Reason = fmt.Sprintf("update service %s: %v; the service was not changed", r.cfg.Service, err)
		}
		r.checkpoint("done")
		return nil
	}
	if err != nil {
		r.d.emit(EventWarning, "update service returned an error, but the service now runs %s: %v", r.newARN, err)
	}
	r.mark("deploy started")

	if !r.cfg.Wait {
		r.res.Status = StatusSucceeded
		r.res.Reason = fmt.Sprintf("deployment %s of %s started; not watched (wait is false)", r.res.DeploymentID, shortARN(r.newARN))
		r.checkpoint("done")
		return nil
	}

	r.d.emit(EventPhase, "Watch deployment %s", r.res.DeploymentID)
	r.checkpoint("watching")
	v := r.watchOurs(ctx)
	return r.conclude(ctx, v)
}

// conclude turns the verdict on our deployment into the final outcome,
// rolling back where needed.
func (r *run) conclude(ctx context.Context, v verdict) error {
	if v.kind == verdictFailed {
		v = r.ecsRollingBack(ctx, v)
	}
	switch v.kind {
	case verdictSucceeded:
		r.res.Status = StatusSucceeded
		r.res.Reason = v.reason
		r.mark("deployment completed")
		r.checkpoint("done")
		return nil
	case verdictTakenOver:
		r.res.Status = StatusFailed
		r.diagnose(ctx)
		r.res.Reason = v.reason
		r.checkpoint("done")
		return nil
	case verdictCircuitBreaker:
		r.mark("deployment failed")
		r.mark("rollback issued")
		r.res.RollbackDeploymentID = v.other
		why := r.explain(v, r.diagnose(ctx))
		return r.awaitRollback(ctx, why, "ECS's deployment circuit breaker")
	case verdictCancelled:
		return r.cancelled(ctx)
	}

	// Failed or timed out: our deployment is still the PRIMARY.
	r.mark(v.markName())
	if !r.cfg.Rollback {
		why := r.explain(v, r.diagnose(ctx))
		r.res.Status = StatusFailed
		r.res.Reason = why + "; rollback is off, so the service stays on " + shortARN(r.newARN)
		r.res.ManualRollback = r.manualRollback()
		r.checkpoint("done")
		return nil
	}
	r.d.emit(EventPhase, "Roll back to %s", shortARN(r.target))
	r.checkpoint("rolling-back")
	err := r.issueRollback(ctx)
	if err == nil {
		r.mark("rollback issued")
	}
	// Diagnose while the rollback rolls: it reads only what has happened.
	why := r.explain(v, r.diagnose(ctx))
	if err != nil {
		r.res.Status = StatusRollbackFailed
		r.res.Reason = fmt.Sprintf("%s; the rollback to %s could not be issued: %v", why, shortARN(r.target), err)
		r.res.ManualRollback = r.manualRollback()
		r.checkpoint("done")
		return nil
	}
	return r.awaitRollback(ctx, why, "")
}

// ecsRollingBack looks once more before we roll back a failed deployment
// of a service whose circuit breaker rolls back by itself: when ECS has
// already started its rollback, ours would be a second one. It returns v
// unchanged otherwise.
func (r *run) ecsRollingBack(ctx context.Context, v verdict) verdict {
	if !circuitBreakerRollsBack(r.svc) || ctx.Err() != nil {
		return v
	}
	svc, err := r.d.describeService(ctx, r.cfg.Cluster, r.cfg.Service)
	if err != nil || !circuitBreakerRollsBack(svc) {
		return v
	}
	for _, dep := range svc.Deployments {
		id := aws.ToString(dep.Id)
		if aws.ToString(dep.Status) == "PRIMARY" && id != r.res.DeploymentID && aws.ToString(dep.TaskDefinition) == r.target {
			return verdict{kind: verdictCircuitBreaker, other: id, taskDef: r.target, reason: v.reason}
		}
	}
	return v
}

// explain is the first half of the reason: what went wrong, led by the
// diagnosed cause when there is one.
func (r *run) explain(v verdict, headline string) string {
	switch {
	case headline == "":
		return v.reason
	case v.kind == verdictTimedOut:
		return v.reason + "; " + headline
	default:
		return headline
	}
}

// awaitRollback watches the rollback deployment (ours, or the one ECS's
// circuit breaker started) until it settles or RollbackTimeout passes.
func (r *run) awaitRollback(ctx context.Context, why, by string) error {
	if by != "" {
		r.d.emit(EventPhase, "Watch rollback by %s (%s)", by, r.res.RollbackDeploymentID)
	} else {
		r.d.emit(EventPhase, "Watch rollback %s", r.res.RollbackDeploymentID)
	}
	rv := r.watchRollback(ctx)
	switch rv.kind {
	case verdictSucceeded:
		r.res.Status = StatusRolledBack
		r.res.Reason = fmt.Sprintf("%s; rolled back to %s", why, shortARN(r.target))
		if by != "" {
			r.res.Reason = fmt.Sprintf("%s; %s rolled the service back to %s", why, by, shortARN(r.target))
		}
		r.mark("rollback completed")
		r.deregisterFailed(ctx)
		r.checkpoint("done")
		return nil
	case verdictCancelled:
		r.res.Status = StatusCancelled
		r.res.Reason = fmt.Sprintf("%s; cancelled while the rollback to %s was in progress (issued, not confirmed)", why, shortARN(r.target))
		r.res.ManualRollback = r.manualRollback()
		r.checkpoint("rolling-back")
		return nil
	default:
		r.res.Status = StatusRollbackFailed
		r.res.Reason = fmt.Sprintf("%s; the rollback to %s did not settle: %s", why, shortARN(r.target), rv.reason)
		r.res.ManualRollback = r.manualRollback()
		r.checkpoint("done")
		return nil
	}
}

// cancelled handles a cancellation while our deployment is in flight.
func (r *run) cancelled(ctx context.Context) error {
	r.res.Status = StatusCancelled
	r.mark("cancelled")
	if r.cfg.OnCancel == OnCancelLeave || !r.cfg.Rollback {
		r.res.Reason = fmt.Sprintf("cancelled while deployment %s was in progress; left as it is (on-cancel: leave)", r.res.DeploymentID)
		r.res.ManualRollback = r.manualRollback()
		r.checkpoint("done")
		return nil
	}
	if err := r.issueRollback(ctx); err != nil {
		r.res.Reason = fmt.Sprintf("cancelled while deployment %s was in progress; the rollback to %s could not be issued: %v", r.res.DeploymentID, shortARN(r.target), err)
		r.res.ManualRollback = r.manualRollback()
		r.checkpoint("watching")
		return nil
	}
	r.mark("rollback issued")
	r.res.Reason = fmt.Sprintf("cancelled while deployment %s was in progress; rollback to %s issued (not awaited)", r.res.DeploymentID, shortARN(r.target))
	r.checkpoint("done")
	return nil
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

// checkpoint reports the state the post step needs.
func (r *run) checkpoint(phase string) {
	r.d.report(Event{Time: r.d.now(), Kind: EventCheckpoint, State: &Checkpoint{
		Cluster:        r.cfg.Cluster,
		Service:        r.cfg.Service,
		DeploymentID:   r.res.DeploymentID,
		TaskDefinition: r.newARN,
		RollbackTarget: r.target,
		Phase:          phase,
		Rollback:       r.cfg.Rollback && r.cfg.OnCancel != OnCancelLeave,
		MinimumHealthy: r.cfg.MinimumHealthyPercent,
		MaximumPercent: r.cfg.MaximumPercent,
	}})
}

// manualRollback is the command that finishes a rollback by hand.
func (r *run) manualRollback() string {
	return manualRollbackCommand(r.cfg.Cluster, r.cfg.Service, r.target)
}

func manualRollbackCommand(cluster, service, target string) string {
	if target == "" {
		return ""
	}
	return fmt.Sprintf("aws ecs update-service --cluster %s --service %s --task-definition %s --force-new-deployment",
		shellQuote(cluster), shellQuote(service), shellQuote(target))
}

// freshContext is for calls that must still go out after ctx is
// cancelled: the rollback on cancel, final clean-up.
func freshContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), cancelGrace)
}
