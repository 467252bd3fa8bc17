package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// Comparing polling strategies live would take minutes per strategy and
// an exported hook into the watcher. Instead BenchmarkPollingStrategies
// records what DescribeServices would show about our deployment, every
// few milliseconds, while the simulator runs realistic one-minute
// rollouts 20× faster, then replays each strategy's poll schedule over
// the recordings (scaled back to real time) with the watcher's verdict
// rules: failedTasks ≥ 1 fails; a running count that dropped (or running
// + pending that dropped) lists and describes stopped tasks; COMPLETED
// succeeds after one ListTasks. The constant-interval rows can be checked
// against BenchmarkDetection and BenchmarkTimeToGreen, which measure the
// real deployer.

// replayScale is how much faster than real time rollouts are recorded.
const replayScale = 20

// snapshot is our deployment as one DescribeServices shows it.
type snapshot struct {
	at                        time.Duration // since our UpdateService, real-time scale
	running, pending, failed  int32
	completed                 bool
	desired                   int32
	rolloutFailed, notPrimary bool
}

// recording is one rollout's snapshots and its key moments (real-time
// scale; negative when they did not happen).
type recording struct {
	snaps     []snapshot
	failure   time.Duration // first failed task visible (stoppingAt)
	completed time.Duration // deployment COMPLETED
}

func (rc recording) at(t time.Duration, stretch float64) snapshot {
	i, _ := slices.BinarySearchFunc(rc.snaps, t, func(s snapshot, t time.Duration) int {
		return cmpDur(time.Duration(float64(s.at)*stretch), t)
	})
	// i is the first snapshot at or after t; use the last one not after t.
	if i < len(rc.snaps) && time.Duration(float64(rc.snaps[i].at)*stretch) == t {
		return rc.snaps[i]
	}
	return rc.snaps[max(i-1, 0)]
}

func cmpDur(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// record runs one rollout of r (durations given at real-time scale) on a
// fresh simulator, replayScale× faster, sampling our deployment until it
// completes or length (real-time scale) has passed.
func record(tb testing.TB, r rollout, length time.Duration) recording {
	tb.Helper()
	fast := r
	t := r.timings
	for _, d := range []*ecssim.Duration{&t.Provisioning, &t.Pending, &t.HealthCheck, &t.Stopping, &t.RetryBackoff} {
		*d /= replayScale
	}
	fast.timings = t
	fast.after = r.after / replayScale
	e := newEnv(tb, fast.scenario())
	ctx := context.Background()
	td, err := e.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web0"), NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(r.image), Essential: aws.Bool(true),
			HealthCheck: &types.HealthCheck{Command: []string{"CMD-SHELL", "true"}}}},
	})
	if err != nil {
		tb.Fatalf("register: %v", err)
	}
	start := time.Now()
	out, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c0"), Service: aws.String("web"),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, ForceNewDeployment: true,
		DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(r.maxPct), MinimumHealthyPercent: aws.Int32(100)}})
	if err != nil {
		tb.Fatalf("update: %v", err)
	}
	var id string
	for _, d := range out.Service.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			id = aws.ToString(d.Id)
		}
	}
	real := func(d time.Duration) time.Duration { return d * replayScale }
	var rc recording
	for {
		at := real(time.Since(start))
		svc, _ := e.srv.Sim.Service("c0", "web")
		s := snapshot{at: at, notPrimary: true}
		for _, d := range svc.Deployments {
			if aws.ToString(d.Id) == id {
				s = snapshot{at: at, running: d.RunningCount, pending: d.PendingCount, failed: d.FailedTasks, desired: d.DesiredCount,
					completed: d.RolloutState == types.DeploymentRolloutStateCompleted, rolloutFailed: d.RolloutState == types.DeploymentRolloutStateFailed,
					notPrimary: aws.ToString(d.Status) != "PRIMARY"}
			}
		}
		rc.snaps = append(rc.snaps, s)
		if s.completed || at > length {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	rc.failure, rc.completed = -1, -1
	if f, ok := firstFailure(e.srv.Sim, "c0", id); ok {
		rc.failure = real(f.Sub(start))
	}
	if c, ok := completedAt(e.srv.Sim, "c0", id); ok {
		rc.completed = real(c.Sub(start))
	}
	return rc
}

// strategy decides the wait before the next poll from what the polls saw.
type strategy struct {
	name      string
	skipFirst bool // no poll right after UpdateService: the first is one interval later
	next      func(cur, prev snapshot, polls int) time.Duration
}

func constant(d time.Duration) strategy {
	return strategy{name: "constant " + d.String(), next: func(snapshot, snapshot, int) time.Duration { return d }}
}

// fastOnChange polls every fast after a poll whose counts differ from the
// previous one, and every slow while nothing changes.
func fastOnChange(fast, slow time.Duration) strategy {
	return strategy{name: fmt.Sprintf("adaptive: %s after a change, else %s", fast, slow), next: func(cur, prev snapshot, polls int) time.Duration {
		if polls == 1 || cur.running != prev.running || cur.pending != prev.pending || cur.failed != prev.failed {
			return fast
		}
		return slow
	}}
}

// fastWhilePending polls every fast while tasks of ours are starting
// (when start failures happen) and every slow otherwise.
func fastWhilePending(fast, slow time.Duration) strategy {
	return strategy{name: fmt.Sprintf("adaptive: %s while tasks are pending, else %s", fast, slow), next: func(cur, _ snapshot, _ int) time.Duration {
		if cur.pending > 0 {
			return fast
		}
		return slow
	}}
}

// replayResult is one replay of one strategy over one recording.
type replayResult struct {
	verdict string        // "failed", "succeeded" or "none" (no verdict in the recording)
	latency time.Duration // detection latency or time-to-green overhead
	calls   int
	watch   time.Duration
}

// replay runs a strategy's poll schedule (with the watcher's ±10% jitter)
// over a recording stretched by stretch.
func replay(rc recording, st strategy, rng *rand.Rand, stretch float64) replayResult {
	end := time.Duration(float64(rc.snaps[len(rc.snaps)-1].at) * stretch)
	if rc.snaps[len(rc.snaps)-1].completed {
		end += time.Minute // COMPLETED stays COMPLETED
	}
	fail := time.Duration(float64(rc.failure) * stretch)
	done := time.Duration(float64(rc.completed) * stretch)
	jit := func(d time.Duration) time.Duration { return time.Duration(float64(d) * (0.9 + 0.2*rng.Float64())) }
	var t time.Duration
	polls, calls := 0, 0
	var prev snapshot
	if st.skipFirst {
		t = jit(st.next(snapshot{}, snapshot{}, 0))
	}
	for t <= end {
		s := rc.at(t, stretch)
		polls++
		calls++ // DescribeServices
		if s.failed >= 1 || s.rolloutFailed {
			return replayResult{verdict: "failed", latency: t - fail, calls: calls, watch: t}
		}
		signal := polls > 1 && (s.running < prev.running || s.running+s.pending < prev.running+prev.pending)
		if signal || s.completed {
			calls++ // ListTasks
			if rc.failure >= 0 && fail <= t {
				calls++ // DescribeTasks
				return replayResult{verdict: "failed", latency: t - fail, calls: calls, watch: t}
			}
			if s.completed {
				return replayResult{verdict: "succeeded", latency: t - done, calls: calls, watch: t}
			}
		}
		w := st.next(s, prev, polls)
		prev = s
		t += jit(w)
	}
	return replayResult{verdict: "none", calls: calls, watch: end}
}

// BenchmarkPollingStrategies compares constant poll intervals with two
// adaptive schemes on recorded realistic rollouts (see the comment at the
// top of this file).
func BenchmarkPollingStrategies(b *testing.B) {
	p := profileOf(b)
	recs := 16
	replays := 50
	if p.short {
		recs, replays = 2, 5
	}
	// Realistic one-minute Fargate rollouts: 6 tasks, 3 at a time, 5 s to
	// provision, 15-25 s to pull and start, 10 s of health checks, 3 s
	// (healthy, crash) or 30 s (crash-after: load balancer deregistration
	// delay) to stop old tasks.
	base := func(rng *rand.Rand, image string) rollout {
		return rollout{image: image, tasks: 6, maxPct: 150, timings: ecssim.Timings{
			Provisioning: ecssim.Duration(5 * time.Second),
			Pending:      ecssim.Duration(jittered(rng, 15*time.Second, 10*time.Second)),
			HealthCheck:  ecssim.Duration(10 * time.Second),
			Stopping:     ecssim.Duration(3 * time.Second),
			RetryBackoff: ecssim.Duration(10 * time.Second),
		}}
	}
	kinds := []struct {
		name   string
		make   func(rng *rand.Rand) rollout
		length time.Duration
	}{
		{"healthy", func(rng *rand.Rand) rollout { return base(rng, "repo/app:2") }, 3 * time.Minute},
		{"crash", func(rng *rand.Rand) rollout { return base(rng, "repo/app:crash") }, 90 * time.Second},
		{"crash-after", func(rng *rand.Rand) rollout {
			r := base(rng, "repo/app:crash-after")
			r.timings.Stopping = ecssim.Duration(30 * time.Second)
			r.after = jittered(rng, 10*time.Second, 20*time.Second)
			return r
		}, 2 * time.Minute},
	}
	recordings := map[string][]recording{}
	b.Run("record", func(b *testing.B) {
		for range b.N {
			for _, k := range kinds {
				var got []recording
				outs := make([]recording, recs)
				repeatFn(recs, func(i int) { outs[i] = record(b, k.make(newRNG(i)), k.length) })
				got = append(got, outs...)
				recordings[k.name] = got
			}
		}
	})
	strategies := []strategy{
		constant(time.Second), constant(2 * time.Second), constant(3 * time.Second), constant(4 * time.Second),
		constant(5 * time.Second), constant(6 * time.Second), constant(8 * time.Second),
		{name: "constant 5s, first poll one interval after the update", skipFirst: true, next: constant(5 * time.Second).next},
		fastOnChange(2*time.Second, 6*time.Second),
		fastOnChange(time.Second, 8*time.Second),
		fastWhilePending(2500*time.Millisecond, 7*time.Second),
		fastWhilePending(4*time.Second, 6*time.Second),
	}
	tbl := &table{title: fmt.Sprintf("Polling strategies replayed over recorded one-minute rollouts (%d recordings × %d replays each)", recs, replays),
		header: []string{"strategy", "crash: detection median / max s", "crash-after: detection median / max s", "healthy: time-to-green median / max s", "healthy: calls/s while watching", "no verdict"}}
	for _, st := range strategies {
		rng := rand.New(rand.NewPCG(7, 7))
		res := map[string][]replayResult{}
		for _, k := range kinds {
			for _, rc := range recordings[k.name] {
				for range replays {
					res[k.name] = append(res[k.name], replay(rc, st, rng, 0.85+0.3*rng.Float64()))
				}
			}
		}
		lat := func(kind, verdict string) (stats, int) {
			var ds []time.Duration
			miss := 0
			for _, r := range res[kind] {
				if r.verdict == verdict {
					ds = append(ds, r.latency)
				} else {
					miss++
				}
			}
			return durStats(ds), miss
		}
		crash, m1 := lat("crash", "failed")
		after, m2 := lat("crash-after", "failed")
		green, m3 := lat("healthy", "succeeded")
		var calls, secs float64
		for _, r := range res["healthy"] {
			calls += float64(r.calls)
			secs += r.watch.Seconds()
		}
		rate := calls / secs
		tbl.add(st.name, fmt.Sprintf("%.2f / %.2f", crash.median.Seconds(), crash.max.Seconds()),
			fmt.Sprintf("%.2f / %.2f", after.median.Seconds(), after.max.Seconds()),
			fmt.Sprintf("%.2f / %.2f", green.median.Seconds(), green.max.Seconds()), f2(rate), fmt.Sprint(m1+m2+m3))
		b.Run(st.name, func(b *testing.B) {
			b.ReportMetric(crash.median.Seconds(), "crash-detect-median-s")
			b.ReportMetric(after.median.Seconds(), "crash-after-detect-median-s")
			b.ReportMetric(green.median.Seconds(), "green-median-s")
			b.ReportMetric(rate, "watch-calls/s")
		})
	}
	tbl.print(os.Stdout)
}

// repeatFn runs f(0..n-1) in parallel and waits.
func repeatFn(n int, f func(i int)) {
	repeat(n, func(i int) []outcome { f(i); return nil })
}
