package action

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-rollout/ecs-rollout/deployer"
)

func TestConsoleReport(t *testing.T) {
	t.Parallel()
	events := []deployer.Event{
		{Kind: deployer.EventPhase, Message: "Preflight: web in cluster prod"},
		{Kind: deployer.EventInfo, Message: "Registered web:42"},
		{Kind: deployer.EventPhase, Message: "Watch deployment ecs-svc/1"},
		{Kind: deployer.EventProgress, Counts: &deployer.Counts{Desired: 2, Running: 1, Pending: 1, RolloutState: "IN_PROGRESS"}},
		{Kind: deployer.EventProgress, Message: "deployment ecs-svc/1: 2/2 running, 0 pending, 0 failed, COMPLETED", Counts: &deployer.Counts{Desired: 2, Running: 2}},
		{Kind: deployer.EventServiceEvent, Message: "(service web) has started 1 tasks: (task 0f3c).", ServiceEvent: &deployer.ServiceEvent{Message: "(service web) has started 1 tasks: (task 0f3c)."}},
		{Kind: deployer.EventServiceEvent, Message: "::error::not a command\n(service web) has reached a steady state."},
		{Kind: deployer.EventWarning, Message: "throttled; retrying"},
		{Kind: deployer.EventCheckpoint, State: &deployer.Checkpoint{Cluster: "prod", Service: "web", DeploymentID: "ecs-svc/1", Phase: "watching", Rollback: true}},
	}
	cases := []struct {
		name   string
		github bool
		stdout string
		stderr string
	}{
		{
			name:   "github",
			github: true,
			stdout: `::group::Preflight: web in cluster prod
Registered web:42
::endgroup::
::group::Watch deployment ecs-svc/1
deployment: 1/2 running, 1 pending, 0 failed, IN_PROGRESS
deployment ecs-svc/1: 2/2 running, 0 pending, 0 failed, COMPLETED
ECS: (service web) has started 1 tasks: (task 0f3c).
ECS: ::error::not a command (service web) has reached a steady state.
::warning::throttled; retrying
::endgroup::
`,
		},
		{
			name: "cli",
			stderr: `
== Preflight: web in cluster prod ==
Registered web:42

== Watch deployment ecs-svc/1 ==
deployment: 1/2 running, 1 pending, 0 failed, IN_PROGRESS
deployment ecs-svc/1: 2/2 running, 0 pending, 0 failed, COMPLETED
ECS: (service web) has started 1 tasks: (task 0f3c).
ECS: ::error::not a command (service web) has reached a steady state.
warning: throttled; retrying
`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			statePath := filepath.Join(t.TempDir(), "state")
			env := map[string]string{"GITHUB_STATE": statePath}
			var stdout, stderr lockedBuffer
			c := newConsole(tc.github, func(k string) string { return env[k] }, &stdout, &stderr)
			for _, ev := range events {
				c.report(ev)
			}
			c.endGroup()
			if diff := cmp.Diff(tc.stdout, stdout.String()); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.stderr, stderr.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			state := readFileCommands(t, statePath)
			if !tc.github {
				if len(state) != 0 {
					t.Errorf("CLI mode saved state %v", state)
				}
				return
			}
			var cp deployer.Checkpoint
			if err := json.Unmarshal([]byte(state[stateCheckpoint]), &cp); err != nil {
				t.Fatalf("saved checkpoint %q: %v", state[stateCheckpoint], err)
			}
			if diff := cmp.Diff(*events[len(events)-1].State, cp); diff != "" {
				t.Errorf("checkpoint (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConsoleMask: every credential registered is redacted from what the
// console writes, whatever its length; GitHub is told (::add-mask::) of
// those of taskdef.MinSecretLen bytes or more only, line by line, and a
// short one is redacted where it stands as a word, never inside another
// word.
func TestConsoleMask(t *testing.T) {
	t.Parallel()
	for _, github := range []bool{true, false} {
		var stdout, stderr lockedBuffer
		c := newConsole(github, func(string) string { return "" }, &stdout, &stderr)
		c.mask([]string{"s3cr3t-value-1", "hunter2", "line-one-secret\nline-two-secret", "s3cr3t-value-1", "abc"})
		c.infof("connecting with s3cr3t-value-1 as DB_PASSWORD=hunter2; line-two-secret; abcdef (abc)")
		c.outputs(map[string]string{outReason: "password hunter2 refused"})
		all := stdout.String() + stderr.String()
		masks := regexp.MustCompile(`(?m)^::add-mask::(.*)$`).FindAllStringSubmatch(all, -1)
		var got []string
		for _, m := range masks {
			got = append(got, m[1])
		}
		var want []string
		if github {
			want = []string{"s3cr3t-value-1", "line-one-secret%0Aline-two-secret", "line-one-secret", "line-two-secret"}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("github=%v: add-mask commands (-want +got):\n%s", github, diff)
		}
		if !strings.Contains(all, "connecting with *** as DB_PASSWORD=***; ***; abcdef (***)") {
			t.Errorf("github=%v: log line not scrubbed:\n%s", github, all)
		}
		if github {
			continue // no GITHUB_OUTPUT: the outputs are checked below
		}
		if !strings.Contains(all, "reason=password *** refused") {
			t.Errorf("CLI output not scrubbed:\n%s", all)
		}
	}
	// GitHub's output file is written past the redacting writer.
	dir := t.TempDir()
	env := map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "out")}
	var stdout lockedBuffer
	c := newConsole(true, func(k string) string { return env[k] }, &stdout, &stdout)
	c.mask([]string{"hunter2"})
	c.outputs(map[string]string{outReason: "password hunter2 refused"})
	if got := readFileCommands(t, env["GITHUB_OUTPUT"])[outReason]; got != "password *** refused" {
		t.Errorf("GITHUB_OUTPUT reason %q, want it redacted", got)
	}
}

// TestConsoleFinish checks the report of a failed run: the causes in a
// group where workflow commands are off, outputs, one error annotation.
func TestConsoleFinish(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
		"GITHUB_STATE":        filepath.Join(dir, "state"),
	}
	var stdout, stderr lockedBuffer
	c := newConsole(true, func(k string) string { return env[k] }, &stdout, &stderr)
	res := deployer.Result{
		Status: deployer.StatusRollbackFailed, Reason: "container \"app\" exited with code 1;\nrollback denied",
		Service: "web", Cluster: "prod", DeploymentID: "ecs-svc/1",
		TaskDefinitionARN: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2", PreviousTaskDefinitionARN: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
		Causes:         []deployer.Cause{{Count: 2, Container: "app", StopCode: "EssentialContainerExited"}},
		Logs:           []deployer.LogExcerpt{{Container: "app", TaskID: "abc", Lines: []string{"::error::injected by the app", "::add-mask::x"}}},
		ManualRollback: "aws ecs update-service --cluster prod --service web --task-definition arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
		StartedAt:      time.Unix(0, 0), FinishedAt: time.Unix(10, 0),
	}
	if code := c.finish(res); code != exitFail {
		t.Errorf("exit code: got %d, want %d", code, exitFail)
	}
	out := stdout.String()
	stop := regexp.MustCompile(`(?m)^::stop-commands::([0-9a-f]{32})$`).FindStringSubmatch(out)
	if stop == nil {
		t.Fatalf("no ::stop-commands:: before the log lines:\n%s", out)
	}
	from := strings.Index(out, stop[0])
	to := strings.Index(out, "::"+stop[1]+"::")
	injected := strings.Index(out, "::error::injected")
	if to < 0 || injected < from || injected > to {
		t.Errorf("the app's log lines are not between stop-commands and its resume token:\n%s", out)
	}
	errs := errorAnnotations(out)
	if want := []string{`::error::container "app" exited with code 1; rollback denied`}; !cmp.Equal(want, errs) {
		t.Errorf("error annotations: got %q, want %q", errs, want)
	}
	if !strings.Contains(out, res.ManualRollback) {
		t.Errorf("the manual rollback command is not in the log")
	}
	outputs := readFileCommands(t, env["GITHUB_OUTPUT"])
	want := map[string]string{
		"task-definition-arn":          res.TaskDefinitionARN,
		"previous-task-definition-arn": res.PreviousTaskDefinitionARN,
		"deployment-id":                "ecs-svc/1",
		"codedeploy-deployment-id":     "",
		"service-deployment-arn":       "",
		"pre-deploy-task-arn":          "",
		"run-task-arn":                 "",
		"status":                       "rollback-failed",
		"reason":                       `container "app" exited with code 1; rollback denied`,
	}
	var results []map[string]string
	if err := json.Unmarshal([]byte(outputs["results"]), &results); err != nil {
		t.Errorf("results output %q: %v", outputs["results"], err)
	}
	delete(outputs, "results")
	wantResults := []map[string]string{{"cluster": res.Cluster, "service": res.Service, "status": "rollback-failed",
		"reason": want["reason"], "task-definition-arn": res.TaskDefinitionARN,
		"previous-task-definition-arn": res.PreviousTaskDefinitionARN, "deployment-id": "ecs-svc/1"}}
	if diff := cmp.Diff(wantResults, results); diff != "" {
		t.Errorf("results output (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if got := readFileCommands(t, env["GITHUB_STATE"])[stateDone]; got != "true" {
		t.Errorf("done state: got %q, want true", got)
	}
	if s := readText(t, env["GITHUB_STEP_SUMMARY"]); !strings.HasPrefix(s, "## 🚨 Rollback failed: ") || !strings.Contains(s, res.ManualRollback) {
		t.Errorf("summary lacks the headline or the manual command:\n%s", s)
	}
}

func TestConsoleOutputsCLI(t *testing.T) {
	t.Parallel()
	var stdout, stderr lockedBuffer
	c := newConsole(false, func(string) string { return "" }, &stdout, &stderr)
	c.outputs(map[string]string{outStatus: "failed", outReason: "two\nlines", outDeploymentID: ""})
	want := "deployment-id=\nstatus=failed\nreason=two%0Alines\n"
	if got := stdout.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestConsoleNoFiles checks that GitHub mode without the runner's files
// falls back to ::set-output instead of panicking.
func TestConsoleNoFiles(t *testing.T) {
	t.Parallel()
	var stdout, stderr lockedBuffer
	c := newConsole(true, func(string) string { return "" }, &stdout, &stderr)
	code := c.finish(deployer.Result{Status: deployer.StatusSucceeded, Service: "web", Cluster: "prod"})
	if code != exitOK {
		t.Errorf("exit code: got %d, want 0", code)
	}
	if !strings.Contains(stdout.String(), "::set-output name=status::succeeded\n") {
		t.Errorf("no ::set-output for the status:\n%s", stdout.String())
	}
}
