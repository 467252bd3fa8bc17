package deployer_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// The drop-in's rows of the outcome matrix (issue 20, and the pre-deploy
// items of issue 18): a service-managed EBS volume is restored on every
// rollback, register-only registers and does nothing else, and a cancel
// during the pre-deploy task is a cancel that leaves the service alone.
var dropInRows = []outcomeRow{
	{name: "rolling crash with an EBS volume: the service's volume restored", strategy: "ROLLING", moment: "scale-up", fault: "crash",
		image: "repo/app:crash", world: ebsService, config: withBigVolume,
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		check: volumeAtEnd(20, []int32{100, 20})},
	{name: "blue/green crash with an EBS volume: ECS's revision keeps the service's volume", strategy: "BLUE_GREEN", moment: "scale-up", fault: "crash",
		image: "repo/app:crash", world: ebsService, config: withBigVolume,
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, calls: []string{"StopServiceDeployment"},
		check: volumeAtEnd(20, []int32{100})},
	{name: "rolling with an EBS volume, main step killed: the post step restores the volume", strategy: "ROLLING", moment: "scale-up", fault: "kill then post step",
		image: "repo/app:pending", world: ebsService, config: func(c *deployer.Config) { withBigVolume(c); c.Wait = false },
		want: deployer.StatusSucceeded, check: killedThenPost},
	{name: "register only: one RegisterTaskDefinition and nothing else", strategy: "ROLLING", moment: "-", fault: "none",
		config: registerOnlyFile,
		want:   deployer.StatusRegistered, serving: map[string]string{"web": "web:1"},
		check: func(t *testing.T, o outcome) {
			if len(o.calls) != 1 || o.calls[0].Op != "RegisterTaskDefinition" {
				var ops []string
				for _, c := range o.calls {
					ops = append(ops, c.Op)
				}
				t.Errorf("calls %v, want one RegisterTaskDefinition", ops)
			}
			if !strings.HasSuffix(o.res.TaskDefinitionARN, "task-definition/web:2") {
				t.Errorf("task-definition-arn %q, want web:2", o.res.TaskDefinitionARN)
			}
		}},
	{name: "RegisterTaskDefinition applied, then answered 500: the retry finds web:2, no web:3", strategy: "ROLLING", moment: "register", fault: "5xx after apply",
		image: "repo/app:2", setup: registerAppliedThen500,
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"}, check: registeredOnce},
	{name: "register only, RegisterTaskDefinition applied, then answered 500: web:2 and no other", strategy: "ROLLING", moment: "register", fault: "5xx after apply",
		config: registerOnlyFile, setup: registerAppliedThen500,
		want: deployer.StatusRegistered, serving: map[string]string{"web": "web:1"}, check: registeredOnce},
	{name: "pre-deploy task cancelled: cancelled, the task stopped, the service untouched", strategy: "ROLLING", moment: "pre-deploy", fault: "cancel",
		world: migrations, config: func(c *deployer.Config) {
			preDeploy("bin/migrate", "forever")(c)
			c.PreDeploy.Timeout = 10 * time.Minute
		},
		cancelWhen: func(sim *ecssim.Sim) bool {
			for _, tk := range sim.Tasks("prod") {
				if aws.ToString(tk.Group) != "service:web" && aws.ToString(tk.LastStatus) == "RUNNING" {
					return true
				}
			}
			return false
		},
		want: deployer.StatusCancelled, serving: map[string]string{"web": "web:1"},
		calls: []string{"RunTask", "StopTask"}, noCalls: []string{"UpdateService"}},
}

// killedThenPost runs the post step on the checkpoint the main step
// saved once the service accepted the update, as if the main step had
// been killed then: the rollback restores the service's 20 GiB volume.
func killedThenPost(t *testing.T, o outcome) {
	var cp *deployer.Checkpoint
	for i := range o.cps {
		if o.cps[i].Phase == deployer.PhaseUpdated {
			cp = &o.cps[i]
		}
	}
	if cp == nil {
		t.Fatal("no checkpoint in phase updated")
	}
	ecsc, cw := ecssimtest.InMemoryClients(o.sim)
	rec, err := deployer.New(ecsc, nil, deployer.WithCloudWatch(cw)).Recover(context.Background(), *cp)
	if err != nil || rec.Status != deployer.StatusRollbackIssued {
		t.Fatalf("post step: %s %q %v, want rollback-issued", rec.Status, rec.Reason, err)
	}
	time.Sleep(10 * time.Minute)
	o.calls = o.sim.Calls()
	if got := servingRevision(o.sim, "web"); got != "web:1" {
		t.Errorf("service web serves %s after the post step, want web:1", got)
	}
	volumeAtEnd(20, []int32{100, 20})(t, o)
}

func withBigVolume(c *deployer.Config) { c.ServiceVolume = bigVolume() }

// registerOnlyFile registers web from a file with no service.
func registerOnlyFile(c *deployer.Config) {
	c.Service, c.Services, c.RegisterOnly = "", nil, true
	c.TaskDefinition = &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("repo/app:1"), Essential: aws.Bool(true)}}}
}

// volumeAtEnd checks the EBS size of the service's deployment at the end
// and the sizes our UpdateService calls sent, in order.
func volumeAtEnd(size int32, sent []int32) func(t *testing.T, o outcome) {
	return func(t *testing.T, o outcome) {
		d, ok := o.sim.PrimaryDeployment("prod", "web")
		if !ok || len(d.VolumeConfigurations) != 1 || aws.ToInt32(d.VolumeConfigurations[0].ManagedEBSVolume.SizeInGiB) != size {
			t.Errorf("the service's volume at the end: %+v, want %d GiB", d.VolumeConfigurations, size)
		}
		var got []int32
		for _, c := range o.calls {
			if c.Op != "UpdateService" || c.ErrCode != "" {
				continue
			}
			var in struct {
				VolumeConfigurations []struct{ ManagedEBSVolume struct{ SizeInGiB int32 } }
			}
			if err := json.Unmarshal(c.Input, &in); err != nil {
				t.Fatal(err)
			}
			for _, v := range in.VolumeConfigurations {
				got = append(got, v.ManagedEBSVolume.SizeInGiB)
			}
		}
		if len(got) != len(sent) {
			t.Errorf("UpdateService volume sizes %v, want %v", got, sent)
			return
		}
		for i := range got {
			if got[i] != sent[i] {
				t.Errorf("UpdateService volume sizes %v, want %v", got, sent)
			}
		}
	}
}

func TestOutcomeMatrixDropIn(t *testing.T) {
	t.Parallel()
	runOutcomeRows(t, dropInRows)
}

// registerAppliedThen500 makes the first RegisterTaskDefinition register
// its revision and answer 500, as when the response is lost after ECS
// made the change: the SDK's retryer would register a second revision.
func registerAppliedThen500(sim *ecssim.Sim) {
	sim.InjectFault("RegisterTaskDefinition", ecssim.Fault{Status5xx: 1, AfterApply: true})
}

// registeredOnce checks that the step deployed (or registered) web:2,
// that RegisterTaskDefinition reached ECS once (answered 500 after it
// registered web:2), was not sent again, and that web:3 does not exist.
func registeredOnce(t *testing.T, o outcome) {
	t.Helper()
	if !strings.HasSuffix(o.res.TaskDefinitionARN, "task-definition/web:2") {
		t.Errorf("task-definition-arn %q, want web:2", o.res.TaskDefinitionARN)
	}
	registers := 0
	for _, c := range o.calls {
		if c.Op == "RegisterTaskDefinition" {
			registers++
		}
	}
	if registers != 1 {
		t.Errorf("%d RegisterTaskDefinition calls, want 1", registers)
	}
	for _, td := range o.sim.TaskDefinitions() {
		if strings.HasSuffix(aws.ToString(td.TaskDefinitionArn), "task-definition/web:3") {
			t.Errorf("web:3 exists: the retry registered a second revision")
		}
	}
}
