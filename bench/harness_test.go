package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// profile is the time scale of a benchmark run. Full runs use the real
// poll intervals (seconds) and simulated rollouts of a few seconds; -short
// divides every duration by shortDivisor so the suite cannot rot in CI
// without taking CI's time.
type profile struct {
	short bool
	div   time.Duration // every duration is divided by this
	reps  int           // repetitions per measurement (run in parallel)
}

const shortDivisor = 20

func profileOf(tb testing.TB) profile {
	if testing.Short() {
		return profile{short: true, div: shortDivisor, reps: 2}
	}
	return profile{div: 1, reps: 40}
}

// d scales a full-run duration to the profile.
func (p profile) d(full time.Duration) time.Duration { return full / p.div }

// pollSetting is one poll interval under test.
type pollSetting struct {
	name     string
	interval time.Duration // what Config.PollInterval is set to; 0 is the default
	// effective is the interval actually used.
	effective time.Duration
}

// pollSettings are the default and the intervals issue 7 asks for.
// twoTasks is a rollout of image to a service of two tasks (maximumPercent
// 200, a two-minute timeout) polled at ps, with the profile's task timings
// drawn from rng.
func (p profile) twoTasks(image string, ps pollSetting, rng *rand.Rand) rollout {
	return rollout{image: image, tasks: 2, maxPct: 200, interval: ps.interval, timeout: 2 * time.Minute,
		timings: p.timings(rng, ps.effective)}
}

func (p profile) pollSettings() []pollSetting {
	def := pollSetting{name: "default", effective: deployer.DefaultPollInterval}
	if p.short {
		def.interval = p.d(deployer.DefaultPollInterval)
		def.effective = def.interval
	}
	out := []pollSetting{def}
	for _, s := range []time.Duration{time.Second, 2 * time.Second, 5 * time.Second} {
		out = append(out, pollSetting{name: s.String(), interval: p.d(s), effective: p.d(s)})
	}
	return out
}

// rollout describes one simulated world and one deployment in it.
type rollout struct {
	image    string // the new image of container "app"; its tag picks the behaviour
	tasks    int32  // desired count
	maxPct   int32  // maximumPercent of the rolling update
	services int    // services deployed in parallel on one simulator (default 1)
	timings  ecssim.Timings
	after    time.Duration // crash-after: running time before the crash
	interval time.Duration // Config.PollInterval (0: the default)
	timeout  time.Duration
	env      []string // more environment for the real binary (runBinary), e.g. GOGC=100
}

// scenario builds the simulated world: one cluster per service ("c0",
// "c1", …), each with service "web" running family "web<i>" revision 1
// (one essential container with a health check).
func (r rollout) scenario() ecssim.Scenario {
	n := max(r.services, 1)
	sc := ecssim.Scenario{
		Timings: r.timings,
		ImageRules: []ecssim.ImageRule{
			{Image: "*:crash", Behavior: ecssim.BehaviorCrash, Logs: []string{"panic: boom"}},
			{Image: "*:crash-after", Behavior: ecssim.BehaviorCrashAfter, After: ecssim.Duration(r.after), Logs: []string{"panic: later"}},
			{Image: "*", Behavior: ecssim.BehaviorHealthy},
		},
	}
	for i := range n {
		family := fmt.Sprintf("web%d", i)
		cluster := fmt.Sprintf("c%d", i)
		sc.Clusters = append(sc.Clusters, ecssim.ScenarioCluster{Name: cluster})
		td := ecssim.FargateApp(family, "repo/app:1")
		td.ContainerDefinitions[0].HealthCheck = &types.HealthCheck{Command: []string{"CMD-SHELL", "true"}, Interval: aws.Int32(5), Retries: aws.Int32(2)}
		td.ContainerDefinitions[0].LogConfiguration = ecssim.Awslogs(family)
		sc.TaskDefinitions = append(sc.TaskDefinitions, ecssim.ScenarioTaskDefinition{TaskDefinition: td})
		maxPct := r.maxPct
		sc.Services = append(sc.Services, ecssim.ScenarioService{
			Cluster: cluster, Name: "web", TaskDefinition: family + ":1", DesiredCount: r.tasks,
			DeploymentConfiguration: ecssim.DeploymentConfiguration{MaximumPercent: &maxPct},
		})
	}
	return sc
}

// outcome is what one deployment of one service measured.
type outcome struct {
	status deployer.Status
	reason string

	// detect: from the first failed task of our deployment visible in the
	// API (its stoppingAt: from then on failedTasks, the running count and
	// ListTasks desiredStatus=STOPPED show it) to our rollback
	// UpdateService arriving at the simulator. Zero when not applicable.
	detect time.Duration
	// green: from our deployment turning COMPLETED in the API (the
	// simulator's "deployment completed" service event) to Deploy
	// returning. Zero when not applicable.
	green time.Duration
	// watch: from our UpdateService to the end of watching our deployment
	// (the rollback UpdateService, or Deploy returning).
	watch time.Duration
	// watchCalls are the API calls made while watching (after our
	// UpdateService, before the rollback), by operation.
	watchCalls map[string]int
	// calls are every API call of the deployment, by operation.
	calls map[string]int
}

func (o outcome) total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// env is one simulator and the SDK clients pointed at it.
type env struct {
	srv  *ecssim.Server
	ecs  *ecs.Client
	logs *cloudwatchlogs.Client
}

func newEnv(tb testing.TB, sc ecssim.Scenario) env {
	tb.Helper()
	srv := ecssimtest.NewServer(tb, sc)
	e := env{srv: srv}
	e.ecs, e.logs = ecssimtest.Clients(srv)
	return e
}

func (r rollout) config(i int) deployer.Config {
	return deployer.Config{
		Cluster:              fmt.Sprintf("c%d", i),
		Service:              "web",
		Images:               []deployer.ContainerImage{{Container: "app", Image: r.image}},
		Timeout:              r.timeout,
		RollbackTimeout:      r.timeout,
		PollInterval:         r.interval,
		FailedTasksThreshold: 1,
		Rollback:             true,
		MaximumPercent:       aws.Int32(r.maxPct),
		ForceNewDeployment:   true,
		Wait:                 true,
		LogLines:             20,
	}
}

// deployAll starts one simulator, deploys every service of r in parallel
// through the real SDK client, and measures each deployment.
func deployAll(tb testing.TB, r rollout) []outcome {
	tb.Helper()
	e := newEnv(tb, r.scenario())
	n := max(r.services, 1)
	results := make([]deployer.Result, n)
	returned := make([]time.Time, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d := deployer.New(e.ecs, e.logs)
			results[i], _ = d.Deploy(context.Background(), r.config(i))
			returned[i] = time.Now()
		})
	}
	wg.Wait()
	calls := e.srv.Sim.Calls()
	out := make([]outcome, n)
	for i := range n {
		out[i] = measure(tb, e.srv.Sim, calls, i, n, results[i], returned[i])
	}
	return out
}

// measure derives one service's outcome from the simulator's state and
// call log.
func measure(tb testing.TB, sim *ecssim.Sim, calls []ecssim.Call, i, n int, res deployer.Result, end time.Time) outcome {
	tb.Helper()
	cluster := fmt.Sprintf("c%d", i)
	o := outcome{status: res.Status, reason: res.Reason, calls: map[string]int{}, watchCalls: map[string]int{}}
	var updates []time.Time
	mine := callFilter(cluster, fmt.Sprintf("web%d", i), n == 1)
	for _, c := range calls {
		if !mine(c) {
			continue
		}
		o.calls[c.Op]++
		if c.Op == "UpdateService" && c.ErrCode == "" {
			updates = append(updates, c.At)
		}
	}
	if len(updates) == 0 {
		tb.Fatalf("service %s: no UpdateService call; status %s: %s", cluster, res.Status, res.Reason)
	}
	watchEnd := end
	if len(updates) > 1 {
		watchEnd = updates[1]
	}
	o.watch = watchEnd.Sub(updates[0])
	for _, c := range calls {
		if mine(c) && c.At.After(updates[0]) && c.At.Before(watchEnd) {
			o.watchCalls[c.Op]++
		}
	}
	if len(updates) > 1 {
		if first, ok := firstFailure(sim, cluster, res.DeploymentID); ok {
			o.detect = updates[1].Sub(first)
		}
	}
	if res.Status == deployer.StatusSucceeded {
		if done, ok := completedAt(sim, cluster, res.DeploymentID); ok {
			o.green = end.Sub(done)
		}
	}
	return o
}

// callFilter selects the calls of one service: by the request's cluster,
// or for task-definition calls by family. With a single service every
// call is its own (including CloudWatch Logs).
func callFilter(cluster, family string, only bool) func(ecssim.Call) bool {
	return func(c ecssim.Call) bool {
		if only {
			return true
		}
		var in struct {
			Cluster        string `json:"cluster"`
			Family         string `json:"family"`
			TaskDefinition string `json:"taskDefinition"`
			LogGroupName   string `json:"logGroupName"`
		}
		if err := json.Unmarshal(c.Input, &in); err != nil {
			return false
		}
		switch {
		case in.Cluster != "":
			return in.Cluster == cluster
		case in.Family != "":
			return in.Family == family
		case in.TaskDefinition != "":
			return strings.Contains(in.TaskDefinition, family+":") || strings.HasSuffix(in.TaskDefinition, "/"+family)
		case in.LogGroupName != "":
			return in.LogGroupName == "/ecs/"+family
		}
		return false
	}
}

// firstFailure is when the first task our deployment started that stopped
// on its own became visible as stopping (stoppingAt).
func firstFailure(sim *ecssim.Sim, cluster, depID string) (time.Time, bool) {
	var first time.Time
	for _, t := range sim.Tasks(cluster) {
		if aws.ToString(t.StartedBy) != depID || t.StoppingAt == nil {
			continue
		}
		if t.StopCode != types.TaskStopCodeEssentialContainerExited && t.StopCode != types.TaskStopCodeTaskFailedToStart &&
			!strings.Contains(aws.ToString(t.StoppedReason), "health check") {
			continue
		}
		if first.IsZero() || t.StoppingAt.Before(first) {
			first = *t.StoppingAt
		}
	}
	return first, !first.IsZero()
}

// completedAt is when the simulator marked our deployment COMPLETED (the
// service event it writes at that moment).
func completedAt(sim *ecssim.Sim, cluster, depID string) (time.Time, bool) {
	want := "(deployment " + depID + ") deployment completed"
	for _, ev := range sim.Events(cluster, "web") {
		if strings.Contains(aws.ToString(ev.Message), want) && ev.CreatedAt != nil {
			return *ev.CreatedAt, true
		}
	}
	return time.Time{}, false
}

// repeat runs f reps times in parallel (each with its own simulator) and
// collects the outcomes.
func repeat[T any](reps int, f func(rep int) []T) []T {
	var mu sync.Mutex
	var all []T
	var wg sync.WaitGroup
	for i := range reps {
		wg.Go(func() {
			o := f(i)
			mu.Lock()
			all = append(all, o...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all
}

// jittered returns base plus a uniformly random extra in [0, spread), so
// that the moment a task fails or the rollout completes falls at a random
// phase of the poll cycle, as it does in real life.
func jittered(rng *rand.Rand, base, spread time.Duration) time.Duration {
	if spread <= 0 {
		return base
	}
	return base + time.Duration(rng.Int64N(int64(spread)))
}

// stats summarises durations.
type stats struct{ median, max, mean time.Duration }

func durStats(ds []time.Duration) stats {
	if len(ds) == 0 {
		return stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stats{median: m, max: s[len(s)-1], mean: sum / time.Duration(len(s))}
}

func secs(d time.Duration) float64 { return d.Seconds() }

// opsText renders per-operation counts averaged over n deployments.
func opsText(all []outcome, pick func(outcome) map[string]int) string {
	sum := map[string]int{}
	for _, o := range all {
		for op, c := range pick(o) {
			sum[op] += c
		}
	}
	ops := make([]string, 0, len(sum))
	for op := range sum {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	parts := make([]string, 0, len(ops))
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%s %.1f", op, float64(sum[op])/float64(len(all))))
	}
	return strings.Join(parts, ", ")
}

// meanOf averages f over the outcomes.
func meanOf(all []outcome, f func(outcome) float64) float64 {
	if len(all) == 0 {
		return 0
	}
	s := 0.0
	for _, o := range all {
		s += f(o)
	}
	return s / float64(len(all))
}

// table is a Markdown table printed after a benchmark family.
type table struct {
	title  string
	header []string
	rows   [][]string
	mu     sync.Mutex
}

func (t *table) add(row ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rows = append(t.rows, row)
}

func (t *table) print(w io.Writer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(w, "\n### %s\n\n| %s |\n|%s\n", t.title, strings.Join(t.header, " | "), strings.Repeat("---|", len(t.header)))
	for _, r := range t.rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
	fmt.Fprintln(w)
}

func requireStatus(tb testing.TB, all []outcome, want deployer.Status) {
	tb.Helper()
	for _, o := range all {
		if o.status != want {
			tb.Fatalf("deployment status: got %q, want %q; reason: %s", o.status, want, o.reason)
		}
	}
}

func f2(v float64) string { return fmt.Sprintf("%.2f", v) }
