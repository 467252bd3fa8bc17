package deployer_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
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

// ebsService gives web's task definition a volume configured at launch
// and the service an Amazon EBS volume configuration for it.
func ebsService(sc *ecssim.Scenario) {
	sc.TaskDefinitions[0].Volumes = append(sc.TaskDefinitions[0].Volumes, types.Volume{Name: aws.String("data"), ConfiguredAtLaunch: aws.Bool(true)})
	sc.Services[0].VolumeConfigurations = []types.ServiceVolumeConfiguration{{Name: aws.String("data"), ManagedEBSVolume: &types.ServiceManagedEBSVolumeConfiguration{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/ecsInfrastructureRole"), SizeInGiB: aws.Int32(20), VolumeType: aws.String("gp3")}}}
}

// TestPreDeployCarriesServiceVolume: the new revision has a volume
// configured at launch, so the pre-deploy task's RunTask carries the
// service's EBS volume configuration (as the service's tasks get it).
func TestPreDeployCarriesServiceVolume(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario(migrations, ebsService))
	cfg := config("repo/app:2")
	preDeploy("bin/migrate", "ok")(&cfg)
	res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
	if err != nil || res.Status != deployer.StatusSucceeded {
		t.Fatalf("got %s %q (%v), want succeeded", res.Status, res.Reason, err)
	}
	var in struct {
		VolumeConfigurations []struct {
			Name             string
			ManagedEBSVolume struct {
				RoleArn    string
				SizeInGiB  int32
				VolumeType string
			}
		}
	}
	for _, c := range e.srv.Sim.Calls() {
		if c.Op == "RunTask" {
			if err := json.Unmarshal(c.Input, &in); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(in.VolumeConfigurations) != 1 || in.VolumeConfigurations[0].Name != "data" || in.VolumeConfigurations[0].ManagedEBSVolume.SizeInGiB != 20 ||
		in.VolumeConfigurations[0].ManagedEBSVolume.RoleArn != "arn:aws:iam::123456789012:role/ecsInfrastructureRole" {
		t.Errorf("RunTask volumeConfigurations %+v, want the service's volume data (20 GiB)", in.VolumeConfigurations)
	}
}
