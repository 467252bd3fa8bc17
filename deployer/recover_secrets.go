package deployer

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// recoverySecretsTimeout bounds the reads of reportRecoverySecrets: they
// guard what the post step prints, and must not hold up the rollback it
// owes.
const recoverySecretsTimeout = 5 * time.Second

// reportRecoverySecrets reports (EventSecrets) the credentials of the
// revisions a checkpoint names, ours and the rollback target, for every
// service of the step, so that what the post step prints (a pre-deploy
// task's stopped reason, a hook's message, an error from AWS) is redacted
// as the main step's output was: the post step starts with no task
// definition of its own. One DescribeTaskDefinition per distinct
// revision; a revision that cannot be read is skipped (this is a guard,
// not a check).
func (d *Deployer) reportRecoverySecrets(ctx context.Context, cp Checkpoint) {
	ctx, cancel := context.WithTimeout(ctx, recoverySecretsTimeout)
	defer cancel()
	seen := map[string]bool{}
	var secrets []string
	var walk func(cp Checkpoint)
	walk = func(cp Checkpoint) {
		for _, ref := range []string{cp.TaskDefinition, cp.RollbackTarget} {
			if ref == "" || seen[ref] {
				continue
			}
			seen[ref] = true
			out, err := d.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
			if err != nil || out.TaskDefinition == nil {
				continue
			}
			secrets = append(secrets, taskdef.MaskValues(taskdef.RegisterInput(out.TaskDefinition, nil))...)
		}
		for _, t := range cp.Targets {
			walk(t)
		}
	}
	walk(cp)
	if len(secrets) > 0 {
		d.report(Event{Time: d.now(), Kind: EventSecrets, Secrets: secrets})
	}
}
