package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// The CodeDeploy tests run the binary as the runner does, against the
// simulator's ECS and CodeDeploy (AWS_ENDPOINT_URL_CODEDEPLOY), with a
// scenario minute of 100 ms.

// codeDeployScenario is slowScenario on the CODE_DEPLOY controller, its
// deployment group changed by group.
func codeDeployScenario(group func(*ecssim.ScenarioDeploymentGroup)) ecssim.Scenario {
	sc := slowScenario()
	ecssim.AddCodeDeploy(&sc, 0, group)
	sc.Timings.Minute = ecssim.Duration(100 * time.Millisecond)
	return sc
}

func codeDeployCalls(srv *ecssim.Server, op string) int {
	n := 0
	for _, c := range srv.Sim.Calls() {
		if c.Op == op && c.ErrCode == "" {
			n++
		}
	}
	return n
}

// TestCodeDeployGateThroughTheBinary: the first step stops at Ready
// (status paused, exit 0, the deployment ID in both outputs); a second
// step resumes it, one continuing to success and one rolling back.
func TestCodeDeployGateThroughTheBinary(t *testing.T) {
	t.Parallel()
	for _, resume := range []string{"continue", "rollback"} {
		t.Run(resume, func(t *testing.T) {
			t.Parallel()
			srv := ecssimtest.NewServer(t, codeDeployScenario(func(g *ecssim.ScenarioDeploymentGroup) {
				g.ReadyAction, g.ReadyWaitMinutes = "STOP_DEPLOYMENT", 6000
			}))
			first := newActionRun(t, srv, map[string]string{"image": "repo/app:2"})
			if code := first.run(); code != 0 {
				t.Fatalf("first step: exit %d\n%s", code, first.stdout.String())
			}
			out := first.outputs()
			id := out["codedeploy-deployment-id"]
			if out["status"] != "paused" || !strings.HasPrefix(id, "d-") || out["deployment-id"] != id {
				t.Fatalf("first step outputs: %v", out)
			}
			second := newActionRun(t, srv, map[string]string{"resume": resume, "container-name": ""})
			code := second.run()
			out = second.outputs()
			want, wantCode := "succeeded", 0
			if resume == "rollback" {
				want, wantCode = "rolled-back", 1
			}
			if code != wantCode || out["status"] != want || out["codedeploy-deployment-id"] != id {
				t.Fatalf("resume %s: exit %d, outputs %v\n%s", resume, code, out, second.stdout.String())
			}
		})
	}
}

// TestCodeDeployHookFailureThroughTheBinary: a hook of the AppSpec file
// fails; CodeDeploy rolls back by itself; the step names the hook, does
// not stop the deployment a second time, and fails.
func TestCodeDeployHookFailureThroughTheBinary(t *testing.T) {
	t.Parallel()
	sc := codeDeployScenario(nil)
	sc.CodeDeploy.Hooks = []ecssim.CodeDeployHook{{Function: "smoke-test", Results: []string{"Failed"}, Message: "GET /health returned 500"}}
	srv := ecssimtest.NewServer(t, sc)
	r := newActionRun(t, srv, map[string]string{"image": "repo/app:2", "codedeploy-appspec": "deploy/appspec.yaml"})
	if err := os.MkdirAll(filepath.Join(r.dir, "deploy"), 0o755); err != nil {
		t.Fatal(err)
	}
	appspec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: app\n          ContainerPort: 8080\nHooks:\n  - BeforeAllowTraffic: smoke-test\n"
	if err := os.WriteFile(filepath.Join(r.dir, "deploy", "appspec.yaml"), []byte(appspec), 0o644); err != nil {
		t.Fatal(err)
	}
	code := r.run()
	out := r.outputs()
	if code != 1 || out["status"] != "rolled-back" || !strings.Contains(out["reason"], "at BeforeAllowTraffic (hook smoke-test: GET /health returned 500)") {
		t.Fatalf("exit %d, outputs %v\n%s", code, out, r.stdout.String())
	}
	if n := codeDeployCalls(srv, "StopDeployment"); n != 0 {
		t.Errorf("%d StopDeployment calls: CodeDeploy's own rollback must not be doubled", n)
	}
}

// TestCodeDeployBadInputsThroughTheBinary: a missing AppSpec file is an
// input error before any call.
func TestCodeDeployBadInputsThroughTheBinary(t *testing.T) {
	t.Parallel()
	srv := ecssimtest.NewServer(t, codeDeployScenario(nil))
	r := newActionRun(t, srv, map[string]string{"image": "repo/app:2", "codedeploy-appspec": "missing.yaml"})
	if code := r.run(); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(r.stdout.String(), "::error") || !strings.Contains(r.stdout.String(), "codedeploy-appspec: read ") {
		t.Errorf("no error naming codedeploy-appspec:\n%s", r.stdout.String())
	}
	if calls := srv.Sim.Calls(); len(calls) != 0 {
		t.Errorf("%d calls (first %s) before the input error, want none", len(calls), calls[0].Op)
	}
}
