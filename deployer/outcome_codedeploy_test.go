package deployer_test

import (
	"testing"
	"time"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
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
		want: deployer.StatusRollbackFailed, wantPost: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}},
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
