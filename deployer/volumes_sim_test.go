package deployer_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// bigVolume is the EBS volume a deploy asks for (service-managed-ebs-volume).
func bigVolume() *types.ServiceVolumeConfiguration {
	return &types.ServiceVolumeConfiguration{ManagedEBSVolume: &types.ServiceManagedEBSVolumeConfiguration{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/ecsInfrastructureRole"), SizeInGiB: aws.Int32(100), VolumeType: aws.String("io2"), Iops: aws.Int32(3000)}}
}

// updateVolumes returns, for each UpdateService the simulator received,
// the sizes of the volumeConfigurations it sent: nil when the member was
// absent (null), [] when an empty list.
func updateVolumes(t *testing.T, e env) [][]int32 {
	t.Helper()
	var out [][]int32
	for _, c := range e.srv.Sim.Calls() {
		if c.Op != "UpdateService" || c.ErrCode != "" {
			continue
		}
		var in struct {
			VolumeConfigurations *[]struct {
				Name             string
				ManagedEBSVolume struct{ SizeInGiB int32 }
			}
		}
		if err := json.Unmarshal(c.Input, &in); err != nil {
			t.Fatal(err)
		}
		if in.VolumeConfigurations == nil {
			out = append(out, nil)
			continue
		}
		sizes := []int32{}
		for _, v := range *in.VolumeConfigurations {
			if v.Name != "data" {
				t.Errorf("UpdateService sends volume %q, want data", v.Name)
			}
			sizes = append(sizes, v.ManagedEBSVolume.SizeInGiB)
		}
		out = append(out, sizes)
	}
	return out
}

// primaryVolumeSize is the EBS size of the service's PRIMARY deployment
// (0: none).
func primaryVolumeSize(t *testing.T, e env) int32 {
	t.Helper()
	d, ok := e.srv.Sim.PrimaryDeployment("prod", "web")
	if !ok {
		t.Fatal("no primary deployment")
	}
	for _, v := range d.VolumeConfigurations {
		return aws.ToInt32(v.ManagedEBSVolume.SizeInGiB)
	}
	return 0
}

// TestServiceVolume: service-managed-ebs-volume goes out with our
// UpdateService, and a rollback restores the service's previous volume
// configuration (not ours): an empty list when it had none.
func TestServiceVolume(t *testing.T) {
	t.Parallel()
	noVolumeYet := func(sc *ecssim.Scenario) { sc.Services[0].VolumeConfigurations = nil }
	for _, tc := range []struct {
		name       string
		sc         []func(*ecssim.Scenario)
		image      string
		wantStatus deployer.Status
		wantSent   [][]int32
		wantFinal  int32
	}{
		{"succeeds: the new volume stays", []func(*ecssim.Scenario){ebsService}, "repo/app:2", deployer.StatusSucceeded, [][]int32{{100}}, 100},
		{"crashes: the rollback restores 20 GiB", []func(*ecssim.Scenario){ebsService}, "repo/app:crash", deployer.StatusRolledBack, [][]int32{{100}, {20}}, 20},
		{"crashes, the service had no volume: the rollback removes ours", []func(*ecssim.Scenario){ebsService, noVolumeYet}, "repo/app:crash", deployer.StatusRolledBack, [][]int32{{100}, {}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, scenario(tc.sc...))
			cfg := config(tc.image)
			cfg.ServiceVolume = bigVolume()
			res, _ := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
			if res.Status != tc.wantStatus {
				t.Fatalf("status %s (%s), want %s", res.Status, res.Reason, tc.wantStatus)
			}
			got := updateVolumes(t, e)
			if len(got) != len(tc.wantSent) {
				t.Fatalf("UpdateService volumes %v, want %v", got, tc.wantSent)
			}
			for i := range got {
				if got[i] == nil || len(got[i]) != len(tc.wantSent[i]) || (len(got[i]) == 1 && got[i][0] != tc.wantSent[i][0]) {
					t.Errorf("UpdateService %d sent volumes %v, want %v", i, got[i], tc.wantSent[i])
				}
			}
			if got := primaryVolumeSize(t, e); got != tc.wantFinal {
				t.Errorf("the service's volume at the end: %d GiB, want %d", got, tc.wantFinal)
			}
		})
	}
}

// TestServiceVolumeWithoutOne: no volumeConfigurations is sent unless
// service-managed-ebs-volume is given (the service keeps its own, also
// through a rollback).
func TestServiceVolumeWithoutOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario(ebsService))
	res, _ := deployer.New(e.ecs, e.logs).Deploy(context.Background(), config("repo/app:crash"))
	if res.Status != deployer.StatusRolledBack {
		t.Fatalf("status %s (%s)", res.Status, res.Reason)
	}
	for i, v := range updateVolumes(t, e) {
		if v != nil {
			t.Errorf("UpdateService %d sent volumeConfigurations %v, want none", i, v)
		}
	}
	if got := primaryVolumeSize(t, e); got != 20 {
		t.Errorf("the service's volume: %d GiB, want its 20", got)
	}
}

// TestServiceVolumeRejected: a revision with no volume configured at
// launch, or another name, is a preflight error naming the input; nothing
// changes.
func TestServiceVolumeRejected(t *testing.T) {
	t.Parallel()
	other := bigVolume()
	other.Name = aws.String("logs")
	for _, tc := range []struct {
		sc   []func(*ecssim.Scenario)
		v    *types.ServiceVolumeConfiguration
		want string
	}{
		{nil, bigVolume(), "service-managed-ebs-volume: task definition web has no volume configured at launch"},
		{[]func(*ecssim.Scenario){ebsService}, other, `service-managed-ebs-volume-name: task definition web has no volume "logs" configured at launch (its volume configured at launch is "data")`},
	} {
		e := newEnv(t, scenario(tc.sc...))
		cfg := config("repo/app:2")
		cfg.ServiceVolume = tc.v
		res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
		if err == nil || !strings.HasPrefix(res.Reason, tc.want) {
			t.Errorf("got %s %q, want a preflight error %q", res.Status, res.Reason, tc.want)
		}
		if got := e.mutating(); len(got) != 0 {
			t.Errorf("mutating calls %v, want none", got)
		}
	}
}

// TestServiceVolumeRecover: the post step's rollback restores the
// previous volume configuration from the checkpoint.
func TestServiceVolumeRecover(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario(ebsService))
	cfg := config("repo/app:pending") // never completes: the post step finds it in flight
	cfg.ServiceVolume = bigVolume()
	cfg.Wait = false
	var mu sync.Mutex
	var cp *deployer.Checkpoint
	d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
		mu.Lock()
		defer mu.Unlock()
		if ev.Kind == deployer.EventCheckpoint && ev.State.Phase == deployer.PhaseUpdated {
			c := *ev.State
			cp = &c
		}
	}))
	if res, _ := d.Deploy(context.Background(), cfg); res.Status != deployer.StatusSucceeded || cp == nil {
		t.Fatalf("deploy: %s %q, checkpoint %v", res.Status, res.Reason, cp)
	}
	if !cp.RestoreVolumes || len(cp.OriginalVolumes) != 1 || aws.ToInt32(cp.OriginalVolumes[0].ManagedEBSVolume.SizeInGiB) != 20 {
		t.Fatalf("checkpoint volumes %v %+v, want the service's 20 GiB", cp.RestoreVolumes, cp.OriginalVolumes)
	}
	// Through JSON, as the post step reads it.
	b, _ := json.Marshal(cp)
	var saved deployer.Checkpoint
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}
	rec, err := deployer.New(e.ecs, e.logs).Recover(context.Background(), saved)
	if err != nil || rec.Status != deployer.StatusRollbackIssued {
		t.Fatalf("Recover: %s %q %v", rec.Status, rec.Reason, err)
	}
	sent := updateVolumes(t, e)
	if last := sent[len(sent)-1]; len(last) != 1 || last[0] != 20 {
		t.Errorf("the post step's rollback sent volumes %v, want the service's 20 GiB", last)
	}
}

// TestRenderEveryService: with several services, the render inputs change
// every service's new revision the same way (one configuration for an
// application), and nothing else in them.
func TestRenderEveryService(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fleetScenario("prod/web", "prod/worker"))
	cfg := fleetConfig("repo/app:2", "web", "worker")
	cfg.Render = &taskdef.Render{Environment: []taskdef.Setting{{Name: "RELEASE", Value: "42"}}, Cpu: "512", Memory: "1024"}
	res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
	if err != nil || res.Status != deployer.StatusSucceeded {
		t.Fatalf("got %s %q (%v)", res.Status, res.Reason, err)
	}
	for _, svc := range []string{"web", "worker"} {
		var td types.TaskDefinition
		for _, d := range e.srv.Sim.TaskDefinitions() {
			if aws.ToString(d.Family) == svc && d.Revision == 2 {
				td = d
			}
		}
		c := td.ContainerDefinitions
		if aws.ToString(td.Cpu) != "512" || aws.ToString(td.Memory) != "1024" || len(c) != 1 || len(c[0].Environment) != 1 ||
			aws.ToString(c[0].Environment[0].Name) != "RELEASE" || aws.ToString(c[0].Image) != "repo/app:2" {
			t.Errorf("%s:2: cpu %s memory %s containers %+v, want the render inputs applied", svc, aws.ToString(td.Cpu), aws.ToString(td.Memory), c)
		}
	}
}

// TestServiceVolumeCodeDeploy: a CODE_DEPLOY service's deployment takes
// no volume configuration from UpdateService, so service-managed-ebs-volume
// is a preflight error there; nothing changes.
func TestServiceVolumeCodeDeploy(t *testing.T) {
	t.Parallel()
	sc := cdScenario(nil, func(sc *ecssim.Scenario) {
		sc.TaskDefinitions[0].Volumes = append(sc.TaskDefinitions[0].Volumes, types.Volume{Name: aws.String("data"), ConfiguredAtLaunch: aws.Bool(true)})
	})
	cdOnFakeClock(t, sc, func(t *testing.T, run func(context.Context, deployer.Config) cdRun) {
		cfg := cdConfig("repo/app:2")
		cfg.ServiceVolume = bigVolume()
		f := run(context.Background(), cfg)
		if !errors.Is(f.err, deployer.ErrPreflight) || !strings.HasPrefix(f.res.Reason, "service-managed-ebs-volume: service web uses the CODE_DEPLOY deployment controller") {
			t.Fatalf("got %s %q (%v), want a preflight error", f.res.Status, f.res.Reason, f.err)
		}
		for _, c := range f.calls {
			switch c.Op {
			case "RegisterTaskDefinition", "UpdateService", "CreateDeployment":
				t.Errorf("%s called", c.Op)
			}
		}
	})
}

// TestServiceVolumeDryRun: the plan names the volume the update would
// send; nothing changes.
func TestServiceVolumeDryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario(ebsService))
	cfg := config("repo/app:2")
	cfg.ServiceVolume = bigVolume()
	cfg.DryRun = true
	res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
	if err != nil || res.Status != deployer.StatusDryRun {
		t.Fatalf("got %s %q (%v)", res.Status, res.Reason, err)
	}
	if plan := strings.Join(res.Plan, "\n"); !strings.Contains(plan, "EBS volume data (100 GiB, io2)") {
		t.Errorf("the plan does not name the volume:\n%s", plan)
	}
	if got := e.mutating(); len(got) != 0 {
		t.Errorf("mutating calls %v, want none", got)
	}
}

// TestBaseRevision: task-definition-family starts the new revision from
// the family's latest ACTIVE revision (here web:2, not the web:1 the
// service runs); the rollback target stays what the service ran.
func TestBaseRevision(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario())
	registerRevision(t, e, "web", "repo/app:9") // web:2: web:1's containers, app on repo/app:9, no tags
	cfg := config("repo/app:3")
	cfg.BaseRevision = "web"
	res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
	if err != nil || res.Status != deployer.StatusSucceeded {
		t.Fatalf("got %s %q (%v)", res.Status, res.Reason, err)
	}
	if !strings.HasSuffix(res.TaskDefinitionARN, "web:3") || !strings.HasSuffix(res.PreviousTaskDefinitionARN, "web:1") {
		t.Errorf("deployed %s over %s, want web:3 over web:1", res.TaskDefinitionARN, res.PreviousTaskDefinitionARN)
	}
	var three types.TaskDefinition
	for _, d := range e.srv.Sim.TaskDefinitions() {
		if d.Revision == 3 {
			three = d
		}
	}
	if len(three.ContainerDefinitions) != 2 || aws.ToString(three.ContainerDefinitions[0].Image) != "repo/app:3" {
		t.Errorf("web:3 containers %+v, want web:2's with app on repo/app:3", three.ContainerDefinitions)
	}
	if tags, _ := e.srv.Sim.TaskDefinitionTags("web:3"); len(tags) != 0 {
		t.Errorf("web:3 has tags %+v: it was made from web:1 (tagged), not web:2", tags)
	}
}
