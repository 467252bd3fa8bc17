package deployer_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/motoserver"
)

// moto 5.2 implements part of CodeDeploy: applications, deployment
// groups, CreateDeployment, GetDeployment and ListDeployments (its
// deployments never progress), but not GetDeploymentConfig,
// GetDeploymentTarget, StopDeployment or ContinueDeployment. The contract
// test runs our preflight and CreateDeployment against it (with wait
// false: nothing to watch there) and checks what moto recorded; the only
// call moto cannot answer, GetDeploymentConfig, is answered by a shim with
// CodeDeploy's predefined ECSAllAtOnce.

// motoCodeDeploy is the CodeDeploy client for moto, with the shim.
type motoCodeDeploy struct {
	*codedeploy.Client
}

func (m motoCodeDeploy) GetDeploymentConfig(ctx context.Context, in *codedeploy.GetDeploymentConfigInput, _ ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentConfigOutput, error) {
	return &codedeploy.GetDeploymentConfigOutput{DeploymentConfigInfo: &cdtypes.DeploymentConfigInfo{
		DeploymentConfigName: in.DeploymentConfigName, ComputePlatform: cdtypes.ComputePlatformEcs,
		TrafficRoutingConfig: &cdtypes.TrafficRoutingConfig{Type: cdtypes.TrafficRoutingTypeAllAtOnce},
	}}, nil
}

// seedMotoCodeDeploy creates a CODE_DEPLOY service web (container app,
// port 8080, behind a load balancer) and its CodeDeploy application and
// deployment group, with the official action's default names.
func seedMotoCodeDeploy(t *testing.T, url string) (*ecs.Client, *codedeploy.Client) {
	t.Helper()
	ctx := context.Background()
	client := motoClient(url)
	cd := codedeploy.New(codedeploy.Options{BaseEndpoint: aws.String(url), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDMOTO", "moto-secret", "")})
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatalf("create cluster: %v", err)
	}
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("registry.example.com/app:1"),
			Memory: aws.Int32(256), Essential: aws.Bool(true), PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
	})
	if err != nil {
		t.Fatalf("register task definition: %v", err)
	}
	tg := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/1"
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(2),
		DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeCodeDeploy},
		LoadBalancers:        []types.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}},
	}); err != nil {
		t.Fatalf("create service: %v", err)
	}
	if _, err := cd.CreateApplication(ctx, &codedeploy.CreateApplicationInput{ApplicationName: aws.String("AppECS-prod-web"), ComputePlatform: cdtypes.ComputePlatformEcs}); err != nil {
		t.Fatalf("create application: %v", err)
	}
	if _, err := cd.CreateDeploymentGroup(ctx, &codedeploy.CreateDeploymentGroupInput{
		ApplicationName: aws.String("AppECS-prod-web"), DeploymentGroupName: aws.String("DgpECS-prod-web"),
		ServiceRoleArn:       aws.String("arn:aws:iam::123456789012:role/ecsCodeDeployRole"),
		DeploymentConfigName: aws.String("CodeDeployDefault.ECSAllAtOnce"),
		DeploymentStyle:      &cdtypes.DeploymentStyle{DeploymentType: cdtypes.DeploymentTypeBlueGreen, DeploymentOption: cdtypes.DeploymentOptionWithTrafficControl},
		EcsServices:          []cdtypes.ECSService{{ClusterName: aws.String("prod"), ServiceName: aws.String("web")}},
		BlueGreenDeploymentConfiguration: &cdtypes.BlueGreenDeploymentConfiguration{
			DeploymentReadyOption:                     &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionContinueDeployment},
			TerminateBlueInstancesOnDeploymentSuccess: &cdtypes.BlueInstanceTerminationOption{Action: cdtypes.InstanceActionTerminate, TerminationWaitTimeInMinutes: 60},
		},
	}); err != nil {
		t.Fatalf("create deployment group: %v", err)
	}
	return client, cd
}

func TestMotoContractCodeDeploy(t *testing.T) {
	t.Parallel()
	url := motoserver.Start(t)
	client, cd := seedMotoCodeDeploy(t, url)
	d := deployer.New(client, nil, deployer.WithCodeDeploy(motoCodeDeploy{cd}))
	cfg := motoConfig()
	cfg.Images = []deployer.ContainerImage{{Container: "app", Image: "registry.example.com/app:2"}}
	cfg.Wait = false
	cfg.CodeDeploy.Description = "from the contract test"
	res, err := d.Deploy(context.Background(), cfg)
	if err != nil || res.Status != deployer.StatusSucceeded {
		t.Fatalf("Deploy: %s %v: %s", res.Status, err, res.Reason)
	}
	if res.Strategy != deployer.StrategyCodeDeploy || res.DeploymentID == "" {
		t.Fatalf("strategy %q, deployment %q", res.Strategy, res.DeploymentID)
	}
	// What moto recorded of our CreateDeployment. moto writes GetDeployment's
	// timestamps as strings, which the SDK cannot decode (a moto bug): the
	// answer is read as JSON.
	var out struct {
		DeploymentInfo struct {
			ApplicationName, DeploymentGroupName, Description string
			Revision                                          struct {
				RevisionType   string
				AppSpecContent struct{ Content, Sha256 string }
			}
		}
	}
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"deploymentId":"`+res.DeploymentID+`"}`))
	req.Header.Set("X-Amz-Target", "CodeDeploy_20141006.GetDeployment")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDMOTO/20260101/us-east-1/codedeploy/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GetDeployment: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GetDeployment: HTTP %d, %v", resp.StatusCode, err)
	}
	info := out.DeploymentInfo
	if info.ApplicationName != "AppECS-prod-web" || info.DeploymentGroupName != "DgpECS-prod-web" || info.Description != "from the contract test" {
		t.Errorf("deployment: application %q, group %q, description %q", info.ApplicationName, info.DeploymentGroupName, info.Description)
	}
	if info.Revision.RevisionType != "AppSpecContent" {
		t.Fatalf("revision: %+v", info.Revision)
	}
	content := info.Revision.AppSpecContent.Content
	sum := sha256.Sum256([]byte(content))
	if info.Revision.AppSpecContent.Sha256 != hex.EncodeToString(sum[:]) {
		t.Errorf("the AppSpec's sha256 does not match its content")
	}
	for _, want := range []string{res.TaskDefinitionARN, `"ContainerName":"app"`, `"ContainerPort":8080`, `"AWS::ECS::Service"`} {
		if !strings.Contains(content, want) {
			t.Errorf("the AppSpec lacks %s: %s", want, content)
		}
	}
	// moto's deployment stays Created: our ListDeployments (with its
	// status filter) finds the group busy, and on-busy fail stops a second
	// deploy before any change.
	cfg.OnBusy = deployer.OnBusyFail
	res2, err := d.Deploy(context.Background(), cfg)
	if err == nil || !strings.Contains(res2.Reason, "OnBusy: deployment group DgpECS-prod-web already has deployment "+res.DeploymentID) {
		t.Errorf("second deploy: %s %v: %s", res2.Status, err, res2.Reason)
	}
	// A group that does not exist is a preflight error naming the input.
	cfg.CodeDeploy.DeploymentGroup = "nope"
	res3, err := d.Deploy(context.Background(), cfg)
	if err == nil || !strings.HasPrefix(res3.Reason, "CodeDeploy.DeploymentGroup: ") {
		t.Errorf("unknown group: %s %v: %s", res3.Status, err, res3.Reason)
	}
}
