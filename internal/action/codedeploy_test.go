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

// TestCodeDeployResumeBakeAlarmThroughTheBinary (issue 24): a Ready gate,
// then resume: continue with bake-time and an alarm that goes into ALARM
// after CodeDeploy finished the deployment. The resume skips preflight,
// and the rollback (a new deployment of the previous revision, through
// its own Ready wait) once panicked on the AppSpec preflight had not read:
// now the step ends rolled-back, with its annotation and summary.
func TestCodeDeployResumeBakeAlarmThroughTheBinary(t *testing.T) {
	t.Parallel()
	sc := codeDeployScenario(func(g *ecssim.ScenarioDeploymentGroup) { g.ReadyAction, g.ReadyWaitMinutes = "STOP_DEPLOYMENT", 6000 })
	sc.Alarms = []ecssim.ScenarioAlarm{{Name: "web-5xx", Changes: []ecssim.AlarmChange{{State: ecssim.AlarmAlarm, From: ecssim.AnchorCompleted, After: ecssim.Duration(300 * time.Millisecond)}}}}
	srv := ecssimtest.NewServer(t, sc)
	first := newActionRun(t, srv, map[string]string{"image": "repo/app:2"})
	if code := first.run(); code != 0 || first.outputs()["status"] != "paused" {
		t.Fatalf("first step: exit %d, outputs %v\n%s", code, first.outputs(), first.dump())
	}
	second := newActionRun(t, srv, map[string]string{"resume": "continue", "container-name": "", "bake-time": "10s", "alarms": "web-5xx"})
	code := second.run()
	out := second.outputs()
	if code != 1 || out["status"] != "rolled-back" || !strings.Contains(out["reason"], `alarm "web-5xx" went into ALARM`) {
		t.Fatalf("resume: exit %d, outputs %v\n%s", code, out, second.dump())
	}
	if len(errorAnnotations(second.stdout.String())) == 0 || !strings.Contains(second.summary(), "rolled-back") && !strings.Contains(second.summary(), "Rolled back") {
		t.Errorf("no annotation or summary:\n%s", second.dump())
	}
	if n := codeDeployCalls(srv, "CreateDeployment"); n != 2 {
		t.Errorf("%d CreateDeployment calls, want ours and the rollback's", n)
	}
	if n := codeDeployCalls(srv, "ContinueDeployment"); n != 2 {
		t.Errorf("%d ContinueDeployment calls, want the resume's and the rollback's Ready wait", n)
	}
	if _, primary, _ := srv.Sim.CodeDeployTraffic("prod", "web"); !strings.HasSuffix(primary, "/web:1") {
		t.Errorf("production runs %s, want web:1", primary)
	}
}

// TestCodeDeployNoAutoRollbackThroughTheBinary (issue 24): a deployment
// group without automatic rollback; our deployment fails at
// AfterAllowTraffic, production traffic already on web:2. Our
// CreateDeployment turned CodeDeploy's automatic rollback on for it, so
// CodeDeploy rolls it back. When CodeDeploy's rollback fails and the new
// deployment of web:1 that follows cannot be created, the step prints a
// command that works in that state (create-deployment, not stop-deployment
// of a finished deployment), and the post step issues it.
func TestCodeDeployNoAutoRollbackThroughTheBinary(t *testing.T) {
	t.Parallel()
	appspec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: app\n          ContainerPort: 8080\nHooks:\n  - AfterAllowTraffic: smoke-test\n"
	for _, createFails := range []bool{false, true} {
		t.Run(map[bool]string{false: "rolled back", true: "rollback refused, post step"}[createFails], func(t *testing.T) {
			t.Parallel()
			sc := codeDeployScenario(func(g *ecssim.ScenarioDeploymentGroup) { g.AutoRollback, g.RollbackFails = false, createFails })
			sc.CodeDeploy.Hooks = []ecssim.CodeDeployHook{{Function: "smoke-test", Event: "AfterAllowTraffic", Image: "repo/app:2", Results: []string{"Failed"}, Message: "GET /checkout returned 500"}}
			srv := ecssimtest.NewServer(t, sc)
			if createFails {
				srv.Sim.InjectFault("CreateDeployment", ecssim.Fault{Error: "InvalidRoleException", Message: "injected refusal", OnCall: 2})
			}
			r := newActionRun(t, srv, map[string]string{"image": "repo/app:2", "codedeploy-appspec": "appspec.yaml"})
			if err := os.WriteFile(filepath.Join(r.dir, "appspec.yaml"), []byte(appspec), 0o644); err != nil {
				t.Fatal(err)
			}
			code := r.run()
			out := r.outputs()
			if !createFails {
				if code != 1 || out["status"] != "rolled-back" || !strings.Contains(out["reason"], "at AfterAllowTraffic (hook smoke-test: GET /checkout returned 500)") {
					t.Fatalf("exit %d, outputs %v\n%s", code, out, r.dump())
				}
				if _, primary, _ := srv.Sim.CodeDeployTraffic("prod", "web"); !strings.HasSuffix(primary, "/web:1") {
					t.Errorf("production runs %s, want web:1", primary)
				}
				return
			}
			if code != 1 || out["status"] != "rollback-failed" || !strings.Contains(out["reason"], "aws deploy create-deployment --application-name AppECS-prod-web") || strings.Contains(out["reason"], "stop-deployment") {
				t.Fatalf("exit %d, outputs %v\n%s", code, out, r.dump())
			}
			// The checkpoint names the rollback owed; the post step issues it.
			srv.Sim.ClearFaults()
			post := postRun(t, r)
			if code := post.run(); code != 0 || !strings.Contains(post.stdout.String(), "create") && !strings.Contains(post.stdout.String(), "CodeDeploy deployment") {
				t.Fatalf("post step: exit %d\n%s", code, post.dump())
			}
			if n := codeDeployCalls(srv, "CreateDeployment"); n != 2 {
				t.Errorf("%d CreateDeployment calls, want ours and the post step's rollback", n)
			}
			waitFor(t, 30*time.Second, "web:1 serving production", func() bool {
				_, primary, _ := srv.Sim.CodeDeployTraffic("prod", "web")
				return strings.HasSuffix(primary, "/web:1")
			})
		})
	}
}
