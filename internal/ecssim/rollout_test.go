package ecssim

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

var deploymentIDRe = regexp.MustCompile(`^ecs-svc/[1-9][0-9]{18}$`)

func TestHealthyRollout(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, _ := clients(srv, 0)
	ctx := context.Background()

	before := describeService(t, c, "demo", "web")
	if len(before.Deployments) != 1 || before.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
		t.Fatalf("initial deployments: got %s, want one COMPLETED", fmtDeployments(before.Deployments))
	}
	oldID := aws.ToString(before.Deployments[0].Id)

	id, arn := deploy(t, c, "public.ecr.aws/ecs-rollout/web:good")
	if !deploymentIDRe.MatchString(id) {
		t.Errorf("deployment ID %q does not look like ecs-svc/<19 digits>", id)
	}
	if got, want := arn, "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"; got != want {
		t.Errorf("registered ARN: got %q, want %q", got, want)
	}

	svc := waitService(t, c, "demo", "web", 5*time.Second, "rollout COMPLETED", func(s types.Service) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	d := svc.Deployments[0]
	if aws.ToString(d.Id) != id {
		t.Fatalf("remaining deployment: got %s, want %s", aws.ToString(d.Id), id)
	}
	if d.RunningCount != 2 || d.PendingCount != 0 || d.FailedTasks != 0 || d.DesiredCount != 2 {
		t.Errorf("counts: got %s, want desired 2 running 2 pending 0 failed 0", fmtDeployments(svc.Deployments))
	}
	if got, want := aws.ToString(d.RolloutStateReason), "ECS deployment "+id+" completed."; got != want {
		t.Errorf("rolloutStateReason: got %q, want %q", got, want)
	}
	if got := aws.ToString(svc.TaskDefinition); got != arn {
		t.Errorf("service taskDefinition: got %q, want %q", got, arn)
	}
	if got, want := aws.ToString(svc.Events[0].Message), "(service web) has reached a steady state."; got != want {
		t.Errorf("newest event: got %q, want %q", got, want)
	}
	if got, want := aws.ToString(svc.Events[1].Message), "(service web) (deployment "+id+") deployment completed."; got != want {
		t.Errorf("second newest event: got %q, want %q", got, want)
	}
	var started, stopped int
	for _, e := range svc.Events {
		m := aws.ToString(e.Message)
		if regexp.MustCompile(`^\(service web\) has started \d+ tasks: (\(task [0-9a-f]{32}\) ?)+\.$`).MatchString(m) {
			started++
		}
		if regexp.MustCompile(`^\(service web\) has stopped \d+ running tasks: (\(task [0-9a-f]{32}\) ?)+\.$`).MatchString(m) {
			stopped++
		}
	}
	if started == 0 || stopped == 0 {
		t.Errorf("events: got %d started and %d stopped events, want both > 0:%s", started, stopped, fmtEvents(svc.Events))
	}

	// Our tasks run healthy.
	lt, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("demo"), StartedBy: aws.String(id)})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if len(lt.TaskArns) != 2 {
		t.Fatalf("ListTasks startedBy %s: got %d tasks, want 2", id, len(lt.TaskArns))
	}
	dt, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("demo"), Tasks: lt.TaskArns})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	for _, tk := range dt.Tasks {
		if aws.ToString(tk.LastStatus) != "RUNNING" || tk.HealthStatus != types.HealthStatusHealthy ||
			aws.ToString(tk.Group) != "service:web" || aws.ToString(tk.TaskDefinitionArn) != arn ||
			aws.ToString(tk.Containers[0].Image) != "public.ecr.aws/ecs-rollout/web:good" {
			t.Errorf("task %s: got status %s health %s group %s td %s, want RUNNING HEALTHY service:web %s",
				aws.ToString(tk.TaskArn), aws.ToString(tk.LastStatus), tk.HealthStatus, aws.ToString(tk.Group), aws.ToString(tk.TaskDefinitionArn), arn)
		}
	}

	// The old tasks were stopped by the scheduler and stay listable.
	lt, err = c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("demo"), StartedBy: aws.String(oldID), DesiredStatus: types.DesiredStatusStopped})
	if err != nil {
		t.Fatalf("ListTasks STOPPED: %v", err)
	}
	if len(lt.TaskArns) != 2 {
		t.Fatalf("ListTasks STOPPED startedBy %s: got %d tasks, want 2", oldID, len(lt.TaskArns))
	}
	dt, err = c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("demo"), Tasks: lt.TaskArns})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	for _, tk := range dt.Tasks {
		wantReason := "Scaling activity initiated by (deployment " + id + ")"
		if tk.StopCode != types.TaskStopCodeServiceSchedulerInitiated || aws.ToString(tk.StoppedReason) != wantReason {
			t.Errorf("old task: got stopCode %s reason %q, want ServiceSchedulerInitiated %q", tk.StopCode, aws.ToString(tk.StoppedReason), wantReason)
		}
	}
}

func TestCrashRolloutWithoutCircuitBreaker(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, _ := clients(srv, 0)
	ctx := context.Background()
	id, _ := deploy(t, c, "public.ecr.aws/ecs-rollout/web:crash")

	svc := waitService(t, c, "demo", "web", 5*time.Second, "3 failed tasks", func(s types.Service) bool {
		return s.Deployments[0].FailedTasks >= 3
	})
	if got := svc.Deployments[0].RolloutState; got != types.DeploymentRolloutStateInProgress {
		t.Errorf("rolloutState without circuit breaker: got %s, want IN_PROGRESS", got)
	}
	if len(svc.Deployments) != 2 || svc.Deployments[1].RunningCount != 2 {
		t.Errorf("old deployment should keep 2 running tasks (minimumHealthyPercent 100): %s", fmtDeployments(svc.Deployments))
	}
	lt, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("demo"), StartedBy: aws.String(id), DesiredStatus: types.DesiredStatusStopped})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if len(lt.TaskArns) < 3 {
		t.Fatalf("stopped tasks of %s: got %d, want >= 3", id, len(lt.TaskArns))
	}
	dt, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("demo"), Tasks: lt.TaskArns})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	for _, tk := range dt.Tasks {
		ct := tk.Containers[0]
		if tk.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToString(tk.StoppedReason) != "Essential container in task exited" ||
			aws.ToInt32(ct.ExitCode) != 1 || aws.ToString(tk.StartedBy) != id {
			t.Errorf("crashed task: got stopCode %s reason %q exit %v startedBy %s, want EssentialContainerExited, exit 1, %s",
				tk.StopCode, aws.ToString(tk.StoppedReason), ct.ExitCode, aws.ToString(tk.StartedBy), id)
		}
	}
}
