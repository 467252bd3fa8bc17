package action

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// TestSummaryForEveryFailure runs the action against the simulator for
// each failure behaviour and checks what a person reads: the reason
// output is the headline, the annotation and the summary's first line,
// and the summary carries the causes, events and log excerpts.
func TestSummaryForEveryFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		scenario string
		image    string
		extra    map[string]string
		timings  func(*ecssim.Timings)
		headline string   // in the reason, the ::error:: and the summary's first line
		sections []string // in the summary
	}{
		{name: "crash", image: "web:crash", headline: `container "app" exited with code 1`,
			sections: []string{"### Why tasks stopped", "EssentialContainerExited", "### Logs of failing containers", "<details>", "### Service events"}},
		{name: "out of memory", image: "web:oom", headline: `container "app" exited with code 137 (OutOfMemoryError: Container killed due to memory usage)`,
			sections: []string{"### Why tasks stopped", "137"}},
		{name: "image pull failure", image: "web:pull", headline: "image pull failed: CannotPullContainerError",
			sections: []string{"### Why tasks stopped", "TaskFailedToStart"}},
		{name: "failing health checks", image: "web:unhealthy", headline: "health checks failed",
			sections: []string{"### Why tasks stopped", "Task failed container health checks"}},
		{name: "healthy then crashing", image: "web:crash-after", headline: `container "app" exited with code`,
			timings:  func(tm *ecssim.Timings) { tm.HealthCheck = ecssim.Duration(2 * time.Second) },
			sections: []string{"### Why tasks stopped", "### Timeline", "first task running"}},
		{name: "slow", image: "web:slow", extra: map[string]string{"timeout": "500ms"}, headline: "timed out after 500ms",
			sections: []string{"### Timeline", "timed out", "rollback completed"}},
		{name: "stuck pending", image: "web:pending", extra: map[string]string{"timeout": "500ms"}, headline: "timed out after 500ms: 0 of 2 tasks running, 2 pending",
			sections: []string{"### Timeline", "rollback completed"}},
		{name: "circuit breaker", scenario: "circuit-breaker.json", image: "web:crash", extra: map[string]string{"failed-tasks-threshold": "100"},
			headline: "deployment circuit breaker rolled the service back to web:1", sections: []string{"### Why tasks stopped", "circuit breaker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join("testdata", "scenarios", tt.scenario)
			if tt.scenario == "" {
				file = filepath.Join("internal", "action", "scenarios", "demo.json")
			}
			sc, err := ecssim.LoadScenario(file)
			if err != nil {
				t.Fatal(err)
			}
			if tt.timings != nil {
				tt.timings(&sc.Timings)
			}
			srv := ecssimtest.NewServer(t, sc)
			inputs := map[string]string{"cluster": "demo", "service": "web", "image": "public.ecr.aws/ecs-rollout/" + tt.image,
				"poll-interval": "100ms", "timeout": "30s", "rollback-timeout": "30s"}
			for k, v := range tt.extra {
				inputs[k] = v
			}
			env := feGitHubEnv(t, srv.URL, inputs)
			r := feRunMain(t.Context(), nil, env)
			if r.code != exitFail {
				t.Fatalf("exit code: got %d, want %d\n%s", r.code, exitFail, r.stdout)
			}
			out := readFileCommands(t, env["GITHUB_OUTPUT"])
			if out["status"] != "rolled-back" {
				t.Errorf("status: got %q, want rolled-back (reason %q)", out["status"], out["reason"])
			}
			reason := out["reason"]
			t.Logf("reason: %s", reason)
			if !strings.Contains(reason, tt.headline) {
				t.Errorf("reason %q does not lead with %q", reason, tt.headline)
			}
			if !strings.Contains(r.stdout.String(), "::error::"+reason) {
				t.Errorf("no ::error:: annotation carrying the reason %q", reason)
			}
			summary := readText(t, env["GITHUB_STEP_SUMMARY"])
			if first := feFirstLine(summary); !strings.Contains(first, reason) {
				t.Errorf("summary's first line %q does not carry the reason %q", first, reason)
			}
			for _, s := range tt.sections {
				if !strings.Contains(summary, s) {
					t.Errorf("summary lacks %q:\n%s", s, summary)
				}
			}
		})
	}
}

// TestShortTimeoutWithDefaultPoll: a short timeout with the poll interval
// the runner fills in from action.yml (5s) deploys and rolls back; it is
// not an input error.
func TestShortTimeoutWithDefaultPoll(t *testing.T) {
	t.Parallel()
	srv := demoSim(t)
	env := feGitHubEnv(t, srv.URL, map[string]string{"cluster": "demo", "service": "web",
		"image": "public.ecr.aws/ecs-rollout/web:pending", "timeout": "1s", "rollback-timeout": "30s", "poll-interval": "5s"})
	r := feRunMain(t.Context(), nil, env)
	out := readFileCommands(t, env["GITHUB_OUTPUT"])
	if r.code != exitFail || out["status"] != "rolled-back" || !strings.Contains(out["reason"], "timed out after 1s") {
		t.Errorf("got exit %d, status %q, reason %q; want 1, rolled-back, timed out after 1s\n%s", r.code, out["status"], out["reason"], r.stdout)
	}
}
