package deployer

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// stagedStrategy is the ECS deployment controller's BLUE_GREEN, LINEAR
// and CANARY strategies: UpdateService starts a service deployment that
// ECS runs in lifecycle stages, judged from DescribeServiceDeployments
// (stagedWatch, staged_run.go); while it runs, one
// StopServiceDeployment ROLLBACK (ContinueServiceDeployment ROLLBACK at
// a PAUSE hook) puts production traffic back on the previous revision,
// which ECS keeps until the clean-up.
//
// Once the deployment is SUCCESSFUL and baking (Config.BakeTime), ECS has
// retired the old revision and refuses to stop a finished deployment:
// from then on the strategy judges, rolls back and recovers the service
// as a rolling one (finished), with a new deployment of the previous
// revision.
type stagedStrategy struct {
	r    *run // nil in the post step
	kind types.DeploymentStrategy

	w *stagedWatch // our service deployment's judge, from start (or resume)
	// finished is set when our deployment is SUCCESSFUL and the bake
	// begins: what follows is a rolling strategy's.
	finished *rollingStrategy

	found *types.ServiceDeployment             // findPaused: the deployment waiting
	hook  *types.DeploymentLifecycleHookDetail // findPaused: the PAUSE hook it waits at
}

var _ strategy = (*stagedStrategy)(nil)

func (st *stagedStrategy) name() string { return string(st.kind) }

func (st *stagedStrategy) planWatch() string {
	r := st.r
	return fmt.Sprintf("watch the service deployment stage by stage for up to %s (timeout plus ECS's own waits); on failure StopServiceDeployment ROLLBACK back to %s",
		stagedTimeout(r.cfg.Timeout, r.svc.DeploymentConfiguration), taskdef.ShortRevision(r.target))
}

// start sends the UpdateService and sets up the judge of the service
// deployment it started (named by the response, else found by listing
// while watching).
func (st *stagedStrategy) start(ctx context.Context) (bool, error) {
	r := st.r
	accepted, err := r.updateService(ctx)
	if !accepted {
		return false, err
	}
	st.w = r.newStagedWatch(r.res.ServiceDeploymentARN)
	r.ours = st.w.tasks
	if r.res.ServiceDeploymentARN != "" {
		r.d.emit(EventInfo, "Service deployment %s (%s)", r.res.ServiceDeploymentARN, st.kind)
	}
	return true, err
}

func (st *stagedStrategy) watch(ctx context.Context) verdict {
	r, s := st.r, st.w
	timeout := stagedTimeout(r.cfg.Timeout, r.origDepl)
	title := fmt.Sprintf("Watch deployment %s (%s, up to %s)", orDefault(s.j.id, r.res.DeploymentID), st.kind, timeout)
	return r.watchOurs(ctx, title, s, timeout, func() time.Time { return r.updatedAt })
}

// confirmFailed: ECS's own rollback of a service deployment is a verdict
// of the watch (verdictECSRollback), so there is nothing more to look at
// until the deployment finished.
func (st *stagedStrategy) confirmFailed(ctx context.Context, v verdict) verdict {
	if st.finished != nil {
		return st.finished.confirmFailed(ctx, v)
	}
	return v
}

// bake: after SUCCESSFUL, our revision's tasks (and the alarms) are
// watched for Config.BakeTime, and the strategy is a finished one.
func (st *stagedStrategy) bake(ctx context.Context, v verdict) verdict {
	if v.kind != verdictSucceeded || st.r.cfg.BakeTime <= 0 || st.r.ours == nil {
		return v
	}
	st.finished = &rollingStrategy{r: st.r}
	return st.r.bakeDeployment(ctx, v)
}

func (st *stagedStrategy) rollback(ctx context.Context) error {
	if st.finished != nil {
		return st.finished.rollback(ctx)
	}
	return st.r.rollbackStaged(ctx, st.w)
}

func (st *stagedStrategy) rollbackSubject() string {
	if st.finished != nil {
		return st.finished.rollbackSubject()
	}
	return "of deployment " + st.w.j.id
}

// watchRollback follows our service deployment through its rollback
// (the same service deployment, ROLLBACK_* statuses).
func (st *stagedStrategy) watchRollback(ctx context.Context) verdict {
	if st.finished != nil {
		return st.finished.watchRollback(ctx)
	}
	r, s := st.r, st.w
	s.what = watchRollback
	w := r.watcher(s)
	w.line, w.beat = s.j.lastLine, r.d.now() // the same deployment: its last line is not news
	return w.watch(ctx, r.cfg.RollbackTimeout, r.cfg.PollInterval)
}

func (st *stagedStrategy) manualRollback() string {
	if st.finished != nil {
		return st.finished.manualRollback()
	}
	return manualRollbackCommand(st.r.cfg.Cluster, st.r.cfg.Service, st.r.target)
}

func (st *stagedStrategy) saveTo(*Checkpoint) {}
