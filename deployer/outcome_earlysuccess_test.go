package deployer_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// Early success criteria on rolling deployments (issue 26, section 2;
// docs/strategy-rolling.md): ECS completes the deployment once 50 % of
// the four tasks of the new revision are healthy and scales the rest in
// the background, where neither its circuit breaker nor its alarms act.
// minimumHealthyPercent 50 and maximumPercent 100 replace two tasks first:
// the two new ones are healthy; the
// two started after ECS completed the deployment are the background
// scale-out.

// earlyWorld gives web four tasks and early success criteria with the
// given clean-up; crash makes the tasks started after the first two of
// repo/app:2 crash (the background scale-out).
func earlyWorld(cleanup types.ServiceRevisionCleanup, crash bool) func(*ecssim.Scenario) {
	return func(sc *ecssim.Scenario) {
		svc := &sc.Services[0]
		svc.DesiredCount = 4
		svc.DeploymentConfiguration.MinimumHealthyPercent = aws.Int32(50)
		svc.DeploymentConfiguration.MaximumPercent = aws.Int32(100)
		svc.DeploymentConfiguration.EarlySuccessCriteria = &types.DeploymentEarlySuccessCriteria{
			Enable: true, HealthyPercent: aws.Int32(50), SourceServiceRevisionCleanup: cleanup}
		if crash {
			sc.ImageRules = append([]ecssim.ImageRule{{Image: "repo/app:2", Behavior: ecssim.BehaviorCrash, HealthyFirst: 2}}, sc.ImageRules...)
		}
	}
}

// earlySucceeded checks the Result names the early success: 2 of 4.
func earlySucceeded(cleanup types.ServiceRevisionCleanup) func(t *testing.T, o outcome) {
	return func(t *testing.T, o outcome) {
		t.Helper()
		want := &deployer.EarlySuccess{HealthyPercent: 50, Running: 2, Desired: 4, Cleanup: string(cleanup)}
		if diff := cmp.Diff(want, o.res.EarlySuccess); diff != "" {
			t.Errorf("Result.EarlySuccess (-want +got):\n%s", diff)
		}
		for _, s := range []string{"early success criteria", "2/4 tasks of web:2 running", "the other 2 scale outside the deployment"} {
			if !strings.Contains(o.res.Reason, s) {
				t.Errorf("the reason lacks %q: %s", s, o.res.Reason)
			}
		}
	}
}

// earlyRestored checks that the rollback sent the service's early
// success criteria back as they were and that the service has them at
// the end.
func earlyRestored(cleanup types.ServiceRevisionCleanup) func(t *testing.T, o outcome) {
	return func(t *testing.T, o outcome) {
		t.Helper()
		want := &types.DeploymentEarlySuccessCriteria{Enable: true, HealthyPercent: aws.Int32(50), SourceServiceRevisionCleanup: cleanup}
		var updates []ecssimCallInput
		for _, c := range o.calls {
			if c.Op == "UpdateService" && c.ErrCode == "" {
				var in ecssimCallInput
				if err := json.Unmarshal(c.Input, &in); err != nil {
					t.Fatal(err)
				}
				updates = append(updates, in)
			}
		}
		if len(updates) != 2 {
			t.Fatalf("%d UpdateService calls, want 2 (ours and the rollback)", len(updates))
		}
		// A rollback sends the configuration back only when our update
		// changed it (the percentages); then with earlySuccessCriteria as
		// it was.
		rb := updates[1].DeploymentConfiguration
		if sent := updates[0].DeploymentConfiguration != nil; sent != (rb != nil) {
			t.Errorf("our update sent a deployment configuration: %v; the rollback: %v", sent, rb != nil)
		}
		if rb != nil && !cmp.Equal(rb.EarlySuccessCriteria, want, cmp.AllowUnexported(types.DeploymentEarlySuccessCriteria{})) {
			t.Errorf("the rollback sent earlySuccessCriteria %+v, want %+v", rb.EarlySuccessCriteria, want)
		}
		svc, _ := o.sim.Service("prod", "web")
		if got := svc.DeploymentConfiguration.EarlySuccessCriteria; !cmp.Equal(got, want, cmp.AllowUnexported(types.DeploymentEarlySuccessCriteria{})) {
			t.Errorf("the service ends with earlySuccessCriteria %+v, want %+v", got, want)
		}
		if o.res.EarlySuccess != nil {
			t.Errorf("a rolled-back run reports an early success: %+v", o.res.EarlySuccess)
		}
	}
}

// ecssimCallInput is the part of an UpdateService request these rows read.
type ecssimCallInput struct {
	DeploymentConfiguration *struct {
		EarlySuccessCriteria *types.DeploymentEarlySuccessCriteria `json:"earlySuccessCriteria"`
	} `json:"deploymentConfiguration"`
}

func bakeFor(d time.Duration) func(*deployer.Config) {
	return func(cfg *deployer.Config) { cfg.BakeTime = d }
}

var earlySuccessRows = []outcomeRow{
	{name: "rolling early success DEFERRED healthy", strategy: "ROLLING", moment: "-", fault: "none",
		world: earlyWorld(types.ServiceRevisionCleanupDeferred, false),
		want:  deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"}, check: earlySucceeded(types.ServiceRevisionCleanupDeferred)},
	{name: "rolling early success BLOCKING healthy", strategy: "ROLLING", moment: "-", fault: "none",
		world: earlyWorld(types.ServiceRevisionCleanupBlocking, false),
		want:  deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"}, check: earlySucceeded(types.ServiceRevisionCleanupBlocking)},
	{name: "rolling early success DEFERRED, crash in the background scale-out during our bake", strategy: "ROLLING", moment: "background scale-out (our bake)", fault: "crash",
		world: earlyWorld(types.ServiceRevisionCleanupDeferred, true), config: bakeFor(5 * time.Minute),
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		wantReason: []string{"after the rollout completed", "ECS had completed the deployment under its early success criteria with 2/4 tasks running and no longer rolls it back"}, check: earlyRestored(types.ServiceRevisionCleanupDeferred)},
	{name: "rolling early success BLOCKING, crash in the background scale-out during our bake", strategy: "ROLLING", moment: "background scale-out (our bake)", fault: "crash",
		world: earlyWorld(types.ServiceRevisionCleanupBlocking, true), config: bakeFor(5 * time.Minute),
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		wantReason: []string{"after the rollout completed", "ECS had completed the deployment under its early success criteria with 2/4 tasks running and no longer rolls it back"}, check: earlyRestored(types.ServiceRevisionCleanupBlocking)},
	{name: "rolling early success DEFERRED, crash in the background scale-out during our bake, percentages given", strategy: "ROLLING", moment: "background scale-out (our bake)", fault: "crash",
		world: earlyWorld(types.ServiceRevisionCleanupDeferred, true),
		config: func(cfg *deployer.Config) {
			bakeFor(5 * time.Minute)(cfg)
			cfg.MinimumHealthyPercent, cfg.MaximumPercent = aws.Int32(50), aws.Int32(100)
		},
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		wantReason: []string{"after the rollout completed", "ECS had completed the deployment under its early success criteria with 2/4 tasks running and no longer rolls it back"}, check: earlyRestored(types.ServiceRevisionCleanupDeferred)},
	// Without bake-time the step ends at ECS's early success: what fails
	// in the background afterwards is outside the deployment (and ECS no
	// longer rolls back): the reason says the rest scales outside it.
	{name: "rolling early success, crash in the background scale-out, no bake-time", strategy: "ROLLING", moment: "background scale-out (after the step)", fault: "crash",
		world: earlyWorld(types.ServiceRevisionCleanupDeferred, true),
		want:  deployer.StatusSucceeded, check: earlySucceeded(types.ServiceRevisionCleanupDeferred), noCalls: []string{"StopServiceDeployment"}},
	{name: "rolling early success, minimum-healthy-percent above healthyPercent refused", strategy: "ROLLING", moment: "preflight", fault: "bad input",
		world: earlyWorld(types.ServiceRevisionCleanupDeferred, false), config: func(cfg *deployer.Config) { cfg.MinimumHealthyPercent = aws.Int32(100) },
		want: deployer.StatusFailed, wantReason: []string{"MinimumHealthyPercent: 100 is above the early success criteria's healthyPercent 50"},
		serving: map[string]string{"web": "web:1"}, noCalls: []string{"RegisterTaskDefinition", "UpdateService"}},
	{name: "rolling early success, the action's default percentages", strategy: "ROLLING", moment: "update", fault: "none",
		world: earlyWorld(types.ServiceRevisionCleanupDeferred, false), config: func(cfg *deployer.Config) { cfg.RollingDefaults = true },
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"}},
}

func TestOutcomeMatrixEarlySuccess(t *testing.T) {
	t.Parallel()
	runOutcomeRows(t, earlySuccessRows)
}
