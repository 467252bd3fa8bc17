package ecssim

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// launchVolume is the name of td's volume configured at launch, "" when
// it has none. A task definition has at most one
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Volume.html,
// configuredAtLaunch).
func launchVolume(td *taskDef) string {
	for _, v := range td.td.Volumes {
		if aws.ToBool(v.ConfiguredAtLaunch) {
			return aws.ToString(v.Name)
		}
	}
	return ""
}

// checkVolumeConfigurations checks CreateService/UpdateService's
// volumeConfigurations against the task definition: each names its
// volume configured at launch, "the name of the volume must match the
// name from the task definition"
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceVolumeConfiguration.html).
func checkVolumeConfigurations(td *taskDef, vcs []types.ServiceVolumeConfiguration) *apiError {
	names := make([]*string, len(vcs))
	for i, vc := range vcs {
		names[i] = vc.Name
	}
	return checkVolumeNames(td, names)
}

// checkTaskVolumeConfigurations is checkVolumeConfigurations for RunTask
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskVolumeConfiguration.html).
func checkTaskVolumeConfigurations(td *taskDef, vcs []types.TaskVolumeConfiguration) *apiError {
	names := make([]*string, len(vcs))
	for i, vc := range vcs {
		names[i] = vc.Name
	}
	return checkVolumeNames(td, names)
}

func checkVolumeNames(td *taskDef, names []*string) *apiError {
	want := launchVolume(td)
	if len(names) > 1 {
		return errInvalidParam("Only one volume configuration is supported.")
	}
	for _, n := range names {
		if aws.ToString(n) == "" {
			return errInvalidParam("The volume configuration must include a name.")
		}
		if aws.ToString(n) != want {
			return errInvalidParam("The volume %s in volumeConfigurations is not a volume configured at launch in task definition %s.", aws.ToString(n), td.arn())
		}
	}
	return nil
}
