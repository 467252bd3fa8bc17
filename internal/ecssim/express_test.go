package ecssim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// expressSim is web, an Express Mode service (container Main, Express
// Mode's defaults), and api, an ordinary ROLLING service.
func expressSim(t *testing.T) (*Sim, *ecs.Client) {
	td := FargateApp("web", "app:v1")
	td.ContainerDefinitions[0].Name = aws.String("Main")
	sc := OneService("prod", "web", td, 2)
	sc.Services[0].ResourceManagementType = "ECS"
	sc.Services[0].LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String(blueTG), ContainerName: aws.String("Main"), ContainerPort: aws.Int32(8080),
		AdvancedConfiguration: &types.AdvancedConfiguration{AlternateTargetGroupArn: aws.String(greenTG), ProductionListenerRule: aws.String(prodRule),
			RoleArn: aws.String("arn:aws:iam::123456789012:role/ecs-elb")}}}
	api := OneService("prod", "api", FargateApp("api", "api:v1"), 1)
	sc.TaskDefinitions = append(sc.TaskDefinitions, api.TaskDefinitions...)
	sc.Services = append(sc.Services, api.Services...)
	sc.Timings = Timings{Minute: Duration(time.Second), Stage: Duration(2 * time.Millisecond)}
	return fakeClockSim(t, sc)
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return ""
}

func TestExpressServiceDescribe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := expressSim(t)
		svc := describeService(t, c, "prod", "web")
		if svc.ResourceManagementType != types.ResourceManagementTypeEcs {
			t.Errorf("resourceManagementType %q, want ECS", svc.ResourceManagementType)
		}
		if svc.TaskDefinition != nil {
			t.Errorf("taskDefinition %q, want none at the top level (the PRIMARY deployment names it)", aws.ToString(svc.TaskDefinition))
		}
		if len(svc.Deployments) != 1 || !strings.HasSuffix(aws.ToString(svc.Deployments[0].TaskDefinition), "web:1") {
			t.Errorf("deployments %s, want the PRIMARY of web:1", fmtDeployments(svc.Deployments))
		}
		dc := svc.DeploymentConfiguration
		if dc.Strategy != types.DeploymentStrategyCanary || aws.ToFloat64(dc.CanaryConfiguration.CanaryPercent) != 5 ||
			aws.ToInt32(dc.CanaryConfiguration.CanaryBakeTimeInMinutes) != 3 || aws.ToInt32(dc.BakeTimeInMinutes) != 3 {
			t.Errorf("deployment configuration %+v, want Express Mode's canary (5%%, 3 minutes, bake 3)", dc)
		}
		if api := describeService(t, c, "prod", "api"); api.ResourceManagementType != "" || api.TaskDefinition == nil {
			t.Errorf("the ordinary service shows resourceManagementType %q, taskDefinition %v", api.ResourceManagementType, api.TaskDefinition)
		}
	})
}

func TestExpressServiceRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := expressSim(t)
		ctx := context.Background()
		web := describeService(t, c, "prod", "web")
		api := describeService(t, c, "prod", "api")
		tests := []struct {
			name string
			call func() error
			want string
		}{
			{"UpdateService with a strategy", func() error {
				_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
					DeploymentConfiguration: &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary}})
				return err
			}, "InvalidParameterException: The deployment strategy can not be updated on Express Mode services."},
			{"UpdateService with load balancers", func() error {
				_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), LoadBalancers: web.LoadBalancers})
				return err
			}, "InvalidParameterException: Load balancer configurations can not be updated on Express Mode services."},
			{"UpdateExpressGatewayService on an ordinary service", func() error {
				_, err := c.UpdateExpressGatewayService(ctx, &ecs.UpdateExpressGatewayServiceInput{ServiceArn: api.ServiceArn, TaskDefinitionArn: api.TaskDefinition})
				return err
			}, "InvalidParameterException: Service " + aws.ToString(api.ServiceArn) + " is not an Express Mode service."},
			{"UpdateExpressGatewayService with a revision without Main", func() error {
				_, err := c.UpdateExpressGatewayService(ctx, &ecs.UpdateExpressGatewayServiceInput{ServiceArn: web.ServiceArn, TaskDefinitionArn: api.TaskDefinition})
				return err
			}, "InvalidParameterException: The task definition must have a container named Main with a single TCP port mapping."},
			{"UpdateExpressGatewayService with taskDefinitionArn and cpu", func() error {
				_, err := c.UpdateExpressGatewayService(ctx, &ecs.UpdateExpressGatewayServiceInput{ServiceArn: web.ServiceArn,
					TaskDefinitionArn: web.Deployments[0].TaskDefinition, Cpu: aws.String("512")})
				return err
			}, "InvalidParameterException: taskDefinitionArn cannot be specified together with primaryContainer, executionRoleArn, taskRoleArn, cpu, memory or cpuArchitecture."},
		}
		for _, tt := range tests {
			if got := apiCode(tt.call()); got != tt.want {
				t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
			}
		}
		if n := len(describeService(t, c, "prod", "web").Deployments); n != 1 {
			t.Errorf("%d deployments after the refusals, want 1", n)
		}
		// An UpdateService that leaves the strategy and load balancers
		// alone is allowed (developer guide, "Updating Resources Outside
		// of Express Mode").
		if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(3)}); err != nil {
			t.Errorf("UpdateService with a desired count: %v", err)
		}
	})
}

func TestExpressUpdateDeploysARevision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := expressSim(t)
		ctx := context.Background()
		web := describeService(t, c, "prod", "web")
		td := FargateApp("web", "app:v2")
		td.ContainerDefinitions[0].Name = aws.String("Main")
		reg, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: td.Family, ContainerDefinitions: td.ContainerDefinitions,
			Cpu: td.Cpu, Memory: td.Memory, NetworkMode: td.NetworkMode, RequiresCompatibilities: td.RequiresCompatibilities})
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.UpdateExpressGatewayService(ctx, &ecs.UpdateExpressGatewayServiceInput{ServiceArn: web.ServiceArn, TaskDefinitionArn: reg.TaskDefinition.TaskDefinitionArn})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Service.TargetConfiguration.ServiceRevisionArn) == "" || aws.ToString(out.Service.TargetConfiguration.PrimaryContainer.Image) != "app:v2" {
			t.Errorf("target configuration %+v, want the new revision with app:v2", out.Service.TargetConfiguration)
		}
		svc := describeService(t, c, "prod", "web")
		cur := aws.ToString(svc.CurrentServiceDeployment)
		if cur == aws.ToString(web.CurrentServiceDeployment) || cur == "" {
			t.Fatalf("no new service deployment (current %q)", cur)
		}
		sd, err := c.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{cur}})
		if err != nil || len(sd.ServiceDeployments) != 1 {
			t.Fatalf("DescribeServiceDeployments: %v", err)
		}
		if got := sd.ServiceDeployments[0].DeploymentConfiguration.Strategy; got != types.DeploymentStrategyCanary {
			t.Errorf("the deployment's strategy is %s, want CANARY", got)
		}
		waitService(t, c, "prod", "web", time.Hour, "the canary to finish", func(s types.Service) bool {
			return len(s.Deployments) == 1 && strings.HasSuffix(aws.ToString(s.Deployments[0].TaskDefinition), "web:2")
		})
		// primaryContainer.image: a new revision of the running one.
		if _, err := c.UpdateExpressGatewayService(ctx, &ecs.UpdateExpressGatewayServiceInput{ServiceArn: web.ServiceArn,
			PrimaryContainer: &types.ExpressGatewayContainer{Image: aws.String("app:v3")}}); err != nil {
			t.Fatal(err)
		}
		waitService(t, c, "prod", "web", time.Hour, "the image change to finish", func(s types.Service) bool {
			return len(s.Deployments) == 1 && strings.HasSuffix(aws.ToString(s.Deployments[0].TaskDefinition), "web:3")
		})
	})
}
