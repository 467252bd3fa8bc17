package deployer

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// scriptedECS is a unit seam: DescribeServices answers from a script (the
// last answer repeats), other calls from fixed replies. It records the
// UpdateService inputs. The simulator tests cover the real protocol.
type scriptedECS struct {
	mu       sync.Mutex
	services []func(updates int) types.Service
	calls    int
	updates  []*ecs.UpdateServiceInput
	stopped  []types.Task
}

var _ ECSClient = (*scriptedECS)(nil)

const (
	oldTD = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
	newTD = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
)

func dep(id, status, td string, running, desired, failed int32, state types.DeploymentRolloutState) types.Deployment {
	return types.Deployment{Id: aws.String(id), Status: aws.String(status), TaskDefinition: aws.String(td),
		RunningCount: running, DesiredCount: desired, FailedTasks: failed, RolloutState: state, CreatedAt: aws.Time(time.Now())}
}

func svc(cfg *types.DeploymentConfiguration, deps ...types.Deployment) types.Service {
	td := oldTD
	for _, d := range deps {
		if aws.ToString(d.Status) == "PRIMARY" {
			td = aws.ToString(d.TaskDefinition)
		}
	}
	return types.Service{ServiceName: aws.String("web"), Status: aws.String("ACTIVE"), TaskDefinition: aws.String(td),
		DesiredCount: 2, DeploymentConfiguration: cfg, Deployments: deps}
}

func (f *scriptedECS) DescribeServices(_ context.Context, _ *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := min(f.calls, len(f.services)-1)
	f.calls++
	return &ecs.DescribeServicesOutput{Services: []types.Service{f.services[i](len(f.updates))}}, nil
}

func (f *scriptedECS) DescribeTaskDefinition(_ context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &types.TaskDefinition{
		TaskDefinitionArn: in.TaskDefinition, Family: aws.String("web"), Status: types.TaskDefinitionStatusActive,
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("repo/app:1")}},
	}}, nil
}

func (f *scriptedECS) RegisterTaskDefinition(context.Context, *ecs.RegisterTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	return &ecs.RegisterTaskDefinitionOutput{TaskDefinition: &types.TaskDefinition{TaskDefinitionArn: aws.String(newTD)}}, nil
}

func (f *scriptedECS) DeregisterTaskDefinition(context.Context, *ecs.DeregisterTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error) {
	return &ecs.DeregisterTaskDefinitionOutput{}, nil
}

func (f *scriptedECS) UpdateService(_ context.Context, in *ecs.UpdateServiceInput, _ ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	f.mu.Lock()
	f.updates = append(f.updates, in)
	n := len(f.updates)
	f.mu.Unlock()
	id := "ecs-svc/ours"
	if n > 1 {
		id = "ecs-svc/rollback"
	}
	s := svc(nil, dep(id, "PRIMARY", aws.ToString(in.TaskDefinition), 0, 2, 0, types.DeploymentRolloutStateInProgress))
	return &ecs.UpdateServiceOutput{Service: &s}, nil
}

func (f *scriptedECS) ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var arns []string
	for _, t := range f.stopped {
		arns = append(arns, aws.ToString(t.TaskArn))
	}
	return &ecs.ListTasksOutput{TaskArns: arns}, nil
}

func (f *scriptedECS) RunTask(context.Context, *ecs.RunTaskInput, ...func(*ecs.Options)) (*ecs.RunTaskOutput, error) {
	panic("scriptedECS: RunTask is not scripted")
}

func (f *scriptedECS) UpdateExpressGatewayService(context.Context, *ecs.UpdateExpressGatewayServiceInput, ...func(*ecs.Options)) (*ecs.UpdateExpressGatewayServiceOutput, error) {
	panic("scriptedECS: UpdateExpressGatewayService is not scripted")
}

func (f *scriptedECS) StopTask(context.Context, *ecs.StopTaskInput, ...func(*ecs.Options)) (*ecs.StopTaskOutput, error) {
	panic("scriptedECS: StopTask is not scripted")
}

func (f *scriptedECS) DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &ecs.DescribeTasksOutput{Tasks: append([]types.Task(nil), f.stopped...)}, nil
}

func quickConfig() Config {
	return Config{Service: "web", Cluster: "prod", Images: []ContainerImage{{Image: "repo/app:2"}},
		Timeout: 2 * time.Second, RollbackTimeout: 2 * time.Second, PollInterval: 5 * time.Millisecond,
		FailedTasksThreshold: 1, Rollback: true, Wait: true, RollingDefaults: true}
}

var idle = func(int) types.Service {
	return svc(nil, dep("ecs-svc/old", "PRIMARY", oldTD, 2, 2, 0, types.DeploymentRolloutStateCompleted))
}

// TestStaleReadAfterUpdate: a read right after the update that does not
// show our deployment yet is not someone else's takeover.
func TestStaleReadAfterUpdate(t *testing.T) {
	t.Parallel()
	f := &scriptedECS{services: []func(int) types.Service{
		idle, // preflight
		idle, // stale: our deployment not visible yet
		func(int) types.Service {
			return svc(nil, dep("ecs-svc/ours", "PRIMARY", newTD, 2, 2, 0, types.DeploymentRolloutStateCompleted))
		},
	}}
	synctest.Test(t, func(t *testing.T) { // the polls run on a fake clock
		res, err := New(f, nil).Deploy(context.Background(), quickConfig())
		if err != nil || res.Status != StatusSucceeded {
			t.Fatalf("got %v %q %q, want succeeded", err, res.Status, res.Reason)
		}
	})
}

// TestCircuitBreakerFailedStillPrimary: ECS marks our deployment FAILED
// (its failed count past our threshold) a poll before its own rollback
// shows; we must not roll back a second time.
func TestCircuitBreakerFailedStillPrimary(t *testing.T) {
	t.Parallel()
	cb := &types.DeploymentConfiguration{
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		Alarms:                   &types.DeploymentAlarms{Enable: false, Rollback: false}, // no alarmNames, as some endpoints describe it
	}
	failed := dep("ecs-svc/ours", "PRIMARY", newTD, 0, 2, 3, types.DeploymentRolloutStateFailed)
	failed.RolloutStateReason = aws.String("ECS deployment circuit breaker: tasks failed to start.")
	f := &scriptedECS{services: []func(int) types.Service{
		func(int) types.Service {
			return svc(cb, dep("ecs-svc/old", "PRIMARY", oldTD, 2, 2, 0, types.DeploymentRolloutStateCompleted))
		},
		func(int) types.Service { return svc(cb, failed) },
		func(int) types.Service {
			ours := failed
			ours.Status = aws.String("ACTIVE")
			return svc(cb, dep("ecs-svc/ecs-rollback", "PRIMARY", oldTD, 1, 2, 0, types.DeploymentRolloutStateInProgress), ours)
		},
		func(int) types.Service {
			return svc(cb, dep("ecs-svc/ecs-rollback", "PRIMARY", oldTD, 2, 2, 0, types.DeploymentRolloutStateCompleted))
		},
	}}
	var res Result
	var err error
	synctest.Test(t, func(t *testing.T) { res, err = New(f, nil).Deploy(context.Background(), quickConfig()) })
	if err == nil || res.Status != StatusRolledBack {
		t.Fatalf("got %v %q %q, want rolled-back", err, res.Status, res.Reason)
	}
	if len(f.updates) != 1 {
		t.Errorf("UpdateService calls: got %d, want 1 (ours only; ECS rolled back)", len(f.updates))
	}
	if res.RollbackDeploymentID != "ecs-svc/ecs-rollback" {
		t.Errorf("rollback deployment: got %q, want ECS's", res.RollbackDeploymentID)
	}
	if a := f.updates[0].DeploymentConfiguration.Alarms; a == nil || a.AlarmNames == nil {
		t.Errorf("alarms sent without alarmNames: %+v", a)
	}
}

// TestStoppingTaskLookedAtAgain: a task first seen while still stopping
// (no stop code yet) is judged again once it has stopped.
func TestStoppingTaskLookedAtAgain(t *testing.T) {
	t.Parallel()
	stopping := types.Task{TaskArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task/prod/t1"), LastStatus: aws.String("DEACTIVATING"), DesiredStatus: aws.String("STOPPED")}
	f := &scriptedECS{}
	w := &rollingJudge{d: New(f, nil), cluster: "prod", id: "ecs-svc/ours", threshold: 1, stopped: map[string]bool{}}
	f.stopped = []types.Task{stopping}
	if n, err := w.checkStopped(context.Background(), w.reachedThreshold); err != nil || n != 0 {
		t.Fatalf("while stopping: got %d, %v; want 0, nil", n, err)
	}
	crashed := stopping
	crashed.LastStatus = aws.String("STOPPED")
	crashed.StopCode = types.TaskStopCodeEssentialContainerExited
	crashed.StoppedReason = aws.String("Essential container in task exited")
	f.stopped = []types.Task{crashed}
	if n, err := w.checkStopped(context.Background(), w.reachedThreshold); err != nil || n != 1 {
		t.Fatalf("once stopped: got %d, %v; want 1, nil", n, err)
	}
}
