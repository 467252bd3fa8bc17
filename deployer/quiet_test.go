package deployer

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestQuietProgressOnAHealthyTenMinuteDeploy: a deployment that takes ten
// minutes to become healthy, polled every 5 s (120 polls), reports
// progress when its counts change and otherwise once a minute: at most
// 15 progress events, not one per poll. The fake clock (synctest) runs
// the ten minutes at once.
func TestQuietProgressOnAHealthyTenMinuteDeploy(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ours := func(updates int) types.Service {
			if updates == 0 {
				return idle(0)
			}
			el := time.Since(start)
			switch {
			case el < 3*time.Minute:
				return svc(nil, dep("ecs-svc/ours", "PRIMARY", newTD, 0, 2, 0, types.DeploymentRolloutStateInProgress), dep("ecs-svc/old", "ACTIVE", oldTD, 2, 2, 0, types.DeploymentRolloutStateCompleted))
			case el < 9*time.Minute:
				return svc(nil, dep("ecs-svc/ours", "PRIMARY", newTD, 1, 2, 0, types.DeploymentRolloutStateInProgress), dep("ecs-svc/old", "ACTIVE", oldTD, 1, 1, 0, types.DeploymentRolloutStateCompleted))
			case el < 10*time.Minute:
				return svc(nil, dep("ecs-svc/ours", "PRIMARY", newTD, 2, 2, 0, types.DeploymentRolloutStateInProgress))
			default:
				return svc(nil, dep("ecs-svc/ours", "PRIMARY", newTD, 2, 2, 0, types.DeploymentRolloutStateCompleted))
			}
		}
		f := &scriptedECS{services: []func(int) types.Service{ours}}
		var progress, polls int
		d := New(f, nil, WithReporter(func(ev Event) {
			if ev.Kind == EventProgress {
				progress++
			}
		}))
		cfg := quickConfig()
		cfg.Timeout, cfg.PollInterval = 15*time.Minute, DefaultPollInterval
		res, err := d.Deploy(context.Background(), cfg)
		if err != nil || res.Status != StatusSucceeded {
			t.Fatalf("got %v %q %q, want succeeded", err, res.Status, res.Reason)
		}
		polls = f.calls
		if took := time.Since(start); took < 10*time.Minute {
			t.Fatalf("the deploy took %s of fake time, want at least 10m", took)
		}
		t.Logf("%d polls, %d progress events", polls, progress)
		if progress > 15 {
			t.Errorf("progress events: got %d over %d polls, want at most 15 (on change, and a heartbeat a minute)", progress, polls)
		}
		if progress < 4 {
			t.Errorf("progress events: got %d, want at least the 4 changes (0/2, 1/2, 2/2, COMPLETED)", progress)
		}
	})
}

// missingAfterUpdate answers DescribeServices as ECS does for a service
// deleted after our update: a MISSING failure and no service.
type missingAfterUpdate struct{ *scriptedECS }

func (m missingAfterUpdate) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, opts ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	m.mu.Lock()
	updated := len(m.updates) > 0
	m.mu.Unlock()
	if updated {
		return &ecs.DescribeServicesOutput{Failures: []types.Failure{{Arn: aws.String("arn:aws:ecs:us-east-1:123456789012:service/prod/web"), Reason: aws.String("MISSING")}}}, nil
	}
	return m.scriptedECS.DescribeServices(ctx, in, opts...)
}

// TestServiceMissingMidWatch: a service DescribeServices reports MISSING
// while we watch ends the watch at the first read, not at the timeout.
func TestServiceMissingMidWatch(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := missingAfterUpdate{&scriptedECS{services: []func(int) types.Service{idle}}}
		cfg := quickConfig()
		cfg.Timeout = 10 * time.Minute
		start := time.Now()
		res, err := New(f, nil).Deploy(context.Background(), cfg)
		if err == nil || res.Status != StatusFailed || !strings.Contains(res.Reason, "deleted") {
			t.Fatalf("got %v %q %q, want failed: the service was deleted", err, res.Status, res.Reason)
		}
		if took := time.Since(start); took > time.Minute {
			t.Errorf("the watch took %s of fake time, want it to end at the first read", took)
		}
		if len(f.updates) != 1 {
			t.Errorf("UpdateService calls: got %d, want 1 (no rollback of a deleted service)", len(f.updates))
		}
	})
}
