package report

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-rollout/ecs-rollout/deployer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	sumArnOld = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:41"
	sumArnNew = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:42"
)

var sumT0 = time.Date(2026, 11, 25, 14, 3, 0, 0, time.UTC)

func sumAt(d time.Duration) time.Time { return sumT0.Add(d) }

// baseResult is what every outcome shares: a deployment of web:42.
func baseResult(status deployer.Status, reason string) deployer.Result {
	return deployer.Result{
		Status:                    status,
		Reason:                    reason,
		Cluster:                   "prod",
		Service:                   "web",
		TaskDefinitionARN:         sumArnNew,
		PreviousTaskDefinitionARN: sumArnOld,
		DeploymentID:              "ecs-svc/4820337411356958311",
		Images: []deployer.ImageChange{
			{Container: "app", Old: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.4.1", New: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.5.0"},
			{Container: "log-router", Old: "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0", New: "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0"},
		},
		StartedAt: sumT0,
	}
}

func failedTimeline(extra ...deployer.Milestone) []deployer.Milestone {
	return append([]deployer.Milestone{
		{Name: "deploy started", At: sumAt(0)},
		{Name: "service updated", At: sumAt(1200 * time.Millisecond)},
		{Name: "first failure", At: sumAt(48 * time.Second)},
	}, extra...)
}

func rollbackMilestones() []deployer.Milestone {
	return []deployer.Milestone{
		{Name: "rollback issued", At: sumAt(49 * time.Second)},
		{Name: "rollback completed", At: sumAt(2*time.Minute + 13*time.Second)},
	}
}

func summaryCases() map[string]deployer.Result {
	cases := map[string]deployer.Result{}

	r := baseResult(deployer.StatusSucceeded, "deployment ecs-svc/4820337411356958311 completed: 3/3 tasks of web:42 running")
	r.Timeline = []deployer.Milestone{
		{Name: "deploy started", At: sumAt(0)},
		{Name: "service updated", At: sumAt(1200 * time.Millisecond)},
		{Name: "first task running", At: sumAt(31 * time.Second)},
		{Name: "deployment completed", At: sumAt(3*time.Minute + 2*time.Second)},
	}
	r.Last = deployer.Counts{Desired: 3, Running: 3, RolloutState: "COMPLETED"}
	r.Events = []deployer.ServiceEvent{
		{At: sumAt(2 * time.Second), Message: "(service web) has started 3 tasks: (task 1a2b) (task 3c4d) (task 5e6f)."},
		{At: sumAt(3 * time.Minute), Message: "(service web) has reached a steady state."},
	}
	r.FinishedAt = sumAt(3*time.Minute + 2*time.Second)
	cases["succeeded"] = r

	r = baseResult(deployer.StatusRolledBack, `container "app" exited with code 1 (Essential container in task exited) in 3 of 3 tasks; rolled back to web:41`)
	r.RollbackDeploymentID = "ecs-svc/7730511228743302217"
	r.Timeline = failedTimeline(rollbackMilestones()...)
	r.Last = deployer.Counts{Desired: 3, Running: 0, Pending: 1, Failed: 3, RolloutState: "IN_PROGRESS"}
	r.Causes = []deployer.Cause{{Count: 3, StopCode: "EssentialContainerExited", StoppedReason: "Essential container in task exited", Container: "app", ExitCode: aws.Int32(1), ExampleTaskID: "0f3c9a6e5b2d4c1e8a7f6b5c4d3e2f1a"}}
	r.Events = []deployer.ServiceEvent{
		{At: sumAt(2 * time.Second), Message: "(service web) has started 1 tasks: (task 0f3c9a6e5b2d4c1e8a7f6b5c4d3e2f1a)."},
		{At: sumAt(47 * time.Second), Message: "(service web) has stopped 1 running tasks: (task 0f3c9a6e5b2d4c1e8a7f6b5c4d3e2f1a)."},
		{At: sumAt(2 * time.Minute), Message: "(service web) has reached a steady state."},
	}
	r.Logs = []deployer.LogExcerpt{{Container: "app", TaskID: "0f3c9a6e5b2d4c1e8a7f6b5c4d3e2f1a", Stream: "ecs/app/0f3c9a6e5b2d4c1e8a7f6b5c4d3e2f1a", Lines: []string{
		"2026-11-25T14:03:40Z INFO starting web 1.5.0",
		"2026-11-25T14:03:41Z ERROR config: DATABASE_URL is not set",
		"panic: missing configuration",
		"",
		"goroutine 1 [running]:",
		"main.main()",
		"\t/src/main.go:42 +0x1d",
	}}}
	r.FinishedAt = sumAt(2*time.Minute + 13*time.Second)
	cases["rolled-back-crash"] = r

	r = baseResult(deployer.StatusRolledBack, `container "app" exited with code 137 (OutOfMemoryError: Container killed due to memory usage) in 3 of 3 tasks; rolled back to web:41`)
	r.RollbackDeploymentID = "ecs-svc/7730511228743302217"
	r.Timeline = failedTimeline(rollbackMilestones()...)
	r.Causes = []deployer.Cause{{Count: 3, StopCode: "EssentialContainerExited", StoppedReason: "Essential container in task exited", Container: "app", ExitCode: aws.Int32(137), ContainerReason: "OutOfMemoryError: Container killed due to memory usage", ExampleTaskID: "9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a"}}
	r.Logs = []deployer.LogExcerpt{{Container: "app", TaskID: "9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a", Note: "no permission to read logs (logs:GetLogEvents denied)"}}
	r.FinishedAt = sumAt(2*time.Minute + 13*time.Second)
	cases["rolled-back-oom"] = r

	r = baseResult(deployer.StatusRolledBack, "image pull failed: CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.5.0: not found; rolled back to web:41")
	r.RollbackDeploymentID = "ecs-svc/7730511228743302217"
	r.Timeline = failedTimeline(rollbackMilestones()...)
	r.Causes = []deployer.Cause{{Count: 2, StopCode: "TaskFailedToStart", StoppedReason: "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.5.0: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.5.0: not found", Container: "app", ExampleTaskID: "aa11bb22cc33dd44ee55ff6677889900"}}
	r.Events = []deployer.ServiceEvent{{At: sumAt(40 * time.Second), Message: "(service web) was unable to place a task. Reason: CannotPullContainerError | retried."}}
	r.FinishedAt = sumAt(2*time.Minute + 13*time.Second)
	cases["rolled-back-pull-error"] = r

	r = baseResult(deployer.StatusRolledBack, "health checks failed: 2 tasks of web:42 were stopped as unhealthy; rolled back to web:41")
	r.RollbackDeploymentID = "ecs-svc/7730511228743302217"
	r.Timeline = failedTimeline(rollbackMilestones()...)
	r.Causes = []deployer.Cause{
		{Count: 2, StopCode: "TaskFailedToStart", StoppedReason: "Task failed container health checks", Container: "app", ExampleTaskID: "1234abcd1234abcd1234abcd1234abcd"},
		{Count: 1, StopCode: "ServiceSchedulerInitiated", StoppedReason: "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/abc)", ExampleTaskID: "5678abcd5678abcd5678abcd5678abcd"},
	}
	r.FinishedAt = sumAt(2*time.Minute + 13*time.Second)
	cases["rolled-back-health-checks"] = r

	r = baseResult(deployer.StatusRolledBack, "the deployment circuit breaker rolled deployment ecs-svc/4820337411356958311 back to web:41; not rolling back again")
	r.Timeline = failedTimeline(deployer.Milestone{Name: "taken over by circuit breaker", At: sumAt(3 * time.Minute)})
	r.Events = []deployer.ServiceEvent{{At: sumAt(3 * time.Minute), Message: "(service web) (deployment ecs-svc/4820337411356958311) deployment failed: tasks failed to start."}, {At: sumAt(3*time.Minute + time.Second), Message: "(service web) rolling back to deployment ecs-svc/1111111111111111111."}}
	r.FinishedAt = sumAt(3*time.Minute + 5*time.Second)
	cases["circuit-breaker"] = r

	r = baseResult(deployer.StatusFailed, "another deployment took over: the service now deploys web:43 (deployment ecs-svc/9999999999999999999); not undoing it")
	r.Timeline = []deployer.Milestone{{Name: "deploy started", At: sumAt(0)}, {Name: "service updated", At: sumAt(time.Second)}, {Name: "taken over", At: sumAt(50 * time.Second)}}
	r.FinishedAt = sumAt(50 * time.Second)
	cases["taken-over"] = r

	r = baseResult(deployer.StatusRolledBack, "timed out after 10m: 1 of 2 tasks running; rolled back to web:41")
	r.RollbackDeploymentID = "ecs-svc/7730511228743302217"
	r.Timeline = []deployer.Milestone{{Name: "deploy started", At: sumAt(0)}, {Name: "first task running", At: sumAt(4 * time.Minute)}, {Name: "timed out", At: sumAt(10 * time.Minute)}, {Name: "rollback issued", At: sumAt(10*time.Minute + time.Second)}, {Name: "rollback completed", At: sumAt(11 * time.Minute)}}
	r.Last = deployer.Counts{Desired: 2, Running: 1, Pending: 1, RolloutState: "IN_PROGRESS"}
	r.FinishedAt = sumAt(11 * time.Minute)
	cases["timed-out"] = r

	r = baseResult(deployer.StatusRollbackFailed, `container "app" exited with code 1 in 3 of 3 tasks; the rollback to web:41 could not be issued: AccessDeniedException: not authorized to perform ecs:UpdateService`)
	r.Timeline = failedTimeline(deployer.Milestone{Name: "rollback failed", At: sumAt(50 * time.Second)})
	r.Causes = cases["rolled-back-crash"].Causes
	r.ManualRollback = "aws ecs update-service --cluster prod --service web --task-definition " + sumArnOld + " --deployment-configuration minimumHealthyPercent=100,maximumPercent=200"
	r.FinishedAt = sumAt(51 * time.Second)
	cases["rollback-failed"] = r

	r = baseResult(deployer.StatusCancelled, "cancelled while watching deployment ecs-svc/4820337411356958311; rollback to web:41 issued")
	r.RollbackDeploymentID = "ecs-svc/7730511228743302217"
	r.Timeline = []deployer.Milestone{{Name: "deploy started", At: sumAt(0)}, {Name: "cancelled", At: sumAt(20 * time.Second)}, {Name: "rollback issued", At: sumAt(20*time.Second + 300*time.Millisecond)}}
	r.FinishedAt = sumAt(21 * time.Second)
	cases["cancelled"] = r

	r = baseResult(deployer.StatusDryRun, "preflight passed; nothing was changed")
	r.TaskDefinitionARN = ""
	r.DeploymentID = ""
	r.Plan = []string{
		"RegisterTaskDefinition family web (a copy of web:41)",
		"container app: image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.4.1 -> 123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.5.0",
		"container app: environment DB_PASSWORD changed (value hidden)",
		"UpdateService web in cluster prod: new revision, minimumHealthyPercent 100, maximumPercent 200, forceNewDeployment",
		"watch the deployment for up to 10m, roll back to web:41 on failure",
	}
	r.FinishedAt = sumAt(900 * time.Millisecond)
	cases["dry-run"] = r

	okReason := "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (25/11/26 14:02:00)] was not greater than the threshold (5.0) (minimum 1 datapoint for ALARM -> OK transition)."
	alarmReason := "Threshold Crossed: 1 out of the last 1 datapoints [12.0 (25/11/26 14:08:10)] was greater than the threshold (5.0) (minimum 1 datapoint for OK -> ALARM transition)."
	r = baseResult(deployer.StatusRolledBack, `alarm "web-5xx" went into ALARM 2m10s after the rollout completed (`+strings.TrimSuffix(alarmReason, ".")+"); rolled back to web:41")
	r.Timeline = []deployer.Milestone{
		{Name: "deploy started", At: sumAt(0)},
		{Name: "first task running", At: sumAt(31 * time.Second)},
		{Name: "deployment completed", At: sumAt(3*time.Minute + 2*time.Second)},
		{Name: "bake started", At: sumAt(3*time.Minute + 2*time.Second)},
		{Name: "bake failed", At: sumAt(5*time.Minute + 14*time.Second)},
		{Name: "alarm web-5xx in ALARM", At: sumAt(5*time.Minute + 14*time.Second)},
		{Name: "rollback issued", At: sumAt(5*time.Minute + 15*time.Second)},
		{Name: "rollback completed", At: sumAt(6*time.Minute + 40*time.Second)},
	}
	r.Alarms = []deployer.AlarmReport{
		{Name: "web-5xx", Start: deployer.AlarmOK, StartReason: okReason, Triggered: true,
			Changes: []deployer.AlarmChange{{At: sumAt(5*time.Minute + 12*time.Second), State: deployer.AlarmAlarm, Reason: alarmReason}}},
		{Name: "web-p99", Start: deployer.AlarmOK, StartReason: okReason},
		{Name: "web-health", Composite: true, Start: deployer.AlarmOK,
			Changes: []deployer.AlarmChange{{At: sumAt(5*time.Minute + 13*time.Second), State: deployer.AlarmAlarm, Reason: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:web-5xx transitioned to ALARM at Wednesday 25 November, 2026 14:08:12 UTC"}}},
	}
	r.RollbackDeploymentID = "ecs-svc/7216009876543210987"
	r.FinishedAt = sumAt(6*time.Minute + 40*time.Second)
	cases["rolled-back-alarm-in-bake"] = r

	r = baseResult(deployer.StatusRolledBack, `deployment ecs-svc/4820337411356958311 failed: the service's deployment alarm "svc-5xx" went into ALARM; ECS's deployment alarms rolled the service back to web:41`)
	r.Timeline = failedTimeline(rollbackMilestones()...)
	r.Alarms = []deployer.AlarmReport{{Name: "svc-5xx", Triggered: true, ByECS: true}}
	r.RollbackDeploymentID = "ecs-svc/7216009876543210987"
	cases["ecs-alarm-rollback"] = r

	r = baseResult(deployer.StatusFailed, "pre-deploy task exited with code 1 (EssentialContainerExited: Essential container in task exited); the service was not changed (still on web:41)")
	r.DeploymentID = ""
	r.PreDeployTaskARN = "arn:aws:ecs:eu-west-1:123456789012:task/prod/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	r.Timeline = []deployer.Milestone{
		{Name: "pre-deploy task started", At: sumAt(2 * time.Second)},
		{Name: "pre-deploy task failed", At: sumAt(41 * time.Second)},
	}
	r.Causes = []deployer.Cause{{Count: 1, StopCode: "EssentialContainerExited", StoppedReason: "Essential container in task exited",
		Container: "app", ExitCode: aws.Int32(1), ExampleTaskID: "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}}
	r.Logs = []deployer.LogExcerpt{{Container: "app", TaskID: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", Stream: "/ecs/web ecs/app/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
		Lines: []string{"== 20261130 AddIndex: migrating", `PG::UndefinedTable: ERROR: relation "users" does not exist`}}}
	r.FinishedAt = sumAt(42 * time.Second)
	cases["pre-deploy-failed"] = r

	r = baseResult(deployer.StatusSucceeded, "deployment ecs-svc/4820337411356958311 completed: 3/3 tasks of web-canary:7 running")
	r.TaskDefinitionARN = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web-canary:7"
	r.Promoted = true
	r.Images = r.Images[:1]
	r.Timeline = []deployer.Milestone{
		{Name: "deploy started", At: sumAt(0)},
		{Name: "deployment completed", At: sumAt(2 * time.Minute)},
	}
	r.Last = deployer.Counts{Desired: 3, Running: 3, RolloutState: "COMPLETED"}
	r.FinishedAt = sumAt(2 * time.Minute)
	cases["promoted"] = r

	r = deployer.Result{Status: deployer.StatusRegistered, Cluster: "default",
		Reason:            "registered web:43; no service given, so nothing was deployed",
		TaskDefinitionARN: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:43",
		Images:            []deployer.ImageChange{{Container: "app", Old: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.4.1", New: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.5.0"}},
		StartedAt:         sumT0, FinishedAt: sumAt(900 * time.Millisecond)}
	cases["registered"] = r
	return cases
}

func TestRenderSummaryGolden(t *testing.T) {
	t.Parallel()
	for name, res := range summaryCases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := Summary(res)
			path := filepath.Join("testdata", "summary", name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run go test -run TestRenderSummaryGolden -update): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("summary differs from %s (-want +got):\n%s", path, diff)
			}
			first, _, _ := strings.Cut(got, "\n")
			if !strings.Contains(first, OneLine(res.Reason)) && !strings.Contains(first, escapeHTML(OneLine(res.Reason))) {
				t.Errorf("first line %q does not carry the reason %q", first, res.Reason)
			}
		})
	}
}

// TestRenderSummaryCaps checks that a result with everything in excess
// still renders below the cap, as complete Markdown.
func TestRenderSummaryCaps(t *testing.T) {
	t.Parallel()
	res := baseResult(deployer.StatusRolledBack, strings.Repeat("very long reason ", 500))
	for i := range 500 {
		res.Causes = append(res.Causes, deployer.Cause{Count: i, Container: "app", StoppedReason: strings.Repeat("x", 2000)})
		res.Events = append(res.Events, deployer.ServiceEvent{At: sumAt(time.Duration(i) * time.Second), Message: fmt.Sprintf("event %d %s", i, strings.Repeat("y", 2000))})
	}
	for i := range 20 {
		var lines []string
		for j := range 200 {
			lines = append(lines, fmt.Sprintf("line %d %s", j, strings.Repeat("z", 1000)))
		}
		res.Logs = append(res.Logs, deployer.LogExcerpt{Container: fmt.Sprintf("c%d", i), TaskID: "t", Lines: lines})
	}
	got := Summary(res)
	if len(got) > maxSummaryBytes+4096 {
		t.Errorf("summary is %d bytes, want at most about %d", len(got), maxSummaryBytes)
	}
	if strings.Count(got, "<details>") != strings.Count(got, "</details>") {
		t.Errorf("unbalanced <details> blocks")
	}
	if strings.Count(got, "```")%2 != 0 {
		t.Errorf("unbalanced code fences")
	}
	for _, want := range []string{"more causes not shown", "earlier events not shown", "omitted: the summary would exceed"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks the note %q", want)
		}
	}
	if strings.Contains(got, "event 0 ") {
		t.Errorf("summary shows the oldest event, want only the newest %d", maxEventRows)
	}
}

func TestSummaryEscaping(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want string
	}{
		{"pipe", "a | b", `a \| b`},
		{"newline", "a\nb", "a<br>b"},
		{"crlf", "a\r\nb", "a<br>b"},
		{"html", "<script>x</script> & y", "&lt;script&gt;x&lt;/script&gt; &amp; y"},
		{"backslash before pipe", `a\|b`, `a\\\|b`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := cell(tc.in); got != tc.want {
				t.Errorf("cell(%q): got %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if got, want := code("a`b"), "``a`b``"; got != want {
		t.Errorf("code: got %q, want %q", got, want)
	}
	if got, want := fence("x\n```\ny", "text"), "````text\nx\n```\ny\n````\n"; got != want {
		t.Errorf("fence: got %q, want %q", got, want)
	}
	// A table row keeps its column count whatever the cause says.
	res := baseResult(deployer.StatusRolledBack, "r")
	res.Causes = []deployer.Cause{{Count: 1, Container: "a|b", StoppedReason: "x | y\nz", ExampleTaskID: "t|1"}}
	for _, line := range strings.Split(summaryCauses(res), "\n") {
		if !strings.HasPrefix(line, "| 1 ") {
			continue
		}
		if n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"); n != 7 {
			t.Errorf("row %q has %d separators, want 7", line, n)
		}
	}
}
