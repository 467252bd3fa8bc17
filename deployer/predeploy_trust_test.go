package deployer_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// TestPreDeployStopFailsLeavesTask: when the pre-deploy task must be
// stopped (here at pre-deploy-timeout) and StopTask fails, the last
// checkpoint still names the task in phase pre-deploy, so the post step
// stops it; it then does.
func TestPreDeployStopFailsLeavesTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario(migrations))
	e.srv.Sim.InjectFault("StopTask", ecssim.Fault{Error: "ServerException", Message: "stop is broken"})
	cfg := config("repo/app:2")
	preDeploy("bin/migrate", "forever")(&cfg)
	cfg.PreDeploy.Timeout = 200 * time.Millisecond
	var mu sync.Mutex
	var last *deployer.Checkpoint
	d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
		if ev.Kind == deployer.EventCheckpoint {
			mu.Lock()
			defer mu.Unlock()
			c := *ev.State
			last = &c
		}
	}))
	res, _ := d.Deploy(context.Background(), cfg)
	if res.Status != deployer.StatusFailed || !strings.Contains(res.Reason, "could not be stopped") {
		t.Fatalf("got %s %q, want failed, the task not stopped", res.Status, res.Reason)
	}
	if last == nil || last.Phase != deployer.PhasePreDeploy || last.PreDeployTask != res.PreDeployTaskARN || res.PreDeployTaskARN == "" {
		t.Fatalf("last checkpoint %+v, want phase pre-deploy naming task %s", last, res.PreDeployTaskARN)
	}
	e.srv.Sim.ClearFaults()
	first := len(e.srv.Sim.MutatingCalls())
	rec, err := deployer.New(e.ecs, e.logs).Recover(context.Background(), *last)
	if err != nil || !strings.Contains(rec.Reason, "stopped it") {
		t.Fatalf("Recover: %q %v, want the task stopped", rec.Reason, err)
	}
	if diff := cmp.Diff([]string{"StopTask"}, e.mutating()[first:]); diff != "" {
		t.Errorf("the post step's mutating calls (-want +got):\n%s", diff)
	}
	if tk := simTask(t, e, res.PreDeployTaskARN); aws.ToString(tk.DesiredStatus) != "STOPPED" {
		t.Errorf("the task is %s, want stopped by the post step", aws.ToString(tk.DesiredStatus))
	}
}

// TestPreDeployExitedWhileDeprovisioning: the migration's essential
// container exited 0 and ECS is stopping the task, which takes long to
// deprovision (ENI detachment). Exit code 0 is the verdict: the deploy
// goes on at once instead of waiting for STOPPED into pre-deploy-timeout.
func TestPreDeployExitedWhileDeprovisioning(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario(migrations, func(sc *ecssim.Scenario) {
		sc.Timings.Stopping = ecssim.Duration(time.Hour)
	}))
	cfg := config("repo/app:2")
	preDeploy("bin/migrate", "ok")(&cfg)
	cfg.PreDeploy.Timeout = 2 * time.Second
	cfg.Wait = false // the service's old tasks take the same hour to stop
	res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
	if err != nil || res.Status != deployer.StatusSucceeded {
		t.Fatalf("got %s %q (%v), want succeeded", res.Status, res.Reason, err)
	}
	if diff := cmp.Diff([]string{"RegisterTaskDefinition", "RunTask", "UpdateService"}, e.mutating()); diff != "" {
		t.Errorf("mutating calls (-want +got):\n%s", diff)
	}
	if tk := simTask(t, e, res.PreDeployTaskARN); aws.ToString(tk.LastStatus) == "STOPPED" {
		t.Errorf("the task is already STOPPED; the test needs it still stopping")
	}
}
