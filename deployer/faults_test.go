package deployer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/awsclient"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// This file runs Deploy against the simulator with API faults injected at
// every phase, through the real SDK client with the production retryer
// (internal/awsclient; only its backoff is scaled down to milliseconds),
// and checks the safety invariants on every run.

// faultPhase is where in a deployment a fault starts.
type faultPhase string

const (
	phasePreflight faultPhase = "preflight" // injected before Deploy, on a read call
	phaseRegister  faultPhase = "register"  // RegisterTaskDefinition
	phaseUpdate    faultPhase = "update"    // the first UpdateService
	phaseWatch     faultPhase = "watch"     // from the first poll of our deployment
	phaseRollback  faultPhase = "rollback"  // from the moment the rollback starts
)

// faultRun is one seeded run.
type faultRun struct {
	name     string
	phase    faultPhase
	op       string       // operation the fault applies to ("" = all)
	fault    ecssim.Fault // injected into the simulator
	lose     int          // responses of op lost after the simulator applied the call
	image    string       // "repo/app:2" (healthy) or "repo/app:crash" (failing)
	rollback bool
	// forGood: the fault outlasts the retryer, so the phase fails.
	forGood bool
}

func (fr faultRun) failing() bool { return strings.HasSuffix(fr.image, ":crash") }

// faultOps are the calls each phase makes.
var faultOps = map[faultPhase][]string{
	phasePreflight: {"DescribeServices", "DescribeTaskDefinition"},
	phaseRegister:  {"RegisterTaskDefinition"},
	phaseUpdate:    {"UpdateService"},
	phaseWatch:     {"DescribeServices", "ListTasks", "DescribeTasks", ""},
	phaseRollback:  {"UpdateService", "DescribeServices", ""},
}

// faultRuns returns the table: a fixed set of faults that outlast the
// retryer at each phase, and n seeded transient ones.
func faultRuns(n int) []faultRun {
	var runs []faultRun
	for _, image := range []string{"repo/app:2", "repo/app:crash"} {
		kind := "healthy"
		if strings.HasSuffix(image, ":crash") {
			kind = "failing"
		}
		add := func(name string, phase faultPhase, op string, f ecssim.Fault, lose int) {
			runs = append(runs, faultRun{name: fmt.Sprintf("for good/%s/%s/%s", phase, kind, name),
				phase: phase, op: op, fault: f, lose: lose, image: image, rollback: true, forGood: true})
		}
		add("throttled DescribeServices", phasePreflight, "DescribeServices", ecssim.Fault{Throttle: 1000}, 0)
		add("denied DescribeTaskDefinition", phasePreflight, "DescribeTaskDefinition", ecssim.Fault{Error: "AccessDeniedException"}, 0)
		add("5xx RegisterTaskDefinition", phaseRegister, "RegisterTaskDefinition", ecssim.Fault{Status5xx: 1000}, 0)
		add("dropped UpdateService", phaseUpdate, "UpdateService", ecssim.Fault{DropConnection: 1000}, 0)
		add("UpdateService applied, every response lost", phaseUpdate, "UpdateService", ecssim.Fault{}, 1000)
		add("denied DescribeServices", phaseWatch, "DescribeServices", ecssim.Fault{Error: "AccessDeniedException"}, 0)
		add("throttled DescribeServices", phaseWatch, "DescribeServices", ecssim.Fault{Throttle: 100000}, 0)
		add("denied UpdateService", phaseRollback, "UpdateService", ecssim.Fault{Error: "AccessDeniedException"}, 0)
		add("throttled UpdateService", phaseRollback, "UpdateService", ecssim.Fault{Throttle: 1000}, 0)
		add("UpdateService applied, every response lost", phaseRollback, "UpdateService", ecssim.Fault{}, 1000)
	}
	// Rollback off, failing image, a transient storm while watching.
	runs = append(runs, faultRun{name: "rollback off/watch/failing/throttling storm", phase: phaseWatch, op: "",
		fault: ecssim.Fault{Throttle: awsclient.MaxAttempts - 1}, image: "repo/app:crash"})

	phases := []faultPhase{phasePreflight, phaseRegister, phaseUpdate, phaseWatch, phaseRollback}
	for seed := range n {
		rnd := rand.New(rand.NewPCG(uint64(seed), 0x5afe))
		phase := phases[seed%len(phases)]
		ops := faultOps[phase]
		op := ops[rnd.IntN(len(ops))]
		image := "repo/app:2"
		if rnd.IntN(2) == 1 || phase == phaseRollback {
			image = "repo/app:crash"
		}
		k := 1 + rnd.IntN(awsclient.MaxAttempts-1) // at most MaxAttempts-1 in a row: absorbed
		var f ecssim.Fault
		var lose int
		var what string
		switch rnd.IntN(6) {
		case 0:
			f, what = ecssim.Fault{Throttle: k}, fmt.Sprintf("throttling storm x%d", k)
		case 1:
			p := 0.1 + 0.3*rnd.Float64()
			f, what = ecssim.Fault{ThrottleProbability: p, Seed: int64(seed + 1)}, fmt.Sprintf("throttling p=%.2f", p)
		case 2:
			f, what = ecssim.Fault{Status5xx: k}, fmt.Sprintf("5xx x%d", k)
		case 3:
			lat := time.Duration(5+rnd.IntN(30)) * time.Millisecond
			f, what = ecssim.Fault{Latency: ecssim.Duration(lat)}, fmt.Sprintf("latency %s", lat)
		case 4:
			f, what = ecssim.Fault{DropConnection: k}, fmt.Sprintf("dropped connections x%d", k)
		case 5:
			f, what = ecssim.Fault{Throttle: k / 3, Status5xx: k / 3, DropConnection: k / 3, Latency: ecssim.Duration(3 * time.Millisecond)}, fmt.Sprintf("mixed x%d", k)
		}
		if op == "UpdateService" && rnd.IntN(3) == 0 {
			lose, what = 1+rnd.IntN(2), what+" and lost responses"
		}
		kind := "healthy"
		if strings.HasSuffix(image, ":crash") {
			kind = "failing"
		}
		runs = append(runs, faultRun{
			name:  fmt.Sprintf("seed %02d/%s/%s/%s/%s", seed, phase, kind, orAll(op), what),
			phase: phase, op: op, fault: f, lose: lose, image: image, rollback: rnd.IntN(5) != 0,
		})
	}
	return runs
}

func orAll(op string) string {
	if op == "" {
		return "all calls"
	}
	return op
}

// TestDeployUnderFaults is the table of seeded fault runs: 60+ in the full
// suite, a sample under -short. Every run must end in a correct, stated
// outcome (see checkFaultInvariants).
func TestDeployUnderFaults(t *testing.T) {
	t.Parallel()
	runs := faultRuns(40)
	if testing.Short() {
		var short []faultRun
		for i, fr := range runs {
			if i%5 == 0 {
				short = append(short, fr)
			}
		}
		runs = short
	}
	for _, fr := range runs {
		t.Run(fr.name, func(t *testing.T) {
			t.Parallel()
			runUnderFault(t, fr)
		})
	}
}

// lossyClient forwards requests to the simulator and, for the first n
// calls of op, throws the response away and reports a reset connection:
// the call was applied, but the caller cannot know.
type lossyClient struct {
	next  *http.Client
	op    string
	n     atomic.Int64
	armed atomic.Bool // set when the run's phase starts
}

func (c *lossyClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(req)
	if err != nil || !c.armed.Load() || !strings.HasSuffix(req.Header.Get("X-Amz-Target"), "."+c.op) {
		return resp, err
	}
	if c.n.Add(-1) < 0 {
		return resp, nil
	}
	resp.Body.Close()
	return nil, errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer")
}

func runUnderFault(t *testing.T, fr faultRun) {
	srv := ecssimtest.NewServer(t, faultScenario())
	var httpClient ecs.HTTPClient = http.DefaultClient
	lc := &lossyClient{next: &http.Client{}, op: fr.op}
	if fr.lose > 0 {
		lc.n.Store(int64(fr.lose))
		httpClient = lc
	}
	ecsClient, logsClient := fastClients(srv.URL, func(o *ecs.Options) { o.HTTPClient = httpClient })

	before, _ := srv.Sim.Service("prod", "web")
	oldARN := aws.ToString(before.TaskDefinition)

	var once sync.Once
	inject := func() {
		once.Do(func() {
			srv.Sim.InjectFault(fr.op, fr.fault)
			lc.armed.Store(true)
		})
	}
	switch fr.phase {
	case phasePreflight, phaseRegister, phaseUpdate:
		inject()
	}
	var mu sync.Mutex
	var log []string
	d := deployer.New(ecsClient, logsClient, deployer.WithReporter(func(ev deployer.Event) {
		mu.Lock()
		log = append(log, ev.Message)
		mu.Unlock()
		switch {
		case fr.phase == phaseWatch && ev.Kind == deployer.EventProgress:
			inject()
		case fr.phase == phaseRollback && ev.Kind == deployer.EventPhase && strings.HasPrefix(ev.Message, "Roll back"):
			inject()
		}
	}))
	c := config(fr.image)
	c.Timeout, c.PollInterval, c.RollbackTimeout = 4*time.Second, 20*time.Millisecond, 4*time.Second
	c.Rollback, c.LogLines = fr.rollback, 5
	if fr.forGood && (fr.phase == phaseWatch || fr.phase == phaseRollback) {
		// A fault that never ends must end the run by a timeout.
		c.Timeout, c.RollbackTimeout = 1500*time.Millisecond, 1500*time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := d.Deploy(ctx, c)
	if ctx.Err() != nil {
		t.Fatalf("Deploy did not return within 30s")
	}
	srv.Sim.ClearFaults()
	after, _ := srv.Sim.Service("prod", "web")
	o := faultOutcome{run: fr, res: res, err: err, oldARN: oldARN, final: aws.ToString(after.TaskDefinition), calls: srv.Sim.Calls()}
	t.Logf("status %q: %s (service ends on %s; %d calls, %d faulted)", res.Status, res.Reason, shortRev(o.final), len(o.calls), faulted(o.calls))
	if problems := o.check(); len(problems) > 0 {
		mu.Lock()
		defer mu.Unlock()
		t.Errorf("run %s broke the safety invariants:\n- %s\nstatus %q, reason %q\nservice ends on %s (old %s, new %s)\ncalls:\n%s\nlog:\n%s",
			fr.name, strings.Join(problems, "\n- "), res.Status, res.Reason, o.final, oldARN, res.TaskDefinitionARN,
			o.callLog(), strings.Join(log, "\n"))
	}
}

// faultScenario is the service "web" in cluster "prod" on web:1 with two
// tasks; images ending in ":crash" crash, every other image is healthy.
func faultScenario() ecssim.Scenario {
	td := ecssim.FargateApp("web", "repo/app:1")
	td.ContainerDefinitions[0].LogConfiguration = ecssim.Awslogs("web")
	sc := ecssim.OneService("prod", "web", td, 2)
	sc.ImageRules = []ecssim.ImageRule{
		{Image: "*:crash", Behavior: ecssim.BehaviorCrash, Logs: []string{"panic: boom"}},
		{Image: "*", Behavior: ecssim.BehaviorHealthy},
	}
	return sc
}

// faultOutcome is what one run ended with.
type faultOutcome struct {
	run    faultRun
	res    deployer.Result
	err    error
	oldARN string
	final  string // the service's task definition after the run
	calls  []ecssim.Call
}

func (o faultOutcome) callLog() string {
	var b strings.Builder
	for _, c := range o.calls {
		fmt.Fprintf(&b, "  %s %s", c.At.Format("15:04:05.000"), c.Op)
		if td := callTaskDef(c); td != "" {
			fmt.Fprintf(&b, " taskDefinition=%s", td)
		}
		if c.ErrCode != "" {
			fmt.Fprintf(&b, " -> %s", c.ErrCode)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func callTaskDef(c ecssim.Call) string {
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	_ = json.Unmarshal(c.Input, &in)
	return in.TaskDefinition
}

// check returns every broken invariant.
func (o faultOutcome) check() []string {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	res, fr := o.res, o.run
	newARN := res.TaskDefinitionARN

	// Never silent.
	if res.Status == "" {
		bad("no status")
	}
	if strings.TrimSpace(res.Reason) == "" {
		bad("no reason")
	}
	if (o.err == nil) != res.Status.OK() {
		bad("error %v does not match status %q", o.err, res.Status)
	}
	switch res.Status {
	case deployer.StatusSucceeded, deployer.StatusRolledBack, deployer.StatusFailed, deployer.StatusRollbackFailed:
	default:
		bad("unexpected status %q", res.Status)
	}
	// Never succeeded on a failed revision.
	if res.Status == deployer.StatusSucceeded {
		if fr.failing() {
			bad("succeeded with a crashing image")
		}
		if newARN == "" || o.final != newARN {
			bad("succeeded but the service runs %s, not the new revision %q", o.final, newARN)
		}
	}
	// The service ends on the new revision only with succeeded (or failed
	// with rollback off); otherwise on the previous one, or the status
	// says the rollback failed.
	onNew := newARN != "" && newARN != o.oldARN && o.final == newARN
	// Access lost while watching: the deployment's state is unknown, so
	// no rollback is attempted with credentials that no longer work; the
	// reason says so and gives the commands to check and to roll back.
	accessLost := res.Status == deployer.StatusFailed && strings.Contains(res.Reason, "lost access")
	if accessLost && (!strings.Contains(res.Reason, "aws ecs describe-services") || !strings.Contains(res.Reason, "aws ecs update-service") || res.ManualRollback == "") {
		bad("access lost without the commands to check and to roll back by hand: %q", res.Reason)
	}
	if fr.forGood && fr.phase == phaseWatch && fr.fault.Error == "AccessDeniedException" && res.Status != deployer.StatusSucceeded && !accessLost && !fr.failing() {
		bad("access denied while watching, but the reason does not say access was lost: %q", res.Reason)
	}
	switch {
	case res.Status == deployer.StatusRollbackFailed:
		if res.ManualRollback == "" || !strings.Contains(res.ManualRollback, o.oldARN) {
			bad("rollback-failed without the manual command to %s: %q", o.oldARN, res.ManualRollback)
		}
	case onNew && res.Status == deployer.StatusSucceeded:
	case onNew && accessLost:
	case onNew && res.Status == deployer.StatusFailed && !fr.rollback:
		if !strings.Contains(res.Reason, "rollback is off") {
			bad("left on the new revision with rollback off, but the reason does not say so")
		}
	case onNew:
		bad("the service is left on the new revision %s with status %q", newARN, res.Status)
	case o.final != o.oldARN:
		bad("the service ends on %s, neither the new nor the previous revision", o.final)
	}
	if res.Status == deployer.StatusRolledBack && o.final != o.oldARN {
		bad("rolled-back but the service runs %s, not %s", o.final, o.oldARN)
	}
	if res.PreviousTaskDefinitionARN != "" && res.PreviousTaskDefinitionARN != o.oldARN {
		bad("previous-task-definition-arn %q, want %q", res.PreviousTaskDefinitionARN, o.oldARN)
	}

	// Once our update was applied, a run that did not succeed attempts
	// a rollback (rollback on), whatever failed after.
	applied, rollbackTried := false, false
	var mutating []string
	for _, c := range o.calls {
		if c.Op != "UpdateService" && c.Op != "RegisterTaskDefinition" && c.Op != "DeregisterTaskDefinition" {
			continue
		}
		mutating = append(mutating, c.Op)
		if c.Op != "UpdateService" {
			continue
		}
		td := callTaskDef(c)
		if c.ErrCode == "" && td == newARN && newARN != "" {
			applied = true
		}
		if applied && td == o.oldARN {
			rollbackTried = true
		}
	}
	if accessLost && rollbackTried {
		bad("access was lost, yet a rollback was attempted")
	}
	if applied && fr.rollback && res.Status != deployer.StatusSucceeded && !rollbackTried && !accessLost {
		bad("our update was applied and the run ended %q, but no rollback was attempted", res.Status)
	}
	if !applied && (res.Status == deployer.StatusRolledBack || res.Status == deployer.StatusRollbackFailed) {
		bad("status %q although our update was never applied", res.Status)
	}
	if rollbackTried && !fr.rollback {
		bad("rolled back although rollback is off")
	}

	// Faults the retryer absorbs do not change the outcome.
	if !fr.forGood {
		want := deployer.StatusSucceeded
		switch {
		case fr.failing() && fr.rollback:
			want = deployer.StatusRolledBack
		case fr.failing():
			want = deployer.StatusFailed
		}
		if res.Status != want {
			bad("a transient fault changed the outcome: got %q, want %q", res.Status, want)
		}
	}
	// Faults that outlast the retryer before the update change nothing.
	if fr.forGood && fr.lose == 0 {
		switch fr.phase {
		case phasePreflight:
			if len(mutating) > 0 {
				bad("preflight failed but mutating calls were made: %v", mutating)
			}
			fallthrough
		case phaseRegister, phaseUpdate:
			if res.Status != deployer.StatusFailed || o.final != o.oldARN {
				bad("a %s fault: got %q on %s, want failed on the previous revision", fr.phase, res.Status, o.final)
			}
		}
	}
	return p
}

func shortRev(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

func faulted(calls []ecssim.Call) int {
	n := 0
	for _, c := range calls {
		if c.ErrCode != "" {
			n++
		}
	}
	return n
}
