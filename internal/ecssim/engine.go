package ecssim

import (
	"cmp"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/breaker"
)

// run is the simulator's single clock goroutine: it sleeps until the
// earliest scheduled transition (or a kick after a mutation) and advances
// the whole state. No goroutine exists per task or per service.
func (s *Sim) run() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		next := s.advanceLocked(time.Now())
		s.mu.Unlock()
		wait := time.Hour
		if !next.IsZero() {
			wait = time.Until(next)
			if wait < 0 {
				wait = 0
			}
		}
		timer.Reset(wait)
		select {
		case <-s.done:
			return
		case <-timer.C:
		case <-s.kick:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}
}

// wake asks the clock goroutine to re-plan.
func (s *Sim) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// advanceLocked applies every transition due at now and returns the time
// of the next one (zero if none is scheduled).
func (s *Sim) advanceLocked(now time.Time) time.Time {
	for i := 0; i < 20; i++ { // settle cascades (a task running lets an old one stop...)
		changed := false
		for _, cl := range s.cOrder {
			if s.stepSoloLocked(cl, now) {
				changed = true
			}
			for _, svc := range cl.sOrder {
				for _, d := range svc.deps {
					for _, t := range append([]*task(nil), d.live...) {
						for !t.next.IsZero() && !t.next.After(now) {
							s.stepTask(t, now)
							changed = true
						}
					}
				}
				if s.checkDeploymentAlarms(svc, now) {
					changed = true
				}
				if s.schedule(svc, now) {
					changed = true
				}
				if s.advanceServiceDeployments(svc, now) {
					changed = true
				}
			}
		}
		if !changed {
			break
		}
	}
	var next time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	earliest(s.nextAlarmEventLocked(now))
	for _, cl := range s.cOrder {
		earliest(nextSoloLocked(cl))
		for _, svc := range cl.sOrder {
			for _, d := range svc.deps {
				for _, t := range d.live {
					earliest(t.next)
				}
				if d.nextLaunch.After(now) {
					earliest(d.nextLaunch)
				}
				if d.tripAt.After(now) {
					earliest(d.tripAt)
				}
			}
			earliest(s.serviceDeploymentsNext(svc, now))
			earliest(s.taskSetsNext(svc, now))
		}
	}
	return next
}

// beginStep takes the transition scheduled at t.next off t and returns
// its time; a task being stopped becomes STOPPED then (done is true).
func (s *Sim) beginStep(t *task) (at time.Time, done bool) {
	at = t.next
	t.next = time.Time{}
	t.version++
	if t.desired == "STOPPED" { // stopping -> STOPPED
		s.finishStop(t, at)
		return at, true
	}
	return at, false
}

// stepTask performs the transition scheduled at t.next.
func (s *Sim) stepTask(t *task, now time.Time) {
	at, done := s.beginStep(t)
	if done {
		return
	}
	switch t.last {
	case "PROVISIONING":
		t.last = "PENDING"
		t.pullStarted = at
		t.connectivity = at
		if t.fate == BehaviorPending {
			return // never leaves PENDING
		}
		t.next = at.Add(s.timings.Pending.D() + t.extraStart)
	case "PENDING":
		t.pullStopped = at
		if t.secretError != "" {
			t.stoppedReason = t.secretError
			s.beginStop(t, at, types.TaskStopCodeTaskFailedToStart, t.stoppedReason, true)
			return
		}
		switch t.fate {
		case BehaviorPullError:
			for _, c := range t.containers {
				if c.behavior == BehaviorPullError {
					c.reason = pullErrorReason(c.image)
					t.stoppedReason = c.reason
				}
			}
			s.beginStop(t, at, types.TaskStopCodeTaskFailedToStart, t.stoppedReason, true)
			return
		case BehaviorCrash, BehaviorOOM:
			for _, c := range t.containers {
				c.startedAt = at
				switch c.behavior {
				case BehaviorCrash:
					c.exit = aws.Int32(1)
				case BehaviorOOM:
					c.exit = aws.Int32(137)
					c.reason = "OutOfMemoryError: Container killed due to memory usage"
				}
			}
			s.beginStop(t, at, types.TaskStopCodeEssentialContainerExited, "Essential container in task exited", true)
			return
		}
		t.last = "RUNNING"
		t.startedAt = at
		for _, c := range t.containers {
			c.last = "RUNNING"
			c.startedAt = at
		}
		switch {
		case t.hasHC():
			t.next = at.Add(s.timings.HealthCheck.D())
		case t.fate == BehaviorCrashAfter:
			t.next = at.Add(t.crashAfter)
		}
		s.noteRunning(t)
	case "RUNNING":
		if t.hasHC() && t.health == types.HealthStatusUnknown {
			if t.fate == BehaviorUnhealthy {
				t.health = types.HealthStatusUnhealthy
				for _, c := range t.containers {
					if c.hasHC && c.behavior == BehaviorUnhealthy {
						c.health = types.HealthStatusUnhealthy
					} else if c.hasHC {
						c.health = types.HealthStatusHealthy
					}
				}
				s.event(t.svc, at, fmt.Sprintf("(service %s) (task %s) failed container health checks.", t.svc.name, t.id))
				for _, c := range t.containers {
					c.exit = aws.Int32(143)
				}
				s.beginStop(t, at, types.TaskStopCodeServiceSchedulerInitiated, "Task failed container health checks", true)
				return
			}
			t.health = types.HealthStatusHealthy
			for _, c := range t.containers {
				if c.hasHC {
					c.health = types.HealthStatusHealthy
				}
			}
			s.noteRunning(t)
			if t.fate == BehaviorCrashAfter {
				t.next = t.startedAt.Add(t.crashAfter)
				if !t.next.After(at) {
					t.next = at
				}
			}
			return
		}
		if t.fate == BehaviorCrashAfter {
			for _, c := range t.containers {
				if c.behavior == BehaviorCrashAfter {
					c.exit = aws.Int32(1)
				} else {
					c.exit = aws.Int32(0)
				}
			}
			// It ran: ECS does not count it as a failed task of the deployment.
			s.beginStop(t, at, types.TaskStopCodeEssentialContainerExited, "Essential container in task exited", false)
		}
	}
}

func pullErrorReason(image string) string {
	return fmt.Sprintf("CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref %s: %s: not found", image, image)
}

// noteRunning records that a task of its deployment runs successfully: the
// failed count resets and stops being evaluated, as ECS documents
// (Deployment.failedTasks), unless the service's circuit breaker has
// resetOnHealthyTask false ("Amazon ECS does not reset the failure
// count"): then failures add up over the whole deployment.
func (s *Sim) noteRunning(t *task) {
	if !t.healthyForDeployment() {
		return
	}
	t.healthyOnce = true
	d := t.dep
	if d.evaluating && breaker.Of(t.svc.cb).ResetOnHealthy {
		d.evaluating = false
		d.failed = 0
	}
	d.consec = 0
}

// beginStop moves a task towards STOPPED. failure says the task failed on
// its own (counted for the circuit breaker when it never ran
// successfully, and replaced after a back-off).
func (s *Sim) beginStop(t *task, now time.Time, code types.TaskStopCode, reason string, failure bool) {
	if t.desired == "STOPPED" {
		return
	}
	wasRunning := t.last == "RUNNING"
	t.version++
	t.desired = "STOPPED"
	t.stopCode = code
	t.stoppedReason = reason
	t.stoppingAt = now
	if wasRunning {
		t.last = "DEACTIVATING"
	} else {
		t.last = "DEPROVISIONING"
	}
	for _, c := range t.containers {
		if c.last == "RUNNING" && c.exit == nil {
			c.exit = aws.Int32(0)
		}
		if c.exit != nil || c.last == "RUNNING" {
			c.last = "STOPPED"
		}
	}
	t.next = now.Add(s.timings.Stopping.D())
	d := t.dep
	if d == nil { // a standalone task
		return
	}
	d.updatedAt = now
	if code == types.TaskStopCodeServiceSchedulerInitiated && !failure {
		return
	}
	// A task of the deployment failed on its own (or someone stopped it).
	if d.status == "PRIMARY" {
		d.nextLaunch = now.Add(s.timings.RetryBackoff.D())
	} else {
		s.oldTaskStopped(t, d, now) // rolling2025.go: replaced from its own revision
	}
	if !failure || t.healthyOnce {
		return
	}
	d.consec++
	if d.consec >= 3 && !d.unableSent && d.status == "PRIMARY" {
		d.unableSent = true
		s.event(t.svc, now, fmt.Sprintf("(service %s) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.", t.svc.name))
	}
	if !d.evaluating {
		return
	}
	d.failed++
	s.checkCircuitBreaker(t.svc, d, now)
}

// cbThreshold is the service's circuit-breaker threshold for its latest
// desired count (ThresholdConfiguration: BOUNDED_PERCENT 50 by default,
// 0.5 × desired rounded up, at least 3 and at most 200; COUNT; or
// UNBOUNDED_PERCENT).
func cbThreshold(svc *service) int32 {
	return breaker.Of(svc.cb).Threshold(svc.desired)
}

func (s *Sim) checkCircuitBreaker(svc *service, d *deployment, now time.Time) {
	if svc.cb == nil || !svc.cb.Enable || d.status != "PRIMARY" || d.rollout != types.DeploymentRolloutStateInProgress {
		return
	}
	if d.failed < cbThreshold(svc) {
		return
	}
	if d.tripAt.IsZero() {
		d.tripAt = now.Add(s.timings.BreakerTrip.D())
	}
	if now.Before(d.tripAt) {
		return // ECS has not evaluated the breaker yet (schedule trips it at tripAt)
	}
	d.rollout = types.DeploymentRolloutStateFailed
	d.reason = "ECS deployment circuit breaker: tasks failed to start."
	d.updatedAt = now
	s.event(svc, now, fmt.Sprintf("(service %s) (deployment %s) deployment failed: tasks failed to start.", svc.name, d.id))
	if s.stagedBreaker(svc, d, now) {
		return
	}
	if svc.cb.Rollback {
		s.rollBackLocked(svc, d, now, "ECS deployment circuit breaker")
	}
}

// rollBackLocked starts ECS's own rollback of failed deployment d to the
// service's last COMPLETED deployment, as the circuit breaker and the
// deployment alarms do; by names which ("ECS deployment circuit breaker").
func (s *Sim) rollBackLocked(svc *service, d *deployment, now time.Time, by string) {
	if svc.lastCompletedTD == "" {
		return
	}
	target, ok := s.lookupTaskDef(svc.lastCompletedTD)
	if !ok {
		return
	}
	nd := s.newDeployment(svc, target, now)
	for _, old := range svc.deps {
		if old.id == svc.lastCompletedDep {
			nd.volumes = old.volumes
		}
	}
	nd.reason = fmt.Sprintf("%s: rolling back to deploymentId %s.", by, svc.lastCompletedDep)
	nd.ecsRollback = true
	d.status = "ACTIVE"
	svc.deps = append([]*deployment{nd}, svc.deps...)
	svc.steady = false
	s.event(svc, now, fmt.Sprintf("(service %s) rolling back to deployment %s.", svc.name, svc.lastCompletedDep))
}

// finishStop marks a stopping task STOPPED and forgets it from its
// deployment's live tasks (it stays listable in the cluster).
func (s *Sim) finishStop(t *task, at time.Time) {
	t.last = "STOPPED"
	t.stoppedAt = at
	for _, c := range t.containers {
		c.last = "STOPPED"
	}
	live := &t.cl.solo
	if t.dep != nil {
		live = &t.dep.live
	}
	for i, x := range *live {
		if x == t {
			*live = append((*live)[:i], (*live)[i+1:]...)
			break
		}
	}
	cl := t.cl
	cl.stopped++
	if cl.stopped > maxStopped { // forget the oldest STOPPED task
		for i, x := range cl.tOrder {
			if x.last == "STOPPED" {
				cl.tOrder = append(cl.tOrder[:i], cl.tOrder[i+1:]...)
				delete(cl.tasks, x.id)
				cl.stopped--
				break
			}
		}
	}
}

// schedule runs the service scheduler once: scale the PRIMARY in, launch
// PRIMARY tasks within maximumPercent, stop tasks of older deployments
// while minimumHealthyPercent holds, drop drained deployments, and mark the
// rollout COMPLETED. It reports whether anything changed.
func (s *Sim) schedule(svc *service, now time.Time) bool {
	if cs := s.cdServiceOf(svc); cs != nil {
		return s.scheduleTaskSets(cs, now)
	}
	if svc.status != "ACTIVE" || len(svc.deps) == 0 {
		return false
	}
	prim := svc.deps[0]
	prim.desired = svc.desired
	if !prim.tripAt.IsZero() && !now.Before(prim.tripAt) && prim.rollout == types.DeploymentRolloutStateInProgress {
		s.checkCircuitBreaker(svc, prim, now) // Timings.BreakerTrip has passed
		if prim.rollout != types.DeploymentRolloutStateInProgress {
			return true // tripped: schedule again with ECS's rollback as the PRIMARY
		}
	}
	live, healthy := liveAndHealthy(svc)
	primWanted, scaledIn := s.scaleIn(svc, prim, now)
	launched := s.launch(svc, prim, len(primWanted), live, now)
	drained := s.drain(svc, prim, healthy, now)
	refilled := s.refillOld(svc, now) // rolling2025.go
	concluded := s.conclude(svc, prim, now)
	return scaledIn || launched || drained || refilled || concluded
}

// liveAndHealthy counts the service's tasks not yet STOPPED, and of them
// those healthy for their deployment.
func liveAndHealthy(svc *service) (live, healthy int) {
	for _, d := range svc.deps {
		for _, t := range d.live {
			live++
			if t.healthyForDeployment() {
				healthy++
			}
		}
	}
	return live, healthy
}

// scaleIn stops the PRIMARY's tasks beyond the desired count, not-yet-
// healthy ones first. It returns the PRIMARY's tasks still wanted running
// and whether it stopped any.
func (s *Sim) scaleIn(svc *service, prim *deployment, now time.Time) (wanted []*task, changed bool) {
	for _, t := range prim.live {
		if t.desired == "RUNNING" {
			wanted = append(wanted, t)
		}
	}
	excess := len(wanted) - int(svc.desired)
	if excess <= 0 {
		return wanted, false
	}
	var stopped []*task
	for _, pass := range []bool{false, true} { // not-yet-healthy first
		for i := len(wanted) - 1; i >= 0 && len(stopped) < excess; i-- {
			t := wanted[i]
			if t.desired == "RUNNING" && t.healthyForDeployment() == pass {
				s.stopByScheduler(t, prim, now)
				stopped = append(stopped, t)
			}
		}
	}
	s.event(svc, now, fmt.Sprintf("(service %s) has stopped %d running tasks: %s.", svc.name, len(stopped), taskList(stopped)))
	return wanted[:len(wanted)-len(stopped)], true
}

// launch starts PRIMARY tasks up to the desired count, within
// maximumPercent of it counting every live task, unless the PRIMARY failed
// or is backing off. It reports whether it started any.
func (s *Sim) launch(svc *service, prim *deployment, primWanted, live int, now time.Time) bool {
	desired := svc.desired
	maxTotal := desired * svc.maxPercent / 100
	if maxTotal < desired { // a deployment must be able to reach its desired count
		maxTotal = desired
	}
	stagedLaunch, stagedFull, _ := s.stagedGate(svc)
	if stagedFull { // blue/green, linear, canary: the target scales up beside the whole source
		maxTotal = 1 << 30
	}
	launchable := prim.rollout != types.DeploymentRolloutStateFailed && !now.Before(prim.nextLaunch) && stagedLaunch
	want := int(desired) - primWanted
	if want <= 0 || !launchable {
		return false
	}
	room := min(int(maxTotal)-live, want)
	if room <= 0 {
		return false
	}
	if s.unplaceable(svc, prim, now) {
		return false
	}
	var started []*task
	for i := 0; i < room; i++ {
		started = append(started, s.newTask(svc, prim, now))
	}
	svc.steady = false
	prim.updatedAt = now
	s.event(svc, now, fmt.Sprintf("(service %s) has started %d tasks: %s.", svc.name, len(started), taskList(started)))
	return true
}

// drain stops the tasks of older deployments: unhealthy ones at once,
// healthy ones while minimumHealthyPercent of the desired count stays
// healthy (healthy counts the service's healthy tasks before this round).
// It then sets each older deployment's desired count to its tasks still
// wanted running, and reports whether it stopped any.
func (s *Sim) drain(svc *service, prim *deployment, healthy int, now time.Time) bool {
	minHealthy := (svc.desired*svc.minHealthy + 99) / 100
	_, _, drainAllowed := s.stagedGate(svc) // a staged source keeps running until CLEAN_UP
	var stopped []*task
	for i := len(svc.deps) - 1; i >= 1 && drainAllowed; i-- {
		d := svc.deps[i]
		for _, t := range d.live {
			if t.desired != "RUNNING" {
				continue
			}
			if !t.healthyForDeployment() && !(t.refill && !t.healthyOnce) { // a refill on its way is let start
				s.stopByScheduler(t, prim, now)
				stopped = append(stopped, t)
				continue
			}
			if healthy-1 >= int(minHealthy) {
				healthy--
				s.stopByScheduler(t, prim, now)
				stopped = append(stopped, t)
			}
		}
	}
	changed := false
	if len(stopped) > 0 {
		s.event(svc, now, fmt.Sprintf("(service %s) has stopped %d running tasks: %s.", svc.name, len(stopped), taskList(stopped)))
		changed = true
	}
	for _, d := range svc.deps[1:] {
		n := int32(0)
		for _, t := range d.live {
			if t.desired == "RUNNING" {
				n++
			}
		}
		d.desired = n + d.owed
	}
	return changed
}

// conclude handles completion and steady state: once the PRIMARY runs its
// desired count, drained older deployments disappear (until then they stay
// listed, e.g. FAILED during a rollback), the rollout is COMPLETED and the
// service reaches a steady state. It reports whether anything changed.
func (s *Sim) conclude(svc *service, prim *deployment, now time.Time) bool {
	changed := false
	desired := int(svc.desired)
	primHealthy, primPending := 0, 0
	for _, t := range prim.live {
		if t.healthyForDeployment() {
			primHealthy++
		} else if t.desired == "RUNNING" {
			primPending++
		}
	}
	if primHealthy == desired && primPending == 0 {
		kept := svc.deps[:1]
		for _, d := range svc.deps[1:] {
			if len(d.live) > 0 {
				kept = append(kept, d)
			} else {
				changed = true
			}
		}
		svc.deps = kept
	}
	isSteady := len(svc.deps) == 1 && primHealthy == desired && primPending == 0 && len(prim.live) == desired
	early, earlyMet := s.earlySuccess(svc, prim, primHealthy) // earlysuccess.go
	if (isSteady || earlyMet) && prim.rollout == types.DeploymentRolloutStateInProgress && !s.rollingHooksHold(svc, prim) && s.alarmBakeOver(svc, prim, now) {
		prim.rollout = types.DeploymentRolloutStateCompleted
		prim.reason = cmp.Or(early, fmt.Sprintf("ECS deployment %s completed.", prim.id))
		prim.updatedAt = now
		svc.lastCompletedTD = prim.td.arn()
		svc.lastCompletedDep = prim.id
		s.event(svc, now, fmt.Sprintf("(service %s) (deployment %s) deployment completed.", svc.name, prim.id))
		s.noteCompletedLocked(svc, prim, now)
		changed = true
	}
	if isSteady && !svc.steady {
		svc.steady = true
		s.event(svc, now, fmt.Sprintf("(service %s) has reached a steady state.", svc.name))
		changed = true
	}
	if !isSteady {
		svc.steady = false
	}
	return changed
}

func (s *Sim) stopByScheduler(t *task, by *deployment, now time.Time) {
	s.beginStop(t, now, types.TaskStopCodeServiceSchedulerInitiated, fmt.Sprintf("Scaling activity initiated by (deployment %s)", by.id), false)
}
