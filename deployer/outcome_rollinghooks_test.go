package deployer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// Lifecycle hooks on ROLLING services (issue 26, section 4;
// docs/pause-hooks.md): the simulator runs a rolling deployment's hooks
// at PRE_SCALE_UP and POST_SCALE_UP (internal/ecssim/rollinghooks.go);
// ecs-rollout watches such a service through its service deployments.

const rollingHookFn = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test"

// rollingPause gives web a PAUSE hook at stage that times out after an
// hour with action.
func rollingPause(stage types.DeploymentLifecycleHookStage, action types.DeploymentLifecycleHookAction) func(*ecssim.Scenario) {
	return func(sc *ecssim.Scenario) {
		sc.Services[0].DeploymentConfiguration.LifecycleHooks = []types.DeploymentLifecycleHook{{
			TargetType: types.DeploymentLifecycleHookTargetTypePause, LifecycleStages: []types.DeploymentLifecycleHookStage{stage},
			TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(60), Action: action}}}
	}
}

// rollingLambda gives web a Lambda hook at POST_SCALE_UP that returns
// results.
func rollingLambda(results ...ecssim.HookStatus) func(*ecssim.Scenario) {
	return func(sc *ecssim.Scenario) {
		sc.Services[0].DeploymentConfiguration.LifecycleHooks = []types.DeploymentLifecycleHook{{
			TargetType: types.DeploymentLifecycleHookTargetTypeAwsLambda, HookTargetArn: aws.String(rollingHookFn),
			RoleArn:         aws.String("arn:aws:iam::123456789012:role/ecs-hooks"),
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostScaleUp}}}
		sc.LambdaHooks = append(sc.LambdaHooks, ecssim.HookScript{HookTargetArn: rollingHookFn, Results: results})
	}
}

func onPause(p deployer.OnPause) func(*deployer.Config) {
	return func(cfg *deployer.Config) { cfg.OnPause = p }
}

func strategyIs(want string) func(t *testing.T, o outcome) {
	return func(t *testing.T, o outcome) {
		t.Helper()
		if o.res.Strategy != want {
			t.Errorf("Result.Strategy %q, want %q", o.res.Strategy, want)
		}
	}
}

var rollingHookRows = []outcomeRow{
	{name: "rolling, PAUSE hook at POST_SCALE_UP: paused", strategy: "ROLLING", moment: "POST_SCALE_UP", fault: "PAUSE hook",
		world: rollingPause(types.DeploymentLifecycleHookStagePostScaleUp, types.DeploymentLifecycleHookActionRollback),
		want:  deployer.StatusPaused, wantReason: []string{"paused at POST_SCALE_UP"}, settle: time.Minute,
		noCalls: []string{"ContinueServiceDeployment", "StopServiceDeployment"}, check: strategyIs("ROLLING")},
	{name: "rolling, PAUSE hook at PRE_SCALE_UP, on-pause continue", strategy: "ROLLING", moment: "PRE_SCALE_UP", fault: "PAUSE hook",
		world: rollingPause(types.DeploymentLifecycleHookStagePreScaleUp, types.DeploymentLifecycleHookActionRollback), config: onPause(deployer.OnPauseContinue),
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"}, calls: []string{"ContinueServiceDeployment"}},
	{name: "rolling, PAUSE hook at POST_SCALE_UP, on-pause rollback", strategy: "ROLLING", moment: "POST_SCALE_UP", fault: "PAUSE hook",
		world: rollingPause(types.DeploymentLifecycleHookStagePostScaleUp, types.DeploymentLifecycleHookActionContinue), config: onPause(deployer.OnPauseRollback),
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, calls: []string{"ContinueServiceDeployment"}},
	{name: "rolling, PAUSE hook, resume continue", strategy: "ROLLING", moment: "POST_SCALE_UP", fault: "PAUSE hook",
		world: rollingPause(types.DeploymentLifecycleHookStagePostScaleUp, types.DeploymentLifecycleHookActionRollback), resume: deployer.ResumeContinue,
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"}},
	{name: "rolling, PAUSE hook times out with ROLLBACK while we wait (on-pause continue refused)", strategy: "ROLLING", moment: "POST_SCALE_UP", fault: "PAUSE hook timeout",
		world: func(sc *ecssim.Scenario) {
			rollingPause(types.DeploymentLifecycleHookStagePostScaleUp, types.DeploymentLifecycleHookActionRollback)(sc)
			sc.Services[0].DeploymentConfiguration.LifecycleHooks[0].TimeoutConfiguration.TimeoutInMinutes = aws.Int32(1)
		},
		config: onPause(deployer.OnPauseContinue),
		setup: func(sim *ecssim.Sim) {
			sim.InjectFault("ContinueServiceDeployment", ecssim.Fault{Error: "AccessDeniedException", Message: "not authorized to perform: ecs:ContinueServiceDeployment"})
		},
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		check: func(t *testing.T, o outcome) {
			if !strings.Contains(o.res.Reason, "timed out") {
				t.Errorf("the reason does not say the hook timed out (never a silent time-out): %s", o.res.Reason)
			}
		}},
	{name: "rolling, Lambda hook at POST_SCALE_UP fails: ECS rolls back", strategy: "ROLLING", moment: "POST_SCALE_UP", fault: "Lambda hook FAILED",
		world: rollingLambda(ecssim.HookFailed),
		want:  deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, wantReason: []string{"smoke-test"},
		noCalls: []string{"StopServiceDeployment", "ContinueServiceDeployment"}, // ECS's rollback, not doubled
		check: func(t *testing.T, o outcome) {
			if n := o.count("UpdateService"); n != 1 {
				t.Errorf("%d UpdateService calls, want 1 (ours; the rollback is ECS's)", n)
			}
		}},
	{name: "rolling, Lambda hook succeeds", strategy: "ROLLING", moment: "POST_SCALE_UP", fault: "none",
		world: rollingLambda(ecssim.HookInProgress, ecssim.HookSucceeded),
		want:  deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"}, check: strategyIs("ROLLING")},
	{name: "rolling with hooks, crash at scale-up: StopServiceDeployment", strategy: "ROLLING", moment: "scale-up", fault: "crash", image: "repo/app:crash",
		world: rollingLambda(ecssim.HookSucceeded),
		want:  deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, calls: []string{"StopServiceDeployment"}},
}

func TestOutcomeMatrixRollingHooks(t *testing.T) {
	t.Parallel()
	runOutcomeRows(t, rollingHookRows)
}
