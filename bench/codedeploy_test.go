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
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// Issue 21's numbers for CODE_DEPLOY services, at the default poll
// interval: how soon a failure of the replacement task set is acted on
// (StopDeployment with rollback), and the calls per second while watching
// a healthy deployment of about a minute.

// codeDeployWorld is blueGreenWorld's service and task timings on the
// CODE_DEPLOY controller, with its CodeDeploy application and deployment
// group (AllAtOnce, automatic rollback, a one-hour termination wait in
// scenario minutes of minute).
func codeDeployWorld(p profile, rng interface{ Int64N(int64) int64 }, minute time.Duration, rules []ecssim.ImageRule) ecssim.Scenario {
	sc := blueGreenWorld(p, rng, minute, 0, rules)
	sc.Services[0].DeploymentConfiguration = ecssim.DeploymentConfiguration{}
	ecssim.AddCodeDeploy(&sc, 0, func(g *ecssim.ScenarioDeploymentGroup) { g.TerminationWaitMinutes = 60 })
	return sc
}

// codeDeployRun deploys image to the CODE_DEPLOY service of sc.
func codeDeployRun(b *testing.B, p profile, sc ecssim.Scenario, image string) (deployer.Result, *ecssim.Server, time.Time) {
	e := newEnv(b, sc)
	d := deployer.New(e.ecs, e.logs, deployer.WithCodeDeploy(ecssimtest.CodeDeployClient(e.srv)))
	cfg := blueGreenConfig(p, image)
	cfg.RollingDefaults = false
	res, _ := d.Deploy(context.Background(), cfg)
	return res, e.srv, time.Now()
}

// BenchmarkCodeDeployDetection: from the first failed task of the
// replacement task set visible in the API (its stoppingAt) to our
// StopDeployment arriving, for a crash at Install (the essential container
// exits while the task starts; CodeDeploy's Install would wait an hour)
// and a crash loop faster than the poll (tasks run 2–4 s, exit, are
// replaced).
func BenchmarkCodeDeployDetection(b *testing.B) {
	p := profileOf(b)
	kinds := []struct {
		name  string
		rules func(rng interface{ Int64N(int64) int64 }) []ecssim.ImageRule
	}{
		{"crash at Install", func(interface{ Int64N(int64) int64 }) []ecssim.ImageRule {
			return []ecssim.ImageRule{{Image: "*:bad", Behavior: ecssim.BehaviorCrash}}
		}},
		{"crash loop faster than the poll", func(rng interface{ Int64N(int64) int64 }) []ecssim.ImageRule {
			after := p.d(2*time.Second) + time.Duration(rng.Int64N(int64(p.d(2*time.Second))))
			return []ecssim.ImageRule{{Image: "*:bad", Behavior: ecssim.BehaviorCrashAfter, After: ecssim.Duration(after)}}
		}},
	}
	type run struct {
		detect time.Duration
		ok     bool
	}
	tbl := &table{title: "CodeDeploy: first failed task of the replacement task set → StopDeployment (issue 21)",
		header: []string{"failure", "runs", "median s", "max s", "not rolled back"}}
	for _, k := range kinds {
		var runs []run
		b.Run(strings.ReplaceAll(k.name, " ", "-"), func(b *testing.B) {
			for range b.N {
				runs = append(runs, repeat(p.reps, func(i int) []run {
					rng := newRNG(i)
					res, srv, _ := codeDeployRun(b, p, codeDeployWorld(p, rng, p.d(30*time.Second), k.rules(rng)), "repo/app:bad")
					var first, stop time.Time
					for _, t := range srv.Sim.Tasks("prod") {
						if strings.HasSuffix(aws.ToString(t.TaskDefinitionArn), "web:2") && t.StopCode != "" && t.StopCode != types.TaskStopCodeServiceSchedulerInitiated {
							if at := aws.ToTime(t.StoppingAt); !at.IsZero() && (first.IsZero() || at.Before(first)) {
								first = at
							}
						}
					}
					for _, c := range srv.Sim.Calls() {
						if c.Op == "StopDeployment" && stop.IsZero() {
							stop = c.At
						}
					}
					r := run{ok: res.Status == deployer.StatusRolledBack && !first.IsZero() && !stop.IsZero()}
					if r.ok {
						r.detect = max(stop.Sub(first), 0)
					}
					return []run{r}
				})...)
			}
		})
		var det []time.Duration
		bad := 0
		for _, r := range runs {
			if !r.ok {
				bad++
				continue
			}
			det = append(det, r.detect)
		}
		ds := durStats(det)
		tbl.add(k.name, fmt.Sprint(len(runs)), fmt.Sprintf("%.2f", ds.median.Seconds()), fmt.Sprintf("%.2f", ds.max.Seconds()), fmt.Sprint(bad))
		if bad > 0 {
			b.Errorf("%s: %d of %d runs were not rolled back by StopDeployment after a failed task", k.name, bad, len(runs))
		}
		if limit := p.d(11 * time.Second); ds.max > limit {
			b.Errorf("%s: a failure took %s to act on, want at most %s (two polls)", k.name, ds.max, limit)
		}
	}
	tbl.print(os.Stdout)
}

// BenchmarkCodeDeployWatchRate: ECS and CodeDeploy calls per second from
// our CreateDeployment to the step's success (production traffic on the
// replacement task set; the one-hour termination wait is not waited out),
// for a healthy deployment of about a minute.
func BenchmarkCodeDeployWatchRate(b *testing.B) {
	p := profileOf(b)
	var runs []watchRun
	b.Run("healthy", func(b *testing.B) {
		for range b.N {
			runs = append(runs, repeat(p.reps, func(i int) []watchRun {
				res, srv, end := codeDeployRun(b, p, codeDeployWorld(p, newRNG(i), p.d(30*time.Second), nil), "repo/app:2")
				return []watchRun{newWatchRun(srv.Sim.Calls(), "CreateDeployment", end, res.Status == deployer.StatusSucceeded)}
			})...)
		}
	})
	cdOps := map[string]bool{"GetDeployment": true, "GetDeploymentTarget": true, "StopDeployment": true, "ContinueDeployment": true, "ListDeployments": true}
	sum := summarizeWatch(b, runs, "a healthy CodeDeploy deployment did not succeed",
		func(op string) bool { return !cdOps[op] }, func(op string) bool { return cdOps[op] })
	if sum.n == 0 {
		return
	}
	ecsRate, cdRate := sum.rates[0], sum.rates[1]
	tbl := &table{title: "CodeDeploy: calls while watching a healthy ~1 minute deployment (issue 21)",
		header: []string{"poll interval", "runs", "watch s (mean)", "ECS calls/s", "CodeDeploy calls/s", "calls (mean, by operation)"}}
	tbl.add(blueGreenConfig(p, "").PollInterval.String(), fmt.Sprint(sum.n), f2(sum.secs), f2(ecsRate), f2(cdRate), sum.ops)
	tbl.print(os.Stdout)
	b.ReportMetric(ecsRate, "ecs-calls/s")
	b.ReportMetric(cdRate, "codedeploy-calls/s")
	// One DescribeServices and one GetDeploymentTarget per poll (0.2/s
	// each at 5 s), plus GetDeployment at the first poll and at the end.
	if !p.short && (ecsRate > 0.25 || cdRate > 0.3) {
		b.Errorf("%.2f ECS and %.2f CodeDeploy calls/s, want at most 0.25 and 0.3", ecsRate, cdRate)
	}
}
