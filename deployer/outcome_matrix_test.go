package deployer_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/awsclient"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// The outcome matrix: strategy × moment × what goes wrong → the status,
// the revision serving at the end, and the calls made and not made. Each
// row runs one step (Deploy, then the post step's Recover when asked)
// through the real ECS and CloudWatch SDK clients against the simulator,
// on the fake clock of a testing/synctest bubble: ECS's minutes are
// minutes and the action's defaults (a 5 s poll, ten-minute timeouts) are
// the defaults, and the whole matrix runs in seconds.
//
// The expectations come from what ECS documents and what the action
// promises (README.md), not from what the code happens to do.
//
// To add a row: append an outcomeRow to outcomeRows (or to a slice of
// your own passed to runOutcomeRows). Only name, strategy and want are
// required; everything else has a default:
//
//   - the world (outcomeWorld): cluster "prod", service "web" (and
//     "worker" with services: 2), each two tasks of revision 1 (image
//     repo/app:1, container "app"), on the row's strategy, with the image
//     rules of scenario() and task timings of seconds; world changes it.
//   - the config (outcomeConfig): image (default "repo/app:2") to every
//     service, the action's defaults; config changes it.
//   - cancelWhen cancels the step when it first returns true (checked every
//     second of the fake clock); post runs Recover on the last checkpoint
//     after Deploy, as the post step does.
//   - after Deploy (and Recover) the simulator runs for settle (default
//     ten minutes) so that what was asked of ECS finishes; then serving is
//     each service's task definition ("web:1"), calls must have succeeded
//     at least once, noCalls must not have, and detect bounds the time
//     from the first task of the new revision that stopped on a failure to
//     our first rollback call.
//
// verify and CodeDeploy rows go here too: a new strategy adds its name to
// outcomeWorld and its rows to outcomeRows.
type outcomeRow struct {
	name     string
	strategy string // ROLLING, BLUE_GREEN, LINEAR, CANARY
	moment   string // when it goes wrong (for people): "scale-up", "ECS's bake", …
	fault    string // what goes wrong (for people): "crash loop", "alarm", …
	services int    // 1 (default): web; 2: web and worker; more: svc3, svc4, …

	image      string
	world      func(sc *ecssim.Scenario)
	config     func(cfg *deployer.Config)
	setup      func(sim *ecssim.Sim)      // before the step, with the simulator up
	ecsOptions func(*ecs.Options)         // changes the step's ECS client (e.g. a middleware)
	cancelWhen func(sim *ecssim.Sim) bool // cancel the step (SIGINT) when it first returns true
	// killWhen kills the step (SIGKILL) when it first returns true: from
	// then on none of its calls reaches AWS and none of its checkpoints is
	// saved, and its status is not checked (a killed step has none); the
	// post step (set post) reads the last checkpoint saved before.
	killWhen func(sim *ecssim.Sim) bool
	// killAfterCheckpoint, when n > 0, kills the step (as killWhen)
	// right after it saved its n-th checkpoint.
	killAfterCheckpoint int
	// afterStep runs as soon as the (first) step returned, before resume,
	// beforePost and the post step: the world as the step left it.
	afterStep  func(o outcome)
	afterPost  func(o outcome)       // as soon as the post step returned
	post       bool                  // run the post step's Recover after Deploy
	beforePost func(sim *ecssim.Sim) // between Deploy and the post step (e.g. ClearFaults)
	// resume, when set, runs a second step after the first (which must
	// end paused): the same config with Resume set and no images.
	resume deployer.Resume
	settle time.Duration

	want       deployer.Status
	wantPost   deployer.Status // the post step's status, when post is set ("" : nothing to do)
	wantReason []string        // substrings of the step's reason
	serving    map[string]string
	calls      []string // operations that must have succeeded at least once
	noCalls    []string // operations that must not have succeeded
	detect     time.Duration
	check      func(t *testing.T, o outcome)
	skipReason string // a known gap, with the issue it is tracked in
}

// outcome is what one row's step did.
type outcome struct {
	res, post deployer.Result
	postErr   error
	cps       []deployer.Checkpoint
	events    []deployer.Event
	calls     []ecssim.Call
	sim       *ecssim.Sim
	start     time.Time
	end       time.Time // when the (first) step returned
	killed    bool      // the step was killed (killWhen, killAfterCheckpoint)
}

// watchRate is the ECS calls per second from the first UpdateService to
// the end of the step, and the calls by operation.
func (o outcome) watchRate() (float64, map[string]int) {
	var from time.Time
	by := map[string]int{}
	n := 0
	for _, c := range o.calls {
		if from.IsZero() && c.Op == "UpdateService" {
			from = c.At
		}
		if !from.IsZero() && !c.At.After(o.end) {
			by[c.Op]++
			n++
		}
	}
	return float64(n) / o.end.Sub(from).Seconds(), by
}

// noDoubleReads checks that no operation of ops is called twice within
// a second (half the default poll interval) after the update.
func noDoubleReads(ops ...string) func(t *testing.T, o outcome) {
	return func(t *testing.T, o outcome) {
		t.Helper()
		last := map[string]time.Time{}
		updated := false
		for _, c := range o.calls {
			updated = updated || c.Op == "UpdateService"
			if !updated || !slices.Contains(ops, c.Op) || c.At.After(o.end) {
				continue
			}
			if prev, ok := last[c.Op]; ok && c.At.Sub(prev) < time.Second {
				t.Errorf("%s read twice %s apart at +%s", c.Op, c.At.Sub(prev), c.At.Sub(o.start))
			}
			last[c.Op] = c.At
		}
	}
}

// atMostCallsPerSecond checks the step's ECS call rate while watching.
func atMostCallsPerSecond(limit float64) func(t *testing.T, o outcome) {
	return func(t *testing.T, o outcome) {
		t.Helper()
		rate, by := o.watchRate()
		if rate > limit {
			t.Errorf("%.3f ECS calls/s while watching, want at most %.2f: %v", rate, limit, by)
		}
		t.Logf("%.3f ECS calls/s while watching: %v", rate, by)
	}
}

func (o outcome) count(op string) int {
	n := 0
	for _, c := range o.calls {
		if c.Op == op && c.ErrCode == "" {
			n++
		}
	}
	return n
}

func (o outcome) log() string {
	var b strings.Builder
	for _, ev := range o.events {
		switch ev.Kind {
		case deployer.EventPhase:
			b.WriteString(fmtAt(ev.Time.Sub(o.start)) + " ## " + ev.Message + "\n")
		case deployer.EventInfo, deployer.EventWarning, deployer.EventProgress:
			b.WriteString(fmtAt(ev.Time.Sub(o.start)) + " " + ev.Service + " " + ev.Message + "\n")
		}
	}
	return b.String()
}

var outcomeRows = []outcomeRow{
	// --- rolling: the path that has always been careful ---
	{name: "rolling healthy", strategy: "ROLLING", moment: "-", fault: "none",
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"},
		noCalls: []string{"StopServiceDeployment"}},
	{name: "rolling crash at start", strategy: "ROLLING", moment: "scale-up", fault: "crash", image: "repo/app:crash",
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, detect: 6 * time.Second},

	// --- staged, healthy ---
	{name: "blue/green healthy", strategy: "BLUE_GREEN", moment: "-", fault: "none",
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"},
		noCalls: []string{"StopServiceDeployment", "ContinueServiceDeployment"}},
	{name: "linear healthy", strategy: "LINEAR", moment: "-", fault: "none",
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"}},
	{name: "canary healthy", strategy: "CANARY", moment: "-", fault: "none",
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"}},

	// --- issue 18, section 4: what a staged watch costs ---
	{name: "one blue/green service healthy: calls", strategy: "BLUE_GREEN", moment: "-", fault: "none",
		want: deployer.StatusSucceeded, check: atMostCallsPerSecond(0.45)},
	{name: "blue/green healthy with bake-time and alarms: no double read at the seam", strategy: "BLUE_GREEN", moment: "our bake", fault: "none",
		world: withAlarms(ecssim.ScenarioAlarm{Name: "web-5xx"}), config: bakeWith(time.Minute, "web-5xx"),
		want: deployer.StatusSucceeded, check: noDoubleReads("DescribeServices", "DescribeAlarms", "DescribeServiceDeployments")},
	{name: "rolling healthy with bake-time and alarms: no double read at the seam", strategy: "ROLLING", moment: "our bake", fault: "none",
		world: withAlarms(ecssim.ScenarioAlarm{Name: "web-5xx"}), config: bakeWith(time.Minute, "web-5xx"),
		want: deployer.StatusSucceeded, check: noDoubleReads("DescribeServices", "DescribeAlarms")},
	{name: "ten blue/green services healthy: calls", strategy: "BLUE_GREEN", services: 10, moment: "-", fault: "none",
		want: deployer.StatusSucceeded, check: atMostCallsPerSecond(0.6)},

	// --- issue 18, row 1: crash loop in ECS's bake, no circuit breaker ---
	{name: "blue/green crash loop in ECS's bake without breaker", strategy: "BLUE_GREEN", moment: "ECS's bake", fault: "crash loop",
		image: "repo/app:loop", world: crashAfter("repo/app:loop", 8*time.Second),
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		calls: []string{"StopServiceDeployment"}, detect: 11 * time.Second},
	{name: "blue/green crash loop faster than the poll without breaker", strategy: "BLUE_GREEN", moment: "ECS's bake", fault: "crash loop faster than the poll",
		image: "repo/app:loop", world: crashAfter("repo/app:loop", 2*time.Second),
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		calls: []string{"StopServiceDeployment"}, detect: 11 * time.Second},
	{name: "canary crash loop without breaker", strategy: "CANARY", moment: "scale-up", fault: "crash loop faster than the poll",
		image: "repo/app:loop", world: crashAfter("repo/app:loop", 2*time.Second),
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, detect: 11 * time.Second},
	// --- issue 18, row 2: crash while scaling up, no circuit breaker ---
	{name: "blue/green crash at scale-up without breaker", strategy: "BLUE_GREEN", moment: "scale-up", fault: "crash",
		image: "repo/app:crash",
		want:  deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		calls: []string{"StopServiceDeployment"}, detect: 6 * time.Second},
	{name: "linear OOM at scale-up without breaker", strategy: "LINEAR", moment: "scale-up", fault: "OOM",
		image: "repo/app:oom",
		want:  deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, detect: 6 * time.Second},
	{name: "canary unhealthy at scale-up", strategy: "CANARY", moment: "scale-up", fault: "unhealthy",
		image: "repo/app:unhealthy",
		want:  deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}},
	// --- issue 18, row 3: cancel with scope all rolls back every service the step changed ---
	{name: "two rolling services, cancelled after web completed", strategy: "ROLLING", services: 2, moment: "after success (web), scale-up (worker)", fault: "cancel",
		world: slowWorker, cancelWhen: deploymentDone("web"),
		want: deployer.StatusCancelled, serving: map[string]string{"web": "web:1", "worker": "worker:1"}},
	{name: "two blue/green services, cancelled after web is SUCCESSFUL", strategy: "BLUE_GREEN", services: 2, moment: "after success (web), scale-up (worker)", fault: "cancel",
		world: slowWorker, cancelWhen: deploymentDone("web"),
		want: deployer.StatusCancelled, serving: map[string]string{"web": "web:1", "worker": "worker:1"}},

	// --- issue 18, row 4: the post step owes a failure's rollback whatever on-cancel says ---
	{name: "rolling crash, rollback call failing, on-cancel leave, post step", strategy: "ROLLING", moment: "scale-up", fault: "crash; the rollback call fails",
		image: "repo/app:crash", config: onCancelLeave,
		setup: func(sim *ecssim.Sim) {
			sim.InjectFault("UpdateService", ecssim.Fault{Error: "ServerException", Message: "injected", OnCall: 2})
		},
		beforePost: func(sim *ecssim.Sim) { sim.ClearFaults() }, post: true,
		want: deployer.StatusRollbackFailed, wantPost: deployer.StatusRollbackIssued, serving: map[string]string{"web": "web:1"}},
	{name: "blue/green crash, rollback call failing, on-cancel leave, post step", strategy: "BLUE_GREEN", moment: "scale-up", fault: "crash; the rollback call fails",
		image: "repo/app:crash", config: onCancelLeave,
		setup: func(sim *ecssim.Sim) {
			sim.InjectFault("StopServiceDeployment", ecssim.Fault{Error: "ServerException", Message: "injected"})
		},
		beforePost: func(sim *ecssim.Sim) { sim.ClearFaults() }, post: true,
		want: deployer.StatusRollbackFailed, wantPost: deployer.StatusRollbackIssued, serving: map[string]string{"web": "web:1"},
		// The command to finish by hand stops the service deployment.
		wantReason: []string{"finish it by hand with: aws ecs stop-service-deployment --service-deployment-arn arn:aws:ecs:", " --stop-type ROLLBACK"}},

	// --- issue 18, row 5: a finished staged deployment is rolled back by a new deployment of the previous revision ---
	{name: "blue/green alarm after SUCCESSFUL during our bake", strategy: "BLUE_GREEN", moment: "our bake", fault: "alarm",
		world: withAlarms(alarmAt("web-5xx", ecssim.AnchorCompleted, 20*time.Second)), config: bakeWith(5*time.Minute, "web-5xx"),
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		calls: []string{"DescribeAlarms"}, check: rolledBackByNewDeployment},
	{name: "blue/green alarm after SUCCESSFUL, PAUSE hook on the rollback", strategy: "BLUE_GREEN", moment: "our bake", fault: "alarm; the rollback waits at a PAUSE hook",
		world: func(sc *ecssim.Scenario) {
			withAlarms(alarmAt("web-5xx", ecssim.AnchorCompleted, 20*time.Second))(sc)
			pauseHook(sc, 0)
		},
		config: func(cfg *deployer.Config) {
			bakeWith(5*time.Minute, "web-5xx")(cfg)
			cfg.OnPause = deployer.OnPauseContinue
			cfg.RollbackTimeout = time.Minute // ECS's 2-minute bake of the rollback is on top
		},
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}, check: rolledBackByNewDeployment},
	{name: "blue/green alarm after SUCCESSFUL, rollback owed, post step", strategy: "BLUE_GREEN", moment: "our bake", fault: "alarm; the rollback call fails",
		world: withAlarms(alarmAt("web-5xx", ecssim.AnchorCompleted, 20*time.Second)), config: bakeWith(5*time.Minute, "web-5xx"),
		setup: func(sim *ecssim.Sim) {
			sim.InjectFault("UpdateService", ecssim.Fault{Error: "ServerException", Message: "injected", OnCall: 2})
		},
		beforePost: func(sim *ecssim.Sim) { sim.ClearFaults() }, post: true,
		want: deployer.StatusRollbackFailed, wantPost: deployer.StatusRollbackIssued, serving: map[string]string{"web": "web:1"}},

	// --- issue 18, section 5: ECS stopped our deployment without rolling back ---
	{name: "blue/green crash, breaker without rollback stops it", strategy: "BLUE_GREEN", moment: "scale-up", fault: "crash; ECS's breaker stops the deployment",
		image: "repo/app:crash",
		world: func(sc *ecssim.Scenario) {
			sc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker = &ecssim.CircuitBreaker{Enable: true, Rollback: false}
		},
		config: func(cfg *deployer.Config) { cfg.FailedTasksThreshold = 50 }, // ECS's breaker (threshold 3) decides
		want:   deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		check: func(t *testing.T, o outcome) {
			if n := o.count("UpdateService"); n != 2 {
				t.Errorf("%d UpdateService calls, want 2 (ours, and the rollback as a new deployment of web:1)", n)
			}
		}},
	{name: "blue/green crash, breaker without rollback stops it, rollback off", strategy: "BLUE_GREEN", moment: "scale-up", fault: "crash; ECS's breaker stops the deployment",
		image: "repo/app:crash",
		world: func(sc *ecssim.Scenario) {
			sc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker = &ecssim.CircuitBreaker{Enable: true, Rollback: false}
		},
		config: func(cfg *deployer.Config) { cfg.FailedTasksThreshold, cfg.Rollback = 50, false },
		want:   deployer.StatusFailed, noCalls: []string{"StopServiceDeployment"}},

	// --- issue 18, section 5: the post step makes no call after a multi-service step that finished ---
	{name: "two services, web's update refused", strategy: "ROLLING", services: 2, moment: "update", fault: "UpdateService refused",
		setup: func(sim *ecssim.Sim) {
			sim.InjectFault("UpdateService", ecssim.Fault{Error: "InvalidParameterException", Message: "injected", OnCall: 1, Times: 1})
		},
		want: deployer.StatusFailed, serving: map[string]string{"web": "web:1", "worker": "worker:1"},
		check: func(t *testing.T, o outcome) {
			if cp := o.cps[len(o.cps)-1]; cp.Phase.PostStepMustAct() {
				t.Errorf("the step's last checkpoint is %s, want done: the post step would call AWS (%+v)", cp.Phase, cp.Targets)
			}
		}},

	// --- issue 18, row 6: paused ranks above succeeded, whatever the order ---
	{name: "rolling web then blue/green worker at a PAUSE hook", strategy: "ROLLING", services: 2, moment: "at a PAUSE hook", fault: "none",
		world: func(sc *ecssim.Scenario) { stagedService(sc, "worker", "BLUE_GREEN"); pauseHookOn(sc, "worker") },
		want:  deployer.StatusPaused},

	// --- issue 18, row 7: resume honours alarms, bake-time (and rollback-scope) ---
	{name: "blue/green resume continue, alarm after SUCCESSFUL", strategy: "BLUE_GREEN", moment: "after a PAUSE hook, our bake", fault: "alarm",
		world: func(sc *ecssim.Scenario) {
			withAlarms(alarmAt("web-5xx", ecssim.AnchorCompleted, 20*time.Second))(sc)
			pauseHook(sc, 0)
		},
		config: bakeWith(5*time.Minute, "web-5xx"), resume: deployer.ResumeContinue,
		want: deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"}},

	{name: "two blue/green services resumed, worker crashes after the resume", strategy: "BLUE_GREEN", services: 2, moment: "after a PAUSE hook, ECS's bake", fault: "crash (worker)",
		world: func(sc *ecssim.Scenario) {
			pauseHook(sc, 0)
			pauseHook(sc, 1)
			sc.ImageRules = append([]ecssim.ImageRule{{Image: "repo/app:2", Family: "worker", Behavior: ecssim.BehaviorCrashAfter, After: ecssim.Duration(90 * time.Second)}}, sc.ImageRules...)
		},
		resume: deployer.ResumeContinue,
		want:   deployer.StatusRolledBack, serving: map[string]string{"web": "web:1", "worker": "worker:1"}},

	// --- issue 18, row 8: preflight reads the service-deployment API of a staged service ---
	{name: "blue/green, no ecs:ListServiceDeployments", strategy: "BLUE_GREEN", moment: "preflight", fault: "access denied",
		setup: func(sim *ecssim.Sim) {
			sim.InjectFault("ListServiceDeployments", ecssim.Fault{Error: "AccessDeniedException", Message: "not authorized to perform: ecs:ListServiceDeployments"})
		},
		want: deployer.StatusFailed, wantReason: []string{"ecs:ListServiceDeployments"}, serving: map[string]string{"web": "web:1"},
		noCalls: []string{"RegisterTaskDefinition", "UpdateService"}},
	{name: "blue/green, no ecs:DescribeServiceDeployments", strategy: "BLUE_GREEN", moment: "preflight", fault: "access denied",
		setup: func(sim *ecssim.Sim) {
			sim.InjectFault("DescribeServiceDeployments", ecssim.Fault{Error: "AccessDeniedException", Message: "not authorized to perform: ecs:DescribeServiceDeployments"})
		},
		want: deployer.StatusFailed, wantReason: []string{"ecs:DescribeServiceDeployments"}, serving: map[string]string{"web": "web:1"},
		noCalls: []string{"RegisterTaskDefinition", "UpdateService"}},

	// --- issue 19: verify before deploying (verify_sim_test.go has the rest) ---
	{name: "rolling, verify: image tag never pushed", strategy: "ROLLING", moment: "preflight", fault: "image missing",
		image: ecrApp + ":3", world: withECRApp, config: verifyOn,
		want: deployer.StatusFailed, wantReason: []string{`container "app": image ` + ecrApp + `:3: tag 3 was never pushed to repository app (newest tags: arm, 2)`},
		serving: map[string]string{"web": "web:1"}, noCalls: []string{"RegisterTaskDefinition", "UpdateService"}},
	{name: "blue/green, verify: image built for another platform", strategy: "BLUE_GREEN", moment: "preflight", fault: "wrong platform",
		image: ecrApp + ":arm", world: withECRApp, config: verifyOn,
		want: deployer.StatusFailed, wantReason: []string{"is built for linux/arm64 only; the task definition runs on LINUX/X86_64"},
		serving: map[string]string{"web": "web:1"}, noCalls: []string{"RegisterTaskDefinition", "UpdateService", "StopServiceDeployment"}},
	{name: "rolling, verify: secret missing", strategy: "ROLLING", moment: "preflight", fault: "secret missing",
		image: ecrApp + ":2", config: verifyOn, world: func(sc *ecssim.Scenario) {
			withECRApp(sc)
			sc.TaskDefinitions[0].ContainerDefinitions[0].Secrets = []types.Secret{{Name: aws.String("DB_PASSWORD"),
				ValueFrom: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:web/db-AbCdEf")}}
		},
		want: deployer.StatusFailed, wantReason: []string{`container "app": secret DB_PASSWORD: the Secrets Manager secret it names does not exist`},
		serving: map[string]string{"web": "web:1"}, noCalls: []string{"RegisterTaskDefinition", "UpdateService"}},
	{name: "rolling, verify: ecr:DescribeImages denied is a notice", strategy: "ROLLING", moment: "preflight", fault: "access denied",
		image: ecrApp + ":3", world: withECRApp, config: verifyOn,
		setup: func(sim *ecssim.Sim) { sim.InjectFault("DescribeImages", ecssim.Fault{Error: "AccessDeniedException"}) },
		want:  deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"}, calls: []string{"RegisterTaskDefinition", "UpdateService"},
		check: func(t *testing.T, o outcome) {
			for _, ev := range o.events {
				if ev.Kind == deployer.EventNotice && strings.Contains(ev.Message, "may not call ecr:DescribeImages") {
					return
				}
			}
			t.Errorf("no notice names ecr:DescribeImages")
		}},
}

// ecrApp is app's repository in ECR, which withECRApp fills: tag 2 for
// linux/amd64 (with buildx's attestation), arm for linux/arm64.
const ecrApp = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"

func withECRApp(sc *ecssim.Scenario) {
	sc.Repositories = []ecssim.ScenarioRepository{{Name: "app", Images: []ecssim.ScenarioImage{
		{Tags: []string{"2"}, Platforms: []string{"linux/amd64"}, Attestation: true},
		{Tags: []string{"arm"}, Platforms: []string{"linux/arm64"}, Attestation: true},
	}}}
}

func verifyOn(cfg *deployer.Config) { cfg.Verify = true }

// slowWorker makes worker's new tasks take three minutes to start.
func slowWorker(sc *ecssim.Scenario) {
	sc.ImageRules = append([]ecssim.ImageRule{{Image: "repo/app:2", Family: "worker", Behavior: ecssim.BehaviorSlow, After: ecssim.Duration(3 * time.Minute)}}, sc.ImageRules...)
}

// deploymentDone reports whether service's deployment of revision 2
// finished (COMPLETED; for a staged one, that is SUCCESSFUL) 15 s ago,
// three polls: the step has seen it.
func deploymentDone(service string) func(*ecssim.Sim) bool {
	var since time.Time
	return func(sim *ecssim.Sim) bool {
		p, ok := sim.PrimaryDeployment("prod", service)
		if !ok || !strings.HasSuffix(aws.ToString(p.TaskDefinition), ":2") || p.RolloutState != types.DeploymentRolloutStateCompleted {
			return false
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) >= 15*time.Second
	}
}

func onCancelLeave(cfg *deployer.Config) { cfg.OnCancel = deployer.OnCancelLeave }

func bakeWith(bake time.Duration, alarms ...string) func(*deployer.Config) {
	return func(cfg *deployer.Config) { cfg.BakeTime, cfg.Alarms = bake, alarms }
}

// pauseHook adds a PAUSE hook after the test traffic shift to service i
// (timing out after an hour with ROLLBACK).
func pauseHook(sc *ecssim.Scenario, i int) {
	sc.Services[i].DeploymentConfiguration.LifecycleHooks = []types.DeploymentLifecycleHook{{
		TargetType:      types.DeploymentLifecycleHookTargetTypePause,
		LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift},
		TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{
			TimeoutInMinutes: aws.Int32(60), Action: types.DeploymentLifecycleHookActionRollback},
	}}
}

func pauseHookOn(sc *ecssim.Scenario, service string) {
	for i := range sc.Services {
		if sc.Services[i].Name == service {
			pauseHook(sc, i)
		}
	}
}

// stagedService puts service on strategy, with its blue/green load
// balancer.
func stagedService(sc *ecssim.Scenario, service, strategy string) {
	for i := range sc.Services {
		if svc := &sc.Services[i]; svc.Name == service {
			stage(svc, strategy)
		}
	}
}

// rolledBackByNewDeployment checks that a finished staged deployment was
// rolled back by a new deployment of the previous revision: ECS refuses
// to stop a SUCCESSFUL one.
func rolledBackByNewDeployment(t *testing.T, o outcome) {
	t.Helper()
	if n := o.count("UpdateService"); n != 2 {
		t.Errorf("%d UpdateService calls, want 2 (ours and the rollback's)", n)
	}
	for _, c := range o.calls {
		if c.Op == "StopServiceDeployment" {
			t.Errorf("StopServiceDeployment (%s) on a finished deployment", cmp.Or(c.ErrCode, "accepted"))
		}
	}
}

// crashAfter makes image run healthy for d, then crash (again and again:
// ECS replaces each task).
func crashAfter(image string, d time.Duration) func(*ecssim.Scenario) {
	return func(sc *ecssim.Scenario) {
		sc.ImageRules = append([]ecssim.ImageRule{{Image: image, Behavior: ecssim.BehaviorCrashAfter, After: ecssim.Duration(d)}}, sc.ImageRules...)
	}
}

// outcomeWorld is a row's world (see outcomeRow).
func outcomeWorld(row outcomeRow) ecssim.Scenario {
	sc := scenario()
	sc.Timings = ecssim.Timings{
		Provisioning: ecssim.Duration(3 * time.Second), Pending: ecssim.Duration(7 * time.Second),
		HealthCheck: ecssim.Duration(5 * time.Second), Stopping: ecssim.Duration(3 * time.Second),
		RetryBackoff: ecssim.Duration(10 * time.Second),
		Minute:       ecssim.Duration(time.Minute), Stage: ecssim.Duration(2 * time.Second),
	}
	for _, name := range serviceNames(row)[1:] {
		w := ecssim.OneService("prod", name, ecssim.FargateApp(name, "repo/app:1"), 2)
		sc.TaskDefinitions = append(sc.TaskDefinitions, w.TaskDefinitions...)
		sc.Services = append(sc.Services, w.Services...)
	}
	if row.strategy == deployer.StrategyCodeDeploy {
		for i := range sc.Services {
			ecssim.AddCodeDeploy(&sc, i, nil)
		}
	} else if row.strategy != "ROLLING" {
		for i := range sc.Services {
			stage(&sc.Services[i], row.strategy)
		}
	}
	if row.world != nil {
		row.world(&sc)
	}
	return sc
}

// stage puts a service on a staged strategy with a two-minute bake and
// its own blue/green load balancer.
func stage(svc *ecssim.ScenarioService, strategy string) {
	svc.DeploymentConfiguration.Strategy = strategy
	svc.DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(2)
	// LINEAR and CANARY with their settings given (rows with ECS's
	// defaults left to ECS change these in world).
	switch strategy {
	case "LINEAR":
		svc.DeploymentConfiguration.LinearConfiguration = &types.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(1)}
	case "CANARY":
		svc.DeploymentConfiguration.CanaryConfiguration = &types.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(1)}
	}
	lb := ecssim.BlueGreenLoadBalancer()
	if svc.Name != "web" {
		rename := func(p *string) *string { return aws.String(strings.ReplaceAll(aws.ToString(p), "web", svc.Name)) }
		lb.TargetGroupArn = rename(lb.TargetGroupArn)
		lb.AdvancedConfiguration.AlternateTargetGroupArn = rename(lb.AdvancedConfiguration.AlternateTargetGroupArn)
		lb.AdvancedConfiguration.ProductionListenerRule = rename(lb.AdvancedConfiguration.ProductionListenerRule)
	}
	svc.LoadBalancers = []types.LoadBalancer{lb}
}

// serviceNames are a row's services: web, worker, then svc3, svc4, ….
func serviceNames(row outcomeRow) []string {
	names := []string{"web"}
	for i := 2; i <= row.services; i++ {
		names = append(names, map[bool]string{true: "worker", false: fmt.Sprintf("svc%d", i)}[i == 2])
	}
	return names
}

// outcomeConfig is a row's config (see outcomeRow).
func outcomeConfig(row outcomeRow) deployer.Config {
	cfg := config(cmp.Or(row.image, "repo/app:2"))
	cfg.PollInterval = deployer.DefaultPollInterval
	cfg.Timeout = 10 * time.Minute
	cfg.RollbackTimeout = 10 * time.Minute
	cfg.LogLines = 0
	if row.services > 1 {
		cfg.Service = ""
		for _, name := range serviceNames(row) {
			cfg.Services = append(cfg.Services, deployer.Target{Service: name})
		}
	}
	if row.config != nil {
		row.config(&cfg)
	}
	return cfg
}

// runOutcomeRows runs rows as subtests, each on its own fake clock.
func runOutcomeRows(t *testing.T, rows []outcomeRow) {
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			if row.skipReason != "" {
				t.Skip(row.skipReason)
			}
			synctest.Test(t, func(t *testing.T) { runOutcome(t, row) })
		})
	}
}

func runOutcome(t *testing.T, row outcomeRow) {
	o := playOutcome(t, row)
	sim := o.sim
	if row.killWhen != nil && !o.killed {
		t.Fatalf("the step ended (%s: %s) before it was killed\n%s", o.res.Status, o.res.Reason, o.log())
	}
	checkOutcome(t, row, o, sim)
}

// playOutcome runs one row's world and steps (Deploy, resume, the post
// step) and lets the simulator settle; it checks nothing. The simulator
// is closed when the test ends.
func playOutcome(t *testing.T, row outcomeRow) outcome {
	sim, err := ecssim.New(outcomeWorld(row))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	if row.setup != nil {
		row.setup(sim)
	}
	// The clients retry as the action's do (internal/awsclient: ten
	// attempts, backoff up to 20 s of the fake clock).
	ecsc, cw := ecssimtest.InMemoryClients(sim)
	ecsc = ecs.New(ecsc.Options(), func(o *ecs.Options) { o.Retryer = awsclient.Retryer() })
	cw = cloudwatch.New(cw.Options(), func(o *cloudwatch.Options) { o.Retryer = awsclient.Retryer() })
	cdc := codedeploy.New(ecssimtest.InMemoryCodeDeployClient(sim).Options(), func(o *codedeploy.Options) { o.Retryer = awsclient.Retryer() })
	cd := deployer.WithCodeDeploy(cdc)
	if row.ecsOptions != nil {
		ecsc = ecs.New(ecsc.Options(), row.ecsOptions)
	}
	// The main step's clients: once it is killed, nothing it sends
	// arrives.
	var killed atomic.Bool
	mainECS := ecs.New(ecsc.Options(), func(o *ecs.Options) {
		o.HTTPClient, o.Retryer = killableHTTP{o.HTTPClient, &killed}, awsclient.Retryer()
	})
	mainCW := cloudwatch.New(cw.Options(), func(o *cloudwatch.Options) {
		o.HTTPClient, o.Retryer = killableHTTP{o.HTTPClient, &killed}, awsclient.Retryer()
	})
	mainCD := deployer.WithCodeDeploy(codedeploy.New(cdc.Options(), func(o *codedeploy.Options) {
		o.HTTPClient, o.Retryer = killableHTTP{o.HTTPClient, &killed}, awsclient.Retryer()
	}))
	o := outcome{sim: sim, start: time.Now()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex // the reporter runs on the step's goroutine, killWhen on another
	report := func(ev deployer.Event) {
		mu.Lock()
		defer mu.Unlock()
		if killed.Load() {
			return
		}
		o.events = append(o.events, ev)
		if ev.Kind == deployer.EventCheckpoint && ev.State != nil {
			o.cps = append(o.cps, *ev.State)
			if row.killAfterCheckpoint > 0 && len(o.cps) == row.killAfterCheckpoint {
				killed.Store(true)
				cancel()
			}
		}
	}
	done := make(chan struct{})
	// when checks cond every second of the fake clock until the step
	// ends, and acts once when it first holds.
	when := func(cond func(*ecssim.Sim) bool, act func()) {
		if cond == nil {
			return
		}
		go func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(time.Second):
				}
				if cond(sim) {
					act()
					return
				}
			}
		}()
	}
	when(row.killWhen, func() {
		mu.Lock()
		killed.Store(true)
		mu.Unlock()
		cancel()
	})
	when(row.cancelWhen, cancel)
	verify := &ecssimtest.VerifyClients{URL: "http://sim", HTTPClient: ecssimtest.Client{Sim: sim}} // rows with Config.Verify
	o.res, _ = deployer.New(mainECS, nil, deployer.WithCloudWatch(mainCW), deployer.WithReporter(report), deployer.WithVerifyClients(verify), mainCD).Deploy(ctx, outcomeConfig(row))
	o.end = time.Now()
	close(done)
	mu.Lock()
	o.killed = killed.Load()
	mu.Unlock()
	if row.afterStep != nil {
		row.afterStep(o)
	}
	if row.resume != "" {
		if o.res.Status != deployer.StatusPaused {
			t.Fatalf("first step: status %s, want paused: %s\n%s", o.res.Status, o.res.Reason, o.log())
		}
		cfg := outcomeConfig(row)
		cfg.Images, cfg.Resume = nil, row.resume
		o.res, _ = deployer.New(ecsc, nil, deployer.WithCloudWatch(cw), deployer.WithReporter(report), cd).Deploy(context.Background(), cfg)
	}
	if row.beforePost != nil {
		row.beforePost(sim)
	}
	if row.post && len(o.cps) > 0 {
		cp := o.cps[len(o.cps)-1]
		if cp.Phase.PostStepMustAct() {
			o.post, o.postErr = deployer.New(ecsc, nil, deployer.WithCloudWatch(cw), deployer.WithReporter(report), cd).Recover(context.Background(), cp)
			if row.afterPost != nil {
				row.afterPost(o)
			}
		}
	}
	time.Sleep(cmp.Or(row.settle, 10*time.Minute))
	o.calls = sim.Calls()
	return o
}

// checkOutcome checks what one row's steps did against the row.
func checkOutcome(t *testing.T, row outcomeRow, o outcome, sim *ecssim.Sim) {
	if o.res.Status != row.want && !o.killed {
		t.Errorf("status %s, want %s: %s", o.res.Status, row.want, o.res.Reason)
	}
	if row.post && o.post.Status != row.wantPost {
		t.Errorf("post step: status %q, want %q: %s (%v)", o.post.Status, row.wantPost, o.post.Reason, o.postErr)
	}
	for _, s := range row.wantReason {
		if !strings.Contains(o.res.Reason, s) {
			t.Errorf("reason lacks %q: %s", s, o.res.Reason)
		}
	}
	for svc, want := range row.serving {
		if got := servingRevision(sim, svc); got != want {
			t.Errorf("service %s serves %s at the end, want %s", svc, got, want)
		}
	}
	for _, op := range row.calls {
		if o.count(op) == 0 {
			t.Errorf("no successful %s call", op)
		}
	}
	for _, op := range row.noCalls {
		if n := o.count(op); n > 0 {
			t.Errorf("%d %s calls, want none", n, op)
		}
	}
	if row.detect > 0 {
		failedAt, rollbackAt := firstFailure(sim), firstRollbackCall(o.calls)
		switch {
		case failedAt.IsZero():
			t.Errorf("no task of the new revision stopped on a failure")
		case rollbackAt.IsZero():
			t.Errorf("no rollback call")
		case rollbackAt.Sub(failedAt) > row.detect:
			t.Errorf("rollback requested %s after the first failed task, want within %s", rollbackAt.Sub(failedAt), row.detect)
		}
	}
	if row.check != nil {
		row.check(t, o)
	}
	t.Logf("reason: %s", o.res.Reason)
	if t.Failed() {
		t.Logf("%s", o.log())
	}
}

// killableHTTP is an HTTP client that fails every request once killed
// is set, as a process that was SIGKILLed sends nothing.
type killableHTTP struct {
	next interface {
		Do(*http.Request) (*http.Response, error)
	}
	killed *atomic.Bool
}

func (k killableHTTP) Do(r *http.Request) (*http.Response, error) {
	if k.killed.Load() {
		return nil, errors.New("the step was killed")
	}
	return k.next.Do(r)
}

// servingRevision is the revision a service runs at the end, as
// "family:revision": its task definition, once nothing else runs.
func servingRevision(sim *ecssim.Sim, service string) string {
	svc, ok := sim.Service("prod", service)
	if !ok {
		return "(no service)"
	}
	td := aws.ToString(svc.TaskDefinition)
	if len(svc.Deployments) != 1 && len(svc.TaskSets) != 1 { // a CODE_DEPLOY service has task sets
		return td[strings.LastIndex(td, "/")+1:] + fmt.Sprintf(" (still deploying: %d deployments, %d task sets)", len(svc.Deployments), len(svc.TaskSets))
	}
	return td[strings.LastIndex(td, "/")+1:]
}

// firstFailure is when the first task of a revision other than 1 stopped
// on its own (not stopped by the scheduler).
func firstFailure(sim *ecssim.Sim) time.Time {
	var first time.Time
	for _, t := range sim.Tasks("prod") {
		if strings.HasSuffix(aws.ToString(t.TaskDefinitionArn), ":1") || t.StoppingAt == nil {
			continue
		}
		if t.StopCode == types.TaskStopCodeServiceSchedulerInitiated && !strings.Contains(aws.ToString(t.StoppedReason), "health") {
			continue
		}
		if at := aws.ToTime(t.StoppingAt); first.IsZero() || at.Before(first) {
			first = at
		}
	}
	return first
}

// firstRollbackCall is when our first rollback call arrived: a
// StopServiceDeployment, a ContinueServiceDeployment ROLLBACK, or an
// UpdateService after the first.
func firstRollbackCall(calls []ecssim.Call) time.Time {
	updates := 0
	for _, c := range calls {
		switch {
		case c.Op == "StopServiceDeployment", c.Op == "StopDeployment",
			c.Op == "ContinueServiceDeployment" && strings.Contains(string(c.Input), "ROLLBACK"):
			return c.At
		case c.Op == "UpdateService":
			updates++
			if updates == 2 {
				return c.At
			}
		}
	}
	return time.Time{}
}

func TestOutcomeMatrix(t *testing.T) {
	t.Parallel()
	runOutcomeRows(t, append(outcomeRows, codeDeployRows...))
}

func fmtAt(d time.Duration) string { return "+" + d.Round(100*time.Millisecond).String() }
