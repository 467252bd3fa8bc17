package deployer

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// newRevision makes the RegisterTaskDefinition input of the revision to
// register: a copy of the task-definition file (Config.TaskDefinition),
// of Config.BaseRevision, or of current (the service's running revision;
// nil for register-only), with Config.Images and Config.Render applied
// and nothing else changed. base is what it was made from (for the
// plan's diff); diffs are the image changes against current, or against
// base when current is nil. It calls ECS only to read BaseRevision.
func (d *Deployer) newRevision(ctx context.Context, cfg Config, current *ecs.RegisterTaskDefinitionInput) (in, base *ecs.RegisterTaskDefinitionInput, diffs []taskdef.Diff, err error) {
	base = current
	switch {
	case cfg.TaskDefinition != nil:
		base = cfg.TaskDefinition
	case cfg.BaseRevision != "":
		if base, err = d.baseRevision(ctx, cfg.BaseRevision); err != nil {
			return nil, nil, nil, err
		}
	}
	if base == nil {
		return nil, nil, nil, errors.New("task-definition: no revision to start from: give task-definition or task-definition-family")
	}
	in = taskdef.Clone(base) // base stays as it was, for the plan's diff
	changes := make([]taskdef.Change, 0, len(cfg.Images))
	for _, ci := range cfg.Images {
		changes = append(changes, taskdef.Change{Container: ci.Container, Image: ci.Image, Input: ci.Input})
	}
	if diffs, err = taskdef.SetImages(in, changes); err != nil {
		return nil, nil, nil, err
	}
	if cfg.Render != nil {
		if err := taskdef.ApplyRender(in, *cfg.Render); err != nil {
			return nil, nil, nil, err
		}
	}
	if current != nil && base != current {
		diffs = imageDiffs(current, in)
	}
	return in, base, diffs, nil
}

// baseRevision reads the revision to start from (task-definition-family,
// -revision or -arn): a family names its latest ACTIVE revision, as
// DescribeTaskDefinition resolves it. It must be ACTIVE.
func (d *Deployer) baseRevision(ctx context.Context, ref string) (*ecs.RegisterTaskDefinitionInput, error) {
	input := "task-definition-family"
	if _, ok := taskdef.Revision(ref); ok && len(ref) > 4 && ref[:4] == "arn:" {
		input = "task-definition-arn"
	}
	out, err := d.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(ref),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	var ae smithy.APIError
	switch {
	case errors.As(err, &ae) && ae.ErrorCode() == "ClientException":
		return nil, fmt.Errorf("%s: task definition %s does not exist, or has no ACTIVE revision (%s)", input, ref, ae.ErrorMessage())
	case err != nil:
		return nil, fmt.Errorf("%s: describe task definition %s: %w", input, ref, err)
	case out.TaskDefinition == nil:
		return nil, fmt.Errorf("%s: describe task definition %s: empty response", input, ref)
	}
	td := out.TaskDefinition
	if td.Status != types.TaskDefinitionStatusActive {
		return nil, fmt.Errorf("%s: %s is %s; start from an ACTIVE revision", input, taskdef.ShortRevision(aws.ToString(td.TaskDefinitionArn)), td.Status)
	}
	d.emit(EventInfo, "Starting from %s", taskdef.ShortRevision(aws.ToString(td.TaskDefinitionArn)))
	return taskdef.RegisterInput(td, out.Tags), nil
}

// registerOnly is Deploy with Config.RegisterOnly: the revision is made
// (from the task-definition file or BaseRevision, with the images and the
// render inputs) and registered; no service is read or changed. A dry run
// shows the plan and registers nothing.
func (d *Deployer) registerOnly(ctx context.Context, cfg Config) (Result, error) {
	res := Result{Cluster: cfg.Cluster, StartedAt: d.now()}
	end := func(st Status, reason string, err error) (Result, error) {
		res.Status, res.Reason, res.FinishedAt = st, reason, d.now()
		if err == nil && !st.OK() {
			err = errors.New(reason)
		}
		return res, err
	}
	if err := cfg.Validate(); err != nil {
		return end(StatusFailed, err.Error(), fmt.Errorf("%w: %w", ErrPreflight, err))
	}
	d.emit(EventPhase, "Preflight: register a revision, deploy nothing (no service)")
	in, base, diffs, err := d.newRevision(ctx, cfg, nil)
	if err != nil {
		if ctx.Err() != nil {
			return end(StatusCancelled, fmt.Sprintf("cancelled before any change: %v", context.Cause(ctx)), nil)
		}
		return end(StatusFailed, err.Error(), fmt.Errorf("%w: %w", ErrPreflight, err))
	}
	res.Rendered = in
	for _, df := range diffs {
		res.Images = append(res.Images, ImageChange{Container: df.Container, Old: df.Old, New: df.New})
	}
	if secrets := append(taskdef.MaskValues(base), taskdef.MaskValues(in)...); len(secrets) > 0 {
		d.report(Event{Time: d.now(), Kind: EventSecrets, Secrets: secrets})
	}
	// A one-off task (PreDeployRunTask) runs from the revision once it is
	// registered, with no service: checked now, before anything changes.
	var task *run
	if cfg.PreDeploy != nil {
		task = newRun(d, cfg, res.StartedAt)
		task.register = in
		if err := task.preparePreDeploy(in); err != nil {
			return end(StatusFailed, err.Error(), fmt.Errorf("%w: %w", ErrPreflight, err))
		}
	}
	// Verified before it is registered (verify.go).
	v, err := d.verifyRevision(ctx, cfg, in, "")
	res.Verification = v
	if err != nil {
		if ctx.Err() != nil {
			return end(StatusCancelled, fmt.Sprintf("cancelled before any change: %v", context.Cause(ctx)), nil)
		}
		return end(StatusFailed, err.Error(), fmt.Errorf("%w: %w", ErrPreflight, err))
	}
	res.Plan = append(verifyPlan(v), fmt.Sprintf("RegisterTaskDefinition: a new revision of %s", aws.ToString(in.Family)))
	for _, line := range taskdef.PlanDiff(base, in) {
		res.Plan = append(res.Plan, "  "+line)
	}
	if task != nil {
		res.Plan = append(res.Plan, task.preDeployPlan())
	}
	res.Plan = append(res.Plan, "no service given: nothing is deployed (promote the revision later with revision)")
	if cfg.DryRun {
		for _, line := range res.Plan {
			d.emit(EventInfo, "%s", line)
		}
		return end(StatusDryRun, fmt.Sprintf("dry run: would register a new revision of %s and deploy nothing; nothing changed", aws.ToString(in.Family)), nil)
	}
	if ctx.Err() != nil {
		return end(StatusCancelled, fmt.Sprintf("cancelled before any change: %v", context.Cause(ctx)), nil)
	}
	d.emit(EventPhase, "Register")
	td, err := d.registerTaskDefinition(ctx, in) // register.go: once, also when retried
	if err != nil {
		return end(StatusFailed, fmt.Sprintf("register task definition: %v", err), nil)
	}
	res.TaskDefinitionARN = aws.ToString(td.TaskDefinitionArn)
	d.emit(EventInfo, "Registered %s", res.TaskDefinitionARN)
	short := taskdef.ShortRevision(res.TaskDefinitionARN)
	if task == nil {
		return end(StatusRegistered, fmt.Sprintf("registered %s; no service given, so nothing was deployed", short), nil)
	}
	task.newARN, task.res.TaskDefinitionARN = res.TaskDefinitionARN, res.TaskDefinitionARN
	ok := task.preDeployPhase(ctx)
	t := task.res
	res.PreDeployTaskARN, res.PreDeployMode, res.Timeline, res.Causes, res.Logs = t.PreDeployTaskARN, cfg.PreDeploy.Mode, t.Timeline, t.Causes, t.Logs
	switch {
	case !ok:
		return end(t.Status, t.Reason, nil)
	case cfg.PreDeploy.Detach:
		return end(StatusRegistered, fmt.Sprintf("registered %s and started one-off task %s (not waited for); no service given, so nothing was deployed", short, taskID(t.PreDeployTaskARN)), nil)
	default:
		return end(StatusRegistered, fmt.Sprintf("registered %s; one-off task %s exited 0; no service given, so nothing was deployed", short, taskID(t.PreDeployTaskARN)), nil)
	}
}

// validateRegisterOnly adds the problems of a register-only Config: it
// needs a revision to start from, and nothing that acts on a service.
func (c Config) validateRegisterOnly(bad func(input, format string, args ...any)) {
	if c.TaskDefinition == nil && c.BaseRevision == "" {
		bad("task-definition", "register-only (no service) needs a task-definition file or task-definition-family to register")
	}
	if c.Service != "" || len(c.Services) > 0 {
		bad("service", "is set, but the Config says register only")
	}
	for _, f := range []struct {
		set  bool
		name string
	}{{c.Revision != "", "revision"}, {c.PreDeploy != nil && c.PreDeploy.Mode != PreDeployRunTask, "pre-deploy-command"}, {c.Resume != "", "resume"}} {
		if f.set {
			bad(f.name, "needs service: without service (or services) the step only registers a revision")
		}
	}
}
