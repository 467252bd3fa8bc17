package main

import (
	"fmt"
	"time"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/report"
)

// The inputs of the pre-deploy task (a migration run from the new revision
// before the service changes).
const (
	inPreDeployCommand   = "pre-deploy-command"
	inPreDeployContainer = "pre-deploy-container"
	inPreDeployTimeout   = "pre-deploy-timeout"
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
		if container != "" {
			p.add(inPreDeployContainer, "is set but pre-deploy-command is not: give the command to run")
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
	return &deployer.PreDeploy{Command: cmd, Container: container, Timeout: timeout}
}
