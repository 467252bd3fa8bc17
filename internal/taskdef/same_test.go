package taskdef

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestRegisters: a described revision matches what was sent despite the
// defaults ECS fills in and the forms it normalizes, and differs on any
// member sent with another value.
func TestRegisters(t *testing.T) {
	t.Parallel()
	sent := func() *ecs.RegisterTaskDefinitionInput {
		return &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("web"), Cpu: aws.String("1 vCPU"), Memory: aws.String("2 GB"),
			ContainerDefinitions: []types.ContainerDefinition{{
				Name: aws.String("app"), Image: aws.String("repo/app:2"),
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
				Environment:  []types.KeyValuePair{{Name: aws.String("A"), Value: aws.String("")}},
			}},
			Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}, {Key: aws.String("app"), Value: aws.String("web")}},
		}
	}
	described := func() *types.TaskDefinition {
		return &types.TaskDefinition{
			Family: aws.String("web"), Cpu: aws.String("1024"), Memory: aws.String("2048"), Revision: 7,
			TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"),
			ContainerDefinitions: []types.ContainerDefinition{{
				Name: aws.String("app"), Image: aws.String("repo/app:2"), Cpu: 0, Essential: aws.Bool(true),
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(8080), Protocol: types.TransportProtocolTcp}},
				Environment:  []types.KeyValuePair{{Name: aws.String("A"), Value: aws.String("")}},
				MountPoints:  []types.MountPoint{},
			}},
		}
	}
	tags := []types.Tag{{Key: aws.String("app"), Value: aws.String("web")}, {Key: aws.String("team"), Value: aws.String("a")}}
	if !Registers(sent(), described(), tags) {
		t.Errorf("the revision ECS made from the input does not match it")
	}
	for name, change := range map[string]func(*types.TaskDefinition, *[]types.Tag){
		"another image": func(td *types.TaskDefinition, _ *[]types.Tag) {
			td.ContainerDefinitions[0].Image = aws.String("repo/app:1")
		},
		"another memory":      func(td *types.TaskDefinition, _ *[]types.Tag) { td.Memory = aws.String("4096") },
		"an environment less": func(td *types.TaskDefinition, _ *[]types.Tag) { td.ContainerDefinitions[0].Environment = nil },
		"a tag less":          func(_ *types.TaskDefinition, tg *[]types.Tag) { *tg = (*tg)[:1] },
		"a container more": func(td *types.TaskDefinition, _ *[]types.Tag) {
			td.ContainerDefinitions = append(td.ContainerDefinitions, types.ContainerDefinition{Name: aws.String("sidecar")})
		},
	} {
		td, tg := described(), append([]types.Tag(nil), tags...)
		change(td, &tg)
		if Registers(sent(), td, tg) {
			t.Errorf("%s: matched, want a different revision", name)
		}
	}
	if Registers(nil, described(), tags) || Registers(sent(), nil, tags) {
		t.Errorf("nil matched")
	}
}
