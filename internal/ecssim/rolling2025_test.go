package ecssim

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

// tasksByDeployment counts the tasks each deployment started and the
// task definitions they run.
func tasksByDeployment(t *testing.T, c *ecs.Client, depID string) (n int, defs map[string]int) {
	t.Helper()
	ctx := context.Background()
	defs = map[string]int{}
	for _, st := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
		l, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("demo"), StartedBy: aws.String(depID), DesiredStatus: st})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.TaskArns) == 0 {
			continue
		}
		d, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("demo"), Tasks: l.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range d.Tasks {
			n++
			defs[aws.ToString(tk.TaskDefinitionArn)[strings.LastIndex(aws.ToString(tk.TaskDefinitionArn), "/")+1:]]++
		}
	}
	return n, defs
}

// slowDeploy starts a deployment of a slow image in the demo world and
// returns the client, the old deployment's ID and ours.
func slowDeploy(t *testing.T) (c *ecs.Client, oldID, id string) {
	t.Helper()
	_, c = fakeClockSim(t, demoScenario(t))
	oldID = aws.ToString(describeService(t, c, "demo", "web").Deployments[0].Id)
	id, _ = deploy(t, c, "public.ecr.aws/ecs-rollout/web:slow")
	return c, oldID, id
}

// TestOldRevisionReplacedFromItsRevision: an old task stopped during a
// rolling deployment is replaced by the old deployment from the old
// revision (the 2025 change), not by the new deployment; the deployment
// still completes.
func TestOldRevisionReplacedFromItsRevision(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, oldID, id := slowDeploy(t)
		ctx := context.Background()
		l, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("demo"), StartedBy: aws.String(oldID)})
		if err != nil || len(l.TaskArns) != 2 {
			t.Fatalf("old tasks: %v, %v", l, err)
		}
		if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("demo"), Task: aws.String(l.TaskArns[0]), Reason: aws.String("spot reclaimed")}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // the back-off and the start, on the fake clock
		if n, defs := tasksByDeployment(t, c, oldID); n != 3 || defs["web:1"] != 3 {
			t.Errorf("old deployment's tasks: %d %v, want 3 of web:1 (a replacement from its own revision)", n, defs)
		}
		if n, defs := tasksByDeployment(t, c, id); n != 2 || defs["web:2"] != 2 {
			t.Errorf("new deployment's tasks: %d %v, want its 2 of web:2 only", n, defs)
		}
		svc := waitService(t, c, "demo", "web", time.Minute, "our deployment COMPLETED", func(s types.Service) bool {
			return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
		})
		if d := svc.Deployments[0]; aws.ToString(d.Id) != id || d.RunningCount != 2 || d.FailedTasks != 0 {
			t.Errorf("at the end: %s, want ours 2/2 and no failed task", fmtDeployments(svc.Deployments))
		}
	})
}

// TestScaleOutDuringDeploymentBothRevisions: a desired-count increase
// during a rolling deployment scales out the old revision too (its share
// started from web:1) and the new deployment to the new count.
func TestScaleOutDuringDeploymentBothRevisions(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, oldID, id := slowDeploy(t)
		ctx := context.Background()
		if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("demo"), Service: aws.String("web"), DesiredCount: aws.Int32(4)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		svc := describeService(t, c, "demo", "web")
		old, _ := findDeployment(svc, oldID)
		if old.DesiredCount != 4 || old.RunningCount+old.PendingCount != 4 {
			t.Errorf("old deployment after the scale-out: %s, want 4 tasks of web:1", fmtDeployments(svc.Deployments))
		}
		if n, defs := tasksByDeployment(t, c, oldID); defs["web:1"] != n || n != 4 {
			t.Errorf("old deployment's tasks: %d %v, want 4 of web:1", n, defs)
		}
		svc = waitService(t, c, "demo", "web", time.Minute, "our deployment COMPLETED", func(s types.Service) bool {
			return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
		})
		if d := svc.Deployments[0]; aws.ToString(d.Id) != id || d.RunningCount != 4 || d.DesiredCount != 4 {
			t.Errorf("at the end: %s, want ours 4/4", fmtDeployments(svc.Deployments))
		}
	})
}
