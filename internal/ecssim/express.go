package ecssim

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Express Mode services (ScenarioService.ResourceManagementType "ECS"),
// as the ECS developer guide and API reference describe them:
//
//   - DescribeServices reports resourceManagementType ECS, and (as other
//     tools report of the real API) no top-level taskDefinition: the
//     PRIMARY deployment names it.
//   - "Updates are deployed using canary deployments with alarm based
//     rollback alarms": 5% of traffic first, 3 minutes of canary bake,
//     then 100%, then 3 minutes of bake before the old tasks go
//     (express-service-update-full.html). A scenario that gives no
//     strategy gets exactly these settings; its alarms are the service's
//     alarm-based rollback (Express Mode's 4xx+5xx alarm).
//   - The deployment strategy and the load balancers cannot be updated
//     on such a service: UpdateService refuses a deploymentConfiguration
//     that carries a strategy, and loadBalancers. Anything else may be
//     changed directly ("Updating Resources Outside of Express Mode",
//     express-service-advanced-customization.html).
//   - UpdateExpressGatewayService (API_UpdateExpressGatewayService.html)
//     changes the image (primaryContainer.image, on a new revision of the
//     running one) or deploys a given revision (taskDefinitionArn: it must
//     have a container named Main and FARGATE compatibility, and cannot be
//     combined with primaryContainer, executionRoleArn, taskRoleArn, cpu,
//     memory or cpuArchitecture). Either way it starts a new service
//     deployment as UpdateService does. It has no forceNewDeployment: the
//     revision the service already runs starts nothing.

// expressDefaults applies Express Mode's deployment settings to a service
// whose scenario gives no strategy.
func expressDefaults(dc *DeploymentConfiguration) {
	if dc.Strategy != "" {
		return
	}
	dc.Strategy = string(types.DeploymentStrategyCanary)
	if dc.CanaryConfiguration == nil {
		dc.CanaryConfiguration = &types.CanaryConfiguration{CanaryPercent: aws.Float64(5), CanaryBakeTimeInMinutes: aws.Int32(3)}
	}
	if dc.BakeTimeInMinutes == nil {
		dc.BakeTimeInMinutes = aws.Int32(3)
	}
}

// checkExpressUpdate returns ECS's refusal of an UpdateService that
// changes what an Express Mode service does not let change.
func checkExpressUpdate(svc *service, in *ecs.UpdateServiceInput) *apiError {
	if !svc.express {
		return nil
	}
	if dc := in.DeploymentConfiguration; dc != nil && dc.Strategy != "" {
		return errInvalidParam("The deployment strategy can not be updated on Express Mode services.")
	}
	if in.LoadBalancers != nil {
		return errInvalidParam("Load balancer configurations can not be updated on Express Mode services.")
	}
	return nil
}

// expressView is what DescribeServices shows of an Express Mode service.
func expressView(svc *service, v *types.Service) {
	if !svc.express {
		return
	}
	v.ResourceManagementType = types.ResourceManagementTypeEcs
	v.TaskDefinition = nil
}

// expressService finds an Express Mode service by its ARN.
func (s *Sim) expressService(arn string) (*service, *apiError) {
	for _, cl := range s.cOrder {
		for _, svc := range cl.sOrder {
			if svc.arn != arn {
				continue
			}
			if !svc.express {
				return nil, errInvalidParam("Service %s is not an Express Mode service.", arn)
			}
			return svc, nil
		}
	}
	return nil, errServiceNotFound()
}

func (s *Sim) updateExpressGatewayService(in *ecs.UpdateExpressGatewayServiceInput, now time.Time) (*ecs.UpdateExpressGatewayServiceOutput, *apiError) {
	svc, aerr := s.expressService(aws.ToString(in.ServiceArn))
	if aerr != nil {
		return nil, aerr
	}
	if svc.status != "ACTIVE" {
		return nil, errServiceNotActive()
	}
	tdARN := aws.ToString(in.TaskDefinitionArn)
	if tdARN != "" && (in.PrimaryContainer != nil || in.ExecutionRoleArn != nil || in.TaskRoleArn != nil || in.Cpu != nil || in.Memory != nil || in.CpuArchitecture != "") {
		return nil, errInvalidParam("taskDefinitionArn cannot be specified together with primaryContainer, executionRoleArn, taskRoleArn, cpu, memory or cpuArchitecture.")
	}
	var td *taskDef
	switch {
	case tdARN != "":
		t, ok := s.lookupTaskDef(tdARN)
		if !ok {
			return nil, errClient("TaskDefinition not found.")
		}
		if t.td.Status != types.TaskDefinitionStatusActive {
			return nil, errClient("TaskDefinition is inactive")
		}
		if !hasMainContainer(t.td) {
			return nil, errInvalidParam("The task definition must have a container named Main with a single TCP port mapping.")
		}
		if !fargateCompatible(t.td) {
			return nil, errInvalidParam("The task definition must be compatible with FARGATE.")
		}
		td = t
	case in.PrimaryContainer != nil && aws.ToString(in.PrimaryContainer.Image) != "":
		cur := svc.deps[0].td.td
		reg := registerInputOf(cur)
		for i := range reg.ContainerDefinitions {
			if aws.ToString(reg.ContainerDefinitions[i].Name) == "Main" {
				reg.ContainerDefinitions[i].Image = in.PrimaryContainer.Image
			}
		}
		out, aerr := s.registerTaskDefinition(reg, now)
		if aerr != nil {
			return nil, aerr
		}
		td, _ = s.lookupTaskDef(aws.ToString(out.TaskDefinition.TaskDefinitionArn))
	}
	if td != nil {
		if _, aerr := s.updateService(&ecs.UpdateServiceInput{Cluster: aws.String(svc.cl.name), Service: aws.String(svc.name),
			TaskDefinition: aws.String(td.arn())}, now); aerr != nil {
			return nil, aerr
		}
	}
	conf := &types.ExpressGatewayServiceConfiguration{PrimaryContainer: &types.ExpressGatewayContainer{Image: mainImage(svc.deps[0].td.td)}}
	if cur := svc.sdx.current(); cur != nil && cur.target != nil {
		conf.ServiceRevisionArn = aws.String(cur.target.arn)
	}
	return &ecs.UpdateExpressGatewayServiceOutput{Service: &types.UpdatedExpressGatewayService{
		ServiceArn: aws.String(svc.arn), ServiceName: aws.String(svc.name), Cluster: aws.String(svc.cl.arn),
		Status:              &types.ExpressGatewayServiceStatus{StatusCode: types.ExpressGatewayServiceStatusCodeActive},
		TargetConfiguration: conf, CreatedAt: aws.Time(svc.createdAt), UpdatedAt: aws.Time(now),
	}}, nil
}

func hasMainContainer(td types.TaskDefinition) bool {
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) == "Main" {
			return true
		}
	}
	return false
}

func mainImage(td types.TaskDefinition) *string {
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) == "Main" {
			return c.Image
		}
	}
	return nil
}

func fargateCompatible(td types.TaskDefinition) bool {
	for _, c := range append(td.Compatibilities, td.RequiresCompatibilities...) {
		if c == types.CompatibilityFargate {
			return true
		}
	}
	return false
}

// registerInputOf is the RegisterTaskDefinition input that registers a
// copy of td.
func registerInputOf(td types.TaskDefinition) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: td.Family, ContainerDefinitions: td.ContainerDefinitions, Cpu: td.Cpu, Memory: td.Memory,
		ExecutionRoleArn: td.ExecutionRoleArn, TaskRoleArn: td.TaskRoleArn, NetworkMode: td.NetworkMode,
		RequiresCompatibilities: td.RequiresCompatibilities, RuntimePlatform: td.RuntimePlatform, Volumes: td.Volumes,
	}
}
