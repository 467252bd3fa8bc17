// Package awsclient builds the AWS clients ecs-rollout uses, with the retry
// configuration that lets a deployment ride out API faults: throttling
// storms, 5xx bursts, slow responses and dropped connections.
//
// A deployment makes few calls (one poll every few seconds) over minutes,
// so an API fault should cost a little time, never the deployment. The
// choices, checked against aws-sdk-go-v2's aws/retry package:
//
//   - standard retry mode (retry.NewStandard): exponential backoff with full
//     jitter; it retries throttling error codes (ThrottlingException, …),
//     HTTP 500/502/503/504, RequestTimeout, and connection errors (a
//     dropped connection surfaces as a smithy RequestSendError, which is a
//     connection error). Adaptive mode is not used: its client-side rate
//     limiter delays even first attempts, which only helps high-volume
//     clients.
//   - MaxAttempts attempts per call instead of the SDK's 3;
//   - each backoff capped at MaxBackoff (the SDK's 20 s default, stated
//     explicitly), so one call waits out roughly a minute of throttling;
//   - no client-side retry quota (ratelimit.None): the standard token
//     bucket (500 tokens, 5 per throttled retry, 14 per other retry) would
//     otherwise turn a long throttling storm into "retry quota exceeded"
//     failures of calls that would have succeeded a moment later;
//   - every HTTP attempt times out after AttemptTimeout, so a hung
//     response becomes a retried timeout instead of a stuck run.
//
// Cancellation: every call made with these clients stops retrying and
// returns the context's error as soon as its context is done.
package awsclient

import (
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// The retry configuration (see the package documentation).
const (
	// MaxAttempts is the number of attempts per API call, the first included.
	MaxAttempts = 10
	// MaxBackoff caps the (jittered) wait between two attempts.
	MaxBackoff = 20 * time.Second
	// AttemptTimeout bounds one HTTP attempt, response body included.
	AttemptTimeout = 30 * time.Second
)

// Retryer returns a new standard-mode retryer with the package's
// configuration. optFns run after the defaults are set; tests use them to
// shrink the backoff to milliseconds while keeping everything else.
// A retryer must not be shared between clients that should not share a
// retry budget; with ratelimit.None there is no budget to share.
func Retryer(optFns ...func(*retry.StandardOptions)) aws.Retryer {
	fns := append([]func(*retry.StandardOptions){func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = MaxBackoff
		o.RateLimiter = ratelimit.None
	}}, optFns...)
	return retry.NewStandard(fns...)
}

// RetryerFunc returns a function building Retryer(optFns...), in the shape
// config.WithRetryer and aws.Config.Retryer expect.
func RetryerFunc(optFns ...func(*retry.StandardOptions)) func() aws.Retryer {
	return func() aws.Retryer { return Retryer(optFns...) }
}

// HTTPClient returns the SDK's HTTP client with each attempt bounded by
// AttemptTimeout.
func HTTPClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTimeout(AttemptTimeout)
}

// NewECS returns an ECS client for cfg using the package's retryer:
// cfg.Retryer when set (load the config with
// config.WithRetryer(RetryerFunc(...))), Retryer() otherwise. A non-empty
// endpoint overrides the endpoint resolution (as AWS_ENDPOINT_URL_ECS
// does). An AWS_MAX_ATTEMPTS setting in cfg (cfg.RetryMaxAttempts) still
// wins over MaxAttempts, as everywhere in the SDK.
func NewECS(cfg aws.Config, endpoint string, optFns ...func(*ecs.Options)) *ecs.Client {
	return ecs.NewFromConfig(cfg, append([]func(*ecs.Options){func(o *ecs.Options) {
		if cfg.Retryer == nil {
			o.Retryer = Retryer()
		}
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}}, optFns...)...)
}

// NewLogs returns a CloudWatch Logs client for cfg using the package's
// retryer (cfg.Retryer when set, as NewECS). A non-empty endpoint
// overrides the endpoint resolution.
func NewLogs(cfg aws.Config, endpoint string, optFns ...func(*cloudwatchlogs.Options)) *cloudwatchlogs.Client {
	return cloudwatchlogs.NewFromConfig(cfg, append([]func(*cloudwatchlogs.Options){func(o *cloudwatchlogs.Options) {
		if cfg.Retryer == nil {
			o.Retryer = Retryer()
		}
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}}, optFns...)...)
}

// NewCloudWatch returns a CloudWatch client (for DescribeAlarms) for cfg
// using the package's retryer (cfg.Retryer when set, as NewECS). A
// non-empty endpoint overrides the endpoint resolution.
func NewCloudWatch(cfg aws.Config, endpoint string, optFns ...func(*cloudwatch.Options)) *cloudwatch.Client {
	return cloudwatch.NewFromConfig(cfg, append([]func(*cloudwatch.Options){func(o *cloudwatch.Options) {
		if cfg.Retryer == nil {
			o.Retryer = Retryer()
		}
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}}, optFns...)...)
}

// FastBackoff is a backoff for tests: the production formula's shape
// (exponential, full jitter, capped) scaled down to milliseconds so that
// fault tests run fast. Production code must not use it.
func FastBackoff() retry.BackoffDelayer {
	return retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
		d := time.Millisecond << min(attempt, 5)
		return time.Duration(float64(d) * rand.Float64()), nil
	})
}

// Configure applies the package's configuration to the options of a
// client made with a service's NewFromConfig: the retryer (Retryer()
// unless cfg has one) and a non-empty endpoint as BaseEndpoint. Pass
// &o.Retryer and &o.BaseEndpoint.
func Configure(cfg aws.Config, endpoint string, retryer *aws.Retryer, baseEndpoint **string) {
	if cfg.Retryer == nil {
		*retryer = Retryer()
	}
	if endpoint != "" {
		*baseEndpoint = aws.String(endpoint)
	}
}
