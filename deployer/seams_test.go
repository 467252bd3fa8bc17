package deployer_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// The seam campaign (issue 24, "How we test it now"): strategy × fault ×
// when, drawn at random from a seed, each case one outcome-matrix row
// (playOutcome: the real SDK clients with the action's retryer, the
// simulator in memory, the fake clock of a testing/synctest bubble) and
// checked against invariants instead of an expected status:
//
//   - succeeded ⇒ each service's new revision serves at its desired count,
//     healthy, when the step returns;
//   - rolled-back ⇒ each service's previous revision serves, settled (one
//     deployment, none of our tasks running), when the step returns;
//   - failed / rollback-failed / cancelled with our revision still there
//     ⇒ a command to finish by hand is printed and the last checkpoint
//     says a rollback is owed;
//   - every printed read-only command (describe-*) works when printed;
//     the printed rollback command, run by a person (half the cases that
//     print one), works;
//   - after the post step (or the person) and ten minutes of ECS, nothing
//     owed is left: the service serves what the status says (the new
//     revision only after succeeded, someone else's after a takeover,
//     otherwise the previous revision), settled; the post step never ends
//     rollback-failed.
//
// Flags (or the environment, for `go test ./...`):
//
//	-seams.n N     (SEAMS_N)     cases to run (default seamsCI)
//	-seams.base B  (SEAMS_BASE)  the first case's seed (default 1); case i has seed B+i
//	-seams.seed S  (SEAMS_SEED)  run only the case of seed S
//	SEAMS_STRICT=1               fail the known-failing classes too (with their logs)
//
// docs/safety.md ("The seam campaign") says what it draws and how long
// the 100,000-case run takes.
var (
	seamsN    = flag.Int("seams.n", 0, "seam campaign: how many cases (default "+strconv.Itoa(seamsCI)+"; env SEAMS_N)")
	seamsBase = flag.Int64("seams.base", 0, "seam campaign: the first case's seed; case i has seed base+i (default 1; env SEAMS_BASE)")
	seamsSeed = flag.Int64("seams.seed", 0, "seam campaign: run only the case of this seed (env SEAMS_SEED)")
)

// seamsCI is how many cases a plain `go test` runs.
const seamsCI = 200

// seamInvariant names one invariant of the campaign.
type seamInvariant string

// The invariants a case can break.
const (
	seamSucceededNotServing    seamInvariant = "succeeded, the new revision not serving at its desired count, healthy"
	seamRolledBackNotSettled   seamInvariant = "rolled-back, the previous revision not serving settled"
	seamScopeAllPartial        seamInvariant = "rolled-back with rollback-scope all, another service not rolled back"
	seamNoCommand              seamInvariant = "failed with our revision in place, no command to finish by hand"
	seamNothingOwed            seamInvariant = "failed with our revision in place, the checkpoint owes nothing"
	seamCommandRefused         seamInvariant = "a printed command does not work in the state it is printed"
	seamPreviousBeforeWait     seamInvariant = "on-busy wait: the rollback target read before the wait"
	seamPostRollbackFailed     seamInvariant = "the post step ends rollback-failed"
	seamPostUnwatched          seamInvariant = "the post step says rolled-back for a rollback it did not watch settle"
	seamPostRolledBackNotFinal seamInvariant = "the post step says rolled-back, the previous revision not serving at the end"
	seamOwedRollbackDropped    seamInvariant = "a rollback the checkpoint owed not issued by the post step"
	seamKilledUnsettled        seamInvariant = "killed: after the post step neither revision serves settled"
	seamSucceededReplaced      seamInvariant = "succeeded, another revision serving at the end"
	seamFailedRevisionLeft     seamInvariant = "failed: after the post step (or the printed command) the previous revision not serving"
	seamNoResult               seamInvariant = "a service without a result"
)

// seamViolation is one invariant a case broke, and how.
type seamViolation struct {
	invariant seamInvariant
	what      string
}

// knownSeamFailure is a known failing class: an invariant broken on
// strategies (every strategy when empty).
type knownSeamFailure struct {
	invariant  seamInvariant
	strategies []string
	note       string // what happens, and who fixes it
}

func (k knownSeamFailure) String() string {
	on := "every strategy"
	if len(k.strategies) > 0 {
		on = strings.Join(k.strategies, ", ")
	}
	return fmt.Sprintf("%s [%s]", k.invariant, on)
}

// seamsKnownFailing are the classes (an invariant × strategies) that
// broke on main when the campaign landed, each with what happens and who
// fixes it (/work/notes/seams-campaign.md has the seeds). A case whose
// every broken invariant is of a known class is reported as a SKIP naming
// the class, never as a pass; a case that breaks any other invariant
// fails the test. Remove an entry with its fix.
var seamsKnownFailing = []knownSeamFailure{
	{seamCommandRefused, []string{deployer.StrategyCodeDeploy}, "C9, seams-codedeploy: two services, the peer's StopDeployment fails (5xx) until its deployment Succeeded; the stop-deployment printed while it ran is refused once it finished (seed 1778, 1 run in 4)"},
	{seamFailedRevisionLeft, []string{deployer.StrategyCodeDeploy}, "C9, seams-codedeploy: the same case; the person's refused stop-deployment leaves web:2"},
}

// knownSeamClass returns the known class of v in strategy, if any.
func knownSeamClass(strategy string, v seamViolation, strict bool) (knownSeamFailure, bool) {
	if strict {
		return knownSeamFailure{}, false
	}
	for _, k := range seamsKnownFailing {
		if k.invariant == v.invariant && (len(k.strategies) == 0 || slices.Contains(k.strategies, strategy)) {
			return k, true
		}
	}
	return knownSeamFailure{}, false
}

func seamsFlag(v int64, env string, def int64) int64 {
	if v != 0 {
		return v
	}
	if s := os.Getenv(env); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
	}
	return def
}

func TestSeamCampaign(t *testing.T) {
	t.Parallel()
	var seeds []int64
	if s := seamsFlag(*seamsSeed, "SEAMS_SEED", 0); s != 0 {
		seeds = []int64{s}
	} else {
		n, base := seamsFlag(int64(*seamsN), "SEAMS_N", seamsCI), seamsFlag(*seamsBase, "SEAMS_BASE", 1)
		for i := range n {
			seeds = append(seeds, base+i)
		}
		t.Logf("seam campaign: %d cases, seeds %d..%d (re-run one with -seams.seed=N)", n, base, base+n-1)
	}
	var mu sync.Mutex
	var passed, knownN, failed int
	known := map[string][]int64{}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		t.Logf("seam campaign: %d cases passed, %d broke only invariants of known-failing classes (reported as SKIP), %d failed", passed, knownN, failed)
		for _, k := range seamsKnownFailing {
			if s := known[k.String()]; len(s) > 0 {
				t.Logf("KNOWN FAILING %s (%s): %d cases, seeds %v", k, k.note, len(s), s[:min(len(s), 10)])
			}
		}
	})
	// A few workers run the cases one at a time each (as many as
	// -parallel allows), so that 100,000 cases do not wait as 100,000
	// paused subtests.
	work := make(chan int64)
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), len(seeds))) {
		wg.Go(func() {
			for seed := range work {
				runSeamSubtest(t, seed, &mu, &passed, &knownN, &failed, known)
			}
		})
	}
	for _, seed := range seeds {
		work <- seed
	}
	close(work)
	wg.Wait()
}

// runSeamSubtest runs the case of seed as a subtest and counts it.
func runSeamSubtest(t *testing.T, seed int64, mu *sync.Mutex, passed, knownN, failed *int, known map[string][]int64) {
	c := drawSeamCase(seed)
	t.Run(fmt.Sprintf("%d", seed), func(t *testing.T) {
		var broken []seamViolation
		var o outcome
		synctest.Test(t, func(t *testing.T) { o, broken = runSeamCase(t, c) })
		var unknown, knownHere []string
		var classes []knownSeamFailure
		for _, v := range broken {
			if k, ok := knownSeamClass(c.strategy, v, os.Getenv("SEAMS_STRICT") != ""); ok {
				knownHere = append(knownHere, v.what)
				classes = append(classes, k)
			} else {
				unknown = append(unknown, fmt.Sprintf("[%s] %s", v.invariant, v.what))
			}
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case len(broken) == 0:
			*passed++
		case len(unknown) == 0:
			*knownN++
			for _, k := range classes {
				if s := known[k.String()]; len(s) == 0 || s[len(s)-1] != seed {
					known[k.String()] = append(s, seed)
				}
			}
			t.Skipf("KNOWN FAILING (seamsKnownFailing: %v), seed %d, %s: %s", classes, seed, c, strings.Join(knownHere, "; "))
		default:
			*failed++
			t.Errorf("seed %d (re-run: go test ./deployer -run 'TestSeamCampaign' -seams.seed=%d)\n%s\ninvariants broken:\n  %s\nstatus %s: %s\npost step: %q %s\n%s",
				seed, seed, c, strings.Join(append(unknown, knownHere...), "\n  "), o.res.Status, o.res.Reason, o.post.Status, o.post.Reason, o.log())
		}
	})
}

// seamCase is one drawn case of the campaign.
type seamCase struct {
	seed     int64
	strategy string
	services int
	target   string // the service the fault hits
	fault    string // what goes wrong
	when     string // the kind of moment it goes wrong (part of the class)
	detail   string // the values drawn
	class    string // strategy, services, fault, when: what seamsKnownFailing names
	takeover bool   // someone else deploys theirs after ours started
	busy     bool   // someone else's deployment runs when ours starts (on-busy wait)
	byHand   bool   // a person runs the printed rollback command instead of the post step
	holds    *holdSet
	row      outcomeRow
}

func (c seamCase) String() string {
	return fmt.Sprintf("case %d: %s, %d service(s), fault %q on %s, when %q (%s); class %q; rollback by hand: %v",
		c.seed, c.strategy, c.services, c.fault, c.target, c.when, c.detail, c.class, c.byHand)
}

var seamStrategies = []string{"ROLLING", "BLUE_GREEN", "LINEAR", "CANARY", deployer.StrategyCodeDeploy}

var seamFaults = []string{"none", "crash", "crash loop", "alarm", "hook", "rollback refused", "rollback throttled",
	"rollback failing", "rollback slow", "kill", "someone else's deploy"}

// drawSeamCase draws one case from seed alone.
func drawSeamCase(seed int64) seamCase {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5ea75))
	c := seamCase{seed: seed, strategy: seamStrategies[rng.IntN(len(seamStrategies))], services: 1 + rng.IntN(2), holds: &holdSet{}}
	c.target = "web"
	if c.services == 2 && rng.IntN(2) == 1 {
		c.target = "worker"
	}
	c.fault = seamFaults[rng.IntN(len(seamFaults))]
	if c.fault == "hook" && c.strategy == "ROLLING" {
		c.fault = "crash loop" // lifecycle hooks: the staged strategies and CodeDeploy
	}
	staged := c.strategy != "ROLLING" && c.strategy != deployer.StrategyCodeDeploy
	dur := func(lo, hi time.Duration) time.Duration {
		return (lo + time.Duration(rng.Int64N(int64(hi-lo)))).Round(100 * time.Millisecond)
	}
	var details []string
	detail := func(format string, args ...any) { details = append(details, fmt.Sprintf(format, args...)) }
	var worlds []func(*ecssim.Scenario)
	var configs []func(*deployer.Config)
	var setups []func(*ecssim.Sim)
	row := outcomeRow{strategy: c.strategy, services: c.services, post: true}

	bake := time.Duration(0)
	if rng.IntN(2) == 1 {
		bake = dur(10*time.Second, 4*time.Minute)
	}
	detail("bake-time %s", bake)
	configs = append(configs, func(cfg *deployer.Config) { cfg.BakeTime = bake })

	ruleFor := func(b ecssim.Behavior, after time.Duration) {
		worlds = append(worlds, func(sc *ecssim.Scenario) {
			sc.ImageRules = append([]ecssim.ImageRule{{Image: "repo/app:2", Family: c.target, Behavior: b, After: ecssim.Duration(after)}}, sc.ImageRules...)
		})
	}
	crashLoop := func() {
		var d time.Duration
		if rng.IntN(2) == 0 {
			d = dur(time.Second, 40*time.Second)
			c.when = "crash loop during the rollout"
		} else {
			d = dur(40*time.Second, 6*time.Minute)
			c.when = "crash loop around ECS's transitions and our bake"
		}
		detail("tasks crash %s after they start", d)
		ruleFor(ecssim.BehaviorCrashAfter, d)
	}
	// failure: a failure of the new revision, for the faults that hit the
	// rollback.
	failure := func() {
		if rng.IntN(2) == 0 {
			ruleFor(ecssim.BehaviorCrash, 0)
			c.when = "crash at start"
			return
		}
		crashLoop()
	}
	// rollbackOps: the calls a rollback makes, with the first call that
	// is a rollback's (UpdateService and CreateDeployment: after ours).
	rollbackOps := map[string]int{"UpdateService": c.services + 1}
	switch {
	case staged:
		rollbackOps["StopServiceDeployment"] = 1
	case c.strategy == deployer.StrategyCodeDeploy:
		rollbackOps = map[string]int{"StopDeployment": 1, "CreateDeployment": c.services + 1}
	}

	switch c.fault {
	case "none":
		c.when = "-"
	case "crash":
		ruleFor(ecssim.BehaviorCrash, 0)
		c.when = "at start"
	case "crash loop":
		crashLoop()
	case "alarm":
		anchor := []ecssim.AlarmAnchor{ecssim.AnchorUpdate, ecssim.AnchorCompleted}[rng.IntN(2)]
		after := dur(0, 3*time.Minute)
		c.when = "alarm after " + string(anchor)
		detail("alarm %s-5xx into ALARM %s after %s", c.target, after, anchor)
		v := 12.0
		worlds = append(worlds, withAlarms(ecssim.ScenarioAlarm{Name: c.target + "-5xx", Changes: []ecssim.AlarmChange{
			{State: ecssim.AlarmAlarm, From: anchor, After: ecssim.Duration(after), Service: c.target, Value: &v}}}))
		configs = append(configs, func(cfg *deployer.Config) { cfg.Alarms = []string{c.target + "-5xx"} })
	case "hook":
		if c.strategy == deployer.StrategyCodeDeploy {
			event := []string{"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"}[rng.IntN(5)]
			auto := rng.IntN(2) == 0
			delay := dur(time.Second, 2*time.Minute)
			c.when = fmt.Sprintf("AppSpec hook Failed at %s, auto-rollback %v", event, auto)
			detail("the hook reports after %s", delay)
			worlds = append(worlds, func(sc *ecssim.Scenario) {
				sc.CodeDeploy.Hooks = []ecssim.CodeDeployHook{{Function: "smoke-test", Event: event, Results: []string{"Failed"}, Delay: ecssim.Duration(delay), Message: "GET /health returned 500"}}
				for i := range sc.CodeDeploy.DeploymentGroups {
					if sc.CodeDeploy.DeploymentGroups[i].Service == c.target {
						sc.CodeDeploy.DeploymentGroups[i].AutoRollback = auto
					}
				}
			})
			configs = append(configs, func(cfg *deployer.Config) {
				spec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: x\n        LoadBalancerInfo:\n          ContainerName: app\n          ContainerPort: 8080\nHooks:\n  - " + event + ": smoke-test\n"
				cfg.CodeDeploy.AppSpec = []byte(spec)
			})
			break
		}
		stage := []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostScaleUp, types.DeploymentLifecycleHookStagePostTestTrafficShift,
			types.DeploymentLifecycleHookStagePreProductionTrafficShift, types.DeploymentLifecycleHookStagePostProductionTrafficShift}[rng.IntN(4)]
		if rng.IntN(3) == 0 {
			// A Lambda hook that fails.
			c.when = "Lambda hook fails at " + string(stage)
			worlds = append(worlds, func(sc *ecssim.Scenario) {
				for i := range sc.Services {
					if sc.Services[i].Name == c.target {
						sc.Services[i].DeploymentConfiguration.LifecycleHooks = []types.DeploymentLifecycleHook{{
							TargetType: types.DeploymentLifecycleHookTargetTypeAwsLambda, HookTargetArn: aws.String(smokeHook),
							RoleArn: aws.String("arn:aws:iam::123456789012:role/ecs-hooks"), LifecycleStages: []types.DeploymentLifecycleHookStage{stage}}}
					}
				}
				sc.LambdaHooks = []ecssim.HookScript{{HookTargetArn: smokeHook, Results: []ecssim.HookStatus{ecssim.HookInProgress, ecssim.HookFailed}}}
			})
			break
		}
		minutes := int32(1 + rng.IntN(3))
		action := []types.DeploymentLifecycleHookAction{types.DeploymentLifecycleHookActionContinue, types.DeploymentLifecycleHookActionRollback}[rng.IntN(2)]
		onPause := []deployer.OnPause{deployer.OnPauseContinue, deployer.OnPauseRollback}[rng.IntN(2)]
		held := dur(0, 4*time.Minute)
		c.when = fmt.Sprintf("PAUSE hook (timeout %s), on-pause %s, our Continue held", action, onPause)
		detail("PAUSE at %s times out after %d min; ContinueServiceDeployment answered %s late", stage, minutes, held)
		worlds = append(worlds, func(sc *ecssim.Scenario) {
			for i := range sc.Services {
				if sc.Services[i].Name == c.target {
					sc.Services[i].DeploymentConfiguration.LifecycleHooks = []types.DeploymentLifecycleHook{{
						TargetType: types.DeploymentLifecycleHookTargetTypePause, LifecycleStages: []types.DeploymentLifecycleHookStage{stage},
						TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(minutes), Action: action}}}
				}
			}
		})
		configs = append(configs, func(cfg *deployer.Config) { cfg.OnPause = onPause })
		setups = append(setups, holdThrough("ContinueServiceDeployment", held))
	case "rollback refused", "rollback throttled", "rollback failing", "rollback slow":
		failure()
		var f ecssim.Fault
		switch c.fault {
		case "rollback refused":
			f = ecssim.Fault{Error: "InvalidParameterException", Message: "injected refusal"}
		case "rollback throttled":
			f = ecssim.Fault{Error: "ThrottlingException", Message: "Rate exceeded", Times: 1 + rng.IntN(5)}
			detail("throttled %d times", f.Times)
		case "rollback failing":
			f = ecssim.Fault{Error: "ServerException", Message: "injected"}
		case "rollback slow":
			f = ecssim.Fault{Latency: ecssim.Duration(dur(time.Second, 30*time.Second))}
			detail("each rollback call arrives %s late", f.Latency.D())
		}
		setups = append(setups, func(sim *ecssim.Sim) {
			for op, n := range rollbackOps {
				f := f
				f.OnCall = n
				sim.InjectFault(op, f)
			}
		})
		row.beforePost = func(sim *ecssim.Sim) { sim.ClearFaults() }
	case "kill":
		switch rng.IntN(3) {
		case 0:
			n := 1 + rng.IntN(8)
			c.when = "right after a checkpoint write"
			detail("killed after checkpoint %d", n)
			row.killAfterCheckpoint = n
			if rng.IntN(2) == 0 {
				crashLoop()
				c.when = "right after a checkpoint write"
			}
		case 1:
			at := dur(0, 6*time.Minute)
			c.when = "at a random time"
			detail("killed %s after our update", at)
			row.killWhen = updatedAgo(at)
			if rng.IntN(2) == 0 {
				crashLoop()
				c.when = "at a random time"
			}
		default:
			failure()
			applied := rng.IntN(2) == 0
			c.when = "during the rollback call"
			detail("the rollback call applied: %v", applied)
			row.killWhen = func(sim *ecssim.Sim) bool {
				for _, h := range c.holds.get() {
					if h.Count() > 0 {
						if applied {
							h.Release()
						}
						return true
					}
				}
				return false
			}
			setups = append(setups, func(sim *ecssim.Sim) {
				go func() {
					for range 3600 {
						if n := successfulCalls(sim, "UpdateService", "CreateDeployment"); n >= c.services {
							var holds []*ecssim.Hold
							for op := range rollbackOps {
								holds = append(holds, sim.Hold(op))
							}
							c.holds.set(holds)
							return
						}
						time.Sleep(100 * time.Millisecond)
					}
				}()
			})
		}
	case "someone else's deploy":
		if c.strategy == deployer.StrategyCodeDeploy || rng.IntN(3) == 0 {
			c.busy = true
			c.when = "theirs in progress when ours starts (on-busy wait)"
			configs = append(configs, func(cfg *deployer.Config) { cfg.OnBusy = deployer.OnBusyWait })
			setups = append(setups, func(sim *ecssim.Sim) { theirDeploy(sim, c.strategy, c.target) })
		} else {
			c.takeover = true
			at := dur(0, 5*time.Minute)
			c.when = "theirs after ours started"
			detail("their UpdateService %s after ours", at)
			setups = append(setups, func(sim *ecssim.Sim) {
				afterUpdate(sim, at, func() { theirDeploy(sim, c.strategy, c.target) })
			})
		}
	}
	// Half the cases that print a rollback command have a person run it
	// instead of the post step.
	c.byHand = rng.IntN(2) == 0 && row.killWhen == nil && row.killAfterCheckpoint == 0
	c.class = fmt.Sprintf("%s ×%d / %s / %s", c.strategy, c.services, c.fault, c.when)
	c.detail = strings.Join(details, ", ")
	if c.byHand {
		row.post = false
	}
	row.name = fmt.Sprint(seed)
	row.world = func(sc *ecssim.Scenario) {
		for _, w := range worlds {
			w(sc)
		}
	}
	row.config = func(cfg *deployer.Config) {
		for _, f := range configs {
			f(cfg)
		}
	}
	row.setup = func(sim *ecssim.Sim) {
		for _, f := range setups {
			f(sim)
		}
	}
	c.row = row
	return c
}

// holdSet passes a case's holds from its setup to its killWhen and to
// runSeamCase, which releases them when the step returned.
type holdSet struct {
	mu    sync.Mutex
	holds []*ecssim.Hold
}

func (h *holdSet) get() []*ecssim.Hold {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.holds
}

func (h *holdSet) set(holds []*ecssim.Hold) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.holds = holds
}

func successfulCalls(sim *ecssim.Sim, ops ...string) int {
	n := 0
	for _, c := range sim.Calls() {
		if slices.Contains(ops, c.Op) && c.ErrCode == "" {
			n++
		}
	}
	return n
}

// theirImage is the image someone else deploys.
const theirImage = "repo/app:theirs"

// theirDeploy is someone else's deploy of service: a new revision of its
// family (their image) and an UpdateService to it, or a CodeDeploy
// deployment of it.
func theirDeploy(sim *ecssim.Sim, strategy, service string) {
	c, _ := ecssimtest.InMemoryClients(sim)
	ctx := context.Background()
	td, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(service + ":1")})
	if err != nil {
		panic(err)
	}
	d := td.TaskDefinition
	d.ContainerDefinitions[0].Image = aws.String(theirImage)
	reg, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: d.Family, ContainerDefinitions: d.ContainerDefinitions, Cpu: d.Cpu, Memory: d.Memory,
		NetworkMode: d.NetworkMode, RequiresCompatibilities: d.RequiresCompatibilities,
		ExecutionRoleArn: d.ExecutionRoleArn, TaskRoleArn: d.TaskRoleArn,
	})
	if err != nil {
		panic(err)
	}
	arn := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	if strategy == deployer.StrategyCodeDeploy {
		spec := `{"version":0.0,"Resources":[{"TargetService":{"Type":"AWS::ECS::Service","Properties":{"TaskDefinition":"` + arn +
			`","LoadBalancerInfo":{"ContainerName":"app","ContainerPort":8080}}}}]}`
		_, err = ecssimtest.InMemoryCodeDeployClient(sim).CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
			ApplicationName: aws.String("AppECS-prod-" + service), DeploymentGroupName: aws.String("DgpECS-prod-" + service),
			Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent,
				AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(spec)}},
		})
	} else {
		_, err = c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String(service), TaskDefinition: aws.String(arn)})
	}
	if err != nil {
		panic(err)
	}
}

// svcState is one service as the simulator has it.
type svcState struct {
	td          string                 // the service's task definition, "web:2"
	deployments int                    // ECS deployments (ECS controller)
	taskSets    int                    // task sets (CODE_DEPLOY)
	desired     int32                  // desired count
	running     map[string]int         // RUNNING tasks by revision
	healthy     map[string]int         // RUNNING tasks by revision that passed their health checks (or have none)
	stopping    map[string][]time.Time // when each task of a revision that is no longer RUNNING began to stop
}

// stoppedAt is how many tasks of rev began to stop at the instant at.
func (s svcState) stoppedAt(rev string, at time.Time) int {
	n := 0
	for _, t := range s.stopping[rev] {
		if t.Equal(at) {
			n++
		}
	}
	return n
}

func (s svcState) String() string {
	return fmt.Sprintf("%s (%d deployments, %d task sets, desired %d, running %v, healthy %v)", s.td, s.deployments, s.taskSets, s.desired, s.running, s.healthy)
}

// settledOn: the service is on rev, with one ECS deployment (a CODE_DEPLOY
// service's emptied task set may linger), rev's tasks run healthy at the
// desired count, and no other revision's task runs.
func (s svcState) settledOn(rev string) bool {
	if s.td != rev || s.deployments > 1 || s.healthy[rev] < int(s.desired) {
		return false
	}
	for r, n := range s.running {
		if r != rev && n > 0 {
			return false
		}
	}
	return true
}

func readSvcState(sim *ecssim.Sim, service string) svcState {
	svc, _ := sim.Service("prod", service)
	st := svcState{td: shortRev(aws.ToString(svc.TaskDefinition)), deployments: len(svc.Deployments), taskSets: len(svc.TaskSets),
		desired: svc.DesiredCount, running: map[string]int{}, healthy: map[string]int{}, stopping: map[string][]time.Time{}}
	for _, t := range sim.Tasks("prod") {
		rev := shortRev(aws.ToString(t.TaskDefinitionArn))
		if !strings.HasPrefix(rev, service+":") {
			continue
		}
		if aws.ToString(t.LastStatus) != "RUNNING" {
			if t.StoppingAt != nil {
				st.stopping[rev] = append(st.stopping[rev], *t.StoppingAt)
			}
			continue
		}
		st.running[rev]++
		if t.HealthStatus == types.HealthStatusHealthy || (service != "web" && t.HealthStatus != types.HealthStatusUnhealthy) {
			st.healthy[rev]++ // web's app container has a health check; the others have none
		}
	}
	return st
}

// runSeamCase plays one case and returns what it did and the invariants
// it broke.
func runSeamCase(t *testing.T, c seamCase) (outcome, []seamViolation) {
	var broken []seamViolation
	fail := func(kind seamInvariant, format string, args ...any) {
		broken = append(broken, seamViolation{kind, fmt.Sprintf(format, args...)})
	}
	names := serviceNames(c.row)
	atEnd := map[string]svcState{}
	row := c.row
	var printed []string
	lastRead := map[string]time.Time{}
	row.afterStep = func(o outcome) {
		sim, res := o.sim, o.res
		for _, name := range names {
			atEnd[name] = readSvcState(sim, name)
		}
		for _, call := range sim.Calls() {
			for _, name := range names {
				if (call.Op == "DescribeServices" || call.Op == "DescribeTaskSets") && strings.Contains(string(call.Input), `"`+name+`"`) {
					lastRead[name] = call.At
				}
			}
		}
		for _, h := range c.holds.get() {
			h.Release()
		}
		printed = printedCommands(res, o.events)
		// Read-only commands work as printed.
		for _, cmd := range printed {
			if isReadOnlyCommand(cmd) {
				if err := runPrintedCommand(sim, cmd); err != nil {
					fail(seamCommandRefused, "the printed command %q does not work: %v", cmd, err)
				}
			}
		}
		if !c.byHand {
			return
		}
		// A person runs the rollback command printed for each service
		// whose rollback failed (after the fault passed).
		sim.ClearFaults()
		for _, r := range resultsOf(res) {
			if r.ManualRollback == "" || r.Status == deployer.StatusSucceeded || r.Status == deployer.StatusRolledBack {
				continue
			}
			if err := runPrintedCommand(sim, r.ManualRollback); err != nil {
				fail(seamCommandRefused, "the printed command %q does not work: %v", r.ManualRollback, err)
			}
		}
	}
	row.afterPost = func(o outcome) {
		// rolled-back only for a rollback the post step watched settle
		for _, r := range resultsOf(o.post) {
			if r.Status != deployer.StatusRolledBack {
				continue
			}
			name := r.Service[strings.LastIndex(r.Service, "/")+1:]
			prev := name + ":1"
			for _, m := range resultsOf(o.res) {
				if m.Service == r.Service && m.PreviousTaskDefinitionARN != "" {
					prev = shortRev(m.PreviousTaskDefinitionARN)
				}
			}
			if st := readSvcState(o.sim, name); !st.settledOn(prev) {
				fail(seamPostUnwatched, "%s: the post step says rolled-back, but when it returned %s does not serve settled: %s (%s)", name, prev, st, r.Reason)
			}
		}
	}
	o := playOutcome(t, row)
	results := resultsOf(o.res)
	var lastCP deployer.Checkpoint
	if len(o.cps) > 0 {
		lastCP = o.cps[len(o.cps)-1]
	}
	owed := func(service string) bool {
		if len(lastCP.Targets) == 0 {
			return lastCP.Phase.PostStepMustAct()
		}
		for _, cp := range lastCP.Targets {
			if cp.Service == service || strings.HasSuffix(cp.Service, "/"+service) {
				return cp.Phase.PostStepMustAct()
			}
		}
		return lastCP.Phase.PostStepMustAct()
	}
	theirs := func(st svcState) bool {
		return st.td != "" && (c.takeover || c.busy) && !strings.HasSuffix(st.td, ":1") && st.td != shortRev(o.res.TaskDefinitionARN) && st.td != ""
	}
	for i, name := range names {
		if i >= len(results) {
			fail(seamNoResult, "no result for service %s", name)
			continue
		}
		r := results[i]
		ours, prev := shortRev(r.TaskDefinitionARN), shortRev(r.PreviousTaskDefinitionARN)
		if c.busy && name == c.target && !o.killed && prev != "" && strings.HasSuffix(prev, ":1") {
			fail(seamPreviousBeforeWait, "%s: previous-task-definition-arn is %s, but someone else's deployment replaced it before ours (on-busy wait)", name, prev)
		}
		if o.killed {
			continue
		}
		st := atEnd[name]
		switch r.Status {
		case deployer.StatusSucceeded:
			// Tasks that stopped at the very instant of the step's last
			// read of the service (on the fake clock) could not be seen: at
			// one instant ECS's transition and our read have no order.
			if st.td != ours || st.healthy[ours]+st.stoppedAt(ours, lastRead[name]) < int(st.desired) {
				fail(seamSucceededNotServing, "%s: succeeded, but at the step's end %s serves %s; the step last read it at +%s, our tasks began to stop at %s",
					name, ours, st, lastRead[name].Sub(o.start), offsets(st.stopping[ours], o.start))
			}
		case deployer.StatusRolledBack:
			if !st.settledOn(prev) {
				fail(seamRolledBackNotSettled, "%s: rolled-back, but at the step's end the previous revision %s does not serve settled: %s", name, prev, st)
			}
		case deployer.StatusFailed, deployer.StatusRollbackFailed, deployer.StatusCancelled:
			if ours == "" || theirs(st) || st.settledOn(prev) {
				break
			}
			if st.td == ours || st.running[ours] > 0 {
				if r.ManualRollback == "" && !strings.Contains(r.Reason, "aws ") {
					fail(seamNoCommand, "%s: %s with %s still there (%s), and no command to finish by hand", name, r.Status, ours, st)
				}
				if !owed(name) {
					fail(seamNothingOwed, "%s: %s with %s still there (%s), and the last checkpoint (%s) owes nothing", name, r.Status, ours, st, lastCP.Phase)
				}
			}
		}
	}
	if o.res.Status == deployer.StatusRolledBack {
		for i, name := range names {
			if i < len(results) && results[i].Status != deployer.StatusRolledBack {
				fail(seamScopeAllPartial, "the step is rolled-back but %s is %s (rollback-scope all)", name, results[i].Status)
			}
		}
	}
	if o.post.Status == deployer.StatusRollbackFailed {
		fail(seamPostRollbackFailed, "the post step ended rollback-failed: %s", o.post.Reason)
	}
	// After the post step (or the person) and ten minutes of ECS.
	for i, name := range names {
		if i >= len(results) {
			continue
		}
		r := results[i]
		ours, prev := shortRev(r.TaskDefinitionARN), shortRev(r.PreviousTaskDefinitionARN)
		if prev == "" {
			prev = name + ":1"
		}
		fin := readSvcState(o.sim, name)
		switch {
		case theirs(fin):
			// someone else's revision: theirs is left alone
		case o.killed:
			switch {
			case o.post.Status == deployer.StatusRolledBack && !fin.settledOn(prev):
				fail(seamPostRolledBackNotFinal, "%s: the post step says rolled-back, but at the end %s", name, fin)
			case fin.td == ours:
				// The post step leaves a deployment that finished with no
				// verdict (killed in our bake-time, or after the step's last
				// checkpoint); a crash after that is nobody's verdict.
				if p := phaseOf(lastCP, name); p == deployer.PhaseRollingBack || p == deployer.PhaseRollbackOwed {
					fail(seamOwedRollbackDropped, "%s: the checkpoint owed a rollback (%s), but after the post step %s serves: %s", name, p, ours, fin)
				}
			case !fin.settledOn(prev):
				fail(seamKilledUnsettled, "%s: after the kill and the post step neither revision serves settled: %s", name, fin)
			}
		case r.Status == deployer.StatusSucceeded:
			if fin.td != ours {
				fail(seamSucceededReplaced, "%s: succeeded, but at the end %s serves", name, fin)
			}
		case r.Status == deployer.StatusPaused:
		case ours == "" && fin.settledOn(prev):
		default:
			if !fin.settledOn(prev) {
				fail(seamFailedRevisionLeft, "%s: %s (post step %q), and at the end the previous revision %s does not serve settled: %s", name, r.Status, o.post.Status, prev, fin)
			}
		}
	}
	return o, broken
}

// offsets are times as offsets from start, for people.
func offsets(ts []time.Time, start time.Time) []string {
	var out []string
	for _, t := range ts {
		out = append(out, "+"+t.Sub(start).String())
	}
	return out
}

// phaseOf is service's phase in a checkpoint.
func phaseOf(cp deployer.Checkpoint, service string) deployer.Phase {
	for _, t := range cp.Targets {
		if t.Service == service {
			return t.Phase
		}
	}
	return cp.Phase
}

// resultsOf is a step's per-service results (the step's own for one
// service).
func resultsOf(res deployer.Result) []deployer.Result {
	if len(res.Services) > 0 {
		return res.Services
	}
	return []deployer.Result{res}
}
