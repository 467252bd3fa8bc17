package deployer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// errNotFound marks a cluster or service that does not exist: polling
// again will not help.
var errNotFound = errors.New("not found")

// describeService returns the service, or an error naming the input that
// points at something missing.
func (d *Deployer) describeService(ctx context.Context, cluster, service string) (types.Service, error) {
	out, err := d.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(cluster),
		Services: []string{service},
	})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ClusterNotFoundException" {
			return types.Service{}, fmt.Errorf("cluster: cluster %q %w", cluster, errNotFound)
		}
		return types.Service{}, fmt.Errorf("describe service %s: %w", service, err)
	}
	for _, s := range out.Services {
		return s, nil
	}
	for _, f := range out.Failures {
		return types.Service{}, fmt.Errorf("service: service %q not found in cluster %q (%s)", service, cluster, aws.ToString(f.Reason))
	}
	return types.Service{}, fmt.Errorf("service: service %q not found in cluster %q", service, cluster)
}

// preflight checks everything without changing anything, and prepares
// the revision to register.
func (r *run) preflight(ctx context.Context) error {
	svc, err := r.d.describeService(ctx, r.cfg.Cluster, r.cfg.Service)
	if err != nil {
		return err
	}
	if err := checkService(svc, r.cfg.Service); err != nil {
		return err
	}
	if busy := otherInProgress(svc); busy != nil {
		if r.cfg.OnBusy == OnBusyFail {
			return fmt.Errorf("on-busy: service %s already has deployment %s in progress (%s); not deploying (on-busy: fail)",
				r.cfg.Service, aws.ToString(busy.Id), shortARN(aws.ToString(busy.TaskDefinition)))
		}
		r.d.emit(EventInfo, "Service %s already has deployment %s in progress; waiting for it to settle (on-busy: wait, up to %s)",
			r.cfg.Service, aws.ToString(busy.Id), r.cfg.Timeout)
		svc, err = r.waitIdle(ctx)
		if err != nil {
			return err
		}
	}
	r.svc = svc
	r.target = aws.ToString(svc.TaskDefinition)
	r.res.PreviousTaskDefinitionARN = r.target
	r.origDepl = svc.DeploymentConfiguration

	td, err := r.d.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(r.target),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		return fmt.Errorf("describe task definition %s (the rollback target): %w", r.target, err)
	}
	if td.TaskDefinition == nil {
		return fmt.Errorf("describe task definition %s (the rollback target): empty response", r.target)
	}
	if st := td.TaskDefinition.Status; st != "" && st != types.TaskDefinitionStatusActive {
		return fmt.Errorf("service: the running task definition %s is %s, so it could not be rolled back to; register and deploy an ACTIVE revision first", shortARN(r.target), st)
	}
	current := taskdef.RegisterInput(td.TaskDefinition, td.Tags)
	in := taskdef.Clone(current) // current stays as it runs, for the plan's diff
	if r.cfg.TaskDefinition != nil {
		in = taskdef.Clone(r.cfg.TaskDefinition)
	}
	changes := make([]taskdef.Change, 0, len(r.cfg.Images))
	for _, ci := range r.cfg.Images {
		changes = append(changes, taskdef.Change{Container: ci.Container, Image: ci.Image, Input: ci.Input})
	}
	diffs, err := taskdef.SetImages(in, changes)
	if err != nil {
		return err
	}
	if r.cfg.TaskDefinition != nil {
		diffs = imageDiffs(current, in)
	}
	for _, df := range diffs {
		r.res.Images = append(r.res.Images, ImageChange{Container: df.Container, Old: df.Old, New: df.New})
	}
	r.register = in
	if secrets := append(taskdef.MaskValues(current), taskdef.MaskValues(in)...); len(secrets) > 0 {
		r.d.report(Event{Time: r.d.now(), Kind: EventSecrets, Secrets: secrets})
	}

	plan := []string{
		fmt.Sprintf("RegisterTaskDefinition: a new revision of %s", aws.ToString(in.Family)),
	}
	for _, line := range taskdef.PlanDiff(current, in) {
		plan = append(plan, "  "+line)
	}
	plan = append(plan, fmt.Sprintf("UpdateService: %s in %s to the new revision (minimumHealthyPercent %d, maximumPercent %d%s)",
		r.cfg.Service, r.cfg.Cluster, r.cfg.MinimumHealthyPercent, r.maximumPercent(), r.desiredNote()))
	if r.cfg.Wait {
		plan = append(plan, fmt.Sprintf("watch deployment for up to %s; on failure roll back to %s", r.cfg.Timeout, shortARN(r.target)))
	}
	r.res.Plan = plan
	return nil
}

// checkService rejects services ecs-rollout cannot deploy safely.
func checkService(svc types.Service, name string) error {
	if st := aws.ToString(svc.Status); st != "" && st != "ACTIVE" {
		return fmt.Errorf("service: service %q is %s, not ACTIVE", name, st)
	}
	if dc := svc.DeploymentController; dc != nil && dc.Type != "" && dc.Type != types.DeploymentControllerTypeEcs {
		return fmt.Errorf("service: service %q uses the %s deployment controller; ecs-rollout performs ECS rolling updates", name, dc.Type)
	}
	if c := svc.DeploymentConfiguration; c != nil && c.Strategy != "" && c.Strategy != types.DeploymentStrategyRolling {
		return fmt.Errorf("service: service %q uses the %s deployment strategy; ecs-rollout performs rolling updates", name, c.Strategy)
	}
	if aws.ToString(svc.TaskDefinition) == "" {
		return fmt.Errorf("service: service %q has no task definition", name)
	}
	return nil
}

// otherInProgress returns a deployment of the service that has not
// settled yet, or nil when the service is idle.
func otherInProgress(svc types.Service) *types.Deployment {
	for i := range svc.Deployments {
		dep := &svc.Deployments[i]
		if aws.ToString(dep.Status) != "PRIMARY" {
			return dep
		}
	}
	for i := range svc.Deployments {
		dep := &svc.Deployments[i]
		if dep.RolloutState == types.DeploymentRolloutStateInProgress {
			return dep
		}
	}
	return nil
}

// waitIdle waits, up to the timeout, for the service to have one settled
// deployment.
func (r *run) waitIdle(ctx context.Context) (types.Service, error) {
	wctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	var svc types.Service
	err := doPoll(wctx, r.d.poll(r.cfg.PollInterval), func(ctx context.Context) (bool, error) {
		s, err := r.d.describeService(ctx, r.cfg.Cluster, r.cfg.Service)
		if err != nil {
			return false, err
		}
		svc = s
		busy := otherInProgress(s)
		if busy == nil {
			return true, nil
		}
		r.d.emit(EventInfo, "waiting for deployment %s (%s): %d/%d running, %s",
			aws.ToString(busy.Id), shortARN(aws.ToString(busy.TaskDefinition)), busy.RunningCount, busy.DesiredCount, orDash(string(busy.RolloutState)))
		return false, nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return svc, ctx.Err()
		}
		return svc, fmt.Errorf("on-busy: service %s was still busy with another deployment after %s: %w", r.cfg.Service, r.cfg.Timeout, err)
	}
	return svc, checkService(svc, r.cfg.Service)
}

// registerRevision registers the prepared revision.
func (r *run) registerRevision(ctx context.Context) error {
	out, err := r.d.ecs.RegisterTaskDefinition(ctx, r.register)
	if err != nil {
		return err
	}
	if out.TaskDefinition == nil || aws.ToString(out.TaskDefinition.TaskDefinitionArn) == "" {
		return errors.New("the response has no task definition ARN")
	}
	r.newARN = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	r.res.TaskDefinitionARN = r.newARN
	r.d.emit(EventInfo, "Registered %s", r.newARN)
	r.checkpoint("registered")
	return nil
}

func (r *run) maximumPercent() int32 {
	if r.cfg.MaximumPercent == 0 {
		return 200
	}
	return r.cfg.MaximumPercent
}

func (r *run) desiredNote() string {
	if r.cfg.DesiredCount == nil {
		return ""
	}
	return fmt.Sprintf(", desired count %d", *r.cfg.DesiredCount)
}

// deploymentConfig is the service's configuration with our rolling
// percentages: nothing else the service had (circuit breaker, alarms) is
// lost.
func (r *run) deploymentConfig() *types.DeploymentConfiguration {
	c := types.DeploymentConfiguration{}
	if o := r.origDepl; o != nil {
		c.DeploymentCircuitBreaker = o.DeploymentCircuitBreaker
		c.Alarms = alarmsToSend(o.Alarms)
		c.Strategy = o.Strategy
	}
	c.MinimumHealthyPercent = aws.Int32(r.cfg.MinimumHealthyPercent)
	c.MaximumPercent = aws.Int32(r.maximumPercent())
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

// originalConfig is the service's deployment configuration as it was.
func (r *run) originalConfig() *types.DeploymentConfiguration {
	o := r.origDepl
	if o == nil || (o.MinimumHealthyPercent == nil && o.MaximumPercent == nil && o.DeploymentCircuitBreaker == nil && o.Alarms == nil) {
		return nil
	}
	return &types.DeploymentConfiguration{
		DeploymentCircuitBreaker: o.DeploymentCircuitBreaker,
		Alarms:                   alarmsToSend(o.Alarms),
		Strategy:                 o.Strategy,
		MinimumHealthyPercent:    o.MinimumHealthyPercent,
		MaximumPercent:           o.MaximumPercent,
	}
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
		PropagateTags:           r.cfg.PropagateTags,
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
	if id == "" {
		r.d.emit(EventWarning, "could not find the deployment of %s; watching the service's PRIMARY deployment instead", shortARN(r.newARN))
	} else {
		r.d.emit(EventInfo, "Updated service %s: deployment %s of %s", r.cfg.Service, id, shortARN(r.newARN))
	}
	r.checkpoint("updated")
	return true, err
}

// primaryFor returns the ID of the PRIMARY deployment running taskDef.
// Where no PRIMARY names taskDef (some emulators keep a stale
// taskDefinition on a restarted deployment), a PRIMARY whose ID is not in
// before, the deployments that existed before our update, is ours.
func primaryFor(svc types.Service, taskDef string, before map[string]bool) string {
	for _, dep := range svc.Deployments {
		if aws.ToString(dep.Status) == "PRIMARY" && aws.ToString(dep.TaskDefinition) == taskDef {
			return aws.ToString(dep.Id)
		}
	}
	if before == nil {
		return ""
	}
	for _, dep := range svc.Deployments {
		if id := aws.ToString(dep.Id); aws.ToString(dep.Status) == "PRIMARY" && id != "" && !before[id] {
			return id
		}
	}
	return ""
}

// deploymentIDs is the set of the service's deployment IDs.
func deploymentIDs(svc types.Service, extra ...string) map[string]bool {
	ids := map[string]bool{}
	for _, dep := range svc.Deployments {
		ids[aws.ToString(dep.Id)] = true
	}
	for _, id := range extra {
		if id != "" {
			ids[id] = true
		}
	}
	return ids
}

// imageDiffs compares the images of two revisions container by container.
func imageDiffs(old, cur *ecs.RegisterTaskDefinitionInput) []taskdef.Diff {
	before := map[string]string{}
	for _, c := range old.ContainerDefinitions {
		before[aws.ToString(c.Name)] = aws.ToString(c.Image)
	}
	var out []taskdef.Diff
	for _, c := range cur.ContainerDefinitions {
		name, img := aws.ToString(c.Name), aws.ToString(c.Image)
		if before[name] != img {
			out = append(out, taskdef.Diff{Container: name, Old: before[name], New: img})
		}
	}
	return out
}

// shortARN turns a task definition ARN into family:revision.
func shortARN(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 && strings.HasPrefix(arn, "arn:") {
		return arn[i+1:]
	}
	return arn
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == ':' || r == '@' || r == '+' || r == '=' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
