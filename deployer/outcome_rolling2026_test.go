package deployer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// Rows of the outcome matrix for ECS's rolling deployments as they are
// since 2025-2026 (issue 26, sections 3 and 5): the circuit breaker's
// thresholdConfiguration and resetOnHealthyTask, and the replacement and
// scale-out rules of the November 2025 change.
var rolling2026Rows = []outcomeRow{
	// thresholdConfiguration COUNT 1: ECS fails our deployment at its
	// first failed task and rolls back by itself. ECS evaluates the
	// breaker on its own time (BreakerTrip): a read shows failedTasks 1
	// with the rollout still IN_PROGRESS, which reaches our
	// failed-tasks-threshold 1 too; knowing the service's threshold we
	// leave the rollback to ECS, name it, and roll back nothing twice.
	{name: "rolling COUNT 1 breaker: ECS rolls back at the first failure", strategy: "ROLLING", moment: "scale-up", fault: "crash; breaker COUNT 1",
		image: "repo/app:crash", world: withBreaker(breakerCount(1), 8*time.Second),
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		wantReason: []string{"circuit breaker", "acts at 1 failed task (COUNT 1)"},
		check:      updateServiceCalls(1)},
	// The same, but ECS takes longer than our three polls of grace to
	// trip: we roll back ourselves (never blind, never stuck), and ECS's
	// breaker never trips a deployment that is no longer the PRIMARY.
	{name: "rolling COUNT 1 breaker slower than our grace: our rollback", strategy: "ROLLING", moment: "scale-up", fault: "crash; breaker COUNT 1 trips after 2 minutes",
		image: "repo/app:crash", world: withBreaker(breakerCount(1), 2*time.Minute),
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		check: updateServiceCalls(2)},
	// resetOnHealthyTask false: a failure, a healthy task, two failures
	// add up to COUNT 3 (they would not with the default, which resets at
	// the healthy task): ECS rolls back, we name it.
	{name: "rolling breaker resetOnHealthyTask false: failures add up past a healthy task", strategy: "ROLLING", moment: "scale-up", fault: "crash, healthy, crash, crash; breaker COUNT 3 cumulative",
		image: "repo/app:seq", world: func(sc *ecssim.Scenario) {
			withBreaker(&ecssim.CircuitBreaker{Enable: true, Rollback: true, ResetOnHealthyTask: aws.Bool(false),
				ThresholdConfiguration: &ecssim.ThresholdConfiguration{Type: "COUNT", Value: 3}}, 0)(sc)
			sc.ImageRules = append([]ecssim.ImageRule{{Image: "repo/app:seq", Behavior: ecssim.BehaviorFlaky, Sequence: "chcc"}}, sc.ImageRules...)
		},
		config: func(cfg *deployer.Config) { cfg.FailedTasksThreshold = 50 }, // ECS's breaker decides
		want:   deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		wantReason: []string{"circuit breaker", "acts at 3 failed tasks (COUNT 3)"},
		check:      updateServiceCalls(1)},
	// The breaker does not roll back (rollback false) and counts
	// UNBOUNDED_PERCENT 300 cumulatively, and minimum-healthy-percent
	// changes the deployment configuration: our rollback sends the
	// service's deploymentCircuitBreaker back whole, both new settings
	// included, and the service ends with them exactly as it had them.
	{name: "rolling crash, our rollback restores the breaker's thresholds", strategy: "ROLLING", moment: "scale-up", fault: "crash",
		image: "repo/app:crash", world: withBreaker(restoredBreaker, 0),
		config: func(cfg *deployer.Config) { cfg.MinimumHealthyPercent = aws.Int32(50) },
		want:   deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		check: func(t *testing.T, o outcome) {
			updateServiceCalls(2)(t, o)
			want := mustJSON(t, restoredBreaker)
			n := 0
			for _, c := range o.calls {
				if c.Op == "UpdateService" && c.ErrCode == "" {
					n++
					if n == 2 {
						var in struct {
							DeploymentConfiguration struct {
								DeploymentCircuitBreaker json.RawMessage `json:"deploymentCircuitBreaker"`
							} `json:"deploymentConfiguration"`
						}
						if err := json.Unmarshal(c.Input, &in); err != nil {
							t.Fatal(err)
						}
						if got := string(in.DeploymentConfiguration.DeploymentCircuitBreaker); !jsonEqual(got, want) {
							t.Errorf("the rollback sent deploymentCircuitBreaker %s, want %s", got, want)
						}
					}
				}
			}
			svc, _ := o.sim.Service("prod", "web")
			if got := mustJSON(t, svc.DeploymentConfiguration.DeploymentCircuitBreaker); !jsonEqual(got, want) {
				t.Errorf("the service's deploymentCircuitBreaker at the end: %s, want %s", got, want)
			}
		}},
	// The same breaker, no percentage inputs: our update sends no
	// deployment configuration, so the rollback has none to restore and
	// sends none (an endpoint that does not know resetOnHealthyTask or
	// thresholdConfiguration is never sent them); the service keeps both.
	{name: "rolling crash, configuration unchanged: the rollback sends none", strategy: "ROLLING", moment: "scale-up", fault: "crash",
		image: "repo/app:crash", world: withBreaker(restoredBreaker, 0),
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		check: func(t *testing.T, o outcome) {
			updateServiceCalls(2)(t, o)
			for _, c := range o.calls {
				if c.Op == "UpdateService" && strings.Contains(string(c.Input), "deploymentConfiguration") {
					t.Errorf("UpdateService sent a deployment configuration: %s", c.Input)
				}
			}
			svc, _ := o.sim.Service("prod", "web")
			if got, want := mustJSON(t, svc.DeploymentConfiguration.DeploymentCircuitBreaker), mustJSON(t, restoredBreaker); !jsonEqual(got, want) {
				t.Errorf("the service's deploymentCircuitBreaker at the end: %s, want %s", got, want)
			}
		}},

	// --- issue 26, section 5: the November 2025 rolling change ---
	// An old task (web:1) stops during our deployment (terminated); ECS
	// replaces it from web:1, in the old deployment: neither our failure
	// (no rollback, nothing of ours stopped) nor our progress (ours
	// completes with its own two tasks).
	{name: "rolling, an old task stopped during our deployment: ECS replaces it from the old revision", strategy: "ROLLING", moment: "scale-up", fault: "an old task terminated",
		image: "repo/app:slow",
		setup: func(sim *ecssim.Sim) {
			afterUpdate(sim, 8*time.Second, func() { stopTaskOf(sim, "web:1", "Spot interruption") })
		},
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"}, wantReason: []string{"2/2 tasks of web:2 running"},
		check: func(t *testing.T, o outcome) {
			updateServiceCalls(1)(t, o)
			if n := startedOf(o.sim, "web:1"); n != 3 {
				t.Errorf("%d tasks of web:1 started, want 3 (its two, and ECS's replacement from web:1)", n)
			}
			if n := startedOf(o.sim, "web:2"); n != 2 {
				t.Errorf("%d tasks of web:2 started, want 2 (the replacement is not ours)", n)
			}
		}},
	// Application Auto Scaling scales the service out to 4 during our
	// deployment: ECS scales both revisions (web:1 gets its share); ours
	// completes at 4/4 and the old revision's scale-out is not counted as
	// ours.
	{name: "rolling, scale-out to 4 during our deployment: both revisions scale", strategy: "ROLLING", moment: "scale-up", fault: "scale-out by Application Auto Scaling",
		image: "repo/app:slow",
		setup: func(sim *ecssim.Sim) {
			afterUpdate(sim, 8*time.Second, func() { scaleTo(sim, 4) })
		},
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"}, wantReason: []string{"4/4 tasks of web:2 running"},
		check: func(t *testing.T, o outcome) {
			updateServiceCalls(2)(t, o) // ours and the scale-out
			if n := startedOf(o.sim, "web:1"); n != 4 {
				t.Errorf("%d tasks of web:1 started, want 4 (its two and its share of the scale-out)", n)
			}
		}},
	// Our revision crashes and the old one is scaled out meanwhile: the
	// failure is ours alone (our tasks), rolled back to web:1.
	{name: "rolling crash while scaling out to 4: our failure, rolled back", strategy: "ROLLING", moment: "scale-up", fault: "crash; scale-out by Application Auto Scaling",
		image: "repo/app:crash", config: func(cfg *deployer.Config) { cfg.FailedTasksThreshold = 3 },
		setup: func(sim *ecssim.Sim) {
			afterUpdate(sim, 2*time.Second, func() { scaleTo(sim, 4) })
		},
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}},

	// --- issue 26, section 6: enable-execute-command ---
	{name: "rolling healthy, enable-execute-command true", strategy: "ROLLING", moment: "-", fault: "none",
		config: execOn, want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"},
		check: execAtEnd(true, "true")},
	// The rollback puts the service's own setting (off) back.
	{name: "rolling crash, enable-execute-command true: the rollback turns it off again", strategy: "ROLLING", moment: "scale-up", fault: "crash",
		image: "repo/app:crash", config: execOn,
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		check: execAtEnd(false, "true", "false")},
	// Killed mid-watch: the post step's rollback restores it from the
	// checkpoint.
	{name: "rolling killed mid-watch with enable-execute-command true, post step", strategy: "ROLLING", moment: "watch", fault: "SIGKILL, then the post step",
		image: "repo/app:pending", config: execOn, killWhen: updatedAgo(30 * time.Second), post: true,
		wantPost: deployer.StatusRollbackIssued, serving: map[string]string{"web": "web:1"},
		check: execAtEnd(false, "true", "false")},
	// A blue/green rollback (StopServiceDeployment) puts the previous
	// service revision back, which does not carry enableExecuteCommand:
	// it is sent alone after the rollback.
	{name: "blue/green crash, enable-execute-command true: put back after the rollback", strategy: "BLUE_GREEN", moment: "scale-up", fault: "crash",
		image: "repo/app:crash", config: execOn,
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, calls: []string{"StopServiceDeployment"},
		check: execAtEnd(false, "true", "false")},
	// A CODE_DEPLOY service is deployed by CodeDeploy: the input is
	// refused before any change.
	{name: "CodeDeploy, enable-execute-command: refused before any change", strategy: deployer.StrategyCodeDeploy, moment: "preflight", fault: "bad input",
		config: execOn, want: deployer.StatusFailed, wantReason: []string{"EnableExecuteCommand: service web uses the CODE_DEPLOY deployment controller"},
		serving: map[string]string{"web": "web:1"}, noCalls: []string{"RegisterTaskDefinition", "UpdateService", "CreateDeployment"}},
	// Empty leaves it alone: neither the update nor the rollback sends it.
	{name: "rolling crash, enable-execute-command empty", strategy: "ROLLING", moment: "scale-up", fault: "crash",
		image: "repo/app:crash", want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		check: execAtEnd(false, "", "")},

	// --- issue 26, section 6: keep-revisions ---
	// web:1 … web:6 registered, web runs web:1 (the rollback target),
	// service batch runs web:2, a standalone task runs web:3; our deploy
	// registers web:7. keep-revisions 2 keeps web:7 and web:6 and
	// deregisters web:5 and web:4 only.
	{name: "rolling healthy, keep-revisions 2", strategy: "ROLLING", moment: "after success", fault: "none",
		world: oldRevisions, setup: runTaskOf("web:3"), config: func(cfg *deployer.Config) { cfg.KeepRevisions = 2 },
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:7", "batch": "web:2"},
		calls: []string{"ListTaskDefinitions", "ListServices", "DeregisterTaskDefinition"},
		check: func(t *testing.T, o outcome) {
			want := []string{"web:5", "web:4"}
			var got []string
			for _, arn := range o.res.DeregisteredRevisions {
				got = append(got, arn[strings.LastIndex(arn, "/")+1:])
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("deregistered %v, want %v", got, want)
			}
			inactive := map[string]bool{}
			for _, td := range o.sim.TaskDefinitions() {
				inactive[aws.ToString(td.Family)+":"+fmt.Sprint(td.Revision)] = td.Status == types.TaskDefinitionStatusInactive
			}
			for _, rev := range []string{"web:1", "web:2", "web:3", "web:6", "web:7"} {
				if inactive[rev] {
					t.Errorf("%s was deregistered; it is in use, the rollback target or among the newest 2", rev)
				}
			}
			for _, rev := range want {
				if !inactive[rev] {
					t.Errorf("%s is still ACTIVE", rev)
				}
			}
		}},
	// Two services in one step: each trims its own family once the whole
	// step succeeded; web:1 stays (web's rollback target), web:2 (batch's)
	// and worker:1 (worker's target) too.
	{name: "two rolling services, keep-revisions 1", strategy: "ROLLING", services: 2, moment: "after success", fault: "none",
		world: oldRevisions, config: func(cfg *deployer.Config) { cfg.KeepRevisions = 1 },
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:7", "worker": "worker:2", "batch": "web:2"},
		check: func(t *testing.T, o outcome) {
			inactive := map[string]bool{}
			for _, td := range o.sim.TaskDefinitions() {
				inactive[aws.ToString(td.Family)+":"+fmt.Sprint(td.Revision)] = td.Status == types.TaskDefinitionStatusInactive
			}
			want := map[string]bool{"web:1": false, "web:2": false, "web:3": true, "web:4": true, "web:5": true, "web:6": true, "web:7": false, "worker:1": false, "worker:2": false}
			for rev, w := range want {
				if inactive[rev] != w {
					t.Errorf("%s deregistered: %v, want %v", rev, inactive[rev], w)
				}
			}
		}},
	// A failure deregisters nothing.
	{name: "rolling crash, keep-revisions 2: nothing deregistered", strategy: "ROLLING", moment: "scale-up", fault: "crash",
		image: "repo/app:crash", world: oldRevisions, config: func(cfg *deployer.Config) { cfg.KeepRevisions = 2 },
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		noCalls: []string{"DeregisterTaskDefinition", "ListTaskDefinitions"}},
}

// stopTaskOf stops (StopTask) one running task of revision rev.
func stopTaskOf(sim *ecssim.Sim, rev, reason string) {
	c, _ := ecssimtest.InMemoryClients(sim)
	for _, tk := range sim.Tasks("prod") {
		if strings.HasSuffix(aws.ToString(tk.TaskDefinitionArn), "/"+rev) && aws.ToString(tk.LastStatus) == "RUNNING" && aws.ToString(tk.DesiredStatus) == "RUNNING" {
			if _, err := c.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: aws.String("prod"), Task: tk.TaskArn, Reason: aws.String(reason)}); err != nil {
				panic(err)
			}
			return
		}
	}
	panic("no running task of " + rev)
}

// scaleTo sets web's desired count as Application Auto Scaling does
// (UpdateService with desiredCount only).
func scaleTo(sim *ecssim.Sim, n int32) {
	c, _ := ecssimtest.InMemoryClients(sim)
	if _, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(n)}); err != nil {
		panic(err)
	}
}

// startedOf counts the tasks of revision rev the cluster ever started.
func startedOf(sim *ecssim.Sim, rev string) int {
	n := 0
	for _, tk := range sim.Tasks("prod") {
		if strings.HasSuffix(aws.ToString(tk.TaskDefinitionArn), "/"+rev) {
			n++
		}
	}
	return n
}

// execOn sets enable-execute-command: true.
func execOn(cfg *deployer.Config) { cfg.EnableExecuteCommand = aws.Bool(true) }

// execAtEnd checks web's enableExecuteCommand at the end and what each
// UpdateService sent of it, in order ("" for nothing).
func execAtEnd(want bool, sent ...string) func(t *testing.T, o outcome) {
	return func(t *testing.T, o outcome) {
		t.Helper()
		svc, _ := o.sim.Service("prod", "web")
		if svc.EnableExecuteCommand != want {
			t.Errorf("enableExecuteCommand at the end: %v, want %v", svc.EnableExecuteCommand, want)
		}
		var got []string
		for _, c := range o.calls {
			if c.Op != "UpdateService" || c.ErrCode != "" {
				continue
			}
			var in struct {
				EnableExecuteCommand *bool `json:"enableExecuteCommand"`
			}
			if err := json.Unmarshal(c.Input, &in); err != nil {
				t.Fatal(err)
			}
			v := ""
			if in.EnableExecuteCommand != nil {
				v = fmt.Sprint(*in.EnableExecuteCommand)
			}
			got = append(got, v)
		}
		if strings.Join(got, ",") != strings.Join(sent, ",") {
			t.Errorf("UpdateService sent enableExecuteCommand %q, want %q", got, sent)
		}
	}
}

// oldRevisions registers web:2 … web:6 beside web:1 and adds service batch
// (one task) on web:2; standalone tasks of repo/app:1 run until stopped.
func oldRevisions(sc *ecssim.Scenario) {
	base := sc.TaskDefinitions[0]
	for range 5 {
		sc.TaskDefinitions = append(sc.TaskDefinitions, base)
	}
	batch := sc.Services[0]
	batch.Name, batch.TaskDefinition, batch.DesiredCount = "batch", "web:2", 1
	sc.Services = append(sc.Services, batch)
	sc.TaskRules = append(sc.TaskRules, ecssim.TaskRule{Image: "repo/app:1", Outcome: ecssim.OutcomeForever})
}

// runTaskOf starts one standalone task of revision rev before the step.
func runTaskOf(rev string) func(sim *ecssim.Sim) {
	return func(sim *ecssim.Sim) {
		c, _ := ecssimtest.InMemoryClients(sim)
		_, err := c.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String(rev),
			LaunchType: types.LaunchTypeFargate, NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}})
		if err != nil {
			panic(fmt.Sprintf("RunTask %s: %v", rev, err))
		}
	}
}

// restoredBreaker is a breaker with every setting away from its default.
var restoredBreaker = &ecssim.CircuitBreaker{Enable: true, Rollback: false, ResetOnHealthyTask: aws.Bool(false),
	ThresholdConfiguration: &ecssim.ThresholdConfiguration{Type: "UNBOUNDED_PERCENT", Value: 300}}

func breakerCount(n int32) *ecssim.CircuitBreaker {
	return &ecssim.CircuitBreaker{Enable: true, Rollback: true, ThresholdConfiguration: &ecssim.ThresholdConfiguration{Type: "COUNT", Value: n}}
}

// withBreaker gives web the circuit breaker cb, which ECS trips trip after
// the threshold is reached.
func withBreaker(cb *ecssim.CircuitBreaker, trip time.Duration) func(sc *ecssim.Scenario) {
	return func(sc *ecssim.Scenario) {
		sc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker = cb
		sc.Timings.BreakerTrip = ecssim.Duration(trip)
	}
}

// updateServiceCalls checks how many UpdateService calls succeeded: ours,
// and ours and our rollback's.
func updateServiceCalls(n int) func(t *testing.T, o outcome) {
	return func(t *testing.T, o outcome) {
		t.Helper()
		if got := o.count("UpdateService"); got != n {
			t.Errorf("%d UpdateService calls, want %d", got, n)
		}
	}
}

// mustJSON is v in ECS's JSON shape (the simulator's scenario types and
// the SDK's types alike, keys lower-camel-cased).
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return canonical(m)
}

// canonical lower-cases the first letter of every key and drops nulls, so
// that an SDK struct and a wire body compare.
func canonical(v any) string {
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, e := range x {
				if e == nil {
					continue
				}
				out[strings.ToLower(k[:1])+k[1:]] = walk(e)
			}
			return out
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		}
		return v
	}
	b, _ := json.Marshal(walk(v))
	return string(b)
}

func jsonEqual(got, want string) bool {
	var g any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		return false
	}
	return canonical(g) == want
}

func TestOutcomeMatrixRolling2026(t *testing.T) {
	t.Parallel()
	runOutcomeRows(t, rolling2026Rows)
}
