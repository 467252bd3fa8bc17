package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// Retry configuration of the AWS clients. A deployment is long and its
// calls are few (one poll every few seconds), so an API fault should cost a
// little time, never the deployment:
//   - standard retry mode (exponential backoff with full jitter; throttling
//     errors, 5xx responses, timeouts and dropped connections are retried);
//   - up to retryMaxAttempts attempts per call (the SDK's default is 3),
//     with the backoff capped at retryMaxBackoff, so one call rides out
//     about a minute of throttling or outage;
//   - no client-side retry quota (ratelimit.None): the standard token
//     bucket would otherwise turn a long throttling storm into
//     "retry quota exceeded" failures of calls that would have succeeded;
//   - each HTTP attempt times out after httpAttemptTimeout, so a slow or
//     hung response becomes a retried timeout instead of a stuck run.
//
// AWS_MAX_ATTEMPTS, when set to a positive number, overrides the attempts.
const (
	retryMaxAttempts   = 8
	retryMaxBackoff    = 20 * time.Second
	httpAttemptTimeout = 30 * time.Second
)

// awsClients are the clients a deployment uses.
type awsClients struct {
	ECS    *ecs.Client
	Logs   *cloudwatchlogs.Client
	Region string
}

// newAWSClients loads the standard AWS configuration (credentials chain,
// shared config files, AWS_REGION, AWS_ENDPOINT_URL_ECS and
// AWS_ENDPOINT_URL_LOGS) with the retry configuration above. Values that
// getenv returns take precedence over the process environment, which lets
// tests point the clients at a simulator. It makes no AWS call. A missing
// region is an *inputError naming "region".
func newAWSClients(ctx context.Context, getenv func(string) string) (*awsClients, error) {
	attempts := retryMaxAttempts
	if s := getenv("AWS_MAX_ATTEMPTS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			attempts = n
		}
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.MaxBackoff = retryMaxBackoff
				o.RateLimiter = ratelimit.None
			})
		}),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(httpAttemptTimeout)),
	}
	region := firstNonEmpty(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: getenv("AWS_SESSION_TOKEN"), Source: "environment"}
		opts = append(opts, config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return creds, nil
		})))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if strings.TrimSpace(cfg.Region) == "" {
		return nil, &inputError{Input: "region", Msg: "no AWS region: set AWS_REGION (for example with aws-actions/configure-aws-credentials)"}
	}
	ecsEndpoint := firstNonEmpty(getenv("AWS_ENDPOINT_URL_ECS"), getenv("AWS_ENDPOINT_URL"))
	logsEndpoint := firstNonEmpty(getenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"), getenv("AWS_ENDPOINT_URL_LOGS"), getenv("AWS_ENDPOINT_URL"))
	return &awsClients{
		ECS: ecs.NewFromConfig(cfg, func(o *ecs.Options) {
			if ecsEndpoint != "" {
				o.BaseEndpoint = aws.String(ecsEndpoint)
			}
		}),
		Logs: cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
			if logsEndpoint != "" {
				o.BaseEndpoint = aws.String(logsEndpoint)
			}
		}),
		Region: cfg.Region,
	}, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}
