// Command ecs-rollout ships a new container image to Amazon ECS services,
// watches its own deployment and rolls back to the exact previous revision
// when that deployment fails or times out. It is a GitHub Action (a
// container action) and the same binary is a CLI; everything lives in
// internal/action (the shell) and deployer (the deployment).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ecs-rollout/ecs-rollout/internal/action"
)

func main() {
	action.TuneRuntime(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := action.Main(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
