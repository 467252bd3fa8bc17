package action

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/report"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// The inputs of the pre-deploy task (a migration run from the new revision
// before the service changes).
const (
	inPreDeployCommand   = "pre-deploy-command"
	inPreDeployContainer = "pre-deploy-container"
	inPreDeployTimeout   = "pre-deploy-timeout"
	inPreDeployStartedBy = "pre-deploy-started-by"
	inPreDeployTags      = "pre-deploy-tags"
)

// The deploy action's run-task inputs (v2.6.3's action.yml): a one-off
// task from the new revision, before the service is updated. Its EBS
// volume inputs are in inputs_volumes.go.
const (
	inRunTask                         = "run-task"
	inRunTaskContainerOverrides       = "run-task-container-overrides"
	inRunTaskSecurityGroups           = "run-task-security-groups"
	inRunTaskSubnets                  = "run-task-subnets"
	inRunTaskAssignPublicIP           = "run-task-assign-public-IP"
	inRunTaskCapacityProviderStrategy = "run-task-capacity-provider-strategy"
	inRunTaskLaunchType               = "run-task-launch-type"
	inRunTaskStartedBy                = "run-task-started-by"
	inRunTaskTags                     = "run-task-tags"
	inWaitForTaskStopped              = "wait-for-task-stopped"
)

// runTaskStartedBy is the deploy action's startedBy of its task.
const runTaskStartedBy = "GitHub-Actions"

// runTaskOnly are the inputs that mean something only with run-task: true.
var runTaskOnly = []string{inRunTaskContainerOverrides, inRunTaskSecurityGroups, inRunTaskSubnets, inRunTaskAssignPublicIP,
	inRunTaskCapacityProviderStrategy, inRunTaskLaunchType, inRunTaskStartedBy, inRunTaskTags, inRunTaskEBSVolumeName, inRunTaskEBSVolume, inWaitForTaskStopped}

// preDeployInputs parses the pre-deploy task's inputs, and the deploy
// action's run-task inputs (the same one-off task, run as that action
// runs it: deployer.PreDeployRunTask).
func (p *inputParser) preDeployInputs(out *parsed, _ parseOptions) {
	out.Config.PreDeploy = p.preDeploy()
	if rt := p.runTask(&out.Config); rt != nil {
		if out.Config.PreDeploy != nil {
			p.add(inRunTask, "cannot be combined with pre-deploy-command: both run a one-off task before the deploy; give one")
			return
		}
		out.Config.PreDeploy = rt
	}
}

// runTaskOn reports whether run-task is true; runTask reports an
// invalid value.
func (p *inputParser) runTaskOn() bool { return strings.EqualFold(p.raw(inRunTask), "true") }

// runTask parses run-task and the inputs that go with it into a
// PreDeployRunTask task; nil without run-task: true. Those inputs
// without run-task are errors, except after an explicit run-task: false
// (a workflow's expression), where a notice says they are not used.
func (p *inputParser) runTask(cfg *deployer.Config) *deployer.PreDeploy {
	if !p.boolean(inRunTask, false) {
		var set []string
		for _, name := range runTaskOnly {
			if v := p.raw(name); v != "" && !emptyDefault(name, v) {
				set = append(set, name)
			}
		}
		switch {
		case len(set) == 0:
		case p.raw(inRunTask) == "":
			for _, name := range set {
				p.add(name, "is set but run-task is not true: set run-task: true to run the task")
			}
		default:
			p.notice(inRunTask, "is not true: "+strings.Join(set, ", ")+" not used")
		}
		return nil
	}
	if p.raw(inResume) != "" {
		p.add(inRunTask, "cannot be combined with resume: resume deploys nothing, so there is no new revision to run")
	}
	for _, name := range []string{inPreDeployContainer, inPreDeployStartedBy, inPreDeployTags, inPreDeployEBSVolumeName, inPreDeployEBSVolume} {
		if p.raw(name) != "" {
			p.add(name, "is for pre-deploy-command; with run-task use the run-task-* inputs")
		}
	}
	if s := p.raw(inPreDeployTimeout); s != "" && s != durationText(deployer.DefaultPreDeployTimeout) {
		p.add(inPreDeployTimeout, "is for pre-deploy-command; run-task's task is waited for up to timeout (wait-for-minutes), as the deploy action waits for it")
	}
	pd := &deployer.PreDeploy{
		Mode:      deployer.PreDeployRunTask,
		Overrides: p.containerOverrides(),
		StartedBy: cmp.Or(p.startedByOf(inRunTaskStartedBy), runTaskStartedBy),
		Tags:      p.taskTagsOf(inRunTaskTags),
		Detach:    !p.boolean(inWaitForTaskStopped, false),
	}
	pd.Network, pd.AssignPublicIP = p.runTaskNetwork(cfg.RegisterOnly)
	pd.LaunchType, pd.CapacityProviderStrategy = p.runTaskPlacement()
	if pd.Detach && !cfg.RegisterOnly {
		p.notice(inWaitForTaskStopped, "is not true: the service is updated as soon as the one-off task has started, whatever it exits with (as the deploy action does); wait-for-task-stopped: true updates it only after every container of the task exits 0")
	}
	return pd
}

// emptyDefault reports whether v, given for a run-task input without
// run-task: true, asks for nothing: false, or an empty JSON array or
// object (what workflows copy from the deploy action's tests and README).
func emptyDefault(name, v string) bool {
	compact := strings.Join(strings.Fields(v), "")
	return (name == inWaitForTaskStopped && strings.EqualFold(v, "false")) || compact == "[]" || compact == "{}"
}

// maxOverrides is RunTask's limit on the overrides' JSON
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskOverride.html).
const maxOverrides = 8192

// containerOverrides parses run-task-container-overrides: a JSON array of
// ContainerOverride objects in the ECS API's shape, each naming its
// container once.
func (p *inputParser) containerOverrides() []types.ContainerOverride {
	s := p.raw(inRunTaskContainerOverrides)
	if s == "" {
		return nil
	}
	var out []types.ContainerOverride
	if err := taskdef.DecodeShape(s, schemas.TaskOverride.Member("containerOverrides"), &out); err != nil {
		p.add(inRunTaskContainerOverrides, err.Error())
		return nil
	}
	seen := map[string]bool{}
	for i, co := range out {
		name := aws.ToString(co.Name)
		switch {
		case name == "":
			p.add(inRunTaskContainerOverrides, fmt.Sprintf("[%d].name: every override names its container", i))
		case seen[name]:
			p.add(inRunTaskContainerOverrides, fmt.Sprintf("[%d].name: container %q is overridden twice", i, report.Truncate(name, 80)))
		}
		seen[name] = true
	}
	if b, _ := json.Marshal(types.TaskOverride{ContainerOverrides: out}); len(b) > maxOverrides {
		p.add(inRunTaskContainerOverrides, fmt.Sprintf("%d characters of overrides; RunTask takes at most %d", len(b), maxOverrides))
	}
	return out
}

// The limits of an awsvpc configuration
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_AwsVpcConfiguration.html).
const (
	maxSubnets        = 16
	maxSecurityGroups = 5
)

// runTaskNetwork parses run-task-subnets, run-task-security-groups
// (comma-separated IDs) and run-task-assign-public-IP. With subnets they
// make the task's own awsvpc configuration, as the deploy action builds
// it; assign-public-IP alone changes a copy of the service's. Security
// groups without subnets are an error (ECS needs subnets), as is a public
// IP with no awsvpc configuration to put it in (no service, no subnets);
// DISABLED there is ECS's default and asks for nothing.
func (p *inputParser) runTaskNetwork(registerOnly bool) (*types.NetworkConfiguration, types.AssignPublicIp) {
	subnets := p.idList(inRunTaskSubnets, "subnet-", "subnet", maxSubnets)
	groups := p.idList(inRunTaskSecurityGroups, "sg-", "security group", maxSecurityGroups)
	var public types.AssignPublicIp
	if s := p.raw(inRunTaskAssignPublicIP); s != "" {
		public = types.AssignPublicIp(p.enum(inRunTaskAssignPublicIP, "", string(types.AssignPublicIpEnabled), string(types.AssignPublicIpDisabled)))
	}
	switch {
	case len(subnets) > 0:
		return &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: subnets, SecurityGroups: groups, AssignPublicIp: public}}, ""
	case len(groups) > 0:
		p.add(inRunTaskSecurityGroups, "needs run-task-subnets: ECS takes no awsvpc configuration without subnets")
	case registerOnly && public == types.AssignPublicIpEnabled:
		p.add(inRunTaskAssignPublicIP, "ENABLED needs run-task-subnets: without service there is no network configuration to put it in")
	case registerOnly:
		return nil, "" // DISABLED is ECS's default
	}
	return nil, public
}

// idList parses a comma-separated list of AWS resource IDs with prefix
// (subnet-, sg-), at most limit of them.
func (p *inputParser) idList(name, prefix, what string, limit int) []string {
	var out []string
	for _, f := range strings.Split(p.raw(name), ",") {
		id := strings.TrimSpace(f)
		if id == "" {
			continue
		}
		if !strings.HasPrefix(id, prefix) || len(id) == len(prefix) || len(id) > 64 || strings.Trim(id[len(prefix):], "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
			p.add(name, fmt.Sprintf("%q is not a %s ID (%s followed by letters and digits)", report.Truncate(id, 80), what, prefix))
			continue
		}
		out = append(out, id)
	}
	if len(out) > limit {
		p.add(name, fmt.Sprintf("%d %ss; a task takes at most %d", len(out), what, limit))
	}
	return out
}

// runTaskPlacement parses run-task-launch-type and
// run-task-capacity-provider-strategy (a JSON array of capacity provider
// strategy items). As the deploy action documents, the strategy wins
// when both are set; a notice says the launch type is not used.
func (p *inputParser) runTaskPlacement() (types.LaunchType, []types.CapacityProviderStrategyItem) {
	var lt types.LaunchType
	if s := p.raw(inRunTaskLaunchType); s != "" {
		var values []string
		for _, v := range types.LaunchType("").Values() {
			values = append(values, string(v))
		}
		lt = types.LaunchType(p.enum(inRunTaskLaunchType, "", values...))
	}
	var cps []types.CapacityProviderStrategyItem
	if s := p.raw(inRunTaskCapacityProviderStrategy); s != "" {
		if err := taskdef.DecodeShape(s, schemas.RunTaskRequest.Member("capacityProviderStrategy"), &cps); err != nil {
			p.add(inRunTaskCapacityProviderStrategy, err.Error())
			return lt, nil
		}
		for i, c := range cps {
			switch {
			case aws.ToString(c.CapacityProvider) == "":
				p.add(inRunTaskCapacityProviderStrategy, fmt.Sprintf("[%d].capacityProvider: required", i))
			case c.Weight < 0 || c.Weight > 1000:
				p.add(inRunTaskCapacityProviderStrategy, fmt.Sprintf("[%d].weight: %d is out of range (0 to 1000)", i, c.Weight))
			case c.Base < 0 || c.Base > 100000:
				p.add(inRunTaskCapacityProviderStrategy, fmt.Sprintf("[%d].base: %d is out of range (0 to 100000)", i, c.Base))
			}
		}
		if len(cps) > 0 && lt != "" {
			p.notice(inRunTaskLaunchType, fmt.Sprintf("%s is not used: run-task-capacity-provider-strategy is set, and RunTask takes one of the two (the deploy action applies the launch type only without a strategy)", lt))
			lt = ""
		}
	}
	return lt, cps
}

// preDeploy parses pre-deploy-command, pre-deploy-container and
// pre-deploy-timeout; nil when there is no pre-deploy task.
func (p *inputParser) preDeploy() *deployer.PreDeploy {
	s, container := p.raw(inPreDeployCommand), p.raw(inPreDeployContainer)
	timeout := p.duration(inPreDeployTimeout, deployer.DefaultPreDeployTimeout, time.Second, maxDuration)
	if s == "" {
		if p.runTaskOn() {
			return nil // runTask says which of them do not apply
		}
		for _, name := range []string{inPreDeployContainer, inPreDeployStartedBy, inPreDeployTags} {
			if p.raw(name) != "" {
				p.add(name, "is set but pre-deploy-command is not: give the command to run")
			}
		}
		return nil
	}
	cmd, err := deployer.ParseCommand(s)
	if err != nil {
		p.add(inPreDeployCommand, err.Error())
	}
	if container != "" && !validECSName(container) {
		p.add(inPreDeployContainer, fmt.Sprintf("%q is not a container name (up to 255 letters, numbers, hyphens and underscores)", report.Truncate(container, 80)))
	}
	return &deployer.PreDeploy{Command: cmd, Container: container, Timeout: timeout, StartedBy: p.startedByOf(inPreDeployStartedBy), Tags: p.taskTagsOf(inPreDeployTags)}
}

// startedByOf parses a task's startedBy input (pre-deploy-started-by,
// run-task-started-by): up to 128 letters, numbers, hyphens, underscores
// and slashes, as RunTask takes it.
func (p *inputParser) startedByOf(name string) string {
	s := p.raw(name)
	if len(s) > 128 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/") != "" {
		p.add(name, fmt.Sprintf("%q is not a startedBy (up to 128 letters, numbers, hyphens, underscores and slashes)", report.Truncate(s, 140)))
		return ""
	}
	return s
}

// taskTagsOf parses a task's tags input (pre-deploy-tags, run-task-tags):
// a JSON array of {"key", "value"} objects, at most 50, none with the
// reserved aws: prefix
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html).
func (p *inputParser) taskTagsOf(name string) []types.Tag {
	s := p.raw(name)
	if s == "" {
		return nil
	}
	var tags []types.Tag
	if err := taskdef.DecodeShape(s, schemas.RunTaskRequest.Member("tags"), &tags); err != nil {
		p.add(name, err.Error())
		return nil
	}
	if len(tags) == 0 {
		return nil // [] asks for nothing
	}
	if len(tags) > 50 {
		p.add(name, fmt.Sprintf("%d tags; a task takes at most 50", len(tags)))
	}
	for i, t := range tags {
		k, v := aws.ToString(t.Key), aws.ToString(t.Value)
		switch {
		case k == "" || len(k) > 128:
			p.add(name, fmt.Sprintf("[%d].key: want 1 to 128 characters", i))
		case len(k) >= 4 && strings.EqualFold(k[:4], "aws:"):
			p.add(name, fmt.Sprintf("[%d].key: %q has the prefix aws:, which is reserved for AWS", i, report.Truncate(k, 40)))
		case len(v) > 256:
			p.add(name, fmt.Sprintf("[%d].value: at most 256 characters", i))
		}
	}
	return tags
}
