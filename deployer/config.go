package deployer

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults used when a Config field is left zero.
const (
	DefaultCluster = "default"
	// DefaultTimeout is how long a deployment may take when Config.Timeout
	// is zero: the deploy action's wait-for-minutes default (30), so a
	// migrated workflow waits as long as it did. The watch fails a
	// deployment on its own signals (failed tasks, ECS's circuit breaker,
	// alarms) long before; the timeout only ends one that makes no progress.
	DefaultTimeout         = 30 * time.Minute
	DefaultRollbackTimeout = 10 * time.Minute
	// DefaultPollInterval is the time between status checks. See
	// BENCHMARKS.md for how it was chosen: it keeps the median detection
	// latency and time-to-green overhead under 3 s (about 2.5 s) while
	// staying under 0.25 ECS calls per second per service (about 0.22);
	// 4 s costs 0.28 calls/s and 6 s detects in a median of about 3.1 s.
	DefaultPollInterval = 5 * time.Second
)

// withDefaults fills zero fields that have an obvious default.
func (c Config) withDefaults() Config {
	if c.Cluster == "" {
		c.Cluster = DefaultCluster
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.RollbackTimeout == 0 {
		c.RollbackTimeout = DefaultRollbackTimeout
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.FailedTasksThreshold == 0 {
		c.FailedTasksThreshold = 1
	}
	if c.OnBusy == "" {
		c.OnBusy = OnBusyWait
	}
	if c.OnCancel == "" {
		c.OnCancel = OnCancelRollback
	}
	if c.RollbackScope == "" {
		c.RollbackScope = RollbackScopeAll
	}
	if c.OnPause == "" {
		c.OnPause = OnPauseReturn
	}
	if c.PreDeploy != nil && c.PreDeploy.Timeout == 0 {
		pd := *c.PreDeploy
		pd.Timeout = DefaultPreDeployTimeout
		if pd.Mode == PreDeployRunTask {
			pd.Timeout = c.Timeout // the deploy action waits for its task as long as for the service
		}
		c.PreDeploy = &pd
	}
	return c
}

// FieldError is a problem with one field of the Config. Field is the
// field's name in Config ("RollbackScope", "PreDeploy.Command"), and the
// message names other fields the same way: the package knows nothing of
// the action's inputs or the CLI's flags, and their callers map Field
// (and the names in the message) to what their users typed.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the problem without the field.
func (e *FieldError) Unwrap() error { return e.Err }

// fieldError is a FieldError with a formatted message (%w wraps).
func fieldError(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Validate reports every problem with the Config at once (joined with
// errors.Join), each a *FieldError naming the field. The action's input
// parser validates the raw text; this guards the invariants Deploy relies
// on whoever builds the Config.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fieldError(field, format, args...))
	}
	switch {
	case len(c.Services) > 0 && strings.TrimSpace(c.Service) != "" && len(c.Services) > 1:
		bad("Services", "Service and Services are exclusive: name one service in Service, or several in Services")
	case len(c.Services) > MaxServices:
		bad("Services", "at most %d services in one step, got %d", MaxServices, len(c.Services))
	case len(c.Services) == 0 && strings.TrimSpace(c.Service) == "" && !c.RegisterOnly:
		bad("Service", "is required")
	}
	if c.RegisterOnly {
		c.validateRegisterOnly(bad)
	}
	seenSvc := map[Target]bool{}
	for _, t := range c.Services {
		t.Cluster = cmp.Or(t.Cluster, c.Cluster, DefaultCluster)
		switch {
		case strings.TrimSpace(t.Service) == "":
			bad("Services", "a service name is empty")
		case seenSvc[t]:
			bad("Services", "service %s is listed twice", t)
		}
		seenSvc[t] = true
	}
	switch c.RollbackScope {
	case "", RollbackScopeAll, RollbackScopeFailed:
	default:
		bad("RollbackScope", "must be %q or %q, got %q", RollbackScopeAll, RollbackScopeFailed, c.RollbackScope)
	}
	if c.Timeout < 0 {
		bad("Timeout", "must be positive, got %s", c.Timeout)
	}
	if c.RollbackTimeout < 0 {
		bad("RollbackTimeout", "must be positive, got %s", c.RollbackTimeout)
	}
	if c.PollInterval < 0 {
		bad("PollInterval", "must be positive, got %s", c.PollInterval)
	}
	if c.KeepRevisions < 0 {
		bad("KeepRevisions", "must be 1 or more (0 keeps every revision), got %d", c.KeepRevisions)
	}
	if c.FailedTasksThreshold < 0 {
		bad("FailedTasksThreshold", "must be at least 1, got %d", c.FailedTasksThreshold)
	}
	if p := c.MinimumHealthyPercent; p != nil && (*p < 0 || *p > 100) {
		bad("MinimumHealthyPercent", "must be between 0 and 100, got %d", *p)
	}
	if p := c.MaximumPercent; p != nil && *p < 100 {
		bad("MaximumPercent", "must be at least 100, got %d", *p)
	}
	if c.DesiredCount != nil && *c.DesiredCount < 0 {
		bad("DesiredCount", "must not be negative, got %d", *c.DesiredCount)
	}
	if c.BakeTime < 0 || c.BakeTime > MaxBakeTime {
		bad("BakeTime", "must be between 0s and %s, got %s", MaxBakeTime, c.BakeTime)
	}
	if len(c.Alarms) > MaxAlarms {
		bad("Alarms", "at most %d alarms can be watched, got %d", MaxAlarms, len(c.Alarms))
	}
	for _, a := range c.Alarms {
		if strings.TrimSpace(a) == "" || len(a) > 255 {
			bad("Alarms", "%q is not an alarm name (1 to 255 characters)", a)
		}
	}
	if c.LogLines < 0 {
		bad("LogLines", "must not be negative, got %d", c.LogLines)
	}
	switch c.OnBusy {
	case "", OnBusyWait, OnBusyFail:
	default:
		bad("OnBusy", "must be %q or %q, got %q", OnBusyWait, OnBusyFail, c.OnBusy)
	}
	switch c.OnCancel {
	case "", OnCancelRollback, OnCancelLeave:
	default:
		bad("OnCancel", "must be %q or %q, got %q", OnCancelRollback, OnCancelLeave, c.OnCancel)
	}
	switch c.OnPause {
	case "", OnPauseReturn, OnPauseContinue, OnPauseRollback:
	default:
		bad("OnPause", "must be %q, %q or %q, got %q", OnPauseReturn, OnPauseContinue, OnPauseRollback, c.OnPause)
	}
	switch c.Resume {
	case "":
	case ResumeContinue, ResumeRollback:
		if len(c.Images) > 0 || c.TaskDefinition != nil {
			bad("Resume", "acts on the deployment already waiting at a PAUSE hook and deploys nothing: give no Images or TaskDefinition")
		}
	default:
		bad("Resume", "must be %q or %q, got %q", ResumeContinue, ResumeRollback, c.Resume)
	}
	seen := map[string]bool{}
	for _, ci := range c.Images {
		if strings.TrimSpace(ci.Image) == "" {
			bad("Images", "container %q has an empty image", ci.Container)
		}
		if seen[ci.Container] {
			bad("Images", "container %q is listed twice", ci.Container)
		}
		seen[ci.Container] = true
	}
	if c.Revision != "" {
		if len(c.Images) > 0 {
			bad("Revision", "cannot be combined with Images: a promoted revision is deployed as it is")
		}
		if c.TaskDefinition != nil {
			bad("Revision", "cannot be combined with TaskDefinition: give one revision to deploy")
		}
		if c.Render != nil || c.BaseRevision != "" {
			bad("Revision", "cannot be combined with Render or BaseRevision: a promoted revision is deployed as it is")
		}
	}
	if pd := c.PreDeploy; pd != nil {
		switch pd.Mode {
		case PreDeployCommand:
			if len(pd.Command) == 0 || strings.TrimSpace(strings.Join(pd.Command, "")) == "" {
				bad("PreDeploy.Command", "is empty")
			}
			if pd.Detach || len(pd.Overrides) > 0 || pd.Network != nil || pd.AssignPublicIP != "" || pd.LaunchType != "" || len(pd.CapacityProviderStrategy) > 0 {
				bad("PreDeploy.Mode", "Detach, Overrides, Network, AssignPublicIP, LaunchType and CapacityProviderStrategy need PreDeployRunTask")
			}
		case PreDeployRunTask:
			if len(pd.Command) > 0 || pd.Container != "" {
				bad("PreDeploy.Command", "is for PreDeployCommand; a PreDeployRunTask task runs its own commands or Overrides")
			}
		default:
			bad("PreDeploy.Mode", "must be %q or %q, got %q", PreDeployCommand, PreDeployRunTask, pd.Mode)
		}
		if pd.Timeout < 0 {
			bad("PreDeploy.Timeout", "must be positive, got %s", pd.Timeout)
		}
	}
	if len(c.Images) > 1 && seen[""] {
		bad("Images", "every image needs its Container when several images are given")
	}
	return errors.Join(errs...)
}
