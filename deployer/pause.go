package deployer

// OnPause says what to do when our deployment waits at a PAUSE lifecycle
// hook (BLUE_GREEN, LINEAR and CANARY services).
type OnPause string

// The OnPause policies.
const (
	// OnPauseReturn ends the run with StatusPaused: the next workflow step
	// runs its checks and then resumes the deployment (Config.Resume).
	OnPauseReturn OnPause = "return"
	// OnPauseContinue continues the deployment at once and keeps watching.
	OnPauseContinue OnPause = "continue"
	// OnPauseRollback rolls the deployment back at the hook.
	OnPauseRollback OnPause = "rollback"
)

// Resume is the action a resume run takes on the deployment that waits at
// a PAUSE hook. Empty means a normal deploy.
type Resume string

// The Resume actions.
const (
	ResumeContinue Resume = "continue"
	ResumeRollback Resume = "rollback"
)

// StatusPaused: our deployment waits at a PAUSE lifecycle hook and the
// run ended there (on-pause: return). The step passes; a later run with
// Config.Resume continues or rolls it back.
const StatusPaused Status = "paused"
