package ecssim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "transport"
	}
	return ""
}

func callCodes(calls []Call, op string) []string {
	var out []string
	for _, c := range calls {
		if c.Op == op {
			out = append(out, c.ErrCode)
		}
	}
	return out
}

func describe(c *ecs.Client) error {
	_, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("demo"), Services: []string{"web"}})
	return err
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		op        string
		fault     Fault
		calls     int
		wantSDK   []string // per call, as the SDK client (no retries) sees it
		wantCalls []string // ErrCode per recorded call
	}{
		{
			name: "throttle burst", op: "DescribeServices", fault: Fault{Throttle: 2}, calls: 3,
			wantSDK:   []string{"ThrottlingException", "ThrottlingException", ""},
			wantCalls: []string{"ThrottlingException", "ThrottlingException", ""},
		},
		{
			name: "5xx", op: "DescribeServices", fault: Fault{Status5xx: 1}, calls: 2,
			wantSDK:   []string{"ServerException", ""},
			wantCalls: []string{"ServerException", ""},
		},
		{
			name: "dropped connection", op: "DescribeServices", fault: Fault{DropConnection: 1}, calls: 2,
			wantSDK:   []string{"transport", ""},
			wantCalls: []string{"DropConnection", ""},
		},
		{
			name: "every operation", op: "", fault: Fault{Throttle: 1}, calls: 2,
			wantSDK:   []string{"ThrottlingException", ""},
			wantCalls: []string{"ThrottlingException", ""},
		},
		{
			name: "other operation untouched", op: "UpdateService", fault: Fault{Throttle: 5}, calls: 2,
			wantSDK:   []string{"", ""},
			wantCalls: []string{"", ""},
		},
		{
			name: "access denied on the 2nd call only", op: "DescribeServices", fault: Fault{Error: "AccessDeniedException", OnCall: 2, Times: 1}, calls: 3,
			wantSDK:   []string{"", "AccessDeniedException", ""},
			wantCalls: []string{"", "AccessDeniedException", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(t, demoScenario(t))
			c, _ := clients(srv, 1)
			srv.Sim.InjectFault(tt.op, tt.fault)
			var got []string
			for i := 0; i < tt.calls; i++ {
				got = append(got, errCode(describe(c)))
			}
			if diff := cmp.Diff(tt.wantSDK, got); diff != "" {
				t.Errorf("SDK outcomes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCalls, callCodes(srv.Sim.Calls(), "DescribeServices")); diff != "" {
				t.Errorf("recorded calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFault5xxStatus(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, _ := clients(srv, 1)
	srv.Sim.InjectFault("DescribeServices", Fault{Status5xx: 1})
	err := describe(c)
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Errorf("got %v, want an HTTP 500 response error", err)
	}
	var se *types.ServerException
	if !errors.As(err, &se) {
		t.Errorf("got %T, want *types.ServerException", errors.Unwrap(err))
	}
}

// TestFaultsWithSDKRetries: a throttle burst shorter than the SDK's retry
// budget is invisible to the caller, and the simulator saw every attempt.
func TestFaultsWithSDKRetries(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c := ecs.New(ecs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  testCreds,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		}),
	})
	srv.Sim.InjectFault("DescribeServices", Fault{Throttle: 2})
	if err := describe(c); err != nil {
		t.Fatalf("DescribeServices with retries: %v", err)
	}
	want := []string{"ThrottlingException", "ThrottlingException", ""}
	if diff := cmp.Diff(want, callCodes(srv.Sim.Calls(), "DescribeServices")); diff != "" {
		t.Errorf("recorded attempts (-want +got):\n%s", diff)
	}
}

func TestFaultLatency(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, _ := clients(srv, 1)
	srv.Sim.InjectFault("DescribeServices", Fault{Latency: Duration(40 * time.Millisecond)})
	start := time.Now()
	if err := describe(c); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(start); got < 40*time.Millisecond {
		t.Errorf("call with 40ms latency answered after %v, want at least 40ms", got)
	}
}

// TestThrottleProbabilitySeeded: the same seed throttles the same calls.
func TestThrottleProbabilitySeeded(t *testing.T) {
	t.Parallel()
	run := func(seed int64) []string {
		srv := NewServer(t, demoScenario(t))
		c, _ := clients(srv, 1)
		srv.Sim.InjectFault("DescribeServices", Fault{ThrottleProbability: 0.5, Seed: seed})
		var got []string
		for i := 0; i < 30; i++ {
			got = append(got, errCode(describe(c)))
		}
		return got
	}
	a, b := run(42), run(42)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different outcomes (-first +second):\n%s", diff)
	}
	throttled := 0
	for _, code := range a {
		if code == "ThrottlingException" {
			throttled++
		}
	}
	if throttled == 0 || throttled == len(a) {
		t.Errorf("throttled %d of %d calls with probability 0.5, want some but not all", throttled, len(a))
	}
}

// TestScenarioDeniesSecondUpdate: a fault from the scenario file denies the
// second UpdateService (e.g. the rollback), and that call changes nothing.
func TestScenarioDeniesSecondUpdate(t *testing.T) {
	t.Parallel()
	sc := demoScenario(t)
	sc.Faults = []Fault{{Op: "UpdateService", Error: "AccessDeniedException", Message: "User: arn:aws:sts::123456789012:assumed-role/deploy/ci is not authorized to perform: ecs:UpdateService", OnCall: 2, Times: 1}}
	srv := NewServer(t, sc)
	c, _ := clients(srv, 1)
	id, _ := deploy(t, c, "public.ecr.aws/ecs-rollout/web:crash")
	_, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("demo"), Service: aws.String("web"), TaskDefinition: aws.String("web:1")})
	var ad *types.AccessDeniedException
	if !errors.As(err, &ad) {
		t.Fatalf("second UpdateService: got %v, want AccessDeniedException", err)
	}
	svc, _ := srv.Sim.Service("demo", "web")
	if got := aws.ToString(svc.Deployments[0].Id); got != id {
		t.Errorf("PRIMARY after the denied update: got %s, want still %s", got, id)
	}
	got := callCodes(srv.Sim.MutatingCalls(), "UpdateService")
	if diff := cmp.Diff([]string{"", "AccessDeniedException"}, got); diff != "" {
		t.Errorf("UpdateService calls (-want +got):\n%s", diff)
	}
}

// TestFaultAfterApply: an AfterApply fault lets the call change the state
// and then answers with the error, as a response lost after the change;
// the caller sees the error although the service was updated.
func TestFaultAfterApply(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, _ := clients(srv, 1)
	srv.Sim.InjectFault("UpdateService", Fault{Status5xx: 1, AfterApply: true})
	before := describeService(t, c, "demo", "web")
	_, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("demo"), Service: aws.String("web"), DesiredCount: aws.Int32(before.DesiredCount + 1)})
	var se *types.ServerException
	if !errors.As(err, &se) {
		t.Fatalf("UpdateService: %v, want a ServerException", err)
	}
	if after := describeService(t, c, "demo", "web"); after.DesiredCount != before.DesiredCount+1 {
		t.Errorf("desired count %d after the faulted UpdateService, want %d: the call is applied before the error", after.DesiredCount, before.DesiredCount+1)
	}
	if _, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("demo"), Service: aws.String("web"), DesiredCount: aws.Int32(before.DesiredCount)}); err != nil {
		t.Errorf("the next UpdateService: %v, want the fault used up", err)
	}
}
