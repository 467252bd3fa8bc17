package ecssim

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestMissingSecretStopsTasks: a new task whose container names a Secrets
// Manager secret the account does not hold stops at the end of PENDING
// with TaskFailedToStart and ECS's ResourceInitializationError, which
// quotes the secret's ARN without the json-key suffix; the secret the
// scenario holds (the running revision's) starts as before.
func TestMissingSecretStopsTasks(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testMissingSecretStopsTasks)
}

func testMissingSecretStopsTasks(t *testing.T) {
	const gone = "arn:aws:secretsmanager:us-east-1:123456789012:secret:web/gone-Zq1Xw2"
	sc := demoScenario(t)
	app := &sc.TaskDefinitions[0].TaskDefinition.ContainerDefinitions[0]
	app.Secrets = append(app.Secrets, types.Secret{Name: aws.String("GONE"), ValueFrom: aws.String(gone + ":token::")})
	_, c := fakeClockSim(t, sc)
	id, _ := deploy(t, c, "public.ecr.aws/ecs-rollout/web:good")
	var stopped []types.Task
	waitService(t, c, "demo", "web", 5*time.Second, "stopped tasks", func(types.Service) bool {
		stopped = stoppedTasks(t, c, id)
		return len(stopped) >= 2
	})
	want := "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: " +
		"unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret " + gone + " from secrets manager: "
	for _, tk := range stopped {
		if tk.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(aws.ToString(tk.StoppedReason), want) || tk.StartedAt != nil {
			t.Errorf("task %s: stop code %s, reason %q, started %v; want TaskFailedToStart, %q…, never started",
				aws.ToString(tk.TaskArn), tk.StopCode, aws.ToString(tk.StoppedReason), tk.StartedAt, want)
		}
	}

	// Without the missing secret the same image starts.
	_, c = fakeClockSim(t, demoScenario(t))
	deploy(t, c, "public.ecr.aws/ecs-rollout/web:good")
	waitService(t, c, "demo", "web", 5*time.Second, "the deployment completed", func(s types.Service) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
}
