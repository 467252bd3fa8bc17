package deployer

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// ECRClient is the part of ECR the verify phase calls (it reads image
// details and manifests); *ecr.Client satisfies it.
type ECRClient interface {
	DescribeImages(ctx context.Context, in *ecr.DescribeImagesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
	BatchGetImage(ctx context.Context, in *ecr.BatchGetImageInput, optFns ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error)
}

// SecretsManagerClient is the part of Secrets Manager the verify phase
// calls (metadata only, never a value); *secretsmanager.Client satisfies
// it.
type SecretsManagerClient interface {
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
}

// SSMClient is the part of SSM Parameter Store the verify phase calls;
// *ssm.Client satisfies it. GetParameters is the fallback when
// DescribeParameters is denied, and is called without decryption.
type SSMClient interface {
	DescribeParameters(ctx context.Context, in *ssm.DescribeParametersInput, optFns ...func(*ssm.Options)) (*ssm.DescribeParametersOutput, error)
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
}

// LogGroupsClient is the part of CloudWatch Logs the verify phase calls;
// *cloudwatchlogs.Client satisfies it.
type LogGroupsClient interface {
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
}

// IAMClient is the part of IAM the verify phase calls; *iam.Client
// satisfies it.
type IAMClient interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	SimulatePrincipalPolicy(ctx context.Context, in *iam.SimulatePrincipalPolicyInput, optFns ...func(*iam.Options)) (*iam.SimulatePrincipalPolicyOutput, error)
}

var (
	_ ECRClient            = (*ecr.Client)(nil)
	_ SecretsManagerClient = (*secretsmanager.Client)(nil)
	_ SSMClient            = (*ssm.Client)(nil)
	_ LogGroupsClient      = (*cloudwatchlogs.Client)(nil)
	_ IAMClient            = (*iam.Client)(nil)
)

// VerifyClients gives the verify phase its clients, each made when first
// asked for (a deploy that verifies no secret makes no Secrets Manager
// client). region is the region the resource lives in (the registry's
// for an image, the ARN's for a secret or parameter, awslogs-region for a
// log group), "" for the step's. A method returns an error, which the
// verify phase reports as a notice before going on, when the service
// cannot be reached from here (for example ECS is an emulator and the
// service has no endpoint).
type VerifyClients interface {
	// Region is the step's region.
	Region() string
	ECR(region string) (ECRClient, error)
	SecretsManager(region string) (SecretsManagerClient, error)
	SSM(region string) (SSMClient, error)
	Logs(region string) (LogGroupsClient, error)
	IAM() (IAMClient, error)
}

// WithVerifyClients sets the clients of the verify phase
// (Config.Verify). Without them, Deploy verifies nothing.
func WithVerifyClients(c VerifyClients) Option {
	return func(d *Deployer) { d.verify = c }
}
