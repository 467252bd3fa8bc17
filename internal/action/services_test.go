package action

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// threeServices is cluster "demo" with web, worker and cron, each on
// revision 1 of its own family (container "app", image repo/app:1).
func threeServices(rules ...ecssim.ImageRule) ecssim.Scenario {
	sc := ecssim.Scenario{Clusters: []ecssim.ScenarioCluster{{Name: "demo"}}, ImageRules: rules}
	for _, name := range []string{"web", "worker", "cron"} {
		one := ecssim.OneService("demo", name, ecssim.FargateApp(name, "repo/app:1"), 2)
		sc.TaskDefinitions = append(sc.TaskDefinitions, one.TaskDefinitions...)
		sc.Services = append(sc.Services, one.Services...)
	}
	return sc
}

// TestServicesStep runs the action with services against the simulator
// and checks the outputs and the summary people read.
func TestServicesStep(t *testing.T) {
	t.Parallel()
	crashWorker := ecssim.ImageRule{Image: "repo/app:2", Family: "worker", Behavior: ecssim.BehaviorCrash}
	tests := []struct {
		name        string
		rules       []ecssim.ImageRule
		scope       string
		wantCode    int
		wantStatus  string
		wantEach    map[string]string
		wantSummary []string
	}{
		{name: "all healthy", wantCode: exitOK, wantStatus: "succeeded",
			wantEach:    map[string]string{"web": "succeeded", "worker": "succeeded", "cron": "succeeded"},
			wantSummary: []string{"| `web` | `demo` | ✅ Deployed | `web:2` | `web:1` |"}},
		{name: "worker crashes, scope all", rules: []ecssim.ImageRule{crashWorker}, scope: "all",
			wantCode: exitFail, wantStatus: "rolled-back",
			wantEach:    map[string]string{"web": "rolled-back", "worker": "rolled-back", "cron": "rolled-back"},
			wantSummary: []string{"| `cron` | `demo` | ↩️ Rolled back |", "## worker: ↩️ Rolled back", "exited with code 1"}},
		{name: "worker crashes, scope failed", rules: []ecssim.ImageRule{crashWorker}, scope: "failed",
			wantCode: exitFail, wantStatus: "rolled-back",
			wantEach:    map[string]string{"web": "succeeded", "worker": "rolled-back", "cron": "succeeded"},
			wantSummary: []string{"| `web` | `demo` | ✅ Deployed | `web:2` |", "## worker: ↩️ Rolled back"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := ecssimtest.NewServer(t, threeServices(tt.rules...))
			env := feGitHubEnv(t, srv.URL, map[string]string{"cluster": "demo", "services": "web\nworker\ncron",
				"image": "repo/app:2", "rollback-scope": tt.scope, "poll-interval": "100ms", "timeout": "30s"})
			r := feRunMain(t.Context(), nil, env)
			if r.code != tt.wantCode {
				t.Fatalf("exit code %d, want %d\n%s", r.code, tt.wantCode, r.stdout)
			}
			out := readFileCommands(t, env["GITHUB_OUTPUT"])
			if out["status"] != tt.wantStatus {
				t.Errorf("status = %q, want %q (%s)", out["status"], tt.wantStatus, out["reason"])
			}
			if td, ok := out["task-definition"]; ok {
				t.Errorf("task-definition output %q with several services, want none (a revision each)", td)
			}
			if tt.wantCode != exitOK && !strings.HasPrefix(out["reason"], "worker: ") {
				t.Errorf("reason %q does not start with the service that decided it", out["reason"])
			}
			var results []map[string]string
			if err := json.Unmarshal([]byte(out["results"]), &results); err != nil {
				t.Fatalf("results %q: %v", out["results"], err)
			}
			got := map[string]string{}
			for _, res := range results {
				got[res["service"]] = res["status"]
				if res["cluster"] != "demo" || res["task-definition-arn"] == "" || res["previous-task-definition-arn"] == "" || res["deployment-id"] == "" || res["reason"] == "" {
					t.Errorf("incomplete result: %v", res)
				}
			}
			if diff := cmp.Diff(tt.wantEach, got); diff != "" {
				t.Errorf("per-service statuses (-want +got):\n%s", diff)
			}
			summary := readText(t, env["GITHUB_STEP_SUMMARY"])
			for _, w := range append(tt.wantSummary, "| Service | Cluster | Status |") {
				if !strings.Contains(summary, w) {
					t.Errorf("summary lacks %q:\n%s", w, summary)
				}
			}
			for _, name := range []string{"[web] Watch deployment", "[worker] Watch deployment", "[cron] Watch deployment"} {
				if !strings.Contains(r.stdout.String(), name) {
					t.Errorf("the log has no line of %s", name)
				}
			}
		})
	}
}
