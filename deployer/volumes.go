package deployer

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// prepareLaunch settles, in the preflight, what the revision in needs at
// launch: the service's volume configured at launch (Config.ServiceVolume
// named after in's volume configured at launch) and the pre-deploy task
// (its container and volume).
func (r *run) prepareLaunch(in *ecs.RegisterTaskDefinitionInput) error {
	if v := r.cfg.ServiceVolume; v != nil {
		name := launchVolume(in)
		switch dc := r.svc.DeploymentController; {
		case dc != nil && dc.Type == types.DeploymentControllerTypeCodeDeploy:
			return fmt.Errorf("service-managed-ebs-volume: service %s uses the CODE_DEPLOY deployment controller, whose deployments do not take volume configurations from UpdateService", r.cfg.Service)
		case name == "":
			return fmt.Errorf("service-managed-ebs-volume: task definition %s has no volume configured at launch (configuredAtLaunch) for service %s", aws.ToString(in.Family), r.cfg.Service)
		case aws.ToString(v.Name) != "" && aws.ToString(v.Name) != name:
			return fmt.Errorf("service-managed-ebs-volume-name: task definition %s has no volume %q configured at launch (its volume configured at launch is %q)", aws.ToString(in.Family), aws.ToString(v.Name), name)
		}
		c := *v // the Config's may be shared by several services' runs
		c.Name = aws.String(name)
		r.cfg.ServiceVolume = &c
	}
	return r.preparePreDeploy(in)
}

// newVolumes is the volumeConfigurations our UpdateService sends: nil
// (the service keeps its own) unless Config.ServiceVolume is set.
func (r *run) newVolumes() []types.ServiceVolumeConfiguration {
	if r.cfg.ServiceVolume == nil {
		return nil
	}
	return []types.ServiceVolumeConfiguration{*r.cfg.ServiceVolume}
}

// serviceVolumes are the volumeConfigurations the service's tasks had
// before our update (those of its PRIMARY deployment at preflight).
func (r *run) serviceVolumes() []types.ServiceVolumeConfiguration {
	if p := primaryOf(r.svc); p != nil {
		return p.VolumeConfigurations
	}
	return nil
}

// originalVolumes is what a rollback sends back: nil when our update
// sent no volumeConfigurations (the service kept its own), else the
// service's previous ones, an empty list when it had none (which removes
// ours: UpdateService keeps the volumes only when the member is null).
func (r *run) originalVolumes() []types.ServiceVolumeConfiguration {
	return restoreVolumes(r.cfg.ServiceVolume != nil, r.serviceVolumes())
}

func restoreVolumes(sent bool, before []types.ServiceVolumeConfiguration) []types.ServiceVolumeConfiguration {
	if !sent {
		return nil
	}
	if before == nil {
		return []types.ServiceVolumeConfiguration{}
	}
	return before
}

// saveVolumes puts into cp what the post step's rollback restores.
func (r *run) saveVolumes(cp *Checkpoint) {
	if r.cfg.ServiceVolume != nil {
		cp.RestoreVolumes = true
		cp.OriginalVolumes = r.serviceVolumes()
	}
}

// originalVolumes is the checkpoint's restoreVolumes.
func (cp Checkpoint) originalVolumes() []types.ServiceVolumeConfiguration {
	return restoreVolumes(cp.RestoreVolumes, cp.OriginalVolumes)
}

// volumePlan is the dry run's words for the volume our update sends.
func volumePlan(v *types.ServiceVolumeConfiguration) string {
	if v == nil || v.ManagedEBSVolume == nil {
		return ""
	}
	e := v.ManagedEBSVolume
	var parts []string
	if e.SizeInGiB != nil {
		parts = append(parts, fmt.Sprintf("%d GiB", *e.SizeInGiB))
	}
	if t := aws.ToString(e.VolumeType); t != "" {
		parts = append(parts, t)
	}
	if e.SnapshotId != nil {
		parts = append(parts, "from snapshot "+aws.ToString(e.SnapshotId))
	}
	s := "EBS volume " + aws.ToString(v.Name)
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}
