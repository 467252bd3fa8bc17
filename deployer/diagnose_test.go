package deployer_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// countOps counts the calls per operation.
func countOps(calls []ecssim.Call) map[string]int {
	n := map[string]int{}
	for _, c := range calls {
		n[c.Op]++
	}
	return n
}

// TestDiagnosisCallBudget: a healthy rollout costs no task or log calls
// beyond one final stopped-task check; a failed one adds at most two ECS
// calls per 100 stopped tasks plus one Logs call per failing container.
func TestDiagnosisCallBudget(t *testing.T) {
	t.Parallel()
	// Both run on the fake clock of a synctest bubble, with the simulator
	// served in memory, so the number of polls does not depend on the
	// machine's load: on the wall clock, a loaded machine stretched the
	// healthy rollout past periodicStoppedCheck polls (a second ListTasks),
	// and in the crash loop tasks went on stopping between the
	// diagnosis's calls and the rollback watch's polls, so the calls made
	// did not follow from the stopped tasks counted at the end.
	t.Run("healthy", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			sim, ecsc, logs := inMemorySim(t, scenario())
			if _, err := deployer.New(ecsc, logs).Deploy(context.Background(), config("repo/app:2")); err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			n := countOps(sim.Calls())
			if n["ListTasks"] > 1 || n["DescribeTasks"] != 0 || n["GetLogEvents"] != 0 {
				t.Errorf("healthy rollout: got ListTasks=%d DescribeTasks=%d GetLogEvents=%d, want at most 1, 0, 0", n["ListTasks"], n["DescribeTasks"], n["GetLogEvents"])
			}
		})
	})
	t.Run("150 tasks crash", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) { diagnoseCrashLoop(t) })
	})
}

// inMemorySim builds a simulator of sc with ECS and CloudWatch Logs
// clients that reach it in memory (run it inside a synctest bubble: the
// simulator then runs on the bubble's clock). The simulator is closed
// when the test ends.
func inMemorySim(t *testing.T, sc ecssim.Scenario) (*ecssim.Sim, *ecs.Client, *cloudwatchlogs.Client) {
	t.Helper()
	sim, err := ecssim.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	ecsc, _ := ecssimtest.InMemoryClients(sim)
	logs := cloudwatchlogs.New(cloudwatchlogs.Options{BaseEndpoint: aws.String("http://sim"), Region: ecssimtest.Region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSIM", "sim-secret", ""), HTTPClient: ecssimtest.Client{Sim: sim}})
	return sim, ecsc, logs
}

// diagnoseCrashLoop is TestDiagnosisCallBudget's crash loop of 150 tasks,
// run inside a synctest bubble.
func diagnoseCrashLoop(t *testing.T) {
	sim, ecsc, logs := inMemorySim(t, scenario(func(sc *ecssim.Scenario) { sc.Services[0].DesiredCount = 150 }))
	cfg := config("repo/app:crash")
	cfg.FailedTasksThreshold = 150 // let many tasks stop before the verdict
	res, err := deployer.New(ecsc, logs).Deploy(context.Background(), cfg)
	if err == nil || res.Status != deployer.StatusRolledBack {
		t.Fatalf("Deploy: got %v %q, want rolled-back", err, res.Status)
	}
	// The calls the diagnosis made: those after the rollback was issued.
	calls := sim.Calls()
	start := -1
	updates := 0
	for i, c := range calls {
		if c.Op == "UpdateService" {
			updates++
			if updates == 2 {
				start = i
			}
		}
	}
	if start < 0 {
		t.Fatalf("no rollback UpdateService in %d calls", len(calls))
	}
	// Only the calls about our deployment: the rollback watch makes
	// its own final check of the rollback deployment.
	var ours []ecssim.Call
	for _, c := range calls[start:] {
		if c.Op != "ListTasks" || strings.Contains(string(c.Input), res.DeploymentID) {
			ours = append(ours, c)
		}
	}
	after := countOps(ours)
	stopped, err := ecsc.ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String("prod"), StartedBy: aws.String(res.DeploymentID), DesiredStatus: types.DesiredStatusStopped})
	if err != nil {
		t.Fatal(err)
	}
	total := len(stopped.TaskArns)
	for tok := stopped.NextToken; aws.ToString(tok) != ""; {
		more, err := ecsc.ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String("prod"), StartedBy: aws.String(res.DeploymentID), DesiredStatus: types.DesiredStatusStopped, NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		total += len(more.TaskArns)
		tok = more.NextToken
	}
	budget := 2 * ((total + 99) / 100)
	if got := after["ListTasks"] + after["DescribeTasks"]; got > budget {
		t.Errorf("diagnosis made %d ListTasks+DescribeTasks calls for %d stopped tasks, want at most %d", got, total, budget)
	}
	if after["GetLogEvents"] != 1 {
		t.Errorf("GetLogEvents: got %d, want 1 (one failing container)", after["GetLogEvents"])
	}
	if len(res.Causes) == 0 || res.Causes[0].Container != "app" {
		t.Errorf("causes: got %+v, want the app container first", res.Causes)
	}
	t.Logf("%d stopped tasks; diagnosis calls: %v", total, after)
}
