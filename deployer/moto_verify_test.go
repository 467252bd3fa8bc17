package deployer_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
	"github.com/ecs-rollout/ecs-rollout/internal/motoserver"
)

// seedMotoVerify fills moto's ECR (repository app: tag 2 an image index
// for linux/amd64 with an attestation, tag arm one for linux/arm64),
// Secrets Manager, SSM, CloudWatch Logs and IAM, and an ECS service web
// whose revision uses them, with task role taskRole.
func seedMotoVerify(t *testing.T, url, taskRole string) *ecs.Client {
	t.Helper()
	ctx := context.Background()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("AKIDMOTO", "moto-secret", "")}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	ecrc := ecr.NewFromConfig(cfg)
	_, err := ecrc.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("app")})
	must("create repository", err)
	index := func(arch string) string {
		return `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
			`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":1000,"platform":{"architecture":"` + arch + `","os":"linux"}},` +
			`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("b", 64) + `","size":500,"platform":{"architecture":"unknown","os":"unknown"},` +
			`"annotations":{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"sha256:` + strings.Repeat("a", 64) + `"}}]}`
	}
	for tag, arch := range map[string]string{"2": "amd64", "arm": "arm64"} {
		_, err := ecrc.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("app"), ImageTag: aws.String(tag),
			ImageManifest: aws.String(index(arch)), ImageManifestMediaType: aws.String("application/vnd.oci.image.index.v1+json")})
		must("put image "+tag, err)
	}
	sec, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("web/db"), SecretString: aws.String("never-read")})
	must("create secret", err)
	_, err = ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/web/api-key"), Value: aws.String("never-read"), Type: ssmtypes.ParameterTypeSecureString})
	must("put parameter", err)
	_, err = cloudwatchlogs.NewFromConfig(cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/web")})
	must("create log group", err)
	iamc := iam.NewFromConfig(cfg)
	for name, principal := range map[string]string{"web-exec": "ecs-tasks.amazonaws.com", "web-task": "ecs-tasks.amazonaws.com", "lambda-role": "lambda.amazonaws.com"} {
		_, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + principal + `"},"Action":"sts:AssumeRole"}]}`)})
		must("create role "+name, err)
	}

	client := motoClient(url)
	_, err = client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")})
	must("create cluster", err)
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:           aws.String("web"),
		ExecutionRoleArn: aws.String("arn:aws:iam::123456789012:role/web-exec"),
		TaskRoleArn:      aws.String("arn:aws:iam::123456789012:role/" + taskRole),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(ecrApp + ":2"), Memory: aws.Int32(256), Essential: aws.Bool(true),
			Secrets: []types.Secret{
				{Name: aws.String("DB_PASSWORD"), ValueFrom: sec.ARN},
				{Name: aws.String("API_KEY"), ValueFrom: aws.String("/web/api-key")},
			},
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}},
		}},
	})
	must("register task definition", err)
	_, err = client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(2)})
	must("create service", err)
	return client
}

// TestMotoVerify runs the verify phase against moto_server, an
// independent emulator of ECR, Secrets Manager, SSM, CloudWatch Logs and
// IAM: a tag never pushed and an image for another platform stop the
// deploy before any change; a task role ECS tasks may not assume too; a
// revision whose resources all exist deploys. moto answers
// SimulatePrincipalPolicy with an HTTP 500, so the execution role's
// permissions are a notice there, not an error.
func TestMotoVerify(t *testing.T) {
	t.Parallel()
	url := motoserver.Start(t, "MOTO_ECS_SERVICE_RUNNING=2")
	client := seedMotoVerify(t, url, "web-task")
	before := serviceTaskDef(t, client)
	deploy := func(image string) (deployer.Result, []string) {
		cfg := motoConfig()
		cfg.Images = []deployer.ContainerImage{{Container: "app", Image: image}}
		cfg.Verify = true
		var notices []string
		res, _ := deployer.New(client, nil, deployer.WithVerifyClients(&ecssimtest.VerifyClients{URL: url, MaxAttempts: 1}), deployer.WithReporter(func(ev deployer.Event) {
			if ev.Kind == deployer.EventNotice {
				notices = append(notices, ev.Message)
			}
		})).Deploy(context.Background(), cfg)
		return res, notices
	}

	res, _ := deploy(ecrApp + ":3")
	if res.Status != deployer.StatusFailed || !strings.Contains(res.Reason, `container "app": image `+ecrApp+`:3: tag 3 was never pushed to repository app (newest tags: `) {
		t.Errorf("tag 3: status %s, reason %q", res.Status, res.Reason)
	}
	res, _ = deploy(ecrApp + ":arm")
	if res.Status != deployer.StatusFailed || !strings.Contains(res.Reason, "is built for linux/arm64 only; the task definition runs on LINUX/X86_64") {
		t.Errorf("tag arm: status %s, reason %q", res.Status, res.Reason)
	}
	if got := serviceTaskDef(t, client); got != before {
		t.Fatalf("the service runs %s after two failed verifications, want %s", got, before)
	}

	res, notices := deploy(ecrApp + ":2")
	if res.Status != deployer.StatusSucceeded {
		t.Fatalf("tag 2: status %s: %s", res.Status, res.Reason)
	}
	for _, want := range []string{"image " + ecrApp + ":2 (linux/amd64 in its index)", `container "app": secret DB_PASSWORD (Secrets Manager)`, `container "app": secret API_KEY (SSM parameter)`,
		"log group /ecs/web", "execution role web-exec (trusts ECS tasks)", "task role web-task (trusts ECS tasks)"} {
		if !slices.Contains(res.Verification.Checked, want) {
			t.Errorf("checked lacks %q: %q", want, res.Verification.Checked)
		}
	}
	if !slices.ContainsFunc(notices, func(n string) bool { return strings.Contains(n, "iam:SimulatePrincipalPolicy") }) {
		t.Errorf("no notice about the simulation: %q", notices)
	}
}

// TestMotoVerifyTrust: moto's GetRole gives the trust policy; a task role
// only Lambda may assume stops the deploy.
func TestMotoVerifyTrust(t *testing.T) {
	t.Parallel()
	url := motoserver.Start(t, "MOTO_ECS_SERVICE_RUNNING=2")
	client := seedMotoVerify(t, url, "lambda-role")
	cfg := motoConfig()
	cfg.Images = []deployer.ContainerImage{{Container: "app", Image: ecrApp + ":2"}}
	cfg.Verify = true
	res, _ := deployer.New(client, nil, deployer.WithVerifyClients(&ecssimtest.VerifyClients{URL: url, MaxAttempts: 1})).Deploy(context.Background(), cfg)
	if res.Status != deployer.StatusFailed || !strings.Contains(res.Reason, "the task role lambda-role does not let ecs-tasks.amazonaws.com sts:AssumeRole") {
		t.Errorf("status %s, reason %q", res.Status, res.Reason)
	}
}
