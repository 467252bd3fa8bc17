package ecssim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// This file moves service deployments: the staged lifecycle of BLUE_GREEN,
// LINEAR and CANARY (stages, traffic weights, bake times on the scenario
// clock, Lambda and PAUSE lifecycle hooks), rollbacks (asked for, or
// started by ECS on a circuit breaker or a failed hook), and the status of
// ROLLING service deployments, derived from their ECS deployment.

// HookStatus is a result a Lambda lifecycle hook returns ("hookStatus").
type HookStatus string

// The results a scripted Lambda hook can return.
const (
	HookSucceeded  HookStatus = "SUCCEEDED"
	HookFailed     HookStatus = "FAILED"
	HookInProgress HookStatus = "IN_PROGRESS"
)

// HookScript scripts what the Lambda function of a lifecycle hook returns.
// Each invocation of the hook at a stage within one service deployment
// takes the next result; the last one repeats. An IN_PROGRESS result makes
// ECS invoke the function again after CallBackDelay. A hook no script
// matches returns SUCCEEDED.
type HookScript struct {
	// HookTargetArn is the hook's Lambda function ARN; '*' matches any run
	// of characters.
	HookTargetArn string `json:"hookTargetArn"`
	// Stage limits the script to one lifecycle stage (e.g.
	// "POST_TEST_TRAFFIC_SHIFT"); empty matches every stage.
	Stage string `json:"stage,omitempty"`
	// Results are SUCCEEDED, FAILED or IN_PROGRESS, in invocation order.
	Results []HookStatus `json:"results"`
	// CallBackDelay is the wait after IN_PROGRESS before the next
	// invocation (default half a scenario minute: ECS's 30 seconds).
	CallBackDelay Duration `json:"callBackDelay,omitempty"`
}

// ScriptHook adds a Lambda hook script at run time; scripts added later
// take precedence over earlier ones for the invocations still to come.
func (s *Sim) ScriptHook(h HookScript) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookScripts = append([]HookScript{h}, s.hookScripts...)
	s.wake()
}

func (h HookScript) validate() []string {
	var problems []string
	if h.HookTargetArn == "" {
		problems = append(problems, "hookTargetArn is empty")
	}
	if h.Stage != "" && stageOrder(h.Stage) < 0 {
		problems = append(problems, fmt.Sprintf("unknown stage %q", h.Stage))
	}
	if len(h.Results) == 0 {
		problems = append(problems, "results is empty")
	}
	for _, r := range h.Results {
		if r != HookSucceeded && r != HookFailed && r != HookInProgress {
			problems = append(problems, fmt.Sprintf("unknown result %q (SUCCEEDED, FAILED or IN_PROGRESS)", r))
		}
	}
	if h.CallBackDelay < 0 {
		problems = append(problems, "callBackDelay is negative")
	}
	return problems
}

// stageNames are the lifecycle stages in order (hook stages included).
var stageNames = []string{
	"RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP",
	"TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT",
	"PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP",
}

func stageOrder(stage string) int {
	for i, n := range stageNames {
		if n == stage {
			return i
		}
	}
	return -1
}

// planStage is one step of a staged deployment.
type planStage struct {
	stage     types.ServiceDeploymentLifecycleStage
	hookStage types.DeploymentLifecycleHookStage // "" when hooks cannot run here
	prod      float64                            // production weight on the target set on entry; < 0 keeps it
	test      float64                            // test weight likewise
	bake      int32                              // scenario minutes to wait after the hooks
	scaleUp   bool                               // the target scales up; wait until it runs its desired count
	cleanUp   bool                               // the source scales down; wait until it is gone
}

// buildPlan lays out a staged deployment's stages. LINEAR and CANARY
// repeat PRODUCTION_TRAFFIC_SHIFT (and PRE_PRODUCTION_TRAFFIC_SHIFT when a
// hook uses it) once per traffic step.
func buildPlan(strategy types.DeploymentStrategy, st *svcDeploys, reconcile bool) []planStage {
	var p []planStage
	hookAt := func(stage string) types.DeploymentLifecycleHookStage {
		return types.DeploymentLifecycleHookStage(stage)
	}
	add := func(stage string, hook bool, f func(*planStage)) {
		ps := planStage{stage: types.ServiceDeploymentLifecycleStage(stage), prod: -1, test: -1}
		if hook {
			ps.hookStage = hookAt(stage)
		}
		if f != nil {
			f(&ps)
		}
		p = append(p, ps)
	}
	if reconcile {
		add("RECONCILE_SERVICE", true, nil)
	}
	add("PRE_SCALE_UP", true, nil)
	add("SCALE_UP", false, func(ps *planStage) { ps.scaleUp = true })
	add("POST_SCALE_UP", true, nil)
	add("TEST_TRAFFIC_SHIFT", true, func(ps *planStage) { ps.test = 100 })
	add("POST_TEST_TRAFFIC_SHIFT", true, nil)

	type step struct {
		weight float64
		bake   int32
	}
	var steps []step
	// ECS's defaults for settings left out (API reference,
	// LinearConfiguration: stepPercent 10.0, stepBakeTimeInMinutes 6, "not
	// applied after reaching 100 percent traffic"; CanaryConfiguration:
	// canaryPercent 5.0, canaryBakeTimeInMinutes 10).
	switch strategy {
	case types.DeploymentStrategyLinear:
		pct, bake := 10.0, int32(6)
		if lc := st.linear; lc != nil {
			if lc.StepPercent != nil {
				pct = *lc.StepPercent
			}
			if lc.StepBakeTimeInMinutes != nil {
				bake = *lc.StepBakeTimeInMinutes
			}
		}
		for k := 1; ; k++ {
			w := math.Round(float64(k)*pct*10) / 10
			if w >= 100 || pct <= 0 {
				steps = append(steps, step{100, 0})
				break
			}
			steps = append(steps, step{w, bake})
		}
	case types.DeploymentStrategyCanary:
		pct, bake := 5.0, int32(10)
		if cc := st.canary; cc != nil {
			if cc.CanaryPercent != nil {
				pct = *cc.CanaryPercent
			}
			if cc.CanaryBakeTimeInMinutes != nil {
				bake = *cc.CanaryBakeTimeInMinutes
			}
		}
		if pct < 100 {
			steps = append(steps, step{pct, bake})
		}
		steps = append(steps, step{100, 0})
	default:
		steps = []step{{100, 0}}
	}
	prePrd := false
	for _, h := range st.hooks {
		prePrd = prePrd || slices.Contains(h.LifecycleStages, types.DeploymentLifecycleHookStagePreProductionTrafficShift)
	}
	for _, stp := range steps {
		if prePrd {
			add("PRE_PRODUCTION_TRAFFIC_SHIFT", true, nil)
		}
		add("PRODUCTION_TRAFFIC_SHIFT", true, func(ps *planStage) { ps.prod, ps.bake = stp.weight, stp.bake })
	}
	add("POST_PRODUCTION_TRAFFIC_SHIFT", true, nil)
	bake := int32(0)
	if st.bake != nil {
		bake = *st.bake
	}
	add("BAKE_TIME", false, func(ps *planStage) { ps.bake = bake })
	add("CLEAN_UP", false, func(ps *planStage) { ps.cleanUp = true })
	return p
}

// hookRun is one lifecycle hook at one stage of a service deployment.
type hookRun struct {
	id         string
	hook       types.DeploymentLifecycleHook
	stage      types.DeploymentLifecycleHookStage
	status     types.DeploymentLifecycleHookStatus
	expiresAt  time.Time
	nextInvoke time.Time
}

func (h *hookRun) pause() bool {
	return h.hook.TargetType == types.DeploymentLifecycleHookTargetTypePause
}

func (h *hookRun) timeoutAction() types.DeploymentLifecycleHookAction {
	if tc := h.hook.TimeoutConfiguration; tc != nil && tc.Action != "" {
		return tc.Action
	}
	return types.DeploymentLifecycleHookActionRollback
}

// name is how a statusReason names the hook.
func (h *hookRun) name() string {
	if h.pause() {
		return "PAUSE lifecycle hook " + h.id
	}
	return "lifecycle hook " + aws.ToString(h.hook.HookTargetArn)
}

func (h *hookRun) view() types.DeploymentLifecycleHookDetail {
	tt := h.hook.TargetType
	if tt == "" {
		tt = types.DeploymentLifecycleHookTargetTypeAwsLambda
	}
	d := types.DeploymentLifecycleHookDetail{
		HookId:        aws.String(h.id),
		Status:        h.status,
		TargetType:    tt,
		TimeoutAction: h.timeoutAction(),
		ExpiresAt:     aws.Time(h.expiresAt),
	}
	if !h.pause() {
		d.TargetArn = h.hook.HookTargetArn
	}
	return d
}

func (s *Sim) minutes(n int32) time.Duration { return time.Duration(n) * s.timings.Minute.D() }

// enterStage moves sd to plan stage idx: sets the stage's traffic weights
// and starts its hooks.
func (s *Sim) enterStage(sd *serviceDeployment, idx int, now time.Time) {
	sd.stageIdx = idx
	ps := sd.plan[idx]
	sd.stageAt = now
	sd.stageReport = ps.stage
	sd.waitUntil = time.Time{}
	sd.updatedAt = now
	if ps.prod >= 0 {
		sd.prodWeight = ps.prod
	}
	if ps.test >= 0 {
		sd.testWeight = ps.test
	}
	sd.history = append(sd.history, fmt.Sprintf("%s %g/%g", ps.stage, sd.prodWeight, sd.testWeight))
	if ps.hookStage == "" {
		return
	}
	var runs []*hookRun
	for i, h := range sd.config.LifecycleHooks {
		if !slices.Contains(h.LifecycleStages, ps.hookStage) {
			continue
		}
		timeout := int32(1440)
		if tc := h.TimeoutConfiguration; tc != nil && tc.TimeoutInMinutes != nil {
			timeout = *tc.TimeoutInMinutes
		}
		r := &hookRun{
			id:         s.hookID(sd, i, h, ps.hookStage),
			hook:       h,
			stage:      ps.hookStage,
			status:     types.DeploymentLifecycleHookStatusInProgress,
			expiresAt:  now.Add(s.minutes(timeout)),
			nextInvoke: now,
		}
		if r.pause() {
			r.status = types.DeploymentLifecycleHookStatusAwaitingAction
			r.nextInvoke = time.Time{}
		}
		runs = append(runs, r)
	}
	if len(runs) > 0 {
		sd.hookRuns = runs
		sd.hooksOf = idx
	}
}

// hookID is the hookId of configured hook i at stage in sd. "Amazon ECS
// generates a unique hookId for the pause hook" (developer guide,
// pause-lifecycle-hooks.html, whose example reads
// "ecs-pause-e7tK9G_WRJqNF_EOMjztDXfKenlJuEUVjsNStf4WLKw"): the id belongs
// to the hook at its stage for the whole service deployment. A LINEAR or
// CANARY deployment enters PRE_PRODUCTION_TRAFFIC_SHIFT before every
// traffic step, and its hook there shows the same hookId, AWAITING_ACTION
// again, at each step: a ContinueServiceDeployment retried with that id
// after the first one was applied continues the next step.
func (s *Sim) hookID(sd *serviceDeployment, i int, h types.DeploymentLifecycleHook, stage types.DeploymentLifecycleHookStage) string {
	key := fmt.Sprintf("%d|%s", i, stage)
	if id, ok := sd.hookIDs[key]; ok {
		return id
	}
	id := fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", s.rnd.Uint32(), s.rnd.Uint32()&0xffff, s.rnd.Uint32()&0xffff, s.rnd.Uint32()&0xffff, s.rnd.Uint64()&0xffffffffffff)
	if h.TargetType == types.DeploymentLifecycleHookTargetTypePause {
		id = "ecs-pause-" + s.randomToken(43)
	}
	if sd.hookIDs == nil {
		sd.hookIDs = map[string]string{}
	}
	sd.hookIDs[key] = id
	return id
}

// invokeHook runs a Lambda hook once and returns its scripted result and
// the delay before the next invocation if it is IN_PROGRESS.
func (s *Sim) invokeHook(sd *serviceDeployment, h *hookRun) (HookStatus, time.Duration) {
	arn := aws.ToString(h.hook.HookTargetArn)
	key := arn + "|" + string(h.stage)
	n := sd.hookCount[key]
	sd.hookCount[key] = n + 1
	for _, sc := range s.hookScripts {
		if !globMatch(sc.HookTargetArn, arn) || (sc.Stage != "" && sc.Stage != string(h.stage)) {
			continue
		}
		res := sc.Results[len(sc.Results)-1]
		if n < len(sc.Results) {
			res = sc.Results[n]
		}
		delay := sc.CallBackDelay.D()
		if delay <= 0 {
			delay = s.timings.Minute.D() / 2
		}
		return res, delay
	}
	return HookSucceeded, 0
}

// runHooks advances the hooks of the current stage. It reports whether
// anything changed and whether every hook is done (succeeded, or timed
// out with the CONTINUE action).
func (s *Sim) runHooks(sd *serviceDeployment, now time.Time) (changed, done bool) {
	if sd.hooksOf != sd.stageIdx {
		return false, true
	}
	done = true
	for _, h := range sd.hookRuns {
		switch h.status {
		case types.DeploymentLifecycleHookStatusSucceeded, types.DeploymentLifecycleHookStatusTimedOut:
			continue
		case types.DeploymentLifecycleHookStatusFailed:
			return changed, false
		}
		if !h.expiresAt.After(now) {
			h.status = types.DeploymentLifecycleHookStatusTimedOut
			changed = true
			s.event(sd.svc, now, fmt.Sprintf("(service %s) (service-deployment %s) %s timed out in the %s stage.", sd.svc.name, sdID(sd), h.name(), h.stage))
			if h.timeoutAction() == types.DeploymentLifecycleHookActionRollback {
				s.requestRollback(sd, fmt.Sprintf("Service deployment rolled back because the %s timed out in the %s stage.", h.name(), h.stage),
					fmt.Sprintf("The %s timed out in the %s stage.", h.name(), h.stage), now)
				return true, false
			}
			continue
		}
		if !h.pause() && !h.nextInvoke.After(now) {
			res, delay := s.invokeHook(sd, h)
			changed = true
			switch res {
			case HookSucceeded:
				h.status = types.DeploymentLifecycleHookStatusSucceeded
				continue
			case HookFailed:
				h.status = types.DeploymentLifecycleHookStatusFailed
				s.event(sd.svc, now, fmt.Sprintf("(service %s) (service-deployment %s) %s failed in the %s stage.", sd.svc.name, sdID(sd), h.name(), h.stage))
				s.requestRollback(sd, fmt.Sprintf("Service deployment rolled back because the %s failed in the %s stage.", h.name(), h.stage),
					fmt.Sprintf("The %s failed in the %s stage.", h.name(), h.stage), now)
				return true, false
			default:
				h.status = types.DeploymentLifecycleHookStatusInProgress
				h.nextInvoke = now.Add(delay)
			}
		}
		done = false
	}
	return changed, done
}

func sdID(sd *serviceDeployment) string {
	return sd.arn[strings.LastIndex(sd.arn, "/")+1:]
}

// targetReady: the target deployment runs its desired count, all healthy.
func targetReady(sd *serviceDeployment) bool {
	d := sd.targetDep
	healthy := 0
	for _, t := range d.live {
		if t.healthyForDeployment() {
			healthy++
		} else if t.desired == "RUNNING" {
			return false
		}
	}
	return healthy == int(sd.svc.desired)
}

// stepStaged advances an IN_PROGRESS staged deployment by at most one
// stage. It reports whether anything changed.
func (s *Sim) stepStaged(sd *serviceDeployment, now time.Time) bool {
	if sd.stageIdx < 0 {
		s.enterStage(sd, 0, now)
		return true
	}
	changed, done := s.runHooks(sd, now)
	if !done || sd.status != types.ServiceDeploymentStatusInProgress {
		return changed
	}
	ps := sd.plan[sd.stageIdx]
	if ps.scaleUp && !targetReady(sd) {
		return changed
	}
	if ps.bake > 0 {
		if sd.waitUntil.IsZero() {
			sd.waitUntil = now.Add(s.minutes(ps.bake))
			changed = true
		}
		if now.Before(sd.waitUntil) {
			return changed
		}
	}
	// CLEAN_UP is "the stage when the blue service revision has
	// completely scaled down to 0 running tasks" (API reference,
	// ServiceDeployment lifecycleStage): it ends once the source's tasks
	// are gone, whatever the target's tasks do meanwhile. Target tasks
	// that crash in the bake leave replacements PENDING when the
	// deployment becomes SUCCESSFUL (ECS does not wait for them).
	if ps.cleanUp && !sourceDrained(sd) {
		return changed
	}
	if now.Before(sd.stageAt.Add(s.timings.Stage.D())) {
		return changed
	}
	if sd.stageIdx == len(sd.plan)-1 {
		s.finish(sd, types.ServiceDeploymentStatusSuccessful, "", now)
		sd.svc.sdx.good = sd.target
		return true
	}
	s.enterStage(sd, sd.stageIdx+1, now)
	return true
}

// sourceDrained reports whether every deployment of sd's service but its
// target has no task left running.
func sourceDrained(sd *serviceDeployment) bool {
	for _, d := range sd.svc.deps {
		if d != sd.targetDep && len(d.live) > 0 {
			return false
		}
	}
	return true
}

// finish ends sd with status (and reason, when not empty).
func (s *Sim) finish(sd *serviceDeployment, status types.ServiceDeploymentStatus, reason string, now time.Time) {
	sd.status = status
	sd.history = append(sd.history, string(status))
	if reason != "" {
		sd.reason = reason
	}
	sd.finishedAt, sd.updatedAt = now, now
	if status == types.ServiceDeploymentStatusStopped {
		sd.stoppedAt = now
	}
	// Hooks still running keep their status: ECS stops waiting for them,
	// they did not fail.
	sd.next = time.Time{}
	sd.final = s.summaries(sd)
}

// requestRollback starts rolling sd back (ROLLBACK_REQUESTED); the
// rollback itself begins one stage time later.
func (s *Sim) requestRollback(sd *serviceDeployment, statusReason, rollbackReason string, now time.Time) {
	sd.status = types.ServiceDeploymentStatusRollbackRequested
	sd.history = append(sd.history, string(sd.status))
	sd.reason = statusReason
	sd.updatedAt = now
	sd.next = now.Add(s.timings.Stage.D())
	rev := sd.rbRev
	if rev == nil && len(sd.sources) > 0 {
		rev = sd.sources[0]
		sd.rbRev = rev
	}
	sd.rollback = &types.Rollback{Reason: aws.String(rollbackReason), StartedAt: aws.Time(now)}
	if rev != nil {
		sd.rollback.ServiceRevisionArn = aws.String(rev.arn)
	}
}

// performRollback puts production traffic back on the source revision
// and makes its deployment PRIMARY again (reusing the one still running
// it, as blue/green keeps it through shift and bake); the scheduler then
// scales the target down.
func (s *Sim) performRollback(sd *serviceDeployment, now time.Time) {
	svc := sd.svc
	if sd.rbRev == nil {
		s.finish(sd, types.ServiceDeploymentStatusRollbackFailed, sd.reason+" The rollback failed: there is no previous service revision to roll back to.", now)
		return
	}
	if svc.sdx.rollbackFails {
		s.finish(sd, types.ServiceDeploymentStatusRollbackFailed, sd.reason+" The rollback failed: the previous service revision could not be restored.", now)
		s.event(svc, now, fmt.Sprintf("(service %s) (service-deployment %s) rollback failed.", svc.name, sdID(sd)))
		return
	}
	var rb *deployment
	for _, d := range svc.deps {
		if d != sd.targetDep && d.rev == sd.rbRev {
			rb = d
			break
		}
	}
	rest := make([]*deployment, 0, len(svc.deps))
	for _, d := range svc.deps {
		if d != rb {
			d.status = "ACTIVE"
			rest = append(rest, d)
		}
	}
	if rb == nil {
		rb = s.newDeployment(svc, sd.rbRev.td, now)
		rb.rev = sd.rbRev
	} else {
		rb.status = "PRIMARY"
		rb.rollout = types.DeploymentRolloutStateInProgress
		rb.reason = fmt.Sprintf("ECS deployment %s in progress.", rb.id)
		rb.updatedAt = now
		rb.nextLaunch = time.Time{}
	}
	rb.ecsRollback = true // the deployment alarms do not judge a rollback
	svc.deps = append([]*deployment{rb}, rest...)
	if td := sd.targetDep; td.rollout == types.DeploymentRolloutStateInProgress {
		td.rollout = types.DeploymentRolloutStateFailed
		td.reason = fmt.Sprintf("ECS deployment %s rolled back.", td.id)
		td.updatedAt = now
	}
	svc.steady = false
	sd.rbDep = rb
	sd.prodWeight, sd.testWeight = 0, 0
	sd.status = types.ServiceDeploymentStatusRollbackInProgress
	sd.history = append(sd.history, string(sd.status))
	sd.updatedAt = now
	sd.next = time.Time{}
	s.event(svc, now, fmt.Sprintf("(service %s) rolling back to deployment %s.", svc.name, rb.id))
}

// advanceServiceDeployments moves every unfinished service deployment of
// svc as far as it can go at now.
func (s *Sim) advanceServiceDeployments(svc *service, now time.Time) bool {
	if svc.sdx == nil {
		return false
	}
	changed := false
	for _, sd := range svc.sdx.sds {
		for i := 0; i < 100 && !sd.ended(); i++ {
			if !s.stepServiceDeployment(sd, now) {
				break
			}
			changed = true
		}
	}
	return changed
}

func (s *Sim) stepServiceDeployment(sd *serviceDeployment, now time.Time) bool {
	svc := sd.svc
	d := sd.targetDep
	if d.failed > sd.cbFailures {
		sd.cbFailures = d.failed
	}
	switch sd.status {
	case types.ServiceDeploymentStatusPending:
		sd.status = types.ServiceDeploymentStatusInProgress
		sd.startedAt, sd.updatedAt = now, now
		sd.next = time.Time{}
		return true
	case types.ServiceDeploymentStatusInProgress:
		if sd.staged() {
			return s.stepStaged(sd, now)
		}
		if sd.rollingHooked() && d.rollout != types.DeploymentRolloutStateFailed { // rollinghooks.go
			if changed, through := s.stepRollingHooks(sd, now); !through || sd.status != types.ServiceDeploymentStatusInProgress {
				return changed
			}
		}
		switch d.rollout {
		case types.DeploymentRolloutStateCompleted:
			s.finish(sd, types.ServiceDeploymentStatusSuccessful, "", now)
			svc.sdx.good = sd.target
			return true
		case types.DeploymentRolloutStateFailed:
			reason, by := s.breakerReason(sd), "The deployment circuit breaker triggered a rollback."
			if names := s.cw.triggered[d.id]; len(names) > 0 {
				reason, by = alarmReason(names), "The deployment alarms triggered a rollback."
			}
			if len(svc.deps) > 0 && svc.deps[0] != d { // ECS started a rollback deployment
				rb := svc.deps[0]
				if rb.rev == nil {
					rb.rev = sd.rbRev
				}
				sd.rbDep = rb
				sd.status = types.ServiceDeploymentStatusRollbackInProgress
				sd.reason = "Service deployment rolled back because " + reason
				sd.rollback = &types.Rollback{Reason: aws.String(by), StartedAt: aws.Time(now)}
				if sd.rbRev != nil {
					sd.rollback.ServiceRevisionArn = aws.String(sd.rbRev.arn)
				}
				sd.updatedAt = now
				return true
			}
			s.finish(sd, types.ServiceDeploymentStatusStopped, "Service deployment failed because "+reason, now)
			return true
		}
		return false
	case types.ServiceDeploymentStatusRollbackRequested:
		if now.Before(sd.next) {
			return false
		}
		s.performRollback(sd, now)
		return true
	case types.ServiceDeploymentStatusRollbackInProgress:
		switch sd.rbDep.rollout {
		case types.DeploymentRolloutStateCompleted:
			s.finish(sd, types.ServiceDeploymentStatusRollbackSuccessful, "", now)
			return true
		case types.DeploymentRolloutStateFailed:
			s.finish(sd, types.ServiceDeploymentStatusRollbackFailed, sd.reason+" The rollback failed: "+sd.rbDep.reason, now)
			return true
		}
		return false
	case types.ServiceDeploymentStatusStopRequested:
		if now.Before(sd.next) {
			return false
		}
		if d.rollout == types.DeploymentRolloutStateInProgress {
			d.rollout = types.DeploymentRolloutStateFailed
			d.reason = fmt.Sprintf("ECS deployment %s stopped.", d.id)
			d.updatedAt = now
		}
		s.finish(sd, types.ServiceDeploymentStatusStopped, "", now)
		return true
	}
	return false
}

func (s *Sim) breakerReason(sd *serviceDeployment) string {
	n := sd.cbFailures
	return fmt.Sprintf("the deployment circuit breaker detected %d failed tasks (threshold %d): tasks failed to start.", n, cbThreshold(sd.svc))
}

// stagedBreaker handles a circuit-breaker trip of d when a staged service
// deployment targets it: ECS rolls the service deployment back (or stops
// it when rollback is off) instead of starting a rolling rollback. It
// reports whether it handled the trip.
func (s *Sim) stagedBreaker(svc *service, d *deployment, now time.Time) bool {
	sd := stagedTarget(svc, d)
	if sd == nil {
		return false
	}
	if d.failed > sd.cbFailures {
		sd.cbFailures = d.failed
	}
	s.stagedFailure(sd, s.breakerReason(sd), "The deployment circuit breaker triggered a rollback.", svc.cb.Rollback, now)
	return true
}

// stagedAlarms is stagedBreaker for deployment alarms that went into
// ALARM (names).
func (s *Sim) stagedAlarms(svc *service, d *deployment, names []string, now time.Time) bool {
	sd := stagedTarget(svc, d)
	if sd == nil {
		return false
	}
	s.stagedFailure(sd, alarmReason(names), "The deployment alarms triggered a rollback.", svc.alarms.Rollback, now)
	return true
}

func alarmReason(names []string) string {
	return fmt.Sprintf("the deployment alarm(s) %s went into ALARM.", strings.Join(names, ", "))
}

// stagedTarget is the staged service deployment moving svc to d, if any.
func stagedTarget(svc *service, d *deployment) *serviceDeployment {
	if svc.sdx == nil {
		return nil
	}
	sd := svc.sdx.current()
	if sd == nil || !sd.staged() || sd.targetDep != d || !sd.forward() {
		return nil
	}
	return sd
}

func (s *Sim) stagedFailure(sd *serviceDeployment, why, rollbackReason string, rollback bool, now time.Time) {
	if rollback {
		s.requestRollback(sd, "Service deployment rolled back because "+why, rollbackReason, now)
	} else {
		s.finish(sd, types.ServiceDeploymentStatusStopped, "Service deployment failed because "+why, now)
	}
}

// stagedGate tells the scheduler how a staged deployment changes the
// rolling rules: the target launches from SCALE_UP on, at its full count
// whatever maximumPercent says, and the source keeps running (and
// serving) until CLEAN_UP.
func (s *Sim) stagedGate(svc *service) (launch, ignoreMax, drain bool) {
	launch, drain = true, true
	if svc.sdx == nil || len(svc.deps) == 0 {
		return
	}
	sd := svc.sdx.current()
	if sd != nil && svc.deps[0] == sd.targetDep && rollingLaunchHeld(sd) { // rollinghooks.go
		launch = false
	}
	if sd == nil || !sd.staged() || sd.rbDep != nil || svc.deps[0] != sd.targetDep || sd.status == types.ServiceDeploymentStatusSuccessful {
		return
	}
	ignoreMax = true
	launch, drain = false, false
	if sd.forward() && sd.stageIdx >= 0 {
		ps := sd.plan[sd.stageIdx]
		launch = stageOrder(string(ps.stage)) >= stageOrder("SCALE_UP")
		drain = ps.cleanUp
	}
	if sd.status == types.ServiceDeploymentStatusRollbackRequested {
		launch = true // keep replacing failed target tasks until the rollback begins
	}
	return
}

// serviceDeploymentsNext is the next time a service deployment of svc has
// something to do (zero if none).
func (s *Sim) serviceDeploymentsNext(svc *service, now time.Time) time.Time {
	var next time.Time
	earliest := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if svc.sdx == nil {
		return next
	}
	for _, sd := range svc.sdx.sds {
		if sd.ended() {
			continue
		}
		earliest(sd.next)
		if (sd.staged() || sd.rollingHooked()) && sd.status == types.ServiceDeploymentStatusInProgress && sd.stageIdx >= 0 {
			earliest(sd.stageAt.Add(s.timings.Stage.D()))
			earliest(sd.waitUntil)
			if sd.hooksOf == sd.stageIdx {
				for _, h := range sd.hookRuns {
					if h.status == types.DeploymentLifecycleHookStatusInProgress || h.status == types.DeploymentLifecycleHookStatusAwaitingAction {
						earliest(h.nextInvoke)
						earliest(h.expiresAt)
					}
				}
			}
		}
	}
	return next
}

// stagedSettings are a service's strategy settings as a scenario or
// UpdateService gives them.
type stagedSettings struct {
	strategy types.DeploymentStrategy
	bake     *int32
	linear   *types.LinearConfiguration
	canary   *types.CanaryConfiguration
	hooks    []types.DeploymentLifecycleHook
	lbs      []types.LoadBalancer
}

// mergeStaged applies the members UpdateService (or a scenario) set to
// the service's current settings: members left out keep their value.
func mergeStaged(cur *svcDeploys, dc *types.DeploymentConfiguration, lbs []types.LoadBalancer) stagedSettings {
	n := stagedSettings{strategy: cur.strategy, bake: cur.bake, linear: cur.linear, canary: cur.canary, hooks: cur.hooks, lbs: cur.lbs}
	if dc != nil {
		if dc.Strategy != "" {
			n.strategy = dc.Strategy
		}
		if dc.BakeTimeInMinutes != nil {
			n.bake = aws.Int32(*dc.BakeTimeInMinutes)
		}
		if dc.LinearConfiguration != nil {
			c := *dc.LinearConfiguration
			n.linear = &c
		}
		if dc.CanaryConfiguration != nil {
			c := *dc.CanaryConfiguration
			n.canary = &c
		}
		if dc.LifecycleHooks != nil {
			n.hooks = append([]types.DeploymentLifecycleHook{}, dc.LifecycleHooks...)
		}
	}
	if lbs != nil {
		n.lbs = append([]types.LoadBalancer{}, lbs...)
	}
	return n
}

// validate returns the problems ECS would reject, worded as its
// InvalidParameterException messages.
func (n stagedSettings) validate() []string {
	var problems []string
	switch n.strategy {
	case "", types.DeploymentStrategyRolling, types.DeploymentStrategyBlueGreen, types.DeploymentStrategyLinear, types.DeploymentStrategyCanary:
	default:
		problems = append(problems, fmt.Sprintf("deploymentConfiguration.strategy %q is not valid: use ROLLING, BLUE_GREEN, LINEAR or CANARY.", n.strategy))
	}
	if n.bake != nil && (*n.bake < 0 || *n.bake > 1440) {
		problems = append(problems, "bakeTimeInMinutes must be between 0 and 1440.")
	}
	tenth := func(v float64) bool { return math.Abs(v*10-math.Round(v*10)) < 1e-6 }
	if lc := n.linear; lc != nil {
		if p := lc.StepPercent; p != nil && (*p < 3 || *p > 100 || !tenth(*p)) {
			problems = append(problems, "linearConfiguration.stepPercent must be a multiple of 0.1 from 3.0 to 100.0.")
		}
		if b := lc.StepBakeTimeInMinutes; b != nil && (*b < 0 || *b > 1440) {
			problems = append(problems, "linearConfiguration.stepBakeTimeInMinutes must be between 0 and 1440.")
		}
	}
	if cc := n.canary; cc != nil {
		if p := cc.CanaryPercent; p != nil && (*p < 0.1 || *p > 100 || !tenth(*p)) {
			problems = append(problems, "canaryConfiguration.canaryPercent must be a multiple of 0.1 from 0.1 to 100.0.")
		}
		if b := cc.CanaryBakeTimeInMinutes; b != nil && (*b < 0 || *b > 1440) {
			problems = append(problems, "canaryConfiguration.canaryBakeTimeInMinutes must be between 0 and 1440.")
		}
	}
	for i, h := range n.hooks {
		pause := h.TargetType == types.DeploymentLifecycleHookTargetTypePause
		switch h.TargetType {
		case "", types.DeploymentLifecycleHookTargetTypeAwsLambda, types.DeploymentLifecycleHookTargetTypePause:
		default:
			problems = append(problems, fmt.Sprintf("lifecycleHooks[%d].targetType %q is not valid: use AWS_LAMBDA or PAUSE.", i, h.TargetType))
		}
		if !pause && aws.ToString(h.HookTargetArn) == "" {
			problems = append(problems, fmt.Sprintf("lifecycleHooks[%d].hookTargetArn is required for an AWS_LAMBDA hook.", i))
		}
		if len(h.LifecycleStages) == 0 {
			problems = append(problems, fmt.Sprintf("lifecycleHooks[%d].lifecycleStages must not be empty.", i))
		}
		for _, st := range h.LifecycleStages {
			o := stageOrder(string(st))
			if o < 0 || st == "SCALE_UP" || st == "BAKE_TIME" || st == "CLEAN_UP" {
				problems = append(problems, fmt.Sprintf("lifecycleHooks[%d]: %q is not a lifecycle stage a hook can run at.", i, st))
			}
			if pause && (st == types.DeploymentLifecycleHookStageTestTrafficShift || st == types.DeploymentLifecycleHookStageProductionTrafficShift) {
				problems = append(problems, fmt.Sprintf("lifecycleHooks[%d]: PAUSE hooks cannot be configured at the %s stage.", i, st))
			}
		}
		if tc := h.TimeoutConfiguration; tc != nil {
			if tc.TimeoutInMinutes != nil && (*tc.TimeoutInMinutes < 1 || *tc.TimeoutInMinutes > 1440) {
				problems = append(problems, fmt.Sprintf("lifecycleHooks[%d].timeoutConfiguration.timeoutInMinutes must be between 1 and 1440.", i))
			}
			switch tc.Action {
			case "", types.DeploymentLifecycleHookActionContinue, types.DeploymentLifecycleHookActionRollback:
			default:
				problems = append(problems, fmt.Sprintf("lifecycleHooks[%d].timeoutConfiguration.action %q is not valid: use CONTINUE or ROLLBACK.", i, tc.Action))
			}
		}
	}
	return problems
}

func (n stagedSettings) applyTo(st *svcDeploys) {
	st.strategy, st.bake, st.linear, st.canary, st.hooks, st.lbs = n.strategy, n.bake, n.linear, n.canary, n.hooks, n.lbs
}
