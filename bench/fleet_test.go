package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// fleet is one multi-service step: services s0…s(n-1) spread over
// clusters c0…c(k-1), each running two tasks of its own family f<i>.
type fleet struct {
	services, clusters int
	crash              bool // s0's new revision crashes
}

func (f fleet) scenario(t ecssim.Timings) ecssim.Scenario {
	sc := ecssim.Scenario{Timings: t}
	if f.crash {
		sc.ImageRules = []ecssim.ImageRule{{Image: "repo/app:2", Family: "f0", Behavior: ecssim.BehaviorCrash}}
	}
	for c := range f.clusters {
		sc.Clusters = append(sc.Clusters, ecssim.ScenarioCluster{Name: fmt.Sprintf("c%d", c)})
	}
	for i := range f.services {
		one := ecssim.OneService(fmt.Sprintf("c%d", i%f.clusters), fmt.Sprintf("s%d", i), ecssim.FargateApp(fmt.Sprintf("f%d", i), "repo/app:1"), 2)
		sc.TaskDefinitions = append(sc.TaskDefinitions, one.TaskDefinitions...)
		sc.Services = append(sc.Services, one.Services...)
	}
	return sc
}

// fleetOutcome is what one step measured.
type fleetOutcome struct {
	status     deployer.Status
	watch      time.Duration  // from the last of the step's updates to its end (or its first rollback)
	watchCalls map[string]int // ECS calls in that window, by operation
	detect     time.Duration  // s0's first failed task visible → the first rollback UpdateService
}

func deployFleet(tb testing.TB, f fleet, t ecssim.Timings, interval time.Duration) fleetOutcome {
	tb.Helper()
	e := newEnv(tb, f.scenario(t))
	cfg := deployer.Config{
		Images: []deployer.ContainerImage{{Container: "app", Image: "repo/app:2"}}, PollInterval: interval,
		Timeout: 5 * time.Minute, RollbackTimeout: 5 * time.Minute, FailedTasksThreshold: 1, Rollback: true,
		ForceNewDeployment: true, Wait: true, LogLines: 20,
	}
	for i := range f.services {
		cfg.Services = append(cfg.Services, deployer.Target{Cluster: fmt.Sprintf("c%d", i%f.clusters), Service: fmt.Sprintf("s%d", i)})
	}
	res, _ := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
	end := time.Now()
	o := fleetOutcome{status: res.Status, watchCalls: map[string]int{}}
	var updates []time.Time
	calls := e.srv.Sim.Calls()
	for _, c := range calls {
		if c.Op == "UpdateService" && c.ErrCode == "" {
			updates = append(updates, c.At)
		}
	}
	if len(updates) < f.services {
		tb.Fatalf("%d updates for %d services: %s", len(updates), f.services, res.Reason)
	}
	from, to := updates[f.services-1], end
	if len(updates) > f.services {
		to = updates[f.services]
		if first, ok := firstFailure(e.srv.Sim, "c0", res.Services[0].DeploymentID); ok {
			o.detect = to.Sub(first)
		}
	}
	o.watch = to.Sub(from)
	for _, c := range calls {
		if c.At.After(from) && c.At.Before(to) && c.Op != "GetLogEvents" {
			o.watchCalls[c.Op]++
		}
	}
	return o
}

// BenchmarkFleet measures one step that deploys several services: the
// ECS calls per second in total while a healthy ~1 minute rollout is
// watched (10 services in one cluster; 50 over 5 clusters), and the
// detection latency when one of ten services crashes, at the default
// poll interval.
func BenchmarkFleet(b *testing.B) {
	p := profileOf(b)
	interval := deployer.DefaultPollInterval
	if p.short {
		interval = p.d(interval)
	}
	reps := min(p.reps, 6)
	tbl := &table{title: fmt.Sprintf("Several services in one step, default poll interval (%s)", interval),
		header: []string{"case", "runs", "status", "watch s (mean)", "ECS calls/s in total (mean)", "detection s (median)", "watch calls (mean, by operation)"}}
	cases := []struct {
		name string
		f    fleet
		want deployer.Status
	}{
		{"10-services-1-cluster", fleet{services: 10, clusters: 1}, deployer.StatusSucceeded},
		{"50-services-5-clusters", fleet{services: 50, clusters: 5}, deployer.StatusSucceeded},
		{"10-services-one-crashes", fleet{services: 10, clusters: 1, crash: true}, deployer.StatusRolledBack},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var all []fleetOutcome
			for range b.N {
				all = append(all, repeat(reps, func(rep int) []fleetOutcome {
					rng := newRNG(rep)
					t := ecssim.Timings{
						Provisioning: ecssim.Duration(p.d(5 * time.Second)),
						Pending:      ecssim.Duration(jittered(rng, p.d(15*time.Second), p.d(2*time.Second))),
						HealthCheck:  ecssim.Duration(p.d(10 * time.Second)),
						Stopping:     ecssim.Duration(p.d(time.Second)),
						RetryBackoff: ecssim.Duration(p.d(time.Second)),
					}
					if c.f.crash {
						t = p.timings(rng, interval)
					}
					return []fleetOutcome{deployFleet(b, c.f, t, interval)}
				})...)
			}
			var rate, watch float64
			var ds []time.Duration
			ops := map[string]float64{}
			for _, o := range all {
				if o.status != c.want {
					b.Fatalf("status %s, want %s", o.status, c.want)
				}
				n := 0
				for op, k := range o.watchCalls {
					n += k
					ops[op] += float64(k) / float64(len(all))
				}
				rate += float64(n) / o.watch.Seconds() / float64(len(all))
				watch += o.watch.Seconds() / float64(len(all))
				if o.detect > 0 {
					ds = append(ds, o.detect)
				}
			}
			detect := "-"
			if len(ds) > 0 {
				detect = f2(secs(durStats(ds).median))
				b.ReportMetric(secs(durStats(ds).median), "detect-s")
			}
			b.ReportMetric(rate, "ecs-calls/s")
			opsTxt := ""
			for _, op := range []string{"DescribeServices", "ListTasks", "DescribeTasks"} {
				if ops[op] > 0 {
					opsTxt += fmt.Sprintf("%s %.1f ", op, ops[op])
				}
			}
			tbl.add(c.name, fmt.Sprint(len(all)), string(c.want), f2(watch), f2(rate), detect, opsTxt)
		})
	}
	tbl.print(os.Stdout)
}
