package action

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// Issue 26 through the binary: Express Mode services (docs/express-mode.md)
// and early success criteria on rolling deployments
// (docs/strategy-rolling.md), with a scenario minute of 100 ms.

// expressScenario is slowScenario with web an Express Mode service: its
// container Main, Express Mode's canary and its alarm-based rollback on
// the alarm web-4xx-5xx.
func expressScenario() ecssim.Scenario {
	sc := slowScenario()
	sc.TaskDefinitions[0].ContainerDefinitions[0].Name = aws.String("Main")
	svc := &sc.Services[0]
	svc.ResourceManagementType = "ECS"
	lb := ecssim.BlueGreenLoadBalancer()
	lb.ContainerName = aws.String("Main")
	svc.LoadBalancers = []types.LoadBalancer{lb}
	svc.DeploymentConfiguration.Alarms = &ecssim.DeploymentAlarms{AlarmNames: []string{"web-4xx-5xx"}, Enable: true, Rollback: true}
	sc.Alarms = []ecssim.ScenarioAlarm{{Name: "web-4xx-5xx"}}
	sc.Timings.Minute = ecssim.Duration(100 * time.Millisecond)
	return sc
}

func calls(srv *ecssim.Server, op string) int { return codeDeployCalls(srv, op) }

func TestExpressModeThroughTheBinary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		sc       func(*ecssim.Scenario)
		inputs   map[string]string
		code     int
		status   string
		reason   []string
		express  int // UpdateExpressGatewayService calls
		register int
	}{
		{name: "succeeded", inputs: map[string]string{"image": "repo/app:2"}, status: "succeeded", express: 1, register: 1},
		{name: "crash: StopServiceDeployment", inputs: map[string]string{"image": "repo/app:crash"}, code: 1, status: "rolled-back", express: 1, register: 1},
		{name: "Express Mode's alarm: ECS rolls back", inputs: map[string]string{"image": "repo/app:2"}, code: 1, status: "rolled-back", express: 1, register: 1,
			sc: func(sc *ecssim.Scenario) {
				sc.Alarms = []ecssim.ScenarioAlarm{{Name: "web-4xx-5xx", Changes: []ecssim.AlarmChange{{State: ecssim.AlarmAlarm, From: ecssim.AnchorUpdate, After: ecssim.Duration(150 * time.Millisecond)}}}}
			},
			reason: []string{"web-4xx-5xx", "ECS rolled the service back to web:1"}},
		{name: "dry run: the plan names UpdateExpressGatewayService", inputs: map[string]string{"image": "repo/app:2", "dry-run": "true"}, status: "dry-run"},
		{name: "desired-count refused before any change", inputs: map[string]string{"image": "repo/app:2", "desired-count": "3"}, code: 1, status: "failed",
			reason: []string{"desired-count: service web is an Express Mode service"}},
		{name: "the running revision again refused", inputs: map[string]string{"image": "", "container-name": "", "revision": "web:1"}, code: 1, status: "failed",
			reason: []string{"revision: service web is an Express Mode service and already runs web:1: UpdateExpressGatewayService has no force-new-deployment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := expressScenario()
			if tt.sc != nil {
				tt.sc(&sc)
			}
			srv := ecssimtest.NewServer(t, sc)
			inputs := map[string]string{"container-name": "Main", "timeout": "60s"}
			for k, v := range tt.inputs {
				inputs[k] = v
			}
			r := newActionRun(t, srv, inputs)
			code := r.run()
			out := r.outputs()
			if code != tt.code || out["status"] != tt.status {
				t.Fatalf("exit %d, status %q, want %d %q: %s\n%s", code, out["status"], tt.code, tt.status, out["reason"], r.dump())
			}
			for _, s := range tt.reason {
				if !strings.Contains(out["reason"], s) {
					t.Errorf("reason lacks %q: %s", s, out["reason"])
				}
			}
			if n := calls(srv, "UpdateService"); n != 0 {
				t.Errorf("%d UpdateService calls to an Express Mode service", n)
			}
			if n := calls(srv, "UpdateExpressGatewayService"); n != tt.express {
				t.Errorf("%d UpdateExpressGatewayService calls, want %d", n, tt.express)
			}
			if n := calls(srv, "RegisterTaskDefinition"); n != tt.register {
				t.Errorf("%d RegisterTaskDefinition calls, want %d", n, tt.register)
			}
			if tt.status == "dry-run" && !strings.Contains(r.stdout.String(), "UpdateExpressGatewayService: web (an Express Mode service") {
				t.Errorf("the plan does not name UpdateExpressGatewayService:\n%s", r.stdout.String())
			}
			if strings.Contains(tt.name, "alarm") {
				if n := calls(srv, "StopServiceDeployment"); n != 0 {
					t.Errorf("%d StopServiceDeployment calls: ECS's rollback must not be doubled", n)
				}
			}
		})
	}
}

// earlyScenario is slowScenario with four tasks and early success at
// 50 %; crash makes repo/app:2's tasks after the first two crash. The
// service's minimum healthy 50 % and maximum 100 % replace two tasks
// first; the other two are the background scale-out. The runs give the
// same percentages as inputs, so the update sends a deployment
// configuration (earlySuccessCriteria in it, as it was) and the rollback
// sends it back.
func earlyScenario(cleanup types.ServiceRevisionCleanup, crash bool) ecssim.Scenario {
	sc := slowScenario()
	svc := &sc.Services[0]
	svc.DesiredCount = 4
	svc.DeploymentConfiguration.MinimumHealthyPercent = aws.Int32(50)
	svc.DeploymentConfiguration.MaximumPercent = aws.Int32(100)
	svc.DeploymentConfiguration.EarlySuccessCriteria = &types.DeploymentEarlySuccessCriteria{Enable: true, HealthyPercent: aws.Int32(50), SourceServiceRevisionCleanup: cleanup}
	if crash {
		sc.ImageRules = append([]ecssim.ImageRule{{Image: "repo/app:2", Behavior: ecssim.BehaviorCrash, HealthyFirst: 2}}, sc.ImageRules...)
	}
	sc.Timings.Provisioning, sc.Timings.Pending, sc.Timings.HealthCheck = ecssim.Duration(200*time.Millisecond), ecssim.Duration(200*time.Millisecond), ecssim.Duration(200*time.Millisecond)
	sc.Timings.Stopping, sc.Timings.RetryBackoff = ecssim.Duration(200*time.Millisecond), ecssim.Duration(300*time.Millisecond)
	return sc
}

func TestEarlySuccessThroughTheBinary(t *testing.T) {
	t.Parallel()
	for _, cleanup := range []types.ServiceRevisionCleanup{types.ServiceRevisionCleanupBlocking, types.ServiceRevisionCleanupDeferred} {
		t.Run(string(cleanup)+" succeeded", func(t *testing.T) {
			t.Parallel()
			srv := ecssimtest.NewServer(t, earlyScenario(cleanup, false))
			r := newActionRun(t, srv, map[string]string{"image": "repo/app:2", "minimum-healthy-percent": "50", "maximum-percent": "100"})
			code := r.run()
			out := r.outputs()
			if code != 0 || out["status"] != "succeeded" {
				t.Fatalf("exit %d, outputs %v\n%s", code, out, r.dump())
			}
			for _, s := range []string{"under ECS's early success criteria", "scale outside the deployment", string(cleanup)} {
				if !strings.Contains(out["reason"], s) {
					t.Errorf("reason lacks %q: %s", s, out["reason"])
				}
				if !strings.Contains(r.summary(), s) {
					t.Errorf("job summary lacks %q:\n%s", s, r.summary())
				}
			}
			if !strings.Contains(out["results"], `"early-success":{"healthyPercent":50,"running":2,"desired":4,"cleanup":"`+string(cleanup)+`"}`) {
				t.Errorf("results output lacks the early success: %s", out["results"])
			}
		})
		t.Run(string(cleanup)+" crash in the background scale-out during the bake", func(t *testing.T) {
			t.Parallel()
			srv := ecssimtest.NewServer(t, earlyScenario(cleanup, true))
			r := newActionRun(t, srv, map[string]string{"image": "repo/app:2", "minimum-healthy-percent": "50", "maximum-percent": "100", "bake-time": "20s"})
			code := r.run()
			out := r.outputs()
			if code != 1 || out["status"] != "rolled-back" || !strings.Contains(out["reason"], "after the rollout completed") {
				t.Fatalf("exit %d, outputs %v\n%s", code, out, r.dump())
			}
			svc, _ := srv.Sim.Service("prod", "web")
			if es := svc.DeploymentConfiguration.EarlySuccessCriteria; es == nil || !es.Enable || aws.ToInt32(es.HealthyPercent) != 50 || es.SourceServiceRevisionCleanup != cleanup {
				t.Errorf("earlySuccessCriteria after the rollback: %+v", es)
			}
		})
	}
}

// TestRollingPauseHookThroughTheBinary: a ROLLING service with a PAUSE
// hook at POST_SCALE_UP: the first step ends paused (exit 0, the
// service-deployment-arn output), a second resumes it to success; a
// Lambda hook that fails is named and ECS's rollback is not doubled.
func TestRollingPauseHookThroughTheBinary(t *testing.T) {
	t.Parallel()
	t.Run("paused, then resume continue", func(t *testing.T) {
		t.Parallel()
		sc := slowScenario()
		sc.Services[0].DeploymentConfiguration.LifecycleHooks = []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostScaleUp}}}
		sc.Timings.Minute = ecssim.Duration(100 * time.Millisecond)
		srv := ecssimtest.NewServer(t, sc)
		first := newActionRun(t, srv, map[string]string{"image": "repo/app:2"})
		if code := first.run(); code != 0 || first.outputs()["status"] != "paused" || !strings.Contains(first.outputs()["reason"], "paused at POST_SCALE_UP") {
			t.Fatalf("first step: exit %d, outputs %v\n%s", code, first.outputs(), first.dump())
		}
		arn := first.outputs()["service-deployment-arn"]
		if !strings.Contains(arn, ":service-deployment/prod/web/") {
			t.Errorf("service-deployment-arn %q", arn)
		}
		second := newActionRun(t, srv, map[string]string{"resume": "continue", "container-name": ""})
		if code := second.run(); code != 0 || second.outputs()["status"] != "succeeded" || second.outputs()["service-deployment-arn"] != arn {
			t.Fatalf("resume: exit %d, outputs %v\n%s", code, second.outputs(), second.dump())
		}
	})
	t.Run("Lambda hook fails", func(t *testing.T) {
		t.Parallel()
		sc := slowScenario()
		fn := "arn:aws:lambda:us-east-1:123456789012:function:smoke-test"
		sc.Services[0].DeploymentConfiguration.LifecycleHooks = []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypeAwsLambda,
			HookTargetArn: aws.String(fn), RoleArn: aws.String("arn:aws:iam::123456789012:role/ecs-hooks"),
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostScaleUp}}}
		sc.LambdaHooks = []ecssim.HookScript{{HookTargetArn: fn, Results: []ecssim.HookStatus{ecssim.HookFailed}}}
		sc.Timings.Minute = ecssim.Duration(100 * time.Millisecond)
		srv := ecssimtest.NewServer(t, sc)
		r := newActionRun(t, srv, map[string]string{"image": "repo/app:2"})
		code := r.run()
		out := r.outputs()
		if code != 1 || out["status"] != "rolled-back" || !strings.Contains(out["reason"], "Lambda hook smoke-test failed at POST_SCALE_UP; ECS rolled the service back to web:1") {
			t.Fatalf("exit %d, outputs %v\n%s", code, out, r.dump())
		}
		if n := calls(srv, "StopServiceDeployment") + calls(srv, "UpdateService"); n != 1 {
			t.Errorf("%d StopServiceDeployment + UpdateService calls, want 1 (our update; ECS's rollback not doubled)", n)
		}
	})
}
