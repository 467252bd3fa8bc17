package deployer

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// registerSkew is how much earlier than our first attempt (by our clock)
// ECS may have stamped the revision that attempt registered: the two
// clocks differ a little.
const registerSkew = 5 * time.Second

// registerTaskDefinition registers in once, even when an attempt is
// answered with an error after ECS registered it.
//
// RegisterTaskDefinition is not idempotent, and the SDK's retryer retries
// it like any call on a connection error, a timed-out attempt or a 5xx:
// when the lost answer followed a registration, the retry registered a
// second revision, left unused. So the SDK sends one attempt at a time
// here and this loop retries with the client's own retryer (its attempts,
// its backoff, its idea of what is retryable); before each retry after an
// error that may have been applied (anything but throttling), it reads
// the family's latest ACTIVE revision and, when that is what in registers
// (taskdef.Registers) and was registered since the first attempt, returns
// it instead of registering another. A client that does not hand its
// options' retryer over (a test double) gets one attempt.
func (d *Deployer) registerTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput) (*types.TaskDefinition, error) {
	var retryer aws.Retryer
	oneAttempt := func(o *ecs.Options) {
		if o.Retryer != nil {
			retryer = o.Retryer
			o.Retryer = retry.AddWithMaxAttempts(o.Retryer, 1)
		}
	}
	started := d.now()
	for attempt := 1; ; attempt++ {
		out, err := d.ecs.RegisterTaskDefinition(ctx, in, oneAttempt)
		if err == nil {
			if out.TaskDefinition == nil || aws.ToString(out.TaskDefinition.TaskDefinitionArn) == "" {
				return nil, errors.New("the response has no task definition ARN")
			}
			return out.TaskDefinition, nil
		}
		var maxErr *retry.MaxAttemptsError
		if errors.As(err, &maxErr) {
			err = maxErr.Err // our one attempt; the loop counts the attempts
		}
		if retryer == nil || ctx.Err() != nil || attempt >= retryer.MaxAttempts() || !retryer.IsErrorRetryable(err) {
			if retryer != nil && attempt > 1 && attempt >= retryer.MaxAttempts() {
				err = &retry.MaxAttemptsError{Attempt: attempt, Err: err}
			}
			return nil, err
		}
		delay, derr := retryer.RetryDelay(attempt, err)
		if derr != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(delay):
		}
		if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
			continue // refused, not applied
		}
		if td := d.registeredBefore(ctx, in, started); td != nil {
			d.emit(EventInfo, "RegisterTaskDefinition answered an error (%v), but had registered %s: using it rather than registering another revision",
				err, taskdef.ShortRevision(aws.ToString(td.TaskDefinitionArn)))
			return td, nil
		}
	}
}

// registeredBefore returns the family's latest ACTIVE revision when an
// earlier attempt of registering in made it (see registerTaskDefinition),
// nil otherwise (also when it cannot be read: registering again risks an
// unused revision, not a wrong deployment).
func (d *Deployer) registeredBefore(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, started time.Time) *types.TaskDefinition {
	out, err := d.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: in.Family,
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil || out.TaskDefinition == nil || aws.ToString(out.TaskDefinition.TaskDefinitionArn) == "" {
		return nil
	}
	td := out.TaskDefinition
	if td.RegisteredAt == nil || td.RegisteredAt.Before(started.Add(-registerSkew)) || !taskdef.Registers(in, td, out.Tags) {
		return nil
	}
	return td
}
