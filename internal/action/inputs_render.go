package action

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/report"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// The inputs of aws-actions/amazon-ecs-render-task-definition (v1.9), with
// the same names and formats, applied to the revision this step deploys
// (or registers); and the render action's ways to name the revision to
// start from.
const (
	inEnvironmentVariables = "environment-variables"
	inEnvFiles             = "env-files"
	inSecrets              = "secrets"
	inDockerLabels         = "docker-labels"
	inLogDriver            = "log-configuration-log-driver"
	inLogOptions           = "log-configuration-options"
	inCommand              = "command"
	inTaskRoleARN          = "task-role-arn"
	inExecutionRoleARN     = "execution-role-arn"
	inCPU                  = "cpu"
	inMemory               = "memory"

	inTaskDefinitionARN      = "task-definition-arn"
	inTaskDefinitionFamily   = "task-definition-family"
	inTaskDefinitionRevision = "task-definition-revision"
)

// renderContainerInputs are the render inputs that change a container (the
// one named by container-name, or the only one).
var renderContainerInputs = []string{inEnvironmentVariables, inEnvFiles, inSecrets, inDockerLabels, inLogDriver, inLogOptions, inCommand}

// renderChangesContainer reports whether any container-level render input
// is set.
func (p *inputParser) renderChangesContainer() bool {
	for _, name := range renderContainerInputs {
		if p.raw(name) != "" {
			return true
		}
	}
	return false
}

// renderInputs parses the render action's inputs into Config.Render and
// Config.BaseRevision, and checks register-only (no service): it runs
// after every other group, since it checks what they set.
func (p *inputParser) renderInputs(out *parsed, _ parseOptions) {
	cfg := &out.Config
	r := taskdef.Render{Containers: p.containerNames()}
	settings := func(name string) []taskdef.Setting {
		s := p.raw(name)
		if s == "" {
			return nil
		}
		list, err := taskdef.ParseSettings(s)
		p.addAll(name, err)
		return list
	}
	r.Environment = settings(inEnvironmentVariables)
	r.Secrets = settings(inSecrets)
	r.DockerLabels = settings(inDockerLabels)
	r.LogOptions = settings(inLogOptions)
	if s := p.raw(inEnvFiles); s != "" {
		var err error
		r.EnvironmentFiles, err = taskdef.ParseEnvFiles(s)
		p.addAll(inEnvFiles, err)
	}
	if s := p.raw(inLogDriver); s != "" {
		if err := taskdef.CheckLogDriver(s); err != nil {
			p.add(inLogDriver, err.Error())
		}
		r.LogDriver = types.LogDriver(s)
	}
	if s := p.raw(inCommand); s != "" {
		cmd, err := taskdef.SplitCommand(s)
		if err != nil {
			p.add(inCommand, err.Error())
		}
		r.Command = cmd
	}
	for _, in := range []struct {
		name string
		to   *string
	}{{inTaskRoleARN, &r.TaskRoleArn}, {inExecutionRoleARN, &r.ExecutionRoleArn}} {
		if s := p.raw(in.name); s != "" {
			if err := taskdef.CheckRoleARN(s); err != nil {
				p.add(in.name, err.Error())
			}
			*in.to = s
		}
	}
	for _, in := range []struct {
		name string
		cpu  bool
		to   *string
	}{{inCPU, true, &r.Cpu}, {inMemory, false, &r.Memory}} {
		if s := p.raw(in.name); s != "" {
			if err := taskdef.CheckTaskSize(s, in.cpu); err != nil {
				p.add(in.name, err.Error())
			}
			*in.to = s
		}
	}
	if !r.Empty() {
		cfg.Render = &r
		if cfg.Revision != "" {
			p.add(inRevision, fmt.Sprintf("cannot be combined with %s: a promoted revision is deployed as it is", strings.Join(r.Inputs(), ", ")))
		}
		if cfg.Resume != "" {
			p.add(inResume, fmt.Sprintf("deploys nothing, so %s cannot apply", strings.Join(r.Inputs(), ", ")))
		}
	}
	cfg.BaseRevision = p.baseRevision()
	p.registerOnly(out)
}

// containerNames is container-name as the render action takes it: one
// name, or several separated by commas. Each is checked by the image
// group (inputs_image.go); here they only name the containers the render
// inputs change.
func (p *inputParser) containerNames() []string {
	var out []string
	for _, n := range strings.Split(p.raw(inContainerName), ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// addAll records each problem in err (joined, or one) for input name.
func (p *inputParser) addAll(name string, err error) {
	if err == nil {
		return
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	for _, e := range list {
		p.add(name, e.Error())
	}
}

// baseRevision parses task-definition-arn, task-definition-family and
// task-definition-revision (the render action's ways to start from a
// registered revision): "" when none is given or a task-definition file
// is. The precedence is the render action's (its README: the file "takes
// precedence over any other option"; then the ARN; then the family, with
// the revision when given): what is not used is named in a note, as is
// the source used.
//
// task-definition-arn takes what DescribeTaskDefinition takes: a family
// (its latest ACTIVE revision), family:revision or a task definition ARN
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTaskDefinition.html).
// task-definition-revision 0 is no revision, as the render action reads
// it (its tests pass 0 for "none").
func (p *inputParser) baseRevision() string {
	file, arn, family, rev := p.raw(inTaskDefinition), p.raw(inTaskDefinitionARN), p.raw(inTaskDefinitionFamily), p.raw(inTaskDefinitionRevision)
	if rev == "0" {
		rev = ""
	}
	ignored := func(used string, names ...string) {
		var list []string
		for _, n := range names {
			if p.raw(n) != "" {
				list = append(list, n)
			}
		}
		if len(list) > 0 {
			p.notes = append(p.notes, fmt.Sprintf("%s: used; ignoring %s (the render action's precedence: task-definition, then task-definition-arn, then task-definition-family)", used, strings.Join(list, ", ")))
		}
	}
	var base, input string
	switch {
	case file != "":
		ignored(inTaskDefinition, inTaskDefinitionARN, inTaskDefinitionFamily, inTaskDefinitionRevision)
		return ""
	case arn != "":
		if !taskDefinitionRef(arn) {
			p.add(inTaskDefinitionARN, fmt.Sprintf("%q is not a task definition: give a family, family:revision or a task definition ARN (arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>)", report.Truncate(arn, 120)))
			return ""
		}
		ignored(inTaskDefinitionARN, inTaskDefinitionFamily, inTaskDefinitionRevision)
		base, input = arn, inTaskDefinitionARN
	case family != "":
		if !validECSName(family) {
			p.add(inTaskDefinitionFamily, fmt.Sprintf("%q is not a task definition family (up to 255 letters, numbers, hyphens and underscores)", report.Truncate(family, 120)))
			return ""
		}
		base, input = family, inTaskDefinitionFamily
		if rev != "" {
			n, ok := p.parseInt(inTaskDefinitionRevision, rev)
			if !ok {
				return ""
			}
			if n < 1 {
				p.add(inTaskDefinitionRevision, fmt.Sprintf("%d is not a revision (1 or more; 0 or none: the latest ACTIVE one)", n))
				return ""
			}
			base = fmt.Sprintf("%s:%d", family, n)
		}
	case rev != "":
		p.add(inTaskDefinitionRevision, "needs task-definition-family: a revision number alone names no task definition")
		return ""
	default:
		return ""
	}
	if p.raw(inRevision) != "" {
		p.add(input, fmt.Sprintf("cannot be combined with %s: give one revision to start from", inRevision))
	}
	return base
}

// taskDefinitionRef reports whether s names a task definition as
// DescribeTaskDefinition takes it: family, family:revision, or the ARN of
// a revision.
func taskDefinitionRef(s string) bool {
	if strings.HasPrefix(s, "arn:") {
		_, ok := taskdef.Revision(s)
		return ok && strings.Contains(s, ":task-definition/") && validECSName(taskdef.Family(s))
	}
	if family, n, found := strings.Cut(s, ":"); found {
		_, ok := taskdef.Revision(s)
		return ok && validECSName(family) && n != ""
	}
	return validECSName(s)
}

// registerOnly checks a step without service and services, which
// registers a revision and deploys nothing (as the deploy action does
// without service): it needs a revision to register, and takes none of
// the inputs that act on a service.
func (p *inputParser) registerOnly(out *parsed) {
	cfg := &out.Config
	if !cfg.RegisterOnly {
		return
	}
	runTask := p.runTaskOn()
	for _, name := range []string{inRevision, inPreDeployCommand, inResume, inDesiredCount, inServiceEBSVolume, inAlarms, inMinimumHealthyPercent, inMaximumPercent, inEnableECSManagedTags, inPropagateTags, inEnableExecuteCommand, inKeepRevisions} {
		if name == inEnableECSManagedTags && runTask {
			continue // run-task's task takes it, as the deploy action sends it
		}
		if p.raw(name) != "" {
			p.add(name, "needs service: without service (or services) the step only registers a revision")
		}
	}
	if p.raw(inBakeTime) != "" && cfg.BakeTime > 0 {
		p.add(inBakeTime, "needs service: without service (or services) the step only registers a revision")
	}
}
