package action

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// breakerSim is the demo world with web's circuit breaker (rollback on)
// given cb's threshold, tripping trip after the threshold is reached.
func breakerSim(t *testing.T, cb ecssim.CircuitBreaker, trip time.Duration) *ecssim.Server {
	t.Helper()
	sc, err := ecssim.LoadScenario(filepath.Join("internal", "action", "scenarios", "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	sc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker = &cb
	sc.Timings.BreakerTrip = ecssim.Duration(trip)
	return ecssimtest.NewServer(t, sc)
}

// TestBreakerThresholdInPlan: the dry run's plan says at how many failed
// tasks the service's circuit breaker acts, by its thresholdConfiguration.
func TestBreakerThresholdInPlan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cb   ecssim.CircuitBreaker
		want []string
	}{
		{"COUNT 1", ecssim.CircuitBreaker{Enable: true, Rollback: true, ThresholdConfiguration: &ecssim.ThresholdConfiguration{Type: "COUNT", Value: 1}},
			[]string{"circuit breaker: ECS fails the deployment at 1 failed task (COUNT 1); a healthy task resets the count; ECS then rolls back by itself and we follow its rollback (no second one)"}},
		{"default", ecssim.CircuitBreaker{Enable: true, Rollback: false},
			[]string{"circuit breaker: ECS fails the deployment at 3 failed tasks (BOUNDED_PERCENT 50 of 2 tasks = 1, raised to the minimum 3)", "rollback off: we roll back", "failed-tasks-threshold 1 acts first"}},
		{"UNBOUNDED_PERCENT, cumulative", ecssim.CircuitBreaker{Enable: true, Rollback: true, ResetOnHealthyTask: new(false), ThresholdConfiguration: &ecssim.ThresholdConfiguration{Type: "UNBOUNDED_PERCENT", Value: 300}},
			[]string{"at 6 failed tasks (UNBOUNDED_PERCENT 300 of 2 tasks = 6)", "failures add up over the whole deployment (resetOnHealthyTask false)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := breakerSim(t, tt.cb, 0)
			env := feGitHubEnv(t, srv.URL, map[string]string{"cluster": "demo", "service": "web",
				"image": "public.ecr.aws/ecs-rollout/web:good", "dry-run": "true"})
			r := feRunMain(t.Context(), nil, env)
			if r.code != exitOK {
				t.Fatalf("exit code: got %d, want %d\n%s", r.code, exitOK, r.stdout)
			}
			for _, want := range tt.want {
				if !strings.Contains(r.stdout.String(), want) {
					t.Errorf("the plan lacks %q:\n%s", want, r.stdout)
				}
			}
		})
	}
}

// TestBreakerCountOneThroughBinary: thresholdConfiguration COUNT 1 and
// ECS evaluating the breaker a few polls after failedTasks reaches 1: the
// action leaves the rollback to ECS (one UpdateService: ours), says so
// with the threshold, and exits non-zero with status rolled-back.
func TestBreakerCountOneThroughBinary(t *testing.T) {
	t.Parallel()
	srv := breakerSim(t, ecssim.CircuitBreaker{Enable: true, Rollback: true, ThresholdConfiguration: &ecssim.ThresholdConfiguration{Type: "COUNT", Value: 1}}, 250*time.Millisecond)
	env := feGitHubEnv(t, srv.URL, map[string]string{"cluster": "demo", "service": "web",
		"image": "public.ecr.aws/ecs-rollout/web:crash", "poll-interval": "100ms", "timeout": "30s", "rollback-timeout": "30s"})
	r := feRunMain(t.Context(), nil, env)
	out := readFileCommands(t, env["GITHUB_OUTPUT"])
	if r.code != exitFail || out["status"] != "rolled-back" {
		t.Fatalf("got exit %d, status %q; want %d, rolled-back\n%s", r.code, out["status"], exitFail, r.stdout)
	}
	for _, want := range []string{"circuit breaker acts at 1 failed task (COUNT 1)", "ECS's deployment circuit breaker rolled the service back to web:1"} {
		if !strings.Contains(out["reason"], want) {
			t.Errorf("reason %q lacks %q", out["reason"], want)
		}
	}
	n := 0
	for _, c := range srv.Sim.Calls() {
		if c.Op == "UpdateService" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d UpdateService calls, want 1 (ours; the rollback is ECS's)", n)
	}
}
