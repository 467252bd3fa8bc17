package action

import (
	"strings"
	"testing"
)

// TestDryRunChangesNothing: a dry run runs the preflight, prints the plan
// and the task-definition diff, makes no mutating call and exits 0.
func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	srv := demoSim(t)
	env := feGitHubEnv(t, srv.URL, map[string]string{"cluster": "demo", "service": "web",
		"image": "public.ecr.aws/ecs-rollout/web:crash", "dry-run": "true"})
	r := feRunMain(t.Context(), nil, env)
	if r.code != exitOK {
		t.Fatalf("exit code: got %d, want %d\n%s", r.code, exitOK, r.stdout)
	}
	if got := readFileCommands(t, env["GITHUB_OUTPUT"])["status"]; got != "dry-run" {
		t.Errorf("status: got %q, want dry-run", got)
	}
	for _, c := range srv.Sim.Calls() {
		switch c.Op {
		case "DescribeServices", "DescribeTaskDefinition":
		case "DescribeLogGroups": // the verify phase reads
		default:
			t.Errorf("dry run called %s; want only DescribeServices and DescribeTaskDefinition", c.Op)
		}
	}
	log := r.stdout.String()
	for _, want := range []string{"RegisterTaskDefinition", "UpdateService", "container app: image public.ecr.aws/ecs-rollout/web:v1 -> public.ecr.aws/ecs-rollout/web:crash"} {
		if !strings.Contains(log, want) {
			t.Errorf("the plan in the log lacks %q:\n%s", want, log)
		}
	}
	if summary := readText(t, env["GITHUB_STEP_SUMMARY"]); !strings.Contains(summary, "RegisterTaskDefinition") {
		t.Errorf("the summary lacks the plan:\n%s", summary)
	}
}
