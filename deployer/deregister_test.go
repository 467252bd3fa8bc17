package deployer_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// TestDeregisterFailed: with deregister-failed, the failed revision is
// deregistered (INACTIVE) after a verified rollback, and only then; the
// revision the service runs is never deregistered; the option is off by
// default.
func TestDeregisterFailed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		image      string
		cfg        func(*deployer.Config)
		sc         func(*ecssim.Scenario)
		faults     func(*ecssim.Sim)
		wantStatus deployer.Status
		// wantDeregistered: the new revision ends INACTIVE.
		wantDeregistered bool
		wantWarning      string
	}{
		{name: "rolled back: failed revision deregistered", image: "repo/app:crash",
			wantStatus: deployer.StatusRolledBack, wantDeregistered: true},
		{name: "off by default", image: "repo/app:crash",
			cfg:        func(c *deployer.Config) { c.DeregisterFailed = false },
			wantStatus: deployer.StatusRolledBack},
		{name: "succeeded: the running revision is kept", image: "repo/app:2",
			wantStatus: deployer.StatusSucceeded},
		{name: "rollback off: the running revision is kept", image: "repo/app:crash",
			cfg:        func(c *deployer.Config) { c.Rollback = false },
			wantStatus: deployer.StatusFailed},
		{name: "rollback denied: the running revision is kept", image: "repo/app:crash",
			faults: func(s *ecssim.Sim) {
				s.InjectFault("UpdateService", ecssim.Fault{Error: "AccessDeniedException", OnCall: 2})
			},
			wantStatus: deployer.StatusRollbackFailed},
		{name: "rollback not settled: nothing deregistered", image: "repo/app:crash",
			cfg: func(c *deployer.Config) { c.RollbackTimeout = 300 * time.Millisecond },
			// The previous revision's image never starts again.
			sc: func(sc *ecssim.Scenario) {
				sc.ImageRules = append([]ecssim.ImageRule{{Image: "repo/app:1", Behavior: ecssim.BehaviorPending}}, sc.ImageRules...)
			},
			wantStatus: deployer.StatusRollbackFailed},
		{name: "circuit breaker rolled back: failed revision deregistered", image: "repo/app:crash",
			cfg: func(c *deployer.Config) { c.FailedTasksThreshold = 50 },
			sc: func(sc *ecssim.Scenario) {
				sc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker = &ecssim.CircuitBreaker{Enable: true, Rollback: true}
			},
			wantStatus: deployer.StatusRolledBack, wantDeregistered: true},
		{name: "deregister denied: a warning, still rolled back", image: "repo/app:crash",
			faults: func(s *ecssim.Sim) {
				s.InjectFault("DeregisterTaskDefinition", ecssim.Fault{Error: "AccessDeniedException"})
			},
			wantStatus: deployer.StatusRolledBack, wantWarning: "deregister"},
		{name: "deregister throttled: absorbed", image: "repo/app:crash",
			faults:     func(s *ecssim.Sim) { s.InjectFault("DeregisterTaskDefinition", ecssim.Fault{Throttle: 3}) },
			wantStatus: deployer.StatusRolledBack, wantDeregistered: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := faultScenario()
			if tt.sc != nil {
				tt.sc(&sc)
			}
			srv := ecssimtest.NewServer(t, sc)
			if tt.faults != nil {
				tt.faults(srv.Sim)
			}
			ecsClient, logsClient := fastClients(srv.URL)
			var mu sync.Mutex
			var warnings []string
			d := deployer.New(ecsClient, logsClient, deployer.WithReporter(func(ev deployer.Event) {
				if ev.Kind == deployer.EventWarning {
					mu.Lock()
					warnings = append(warnings, ev.Message)
					mu.Unlock()
				}
			}))
			cfg := config(tt.image)
			cfg.Timeout, cfg.PollInterval, cfg.RollbackTimeout = 4*time.Second, 20*time.Millisecond, 4*time.Second
			cfg.FailedTasksThreshold, cfg.LogLines = 0, 0
			cfg.DeregisterFailed = true
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			res, _ := d.Deploy(context.Background(), cfg)
			if res.Status != tt.wantStatus {
				t.Fatalf("status: got %q, want %q (%s)", res.Status, tt.wantStatus, res.Reason)
			}
			svc, _ := srv.Sim.Service("prod", "web")
			running := aws.ToString(svc.TaskDefinition)
			status := map[string]types.TaskDefinitionStatus{}
			for _, td := range srv.Sim.TaskDefinitions() {
				status[aws.ToString(td.TaskDefinitionArn)] = td.Status
			}
			var deregistered []string
			for _, c := range srv.Sim.MutatingCalls() {
				if c.Op == "DeregisterTaskDefinition" && c.ErrCode == "" {
					deregistered = append(deregistered, callTaskDef(c))
				}
			}
			// Never the running revision, never the rollback target.
			for _, arn := range deregistered {
				if arn == running || arn == res.PreviousTaskDefinitionARN {
					t.Errorf("deregistered %s, which the service runs (%s) or rolls back to (%s)", arn, running, res.PreviousTaskDefinitionARN)
				}
			}
			if got := status[running]; got != types.TaskDefinitionStatusActive {
				t.Errorf("the running revision %s is %q, want ACTIVE", running, got)
			}
			if got := status[res.PreviousTaskDefinitionARN]; got != types.TaskDefinitionStatusActive {
				t.Errorf("the previous revision %s is %q, want ACTIVE", res.PreviousTaskDefinitionARN, got)
			}
			gotInactive := status[res.TaskDefinitionARN] == types.TaskDefinitionStatusInactive
			if gotInactive != tt.wantDeregistered {
				t.Errorf("new revision %s: got status %q, want deregistered: %v (deregister calls %v)", res.TaskDefinitionARN, status[res.TaskDefinitionARN], tt.wantDeregistered, deregistered)
			}
			if tt.wantDeregistered {
				if len(deregistered) != 1 || deregistered[0] != res.TaskDefinitionARN {
					t.Errorf("deregister calls: got %v, want exactly one for %s", deregistered, res.TaskDefinitionARN)
				}
				if !hasMilestone(res, "failed revision deregistered") {
					t.Errorf("timeline %v lacks the deregistration", res.Timeline)
				}
			}
			if tt.wantWarning != "" {
				mu.Lock()
				found := false
				for _, w := range warnings {
					found = found || strings.Contains(w, tt.wantWarning)
				}
				mu.Unlock()
				if !found {
					t.Errorf("warnings %q: want one mentioning %q", warnings, tt.wantWarning)
				}
			}
		})
	}
}

func hasMilestone(res deployer.Result, name string) bool {
	for _, m := range res.Timeline {
		if m.Name == name {
			return true
		}
	}
	return false
}
