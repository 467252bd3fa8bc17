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

// Awslogs is the awslogs log configuration of a container logging to the
// group /ecs/<family> with stream prefix "ecs" in us-east-1, where the
// simulator serves GetLogEvents for the tasks' streams.
func Awslogs(family string) *types.LogConfiguration {
	return &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
		"awslogs-group": "/ecs/" + family, "awslogs-stream-prefix": "ecs", "awslogs-region": "us-east-1"}}
}
