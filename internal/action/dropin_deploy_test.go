package action

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// The deploy action's rows of issue 28 that are not run-task
// (runtask_test.go), through the binary: the service's own percentages
// left alone, wait-for-minutes clamped, the AppSpec file read by default.

// updateServiceInputs returns the UpdateService requests srv received, in
// order, decoded.
func updateServiceInputs(t *testing.T, srv *ecssim.Server) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, c := range srv.Sim.Calls() {
		if c.Op != "UpdateService" || c.ErrCode != "" {
			continue
		}
		var in map[string]any
		if err := json.Unmarshal(c.Input, &in); err != nil {
			t.Fatal(err)
		}
		out = append(out, in)
	}
	return out
}

// TestServicePercentagesThroughTheBinary: a ROLLING service at 50/150 keeps
// its own percentages when no input names them (no deploymentConfiguration
// is sent, and it is still 50/150 after a success and after a rollback);
// minimum-healthy-percent changes only the minimum, and a rollback puts
// 50/150 back.
func TestServicePercentagesThroughTheBinary(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		inputs     map[string]string
		wantStatus string
		wantSent   []any // minimumHealthyPercent, maximumPercent of the first UpdateService; nil: no deploymentConfiguration
		wantEnd    [2]int32
	}{
		{"no inputs, healthy", map[string]string{"image": "repo/app:2"}, "succeeded", nil, [2]int32{50, 150}},
		{"no inputs, rolled back", map[string]string{"image": "repo/app:crash"}, "rolled-back", nil, [2]int32{50, 150}},
		{"minimum-healthy-percent, healthy", map[string]string{"image": "repo/app:2", "minimum-healthy-percent": "75"}, "succeeded", []any{float64(75), float64(150)}, [2]int32{75, 150}},
		{"minimum-healthy-percent, rolled back", map[string]string{"image": "repo/app:crash", "minimum-healthy-percent": "75"}, "rolled-back", []any{float64(75), float64(150)}, [2]int32{50, 150}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := slowScenario()
			sc.Services[0].DeploymentConfiguration = ecssim.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(150)}
			srv := ecssimtest.NewServer(t, sc)
			r := newActionRun(t, srv, tc.inputs)
			r.run()
			if got := r.outputs()["status"]; got != tc.wantStatus {
				t.Fatalf("status %q, want %q\n%s", got, tc.wantStatus, r.stdout.String())
			}
			updates := updateServiceInputs(t, srv)
			if len(updates) == 0 {
				t.Fatal("no UpdateService")
			}
			dc, sent := updates[0]["deploymentConfiguration"].(map[string]any)
			switch {
			case tc.wantSent == nil && sent:
				t.Errorf("deploymentConfiguration sent without a percentage input: %v", dc)
			case tc.wantSent != nil && (!sent || dc["minimumHealthyPercent"] != tc.wantSent[0] || dc["maximumPercent"] != tc.wantSent[1]):
				t.Errorf("deploymentConfiguration sent: %v, want %v", dc, tc.wantSent)
			}
			svc, _ := srv.Sim.Service("prod", "web")
			c := svc.DeploymentConfiguration
			if c == nil || aws.ToInt32(c.MinimumHealthyPercent) != tc.wantEnd[0] || aws.ToInt32(c.MaximumPercent) != tc.wantEnd[1] {
				t.Errorf("the service ends with %+v, want %d/%d", c, tc.wantEnd[0], tc.wantEnd[1])
			}
		})
	}
}

// TestWaitForMinutesClampedThroughTheBinary: wait-for-minutes above 360
// (the deploy action's MAX_WAIT_MINUTES) is taken as 6 hours with a
// notice naming it, not an input error (the dry run's plan watches for up
// to 6h); without timeout and wait-for-minutes the watch is 30 minutes.
func TestWaitForMinutesClampedThroughTheBinary(t *testing.T) {
	t.Parallel()
	srv := ecssimtest.NewServer(t, slowScenario())
	r := newActionRun(t, srv, map[string]string{"image": "repo/app:2", "timeout": "", "wait-for-minutes": "1000", "dry-run": "true"})
	if code := r.run(); code != 0 {
		t.Fatalf("exit %d\n%s", code, r.stdout.String())
	}
	out := r.stdout.String()
	if !strings.Contains(out, "::notice::wait-for-minutes: 1000 minutes is more than 6 hours; waiting at most 360 minutes (6h)") {
		t.Errorf("no notice of the clamp:\n%s", out)
	}
	if errs := errorAnnotations(out); len(errs) != 0 {
		t.Errorf("errors: %q", errs)
	}
	if !strings.Contains(out, "watch deployment for up to 6h0m0s") {
		t.Errorf("the plan does not watch for up to 6h:\n%s", out)
	}
	// No percentage input: the plan says nothing is sent for them.
	if !strings.Contains(out, "UpdateService: web in prod to the new revision (the service's ROLLING settings unchanged)") {
		t.Errorf("the plan does not say the service's settings are kept:\n%s", out)
	}
	if calls := srv.Sim.MutatingCalls(); len(calls) != 0 {
		t.Errorf("a dry run made %d mutating calls", len(calls))
	}

	def := newActionRun(t, srv, map[string]string{"image": "repo/app:2", "timeout": "", "dry-run": "true"})
	if code := def.run(); code != 0 || !strings.Contains(def.stdout.String(), "watch deployment for up to 30m0s") {
		t.Errorf("default timeout: exit %d, want a plan watching for up to 30m0s:\n%s", code, def.stdout.String())
	}
}

// TestCodeDeployDefaultAppSpecThroughTheBinary: with codedeploy-appspec
// empty, the workspace's appspec.yaml is the AppSpec (as the deploy
// action reads it): its hook runs, and when it fails CodeDeploy rolls
// back; without the file an AppSpec is built and the log says so; a
// malformed appspec.yaml is an error naming codedeploy-appspec before any
// change for a CODE_DEPLOY service, and never read for an ECS-controller
// one.
func TestCodeDeployDefaultAppSpecThroughTheBinary(t *testing.T) {
	t.Parallel()
	const hooked = "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: app\n          ContainerPort: 8080\nHooks:\n  - BeforeAllowTraffic: smoke-test\n"
	appSpecSent := func(t *testing.T, srv *ecssim.Server) string {
		t.Helper()
		for _, c := range srv.Sim.Calls() {
			if c.Op == "CreateDeployment" && c.ErrCode == "" {
				var in struct {
					Revision struct {
						AppSpecContent struct{ Content string }
					}
				}
				if err := json.Unmarshal(c.Input, &in); err != nil {
					t.Fatal(err)
				}
				return in.Revision.AppSpecContent.Content
			}
		}
		return ""
	}
	t.Run("appspec.yaml with a failing hook", func(t *testing.T) {
		t.Parallel()
		sc := codeDeployScenario(nil)
		sc.CodeDeploy.Hooks = []ecssim.CodeDeployHook{{Function: "smoke-test", Results: []string{"Failed"}, Message: "GET /health returned 500"}}
		srv := ecssimtest.NewServer(t, sc)
		r := newActionRun(t, srv, map[string]string{"image": "repo/app:2"})
		writeFile(t, filepath.Join(r.dir, "appspec.yaml"), hooked)
		code := r.run()
		out := r.outputs()
		if code != 1 || out["status"] != "rolled-back" || !strings.Contains(out["reason"], "at BeforeAllowTraffic (hook smoke-test: GET /health returned 500)") {
			t.Fatalf("exit %d, outputs %v\n%s", code, out, r.stdout.String())
		}
		if !strings.Contains(r.stdout.String(), "AppSpec from appspec.yaml (the workspace's, codedeploy-appspec being empty), hooks: BeforeAllowTraffic smoke-test") {
			t.Errorf("the log does not say which AppSpec was used:\n%s", r.stdout.String())
		}
		if sent := appSpecSent(t, srv); !strings.Contains(sent, "smoke-test") {
			t.Errorf("CreateDeployment's AppSpec has no hook: %s", sent)
		}
	})
	t.Run("appspec.yaml with a passing hook", func(t *testing.T) {
		t.Parallel()
		sc := codeDeployScenario(nil)
		sc.CodeDeploy.Hooks = []ecssim.CodeDeployHook{{Function: "smoke-test", Results: []string{"Succeeded"}}}
		srv := ecssimtest.NewServer(t, sc)
		r := newActionRun(t, srv, map[string]string{"image": "repo/app:2"})
		writeFile(t, filepath.Join(r.dir, "appspec.yaml"), hooked)
		if code := r.run(); code != 0 || r.outputs()["status"] != "succeeded" {
			t.Fatalf("exit %d, outputs %v\n%s", code, r.outputs(), r.stdout.String())
		}
		if sent := appSpecSent(t, srv); !strings.Contains(sent, "BeforeAllowTraffic") || !strings.Contains(sent, "web:2") {
			t.Errorf("CreateDeployment's AppSpec: %s, want the hook and web:2", sent)
		}
	})
	t.Run("no appspec.yaml", func(t *testing.T) {
		t.Parallel()
		srv := ecssimtest.NewServer(t, codeDeployScenario(nil))
		r := newActionRun(t, srv, map[string]string{"image": "repo/app:2"})
		if code := r.run(); code != 0 {
			t.Fatalf("exit %d\n%s", code, r.stdout.String())
		}
		if !strings.Contains(r.stdout.String(), "No AppSpec file: built the AppSpec from service web's load balancer (container app, port 8080), with no hooks") {
			t.Errorf("the log does not say the AppSpec was built:\n%s", r.stdout.String())
		}
	})
	t.Run("malformed appspec.yaml, CODE_DEPLOY", func(t *testing.T) {
		t.Parallel()
		srv := ecssimtest.NewServer(t, codeDeployScenario(nil))
		r := newActionRun(t, srv, map[string]string{"image": "repo/app:2"})
		writeFile(t, filepath.Join(r.dir, "appspec.yaml"), "version: 0.0\nHooks: []\n")
		if code := r.run(); code != 1 {
			t.Fatalf("exit %d\n%s", code, r.stdout.String())
		}
		errs := errorAnnotations(r.stdout.String())
		if len(errs) != 1 || !strings.Contains(errs[0], "codedeploy-appspec: appspec.yaml") || !strings.Contains(errs[0], "no Resources section") {
			t.Errorf("errors %q, want one naming codedeploy-appspec and the file", errs)
		}
		if calls := srv.Sim.MutatingCalls(); len(calls) != 0 {
			t.Errorf("%d mutating calls (first %s) before the error", len(calls), calls[0].Op)
		}
	})
	t.Run("malformed appspec.yaml, ROLLING", func(t *testing.T) {
		t.Parallel()
		srv := ecssimtest.NewServer(t, slowScenario())
		r := newActionRun(t, srv, map[string]string{"image": "repo/app:2"})
		writeFile(t, filepath.Join(r.dir, "appspec.yaml"), "not: an appspec\n")
		if code := r.run(); code != 0 || strings.Contains(r.stdout.String(), "AppSpec") {
			t.Errorf("exit %d, want 0 and no word of an AppSpec:\n%s", code, r.stdout.String())
		}
	})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPreflightRefusesServiceThroughTheBinary: a workflow migrated from
// the deploy action (a task-definition file and a service) whose service
// is missing, INACTIVE or DRAINING fails with one error naming service
// and registers nothing (the deploy action registers the file first);
// without service-managed-ebs-volume our update sends no
// volumeConfigurations, so a volume configured elsewhere stays.
func TestPreflightRefusesServiceThroughTheBinary(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, service, status, want string
	}{
		{"missing", "nope", "", "nope"},
		{"INACTIVE", "web", "INACTIVE", `service "web" is INACTIVE, not ACTIVE`},
		{"DRAINING", "web", "DRAINING", `service "web" is DRAINING, not ACTIVE`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := slowScenario()
			sc.Services[0].Status = tc.status
			srv := ecssimtest.NewServer(t, sc)
			r := newActionRun(t, srv, map[string]string{"service": tc.service, "container-name": "", "task-definition": "task-definition.json"})
			writeFile(t, filepath.Join(r.dir, "task-definition.json"), runTaskFile)
			if code := r.run(); code != 1 {
				t.Fatalf("exit %d\n%s", code, r.stdout.String())
			}
			errs := errorAnnotations(r.stdout.String())
			if len(errs) != 1 || !strings.Contains(errs[0], "service: ") || !strings.Contains(errs[0], tc.want) {
				t.Errorf("errors %q, want one naming service and %q", errs, tc.want)
			}
			if m := srv.Sim.MutatingCalls(); len(m) != 0 {
				t.Errorf("%d mutating calls (first %s): nothing may be registered", len(m), m[0].Op)
			}
		})
	}
	t.Run("no EBS input: no volumeConfigurations sent", func(t *testing.T) {
		t.Parallel()
		srv := ecssimtest.NewServer(t, slowScenario())
		r := newActionRun(t, srv, map[string]string{"image": "repo/app:2"})
		if code := r.run(); code != 0 {
			t.Fatalf("exit %d\n%s", code, r.stdout.String())
		}
		for _, in := range updateServiceInputs(t, srv) {
			if v, ok := in["volumeConfigurations"]; ok {
				t.Errorf("UpdateService sent volumeConfigurations %v without service-managed-ebs-volume", v)
			}
		}
	})
}
