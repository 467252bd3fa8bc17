package ecssim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func cloudWatchClient(srv *Server) *cloudwatch.Client {
	return cloudwatch.New(cloudwatch.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  testCreds,
	})
}

var allAlarmTypes = []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}

func describeAlarms(t testing.TB, c *cloudwatch.Client, names ...string) *cloudwatch.DescribeAlarmsOutput {
	t.Helper()
	out, err := c.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNames: names, AlarmTypes: allAlarmTypes, MaxRecords: aws.Int32(100)})
	if err != nil {
		t.Fatalf("DescribeAlarms: %v", err)
	}
	return out
}

// alarmStates maps alarm name → state from one DescribeAlarms answer.
func alarmStates(out *cloudwatch.DescribeAlarmsOutput) map[string]string {
	m := map[string]string{}
	for _, a := range out.MetricAlarms {
		m[aws.ToString(a.AlarmName)] = string(a.StateValue)
	}
	for _, a := range out.CompositeAlarms {
		m[aws.ToString(a.AlarmName)] = "composite:" + string(a.StateValue)
	}
	return m
}

func TestDescribeAlarmsThroughSDK(t *testing.T) {
	t.Parallel()
	sc := demoScenario(t)
	sc.Alarms = []ScenarioAlarm{
		{Name: "web-5xx", Threshold: 5},
		{Name: "web-p99", MetricName: "TargetResponseTime", ExtendedStatistic: "p99", Threshold: 1.5, State: AlarmAlarm},
		{Name: "web-health", Composite: true, AlarmRule: `ALARM("web-5xx") OR ALARM("web-p99")`, State: AlarmInsufficientData},
	}
	srv := NewServer(t, sc)
	c := cloudWatchClient(srv)
	ctx := context.Background()

	t.Run("names, types and unknown names", func(t *testing.T) {
		out := describeAlarms(t, c, "web-5xx", "web-p99", "web-health", "no-such-alarm")
		want := map[string]string{"web-5xx": "OK", "web-p99": "ALARM", "web-health": "composite:INSUFFICIENT_DATA"}
		if diff := cmp.Diff(want, alarmStates(out)); diff != "" {
			t.Errorf("states (-want +got):\n%s", diff)
		}
		if out.NextToken != nil {
			t.Errorf("NextToken: got %q, want none", *out.NextToken)
		}
		var p99 cwtypes.MetricAlarm
		for _, a := range out.MetricAlarms {
			if aws.ToString(a.AlarmName) == "web-p99" {
				p99 = a
			}
		}
		if got := aws.ToString(p99.ExtendedStatistic); got != "p99" {
			t.Errorf("ExtendedStatistic: got %q, want p99", got)
		}
		if got := aws.ToFloat64(p99.Threshold); got != 1.5 {
			t.Errorf("Threshold: got %v, want 1.5", got)
		}
		if got := aws.ToString(p99.StateReason); !strings.HasPrefix(got, "Threshold Crossed: 1 out of the last 1 datapoints [5.0 (") || !strings.Contains(got, "was greater than the threshold (1.5)") {
			t.Errorf("StateReason: got %q", got)
		}
		if p99.StateUpdatedTimestamp == nil || time.Since(*p99.StateUpdatedTimestamp) > time.Minute {
			t.Errorf("StateUpdatedTimestamp: got %v, want about now", p99.StateUpdatedTimestamp)
		}
		if got := aws.ToString(p99.AlarmArn); got != "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-p99" {
			t.Errorf("AlarmArn: got %q", got)
		}
		if got := aws.ToString(out.CompositeAlarms[0].AlarmRule); got != `ALARM("web-5xx") OR ALARM("web-p99")` {
			t.Errorf("AlarmRule: got %q", got)
		}
	})

	t.Run("metric alarms only without AlarmTypes", func(t *testing.T) {
		out, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"web-5xx", "web-health"}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"web-5xx": "OK"}, alarmStates(out)); diff != "" {
			t.Errorf("states (-want +got):\n%s", diff)
		}
	})

	t.Run("state filter", func(t *testing.T) {
		out, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{StateValue: cwtypes.StateValueAlarm})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"web-p99": "ALARM"}, alarmStates(out)); diff != "" {
			t.Errorf("states (-want +got):\n%s", diff)
		}
	})

	t.Run("more than 100 names", func(t *testing.T) {
		names := make([]string, 101)
		for i := range names {
			names[i] = fmt.Sprintf("a%d", i)
		}
		_, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: names})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" {
			t.Fatalf("got %v, want a ValidationError", err)
		}
	})

	t.Run("access denied", func(t *testing.T) {
		srv := NewServer(t, sc)
		srv.Sim.InjectFault("DescribeAlarms", Fault{Error: "AccessDenied"})
		_, err := cloudWatchClient(srv).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"web-5xx"}})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || !strings.Contains(ae.ErrorMessage(), "cloudwatch:DescribeAlarms") {
			t.Fatalf("got %v, want AccessDenied naming cloudwatch:DescribeAlarms", err)
		}
		if calls := srv.Sim.Calls(); len(calls) != 1 || calls[0].Op != "DescribeAlarms" || calls[0].ErrCode != "AccessDenied" {
			t.Errorf("recorded calls: %+v", calls)
		}
	})
}

func TestDescribeAlarmsPages(t *testing.T) {
	t.Parallel()
	sc := demoScenario(t)
	var names []string
	for i := range 120 {
		n := fmt.Sprintf("alarm-%03d", i)
		sc.Alarms = append(sc.Alarms, ScenarioAlarm{Name: n})
		if i < 100 {
			names = append(names, n)
		}
	}
	srv := NewServer(t, sc)
	c := cloudWatchClient(srv)
	var got []string
	pages := 0
	p := cloudwatch.NewDescribeAlarmsPaginator(c, &cloudwatch.DescribeAlarmsInput{AlarmNames: names})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range out.MetricAlarms {
			got = append(got, aws.ToString(a.AlarmName))
		}
	}
	if pages != 2 {
		t.Errorf("pages at the default MaxRecords (50): got %d, want 2", pages)
	}
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("alarms (-want +got):\n%s", diff)
	}
	if out := describeAlarms(t, c, names...); len(out.MetricAlarms) != 100 || out.NextToken != nil {
		t.Errorf("MaxRecords 100: got %d alarms, NextToken %v; want all 100 in one answer", len(out.MetricAlarms), out.NextToken)
	}
}

// waitAlarm polls DescribeAlarms until the alarm is in state.
func waitAlarm(t testing.TB, c *cloudwatch.Client, name string, state string, timeout time.Duration) cwtypes.MetricAlarm {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		late := time.Now().After(deadline)
		out := describeAlarms(t, c, name)
		if len(out.MetricAlarms) == 1 && string(out.MetricAlarms[0].StateValue) == state {
			return out.MetricAlarms[0]
		}
		if late {
			t.Fatalf("alarm %s not %s after %s: %v", name, state, timeout, alarmStates(out))
		}
		time.Sleep(3 * time.Millisecond)
	}
}

func TestScriptedAlarmStates(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testScriptedAlarmStates)
}

// testScriptedAlarmStates runs on the fake clock of a synctest bubble, so
// "nothing moves before the update" and the scripted delays are exact.
func testScriptedAlarmStates(t *testing.T) {
	sc := demoScenario(t)
	v := 12.0
	sc.Alarms = []ScenarioAlarm{
		{Name: "on-update", Changes: []AlarmChange{{State: AlarmAlarm, After: Duration(20 * time.Millisecond), Value: &v}}},
		{Name: "after-completion", Changes: []AlarmChange{
			{State: AlarmAlarm, From: AnchorCompleted, After: Duration(10 * time.Millisecond)},
			{State: AlarmOK, From: AnchorCompleted, After: Duration(40 * time.Millisecond), Reason: "recovered"},
		}},
		{Name: "never", Changes: []AlarmChange{{State: AlarmAlarm, Service: "other"}}},
	}
	sim, e := fakeClockSim(t, sc)
	c := cloudwatch.New(cloudwatch.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(inProcessURL),
		Credentials:  testCreds,
		HTTPClient:   inProcessHTTP(sim),
	})

	// Nothing moves before the update.
	time.Sleep(time.Minute)
	if got := alarmStates(describeAlarms(t, c, "on-update", "after-completion")); got["on-update"] != "OK" || got["after-completion"] != "OK" {
		t.Fatalf("before the update: %v", got)
	}
	updated := time.Now()
	id, _ := deploy(t, e, "public.ecr.aws/ecs-rollout/web:v2")
	a := waitAlarm(t, c, "on-update", "ALARM", 5*time.Second)
	if at := aws.ToTime(a.StateUpdatedTimestamp); at.Before(updated.Add(10 * time.Millisecond)) {
		t.Errorf("on-update went into ALARM at %v, want about 20ms after the update at %v", at, updated)
	}
	if got := aws.ToString(a.StateReason); !strings.Contains(got, "[12.0 (") || !strings.Contains(got, "was greater than the threshold (5.0)") {
		t.Errorf("StateReason: %q", got)
	}
	svc := waitService(t, e, "demo", "web", 5*time.Second, "our deployment COMPLETED", func(s types.Service) bool {
		d, ok := findDeployment(s, id)
		return ok && d.RolloutState == types.DeploymentRolloutStateCompleted
	})
	ours, _ := findDeployment(svc, id)
	completed := aws.ToTime(ours.UpdatedAt)
	ok := waitAlarm(t, c, "after-completion", "OK", 5*time.Second)
	for ok.StateUpdatedTimestamp.Before(completed) { // still the initial OK
		time.Sleep(3 * time.Millisecond)
		ok = waitAlarm(t, c, "after-completion", "OK", 5*time.Second)
	}
	if got := aws.ToString(ok.StateReason); got != "recovered" {
		t.Errorf("StateReason: got %q, want the scripted one", got)
	}
	var got []AlarmChanged
	for _, h := range sim.AlarmHistory("after-completion")[1:] {
		got = append(got, AlarmChanged{At: h.At, State: h.State})
	}
	want := []AlarmChanged{{At: completed.Add(10 * time.Millisecond), State: AlarmAlarm}, {At: completed.Add(40 * time.Millisecond), State: AlarmOK}}
	if diff := cmp.Diff(want, got, cmpopts.EquateApproxTime(time.Millisecond)); diff != "" {
		t.Errorf("changes after completion (-want +got):\n%s", diff)
	}
	if got := alarmStates(describeAlarms(t, c, "never"))["never"]; got != "OK" {
		t.Errorf("an alarm anchored to a service never updated: got %s, want OK", got)
	}
}

func withDeploymentAlarms(t testing.TB, rollback bool, alarms ...ScenarioAlarm) Scenario {
	sc := demoScenario(t)
	var names []string
	for _, a := range alarms {
		names = append(names, a.Name)
	}
	sc.Alarms = alarms
	sc.Services[0].DeploymentConfiguration.Alarms = &DeploymentAlarms{AlarmNames: names, Enable: true, Rollback: rollback}
	sc.Timings.AlarmBake = Duration(200 * time.Millisecond)
	return sc
}

func TestECSAlarmRollback(t *testing.T) {
	t.Parallel()
	sc := withDeploymentAlarms(t, true, ScenarioAlarm{Name: "web-5xx", Changes: []AlarmChange{{State: AlarmAlarm, From: AnchorUpdate, After: Duration(60 * time.Millisecond)}}})
	sc.Timings.HealthCheck = Duration(400 * time.Millisecond) // a wide window to observe FAILED before the rollback completes
	srv := NewServer(t, sc)
	e, _ := clients(srv, 0)
	before := describeService(t, e, "demo", "web")
	oldID := aws.ToString(before.Deployments[0].Id)
	if a := before.DeploymentConfiguration.Alarms; a == nil || !a.Enable || !a.Rollback || len(a.AlarmNames) != 1 {
		t.Fatalf("DescribeServices deploymentConfiguration.alarms: %+v", a)
	}
	id, _ := deploy(t, e, "public.ecr.aws/ecs-rollout/web:v2")
	svc, ours := waitDeploymentFailed(t, e, id, "ECS's alarm rollback")
	if got, want := aws.ToString(ours.RolloutStateReason), "ECS deployment alarm(s) triggered: web-5xx."; got != want {
		t.Errorf("rolloutStateReason: got %q, want %q", got, want)
	}
	prim := svc.Deployments[0]
	if got := aws.ToString(prim.TaskDefinition); !strings.HasSuffix(got, "task-definition/web:1") {
		t.Errorf("rollback PRIMARY runs %s, want web:1", got)
	}
	if got, want := aws.ToString(prim.RolloutStateReason), "ECS deployment alarms: rolling back to deploymentId "+oldID+"."; got != want {
		t.Errorf("rollback reason: got %q, want %q", got, want)
	}
	events := fmtEvents(svc.Events)
	for _, want := range []string{
		fmt.Sprintf("(service web) (deployment %s) deployment failed: alarm detected.", id),
		fmt.Sprintf("(service web) rolling back to deployment %s.", oldID),
	} {
		if !strings.Contains(events, want) {
			t.Errorf("events lack %q:%s", want, events)
		}
	}
	if got := srv.Sim.TriggeredAlarmNames(id); !cmp.Equal(got, []string{"web-5xx"}) {
		t.Errorf("TriggeredAlarmNames: got %v", got)
	}
	// The rollback itself is not failed by the alarm still in ALARM: it completes.
	waitService(t, e, "demo", "web", 5*time.Second, "the rollback COMPLETED", func(s types.Service) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	for _, c := range srv.Sim.MutatingCalls() {
		if c.Op == "UpdateService" && !strings.Contains(string(c.Input), "web:2") {
			t.Errorf("an UpdateService other than ours: %s", c.Input)
		}
	}
}

func TestECSAlarmBake(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		alarm    ScenarioAlarm
		rollback bool
		want     types.DeploymentRolloutState
		primary  string
	}{
		{"alarm stays OK: completes after the bake", ScenarioAlarm{Name: "ok"}, true, types.DeploymentRolloutStateCompleted, "web:2"},
		{"alarm already in ALARM before the update is ignored", ScenarioAlarm{Name: "red", State: AlarmAlarm}, true, types.DeploymentRolloutStateCompleted, "web:2"},
		{"alarm during ECS's bake fails it", ScenarioAlarm{Name: "late", Changes: []AlarmChange{{State: AlarmAlarm, From: AnchorUpdate, After: Duration(150 * time.Millisecond)}}}, true, types.DeploymentRolloutStateFailed, "web:1"},
		{"no rollback: fails and stays", ScenarioAlarm{Name: "norb", Changes: []AlarmChange{{State: AlarmAlarm}}}, false, types.DeploymentRolloutStateFailed, "web:2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(t, withDeploymentAlarms(t, tc.rollback, tc.alarm))
			e, _ := clients(srv, 0)
			start := time.Now()
			id, _ := deploy(t, e, "public.ecr.aws/ecs-rollout/web:v2")
			svc := waitService(t, e, "demo", "web", 5*time.Second, "a verdict", func(s types.Service) bool {
				d, ok := findDeployment(s, id)
				return !ok || d.RolloutState != types.DeploymentRolloutStateInProgress
			})
			ours, ok := findDeployment(svc, id)
			if !ok { // rolled back and drained already
				ours.RolloutState = types.DeploymentRolloutStateFailed
			}
			if ours.RolloutState != tc.want {
				t.Fatalf("rollout state: got %s (%s), want %s", ours.RolloutState, aws.ToString(ours.RolloutStateReason), tc.want)
			}
			if failed := len(srv.Sim.TriggeredAlarmNames(id)) > 0; failed != (tc.want == types.DeploymentRolloutStateFailed) {
				t.Errorf("TriggeredAlarmNames: %v", srv.Sim.TriggeredAlarmNames(id))
			}
			if tc.want == types.DeploymentRolloutStateCompleted && time.Since(start) < 200*time.Millisecond {
				t.Errorf("completed %s after the update, before ECS's 200ms alarm bake", time.Since(start))
			}
			waitService(t, e, "demo", "web", 5*time.Second, "primary "+tc.primary, func(s types.Service) bool {
				return strings.HasSuffix(aws.ToString(s.Deployments[0].TaskDefinition), "/"+tc.primary)
			})
		})
	}
}

func TestAlarmScenarioValidation(t *testing.T) {
	t.Parallel()
	_, err := ParseScenario([]byte(`{"clusters":[],"taskDefinitions":[],"services":[],
		"alarms":[{"name":"a","state":"RED"},{"name":"a","changes":[{"state":"ALARM","from":"later"}]}]}`))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{`alarms[0]: unknown state "RED"`, `alarms[1]: alarm "a" listed twice`, `alarms[1].changes[0]: from must be update, completed or start, got "later"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
