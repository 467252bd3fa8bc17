package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// BenchmarkVerify measures what the verify phase adds to a deploy: the
// preflight of a dry run of internal/action/scenarios/verify.json (service
// payment: one ECR image with an image index, a Secrets Manager secret,
// an SSM parameter, an awslogs log group, an execution and a task role)
// with verify off and on, one run after the other against a fresh
// simulator, through the SDK clients over HTTP; and a tag that was never
// pushed, which verification stops. A dry run ends after the preflight,
// so the difference between the rows is the phase.
func BenchmarkVerify(b *testing.B) {
	p := profileOf(b)
	runs := 41
	if p.short {
		runs = 3
	}
	tbl := &table{title: "Verify before deploying: preflight of a dry run, verify off and on (sequential runs)",
		header: []string{"case", "runs", "median ms", "max ms", "verify phase median ms", "verification calls (mean)", "status"}}
	cases := []struct {
		name, image string
		verify      bool
		want        deployer.Status
	}{
		{"verify: false", "payment:v2", false, deployer.StatusDryRun},
		{"verify: true", "payment:v2", true, deployer.StatusDryRun},
		{"verify: true, tag never pushed", "payment:v3", true, deployer.StatusFailed},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var total, phase []time.Duration
			calls := 0
			for range b.N {
				for range runs {
					res, d := verifyRun(b, "123456789012.dkr.ecr.us-east-1.amazonaws.com/"+c.image, c.verify)
					if res.Status != c.want {
						b.Fatalf("status %s, want %s: %s", res.Status, c.want, res.Reason)
					}
					total = append(total, d)
					if v := res.Verification; v != nil {
						phase = append(phase, v.Duration)
						calls += v.Calls
					}
				}
			}
			st, ph := durStats(total), durStats(phase)
			b.ReportMetric(float64(st.median.Microseconds())/1000, "median-ms")
			tbl.add(c.name, fmt.Sprint(len(total)), ms(st.median), ms(st.max), ms(ph.median), f2(float64(calls)/float64(len(total))), string(c.want))
		})
	}
	tbl.print(os.Stdout)
}

// verifyRun is one dry run of image to service payment, and how long
// Deploy took.
func verifyRun(tb testing.TB, image string, verify bool) (deployer.Result, time.Duration) {
	sc, err := ecssim.LoadScenario(filepath.Join("..", "internal", "action", "scenarios", "verify.json"))
	if err != nil {
		tb.Fatal(err)
	}
	srv := ecssimtest.NewServer(tb, sc)
	ecsc, logs := ecssimtest.Clients(srv)
	d := deployer.New(ecsc, logs, deployer.WithVerifyClients(&ecssimtest.VerifyClients{URL: srv.URL}))
	cfg := deployer.Config{Cluster: "prod", Service: "payment", DryRun: true, Verify: verify, ForceNewDeployment: true, Rollback: true, Wait: true,
		Images: []deployer.ContainerImage{{Container: "app", Image: image}}}
	start := time.Now()
	res, _ := d.Deploy(context.Background(), cfg)
	return res, time.Since(start)
}
