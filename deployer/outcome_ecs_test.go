package deployer_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// Rows of the outcome matrix for what the simulator learnt from ECS's
// documentation (issue 18, section 3): a rollback that fails, a PAUSE
// hook that moves on under our call or comes back at every LINEAR step, a
// Continue retried after it was applied, a stop by someone else, and a
// service deployment that is not listed yet.
var ecsBehaviourRows = []outcomeRow{
	// ECS's rollback of our deployment ends ROLLBACK_FAILED while the
	// job is being cancelled: the post step finds a failed revision left
	// in place and rolls it back with a new deployment of the previous
	// revision (a finished deployment cannot be stopped).
	{name: "blue/green rollback fails, cancelled, post step", strategy: "BLUE_GREEN", moment: "scale-up", fault: "crash; ROLLBACK_FAILED; kill then post step",
		image: "repo/app:crash", world: func(sc *ecssim.Scenario) { sc.Services[0].RollbackFails = true },
		cancelWhen: sdStatusIs(types.ServiceDeploymentStatusRollbackFailed), post: true,
		want: deployer.StatusCancelled, wantPost: deployer.StatusRollbackIssued,
		serving: map[string]string{"web": "web:1"}, calls: []string{"StopServiceDeployment"}},

	// on-pause rollback, and the PAUSE hook times out with CONTINUE while
	// our ContinueServiceDeployment ROLLBACK is on its way: ECS refuses it,
	// and StopServiceDeployment rolls back instead.
	{name: "blue/green hook moved on under our rollback", strategy: "BLUE_GREEN", moment: "at a PAUSE hook", fault: "the hook timed out (CONTINUE) under our call",
		world:  pauseHookAt(types.DeploymentLifecycleHookStagePostTestTrafficShift, 3, types.DeploymentLifecycleHookActionContinue),
		config: func(cfg *deployer.Config) { cfg.OnPause = deployer.OnPauseRollback },
		setup:  holdThrough("ContinueServiceDeployment", 4*time.Minute),
		want:   deployer.StatusRolledBack, serving: map[string]string{"web": "web:1"},
		calls: []string{"StopServiceDeployment"}},

	// on-pause continue, and the response to our Continue is lost after
	// ECS applied it: read again, the hook has moved on, which is no
	// failure and nothing to retry.
	{name: "blue/green continue retried after it was applied", strategy: "BLUE_GREEN", moment: "at a PAUSE hook", fault: "Continue applied, response lost, retried",
		world:  pauseHookAt(types.DeploymentLifecycleHookStagePostTestTrafficShift, 60, types.DeploymentLifecycleHookActionRollback),
		config: func(cfg *deployer.Config) { cfg.OnPause = deployer.OnPauseContinue },
		setup: func(sim *ecssim.Sim) {
			sim.InjectFault("ContinueServiceDeployment", ecssim.Fault{Status5xx: 1, AfterApply: true})
		},
		want: deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"},
		noCalls: []string{"StopServiceDeployment"}},

	// LINEAR with a PAUSE hook before every traffic step: ECS shows the
	// same hookId awaiting action at each step, and on-pause continue
	// continues each one.
	{name: "linear pause before each step, on-pause continue", strategy: "LINEAR", moment: "at a PAUSE hook", fault: "the same hookId at every step",
		world:  pauseHookAt(types.DeploymentLifecycleHookStagePreProductionTrafficShift, 60, types.DeploymentLifecycleHookActionRollback),
		config: func(cfg *deployer.Config) { cfg.OnPause = deployer.OnPauseContinue },
		want:   deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"},
		noCalls: []string{"StopServiceDeployment"},
		check: func(t *testing.T, o outcome) {
			if n := o.count("ContinueServiceDeployment"); n != 2 {
				t.Errorf("%d ContinueServiceDeployment calls, want 2 (one per traffic step)", n)
			}
		}},

	// Someone else stops our deployment (StopServiceDeployment ABORT)
	// during ECS's bake: STOP_REQUESTED, then STOPPED with both revisions
	// left where they were. Not our rollback, not a success: the step
	// fails, says who stopped it, and undoes nothing of theirs.
	{name: "blue/green stopped by someone else in ECS's bake", strategy: "BLUE_GREEN", moment: "ECS's bake", fault: "StopServiceDeployment ABORT by someone else",
		setup: stopWhen(types.ServiceDeploymentLifecycleStageBakeTime, types.StopServiceDeploymentStopTypeAbort),
		want:  deployer.StatusFailed, wantReason: []string{"stopped"}},

	// An endpoint whose UpdateService response does not name the service
	// deployment, and ECS lists it only a minute later: a healthy
	// deployment is found (the service names it too) and succeeds, and
	// the ARN reaches the checkpoint the post step would read.
	{name: "blue/green service deployment not named nor listed yet", strategy: "BLUE_GREEN", moment: "update", fault: "no ARN in the response; listed a minute late",
		world:      func(sc *ecssim.Scenario) { sc.Timings.ListDelay = ecssim.Duration(time.Minute) },
		ecsOptions: hideUpdatedServiceDeployment,
		want:       deployer.StatusSucceeded, serving: map[string]string{"web": "web:2"},
		noCalls: []string{"StopServiceDeployment"},
		check: func(t *testing.T, o outcome) {
			for _, cp := range o.cps {
				if cp.Phase == deployer.PhaseWatching && cp.ServiceDeploymentARN != "" {
					return
				}
			}
			t.Errorf("no checkpoint of the watch carries the service deployment ARN: %+v", o.cps)
		}},
}

func TestOutcomeMatrixECSBehaviour(t *testing.T) {
	t.Parallel()
	runOutcomeRows(t, ecsBehaviourRows)
}

// sdStatusIs reports whether web's newest service deployment has status.
func sdStatusIs(status types.ServiceDeploymentStatus) func(*ecssim.Sim) bool {
	return func(sim *ecssim.Sim) bool {
		sds := sim.ServiceDeployments("prod", "web")
		return len(sds) > 0 && sds[0].Status == status
	}
}

// pauseHookAt gives web a PAUSE hook at stage that times out after minutes
// with action.
func pauseHookAt(stage types.DeploymentLifecycleHookStage, minutes int32, action types.DeploymentLifecycleHookAction) func(*ecssim.Scenario) {
	return func(sc *ecssim.Scenario) {
		sc.Services[0].DeploymentConfiguration.LifecycleHooks = []types.DeploymentLifecycleHook{{
			TargetType:           types.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages:      []types.DeploymentLifecycleHookStage{stage},
			TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(minutes), Action: action},
		}}
	}
}

// holdThrough holds the first call to op for d of the fake clock. A hold
// no call reaches within nine minutes is let go: the row's bubble ends
// ten minutes (its settle) after the step, and a goroutine still waiting
// then would deadlock it (a step whose rollback plan makes no such call).
func holdThrough(op string, d time.Duration) func(*ecssim.Sim) {
	return func(sim *ecssim.Sim) {
		h := sim.Hold(op)
		go func() {
			select {
			case <-h.Held():
				time.Sleep(d)
			case <-time.After(9 * time.Minute):
			}
			h.Release()
		}()
	}
}

// stopWhen has someone else stop web's newest service deployment with
// stopType once it reaches stage.
func stopWhen(stage types.ServiceDeploymentLifecycleStage, stopType types.StopServiceDeploymentStopType) func(*ecssim.Sim) {
	return func(sim *ecssim.Sim) {
		c, _ := ecssimtest.InMemoryClients(sim)
		go func() {
			for range 3600 {
				time.Sleep(time.Second)
				sds := sim.ServiceDeployments("prod", "web")
				if len(sds) > 0 && sds[0].LifecycleStage == stage && sds[0].Status == types.ServiceDeploymentStatusInProgress {
					c.StopServiceDeployment(context.Background(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: sds[0].ServiceDeploymentArn, StopType: stopType})
					return
				}
			}
		}()
	}
}

// hideUpdatedServiceDeployment makes the client drop currentServiceDeployment
// from UpdateService responses, as an endpoint that does not return it.
func hideUpdatedServiceDeployment(o *ecs.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("hideServiceDeployment",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if u, ok := out.Result.(*ecs.UpdateServiceOutput); ok && u.Service != nil {
					u.Service.CurrentServiceDeployment = nil
				}
				return out, md, err
			}), middleware.After)
	})
}
