package action

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/report"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// The Amazon EBS volumes configured at launch: the service's (as the
// deploy action's service-managed-ebs-volume inputs) and the pre-deploy
// task's (its run-task-managed-ebs-volume inputs).
const (
	inServiceEBSVolumeName   = "service-managed-ebs-volume-name"
	inServiceEBSVolume       = "service-managed-ebs-volume"
	inPreDeployEBSVolumeName = "pre-deploy-managed-ebs-volume-name"
	inPreDeployEBSVolume     = "pre-deploy-managed-ebs-volume"
	inRunTaskEBSVolumeName   = "run-task-managed-ebs-volume-name"
	inRunTaskEBSVolume       = "run-task-managed-ebs-volume"
)

// volumeInputs parses the EBS volume inputs into Config.ServiceVolume and
// PreDeploy.Volume (after preDeployInputs). Each volume is a JSON object
// in the shape of the ECS API (ServiceManagedEBSVolumeConfiguration,
// TaskManagedEBSVolumeConfiguration), checked against the SDK's model:
// an unknown member is an error. A name left empty is the task
// definition's volume configured at launch.
func (p *inputParser) volumeInputs(out *parsed, _ parseOptions) {
	cfg := &out.Config
	if name, ok := p.volumeName(inServiceEBSVolumeName, inServiceEBSVolume); ok {
		var v types.ServiceManagedEBSVolumeConfiguration
		if err := taskdef.DecodeShape(p.raw(inServiceEBSVolume), schemas.ServiceManagedEBSVolumeConfiguration, &v); err != nil {
			p.add(inServiceEBSVolume, err.Error())
		} else {
			cfg.ServiceVolume = &types.ServiceVolumeConfiguration{Name: name, ManagedEBSVolume: &v}
		}
	}
	// The pre-deploy task's, or run-task's: preDeployInputs has said
	// which of the two inputs do not apply.
	if pd := cfg.PreDeploy; pd != nil && pd.Mode == deployer.PreDeployRunTask {
		p.taskVolume(inRunTaskEBSVolumeName, inRunTaskEBSVolume, pd)
	} else if !p.runTaskOn() {
		p.taskVolume(inPreDeployEBSVolumeName, inPreDeployEBSVolume, pd)
	}
}

// taskVolume parses a one-off task's volume inputs into pd.Volume (pd nil:
// there is no task, an error).
func (p *inputParser) taskVolume(nameInput, volumeInput string, pd *deployer.PreDeploy) {
	name, ok := p.volumeName(nameInput, volumeInput)
	if !ok {
		return
	}
	var v types.TaskManagedEBSVolumeConfiguration
	switch err := taskdef.DecodeShape(p.raw(volumeInput), schemas.TaskManagedEBSVolumeConfiguration, &v); {
	case err != nil:
		p.add(volumeInput, err.Error())
	case pd == nil && volumeInput == inPreDeployEBSVolume:
		p.add(volumeInput, "is set but pre-deploy-command is not: the volume is for the pre-deploy task")
	case pd == nil:
		// runTask reported it
	default:
		pd.Volume = &types.TaskVolumeConfiguration{Name: name, ManagedEBSVolume: &v}
	}
}

// volumeName checks a volume's name input and reports whether its
// volume input is set (the name alone is an error). An empty JSON object,
// {}, is not set: the deploy action's own default for both volume inputs,
// which workflows copy.
func (p *inputParser) volumeName(nameInput, volumeInput string) (*string, bool) {
	name := p.raw(nameInput)
	if name != "" && !validECSName(name) {
		p.add(nameInput, fmt.Sprintf("%q is not a volume name (up to 255 letters, numbers, hyphens and underscores)", report.Truncate(name, 80)))
	}
	if v := p.raw(volumeInput); v == "" || strings.Join(strings.Fields(v), "") == "{}" {
		if name != "" {
			p.add(nameInput, fmt.Sprintf("is set but %s is not: give the volume's configuration (a JSON object)", volumeInput))
		}
		return nil, false
	}
	if name == "" {
		return nil, true
	}
	return aws.String(name), true
}
