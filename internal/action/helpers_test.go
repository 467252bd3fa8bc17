package action

// One set of test helpers for the root package: building and running the
// binary as a GitHub Action step, starting the simulator, reading the
// runner's files, buffers shared with the code under test, and waiting.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The tests in cancel_test.go, post_test.go and secrets_test.go run the
// real binary, built once per test run with the Dockerfile's build line
// (.ci/build.sh), in a GitHub-like environment against an in-process
// simulator.

// binaryDir holds the binary built for this test run (set by TestMain).
var binaryDir string

// binaryBuild builds the binary at most once per run.
var binaryBuild struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// TestMain runs the tests from the repository's root, where the files they
// read (action.yml, README.md, docs/, testdata/, iam-policy.json) and
// .ci/build.sh live, as the binary's users see them.
func TestMain(m *testing.M) {
	if err := os.Chdir(filepath.Join("..", "..")); err != nil {
		fmt.Fprintln(os.Stderr, "run from the repository's root:", err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "ecs-rollout-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create the binary's directory:", err)
		os.Exit(1)
	}
	binaryDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// actionBinary returns the path of the binary, built with .ci/build.sh.
func actionBinary(t *testing.T) string {
	t.Helper()
	b := &binaryBuild
	b.once.Do(func() {
		b.path = filepath.Join(binaryDir, "ecs-rollout")
		cmd := exec.Command("bash", ".ci/build.sh", b.path, "test")
		b.out, b.err = cmd.CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("build the binary with .ci/build.sh: %v\n%s", b.err, b.out)
	}
	return b.path
}

// slowScenario is cluster "prod" with service "web" (two tasks of web:1,
// one container "app"). Images ending in ":slow" take a minute to start,
// ":crash" crash, anything else is healthy.
func slowScenario() ecssim.Scenario {
	sc := ecssim.OneService("prod", "web", ecssim.FargateApp("web", "repo/app:1"), 2)
	sc.ImageRules = []ecssim.ImageRule{
		{Image: "*:slow", Behavior: ecssim.BehaviorSlow, After: ecssim.Duration(time.Minute)},
		{Image: "*:crash", Behavior: ecssim.BehaviorCrash},
		{Image: "*", Behavior: ecssim.BehaviorHealthy},
	}
	return sc
}

// errorAnnotations returns the ::error lines of a workflow-command log, in order.
func errorAnnotations(out string) []string {
	var errs []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "::error") {
			errs = append(errs, line)
		}
	}
	return errs
}

// lockedBuffer is a bytes.Buffer safe for a child's output and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// actionRun is one run of the binary as a GitHub Action step.
type actionRun struct {
	t      *testing.T
	dir    string
	env    map[string]string
	output string // GITHUB_OUTPUT
	sum    string // GITHUB_STEP_SUMMARY
	state  string // GITHUB_STATE
	stdout lockedBuffer
	stderr lockedBuffer
	cmd    *exec.Cmd
	done   chan struct{}
	code   int
	// bin, when set, is the path to start instead of the binary (e.g. a
	// link named as the action's post-entrypoint).
	bin string
}

// testAWSSecret and testSessionToken are the dummy credentials every run
// gets; secrets_test.go checks they never appear in what the binary writes.
const (
	testAWSSecret    = "wJalrXUtnFEMI-test-secret-key-3b7e"
	testSessionToken = "FwoGZXIvYXdzE-test-session-token-91c2"
)

// newActionRun prepares a run against srv with the given inputs (names as
// in action.yml) on top of service web in cluster prod.
func newActionRun(t *testing.T, srv *ecssim.Server, inputs map[string]string) *actionRun {
	t.Helper()
	dir := t.TempDir()
	r := &actionRun{
		t:      t,
		dir:    dir,
		output: filepath.Join(dir, "github_output"),
		sum:    filepath.Join(dir, "github_step_summary"),
		state:  filepath.Join(dir, "github_state"),
	}
	for _, f := range []string{r.output, r.sum, r.state} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.env = runnerEnv(dir, srv.URL)
	base := map[string]string{
		"cluster": "prod", "service": "web", "container-name": "app",
		"poll-interval": "100ms", "timeout": "30s", "rollback-timeout": "30s",
	}
	for k, v := range inputs {
		base[k] = v
	}
	setInputs(r.env, base)
	return r
}

// runnerEnv is the environment GitHub's runner gives the action's
// container: the runner's files (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY,
// GITHUB_STATE) in dir, which is also the workspace and HOME; the
// simulator at url as the ECS and Logs endpoint; dummy credentials
// (testAWSSecret, testSessionToken); no shared AWS configuration.
func runnerEnv(dir, url string) map[string]string {
	return map[string]string{
		"PATH":                             os.Getenv("PATH"),
		"HOME":                             dir,
		"GITHUB_ACTIONS":                   "true",
		"GITHUB_WORKSPACE":                 dir,
		"GITHUB_OUTPUT":                    filepath.Join(dir, "github_output"),
		"GITHUB_STEP_SUMMARY":              filepath.Join(dir, "github_step_summary"),
		"GITHUB_STATE":                     filepath.Join(dir, "github_state"),
		"RUNNER_TEMP":                      dir,
		"AWS_REGION":                       "us-east-1",
		"AWS_ACCESS_KEY_ID":                "AKIDTESTCANCEL",
		"AWS_SECRET_ACCESS_KEY":            testAWSSecret,
		"AWS_SESSION_TOKEN":                testSessionToken,
		"AWS_ENDPOINT_URL_ECS":             url,
		"AWS_ENDPOINT_URL_LOGS":            url,
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": url,
		"AWS_ENDPOINT_URL_CLOUDWATCH":      url,
		"AWS_ENDPOINT_URL_CODEDEPLOY":      url,
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_CONFIG_FILE":                  filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE":      filepath.Join(dir, "no-aws-credentials"),
	}
}

// setInputs sets the action's inputs (names as in action.yml) in env as
// the runner passes them (INPUT_<NAME>).
func setInputs(env, inputs map[string]string) {
	for k, v := range inputs {
		env[inputEnvName(k)] = v
	}
}

// start runs the binary with args.
func (r *actionRun) start(args ...string) {
	r.t.Helper()
	bin := actionBinary(r.t)
	if r.bin != "" {
		bin = r.bin
	}
	cmd := exec.Command(bin, args...)
	for k, v := range r.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = &r.stdout, &r.stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start the binary: %v", err)
	}
	r.cmd, r.done = cmd, make(chan struct{})
	go func() {
		defer close(r.done)
		err := cmd.Wait()
		r.code = cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.code = -int(ws.Signal())
		} else if err != nil && r.code == 0 {
			r.code = -1
		}
	}()
	r.t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			cmd.Process.Kill()
			<-r.done
		}
	})
}

// wait waits up to d for the process to exit and returns its exit code
// (negative: killed by that signal). It fails the test on a timeout.
func (r *actionRun) wait(d time.Duration) int {
	r.t.Helper()
	select {
	case <-r.done:
		return r.code
	case <-time.After(d):
		r.t.Fatalf("the binary did not exit within %s\nstdout:\n%s\nstderr:\n%s", d, r.stdout.String(), r.stderr.String())
		return 0
	}
}

// run runs the binary to the end (at most a minute) and returns its exit code.
func (r *actionRun) run(args ...string) int {
	r.t.Helper()
	r.start(args...)
	return r.wait(time.Minute)
}

func (r *actionRun) signal(sig os.Signal) {
	r.t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("send %v: %v", sig, err)
	}
}

// readFileCommands parses a GitHub file-command file (GITHUB_OUTPUT,
// GITHUB_STATE): name<<DELIM lines, or name=value lines. A file that does
// not exist holds nothing.
func readFileCommands(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return map[string]string{}
	}
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, delim, ok := strings.Cut(line, "<<"); ok {
			var val []string
			for sc.Scan() && sc.Text() != delim {
				val = append(val, sc.Text())
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		if name, val, ok := strings.Cut(line, "="); ok {
			out[name] = val
		}
	}
	return out
}

func (r *actionRun) outputs() map[string]string { return readFileCommands(r.t, r.output) }
func (r *actionRun) states() map[string]string  { return readFileCommands(r.t, r.state) }

func (r *actionRun) summary() string {
	b, err := os.ReadFile(r.sum)
	if err != nil {
		r.t.Fatalf("read the summary: %v", err)
	}
	return string(b)
}

func (r *actionRun) dump() string {
	return fmt.Sprintf("stdout:\n%s\nstderr:\n%s\noutputs: %q\nsummary:\n%s", r.stdout.String(), r.stderr.String(), r.outputs(), r.summary())
}

// eventually polls cond every 10 ms for up to d and reports whether it
// became true. It is the one deadline loop of the package's tests; it may
// run on any goroutine.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// waitFor waits up to d for cond and fails the test if it stays false.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !eventually(d, cond) {
		t.Fatalf("timed out after %s waiting for %s", d, what)
	}
}

// callTaskDefinition returns the taskDefinition member of a call's input.
func callTaskDefinition(c ecssim.Call) string {
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	_ = json.Unmarshal(c.Input, &in)
	return in.TaskDefinition
}

// updatesTo returns the successful UpdateService calls naming taskDef
// (any task definition when taskDef is "").
func updatesTo(srv *ecssim.Server, taskDef string) []ecssim.Call {
	var out []ecssim.Call
	for _, c := range srv.Sim.Calls() {
		if c.Op == "UpdateService" && c.ErrCode == "" && (taskDef == "" || callTaskDefinition(c) == taskDef) {
			out = append(out, c)
		}
	}
	return out
}

// watching reports whether the run is watching its deployment: our
// update was applied and the service was read after it.
func watching(srv *ecssim.Server) bool {
	calls := srv.Sim.Calls()
	updated := false
	for _, c := range calls {
		if c.Op == "UpdateService" && c.ErrCode == "" {
			updated = true
		}
		if updated && c.Op == "DescribeServices" && c.ErrCode == "" {
			return true
		}
	}
	return false
}

// demoSim starts the demo scenario's simulator for one test: cluster
// "demo", service "web" on web:1, images tagged :good healthy, :crash
// crashing, :pending stuck.
//
// mutate, when given, changes the scenario first.
func demoSim(t *testing.T, mutate ...func(*ecssim.Scenario)) *ecssim.Server {
	t.Helper()
	sc, err := ecssim.LoadScenario(filepath.Join("internal", "action", "scenarios", "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mutate {
		m(&sc)
	}
	return ecssimtest.NewServer(t, sc)
}

// feRun is one run of the binary's realMain with a GitHub runner's files.
type feRun struct {
	env    map[string]string
	stdout *lockedBuffer
	stderr *lockedBuffer
	code   int
}

// feGitHubEnv is the environment of the action's container: GitHub's files in
// a temp dir, the AWS variables pointing at url, and the inputs.
func feGitHubEnv(t *testing.T, url string, inputs map[string]string) map[string]string {
	t.Helper()
	env := runnerEnv(t.TempDir(), url)
	setInputs(env, inputs)
	return env
}

func feRunMain(ctx context.Context, args []string, env map[string]string) *feRun {
	r := &feRun{env: env, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	r.code = realMain(ctx, args, func(k string) string { return env[k] }, r.stdout, r.stderr)
	return r
}

// readText reads a file the code wrote ("" when it wrote none).
func readText(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}
