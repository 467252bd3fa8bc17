package action

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/report"
)

// runPost is the action's post step (runs.post-entrypoint). GitHub runs it
// after the main step, even when that was cancelled or killed. When the
// main step saved a checkpoint but no result, it asks the deployer to
// recover: with on-cancel rollback, a deployment of ours left unfinished
// or failed is rolled back, and a rollback the main step decided on but
// could not issue or see through is finished. It does nothing when the
// main step finished and its last checkpoint owes nothing.
func (e *cmdEnv) runPost(ctx context.Context, args []string) int {
	con := newConsole(e.github(), e.getenv, e.stdout, e.stderr)
	if len(args) > 0 {
		fmt.Fprintf(e.stderr, "ecs-rollout post: unexpected argument %q\n", args[0])
		return exitUsage
	}
	// The checkpoint comes first: a main step that finished may still
	// owe a rollback it could not issue, and its checkpoint says so.
	raw := e.getenv("STATE_" + stateCheckpoint)
	done := e.getenv("STATE_"+stateDone) == "true"
	if raw == "" {
		if done {
			con.infof("The main step finished; nothing to do.")
		} else {
			con.infof("The main step made no change; nothing to do.")
		}
		return exitOK
	}
	var cp deployer.Checkpoint
	if err := json.Unmarshal([]byte(raw), &cp); err != nil {
		con.errorf("post step: cannot read the main step's saved state: %v", err)
		return exitFail
	}
	if done && !cp.Phase.PostStepMustAct() {
		con.infof("The main step finished; nothing to do.")
		return exitOK
	}
	onCancel := strings.ToLower(strings.TrimSpace(e.getenv(inputEnvName(inOnCancel))))
	if onCancel == string(deployer.OnCancelLeave) {
		cp.Rollback = false
	}
	// max-retries counts for the post step too (the runner gives it the
	// step's inputs); a bad value was the main step's input error.
	attempts, _ := strconv.Atoi(strings.TrimSpace(e.getenv(inputEnvName(inMaxRetries))))
	clients, err := newAWSClients(ctx, withMaxAttempts(e.getenv, min(max(attempts, 0), maxAttemptsLimit)))
	if err != nil {
		con.errorf("post step: %v", err)
		return exitFail
	}
	d := deployer.New(clients.ECS, clients.Logs, deployer.WithReporter(con.report), deployer.WithCodeDeploy(clients.CodeDeploy))
	res, err := d.Recover(ctx, cp)
	con.endGroup()
	switch {
	case res.Status == "" && err == nil:
		con.infof("Post step: %s", report.OneLine(res.Reason))
		return exitOK
	case res.Status == deployer.StatusRolledBack, res.Status == deployer.StatusRollbackIssued:
		// Issued (or found in progress), not seen settled: the reason
		// says so and gives the command that shows it.
		con.warnf("The main step was interrupted: %s", report.OneLine(res.Reason))
		con.summary(report.Summary(res))
		return exitOK
	case res.Status == deployer.StatusFailed && err == nil && !cp.Rollback:
		// on-cancel: leave (or rollback: false) asked to leave it so.
		con.warnf("The main step was interrupted and the service is left as it is: %s", report.OneLine(res.Reason))
		if s := report.ManualRollback(res, false); s != "" {
			con.infof("%s", s)
		}
		con.summary(report.Summary(res))
		return exitOK
	default:
		res = completeResult(res, err, deployer.Config{Cluster: cp.Cluster, Service: cp.Service})
		con.errorf("post step: %s", report.OneLine(res.Reason))
		if s := report.ManualRollback(res, true); s != "" {
			con.infof("%s", s)
		}
		con.summary(report.Summary(res))
		return exitFail
	}
}
