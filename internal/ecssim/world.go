package ecssim

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// FargateApp returns a minimal Fargate task definition of family: awsvpc,
// 256 CPU units, 512 MiB, one essential container "app" running image.
// Callers add what their test needs (logging, health checks, sidecars).
func FargateApp(family, image string) types.TaskDefinition {
	return types.TaskDefinition{
		Family:                  aws.String(family),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(image), Essential: aws.Bool(true),
		}},
	}
}

// OneService is the smallest world to deploy to: cluster with service
// running desired tasks of td's family at revision 1. It has no image
// rules, so every image is healthy until the caller adds some.
func OneService(cluster, service string, td types.TaskDefinition, desired int32) Scenario {
	return Scenario{
		Clusters:        []ScenarioCluster{{Name: cluster}},
		TaskDefinitions: []ScenarioTaskDefinition{{TaskDefinition: td}},
		Services: []ScenarioService{{Cluster: cluster, Name: service,
			TaskDefinition: fmt.Sprintf("%s:1", aws.ToString(td.Family)), DesiredCount: desired}},
	}
}

// BlueGreenLoadBalancer is the load balancer a BLUE_GREEN service of
// container "app" (port 8080) needs: production target group web-blue,
// alternate web-green, a production listener rule and the role ECS uses
// to shift traffic. Callers add a test listener rule where they want one.
func BlueGreenLoadBalancer() types.LoadBalancer {
	return types.LoadBalancer{
		TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/1"),
		ContainerName:  aws.String("app"), ContainerPort: aws.Int32(8080),
		AdvancedConfiguration: &types.AdvancedConfiguration{
			AlternateTargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/2"),
			ProductionListenerRule:  aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3"),
			RoleArn:                 aws.String("arn:aws:iam::123456789012:role/ecs-elb"),
		},
	}
}

// Awslogs is the awslogs log configuration of a container logging to the
// group /ecs/<family> with stream prefix "ecs" in us-east-1, where the
// simulator serves GetLogEvents for the tasks' streams.
func Awslogs(family string) *types.LogConfiguration {
	return &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
		"awslogs-group": "/ecs/" + family, "awslogs-stream-prefix": "ecs", "awslogs-region": "us-east-1"}}
}
