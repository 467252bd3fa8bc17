package main

import (
	"bufio"
	"bytes"
	"encoding/json"
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
)

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

func TestMain(m *testing.M) {
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

// startSim serves sc on a loopback port for the test's duration.
func startSim(t *testing.T, sc ecssim.Scenario) *ecssim.Server {
	t.Helper()
	srv, err := ecssim.Start("127.0.0.1:0", sc)
	if err != nil {
		t.Fatalf("start the simulator: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv
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
	r.env = map[string]string{
		"PATH":                             os.Getenv("PATH"),
		"HOME":                             dir,
		"GITHUB_ACTIONS":                   "true",
		"GITHUB_WORKSPACE":                 dir,
		"GITHUB_OUTPUT":                    r.output,
		"GITHUB_STEP_SUMMARY":              r.sum,
		"GITHUB_STATE":                     r.state,
		"AWS_REGION":                       "us-east-1",
		"AWS_ACCESS_KEY_ID":                "AKIDTESTCANCEL",
		"AWS_SECRET_ACCESS_KEY":            testAWSSecret,
		"AWS_SESSION_TOKEN":                testSessionToken,
		"AWS_ENDPOINT_URL_ECS":             srv.URL,
		"AWS_ENDPOINT_URL_LOGS":            srv.URL,
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": srv.URL,
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_CONFIG_FILE":                  filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE":      filepath.Join(dir, "no-aws-credentials"),
	}
	base := map[string]string{
		"cluster": "prod", "service": "web", "container-name": "app",
		"poll-interval": "100ms", "timeout": "30s", "rollback-timeout": "30s",
	}
	for k, v := range inputs {
		base[k] = v
	}
	for k, v := range base {
		r.env["INPUT_"+strings.ToUpper(k)] = v
	}
	return r
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
// GITHUB_STATE): name<<DELIM lines, or name=value lines.
func readFileCommands(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
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

// waitFor polls cond every 10 ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
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

const prevTaskDef = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"

// TestCancelBySignal: GitHub cancels a container action with SIGINT (then
// SIGTERM 7.5 s later, then SIGKILL). On SIGINT or SIGTERM mid-watch, the
// binary issues the rollback within 2 s (on-cancel: rollback), or leaves
// the deployment with the manual command (on-cancel: leave), and sets
// status cancelled, writes the summary, annotates an error and exits
// non-zero, all within 10 s.
func TestCancelBySignal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		sig          syscall.Signal
		then         syscall.Signal // a second signal right after, as an impatient runner might send
		onCancel     string
		wantRollback bool
		// throttled: the next calls to UpdateService (the rollback) are
		// throttled this many times.
		throttled int
	}{
		{"SIGINT, on-cancel rollback", syscall.SIGINT, 0, "", true, 0},
		{"SIGTERM, on-cancel rollback", syscall.SIGTERM, 0, "rollback", true, 0},
		{"SIGINT then SIGTERM, on-cancel rollback", syscall.SIGINT, syscall.SIGTERM, "rollback", true, 0},
		{"SIGINT, on-cancel leave", syscall.SIGINT, 0, "leave", false, 0},
		{"SIGTERM, on-cancel leave", syscall.SIGTERM, 0, "leave", false, 0},
		{name: "SIGINT, the rollback throttled once", sig: syscall.SIGINT, wantRollback: true, throttled: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startSim(t, slowScenario())
			inputs := map[string]string{"image": "repo/app:slow"}
			if tt.onCancel != "" {
				inputs["on-cancel"] = tt.onCancel
			}
			r := newActionRun(t, srv, inputs)
			r.start()
			waitFor(t, 30*time.Second, "the deployment to be watched", func() bool { return watching(srv) })
			ours := updatesTo(srv, "")
			if len(ours) != 1 {
				t.Fatalf("before the signal: got %d UpdateService calls, want 1", len(ours))
			}

			if tt.throttled > 0 {
				srv.Sim.InjectFault("UpdateService", ecssim.Fault{Throttle: tt.throttled})
			}
			sent := time.Now()
			r.signal(tt.sig)
			if tt.then != 0 {
				time.Sleep(time.Millisecond)
				_ = r.cmd.Process.Signal(tt.then) // the process may be gone already
			}
			code := r.wait(10 * time.Second)
			exited := time.Since(sent)

			rollbacks := updatesTo(srv, prevTaskDef)
			if tt.wantRollback {
				if len(rollbacks) != 1 {
					t.Fatalf("got %d rollback UpdateService calls to %s, want 1\n%s", len(rollbacks), prevTaskDef, r.dump())
				}
				if d := rollbacks[0].At.Sub(sent); d > 2*time.Second {
					t.Errorf("the rollback reached ECS %s after the signal, want within 2s", d)
				}
			} else if len(rollbacks) != 0 {
				t.Errorf("on-cancel leave: got %d rollback UpdateService calls, want none", len(rollbacks))
			}
			if code == 0 {
				t.Errorf("exit code: got 0, want non-zero")
			}
			if code < 0 {
				t.Errorf("the process died of signal %d instead of exiting", -code)
			}
			t.Logf("exited with %d %s after the signal", code, exited)

			out := r.outputs()
			if got := out["status"]; got != "cancelled" {
				t.Errorf("output status: got %q, want cancelled\n%s", got, r.dump())
			}
			if out["reason"] == "" {
				t.Errorf("output reason is empty")
			}
			if out["deployment-id"] == "" {
				t.Errorf("output deployment-id is empty")
			}
			if !strings.Contains(r.stdout.String(), "::error") {
				t.Errorf("stdout has no ::error:: annotation\n%s", r.stdout.String())
			}
			sum := r.summary()
			if strings.TrimSpace(sum) == "" {
				t.Errorf("no job summary was written")
			}
			if !tt.wantRollback {
				manual := "aws ecs update-service"
				if !strings.Contains(out["reason"]+sum+r.stdout.String(), manual) {
					t.Errorf("on-cancel leave: neither the reason, the log nor the summary gives the manual command %q\n%s", manual, r.dump())
				}
				if !strings.Contains(sum, manual) {
					t.Errorf("on-cancel leave: the summary does not give the manual command %q", manual)
				}
			}
		})
	}
}

// TestCancelOutsideTheWatch: a signal before our update is applied
// changes nothing more (no UpdateService at all); a signal while the
// rollback is being watched does not issue a second rollback. Both end
// cancelled, with an ::error::, a summary and a non-zero exit.
func TestCancelOutsideTheWatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sc   func(*ecssim.Scenario)
		// ready: when to send SIGINT.
		ready         func(srv *ecssim.Server) bool
		image         string
		wantUpdates   int // UpdateService calls in all
		wantRollbacks int // of them, to the previous revision
		wantReason    string
	}{
		{
			name: "while registering",
			sc: func(sc *ecssim.Scenario) {
				sc.Faults = []ecssim.Fault{{Op: "RegisterTaskDefinition", Latency: ecssim.Duration(3 * time.Second)}}
			},
			// The simulator logs a call when it answers it: once the
			// preflight's reads are answered, RegisterTaskDefinition is
			// on its way and held for 3 s.
			ready: func(srv *ecssim.Server) bool {
				if !slicesContainsOp(srv.Sim.Calls(), "DescribeTaskDefinition") {
					return false
				}
				time.Sleep(300 * time.Millisecond)
				return true
			},
			image:       "repo/app:2",
			wantUpdates: 0,
			wantReason:  "cancelled",
		},
		{
			name: "while the rollback is watched",
			sc: func(sc *ecssim.Scenario) {
				// The previous revision's new tasks take a minute to start.
				sc.ImageRules = append([]ecssim.ImageRule{{Image: "repo/app:1", Behavior: ecssim.BehaviorSlow, After: ecssim.Duration(time.Minute)}}, sc.ImageRules...)
			},
			ready: func(srv *ecssim.Server) bool {
				return len(updatesTo(srv, prevTaskDef)) == 1 && srv.Sim.Calls()[len(srv.Sim.Calls())-1].Op != "UpdateService"
			},
			image:         "repo/app:crash",
			wantUpdates:   2,
			wantRollbacks: 1,
			wantReason:    "rollback",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := slowScenario()
			tt.sc(&sc)
			srv := startSim(t, sc)
			r := newActionRun(t, srv, map[string]string{"image": tt.image})
			r.start()
			waitFor(t, 30*time.Second, "the moment to cancel", func() bool { return tt.ready(srv) })
			r.signal(syscall.SIGINT)
			if code := r.wait(10 * time.Second); code <= 0 {
				t.Errorf("exit code: got %d, want a non-zero exit\n%s", code, r.dump())
			}
			if got := len(updatesTo(srv, "")); got != tt.wantUpdates {
				t.Errorf("UpdateService calls: got %d, want %d", got, tt.wantUpdates)
			}
			if got := len(updatesTo(srv, prevTaskDef)); got != tt.wantRollbacks {
				t.Errorf("rollback UpdateService calls: got %d, want %d", got, tt.wantRollbacks)
			}
			out := r.outputs()
			if out["status"] != "cancelled" || !strings.Contains(out["reason"], tt.wantReason) {
				t.Errorf("outputs: got status %q reason %q, want cancelled mentioning %q\n%s", out["status"], out["reason"], tt.wantReason, r.dump())
			}
			if !strings.Contains(r.stdout.String(), "::error") || strings.TrimSpace(r.summary()) == "" {
				t.Errorf("want an ::error:: annotation and a summary\n%s", r.dump())
			}
		})
	}
}

func slicesContainsOp(calls []ecssim.Call, op string) bool {
	for _, c := range calls {
		if c.Op == op {
			return true
		}
	}
	return false
}
