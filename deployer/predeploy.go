package deployer

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// DefaultPreDeployTimeout is how long the pre-deploy task may take when
// PreDeploy.Timeout is zero.
const DefaultPreDeployTimeout = 10 * time.Minute

// PreDeploy is the one-off task Deploy runs from the new revision after it
// is registered and before the service changes (database migrations): in
// the service's cluster, with the service's network configuration, launch
// type or capacity provider strategy and platform version. Only exit code
// 0 of Container lets the deployment go on; anything else leaves the
// service untouched.
type PreDeploy struct {
	// Command replaces the container's command (no shell).
	Command []string
	// Container is the container whose command is replaced; "" means the
	// container whose image changes, or the task definition's only one.
	Container string
	// Timeout bounds the task from RunTask to STOPPED; zero means
	// DefaultPreDeployTimeout. The task is stopped when it passes.
	Timeout time.Duration
	// StartedBy is the task's startedBy; "" means a unique
	// ecs-rollout/pre-deploy/<random> one.
	StartedBy string
	// Tags are put on the task (RunTask tags).
	Tags []types.Tag
	// Volume configures the task definition's volume configured at launch
	// (an Amazon EBS volume); nil means the service's own volume
	// configuration, when the task definition has such a volume. Its Name
	// may be empty: the task definition's volume configured at launch.
	Volume *types.TaskVolumeConfiguration
}

// ParseCommand reads the pre-deploy-command input as the command input
// is read (taskdef.SplitCommand): a JSON array of strings
// (`["bin/rails", "db:migrate"]`), or a string split on spaces where
// quoted arguments are kept whole (`sh -c 'bin/migrate && bin/seed'`). No
// shell is involved.
func ParseCommand(s string) ([]string, error) { return taskdef.SplitCommand(s) }

// preDeployContainer picks the container whose command the pre-deploy
// task replaces: the one asked for, else the one whose image changes,
// else the only one. The error names the input to set.
func preDeployContainer(in *ecs.RegisterTaskDefinitionInput, want string, images []ImageChange) (string, error) {
	var names []string
	for _, cd := range in.ContainerDefinitions {
		names = append(names, aws.ToString(cd.Name))
	}
	switch {
	case want != "":
		if !slices.Contains(names, want) {
			return "", fmt.Errorf("pre-deploy-container: task definition %s has no container %q (it has %s)", aws.ToString(in.Family), want, strings.Join(names, ", "))
		}
		return want, nil
	case len(images) == 1:
		return images[0].Container, nil
	case len(names) == 1:
		return names[0], nil
	case len(images) > 1:
		changed := make([]string, len(images))
		for i, c := range images {
			changed[i] = c.Container
		}
		return "", fmt.Errorf("pre-deploy-container: the images of %s change; say which container runs pre-deploy-command", strings.Join(changed, ", "))
	default:
		return "", fmt.Errorf("pre-deploy-container: task definition %s has %d containers (%s) and none changes its image; say which one runs pre-deploy-command", aws.ToString(in.Family), len(names), strings.Join(names, ", "))
	}
}

// preDeployStartedBy is the startedBy of one run's pre-deploy task:
// unique, so a task started by a RunTask whose answer was lost can be
// found (ListTasks startedBy), and within ECS's characters and length.
func preDeployStartedBy() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "ecs-rollout/pre-deploy/" + hex.EncodeToString(b)
}

// preDeployTaskInput is the RunTask request of the pre-deploy task: the
// new revision, in the service's cluster, placed and networked as the
// service's own tasks are (placement constraints and strategy too, where
// ECS takes them: not on Fargate), with volume as its volume configured
// at launch (nil: none).
func preDeployTaskInput(svc types.Service, cluster, taskDef, container string, pd PreDeploy, volume *types.TaskVolumeConfiguration, startedBy string) *ecs.RunTaskInput {
	in := &ecs.RunTaskInput{
		Cluster:              aws.String(cluster),
		TaskDefinition:       aws.String(taskDef),
		Count:                aws.Int32(1),
		StartedBy:            aws.String(startedBy),
		NetworkConfiguration: svc.NetworkConfiguration,
		PlatformVersion:      svc.PlatformVersion,
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{
			{Name: aws.String(container), Command: pd.Command},
		}},
		Tags: pd.Tags,
	}
	if volume != nil {
		in.VolumeConfigurations = []types.TaskVolumeConfiguration{*volume}
	}
	fargate := svc.LaunchType == types.LaunchTypeFargate
	if len(svc.CapacityProviderStrategy) > 0 {
		in.CapacityProviderStrategy = svc.CapacityProviderStrategy
		fargate = true
		for _, cp := range svc.CapacityProviderStrategy {
			fargate = fargate && strings.HasPrefix(aws.ToString(cp.CapacityProvider), "FARGATE")
		}
	} else {
		in.LaunchType = svc.LaunchType
	}
	if in.LaunchType == types.LaunchTypeEc2 || in.LaunchType == types.LaunchTypeExternal {
		in.PlatformVersion = nil // only Fargate takes one
	}
	// "Task placement constraints aren't supported for tasks run on AWS
	// Fargate" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PlacementConstraint.html).
	if !fargate {
		in.PlacementConstraints = svc.PlacementConstraints
		in.PlacementStrategy = svc.PlacementStrategy
	}
	return in
}

// launchVolume is the name of the task definition's volume configured at
// launch, "" when it has none (ECS allows one).
func launchVolume(in *ecs.RegisterTaskDefinitionInput) string {
	for _, v := range in.Volumes {
		if aws.ToBool(v.ConfiguredAtLaunch) {
			return aws.ToString(v.Name)
		}
	}
	return ""
}

// preDeployVolume is the volume configuration the pre-deploy task needs
// when its task definition has a volume configured at launch: the one
// asked for (PreDeploy.Volume), else the one the service's new
// deployment gets (service, from Config.ServiceVolume or the service's
// current deployment), made a task's. nil when the task definition has
// no such volume, or nothing configures it (ECS then decides). The error
// names the input when PreDeploy.Volume does not fit.
func preDeployVolume(in *ecs.RegisterTaskDefinitionInput, pd PreDeploy, service []types.ServiceVolumeConfiguration) (*types.TaskVolumeConfiguration, error) {
	name := launchVolume(in)
	if v := pd.Volume; v != nil {
		switch {
		case name == "":
			return nil, fmt.Errorf("pre-deploy-managed-ebs-volume: task definition %s has no volume configured at launch (configuredAtLaunch)", aws.ToString(in.Family))
		case aws.ToString(v.Name) != "" && aws.ToString(v.Name) != name:
			return nil, fmt.Errorf("pre-deploy-managed-ebs-volume-name: task definition %s has no volume %q configured at launch (its volume configured at launch is %q)", aws.ToString(in.Family), aws.ToString(v.Name), name)
		}
		out := *v
		out.Name = aws.String(name)
		return &out, nil
	}
	if name == "" {
		return nil, nil
	}
	for _, sv := range service {
		if aws.ToString(sv.Name) == name && sv.ManagedEBSVolume != nil {
			return &types.TaskVolumeConfiguration{Name: aws.String(name), ManagedEBSVolume: taskEBSVolume(*sv.ManagedEBSVolume)}, nil
		}
	}
	return nil, nil
}

// taskEBSVolume is a service's managed EBS volume configuration as a
// standalone task's: the same members (the task's terminationPolicy is
// left to ECS's default, delete on stop).
func taskEBSVolume(v types.ServiceManagedEBSVolumeConfiguration) *types.TaskManagedEBSVolumeConfiguration {
	return &types.TaskManagedEBSVolumeConfiguration{
		RoleArn: v.RoleArn, Encrypted: v.Encrypted, FilesystemType: v.FilesystemType, Iops: v.Iops, KmsKeyId: v.KmsKeyId,
		SizeInGiB: v.SizeInGiB, SnapshotId: v.SnapshotId, TagSpecifications: v.TagSpecifications, Throughput: v.Throughput,
		VolumeInitializationRate: v.VolumeInitializationRate, VolumeType: v.VolumeType,
	}
}

// taskAPI is the part of ECS the pre-deploy task needs.
type taskAPI interface {
	RunTask(ctx context.Context, in *ecs.RunTaskInput, optFns ...func(*ecs.Options)) (*ecs.RunTaskOutput, error)
	StopTask(ctx context.Context, in *ecs.StopTaskInput, optFns ...func(*ecs.Options)) (*ecs.StopTaskOutput, error)
	DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	ListTasks(ctx context.Context, in *ecs.ListTasksInput, optFns ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
}

var _ taskAPI = (*ecs.Client)(nil)

// oneOffEnd is how a one-off task ended.
type oneOffEnd int

const (
	oneOffSucceeded     oneOffEnd = iota // the container exited 0
	oneOffExited                         // the container exited non-zero
	oneOffFailedToStart                  // RunTask refused, or the task never started
	oneOffStopped                        // stopped without the container's exit code
	oneOffTimedOut                       // the timeout passed; we stopped it
	oneOffCancelled                      // the run was cancelled; we stopped it
	oneOffBlind                          // it could not be watched; we stopped it
)

// oneOff is the outcome of a one-off task.
type oneOff struct {
	end    oneOffEnd
	arn    string     // "" when no task was started
	task   types.Task // the last view of it
	exit   *int32     // the container's exit code
	reason string     // why it failed, one sentence without the service part
	// unstopped: we gave up on the task and could not stop it, so it may
	// still run; the post step is left to stop it.
	unstopped bool
}

// oneOffRun runs one task and watches it to STOPPED.
type oneOffRun struct {
	api       taskAPI
	emit      func(kind EventKind, format string, args ...any)
	poll      backoffFactory
	in        *ecs.RunTaskInput
	container string
	timeout   time.Duration
	onStarted func(arn string) // called once RunTask started the task
	// ownedBy: in.StartedBy is unique to this run, so any task listed
	// with it is ours; otherwise (a startedBy the user chose) a listed
	// task is ours only if it runs our revision with our command.
	ownedBy bool
}

// run starts the task and watches it until it stops, the timeout passes
// or ctx is cancelled; in the last two cases (and when it cannot be
// watched) it stops the task before returning.
func (o *oneOffRun) run(ctx context.Context) oneOff {
	out, err := o.api.RunTask(ctx, o.in)
	if err != nil {
		res := oneOff{end: oneOffFailedToStart, reason: fmt.Sprintf("pre-deploy task could not be started: %v", err)}
		if ctx.Err() != nil {
			res.end, res.reason = oneOffCancelled, "cancelled while starting the pre-deploy task"
		}
		// The call may have started a task before it failed: find and stop it.
		if arn := o.findLost(ctx); arn != "" {
			res.arn = arn
			if _, ok := o.stop(ctx, arn, "ecs-rollout: the RunTask call that started this task failed"); ok {
				res.reason += "; a task it started anyway (" + taskID(arn) + ") was stopped"
			} else {
				res.unstopped = true
				res.reason += "; a task it started anyway (" + taskID(arn) + ") could not be stopped, see the warning"
			}
		}
		return res
	}
	if len(out.Tasks) == 0 {
		why := "ECS started no task"
		for _, f := range out.Failures {
			why = strings.TrimSuffix(strings.Join(nonEmpty(aws.ToString(f.Reason), aws.ToString(f.Detail), aws.ToString(f.Arn)), ": "), ".")
			break
		}
		return oneOff{end: oneOffFailedToStart, reason: "pre-deploy task could not be started: " + why}
	}
	t := out.Tasks[0]
	res := oneOff{arn: aws.ToString(t.TaskArn), task: t}
	if o.onStarted != nil {
		o.onStarted(res.arn)
	}
	o.emit(EventInfo, "Started pre-deploy task %s from %s: %s in container %s (timeout %s)",
		taskID(res.arn), taskdef.ShortRevision(aws.ToString(o.in.TaskDefinition)), strings.Join(o.command(), " "), o.container, o.timeout)

	wctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	last := aws.ToString(t.LastStatus)
	stopAsked := false
	var watchErr error
	err = doPoll(wctx, o.poll, func(ctx context.Context) (bool, error) {
		d, err := o.api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: o.in.Cluster, Tasks: []string{res.arn}})
		if err != nil {
			watchErr = err
			return false, err
		}
		if len(d.Tasks) == 0 {
			watchErr = fmt.Errorf("ECS does not describe it (%s)", failureReasons(d.Failures))
			return false, watchErr
		}
		watchErr = nil
		res.task = d.Tasks[0]
		if st := aws.ToString(res.task.LastStatus); st != last {
			last = st
			o.emit(EventInfo, "Pre-deploy task %s: %s", taskID(res.arn), st)
		}
		if last == "STOPPED" {
			return true, nil
		}
		c, ok := containerNamed(res.task, o.container)
		// ECS stops the task once an essential container exits; the task
		// may take minutes to deprovision (ENI and volume detachment),
		// but the command's exit code 0 is already the verdict.
		if ok && c.ExitCode != nil && *c.ExitCode == 0 && aws.ToString(res.task.DesiredStatus) == "STOPPED" {
			return true, nil
		}
		// A non-essential container that finished leaves the rest running
		// (ECS is not stopping the task on its own).
		if ok && c.ExitCode != nil && !stopAsked && aws.ToString(res.task.DesiredStatus) == "RUNNING" {
			stopAsked = true
			_, _ = o.stop(ctx, res.arn, fmt.Sprintf("ecs-rollout: pre-deploy container %s exited with code %d", o.container, *c.ExitCode))
		}
		return false, nil
	})
	if c, ok := containerNamed(res.task, o.container); ok {
		res.exit = c.ExitCode
	}
	switch {
	case err == nil || (stopAsked && res.exit != nil):
		return o.judge(res)
	case ctx.Err() != nil:
		o.stopAndSay(ctx, &res, oneOffCancelled, "ecs-rollout: the deploy was cancelled",
			fmt.Sprintf("cancelled while pre-deploy task %s was %s; stopped it", taskID(res.arn), strings.ToLower(last)))
	case wctx.Err() != nil:
		why := fmt.Sprintf("pre-deploy task %s did not finish within pre-deploy-timeout (%s); stopped it", taskID(res.arn), o.timeout)
		if watchErr != nil {
			why += fmt.Sprintf(" (the last status check failed: %v)", watchErr)
		}
		o.stopAndSay(ctx, &res, oneOffTimedOut, fmt.Sprintf("ecs-rollout: pre-deploy-timeout (%s) passed", o.timeout), why)
	default:
		o.stopAndSay(ctx, &res, oneOffBlind, "ecs-rollout: the pre-deploy task could not be watched",
			fmt.Sprintf("could not watch pre-deploy task %s: %v; stopped it", taskID(res.arn), err))
	}
	return res
}

// judge reads the stopped task's outcome.
func (o *oneOffRun) judge(res oneOff) oneOff {
	t := res.task
	stop := strings.TrimSuffix(strings.Join(nonEmpty(string(t.StopCode), aws.ToString(t.StoppedReason)), ": "), ".")
	c, _ := containerNamed(t, o.container)
	switch {
	case res.exit != nil && *res.exit == 0:
		res.end = oneOffSucceeded
	case res.exit != nil:
		res.end = oneOffExited
		res.reason = fmt.Sprintf("pre-deploy task exited with code %d (%s)", *res.exit, stop)
		if r := aws.ToString(c.Reason); r != "" {
			res.reason = fmt.Sprintf("pre-deploy task exited with code %d: %s (%s)", *res.exit, r, stop)
		}
	case t.StopCode == types.TaskStopCodeTaskFailedToStart || t.StartedAt == nil:
		res.end = oneOffFailedToStart
		res.reason = "pre-deploy task failed to start: " + cmp.Or(aws.ToString(c.Reason), aws.ToString(t.StoppedReason), string(t.StopCode))
	default:
		res.end = oneOffStopped
		res.reason = fmt.Sprintf("pre-deploy task stopped before container %s exited (%s)", o.container, stop)
	}
	return res
}

// stop asks ECS to stop the task, on a fresh context when ctx is done,
// and returns the task as StopTask describes it (ok false when it failed:
// the warning then gives the command to stop it by hand).
func (o *oneOffRun) stop(ctx context.Context, arn, reason string) (t types.Task, ok bool) {
	ctx, cancel := freshContext(ctx)
	defer cancel()
	out, err := o.api.StopTask(ctx, &ecs.StopTaskInput{Cluster: o.in.Cluster, Task: aws.String(arn), Reason: aws.String(reason)})
	if err != nil {
		o.emit(EventWarning, "could not stop pre-deploy task %s: %v; stop it by hand: aws ecs stop-task --cluster %s --task %s",
			taskID(arn), err, shellQuote(aws.ToString(o.in.Cluster)), arn)
		return types.Task{}, false
	}
	o.emit(EventInfo, "Stopped pre-deploy task %s (%s)", taskID(arn), strings.TrimPrefix(reason, "ecs-rollout: "))
	if out.Task == nil {
		return types.Task{}, false
	}
	return *out.Task, true
}

// stopAndSay stops the task and records why the run gave up on it.
func (o *oneOffRun) stopAndSay(ctx context.Context, res *oneOff, end oneOffEnd, stopReason, why string) {
	res.end, res.reason = end, why
	t, ok := o.stop(ctx, res.arn, stopReason)
	if !ok {
		res.unstopped = true
		res.reason += "; it could not be stopped, see the warning"
		return
	}
	res.task = t
}

// findLost looks for a task of ours that a failed RunTask started anyway.
func (o *oneOffRun) findLost(ctx context.Context) string {
	ctx, cancel := freshContext(ctx)
	defer cancel()
	for _, status := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusPending} {
		out, err := o.api.ListTasks(ctx, &ecs.ListTasksInput{Cluster: o.in.Cluster, StartedBy: o.in.StartedBy, DesiredStatus: status})
		if err != nil || len(out.TaskArns) == 0 {
			continue
		}
		if o.ownedBy {
			return out.TaskArns[0]
		}
		d, err := o.api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: o.in.Cluster, Tasks: out.TaskArns[:min(len(out.TaskArns), 100)]})
		if err != nil {
			continue
		}
		for _, t := range d.Tasks {
			if aws.ToString(t.TaskDefinitionArn) == aws.ToString(o.in.TaskDefinition) && o.sameCommand(t.Overrides) {
				return aws.ToString(t.TaskArn)
			}
		}
	}
	return ""
}

// sameCommand reports whether a task's overrides run our command in our
// container.
func (o *oneOffRun) sameCommand(ov *types.TaskOverride) bool {
	if ov == nil {
		return false
	}
	for _, co := range ov.ContainerOverrides {
		if aws.ToString(co.Name) == o.container {
			return slices.Equal(co.Command, o.command())
		}
	}
	return false
}

func (o *oneOffRun) command() []string {
	if o.in.Overrides != nil {
		for _, co := range o.in.Overrides.ContainerOverrides {
			if aws.ToString(co.Name) == o.container {
				return co.Command
			}
		}
	}
	return nil
}

func containerNamed(t types.Task, name string) (types.Container, bool) {
	for _, c := range t.Containers {
		if aws.ToString(c.Name) == name {
			return c, true
		}
	}
	return types.Container{}, false
}

func failureReasons(fs []types.Failure) string {
	var out []string
	for _, f := range fs {
		out = append(out, aws.ToString(f.Reason))
	}
	if len(out) == 0 {
		return "no failure given"
	}
	return strings.Join(out, ", ")
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// preparePreDeploy picks, in the preflight, the container and the volume
// of the pre-deploy task, if there is one; in is the revision it runs.
func (r *run) preparePreDeploy(in *ecs.RegisterTaskDefinitionInput) error {
	pd := r.cfg.PreDeploy
	if pd == nil {
		return nil
	}
	var err error
	if r.preContainer, err = preDeployContainer(in, pd.Container, r.res.Images); err != nil {
		return err
	}
	service := r.serviceVolumes()
	if v := r.newVolumes(); v != nil {
		service = v // the task runs as the service's new tasks will
	}
	r.preVolume, err = preDeployVolume(in, *pd, service)
	return err
}

// preDeployTask is the RunTask request of this run's pre-deploy task.
func (r *run) preDeployTask(startedBy string) *ecs.RunTaskInput {
	pd := r.cfg.PreDeploy
	return preDeployTaskInput(r.svc, r.cfg.Cluster, r.newARN, r.preContainer, *pd, r.preVolume, startedBy)
}

// preDeployPhase runs the pre-deploy task, when there is one, between the
// registration and the update. false ends the run: the task did not exit
// 0, and the service was not changed.
func (r *run) preDeployPhase(ctx context.Context) bool {
	pd := r.cfg.PreDeploy
	if pd == nil {
		return true
	}
	r.d.emit(EventPhase, "Pre-deploy task: %s", strings.Join(pd.Command, " "))
	o := &oneOffRun{
		api:       r.d.ecs,
		emit:      r.d.emit,
		poll:      r.d.poll(r.cfg.PollInterval),
		in:        r.preDeployTask(cmp.Or(pd.StartedBy, preDeployStartedBy())),
		ownedBy:   pd.StartedBy == "",
		container: r.preContainer,
		timeout:   pd.Timeout,
		onStarted: func(arn string) {
			r.res.PreDeployTaskARN = arn
			r.mark("pre-deploy task started")
			r.checkpoint(PhasePreDeploy) // the post step stops it if this step dies
		},
	}
	out := o.run(ctx)
	r.res.PreDeployTaskARN = out.arn
	if out.end == oneOffSucceeded {
		r.checkpoint(PhaseRegistered) // the task is done; the update comes next
		r.mark("pre-deploy task succeeded")
		r.d.emit(EventInfo, "Pre-deploy task %s exited with code 0", taskID(out.arn))
		r.d.emit(EventPhase, "Update service %s", r.cfg.Service)
		return true
	}
	r.mark("pre-deploy task failed")
	r.res.Status = StatusFailed
	if out.end == oneOffCancelled {
		r.res.Status = StatusCancelled
	}
	r.res.Reason = fmt.Sprintf("%s; the service was not changed (still on %s)", out.reason, taskdef.ShortRevision(r.target))
	if out.arn != "" {
		r.explainPreDeploy(ctx, out)
	}
	if out.unstopped {
		// The post step tries again to stop what may still run.
		r.checkpoint(PhasePreDeploy)
		return false
	}
	r.checkpoint(PhaseDone)
	return false
}

// explainPreDeploy puts the failed pre-deploy task's cause and log tail
// in the Result, as the diagnosis does for a failed deployment.
func (r *run) explainPreDeploy(ctx context.Context, out oneOff) {
	if aws.ToString(out.task.LastStatus) == "STOPPED" {
		r.res.Causes = groupCauses([]types.Task{out.task})
	}
	if r.cfg.LogLines <= 0 || r.d.logs == nil {
		return
	}
	ctx, cancel := freshContext(ctx)
	defer cancel()
	lctx, cancel2 := context.WithTimeout(ctx, logsTimeout)
	defer cancel2()
	if ex, ok, _ := r.logTail(lctx, r.preContainer, taskID(out.arn)); ok {
		r.res.Logs = append(r.res.Logs, ex)
	}
}

// preDeployPlan is the dry run's line for the pre-deploy task.
func (r *run) preDeployPlan() string {
	pd := r.cfg.PreDeploy
	in := r.preDeployTask(cmp.Or(pd.StartedBy, "ecs-rollout/pre-deploy/…"))
	var where []string
	if in.LaunchType != "" {
		where = append(where, "launch type "+string(in.LaunchType))
	}
	for _, cp := range in.CapacityProviderStrategy {
		where = append(where, fmt.Sprintf("capacity provider %s (base %d, weight %d)", aws.ToString(cp.CapacityProvider), cp.Base, cp.Weight))
	}
	if p := aws.ToString(in.PlatformVersion); p != "" {
		where = append(where, "platform "+p)
	}
	if n := len(in.PlacementConstraints) + len(in.PlacementStrategy); n > 0 {
		where = append(where, "the service's placement constraints and strategy")
	}
	for _, v := range in.VolumeConfigurations {
		where = append(where, "EBS volume "+aws.ToString(v.Name))
	}
	if nc := in.NetworkConfiguration; nc != nil && nc.AwsvpcConfiguration != nil {
		where = append(where, fmt.Sprintf("subnets %s, security groups %s", strings.Join(nc.AwsvpcConfiguration.Subnets, ","), orDash(strings.Join(nc.AwsvpcConfiguration.SecurityGroups, ","))))
	}
	from := "the new revision"
	if r.res.Promoted {
		from = taskdef.ShortRevision(r.newARN)
	}
	cmd, _ := json.Marshal(pd.Command)
	return fmt.Sprintf("RunTask: pre-deploy task from %s in cluster %s, container %s runs %s (%s); the service is updated only if it exits 0 within %s",
		from, r.cfg.Cluster, r.preContainer, cmd, strings.Join(where, "; "), pd.Timeout)
}

// recoverPreDeploy is the post step after a main step that died while its
// pre-deploy task ran: the service was not changed, and the task, if it
// still runs, is stopped.
func (d *Deployer) recoverPreDeploy(ctx context.Context, cp Checkpoint, res Result) (Result, error) {
	res.PreDeployTaskARN = cp.PreDeployTask
	id := taskID(cp.PreDeployTask)
	out, err := d.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cp.Cluster), Tasks: []string{cp.PreDeployTask}})
	if err == nil && len(out.Tasks) == 1 && aws.ToString(out.Tasks[0].DesiredStatus) == "STOPPED" {
		res.Reason = fmt.Sprintf("the main step ended during pre-deploy task %s, which has stopped; the service was not changed", id)
		return res, nil
	}
	if _, err := d.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cp.Cluster), Task: aws.String(cp.PreDeployTask),
		Reason: aws.String("ecs-rollout post step: the deploy ended during the pre-deploy task")}); err != nil {
		res.Status = StatusFailed
		res.Reason = fmt.Sprintf("the main step ended during pre-deploy task %s and it could not be stopped: %v; stop it by hand: aws ecs stop-task --cluster %s --task %s; the service was not changed",
			id, err, shellQuote(cp.Cluster), cp.PreDeployTask)
		return res, fmt.Errorf("post: stop pre-deploy task %s: %w", id, err)
	}
	res.Reason = fmt.Sprintf("the main step ended during pre-deploy task %s; stopped it; the service was not changed", id)
	return res, nil
}
