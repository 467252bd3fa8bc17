package deployer

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// Config.EnableExecuteCommand (amazon-ecs-deploy-task-definition #327):
// UpdateService's enableExecuteCommand, sent with our update (update.go)
// and put back by every rollback. A rolling rollback sends it with its
// UpdateService (rolling.go, the post step's from the checkpoint). A
// staged or Express rollback (StopServiceDeployment, or ECS's own) puts
// the previous service revision back, which does not carry
// enableExecuteCommand (ServiceRevision, API reference): restoreExec then
// sends it alone, a settings change that starts no deployment.

// checkExec refuses enable-execute-command where no update carries it: a
// CODE_DEPLOY service is deployed through CodeDeploy, not UpdateService.
func (r *run) checkExec() error {
	if r.cfg.EnableExecuteCommand != nil && r.res.Strategy == StrategyCodeDeploy {
		return fieldError("EnableExecuteCommand", "service %s uses the CODE_DEPLOY deployment controller: its deployments are CodeDeploy's, which do not set enableExecuteCommand; set it on the service, or leave this empty; nothing changed", r.cfg.Service)
	}
	return nil
}

// restoreExec puts the service's own enableExecuteCommand back after a
// rollback that did not send it (staged, Express, ECS's own rollback),
// when our update changed it.
func (r *run) restoreExec(ctx context.Context) {
	orig := r.originalExec()
	if orig == nil || r.res.Status != StatusRolledBack {
		return
	}
	ctx, cancel := freshContext(ctx)
	defer cancel()
	svc, err := r.d.describeService(ctx, r.cfg.Cluster, r.cfg.Service)
	if err != nil || svc.EnableExecuteCommand == *orig {
		return
	}
	if _, err := r.d.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(r.cfg.Cluster), Service: aws.String(r.cfg.Service), EnableExecuteCommand: orig}); err != nil {
		r.d.emit(EventWarning, "could not put the service's enableExecuteCommand back to %t after the rollback to %s: %v; set it with: %s", *orig, taskdef.ShortRevision(r.target), err, execCommand(r.cfg.Cluster, r.cfg.Service, *orig))
		return
	}
	r.d.emit(EventInfo, "enableExecuteCommand put back to %t", *orig)
}

// execCommand is the command that sets enableExecuteCommand by hand.
func execCommand(cluster, service string, on bool) string {
	flag := "--disable-execute-command"
	if on {
		flag = "--enable-execute-command"
	}
	return fmt.Sprintf("aws ecs update-service --cluster %s --service %s %s", shellQuote(cluster), shellQuote(service), flag)
}
