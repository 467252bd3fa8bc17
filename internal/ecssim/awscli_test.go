package ecssim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// awsCLI runs `aws <args>` against the simulator with dummy credentials
// and returns its decoded JSON output, or its stderr when it fails.
//
// Starting awscli costs a Python interpreter and botocore's imports, a
// second or more per command on a busy machine, and the wire tests run
// dozens. So when python3 on PATH can import awscli (as in .ci/run's
// environment) one long-lived interpreter runs every command through
// awscli's own entry point (awscli.clidriver, what the `aws` script calls);
// otherwise each command is an `aws` process.
type awsCLI struct {
	t   *testing.T
	bin string
	url string
	env []string

	mu  sync.Mutex // one command at a time through drv
	drv *cliDriver
}

// cliDriverSrc reads one JSON argv per line and answers each with one JSON
// line: the exit code, stdout and stderr of `aws argv...`.
const cliDriverSrc = `
import sys, json, io, contextlib
from awscli.clidriver import create_clidriver
driver = create_clidriver()
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    argv = json.loads(line)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = driver.main(argv)
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else 1
    sys.__stdout__.write(json.dumps({"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n")
    sys.__stdout__.flush()
`

// cliDriver is the long-lived interpreter of cliDriverSrc.
type cliDriver struct {
	in  io.WriteCloser
	out *bufio.Reader
}

// startCLIDriver starts the interpreter, or returns nil when python3
// cannot run awscli in process. It is stopped when the test ends.
func startCLIDriver(t *testing.T, env []string) *cliDriver {
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil
	}
	cmd := exec.Command(py, "-c", cliDriverSrc)
	cmd.Env = env
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil
	}
	if err := cmd.Start(); err != nil {
		return nil
	}
	t.Cleanup(func() {
		in.Close()
		_ = cmd.Wait()
	})
	d := &cliDriver{in: in, out: bufio.NewReader(stdout)}
	var ready struct{ Ready bool }
	if line, err := d.out.ReadBytes('\n'); err != nil || json.Unmarshal(line, &ready) != nil || !ready.Ready {
		return nil // no awscli for this python3: one process per command
	}
	return d
}

// call runs one command through the driver.
func (d *cliDriver) call(argv []string) (stdout, stderr string, err error) {
	b, _ := json.Marshal(argv)
	if _, err := d.in.Write(append(b, '\n')); err != nil {
		return "", "", fmt.Errorf("awscli driver: %w", err)
	}
	line, err := d.out.ReadBytes('\n')
	if err != nil {
		return "", "", fmt.Errorf("awscli driver: %w", err)
	}
	var res struct {
		RC             int
		Stdout, Stderr string
	}
	if err := json.Unmarshal(line, &res); err != nil {
		return "", "", fmt.Errorf("awscli driver answered %q: %w", line, err)
	}
	if res.RC != 0 {
		return res.Stdout, res.Stderr, fmt.Errorf("exit status %d", res.RC)
	}
	return res.Stdout, res.Stderr, nil
}

func newAWSCLI(t *testing.T, url string) *awsCLI {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("awscli is not installed (the `aws` command is missing from PATH): CI must have it (.ci/run installs it): %v", err)
		}
		t.Skip("awscli is not installed (the `aws` command is missing from PATH); .ci/run installs it. Skipping the independent-client wire test.")
	}
	dir := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard",
	)
	return &awsCLI{t: t, bin: bin, url: url, env: env, drv: startCLIDriver(t, env)}
}

func (a *awsCLI) run(args ...string) (map[string]any, string, error) {
	a.t.Helper()
	full := append([]string{"--endpoint-url", a.url, "--region", "us-east-1", "--output", "json"}, args...)
	var stdout, stderr string
	if a.drv != nil {
		a.mu.Lock()
		var err error
		stdout, stderr, err = a.drv.call(full)
		a.mu.Unlock()
		if err != nil {
			return nil, stderr, err
		}
	} else {
		cmd := exec.Command(a.bin, full...)
		cmd.Env = a.env
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Run(); err != nil {
			return nil, e.String(), err
		}
		stdout, stderr = o.String(), e.String()
	}
	var m map[string]any
	if stdout != "" {
		if err := json.Unmarshal([]byte(stdout), &m); err != nil {
			return nil, stdout, fmt.Errorf("output is not JSON: %w", err)
		}
	}
	return m, stderr, nil
}

type cliResult struct {
	m      map[string]any
	stderr string
	err    error
}

// all runs several awscli commands at once (they are slow to start).
func (a *awsCLI) all(cmds ...[]string) []cliResult {
	out := make([]cliResult, len(cmds))
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, stderr, err := a.run(c...)
			out[i] = cliResult{m, stderr, err}
		}()
	}
	wg.Wait()
	return out
}

// okAll is all, failing the test if any command failed.
func (a *awsCLI) okAll(cmds ...[]string) []map[string]any {
	a.t.Helper()
	res := a.all(cmds...)
	ms := make([]map[string]any, len(res))
	for i, r := range res {
		if r.err != nil {
			a.t.Fatalf("aws %s: %v\n%s", strings.Join(cmds[i], " "), r.err, r.stderr)
		}
		ms[i] = r.m
	}
	return ms
}

func (a *awsCLI) ok(args ...string) map[string]any {
	a.t.Helper()
	m, stderr, err := a.run(args...)
	if err != nil {
		a.t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return m
}

// dig walks m along keys (strings for objects, ints for lists).
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// TestAWSCLIWire proves the wire format with an independent client: awscli
// (botocore) calls every operation of the standalone simulator and parses
// each response.
func TestAWSCLIWire(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("awscli wire test skipped with -short: it starts a dozen awscli processes (seconds each)")
	}
	sc := bigScenario(t, 120) // more than one ListTasks page
	srv, err := Start("127.0.0.1:0", sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cli := newAWSCLI(t, srv.URL)

	errCases := []struct {
		args []string
		want string
	}{
		{[]string{"ecs", "describe-services", "--cluster", "nope", "--services", "web"}, "ClusterNotFoundException"},
		{[]string{"ecs", "update-service", "--cluster", "demo", "--service", "ghost", "--desired-count", "1"}, "ServiceNotFoundException"},
		{[]string{"ecs", "describe-task-definition", "--task-definition", "nope:3"}, "ClientException"},
	}
	var errCmds [][]string
	for _, tc := range errCases {
		errCmds = append(errCmds, tc.args)
	}
	errRes := cli.all(errCmds...)
	for i, tc := range errCases {
		if r := errRes[i]; r.err == nil || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("aws %s: got err %v stderr %q, want a failure naming %s", strings.Join(tc.args, " "), r.err, r.stderr, tc.want)
		}
	}

	first := cli.okAll(
		[]string{"ecs", "describe-clusters", "--clusters", "demo"},
		[]string{"ecs", "describe-services", "--cluster", "demo", "--services", "web", "ghost"},
		[]string{"ecs", "describe-task-definition", "--task-definition", "web:1", "--include", "TAGS"},
	)
	m := first[0]
	if got := dig(m, "clusters", 0, "clusterName"); got != "demo" {
		t.Errorf("describe-clusters: clusterName got %v, want demo", got)
	}

	m = first[1]
	if got := dig(m, "services", 0, "deployments", 0, "rolloutState"); got != "COMPLETED" {
		t.Errorf("describe-services: rolloutState got %v, want COMPLETED", got)
	}
	if got := dig(m, "services", 0, "deployments", 0, "failedTasks"); got != 0.0 {
		t.Errorf("describe-services: failedTasks got %v, want 0 (present even when zero)", got)
	}
	if got := dig(m, "failures", 0, "reason"); got != "MISSING" {
		t.Errorf("describe-services: failure reason got %v, want MISSING", got)
	}
	if ts, ok := dig(m, "services", 0, "createdAt").(float64); !ok || ts < 1.6e9 {
		t.Errorf("describe-services: createdAt got %v, want epoch seconds", dig(m, "services", 0, "createdAt"))
	}

	m = first[2]
	if got := dig(m, "taskDefinition", "containerDefinitions", 0, "logConfiguration", "options", "awslogs-group"); got != "/ecs/web" {
		t.Errorf("describe-task-definition: awslogs-group got %v, want /ecs/web", got)
	}
	if got := dig(m, "tags", 0, "key"); got != "team" {
		t.Errorf("describe-task-definition: first tag got %v, want team", got)
	}

	// Register a copy with a new image from what describe returned.
	td := dig(m, "taskDefinition").(map[string]any)
	for _, k := range []string{"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy"} {
		delete(td, k)
	}
	td["containerDefinitions"].([]any)[0].(map[string]any)["image"] = "public.ecr.aws/ecs-rollout/web:good"
	td["tags"] = []any{map[string]any{"key": "via", "value": "awscli"}}
	input, _ := json.Marshal(td)
	path := filepath.Join(t.TempDir(), "td.json")
	if err := os.WriteFile(path, input, 0o600); err != nil {
		t.Fatal(err)
	}
	m = cli.ok("ecs", "register-task-definition", "--cli-input-json", "file://"+path)
	if got := dig(m, "taskDefinition", "revision"); got != 2.0 {
		t.Errorf("register-task-definition: revision got %v, want 2", got)
	}
	arn, _ := dig(m, "taskDefinition", "taskDefinitionArn").(string)

	m = cli.ok("ecs", "update-service", "--cluster", "demo", "--service", "web", "--task-definition", arn,
		"--deployment-configuration", "maximumPercent=200,minimumHealthyPercent=100,deploymentCircuitBreaker={enable=true,rollback=true}")
	id, _ := dig(m, "service", "deployments", 0, "id").(string)
	if !deploymentIDRe.MatchString(id) || dig(m, "service", "deployments", 0, "rolloutState") != "IN_PROGRESS" {
		t.Errorf("update-service: PRIMARY got %v %v, want a new IN_PROGRESS deployment", id, dig(m, "service", "deployments", 0, "rolloutState"))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		late := time.Now().After(deadline)
		svc, _ := srv.Sim.Service("demo", "web")
		if len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted {
			break
		}
		if late {
			t.Fatalf("rollout did not complete: %s", fmtDeployments(svc.Deployments))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// awscli follows nextToken itself: 120 tasks over two pages.
	later := cli.okAll(
		[]string{"ecs", "describe-services", "--cluster", "demo", "--services", "web"},
		[]string{"ecs", "list-tasks", "--cluster", "demo", "--started-by", id},
		[]string{"ecs", "list-tasks", "--cluster", "demo", "--desired-status", "STOPPED", "--service-name", "web", "--page-size", "50"},
		[]string{"ecs", "deregister-task-definition", "--task-definition", "web:1"},
	)
	if got := dig(later[0], "services", 0, "events", 0, "message"); got != "(service web) has reached a steady state." {
		t.Errorf("describe-services after rollout: newest event got %v", got)
	}
	arns, _ := dig(later[1], "taskArns").([]any)
	if len(arns) != 120 {
		t.Fatalf("list-tasks: got %d tasks, want 120", len(arns))
	}
	if stopped, _ := dig(later[2], "taskArns").([]any); len(stopped) != 120 {
		t.Errorf("list-tasks STOPPED: got %d tasks, want 120", len(stopped))
	}
	if got := dig(later[3], "taskDefinition", "status"); got != "INACTIVE" {
		t.Errorf("deregister-task-definition: status got %v, want INACTIVE", got)
	}

	taskID := arns[0].(string)[strings.LastIndex(arns[0].(string), "/")+1:]
	last := cli.okAll(
		[]string{"ecs", "describe-tasks", "--cluster", "demo", "--tasks", arns[0].(string), arns[1].(string)},
		[]string{"logs", "get-log-events", "--log-group-name", "/ecs/web", "--log-stream-name", "web/app/" + taskID, "--start-from-head"},
	)
	if got := dig(last[0], "tasks", 0, "lastStatus"); got != "RUNNING" {
		t.Errorf("describe-tasks: lastStatus got %v, want RUNNING", got)
	}
	if got := dig(last[0], "tasks", 0, "startedBy"); got != id {
		t.Errorf("describe-tasks: startedBy got %v, want %s", got, id)
	}
	if got := dig(last[1], "events", 0, "message"); got != sc.Logs[BehaviorHealthy][0] {
		t.Errorf("get-log-events: first message got %v, want %q", got, sc.Logs[BehaviorHealthy][0])
	}

	// Every call above reached the simulator as the operation awscli meant.
	ops := map[string]bool{}
	for _, c := range srv.Sim.Calls() {
		ops[c.Op] = true
	}
	for _, op := range []string{"DescribeClusters", "DescribeServices", "DescribeTaskDefinition", "RegisterTaskDefinition", "UpdateService", "ListTasks", "DescribeTasks", "GetLogEvents", "DeregisterTaskDefinition"} {
		if !ops[op] {
			t.Errorf("operation %s never reached the simulator", op)
		}
	}
}
