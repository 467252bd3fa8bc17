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
	DefaultCluster         = "default"
	DefaultTimeout         = 10 * time.Minute
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
		c.PreDeploy = &pd
	}
	return c
}

// Validate reports every problem with the Config at once (joined with
// errors.Join), each naming the input it comes from. The action's input
// parser validates the raw text; this guards the invariants Deploy relies
// on whoever builds the Config.
func (c Config) Validate() error {
	var errs []error
	bad := func(input, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", input, fmt.Sprintf(format, args...)))
	}
	switch {
	case len(c.Services) > 0 && strings.TrimSpace(c.Service) != "" && len(c.Services) > 1:
		bad("services", "service and services are exclusive: name one service in service, or several in services")
	case len(c.Services) > MaxServices:
		bad("services", "at most %d services in one step, got %d", MaxServices, len(c.Services))
	case len(c.Services) == 0 && strings.TrimSpace(c.Service) == "" && !c.RegisterOnly:
		bad("service", "is required")
	}
	if c.RegisterOnly {
		c.validateRegisterOnly(bad)
	}
	seenSvc := map[Target]bool{}
	for _, t := range c.Services {
		t.Cluster = cmp.Or(t.Cluster, c.Cluster, DefaultCluster)
		switch {
		case strings.TrimSpace(t.Service) == "":
			bad("services", "a service name is empty")
		case seenSvc[t]:
			bad("services", "service %s is listed twice", t)
		}
		seenSvc[t] = true
	}
	switch c.RollbackScope {
	case "", RollbackScopeAll, RollbackScopeFailed:
	default:
		bad("rollback-scope", "must be %q or %q, got %q", RollbackScopeAll, RollbackScopeFailed, c.RollbackScope)
	}
	if c.Timeout < 0 {
		bad("timeout", "must be positive, got %s", c.Timeout)
	}
	if c.RollbackTimeout < 0 {
		bad("rollback-timeout", "must be positive, got %s", c.RollbackTimeout)
	}
	if c.PollInterval < 0 {
		bad("poll-interval", "must be positive, got %s", c.PollInterval)
	}
	if c.FailedTasksThreshold < 0 {
		bad("failed-tasks-threshold", "must be at least 1, got %d", c.FailedTasksThreshold)
	}
	if p := c.MinimumHealthyPercent; p != nil && (*p < 0 || *p > 100) {
		bad("minimum-healthy-percent", "must be between 0 and 100, got %d", *p)
	}
	if p := c.MaximumPercent; p != nil && *p < 100 {
		bad("maximum-percent", "must be at least 100, got %d", *p)
	}
	if c.DesiredCount != nil && *c.DesiredCount < 0 {
		bad("desired-count", "must not be negative, got %d", *c.DesiredCount)
	}
	if c.BakeTime < 0 || c.BakeTime > MaxBakeTime {
		bad("bake-time", "must be between 0s and %s, got %s", MaxBakeTime, c.BakeTime)
	}
	if len(c.Alarms) > MaxAlarms {
		bad("alarms", "at most %d alarms can be watched, got %d", MaxAlarms, len(c.Alarms))
	}
	for _, a := range c.Alarms {
		if strings.TrimSpace(a) == "" || len(a) > 255 {
			bad("alarms", "%q is not an alarm name (1 to 255 characters)", a)
		}
	}
	if c.LogLines < 0 {
		bad("log-lines", "must not be negative, got %d", c.LogLines)
	}
	switch c.OnBusy {
	case "", OnBusyWait, OnBusyFail:
	default:
		bad("on-busy", "must be %q or %q, got %q", OnBusyWait, OnBusyFail, c.OnBusy)
	}
	switch c.OnCancel {
	case "", OnCancelRollback, OnCancelLeave:
	default:
		bad("on-cancel", "must be %q or %q, got %q", OnCancelRollback, OnCancelLeave, c.OnCancel)
	}
	switch c.OnPause {
	case "", OnPauseReturn, OnPauseContinue, OnPauseRollback:
	default:
		bad("on-pause", "must be %q, %q or %q, got %q", OnPauseReturn, OnPauseContinue, OnPauseRollback, c.OnPause)
	}
	switch c.Resume {
	case "":
	case ResumeContinue, ResumeRollback:
		if len(c.Images) > 0 || c.TaskDefinition != nil {
			bad("resume", "acts on the deployment already waiting at a PAUSE hook and deploys nothing: give no image, images or task-definition")
		}
	default:
		bad("resume", "must be %q or %q, got %q", ResumeContinue, ResumeRollback, c.Resume)
	}
	seen := map[string]bool{}
	for _, ci := range c.Images {
		if strings.TrimSpace(ci.Image) == "" {
			bad("images", "container %q has an empty image", ci.Container)
		}
		if seen[ci.Container] {
			bad("images", "container %q is listed twice", ci.Container)
		}
		seen[ci.Container] = true
	}
	if c.Revision != "" {
		if len(c.Images) > 0 {
			bad("revision", "cannot be combined with image or images: a promoted revision is deployed as it is")
		}
		if c.TaskDefinition != nil {
			bad("revision", "cannot be combined with task-definition: give one revision to deploy")
		}
		if c.Render != nil || c.BaseRevision != "" {
			bad("revision", "cannot be combined with the render inputs or task-definition-family: a promoted revision is deployed as it is")
		}
	}
	if pd := c.PreDeploy; pd != nil {
		if len(pd.Command) == 0 || strings.TrimSpace(strings.Join(pd.Command, "")) == "" {
			bad("pre-deploy-command", "is empty")
		}
		if pd.Timeout < 0 {
			bad("pre-deploy-timeout", "must be positive, got %s", pd.Timeout)
		}
	}
	if len(c.Images) > 1 && seen[""] {
		bad("container-name", "is required for every image when several images are given")
	}
	return errors.Join(errs...)
}
