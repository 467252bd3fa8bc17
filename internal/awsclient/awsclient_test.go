package awsclient_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-rollout/ecs-rollout/internal/awsclient"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

func scenario() ecssim.Scenario {
	return ecssim.OneService("prod", "web", ecssim.FargateApp("web", "repo/app:1"), 1)
}

func fast(o *retry.StandardOptions) { o.Backoff = awsclient.FastBackoff() }

func client(srv *ecssim.Server, r aws.Retryer) *ecs.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "test", ""),
		Retryer:     func() aws.Retryer { return r },
	}
	return awsclient.NewECS(cfg, srv.URL, func(o *ecs.Options) { o.Retryer = r })
}

func describe(ctx context.Context, c *ecs.Client) error {
	_, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	return err
}

// TestRetryerConfiguration pins the production settings.
func TestRetryerConfiguration(t *testing.T) {
	t.Parallel()
	r := awsclient.Retryer()
	if got := r.MaxAttempts(); got != awsclient.MaxAttempts {
		t.Errorf("MaxAttempts: got %d, want %d", got, awsclient.MaxAttempts)
	}
	// The largest delay the production backoff can pick is MaxBackoff.
	for attempt := 1; attempt <= 20; attempt++ {
		d, err := r.RetryDelay(attempt, errors.New("boom"))
		if err != nil {
			t.Fatalf("RetryDelay(%d): %v", attempt, err)
		}
		if d < 0 || d > awsclient.MaxBackoff {
			t.Errorf("RetryDelay(%d): got %s, want within [0, %s]", attempt, d, awsclient.MaxBackoff)
		}
	}
}

// TestRetryerAbsorbsFaults: each kind of transient fault the simulator
// can inject, up to MaxAttempts-1 in a row, is absorbed by one call;
// MaxAttempts in a row fail the call.
func TestRetryerAbsorbsFaults(t *testing.T) {
	t.Parallel()
	n := awsclient.MaxAttempts - 1
	tests := []struct {
		name    string
		fault   ecssim.Fault
		wantErr bool
	}{
		{"throttling storm", ecssim.Fault{Throttle: n}, false},
		{"5xx burst", ecssim.Fault{Status5xx: n}, false},
		{"dropped connections", ecssim.Fault{DropConnection: n}, false},
		{"slow responses", ecssim.Fault{Latency: ecssim.Duration(30 * time.Millisecond)}, false},
		{"mixed", ecssim.Fault{Throttle: 3, Status5xx: 3, DropConnection: 3}, false},
		{"throttled beyond the attempts", ecssim.Fault{Throttle: awsclient.MaxAttempts}, true},
		{"access denied is not retried", ecssim.Fault{Error: "AccessDeniedException", Times: 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := ecssimtest.NewServer(t, scenario())
			srv.Sim.InjectFault("DescribeServices", tt.fault)
			err := describe(context.Background(), client(srv, awsclient.Retryer(fast)))
			if (err != nil) != tt.wantErr {
				t.Fatalf("DescribeServices: got error %v, want error: %v", err, tt.wantErr)
			}
			calls := len(srv.Sim.Calls())
			if tt.name == "access denied is not retried" && calls != 1 {
				t.Errorf("got %d attempts, want 1 (not retryable)", calls)
			}
		})
	}
}

// TestRetryerNoQuotaInStorm: a long throttling storm across many calls
// exhausts the SDK's default retry token bucket ("retry quota
// exceeded"), but not the production retryer, which has no client-side
// quota.
func TestRetryerNoQuotaInStorm(t *testing.T) {
	t.Parallel()
	const calls, perCall = 40, 8 // 320 throttled retries: 1600 tokens at 5 each > 500
	storm := func(t *testing.T, r aws.Retryer) error {
		srv := ecssimtest.NewServer(t, scenario())
		c := client(srv, r)
		for i := range calls {
			srv.Sim.InjectFault("DescribeServices", ecssim.Fault{Throttle: perCall})
			if err := describe(context.Background(), c); err != nil {
				return fmt.Errorf("call %d: %w", i, err)
			}
			srv.Sim.ClearFaults()
		}
		return nil
	}
	noWait := retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	if err := storm(t, awsclient.Retryer(func(o *retry.StandardOptions) { o.Backoff = noWait })); err != nil {
		t.Errorf("production retryer: %v", err)
	}
	defaultish := retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = awsclient.MaxAttempts
		o.Backoff = noWait
	})
	err := storm(t, defaultish)
	if err == nil || !strings.Contains(err.Error(), "quota") {
		t.Errorf("SDK default token bucket: got %v, want a retry quota error (the control for this test)", err)
	}
}

// TestRetryerStopsOnCancel: a cancelled context ends the retries at once.
func TestRetryerStopsOnCancel(t *testing.T) {
	t.Parallel()
	srv := ecssimtest.NewServer(t, scenario())
	srv.Sim.InjectFault("DescribeServices", ecssim.Fault{Throttle: 1000})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	// Production backoff (1 s base for throttling): only cancellation can
	// end this call quickly.
	start := time.Now()
	err := describe(ctx, client(srv, awsclient.Retryer()))
	if err == nil {
		t.Fatal("DescribeServices: got nil error, want the context's error")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("call returned after %s, want soon after the 200ms deadline", el)
	}
}

// TestNewECSRetryer: the client uses the production retryer, or the
// config's when it has one, and AWS_MAX_ATTEMPTS (cfg.RetryMaxAttempts)
// still wins.
func TestNewECSRetryer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  aws.Config
		want int
	}{
		{"production", aws.Config{Region: "us-east-1"}, awsclient.MaxAttempts},
		{"from the config", aws.Config{Region: "us-east-1", Retryer: awsclient.RetryerFunc(func(o *retry.StandardOptions) { o.MaxAttempts = 4 })}, 4},
		{"AWS_MAX_ATTEMPTS", aws.Config{Region: "us-east-1", RetryMaxAttempts: 2}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The client's retryer is observable through its attempts
			// against a simulator that always throttles.
			srv := ecssimtest.NewServer(t, scenario())
			srv.Sim.InjectFault("DescribeServices", ecssim.Fault{Throttle: 1000})
			c := awsclient.NewECS(tt.cfg, srv.URL, func(o *ecs.Options) {
				o.Credentials = credentials.NewStaticCredentialsProvider("AKIDTEST", "test", "")
				// Keep the client's retryer; only make its waits short.
				o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, time.Millisecond)
			})
			_ = describe(context.Background(), c)
			if got := len(srv.Sim.Calls()); got != tt.want {
				t.Errorf("attempts: got %d, want %d", got, tt.want)
			}
		})
	}
}
