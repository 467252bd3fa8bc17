package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// The bake and alarm measurements run on the fake clock of a
// testing/synctest bubble, with the simulator served in memory: the
// default 5 s poll interval and bakes of minutes cost no real time, and
// every time measured is exact (the simulator's and the deployer's clocks
// are the bubble's). Being exact and cheap, they are tests: they hold
// bounds that depend on the poll schedule, not on the machine, and print
// their tables with -v. BENCHMARKS.md's numbers come from
//
//	ECS_ROLLOUT_BENCH_REPS=400 go test -v -run 'TestAlarmDetection|TestBakeCallRate' ./bench/
//
// (10 repetitions otherwise).
func benchReps() int {
	if n, err := strconv.Atoi(os.Getenv("ECS_ROLLOUT_BENCH_REPS")); err == nil && n > 0 {
		return n
	}
	return 10
}

// bakeRun is one deployment with a bake, on the fake clock.
type bakeRun struct {
	res       deployer.Result
	calls     []ecssim.Call
	alarmAt   time.Time // when the alarm went into ALARM (zero: it did not)
	bakeStart time.Time
	end       time.Time
}

// runBake deploys repo/app:2 to a one-service world with the given
// alarms (the first one goes into ALARM alarmAfter the deployment
// completes, when alarmAfter > 0) and bake time, at the default poll
// interval.
func runBake(t *testing.T, alarms int, bake, alarmAfter time.Duration) bakeRun {
	var out bakeRun
	synctest.Test(t, func(t *testing.T) {
		r := rollout{image: "repo/app:2", tasks: 2, maxPct: 200, interval: deployer.DefaultPollInterval, timeout: 10 * time.Minute,
			timings: ecssim.Timings{Provisioning: ecssim.Duration(5 * time.Second), Pending: ecssim.Duration(20 * time.Second), HealthCheck: ecssim.Duration(30 * time.Second), Stopping: ecssim.Duration(30 * time.Second)}}
		sc := r.scenario()
		var names []string
		for i := range alarms {
			a := ecssim.ScenarioAlarm{Name: fmt.Sprintf("web-alarm-%03d", i)}
			if i == 0 && alarmAfter > 0 {
				a.Changes = []ecssim.AlarmChange{{State: ecssim.AlarmAlarm, From: ecssim.AnchorCompleted, After: ecssim.Duration(alarmAfter)}}
			}
			sc.Alarms = append(sc.Alarms, a)
			names = append(names, a.Name)
		}
		sim, err := ecssim.New(sc)
		if err != nil {
			t.Fatal(err)
		}
		defer sim.Close()
		e, cw := ecssimtest.InMemoryClients(sim)
		cfg := r.config(0)
		cfg.BakeTime = bake
		cfg.Alarms = names
		out.res, _ = deployer.New(e, nil, deployer.WithCloudWatch(cw)).Deploy(context.Background(), cfg)
		out.end = time.Now()
		out.calls = sim.Calls()
		if alarms > 0 {
			if h := sim.AlarmHistory(names[0]); len(h) > 1 {
				out.alarmAt = h[1].At
			}
		}
		for _, m := range out.res.Timeline {
			if m.Name == "bake started" {
				out.bakeStart = m.At
			}
		}
	})
	return out
}

// TestAlarmDetection measures how long an alarm going into ALARM
// during the bake takes to be acted on: from the alarm's state change
// (CloudWatch's StateUpdatedTimestamp) to our rollback UpdateService, at
// the default 5 s poll interval, with the alarm's change at a random
// phase of the poll cycle.
func TestAlarmDetection(t *testing.T) {
	t.Parallel()
	tbl := &table{title: "Alarm detection latency (alarm → ALARM during the bake → rollback UpdateService), default poll interval 5 s",
		header: []string{"alarms watched", "runs", "median s", "p90 s", "max s"}}
	for _, n := range []int{1, 10} {
		t.Run(fmt.Sprintf("alarms=%d", n), func(t *testing.T) {
			var ds []time.Duration
			{
				for rep := range benchReps() {
					rng := rand.New(rand.NewPCG(uint64(rep), 0xa1a))
					after := time.Minute + time.Duration(rng.Int64N(int64(10*time.Second)))
					r := runBake(t, n, 10*time.Minute, after)
					if r.res.Status != deployer.StatusRolledBack || r.alarmAt.IsZero() {
						t.Fatalf("status %s (%s); want rolled-back on the alarm", r.res.Status, r.res.Reason)
					}
					var rollback time.Time
					for _, c := range r.calls {
						if c.Op == "UpdateService" {
							rollback = c.At // the last one is the rollback
						}
					}
					d := rollback.Sub(r.alarmAt)
					// One poll interval (with its 10% jitter) at most, and
					// no time lost between the check and the rollback.
					if bound := deployer.DefaultPollInterval*11/10 + time.Second; d < 0 || d > bound {
						t.Errorf("rollback %s after the alarm; want within %s", d, bound)
					}
					ds = append(ds, d)
				}
			}
			slices.Sort(ds)
			med, p90, mx := ds[len(ds)/2], ds[len(ds)*9/10], ds[len(ds)-1]
			tbl.add(fmt.Sprint(n), fmt.Sprint(len(ds)), fmt.Sprintf("%.2f", med.Seconds()), fmt.Sprintf("%.2f", p90.Seconds()), fmt.Sprintf("%.2f", mx.Seconds()))
		})
	}
	printTable(t, tbl)
}

// TestBakeCallRate measures the calls made while baking (from the
// bake's start to its end, ten minutes at the default 5 s poll
// interval): ECS calls per second for the one service and DescribeAlarms
// calls per second for the step, with 0, 1 and 100 alarms watched.
func TestBakeCallRate(t *testing.T) {
	t.Parallel()
	tbl := &table{title: "Calls while baking (10-minute bake, default poll interval 5 s, one service)",
		header: []string{"alarms watched", "bake s", "ECS calls/s", "DescribeAlarms calls/s", "calls by operation"}}
	for _, n := range []int{0, 1, 100} {
		t.Run(fmt.Sprintf("alarms=%d", n), func(t *testing.T) {
			{
				r := runBake(t, n, 10*time.Minute, 0)
				if r.res.Status != deployer.StatusSucceeded {
					t.Fatalf("status %s (%s)", r.res.Status, r.res.Reason)
				}
				ops := map[string]int{}
				ecsCalls, cwCalls := 0, 0
				for _, c := range r.calls {
					if c.At.Before(r.bakeStart) {
						continue
					}
					ops[c.Op]++
					if c.Op == "DescribeAlarms" {
						cwCalls++
					} else {
						ecsCalls++
					}
				}
				secs := r.end.Sub(r.bakeStart).Seconds()
				var byOp []string
				for op, k := range ops {
					byOp = append(byOp, fmt.Sprintf("%s %d", op, k))
				}
				slices.Sort(byOp)
				if float64(ecsCalls)/secs > 0.25 || float64(cwCalls)/secs > 0.25 {
					t.Errorf("%d ECS and %d DescribeAlarms calls in %.0fs: over the 0.25 calls/s budget", ecsCalls, cwCalls, secs)
				}
				tbl.add(fmt.Sprint(n), fmt.Sprintf("%.0f", secs), fmt.Sprintf("%.3f", float64(ecsCalls)/secs), fmt.Sprintf("%.3f", float64(cwCalls)/secs), strings.Join(byOp, ", "))
			}
		})
	}
	printTable(t, tbl)
}

// printTable prints a measurement's table with -v (for BENCHMARKS.md).
func printTable(t *testing.T, tbl *table) {
	if testing.Verbose() {
		tbl.print(os.Stdout)
	}
}
