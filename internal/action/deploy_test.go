package action

import (
	"context"
	"strings"
	"testing"

	"github.com/ecs-rollout/ecs-rollout/deployer"
)

// panickingECS panics on every call (its embedded interface is nil), as a
// bug in the deployer would.
type panickingECS struct{ deployer.ECSClient }

// TestDeployRecoveredReportsAPanic: a panic under Deploy becomes a failed
// Result with a reason, not a crash without status, annotation or summary.
func TestDeployRecoveredReportsAPanic(t *testing.T) {
	d := deployer.New(panickingECS{}, nil)
	res, err := deployRecovered(context.Background(), d, deployer.Config{Cluster: "prod", Service: "web", Images: []deployer.ContainerImage{{Container: "app", Image: "repo/app:2"}}})
	if err == nil || res.Status != deployer.StatusFailed || !strings.Contains(res.Reason, "internal error") || res.Service != "web" {
		t.Fatalf("status %q, reason %q, err %v", res.Status, res.Reason, err)
	}
}
