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

// PreDeployMode is how a PreDeploy task runs and what decides it.
type PreDeployMode string

// The PreDeploy modes.
const (
	// PreDeployCommand: Command runs in Container, where the service's
	// tasks run; exit code 0 of that container lets the deployment go on.
	PreDeployCommand PreDeployMode = ""
	// PreDeployRunTask is the deploy action's run-task: the task runs
	// its own commands, or Overrides; it is placed and networked as
	// LaunchType, CapacityProviderStrategy, Network and AssignPublicIP
	// say, else as the service's tasks are, else (no service:
	// Config.RegisterOnly) on FARGATE without a network configuration;
	// Config.EnableECSManagedTags is sent with it; every container must
	// exit 0; Timeout zero means Config.Timeout; with Detach it is started
	// and not waited for.
	PreDeployRunTask PreDeployMode = "run-task"
)

// PreDeploy is the one-off task Deploy runs from the new revision after it
// is registered and before the service changes (database migrations): in
// the service's cluster, with the service's network configuration, launch
// type or capacity provider strategy and platform version. Only exit code
// 0 of Container lets the deployment go on; anything else leaves the
// service untouched. Mode PreDeployRunTask runs it as the deploy action's
// run-task does (see PreDeployRunTask).
type PreDeploy struct {
	// Mode is PreDeployCommand (the zero value) or PreDeployRunTask.
	Mode PreDeployMode
	// Overrides are the task's container overrides (PreDeployRunTask;
	// Command and Container are then empty).
	Overrides []types.ContainerOverride
	// Network, when set, is the task's network configuration instead of
	// the service's (PreDeployRunTask).
	Network *types.NetworkConfiguration
	// AssignPublicIP, when set and Network is nil, is put on a copy of the
	// service's awsvpc configuration (PreDeployRunTask).
	AssignPublicIP types.AssignPublicIp
	// LaunchType or CapacityProviderStrategy, when set, places the task
	// instead of the service's launch type or capacity providers, platform
	// version and placement (PreDeployRunTask). CapacityProviderStrategy
	// wins when both are set, as RunTask takes only one.
	LaunchType               types.LaunchType
	CapacityProviderStrategy []types.CapacityProviderStrategyItem
	// Detach starts the task and goes on without watching it
	// (PreDeployRunTask): its outcome decides nothing.
	Detach bool
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
// at launch (nil: none). In PreDeployRunTask mode the task runs its own
// command or pd.Overrides, and pd's placement and network replace the
// service's (runTaskPlacement).
func preDeployTaskInput(svc types.Service, cluster, taskDef, container string, pd PreDeploy, volume *types.TaskVolumeConfiguration, startedBy string) *ecs.RunTaskInput {
	in := &ecs.RunTaskInput{
		Cluster:              aws.String(cluster),
		TaskDefinition:       aws.String(taskDef),
		Count:                aws.Int32(1),
		StartedBy:            aws.String(startedBy),
		NetworkConfiguration: svc.NetworkConfiguration,
		PlatformVersion:      svc.PlatformVersion,
		Tags:                 pd.Tags,
	}
	if pd.Mode == PreDeployRunTask {
		if len(pd.Overrides) > 0 {
			in.Overrides = &types.TaskOverride{ContainerOverrides: pd.Overrides}
		}
	} else {
		in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{
			{Name: aws.String(container), Command: pd.Command},
		}}
	}
	if volume != nil {
		in.VolumeConfigurations = []types.TaskVolumeConfiguration{*volume}
	}
	if pd.Mode == PreDeployRunTask && runTaskPlacement(in, svc, pd) {
		return in
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

// runTaskPlacement applies a PreDeployRunTask's own network and placement
// to in. Network replaces the service's network configuration;
// AssignPublicIP alone changes a copy of it. A launch type or capacity
// provider strategy of its own replaces the service's placement (its
// platform version, placement constraints and strategy included), as does
// the deploy action's default, FARGATE, when there is no service
// (svc.ServiceName nil). It reports whether the placement is settled;
// false leaves it to the service's.
func runTaskPlacement(in *ecs.RunTaskInput, svc types.Service, pd PreDeploy) bool {
	switch {
	case pd.Network != nil:
		in.NetworkConfiguration = pd.Network
	case pd.AssignPublicIP != "" && in.NetworkConfiguration != nil && in.NetworkConfiguration.AwsvpcConfiguration != nil:
		vpc := *in.NetworkConfiguration.AwsvpcConfiguration
		vpc.AssignPublicIp = pd.AssignPublicIP
		in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &vpc}
	}
	switch {
	case len(pd.CapacityProviderStrategy) > 0:
		in.CapacityProviderStrategy = pd.CapacityProviderStrategy
	case pd.LaunchType != "":
		in.LaunchType = pd.LaunchType
	case svc.ServiceName == nil:
		in.LaunchType = types.LaunchTypeFargate // the deploy action's default
	default:
		return false
	}
	in.PlatformVersion = nil
	return true
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
			return nil, fieldError("PreDeploy.Volume", "task definition %s has no volume configured at launch (configuredAtLaunch)", aws.ToString(in.Family))
		case aws.ToString(v.Name) != "" && aws.ToString(v.Name) != name:
			return nil, fieldError("PreDeploy.Volume.Name", "task definition %s has no volume %q configured at launch (its volume configured at launch is %q)", aws.ToString(in.Family), aws.ToString(v.Name), name)
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
	exit   *int32     // the deciding container's exit code
	failed string     // the container that decided a failure ("" when none did)
	reason string     // why it failed, one sentence without the service part
	// unstopped: we gave up on the task and could not stop it, so it may
	// still run; the post step is left to stop it.
	unstopped bool
}

// oneOffRun runs one task and watches it to STOPPED.
type oneOffRun struct {
	api  taskAPI
	emit func(kind EventKind, format string, args ...any)
	poll backoffFactory
	in   *ecs.RunTaskInput
	// container is the container whose exit code decides; "" means every
	// container must exit 0 (the deploy action's run-task).
	container string
	timeout   time.Duration
	// label names the task in what people read ("pre-deploy task"), and
	// timeoutName the limit it has ("pre-deploy-timeout").
	label, timeoutName string
	// detach: start the task and return at once, not watching it.
	detach    bool
	onStarted func(arn string) // called once RunTask started the task
	// ownedBy: in.StartedBy is unique to this run, so any task listed
	// with it is ours; otherwise (a startedBy the user chose) a listed
	// task is ours only if it runs our revision with our overrides.
	ownedBy bool
}

// run starts the task and watches it until it stops, the timeout passes
// or ctx is cancelled; in the last two cases (and when it cannot be
// watched) it stops the task before returning. With detach it returns
// once the task is started, as oneOffSucceeded.
func (o *oneOffRun) run(ctx context.Context) oneOff {
	out, err := o.api.RunTask(ctx, o.in)
	if err != nil {
		res := oneOff{end: oneOffFailedToStart, reason: fmt.Sprintf("%s could not be started: %v", o.label, err)}
		if ctx.Err() != nil {
			res.end, res.reason = oneOffCancelled, "cancelled while starting the "+o.label
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
	if len(out.Tasks) == 0 || len(out.Failures) > 0 {
		why := "ECS started no task"
		for _, f := range out.Failures {
			why = strings.TrimSuffix(strings.Join(nonEmpty(aws.ToString(f.Reason), aws.ToString(f.Detail), aws.ToString(f.Arn)), ": "), ".")
			break
		}
		res := oneOff{end: oneOffFailedToStart, reason: o.label + " could not be started: " + why}
		// A failure next to a started task (the deploy action fails on
		// either): that task is not ours to leave running.
		if len(out.Tasks) > 0 {
			res.arn, res.task = aws.ToString(out.Tasks[0].TaskArn), out.Tasks[0]
			if _, ok := o.stop(ctx, res.arn, "ecs-rollout: RunTask reported a failure"); !ok {
				res.unstopped = true
				res.reason += "; the task it started (" + taskID(res.arn) + ") could not be stopped, see the warning"
			}
		}
		return res
	}
	t := out.Tasks[0]
	res := oneOff{arn: aws.ToString(t.TaskArn), task: t}
	if o.onStarted != nil {
		o.onStarted(res.arn)
	}
	from := taskdef.ShortRevision(aws.ToString(o.in.TaskDefinition))
	switch {
	case o.detach:
		o.emit(EventInfo, "Started %s %s from %s (%s); not waiting for it to stop", o.label, taskID(res.arn), from, o.what())
		res.end = oneOffSucceeded
		return res
	case o.container == "":
		o.emit(EventInfo, "Started %s %s from %s (%s; timeout %s)", o.label, taskID(res.arn), from, o.what(), o.timeout)
	default:
		o.emit(EventInfo, "Started %s %s from %s: %s in container %s (timeout %s)",
			o.label, taskID(res.arn), from, strings.Join(o.command(), " "), o.container, o.timeout)
	}

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
			o.emit(EventInfo, "%s %s: %s", capitalized(o.label), taskID(res.arn), st)
		}
		if last == "STOPPED" {
			return true, nil
		}
		if o.container == "" {
			// Every container's exit code decides: success is known once
			// all have exited 0 and ECS is stopping the task; a failure
			// waits for STOPPED, with its final stop reason (and logs).
			return allExitedZero(res.task) && aws.ToString(res.task.DesiredStatus) == "STOPPED", nil
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
			_, _ = o.stop(ctx, res.arn, fmt.Sprintf("ecs-rollout: %s container %s exited with code %d", o.label, o.container, *c.ExitCode))
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
			fmt.Sprintf("cancelled while %s %s was %s; stopped it", o.label, taskID(res.arn), strings.ToLower(last)))
	case wctx.Err() != nil:
		why := fmt.Sprintf("%s %s did not finish within %s (%s); stopped it", o.label, taskID(res.arn), o.timeoutName, o.timeout)
		if watchErr != nil {
			why += fmt.Sprintf(" (the last status check failed: %v)", watchErr)
		}
		o.stopAndSay(ctx, &res, oneOffTimedOut, fmt.Sprintf("ecs-rollout: %s (%s) passed", o.timeoutName, o.timeout), why)
	default:
		o.stopAndSay(ctx, &res, oneOffBlind, "ecs-rollout: the "+o.label+" could not be watched",
			fmt.Sprintf("could not watch %s %s: %v; stopped it", o.label, taskID(res.arn), err))
	}
	return res
}

// what says what the task runs, for the log: its own command, or the
// containers its overrides change.
func (o *oneOffRun) what() string {
	if o.in.Overrides == nil || len(o.in.Overrides.ContainerOverrides) == 0 {
		return "the task definition's own commands"
	}
	var names []string
	for _, co := range o.in.Overrides.ContainerOverrides {
		names = append(names, aws.ToString(co.Name))
	}
	return "overrides for " + strings.Join(names, ", ")
}

// allExitedZero reports whether every container of t exited 0.
func allExitedZero(t types.Task) bool {
	for _, c := range t.Containers {
		if c.ExitCode == nil || *c.ExitCode != 0 {
			return false
		}
	}
	return len(t.Containers) > 0
}

func capitalized(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// judge reads the stopped task's outcome: the exit code of o.container,
// or (o.container "") every container's, the first that did not exit 0
// deciding, as the deploy action's run-task judges it.
func (o *oneOffRun) judge(res oneOff) oneOff {
	t := res.task
	stop := strings.TrimSuffix(strings.Join(nonEmpty(string(t.StopCode), aws.ToString(t.StoppedReason)), ": "), ".")
	name := o.container
	c, _ := containerNamed(t, name)
	if name == "" {
		res.exit = nil
		for _, tc := range t.Containers {
			c, name, res.exit = tc, aws.ToString(tc.Name), tc.ExitCode
			if tc.ExitCode == nil || *tc.ExitCode != 0 {
				break
			}
		}
	}
	in := ""
	if o.container == "" {
		in = " (container " + name + ")"
	}
	switch {
	case res.exit != nil && *res.exit == 0:
		res.end = oneOffSucceeded
		return res
	case res.exit != nil:
		res.end = oneOffExited
		res.reason = fmt.Sprintf("%s exited with code %d%s (%s)", o.label, *res.exit, in, stop)
		if r := aws.ToString(c.Reason); r != "" {
			res.reason = fmt.Sprintf("%s exited with code %d%s: %s (%s)", o.label, *res.exit, in, r, stop)
		}
	case t.StopCode == types.TaskStopCodeTaskFailedToStart || t.StartedAt == nil:
		res.end = oneOffFailedToStart
		res.reason = o.label + " failed to start: " + cmp.Or(aws.ToString(c.Reason), aws.ToString(t.StoppedReason), string(t.StopCode))
	default:
		res.end = oneOffStopped
		res.reason = fmt.Sprintf("%s stopped before container %s exited (%s)", o.label, name, stop)
	}
	res.failed = name
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
		o.emit(EventWarning, "could not stop %s %s: %v; stop it by hand: aws ecs stop-task --cluster %s --task %s",
			o.label, taskID(arn), err, shellQuote(aws.ToString(o.in.Cluster)), arn)
		return types.Task{}, false
	}
	o.emit(EventInfo, "Stopped %s %s (%s)", o.label, taskID(arn), strings.TrimPrefix(reason, "ecs-rollout: "))
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
// container (o.container ""): whether it has our overrides' commands.
func (o *oneOffRun) sameCommand(ov *types.TaskOverride) bool {
	var ours []types.ContainerOverride
	if o.in.Overrides != nil {
		ours = o.in.Overrides.ContainerOverrides
	}
	var theirs []types.ContainerOverride
	if ov != nil {
		theirs = ov.ContainerOverrides
	}
	if o.container == "" {
		return slices.EqualFunc(ours, theirs, func(a, b types.ContainerOverride) bool {
			return aws.ToString(a.Name) == aws.ToString(b.Name) && slices.Equal(a.Command, b.Command)
		})
	}
	for _, co := range theirs {
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
// of the pre-deploy task, if there is one, and checks what RunTask would
// refuse after the registration; in is the revision it runs.
func (r *run) preparePreDeploy(in *ecs.RegisterTaskDefinitionInput) error {
	pd := r.cfg.PreDeploy
	if pd == nil {
		return nil
	}
	var err error
	if pd.Mode == PreDeployRunTask {
		if err := checkOverrides(in, pd.Overrides); err != nil {
			return err
		}
	} else if r.preContainer, err = preDeployContainer(in, pd.Container, r.res.Images); err != nil {
		return err
	}
	service := r.serviceVolumes()
	if v := r.newVolumes(); v != nil {
		service = v // the task runs as the service's new tasks will
	}
	if r.preVolume, err = preDeployVolume(in, *pd, service); err != nil {
		return err
	}
	if pd.Mode == PreDeployRunTask {
		return r.checkRunTaskNetwork(in)
	}
	return nil
}

// checkOverrides checks that each container override names a container
// of the revision, once: RunTask refuses others, and by then the revision
// would be registered.
func checkOverrides(in *ecs.RegisterTaskDefinitionInput, overrides []types.ContainerOverride) error {
	var names []string
	for _, cd := range in.ContainerDefinitions {
		names = append(names, aws.ToString(cd.Name))
	}
	seen := map[string]bool{}
	for i, co := range overrides {
		name := aws.ToString(co.Name)
		switch {
		case name == "":
			return fieldError("PreDeploy.Overrides", "[%d] names no container (name)", i)
		case !slices.Contains(names, name):
			return fieldError("PreDeploy.Overrides", "[%d] names container %q, which task definition %s does not have (it has %s)", i, name, aws.ToString(in.Family), strings.Join(names, ", "))
		case seen[name]:
			return fieldError("PreDeploy.Overrides", "[%d]: container %q is overridden twice", i, name)
		}
		seen[name] = true
	}
	return nil
}

// checkRunTaskNetwork refuses, before anything is registered, a
// PreDeployRunTask task that RunTask could not network: an awsvpc
// revision needs subnets (its own, or the service's), and a public IP
// needs an awsvpc configuration to go in.
func (r *run) checkRunTaskNetwork(in *ecs.RegisterTaskDefinitionInput) error {
	pd := r.cfg.PreDeploy
	nc := r.preDeployTask("-").NetworkConfiguration
	where := "there is no service to take them from"
	if r.svc.ServiceName != nil {
		where = fmt.Sprintf("service %s has no awsvpc network configuration to take them from", r.cfg.Service)
	}
	switch {
	case pd.AssignPublicIP != "" && pd.Network == nil && (nc == nil || nc.AwsvpcConfiguration == nil):
		return fieldError("PreDeploy.AssignPublicIP", "%s needs an awsvpc network configuration, and %s; give the task's subnets", pd.AssignPublicIP, where)
	case in.NetworkMode == types.NetworkModeAwsvpc && (nc == nil || nc.AwsvpcConfiguration == nil || len(nc.AwsvpcConfiguration.Subnets) == 0):
		return fieldError("PreDeploy.Network", "task definition %s uses the awsvpc network mode, so the task needs subnets, and %s", aws.ToString(in.Family), where)
	case in.NetworkMode != types.NetworkModeAwsvpc && pd.Network != nil:
		return fieldError("PreDeploy.Network", "task definition %s uses the %s network mode, which takes no subnets or security groups (only awsvpc does)", aws.ToString(in.Family), cmp.Or(string(in.NetworkMode), "default"))
	}
	return nil
}

// preDeployTask is the RunTask request of this run's pre-deploy task.
func (r *run) preDeployTask(startedBy string) *ecs.RunTaskInput {
	pd := r.cfg.PreDeploy
	in := preDeployTaskInput(r.svc, r.cfg.Cluster, r.newARN, r.preContainer, *pd, r.preVolume, startedBy)
	if pd.Mode == PreDeployRunTask {
		in.EnableECSManagedTags = aws.ToBool(r.cfg.EnableECSManagedTags)
	}
	return in
}

// preDeployLabel is how the log and the reasons name the task.
func (r *run) preDeployLabel() string {
	if r.cfg.PreDeploy.Mode == PreDeployRunTask {
		return "one-off task"
	}
	return "pre-deploy task"
}

// preDeployPhase runs the pre-deploy task, when there is one, between the
// registration and the update. false ends the run: the task did not exit
// 0, and the service was not changed. A detached task (PreDeploy.Detach)
// only has to start.
func (r *run) preDeployPhase(ctx context.Context) bool {
	pd := r.cfg.PreDeploy
	if pd == nil {
		return true
	}
	label := r.preDeployLabel()
	r.res.PreDeployMode = pd.Mode
	o := &oneOffRun{
		api:         r.d.ecs,
		emit:        r.d.emit,
		poll:        r.d.poll(r.cfg.PollInterval),
		in:          r.preDeployTask(cmp.Or(pd.StartedBy, preDeployStartedBy())),
		ownedBy:     pd.StartedBy == "",
		container:   r.preContainer,
		timeout:     pd.Timeout,
		label:       label,
		timeoutName: "pre-deploy-timeout",
		detach:      pd.Detach,
		onStarted: func(arn string) {
			r.res.PreDeployTaskARN = arn
			r.mark(label + " started")
			if !pd.Detach {
				r.checkpoint(PhasePreDeploy) // the post step stops it if this step dies
			}
		},
	}
	if pd.Mode == PreDeployRunTask {
		o.timeoutName = "the timeout"
		r.d.emit(EventPhase, "One-off task: %s", o.what())
	} else {
		r.d.emit(EventPhase, "Pre-deploy task: %s", strings.Join(pd.Command, " "))
	}
	out := o.run(ctx)
	r.res.PreDeployTaskARN = out.arn
	next := "the service is updated next"
	if r.cfg.RegisterOnly {
		next = "no service to update"
	}
	if out.end == oneOffSucceeded {
		r.checkpoint(PhaseRegistered) // the task is done (or detached); the update comes next
		if pd.Detach {
			r.mark(label + " started, not waited for")
			r.d.emit(EventInfo, "%s %s is not waited for: %s while it runs, whatever it exits with", capitalized(label), taskID(out.arn), next)
		} else {
			r.mark(label + " succeeded")
			r.d.emit(EventInfo, "%s %s exited with code 0; %s", capitalized(label), taskID(out.arn), next)
		}
		if !r.cfg.RegisterOnly {
			r.d.emit(EventPhase, "Update service %s", r.cfg.Service)
		}
		return true
	}
	r.mark(label + " failed")
	r.res.Status = StatusFailed
	if out.end == oneOffCancelled {
		r.res.Status = StatusCancelled
	}
	if r.cfg.RegisterOnly {
		r.res.Reason = fmt.Sprintf("%s; registered %s, no service given", out.reason, taskdef.ShortRevision(r.newARN))
	} else {
		r.res.Reason = fmt.Sprintf("%s; the service was not changed (still on %s)", out.reason, taskdef.ShortRevision(r.target))
	}
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
	if ex, ok, _ := r.logTail(lctx, cmp.Or(r.preContainer, out.failed), taskID(out.arn)); ok {
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
		vpc := nc.AwsvpcConfiguration
		net := fmt.Sprintf("subnets %s, security groups %s", strings.Join(vpc.Subnets, ","), orDash(strings.Join(vpc.SecurityGroups, ",")))
		if vpc.AssignPublicIp != "" {
			net += ", public IP " + string(vpc.AssignPublicIp)
		}
		where = append(where, net)
	}
	from := "the new revision"
	if r.res.Promoted {
		from = taskdef.ShortRevision(r.newARN)
	}
	if pd.Mode == PreDeployRunTask {
		then := fmt.Sprintf("the service is updated only if every container exits 0 within %s", pd.Timeout)
		switch {
		case pd.Detach && r.cfg.RegisterOnly:
			then = "not waited for"
		case pd.Detach:
			then = "not waited for: the service is updated while it runs"
		case r.cfg.RegisterOnly:
			then = fmt.Sprintf("waited for up to %s; every container must exit 0", pd.Timeout)
		}
		return fmt.Sprintf("RunTask: one-off task from %s in cluster %s, startedBy %s, %s (%s); %s",
			from, r.cfg.Cluster, aws.ToString(in.StartedBy), (&oneOffRun{in: in}).what(), strings.Join(where, "; "), then)
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
