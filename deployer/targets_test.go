package deployer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// fleetScenario is a world of services given as "cluster/name", each
// running two tasks of its own family (named after the service) at
// revision 1, image repo/app:1 in container "app".
func fleetScenario(services ...string) ecssim.Scenario {
	var sc ecssim.Scenario
	clusters := map[string]bool{}
	for _, cs := range services {
		cl, name, _ := strings.Cut(cs, "/")
		if !clusters[cl] {
			clusters[cl] = true
			sc.Clusters = append(sc.Clusters, ecssim.ScenarioCluster{Name: cl})
		}
		one := ecssim.OneService(cl, name, ecssim.FargateApp(name, "repo/app:1"), 2)
		sc.TaskDefinitions = append(sc.TaskDefinitions, one.TaskDefinitions...)
		sc.Services = append(sc.Services, one.Services...)
	}
	return sc
}

// newFleetEnv starts a simulator with the three-service fleet (web, worker
// and cron in cluster prod), changed by mutate when it is not nil.
func newFleetEnv(t *testing.T, mutate func(*ecssim.Scenario)) env {
	sc := fleetScenario("prod/web", "prod/worker", "prod/cron")
	if mutate != nil {
		mutate(&sc)
	}
	return newEnv(t, sc)
}

func fleetConfig(image string, services ...string) deployer.Config {
	cfg := config(image)
	cfg.Cluster, cfg.Service = "prod", ""
	for _, s := range services {
		cl, name, ok := strings.Cut(s, "/")
		if !ok {
			cl, name = "", s
		}
		cfg.Services = append(cfg.Services, deployer.Target{Cluster: cl, Service: name})
	}
	return cfg
}

// revisionOf is the family:revision a service of the simulator runs.
func revisionOf(t *testing.T, e env, cluster, service string) string {
	t.Helper()
	svc, ok := e.srv.Sim.Service(cluster, service)
	if !ok {
		t.Fatalf("service %s/%s not in the simulator", cluster, service)
	}
	arn := aws.ToString(svc.TaskDefinition)
	return arn[strings.LastIndex(arn, "/")+1:]
}

type fleetOutcome struct {
	Status   deployer.Status
	Revision string
}

func outcomes(t *testing.T, e env, res deployer.Result) map[string]fleetOutcome {
	t.Helper()
	got := map[string]fleetOutcome{}
	for _, s := range res.Services {
		got[s.Service] = fleetOutcome{Status: s.Status, Revision: revisionOf(t, e, s.Cluster, s.Service)}
	}
	return got
}

func TestDeployManyServices(t *testing.T) {
	t.Parallel()
	crashWorker := func(sc *ecssim.Scenario) {
		sc.ImageRules = []ecssim.ImageRule{{Image: "repo/app:2", Family: "worker", Behavior: ecssim.BehaviorCrash}}
	}
	tests := []struct {
		name       string
		sc         func(*ecssim.Scenario)
		scope      deployer.RollbackScope
		wantStatus deployer.Status
		wantReason []string
		want       map[string]fleetOutcome
		wantPeer   string // a phrase in the reasons of the services rolled back with the failed one
	}{
		{name: "all healthy", wantStatus: deployer.StatusSucceeded,
			want: map[string]fleetOutcome{
				"web":    {deployer.StatusSucceeded, "web:2"},
				"worker": {deployer.StatusSucceeded, "worker:2"},
				"cron":   {deployer.StatusSucceeded, "cron:2"},
			}},
		{name: "one crashes, scope all", sc: crashWorker, scope: deployer.RollbackScopeAll,
			wantStatus: deployer.StatusRolledBack, wantReason: []string{"worker: ", "rolled back to worker:1"},
			wantPeer: "service worker failed",
			want: map[string]fleetOutcome{
				"web":    {deployer.StatusRolledBack, "web:1"},
				"worker": {deployer.StatusRolledBack, "worker:1"},
				"cron":   {deployer.StatusRolledBack, "cron:1"},
			}},
		{name: "one crashes, scope failed", sc: crashWorker, scope: deployer.RollbackScopeFailed,
			wantStatus: deployer.StatusRolledBack, wantReason: []string{"worker: ", "rolled back to worker:1"},
			want: map[string]fleetOutcome{
				"web":    {deployer.StatusSucceeded, "web:2"},
				"worker": {deployer.StatusRolledBack, "worker:1"},
				"cron":   {deployer.StatusSucceeded, "cron:2"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newFleetEnv(t, tt.sc)
			cfg := fleetConfig("repo/app:2", "web", "worker", "cron")
			cfg.RollbackScope = tt.scope
			var mu sync.Mutex
			services := map[string]bool{}
			d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
				mu.Lock()
				defer mu.Unlock()
				if ev.Kind != deployer.EventCheckpoint && ev.Kind != deployer.EventSecrets {
					services[ev.Service] = true
				}
			}))
			res, err := d.Deploy(context.Background(), cfg)
			if (err == nil) != tt.wantStatus.OK() {
				t.Fatalf("Deploy error = %v, status %s", err, res.Status)
			}
			if res.Status != tt.wantStatus {
				t.Fatalf("status = %s, want %s (%s)", res.Status, tt.wantStatus, res.Reason)
			}
			for _, w := range tt.wantReason {
				if !strings.Contains(res.Reason, w) {
					t.Errorf("reason %q does not contain %q", res.Reason, w)
				}
			}
			if diff := cmp.Diff(tt.want, outcomes(t, e, res)); diff != "" {
				t.Errorf("per-service outcome (-want +got):\n%s", diff)
			}
			for _, s := range res.Services {
				if tt.wantPeer != "" && s.Service != "worker" && !strings.Contains(s.Reason, tt.wantPeer) {
					t.Errorf("%s: reason %q does not point at the failed service (%q)", s.Service, s.Reason, tt.wantPeer)
				}
				if s.TaskDefinitionARN == "" || s.PreviousTaskDefinitionARN == "" || s.DeploymentID == "" {
					t.Errorf("%s: result lacks ARNs or deployment ID: %+v", s.Service, s)
				}
			}
			for _, name := range []string{"web", "worker", "cron"} {
				if !services[name] {
					t.Errorf("no event named service %s", name)
				}
			}
		})
	}
}

// TestDeployManyPreflight: a problem with any service stops the step
// before any service changes.
func TestDeployManyPreflight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		sc       func(*ecssim.Scenario)
		services []string
		want     []string
	}{
		{name: "service missing", services: []string{"web", "ghost", "cron"},
			want: []string{"ghost", "not found"}},
		{name: "container missing in one service", services: []string{"web", "worker", "cron"},
			sc: func(sc *ecssim.Scenario) {
				for i := range sc.TaskDefinitions {
					if aws.ToString(sc.TaskDefinitions[i].Family) == "worker" {
						sc.TaskDefinitions[i].ContainerDefinitions[0].Name = aws.String("main")
					}
				}
			},
			want: []string{"service worker", `"app"`, "main"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newFleetEnv(t, tt.sc)
			res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), fleetConfig("repo/app:2", tt.services...))
			if !errors.Is(err, deployer.ErrPreflight) {
				t.Fatalf("error = %v, want a preflight error", err)
			}
			if res.Status != deployer.StatusFailed {
				t.Errorf("status = %s, want failed", res.Status)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.Reason, w) {
					t.Errorf("reason %q does not contain %q", res.Reason, w)
				}
			}
			if got := e.mutating(); len(got) != 0 {
				t.Errorf("mutating calls = %v, want none", got)
			}
			if len(res.Services) != len(tt.services) {
				t.Errorf("%d results, want %d", len(res.Services), len(tt.services))
			}
		})
	}
}

// TestDeployManyReadsTenAtATime: twelve services of one cluster and two
// of another are watched with DescribeServices calls naming up to ten
// services of one cluster each.
//
// It runs on the fake clock of a synctest bubble with the simulator in
// memory: on the wall clock a loaded machine let services finish at
// different polls, and the calls of the watch's tail named fewer services.
func TestDeployManyReadsTenAtATime(t *testing.T) {
	t.Parallel()
	synctest.Test(t, manyReadsTenAtATime)
}

func manyReadsTenAtATime(t *testing.T) {
	var names []string
	for i := range 12 {
		names = append(names, fmt.Sprintf("prod/svc%02d", i))
	}
	names = append(names, "staging/a", "staging/b")
	sim, ecsc, logs := inMemorySim(t, fleetScenario(names...))
	res, err := deployer.New(ecsc, logs).Deploy(context.Background(), fleetConfig("repo/app:2", names...))
	if err != nil {
		t.Fatalf("Deploy: %v (%s)", err, res.Reason)
	}
	for _, s := range res.Services {
		svc, _ := sim.Service(s.Cluster, s.Service)
		if got, want := aws.ToString(svc.TaskDefinition), "task-definition/"+s.Service+":2"; !strings.HasSuffix(got, want) {
			t.Errorf("%s runs %s, want %s", s.Service, got, want)
		}
	}
	var calls, read, most int
	watching := false
	for _, c := range sim.Calls() {
		if c.Op == "UpdateService" {
			watching = true
			calls, read = 0, 0 // count only the watch, after the last update
			continue
		}
		if c.Op != "DescribeServices" || !watching {
			continue
		}
		var in struct {
			Cluster  string
			Services []string
		}
		if err := json.Unmarshal(c.Input, &in); err != nil {
			t.Fatal(err)
		}
		calls++
		read += len(in.Services)
		most = max(most, len(in.Services))
	}
	if most > 10 {
		t.Errorf("a DescribeServices call named %d services, ECS allows 10", most)
	}
	// One poll of 14 services in two clusters is 3 calls (10 + 2 + 2):
	// on average more than 4 services a call. One call per service
	// would be 1.
	if calls == 0 || read < 4*calls {
		t.Errorf("the watch made %d DescribeServices calls for %d service reads; want them batched (≥ 4 services a call)", calls, read)
	}
	t.Logf("watch: %d DescribeServices calls, %d service reads, at most %d a call", calls, read, most)
}

// TestDeployManyCancel: a cancel mid-watch rolls every changed service
// back; a post step after a kill does the same from the checkpoint.
func TestDeployManyCancel(t *testing.T) {
	t.Parallel()
	for _, kill := range []bool{false, true} {
		t.Run(map[bool]string{false: "cancel", true: "post step after a kill"}[kill], func(t *testing.T) {
			t.Parallel()
			e := newFleetEnv(t, func(sc *ecssim.Scenario) {
				sc.ImageRules = []ecssim.ImageRule{{Image: "repo/app:2", Behavior: ecssim.BehaviorPending}}
			})
			cfg := fleetConfig("repo/app:2", "web", "worker", "cron")
			cfg.Timeout = time.Minute
			if kill {
				cfg.OnCancel = deployer.OnCancelLeave // the killed process does nothing more
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			var watching deployer.Checkpoint
			d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
				if ev.Kind != deployer.EventCheckpoint {
					return
				}
				n := 0
				for _, c := range ev.State.Targets {
					if c.Phase == deployer.PhaseWatching {
						n++
					}
				}
				if n == 3 {
					mu.Lock()
					watching = *ev.State
					mu.Unlock()
					cancel() // every service is being watched
				}
			}))
			res, _ := d.Deploy(ctx, cfg)
			if res.Status != deployer.StatusCancelled {
				t.Fatalf("status = %s, want cancelled (%s)", res.Status, res.Reason)
			}
			if kill {
				mu.Lock()
				cp := watching
				mu.Unlock()
				if !cp.Phase.PostStepMustAct() {
					t.Fatalf("the checkpoint mid-watch says the post step has nothing to do: %+v", cp)
				}
				cp.Rollback = true
				for i := range cp.Targets {
					cp.Targets[i].Rollback = true
				}
				rec, err := deployer.New(e.ecs, e.logs).Recover(context.Background(), cp)
				if err != nil || rec.Status != deployer.StatusRollbackIssued {
					t.Fatalf("Recover = %s, %v (%s)", rec.Status, err, rec.Reason)
				}
			}
			for _, name := range []string{"web", "worker", "cron"} {
				if got := revisionOf(t, e, "prod", name); got != name+":1" {
					t.Errorf("%s runs %s after the cancel, want %s:1", name, got, name)
				}
			}
		})
	}
}

// TestDeployManyAlarmInBake: an alarm that goes into ALARM during the bake
// of a three-service step rolls every service back, and the step reads
// the alarms once per poll for all services (on the fake clock).
func TestDeployManyAlarmInBake(t *testing.T) {
	t.Parallel()
	sc := fleetScenario("prod/web", "prod/worker", "prod/cron")
	withAlarms(alarmAt("app-5xx", ecssim.AnchorCompleted, 20*time.Second))(&sc)
	cfg := fleetConfig("repo/app:2", "web", "worker", "cron")
	cfg.PollInterval = deployer.DefaultPollInterval
	cfg.Timeout, cfg.RollbackTimeout = 10*time.Minute, 10*time.Minute
	cfg.BakeTime = time.Minute
	cfg.Alarms = []string{"app-5xx"}
	deployOnFakeClock(t, sc, cfg, func(t *testing.T, f fakeClockRun) {
		if f.res.Status != deployer.StatusRolledBack || !strings.Contains(f.res.Reason, `alarm "app-5xx"`) {
			t.Fatalf("status %s, reason %q; want rolled-back naming the alarm", f.res.Status, f.res.Reason)
		}
		for _, s := range f.res.Services {
			if s.Status != deployer.StatusRolledBack {
				t.Errorf("%s: %s (%s), want rolled-back", s.Service, s.Status, s.Reason)
			}
			svc, _ := f.sim.Service("prod", s.Service)
			if got := aws.ToString(svc.TaskDefinition); !strings.HasSuffix(got, "/"+s.Service+":1") {
				t.Errorf("%s runs %s, want revision 1", s.Service, got)
			}
		}
		n := len(f.ops(func(c ecssim.Call) bool { return c.Op == "DescribeAlarms" }))
		// One read per poll for all three services, plus one per service
		// where its watch hands over to its bake; one read per service
		// per poll would be three times the polls.
		if beats := int(f.elapsed/cfg.PollInterval) + 1; n > beats+3 {
			t.Errorf("%d DescribeAlarms calls in %s for three services; want one read per poll for all (≤ %d)", n, f.elapsed, beats+3)
		}
	})
}

// TestDeployManyDryRun: a dry run of several services checks them all,
// plans each, and changes nothing.
func TestDeployManyDryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fleetScenario("prod/web", "prod/worker", "staging/cron"))
	cfg := fleetConfig("repo/app:2", "web", "worker", "staging/cron")
	cfg.DryRun = true
	res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
	if err != nil || res.Status != deployer.StatusDryRun {
		t.Fatalf("Deploy = %s, %v (%s); want dry-run", res.Status, err, res.Reason)
	}
	if got := e.mutating(); len(got) != 0 {
		t.Errorf("mutating calls = %v, want none", got)
	}
	plan := strings.Join(res.Plan, "\n")
	for _, w := range []string{"service web in prod:", "service worker in prod:", "service cron in staging:", "UpdateService: cron in staging"} {
		if !strings.Contains(plan, w) {
			t.Errorf("plan lacks %q:\n%s", w, plan)
		}
	}
}

// pausedFleet is web and worker on blue/green with a PAUSE hook after the
// test traffic shift (as pauseScenario, for two services).
func pausedFleet() ecssim.Scenario {
	sc := fleetScenario("prod/web", "prod/worker")
	one := pauseScenario("BLUE_GREEN", 600)
	sc.Timings = one.Timings
	for i := range sc.Services {
		svc := &sc.Services[i]
		svc.DeploymentConfiguration = one.Services[0].DeploymentConfiguration
		svc.LoadBalancers = one.Services[0].LoadBalancers
	}
	return sc
}

// TestDeployManyPauseThenResume: two blue/green services pause at their
// hooks (status paused), then one resume step continues both; a resume
// with a service that has nothing waiting changes nothing.
func TestDeployManyPauseThenResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t, pausedFleet())
	res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), fleetConfig("repo/app:2", "web", "worker"))
	if err != nil || res.Status != deployer.StatusPaused {
		t.Fatalf("deploy: %s, %v (%s); want paused", res.Status, err, res.Reason)
	}
	for _, s := range res.Services {
		if s.Status != deployer.StatusPaused {
			t.Errorf("%s: %s (%s), want paused", s.Service, s.Status, s.Reason)
		}
	}
	before := len(e.mutating())
	cfg := fleetConfig("", "web", "worker", "cron")
	cfg.Images, cfg.Resume = nil, deployer.ResumeContinue
	if res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg); !errors.Is(err, deployer.ErrPreflight) || !strings.Contains(res.Reason, "service cron") {
		t.Errorf("resume with cron (nothing waiting): %s, %v (%s); want a preflight error naming cron", res.Status, err, res.Reason)
	}
	if got := e.mutating()[before:]; len(got) != 0 {
		t.Errorf("a refused resume made calls: %v", got)
	}
	cfg.Services = cfg.Services[:2]
	res, err = deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
	if err != nil || res.Status != deployer.StatusSucceeded {
		t.Fatalf("resume: %s, %v (%s); want succeeded", res.Status, err, res.Reason)
	}
	for _, name := range []string{"web", "worker"} {
		if got := revisionOf(t, e, "prod", name); got != name+":2" {
			t.Errorf("%s runs %s after the resume, want %s:2", name, got, name)
		}
	}
}
