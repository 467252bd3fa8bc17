package deployer

import (
	"cmp"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// The two phases that change AWS: register the new revision, point the
// service at it.

// registerRevision registers the prepared revision.
func (r *run) registerRevision(ctx context.Context) error {
	td, err := r.d.registerTaskDefinition(ctx, r.register) // register.go: once, also when retried
	if err != nil {
		return err
	}
	r.newARN = aws.ToString(td.TaskDefinitionArn)
	r.res.TaskDefinitionARN = r.newARN
	r.d.emit(EventInfo, "Registered %s", r.newARN)
	r.checkpoint(PhaseRegistered)
	return nil
}

// percentages are the minimumHealthyPercent and maximumPercent our update
// sends: the Config's, and with RollingDefaults 100 and 200 for a ROLLING
// service where they were not given; nil where nothing is sent.
func (r *run) percentages() (minHealthy, maxPercent *int32) {
	minHealthy, maxPercent = r.cfg.MinimumHealthyPercent, r.cfg.MaximumPercent
	if r.cfg.RollingDefaults && !isStaged(strategyOf(r.svc)) {
		minHealthy = cmp.Or(minHealthy, earlyMinimumDefault(r.svc.DeploymentConfiguration)) // earlysuccess.go
		maxPercent = cmp.Or(maxPercent, aws.Int32(200))
	}
	return minHealthy, maxPercent
}

func (r *run) desiredNote() string {
	if r.cfg.DesiredCount == nil {
		return ""
	}
	return fmt.Sprintf(", desired count %d", *r.cfg.DesiredCount)
}

// deploymentConfig is the service's configuration with our rolling
// percentages where the Config sets them (the service's own otherwise):
// nothing else the service had (circuit breaker, alarms) is lost.
func (r *run) deploymentConfig() *types.DeploymentConfiguration {
	minHealthy, maxPercent := r.percentages()
	if minHealthy == nil && maxPercent == nil {
		// No percentages to send: send no configuration, so the service
		// keeps all of its own (strategy, bake time, hooks, ...).
		return nil
	}
	c := types.DeploymentConfiguration{}
	if o := r.origDepl; o != nil {
		c = *o // strategy, bake time, steps, hooks, breaker, alarms: as they are
		c.Alarms = alarmsToSend(o.Alarms)
	}
	if minHealthy != nil {
		c.MinimumHealthyPercent = minHealthy
	}
	if maxPercent != nil {
		c.MaximumPercent = maxPercent
	}
	return &c
}

// alarmsToSend is the service's alarm configuration as UpdateService
// takes it back: alarmNames is required there, while some endpoints omit
// it when describing a service without alarms.
func alarmsToSend(a *types.DeploymentAlarms) *types.DeploymentAlarms {
	if a == nil {
		return nil
	}
	c := *a
	if c.AlarmNames == nil {
		c.AlarmNames = []string{}
	}
	return &c
}

// updateService points the service at the new revision. accepted reports
// whether the service now runs our revision: true even with an error when
// a retried call turns out to have been applied.
func (r *run) updateService(ctx context.Context) (accepted bool, err error) {
	in := &ecs.UpdateServiceInput{
		Cluster:                 aws.String(r.cfg.Cluster),
		Service:                 aws.String(r.cfg.Service),
		TaskDefinition:          aws.String(r.newARN),
		ForceNewDeployment:      r.cfg.ForceNewDeployment,
		DeploymentConfiguration: r.deploymentConfig(),
		DesiredCount:            r.cfg.DesiredCount,
		EnableECSManagedTags:    r.cfg.EnableECSManagedTags,
		EnableExecuteCommand:    r.cfg.EnableExecuteCommand,
		PropagateTags:           r.cfg.PropagateTags,
		VolumeConfigurations:    r.newVolumes(), // volumes.go
	}
	out, err := r.d.ecs.UpdateService(ctx, in)
	var svc types.Service
	if err != nil {
		// The call may have been applied before the error (a dropped
		// connection, a retried timeout): look before deciding.
		lctx, cancel := freshContext(ctx)
		defer cancel()
		s, derr := r.d.describeService(lctx, r.cfg.Cluster, r.cfg.Service)
		if derr != nil || aws.ToString(s.TaskDefinition) != r.newARN {
			return false, err
		}
		svc = s
	} else if out.Service != nil {
		svc = *out.Service
	}
	r.updated = svc
	before := deploymentIDs(r.svc)
	id := primaryFor(svc, r.newARN, before)
	if id == "" {
		// Some endpoints return no deployments from UpdateService.
		lctx, cancel := freshContext(ctx)
		defer cancel()
		s, derr := r.d.describeService(lctx, r.cfg.Cluster, r.cfg.Service)
		if derr == nil {
			id = primaryFor(s, r.newARN, before)
		}
	}
	r.res.DeploymentID = id
	r.res.ServiceDeploymentARN = r.updatedServiceDeployment(svc)
	if id == "" {
		r.d.emit(EventWarning, "could not find the deployment of %s; watching the service's PRIMARY deployment instead", taskdef.ShortRevision(r.newARN))
	} else {
		r.d.emit(EventInfo, "Updated service %s: deployment %s of %s", r.cfg.Service, id, taskdef.ShortRevision(r.newARN))
	}
	r.checkpoint(PhaseUpdated)
	return true, err
}

// originalExec is the service's enableExecuteCommand as it was before our
// update, when the update changes it: what a rollback sends back (nil:
// the update leaves it alone, and so does the rollback).
func (r *run) originalExec() *bool {
	if r.cfg.EnableExecuteCommand == nil || *r.cfg.EnableExecuteCommand == r.svc.EnableExecuteCommand {
		return nil
	}
	return aws.Bool(r.svc.EnableExecuteCommand)
}
