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
			return fieldError("OnBusy", "service %s already has deployment %s in progress (%s); not deploying (OnBusy: fail)",
				r.cfg.Service, aws.ToString(busy.Id), taskdef.ShortRevision(aws.ToString(busy.TaskDefinition)))
		}
		r.d.emit(EventInfo, "Service %s already has deployment %s in progress; waiting for it to settle (on-busy: wait, up to %s)",
			r.cfg.Service, aws.ToString(busy.Id), r.cfg.Timeout)
		svc, err = r.waitIdle(ctx)
		if err != nil {
			return err
		}
	}
	r.svc = svc
	if err := checkEarlyMinimum(svc.DeploymentConfiguration, r.cfg.MinimumHealthyPercent, r.cfg.Service); err != nil { // earlysuccess.go
		return err
	}
	r.strategy = chooseStrategy(r, svc)
	r.res.Strategy = r.strategy.name()
	if err := r.checkExec(); err != nil { // exec.go
		return err
	}
	if err := r.strategy.preflight(ctx); err != nil {
		return err
	}
	if w, ok := r.strategy.(idleWaiter); ok {
		// Someone else's deployment the strategy waited for changed what
		// runs: the rollback target and the revision to copy are read
		// after it.
		if waited, err := w.waitIdle(ctx); err != nil {
			return err
		} else if waited {
			if svc, err = r.d.describeService(ctx, r.cfg.Cluster, r.cfg.Service); err != nil {
				return err
			}
			r.svc = svc
		}
	}
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
		return fieldError("Service", "the running task definition %s is %s, so it could not be rolled back to; register and deploy an ACTIVE revision first", taskdef.ShortRevision(r.target), st)
	}
	current := taskdef.RegisterInput(td.TaskDefinition, td.Tags)
	var in *ecs.RegisterTaskDefinitionInput
	var diffs []taskdef.Diff
	if r.cfg.Revision != "" {
		if in, err = r.promoted(ctx); err != nil {
			return err
		}
		diffs = imageDiffs(current, in)
	} else if in, _, diffs, err = r.d.newRevision(ctx, r.cfg, current); err != nil { // revision.go
		return err
	}
	for _, df := range diffs {
		r.res.Images = append(r.res.Images, ImageChange{Container: df.Container, Old: df.Old, New: df.New})
	}
	r.register = in
	if r.cfg.Revision == "" {
		r.res.Rendered = in
	}
	if p, ok := r.strategy.(preflighter); ok {
		if err := p.preflightRevision(ctx, in); err != nil {
			return err
		}
	}
	if len(r.cfg.Alarms) > 0 {
		r.alarms = newAlarmWatch(r.d, r.cfg.Alarms)
		if err := r.alarms.preflight(ctx); err != nil {
			return err
		}
	}
	if secrets := append(taskdef.MaskValues(current), taskdef.MaskValues(in)...); len(secrets) > 0 {
		r.d.report(Event{Time: r.d.now(), Kind: EventSecrets, Secrets: secrets})
	}
	if err := r.prepareLaunch(in); err != nil { // volumes.go
		return err
	}

	// The revision is known and nothing is registered yet: verify it
	// (verify.go).
	if err := r.verify(ctx, in); err != nil {
		return err
	}
	plan := verifyPlan(r.res.Verification)
	if r.res.Promoted {
		plan = append(plan, fmt.Sprintf("no RegisterTaskDefinition: promote the existing revision %s", taskdef.ShortRevision(r.newARN)))
	} else {
		plan = append(plan, fmt.Sprintf("RegisterTaskDefinition: a new revision of %s", aws.ToString(in.Family)))
	}
	for _, line := range taskdef.PlanDiff(current, in) {
		plan = append(plan, "  "+line)
	}
	if r.cfg.PreDeploy != nil {
		plan = append(plan, r.preDeployPlan())
	}
	plan = append(plan, r.updatePlan()...)
	if r.cfg.Wait {
		if r.cfg.BakeTime > 0 {
			plan = append(plan, fmt.Sprintf("after it completes, bake for %s: a failed task of the new revision rolls back (with a new deployment of the previous revision)", r.cfg.BakeTime))
		}
		if len(r.cfg.Alarms) > 0 {
			plan = append(plan, fmt.Sprintf("watch %d CloudWatch %s (all OK now) from the update to the end: ALARM rolls back", len(r.cfg.Alarms), plural(len(r.cfg.Alarms), "alarm", "alarms")))
		}
	}
	if r.cfg.DryRun && r.cfg.KeepRevisions > 0 {
		plan = append(plan, r.keepRevisionsPlan(ctx)) // revisions.go
	}
	r.res.Plan = plan
	return nil
}

// checkService rejects services ecs-rollout cannot deploy safely.
func checkService(svc types.Service, name string) error {
	if st := aws.ToString(svc.Status); st != "" && st != "ACTIVE" {
		return fieldError("Service", "service %q is %s, not ACTIVE", name, st)
	}
	if dc := svc.DeploymentController; dc != nil && dc.Type != "" && dc.Type != types.DeploymentControllerTypeEcs && dc.Type != types.DeploymentControllerTypeCodeDeploy {
		return fieldError("Service", "service %q uses the %s deployment controller; ecs-rollout deploys services of the ECS and CODE_DEPLOY controllers", name, dc.Type)
	}
	if aws.ToString(svc.TaskDefinition) == "" {
		return fieldError("Service", "service %q has no task definition", name)
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
			aws.ToString(busy.Id), taskdef.ShortRevision(aws.ToString(busy.TaskDefinition)), busy.RunningCount, busy.DesiredCount, orDash(string(busy.RolloutState)))
		return false, nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return svc, ctx.Err()
		}
		return svc, fieldError("OnBusy", "service %s was still busy with another deployment after %s: %w", r.cfg.Service, r.cfg.Timeout, err)
	}
	return svc, checkService(svc, r.cfg.Service)
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

// updatePlan is the dry run's account of the update and the watch: the
// strategy with its steps, bake time and hooks, what is sent, what is
// watched and how a failure is rolled back.
func (r *run) updatePlan() []string {
	if p, ok := r.strategy.(preflighter); ok {
		return p.updatePlan()
	}
	minHealthy, maxPercent := r.percentages()
	var sent []string
	if minHealthy != nil {
		sent = append(sent, fmt.Sprintf("minimumHealthyPercent %d", *minHealthy))
	}
	if maxPercent != nil {
		sent = append(sent, fmt.Sprintf("maximumPercent %d", *maxPercent))
	}
	strategy := strategyOf(r.svc)
	if len(sent) == 0 {
		// No percentage input: no deployment configuration is sent.
		sent = append(sent, fmt.Sprintf("the service's %s settings unchanged", strategy))
	}
	if d := r.desiredNote(); d != "" {
		sent = append(sent, strings.TrimPrefix(d, ", "))
	}
	if e := r.cfg.EnableExecuteCommand; e != nil {
		sent = append(sent, fmt.Sprintf("enableExecuteCommand %t (a rollback restores %t)", *e, r.svc.EnableExecuteCommand))
	}
	if v := volumePlan(r.cfg.ServiceVolume); v != "" {
		sent = append(sent, v)
	}
	which := "new"
	if r.res.Promoted {
		which = "promoted"
	}
	plan := []string{fmt.Sprintf("UpdateService: %s in %s to the %s revision (%s)", r.cfg.Service, r.cfg.Cluster, which, strings.Join(sent, ", "))}
	for _, line := range strategyPlan(r.svc.DeploymentConfiguration) {
		plan = append(plan, "  "+line)
	}
	if line := breakerPlan(r.svc, r.cfg.FailedTasksThreshold); line != "" { // breaker.go
		plan = append(plan, "  "+line)
	}
	desired := r.svc.DesiredCount
	if r.cfg.DesiredCount != nil {
		desired = *r.cfg.DesiredCount
	}
	if line := earlySuccessPlan(r.svc.DeploymentConfiguration, desired, r.cfg.BakeTime > 0); line != "" {
		plan = append(plan, "  "+line)
	}
	if !r.cfg.Wait {
		return plan
	}
	return append(plan, r.strategy.planWatch())
}

// promoted looks up the revision to promote (Config.Revision): it must
// exist and be ACTIVE. It becomes the revision the run deploys; nothing
// will be registered.
func (r *run) promoted(ctx context.Context) (*ecs.RegisterTaskDefinitionInput, error) {
	out, err := r.d.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(r.cfg.Revision),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	var ae smithy.APIError
	switch {
	case errors.As(err, &ae) && ae.ErrorCode() == "ClientException":
		return nil, fieldError("Revision", "task definition %s does not exist (%s)", r.cfg.Revision, ae.ErrorMessage())
	case err != nil:
		return nil, fieldError("Revision", "describe task definition %s: %w", r.cfg.Revision, err)
	case out.TaskDefinition == nil:
		return nil, fieldError("Revision", "describe task definition %s: empty response", r.cfg.Revision)
	}
	td := out.TaskDefinition
	arn := aws.ToString(td.TaskDefinitionArn)
	if td.Status != types.TaskDefinitionStatusActive {
		return nil, fieldError("Revision", "%s is %s; only an ACTIVE revision can be deployed", taskdef.ShortRevision(arn), td.Status)
	}
	r.newARN = arn
	r.res.TaskDefinitionARN = arn
	r.res.Promoted = true
	switch fam, was := aws.ToString(td.Family), taskdef.Family(r.target); {
	case arn == r.target:
		r.d.emit(EventInfo, "Promoting %s, the revision the service already runs", taskdef.ShortRevision(arn))
	case fam != was:
		r.d.emit(EventInfo, "Promoting %s: its family %s differs from the service's current family %s (%s)", taskdef.ShortRevision(arn), fam, was, taskdef.ShortRevision(r.target))
	default:
		r.d.emit(EventInfo, "Promoting %s (the service runs %s)", taskdef.ShortRevision(arn), taskdef.ShortRevision(r.target))
	}
	return taskdef.RegisterInput(td, out.Tags), nil
}
