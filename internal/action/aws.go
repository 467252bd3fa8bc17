package action

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-rollout/ecs-rollout/internal/awsclient"
)

// awsClients are the clients a deployment uses.
type awsClients struct {
	ECS  *ecs.Client
	Logs *cloudwatchlogs.Client
	// CloudWatch reads the alarms input's alarms; nil when ECS is at a
	// custom endpoint and CloudWatch is not (see separateEndpoint).
	CloudWatch *cloudwatch.Client
	// CodeDeploy deploys CODE_DEPLOY services (AWS_ENDPOINT_URL_CODEDEPLOY);
	// nil when ECS is at a custom endpoint and CodeDeploy is not.
	CodeDeploy *codedeploy.Client
	Region     string
	// Verify makes the verify phase's clients when first needed (aws_verify.go).
	Verify *verifyClients
}

// newAWSClients loads the standard AWS configuration (credentials chain,
// shared config files, AWS_REGION, AWS_ENDPOINT_URL_ECS and
// AWS_ENDPOINT_URL_LOGS, AWS_ENDPOINT_URL_CLOUDWATCH, AWS_ENDPOINT_URL_CODEDEPLOY) with the retry policy of internal/awsclient. Values that
// getenv returns take precedence over the process environment, which lets
// tests point the clients at a simulator. It makes no AWS call. A missing
// region is an *inputError naming "region".
func newAWSClients(ctx context.Context, getenv func(string) string) (*awsClients, error) {
	attempts := awsclient.MaxAttempts
	if s := getenv("AWS_MAX_ATTEMPTS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			attempts = n
		}
	}
	opts := []func(*config.LoadOptions) error{
		// The retry configuration is documented in internal/awsclient.
		config.WithRetryer(awsclient.RetryerFunc(func(o *retry.StandardOptions) { o.MaxAttempts = attempts })),
		config.WithHTTPClient(awsclient.HTTPClient()),
	}
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	region := cmp.Or(env("AWS_REGION"), env("AWS_DEFAULT_REGION"))
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
	if getenv("AWS_MAX_ATTEMPTS") != "" {
		// The process's AWS_MAX_ATTEMPTS, which LoadDefaultConfig read and
		// which would win over the retryer's, yields to getenv's (max-retries).
		cfg.RetryMaxAttempts = attempts
	}
	if strings.TrimSpace(cfg.Region) == "" {
		return nil, &inputError{Input: "region", Msg: "no AWS region: set AWS_REGION (for example with aws-actions/configure-aws-credentials)"}
	}
	ecsEndpoint := cmp.Or(env("AWS_ENDPOINT_URL_ECS"), env("AWS_ENDPOINT_URL"))
	logsEndpoint := cmp.Or(env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"), env("AWS_ENDPOINT_URL_LOGS"), env("AWS_ENDPOINT_URL"))
	cwEndpoint := cmp.Or(env("AWS_ENDPOINT_URL_CLOUDWATCH"), env("AWS_ENDPOINT_URL"))
	c := &awsClients{
		ECS:    awsclient.NewECS(cfg, ecsEndpoint),
		Logs:   logsClient(cfg, ecsEndpoint, logsEndpoint),
		Region: cfg.Region,
	}
	c.Verify = newVerifyClients(cfg, ecsEndpoint, env, c.Logs)
	if separateEndpoint(ecsEndpoint, cwEndpoint) {
		c.CloudWatch = awsclient.NewCloudWatch(cfg, cwEndpoint)
	}
	if cdEndpoint := cmp.Or(env("AWS_ENDPOINT_URL_CODEDEPLOY"), env("AWS_ENDPOINT_URL")); separateEndpoint(ecsEndpoint, cdEndpoint) {
		c.CodeDeploy = awsclient.NewCodeDeploy(cfg, cdEndpoint)
	}
	return c, nil
}

// separateEndpoint reports whether a client of another service may be
// made next to ECS: not when ECS is an emulator (a custom endpoint that is
// not an AWS host) and the other service has none, since the real service
// cannot know the emulator's resources and the emulator's credentials
// must not be sent to AWS. A custom ECS endpoint on an AWS host (a VPC
// interface endpoint, FIPS) keeps the other services' standard endpoints.
func separateEndpoint(ecsEndpoint, endpoint string) bool {
	return ecsEndpoint == "" || endpoint != "" || isAWSHost(ecsEndpoint)
}

// logsClient is the CloudWatch Logs client for log excerpts, or nil when
// separateEndpoint says no; the deployer notes it when Logs turns out to
// be unreachable.
func logsClient(cfg aws.Config, ecsEndpoint, logsEndpoint string) *cloudwatchlogs.Client {
	if !separateEndpoint(ecsEndpoint, logsEndpoint) {
		return nil
	}
	return awsclient.NewLogs(cfg, logsEndpoint)
}

// isAWSHost reports whether an endpoint URL names an AWS host
// (*.amazonaws.com, *.amazonaws.com.cn, *.api.aws), such as a VPC
// interface endpoint, rather than an emulator.
func isAWSHost(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	return strings.HasSuffix(h, ".amazonaws.com") || strings.HasSuffix(h, ".amazonaws.com.cn") || strings.HasSuffix(h, ".api.aws")
}
