package deployer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// Express Mode services (issue 26, section 1; docs/express-mode.md): a
// CANARY service with Express Mode's settings (5% for 3 minutes, a
// 3-minute bake) and its own alarm-based rollback alarm, deployed with
// UpdateExpressGatewayService, never UpdateService (ECS refuses the
// strategy and load balancers such a service has).

// expressAlarm is the alarm Express Mode creates and names in the
// service's alarm-based rollback.
const expressAlarm = "web-express-4xx-5xx"

// expressWorld makes web an Express Mode service: its container Main,
// resourceManagementType ECS, Express Mode's canary settings and alarm.
func expressWorld(sc *ecssim.Scenario) {
	td := &sc.TaskDefinitions[0]
	td.ContainerDefinitions[0].Name = aws.String("Main")
	svc := &sc.Services[0]
	svc.ResourceManagementType = "ECS"
	svc.DeploymentConfiguration.Strategy = "CANARY"
	svc.DeploymentConfiguration.CanaryConfiguration = &types.CanaryConfiguration{CanaryPercent: aws.Float64(5), CanaryBakeTimeInMinutes: aws.Int32(3)}
	svc.DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(3)
	svc.DeploymentConfiguration.Alarms = &ecssim.DeploymentAlarms{AlarmNames: []string{expressAlarm}, Enable: true, Rollback: true}
	if !hasAlarm(sc, expressAlarm) {
		sc.Alarms = append(sc.Alarms, ecssim.ScenarioAlarm{Name: expressAlarm})
	}
}

func hasAlarm(sc *ecssim.Scenario, name string) bool {
	for _, a := range sc.Alarms {
		if a.Name == name {
			return true
		}
	}
	return false
}

func expressConfig(cfg *deployer.Config) {
	cfg.Images[0].Container = "Main"
	cfg.ForceNewDeployment = false
}

// neverUpdateService checks that no UpdateService reached the Express
// Mode service, and how many UpdateExpressGatewayService calls did.
func neverUpdateService(wantExpress int) func(t *testing.T, o outcome) {
	return func(t *testing.T, o outcome) {
		t.Helper()
		for _, c := range o.calls {
			if c.Op == "UpdateService" {
				t.Errorf("UpdateService (%s) sent to an Express Mode service: %s", c.ErrCode, c.Input)
			}
		}
		if n := o.count("UpdateExpressGatewayService"); n != wantExpress {
			t.Errorf("%d UpdateExpressGatewayService calls, want %d", n, wantExpress)
		}
	}
}

var expressRows = []outcomeRow{
	{name: "express canary healthy", strategy: "CANARY", moment: "-", fault: "none",
		world: expressWorld, config: expressConfig,
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"},
		noCalls: []string{"StopServiceDeployment"}, check: neverUpdateService(1)},
	{name: "express canary crash", strategy: "CANARY", moment: "scale-up", fault: "crash", image: "repo/app:crash",
		world: expressWorld, config: expressConfig,
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		calls: []string{"StopServiceDeployment"}, detect: 11 * time.Second, check: neverUpdateService(1)},
	{name: "express canary, Express Mode's alarm: ECS rolls back", strategy: "CANARY", moment: "canary bake", fault: "Express Mode's alarm",
		world: func(sc *ecssim.Scenario) {
			sc.Alarms = append(sc.Alarms, alarmAt(expressAlarm, ecssim.AnchorUpdate, 40*time.Second))
			expressWorld(sc)
		},
		config: expressConfig,
		want:   deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		wantReason: []string{expressAlarm},
		noCalls:    []string{"StopServiceDeployment", "ContinueServiceDeployment"}, // ECS's rollback, not doubled
		check: func(t *testing.T, o outcome) {
			neverUpdateService(1)(t, o)
			if !strings.Contains(o.res.Reason, "ECS") {
				t.Errorf("the reason does not name the rollback as ECS's: %s", o.res.Reason)
			}
		}},
	// The same alarm named in the alarms input too: still ECS's rollback,
	// followed, never a StopServiceDeployment of ours beside it.
	{name: "express canary, Express Mode's alarm also in alarms: ECS's rollback, not doubled", strategy: "CANARY", moment: "canary bake", fault: "Express Mode's alarm",
		world: func(sc *ecssim.Scenario) {
			sc.Alarms = append(sc.Alarms, alarmAt(expressAlarm, ecssim.AnchorUpdate, 40*time.Second))
			expressWorld(sc)
		},
		config: func(cfg *deployer.Config) { expressConfig(cfg); cfg.Alarms = []string{expressAlarm} },
		want:   deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, wantReason: []string{"ECS rolled the service back"},
		noCalls: []string{"StopServiceDeployment", "ContinueServiceDeployment"}, check: neverUpdateService(1)},
	{name: "express canary cancelled mid-canary", strategy: "CANARY", moment: "canary bake", fault: "cancel",
		world: expressWorld, config: expressConfig, cancelWhen: deploymentStarted("web"),
		want: deployer.StatusCancelled, serving: map[string]string{"web": "web:1"},
		calls: []string{"StopServiceDeployment"}, check: neverUpdateService(1)},
	{name: "express alarm after SUCCESSFUL during our bake", strategy: "CANARY", moment: "our bake", fault: "alarm",
		world: func(sc *ecssim.Scenario) {
			sc.Alarms = append(sc.Alarms, alarmAt("web-latency", ecssim.AnchorCompleted, 20*time.Second))
			expressWorld(sc)
		},
		config: func(cfg *deployer.Config) { expressConfig(cfg); bakeWith(5*time.Minute, "web-latency")(cfg) },
		want:   deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		noCalls: []string{"StopServiceDeployment"}, check: neverUpdateService(2)}, // ours and the rollback's
	{name: "express canary crash, killed mid-watch, post step", strategy: "CANARY", moment: "scale-up", fault: "killed",
		image: "repo/app:slow", world: expressWorld, config: expressConfig,
		killWhen: deploymentStarted("web"), post: true, wantPost: deployer.StatusRollbackIssued,
		serving: map[string]string{"web": "web:1"}, check: neverUpdateService(1)},
	{name: "express: minimum-healthy-percent refused before any change", strategy: "CANARY", moment: "preflight", fault: "bad input",
		world: expressWorld, config: func(cfg *deployer.Config) { expressConfig(cfg); cfg.MinimumHealthyPercent = aws.Int32(50) },
		want: deployer.StatusFailed, wantReason: []string{"Express Mode service"}, serving: map[string]string{"web": "web:1"},
		noCalls: []string{"RegisterTaskDefinition", "UpdateService", "UpdateExpressGatewayService"}},
	{name: "express: redeploying the running revision refused", strategy: "CANARY", moment: "preflight", fault: "same revision",
		world: expressWorld, config: func(cfg *deployer.Config) { expressConfig(cfg); cfg.Images = nil; cfg.Revision = "web:1" },
		want: deployer.StatusFailed, wantReason: []string{"no force-new-deployment"}, serving: map[string]string{"web": "web:1"},
		noCalls: []string{"RegisterTaskDefinition", "UpdateService", "UpdateExpressGatewayService"}},
}

// deploymentStarted holds once the service's second revision has a
// deployment that has been running for 15 s of the fake clock.
func deploymentStarted(service string) func(*ecssim.Sim) bool {
	var since time.Time
	return func(sim *ecssim.Sim) bool {
		p, ok := sim.PrimaryDeployment("prod", service)
		if !ok || !strings.HasSuffix(aws.ToString(p.TaskDefinition), ":2") {
			return false
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) >= 15*time.Second
	}
}

func TestOutcomeMatrixExpress(t *testing.T) {
	t.Parallel()
	runOutcomeRows(t, expressRows)
}
