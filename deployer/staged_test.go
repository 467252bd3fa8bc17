package deployer

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

const sdARN = "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/4f2aXyZ"

// sdRead builds one read of a service deployment; the options fill the rest.
func sdRead(status types.ServiceDeploymentStatus, stage types.ServiceDeploymentLifecycleStage, running, requested int32, opts ...func(*types.ServiceDeployment)) types.ServiceDeployment {
	sd := types.ServiceDeployment{
		ServiceDeploymentArn: aws.String(sdARN),
		Status:               status,
		LifecycleStage:       stage,
		TargetServiceRevision: &types.ServiceRevisionSummary{
			Arn:                aws.String("arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/2"),
			RunningTaskCount:   running,
			RequestedTaskCount: requested,
		},
	}
	for _, o := range opts {
		o(&sd)
	}
	return sd
}

func prod(w float64) func(*types.ServiceDeployment) {
	return func(sd *types.ServiceDeployment) {
		sd.TargetServiceRevision.RequestedProductionTrafficWeight = aws.Float64(w)
	}
}

func test(w float64) func(*types.ServiceDeployment) {
	return func(sd *types.ServiceDeployment) {
		sd.TargetServiceRevision.RequestedTestTrafficWeight = aws.Float64(w)
	}
}

func pending(n int32) func(*types.ServiceDeployment) {
	return func(sd *types.ServiceDeployment) { sd.TargetServiceRevision.PendingTaskCount = n }
}

func breaker(status types.ServiceDeploymentRollbackMonitorsStatus, failures, threshold int32) func(*types.ServiceDeployment) {
	return func(sd *types.ServiceDeployment) {
		sd.DeploymentCircuitBreaker = &types.ServiceDeploymentCircuitBreaker{Status: status, FailureCount: failures, Threshold: threshold}
	}
}

func alarms(status types.ServiceDeploymentRollbackMonitorsStatus, triggered ...string) func(*types.ServiceDeployment) {
	return func(sd *types.ServiceDeployment) {
		sd.Alarms = &types.ServiceDeploymentAlarms{Status: status, AlarmNames: []string{"web-5xx", "web-latency"}, TriggeredAlarmNames: triggered}
	}
}

func hook(typ types.DeploymentLifecycleHookTargetType, target, id string, status types.DeploymentLifecycleHookStatus) func(*types.ServiceDeployment) {
	return func(sd *types.ServiceDeployment) {
		h := types.DeploymentLifecycleHookDetail{HookId: aws.String(id), TargetType: typ, Status: status}
		if target != "" {
			h.TargetArn = aws.String(target)
		}
		if typ == types.DeploymentLifecycleHookTargetTypePause {
			h.TimeoutAction = types.DeploymentLifecycleHookActionRollback
			h.ExpiresAt = aws.Time(time.Date(2026, 11, 30, 4, 10, 0, 0, time.UTC))
		}
		sd.LifecycleHookDetails = append(sd.LifecycleHookDetails, h)
	}
}

func reason(s string) func(*types.ServiceDeployment) {
	return func(sd *types.ServiceDeployment) { sd.StatusReason = aws.String(s) }
}

const smokeLambda = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test"

var configHooks = []types.DeploymentLifecycleHook{
	{TargetType: types.DeploymentLifecycleHookTargetTypeAwsLambda, HookTargetArn: aws.String(smokeLambda),
		LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift}},
	{TargetType: types.DeploymentLifecycleHookTargetTypePause,
		LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift}},
}

const (
	inProgress   = types.ServiceDeploymentStatusInProgress
	scaleUp      = types.ServiceDeploymentLifecycleStageScaleUp
	prodShift    = types.ServiceDeploymentLifecycleStageProductionTrafficShift
	postTest     = types.ServiceDeploymentLifecycleStagePostTestTrafficShift
	bake         = types.ServiceDeploymentLifecycleStageBakeTime
	triggered    = types.ServiceDeploymentRollbackMonitorsStatusTriggered
	monitoring   = types.ServiceDeploymentRollbackMonitorsStatusMonitoring
	lambdaHook   = types.DeploymentLifecycleHookTargetTypeAwsLambda
	pauseHook    = types.DeploymentLifecycleHookTargetTypePause
	hookFailed   = types.DeploymentLifecycleHookStatusFailed
	hookAwaiting = types.DeploymentLifecycleHookStatusAwaitingAction
)

// TestStagedJudge feeds a judge a sequence of reads and checks the
// outcome and reason of the last one.
func TestStagedJudge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		threshold   int
		ours        bool     // we asked for the rollback before the last read
		continued   []string // hooks we continued
		reads       []types.ServiceDeployment
		want        stagedOutcome
		wantReason  string // substring; "" for none
		wantSignal  bool
		wantHookID  string
		notInReason string
	}{
		{name: "pending", reads: []types.ServiceDeployment{sdRead(types.ServiceDeploymentStatusPending, "", 0, 3)}, want: stagedInProgress},
		{name: "scaling up", reads: []types.ServiceDeployment{sdRead(inProgress, scaleUp, 1, 3, pending(2))}, want: stagedInProgress},
		{name: "unknown stage and status are text, not errors",
			reads: []types.ServiceDeployment{sdRead("WARMING_UP", "PRE_FLIGHT_CHECKS", 0, 3)}, want: stagedInProgress},
		{name: "successful",
			reads: []types.ServiceDeployment{sdRead(types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentLifecycleStageCleanUp, 3, 3, prod(100))},
			want:  stagedSucceeded, wantReason: "deployment 4f2aXyZ completed: 3/3 tasks of web:2 running, production 100 %"},
		{name: "breaker counts reach our threshold",
			threshold: 2,
			reads: []types.ServiceDeployment{
				sdRead(inProgress, scaleUp, 0, 3, breaker(monitoring, 1, 10)),
				sdRead(inProgress, scaleUp, 0, 3, breaker(monitoring, 2, 10)),
			},
			want: stagedFailed, wantReason: "2 tasks of web:2 failed to start (failed-tasks-threshold 2)", wantSignal: true},
		{name: "breaker counts below our threshold",
			threshold: 3,
			reads:     []types.ServiceDeployment{sdRead(inProgress, scaleUp, 0, 3, breaker(monitoring, 2, 10))},
			want:      stagedInProgress},
		{name: "breaker tripped: ECS acts, we wait",
			reads: []types.ServiceDeployment{sdRead(inProgress, scaleUp, 0, 3, breaker(triggered, 10, 10))},
			want:  stagedInProgress},
		{name: "running tasks of ours drop: a signal",
			reads: []types.ServiceDeployment{sdRead(inProgress, bake, 3, 3, prod(100)), sdRead(inProgress, bake, 2, 3, prod(100))},
			want:  stagedInProgress, wantSignal: true},
		{name: "ECS rolls back on its breaker",
			reads:      []types.ServiceDeployment{sdRead(types.ServiceDeploymentStatusRollbackInProgress, scaleUp, 0, 3, breaker(triggered, 10, 10))},
			want:       stagedECSRollback,
			wantReason: "deployment 4f2aXyZ failed: the deployment circuit breaker tripped after 10 failed tasks (threshold 10)"},
		{name: "ECS rolls back on alarms, named",
			reads: []types.ServiceDeployment{
				sdRead(inProgress, bake, 3, 3, prod(100)),
				sdRead(types.ServiceDeploymentStatusRollbackRequested, bake, 3, 3, prod(100), alarms(triggered, "web-5xx", "web-latency")),
			},
			want: stagedECSRollback, wantReason: "CloudWatch alarms web-5xx, web-latency went off"},
		{name: "ECS rolls back on a failed Lambda hook, named with its stage",
			reads: []types.ServiceDeployment{
				sdRead(inProgress, postTest, 3, 3, prod(0), test(100), hook(lambdaHook, smokeLambda, "h1", types.DeploymentLifecycleHookStatusInProgress)),
				sdRead(types.ServiceDeploymentStatusRollbackInProgress, types.ServiceDeploymentLifecycleStageTestTrafficShift, 3, 3, prod(0), hook(lambdaHook, smokeLambda, "h1", hookFailed)),
			},
			want: stagedECSRollback, wantReason: "deployment 4f2aXyZ failed: Lambda hook smoke-test failed at POST_TEST_TRAFFIC_SHIFT"},
		{name: "a PAUSE hook that timed out with ROLLBACK",
			reads: []types.ServiceDeployment{
				sdRead(types.ServiceDeploymentStatusRollbackInProgress, postTest, 3, 3, hook(pauseHook, "", "ecs-pause-1", types.DeploymentLifecycleHookStatusTimedOut)),
			},
			want: stagedECSRollback, wantReason: "PAUSE hook ecs-pause-1 timed out at POST_TEST_TRAFFIC_SHIFT (timeout action ROLLBACK)"},
		{name: "ECS's own words when no monitor says",
			reads: []types.ServiceDeployment{sdRead(types.ServiceDeploymentStatusRollbackRequested, bake, 3, 3, func(sd *types.ServiceDeployment) {
				sd.Rollback = &types.Rollback{Reason: aws.String("Service deployment rolled back because of a failure.")}
			})},
			want: stagedECSRollback, wantReason: "deployment 4f2aXyZ failed: Service deployment rolled back because of a failure"},
		{name: "our rollback in progress is not ECS's",
			ours:  true,
			reads: []types.ServiceDeployment{sdRead(types.ServiceDeploymentStatusRollbackInProgress, bake, 3, 3)},
			want:  stagedInProgress},
		{name: "our rollback done",
			ours:  true,
			reads: []types.ServiceDeployment{sdRead(types.ServiceDeploymentStatusRollbackSuccessful, types.ServiceDeploymentLifecycleStageCleanUp, 0, 0)},
			want:  stagedRolledBack, wantReason: "deployment 4f2aXyZ rolled back to web:1", notInReason: "ECS"},
		{name: "rollback failed",
			reads: []types.ServiceDeployment{sdRead(types.ServiceDeploymentStatusRollbackFailed, scaleUp, 0, 3, reason("Rollback failed: capacity."))},
			want:  stagedRollbackFailed, wantReason: "the rollback of deployment 4f2aXyZ to web:1 failed: Rollback failed: capacity"},
		{name: "stopped by someone else",
			reads: []types.ServiceDeployment{sdRead(types.ServiceDeploymentStatusStopped, scaleUp, 1, 3, reason("Service deployment stopped by a newer deployment."))},
			want:  stagedStopped, wantReason: "deployment 4f2aXyZ was stopped: Service deployment stopped by a newer deployment"},
		{name: "stopped on the breaker without rollback",
			reads: []types.ServiceDeployment{sdRead(types.ServiceDeploymentStatusStopped, scaleUp, 0, 3, breaker(triggered, 3, 3))},
			want:  stagedStopped, wantReason: "circuit breaker tripped after 3 failed tasks (threshold 3); ECS stopped it without rolling back"},
		{name: "waiting at a PAUSE hook",
			reads: []types.ServiceDeployment{sdRead(inProgress, postTest, 3, 3, prod(0), test(100), hook(pauseHook, "", "ecs-pause-7", hookAwaiting))},
			want:  stagedPaused, wantHookID: "ecs-pause-7", wantReason: "paused at POST_TEST_TRAFFIC_SHIFT, waiting at PAUSE hook ecs-pause-7"},
		{name: "a PAUSE hook we continued still shows waiting (stale read)",
			continued: []string{"ecs-pause-7"},
			reads:     []types.ServiceDeployment{sdRead(inProgress, postTest, 3, 3, hook(pauseHook, "", "ecs-pause-7", hookAwaiting))},
			want:      stagedInProgress},
		{name: "stop requested by someone else (ABORT) is a stop at once",
			reads: []types.ServiceDeployment{func() types.ServiceDeployment {
				sd := sdRead(types.ServiceDeploymentStatusStopRequested, types.ServiceDeploymentLifecycleStageBakeTime, 3, 3, prod(100))
				sd.StatusReason = aws.String("Service deployment stopped because of a StopServiceDeployment request.")
				return sd
			}()},
			want: stagedStopped, wantReason: "was stopped: Service deployment stopped because of a StopServiceDeployment request"},
		{name: "the same PAUSE hook ID at the next linear step waits again",
			continued: []string{"ecs-pause-7"},
			reads: []types.ServiceDeployment{
				sdRead(inProgress, "PRE_PRODUCTION_TRAFFIC_SHIFT", 3, 3, prod(0), test(100), hook(pauseHook, "", "ecs-pause-7", hookAwaiting)),
				sdRead(inProgress, "PRE_PRODUCTION_TRAFFIC_SHIFT", 3, 3, prod(50), test(100), hook(pauseHook, "", "ecs-pause-7", hookAwaiting)),
			},
			want: stagedPaused, wantHookID: "ecs-pause-7"},
		{name: "a Lambda hook running is progress",
			reads: []types.ServiceDeployment{sdRead(inProgress, postTest, 3, 3, hook(lambdaHook, smokeLambda, "h1", types.DeploymentLifecycleHookStatusInProgress))},
			want:  stagedInProgress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := newStagedJudge(sdARN, "web:2", "web:1", configHooks, tt.threshold)
			for _, h := range tt.continued {
				j.noteContinued(tt.reads[0], h)
			}
			var d stagedDecision
			for i, sd := range tt.reads {
				if tt.ours && i == len(tt.reads)-1 {
					j.noteRollback()
				}
				d = j.judge(sd)
			}
			if d.outcome != tt.want {
				t.Errorf("outcome: got %d, want %d (reason %q)", d.outcome, tt.want, d.reason)
			}
			if tt.wantReason != "" && !strings.Contains(d.reason, tt.wantReason) {
				t.Errorf("reason: got %q, want it to contain %q", d.reason, tt.wantReason)
			}
			if tt.notInReason != "" && strings.Contains(d.reason, tt.notInReason) {
				t.Errorf("reason: got %q, want no %q", d.reason, tt.notInReason)
			}
			if d.signal != tt.wantSignal {
				t.Errorf("signal: got %v, want %v", d.signal, tt.wantSignal)
			}
			if got := ""; d.hook != nil || tt.wantHookID != "" {
				if d.hook != nil {
					got = aws.ToString(d.hook.HookId)
				}
				if got != tt.wantHookID {
					t.Errorf("hook: got %q, want %q", got, tt.wantHookID)
				}
			}
		})
	}
}

// TestStagedLinesAndStages checks that a line is logged only when what
// people see changes, and that every stage (every traffic step) becomes a
// milestone.
func TestStagedLinesAndStages(t *testing.T) {
	t.Parallel()
	reads := []types.ServiceDeployment{
		sdRead(types.ServiceDeploymentStatusPending, "", 0, 3),
		sdRead(inProgress, scaleUp, 0, 3, pending(3)),
		sdRead(inProgress, scaleUp, 0, 3, pending(3)), // unchanged: no line
		sdRead(inProgress, scaleUp, 3, 3),
		sdRead(inProgress, prodShift, 3, 3, prod(30)),
		sdRead(inProgress, prodShift, 3, 3, prod(30)), // unchanged
		sdRead(inProgress, prodShift, 3, 3, prod(60)),
		sdRead(inProgress, prodShift, 3, 3, prod(100)),
		sdRead(inProgress, bake, 3, 3, prod(100)),
		sdRead(types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentLifecycleStageCleanUp, 3, 3, prod(100)),
	}
	j := newStagedJudge(sdARN, "web:42", "web:41", nil, 1)
	var lines, stages []string
	for _, sd := range reads {
		d := j.judge(sd)
		if d.line != "" {
			lines = append(lines, d.line)
		}
		stages = append(stages, d.stages...)
	}
	wantLines := []string{
		"deployment 4f2aXyZ: -, 0/3 running, PENDING",
		"deployment 4f2aXyZ: SCALE_UP, 0/3 running, 3 pending, IN_PROGRESS",
		"deployment 4f2aXyZ: SCALE_UP, 3/3 running, IN_PROGRESS",
		"deployment 4f2aXyZ: PRODUCTION_TRAFFIC_SHIFT, production 30 % → web:42, 3/3 running, IN_PROGRESS",
		"deployment 4f2aXyZ: PRODUCTION_TRAFFIC_SHIFT, production 60 % → web:42, 3/3 running, IN_PROGRESS",
		"deployment 4f2aXyZ: PRODUCTION_TRAFFIC_SHIFT, production 100 % → web:42, 3/3 running, IN_PROGRESS",
		"deployment 4f2aXyZ: BAKE_TIME, production 100 % → web:42, 3/3 running, IN_PROGRESS",
		"deployment 4f2aXyZ: CLEAN_UP, production 100 % → web:42, 3/3 running, SUCCESSFUL",
	}
	if diff := cmp.Diff(wantLines, lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	wantStages := []string{"PRE_SCALE_UP (between two reads)", "SCALE_UP",
		"POST_SCALE_UP (between two reads)", "TEST_TRAFFIC_SHIFT (between two reads)", "POST_TEST_TRAFFIC_SHIFT (between two reads)",
		"PRODUCTION_TRAFFIC_SHIFT (production 30 %)", "PRODUCTION_TRAFFIC_SHIFT (production 60 %)", "PRODUCTION_TRAFFIC_SHIFT (production 100 %)",
		"POST_PRODUCTION_TRAFFIC_SHIFT (between two reads)", "BAKE_TIME", "CLEAN_UP"}
	if diff := cmp.Diff(wantStages, stages); diff != "" {
		t.Errorf("stages (-want +got):\n%s", diff)
	}
}

func TestStagedLineShowsTestTrafficHooksAndFailures(t *testing.T) {
	t.Parallel()
	j := newStagedJudge(sdARN, "web:42", "web:41", nil, 5)
	d := j.judge(sdRead(inProgress, postTest, 2, 3, prod(0), test(100), pending(1), breaker(monitoring, 1, 10),
		hook(lambdaHook, smokeLambda, "h1", types.DeploymentLifecycleHookStatusInProgress)))
	want := "deployment 4f2aXyZ: POST_TEST_TRAFFIC_SHIFT, production 0 % → web:42, test 100 %, 2/3 running, 1 pending, Lambda hook smoke-test IN_PROGRESS, 1 failed, IN_PROGRESS"
	if d.line != want {
		t.Errorf("line:\n got %q\nwant %q", d.line, want)
	}
}

func TestPausedNotice(t *testing.T) {
	t.Parallel()
	sd := sdRead(inProgress, postTest, 3, 3, hook(pauseHook, "", "ecs-pause-7", hookAwaiting))
	got := pausedNotice("web", "4f2aXyZ", "web:42", sd.LifecycleStage, sd.LifecycleHookDetails[0])
	want := "deployment 4f2aXyZ of web:42 is paused at POST_TEST_TRAFFIC_SHIFT (PAUSE hook ecs-pause-7); ECS waits until 2026-11-30T04:10:00Z, then rolls back. Next: run ecs-rollout with service: web and resume: continue (or resume: rollback)"
	if got != want {
		t.Errorf("notice:\n got %q\nwant %q", got, want)
	}
}

func TestStrategyPlan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  *types.DeploymentConfiguration
		want []string
	}{
		{"no configuration is rolling", nil, []string{"strategy ROLLING: ECS replaces tasks in place"}},
		{"blue/green with bake time and hooks", &types.DeploymentConfiguration{
			Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(5),
			LifecycleHooks: []types.DeploymentLifecycleHook{
				configHooks[0],
				{TargetType: pauseHook, LifecycleStages: configHooks[1].LifecycleStages,
					TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(30), Action: types.DeploymentLifecycleHookActionRollback}},
			}}, []string{
			"strategy BLUE_GREEN: ECS starts the new revision beside the old one, shifts test traffic, then all production traffic at once",
			"bake time 5 minutes: the old revision keeps running after the shift; a failure then rolls production traffic straight back",
			"hook Lambda smoke-test at POST_TEST_TRAFFIC_SHIFT",
			"hook PAUSE at POST_TEST_TRAFFIC_SHIFT: waits for ContinueServiceDeployment (after 30 minutes: ROLLBACK)",
		}},
		{"linear", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyLinear, BakeTimeInMinutes: aws.Int32(1),
			LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(25), StepBakeTimeInMinutes: aws.Int32(2)}}, []string{
			"strategy LINEAR: ECS shifts production traffic in equal steps of 25 %, waiting 2 minutes between steps",
			"bake time 1 minute: the old revision keeps running after the shift; a failure then rolls production traffic straight back",
		}},
		{"canary", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary,
			CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(12.5), CanaryBakeTimeInMinutes: aws.Int32(10)}}, []string{
			"strategy CANARY: ECS shifts 12.5 % of production traffic first, waits 10 minutes, then the rest",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, strategyPlan(tt.cfg)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHookNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		h    types.DeploymentLifecycleHookDetail
		want string
	}{
		{types.DeploymentLifecycleHookDetail{TargetType: lambdaHook, TargetArn: aws.String(smokeLambda + ":live")}, "Lambda hook smoke-test:live"},
		{types.DeploymentLifecycleHookDetail{TargetType: pauseHook, HookId: aws.String("ecs-pause-1")}, "PAUSE hook ecs-pause-1"},
		{types.DeploymentLifecycleHookDetail{TargetType: "WEBHOOK", TargetArn: aws.String("https://x")}, "WEBHOOK hook https://x"},
	}
	for _, tt := range tests {
		if got := hookName(tt.h); got != tt.want {
			t.Errorf("hookName: got %q, want %q", got, tt.want)
		}
	}
}

// TestPlannedWaits: the time ECS waits on purpose is added to our
// timeout: the bake, the waits between linear steps, the canary's bake.
func TestPlannedWaits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  *types.DeploymentConfiguration
		want time.Duration
	}{
		{"none", nil, 0},
		{"rolling", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyRolling}, 0},
		{"blue/green bake", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(5)}, 5 * time.Minute},
		{"linear: 4 steps, 3 waits", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyLinear, BakeTimeInMinutes: aws.Int32(1),
			LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(25), StepBakeTimeInMinutes: aws.Int32(2)}}, 7 * time.Minute},
		{"linear: 30 % steps are 4 steps", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyLinear,
			LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(30), StepBakeTimeInMinutes: aws.Int32(1)}}, 3 * time.Minute},
		{"canary", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary, BakeTimeInMinutes: aws.Int32(2),
			CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(10)}}, 12 * time.Minute},
		// Settings left out take ECS's defaults (API reference,
		// LinearConfiguration and CanaryConfiguration).
		{"linear, ECS's defaults: 10 % steps, 6 minutes between", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyLinear}, 54 * time.Minute},
		{"linear, step bake left to ECS", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyLinear,
			LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(50)}}, 6 * time.Minute},
		{"linear, step percent left to ECS", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyLinear,
			LinearConfiguration: &types.LinearConfiguration{StepBakeTimeInMinutes: aws.Int32(1)}}, 9 * time.Minute},
		{"canary, ECS's defaults: 10 minutes", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary, BakeTimeInMinutes: aws.Int32(2)}, 12 * time.Minute},
		{"canary, bake left to ECS", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary,
			CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(20)}}, 10 * time.Minute},
		{"canary of 100 %: no canary step", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary,
			CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(100)}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := stagedTimeout(10*time.Minute, tt.cfg); got != 10*time.Minute+tt.want {
				t.Errorf("stagedTimeout: got %s, want %s", got, 10*time.Minute+tt.want)
			}
		})
	}
}
