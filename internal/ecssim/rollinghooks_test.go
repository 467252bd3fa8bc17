package ecssim

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// rollingHooksWorld is web (ROLLING, two tasks of app:v1) with hooks.
func rollingHooksWorld(hooks ...types.DeploymentLifecycleHook) Scenario {
	sc := OneService("prod", "web", FargateApp("web", "app:v1"), 2)
	sc.Services[0].DeploymentConfiguration = DeploymentConfiguration{LifecycleHooks: hooks}
	sc.Timings = Timings{Minute: Duration(time.Second), Stage: Duration(2 * time.Millisecond)}
	return sc
}

func pauseAt(stage types.DeploymentLifecycleHookStage) types.DeploymentLifecycleHook {
	return types.DeploymentLifecycleHook{TargetType: types.DeploymentLifecycleHookTargetTypePause, LifecycleStages: []types.DeploymentLifecycleHookStage{stage}}
}

func currentSD(t *testing.T, c *ecs.Client) types.ServiceDeployment {
	t.Helper()
	svc := describeService(t, c, "prod", "web")
	out, err := c.DescribeServiceDeployments(context.Background(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(svc.CurrentServiceDeployment)}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		t.Fatalf("DescribeServiceDeployments: %v", err)
	}
	return out.ServiceDeployments[0]
}

func waitCurrentSD(t *testing.T, c *ecs.Client, what string, cond func(types.ServiceDeployment) bool) types.ServiceDeployment {
	t.Helper()
	for deadline := time.Now().Add(time.Hour); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if sd := currentSD(t, c); cond(sd) {
			return sd
		}
	}
	t.Fatalf("timed out waiting for %s: %+v", what, currentSD(t, c))
	return types.ServiceDeployment{}
}

func awaitingHook(sd types.ServiceDeployment) *types.DeploymentLifecycleHookDetail {
	for i := range sd.LifecycleHookDetails {
		if h := &sd.LifecycleHookDetails[i]; h.Status == types.DeploymentLifecycleHookStatusAwaitingAction {
			return h
		}
	}
	return nil
}

// TestRollingPauseHooks: a ROLLING deployment waits at a PAUSE hook at
// PRE_SCALE_UP (no new task started) and at POST_SCALE_UP (the new tasks
// run, the deployment is not COMPLETED), continues on CONTINUE and rolls
// back on ROLLBACK.
func TestRollingPauseHooks(t *testing.T) {
	for _, tt := range []struct {
		stage  types.DeploymentLifecycleHookStage
		action types.DeploymentLifecycleHookAction
		want   types.ServiceDeploymentStatus
		serves string
	}{
		{types.DeploymentLifecycleHookStagePreScaleUp, types.DeploymentLifecycleHookActionContinue, types.ServiceDeploymentStatusSuccessful, "web:2"},
		{types.DeploymentLifecycleHookStagePostScaleUp, types.DeploymentLifecycleHookActionContinue, types.ServiceDeploymentStatusSuccessful, "web:2"},
		{types.DeploymentLifecycleHookStagePostScaleUp, types.DeploymentLifecycleHookActionRollback, types.ServiceDeploymentStatusRollbackSuccessful, "web:1"},
	} {
		t.Run(string(tt.stage)+" "+string(tt.action), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, c := fakeClockSim(t, rollingHooksWorld(pauseAt(tt.stage)))
				deployTo(t, c, "prod", "app:v2")
				sd := waitCurrentSD(t, c, "the PAUSE hook", func(sd types.ServiceDeployment) bool { return awaitingHook(sd) != nil })
				if sd.LifecycleStage != types.ServiceDeploymentLifecycleStage(tt.stage) || sd.Status != types.ServiceDeploymentStatusInProgress {
					t.Errorf("waiting at %s (%s), want %s IN_PROGRESS", sd.LifecycleStage, sd.Status, tt.stage)
				}
				time.Sleep(time.Minute) // it keeps waiting
				svc := describeService(t, c, "prod", "web")
				ours := svc.Deployments[0]
				switch tt.stage {
				case types.DeploymentLifecycleHookStagePreScaleUp:
					if ours.RunningCount+ours.PendingCount != 0 {
						t.Errorf("tasks started before PRE_SCALE_UP's hook: %s", fmtDeployments(svc.Deployments))
					}
				case types.DeploymentLifecycleHookStagePostScaleUp:
					if ours.RunningCount != 2 || ours.RolloutState != types.DeploymentRolloutStateInProgress {
						t.Errorf("at POST_SCALE_UP: %s, want 2 running, IN_PROGRESS", fmtDeployments(svc.Deployments))
					}
				}
				if _, err := c.ContinueServiceDeployment(context.Background(), &ecs.ContinueServiceDeploymentInput{
					ServiceDeploymentArn: sd.ServiceDeploymentArn, HookId: awaitingHook(sd).HookId, Action: tt.action}); err != nil {
					t.Fatal(err)
				}
				sd = waitCurrentSD(t, c, string(tt.want), func(sd types.ServiceDeployment) bool { return sd.Status == tt.want })
				svc = waitService(t, c, "prod", "web", time.Hour, "one deployment", func(s types.Service) bool { return len(s.Deployments) == 1 })
				if got := aws.ToString(svc.TaskDefinition); !strings.HasSuffix(got, tt.serves) {
					t.Errorf("serves %s, want %s", got, tt.serves)
				}
			})
		})
	}
}

// TestRollingLambdaHookFails: a Lambda hook at POST_SCALE_UP that fails
// rolls the ROLLING deployment back.
func TestRollingLambdaHookFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, c := fakeClockSim(t, rollingHooksWorld(types.DeploymentLifecycleHook{TargetType: types.DeploymentLifecycleHookTargetTypeAwsLambda,
			HookTargetArn: aws.String(hookArn), RoleArn: aws.String("arn:aws:iam::123456789012:role/hooks"),
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostScaleUp}}))
		sim.ScriptHook(HookScript{HookTargetArn: hookArn, Results: []HookStatus{HookFailed}})
		deployTo(t, c, "prod", "app:v2")
		sd := waitCurrentSD(t, c, "the rollback", func(sd types.ServiceDeployment) bool {
			return sd.Status == types.ServiceDeploymentStatusRollbackSuccessful
		})
		if r := aws.ToString(sd.Rollback.Reason); !strings.Contains(r, "failed in the POST_SCALE_UP stage") {
			t.Errorf("rollback reason %q", r)
		}
		svc := waitService(t, c, "prod", "web", time.Hour, "one deployment", func(s types.Service) bool { return len(s.Deployments) == 1 })
		if got := aws.ToString(svc.TaskDefinition); !strings.HasSuffix(got, "web:1") {
			t.Errorf("serves %s, want web:1", got)
		}
	})
}
