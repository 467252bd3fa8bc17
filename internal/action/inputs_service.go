package action

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/report"
)

// The inputs that change the service's own settings along with its
// revision (the UpdateService call's other members).
const (
	inMinimumHealthyPercent = "minimum-healthy-percent"
	inMaximumPercent        = "maximum-percent"
	inForceNewDeployment    = "force-new-deployment"
	inDesiredCount          = "desired-count"
	inEnableECSManagedTags  = "enable-ecs-managed-tags"
	inPropagateTags         = "propagate-tags"
	// enable-execute-command: the official deploy action's users' ask
	// #327 (open since 2022), not an input of that action.
	inEnableExecuteCommand = "enable-execute-command"
)

// propagateValues are the values propagate-tags takes.
var propagateValues = []types.PropagateTags{types.PropagateTagsTaskDefinition, types.PropagateTagsService, types.PropagateTagsNone}

// serviceInputs parses the service settings: minimum-healthy-percent,
// maximum-percent, force-new-deployment, desired-count,
// enable-ecs-managed-tags, propagate-tags and enable-execute-command.
func (p *inputParser) serviceInputs(out *parsed, _ parseOptions) {
	cfg := &out.Config
	cfg.MinimumHealthyPercent = p.percent(inMinimumHealthyPercent, 0, 100)
	cfg.MaximumPercent = p.percent(inMaximumPercent, 100, 200)
	// Empty inputs leave the service's own percentages alone (as the
	// deploy action does): nothing is sent for them, so a ROLLING service
	// at 50/150 stays at 50/150. deployer.Config.RollingDefaults stays off.
	if lo, hi := cfg.MinimumHealthyPercent, cfg.MaximumPercent; hi != nil && *hi == 100 && lo != nil && *lo == 100 {
		p.add(inMaximumPercent, "100 together with minimum-healthy-percent 100 leaves ECS no room to replace a task; raise maximum-percent or lower minimum-healthy-percent")
	}
	cfg.ForceNewDeployment = p.boolean(inForceNewDeployment, true)
	if s := p.raw(inDesiredCount); s != "" {
		n, ok := p.parseInt(inDesiredCount, s)
		if ok {
			if n < 0 || n > 1<<31-1 {
				p.add(inDesiredCount, fmt.Sprintf("%d is out of range (0 or more)", n))
			} else {
				c := int32(n)
				cfg.DesiredCount = &c
			}
		}
	}
	if s := p.raw(inEnableECSManagedTags); s != "" {
		if b, ok := p.parseBool(inEnableECSManagedTags, s); ok {
			cfg.EnableECSManagedTags = &b
		}
	}
	cfg.PropagateTags = p.propagateTags()
	if s := p.raw(inEnableExecuteCommand); s != "" {
		if b, ok := p.parseBool(inEnableExecuteCommand, s); ok {
			cfg.EnableExecuteCommand = &b
		}
	}
}

func (p *inputParser) propagateTags() types.PropagateTags {
	s := p.raw(inPropagateTags)
	if s == "" {
		return ""
	}
	for _, v := range propagateValues {
		if strings.EqualFold(s, string(v)) {
			return v
		}
	}
	p.add(inPropagateTags, fmt.Sprintf("%q is not one of TASK_DEFINITION, SERVICE, NONE", report.Truncate(s, 80)))
	return ""
}
