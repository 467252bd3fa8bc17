package ecssim

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TaskOutcome is what a container of a standalone task (RunTask) does.
type TaskOutcome string

// The outcomes a TaskRule can select.
const (
	// OutcomeExit: the container runs for RunTime, then exits with ExitCode.
	OutcomeExit TaskOutcome = "exit"
	// OutcomeForever: the container keeps running until the task is
	// stopped (StopTask), like a server.
	OutcomeForever TaskOutcome = "forever"
	// OutcomePullError: the image cannot be pulled; the task stops with
	// TaskFailedToStart and "CannotPullContainerError: ...".
	OutcomePullError TaskOutcome = "pull-error"
	// OutcomeOOM: the container runs for RunTime, then is killed with exit
	// code 137, "OutOfMemoryError: Container killed due to memory usage".
	OutcomeOOM TaskOutcome = "oom"
	// OutcomePending: the task never leaves PENDING.
	OutcomePending TaskOutcome = "pending"
)

func (o TaskOutcome) valid() bool {
	switch o {
	case "", OutcomeExit, OutcomeForever, OutcomePullError, OutcomeOOM, OutcomePending:
		return true
	}
	return false
}

// defaultTaskRun is how long a one-off container runs before it exits
// when neither its rule nor Timings says otherwise.
const defaultTaskRun = 30 * time.Millisecond

// TaskRule decides what the containers of standalone tasks (RunTask) do,
// by image and by command. Rules are tried in order; the first whose Image
// and Command patterns both match a container wins. Patterns use '*' as
// in ImageRule; an empty pattern matches anything. Command is matched
// against the container's command (the override if RunTask gave one,
// else the task definition's) joined with single spaces.
//
// An image that cannot be pulled (ImageRule pull-error) fails to start
// whatever the command. A container no rule matches follows its image's
// behaviour: a failing
// behaviour (crash, oom, pull-error, pending, crash-after) fails the same
// way; otherwise a container whose command RunTask overrode exits 0 after
// a short run (a one-off command completes), and one left as defined runs
// until stopped (a server).
type TaskRule struct {
	Image   string `json:"image,omitempty"`
	Command string `json:"command,omitempty"`
	// Outcome is exit (default), forever, pull-error, oom or pending.
	Outcome TaskOutcome `json:"outcome,omitempty"`
	// ExitCode is the exit code of the exit outcome (default 0).
	ExitCode int32 `json:"exitCode,omitempty"`
	// RunTime is how long the container runs before it exits (exit, oom);
	// zero uses 30ms.
	RunTime Duration `json:"runTime,omitempty"`
	// Logs are the lines the container writes (GetLogEvents); when empty,
	// Scenario.Logs of the image's behaviour.
	Logs []string `json:"logs,omitempty"`
}

func validateTaskRules(rules []TaskRule) []string {
	var problems []string
	for i, r := range rules {
		if !r.Outcome.valid() {
			problems = append(problems, fmt.Sprintf("taskRules[%d]: unknown outcome %q", i, r.Outcome))
		}
		if r.RunTime < 0 {
			problems = append(problems, fmt.Sprintf("taskRules[%d]: runTime must not be negative", i))
		}
	}
	return problems
}

// soloTask is what only a standalone task has.
type soloTask struct {
	overrides *types.TaskOverride
	network   *types.NetworkConfiguration
	cps       []types.CapacityProviderStrategyItem
	tags      []types.Tag
	plans     []containerPlan // by container index
}

// containerPlan is the fate of one container of a standalone task.
type containerPlan struct {
	outcome TaskOutcome
	exit    int32
	runFor  time.Duration
}

// runTaskToken remembers a clientToken's request and tasks (idempotency).
type runTaskToken struct {
	digest [32]byte
	tasks  []*task
}

// Platform versions Fargate accepts (Linux).
var fargatePlatforms = map[string]bool{"LATEST": true, "1.4.0": true, "1.3.0": true}

// startedBy and group characters ECS allows.
func validTag(s string, extra string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(extra, r)) {
			return false
		}
	}
	return true
}

func (s *Sim) runTask(in *ecs.RunTaskInput, now time.Time) (*ecs.RunTaskOutput, *apiError) {
	cl, aerr := s.resolveCluster(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	count := int32(1)
	if in.Count != nil {
		count = *in.Count
	}
	if count < 1 || count > 10 {
		return nil, errInvalidParam("Count must be between 1 and 10.")
	}
	if sb := aws.ToString(in.StartedBy); len(sb) > 128 || !validTag(sb, "-_/") {
		return nil, errInvalidParam("startedBy may contain up to 128 letters (uppercase and lowercase), numbers, hyphens (-), forward slashes (/) and underscores (_).")
	}
	if g := aws.ToString(in.Group); len(g) > 255 {
		return nil, errInvalidParam("group may contain up to 255 characters.")
	}
	if in.LaunchType != "" && len(in.CapacityProviderStrategy) > 0 {
		return nil, errInvalidParam("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	if in.PropagateTags == types.PropagateTagsService {
		return nil, errInvalidParam("The SERVICE option for propagateTags is not valid when running a task.")
	}
	td, ok := s.lookupTaskDef(aws.ToString(in.TaskDefinition))
	if !ok {
		return nil, errClient("TaskDefinition not found.")
	}
	if td.td.Status != types.TaskDefinitionStatusActive {
		return nil, errClient("TaskDefinition is inactive")
	}
	if aerr := checkTaskVolumeConfigurations(td, in.VolumeConfigurations); aerr != nil {
		return nil, aerr
	}
	tok := aws.ToString(in.ClientToken)
	digest := runTaskDigest(in)
	if tok != "" {
		if len(tok) > 64 {
			return nil, errInvalidParam("clientToken may contain up to 64 characters.")
		}
		if prev, ok := s.solo.tokens[tok]; ok {
			if prev.digest != digest {
				return nil, &apiError{Code: "ConflictException", Message: "The clientToken is already in use with a different RunTask request.", Status: 400}
			}
			return s.runTaskOutput(prev.tasks), nil
		}
	}

	launchType := in.LaunchType
	var cpName string
	for _, item := range in.CapacityProviderStrategy {
		name := aws.ToString(item.CapacityProvider)
		if name != "FARGATE" && name != "FARGATE_SPOT" {
			return nil, errInvalidParam("The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.")
		}
		if cpName == "" {
			cpName = name
		}
	}
	if cpName != "" {
		launchType = types.LaunchTypeFargate
	}
	if launchType == "" {
		launchType = types.LaunchTypeEc2 // the simulated clusters have no default capacity provider strategy
	}
	compatible := false
	for _, c := range td.td.Compatibilities {
		if string(c) == string(launchType) {
			compatible = true
		}
	}
	if !compatible {
		return nil, errClient("Task definition does not support launch_type %s.", launchType)
	}
	platform := in.PlatformVersion
	if launchType == types.LaunchTypeFargate {
		if platform == nil {
			platform = aws.String("LATEST")
		}
		if !fargatePlatforms[*platform] {
			return nil, errInvalidParam("The specified platform version (%s) does not exist.", *platform)
		}
	} else if platform != nil {
		return nil, errInvalidParam("The platform version must be null when specifying an %s launch type.", launchType)
	}
	if td.td.NetworkMode == types.NetworkModeAwsvpc {
		nc := in.NetworkConfiguration
		if nc == nil || nc.AwsvpcConfiguration == nil {
			return nil, errInvalidParam("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
		}
		if len(nc.AwsvpcConfiguration.Subnets) == 0 {
			return nil, errInvalidParam("subnets can not be empty.")
		}
		if len(nc.AwsvpcConfiguration.Subnets) > 16 || len(nc.AwsvpcConfiguration.SecurityGroups) > 5 {
			return nil, errInvalidParam("at most 16 subnets and 5 security groups are allowed.")
		}
		if nc.AwsvpcConfiguration.AssignPublicIp == types.AssignPublicIpEnabled && launchType != types.LaunchTypeFargate {
			return nil, errInvalidParam("Assign public IP is not supported for this launch type.")
		}
	} else if in.NetworkConfiguration != nil {
		return nil, errInvalidParam("Network Configuration is not valid for the given networkMode of this task definition.")
	}
	if ov := in.Overrides; ov != nil {
		if b, _ := json.Marshal(ov); len(b) > 8192 {
			return nil, errInvalidParam("Container Overrides length must be at most 8192")
		}
		names := map[string]bool{}
		for _, cd := range td.td.ContainerDefinitions {
			names[aws.ToString(cd.Name)] = true
		}
		for _, co := range ov.ContainerOverrides {
			if co.Name == nil {
				return nil, errInvalidParam("Container Overrides must include a container name.")
			}
			if !names[*co.Name] {
				return nil, errInvalidParam("Override for container named %s is not a container in the TaskDefinition.", *co.Name)
			}
		}
	}

	group := aws.ToString(in.Group)
	if group == "" {
		group = "family:" + aws.ToString(td.td.Family)
	}
	var started []*task
	for i := int32(0); i < count; i++ {
		started = append(started, s.newSoloTask(cl, td, in, launchType, platform, group, now))
	}
	if tok != "" {
		s.solo.tokens[tok] = &runTaskToken{digest: digest, tasks: started}
	}
	s.wake()
	return s.runTaskOutput(started), nil
}

// onCopy validates a copy of the input: the SDK's validating client fills
// an idempotency token (RunTask's clientToken) into what it is given, and
// the simulator must see the request as it came.
func onCopy[In, Out any](op func(context.Context, *In, ...func(*ecs.Options)) (Out, error)) func(context.Context, *In, ...func(*ecs.Options)) (Out, error) {
	return func(ctx context.Context, in *In, opts ...func(*ecs.Options)) (Out, error) {
		c := *in
		return op(ctx, &c, opts...)
	}
}

// soloState is the simulator's state for standalone tasks.
type soloState struct {
	rules  []TaskRule
	tokens map[string]*runTaskToken // RunTask clientToken → its request and tasks
}

func runTaskDigest(in *ecs.RunTaskInput) [32]byte {
	c := *in
	c.ClientToken = nil
	b, _ := encodeJSON(&c)
	return sha256.Sum256(b)
}

func (s *Sim) runTaskOutput(ts []*task) *ecs.RunTaskOutput {
	out := &ecs.RunTaskOutput{Tasks: []types.Task{}, Failures: []types.Failure{}}
	for _, t := range ts {
		out.Tasks = append(out.Tasks, s.taskView(t))
	}
	return out
}

// newSoloTask creates a PROVISIONING standalone task and plans what each
// of its containers does.
func (s *Sim) newSoloTask(cl *cluster, td *taskDef, in *ecs.RunTaskInput, launchType types.LaunchType, platform *string, group string, now time.Time) *task {
	id := s.newID()
	s.taskSeq++
	t := &task{
		id:         id,
		arn:        s.arn("task/" + cl.name + "/" + id),
		seq:        s.taskSeq,
		cl:         cl,
		td:         td,
		startedBy:  aws.ToString(in.StartedBy),
		group:      group,
		launchType: launchType,
		enableExec: in.EnableExecuteCommand,
		last:       "PROVISIONING",
		desired:    "RUNNING",
		version:    1,
		health:     types.HealthStatusUnknown,
		createdAt:  now,
		next:       now.Add(s.timings.Provisioning.D()),
		solo: &soloTask{
			overrides: in.Overrides,
			network:   in.NetworkConfiguration,
			cps:       in.CapacityProviderStrategy,
			tags:      in.Tags,
		},
	}
	if launchType == types.LaunchTypeFargate {
		t.platform = aws.String("1.4.0") // LATEST, resolved
		if p := aws.ToString(platform); p != "LATEST" {
			t.platform = aws.String(p)
		}
	}
	overridden := map[string][]string{}
	if in.Overrides != nil {
		for _, co := range in.Overrides.ContainerOverrides {
			if co.Command != nil {
				overridden[aws.ToString(co.Name)] = co.Command
			}
		}
	}
	for _, cd := range td.td.ContainerDefinitions {
		c := newContainer(cd, id)
		c.hasHC = false // a one-off task's health is not judged
		cmd, over := overridden[c.name]
		if !over {
			cmd = cd.Command
		}
		plan, lines := s.planContainer(c.image, strings.Join(cmd, " "), over)
		c.behavior, c.rule = s.ruleFor(c.image)
		c.lines = lines
		t.containers = append(t.containers, c)
		t.solo.plans = append(t.solo.plans, plan)
	}
	cl.tasks[id] = t
	cl.tOrder = append(cl.tOrder, t)
	cl.solo = append(cl.solo, t)
	return t
}

// planContainer decides a standalone container's fate from the task
// rules, else from its image's behaviour.
func (s *Sim) planContainer(image, command string, overridden bool) (containerPlan, []string) {
	if b, _ := s.ruleFor(image); b == BehaviorPullError { // whatever the command
		return containerPlan{outcome: OutcomePullError}, nil
	}
	for _, r := range s.solo.rules {
		if (r.Image == "" || globMatch(r.Image, image)) && (r.Command == "" || globMatch(r.Command, command)) {
			p := containerPlan{outcome: r.Outcome, exit: r.ExitCode, runFor: r.RunTime.D()}
			if p.outcome == "" {
				p.outcome = OutcomeExit
			}
			if p.runFor == 0 {
				p.runFor = defaultTaskRun
			}
			var lines []string
			if len(r.Logs) > 0 {
				lines = append([]string(nil), r.Logs...)
			}
			return p, lines
		}
	}
	b, r := s.ruleFor(image)
	p := containerPlan{outcome: OutcomeForever, runFor: defaultTaskRun}
	switch b {
	case BehaviorPullError:
		p.outcome = OutcomePullError
	case BehaviorPending:
		p.outcome = OutcomePending
	case BehaviorCrash, BehaviorFlaky:
		p.outcome, p.exit, p.runFor = OutcomeExit, 1, 0
	case BehaviorOOM:
		p.outcome, p.runFor = OutcomeOOM, 0
	case BehaviorCrashAfter:
		p.outcome, p.exit, p.runFor = OutcomeExit, 1, s.timings.CrashAfter.D()
		if r != nil && r.After > 0 {
			p.runFor = r.After.D()
		}
	default:
		if overridden {
			p.outcome = OutcomeExit
		}
	}
	return p, nil
}

// stepSoloLocked performs the due transitions of the cluster's standalone
// tasks and reports whether anything changed.
func (s *Sim) stepSoloLocked(cl *cluster, now time.Time) bool {
	changed := false
	for _, t := range append([]*task(nil), cl.solo...) {
		for !t.next.IsZero() && !t.next.After(now) {
			s.stepSolo(t, now)
			changed = true
		}
	}
	return changed
}

// nextSoloLocked is the time of the cluster's next standalone transition.
func nextSoloLocked(cl *cluster) time.Time {
	var next time.Time
	for _, t := range cl.solo {
		if !t.next.IsZero() && (next.IsZero() || t.next.Before(next)) {
			next = t.next
		}
	}
	return next
}

// stepSolo performs the transition of a standalone task scheduled at
// t.next: PROVISIONING → PENDING → RUNNING → containers exit → STOPPED.
func (s *Sim) stepSolo(t *task, now time.Time) {
	at, done := s.beginStep(t)
	if done {
		return
	}
	switch t.last {
	case "PROVISIONING":
		t.last = "PENDING"
		t.pullStarted = at
		t.connectivity = at
		for _, p := range t.solo.plans {
			if p.outcome == OutcomePending {
				return // never leaves PENDING
			}
		}
		t.next = at.Add(s.timings.Pending.D())
	case "PENDING":
		t.pullStopped = at
		for i, p := range t.solo.plans {
			if p.outcome == OutcomePullError {
				c := t.containers[i]
				c.reason = pullErrorReason(c.image)
				s.beginStop(t, at, types.TaskStopCodeTaskFailedToStart, c.reason, true)
				return
			}
		}
		t.last = "RUNNING"
		t.startedAt = at
		for _, c := range t.containers {
			c.last = "RUNNING"
			c.startedAt = at
		}
		s.scheduleSoloExit(t, at)
	case "RUNNING":
		essentialExited := false
		for i, p := range t.solo.plans {
			c := t.containers[i]
			if c.exit != nil || (p.outcome != OutcomeExit && p.outcome != OutcomeOOM) || t.startedAt.Add(p.runFor).After(at) {
				continue
			}
			c.last = "STOPPED"
			c.exit = aws.Int32(p.exit)
			if p.outcome == OutcomeOOM {
				c.exit = aws.Int32(137)
				c.reason = "OutOfMemoryError: Container killed due to memory usage"
			}
			if c.essential {
				essentialExited = true
			}
		}
		if essentialExited {
			s.beginStop(t, at, types.TaskStopCodeEssentialContainerExited, "Essential container in task exited", true)
			return
		}
		s.scheduleSoloExit(t, at)
	}
}

// scheduleSoloExit sets t.next to the next container exit, if any.
func (s *Sim) scheduleSoloExit(t *task, now time.Time) {
	for i, p := range t.solo.plans {
		if t.containers[i].exit != nil || (p.outcome != OutcomeExit && p.outcome != OutcomeOOM) {
			continue
		}
		at := t.startedAt.Add(p.runFor)
		if at.Before(now) {
			at = now
		}
		if t.next.IsZero() || at.Before(t.next) {
			t.next = at
		}
	}
}

func (s *Sim) stopTask(in *ecs.StopTaskInput, now time.Time) (*ecs.StopTaskOutput, *apiError) {
	cl, aerr := s.resolveCluster(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	if len(aws.ToString(in.Reason)) > 255 {
		return nil, errInvalidParam("reason may contain up to 255 characters.")
	}
	ref := aws.ToString(in.Task)
	id := ref
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		if strings.HasPrefix(ref, "arn:") && !strings.Contains(ref, ":task/"+cl.name+"/") {
			return nil, errInvalidParam("The referenced task was not found.")
		}
		id = ref[i+1:]
	}
	t, ok := cl.tasks[id]
	if !ok {
		return nil, errInvalidParam("The referenced task was not found.")
	}
	if t.desired != "STOPPED" {
		reason := aws.ToString(in.Reason)
		if reason == "" {
			reason = "Task stopped by user"
		}
		for _, c := range t.containers {
			if c.last == "RUNNING" && c.exit == nil {
				c.exit = aws.Int32(143) // SIGTERM
			}
		}
		s.beginStop(t, now, types.TaskStopCodeUserInitiated, reason, false)
		s.wake()
	}
	return &ecs.StopTaskOutput{Task: ptr(s.taskView(t))}, nil
}

// soloView adds what only standalone tasks show to their DescribeTasks view.
func soloView(t *task, v *types.Task) {
	if t.solo == nil {
		return
	}
	if t.solo.overrides != nil {
		ov := *t.solo.overrides
		given := map[string]types.ContainerOverride{}
		for _, co := range ov.ContainerOverrides {
			given[aws.ToString(co.Name)] = co
		}
		ov.ContainerOverrides = nil
		for _, c := range t.containers {
			co, ok := given[c.name]
			if !ok {
				co = types.ContainerOverride{Name: aws.String(c.name)}
			}
			ov.ContainerOverrides = append(ov.ContainerOverrides, co)
		}
		if ov.InferenceAcceleratorOverrides == nil {
			ov.InferenceAcceleratorOverrides = []types.InferenceAcceleratorOverride{}
		}
		v.Overrides = &ov
	}
	if len(t.solo.cps) > 0 {
		v.CapacityProviderName = t.solo.cps[0].CapacityProvider
	}
	if len(t.solo.tags) > 0 {
		v.Tags = append([]types.Tag{}, t.solo.tags...)
	}
	if nc := t.solo.network; nc != nil && nc.AwsvpcConfiguration != nil {
		v.Attachments = []types.Attachment{{
			Id:     aws.String(fmt.Sprintf("%s-eni", t.id[:8])),
			Type:   aws.String("ElasticNetworkInterface"),
			Status: aws.String(eniStatus(t)),
			Details: []types.KeyValuePair{
				{Name: aws.String("subnetId"), Value: aws.String(nc.AwsvpcConfiguration.Subnets[0])},
				{Name: aws.String("networkInterfaceId"), Value: aws.String("eni-" + t.id[:17])},
				{Name: aws.String("privateIPv4Address"), Value: aws.String(fmt.Sprintf("10.0.%d.%d", t.seq/250%250, t.seq%250+2))},
			},
		}}
	}
}

func eniStatus(t *task) string {
	switch t.last {
	case "PROVISIONING":
		return "PRECREATED"
	case "STOPPED":
		return "DELETED"
	}
	return "ATTACHED"
}
