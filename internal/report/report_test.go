package report

import (
	"testing"
	"unicode/utf8"

	"github.com/ecs-rollout/ecs-rollout/deployer"
)

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"longer text", 6, "longer…"},
		{"café au lait", 4, "caf…"}, // é is two bytes: not cut in two
		{"日本語", 4, "日…"},
	}
	for _, tt := range tests {
		got := Truncate(tt.in, tt.n)
		if got != tt.want || !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d): got %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"progress from the deployer", Progress(deployer.Event{Kind: deployer.EventProgress, Message: "deployment ecs-svc/1: 1/2 running, 1 pending, 0 failed, IN_PROGRESS", Counts: &deployer.Counts{Desired: 2, Running: 1, Pending: 1}}),
			"deployment ecs-svc/1: 1/2 running, 1 pending, 0 failed, IN_PROGRESS"},
		{"progress from counts alone", Progress(deployer.Event{Kind: deployer.EventProgress, Counts: &deployer.Counts{Desired: 2, Running: 2, RolloutState: "COMPLETED"}}),
			"deployment: 2/2 running, 0 pending, 0 failed, COMPLETED"},
		{"service event", ServiceEvent(deployer.Event{Kind: deployer.EventServiceEvent, ServiceEvent: &deployer.ServiceEvent{Message: "(service web) has\nreached a steady state."}}),
			"ECS: (service web) has reached a steady state."},
		{"headline of a success", Headline(deployer.Result{Status: deployer.StatusSucceeded, Service: "web", Cluster: "prod",
			TaskDefinitionARN: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:42", DeploymentID: "ecs-svc/1"}),
			"Deployed web:42 to service web in cluster prod (deployment ecs-svc/1)"},
		{"headline of a failure", Headline(deployer.Result{Status: deployer.StatusRolledBack, Reason: "health checks failed;\n rolled back to web:41"}),
			"health checks failed; rolled back to web:41"},
		{"manual rollback to finish", ManualRollback(deployer.Result{ManualRollback: "aws ecs update-service …"}, true),
			"To finish the rollback by hand:\n  aws ecs update-service …"},
		{"no manual rollback", ManualRollback(deployer.Result{}, true), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}
