package deployer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sethvargo/go-retry"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// Several services in one step, all or nothing. Each service is one run
// (the same phases as a single deploy); the step runs the phases that
// change nothing, then those that change AWS, for every service before
// the next, so a problem with any service stops the step before any
// service changes. The watches then run side by side, reading every
// service of a cluster with one DescribeServices per poll (ten services a
// call), and the rollback scope decides what a failure takes back.

// Target names one service of a multi-service step.
type Target struct {
	Cluster string // cluster name or ARN; Config.Cluster when empty
	Service string // service name or ARN
}

func (t Target) String() string { return t.Cluster + "/" + t.Service }

// RollbackScope says which services a failure rolls back.
type RollbackScope string

// The rollback scopes.
const (
	// RollbackScopeAll: when any service fails, times out or is
	// cancelled, every service the step changed is rolled back.
	RollbackScopeAll RollbackScope = "all"
	// RollbackScopeFailed: only the services that failed roll back; the
	// others keep the new revision.
	RollbackScopeFailed RollbackScope = "failed"
)

// statusRank orders outcomes from best to worst: the step's status is the
// worst of its services'. Paused ranks above succeeded: a step with one
// service waiting at a PAUSE hook is paused, so the workflow's gate
// (`if: status == 'paused'`) runs and resumes it.
var statusRank = map[Status]int{
	StatusDryRun:         0,
	StatusSucceeded:      1,
	StatusPaused:         2, // waits at a PAUSE hook, as asked: not a failure
	StatusRolledBack:     3,
	StatusRollbackIssued: 3, // the post step's: a rollback not seen settled
	StatusCancelled:      4,
	StatusFailed:         5,
	StatusRollbackFailed: 6,
}

// Worse reports whether s is a worse outcome than t (rollback-failed >
// failed > cancelled > rolled-back > paused > succeeded > dry-run).
func (s Status) Worse(t Status) bool { return statusRank[s] > statusRank[t] }

// peerFailure is the cause of a watch stopped because another service of
// the step failed (rollback scope all).
type peerFailure struct {
	service string
	reason  string
}

func (p *peerFailure) Error() string {
	return fmt.Sprintf("service %s failed (%s)", p.service, p.reason)
}

// fleet is one multi-service Deploy call.
type fleet struct {
	d    *Deployer // reports through the lock below
	cfg  Config
	runs []*run

	mu  sync.Mutex
	cps []*Checkpoint // each run's last checkpoint
}

// deployMany deploys cfg.Services in one step.
func (d *Deployer) deployMany(ctx context.Context, cfg Config) (Result, error) {
	f := &fleet{cfg: cfg}
	// The runs report from several goroutines; the caller's reporter is
	// called one event at a time, each naming its service.
	var reportMu sync.Mutex
	outer := d.report
	shared := *d
	shared.report = func(ev Event) {
		reportMu.Lock()
		defer reportMu.Unlock()
		outer(ev)
	}
	shared.batch = newServiceBatcher(&shared, cfg.PollInterval/2)
	shared.poll = alignedPolling(d.now(), d.now)
	f.d = &shared
	start := d.now()
	f.cps = make([]*Checkpoint, len(cfg.Services))
	for i, t := range cfg.Services {
		c := cfg
		c.Services = nil
		c.Cluster = cmp.Or(t.Cluster, cfg.Cluster)
		c.Service = t.Service
		if i > 0 {
			c.PreDeploy = nil // the pre-deploy task runs once, with the first service
		}
		rd := shared
		label := t.Service
		rd.report = func(ev Event) {
			ev.Service = label
			if ev.Kind == EventCheckpoint {
				f.checkpoint(i, ev)
				return
			}
			shared.report(ev)
		}
		f.runs = append(f.runs, newRun(&rd, c, start))
	}
	err := f.deploy(ctx)
	if f.succeeded() {
		// keep-revisions (revisions.go), once the whole step succeeded:
		// no service's revision nor rollback target is deregistered.
		var protect []string
		for _, r := range f.runs {
			protect = append(protect, r.target, r.newARN)
		}
		for _, r := range f.runs {
			r.keepRevisions(ctx, protect...)
		}
	}
	for _, r := range f.runs {
		r.restoreExec(ctx) // exec.go
	}
	res := f.result(start, d.now())
	if err == nil && !res.Status.OK() {
		err = errors.New(res.Reason)
	}
	return res, err
}

// checkpoint records run i's checkpoint and reports the step's: every
// service's, in one Checkpoint, for the post step to finish them all. It
// is reported under the lock that builds it, so the caller saves the
// step's checkpoints in the order they were built (the last saved is the
// latest).
func (f *fleet) checkpoint(i int, ev Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cps[i] = ev.State
	cp := &Checkpoint{Cluster: f.cfg.Cluster, Phase: PhaseDone, Rollback: ev.State.Rollback}
	for _, c := range f.cps {
		if c == nil {
			continue
		}
		cp.Targets = append(cp.Targets, *c)
		if c.Phase.moreUrgent(cp.Phase) {
			cp.Phase = c.Phase
		}
	}
	ev.Service = ""
	ev.State = cp
	f.d.report(ev)
}

// phaseUrgency orders checkpoint phases by what they owe the post step.
var phaseUrgency = map[Phase]int{
	"":                0,
	PhaseDone:         0,
	PhaseRegistered:   1,
	PhasePreDeploy:    1,
	PhaseUpdated:      2,
	PhaseWatching:     3,
	PhaseRollingBack:  4,
	PhaseRollbackOwed: 5,
}

func (p Phase) moreUrgent(q Phase) bool { return phaseUrgency[p] > phaseUrgency[q] }

// deploy runs the phases: preflight of every service, then register and
// update every service, then the watches side by side, then each
// service's conclusion under the rollback scope.
func (f *fleet) deploy(ctx context.Context) error {
	if err := f.cfg.Validate(); err != nil {
		for _, r := range f.runs {
			_ = r.preflightFailed(err)
		}
		return fmt.Errorf("%w: %w", ErrPreflight, err)
	}
	if f.cfg.Resume != "" {
		return f.resume(ctx)
	}
	for _, r := range f.runs {
		next, err := r.preflightPhase(ctx)
		if next || r.res.Status == StatusDryRun {
			continue
		}
		if err != nil {
			r.res.Reason = fmt.Sprintf("service %s: %s", r.cfg.Service, r.res.Reason)
			err = fmt.Errorf("service %s: %w", r.cfg.Service, err)
		}
		f.notDeployed(0, fmt.Sprintf("not deployed: service %s did not pass its preflight; no service was changed", r.cfg.Service))
		return err
	}
	if f.runs[0].res.Status == StatusDryRun {
		return nil
	}
	for _, r := range f.runs {
		if !r.registerPhase(ctx) {
			f.notDeployed(0, fmt.Sprintf("not deployed: registering the revision of service %s failed; no service was changed", r.cfg.Service))
			return nil
		}
	}
	// One pre-deploy task for the step, from the first service's new
	// revision, where that service's tasks run.
	if !f.runs[0].preDeployPhase(ctx) {
		f.notDeployed(1, fmt.Sprintf("not deployed: the pre-deploy task (with service %s) did not succeed; no service was changed", f.runs[0].cfg.Service))
		return nil
	}
	changed := f.runs[:0:0]
	var failure *peerFailure
	for i, r := range f.runs {
		if !r.updatePhase(ctx) {
			failure = &peerFailure{service: r.cfg.Service, reason: r.res.Reason}
			f.notDeployed(i, fmt.Sprintf("not deployed: updating service %s failed", r.cfg.Service))
			break
		}
		changed = append(changed, r)
	}
	if !f.cfg.Wait && failure == nil {
		for _, r := range changed {
			r.notWatched()
		}
		return nil
	}
	f.watchAndConclude(ctx, changed, failure)
	return nil
}

// watchAndConclude watches the services the step changed side by side
// (unless one already failed to change, with rollback scope all), and
// decides the step's fate in one place: with rollback scope all, a
// failure rolls back every other service the step changed, and so does a
// cancel, whether their deployments finished or not.
func (f *fleet) watchAndConclude(ctx context.Context, changed []*run, failure *peerFailure) {
	verdicts := make([]verdict, len(changed))
	if failure == nil || f.cfg.RollbackScope == RollbackScopeFailed {
		failure = f.watch(ctx, changed, verdicts)
	}
	all := f.cfg.RollbackScope != RollbackScopeFailed
	switch {
	case failure != nil && all && ctx.Err() == nil:
		for i, r := range changed {
			if r.cfg.Service != failure.service && !verdicts[i].bad() {
				verdicts[i] = verdict{kind: verdictPeerFailed, reason: failure.Error()}
			}
		}
	case ctx.Err() != nil && all && slices.ContainsFunc(verdicts, func(v verdict) bool { return v.kind == verdictCancelled }):
		// Cancelled while some services were still on their way: the
		// cancel takes back those that finished too.
		for i := range verdicts {
			if !verdicts[i].bad() {
				verdicts[i] = verdict{kind: verdictCancelled, reason: "cancelled"}
			}
		}
	}
	var wg sync.WaitGroup
	for i, r := range changed {
		wg.Go(func() { _ = r.conclude(ctx, verdicts[i]) })
	}
	wg.Wait()
}

// resume acts on every service's deployment that waits at a PAUSE hook
// (Config.Resume): all must have one before any is resumed; then each is
// resumed and watched to its end, side by side.
func (f *fleet) resume(ctx context.Context) error {
	where := make([]string, len(f.runs))
	for i, r := range f.runs {
		var err error
		if where[i], err = r.findPaused(ctx); err != nil {
			if ctx.Err() != nil {
				for _, r := range f.runs {
					_ = r.cancelledBeforeChange(ctx)
				}
				return nil
			}
			err = r.preflightFailed(fmt.Errorf("service %s: %w", r.cfg.Service, err))
			f.notDeployed(0, fmt.Sprintf("not resumed: service %s has no deployment to %s; no service was changed", r.cfg.Service, f.cfg.Resume))
			return err
		}
	}
	// Each is resumed; those continued are then watched and concluded
	// together, under the rollback scope, as a deploy's are.
	// Side by side: a service's resume (a rollback watched to its end)
	// must not wait for another's while the others' hook timers run.
	cont := make([]bool, len(f.runs))
	var wg sync.WaitGroup
	for i, r := range f.runs {
		wg.Go(func() { cont[i] = r.resumeAt(ctx, where[i]) })
	}
	wg.Wait()
	var changed []*run
	for i, r := range f.runs {
		if cont[i] {
			changed = append(changed, r)
		}
	}
	if len(changed) > 0 {
		f.watchAndConclude(ctx, changed, nil)
	}
	return nil
}

// watch watches every changed service side by side until each has a
// verdict. With rollback scope all, the first failure stops the other
// watches; it is returned.
func (f *fleet) watch(ctx context.Context, runs []*run, verdicts []verdict) *peerFailure {
	wctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var (
		mu    sync.Mutex
		first *peerFailure
		wg    sync.WaitGroup
	)
	for _, r := range runs {
		f.d.batch.add(r.cfg.Cluster, r.cfg.Service) // the first read of a beat reads them all
	}
	// A service that succeeded keeps guard (run.guard) until every other
	// service has its verdict: the step reports all of them at its end.
	var judged sync.WaitGroup
	judged.Add(len(runs))
	var allJudged chan struct{}
	if len(runs) > 1 {
		allJudged = make(chan struct{})
		go func() { judged.Wait(); close(allJudged) }()
	}
	for i, r := range runs {
		wg.Go(func() {
			v := r.bakePhase(wctx, r.watchPhase(wctx))
			judged.Done()
			v = r.guard(wctx, v, allJudged)
			if v.kind == verdictCancelled && ctx.Err() == nil {
				var pf *peerFailure
				if errors.As(context.Cause(wctx), &pf) {
					v = verdict{kind: verdictPeerFailed, reason: pf.Error()}
				}
			}
			verdicts[i] = v
			// A pause that on-pause rollback rolls back fails the step
			// as a failure does: with rollback scope all the others go
			// back too (all or nothing).
			rollsBack := v.kind == verdictPaused && r.cfg.OnPause == OnPauseRollback
			if (!v.bad() && !rollsBack) || v.kind == verdictPeerFailed {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if first == nil {
				first = &peerFailure{service: r.cfg.Service, reason: v.reason}
				if f.cfg.RollbackScope != RollbackScopeFailed {
					stop(first)
				}
			}
		})
	}
	wg.Wait()
	return first
}

// bad reports whether a verdict fails the deployment it judged (a
// deployment waiting at a PAUSE hook, as asked, does not).
func (v verdict) bad() bool {
	return v.kind != verdictSucceeded && v.kind != verdictInProgress && v.kind != verdictPaused
}

// notDeployed ends the runs from the one at index from on that have no
// outcome yet: the step stopped before it changed them. Those that had
// saved a checkpoint (registered) save their final one, so the post step
// has nothing to do for them.
func (f *fleet) notDeployed(from int, reason string) {
	for i, r := range f.runs[from:] {
		if r.res.Status != "" {
			continue
		}
		r.res.Status = StatusFailed
		r.res.Reason = reason
		r.res.peer = true
		f.mu.Lock()
		saved := f.cps[from+i] != nil
		f.mu.Unlock()
		if saved {
			r.checkpoint(PhaseDone)
		}
	}
}

// result is the step's Result: the worst outcome, the reason of the
// service that decided it, and one Result per service.
func (f *fleet) result(start, end time.Time) Result {
	res := Result{Cluster: f.cfg.Cluster, StartedAt: start, FinishedAt: end}
	var names []string
	var decider *Result
	for _, r := range f.runs {
		r.res.FinishedAt = end
		if r.res.Status == "" {
			r.res.Status = StatusFailed
		}
		if r.res.Reason == "" {
			r.res.Reason = "the deployment " + string(r.res.Status)
		}
		names = append(names, r.cfg.Service)
		res.Services = append(res.Services, *r.res)
	}
	for i := range res.Services {
		s := &res.Services[i]
		switch {
		case decider == nil, s.Status.Worse(decider.Status),
			s.Status == decider.Status && decider.peer && !s.peer:
			decider = s
		}
	}
	res.Service = strings.Join(names, ", ")
	res.PreDeployTaskARN, res.PreDeployMode = f.runs[0].res.PreDeployTaskARN, f.runs[0].res.PreDeployMode
	res.Status = decider.Status
	res.Reason = decider.Reason
	if len(res.Services) > 1 {
		res.Reason = fmt.Sprintf("%s: %s", decider.Service, decider.Reason)
	}
	if decider.Status == StatusRollbackFailed {
		var cmds []string
		for _, s := range res.Services {
			if s.ManualRollback != "" && s.Status == StatusRollbackFailed {
				cmds = append(cmds, s.ManualRollback)
			}
		}
		res.ManualRollback = strings.Join(cmds, "\n")
	}
	var plan []string
	for _, s := range res.Services {
		if len(s.Plan) > 0 {
			plan = append(plan, fmt.Sprintf("service %s in %s:", s.Service, s.Cluster))
			plan = append(plan, s.Plan...)
		}
	}
	res.Plan = plan
	return res
}

// rollBackWithPeer rolls a service back because another service of the
// step failed (rollback scope all): its own deployment may have been
// healthy, so there is nothing of its own to diagnose.
func (r *run) rollBackWithPeer(ctx context.Context, v verdict) error {
	r.res.peer = true
	r.mark("rolled back with the step")
	if !r.cfg.Rollback {
		r.res.Status = StatusFailed
		r.res.Reason = v.reason + "; rollback is off, so the service stays on " + taskdef.ShortRevision(r.newARN)
		r.res.ManualRollback = r.manualRollback()
		r.checkpoint(PhaseDone)
		return nil
	}
	r.d.emit(EventPhase, "Roll back %s to %s: %s", r.cfg.Service, taskdef.ShortRevision(r.target), v.reason)
	if err := r.issueRollback(ctx); err != nil {
		r.res.Status = StatusRollbackFailed
		r.res.Reason = fmt.Sprintf("%s; the rollback to %s could not be issued: %v", v.reason, taskdef.ShortRevision(r.target), err)
		r.res.ManualRollback = r.manualRollback()
		return nil // the checkpoint still names the rollback owed
	}
	return r.awaitRollback(ctx, v.reason, "")
}

// alignedPolling is the poll schedule of a multi-service step: every
// watch polls on one shared beat (epoch + k·interval), so the first watch
// of a beat reads every service of its cluster and the others are served
// that read; independent, jittered schedules would drift apart and read
// the cluster once per watch.
func alignedPolling(epoch time.Time, now func() time.Time) func(time.Duration) backoffFactory {
	return func(interval time.Duration) backoffFactory {
		return func() retry.Backoff {
			return retry.BackoffFunc(func() (time.Duration, bool) {
				elapsed := now().Sub(epoch)
				wait := (elapsed/interval+1)*interval - elapsed
				if wait < interval/4 {
					wait += interval // a late poll does not poll twice in one beat
				}
				return wait, false
			})
		}
	}
}

// recoverMany is Recover for a multi-service step's checkpoint: each
// service's own checkpoint, and the worst outcome.
func (d *Deployer) recoverMany(ctx context.Context, cp Checkpoint) (Result, error) {
	res := Result{Cluster: cp.Cluster, StartedAt: d.now()}
	var errs []error
	var names, acted []string
	for _, t := range cp.Targets {
		r, err := d.Recover(ctx, t)
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", t.Service, err))
		}
		names = append(names, t.Service)
		res.Services = append(res.Services, r)
		if r.Status != "" {
			acted = append(acted, fmt.Sprintf("%s: %s", t.Service, r.Reason))
			if res.Status == "" || r.Status.Worse(res.Status) {
				res.Status = r.Status
			}
		}
		if r.ManualRollback != "" && r.Status == StatusRollbackFailed {
			res.ManualRollback = strings.TrimPrefix(res.ManualRollback+"\n"+r.ManualRollback, "\n")
		}
	}
	res.Service = strings.Join(names, ", ")
	res.Reason = strings.Join(acted, "; ")
	if res.Reason == "" {
		res.Reason = "no service was left on an unfinished deployment of ours; nothing to do"
	}
	return res, errors.Join(errs...)
}
