package deployer

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// A strategy is what differs by deployment controller and deployment
// strategy. The phases of a run (preflight, pre-deploy, register, start,
// watch, bake, conclude, and the post step's Recover) are written once,
// in deployer.go, rollback.go and bake.go, and ask the run's strategy
// whenever the answer depends on how the service deploys; they never
// branch on which strategy it is.
//
//	phase        rolling (ECS, ROLLING)           staged (ECS, BLUE_GREEN/LINEAR/CANARY)
//	preflight    (nothing more to read)            List/DescribeServiceDeployments (a read)
//	start        UpdateService                     UpdateService; our service deployment from
//	                                               the response (else listed while watching)
//	watch        Deployments[] + stopped tasks     DescribeServiceDeployments and the service
//	                                               every poll, stopped tasks on a signal
//	confirm      ECS's circuit-breaker rollback?   (ECS's rollback is a verdict of the watch)
//	bake         our ECS deployment's tasks        the same, once SUCCESSFUL (finished)
//	rollback     UpdateService to the previous     StopServiceDeployment ROLLBACK (Continue…
//	             revision, its configuration       ROLLBACK at a PAUSE hook); finished: a new
//	                                               deployment of the previous revision, watched
//	                                               as a staged deployment (PAUSE continued)
//	resume       (nothing waits)                   ContinueServiceDeployment at the PAUSE hook
//	recover      UpdateService back                Stop/ContinueServiceDeployment ROLLBACK;
//	                                               finished: as rolling
//
// The third strategy, codeDeployStrategy (codedeploy.go, the CODE_DEPLOY
// controller), implements the same phases with CodeDeploy: preflight
// GetDeploymentGroup/GetDeploymentConfig (and, once the revision is known,
// the AppSpec and ListDeployments: preflighter); start CreateDeployment;
// watch GetDeploymentTarget (GetDeployment at the ends) and the
// replacement task set's stopped tasks; confirm CodeDeploy's own
// rollback; bake the replacement task set's tasks; rollback StopDeployment
// with autoRollbackEnabled (finished: a new CodeDeploy deployment of the
// previous revision); resume ContinueDeployment READY_WAIT at Ready (a
// verdictPaused with a pause, as a PAUSE hook is); recover StopDeployment.
//
// A strategy value belongs to one run (r.strategy); it keeps what only
// it needs (the service deployment being watched, whether the deployment
// finished) and writes what people and the post step need into the run's
// Result and Checkpoint.
type strategy interface {
	// name is the strategy as ECS spells it ("ROLLING", "BLUE_GREEN",
	// "LINEAR", "CANARY"), for people, Result.Strategy and the checkpoint.
	name() string

	// planWatch is the dry run's line for the watch and the rollback.
	planWatch() string

	// preflight checks, with reads that change nothing, what this
	// strategy will need to watch and roll back (the APIs it reads, with
	// the run's credentials); an error stops the run before any change.
	preflight(ctx context.Context) error

	// start points the service at the new revision (r.newARN) and
	// records our deployment (Result.DeploymentID, and whatever else
	// identifies it). accepted reports whether the service now moves to
	// our revision: true even with an error when a retried call turns out
	// to have been applied. It reports PhaseUpdated once accepted.
	start(ctx context.Context) (accepted bool, err error)

	// watch judges our deployment until a verdict, the timeout or ctx's
	// end, and sets run.ours (the judge of our tasks, for the diagnosis
	// and the bake). A deployment waiting at a pause (a PAUSE hook, a
	// Ready wait) is a verdictPaused with verdict.pause set.
	watch(ctx context.Context) verdict

	// confirmFailed looks once more before we roll back a failed
	// deployment: when ECS has started its own rollback of it, the
	// verdict becomes verdictECSRollback (the rollback is then ECS's,
	// watched, never doubled). It returns v unchanged otherwise.
	confirmFailed(ctx context.Context, v verdict) verdict

	// bake keeps watching a deployment that succeeded for
	// Config.BakeTime (v passes through when there is no bake time or v
	// is not a success). After a bake, the rollback is of a finished
	// deployment.
	bake(ctx context.Context, v verdict) verdict

	// rollback asks for our deployment to be rolled back, whatever its
	// state (in progress, at a pause, finished). It makes the call on a
	// fresh, short context when ctx is cancelled, does not wait for the
	// rollback to settle, and records what watchRollback watches.
	rollback(ctx context.Context) error

	// rollbackSubject names the rollback for the log: "ecs-svc/2",
	// "of deployment 3f9…".
	rollbackSubject() string

	// watchRollback watches the rollback (ours, or ECS's own) until it
	// settles or Config.RollbackTimeout passes: verdictSucceeded when
	// the previous revision serves again.
	watchRollback(ctx context.Context) verdict

	// manualRollback is the command that finishes the rollback by hand.
	manualRollback() string

	// findPaused finds the service's deployment that waits at a pause,
	// for Config.Resume, and sets the revisions it moves between
	// (r.newARN, r.target). It returns the deployment and where it waits,
	// for people ("deployment 3f9 of web:42 at … (PAUSE hook …)"), or an
	// error when nothing waits: nothing changed.
	findPaused(ctx context.Context) (string, error)

	// resume acts on the deployment findPaused found (Config.Resume:
	// continue or roll back). watch reports whether the deployment goes
	// on and is to be watched, baked and concluded as a deploy's; false
	// when the run ended here (rolled back, or the call failed), with
	// the Result filled.
	resume(ctx context.Context) (watch bool)

	// saveTo writes into a checkpoint what this strategy's recover needs
	// beyond the common fields.
	saveTo(cp *Checkpoint)

	// recover is Recover for a checkpoint of this strategy: with the
	// main step gone, it finds out from AWS what is left to do and does
	// it (one call, not awaited). It runs on a strategy value chosen by
	// recoveryStrategy, without a run.
	recover(ctx context.Context, d *Deployer, cp Checkpoint, res Result) (Result, error)
}

// pause is where a deployment waits for someone to act (verdictPaused).
type pause struct {
	at     string // where, for the timeline: a lifecycle stage, "a PAUSE hook"
	notice string // the run's reason with on-pause return: what waits, until when, what to run next
}

// chooseStrategy picks the strategy of a run once, from the service as
// preflight (or resume) found it: its deployment controller and its
// deployment strategy.
func chooseStrategy(r *run, svc types.Service) strategy {
	if isExpress(svc) {
		return newExpressStrategy(r, svc) // express.go
	}
	if isCodeDeploy(svc) {
		return &codeDeployStrategy{r: r}
	}
	if isStaged(strategyOf(svc)) || rollingWithHooks(svc) { // rollinghooks.go
		return &stagedStrategy{r: r, kind: strategyOf(svc)}
	}
	return &rollingStrategy{r: r}
}

// recoveryStrategy picks the strategy that recovers a checkpoint in the
// post step, from what the checkpoint says.
func recoveryStrategy(cp Checkpoint) strategy {
	if cp.ExpressServiceARN != "" {
		return &expressStrategy{stagedStrategy: &stagedStrategy{kind: types.DeploymentStrategy(cp.Strategy)}, serviceARN: cp.ExpressServiceARN}
	}
	if cp.Strategy == StrategyCodeDeploy {
		return &codeDeployStrategy{}
	}
	if isStaged(types.DeploymentStrategy(cp.Strategy)) && cp.ServiceDeploymentARN != "" {
		return &stagedStrategy{kind: types.DeploymentStrategy(cp.Strategy)}
	}
	return &rollingStrategy{}
}
