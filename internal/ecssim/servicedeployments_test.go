package ecssim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/document"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// rollingWorld is service "web" in cluster "prod" running 2 tasks of
// app:v1 with the ROLLING strategy and the circuit breaker as given.
func rollingWorld(cb *CircuitBreaker) Scenario {
	sc := OneService("prod", "web", FargateApp("web", "app:v1"), 2)
	sc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker = cb
	sc.ImageRules = []ImageRule{{Image: "app:bad", Behavior: BehaviorCrash}}
	return sc
}

func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestRollingServiceDeployments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cb         *CircuitBreaker
		image      string
		stop       bool
		wantStatus types.ServiceDeploymentStatus
		wantReason string
		wantTD     string
		wantCB     types.ServiceDeploymentRollbackMonitorsStatus
		alarm      bool // a deployment alarm goes into ALARM 10ms after the update
	}{
		{"healthy", nil, "app:v2", false, types.ServiceDeploymentStatusSuccessful, "", "web:2", types.ServiceDeploymentRollbackMonitorsStatusDisabled, false},
		{"breaker rolls back", &CircuitBreaker{Enable: true, Rollback: true}, "app:bad", false, types.ServiceDeploymentStatusRollbackSuccessful, "circuit breaker", "web:1", types.ServiceDeploymentRollbackMonitorsStatusTriggered, false},
		{"breaker without rollback", &CircuitBreaker{Enable: true}, "app:bad", false, types.ServiceDeploymentStatusStopped, "circuit breaker", "web:2", types.ServiceDeploymentRollbackMonitorsStatusTriggered, false},
		{"stopped with rollback", nil, "app:bad", true, types.ServiceDeploymentStatusRollbackSuccessful, "StopServiceDeployment", "web:1", types.ServiceDeploymentRollbackMonitorsStatusDisabled, false},
		{"alarm rolls back", nil, "app:v2", false, types.ServiceDeploymentStatusRollbackSuccessful, "web-5xx", "web:1", types.ServiceDeploymentRollbackMonitorsStatusDisabled, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := rollingWorld(tt.cb)
			if tt.alarm {
				sc.Services[0].DeploymentConfiguration.Alarms = &DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true}
				sc.Alarms = []ScenarioAlarm{{Name: "web-5xx", Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_5XX_Count", Statistic: "Sum",
					ComparisonOperator: "GreaterThanThreshold", Threshold: 5, Changes: []AlarmChange{{State: AlarmAlarm, After: Duration(10 * time.Millisecond)}}}}
			}
			srv := NewServer(t, sc)
			c, _ := clients(srv, 1)
			arn := deployImage(t, c, tt.image)
			if tt.stop {
				waitSD(t, c, arn, "IN_PROGRESS", nil, statusIs(types.ServiceDeploymentStatusInProgress))
				if _, err := c.StopServiceDeployment(context.Background(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: types.StopServiceDeploymentStopTypeRollback}); err != nil {
					t.Fatalf("StopServiceDeployment: %v", err)
				}
			}
			final := waitSD(t, c, arn, string(tt.wantStatus), func(sd types.ServiceDeployment) {
				if sd.LifecycleStage != "" || sd.TargetServiceRevision.RequestedProductionTrafficWeight != nil {
					t.Errorf("rolling deployment reports stage %q and traffic weights", sd.LifecycleStage)
				}
			}, statusIs(tt.wantStatus))
			if !strings.Contains(aws.ToString(final.StatusReason), tt.wantReason) {
				t.Errorf("statusReason %q, want it to mention %q", aws.ToString(final.StatusReason), tt.wantReason)
			}
			if final.DeploymentCircuitBreaker.Status != tt.wantCB {
				t.Errorf("deploymentCircuitBreaker: %+v, want status %s", final.DeploymentCircuitBreaker, tt.wantCB)
			}
			if tt.alarm && (final.Alarms.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered || !cmp.Equal(final.Alarms.TriggeredAlarmNames, []string{"web-5xx"})) {
				t.Errorf("alarms: %+v, want web-5xx TRIGGERED", final.Alarms)
			}
			if tt.wantCB == types.ServiceDeploymentRollbackMonitorsStatusTriggered && final.DeploymentCircuitBreaker.FailureCount < 3 {
				t.Errorf("deploymentCircuitBreaker.failureCount %d, want >= 3", final.DeploymentCircuitBreaker.FailureCount)
			}
			if strings.HasPrefix(string(tt.wantStatus), "ROLLBACK") {
				if final.Rollback == nil || aws.ToString(final.Rollback.ServiceRevisionArn) != aws.ToString(final.SourceServiceRevisions[0].Arn) {
					t.Errorf("rollback %+v, want the source revision %s", final.Rollback, aws.ToString(final.SourceServiceRevisions[0].Arn))
				}
			}
			if tt.wantStatus != types.ServiceDeploymentStatusStopped {
				svc := waitService(t, c, "prod", "web", 5*time.Second, "steady", func(s types.Service) bool { return len(s.Deployments) == 1 })
				if !strings.HasSuffix(aws.ToString(svc.TaskDefinition), tt.wantTD) {
					t.Errorf("service task definition %s, want %s", aws.ToString(svc.TaskDefinition), tt.wantTD)
				}
			}
		})
	}
}

// TestListServiceDeployments runs on the fake clock of a synctest bubble
// (the simulator served in memory): createdAt filters compare the
// simulator's clock with the test's, and the SDK sends a timestamp in
// whole milliseconds, so on the wall clock "created before mid" depended
// on the scenario's deployment and mid falling in different milliseconds
// (and, with the list delay, on how long the calls took).
func TestListServiceDeployments(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testListServiceDeployments)
}

func testListServiceDeployments(t *testing.T) {
	sc := rollingWorld(nil)
	sc.ImageRules = append(sc.ImageRules, ImageRule{Image: "app:v2", Behavior: BehaviorSlow, After: Duration(time.Minute)})
	_, c := fakeClockSim(t, sc)
	ctx := context.Background()
	first := aws.ToString(describeService(t, c, "prod", "web").CurrentServiceDeployment)
	if first == "" {
		t.Fatal("a scenario service has no currentServiceDeployment")
	}
	// The bubble's clock starts on a whole millisecond; mid lies a
	// millisecond after the scenario's deployment and one before a.
	time.Sleep(time.Millisecond)
	mid := time.Now()
	time.Sleep(time.Millisecond)
	a := deployImage(t, c, "app:v2")
	b := deployImage(t, c, "app:v3") // replaces a
	waitSD(t, c, b, "SUCCESSFUL", nil, statusIs(types.ServiceDeploymentStatusSuccessful))
	if sd := describeSD(t, c, a); sd.Status != types.ServiceDeploymentStatusStopped || !strings.Contains(aws.ToString(sd.StatusReason), "newer") {
		t.Errorf("replaced deployment: %s %q, want STOPPED by the newer one", sd.Status, aws.ToString(sd.StatusReason))
	}
	list := func(in *ecs.ListServiceDeploymentsInput) []string {
		t.Helper()
		in.Cluster, in.Service = aws.String("prod"), aws.String("web")
		var arns []string
		for {
			out, err := c.ListServiceDeployments(ctx, in)
			if err != nil {
				t.Fatalf("ListServiceDeployments: %v", err)
			}
			for _, sd := range out.ServiceDeployments {
				arns = append(arns, aws.ToString(sd.ServiceDeploymentArn))
			}
			if out.NextToken == nil {
				return arns
			}
			in.NextToken = out.NextToken
		}
	}
	tests := []struct {
		name string
		in   *ecs.ListServiceDeploymentsInput
		want []string
	}{
		{"all, newest first", &ecs.ListServiceDeploymentsInput{}, []string{b, a, first}},
		{"one per page", &ecs.ListServiceDeploymentsInput{MaxResults: aws.Int32(1)}, []string{b, a, first}},
		{"by status", &ecs.ListServiceDeploymentsInput{Status: []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusStopped}}, []string{a}},
		{"created after", &ecs.ListServiceDeploymentsInput{CreatedAt: &types.CreatedAt{After: aws.Time(mid)}}, []string{b, a}},
		{"created before", &ecs.ListServiceDeploymentsInput{CreatedAt: &types.CreatedAt{Before: aws.Time(mid)}}, []string{first}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, list(tt.in)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	out, err := c.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{a, "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/nope"}})
	if err != nil || len(out.ServiceDeployments) != 1 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Errorf("DescribeServiceDeployments with an unknown ARN: %v %+v", err, out)
	}
	_, err = c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("nope")})
	if apiErrorCode(err) != "ServiceNotFoundException" {
		t.Errorf("unknown service: %v", err)
	}
	_, err = c.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String("arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/nope")})
	if apiErrorCode(err) != "ServiceDeploymentNotFoundException" {
		t.Errorf("stop an unknown deployment: %v", err)
	}
	_, err = c.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(b), HookId: aws.String("nope")})
	if apiErrorCode(err) != "InvalidParameterException" {
		t.Errorf("continue an unknown hook: %v", err)
	}
}

func TestUpdateServiceStrategySettings(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, rollingWorld(nil))
	c, _ := clients(srv, 1)
	ctx := context.Background()
	bad := []struct {
		name string
		dc   *types.DeploymentConfiguration
		want string
	}{
		{"unknown strategy", &types.DeploymentConfiguration{Strategy: "SIDEWAYS"}, "strategy"},
		{"pause at production shift", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, LifecycleHooks: []types.DeploymentLifecycleHook{{
			TargetType: types.DeploymentLifecycleHookTargetTypePause, LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStageProductionTrafficShift}}}}, "PAUSE"},
		{"lambda without target", &types.DeploymentConfiguration{LifecycleHooks: []types.DeploymentLifecycleHook{{
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePreScaleUp}}}}, "hookTargetArn"},
		{"linear step too small", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyLinear, LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(1)}}, "stepPercent"},
		{"bake too long", &types.DeploymentConfiguration{BakeTimeInMinutes: aws.Int32(1441)}, "bakeTimeInMinutes"},
	}
	for _, tt := range bad {
		_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DeploymentConfiguration: tt.dc, ForceNewDeployment: true})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterException" || !strings.Contains(ae.ErrorMessage(), tt.want) {
			t.Errorf("%s: got %v, want InvalidParameterException about %s", tt.name, err, tt.want)
		}
	}
	svc := describeService(t, c, "prod", "web")
	if svc.DeploymentConfiguration.Strategy != types.DeploymentStrategyRolling || len(svc.Deployments) != 1 {
		t.Errorf("rejected updates changed the service: %+v, %s", svc.DeploymentConfiguration, fmtDeployments(svc.Deployments))
	}
	// A good one is kept, member by member.
	hooks := []types.DeploymentLifecycleHook{{HookTargetArn: aws.String(hookArn), RoleArn: aws.String("arn:aws:iam::123456789012:role/hooks"),
		LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift}}}
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DeploymentConfiguration: &types.DeploymentConfiguration{
		Strategy: types.DeploymentStrategyCanary, CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(20), CanaryBakeTimeInMinutes: aws.Int32(2)},
		LifecycleHooks: hooks, BakeTimeInMinutes: aws.Int32(3)}}); err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DeploymentConfiguration: &types.DeploymentConfiguration{
		MinimumHealthyPercent: aws.Int32(50)}}); err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	dc := describeService(t, c, "prod", "web").DeploymentConfiguration
	if dc.Strategy != types.DeploymentStrategyCanary || aws.ToFloat64(dc.CanaryConfiguration.CanaryPercent) != 20 || aws.ToInt32(dc.BakeTimeInMinutes) != 3 ||
		len(dc.LifecycleHooks) != 1 || aws.ToInt32(dc.MinimumHealthyPercent) != 50 {
		t.Errorf("settings after two updates: %+v", dc)
	}
}

// hookDetails (a document) is kept as given, from UpdateService and from a
// scenario file, and returned by DescribeServices.
func TestHookDetailsKept(t *testing.T) {
	t.Parallel()
	sc, err := ParseScenario([]byte(`{
		"clusters": [{"name": "prod"}],
		"taskDefinitions": [{"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
			"containerDefinitions": [{"name": "app", "image": "app:v1", "essential": true}]}],
		"services": [{"cluster": "prod", "name": "web", "taskDefinition": "web:1", "desiredCount": 1,
			"deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1, "lifecycleHooks": [{
				"hookTargetArn": "arn:aws:lambda:us-east-1:123456789012:function:smoke", "roleArn": "arn:aws:iam::123456789012:role/hooks",
				"lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"], "hookDetails": {"S3_BUCKET_NAME": "approvals", "retries": 3}}]}}]
	}`))
	if err != nil {
		t.Fatalf("ParseScenario: %v", err)
	}
	if _, err := ParseScenario([]byte(`{"clusters": [], "services": [], "taskDefinitions": [], "x": 1}`)); err == nil {
		t.Error("unknown top-level member accepted")
	}
	if _, err := ParseScenario([]byte(`{"clusters": [{"name": "prod"}], "taskDefinitions": [], "services": [{"cluster": "prod", "name": "web", "taskDefinition": "web:1", "deploymentConfiguration": {"strategi": "LINEAR"}}]}`)); err == nil || !strings.Contains(err.Error(), "strategi") {
		t.Errorf("unknown deploymentConfiguration member: got %v", err)
	}
	srv := NewServer(t, sc)
	c, _ := clients(srv, 1)
	details := func() map[string]any {
		t.Helper()
		var got map[string]any
		hooks := describeService(t, c, "prod", "web").DeploymentConfiguration.LifecycleHooks
		if len(hooks) != 1 || hooks[0].HookDetails == nil {
			t.Fatalf("lifecycleHooks: %+v", hooks)
		}
		if err := hooks[0].HookDetails.UnmarshalSmithyDocument(&got); err != nil {
			t.Fatalf("hookDetails: %v", err)
		}
		return got
	}
	if got := details(); got["S3_BUCKET_NAME"] != "approvals" || fmt.Sprint(got["retries"]) != "3" {
		t.Errorf("hookDetails from the scenario: %v", got)
	}
	hook := types.DeploymentLifecycleHook{HookTargetArn: aws.String(hookArn), RoleArn: aws.String("arn:aws:iam::123456789012:role/hooks"),
		LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePreScaleUp},
		HookDetails:     document.NewLazyDocument(map[string]any{"env": "prod", "checks": []any{"a", "b"}})}
	if _, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
		DeploymentConfiguration: &types.DeploymentConfiguration{LifecycleHooks: []types.DeploymentLifecycleHook{hook}}}); err != nil {
		t.Fatalf("UpdateService with hookDetails: %v", err)
	}
	if got := details(); got["env"] != "prod" || fmt.Sprint(got["checks"]) != "[a b]" {
		t.Errorf("hookDetails from UpdateService: %v", got)
	}
}

// TestListServiceDeploymentsEventualConsistency: the ECS API is
// eventually consistent (API reference: "the result of an API command you
// run that affects your Amazon ECS resources might not be immediately
// visible to all subsequent commands you run"). The service deployment an
// UpdateService starts is named in its response and can be described at
// once, but ListServiceDeployments lists it only after Timings.ListDelay
// (three scenario seconds by default; Sim.SetListDelay changes it).
func TestListServiceDeploymentsEventualConsistency(t *testing.T) {
	t.Parallel()
	list := func(t *testing.T, c *ecs.Client) []string {
		t.Helper()
		out, err := c.ListServiceDeployments(context.Background(), &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("web")})
		if err != nil {
			t.Fatalf("ListServiceDeployments: %v", err)
		}
		var arns []string
		for _, b := range out.ServiceDeployments {
			arns = append(arns, aws.ToString(b.ServiceDeploymentArn))
		}
		return arns
	}
	tests := []struct {
		name  string
		delay Duration // Timings.ListDelay
		set   *time.Duration
		want  time.Duration // how long the new deployment stays unlisted
	}{
		{"default: three scenario seconds", 0, nil, 5 * time.Millisecond}, // Minute 100ms
		{"scripted", Duration(10 * time.Second), nil, 10 * time.Second},
		{"none", -1, nil, 0},
		{"set at run time", Duration(10 * time.Second), aws.Duration(time.Second), time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				sc := rollingWorld(nil)
				sc.Timings.ListDelay = tt.delay
				sim, c := fakeClockSim(t, sc)
				if tt.set != nil {
					sim.SetListDelay(*tt.set)
				}
				first := list(t, c)
				arn := deployImage(t, c, "app:v2")
				if describeSD(t, c, arn).ServiceDeploymentArn == nil {
					t.Fatal("the new service deployment cannot be described at once")
				}
				if tt.want > 0 {
					if got := list(t, c); slices.Contains(got, arn) || !cmp.Equal(got, first) {
						t.Errorf("listed right after the update: %v, want only %v", got, first)
					}
					time.Sleep(tt.want - time.Nanosecond)
					if got := list(t, c); slices.Contains(got, arn) {
						t.Errorf("listed %s after the update, before the delay of %s", tt.want-time.Nanosecond, tt.want)
					}
					time.Sleep(time.Nanosecond)
				}
				if got := list(t, c); len(got) == 0 || got[0] != arn {
					t.Errorf("after %s: listed %v, want %s first", tt.want, got, arn)
				}
			})
		})
	}
}
