package deployer_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// The run-task rows of the outcome matrix (issue 28): the deploy action's
// run-task (deployer.PreDeployRunTask) with a service, waited for or not,
// and without one. A task waited for that fails leaves the service
// untouched; one not waited for decides nothing, as the deploy action.
var runTaskRows = []outcomeRow{
	{name: "run-task waited for, exits 0: deployed after it", strategy: "ROLLING", moment: "run-task", fault: "none",
		image: "repo/app:2", world: migrations, config: runTask("bin/migrate", "ok"),
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"}, calls: []string{"RunTask", "UpdateService"}},
	{name: "run-task waited for, exits 1: nothing updated", strategy: "ROLLING", moment: "run-task", fault: "task exits 1",
		image: "repo/app:2", world: migrations, config: runTask("bin/migrate", "broken"),
		want: deployer.StatusFailed, serving: map[string]string{"web": "web:1"}, calls: []string{"RunTask"}, noCalls: []string{"UpdateService"},
		wantReason: []string{"one-off task exited with code 1 (container app)", "the service was not changed (still on web:1)"}},
	{name: "run-task waited for on a blue/green service, exits 1: nothing updated", strategy: "BLUE_GREEN", moment: "run-task", fault: "task exits 1",
		image: "repo/app:2", world: migrations, config: runTask("bin/migrate", "broken"),
		want: deployer.StatusFailed, serving: map[string]string{"web": "web:1"}, calls: []string{"RunTask"}, noCalls: []string{"UpdateService"}},
	{name: "run-task not waited for, the task would fail: deployed while it runs", strategy: "ROLLING", moment: "run-task", fault: "task exits 1, not waited for",
		image: "repo/app:2", world: migrations, config: func(c *deployer.Config) { runTask("bin/migrate", "broken")(c); c.PreDeploy.Detach = true },
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"}, calls: []string{"RunTask", "UpdateService"}, noCalls: []string{"StopTask"}},
	{name: "run-task waited for, timeout passes: stopped, nothing updated", strategy: "ROLLING", moment: "run-task", fault: "task never exits",
		image: "repo/app:2", world: migrations, config: func(c *deployer.Config) { runTask("bin/migrate", "forever")(c); c.Timeout = 20 * time.Second },
		want: deployer.StatusFailed, serving: map[string]string{"web": "web:1"}, calls: []string{"RunTask", "StopTask"}, noCalls: []string{"UpdateService"},
		wantReason: []string{"did not finish within the timeout (20s); stopped it"}},
	{name: "run-task waited for, main step killed: the post step stops the task, nothing updated", strategy: "ROLLING", moment: "run-task", fault: "kill then post step",
		image: "repo/app:2", world: migrations, config: runTask("bin/migrate", "forever"),
		killWhen: oneOffRunning, post: true,
		serving: map[string]string{"web": "web:1"}, calls: []string{"RunTask", "StopTask"}, noCalls: []string{"UpdateService"}},
	{name: "run-task without service, exits 1: registered, failed", strategy: "ROLLING", moment: "run-task", fault: "task exits 1",
		world: migrations, config: func(c *deployer.Config) {
			registerOnlyFile(c)
			runTask("bin/migrate", "broken")(c)
			c.PreDeploy.Network = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1a"}}}
		},
		want: deployer.StatusFailed, serving: map[string]string{"web": "web:1"}, calls: []string{"RegisterTaskDefinition", "RunTask"}, noCalls: []string{"UpdateService", "DescribeServices"},
		wantReason: []string{"one-off task exited with code 1 (container app)", "; registered web:2, no service given"}},
	{name: "run-task without service, exits 0: registered", strategy: "ROLLING", moment: "run-task", fault: "none",
		world: migrations, config: func(c *deployer.Config) {
			registerOnlyFile(c)
			runTask("bin/migrate", "ok")(c)
			c.PreDeploy.Network = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1a"}}}
		},
		want: deployer.StatusRegistered, serving: map[string]string{"web": "web:1"}, calls: []string{"RegisterTaskDefinition", "RunTask"}, noCalls: []string{"UpdateService", "DescribeServices"}},
}

// runTask runs the deploy action's run-task, waited for, with cmd as the
// override of container app.
func runTask(cmd ...string) func(*deployer.Config) {
	return func(c *deployer.Config) {
		c.PreDeploy = &deployer.PreDeploy{Mode: deployer.PreDeployRunTask, StartedBy: "GitHub-Actions",
			Overrides: []types.ContainerOverride{{Name: aws.String("app"), Command: cmd}}}
	}
}

// oneOffRunning is true once a task outside the service runs.
func oneOffRunning(sim *ecssim.Sim) bool {
	for _, tk := range sim.Tasks("prod") {
		if aws.ToString(tk.Group) != "service:web" && aws.ToString(tk.LastStatus) == "RUNNING" {
			return true
		}
	}
	return false
}

func TestOutcomeMatrixRunTask(t *testing.T) {
	t.Parallel()
	runOutcomeRows(t, runTaskRows)
}
