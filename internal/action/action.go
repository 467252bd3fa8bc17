// Package action is the ecs-rollout command: the GitHub Action's shell and the
// CLI around package deployer. main.go at the repository's root calls Main.
//
// ecs-rollout ships a new container image to Amazon ECS services
// (a rolling update, ECS's blue/green, linear or canary deployments, or
// CodeDeploy's), watches its own deployment and rolls back to the exact
// previous revision when that deployment fails or times out.
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
// Where things live: cli.go (flags, help, version), deploy.go (the deploy
// command), post.go (the post step), inputs*.go (inputs → deployer.Config,
// one file per group of inputs), output.go (the console: workflow
// commands, masking, GitHub's files), aws.go (clients), demo.go (demo and
// sim); what people read is formatted by internal/report.
//
// Exit codes: 0 when the deployment succeeded (or the dry run passed), 1 when
// it did not or an input is invalid, 2 for a command-line usage error.
package action

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// The garbage collector's settings for a run, unless GOGC or GOMEMLIMIT is
// set. Package initialisation (mostly the AWS SDK's tables) leaves about
// 3 MB of heap, so at Go's default GOGC of 100 (a first heap goal of 4 MB)
// the first collection lands on the way to the first API call and delays
// it on a loaded machine. At 400 the first goal is 16 MB; the soft memory
// limit then keeps a long run's heap from growing to five times its live
// size, so the peak stays well under the 50 MB target (BENCHMARKS.md,
// "Start-up").
const (
	gcPercent   = 400
	memoryLimit = 24 << 20
)

// TuneRuntime sets the garbage collector's settings for a run (gcPercent,
// memoryLimit) unless GOGC or GOMEMLIMIT is set. main calls it once, before
// Main; tests leave the runtime alone.
func TuneRuntime(getenv func(string) string) {
	if getenv("GOGC") == "" && getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(gcPercent)
		debug.SetMemoryLimit(memoryLimit)
	}
}

// Main runs the command named by argv (argv[0] is the program's path: started
// as ecs-rollout-post, the GitHub post step's name, it runs "post") and
// returns the process's exit code.
func Main(ctx context.Context, argv []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var args []string
	if len(argv) > 0 {
		args = argv[1:]
		if filepath.Base(argv[0]) == "ecs-rollout-post" {
			args = append([]string{"post"}, args...)
		}
	}
	return realMain(ctx, args, getenv, stdout, stderr)
}

// realMain runs one command and returns the process's exit code. It reads
// the environment only through getenv and writes only to stdout, stderr and
// the files GitHub names (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_STATE).
// When ctx is cancelled (SIGINT/SIGTERM) the deployment is cancelled
// according to the on-cancel input and the run still reports its outcome.
func realMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	env := &cmdEnv{getenv: getenv, stdout: stdout, stderr: stderr, readFile: os.ReadFile}
	return env.run(ctx, args)
}

// cmdEnv is everything a command may touch.
type cmdEnv struct {
	getenv   func(string) string
	stdout   io.Writer
	stderr   io.Writer
	readFile func(string) ([]byte, error)
}
