package deployer_test

import (
	"cmp"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// codeDeployRows are the outcome matrix's rows of CODE_DEPLOY services
// (deployment group: AllAtOnce, automatic rollback on failure, no
// termination wait unless the row sets one), run by TestOutcomeMatrix.
var codeDeployRows = []outcomeRow{
	{name: "CodeDeploy healthy", strategy: deployer.StrategyCodeDeploy, moment: "-", fault: "none",
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"},
		calls: []string{"GetDeploymentGroup", "CreateDeployment", "GetDeploymentTarget"}, noCalls: []string{"UpdateService", "StopDeployment"}},
	{name: "CodeDeploy healthy, one-hour termination wait not waited out", strategy: deployer.StrategyCodeDeploy, moment: "termination wait", fault: "none",
		world: cdGroup(func(g *ecssim.ScenarioDeploymentGroup) { g.TerminationWaitMinutes = 60 }), settle: time.Second,
		want: deployer.StatusSucceeded, wantReason: []string{"is terminated at about", "aws deploy stop-deployment"},
		check: func(t *testing.T, o outcome) {
			if d := o.end.Sub(o.start); d > 3*time.Minute {
				t.Errorf("the step took %s", d)
			}
		}},
	{name: "CodeDeploy crash loop at Install", strategy: deployer.StrategyCodeDeploy, moment: "Install", fault: "crash loop",
		image: "repo/app:crash", want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		calls: []string{"StopDeployment", "ListTasks"}, detect: 2 * deployer.DefaultPollInterval},
	{name: "CodeDeploy hook fails, CodeDeploy rolls back", strategy: deployer.StrategyCodeDeploy, moment: "AfterAllowTestTraffic", fault: "hook Failed",
		world: func(sc *ecssim.Scenario) {
			sc.CodeDeploy.Hooks = []ecssim.CodeDeployHook{{Function: "smoke-test", Results: []string{"Failed"}, Message: "GET /health returned 500"}}
		},
		config: withAppSpecHook("AfterAllowTestTraffic", "smoke-test"),
		want:   deployer.StatusRolledBack, wantReason: []string{"at AfterAllowTestTraffic (hook smoke-test: GET /health returned 500)", "CodeDeploy rolled the service back"},
		serving: map[string]string{"web": "web:1"}, noCalls: []string{"StopDeployment"}},
	{name: "CodeDeploy Ready, resume continue", strategy: deployer.StrategyCodeDeploy, moment: "Ready", fault: "none",
		world: cdGroup(readyGate), resume: deployer.ResumeContinue,
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"}, calls: []string{"ContinueDeployment"}},
	{name: "CodeDeploy Ready, resume rollback", strategy: deployer.StrategyCodeDeploy, moment: "Ready", fault: "none",
		world: cdGroup(readyGate), resume: deployer.ResumeRollback,
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, calls: []string{"StopDeployment"}, noCalls: []string{"ContinueDeployment"}},
	{name: "CodeDeploy Ready, on-pause rollback", strategy: deployer.StrategyCodeDeploy, moment: "Ready", fault: "none",
		world: cdGroup(readyGate), config: func(cfg *deployer.Config) { cfg.OnPause = deployer.OnPauseRollback },
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, calls: []string{"StopDeployment"}},
	{name: "CodeDeploy cancelled while watching", strategy: deployer.StrategyCodeDeploy, moment: "Install", fault: "cancel",
		image: "repo/app:slow", cancelWhen: createdAgo(30 * time.Second),
		want: deployer.StatusCancelled, serving: map[string]string{"web": "web:1"}, calls: []string{"StopDeployment"}},
	{name: "CodeDeploy crash, StopDeployment failing, post step", strategy: deployer.StrategyCodeDeploy, moment: "Install", fault: "crash; the rollback call fails",
		image: "repo/app:crash", config: onCancelLeave,
		setup: func(sim *ecssim.Sim) {
			sim.InjectFault("StopDeployment", ecssim.Fault{Error: "ServerException", Message: "injected"})
		},
		beforePost: func(sim *ecssim.Sim) { sim.ClearFaults() }, post: true,
		want: deployer.StatusRollbackFailed, wantPost: deployer.StatusRollbackIssued, serving: map[string]string{"web": "web:1"}},
	{name: "CodeDeploy crash during bake-time, in the termination wait", strategy: deployer.StrategyCodeDeploy, moment: "our bake (termination wait)", fault: "crash after 3 minutes",
		image: "repo/app:late", world: func(sc *ecssim.Scenario) {
			lateCrash(sc)
			cdGroup(func(g *ecssim.ScenarioDeploymentGroup) { g.TerminationWaitMinutes = 60 })(sc)
		},
		config: func(cfg *deployer.Config) { cfg.BakeTime = 10 * time.Minute },
		want:   deployer.StatusRolledBack, wantReason: []string{"after production traffic moved to it", "rolled back to web:1"},
		serving: map[string]string{"web": "web:1"}, calls: []string{"StopDeployment"}},
	{name: "CodeDeploy crash during bake-time, after CodeDeploy finished", strategy: deployer.StrategyCodeDeploy, moment: "our bake (deployment Succeeded)", fault: "crash after 3 minutes",
		image: "repo/app:late", world: lateCrash,
		config: func(cfg *deployer.Config) { cfg.BakeTime = 10 * time.Minute },
		want:   deployer.StatusRolledBack, wantReason: []string{"after production traffic moved to it", "rolled back to web:1"},
		serving: map[string]string{"web": "web:1"}, check: func(t *testing.T, o outcome) {
			if n := o.count("CreateDeployment"); n != 2 {
				t.Errorf("%d CreateDeployment calls, want ours and the rollback's", n)
			}
		}},
	{name: "CodeDeploy and rolling services, CodeDeploy crashes", strategy: deployer.StrategyCodeDeploy, services: 2, moment: "Install (web)", fault: "crash",
		world: func(sc *ecssim.Scenario) {
			// worker stays a ROLLING service of the ECS controller.
			sc.Services[1].DeploymentController, sc.Services[1].LoadBalancers = "", nil
			sc.CodeDeploy.DeploymentGroups = sc.CodeDeploy.DeploymentGroups[:1]
			sc.CodeDeploy.Applications = sc.CodeDeploy.Applications[:1]
			sc.ImageRules = append([]ecssim.ImageRule{{Image: "repo/app:2", Family: "web", Behavior: ecssim.BehaviorCrash}}, sc.ImageRules...)
		},
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1", "worker": "worker:1"}, calls: []string{"StopDeployment", "UpdateService"}},
}

// createdAgo is true once our CreateDeployment is older than d.
func createdAgo(d time.Duration) func(*ecssim.Sim) bool {
	return func(sim *ecssim.Sim) bool {
		for _, c := range sim.Calls() {
			if c.Op == "CreateDeployment" && c.ErrCode == "" {
				return time.Since(c.At) > d
			}
		}
		return false
	}
}

// lateCrash makes repo/app:late crash three minutes after it started.
func lateCrash(sc *ecssim.Scenario) {
	sc.ImageRules = append([]ecssim.ImageRule{{Image: "repo/app:late", Behavior: ecssim.BehaviorCrashAfter, After: ecssim.Duration(3 * time.Minute)}}, sc.ImageRules...)
}

// cdGroup changes the deployment group of web.
func cdGroup(f func(*ecssim.ScenarioDeploymentGroup)) func(*ecssim.Scenario) {
	return func(sc *ecssim.Scenario) { f(&sc.CodeDeploy.DeploymentGroups[0]) }
}

func readyGate(g *ecssim.ScenarioDeploymentGroup) {
	g.ReadyAction, g.ReadyWaitMinutes = "STOP_DEPLOYMENT", 120
}

// withAppSpecHook gives an AppSpec with one Lambda hook.
func withAppSpecHook(event, function string) func(*deployer.Config) {
	return func(cfg *deployer.Config) {
		cfg.CodeDeploy.AppSpec = []byte("version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: x\n        LoadBalancerInfo:\n          ContainerName: app\n          ContainerPort: 8080\nHooks:\n  - " + event + ": " + function + "\n")
	}
}

// codeDeploySeamRows are issue 24's CODE_DEPLOY rows: the seams between
// a verdict and CodeDeploy's own transitions (a deployment that finished
// before our rollback, a group that does not roll back, a busy group, a
// rollback by a new deployment on a canary group), and the rows every
// strategy has around the rollback (killed in the bake, access lost,
// taken over).
var codeDeploySeamRows = []outcomeRow{
	// The resume skips preflight; the rollback of the deployment that
	// CodeDeploy finished is a new deployment of web:1, whose own Ready
	// wait is continued: a rollback never waits at the gate.
	{name: "CodeDeploy Ready, resume continue, alarm after Succeeded in bake-time", strategy: deployer.StrategyCodeDeploy, moment: "our bake (deployment Succeeded)", fault: "alarm",
		world: func(sc *ecssim.Scenario) {
			cdGroup(readyGate)(sc)
			withAlarms(alarmAt("web-5xx", ecssim.AnchorCompleted, 20*time.Second))(sc)
		},
		config: bakeWith(5*time.Minute, "web-5xx"), resume: deployer.ResumeContinue,
		want: deployer.StatusRolledBack, wantReason: []string{`alarm "web-5xx" went into ALARM`, "rolled back to web:1"},
		check: func(t *testing.T, o outcome) {
			cdRolledBackByNewDeployment(t, o)
			noTaskSetOfWeb2(t, o)
			if n := o.count("ContinueDeployment"); n != 2 {
				t.Errorf("%d ContinueDeployment calls, want 2 (the resume's, the rollback's Ready wait)", n)
			}
		}},
	// A group without automatic rollback: with rollback on, our
	// CreateDeployment turns CodeDeploy's automatic rollback on for our
	// deployment (CreateDeployment's autoRollbackConfiguration), so
	// CodeDeploy reroutes traffic back to the original task set and removes
	// the replacement, which nothing else could once the deployment failed.
	{name: "CodeDeploy auto-rollback off, AfterAllowTraffic hook fails after traffic moved", strategy: deployer.StrategyCodeDeploy, moment: "AfterAllowTraffic", fault: "hook Failed, no automatic rollback in the group",
		world: func(sc *ecssim.Scenario) {
			cdGroup(func(g *ecssim.ScenarioDeploymentGroup) { g.AutoRollback = false })(sc)
			sc.CodeDeploy.Hooks = []ecssim.CodeDeployHook{{Function: "smoke-test", Event: "AfterAllowTraffic", Image: "repo/app:2", Results: []string{"Failed"}, Message: "GET /checkout returned 500"}}
		},
		config: withAppSpecHook("AfterAllowTraffic", "smoke-test"),
		want:   deployer.StatusRolledBack, wantReason: []string{"at AfterAllowTraffic (hook smoke-test: GET /checkout returned 500)", "CodeDeploy rolled the service back to web:1"},
		noCalls: []string{"StopDeployment"},
		check: func(t *testing.T, o outcome) {
			cdAutoRollbackSent(t, o, true)
			noTaskSetOfWeb2(t, o)
			if _, primary, _ := o.sim.CodeDeployTraffic("prod", "web"); !strings.HasSuffix(primary, "/web:1") {
				t.Errorf("production runs %s, want web:1", primary)
			}
		}},
	// Before production traffic moved (AfterAllowTestTraffic): the
	// replacement task set is removed too, not left behind the test
	// listener.
	{name: "CodeDeploy auto-rollback off, AfterAllowTestTraffic hook fails", strategy: deployer.StrategyCodeDeploy, moment: "AfterAllowTestTraffic", fault: "hook Failed, no automatic rollback in the group",
		world: func(sc *ecssim.Scenario) {
			cdGroup(func(g *ecssim.ScenarioDeploymentGroup) { g.AutoRollback = false })(sc)
			sc.CodeDeploy.Hooks = []ecssim.CodeDeployHook{{Function: "smoke-test", Results: []string{"Failed"}, Message: "GET /health returned 500"}}
		},
		config: withAppSpecHook("AfterAllowTestTraffic", "smoke-test"),
		want:   deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, noCalls: []string{"StopDeployment"},
		check: func(t *testing.T, o outcome) { cdAutoRollbackSent(t, o, true); noTaskSetOfWeb2(t, o) }},
	// rollback: false leaves the group's setting alone, and the step says
	// how to roll back by hand: a new deployment (the finished one cannot
	// be stopped).
	{name: "CodeDeploy auto-rollback off, rollback false, AfterAllowTraffic hook fails", strategy: deployer.StrategyCodeDeploy, moment: "AfterAllowTraffic", fault: "hook Failed, no rollback at all",
		world: func(sc *ecssim.Scenario) {
			cdGroup(func(g *ecssim.ScenarioDeploymentGroup) { g.AutoRollback = false })(sc)
			sc.CodeDeploy.Hooks = []ecssim.CodeDeployHook{{Function: "smoke-test", Event: "AfterAllowTraffic", Image: "repo/app:2", Results: []string{"Failed"}}}
		},
		config: func(cfg *deployer.Config) {
			withAppSpecHook("AfterAllowTraffic", "smoke-test")(cfg)
			cfg.Rollback = false
		},
		want: deployer.StatusFailed, wantReason: []string{"rollback is off"}, noCalls: []string{"StopDeployment"},
		check: func(t *testing.T, o outcome) {
			cdAutoRollbackSent(t, o, false)
			if m := o.res.ManualRollback; !strings.HasPrefix(m, "aws deploy create-deployment ") || !strings.Contains(m, `task-definition/web:1`) {
				t.Errorf("manual rollback %q, want a create-deployment of web:1", m)
			}
		}},
	// CodeDeploy's own rollback fails: another mechanism is left (rule 1),
	// a new deployment of web:1.
	{name: "CodeDeploy's own rollback fails, rolled back by a new deployment", strategy: deployer.StrategyCodeDeploy, moment: "AfterAllowTraffic", fault: "hook Failed; CodeDeploy's rollback fails",
		world: func(sc *ecssim.Scenario) {
			cdGroup(func(g *ecssim.ScenarioDeploymentGroup) { g.RollbackFails = true })(sc)
			sc.CodeDeploy.Hooks = []ecssim.CodeDeployHook{{Function: "smoke-test", Event: "AfterAllowTraffic", Image: "repo/app:2", Results: []string{"Failed"}}}
		},
		config: withAppSpecHook("AfterAllowTraffic", "smoke-test"),
		want:   deployer.StatusRolledBack, check: cdRolledBackByNewDeployment},
	{name: "CodeDeploy stopped by someone without rollback in the termination wait", strategy: deployer.StrategyCodeDeploy, moment: "our bake (termination wait)", fault: "someone's StopDeployment without rollback",
		world:  cdGroup(func(g *ecssim.ScenarioDeploymentGroup) { g.TerminationWaitMinutes = 60 }),
		config: bakeWith(5 * time.Minute),
		setup: func(sim *ecssim.Sim) {
			onOurDeployment(sim, inTerminationWait(30*time.Second), func(cd *codedeploy.Client, id string) {
				cd.StopDeployment(context.Background(), &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(false)})
			})
		},
		want: deployer.StatusRolledBack, wantReason: []string{"stopped", "rolled back to web:1"},
		check: cdRolledBackByNewDeployment},
	// on-busy wait: someone else's deployment of web:2 (a sidecar bump)
	// is in progress; the rollback target and the revision copied are
	// read after it ended, so ours keeps their envoy.
	{name: "CodeDeploy on-busy wait, someone else's deployment in progress", strategy: deployer.StrategyCodeDeploy, moment: "preflight", fault: "someone else's CreateDeployment",
		setup: func(sim *ecssim.Sim) { someoneDeploysEnvoy(sim) },
		want:  deployer.StatusSucceeded, serving: map[string]string{"web": "web:3"},
		check: func(t *testing.T, o outcome) {
			if got := o.res.PreviousTaskDefinitionARN; !strings.HasSuffix(got, "/web:2") {
				t.Errorf("previous-task-definition-arn %s, want web:2 (theirs, running when ours started)", got)
			}
			for _, c := range o.calls {
				if c.Op == "RegisterTaskDefinition" && c.ErrCode == "" && strings.Contains(string(c.Input), "repo/app:2") && !strings.Contains(string(c.Input), "envoy:v1.32") {
					t.Errorf("our revision reverts their sidecar: %s", c.Input)
				}
			}
		}},
	// A rollback by a new deployment on a canary group gets the canary's
	// interval on top of rollback-timeout (2 minutes here, less than the
	// canary's 5).
	{name: "CodeDeploy canary group, alarm after Succeeded, rollback by a new deployment", strategy: deployer.StrategyCodeDeploy, moment: "our bake (deployment Succeeded)", fault: "alarm",
		world: func(sc *ecssim.Scenario) {
			cdGroup(func(g *ecssim.ScenarioDeploymentGroup) {
				g.DeploymentConfigName = "CodeDeployDefault.ECSCanary10Percent5Minutes"
			})(sc)
			withAlarms(alarmAt("web-5xx", ecssim.AnchorCompleted, 20*time.Second))(sc)
		},
		config: func(cfg *deployer.Config) {
			bakeWith(5*time.Minute, "web-5xx")(cfg)
			cfg.RollbackTimeout = 2 * time.Minute
		},
		settle: 15 * time.Minute,
		want:   deployer.StatusRolledBack, check: cdRolledBackByNewDeployment},
	// codedeploy-deployment-config is the rollback's too.
	{name: "CodeDeploy canary config input, alarm after Succeeded, rollback by a new deployment", strategy: deployer.StrategyCodeDeploy, moment: "our bake (deployment Succeeded)", fault: "alarm",
		world: withAlarms(alarmAt("web-5xx", ecssim.AnchorCompleted, 20*time.Second)),
		config: func(cfg *deployer.Config) {
			bakeWith(5*time.Minute, "web-5xx")(cfg)
			cfg.RollbackTimeout = 2 * time.Minute
			cfg.CodeDeploy.DeploymentConfig = "CodeDeployDefault.ECSCanary10Percent5Minutes"
		},
		settle: 15 * time.Minute,
		want:   deployer.StatusRolledBack,
		check: func(t *testing.T, o outcome) {
			cdRolledBackByNewDeployment(t, o)
			for _, in := range cdCreates(o) {
				if !strings.Contains(in, "CodeDeployDefault.ECSCanary10Percent5Minutes") {
					t.Errorf("a CreateDeployment without codedeploy-deployment-config: %s", in)
				}
			}
		}},
	// The rollback deployment fails (its hook rejects web:1): the command
	// printed creates one again; our Succeeded deployment cannot be
	// stopped.
	{name: "CodeDeploy rollback by a new deployment fails", strategy: deployer.StrategyCodeDeploy, moment: "rollback", fault: "the rollback deployment's hook Failed",
		world: func(sc *ecssim.Scenario) {
			withAlarms(alarmAt("web-5xx", ecssim.AnchorCompleted, 20*time.Second))(sc)
			sc.CodeDeploy.Hooks = []ecssim.CodeDeployHook{{Function: "smoke-test", Image: "repo/app:1", Results: []string{"Failed"}, Message: "GET /health returned 500"}}
		},
		config: func(cfg *deployer.Config) {
			bakeWith(5*time.Minute, "web-5xx")(cfg)
			withAppSpecHook("AfterAllowTestTraffic", "smoke-test")(cfg)
		},
		want: deployer.StatusRollbackFailed, wantReason: []string{"aws deploy create-deployment --application-name AppECS-prod-web --deployment-group-name DgpECS-prod-web", `web:1`},
		check: func(t *testing.T, o outcome) {
			if strings.Contains(o.res.Reason, "stop-deployment") {
				t.Errorf("the command stops a finished deployment: %s", o.res.ManualRollback)
			}
			if n := o.count("CreateDeployment"); n != 2 {
				t.Errorf("%d CreateDeployment calls, want ours and the rollback's", n)
			}
		}},
	// A rollback by a new deployment ends its own termination wait (its
	// original task set runs the revision that failed): the rollback is
	// settled when that task set is gone, and deregister-failed then
	// deregisters web:2. When the wait cannot be ended, web:2 is not
	// deregistered while a task set runs it (a CODE_DEPLOY service has
	// task sets, not deployments).
	{name: "CodeDeploy deregister-failed, the rollback ends its termination wait", strategy: deployer.StrategyCodeDeploy, moment: "rollback's termination wait", fault: "alarm",
		world: cdTerminationWaitAndAlarm, config: bakeDeregister, setup: someoneEndsOurTerminationWait,
		want: deployer.StatusRolledBack, calls: []string{"DeregisterTaskDefinition"},
		check: func(t *testing.T, o outcome) {
			noTaskSetOfWeb2(t, o)
			if n := o.count("ContinueDeployment"); n != 2 {
				t.Errorf("%d ContinueDeployment calls, want someone's and the rollback's TERMINATION_WAIT", n)
			}
		}},
	{name: "CodeDeploy deregister-failed, the rollback's termination wait cannot be ended", strategy: deployer.StrategyCodeDeploy, moment: "rollback's termination wait", fault: "alarm; ContinueDeployment refused",
		world: cdTerminationWaitAndAlarm, config: bakeDeregister,
		setup: func(sim *ecssim.Sim) {
			someoneEndsOurTerminationWait(sim)
			sim.InjectFault("ContinueDeployment", ecssim.Fault{Error: "AccessDeniedException", Message: "not authorized", OnCall: 2})
		},
		settle: time.Second,
		want:   deployer.StatusRolledBack, noCalls: []string{"DeregisterTaskDefinition"},
		check: func(t *testing.T, o outcome) {
			if !strings.Contains(o.log(), "still used by task set") {
				t.Errorf("no warning that web:2 is still used by a task set")
			}
		}},

	// Killed while CreateDeployment is in flight: the last checkpoint has
	// no deployment ID; the post step looks for ours in the group (by its
	// AppSpec), finds none and says so, not rollback-failed (campaign
	// seeds 2801, 2594).
	func() outcomeRow {
		return outcomeRow{name: "CodeDeploy killed while CreateDeployment is in flight, post step", strategy: deployer.StrategyCodeDeploy, moment: "start", fault: "SIGKILL during CreateDeployment",
			setup:    func(sim *ecssim.Sim) { holdOn(sim, "CreateDeployment") },
			killWhen: heldOn, beforePost: releaseOn, post: true,
			wantPost: "", serving: map[string]string{"web": "web:1"},
			check: func(t *testing.T, o outcome) {
				if id := o.cps[len(o.cps)-1].DeploymentID; id != "" {
					t.Errorf("the last checkpoint names deployment %s", id)
				}
				if !strings.Contains(o.post.Reason, "nothing to do") {
					t.Errorf("post step: %q", o.post.Reason)
				}
			}}
	}(),

	// Rule 3: a bake failure after Succeeded, and the step killed while its
	// rollback (a new deployment of web:1) is in flight, or failing and
	// retried: the checkpoint names the rollback owed, and the post step
	// issues it although our deployment Succeeded.
	func() outcomeRow {
		return outcomeRow{name: "CodeDeploy alarm after Succeeded, killed during the rollback's CreateDeployment, post step", strategy: deployer.StrategyCodeDeploy, moment: "our bake (deployment Succeeded)", fault: "alarm; SIGKILL during the rollback call",
			world: withAlarms(alarmAt("web-5xx", ecssim.AnchorCompleted, 20*time.Second)), config: bakeWith(5*time.Minute, "web-5xx"),
			setup: func(sim *ecssim.Sim) {
				onOurDeployment(sim, func(_ *ecssim.Sim, info cdtypes.DeploymentInfo) bool {
					return info.Status == cdtypes.DeploymentStatusSucceeded
				},
					func(*codedeploy.Client, string) { holdOn(sim, "CreateDeployment") })
			},
			killWhen: heldOn, beforePost: releaseOn, post: true,
			wantPost: deployer.StatusRollbackIssued,
			check: func(t *testing.T, o outcome) {
				lastCheckpointIs(deployer.PhaseRollbackOwed)(t, o)
				cdRolledBackByNewDeployment(t, o)
			}}
	}(),
	{name: "CodeDeploy alarm after Succeeded, killed while the rollback's CreateDeployment is retried, post step", strategy: deployer.StrategyCodeDeploy, moment: "our bake (deployment Succeeded)", fault: "alarm; the rollback call fails; SIGKILL",
		world: withAlarms(alarmAt("web-5xx", ecssim.AnchorCompleted, 20*time.Second)), config: bakeWith(5*time.Minute, "web-5xx"),
		setup: func(sim *ecssim.Sim) {
			sim.InjectFault("CreateDeployment", ecssim.Fault{Error: "ServerException", Message: "injected", OnCall: 2})
		},
		killWhen: func(sim *ecssim.Sim) bool {
			n := 0
			for _, c := range sim.Calls() {
				if c.Op == "CreateDeployment" && c.ErrCode != "" {
					n++
				}
			}
			return n >= 2
		},
		beforePost: func(sim *ecssim.Sim) { sim.ClearFaults() }, post: true,
		wantPost: deployer.StatusRollbackIssued,
		check: func(t *testing.T, o outcome) {
			lastCheckpointIs(deployer.PhaseRollbackOwed)(t, o)
			cdRolledBackByNewDeployment(t, o)
		}},
	// The same in CodeDeploy's termination wait: the owed rollback is a
	// StopDeployment with rollback.
	func() outcomeRow {
		return outcomeRow{name: "CodeDeploy alarm in the termination wait, killed during StopDeployment, post step", strategy: deployer.StrategyCodeDeploy, moment: "our bake (termination wait)", fault: "alarm; SIGKILL during the rollback call",
			world: func(sc *ecssim.Scenario) {
				cdGroup(func(g *ecssim.ScenarioDeploymentGroup) { g.TerminationWaitMinutes = 60 })(sc)
				withAlarms(alarmAt("web-5xx", ecssim.AnchorUpdate, 2*time.Minute))(sc)
			},
			config:   bakeWith(5*time.Minute, "web-5xx"),
			setup:    func(sim *ecssim.Sim) { holdOn(sim, "StopDeployment") },
			killWhen: heldOn, beforePost: releaseOn, post: true,
			wantPost: deployer.StatusRollbackIssued,
			check: func(t *testing.T, o outcome) {
				lastCheckpointIs(deployer.PhaseRollbackOwed)(t, o)
				if _, primary, _ := o.sim.CodeDeployTraffic("prod", "web"); !strings.HasSuffix(primary, "/web:1") {
					t.Errorf("production runs %s, want web:1", primary)
				}
			}}
	}(),

	// Rule 2: CodeDeploy's success is not ours while our tasks crash: the
	// replacement task set's tasks crash 30 s after they start,
	// around the time production traffic moves (campaign seeds 727, 1445).
	{name: "CodeDeploy crash loop as production traffic moves", strategy: deployer.StrategyCodeDeploy, moment: "AllowTraffic", fault: "crash loop (30 s after start)",
		image: "repo/app:late30", world: crashAfter("repo/app:late30", 30*time.Second),
		want: deployer.StatusRolledBack, wantReason: []string{"rolled back to web:1"},
		check: func(t *testing.T, o outcome) {
			if _, primary, _ := o.sim.CodeDeployTraffic("prod", "web"); !strings.HasSuffix(primary, "/web:1") {
				t.Errorf("production runs %s, want web:1", primary)
			}
		}},

	// Killed in our bake while CodeDeploy's termination wait runs: the
	// traffic moved and our verdict was success, so the post step leaves
	// it, as for every strategy (docs/bake-and-alarms.md).
	{name: "CodeDeploy killed in our bake-time, post step", strategy: deployer.StrategyCodeDeploy, moment: "our bake (termination wait)", fault: "SIGKILL, then the post step",
		world:  cdGroup(func(g *ecssim.ScenarioDeploymentGroup) { g.TerminationWaitMinutes = 60 }),
		config: bakeWith(5 * time.Minute), killWhen: terminationWaitFor(15 * time.Second), post: true,
		wantPost: "", noCalls: []string{"StopDeployment"},
		check: func(t *testing.T, o outcome) {
			if _, primary, _ := o.sim.CodeDeployTraffic("prod", "web"); !strings.HasSuffix(primary, "/web:2") {
				t.Errorf("production runs %s, want web:2", primary)
			}
			if !strings.Contains(o.post.Reason, "leaving it") {
				t.Errorf("the post step's reason does not say it leaves the deployment: %q", o.post.Reason)
			}
		}},
	{name: "CodeDeploy access lost mid-watch", strategy: deployer.StrategyCodeDeploy, moment: "watch", fault: "AccessDenied on every call",
		image: "repo/app:pending",
		setup: func(sim *ecssim.Sim) {
			onOurDeployment(sim, func(sim *ecssim.Sim, info cdtypes.DeploymentInfo) bool { return createdAgo(30 * time.Second)(sim) }, func(*codedeploy.Client, string) {
				sim.InjectFault("", ecssim.Fault{Error: "AccessDeniedException", Message: "not authorized"})
			})
		},
		want: deployer.StatusFailed, wantReason: []string{"access", "unknown", "aws deploy get-deployment --deployment-id", "aws deploy stop-deployment"},
		noCalls: []string{"StopDeployment"},
		check: func(t *testing.T, o outcome) {
			for _, c := range o.calls {
				if c.Op == "StopDeployment" || c.Op == "CreateDeployment" && c.ErrCode != "" {
					t.Errorf("%s (%s) with credentials that no longer work", c.Op, c.ErrCode)
				}
			}
		}},
	// Someone stops ours and deploys their own: ours failed, theirs is
	// left alone.
	{name: "CodeDeploy taken over by someone else's deployment", strategy: deployer.StrategyCodeDeploy, moment: "Install", fault: "someone's StopDeployment and CreateDeployment",
		image: "repo/app:slow",
		setup: func(sim *ecssim.Sim) {
			onOurDeployment(sim, func(sim *ecssim.Sim, info cdtypes.DeploymentInfo) bool { return createdAgo(20 * time.Second)(sim) }, func(cd *codedeploy.Client, id string) {
				cd.StopDeployment(context.Background(), &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(false)})
				createDeployment(cd, "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1")
			})
		},
		want: deployer.StatusFailed, wantReason: []string{"someone else"},
		check: func(t *testing.T, o outcome) {
			if n := o.count("CreateDeployment"); n != 2 {
				t.Errorf("%d CreateDeployment calls, want ours and theirs", n)
			}
			if n := o.count("StopDeployment"); n != 1 {
				t.Errorf("%d StopDeployment calls, want theirs", n)
			}
		}},
}

func TestOutcomeMatrixCodeDeploySeams(t *testing.T) {
	t.Parallel()
	runOutcomeRows(t, codeDeploySeamRows)
}

// cdRolledBackByNewDeployment checks that a finished CodeDeploy
// deployment was rolled back by a new deployment of web:1, chosen from a
// fresh read (no StopDeployment sent to a finished deployment), and that
// production runs web:1 with no task set of web:2 left.
func cdRolledBackByNewDeployment(t *testing.T, o outcome) {
	t.Helper()
	creates := cdCreates(o)
	if len(creates) < 2 || !strings.Contains(creates[len(creates)-1], `task-definition/web:1\"`) {
		t.Errorf("CreateDeployment calls %q, want ours and one of web:1", creates)
	}
	for _, c := range o.calls {
		if c.Op == "StopDeployment" && !strings.Contains(string(c.Input), `"autoRollbackEnabled":false`) {
			t.Errorf("StopDeployment (%s) on a finished deployment", cmp.Or(c.ErrCode, "accepted"))
		}
	}
	if _, primary, _ := o.sim.CodeDeployTraffic("prod", "web"); !strings.HasSuffix(primary, "/web:1") {
		t.Errorf("production runs %s, want web:1", primary)
	}
}

func cdTerminationWaitAndAlarm(sc *ecssim.Scenario) {
	cdGroup(func(g *ecssim.ScenarioDeploymentGroup) { g.TerminationWaitMinutes = 60 })(sc)
	withAlarms(alarmAt("web-5xx", ecssim.AnchorCompleted, 20*time.Second))(sc)
}

func bakeDeregister(cfg *deployer.Config) {
	bakeWith(5*time.Minute, "web-5xx")(cfg)
	cfg.DeregisterFailed = true
}

// someoneEndsOurTerminationWait: CodeDeploy finishes our deployment
// early, as a person's ContinueDeployment TERMINATION_WAIT does.
func someoneEndsOurTerminationWait(sim *ecssim.Sim) {
	onOurDeployment(sim, inTerminationWait(0), func(cd *codedeploy.Client, id string) {
		cd.ContinueDeployment(context.Background(), &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(id), DeploymentWaitType: cdtypes.DeploymentWaitTypeTerminationWait})
	})
}

// cdHolds keeps each run's hold apart: a row is played by more than one
// test at once (TestPrintedCommandsWork replays every row).
var cdHolds sync.Map // *ecssim.Sim → *ecssim.Hold

// holdOn holds op's calls in sim's run (heldOn, releaseOn).
func holdOn(sim *ecssim.Sim, op string) { cdHolds.Store(sim, sim.Hold(op)) }

// heldOn is killWhen's: a call of the run's hold is held.
func heldOn(sim *ecssim.Sim) bool {
	h, ok := cdHolds.Load(sim)
	return ok && h.(*ecssim.Hold).Count() > 0
}

// releaseOn lets the run's held calls go (before the post step).
func releaseOn(sim *ecssim.Sim) {
	if h, ok := cdHolds.LoadAndDelete(sim); ok {
		h.(*ecssim.Hold).Release()
	}
}

// cdAutoRollbackSent checks whether our CreateDeployment turned
// CodeDeploy's automatic rollback on.
func cdAutoRollbackSent(t *testing.T, o outcome, want bool) {
	t.Helper()
	creates := cdCreates(o)
	if len(creates) == 0 {
		t.Fatalf("no CreateDeployment")
	}
	if got := strings.Contains(creates[0], `"autoRollbackConfiguration":{"enabled":true`); got != want {
		t.Errorf("CreateDeployment turns automatic rollback on: %v, want %v: %s", got, want, creates[0])
	}
}

// noTaskSetOfWeb2 checks that no task set of web:2 is left (the rollback
// deployment's termination wait is over).
func noTaskSetOfWeb2(t *testing.T, o outcome) {
	t.Helper()
	svc, _ := o.sim.Service("prod", "web")
	for _, ts := range svc.TaskSets {
		if strings.HasSuffix(aws.ToString(ts.TaskDefinition), ":2") {
			t.Errorf("task set %s of web:2 (%s) left", aws.ToString(ts.Id), aws.ToString(ts.Status))
		}
	}
}

// cdCreates are the inputs of the successful CreateDeployment calls.
func cdCreates(o outcome) []string {
	var out []string
	for _, c := range o.calls {
		if c.Op == "CreateDeployment" && c.ErrCode == "" {
			out = append(out, string(c.Input))
		}
	}
	return out
}

// onOurDeployment runs act once when cond holds of the group's newest
// deployment (checked every second of the fake clock, on a goroutine of
// its own).
func onOurDeployment(sim *ecssim.Sim, cond func(*ecssim.Sim, cdtypes.DeploymentInfo) bool, act func(cd *codedeploy.Client, id string)) {
	cd := ecssimtest.InMemoryCodeDeployClient(sim)
	go func() {
		for range 7200 {
			time.Sleep(time.Second)
			l, err := cd.ListDeployments(context.Background(), &codedeploy.ListDeploymentsInput{ApplicationName: aws.String("AppECS-prod-web"), DeploymentGroupName: aws.String("DgpECS-prod-web")})
			if err != nil || len(l.Deployments) == 0 {
				continue
			}
			d, err := cd.GetDeployment(context.Background(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(l.Deployments[0])})
			if err != nil || !cond(sim, *d.DeploymentInfo) {
				continue
			}
			act(cd, l.Deployments[0])
			return
		}
	}()
}

// inTerminationWait holds d after the deployment's termination wait
// started.
func inTerminationWait(d time.Duration) func(*ecssim.Sim, cdtypes.DeploymentInfo) bool {
	var since time.Time
	return func(_ *ecssim.Sim, info cdtypes.DeploymentInfo) bool {
		if !info.InstanceTerminationWaitTimeStarted || info.Status != cdtypes.DeploymentStatusInProgress {
			return false
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) >= d
	}
}

// terminationWaitFor is killWhen's: our deployment has been in its
// termination wait for d.
func terminationWaitFor(d time.Duration) func(*ecssim.Sim) bool {
	cond := inTerminationWait(d)
	var cd *codedeploy.Client
	return func(sim *ecssim.Sim) bool {
		if cd == nil {
			cd = ecssimtest.InMemoryCodeDeployClient(sim)
		}
		l, err := cd.ListDeployments(context.Background(), &codedeploy.ListDeploymentsInput{ApplicationName: aws.String("AppECS-prod-web"), DeploymentGroupName: aws.String("DgpECS-prod-web")})
		if err != nil || len(l.Deployments) == 0 {
			return false
		}
		info, err := cd.GetDeployment(context.Background(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(l.Deployments[0])})
		return err == nil && cond(sim, *info.DeploymentInfo)
	}
}

// createDeployment creates a deployment of taskDefinition in web's
// group, as someone else would.
func createDeployment(cd *codedeploy.Client, taskDefinition string) (string, error) {
	content := `{"version":0.0,"Resources":[{"TargetService":{"Type":"AWS::ECS::Service","Properties":{"TaskDefinition":"` + taskDefinition + `","LoadBalancerInfo":{"ContainerName":"app","ContainerPort":8080}}}}]}`
	out, err := cd.CreateDeployment(context.Background(), &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String("AppECS-prod-web"), DeploymentGroupName: aws.String("DgpECS-prod-web"),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(content)}},
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.DeploymentId), nil
}

// someoneDeploysEnvoy registers web:2, web:1 with envoy v1.32, and
// deploys it through CodeDeploy, as someone else would.
func someoneDeploysEnvoy(sim *ecssim.Sim) {
	c, _ := ecssimtest.InMemoryClients(sim)
	td, err := c.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1")})
	if err != nil {
		panic(err)
	}
	in := &ecs.RegisterTaskDefinitionInput{Family: td.TaskDefinition.Family, ContainerDefinitions: td.TaskDefinition.ContainerDefinitions,
		Cpu: td.TaskDefinition.Cpu, Memory: td.TaskDefinition.Memory, NetworkMode: td.TaskDefinition.NetworkMode,
		RequiresCompatibilities: td.TaskDefinition.RequiresCompatibilities, ExecutionRoleArn: td.TaskDefinition.ExecutionRoleArn}
	for i := range in.ContainerDefinitions {
		if aws.ToString(in.ContainerDefinitions[i].Name) == "envoy" {
			in.ContainerDefinitions[i].Image = aws.String("envoyproxy/envoy:v1.32")
		}
	}
	reg, err := c.RegisterTaskDefinition(context.Background(), in)
	if err != nil {
		panic(err)
	}
	if _, err := createDeployment(ecssimtest.InMemoryCodeDeployClient(sim), aws.ToString(reg.TaskDefinition.TaskDefinitionArn)); err != nil {
		panic(err)
	}
}
