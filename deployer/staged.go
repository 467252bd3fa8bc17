package deployer

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// This file judges the deployments of ECS's own traffic-shifting
// strategies (BLUE_GREEN, LINEAR, CANARY) from their ServiceDeployment:
// status, lifecycle stage, the target revision's tasks and traffic
// weights, lifecycle hooks and the monitors (circuit breaker, alarms)
// that make ECS roll back by itself. Everything here is pure: the watch
// loop feeds it what it read and acts on what it decides.

// isStaged reports whether a service's strategy is one ECS runs in
// lifecycle stages, watched through the service-deployment API.
func isStaged(s types.DeploymentStrategy) bool {
	switch s {
	case types.DeploymentStrategyBlueGreen, types.DeploymentStrategyLinear, types.DeploymentStrategyCanary:
		return true
	}
	return false
}

// strategyOf is the service's deployment strategy; ECS's default is ROLLING.
func strategyOf(svc types.Service) types.DeploymentStrategy {
	if c := svc.DeploymentConfiguration; c != nil && c.Strategy != "" {
		return c.Strategy
	}
	return types.DeploymentStrategyRolling
}

// stagedOutcome is what one read of our service deployment means.
type stagedOutcome int

const (
	// stagedInProgress: keep watching.
	stagedInProgress stagedOutcome = iota
	// stagedSucceeded: SUCCESSFUL, after ECS's own bake time.
	stagedSucceeded
	// stagedPaused: waiting at a PAUSE hook for ContinueServiceDeployment.
	stagedPaused
	// stagedFailed: one of our own failure signals; the rollback is ours.
	stagedFailed
	// stagedECSRollback: ECS started a rollback by itself (circuit
	// breaker, alarm, hook); watch it, do not start a second one.
	stagedECSRollback
	// stagedRolledBack: ROLLBACK_SUCCESSFUL.
	stagedRolledBack
	// stagedRollbackFailed: ROLLBACK_FAILED.
	stagedRollbackFailed
	// stagedStopped: STOPPED without a rollback: stopped by someone else,
	// replaced by another deployment, or failed with rollback off.
	stagedStopped
)

// stagedDecision is the judgement on one read.
type stagedDecision struct {
	outcome stagedOutcome
	reason  string // one sentence, no trailing period; set for every outcome but in-progress
	// line is the progress line for people, set only when something they
	// see changed since the previous read.
	line string
	// stages are the lifecycle stages reached since the previous read,
	// as timeline milestone names.
	stages []string
	// hook is the PAUSE hook we wait at (stagedPaused).
	hook *types.DeploymentLifecycleHookDetail
	// signal: the target revision lost running tasks or the circuit
	// breaker counted more failures; worth a look at the stopped tasks.
	signal bool
}

// stagedJudge judges one service deployment read after read. It keeps
// only what it needs to tell changes and to name ECS's triggers.
type stagedJudge struct {
	id        string // the service deployment's ID, for people
	rev       string // our revision as people read it ("web:42")
	prev      string // the rollback target as people read it ("web:41")
	hooks     []types.DeploymentLifecycleHook
	threshold int

	ourRollback bool            // we asked ECS to roll back (Stop, or Continue with ROLLBACK)
	continued   map[string]bool // PAUSE hooks we continued (hookKey): a stale read may still show them waiting

	lastLine    string
	lastStage   types.ServiceDeploymentLifecycleStage // the last stage seen while moving forward
	stageKey    string                                // the last stage milestone
	running     int32
	failures    int32
	seenFull    bool
	reads       int
	lastRead    types.ServiceDeployment
	hasLastRead bool
}

func newStagedJudge(arn, rev, prev string, hooks []types.DeploymentLifecycleHook, threshold int) *stagedJudge {
	return &stagedJudge{id: serviceDeploymentID(arn), rev: rev, prev: prev, hooks: hooks,
		threshold: max(threshold, 1), continued: map[string]bool{}}
}

// judge decides what one read of the service deployment means.
func (j *stagedJudge) judge(sd types.ServiceDeployment) stagedDecision {
	var d stagedDecision
	j.reads++
	target := targetOf(sd)
	rolling := isRollbackStatus(sd.Status)

	if line := j.progressLine(sd); line != j.lastLine {
		d.line, j.lastLine = line, line
	}
	if key := stageMilestone(sd); key != "" && key != j.stageKey && sd.Status != types.ServiceDeploymentStatusPending {
		if !rolling {
			d.stages = append(d.stages, j.passed(sd.LifecycleStage)...)
		}
		j.stageKey = key
		d.stages = append(d.stages, key)
	}
	if !rolling && sd.LifecycleStage != "" {
		j.lastStage = sd.LifecycleStage
	}

	// Signals that tasks of ours stopped: only while moving forward (a
	// rollback scales our revision in on purpose).
	fails := breakerFailures(sd)
	if !rolling && j.reads > 1 && (target.RunningTaskCount < j.running || fails > j.failures) {
		d.signal = true
	}
	if target.RequestedTaskCount > 0 && target.RunningTaskCount >= target.RequestedTaskCount {
		j.seenFull = true
	}
	j.running, j.failures = target.RunningTaskCount, fails
	j.lastRead, j.hasLastRead = sd, true

	switch sd.Status {
	case types.ServiceDeploymentStatusSuccessful:
		d.outcome = stagedSucceeded
		d.reason = fmt.Sprintf("deployment %s completed: %d/%d tasks of %s running%s", j.id,
			target.RunningTaskCount, target.RequestedTaskCount, j.rev, weightNote(target))
		return d
	case types.ServiceDeploymentStatusRollbackSuccessful:
		d.outcome = stagedRolledBack
		d.reason = j.rollbackReason(sd)
		return d
	case types.ServiceDeploymentStatusRollbackFailed:
		d.outcome = stagedRollbackFailed
		d.reason = fmt.Sprintf("the rollback of deployment %s to %s failed", j.id, j.prev)
		if why := strings.TrimSuffix(aws.ToString(sd.StatusReason), "."); why != "" {
			d.reason += ": " + why
		}
		return d
	case types.ServiceDeploymentStatusRollbackRequested, types.ServiceDeploymentStatusRollbackInProgress:
		if j.ourRollback {
			return d
		}
		d.outcome = stagedECSRollback
		d.reason = j.rollbackReason(sd)
		return d
	case types.ServiceDeploymentStatusStopped:
		d.outcome = stagedStopped
		d.reason = j.stoppedReason(sd)
		return d
	case types.ServiceDeploymentStatusStopRequested:
		// We never send a stop without a rollback: someone else stopped
		// our deployment, and ECS "continues to stop" it whatever else
		// is asked (developer guide, stop-service-deployment.html), so a
		// StopServiceDeployment ROLLBACK of ours would not roll it back.
		d.outcome = stagedStopped
		d.reason = j.stoppedReason(sd)
		return d
	}

	if h := j.awaiting(sd); h != nil {
		d.outcome = stagedPaused
		d.hook = h
		d.reason = fmt.Sprintf("deployment %s of %s is paused at %s, waiting at %s", j.id, j.rev,
			cmp.Or(string(sd.LifecycleStage), "a lifecycle stage"), hookName(*h))
		return d
	}
	if !j.ourRollback && int(fails) >= j.threshold && !breakerTripped(sd) {
		d.outcome = stagedFailed
		d.reason = fmt.Sprintf("%d %s of %s failed to start (failed-tasks-threshold %d)", fails, plural(int(fails), "task", "tasks"), j.rev, j.threshold)
	}
	return d
}

// forwardStages are the lifecycle stages every staged deployment goes
// through, in order (RECONCILE_SERVICE happens only sometimes).
var forwardStages = []types.ServiceDeploymentLifecycleStage{
	types.ServiceDeploymentLifecycleStagePreScaleUp,
	types.ServiceDeploymentLifecycleStageScaleUp,
	types.ServiceDeploymentLifecycleStagePostScaleUp,
	types.ServiceDeploymentLifecycleStageTestTrafficShift,
	types.ServiceDeploymentLifecycleStagePostTestTrafficShift,
	types.ServiceDeploymentLifecycleStageProductionTrafficShift,
	types.ServiceDeploymentLifecycleStagePostProductionTrafficShift,
	types.ServiceDeploymentLifecycleStageBakeTime,
	types.ServiceDeploymentLifecycleStageCleanUp,
}

// passed returns the stages ECS must have gone through between the last
// stage we saw (or the start) and stage, which fell between two reads:
// the timeline lists every stage reached, these marked as such.
func (j *stagedJudge) passed(stage types.ServiceDeploymentLifecycleStage) []string {
	to := slices.Index(forwardStages, stage)
	from := slices.Index(forwardStages, j.lastStage)
	if to < 0 {
		return nil
	}
	if from < 0 && j.lastStage != "" {
		return nil // an unknown stage: no order to go by
	}
	var out []string
	for _, s := range forwardStages[from+1 : max(to, from+1)] {
		out = append(out, string(s)+" (between two reads)")
	}
	return out
}

// noteRollback records that we asked ECS to roll back, so the rollback
// statuses that follow are ours, not ECS's.
func (j *stagedJudge) noteRollback() { j.ourRollback = true }

// noteContinued records a PAUSE hook we continued, as read in sd.
func (j *stagedJudge) noteContinued(sd types.ServiceDeployment, hookID string) {
	j.continued[hookKey(sd, hookID)] = true
}

// hookKey tells one wait at a PAUSE hook from another. ECS keeps a hook's
// hookId for the whole service deployment (developer guide,
// pause-lifecycle-hooks.html: one hookId for the pause hook), so a LINEAR
// or CANARY deployment waits at its PRE_PRODUCTION_TRAFFIC_SHIFT hook
// before every traffic step with the same ID: the stage and the
// production traffic already on our revision say which wait it is.
func hookKey(sd types.ServiceDeployment, hookID string) string {
	return fmt.Sprintf("%s|%s|%g", hookID, sd.LifecycleStage, aws.ToFloat64(targetOf(sd).RequestedProductionTrafficWeight))
}

// awaiting returns the PAUSE hook our deployment waits at, if any.
func (j *stagedJudge) awaiting(sd types.ServiceDeployment) *types.DeploymentLifecycleHookDetail {
	if sd.Status != types.ServiceDeploymentStatusInProgress && sd.Status != types.ServiceDeploymentStatusPending {
		return nil
	}
	for i := range sd.LifecycleHookDetails {
		h := &sd.LifecycleHookDetails[i]
		if h.Status == types.DeploymentLifecycleHookStatusAwaitingAction && !j.continued[hookKey(sd, aws.ToString(h.HookId))] {
			return h
		}
	}
	return nil
}

// pausedHook returns the hook a service deployment waits at, for resume.
func pausedHook(sd types.ServiceDeployment) *types.DeploymentLifecycleHookDetail {
	if sd.Status != types.ServiceDeploymentStatusInProgress {
		return nil
	}
	for i := range sd.LifecycleHookDetails {
		if sd.LifecycleHookDetails[i].Status == types.DeploymentLifecycleHookStatusAwaitingAction {
			return &sd.LifecycleHookDetails[i]
		}
	}
	return nil
}

// breakerTripped reports whether ECS's circuit breaker has judged the
// deployment failed: ECS then rolls back (or stops) by itself, and our
// own failed-task count must not race it with a second rollback.
func breakerTripped(sd types.ServiceDeployment) bool {
	cb := sd.DeploymentCircuitBreaker
	return cb != nil && cb.Status == types.ServiceDeploymentRollbackMonitorsStatusTriggered
}

func breakerFailures(sd types.ServiceDeployment) int32 {
	if sd.DeploymentCircuitBreaker == nil {
		return 0
	}
	return sd.DeploymentCircuitBreaker.FailureCount
}

// isRollbackStatus reports whether a status belongs to a rollback.
func isRollbackStatus(s types.ServiceDeploymentStatus) bool {
	switch s {
	case types.ServiceDeploymentStatusRollbackRequested, types.ServiceDeploymentStatusRollbackInProgress,
		types.ServiceDeploymentStatusRollbackSuccessful, types.ServiceDeploymentStatusRollbackFailed:
		return true
	}
	return false
}

// isFinished reports whether a service deployment reached an end state.
func isFinished(s types.ServiceDeploymentStatus) bool {
	switch s {
	case types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentStatusStopped,
		types.ServiceDeploymentStatusRollbackSuccessful, types.ServiceDeploymentStatusRollbackFailed:
		return true
	}
	return false
}

// rollbackReason says what rolled our deployment back: ours, or what
// made ECS roll back (the trigger), without where to (the caller knows
// the rollback target).
func (j *stagedJudge) rollbackReason(sd types.ServiceDeployment) string {
	if j.ourRollback {
		return fmt.Sprintf("deployment %s rolled back to %s", j.id, cmp.Or(j.prev, "the previous revision"))
	}
	return fmt.Sprintf("deployment %s failed: %s", j.id, j.trigger(sd))
}

// stoppedReason explains a deployment that stopped without a rollback.
func (j *stagedJudge) stoppedReason(sd types.ServiceDeployment) string {
	why := strings.TrimSuffix(aws.ToString(sd.StatusReason), ".")
	if t := j.detected(sd); t != "" {
		s := fmt.Sprintf("deployment %s failed: %s; ECS stopped it without rolling back", j.id, t)
		if why != "" && !strings.Contains(t, why) {
			s += " (" + why + ")"
		}
		return s
	}
	return fmt.Sprintf("deployment %s was stopped: %s", j.id, cmp.Or(why, "no reason given"))
}

// trigger names what made ECS roll back: the hook (which one, at which
// stage), the alarms by name, the circuit breaker with its failure count,
// or ECS's own words.
func (j *stagedJudge) trigger(sd types.ServiceDeployment) string {
	if t := j.detected(sd); t != "" {
		return t
	}
	if sd.Rollback != nil {
		if why := strings.TrimSuffix(aws.ToString(sd.Rollback.Reason), "."); why != "" {
			return why
		}
	}
	return cmp.Or(strings.TrimSuffix(aws.ToString(sd.StatusReason), "."), "ECS gave no reason")
}

// detected names the monitors and hooks that failed the deployment, or "".
func (j *stagedJudge) detected(sd types.ServiceDeployment) string {
	var parts []string
	for _, h := range sd.LifecycleHookDetails {
		switch h.Status {
		case types.DeploymentLifecycleHookStatusFailed:
			parts = append(parts, fmt.Sprintf("%s failed at %s", hookName(h), j.hookStage(h)))
		case types.DeploymentLifecycleHookStatusTimedOut:
			s := fmt.Sprintf("%s timed out at %s", hookName(h), j.hookStage(h))
			if h.TimeoutAction != "" {
				s += fmt.Sprintf(" (timeout action %s)", h.TimeoutAction)
			}
			parts = append(parts, s)
		}
	}
	if a := sd.Alarms; a != nil && a.Status == types.ServiceDeploymentRollbackMonitorsStatusTriggered {
		names := a.TriggeredAlarmNames
		switch len(names) {
		case 0:
			parts = append(parts, "a CloudWatch alarm of the service went off")
		case 1:
			parts = append(parts, fmt.Sprintf("CloudWatch alarm %s went off", names[0]))
		default:
			parts = append(parts, fmt.Sprintf("CloudWatch alarms %s went off", strings.Join(names, ", ")))
		}
	}
	if cb := sd.DeploymentCircuitBreaker; cb != nil && cb.Status == types.ServiceDeploymentRollbackMonitorsStatusTriggered {
		s := fmt.Sprintf("the deployment circuit breaker tripped after %d failed %s", cb.FailureCount, plural(int(cb.FailureCount), "task", "tasks"))
		if cb.Threshold > 0 {
			s += fmt.Sprintf(" (threshold %d)", cb.Threshold)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// hookStage is the lifecycle stage a hook ran at: the one its
// configuration names when there is one, else the stage the deployment
// was at when we last saw it move forward.
func (j *stagedJudge) hookStage(h types.DeploymentLifecycleHookDetail) string {
	var stages []types.DeploymentLifecycleHookStage
	for _, c := range j.hooks {
		if c.TargetType == h.TargetType && aws.ToString(c.HookTargetArn) == aws.ToString(h.TargetArn) {
			stages = append(stages, c.LifecycleStages...)
		}
	}
	switch {
	case len(stages) == 1:
		return string(stages[0])
	case j.lastStage != "" && (len(stages) == 0 || slices.Contains(stages, types.DeploymentLifecycleHookStage(j.lastStage))):
		return string(j.lastStage)
	case len(stages) > 0:
		names := make([]string, len(stages))
		for i, s := range stages {
			names[i] = string(s)
		}
		return strings.Join(names, " or ")
	}
	return "an unknown stage"
}

// hookName is a hook as people read it: "Lambda hook smoke-test" or
// "PAUSE hook ecs-pause-…".
func hookName(h types.DeploymentLifecycleHookDetail) string {
	switch h.TargetType {
	case types.DeploymentLifecycleHookTargetTypeAwsLambda:
		return "Lambda hook " + lambdaName(aws.ToString(h.TargetArn))
	case types.DeploymentLifecycleHookTargetTypePause:
		return "PAUSE hook " + cmp.Or(aws.ToString(h.HookId), "(no ID)")
	}
	name := cmp.Or(aws.ToString(h.TargetArn), aws.ToString(h.HookId))
	return strings.TrimSpace(cmp.Or(string(h.TargetType), "lifecycle") + " hook " + name)
}

// lambdaName is a Lambda function's name from its ARN (with its
// qualifier, when the ARN has one).
func lambdaName(arn string) string {
	if _, rest, ok := strings.Cut(arn, ":function:"); ok {
		return rest
	}
	return arn
}

// targetOf is the target revision's summary (zero when absent).
func targetOf(sd types.ServiceDeployment) types.ServiceRevisionSummary {
	if sd.TargetServiceRevision != nil {
		return *sd.TargetServiceRevision
	}
	return types.ServiceRevisionSummary{}
}

// progressLine is the one line people read about a read of our
// deployment: "deployment 4f2a: PRODUCTION_TRAFFIC_SHIFT, production 30 %
// → web:42, 3/3 running, IN_PROGRESS".
func (j *stagedJudge) progressLine(sd types.ServiceDeployment) string {
	t := targetOf(sd)
	var b strings.Builder
	fmt.Fprintf(&b, "deployment %s: %s", j.id, cmp.Or(string(sd.LifecycleStage), "-"))
	if t.RequestedProductionTrafficWeight != nil {
		fmt.Fprintf(&b, ", production %s %% → %s", percent(*t.RequestedProductionTrafficWeight), j.rev)
	}
	if tw := t.RequestedTestTrafficWeight; tw != nil && (strings.Contains(string(sd.LifecycleStage), "TEST_TRAFFIC") ||
		(*tw > 0 && (t.RequestedProductionTrafficWeight == nil || *tw != *t.RequestedProductionTrafficWeight))) {
		fmt.Fprintf(&b, ", test %s %%", percent(*t.RequestedTestTrafficWeight))
	}
	fmt.Fprintf(&b, ", %d/%d running", t.RunningTaskCount, t.RequestedTaskCount)
	if t.PendingTaskCount > 0 {
		fmt.Fprintf(&b, ", %d pending", t.PendingTaskCount)
	}
	for _, h := range sd.LifecycleHookDetails {
		switch h.Status {
		case types.DeploymentLifecycleHookStatusInProgress, types.DeploymentLifecycleHookStatusAwaitingAction,
			types.DeploymentLifecycleHookStatusFailed, types.DeploymentLifecycleHookStatusTimedOut:
			fmt.Fprintf(&b, ", %s %s", hookName(h), h.Status)
		}
	}
	if cb := sd.DeploymentCircuitBreaker; cb != nil && cb.FailureCount > 0 {
		fmt.Fprintf(&b, ", %d failed", cb.FailureCount)
	}
	fmt.Fprintf(&b, ", %s", cmp.Or(string(sd.Status), "-"))
	return b.String()
}

// stageMilestone is the timeline name of the stage a read shows: the
// stage, and for traffic shifts the production weight on our revision,
// so each step of a linear or canary deployment is its own milestone.
func stageMilestone(sd types.ServiceDeployment) string {
	if sd.LifecycleStage == "" {
		return ""
	}
	name := string(sd.LifecycleStage)
	if isRollbackStatus(sd.Status) {
		return "rollback: " + name
	}
	t := targetOf(sd)
	if sd.LifecycleStage == types.ServiceDeploymentLifecycleStageProductionTrafficShift && t.RequestedProductionTrafficWeight != nil {
		name += fmt.Sprintf(" (production %s %%)", percent(*t.RequestedProductionTrafficWeight))
	}
	return name
}

// weightNote is ", production 100 %" when the weight is known.
func weightNote(t types.ServiceRevisionSummary) string {
	if t.RequestedProductionTrafficWeight == nil {
		return ""
	}
	return fmt.Sprintf(", production %s %%", percent(*t.RequestedProductionTrafficWeight))
}

// percent prints a traffic weight without needless decimals: 30, 12.5.
func percent(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// serviceDeploymentID is the last part of a service deployment ARN, the
// ID the console shows.
func serviceDeploymentID(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 && strings.HasPrefix(arn, "arn:") {
		return arn[i+1:]
	}
	return arn
}

// pausedNotice is what people read when a run ends at a PAUSE hook: the
// stage, the hook, its deadline, and the step to run next.
func pausedNotice(service, id, rev string, stage types.ServiceDeploymentLifecycleStage, h types.DeploymentLifecycleHookDetail) string {
	s := fmt.Sprintf("deployment %s of %s is paused at %s (%s)", id, rev, cmp.Or(string(stage), "a lifecycle stage"), hookName(h))
	if h.ExpiresAt != nil {
		s += fmt.Sprintf("; ECS waits until %s", h.ExpiresAt.UTC().Format(time.RFC3339))
		switch h.TimeoutAction {
		case types.DeploymentLifecycleHookActionRollback:
			s += ", then rolls back"
		case types.DeploymentLifecycleHookActionContinue:
			s += ", then continues"
		}
	}
	return s + fmt.Sprintf(". Next: run ecs-rollout with service: %s and resume: continue (or resume: rollback)", service)
}

// strategyPlan describes a service's strategy for the dry run: the
// strategy, its steps, bake time, hooks and monitors.
func strategyPlan(c *types.DeploymentConfiguration) []string {
	strategy := types.DeploymentStrategyRolling
	if c != nil && c.Strategy != "" {
		strategy = c.Strategy
	}
	var lines []string
	switch strategy {
	case types.DeploymentStrategyBlueGreen:
		lines = append(lines, "strategy BLUE_GREEN: ECS starts the new revision beside the old one, shifts test traffic, then all production traffic at once")
	case types.DeploymentStrategyLinear:
		s := "strategy LINEAR: ECS shifts production traffic in equal steps"
		if l := c.LinearConfiguration; l != nil {
			if l.StepPercent != nil {
				s += fmt.Sprintf(" of %s %%", percent(*l.StepPercent))
			}
			if l.StepBakeTimeInMinutes != nil {
				s += fmt.Sprintf(", waiting %s between steps", minutes(*l.StepBakeTimeInMinutes))
			}
		}
		lines = append(lines, s)
	case types.DeploymentStrategyCanary:
		s := "strategy CANARY: ECS shifts a canary share of production traffic first, then the rest"
		if k := c.CanaryConfiguration; k != nil {
			if k.CanaryPercent != nil {
				s = fmt.Sprintf("strategy CANARY: ECS shifts %s %% of production traffic first", percent(*k.CanaryPercent))
			}
			if k.CanaryBakeTimeInMinutes != nil {
				s += fmt.Sprintf(", waits %s", minutes(*k.CanaryBakeTimeInMinutes))
			}
			s += ", then the rest"
		}
		lines = append(lines, s)
	default:
		lines = append(lines, fmt.Sprintf("strategy %s: ECS replaces tasks in place", strategy))
		if c == nil || len(c.LifecycleHooks) == 0 {
			return lines
		}
	}
	if c.BakeTimeInMinutes != nil {
		lines = append(lines, fmt.Sprintf("bake time %s: the old revision keeps running after the shift; a failure then rolls production traffic straight back", minutes(*c.BakeTimeInMinutes)))
	}
	for _, h := range c.LifecycleHooks {
		stages := make([]string, len(h.LifecycleStages))
		for i, s := range h.LifecycleStages {
			stages[i] = string(s)
		}
		var s string
		switch h.TargetType {
		case types.DeploymentLifecycleHookTargetTypePause:
			s = "hook PAUSE at " + strings.Join(stages, ", ") + ": waits for ContinueServiceDeployment"
			if tc := h.TimeoutConfiguration; tc != nil && tc.TimeoutInMinutes != nil {
				s += fmt.Sprintf(" (after %s: %s)", minutes(*tc.TimeoutInMinutes), cmp.Or(string(tc.Action), "ECS's default"))
			}
		case types.DeploymentLifecycleHookTargetTypeAwsLambda:
			s = fmt.Sprintf("hook Lambda %s at %s", lambdaName(aws.ToString(h.HookTargetArn)), strings.Join(stages, ", "))
		default:
			s = fmt.Sprintf("hook %s %s at %s", cmp.Or(string(h.TargetType), "lifecycle"), aws.ToString(h.HookTargetArn), strings.Join(stages, ", "))
		}
		lines = append(lines, s)
	}
	return lines
}

func minutes(n int32) string {
	if n == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", n)
}
