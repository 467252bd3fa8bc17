package ecssimtest

import (
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecs-rollout/ecs-rollout/deployer"
)

// VerifyClients are the verify phase's clients (deployer.VerifyClients):
// the AWS SDK's ECR, Secrets Manager, SSM, CloudWatch Logs and IAM
// clients pointed at a simulator, with static test credentials. A client
// is made each time one is asked for; Made lists them, as
// "service@region".
type VerifyClients struct {
	// URL is the simulator's (a Server's URL, or any URL with HTTPClient).
	URL string
	// HTTPClient, when set, carries the requests (Client, in memory).
	HTTPClient aws.HTTPClient
	// MaxAttempts, when set, replaces the SDK's default of 3 attempts
	// per call (1: no retries).
	MaxAttempts int

	mu   sync.Mutex
	made []string
}

var _ deployer.VerifyClients = (*VerifyClients)(nil)

// Made returns the clients asked for so far, in order.
func (c *VerifyClients) Made() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.made...)
}

func (c *VerifyClients) config(service, region string) aws.Config {
	c.mu.Lock()
	c.made = append(c.made, service+"@"+region)
	c.mu.Unlock()
	cfg := aws.Config{Region: region, Credentials: testCredentials(), BaseEndpoint: aws.String(c.URL), RetryMaxAttempts: c.MaxAttempts}
	if c.HTTPClient != nil {
		cfg.HTTPClient = c.HTTPClient
	}
	return cfg
}

// Region is the simulator clients' region.
func (c *VerifyClients) Region() string { return Region }

// ECR returns an ECR client.
func (c *VerifyClients) ECR(region string) (deployer.ECRClient, error) {
	return ecr.NewFromConfig(c.config("ecr", region)), nil
}

// SecretsManager returns a Secrets Manager client.
func (c *VerifyClients) SecretsManager(region string) (deployer.SecretsManagerClient, error) {
	return secretsmanager.NewFromConfig(c.config("secretsmanager", region)), nil
}

// SSM returns an SSM client.
func (c *VerifyClients) SSM(region string) (deployer.SSMClient, error) {
	return ssm.NewFromConfig(c.config("ssm", region)), nil
}

// Logs returns a CloudWatch Logs client.
func (c *VerifyClients) Logs(region string) (deployer.LogGroupsClient, error) {
	return cloudwatchlogs.NewFromConfig(c.config("logs", region)), nil
}

// IAM returns an IAM client.
func (c *VerifyClients) IAM() (deployer.IAMClient, error) {
	return iam.NewFromConfig(c.config("iam", "")), nil
}
