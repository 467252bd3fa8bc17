package deployer

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// Status is the outcome of a deployment, as written to the `status` output.
type Status string

// The outcomes Deploy can report. StatusSucceeded, StatusPaused,
// StatusRegistered and StatusDryRun let the step pass (Status.OK); the
// others fail it.
const (
	// StatusSucceeded: the new revision is running healthy (or, with
	// Config.Wait false, the update was accepted and not watched).
	StatusSucceeded Status = "succeeded"
	// StatusRolledBack: the deployment failed or timed out and the service
	// is back on the previous revision (by us or by ECS's circuit breaker).
	StatusRolledBack Status = "rolled-back"
	// StatusFailed: the deployment failed and was not rolled back (rollback
	// disabled, another deployment took over, or bad input / preflight).
	StatusFailed Status = "failed"
	// StatusRollbackFailed: the rollback could not be issued or did not settle.
	StatusRollbackFailed Status = "rollback-failed"
	// StatusCancelled: the run was cancelled (SIGINT/SIGTERM) while deploying.
	StatusCancelled Status = "cancelled"
	// StatusDryRun: preflight ran and the plan was printed; nothing changed.
	StatusDryRun Status = "dry-run"
	// StatusRegistered: Config.RegisterOnly; the revision was registered
	// and nothing else was done.
	StatusRegistered Status = "registered"
	// StatusPaused: our deployment waits at a PAUSE lifecycle hook and
	// the run ended there (OnPauseReturn). The step passes; a later run
	// with Config.Resume continues or rolls it back.
	StatusPaused Status = "paused"
	// StatusRollbackIssued is the post step's (Recover's) alone: a
	// rollback it issued, or found in progress, and did not watch settle.
	// Recover never says StatusRolledBack for a rollback it did not see
	// settle (docs/safety.md, rule 3).
	StatusRollbackIssued Status = "rollback-issued"
)

// The limits of a Config.
const (
	// MaxServices is the most services one step deploys to.
	MaxServices = 100
	// MaxAlarms is how many alarms Config.Alarms may name: what one
	// DescribeAlarms call answers.
	MaxAlarms = 100
	// MaxBakeTime is the longest Config.BakeTime.
	MaxBakeTime = 6 * time.Hour
)

// OK reports whether the status lets the step pass.
func (s Status) OK() bool {
	return s == StatusSucceeded || s == StatusDryRun || s == StatusPaused || s == StatusRegistered
}

// OnBusy says what to do when the service already has a deployment in
// progress that is not ours.
type OnBusy string

// The OnBusy policies.
const (
	OnBusyWait OnBusy = "wait"
	OnBusyFail OnBusy = "fail"
)

// OnCancel says what to do when the run is cancelled mid-deployment.
type OnCancel string

// The OnCancel policies.
const (
	OnCancelRollback OnCancel = "rollback"
	OnCancelLeave    OnCancel = "leave"
)

// ContainerImage asks for one container's image to change. An empty
// Container means "the task definition's only container".
type ContainerImage struct {
	Container string
	Image     string
	// Input names the action input the change came from ("image",
	// "images", "container-name"), so errors name it; may be empty.
	Input string
}

// Config is everything one deployment needs. It is built once from the
// action's inputs (or CLI flags) and never read from the environment here.
type Config struct {
	Cluster string // cluster name or ARN; "default" when empty
	Service string // service name or ARN

	// Services, when it names more than one service, deploys the same
	// images to each in one step (Cluster and Service are then not used):
	// all are checked before any changes, and RollbackScope decides what
	// a failure takes back.
	Services      []Target
	RollbackScope RollbackScope // RollbackScopeAll when empty

	// Images to change. May be empty when TaskDefinition is set or when
	// only forcing a new deployment of the same revision.
	Images []ContainerImage
	// TaskDefinition, when set, is registered instead of a clone of the
	// running revision (the `task-definition` file input); Images still apply.
	TaskDefinition *ecs.RegisterTaskDefinitionInput
	// Revision, when set, promotes an existing ACTIVE task definition
	// (family:revision or ARN): nothing is registered and the service is
	// updated to exactly that revision. Exclusive with Images and
	// TaskDefinition.
	Revision string
	// PreDeploy, when set, runs a one-off task from the new revision after
	// it is registered and before the service changes.
	PreDeploy *PreDeploy
	// Render, when set, changes the revision registered as the render
	// action's inputs say (environment, secrets, labels, log
	// configuration, command, roles, task size); the rest stays as it was.
	Render *taskdef.Render
	// BaseRevision, when set (a family, family:revision or an ARN), is
	// the revision the new one is made from instead of the service's
	// running one: for a family, its latest ACTIVE revision. Images and
	// Render apply to it.
	BaseRevision string
	// ServiceVolume, when set, is the service's volume configured at
	// launch (an Amazon EBS volume) sent with our UpdateService; a rollback
	// restores the volume configurations the service had. An empty Name
	// is the revision's volume configured at launch.
	ServiceVolume *types.ServiceVolumeConfiguration
	// RegisterOnly registers the revision (from TaskDefinition or
	// BaseRevision) and does nothing else: no service is read or changed.
	// Service and Services are empty.
	RegisterOnly bool

	Timeout              time.Duration // how long our deployment may take
	PollInterval         time.Duration // time between status checks
	FailedTasksThreshold int           // failed/stopped tasks of ours that count as failure
	Rollback             bool          // roll back on failure or timeout
	RollbackTimeout      time.Duration // how long the rollback may take to settle

	// MinimumHealthyPercent and MaximumPercent bound the number of tasks
	// during the deployment; nil keeps the service's own (but see
	// RollingDefaults). BLUE_GREEN, LINEAR and CANARY services get them
	// only when set.
	MinimumHealthyPercent *int32
	MaximumPercent        *int32
	// RollingDefaults gives a ROLLING service 100 and 200 (a zero-downtime
	// roll) for the percentages left nil, as the action and the CLI do.
	RollingDefaults      bool
	ForceNewDeployment   bool
	DesiredCount         *int32 // nil: unchanged
	EnableECSManagedTags *bool  // nil: unchanged
	PropagateTags        types.PropagateTags
	// KeepRevisions, when more than 0, deregisters after a success the
	// family's older ACTIVE revisions beyond the newest KeepRevisions,
	// never one a service, task set or running task of the cluster uses,
	// nor the rollback target (revisions.go).
	KeepRevisions int
	// EnableExecuteCommand turns ECS Exec on or off for the service's
	// tasks with the update (nil: unchanged); every rollback puts the
	// service's own setting back.
	EnableExecuteCommand *bool

	Wait             bool // false: register, update, return without watching
	LogLines         int  // log lines per failing container in the diagnosis; 0 off
	OnBusy           OnBusy
	OnCancel         OnCancel
	OnPause          OnPause // BLUE_GREEN, LINEAR, CANARY: at a PAUSE hook; OnPauseReturn when empty
	Resume           Resume  // non-empty: act on the deployment waiting at a PAUSE hook; deploy nothing
	DeregisterFailed bool    // after a verified rollback, deregister the failed revision
	DryRun           bool
	// Verify checks, before anything is registered, that the revision's
	// images (and their platform), secrets, parameters, log groups and
	// roles exist and that the execution role may use them (verify.go;
	// needs WithVerifyClients).
	Verify bool

	// BakeTime is how long to keep watching our deployment after it
	// succeeded (0: the verdict is final at COMPLETED): a task of the new
	// revision failing or a watched alarm going into ALARM fails it.
	BakeTime time.Duration
	// CodeDeploy is the CodeDeploy side of a CODE_DEPLOY service's
	// deployment (codedeploy.go); ignored for other services.
	CodeDeploy CodeDeploy

	// Alarms are CloudWatch alarm names (metric or composite, at most
	// MaxAlarms) watched from the update until the end of the bake; one
	// going into ALARM fails the deployment. They must exist and not be
	// in ALARM at preflight.
	Alarms []string
}

// ImageChange is one container's image before and after.
type ImageChange struct {
	Container string
	Old       string
	New       string
}

// Milestone is a point on the deployment's timeline.
type Milestone struct {
	Name string // e.g. "deploy started", "first task running", "rollback completed"
	At   time.Time
}

// Cause is one distinct reason tasks of a deployment stopped.
type Cause struct {
	Count           int
	StopCode        string
	StoppedReason   string
	Container       string
	ExitCode        *int32
	ContainerReason string
	ExampleTaskID   string
}

// ServiceEvent is one ECS service event.
type ServiceEvent struct {
	ID      string `json:",omitempty"` // ECS's event ID
	At      time.Time
	Message string
}

// LogExcerpt is the tail of one failing container's log stream.
type LogExcerpt struct {
	Container string
	TaskID    string
	Stream    string
	Lines     []string
	Note      string // e.g. "no permission to read logs"
}

// Counts is a snapshot of one deployment's task counts.
type Counts struct {
	Desired      int32
	Running      int32
	Pending      int32
	Failed       int32
	RolloutState string
}

// String is the one formatter of task counts that people read, in the log,
// the reasons and the summary: "2/3 running, 1 pending, 0 failed, IN_PROGRESS".
func (c Counts) String() string {
	s := fmt.Sprintf("%d/%d running, %d pending, %d failed", c.Running, c.Desired, c.Pending, c.Failed)
	if c.RolloutState != "" {
		s += ", " + c.RolloutState
	}
	return s
}

// Result is what happened. Deploy always returns one, even with an error,
// filled as far as the run got.
type Result struct {
	Status Status
	Reason string // one sentence

	Cluster string
	Service string

	TaskDefinitionARN         string // the revision we registered (or promoted) and deployed
	PreviousTaskDefinitionARN string // the rollback target
	DeploymentID              string // our deployment
	// ServiceDeploymentARN is our service deployment (ECS's
	// service-deployment API), where the endpoint reports one.
	ServiceDeploymentARN string
	// Strategy is the service's deployment strategy (ROLLING, BLUE_GREEN,
	// LINEAR, CANARY), as found at preflight.
	Strategy             string
	RollbackDeploymentID string // the rollback's deployment, if any
	// DeregisteredRevisions are the revisions KeepRevisions deregistered
	// after the success.
	DeregisteredRevisions []string `json:",omitempty"`
	// Promoted is set when TaskDefinitionARN is an existing revision
	// (Config.Revision), not one this run registered.
	Promoted bool
	// EarlySuccess is set when the deployment succeeded under ECS's early
	// success criteria with fewer tasks than desired running: the share
	// that ran; the rest scaled outside the deployment (earlysuccess.go).
	EarlySuccess *EarlySuccess `json:",omitempty"`
	// PreDeployTaskARN is the pre-deploy task, when one was started.
	PreDeployTaskARN string
	// PreDeployMode is how the pre-deploy task ran (Config.PreDeploy.Mode),
	// when there was one to run.
	PreDeployMode PreDeployMode

	Images   []ImageChange
	Timeline []Milestone
	Last     Counts // our deployment's last observed counts

	Causes []Cause
	Events []ServiceEvent // since our deployment began, oldest first
	// Alarms are the watched alarms (Config.Alarms) and those behind
	// ECS's own alarm rollback, with their changes during the run.
	Alarms []AlarmReport
	Logs   []LogExcerpt

	// ManualRollback is the exact command to finish a rollback by hand,
	// set with StatusRollbackFailed (and StatusCancelled with OnCancelLeave).
	ManualRollback string
	// Plan lists what a dry run would do, one line per step.
	Plan []string
	// Rendered is the revision this run registered, or would register in
	// a dry run, as sent to RegisterTaskDefinition (the file, the base
	// revision or the running one with the images and render inputs
	// applied); nil when the run made none (a promoted revision, a
	// resume, a preflight that failed before).
	Rendered *ecs.RegisterTaskDefinitionInput
	// Verification is what the verify phase found (nil when it did not
	// run).
	Verification *Verification

	StartedAt  time.Time
	FinishedAt time.Time

	// Services has one Result per service of a multi-service step
	// (Config.Services), in the order given; the fields above are then
	// the step's: the worst status and the reason of the service that
	// decided it.
	Services []Result

	peer bool // rolled back because another service of the step failed
}

// EventKind classifies a progress event.
type EventKind int

// The kinds of progress events.
const (
	// EventInfo is a plain log line.
	EventInfo EventKind = iota
	// EventWarning is a warning worth an annotation.
	EventWarning
	// EventPhase starts a new phase (a log group); Message names it.
	EventPhase
	// EventProgress reports a watched deployment's counts; Counts is set.
	// It comes when the counts (or rollout state) change, and otherwise
	// at most once a minute as a heartbeat.
	EventProgress
	// EventCheckpoint carries State to save for the post step.
	EventCheckpoint
	// EventSecrets carries Secrets: values of the task definitions in
	// play (environment values, secret ARNs) that must never be shown.
	// Deploy never prints them; callers mask them as a second guard.
	EventSecrets
	// EventServiceEvent is one new event of the service ECS wrote while
	// we watched, as it arrives (each once, by event ID); ServiceEvent is
	// set and Message is its text.
	EventServiceEvent
	// EventNotice is a check that could not be made and does not stop
	// the deploy (the verify phase's denied or skipped checks), worth a
	// notice annotation.
	EventNotice
)

// Event is one progress report. The caller turns events into log lines.
type Event struct {
	Time         time.Time
	Service      string // the service it is about, in a multi-service step ("" otherwise)
	Kind         EventKind
	Message      string
	Counts       *Counts       // EventProgress
	State        *Checkpoint   // EventCheckpoint
	Secrets      []string      // EventSecrets
	ServiceEvent *ServiceEvent // EventServiceEvent
}

// Phase is where a run was when it saved a Checkpoint.
type Phase string

// The phases of a Checkpoint: what the post step owes (docs/safety.md,
// rule 3). Every phase but PhaseDone means the post step must act: it
// passes the Checkpoint to Recover, which finds out from AWS what is left
// to do. Each is written after the state it describes. From the verdict
// that calls for a rollback until the rollback is seen settled, the last
// checkpoint names the rollback owed: PhaseRollbackOwed before the
// rollback call (and while it is in flight, retried or refused),
// PhaseRollingBack once it was accepted. PostStepMustAct says which.
const (
	// PhaseRegistered: the new revision is registered; the service is
	// not changed yet.
	PhaseRegistered Phase = "registered"
	// PhasePreDeploy: the pre-deploy task (Checkpoint.PreDeployTask) runs;
	// the service is not changed yet. Recover stops the task.
	PhasePreDeploy Phase = "pre-deploy"
	// PhaseUpdated: the service points at the new revision.
	PhaseUpdated Phase = "updated"
	// PhaseWatching: our deployment is being watched.
	PhaseWatching Phase = "watching"
	// PhaseRollingBack: a rollback was accepted (ours, or ECS's own) and
	// is not seen settled yet; Checkpoint.RollbackDeploymentID and
	// RollbackServiceDeploymentARN name it. Recover checks it and
	// re-plans a rollback that failed.
	PhaseRollingBack Phase = "rolling-back"
	// PhaseRollbackOwed: the run decided to roll back (a failure, a
	// timeout, a cancel) and the rollback is not accepted yet: the call
	// is about to go out, in flight, or could not be made. Recover issues
	// it whatever the deployment's state.
	PhaseRollbackOwed Phase = "rollback-owed"
	// PhaseDone: the run finished; nothing is owed.
	PhaseDone Phase = "done"
)

// PostStepMustAct reports whether a Checkpoint in this phase asks the post
// step to run Recover (every phase but PhaseDone and the empty phase).
func (p Phase) PostStepMustAct() bool { return p != "" && p != PhaseDone }

// Checkpoint is the state the post step needs to finish an interrupted
// run: which service, which revisions, where the run was, and everything
// the rollback restores. It is saved as JSON between the steps.
type Checkpoint struct {
	Cluster      string
	Service      string
	DeploymentID string
	// ServiceDeploymentARN is our service deployment, where known: the
	// post step rolls a BLUE_GREEN, LINEAR or CANARY service back with it.
	ServiceDeploymentARN string `json:",omitempty"`
	Strategy             string `json:",omitempty"`
	TaskDefinition       string // the revision we deployed
	RollbackTarget       string // the revision to go back to
	Phase                Phase
	Rollback             bool // roll back an unfinished deployment (false: on-cancel leave, or rollback off)
	// OriginalConfiguration is the service's deployment configuration
	// before our update, as the rollback puts it back (nil when the
	// service had none to restore).
	OriginalConfiguration *types.DeploymentConfiguration `json:",omitempty"`
	// OriginalDesiredCount is the service's desired count before our
	// update; set only when we changed it.
	OriginalDesiredCount *int32 `json:",omitempty"`
	// OriginalEnableExecuteCommand is the service's enableExecuteCommand
	// before our update, when the update changed it (nil: unchanged).
	OriginalEnableExecuteCommand *bool `json:",omitempty"`
	// RestoreVolumes: our update sent volumeConfigurations, so the
	// rollback sends back OriginalVolumes, the service's before it (none:
	// an empty list, which removes ours).
	RestoreVolumes  bool                               `json:",omitempty"`
	OriginalVolumes []types.ServiceVolumeConfiguration `json:",omitempty"`
	// Targets holds each service's own Checkpoint in a multi-service
	// step; Phase is then the most urgent of theirs.
	Targets []Checkpoint `json:",omitempty"`
	// PreDeployTask is the ARN of the pre-deploy task, once started.
	PreDeployTask string `json:",omitempty"`
	// ExpressServiceARN is set for an Express Mode service: the post step
	// rolls it back through UpdateExpressGatewayService, never
	// UpdateService (express.go).
	ExpressServiceARN string `json:",omitempty"`
	// CodeDeployApplication and CodeDeployDeploymentGroup name a
	// CODE_DEPLOY service's CodeDeploy application and deployment group,
	// where the post step looks for our deployment when the main step was
	// killed before it saved the deployment's ID.
	CodeDeployApplication     string `json:",omitempty"`
	CodeDeployDeploymentGroup string `json:",omitempty"`
	// RollbackDeploymentID is the rollback's deployment once accepted
	// (PhaseRollingBack): the ECS deployment of a rolling rollback or of
	// a new deployment of the previous revision, or ECS's own rollback
	// deployment; CodeDeploy: the rollback deployment.
	RollbackDeploymentID string `json:",omitempty"`
	// RollbackServiceDeploymentARN is a staged rollback's service
	// deployment: ours when it was stopped with ROLLBACK, the new one when
	// the rollback is a new deployment of the previous revision.
	RollbackServiceDeploymentARN string `json:",omitempty"`
}
