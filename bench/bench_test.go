package bench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// timings are the simulated durations of a task's life in the detection
// and time-to-green benchmarks: a rollout of a few seconds. The image
// pull and start time is drawn per repetition from [1 s, 1 s + spread) so
// that failures and completions land at a random phase of the poll cycle.
func (p profile) timings(rng *rand.Rand, spread time.Duration) ecssim.Timings {
	return ecssim.Timings{
		Provisioning: ecssim.Duration(p.d(500 * time.Millisecond)),
		Pending:      ecssim.Duration(jittered(rng, p.d(time.Second), spread)),
		HealthCheck:  ecssim.Duration(p.d(time.Second)),
		Stopping:     ecssim.Duration(p.d(500 * time.Millisecond)),
		RetryBackoff: ecssim.Duration(p.d(time.Second)),
	}
}

func newRNG(rep int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(rep)))
}

// BenchmarkDetection measures how long a failing deployment takes to be
// rolled back: from the first failed task of our deployment visible in
// the ECS API (its stoppingAt) to our rollback UpdateService, for a task
// that crashes while starting (failedTasks rises) and one that crashes
// after running (failedTasks stays 0; the running count drops and the
// watcher lists the stopped tasks), and a crash loop whose tasks run for
// a fraction of a second, which the counts alone can miss (the watcher
// also counts the tasks ECS's events say it started).
func BenchmarkDetection(b *testing.B) {
	p := profileOf(b)
	tbl := &table{title: "Detection latency (first failed task visible → rollback UpdateService)",
		header: []string{"failure", "poll interval", "runs", "median s", "max s", "watch calls/s", "calls per deployment (mean, by operation)"}}
	for _, kind := range []string{"crash", "crash-after", "crash-loop"} {
		image := "repo/app:" + kind
		if kind == "crash-loop" {
			image = "repo/app:crash-after"
		}
		for _, ps := range p.pollSettings() {
			b.Run(fmt.Sprintf("%s/interval=%s", kind, ps.name), func(b *testing.B) {
				var all []outcome
				for range b.N {
					all = append(all, repeat(p.reps, func(rep int) []outcome {
						rng := newRNG(rep)
						r := p.twoTasks(image, ps, rng)
						switch kind {
						case "crash-loop":
							// Tasks run for a fraction of a second and
							// crash, and are replaced at once: between two
							// polls the counts can look unchanged.
							r.timings.HealthCheck = ecssim.Duration(p.d(200 * time.Millisecond))
							r.timings.RetryBackoff = ecssim.Duration(p.d(100 * time.Millisecond))
							r.timings.Stopping = ecssim.Duration(p.d(100 * time.Millisecond))
							r.after = time.Duration(r.timings.HealthCheck)
						case "crash-after":
							// The task turns healthy after HealthCheck, then
							// crashes within one poll interval, while the old
							// tasks are still draining (so before our
							// deployment can complete).
							r.after = jittered(rng, time.Duration(r.timings.HealthCheck), ps.effective)
							r.timings.Stopping = ecssim.Duration(p.d(time.Second) + ps.effective)
						}
						return deployAll(b, r)
					})...)
				}
				requireStatus(b, all, deployer.StatusRolledBack)
				var ds []time.Duration
				for _, o := range all {
					ds = append(ds, o.detect)
				}
				st := durStats(ds)
				rate := meanOf(all, func(o outcome) float64 { return float64(o.total(o.watchCalls)) / o.watch.Seconds() })
				b.ReportMetric(secs(st.median), "detect-median-s")
				b.ReportMetric(secs(st.max), "detect-max-s")
				b.ReportMetric(rate, "watch-calls/s")
				b.ReportMetric(meanOf(all, func(o outcome) float64 { return float64(o.total(o.calls)) }), "calls/deploy")
				tbl.add(kind, ps.name+" ("+ps.effective.String()+")", fmt.Sprint(len(all)), f2(secs(st.median)), f2(secs(st.max)), f2(rate),
					opsText(all, func(o outcome) map[string]int { return o.calls }))
			})
		}
	}
	tbl.print(os.Stdout)
}

// BenchmarkTimeToGreen measures a healthy rollout: from our deployment
// turning COMPLETED in the API to Deploy returning, and the calls made.
func BenchmarkTimeToGreen(b *testing.B) {
	p := profileOf(b)
	tbl := &table{title: "Time-to-green overhead (deployment COMPLETED in the API → Deploy returns)",
		header: []string{"poll interval", "runs", "median s", "max s", "watch s (mean)", "calls per deployment (mean, by operation)"}}
	for _, ps := range p.pollSettings() {
		b.Run("interval="+ps.name, func(b *testing.B) {
			var all []outcome
			for range b.N {
				all = append(all, repeat(p.reps, func(rep int) []outcome {
					return deployAll(b, p.twoTasks("repo/app:2", ps, newRNG(rep)))
				})...)
			}
			requireStatus(b, all, deployer.StatusSucceeded)
			var ds []time.Duration
			for _, o := range all {
				ds = append(ds, o.green)
			}
			st := durStats(ds)
			b.ReportMetric(secs(st.median), "green-median-s")
			b.ReportMetric(secs(st.max), "green-max-s")
			b.ReportMetric(meanOf(all, func(o outcome) float64 { return float64(o.total(o.calls)) }), "calls/deploy")
			tbl.add(ps.name+" ("+ps.effective.String()+")", fmt.Sprint(len(all)), f2(secs(st.median)), f2(secs(st.max)),
				f2(meanOf(all, func(o outcome) float64 { return o.watch.Seconds() })),
				opsText(all, func(o outcome) map[string]int { return o.calls }))
		})
	}
	tbl.print(os.Stdout)
}

// BenchmarkWatchRate measures the ECS call rate while watching a rollout
// that progresses normally and lasts about a minute, as real Fargate
// rollouts do: 6 tasks replaced 3 at a time (maximumPercent 150), each
// batch taking 5 s to provision, 15 s to pull and start and 10 s to pass
// its health check. Every poll setting runs at the same time on its own
// simulator.
func BenchmarkWatchRate(b *testing.B) {
	p := profileOf(b)
	tbl := &table{title: "ECS calls while watching a normal ~1 minute rollout (6 tasks, 3 at a time)",
		header: []string{"poll interval", "runs", "watch s (mean)", "calls/s (mean)", "calls/min", "watch calls (mean, by operation)"}}
	settings := p.pollSettings()
	results := make([][]outcome, len(settings))
	b.Run("all-intervals", func(b *testing.B) {
		for range b.N {
			outs := repeat(len(settings)*p.reps, func(k int) []outcome {
				ps := settings[k%len(settings)]
				rng := newRNG(k)
				r := rollout{image: "repo/app:2", tasks: 6, maxPct: 150, interval: ps.interval, timeout: 5 * time.Minute,
					timings: ecssim.Timings{
						Provisioning: ecssim.Duration(p.d(5 * time.Second)),
						Pending:      ecssim.Duration(jittered(rng, p.d(15*time.Second), p.d(2*time.Second))),
						HealthCheck:  ecssim.Duration(p.d(10 * time.Second)),
						Stopping:     ecssim.Duration(p.d(time.Second)),
						RetryBackoff: ecssim.Duration(p.d(time.Second)),
					}}
				out := deployAll(b, r)
				for i := range out {
					out[i].reason = ps.name // remember the setting
				}
				return out
			})
			for i := range results {
				results[i] = nil
			}
			for _, o := range outs {
				for i, ps := range settings {
					if o.reason == ps.name {
						results[i] = append(results[i], o)
					}
				}
			}
		}
	})
	for i, ps := range settings {
		all := results[i]
		if len(all) == 0 {
			continue
		}
		rate := meanOf(all, func(o outcome) float64 { return float64(o.total(o.watchCalls)) / o.watch.Seconds() })
		tbl.add(ps.name+" ("+ps.effective.String()+")", fmt.Sprint(len(all)),
			f2(meanOf(all, func(o outcome) float64 { return o.watch.Seconds() })), f2(rate), f2(rate*60),
			opsText(all, func(o outcome) map[string]int { return o.watchCalls }))
		b.Run("interval="+ps.name, func(b *testing.B) {
			b.ReportMetric(rate, "watch-calls/s")
			b.ReportMetric(meanOf(all, func(o outcome) float64 { return o.watch.Seconds() }), "watch-s")
		})
	}
	tbl.print(os.Stdout)
}

// BenchmarkScale shows that the calls per poll do not grow with the
// service: a 10-task and a 1,000-task service, healthy and failing, and
// 10 services deployed in parallel against one simulator, at the default
// poll interval.
func BenchmarkScale(b *testing.B) {
	p := profileOf(b)
	interval := time.Duration(0)
	effective := deployer.DefaultPollInterval
	if p.short {
		interval = p.d(deployer.DefaultPollInterval)
		effective = interval
	}
	tbl := &table{title: fmt.Sprintf("Scale at the default poll interval (%s): calls per service", effective),
		header: []string{"case", "services × tasks", "status", "detection s (first failure → rollback)", "polls while watching (per service)", "other calls while watching (per service, by operation)", "calls per deployment (mean per service, by operation)"}}
	cases := []struct {
		name     string
		services int
		tasks    int32
		image    string
		want     deployer.Status
	}{
		{"healthy-10-tasks", 1, 10, "repo/app:2", deployer.StatusSucceeded},
		{"healthy-1000-tasks", 1, 1000, "repo/app:2", deployer.StatusSucceeded},
		{"crash-after-1000-tasks", 1, 1000, "repo/app:crash-after", deployer.StatusRolledBack},
		{"10-services-parallel", 10, 10, "repo/app:2", deployer.StatusSucceeded},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var all []outcome
			for range b.N {
				rng := newRNG(0)
				all = append(all, deployAll(b, rollout{image: c.image, tasks: c.tasks, maxPct: 200, services: c.services,
					interval: interval, timeout: 3 * time.Minute, timings: p.timings(rng, effective),
					after: p.d(time.Second)})...)
			}
			requireStatus(b, all, c.want)
			polls := meanOf(all, func(o outcome) float64 { return float64(o.watchCalls["DescribeServices"]) })
			other := meanOf(all, func(o outcome) float64 {
				return float64(o.total(o.watchCalls)-o.watchCalls["DescribeServices"]) / float64(max(o.watchCalls["DescribeServices"], 1))
			})
			b.ReportMetric(polls, "polls/service")
			b.ReportMetric(other, "extra-calls/poll")
			b.ReportMetric(meanOf(all, func(o outcome) float64 { return float64(o.calls["DescribeTasks"]) }), "DescribeTasks/service")
			detect := "-"
			if c.want == deployer.StatusRolledBack {
				var ds []time.Duration
				for _, o := range all {
					ds = append(ds, o.detect)
				}
				detect = f2(secs(durStats(ds).median))
			}
			tbl.add(c.name, fmt.Sprintf("%d × %d", c.services, c.tasks), string(c.want), detect, f2(polls),
				opsText(all, func(o outcome) map[string]int {
					m := map[string]int{}
					for op, n := range o.watchCalls {
						if op != "DescribeServices" {
							m[op] = n
						}
					}
					return m
				}),
				opsText(all, func(o outcome) map[string]int { return o.calls }))
		})
	}
	tbl.print(os.Stdout)
}
