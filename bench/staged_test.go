package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// Issue 11's two numbers for BLUE_GREEN services, at the default poll
// interval: the time from the first failure visible in the API to
// production traffic back on the previous revision, and the ECS calls
// per second while watching a one-minute blue/green deployment.

// blueGreenWorld is service "web" (3 tasks) in cluster "prod" on
// BLUE_GREEN with a blue/green load balancer, a bake of bakeMinutes, and
// realistic task timings (scaled by the profile): 5 s provisioning, 15 s
// (+ up to 2 s) image pull and start, 10 s health checks.
func blueGreenWorld(p profile, rng interface{ Int64N(int64) int64 }, minute time.Duration, bakeMinutes int32, rules []ecssim.ImageRule) ecssim.Scenario {
	td := ecssim.FargateApp("web", "repo/app:1")
	td.ContainerDefinitions[0].HealthCheck = &types.HealthCheck{Command: []string{"CMD-SHELL", "true"}}
	sc := ecssim.OneService("prod", "web", td, 3)
	svc := &sc.Services[0]
	svc.DeploymentConfiguration = ecssim.DeploymentConfiguration{Strategy: "BLUE_GREEN", BakeTimeInMinutes: aws.Int32(bakeMinutes)}
	svc.LoadBalancers = []types.LoadBalancer{ecssim.BlueGreenLoadBalancer()}
	sc.ImageRules = rules
	sc.Timings = ecssim.Timings{
		Provisioning: ecssim.Duration(p.d(5 * time.Second)),
		Pending:      ecssim.Duration(p.d(15*time.Second) + time.Duration(rng.Int64N(int64(p.d(2*time.Second))))),
		HealthCheck:  ecssim.Duration(p.d(10 * time.Second)),
		Stopping:     ecssim.Duration(p.d(time.Second)),
		RetryBackoff: ecssim.Duration(p.d(time.Second)),
		Minute:       ecssim.Duration(minute),
		Stage:        ecssim.Duration(p.d(200 * time.Millisecond)), // ECS's own reaction: a rollback starts this long after it is asked for
	}
	return sc
}

func blueGreenConfig(p profile, image string) deployer.Config {
	interval := deployer.DefaultPollInterval
	if p.short {
		interval = p.d(interval)
	}
	return deployer.Config{Cluster: "prod", Service: "web", Images: []deployer.ContainerImage{{Container: "app", Image: image}},
		Timeout: 10 * time.Minute, RollbackTimeout: 10 * time.Minute, PollInterval: interval, FailedTasksThreshold: 1,
		Rollback: true, Wait: true, RollingDefaults: true}
}

// BenchmarkBlueGreenRollback: the new revision runs through scale-up and
// the traffic shift, then crashes in the bake (after a random 0–10 s, so
// the crash lands at a random phase of the poll cycle). Measured: from
// the first failed task of the new revision visible in the API (its
// stoppingAt) to ECS putting production traffic back on the previous
// revision (the simulator's "rolling back to deployment" event, written
// when it switches the listener back), after our StopServiceDeployment.
func BenchmarkBlueGreenRollback(b *testing.B) {
	p := profileOf(b)
	type run struct {
		latency, detect time.Duration
		status          deployer.Status
		stops           int
	}
	var runs []run
	b.Run("bake-crash", func(b *testing.B) {
		for range b.N {
			runs = append(runs, repeat(p.reps, func(i int) []run {
				rng := newRNG(i)
				// ~40 s from the update to the bake; crash 0–10 s into it.
				after := p.d(45*time.Second) + time.Duration(rng.Int64N(int64(p.d(10*time.Second))))
				sc := blueGreenWorld(p, rng, p.d(30*time.Second), 10, []ecssim.ImageRule{
					{Image: "*:bake-crash", Behavior: ecssim.BehaviorCrashAfter, After: ecssim.Duration(after)},
				})
				e := newEnv(b, sc)
				res, _ := deployer.New(e.ecs, e.logs).Deploy(context.Background(), blueGreenConfig(p, "repo/app:bake-crash"))
				r := run{status: res.Status}
				first := time.Time{}
				for _, t := range e.srv.Sim.Tasks("prod") {
					if strings.HasSuffix(aws.ToString(t.TaskDefinitionArn), "web:2") && t.StopCode == types.TaskStopCodeEssentialContainerExited {
						if at := aws.ToTime(t.StoppingAt); !at.IsZero() && (first.IsZero() || at.Before(first)) {
							first = at
						}
					}
				}
				var back, stop time.Time
				for _, ev := range e.srv.Sim.Events("prod", "web") {
					if strings.Contains(aws.ToString(ev.Message), "rolling back to deployment") {
						back = aws.ToTime(ev.CreatedAt)
					}
				}
				for _, c := range e.srv.Sim.Calls() {
					if c.Op == "StopServiceDeployment" {
						r.stops++
						if stop.IsZero() {
							stop = c.At
						}
					}
				}
				if !first.IsZero() && !back.IsZero() {
					r.latency = back.Sub(first)
				}
				if !first.IsZero() && !stop.IsZero() {
					r.detect = stop.Sub(first)
				}
				return []run{r}
			})...)
		}
	})
	var lat, det []time.Duration
	bad := 0
	for _, r := range runs {
		if r.status != deployer.StatusRolledBack || r.stops != 1 || r.latency <= 0 {
			bad++
			continue
		}
		lat = append(lat, r.latency)
		det = append(det, r.detect)
	}
	if bad > 0 {
		b.Errorf("%d of %d runs did not end rolled back by one StopServiceDeployment with the traffic switched back", bad, len(runs))
	}
	ls, ds := durStats(lat), durStats(det)
	tbl := &table{title: "Blue/green: first failed task in the bake → production traffic back on the previous revision",
		header: []string{"poll interval", "runs", "→ StopServiceDeployment median", "→ traffic back median", "mean", "max"}}
	tbl.add(blueGreenConfig(p, "").PollInterval.String(), fmt.Sprint(len(lat)), fmt.Sprintf("%.2f s", ds.median.Seconds()),
		fmt.Sprintf("%.2f s", ls.median.Seconds()), fmt.Sprintf("%.2f s", ls.mean.Seconds()), fmt.Sprintf("%.2f s", ls.max.Seconds()))
	tbl.print(os.Stdout)
	b.ReportMetric(ls.median.Seconds(), "traffic-back-median-s")
	b.ReportMetric(ds.median.Seconds(), "stop-median-s")
}

// BenchmarkBlueGreenWatchRate: a healthy blue/green deployment of about a
// minute (scale-up ~30 s, test and production shift, a 30 s bake): ECS
// calls per second from our UpdateService to the end of the watch.
func BenchmarkBlueGreenWatchRate(b *testing.B) {
	p := profileOf(b)
	var runs []watchRun
	b.Run("healthy", func(b *testing.B) {
		for range b.N {
			runs = append(runs, repeat(p.reps, func(i int) []watchRun {
				e := newEnv(b, blueGreenWorld(p, newRNG(i), p.d(30*time.Second), 1, nil))
				res, _ := deployer.New(e.ecs, e.logs).Deploy(context.Background(), blueGreenConfig(p, "repo/app:2"))
				end := time.Now()
				return []watchRun{newWatchRun(e.srv.Sim.Calls(), "UpdateService", end, res.Status == deployer.StatusSucceeded)}
			})...)
		}
	})
	sum := summarizeWatch(b, runs, "a healthy blue/green deployment did not succeed")
	if sum.n == 0 {
		return
	}
	rate := sum.rates[0]
	tbl := &table{title: "Blue/green: ECS calls while watching a healthy ~1 minute deployment",
		header: []string{"poll interval", "runs", "watch s (mean)", "calls/s (mean)", "calls (mean, by operation)"}}
	tbl.add(blueGreenConfig(p, "").PollInterval.String(), fmt.Sprint(sum.n), f2(sum.secs), f2(rate), sum.ops)
	tbl.print(os.Stdout)
	b.ReportMetric(rate, "watch-calls/s")
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// BenchmarkBlueGreenDetection (issue 18): how soon a failure of the new
// revision of a BLUE_GREEN service is acted on, with and without ECS's
// deployment circuit breaker, for three failures: a crash while scaling
// up (the essential container exits while the task starts), a crash in
// ECS's bake (the tasks run healthy for 45–55 s, then exit, and so do
// their replacements) and a crash loop faster than the poll (the tasks
// run 2–4 s, exit, and are replaced, again and again). Measured: from the
// first failed task of the new revision visible in the API (its
// stoppingAt) to the first rollback request, ours (StopServiceDeployment)
// or ECS's own (the circuit breaker's: the service deployment's
// ROLLBACK_REQUESTED, read from the simulator's service event).
func BenchmarkBlueGreenDetection(b *testing.B) {
	p := profileOf(b)
	type run struct {
		detect time.Duration
		seen   bool // a failure and a rollback request were both seen
		status deployer.Status
		by     string
	}
	kinds := []struct {
		name  string
		rules func(rng interface{ Int64N(int64) int64 }) []ecssim.ImageRule
	}{
		{"crash while scaling up", func(interface{ Int64N(int64) int64 }) []ecssim.ImageRule {
			return []ecssim.ImageRule{{Image: "*:bad", Behavior: ecssim.BehaviorCrash}}
		}},
		{"crash in ECS's bake", func(rng interface{ Int64N(int64) int64 }) []ecssim.ImageRule {
			after := p.d(45*time.Second) + time.Duration(rng.Int64N(int64(p.d(10*time.Second))))
			return []ecssim.ImageRule{{Image: "*:bad", Behavior: ecssim.BehaviorCrashAfter, After: ecssim.Duration(after)}}
		}},
		{"crash loop faster than the poll", func(rng interface{ Int64N(int64) int64 }) []ecssim.ImageRule {
			after := p.d(2*time.Second) + time.Duration(rng.Int64N(int64(p.d(2*time.Second))))
			return []ecssim.ImageRule{{Image: "*:bad", Behavior: ecssim.BehaviorCrashAfter, After: ecssim.Duration(after)}}
		}},
	}
	tbl := &table{title: "Blue/green: first failed task of the new revision → rollback requested (issue 18)",
		header: []string{"failure", "circuit breaker", "runs", "median s", "max s", "rolled back by", "not rolled back"}}
	for _, k := range kinds {
		for _, breaker := range []bool{false, true} {
			var runs []run
			name := strings.ReplaceAll(k.name, " ", "-") + map[bool]string{true: "/breaker", false: "/no-breaker"}[breaker]
			b.Run(name, func(b *testing.B) {
				for range b.N {
					runs = append(runs, repeat(p.reps, func(i int) []run {
						rng := newRNG(i)
						sc := blueGreenWorld(p, rng, p.d(30*time.Second), 10, k.rules(rng))
						if breaker {
							sc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker = &ecssim.CircuitBreaker{Enable: true, Rollback: true}
						}
						e := newEnv(b, sc)
						res, _ := deployer.New(e.ecs, e.logs).Deploy(context.Background(), blueGreenConfig(p, "repo/app:bad"))
						r := run{status: res.Status}
						var first, stop, ecsRB time.Time
						for _, t := range e.srv.Sim.Tasks("prod") {
							if strings.HasSuffix(aws.ToString(t.TaskDefinitionArn), "web:2") && t.StopCode != "" && t.StopCode != types.TaskStopCodeServiceSchedulerInitiated {
								if at := aws.ToTime(t.StoppingAt); !at.IsZero() && (first.IsZero() || at.Before(first)) {
									first = at
								}
							}
						}
						for _, c := range e.srv.Sim.Calls() {
							if c.Op == "StopServiceDeployment" && stop.IsZero() {
								stop = c.At
							}
						}
						for _, sd := range e.srv.Sim.ServiceDeployments("prod", "web") {
							if rb := sd.Rollback; rb != nil && strings.Contains(aws.ToString(rb.Reason), "circuit breaker") {
								ecsRB = aws.ToTime(rb.StartedAt)
							}
						}
						at := stop
						r.by = "us"
						if at.IsZero() || (!ecsRB.IsZero() && ecsRB.Before(at)) {
							at, r.by = ecsRB, "ECS"
						}
						if !first.IsZero() && !at.IsZero() {
							r.detect, r.seen = max(at.Sub(first), 0), true
						}
						return []run{r}
					})...)
				}
			})
			var det []time.Duration
			by := map[string]int{}
			bad := 0
			for _, r := range runs {
				if r.status != deployer.StatusRolledBack || !r.seen {
					bad++
					continue
				}
				det = append(det, r.detect)
				by[r.by]++
			}
			ds := durStats(det)
			tbl.add(k.name, map[bool]string{true: "on", false: "off"}[breaker], fmt.Sprint(len(runs)),
				fmt.Sprintf("%.2f", ds.median.Seconds()), fmt.Sprintf("%.2f", ds.max.Seconds()),
				fmt.Sprintf("us %d, ECS %d", by["us"], by["ECS"]), fmt.Sprint(bad))
			if bad > 0 {
				b.Errorf("%s: %d of %d runs were not rolled back after a detected failure", name, bad, len(runs))
			}
			if limit := p.d(11 * time.Second); ds.max > limit {
				b.Errorf("%s: a failure took %s to act on, want at most %s", name, ds.max, limit)
			}
		}
	}
	tbl.print(os.Stdout)
}

// BenchmarkBlueGreenFleetRate (issue 18): ECS calls per second, in total,
// while one step watches ten healthy BLUE_GREEN services (one cluster)
// through a deployment of about a minute each: the service reads (ten a
// DescribeServices) and the service-deployment reads (twenty a
// DescribeServiceDeployments) are shared by the ten watches.
func BenchmarkBlueGreenFleetRate(b *testing.B) {
	p := profileOf(b)
	const services = 10
	var runs []watchRun
	b.Run("ten-services", func(b *testing.B) {
		for range b.N {
			runs = append(runs, repeat(max(p.reps/4, 1), func(i int) []watchRun {
				one := blueGreenWorld(p, newRNG(i), p.d(30*time.Second), 1, nil)
				sc := one
				sc.Services, sc.TaskDefinitions = nil, nil
				cfg := blueGreenConfig(p, "repo/app:2")
				cfg.Service = ""
				for k := range services {
					name := fmt.Sprintf("svc%d", k)
					td := ecssim.FargateApp(name, "repo/app:1")
					td.ContainerDefinitions[0].HealthCheck = one.TaskDefinitions[0].TaskDefinition.ContainerDefinitions[0].HealthCheck
					w := ecssim.OneService("prod", name, td, 3)
					w.Services[0].DeploymentConfiguration = one.Services[0].DeploymentConfiguration
					lb := ecssim.BlueGreenLoadBalancer()
					rename := func(s *string) *string { return aws.String(strings.ReplaceAll(aws.ToString(s), "web", name)) }
					lb.TargetGroupArn = rename(lb.TargetGroupArn)
					lb.AdvancedConfiguration.AlternateTargetGroupArn = rename(lb.AdvancedConfiguration.AlternateTargetGroupArn)
					lb.AdvancedConfiguration.ProductionListenerRule = rename(lb.AdvancedConfiguration.ProductionListenerRule)
					w.Services[0].LoadBalancers = []types.LoadBalancer{lb}
					sc.TaskDefinitions = append(sc.TaskDefinitions, w.TaskDefinitions...)
					sc.Services = append(sc.Services, w.Services...)
					cfg.Services = append(cfg.Services, deployer.Target{Service: name})
				}
				e := newEnv(b, sc)
				res, _ := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
				end := time.Now()
				return []watchRun{newWatchRun(e.srv.Sim.Calls(), "UpdateService", end, res.Status == deployer.StatusSucceeded)}
			})...)
		}
	})
	sum := summarizeWatch(b, runs, "a step of ten healthy blue/green services did not succeed")
	if sum.n == 0 {
		return
	}
	rate := sum.rates[0]
	tbl := &table{title: "Blue/green: ECS calls while one step watches ten healthy ~1 minute deployments (issue 18)",
		header: []string{"poll interval", "runs", "watch s (mean)", "calls/s in total (mean)", "watch calls (mean, by operation)"}}
	tbl.add(blueGreenConfig(p, "").PollInterval.String(), fmt.Sprint(sum.n), f2(sum.secs), f2(rate), sum.ops)
	tbl.print(os.Stdout)
	b.ReportMetric(rate, "watch-calls/s")
	if !p.short && rate > 0.6 {
		b.Errorf("%.2f ECS calls/s in total for ten blue/green services, want at most 0.6", rate)
	}
}
