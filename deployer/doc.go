// Package deployer ships a new revision of one or more ECS services,
// watches the deployment it started (by its ID) and rolls back to the
// exact previous revision when that deployment fails or times out.
//
// Deploy runs in phases, each in a file of its own:
//
//	preflight (preflight.go)  everything checked, nothing changed; bad input
//	                          and missing resources end the run with an error
//	                          wrapping ErrPreflight and no mutating call made
//	[pre-deploy task]         a one-off task before the update (issue 14)
//	register, update (update.go)
//	watch (watch.go)          the poll loop: a read step (a snapshot of the
//	                          service) and a judge step (a verdict), the
//	                          judge the strategy's (strategy.go: rolling.go,
//	                          staged*.go)
//	[bake] (bake.go)          after success: our tasks and the CloudWatch
//	                          alarms (alarms.go) for bake-time
//	conclude (deployer.go)    the verdict becomes the Result; on failure or
//	                          timeout: roll back and watch the rollback
//	                          (rollback.go), with a diagnosis (diagnose.go)
//
// What differs by deployment controller and strategy (start, judge, roll
// back, resume, recover) is the run's strategy (strategy.go), chosen once
// from the service; the phases ask it and never branch on it.
//
// Several services (targets.go) run the same phases per service, all
// before any changes, sharing their reads (batch.go): one DescribeServices
// per ten services of a cluster and one DescribeServiceDeployments per
// twenty service deployments a poll.
// The reads every phase shares (the service, its PRIMARY deployment) are
// in service.go. Recover (rollback.go) is the post step's safety net: it
// finishes, from a Checkpoint, what an interrupted run left owed (see
// Phase).
//
// The package never reads the environment and never writes GitHub
// workflow commands: callers pass a Config and AWS clients, receive
// progress as Events through the reporter, and get one Result back.
package deployer
