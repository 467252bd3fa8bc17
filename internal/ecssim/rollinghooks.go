package ecssim

import (
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Lifecycle hooks on ROLLING services. The API accepts lifecycleHooks on
// a ROLLING service (DeploymentConfiguration, API reference), and AWS's
// announcement of PAUSE hooks (May 2026) names rolling deployments among
// the strategies they work with; the developer guide's pages on hooks
// (deployment-lifecycle-hooks.html, pause-lifecycle-hooks.html) list the
// stages a hook can run at without tying them to a strategy, and describe
// them in blue/green terms. A rolling deployment has no test or
// production traffic shift, so the simulator runs a ROLLING service's
// hooks at the stages a rolling deployment has: RECONCILE_SERVICE (only
// with more than one ACTIVE revision), PRE_SCALE_UP (before the first new
// task starts), then SCALE_UP (the rolling replacement, within
// minimumHealthyPercent and maximumPercent, as without hooks), then
// POST_SCALE_UP (the new revision runs its desired count, all healthy);
// the deployment completes after the POST_SCALE_UP hooks. Hooks at a
// traffic-shift stage never run on a rolling deployment. A Lambda hook
// that fails, a PAUSE hook continued with ROLLBACK, or a hook that times
// out with the ROLLBACK action rolls the deployment back to the previous
// revision, as on a staged one (strategies.go: runHooks, requestRollback).

// rollingHookPlan lays out a ROLLING deployment's stages when the service
// has lifecycle hooks (nil without).
func rollingHookPlan(st *svcDeploys, reconcile bool) []planStage {
	if len(st.hooks) == 0 {
		return nil
	}
	stage := func(name string, hook bool) planStage {
		ps := planStage{stage: types.ServiceDeploymentLifecycleStage(name), prod: -1, test: -1}
		if hook {
			ps.hookStage = types.DeploymentLifecycleHookStage(name)
		}
		ps.scaleUp = name == "SCALE_UP"
		return ps
	}
	var p []planStage
	if reconcile {
		p = append(p, stage("RECONCILE_SERVICE", true))
	}
	return append(p, stage("PRE_SCALE_UP", true), stage("SCALE_UP", false), stage("POST_SCALE_UP", true))
}

// rollingHooked reports whether sd is a ROLLING deployment with hooks.
func (sd *serviceDeployment) rollingHooked() bool { return !sd.staged() && sd.plan != nil }

// stepRollingHooks advances an IN_PROGRESS ROLLING deployment with hooks
// through its stages. through is set once the last stage's hooks are
// done: the deployment then completes as any rolling one.
func (s *Sim) stepRollingHooks(sd *serviceDeployment, now time.Time) (changed, through bool) {
	if sd.stageIdx < 0 {
		s.enterStage(sd, 0, now)
		return true, false
	}
	changed, done := s.runHooks(sd, now)
	if !done || sd.status != types.ServiceDeploymentStatusInProgress {
		return changed, false
	}
	ps := sd.plan[sd.stageIdx]
	if ps.scaleUp && !targetReady(sd) {
		return changed, false
	}
	if sd.stageIdx == len(sd.plan)-1 {
		return changed, true
	}
	if now.Before(sd.stageAt.Add(s.timings.Stage.D())) {
		return changed, false
	}
	s.enterStage(sd, sd.stageIdx+1, now)
	return true, false
}

// rollingHooksHold reports whether prim, the PRIMARY of svc, must not be
// marked COMPLETED yet: its ROLLING service deployment still has stages
// (and hooks) to go through.
func (s *Sim) rollingHooksHold(svc *service, prim *deployment) bool {
	if svc.sdx == nil {
		return false
	}
	sd := svc.sdx.current()
	if sd == nil || !sd.rollingHooked() || sd.targetDep != prim || !sd.forward() {
		return false
	}
	last := len(sd.plan) - 1
	if sd.stageIdx < last {
		return true
	}
	_, done := s.runHooksDone(sd)
	return !done
}

// runHooksDone reports, without invoking anything, whether the current
// stage's hooks are all done.
func (s *Sim) runHooksDone(sd *serviceDeployment) (failed, done bool) {
	if sd.hooksOf != sd.stageIdx {
		return false, true
	}
	for _, h := range sd.hookRuns {
		switch h.status {
		case types.DeploymentLifecycleHookStatusSucceeded, types.DeploymentLifecycleHookStatusTimedOut:
		case types.DeploymentLifecycleHookStatusFailed:
			return true, false
		default:
			return false, false
		}
	}
	return false, true
}

// rollingLaunchHeld reports whether a ROLLING deployment with hooks has
// not reached SCALE_UP yet: no new task starts before it.
func rollingLaunchHeld(sd *serviceDeployment) bool {
	if !sd.rollingHooked() || !sd.forward() {
		return false
	}
	if sd.stageIdx < 0 {
		return true
	}
	return slices.Index([]types.ServiceDeploymentLifecycleStage{"RECONCILE_SERVICE", "PRE_SCALE_UP"}, sd.plan[sd.stageIdx].stage) >= 0
}
