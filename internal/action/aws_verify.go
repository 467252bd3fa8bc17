package action

import (
	"cmp"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/awsclient"
)

// verifyClients makes the verify phase's clients (deployer.VerifyClients)
// from the step's AWS configuration when first asked, one per service and
// region, each at its AWS_ENDPOINT_URL_<SERVICE> (or AWS_ENDPOINT_URL)
// when set. Like CloudWatch's, a client is not made next to an emulated
// ECS without an endpoint of its own (separateEndpoint): the method then
// says which variable to set.
type verifyClients struct {
	cfg         aws.Config
	ecsEndpoint string
	endpoint    map[string]string // by service: "ECR", "SECRETS_MANAGER", "SSM", "IAM", "LOGS"
	logs        *cloudwatchlogs.Client

	mu   sync.Mutex
	made map[string]any // by service and region
}

func newVerifyClients(cfg aws.Config, ecsEndpoint string, env func(string) string, logs *cloudwatchlogs.Client) *verifyClients {
	ep := func(name string) string { return cmp.Or(env("AWS_ENDPOINT_URL_"+name), env("AWS_ENDPOINT_URL")) }
	return &verifyClients{
		cfg:         cfg,
		ecsEndpoint: ecsEndpoint,
		endpoint: map[string]string{
			"ECR":             ep("ECR"),
			"SECRETS_MANAGER": ep("SECRETS_MANAGER"),
			"SSM":             ep("SSM"),
			"IAM":             ep("IAM"),
			"LOGS":            cmp.Or(env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"), env("AWS_ENDPOINT_URL_LOGS"), env("AWS_ENDPOINT_URL")),
		},
		logs: logs,
		made: map[string]any{},
	}
}

var _ deployer.VerifyClients = (*verifyClients)(nil)

// client returns the client of service in region, made by mk on first
// use.
func client[C any](v *verifyClients, service, region string, mk func(cfg aws.Config, endpoint string) C) (C, error) {
	var zero C
	endpoint := v.endpoint[service]
	if !separateEndpoint(v.ecsEndpoint, endpoint) {
		return zero, fmt.Errorf("ECS is at a custom endpoint (AWS_ENDPOINT_URL_ECS) and %s is not: set AWS_ENDPOINT_URL_%s", service, service)
	}
	cfg := v.cfg.Copy()
	if region != "" {
		cfg.Region = region
	}
	key := service + "|" + cfg.Region
	v.mu.Lock()
	defer v.mu.Unlock()
	if c, ok := v.made[key].(C); ok {
		return c, nil
	}
	c := mk(cfg, endpoint)
	v.made[key] = c
	return c, nil
}

// Region is the step's region.
func (v *verifyClients) Region() string { return v.cfg.Region }

// ECR returns an ECR client of the registry's region.
func (v *verifyClients) ECR(region string) (deployer.ECRClient, error) {
	return client(v, "ECR", region, func(cfg aws.Config, endpoint string) *ecr.Client {
		return ecr.NewFromConfig(cfg, func(o *ecr.Options) { awsclient.Configure(cfg, endpoint, &o.Retryer, &o.BaseEndpoint) })
	})
}

// SecretsManager returns a Secrets Manager client of the secret's region.
func (v *verifyClients) SecretsManager(region string) (deployer.SecretsManagerClient, error) {
	return client(v, "SECRETS_MANAGER", region, func(cfg aws.Config, endpoint string) *secretsmanager.Client {
		return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { awsclient.Configure(cfg, endpoint, &o.Retryer, &o.BaseEndpoint) })
	})
}

// SSM returns an SSM client of the parameter's region.
func (v *verifyClients) SSM(region string) (deployer.SSMClient, error) {
	return client(v, "SSM", region, func(cfg aws.Config, endpoint string) *ssm.Client {
		return ssm.NewFromConfig(cfg, func(o *ssm.Options) { awsclient.Configure(cfg, endpoint, &o.Retryer, &o.BaseEndpoint) })
	})
}

// Logs returns the step's CloudWatch Logs client, or one of the log
// group's region.
func (v *verifyClients) Logs(region string) (deployer.LogGroupsClient, error) {
	if (region == "" || region == v.cfg.Region) && v.logs != nil {
		return v.logs, nil
	}
	return client(v, "LOGS", region, func(cfg aws.Config, endpoint string) *cloudwatchlogs.Client {
		return awsclient.NewLogs(cfg, endpoint)
	})
}

// IAM returns the IAM client (a global service).
func (v *verifyClients) IAM() (deployer.IAMClient, error) {
	return client(v, "IAM", "", func(cfg aws.Config, endpoint string) *iam.Client {
		return iam.NewFromConfig(cfg, func(o *iam.Options) { awsclient.Configure(cfg, endpoint, &o.Retryer, &o.BaseEndpoint) })
	})
}
