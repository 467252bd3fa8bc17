// Command ecs-rollout ships a new container image to an Amazon ECS service
// with a rolling update, watches its own deployment by ID and rolls back to
// the exact previous revision when that deployment fails or times out.
//
// It runs as a GitHub Action (a container action: inputs come from
// INPUT_<NAME> variables, outputs go to GITHUB_OUTPUT) and, outside GitHub,
// as a CLI taking the same inputs as flags:
//
//	ecs-rollout --service web --image nginx:1.27   deploy (the default)
//	ecs-rollout post                               the action's post step: finish an interrupted run
//	ecs-rollout demo                               deploy against the in-process ECS simulator
//	ecs-rollout sim                                serve the ECS simulator over HTTP
//	ecs-rollout version                            print the version
//
// Exit codes: 0 when the deployment succeeded (or the dry run passed), 1 when
// it did not or an input is invalid, 2 for a command-line usage error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	githubactions "github.com/sethvargo/go-githubactions"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	args := os.Args[1:]
	if filepath.Base(os.Args[0]) == "ecs-rollout-post" {
		args = append([]string{"post"}, args...)
	}
	code := realMain(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// realMain runs one command and returns the process's exit code. It reads
// the environment only through getenv and writes only to stdout, stderr and
// the files GitHub names (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_STATE).
// When ctx is cancelled (SIGINT/SIGTERM) the deployment is cancelled
// according to the on-cancel input and the run still reports its outcome.
func realMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	env := &cmdEnv{
		getenv:   getenv,
		stdout:   stdout,
		stderr:   stderr,
		readFile: os.ReadFile,
	}
	return env.run(ctx, args)
}

// cmdEnv is everything a command may touch.
type cmdEnv struct {
	getenv   func(string) string
	stdout   io.Writer
	stderr   io.Writer
	readFile func(string) ([]byte, error)
}

// github reports whether the process runs as a GitHub Action: inside a
// GitHub Actions job (GITHUB_ACTIONS=true), or given a runner's output file
// (GITHUB_OUTPUT) as a runner-like harness does.
func (e *cmdEnv) github() bool {
	return e.getenv("GITHUB_ACTIONS") == "true" || e.getenv("GITHUB_OUTPUT") != ""
}

// inputsInEnv reports whether any INPUT_<NAME> variable of the action is set.
func (e *cmdEnv) inputsInEnv() bool {
	for _, in := range inputSpecs() {
		if e.getenv(inputEnvName(in.Name)) != "" {
			return true
		}
	}
	return false
}

// run dispatches to the subcommand named by args[0] (deploy by default).
func (e *cmdEnv) run(ctx context.Context, args []string) int {
	// GitHub runs the post step with the main step's entrypoint, inputs and
	// no arguments; only the post step sees the state the main step saved.
	// (STATE_* variables exist only in a post step.)
	if len(args) == 0 && e.getenv("STATE_"+stateStarted) != "" {
		return e.runPost(ctx, nil)
	}
	if len(args) > 0 {
		switch args[0] {
		case "version", "--version", "-version":
			fmt.Fprintln(e.stdout, "ecs-rollout", buildVersion())
			return exitOK
		case "post":
			return e.runPost(ctx, args[1:])
		case "demo":
			return e.runDemo(ctx, args[1:])
		case "sim":
			return e.runSim(ctx, args[1:])
		case "deploy":
			args = args[1:]
		case "help":
			args = []string{"--help"}
		default:
			if !strings.HasPrefix(args[0], "-") {
				fmt.Fprintf(e.stderr, "ecs-rollout: unknown command %q (commands: deploy, post, demo, sim, version; see --help)\n", args[0])
				return exitUsage
			}
		}
	}
	return e.runDeploy(ctx, args)
}

// buildVersion returns the version set at link time, or the module version
// Go recorded, or "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// runSim serves the ECS simulator over HTTP until ctx is cancelled.
func (e *cmdEnv) runSim(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("ecs-rollout sim", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", "127.0.0.1:4566", "address to listen on")
	scenario := fs.String("scenario", "", "scenario file (JSON) to load (default: the built-in demo scenario)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "ecs-rollout sim: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *scenario == "" {
		f, err := os.CreateTemp("", "ecs-rollout-scenario-*.json")
		if err == nil {
			_, err = f.Write(demoScenario)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "ecs-rollout sim: write the demo scenario: %v\n", err)
			return exitFail
		}
		defer os.Remove(f.Name())
		*scenario = f.Name()
	}
	if err := ecssim.Serve(ctx, *addr, *scenario, e.stdout); err != nil {
		fmt.Fprintf(e.stderr, "ecs-rollout sim: %v\n", err)
		return exitFail
	}
	return exitOK
}

// runDeploy deploys: inputs from the INPUT_* variables in GitHub mode when
// no flags are given, from flags otherwise.
func (e *cmdEnv) runDeploy(ctx context.Context, args []string) int {
	gh := e.github()
	fs := flag.NewFlagSet("ecs-rollout", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {}
	flagInputs := defineInputFlags(fs)
	summaryPath := fs.String("summary", "", "also write the job summary (Markdown) to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(e.stdout, fs)
			return exitOK
		}
		fmt.Fprintln(e.stderr, "see ecs-rollout --help")
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "ecs-rollout: unexpected argument %q; see ecs-rollout --help\n", fs.Arg(0))
		return exitUsage
	}

	// Without flags, the inputs come from INPUT_* as the runner sets them;
	// then the output speaks workflow commands even if GITHUB_ACTIONS is
	// missing.
	get := flagInputs
	if len(args) == 0 && (gh || e.inputsInEnv()) {
		gh = true
		get = githubactions.New(githubactions.WithGetenv(e.getenv)).GetInput
	}
	con := newConsole(gh, e.getenv, e.stdout, e.stderr)
	con.summaryFile = *summaryPath
	if gh && len(args) == 0 {
		// First thing: tells the post step that it is the post step.
		con.saveState(stateStarted, "true")
	}

	_, code := e.deploy(ctx, con, get)
	return code
}

// deploy parses the inputs read by get, deploys, and reports the result
// through con. It returns the result and the exit code. Invalid inputs (or
// a missing region) are reported before any AWS call, with status failed.
func (e *cmdEnv) deploy(ctx context.Context, con *console, get func(string) string) (deployer.Result, int) {
	p, err := parseInputs(get, parseOptions{Workspace: e.getenv("GITHUB_WORKSPACE"), ReadFile: e.readFile})
	if err != nil {
		return deployer.Result{Status: deployer.StatusFailed, Reason: err.Error()}, con.badInput(err)
	}
	con.mask(p.Secrets)
	for _, n := range p.Notes {
		con.infof("%s", n)
	}

	clients, err := newAWSClients(ctx, e.getenv)
	if err != nil {
		return deployer.Result{Status: deployer.StatusFailed, Reason: err.Error()}, con.badInput(err)
	}
	d := deployer.New(clients.ECS, clients.Logs, deployer.WithReporter(con.report))
	res, err := d.Deploy(ctx, p.Config)
	res = completeResult(res, err, p.Config)
	return res, con.finish(res)
}

// completeResult makes sure a result carries a status and a reason, also
// when Deploy returned an error with a partial result.
func completeResult(res deployer.Result, err error, cfg deployer.Config) deployer.Result {
	if res.Service == "" {
		res.Service = cfg.Service
	}
	if res.Cluster == "" {
		res.Cluster = cfg.Cluster
	}
	if res.Status == "" {
		res.Status = deployer.StatusFailed
	}
	if res.Reason == "" {
		if err != nil {
			res.Reason = err.Error()
		} else if !res.Status.OK() {
			res.Reason = "the deployment " + string(res.Status)
		}
	}
	return res
}

// runPost is the action's post step (runs.post-entrypoint). GitHub runs it
// after the main step, even when that was cancelled or killed. When the
// main step saved a checkpoint but no result, it asks the deployer to
// recover: with on-cancel rollback, a deployment of ours left unfinished
// or failed is rolled back. It does nothing when the main step finished.
func (e *cmdEnv) runPost(ctx context.Context, args []string) int {
	con := newConsole(e.github(), e.getenv, e.stdout, e.stderr)
	if len(args) > 0 {
		fmt.Fprintf(e.stderr, "ecs-rollout post: unexpected argument %q\n", args[0])
		return exitUsage
	}
	if e.getenv("STATE_"+stateDone) == "true" {
		con.infof("The main step finished; nothing to do.")
		return exitOK
	}
	raw := e.getenv("STATE_" + stateCheckpoint)
	if raw == "" {
		con.infof("The main step made no change; nothing to do.")
		return exitOK
	}
	var cp deployer.Checkpoint
	if err := json.Unmarshal([]byte(raw), &cp); err != nil {
		con.errorf("post step: cannot read the main step's saved state: %v", err)
		return exitFail
	}
	onCancel := strings.ToLower(strings.TrimSpace(e.getenv("INPUT_ON-CANCEL")))
	if onCancel == string(deployer.OnCancelLeave) {
		cp.Rollback = false
	}
	clients, err := newAWSClients(ctx, e.getenv)
	if err != nil {
		con.errorf("post step: %v", err)
		return exitFail
	}
	d := deployer.New(clients.ECS, clients.Logs, deployer.WithReporter(con.report))
	res, err := d.Recover(ctx, cp)
	con.endGroup()
	switch {
	case res.Status == "" && err == nil:
		con.infof("Post step: %s", oneLine(res.Reason))
		return exitOK
	case res.Status == deployer.StatusRolledBack:
		con.warnf("The main step was interrupted: %s", oneLine(res.Reason))
		con.summary(renderSummary(res))
		return exitOK
	case res.Status == deployer.StatusFailed && err == nil && !cp.Rollback:
		// on-cancel: leave (or rollback: false) asked to leave it so.
		con.warnf("The main step was interrupted and the service is left as it is: %s", oneLine(res.Reason))
		if res.ManualRollback != "" {
			con.infof("To roll back by hand:\n  %s", res.ManualRollback)
		}
		con.summary(renderSummary(res))
		return exitOK
	default:
		res = completeResult(res, err, deployer.Config{Cluster: cp.Cluster, Service: cp.Service})
		con.errorf("post step: %s", oneLine(res.Reason))
		if res.ManualRollback != "" {
			con.infof("To finish the rollback by hand:\n  %s", res.ManualRollback)
		}
		con.summary(renderSummary(res))
		return exitFail
	}
}
