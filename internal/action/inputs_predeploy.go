package action

import (
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

// preDeployInputs parses the pre-deploy task's inputs.
func (p *inputParser) preDeployInputs(out *parsed, _ parseOptions) {
	out.Config.PreDeploy = p.preDeploy()
}

// preDeploy parses pre-deploy-command, pre-deploy-container and
// pre-deploy-timeout; nil when there is no pre-deploy task.
func (p *inputParser) preDeploy() *deployer.PreDeploy {
	s, container := p.raw(inPreDeployCommand), p.raw(inPreDeployContainer)
	timeout := p.duration(inPreDeployTimeout, deployer.DefaultPreDeployTimeout, time.Second, maxDuration)
	if s == "" {
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
	return &deployer.PreDeploy{Command: cmd, Container: container, Timeout: timeout, StartedBy: p.startedBy(), Tags: p.taskTags()}
}

// startedBy parses pre-deploy-started-by (the deploy action's
// run-task-started-by): up to 128 letters, numbers, hyphens, underscores
// and slashes, as RunTask takes it.
func (p *inputParser) startedBy() string {
	s := p.raw(inPreDeployStartedBy)
	if len(s) > 128 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/") != "" {
		p.add(inPreDeployStartedBy, fmt.Sprintf("%q is not a startedBy (up to 128 letters, numbers, hyphens, underscores and slashes)", report.Truncate(s, 140)))
		return ""
	}
	return s
}

// taskTags parses pre-deploy-tags (the deploy action's run-task-tags): a
// JSON array of {"key", "value"} objects, at most 50, none with the
// reserved aws: prefix
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html).
func (p *inputParser) taskTags() []types.Tag {
	s := p.raw(inPreDeployTags)
	if s == "" {
		return nil
	}
	var tags []types.Tag
	if err := taskdef.DecodeShape(s, schemas.RunTaskRequest.Member("tags"), &tags); err != nil {
		p.add(inPreDeployTags, err.Error())
		return nil
	}
	if len(tags) > 50 {
		p.add(inPreDeployTags, fmt.Sprintf("%d tags; a task takes at most 50", len(tags)))
	}
	for i, t := range tags {
		k, v := aws.ToString(t.Key), aws.ToString(t.Value)
		switch {
		case k == "" || len(k) > 128:
			p.add(inPreDeployTags, fmt.Sprintf("[%d].key: want 1 to 128 characters", i))
		case len(k) >= 4 && strings.EqualFold(k[:4], "aws:"):
			p.add(inPreDeployTags, fmt.Sprintf("[%d].key: %q has the prefix aws:, which is reserved for AWS", i, report.Truncate(k, 40)))
		case len(v) > 256:
			p.add(inPreDeployTags, fmt.Sprintf("[%d].value: at most 256 characters", i))
		}
	}
	return tags
}
