package deployer_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// The CodeDeploy tests run the deployer through the real ECS and
// CodeDeploy SDK clients against the simulator, in memory, on the fake
// clock of a synctest bubble, at the action's default poll interval (5 s)
// with CodeDeploy's minutes lasting a minute: a one-hour termination wait
// would take an hour if the deployer waited it out.

// cdScenario is scenario()'s task definition and image rules on a
// CODE_DEPLOY service web (2 tasks) with the CodeDeploy application and
// deployment group the official action's defaults name.
func cdScenario(group func(*ecssim.ScenarioDeploymentGroup), mutate ...func(*ecssim.Scenario)) ecssim.Scenario {
	base := scenario()
	sc := ecssim.CodeDeployWorld("prod", "web", base.TaskDefinitions[0].TaskDefinition, 2, group)
	sc.TaskDefinitions = base.TaskDefinitions
	sc.ImageRules = base.ImageRules
	sc.Timings = ecssim.Timings{Minute: ecssim.Duration(time.Minute), Stage: ecssim.Duration(time.Second)}
	for _, m := range mutate {
		m(&sc)
	}
	return sc
}

// cdConfig is config(image) at the action's defaults for the watch.
func cdConfig(image string) deployer.Config {
	cfg := config(image)
	cfg.PollInterval = deployer.DefaultPollInterval
	cfg.Timeout = 10 * time.Minute
	cfg.RollbackTimeout = 10 * time.Minute
	return cfg
}

// cdRun is one Deploy (or Recover) of a CODE_DEPLOY service on the fake
// clock.
type cdRun struct {
	fakeClockRun
	ecs *ecs.Client
	d   *deployer.Deployer
}

func cdOnFakeClock(t *testing.T, sc ecssim.Scenario, check func(t *testing.T, run func(context.Context, deployer.Config) cdRun)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		sim, err := ecssim.New(sc)
		if err != nil {
			t.Fatal(err)
		}
		defer sim.Close()
		e, cw := ecssimtest.InMemoryClients(sim)
		cd := ecssimtest.InMemoryCodeDeployClient(sim)
		check(t, func(ctx context.Context, cfg deployer.Config) cdRun {
			var f cdRun
			f.ecs = e
			f.d = deployer.New(e, nil, deployer.WithCloudWatch(cw), deployer.WithCodeDeploy(cd), deployer.WithReporter(func(ev deployer.Event) { f.events = append(f.events, ev) }))
			start := time.Now()
			f.res, f.err = f.d.Deploy(ctx, cfg)
			f.elapsed = time.Since(start)
			f.calls = sim.Calls()
			f.sim = sim
			return f
		})
	})
}

func (f cdRun) log() string {
	var b strings.Builder
	for _, ev := range f.events {
		if ev.Message != "" {
			b.WriteString(ev.Message + "\n")
		}
	}
	return b.String()
}

func callsOf(calls []ecssim.Call, op string) []ecssim.Call {
	var out []ecssim.Call
	for _, c := range calls {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

func (f cdRun) primary(t *testing.T) string {
	t.Helper()
	out, err := f.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices: %v", err)
	}
	return aws.ToString(out.Services[0].TaskDefinition)
}

const web1, web2 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1", "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"

func TestCodeDeployHealthyDoesNotWaitOutTheTerminationWait(t *testing.T) {
	t.Parallel()
	sc := cdScenario(func(g *ecssim.ScenarioDeploymentGroup) { g.TerminationWaitMinutes = 60 })
	cdOnFakeClock(t, sc, func(t *testing.T, run func(context.Context, deployer.Config) cdRun) {
		f := run(context.Background(), cdConfig("repo/app:2"))
		if f.err != nil || f.res.Status != deployer.StatusSucceeded {
			t.Fatalf("status %s, err %v\n%s", f.res.Status, f.err, f.log())
		}
		if f.elapsed > 2*time.Minute {
			t.Errorf("took %s: the termination wait (60 min) must not be waited out", f.elapsed)
		}
		if f.res.Strategy != deployer.StrategyCodeDeploy || !strings.HasPrefix(f.res.DeploymentID, "d-") {
			t.Errorf("strategy %q, deployment %q", f.res.Strategy, f.res.DeploymentID)
		}
		if !strings.Contains(f.res.Reason, "serves 100 % of production traffic") || !strings.Contains(f.res.Reason, "aws deploy stop-deployment --deployment-id "+f.res.DeploymentID+" --auto-rollback-enabled") {
			t.Errorf("reason: %s", f.res.Reason)
		}
		time.Sleep(10 * time.Second)
		if st, wait := f.sim.CodeDeployStatus(f.res.DeploymentID); st != "InProgress" || !wait {
			t.Errorf("CodeDeploy: %s, termination wait %v; want InProgress in the termination wait", st, wait)
		}
		for _, ev := range []string{"BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"} {
			if !slices.Contains(milestones(f.res), ev) {
				t.Errorf("timeline has no %s: %v", ev, milestones(f.res))
			}
		}
		if !strings.Contains(f.log(), ": AllowTraffic, production 100 % → web:2, 2/2 running") && !strings.Contains(f.log(), ": AfterAllowTraffic, production 100 % → web:2, 2/2 running") {
			t.Errorf("no progress line with the traffic:\n%s", f.log())
		}
		// The AppSpec built from the service names our revision, its
		// container and port.
		create := callsOf(f.calls, "CreateDeployment")
		if len(create) != 1 {
			t.Fatalf("CreateDeployment calls: %d", len(create))
		}
		var in struct {
			ApplicationName, DeploymentGroupName string
			Revision                             struct {
				AppSpecContent struct{ Content, Sha256 string }
			}
		}
		if err := json.Unmarshal(create[0].Input, &in); err != nil {
			t.Fatal(err)
		}
		c := in.Revision.AppSpecContent.Content
		if in.ApplicationName != "AppECS-prod-web" || in.DeploymentGroupName != "DgpECS-prod-web" || !strings.Contains(c, web2) || !strings.Contains(c, `"ContainerPort":8080`) || in.Revision.AppSpecContent.Sha256 == "" {
			t.Errorf("CreateDeployment: %s", create[0].Input)
		}
		if p := f.primary(t); p != web2 {
			t.Errorf("PRIMARY task set runs %s", p)
		}
	})
}

func TestCodeDeployCrashingGreenStoppedWithRollbackWithinTwoPolls(t *testing.T) {
	t.Parallel()
	cdOnFakeClock(t, cdScenario(nil), func(t *testing.T, run func(context.Context, deployer.Config) cdRun) {
		f := run(context.Background(), cdConfig("repo/app:crash"))
		if f.res.Status != deployer.StatusRolledBack {
			t.Fatalf("status %s: %s\n%s", f.res.Status, f.res.Reason, f.log())
		}
		stops := callsOf(f.calls, "StopDeployment")
		if len(stops) != 1 || !strings.Contains(string(stops[0].Input), `"autoRollbackEnabled":true`) {
			t.Fatalf("StopDeployment calls: %+v", stops)
		}
		// The first task crashes 30 ms after the replacement task set is
		// created (provisioning and pending); two polls of 5 s at most.
		create := callsOf(f.calls, "CreateDeployment")[0]
		if d := stops[0].At.Sub(create.At); d > 2*deployer.DefaultPollInterval+5*time.Second {
			t.Errorf("stopped %s after the deployment was created; want within two polls of the first crash", d)
		}
		if !strings.Contains(f.res.Reason, "exited with code 1") || !strings.Contains(f.res.Reason, "rolled back to web:1") {
			t.Errorf("reason: %s", f.res.Reason)
		}
		if len(callsOf(f.calls, "ListTasks")) == 0 {
			t.Error("the replacement task set's stopped tasks were never listed")
		}
		if p := f.primary(t); p != web1 {
			t.Errorf("after the rollback the PRIMARY task set runs %s", p)
		}
		if f.res.RollbackDeploymentID == "" || f.res.RollbackDeploymentID == f.res.DeploymentID {
			t.Errorf("rollback deployment %q", f.res.RollbackDeploymentID)
		}
	})
}

func TestCodeDeployFailingHookNamedNotDoubled(t *testing.T) {
	t.Parallel()
	sc := cdScenario(nil, func(sc *ecssim.Scenario) {
		sc.CodeDeploy.Hooks = []ecssim.CodeDeployHook{{Function: "smoke-test", Results: []string{"Failed"}, Message: "GET /health returned 500"}}
	})
	cdOnFakeClock(t, sc, func(t *testing.T, run func(context.Context, deployer.Config) cdRun) {
		cfg := cdConfig("repo/app:2")
		cfg.CodeDeploy.AppSpec = []byte("version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: app\n          ContainerPort: 8080\nHooks:\n  - AfterAllowTestTraffic: smoke-test\n")
		cfg.CodeDeploy.AppSpecFile = "appspec.yaml"
		f := run(context.Background(), cfg)
		if f.res.Status != deployer.StatusRolledBack {
			t.Fatalf("status %s: %s\n%s", f.res.Status, f.res.Reason, f.log())
		}
		for _, want := range []string{"at AfterAllowTestTraffic", "hook smoke-test: GET /health returned 500", "HOOK_EXECUTION_FAILURE", "CodeDeploy rolled the service back to web:1"} {
			if !strings.Contains(f.res.Reason, want) {
				t.Errorf("reason lacks %q: %s", want, f.res.Reason)
			}
		}
		if n := len(callsOf(f.calls, "StopDeployment")); n != 0 {
			t.Errorf("CodeDeploy rolled back by itself, yet StopDeployment was called %d times", n)
		}
		if p := f.primary(t); p != web1 {
			t.Errorf("PRIMARY task set runs %s", p)
		}
		if !slices.Contains(milestones(f.res), "AfterAllowTestTraffic failed") || !slices.Contains(milestones(f.res), "rollback by CodeDeploy") {
			t.Errorf("timeline: %v", milestones(f.res))
		}
	})
}

func TestCodeDeployReadyGate(t *testing.T) {
	t.Parallel()
	for _, resume := range []deployer.Resume{deployer.ResumeContinue, deployer.ResumeRollback} {
		t.Run(string(resume), func(t *testing.T) {
			t.Parallel()
			sc := cdScenario(func(g *ecssim.ScenarioDeploymentGroup) { g.ReadyAction, g.ReadyWaitMinutes = "STOP_DEPLOYMENT", 120 })
			cdOnFakeClock(t, sc, func(t *testing.T, run func(context.Context, deployer.Config) cdRun) {
				f := run(context.Background(), cdConfig("repo/app:2"))
				if f.err != nil || f.res.Status != deployer.StatusPaused {
					t.Fatalf("status %s, err %v: %s\n%s", f.res.Status, f.err, f.res.Reason, f.log())
				}
				if !strings.Contains(f.res.Reason, "waits in Ready") || !strings.Contains(f.res.Reason, "resume: continue") {
					t.Errorf("reason: %s", f.res.Reason)
				}
				if p := f.primary(t); p != web1 {
					t.Errorf("paused: production must stay on web:1, PRIMARY runs %s", p)
				}
				cfg := cdConfig("")
				cfg.Images = nil
				cfg.Resume = resume
				g := run(context.Background(), cfg)
				want, primary := deployer.StatusSucceeded, web2
				if resume == deployer.ResumeRollback {
					want, primary = deployer.StatusRolledBack, web1
				}
				if g.res.Status != want || g.res.DeploymentID != f.res.DeploymentID {
					t.Fatalf("resume %s: status %s (deployment %s): %s\n%s", resume, g.res.Status, g.res.DeploymentID, g.res.Reason, g.log())
				}
				if p := g.primary(t); p != primary {
					t.Errorf("after resume %s the PRIMARY runs %s", resume, p)
				}
				op := "ContinueDeployment"
				if resume == deployer.ResumeRollback {
					op = "StopDeployment"
				}
				if n := len(callsOf(g.calls, op)); n != 1 {
					t.Errorf("%s calls: %d", op, n)
				}
			})
		})
	}
}

func TestCodeDeployCancelAndPostStepRollBack(t *testing.T) {
	t.Parallel()
	sc := cdScenario(nil, func(sc *ecssim.Scenario) {
		sc.ImageRules = append([]ecssim.ImageRule{{Image: "*:slow", Behavior: ecssim.BehaviorSlow, After: ecssim.Duration(10 * time.Minute)}}, sc.ImageRules...)
	})
	cdOnFakeClock(t, sc, func(t *testing.T, run func(context.Context, deployer.Config) cdRun) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		f := run(ctx, cdConfig("repo/app:slow"))
		if f.res.Status != deployer.StatusCancelled || len(callsOf(f.calls, "StopDeployment")) != 1 {
			t.Fatalf("cancel: status %s, StopDeployment %d: %s", f.res.Status, len(callsOf(f.calls, "StopDeployment")), f.res.Reason)
		}
		time.Sleep(time.Minute)
		if p := f.primary(t); p != web1 {
			t.Errorf("after the cancel's rollback the PRIMARY runs %s", p)
		}
		// The post step: a main step killed while watching a second
		// deployment (here one that left it, on-cancel: leave).
		ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel2()
		var last *deployer.Checkpoint
		cfg := cdConfig("repo/app:slow")
		cfg.OnCancel = deployer.OnCancelLeave
		g := run(ctx2, cfg)
		for _, ev := range g.events {
			if ev.Kind == deployer.EventCheckpoint && ev.State.Phase == deployer.PhaseWatching {
				last = ev.State
			}
		}
		if last == nil || last.Strategy != deployer.StrategyCodeDeploy || last.DeploymentID != g.res.DeploymentID {
			t.Fatalf("checkpoint while watching: %+v", last)
		}
		// As the checkpoint of a main step killed with on-cancel: rollback.
		last.Rollback = true
		res, err := g.d.Recover(context.Background(), *last)
		if err != nil || res.Status != deployer.StatusRollbackIssued {
			t.Fatalf("Recover: %s, %v: %s", res.Status, err, res.Reason)
		}
		time.Sleep(time.Minute)
		if p := g.primary(t); p != web1 {
			t.Errorf("after the post step's rollback the PRIMARY runs %s", p)
		}
	})
}

func TestCodeDeployBadInputsChangeNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		group func(*ecssim.ScenarioDeploymentGroup)
		cfg   func(*deployer.Config)
		sim   func(*ecssim.Scenario)
		want  string
	}{
		{name: "unknown group", cfg: func(c *deployer.Config) { c.CodeDeploy.DeploymentGroup = "nope" }, want: `CodeDeploy.DeploymentGroup: deployment group "nope"`},
		{name: "unknown application", cfg: func(c *deployer.Config) { c.CodeDeploy.Application = "nope" }, want: `CodeDeploy.Application: CodeDeploy application "nope" does not exist`},
		{name: "unknown config", cfg: func(c *deployer.Config) { c.CodeDeploy.DeploymentConfig = "nope" }, want: `CodeDeploy.DeploymentConfig: deployment configuration "nope" does not exist`},
		{name: "container not in the revision", cfg: func(c *deployer.Config) {
			c.CodeDeploy.AppSpec = []byte(`{"Resources":[{"TargetService":{"Type":"AWS::ECS::Service","Properties":{"TaskDefinition":"x","LoadBalancerInfo":{"ContainerName":"web","ContainerPort":80}}}}]}`)
		}, want: `CodeDeploy.AppSpec: the AppSpec's LoadBalancerInfo names container "web"`},
		{name: "not an AppSpec", cfg: func(c *deployer.Config) { c.CodeDeploy.AppSpec = []byte("version: 0.0\n") }, want: "CodeDeploy.AppSpec: the AppSpec: no Resources section"},
		{name: "group of another service", group: func(g *ecssim.ScenarioDeploymentGroup) { g.Service = "api" }, sim: func(sc *ecssim.Scenario) {
			api := sc.Services[0]
			api.Name = "api"
			sc.Services = append(sc.Services, api)
			sc.CodeDeploy.DeploymentGroups[0].Name = "DgpECS-prod-web"
		}, want: "CodeDeploy.DeploymentGroup: deployment group DgpECS-prod-web of AppECS-prod-web does not deploy service web"},
		{name: "percentages", cfg: func(c *deployer.Config) { c.MinimumHealthyPercent = aws.Int32(50) }, want: "MinimumHealthyPercent: service web is deployed by CodeDeploy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mut []func(*ecssim.Scenario)
			if tc.sim != nil {
				mut = append(mut, tc.sim)
			}
			cdOnFakeClock(t, cdScenario(tc.group, mut...), func(t *testing.T, run func(context.Context, deployer.Config) cdRun) {
				cfg := cdConfig("repo/app:2")
				if tc.cfg != nil {
					tc.cfg(&cfg)
				}
				f := run(context.Background(), cfg)
				if f.res.Status != deployer.StatusFailed || !errors.Is(f.err, deployer.ErrPreflight) || !strings.Contains(f.res.Reason, tc.want) {
					t.Fatalf("status %s, err %v; want a preflight error with %q", f.res.Status, f.err, tc.want)
				}
				for _, c := range f.calls {
					switch c.Op {
					case "RegisterTaskDefinition", "CreateDeployment", "StopDeployment", "ContinueDeployment", "UpdateService":
						t.Errorf("bad input, yet %s was called", c.Op)
					}
				}
			})
		})
	}
}

func TestCodeDeployBusyGroup(t *testing.T) {
	t.Parallel()
	sc := cdScenario(func(g *ecssim.ScenarioDeploymentGroup) { g.TerminationWaitMinutes = 30 })
	cdOnFakeClock(t, sc, func(t *testing.T, run func(context.Context, deployer.Config) cdRun) {
		f := run(context.Background(), cdConfig("repo/app:2"))
		if f.res.Status != deployer.StatusSucceeded {
			t.Fatalf("first deploy: %s", f.res.Reason)
		}
		// The first deployment is in its termination wait: the group is busy.
		cfg := cdConfig("repo/app:3")
		cfg.OnBusy = deployer.OnBusyFail
		g := run(context.Background(), cfg)
		if g.res.Status != deployer.StatusFailed || !strings.Contains(g.res.Reason, "OnBusy: deployment group DgpECS-prod-web already has deployment "+f.res.DeploymentID) {
			t.Fatalf("on-busy fail: %s: %s", g.res.Status, g.res.Reason)
		}
		cfg.OnBusy = deployer.OnBusyWait
		cfg.Timeout = 40 * time.Minute
		h := run(context.Background(), cfg)
		if h.res.Status != deployer.StatusSucceeded || h.res.DeploymentID == f.res.DeploymentID {
			t.Fatalf("on-busy wait: %s: %s", h.res.Status, h.res.Reason)
		}
	})
}
