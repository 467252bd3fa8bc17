package action

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/report"
)

func TestGitHubBadInputs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		inputs map[string]string
		env    map[string]string
		want   []string // ::error lines
	}{
		{
			name:   "several bad inputs",
			inputs: map[string]string{"service": "", "image": "nginx latest", "timeout": "abc", "maximum-percent": "1000"},
			want: []string{
				"::error::service: required",
				`::error::image: invalid image reference "nginx latest"`,
				`::error::timeout: "abc" is not a duration (e.g. 10m)`,
				"::error::maximum-percent: 1000 is out of range (100 to 200)",
			},
		},
		{
			name:   "malformed ARN and duplicate images",
			inputs: map[string]string{"service": "arn:aws:ecs:us-east-1:123:service/web", "images": "app=nginx:1\napp=nginx:2"},
			want: []string{
				"::error::service:",
				`::error::images: line 2: container "app" is listed twice (first on line 1)`,
			},
		},
		{
			name:   "no region",
			inputs: map[string]string{"service": "web", "image": "nginx:1.27"},
			env:    map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_CONFIG_FILE": "/nonexistent", "AWS_PROFILE": ""},
			want:   []string{"::error::region: no AWS region: set AWS_REGION"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.name == "no region" && (os.Getenv("AWS_REGION") != "" || os.Getenv("AWS_DEFAULT_REGION") != "") {
				// The SDK reads the process environment itself.
				t.Skip("the test process has AWS_REGION set; the SDK would find it")
			}
			srv := demoSim(t)
			env := feGitHubEnv(t, srv.URL, tc.inputs)
			maps.Copy(env, tc.env)
			r := feRunMain(t.Context(), nil, env)
			if r.code != exitFail {
				t.Errorf("exit code: got %d, want %d\nstdout:\n%s", r.code, exitFail, r.stdout)
			}
			errs := errorAnnotations(r.stdout.String())
			if len(errs) != len(tc.want) {
				t.Fatalf("got error lines %q, want %d", errs, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(errs[i], w) {
					t.Errorf("error %d: got %q, want prefix %q", i, errs[i], w)
				}
			}
			out := readFileCommands(t, env["GITHUB_OUTPUT"])
			if out["status"] != "failed" || !strings.HasPrefix(out["reason"], "invalid input: ") {
				t.Errorf("outputs: got status %q reason %q, want failed and invalid input", out["status"], out["reason"])
			}
			if calls := srv.Sim.Calls(); len(calls) != 0 {
				t.Errorf("got %d calls to ECS (first %s), want none", len(calls), calls[0].Op)
			}
			if !strings.Contains(readText(t, env["GITHUB_STEP_SUMMARY"]), "invalid input") {
				t.Errorf("summary does not say the input is invalid")
			}
		})
	}
}

func TestGitHubDeploy(t *testing.T) {
	t.Parallel()
	const arn1 = demoWeb1
	const arn2 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
	cases := []struct {
		name       string
		image      string
		extra      map[string]string
		wantCode   int
		wantStatus deployer.Status
		wantLines  []string // prefixes of stdout lines that must appear
		wantFinal  string   // the service's task definition afterwards
	}{
		{
			name: "good image", image: "public.ecr.aws/ecs-rollout/web:good",
			wantCode: exitOK, wantStatus: deployer.StatusSucceeded, wantFinal: arn2,
			wantLines: []string{"::group::Preflight", "::group::Watch deployment ecs-svc/", "ECS: (service web) has started", "::endgroup::", "::notice::Deployed web:2 to service web in cluster demo"},
		},
		{
			name: "crashing image", image: "public.ecr.aws/ecs-rollout/web:crash",
			wantCode: exitFail, wantStatus: deployer.StatusRolledBack, wantFinal: arn1,
			wantLines: []string{"::group::Roll back to web:1", "::group::Why it failed", `::error::container "app" exited with code 1`},
		},
		{
			name: "crashing image without rollback", image: "public.ecr.aws/ecs-rollout/web:crash", extra: map[string]string{"rollback": "false"},
			wantCode: exitFail, wantStatus: deployer.StatusFailed, wantFinal: arn2,
			wantLines: []string{"::error::"},
		},
		{
			name: "out of memory", image: "public.ecr.aws/ecs-rollout/web:oom",
			wantCode: exitFail, wantStatus: deployer.StatusRolledBack, wantFinal: arn1,
			wantLines: []string{`::error::container "app" exited with code 137`},
		},
		{
			name: "image pull failure", image: "public.ecr.aws/ecs-rollout/web:pull",
			wantCode: exitFail, wantStatus: deployer.StatusRolledBack, wantFinal: arn1,
			wantLines: []string{"::error::image pull failed: CannotPullContainerError"},
		},
		{
			name: "slow: timed out", image: "public.ecr.aws/ecs-rollout/web:slow", extra: map[string]string{"timeout": "400ms"},
			wantCode: exitFail, wantStatus: deployer.StatusRolledBack, wantFinal: arn1,
			wantLines: []string{"::error::timed out after 400ms"},
		},
		{
			name: "flaky, threshold 3", image: "public.ecr.aws/ecs-rollout/web:flaky", extra: map[string]string{"failed-tasks-threshold": "3"},
			wantCode: exitOK, wantStatus: deployer.StatusSucceeded, wantFinal: arn2,
		},
		{
			name: "dry run", image: "public.ecr.aws/ecs-rollout/web:good", extra: map[string]string{"dry-run": "true"},
			wantCode: exitOK, wantStatus: deployer.StatusDryRun, wantFinal: arn1,
			wantLines: []string{"::notice::Dry run for service web in cluster demo: nothing changed."},
		},
		{
			name: "no wait", image: "public.ecr.aws/ecs-rollout/web:pending", extra: map[string]string{"wait": "false"},
			wantCode: exitOK, wantStatus: deployer.StatusSucceeded, wantFinal: arn2,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := demoSim(t)
			inputs := map[string]string{"cluster": "demo", "service": "web", "image": tc.image, "poll-interval": "100ms", "timeout": "30s", "rollback-timeout": "30s"}
			for k, v := range tc.extra {
				inputs[k] = v
			}
			env := feGitHubEnv(t, srv.URL, inputs)
			r := feRunMain(t.Context(), nil, env)
			stdout := r.stdout.String()
			if r.code != tc.wantCode {
				t.Errorf("exit code: got %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.wantCode, stdout, r.stderr)
			}
			out := readFileCommands(t, env["GITHUB_OUTPUT"])
			if got := out["status"]; got != string(tc.wantStatus) {
				t.Errorf("status output: got %q, want %q (reason %q)", got, tc.wantStatus, out["reason"])
			}
			var names []string
			for k := range out {
				names = append(names, k)
			}
			if diff := cmp.Diff(feSorted(outputNames()), feSorted(names)); diff != "" {
				t.Errorf("outputs written (-want +got):\n%s", diff)
			}
			if tc.wantStatus != deployer.StatusDryRun {
				if out["previous-task-definition-arn"] != arn1 || out["task-definition-arn"] != arn2 || !strings.HasPrefix(out["deployment-id"], "ecs-svc/") {
					t.Errorf("outputs: got %v, want %s -> %s and a deployment ID", out, arn1, arn2)
				}
			}
			for _, w := range tc.wantLines {
				found := false
				for _, line := range strings.Split(stdout, "\n") {
					found = found || strings.HasPrefix(line, w)
				}
				if !found {
					t.Errorf("stdout has no line starting with %q:\n%s", w, stdout)
				}
			}
			// The log is for people: a progress line only when the counts
			// changed (the heartbeat is a minute away in these runs).
			last := ""
			for _, line := range strings.Split(stdout, "\n") {
				if !progressRE.MatchString(line) {
					continue
				}
				if line == last {
					t.Errorf("progress line repeated without a change: %q\n%s", line, stdout)
					break
				}
				last = line
			}
			if n, m := strings.Count(stdout, "::group::"), strings.Count(stdout, "::endgroup::"); n != m {
				t.Errorf("got %d groups and %d endgroups", n, m)
			}
			summary := readText(t, env["GITHUB_STEP_SUMMARY"])
			if !strings.HasPrefix(summary, "## "+report.StatusTitle(tc.wantStatus)+": ") {
				t.Errorf("summary starts with %q, want the %s headline", feFirstLine(summary), tc.wantStatus)
			}
			state := readFileCommands(t, env["GITHUB_STATE"])
			if state[stateStarted] != "true" || state[stateDone] != "true" {
				t.Errorf("state: got %v, want started and done", state)
			}
			svc, ok := srv.Sim.Service("demo", "web")
			if !ok || aws.ToString(svc.TaskDefinition) != tc.wantFinal {
				t.Errorf("service runs %s, want %s", aws.ToString(svc.TaskDefinition), tc.wantFinal)
			}
			if strings.Contains(stdout+r.stderr.String()+summary, testAWSSecret) {
				t.Errorf("the AWS secret key was printed")
			}
		})
	}
}

func feFirstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// TestGitHubSecretsNeverPrinted plants secret values in a task-definition
// file and checks that no byte the run writes carries them, except the
// ::add-mask:: commands that hide them.
func TestGitHubSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	const envSecret = "planted-env-value-7f3a9c"
	const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:planted-AbCdEf"
	srv := demoSim(t)
	env := feGitHubEnv(t, srv.URL, map[string]string{
		"cluster": "demo", "service": "web", "task-definition": "task-def.json", "image": "public.ecr.aws/ecs-rollout/web:crash",
		"poll-interval": "100ms", "timeout": "30s", "rollback-timeout": "30s",
	})
	td := `{"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
  "containerDefinitions": [{"name": "app", "image": "public.ecr.aws/ecs-rollout/web:v1", "essential": true,
    "environment": [{"name": "PASSWORD", "value": "` + envSecret + `"}],
    "secrets": [{"name": "API_KEY", "valueFrom": "` + secretARN + `"}]}]}`
	if err := os.WriteFile(filepath.Join(env["GITHUB_WORKSPACE"], "task-def.json"), []byte(td), 0o644); err != nil {
		t.Fatal(err)
	}
	r := feRunMain(t.Context(), nil, env)
	if r.code != exitFail {
		t.Errorf("exit code: got %d, want %d\n%s", r.code, exitFail, r.stdout)
	}
	stdout := r.stdout.String()
	for _, s := range []string{envSecret, secretARN} {
		if !strings.Contains(stdout, "::add-mask::"+s+"\n") {
			t.Errorf("no ::add-mask:: for %q", s)
		}
	}
	var rest []string
	for _, line := range strings.Split(stdout, "\n") {
		if !strings.HasPrefix(line, "::add-mask::") {
			rest = append(rest, line)
		}
	}
	written := strings.Join(rest, "\n") + r.stderr.String() + readText(t, env["GITHUB_OUTPUT"]) +
		readText(t, env["GITHUB_STEP_SUMMARY"]) + readText(t, env["GITHUB_STATE"])
	for _, s := range []string{envSecret, secretARN, "planted-AbCdEf"} {
		if strings.Contains(written, s) {
			t.Errorf("%q was printed", s)
		}
	}
	if got := readFileCommands(t, env["GITHUB_OUTPUT"])["status"]; got != "rolled-back" {
		t.Errorf("status: got %q, want rolled-back", got)
	}
}

func TestCLI(t *testing.T) {
	t.Parallel()
	t.Run("help lists every input with its default", func(t *testing.T) {
		t.Parallel()
		r := feRunMain(t.Context(), []string{"--help"}, map[string]string{})
		if r.code != exitOK {
			t.Errorf("exit code: got %d, want 0", r.code)
		}
		help := r.stdout.String()
		for _, in := range inputSpecs() {
			def := "(default: " + in.Default + ")"
			if in.Default == "" {
				def = "(default: none)"
			}
			if in.Required {
				def = "(required)"
			}
			found := false
			for _, line := range strings.Split(help, "\n") {
				found = found || (strings.HasPrefix(strings.TrimSpace(line), "--"+in.Name+" ") && strings.HasSuffix(line, def))
			}
			if !found {
				t.Errorf("--help has no line for --%s with default %s:\n%s", in.Name, def, help)
			}
		}
		for _, w := range []string{"--summary", "Exit codes:"} {
			if !strings.Contains(help, w) {
				t.Errorf("--help lacks %q", w)
			}
		}
	})
	t.Run("version", func(t *testing.T) {
		t.Parallel()
		for _, arg := range []string{"version", "--version"} {
			r := feRunMain(t.Context(), []string{arg}, map[string]string{})
			if r.code != exitOK || !strings.HasPrefix(r.stdout.String(), "ecs-rollout ") {
				t.Errorf("%s: got %d %q, want 0 and the version", arg, r.code, r.stdout)
			}
		}
	})
	t.Run("usage errors", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{{"--no-such-flag"}, {"deploy", "extra"}, {"frobnicate"}} {
			r := feRunMain(t.Context(), args, map[string]string{})
			if r.code != exitUsage {
				t.Errorf("%q: got exit code %d, want %d", args, r.code, exitUsage)
			}
		}
	})
	t.Run("bad flags", func(t *testing.T) {
		t.Parallel()
		srv := demoSim(t)
		r := feRunMain(t.Context(), []string{"--service", "web", "--timeout", "soon", "--on-busy", "queue"},
			map[string]string{"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_ECS": srv.URL})
		if r.code != exitFail {
			t.Errorf("exit code: got %d, want %d", r.code, exitFail)
		}
		for _, w := range []string{`error: timeout: "soon" is not a duration`, `error: on-busy: "queue" is not one of wait, fail`} {
			if !strings.Contains(r.stderr.String(), w) {
				t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
			}
		}
		if !strings.Contains(r.stdout.String(), "status=failed\n") {
			t.Errorf("stdout lacks status=failed:\n%s", r.stdout)
		}
		if n := len(srv.Sim.Calls()); n != 0 {
			t.Errorf("got %d calls, want none", n)
		}
	})
	t.Run("deploy prints outputs as name=value", func(t *testing.T) {
		t.Parallel()
		srv := demoSim(t)
		summary := filepath.Join(t.TempDir(), "summary.md")
		r := feRunMain(t.Context(), []string{"--cluster", "demo", "--service", "web", "--image", "public.ecr.aws/ecs-rollout/web:crash",
			"--poll-interval", "100ms", "--summary", summary},
			map[string]string{"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_ECS": srv.URL, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})
		if r.code != exitFail {
			t.Errorf("exit code: got %d, want %d\n%s", r.code, exitFail, r.stderr)
		}
		got := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(r.stdout.String()), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Errorf("stdout line %q is not name=value", line)
			}
			got[k] = v
		}
		if got["status"] != "rolled-back" || got["task-definition-arn"] == "" || got["deployment-id"] == "" {
			t.Errorf("outputs: got %v, want rolled-back with ARNs and ID", got)
		}
		if strings.Contains(r.stderr.String(), "::") {
			t.Errorf("CLI mode printed workflow commands:\n%s", r.stderr)
		}
		if !strings.HasPrefix(readText(t, summary), "## ↩️ Rolled back: ") {
			t.Errorf("summary file starts with %q", feFirstLine(readText(t, summary)))
		}
	})
}

// progressRE matches a progress line of the log.
var progressRE = regexp.MustCompile(`\d+/\d+ running, \d+ pending, \d+ failed`)

// demoWeb1 is the revision the demo scenario's service runs first.
const demoWeb1 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"

// TestPostStep checks the post step: nothing to do after a finished main
// step, and a rollback of a deployment the main step left unfinished.
func TestPostStep(t *testing.T) {
	t.Parallel()
	t.Run("nothing saved or main step finished", func(t *testing.T) {
		t.Parallel()
		srv := demoSim(t)
		for _, state := range []map[string]string{
			{"STATE_started": "true"},
			{"STATE_started": "true", "STATE_done": "true", "STATE_checkpoint": `{"Service":"web","Phase":"done"}`},
		} {
			env := feGitHubEnv(t, srv.URL, map[string]string{"service": "web", "image": "nginx:1"})
			for k, v := range state {
				env[k] = v
			}
			r := feRunMain(t.Context(), nil, env)
			if r.code != exitOK || !strings.Contains(r.stdout.String(), "nothing to do") {
				t.Errorf("state %v: got %d %q, want 0 and nothing to do", state, r.code, r.stdout)
			}
		}
		if n := len(srv.Sim.Calls()); n != 0 {
			t.Errorf("got %d calls, want none", n)
		}
	})
	t.Run("main step killed, on-cancel leave", func(t *testing.T) {
		t.Parallel()
		srv := demoSim(t)
		inputs := map[string]string{"cluster": "demo", "service": "web", "image": "public.ecr.aws/ecs-rollout/web:pending", "wait": "false", "on-cancel": "leave"}
		env := feGitHubEnv(t, srv.URL, inputs)
		if r := feRunMain(t.Context(), nil, env); r.code != exitOK {
			t.Fatalf("main step: exit code %d\n%s", r.code, r.stdout)
		}
		cp := readFileCommands(t, env["GITHUB_STATE"])[stateCheckpoint]
		postEnv := feGitHubEnv(t, srv.URL, inputs)
		postEnv["STATE_started"] = "true"
		postEnv["STATE_checkpoint"] = strings.Replace(cp, `"Phase":"done"`, `"Phase":"watching"`, 1)
		updates := len(srv.Sim.MutatingCalls())
		post := feRunMain(t.Context(), nil, postEnv)
		if post.code != exitOK || !strings.Contains(post.stdout.String(), "::warning::The main step was interrupted and the service is left as it is") {
			t.Errorf("post step: got %d\n%s\nwant 0 and a warning that the service is left", post.code, post.stdout)
		}
		if n := len(srv.Sim.MutatingCalls()); n != updates {
			t.Errorf("post step made %d mutating calls, want none", n-updates)
		}
	})
	t.Run("main step killed while watching", func(t *testing.T) {
		t.Parallel()
		srv := demoSim(t)
		// The main step starts a deployment that never finishes and is
		// "killed": it returns without waiting, and its done marker is
		// dropped, as if the process had died.
		env := feGitHubEnv(t, srv.URL, map[string]string{"cluster": "demo", "service": "web", "image": "public.ecr.aws/ecs-rollout/web:pending", "wait": "false"})
		r := feRunMain(t.Context(), nil, env)
		if r.code != exitOK {
			t.Fatalf("main step: exit code %d\n%s", r.code, r.stdout)
		}
		state := readFileCommands(t, env["GITHUB_STATE"])
		if state[stateCheckpoint] == "" {
			t.Fatalf("main step saved no checkpoint: %v", state)
		}
		postEnv := feGitHubEnv(t, srv.URL, map[string]string{"cluster": "demo", "service": "web", "image": "public.ecr.aws/ecs-rollout/web:pending"})
		postEnv["STATE_started"] = "true"
		postEnv["STATE_checkpoint"] = strings.Replace(state[stateCheckpoint], `"Phase":"done"`, `"Phase":"watching"`, 1)
		post := feRunMain(t.Context(), nil, postEnv)
		t.Logf("post step:\n%s", post.stdout)
		if post.code != exitOK {
			t.Errorf("post step: exit code %d, want 0", post.code)
		}
		if !strings.Contains(post.stdout.String(), "::warning::The main step was interrupted") {
			t.Errorf("post step did not say it rolled back:\n%s", post.stdout)
		}
		waitFor(t, 5*time.Second, "the primary deployment to run web:1", func() bool {
			d, ok := srv.Sim.PrimaryDeployment("demo", "web")
			return ok && aws.ToString(d.TaskDefinition) == demoWeb1
		})
	})
	t.Run("rollback the cancelled main step could not issue", func(t *testing.T) {
		t.Parallel()
		// The main step is cancelled while watching, and its rollback's
		// UpdateService is held past the grace period the deployer gives
		// calls after a cancel: the main step ends without a rollback, and
		// the post step must issue it.
		srv := demoSim(t)
		inputs := map[string]string{"cluster": "demo", "service": "web", "image": "public.ecr.aws/ecs-rollout/web:pending",
			"poll-interval": "100ms", "timeout": "1m"}
		env := feGitHubEnv(t, srv.URL, inputs)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		held := make(chan *ecssim.Hold, 1)
		go func() {
			eventually(10*time.Second, func() bool { return watching(srv) })
			held <- srv.Sim.Hold("UpdateService")
			cancel()
		}()
		r := feRunMain(ctx, nil, env)
		// The simulator sees the client give up a moment later; only then
		// may the hold go, or it would answer the abandoned call.
		waitFor(t, 10*time.Second, "the main step's rollback to be given up", func() bool {
			for _, c := range srv.Sim.Calls() {
				if c.Op == "UpdateService" && c.ErrCode == "RequestCancelled" {
					return true
				}
			}
			return false
		})
		(<-held).Release()
		if r.code != exitFail {
			t.Fatalf("main step: exit code %d, want %d\n%s", r.code, exitFail, r.stdout)
		}
		if n := len(updatesTo(srv, demoWeb1)); n != 0 {
			t.Fatalf("the main step's rollback went through (%d calls); the hold did not keep it in flight\n%s", n, r.stdout)
		}
		state := readFileCommands(t, env["GITHUB_STATE"])
		postEnv := feGitHubEnv(t, srv.URL, inputs)
		for k, v := range state {
			postEnv["STATE_"+k] = v
		}
		post := feRunMain(t.Context(), nil, postEnv)
		if post.code != exitOK || !strings.Contains(post.stdout.String(), "::warning::The main step was interrupted") {
			t.Errorf("post step: got %d, want 0 and a warning that it rolled back\nstate: %v\n%s", post.code, state, post.stdout)
		}
		if n := len(updatesTo(srv, demoWeb1)); n != 1 {
			t.Errorf("post step: got %d rollbacks to web:1, want 1\n%s", n, post.stdout)
		}
	})
}

// TestCancel checks that a cancelled run (SIGINT/SIGTERM cancel the
// context) still reports: status cancelled, outputs, summary, exit 1.
func TestCancel(t *testing.T) {
	t.Parallel()
	srv := demoSim(t)
	env := feGitHubEnv(t, srv.URL, map[string]string{"cluster": "demo", "service": "web", "image": "public.ecr.aws/ecs-rollout/web:pending",
		"poll-interval": "100ms", "timeout": "1m", "rollback-timeout": "5s"})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		// Cancel once the watch has begun.
		eventually(10*time.Second, func() bool { return watching(srv) })
		cancel()
	}()
	start := time.Now()
	r := feRunMain(ctx, nil, env)
	t.Logf("cancelled run took %s after start", time.Since(start))
	if r.code != exitFail {
		t.Errorf("exit code: got %d, want %d", r.code, exitFail)
	}
	out := readFileCommands(t, env["GITHUB_OUTPUT"])
	if out["status"] != "cancelled" {
		t.Errorf("status: got %q (%s), want cancelled\n%s", out["status"], out["reason"], r.stdout)
	}
	if !strings.HasPrefix(readText(t, env["GITHUB_STEP_SUMMARY"]), "## ⏹️ Cancelled") {
		t.Errorf("summary does not start with the cancelled headline: %q", feFirstLine(readText(t, env["GITHUB_STEP_SUMMARY"])))
	}
}

// TestGitHubOfficialActionInputs runs the action with the inputs a
// workflow written for aws-actions/amazon-ecs-deploy-task-definition gives.
func TestGitHubOfficialActionInputs(t *testing.T) {
	t.Parallel()
	srv := demoSim(t)
	env := feGitHubEnv(t, srv.URL, map[string]string{
		"task-definition": "task-definition.json", "service": "web", "cluster": "demo",
		"wait-for-service-stability": "true", "wait-for-minutes": "1", "poll-interval": "100ms",
	})
	td := `{"taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1", "revision": 1, "status": "ACTIVE",
  "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": "1024",
  "containerDefinitions": [{"name": "app", "image": "public.ecr.aws/ecs-rollout/web:good", "essential": true,
    "environment": [{"name": "EMPTY", "value": ""}]}]}`
	if err := os.WriteFile(filepath.Join(env["GITHUB_WORKSPACE"], "task-definition.json"), []byte(td), 0o644); err != nil {
		t.Fatal(err)
	}
	r := feRunMain(t.Context(), nil, env)
	if r.code != exitOK {
		t.Fatalf("exit code: got %d, want 0\n%s", r.code, r.stdout)
	}
	out := readFileCommands(t, env["GITHUB_OUTPUT"])
	if out["status"] != "succeeded" || out["task-definition-arn"] != "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2" {
		t.Errorf("outputs: got %v, want succeeded with web:2", out)
	}
	if !strings.Contains(r.stdout.String(), "task-definition: ignoring revision") {
		t.Errorf("the log does not say read-only fields were ignored:\n%s", r.stdout)
	}
	var registered []string
	for _, td := range srv.Sim.TaskDefinitions() {
		if td.Revision == 2 {
			registered = append(registered, aws.ToString(td.Cpu), aws.ToString(td.Memory), aws.ToString(td.ContainerDefinitions[0].Image))
		}
	}
	if diff := cmp.Diff([]string{"512", "1024", "public.ecr.aws/ecs-rollout/web:good"}, registered); diff != "" {
		t.Errorf("registered web:2 from the file (-want +got):\n%s", diff)
	}
}

// TestInputsWithoutGitHubActions checks that INPUT_* variables alone make
// an action run (a harness may leave GITHUB_ACTIONS out).
func TestInputsWithoutGitHubActions(t *testing.T) {
	t.Parallel()
	t.Run("bad input", func(t *testing.T) {
		t.Parallel()
		env := map[string]string{"INPUT_SERVICE": "web", "INPUT_TIMEOUT": "abc", "AWS_REGION": "us-east-1"}
		r := feRunMain(t.Context(), nil, env)
		if r.code != exitFail || !strings.Contains(r.stdout.String(), `::error::timeout: "abc" is not a duration`) {
			t.Errorf("got %d and\n%s\nwant 1 and an ::error:: naming timeout", r.code, r.stdout)
		}
	})
	t.Run("deploy", func(t *testing.T) {
		t.Parallel()
		srv := demoSim(t)
		env := feGitHubEnv(t, srv.URL, map[string]string{"cluster": "demo", "service": "web", "image": "public.ecr.aws/ecs-rollout/web:good", "poll-interval": "100ms"})
		delete(env, "GITHUB_ACTIONS")
		r := feRunMain(t.Context(), nil, env)
		if r.code != exitOK {
			t.Errorf("exit code: got %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
		}
		if got := readFileCommands(t, env["GITHUB_OUTPUT"])["status"]; got != "succeeded" {
			t.Errorf("status output: got %q, want succeeded", got)
		}
	})
}

// TestGitHubPreflightErrors checks problems only ECS can reveal: they fail
// the step with an ::error:: naming the input or resource, and nothing is
// changed (no mutating call in the simulator's call log).
func TestGitHubPreflightErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		inputs map[string]string
		want   string // in the ::error:: line
	}{
		{"unknown container", map[string]string{"container-name": "api"}, "api"},
		{"unknown service", map[string]string{"service": "nope"}, "nope"},
		{"unknown cluster", map[string]string{"cluster": "nowhere"}, "nowhere"},
		{"images with an unknown container", map[string]string{"image": "", "images": "app=public.ecr.aws/ecs-rollout/web:good\nsidecar=busybox:1"}, "sidecar"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := demoSim(t)
			inputs := map[string]string{"cluster": "demo", "service": "web", "image": "public.ecr.aws/ecs-rollout/web:good", "poll-interval": "100ms"}
			maps.Copy(inputs, tc.inputs)
			env := feGitHubEnv(t, srv.URL, inputs)
			r := feRunMain(t.Context(), nil, env)
			if r.code != exitFail {
				t.Errorf("exit code: got %d, want %d\n%s", r.code, exitFail, r.stdout)
			}
			errs := errorAnnotations(r.stdout.String())
			if len(errs) != 1 || !strings.Contains(errs[0], tc.want) {
				t.Errorf("got error lines %q, want one naming %q", errs, tc.want)
			}
			if got := readFileCommands(t, env["GITHUB_OUTPUT"])["status"]; got != "failed" {
				t.Errorf("status: got %q, want failed", got)
			}
			if calls := srv.Sim.MutatingCalls(); len(calls) != 0 {
				t.Errorf("got %d mutating calls (first %s), want none", len(calls), calls[0].Op)
			}
		})
	}
}
