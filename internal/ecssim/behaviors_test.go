package ecssim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// stoppedTasks describes the tasks a deployment started that have reached
// STOPPED (ListTasks desiredStatus STOPPED also lists those still stopping).
func stoppedTasks(t testing.TB, c *ecs.Client, deploymentID string) []types.Task {
	t.Helper()
	ctx := context.Background()
	var arns []string
	p := ecs.NewListTasksPaginator(c, &ecs.ListTasksInput{Cluster: aws.String("demo"), StartedBy: aws.String(deploymentID), DesiredStatus: types.DesiredStatusStopped})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListTasks: %v", err)
		}
		arns = append(arns, out.TaskArns...)
	}
	var tasks []types.Task
	for len(arns) > 0 {
		n := min(len(arns), 100)
		out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("demo"), Tasks: arns[:n]})
		if err != nil {
			t.Fatalf("DescribeTasks: %v", err)
		}
		for _, tk := range out.Tasks {
			if aws.ToString(tk.LastStatus) == "STOPPED" {
				tasks = append(tasks, tk)
			}
		}
		arns = arns[n:]
	}
	return tasks
}

// stopView is what a test compares about a stopped task.
type stopView struct {
	LastStatus    string
	StopCode      types.TaskStopCode
	StoppedReason string
	ExitCode      *int32
	Reason        string
	Stopped       bool
}

func viewStop(tk types.Task) stopView {
	ct := tk.Containers[0]
	return stopView{
		LastStatus:    aws.ToString(tk.LastStatus),
		StopCode:      tk.StopCode,
		StoppedReason: aws.ToString(tk.StoppedReason),
		ExitCode:      ct.ExitCode,
		Reason:        aws.ToString(ct.Reason),
		Stopped:       tk.StoppedAt != nil,
	}
}

func logLines(t testing.TB, l *cloudwatchlogs.Client, taskArn string) ([]string, error) {
	t.Helper()
	id := taskArn[strings.LastIndex(taskArn, "/")+1:]
	out, err := l.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{
		LogGroupName:  aws.String("/ecs/web"),
		LogStreamName: aws.String("web/app/" + id),
		StartFromHead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, e := range out.Events {
		lines = append(lines, aws.ToString(e.Message))
	}
	return lines, nil
}

// TestFailingBehaviors deploys each failing image with the circuit breaker
// off and checks what ECS would show: the deployment keeps trying, the old
// one keeps serving, and stopped tasks carry the behaviour's reasons.
func TestFailingBehaviors(t *testing.T) {
	t.Parallel()
	sc := demoScenario(t)
	tests := []struct {
		tag       string
		wantStop  stopView
		reasonPfx bool // compare StoppedReason and Reason by prefix
		wantEvent string
		wantLogs  []string // nil: stream must not exist
		// runs: the tasks reach RUNNING before they fail, so a replacement
		// may be counted running at any moment.
		runs bool
	}{
		{
			tag:       "crash",
			wantStop:  stopView{LastStatus: "STOPPED", StopCode: types.TaskStopCodeEssentialContainerExited, StoppedReason: "Essential container in task exited", ExitCode: aws.Int32(1), Stopped: true},
			wantEvent: "(service web) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.",
			wantLogs:  sc.Logs[BehaviorCrash],
		},
		{
			tag:      "oom",
			wantStop: stopView{LastStatus: "STOPPED", StopCode: types.TaskStopCodeEssentialContainerExited, StoppedReason: "Essential container in task exited", ExitCode: aws.Int32(137), Reason: "OutOfMemoryError: Container killed due to memory usage", Stopped: true},
			wantLogs: sc.Logs[BehaviorOOM],
		},
		{
			tag:       "pull",
			wantStop:  stopView{LastStatus: "STOPPED", StopCode: types.TaskStopCodeTaskFailedToStart, StoppedReason: "CannotPullContainerError: pull image manifest has been retried 5 time(s): ", Reason: "CannotPullContainerError: pull image manifest has been retried 5 time(s): ", Stopped: true},
			reasonPfx: true,
		},
		{
			tag:       "unhealthy",
			wantStop:  stopView{LastStatus: "STOPPED", StopCode: types.TaskStopCodeServiceSchedulerInitiated, StoppedReason: "Task failed container health checks", ExitCode: aws.Int32(143), Stopped: true},
			wantEvent: "failed container health checks.",
			wantLogs:  sc.Logs[BehaviorUnhealthy],
			runs:      true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(t, demoScenario(t))
			c, l := clients(srv, 0)
			id, _ := deploy(t, c, "public.ecr.aws/ecs-rollout/web:"+tt.tag)
			svc := waitService(t, c, "demo", "web", 5*time.Second, "3 failed and stopped tasks", func(s types.Service) bool {
				return s.Deployments[0].FailedTasks >= 3 && len(srv.Sim.stoppedOf(id)) >= 3
			})
			d := svc.Deployments[0]
			if aws.ToString(d.Id) != id || d.RolloutState != types.DeploymentRolloutStateInProgress {
				t.Errorf("our deployment: got %s, want %s PRIMARY IN_PROGRESS", fmtDeployments(svc.Deployments), id)
			}
			if d.RunningCount != 0 && !tt.runs {
				t.Errorf("runningCount of the failing deployment: got %d, want 0", d.RunningCount)
			}
			if len(svc.Deployments) != 2 || svc.Deployments[1].RunningCount != 2 {
				t.Errorf("the old deployment should keep serving: %s", fmtDeployments(svc.Deployments))
			}
			tasks := stoppedTasks(t, c, id)
			if len(tasks) < 3 {
				t.Fatalf("stopped tasks: got %d, want >= 3", len(tasks))
			}
			for _, tk := range tasks {
				got := viewStop(tk)
				want := tt.wantStop
				if tt.reasonPfx {
					if strings.HasPrefix(got.StoppedReason, want.StoppedReason) {
						got.StoppedReason = want.StoppedReason
					}
					if strings.HasPrefix(got.Reason, want.Reason) {
						got.Reason = want.Reason
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("stopped task %s (-want +got):\n%s", aws.ToString(tk.TaskArn), diff)
				}
			}
			if tt.wantEvent != "" && !hasEvent(svc.Events, tt.wantEvent) {
				t.Errorf("events: want one containing %q, got:%s", tt.wantEvent, fmtEvents(svc.Events))
			}
			lines, err := logLines(t, l, aws.ToString(tasks[0].TaskArn))
			if tt.wantLogs == nil {
				var nf *logtypes.ResourceNotFoundException
				if !errors.As(err, &nf) {
					t.Errorf("GetLogEvents of a task that never started: got %v, want ResourceNotFoundException", err)
				}
			} else if err != nil {
				t.Errorf("GetLogEvents: %v", err)
			} else if diff := cmp.Diff(tt.wantLogs, lines); diff != "" {
				t.Errorf("log lines (-want +got):\n%s", diff)
			}
		})
	}
}

func hasEvent(es []types.ServiceEvent, substr string) bool {
	for _, e := range es {
		if strings.Contains(aws.ToString(e.Message), substr) {
			return true
		}
	}
	return false
}

// stoppedOf lists the IDs of a deployment's tasks that reached STOPPED.
func (s *Sim) stoppedOf(deploymentID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, cl := range s.cOrder {
		for _, t := range cl.tOrder {
			if t.startedBy == deploymentID && t.last == "STOPPED" {
				ids = append(ids, t.id)
			}
		}
	}
	return ids
}

// TestEventuallyHealthyBehaviors: slow and flaky images still complete.
func TestEventuallyHealthyBehaviors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tag         string
		wantStopped int
	}{
		{"slow", 0},
		{"flaky", 2},
		{"v2", 0}, // no rule: the default behaviour (healthy)
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			t.Parallel()
			srv := NewServer(t, demoScenario(t))
			c, _ := clients(srv, 0)
			id, _ := deploy(t, c, "public.ecr.aws/ecs-rollout/web:"+tt.tag)
			svc := waitService(t, c, "demo", "web", 5*time.Second, "rollout COMPLETED", func(s types.Service) bool {
				return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
			})
			if d := svc.Deployments[0]; aws.ToString(d.Id) != id || d.RunningCount != 2 || d.FailedTasks != 0 {
				t.Errorf("got %s, want %s running 2 failed 0 (failures reset once a task runs)", fmtDeployments(svc.Deployments), id)
			}
			if got := len(stoppedTasks(t, c, id)); got != tt.wantStopped {
				t.Errorf("stopped tasks of ours: got %d, want %d", got, tt.wantStopped)
			}
		})
	}
}

// TestCrashAfterRunning: the rollout completes, then tasks crash; ECS does
// not count tasks that ran in failedTasks, and replaces them.
func TestCrashAfterRunning(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, _ := clients(srv, 0)
	id, _ := deploy(t, c, "public.ecr.aws/ecs-rollout/web:crash-after")
	waitService(t, c, "demo", "web", 5*time.Second, "rollout COMPLETED", func(s types.Service) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	svc := waitService(t, c, "demo", "web", 5*time.Second, "crashed tasks replaced", func(s types.Service) bool {
		return len(srv.Sim.stoppedOf(id)) >= 2 && s.Deployments[0].RunningCount == 2
	})
	if d := svc.Deployments[0]; d.FailedTasks != 0 || d.RolloutState != types.DeploymentRolloutStateCompleted {
		t.Errorf("got %s, want COMPLETED with failedTasks 0", fmtDeployments(svc.Deployments))
	}
	for _, tk := range stoppedTasks(t, c, id) {
		want := stopView{LastStatus: "STOPPED", StopCode: types.TaskStopCodeEssentialContainerExited, StoppedReason: "Essential container in task exited", ExitCode: aws.Int32(1), Stopped: true}
		if diff := cmp.Diff(want, viewStop(tk)); diff != "" {
			t.Errorf("crashed task (-want +got):\n%s", diff)
		}
		if tk.StartedAt == nil {
			t.Errorf("crashed task %s has no startedAt, want one (it ran)", aws.ToString(tk.TaskArn))
		}
	}
}

// TestStuckPending: tasks never leave PENDING; the deployment stays in
// progress with pendingCount = desired.
func TestStuckPending(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testStuckPending)
}

func testStuckPending(t *testing.T) {
	_, c := fakeClockSim(t, demoScenario(t))
	id, _ := deploy(t, c, "public.ecr.aws/ecs-rollout/web:pending")
	waitService(t, c, "demo", "web", 5*time.Second, "2 pending tasks", func(s types.Service) bool {
		return s.Deployments[0].PendingCount == 2
	})
	time.Sleep(time.Minute) // on the fake clock: thousands of pending timings later, still pending
	svc := describeService(t, c, "demo", "web")
	d := svc.Deployments[0]
	if aws.ToString(d.Id) != id || d.PendingCount != 2 || d.RunningCount != 0 || d.RolloutState != types.DeploymentRolloutStateInProgress {
		t.Errorf("got %s, want %s pending 2 running 0 IN_PROGRESS", fmtDeployments(svc.Deployments), id)
	}
	out, err := c.ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String("demo"), StartedBy: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	dt, err := c.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String("demo"), Tasks: out.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range dt.Tasks {
		if got := aws.ToString(tk.LastStatus); got != "PENDING" {
			t.Errorf("task lastStatus: got %s, want PENDING", got)
		}
	}
}
