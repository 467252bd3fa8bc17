package ecssim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

const (
	blueTG   = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/0123456789abcdef"
	greenTG  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/fedcba9876543210"
	prodRule = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3"
	hookArn  = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test"
)

// stagedWorld is service "web" in cluster "prod" with desired tasks of
// app:v1, deployed with strategy, a one-minute bake, and a blue/green load
// balancer. A scenario minute lasts minute.
func stagedWorld(strategy string, desired int32, minute time.Duration, mod func(*Scenario)) Scenario {
	sc := OneService("prod", "web", FargateApp("web", "app:v1"), desired)
	sc.Services[0].DeploymentConfiguration = DeploymentConfiguration{Strategy: strategy, BakeTimeInMinutes: aws.Int32(1)}
	sc.Services[0].LoadBalancers = []types.LoadBalancer{{
		TargetGroupArn: aws.String(blueTG), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080),
		AdvancedConfiguration: &types.AdvancedConfiguration{
			AlternateTargetGroupArn: aws.String(greenTG), ProductionListenerRule: aws.String(prodRule),
			RoleArn: aws.String("arn:aws:iam::123456789012:role/ecs-elb"),
		},
	}}
	sc.Timings = Timings{Minute: Duration(minute), Stage: Duration(2 * time.Millisecond)}
	if mod != nil {
		mod(&sc)
	}
	return sc
}

// deployImage registers web with image and updates the service to it,
// returning the service deployment UpdateService reports.
func deployImage(t testing.TB, c *ecs.Client, image string) string {
	t.Helper()
	ctx := context.Background()
	td := FargateApp("web", image)
	reg, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: td.Family, ContainerDefinitions: td.ContainerDefinitions, Cpu: td.Cpu, Memory: td.Memory,
		NetworkMode: td.NetworkMode, RequiresCompatibilities: td.RequiresCompatibilities,
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	up, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: reg.TaskDefinition.TaskDefinitionArn})
	if err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	arn := aws.ToString(up.Service.CurrentServiceDeployment)
	if arn == "" {
		t.Fatal("UpdateService: no currentServiceDeployment in the response")
	}
	return arn
}

func describeSD(t testing.TB, c *ecs.Client, arn string) types.ServiceDeployment {
	t.Helper()
	out, err := c.DescribeServiceDeployments(context.Background(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil {
		t.Fatalf("DescribeServiceDeployments: %v", err)
	}
	if len(out.ServiceDeployments) != 1 {
		t.Fatalf("DescribeServiceDeployments: got %d, failures %v", len(out.ServiceDeployments), out.Failures)
	}
	return out.ServiceDeployments[0]
}

// waitSD polls the service deployment until cond holds, calling each (if
// not nil) on every view seen.
func waitSD(t testing.TB, c *ecs.Client, arn string, what string, each func(types.ServiceDeployment), cond func(types.ServiceDeployment) bool) types.ServiceDeployment {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		late := time.Now().After(deadline)
		sd := describeSD(t, c, arn)
		if each != nil {
			each(sd)
		}
		if cond(sd) {
			return sd
		}
		if late {
			t.Fatalf("timed out waiting for %s: status %s, stage %s, reason %q", what, sd.Status, sd.LifecycleStage, aws.ToString(sd.StatusReason))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func statusIs(st types.ServiceDeploymentStatus) func(types.ServiceDeployment) bool {
	return func(sd types.ServiceDeployment) bool { return sd.Status == st }
}

// history is the sequence of stages (with production/test weights on the
// target) and statuses the simulator recorded for a service deployment.
func (s *Sim) history(arn string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sd := s.findServiceDeployment(arn); sd != nil {
		return append([]string(nil), sd.history...)
	}
	return nil
}

func weight(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

func runningTaskArns(s *Sim, cluster, taskDef string) map[string]bool {
	out := map[string]bool{}
	for _, t := range s.Tasks(cluster) {
		if strings.HasSuffix(aws.ToString(t.TaskDefinitionArn), taskDef) && aws.ToString(t.LastStatus) == "RUNNING" {
			out[aws.ToString(t.TaskArn)] = true
		}
	}
	return out
}

func TestBlueGreenHealthy(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sim, c := fakeClockSim(t, stagedWorld("BLUE_GREEN", 2, 20*time.Millisecond, func(sc *Scenario) {
			sc.Services[0].DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(2)
		}))

		blue := runningTaskArns(sim, "prod", "web:1")
		arn := deployImage(t, c, "app:v2")

		inBake := false
		final := waitSD(t, c, arn, "SUCCESSFUL", func(sd types.ServiceDeployment) {
			if sd.LifecycleStage != types.ServiceDeploymentLifecycleStageBakeTime || sd.Status != types.ServiceDeploymentStatusInProgress {
				return
			}
			inBake = true
			if got := weight(sd.TargetServiceRevision.RequestedProductionTrafficWeight); got != 100 {
				t.Errorf("in BAKE_TIME: production weight on the target %v, want 100", got)
			}
			if len(sd.SourceServiceRevisions) != 1 || sd.SourceServiceRevisions[0].RunningTaskCount != 2 {
				t.Errorf("in BAKE_TIME: source revisions %+v, want one running 2 tasks", sd.SourceServiceRevisions)
			}
		}, statusIs(types.ServiceDeploymentStatusSuccessful))
		if !inBake {
			t.Error("never saw the deployment in BAKE_TIME")
		}
		want := []string{
			"PRE_SCALE_UP 0/0", "SCALE_UP 0/0", "POST_SCALE_UP 0/0", "TEST_TRAFFIC_SHIFT 0/100", "POST_TEST_TRAFFIC_SHIFT 0/100",
			"PRODUCTION_TRAFFIC_SHIFT 100/100", "POST_PRODUCTION_TRAFFIC_SHIFT 100/100", "BAKE_TIME 100/100", "CLEAN_UP 100/100", "SUCCESSFUL",
		}
		if diff := cmp.Diff(want, sim.history(arn)); diff != "" {
			t.Errorf("stages (-want +got):\n%s", diff)
		}
		if final.FinishedAt == nil || final.StartedAt == nil || final.TargetServiceRevision.RunningTaskCount != 2 {
			t.Errorf("final view: %+v", final)
		}
		for a := range blue {
			if runningTaskArns(sim, "prod", "web:1")[a] {
				t.Errorf("blue task %s still running after CLEAN_UP", a)
			}
		}
		svc := describeService(t, c, "prod", "web")
		if aws.ToString(svc.CurrentServiceDeployment) != arn || !strings.HasSuffix(aws.ToString(svc.TaskDefinition), "web:2") {
			t.Errorf("service: currentServiceDeployment %s, taskDefinition %s", aws.ToString(svc.CurrentServiceDeployment), aws.ToString(svc.TaskDefinition))
		}
		if svc.DeploymentConfiguration.Strategy != types.DeploymentStrategyBlueGreen || aws.ToInt32(svc.DeploymentConfiguration.BakeTimeInMinutes) != 2 ||
			len(svc.LoadBalancers) != 1 || aws.ToString(svc.LoadBalancers[0].AdvancedConfiguration.AlternateTargetGroupArn) != greenTG {
			t.Errorf("service settings not kept: %+v, load balancers %+v", svc.DeploymentConfiguration, svc.LoadBalancers)
		}
		revs, err := c.DescribeServiceRevisions(context.Background(), &ecs.DescribeServiceRevisionsInput{
			ServiceRevisionArns: []string{aws.ToString(final.TargetServiceRevision.Arn), aws.ToString(final.SourceServiceRevisions[0].Arn)},
		})
		if err != nil || len(revs.ServiceRevisions) != 2 {
			t.Fatalf("DescribeServiceRevisions: %v %+v", err, revs)
		}
		green, src := revs.ServiceRevisions[0], revs.ServiceRevisions[1]
		if !strings.HasSuffix(aws.ToString(green.TaskDefinition), "web:2") || aws.ToString(green.ContainerImages[0].Image) != "app:v2" ||
			aws.ToString(green.ResolvedConfiguration.LoadBalancers[0].TargetGroupArn) != greenTG {
			t.Errorf("target revision: %+v", green)
		}
		if !strings.HasSuffix(aws.ToString(src.TaskDefinition), "web:1") || aws.ToString(src.ResolvedConfiguration.LoadBalancers[0].TargetGroupArn) != blueTG {
			t.Errorf("source revision: %+v", src)
		}
	})
}

func TestBlueGreenStopDuringBake(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sim, c := fakeClockSim(t, stagedWorld("BLUE_GREEN", 3, 20*time.Millisecond, func(sc *Scenario) {
			sc.Services[0].DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(1000) // 20 s: stopped long before
		}))

		ctx := context.Background()
		blue := runningTaskArns(sim, "prod", "web:1")
		arn := deployImage(t, c, "app:v2")
		waitSD(t, c, arn, "BAKE_TIME", nil, func(sd types.ServiceDeployment) bool {
			return sd.LifecycleStage == types.ServiceDeploymentLifecycleStageBakeTime
		})
		if _, err := c.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: types.StopServiceDeploymentStopTypeRollback}); err != nil {
			t.Fatalf("StopServiceDeployment: %v", err)
		}
		if sd := describeSD(t, c, arn); sd.Status != types.ServiceDeploymentStatusRollbackRequested && sd.Status != types.ServiceDeploymentStatusRollbackInProgress && sd.Status != types.ServiceDeploymentStatusRollbackSuccessful {
			t.Errorf("right after StopServiceDeployment: status %s", sd.Status)
		}
		final := waitSD(t, c, arn, "ROLLBACK_SUCCESSFUL", func(sd types.ServiceDeployment) {
			if sd.Status == types.ServiceDeploymentStatusRollbackInProgress || sd.Status == types.ServiceDeploymentStatusRollbackSuccessful {
				if got := weight(sd.SourceServiceRevisions[0].RequestedProductionTrafficWeight); got != 100 {
					t.Errorf("%s: production weight on the source %v, want 100", sd.Status, got)
				}
			}
		}, statusIs(types.ServiceDeploymentStatusRollbackSuccessful))
		if !strings.Contains(aws.ToString(final.StatusReason), "StopServiceDeployment") || final.Rollback == nil ||
			aws.ToString(final.Rollback.ServiceRevisionArn) != aws.ToString(final.SourceServiceRevisions[0].Arn) {
			t.Errorf("rollback: reason %q, rollback %+v", aws.ToString(final.StatusReason), final.Rollback)
		}
		if got := runningTaskArns(sim, "prod", "web:1"); !cmp.Equal(blue, got) {
			t.Errorf("blue tasks: before %v, after rollback %v; want the same tasks, never replaced", blue, got)
		}
		if got := runningTaskArns(sim, "prod", "web:2"); len(got) != 0 {
			t.Errorf("green tasks still running after the rollback: %v", got)
		}
		svc := describeService(t, c, "prod", "web")
		if !strings.HasSuffix(aws.ToString(svc.TaskDefinition), "web:1") || len(svc.Deployments) != 1 {
			t.Errorf("service after rollback: %s, deployments %s", aws.ToString(svc.TaskDefinition), fmtDeployments(svc.Deployments))
		}
		_, err := c.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn)})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ConflictException" {
			t.Errorf("stopping a finished deployment: got %v, want ConflictException", err)
		}
	})
}

func TestBlueGreenCrashDuringScaleUp(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sim, c := fakeClockSim(t, stagedWorld("BLUE_GREEN", 2, 20*time.Millisecond, func(sc *Scenario) {
			sc.ImageRules = []ImageRule{{Image: "app:bad", Behavior: BehaviorCrash}}
		}))

		arn := deployImage(t, c, "app:bad")
		noShift := func(sd types.ServiceDeployment) {
			if w := weight(sd.TargetServiceRevision.RequestedProductionTrafficWeight); w > 0 {
				t.Errorf("%s %s: production weight %v on the crashing revision", sd.Status, sd.LifecycleStage, w)
			}
		}
		waitSD(t, c, arn, "failed tasks in SCALE_UP", noShift, func(sd types.ServiceDeployment) bool {
			return sd.LifecycleStage == types.ServiceDeploymentLifecycleStageScaleUp && len(sim.stoppedTasksOf("web:2")) >= 3
		})
		if _, err := c.StopServiceDeployment(context.Background(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn)}); err != nil {
			t.Fatalf("StopServiceDeployment: %v", err)
		}
		final := waitSD(t, c, arn, "ROLLBACK_SUCCESSFUL", noShift, statusIs(types.ServiceDeploymentStatusRollbackSuccessful))
		if final.DeploymentCircuitBreaker.Status != types.ServiceDeploymentRollbackMonitorsStatusDisabled {
			t.Errorf("circuit breaker: %+v, want DISABLED", final.DeploymentCircuitBreaker)
		}
		if got := runningTaskArns(sim, "prod", "web:1"); len(got) != 2 {
			t.Errorf("blue tasks running after rollback: %d, want 2", len(got))
		}
	})
}

func (s *Sim) stoppedTasksOf(taskDef string) []string {
	var out []string
	for _, t := range s.Tasks("prod") {
		if strings.HasSuffix(aws.ToString(t.TaskDefinitionArn), taskDef) && aws.ToString(t.DesiredStatus) == "STOPPED" {
			out = append(out, aws.ToString(t.TaskArn))
		}
	}
	return out
}

func TestLinearHealthy(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sim, c := fakeClockSim(t, stagedWorld("LINEAR", 2, 20*time.Millisecond, func(sc *Scenario) {
			sc.Services[0].DeploymentConfiguration.LinearConfiguration = &types.LinearConfiguration{StepPercent: aws.Float64(25), StepBakeTimeInMinutes: aws.Int32(1)}
		}))

		arn := deployImage(t, c, "app:v2")
		final := waitSD(t, c, arn, "SUCCESSFUL", nil, statusIs(types.ServiceDeploymentStatusSuccessful))
		want := []string{
			"PRE_SCALE_UP 0/0", "SCALE_UP 0/0", "POST_SCALE_UP 0/0", "TEST_TRAFFIC_SHIFT 0/100", "POST_TEST_TRAFFIC_SHIFT 0/100",
			"PRODUCTION_TRAFFIC_SHIFT 25/100", "PRODUCTION_TRAFFIC_SHIFT 50/100", "PRODUCTION_TRAFFIC_SHIFT 75/100", "PRODUCTION_TRAFFIC_SHIFT 100/100",
			"POST_PRODUCTION_TRAFFIC_SHIFT 100/100", "BAKE_TIME 100/100", "CLEAN_UP 100/100", "SUCCESSFUL",
		}
		if diff := cmp.Diff(want, sim.history(arn)); diff != "" {
			t.Errorf("stages (-want +got):\n%s", diff)
		}
		if lc := final.DeploymentConfiguration.LinearConfiguration; final.DeploymentConfiguration.Strategy != types.DeploymentStrategyLinear || lc == nil || aws.ToFloat64(lc.StepPercent) != 25 {
			t.Errorf("deploymentConfiguration of the service deployment: %+v", final.DeploymentConfiguration)
		}
	})
}

func TestStagedCircuitBreakerRollsBack(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sim, c := fakeClockSim(t, stagedWorld("CANARY", 2, 20*time.Millisecond, func(sc *Scenario) {
			sc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker = &CircuitBreaker{Enable: true, Rollback: true}
			sc.ImageRules = []ImageRule{{Image: "app:bad", Behavior: BehaviorCrash}}
		}))

		arn := deployImage(t, c, "app:bad")
		final := waitSD(t, c, arn, "ROLLBACK_SUCCESSFUL", func(sd types.ServiceDeployment) {
			if w := weight(sd.TargetServiceRevision.RequestedProductionTrafficWeight); w > 0 {
				t.Errorf("%s %s: production weight %v on the crashing revision", sd.Status, sd.LifecycleStage, w)
			}
		}, statusIs(types.ServiceDeploymentStatusRollbackSuccessful))
		if cb := final.DeploymentCircuitBreaker; cb.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered || cb.FailureCount < 3 || cb.Threshold != 3 {
			t.Errorf("deploymentCircuitBreaker: %+v, want TRIGGERED with >= 3 failures of threshold 3", cb)
		}
		if r := aws.ToString(final.StatusReason); !strings.Contains(r, "circuit breaker") || final.Rollback == nil || !strings.Contains(aws.ToString(final.Rollback.Reason), "circuit breaker") {
			t.Errorf("statusReason %q, rollback %+v: want the circuit breaker named", r, final.Rollback)
		}
		if final.LifecycleStage != types.ServiceDeploymentLifecycleStageScaleUp {
			t.Errorf("stage when rolled back: %s, want SCALE_UP", final.LifecycleStage)
		}
		if got := runningTaskArns(sim, "prod", "web:1"); len(got) != 2 {
			t.Errorf("source tasks running: %d, want 2", len(got))
		}
	})
}

func hookDetail(sd types.ServiceDeployment) (types.DeploymentLifecycleHookDetail, bool) {
	if len(sd.LifecycleHookDetails) == 0 {
		return types.DeploymentLifecycleHookDetail{}, false
	}
	return sd.LifecycleHookDetails[0], true
}

func TestLambdaHooks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		stage      types.DeploymentLifecycleHookStage
		results    []HookStatus
		timeout    *types.DeploymentLifecycleHookTimeoutConfiguration
		wantStatus types.ServiceDeploymentStatus
		wantHook   types.DeploymentLifecycleHookStatus
		wantReason string
		wantSeen   types.DeploymentLifecycleHookStatus // a hook status seen while polling
	}{
		{"canary step passes, final shift fails", types.DeploymentLifecycleHookStageProductionTrafficShift, []HookStatus{HookSucceeded, HookFailed}, nil,
			types.ServiceDeploymentStatusRollbackSuccessful, types.DeploymentLifecycleHookStatusFailed,
			"lifecycle hook " + hookArn + " failed in the PRODUCTION_TRAFFIC_SHIFT stage", ""},
		{"in progress, then succeeded", types.DeploymentLifecycleHookStagePostTestTrafficShift, []HookStatus{HookInProgress, HookInProgress, HookSucceeded}, nil,
			types.ServiceDeploymentStatusSuccessful, types.DeploymentLifecycleHookStatusSucceeded, "", types.DeploymentLifecycleHookStatusInProgress},
		{"in progress until the timeout", types.DeploymentLifecycleHookStagePreScaleUp, []HookStatus{HookInProgress},
			&types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(5)},
			types.ServiceDeploymentStatusRollbackSuccessful, types.DeploymentLifecycleHookStatusTimedOut,
			"lifecycle hook " + hookArn + " timed out in the PRE_SCALE_UP stage", types.DeploymentLifecycleHookStatusInProgress},
		{"timeout continues", types.DeploymentLifecycleHookStagePostScaleUp, []HookStatus{HookInProgress},
			&types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(5), Action: types.DeploymentLifecycleHookActionContinue},
			types.ServiceDeploymentStatusSuccessful, types.DeploymentLifecycleHookStatusTimedOut, "", types.DeploymentLifecycleHookStatusInProgress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				sim, c := fakeClockSim(t, stagedWorld("CANARY", 2, 20*time.Millisecond, func(sc *Scenario) {
					dc := &sc.Services[0].DeploymentConfiguration
					dc.CanaryConfiguration = &types.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(1)}
					dc.LifecycleHooks = []types.DeploymentLifecycleHook{{HookTargetArn: aws.String(hookArn), RoleArn: aws.String("arn:aws:iam::123456789012:role/hooks"),
						LifecycleStages: []types.DeploymentLifecycleHookStage{tt.stage}, TimeoutConfiguration: tt.timeout}}
					sc.LambdaHooks = []HookScript{{HookTargetArn: "arn:aws:lambda:*:function:smoke-*", Stage: string(tt.stage), Results: tt.results, CallBackDelay: Duration(20 * time.Millisecond)}}
				}))

				arn := deployImage(t, c, "app:v2")
				seen := map[types.DeploymentLifecycleHookStatus]bool{}
				final := waitSD(t, c, arn, string(tt.wantStatus), func(sd types.ServiceDeployment) {
					if h, ok := hookDetail(sd); ok {
						seen[h.Status] = true
					}
				}, statusIs(tt.wantStatus))
				h, ok := hookDetail(final)
				if !ok || h.Status != tt.wantHook || aws.ToString(h.TargetArn) != hookArn || h.TargetType != types.DeploymentLifecycleHookTargetTypeAwsLambda || aws.ToString(h.HookId) == "" {
					t.Errorf("lifecycleHookDetails: %+v, want one %s hook of %s", final.LifecycleHookDetails, tt.wantHook, hookArn)
				}
				if tt.wantSeen != "" && !seen[tt.wantSeen] {
					t.Errorf("hook statuses seen: %v, want %s among them", seen, tt.wantSeen)
				}
				if !strings.Contains(aws.ToString(final.StatusReason), tt.wantReason) {
					t.Errorf("statusReason %q, want it to contain %q", aws.ToString(final.StatusReason), tt.wantReason)
				}
				for _, call := range sim.MutatingCalls() {
					if call.Op != "RegisterTaskDefinition" && call.Op != "UpdateService" {
						t.Errorf("unexpected mutating call %s: ECS rolls back by itself", call.Op)
					}
				}
			})
		})
	}
}

func TestPauseHook(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		action     types.DeploymentLifecycleHookAction // "" waits for the timeout
		timeout    types.DeploymentLifecycleHookAction
		wantStatus types.ServiceDeploymentStatus
		wantHook   types.DeploymentLifecycleHookStatus
		wantReason string
	}{
		{"continue", types.DeploymentLifecycleHookActionContinue, "", types.ServiceDeploymentStatusSuccessful, types.DeploymentLifecycleHookStatusSucceeded, ""},
		{"rollback", types.DeploymentLifecycleHookActionRollback, "", types.ServiceDeploymentStatusRollbackSuccessful, types.DeploymentLifecycleHookStatusFailed, "ContinueServiceDeployment"},
		{"timeout continues", "", types.DeploymentLifecycleHookActionContinue, types.ServiceDeploymentStatusSuccessful, types.DeploymentLifecycleHookStatusTimedOut, ""},
		{"timeout rolls back", "", types.DeploymentLifecycleHookActionRollback, types.ServiceDeploymentStatusRollbackSuccessful, types.DeploymentLifecycleHookStatusTimedOut, "timed out in the POST_TEST_TRAFFIC_SHIFT stage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				_, c := fakeClockSim(t, stagedWorld("BLUE_GREEN", 2, 10*time.Millisecond, func(sc *Scenario) {
					tc := &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(1000)}
					if tt.timeout != "" {
						tc = &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(3), Action: tt.timeout}
					}
					sc.Services[0].DeploymentConfiguration.LifecycleHooks = []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
						LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift}, TimeoutConfiguration: tc}}
				}))

				ctx := context.Background()
				arn := deployImage(t, c, "app:v2")
				if tt.action != "" {
					paused := waitSD(t, c, arn, "AWAITING_ACTION", nil, func(sd types.ServiceDeployment) bool {
						h, ok := hookDetail(sd)
						return ok && h.Status == types.DeploymentLifecycleHookStatusAwaitingAction
					})
					h, _ := hookDetail(paused)
					if paused.Status != types.ServiceDeploymentStatusInProgress || paused.LifecycleStage != types.ServiceDeploymentLifecycleStagePostTestTrafficShift ||
						h.TargetType != types.DeploymentLifecycleHookTargetTypePause || h.TargetArn != nil || h.ExpiresAt == nil ||
						weight(paused.TargetServiceRevision.RequestedTestTrafficWeight) != 100 || weight(paused.TargetServiceRevision.RequestedProductionTrafficWeight) != 0 {
						t.Errorf("paused: %s %s, hook %+v, target %+v", paused.Status, paused.LifecycleStage, h, paused.TargetServiceRevision)
					}
					if _, err := c.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: h.HookId, Action: tt.action}); err != nil {
						t.Fatalf("ContinueServiceDeployment: %v", err)
					}
					_, err := c.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: h.HookId, Action: tt.action})
					if apiErrorCode(err) != "ClientException" { // the hook moved on (continue-service-deployment.html)
						t.Errorf("second ContinueServiceDeployment: %v, want ClientException", err)
					}
				}
				final := waitSD(t, c, arn, string(tt.wantStatus), nil, statusIs(tt.wantStatus))
				h, _ := hookDetail(final)
				if h.Status != tt.wantHook {
					t.Errorf("hook: %+v, want %s", h, tt.wantHook)
				}
				if tt.action == "" && h.ExpiresAt != nil && final.FinishedAt.Before(*h.ExpiresAt) {
					t.Errorf("finished at %v, before the hook expired at %v", final.FinishedAt, h.ExpiresAt)
				}
				if !strings.Contains(aws.ToString(final.StatusReason), tt.wantReason) {
					t.Errorf("statusReason %q, want it to contain %q", aws.ToString(final.StatusReason), tt.wantReason)
				}
			})
		})
	}
}

func TestStagedRollbackFails(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sim, c := fakeClockSim(t, stagedWorld("BLUE_GREEN", 2, 20*time.Millisecond, func(sc *Scenario) {
			sc.Services[0].DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(1000)
			sc.Services[0].RollbackFails = true
		}))

		arn := deployImage(t, c, "app:v2")
		waitSD(t, c, arn, "BAKE_TIME", nil, func(sd types.ServiceDeployment) bool {
			return sd.LifecycleStage == types.ServiceDeploymentLifecycleStageBakeTime
		})
		if _, err := c.StopServiceDeployment(context.Background(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn)}); err != nil {
			t.Fatalf("StopServiceDeployment: %v", err)
		}
		final := waitSD(t, c, arn, "ROLLBACK_FAILED", nil, statusIs(types.ServiceDeploymentStatusRollbackFailed))
		if r := aws.ToString(final.StatusReason); !strings.Contains(r, "StopServiceDeployment") || !strings.Contains(r, "rollback failed") {
			t.Errorf("statusReason %q, want the trigger and the failure", r)
		}
		if final.FinishedAt == nil {
			t.Error("finishedAt not set")
		}
		if !sim.SetRollbackFails("prod", "web", false) || sim.SetRollbackFails("prod", "nope", false) {
			t.Error("SetRollbackFails: wrong answer about which services exist")
		}
	})
}

func TestStagedAlarmRollsBack(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sim, c := fakeClockSim(t, stagedWorld("BLUE_GREEN", 2, 20*time.Millisecond, func(sc *Scenario) {
			sc.Services[0].DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(1000)
			sc.Services[0].DeploymentConfiguration.Alarms = &DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true}
			sc.Alarms = []ScenarioAlarm{{Name: "web-5xx", Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_5XX_Count", Statistic: "Sum", ComparisonOperator: "GreaterThanThreshold", Threshold: 5}}
		}))

		arn := deployImage(t, c, "app:v2")
		sd := waitSD(t, c, arn, "BAKE_TIME", nil, func(sd types.ServiceDeployment) bool {
			return sd.LifecycleStage == types.ServiceDeploymentLifecycleStageBakeTime
		})
		if a := sd.Alarms; a == nil || a.Status != types.ServiceDeploymentRollbackMonitorsStatusMonitoring || !cmp.Equal(a.AlarmNames, []string{"web-5xx"}) {
			t.Errorf("alarms while baking: %+v", a)
		}
		sim.SetAlarmState("web-5xx", AlarmAlarm, "")
		final := waitSD(t, c, arn, "ROLLBACK_SUCCESSFUL", nil, statusIs(types.ServiceDeploymentStatusRollbackSuccessful))
		if a := final.Alarms; a == nil || a.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered || !cmp.Equal(a.TriggeredAlarmNames, []string{"web-5xx"}) {
			t.Errorf("alarms after the rollback: %+v", a)
		}
		if r := aws.ToString(final.StatusReason); !strings.Contains(r, "web-5xx") || final.Rollback == nil || !strings.Contains(aws.ToString(final.Rollback.Reason), "alarm") {
			t.Errorf("statusReason %q, rollback %+v: want the alarm named", r, final.Rollback)
		}
		if got := runningTaskArns(sim, "prod", "web:1"); len(got) != 2 {
			t.Errorf("source tasks running: %d, want 2", len(got))
		}
	})
}

func TestCanaryStoppedDuringStep(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sim, c := fakeClockSim(t, stagedWorld("CANARY", 4, time.Minute, func(sc *Scenario) {
			sc.Services[0].DeploymentConfiguration.CanaryConfiguration = &types.CanaryConfiguration{CanaryPercent: aws.Float64(12.5), CanaryBakeTimeInMinutes: aws.Int32(10)}
		}))
		blue := runningTaskArns(sim, "prod", "web:1")
		arn := deployImage(t, c, "app:v2")
		sd := waitSD(t, c, arn, "the canary step", nil, func(sd types.ServiceDeployment) bool {
			return sd.LifecycleStage == types.ServiceDeploymentLifecycleStageProductionTrafficShift
		})
		if w, src := weight(sd.TargetServiceRevision.RequestedProductionTrafficWeight), weight(sd.SourceServiceRevisions[0].RequestedProductionTrafficWeight); w != 12.5 || src != 87.5 {
			t.Errorf("canary step: production %v on the target, %v on the source; want 12.5 and 87.5", w, src)
		}
		time.Sleep(5 * time.Minute) // half the canary bake, on the fake clock
		if sd := describeSD(t, c, arn); sd.LifecycleStage != types.ServiceDeploymentLifecycleStageProductionTrafficShift || sd.Status != types.ServiceDeploymentStatusInProgress {
			t.Fatalf("5 minutes into a 10-minute canary bake: %s %s", sd.Status, sd.LifecycleStage)
		}
		if _, err := c.StopServiceDeployment(context.Background(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: types.StopServiceDeploymentStopTypeRollback}); err != nil {
			t.Fatalf("StopServiceDeployment: %v", err)
		}
		final := waitSD(t, c, arn, "ROLLBACK_SUCCESSFUL", nil, statusIs(types.ServiceDeploymentStatusRollbackSuccessful))
		if w := weight(final.SourceServiceRevisions[0].RequestedProductionTrafficWeight); w != 100 {
			t.Errorf("production weight on the source after the rollback: %v, want 100", w)
		}
		if got := runningTaskArns(sim, "prod", "web:1"); !cmp.Equal(blue, got) {
			t.Errorf("source tasks replaced by the rollback: before %v, after %v", blue, got)
		}
	})
}

func TestStopAbort(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sim, c := fakeClockSim(t, stagedWorld("BLUE_GREEN", 2, time.Minute, func(sc *Scenario) {
			sc.Services[0].DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(30)
		}))
		arn := deployImage(t, c, "app:v2")
		waitSD(t, c, arn, "BAKE_TIME", nil, func(sd types.ServiceDeployment) bool {
			return sd.LifecycleStage == types.ServiceDeploymentLifecycleStageBakeTime
		})
		if _, err := c.StopServiceDeployment(context.Background(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: types.StopServiceDeploymentStopTypeAbort}); err != nil {
			t.Fatalf("StopServiceDeployment ABORT: %v", err)
		}
		final := waitSD(t, c, arn, "STOPPED", nil, statusIs(types.ServiceDeploymentStatusStopped))
		if final.StoppedAt == nil || !strings.Contains(aws.ToString(final.StatusReason), "StopServiceDeployment") || final.Rollback != nil {
			t.Errorf("stopped: %+v", final)
		}
		time.Sleep(time.Hour) // nothing moves any more: no clean-up, no rollback
		if got := describeSD(t, c, arn); got.Status != types.ServiceDeploymentStatusStopped || got.LifecycleStage != types.ServiceDeploymentLifecycleStageBakeTime {
			t.Errorf("an hour later: %s %s", got.Status, got.LifecycleStage)
		}
		if blue, green := runningTaskArns(sim, "prod", "web:1"), runningTaskArns(sim, "prod", "web:2"); len(blue) != 2 || len(green) != 2 {
			t.Errorf("after ABORT: %d blue and %d green tasks running, want both revisions left as they were", len(blue), len(green))
		}
	})
}

// TestStopServiceDeploymentByStatus follows "Stopping Amazon ECS service
// deployments" (developer guide): a deployment IN_PROGRESS moves to
// ROLLBACK_REQUESTED and rolls back; one STOP_REQUESTED "continues to
// stop"; ROLLBACK_REQUESTED and ROLLBACK_IN_PROGRESS "continue the
// rollback operation"; the call succeeds in all of them. A completed one
// (SUCCESSFUL, STOPPED, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED) cannot be
// stopped: ConflictException (API reference), and nothing changes.
// PENDING lasts only until the simulator's next step, so it is not
// reachable from the API.
func TestStopServiceDeploymentByStatus(t *testing.T) {
	t.Parallel()
	stop := func(c *ecs.Client, arn string, st types.StopServiceDeploymentStopType) error {
		_, err := c.StopServiceDeployment(context.Background(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: st})
		return err
	}
	inBake := func(sd types.ServiceDeployment) bool {
		return sd.LifecycleStage == types.ServiceDeploymentLifecycleStageBakeTime
	}
	// then brings the deployment to BAKE_TIME, stops it with stopType
	// and waits for status ("": as it is right after the call).
	then := func(stopType types.StopServiceDeploymentStopType, status types.ServiceDeploymentStatus) func(*testing.T, *ecs.Client, string) types.ServiceDeployment {
		return func(t *testing.T, c *ecs.Client, arn string) types.ServiceDeployment {
			waitSD(t, c, arn, "BAKE_TIME", nil, inBake)
			if err := stop(c, arn, stopType); err != nil {
				t.Fatalf("first StopServiceDeployment %s: %v", stopType, err)
			}
			if status == "" {
				return describeSD(t, c, arn)
			}
			return waitSD(t, c, arn, string(status), nil, statusIs(status))
		}
	}
	tests := []struct {
		name string
		// reach brings the deployment to the status under test and
		// returns it as seen.
		reach     func(t *testing.T, c *ecs.Client, arn string) types.ServiceDeployment
		fails     bool // rollbacks end ROLLBACK_FAILED
		wantErr   string
		wantFinal types.ServiceDeploymentStatus
	}{
		{"IN_PROGRESS", func(t *testing.T, c *ecs.Client, arn string) types.ServiceDeployment {
			return waitSD(t, c, arn, "BAKE_TIME", nil, inBake)
		}, false, "", types.ServiceDeploymentStatusRollbackSuccessful},
		{"STOP_REQUESTED", then(types.StopServiceDeploymentStopTypeAbort, ""), false, "", types.ServiceDeploymentStatusStopped},
		{"ROLLBACK_REQUESTED", then(types.StopServiceDeploymentStopTypeRollback, ""), false, "", types.ServiceDeploymentStatusRollbackSuccessful},
		{"ROLLBACK_IN_PROGRESS", then(types.StopServiceDeploymentStopTypeRollback, types.ServiceDeploymentStatusRollbackInProgress), false, "", types.ServiceDeploymentStatusRollbackSuccessful},
		{"SUCCESSFUL", func(t *testing.T, c *ecs.Client, arn string) types.ServiceDeployment {
			return waitSD(t, c, arn, "SUCCESSFUL", nil, statusIs(types.ServiceDeploymentStatusSuccessful))
		}, false, "ConflictException", types.ServiceDeploymentStatusSuccessful},
		{"STOPPED", then(types.StopServiceDeploymentStopTypeAbort, types.ServiceDeploymentStatusStopped), false, "ConflictException", types.ServiceDeploymentStatusStopped},
		{"ROLLBACK_SUCCESSFUL", then(types.StopServiceDeploymentStopTypeRollback, types.ServiceDeploymentStatusRollbackSuccessful), false, "ConflictException", types.ServiceDeploymentStatusRollbackSuccessful},
		{"ROLLBACK_FAILED", then(types.StopServiceDeploymentStopTypeRollback, types.ServiceDeploymentStatusRollbackFailed), true, "ConflictException", types.ServiceDeploymentStatusRollbackFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				bake := int32(30)
				if tt.name == "SUCCESSFUL" {
					bake = 1
				}
				sim, c := fakeClockSim(t, stagedWorld("BLUE_GREEN", 2, 100*time.Millisecond, func(sc *Scenario) {
					sc.Services[0].DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(bake)
					sc.Services[0].RollbackFails = tt.fails
				}))
				arn := deployImage(t, c, "app:v2")
				before := tt.reach(t, c, arn)
				if string(before.Status) != tt.name {
					t.Fatalf("reached %s, want %s", before.Status, tt.name)
				}
				calls := len(sim.MutatingCalls())
				err := stop(c, arn, types.StopServiceDeploymentStopTypeRollback)
				if got := apiErrorCode(err); got != tt.wantErr || (err != nil && tt.wantErr == "") {
					t.Fatalf("StopServiceDeployment ROLLBACK in %s: %v, want %q", tt.name, err, tt.wantErr)
				}
				if tt.wantErr != "" {
					time.Sleep(time.Hour)
					after := describeSD(t, c, arn)
					rb := func(sd types.ServiceDeployment) string {
						if sd.Rollback == nil {
							return ""
						}
						return aws.ToString(sd.Rollback.Reason) + " " + aws.ToString(sd.Rollback.ServiceRevisionArn)
					}
					if after.Status != before.Status || rb(after) != rb(before) || aws.ToString(after.StatusReason) != aws.ToString(before.StatusReason) {
						t.Errorf("refused stop changed the deployment: before %s %+v %q, after %s %+v %q",
							before.Status, before.Rollback, aws.ToString(before.StatusReason), after.Status, after.Rollback, aws.ToString(after.StatusReason))
					}
					if n := len(sim.MutatingCalls()); n != calls+1 {
						t.Errorf("mutating calls: %d after the refused stop, want %d", n, calls+1)
					}
					return
				}
				final := waitSD(t, c, arn, string(tt.wantFinal), nil, func(sd types.ServiceDeployment) bool { return sd.Status == tt.wantFinal })
				if tt.wantFinal == types.ServiceDeploymentStatusStopped && final.Rollback != nil {
					t.Errorf("STOP_REQUESTED continues to stop; got a rollback: %+v", final.Rollback)
				}
				if tt.wantFinal == types.ServiceDeploymentStatusRollbackSuccessful && (final.Rollback == nil || !strings.Contains(aws.ToString(final.StatusReason), "StopServiceDeployment")) {
					t.Errorf("rolled back: reason %q, rollback %+v", aws.ToString(final.StatusReason), final.Rollback)
				}
			})
		})
	}
}

// TestContinueAfterTheHookMovedOn follows "Continuing service
// deployments" (developer guide): the PAUSE hook must be AWAITING_ACTION
// and the deployment IN_PROGRESS. A hook that timed out (even with the
// CONTINUE action, when the deployment goes on by itself) or a deployment
// rolling back refuses ContinueServiceDeployment with ClientException; the
// deployment is not disturbed. (A hook continued by someone else: see
// TestPauseHook's second call.)
func TestContinueAfterTheHookMovedOn(t *testing.T) {
	t.Parallel()
	awaiting := func(sd types.ServiceDeployment) bool {
		h, ok := hookDetail(sd)
		return ok && h.Status == types.DeploymentLifecycleHookStatusAwaitingAction
	}
	tests := []struct {
		name      string
		timeout   types.DeploymentLifecycleHookAction
		moveOn    func(t *testing.T, c *ecs.Client, arn string)
		wantFinal types.ServiceDeploymentStatus
	}{
		{"timed out with CONTINUE", types.DeploymentLifecycleHookActionContinue, func(t *testing.T, c *ecs.Client, arn string) {
			waitSD(t, c, arn, "TIMED_OUT", nil, func(sd types.ServiceDeployment) bool {
				h, ok := hookDetail(sd)
				return ok && h.Status == types.DeploymentLifecycleHookStatusTimedOut
			})
		}, types.ServiceDeploymentStatusSuccessful},
		{"rolling back", types.DeploymentLifecycleHookActionRollback, func(t *testing.T, c *ecs.Client, arn string) {
			if _, err := c.StopServiceDeployment(context.Background(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn)}); err != nil {
				t.Fatalf("StopServiceDeployment: %v", err)
			}
		}, types.ServiceDeploymentStatusRollbackSuccessful},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				_, c := fakeClockSim(t, stagedWorld("BLUE_GREEN", 2, 100*time.Millisecond, func(sc *Scenario) {
					sc.Services[0].DeploymentConfiguration.LifecycleHooks = []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
						LifecycleStages:      []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift},
						TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(10), Action: tt.timeout}}}
				}))
				arn := deployImage(t, c, "app:v2")
				h, _ := hookDetail(waitSD(t, c, arn, "AWAITING_ACTION", nil, awaiting))
				tt.moveOn(t, c, arn)
				_, err := c.ContinueServiceDeployment(context.Background(), &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: h.HookId})
				if apiErrorCode(err) != "ClientException" {
					t.Errorf("ContinueServiceDeployment after the hook moved on: %v, want ClientException", err)
				}
				waitSD(t, c, arn, string(tt.wantFinal), nil, statusIs(tt.wantFinal))
			})
		})
	}
}

// TestPauseHookIDAcrossLinearSteps: ECS generates one hookId for a PAUSE
// hook (developer guide, pause-lifecycle-hooks.html), and a LINEAR
// deployment meets its PRE_PRODUCTION_TRAFFIC_SHIFT hook before every
// traffic step with that same id. Between the steps the hook is SUCCEEDED
// and a Continue is refused; at the next step a Continue with the old id,
// a retry for instance, is accepted and continues that step.
func TestPauseHookIDAcrossLinearSteps(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sim, c := fakeClockSim(t, stagedWorld("LINEAR", 2, 100*time.Millisecond, func(sc *Scenario) {
			dc := &sc.Services[0].DeploymentConfiguration
			dc.LinearConfiguration = &types.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(5)}
			dc.LifecycleHooks = []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
				LifecycleStages:      []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePreProductionTrafficShift},
				TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(600)}}}
		}))
		ctx := context.Background()
		arn := deployImage(t, c, "app:v2")
		awaitingAt := func(prod float64) func(types.ServiceDeployment) bool {
			return func(sd types.ServiceDeployment) bool {
				h, ok := hookDetail(sd)
				return ok && h.Status == types.DeploymentLifecycleHookStatusAwaitingAction && weight(sd.TargetServiceRevision.RequestedProductionTrafficWeight) == prod
			}
		}
		first := waitSD(t, c, arn, "the hook before the first step", nil, awaitingAt(0))
		h1, _ := hookDetail(first)
		if !strings.HasPrefix(aws.ToString(h1.HookId), "ecs-pause-") || first.LifecycleStage != "PRE_PRODUCTION_TRAFFIC_SHIFT" {
			t.Errorf("first pause: hook %q at %s", aws.ToString(h1.HookId), first.LifecycleStage)
		}
		if _, err := c.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: h1.HookId}); err != nil {
			t.Fatalf("ContinueServiceDeployment at the first step: %v", err)
		}
		waitSD(t, c, arn, "the first step", nil, func(sd types.ServiceDeployment) bool {
			return weight(sd.TargetServiceRevision.RequestedProductionTrafficWeight) == 50
		})
		if _, err := c.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: h1.HookId}); apiErrorCode(err) != "ClientException" {
			t.Errorf("Continue during the step bake: %v, want ClientException (the hook SUCCEEDED)", err)
		}
		second := waitSD(t, c, arn, "the hook before the second step", nil, awaitingAt(50))
		if h2, _ := hookDetail(second); aws.ToString(h2.HookId) != aws.ToString(h1.HookId) {
			t.Errorf("hookId at the second step %q, want the first step's %q", aws.ToString(h2.HookId), aws.ToString(h1.HookId))
		}
		if _, err := c.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: h1.HookId}); err != nil {
			t.Fatalf("Continue with the first step's hookId at the second step: %v", err)
		}
		waitSD(t, c, arn, "SUCCESSFUL", nil, statusIs(types.ServiceDeploymentStatusSuccessful))
		want := []string{"PRE_PRODUCTION_TRAFFIC_SHIFT 0/100", "PRODUCTION_TRAFFIC_SHIFT 50/100", "PRE_PRODUCTION_TRAFFIC_SHIFT 50/100", "PRODUCTION_TRAFFIC_SHIFT 100/100"}
		var got []string
		for _, h := range sim.history(arn) {
			if strings.Contains(h, "PRODUCTION_TRAFFIC_SHIFT") && !strings.HasPrefix(h, "POST_") {
				got = append(got, h)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("traffic steps (-want +got):\n%s", diff)
		}
	})
}

// TestCrashLoopWithoutBreaker: without the circuit breaker ECS does not
// count failures for a service deployment (its deploymentCircuitBreaker is
// DISABLED, API reference ServiceDeploymentCircuitBreaker), and tasks that
// ran before they crash never count as failed tasks of the ECS deployment
// (Deployment.failedTasks: "Once a service deployment has one or more
// successfully running tasks, the failed task count resets to zero and
// stops being evaluated"). A crash loop of the new revision shows in
// neither: the deployment goes on IN_PROGRESS.
func TestCrashLoopWithoutBreaker(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sim, c := fakeClockSim(t, stagedWorld("BLUE_GREEN", 2, 100*time.Millisecond, func(sc *Scenario) {
			sc.Services[0].DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(30)
			sc.ImageRules = []ImageRule{{Image: "app:loop", Behavior: BehaviorCrashAfter, After: Duration(50 * time.Millisecond)}}
		}))
		arn := deployImage(t, c, "app:loop")
		stopped := func() int {
			n := 0
			for _, tk := range sim.Tasks("prod") {
				if strings.HasSuffix(aws.ToString(tk.TaskDefinitionArn), "web:2") && aws.ToString(tk.LastStatus) == "STOPPED" {
					n++
				}
			}
			return n
		}
		sd := waitSD(t, c, arn, "six crashed tasks", func(sd types.ServiceDeployment) {
			if cb := sd.DeploymentCircuitBreaker; cb == nil || cb.Status != types.ServiceDeploymentRollbackMonitorsStatusDisabled || cb.FailureCount != 0 || cb.Threshold != 0 {
				t.Fatalf("deploymentCircuitBreaker without a breaker: %+v, want DISABLED with no count", cb)
			}
		}, func(types.ServiceDeployment) bool { return stopped() >= 6 })
		if sd.Status != types.ServiceDeploymentStatusInProgress {
			t.Errorf("after 6 crashes: %s, want IN_PROGRESS (nothing in ECS notices)", sd.Status)
		}
		for _, d := range describeService(t, c, "prod", "web").Deployments {
			if d.FailedTasks != 0 {
				t.Errorf("deployment %s of %s: failedTasks %d, want 0 (its tasks ran before they crashed)", aws.ToString(d.Id), aws.ToString(d.TaskDefinition), d.FailedTasks)
			}
		}
	})
}
