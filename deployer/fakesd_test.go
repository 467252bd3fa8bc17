package deployer

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// The scripted ECS of the unit tests deploys ROLLING services only: the
// service-deployment API answers as an endpoint without it (moto's).
var errNoServiceDeployments = errors.New("scriptedECS: no service-deployment API")

func (f *scriptedECS) ListServiceDeployments(context.Context, *ecs.ListServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error) {
	return nil, errNoServiceDeployments
}

func (f *scriptedECS) DescribeServiceDeployments(context.Context, *ecs.DescribeServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error) {
	return nil, errNoServiceDeployments
}

func (f *scriptedECS) DescribeServiceRevisions(context.Context, *ecs.DescribeServiceRevisionsInput, ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error) {
	return nil, errNoServiceDeployments
}

func (f *scriptedECS) StopServiceDeployment(context.Context, *ecs.StopServiceDeploymentInput, ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error) {
	return nil, errNoServiceDeployments
}

func (f *scriptedECS) ContinueServiceDeployment(context.Context, *ecs.ContinueServiceDeploymentInput, ...func(*ecs.Options)) (*ecs.ContinueServiceDeploymentOutput, error) {
	return nil, errNoServiceDeployments
}
