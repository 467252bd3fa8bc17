package ecssim

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Every scenario file loads and starts.
func TestScenarioFilesLoad(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "scenarios", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, f := range files {
		sc, err := LoadScenario(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		s, err := New(sc)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		s.Close()
	}
}

// The staged example scenarios tell the story their names promise.
func TestStagedScenarioExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		image string
		story func(t *testing.T, srv *Server, c *ecs.Client, arn string)
	}{
		{"blue-green-bake-fail.json", "app:crash-in-bake", func(t *testing.T, srv *Server, c *ecs.Client, arn string) {
			waitSD(t, c, arn, "a new task crashing in BAKE_TIME", nil, func(sd types.ServiceDeployment) bool {
				return sd.LifecycleStage == types.ServiceDeploymentLifecycleStageBakeTime && len(srv.Sim.stoppedTasksOf("web:2")) > 0
			})
			if _, err := c.StopServiceDeployment(context.Background(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn)}); err != nil {
				t.Fatalf("StopServiceDeployment: %v", err)
			}
			waitSD(t, c, arn, "ROLLBACK_SUCCESSFUL", nil, statusIs(types.ServiceDeploymentStatusRollbackSuccessful))
		}},
		{"linear-healthy.json", "app:v2", func(t *testing.T, srv *Server, c *ecs.Client, arn string) {
			waitSD(t, c, arn, "SUCCESSFUL", nil, statusIs(types.ServiceDeploymentStatusSuccessful))
			steps := 0
			for _, h := range srv.Sim.history(arn) {
				if strings.HasPrefix(h, "PRODUCTION_TRAFFIC_SHIFT") {
					steps++
				}
			}
			if steps != 4 {
				t.Errorf("traffic steps: %d, want 4 (%v)", steps, srv.Sim.history(arn))
			}
		}},
		{"canary-hook-fails.json", "app:v2", func(t *testing.T, srv *Server, c *ecs.Client, arn string) {
			sd := waitSD(t, c, arn, "ROLLBACK_SUCCESSFUL", nil, statusIs(types.ServiceDeploymentStatusRollbackSuccessful))
			if r := aws.ToString(sd.StatusReason); !strings.Contains(r, "function:smoke-test failed in the PRODUCTION_TRAFFIC_SHIFT stage") {
				t.Errorf("statusReason %q", r)
			}
		}},
		{"pause-hook.json", "app:v2", func(t *testing.T, srv *Server, c *ecs.Client, arn string) {
			sd := waitSD(t, c, arn, "AWAITING_ACTION", nil, func(sd types.ServiceDeployment) bool {
				h, ok := hookDetail(sd)
				return ok && h.Status == types.DeploymentLifecycleHookStatusAwaitingAction
			})
			if sd.LifecycleStage != types.ServiceDeploymentLifecycleStagePostTestTrafficShift {
				t.Errorf("paused at %s", sd.LifecycleStage)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			sc, err := LoadScenario(filepath.Join("..", "..", "testdata", "scenarios", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			srv := NewServer(t, sc)
			c, _ := clients(srv, 1)
			tt.story(t, srv, c, deployImage(t, c, tt.image))
		})
	}
}
