package action

import (
	"fmt"
	"time"

	"github.com/ecs-rollout/ecs-rollout/deployer"
)

// The inputs of the watch and of the rollback: how long, how often, what
// counts as failure, what to do about it, and how the run behaves (wait,
// cancellation, a deployment already in progress, dry run).
const (
	inTimeout                 = "timeout"
	inWaitForMinutes          = "wait-for-minutes"
	inPollInterval            = "poll-interval"
	inFailedTasksThreshold    = "failed-tasks-threshold"
	inRollback                = "rollback"
	inRollbackTimeout         = "rollback-timeout"
	inWait                    = "wait"
	inWaitForServiceStability = "wait-for-service-stability"
	inLogLines                = "log-lines"
	inOnCancel                = "on-cancel"
	inOnBusy                  = "on-busy"
	inDeregisterFailed        = "deregister-failed"
	inDryRun                  = "dry-run"
)

// watchInputs parses the watch's and the rollback's inputs.
func (p *inputParser) watchInputs(out *parsed, _ parseOptions) {
	cfg := &out.Config
	cfg.Timeout = p.timeout()
	cfg.PollInterval = p.duration(inPollInterval, deployer.DefaultPollInterval, minPollInterval, maxPollInterval)
	cfg.RollbackTimeout = p.duration(inRollbackTimeout, deployer.DefaultRollbackTimeout, 0, maxDuration)
	if p.raw(inPollInterval) == "" || cfg.PollInterval == deployer.DefaultPollInterval {
		// The default interval (left empty, or filled in from action.yml
		// by the runner) must not turn a short timeout the user set into
		// an input error: poll at least five times per timeout.
		cfg.PollInterval = defaultPollFor(cfg.Timeout, cfg.RollbackTimeout)
	} else if cfg.PollInterval > 0 {
		if cfg.Timeout > 0 && cfg.PollInterval >= cfg.Timeout {
			p.add(inPollInterval, fmt.Sprintf("%s must be shorter than the timeout (%s)", cfg.PollInterval, cfg.Timeout))
		} else if cfg.RollbackTimeout > 0 && cfg.PollInterval >= cfg.RollbackTimeout {
			p.add(inPollInterval, fmt.Sprintf("%s must be shorter than rollback-timeout (%s)", cfg.PollInterval, cfg.RollbackTimeout))
		}
	}
	cfg.FailedTasksThreshold = p.intIn(inFailedTasksThreshold, 1, 1, maxFailedThreshold)
	cfg.Rollback = p.boolean(inRollback, true)
}

// runInputs parses the inputs of how the run behaves: wait, log-lines,
// on-cancel, on-busy, deregister-failed and dry-run.
func (p *inputParser) runInputs(out *parsed, _ parseOptions) {
	cfg := &out.Config
	cfg.Wait = p.wait()
	cfg.LogLines = p.intIn(inLogLines, 20, 0, maxLogLines)
	cfg.OnCancel = deployer.OnCancel(p.enum(inOnCancel, string(deployer.OnCancelRollback), string(deployer.OnCancelRollback), string(deployer.OnCancelLeave)))
	cfg.OnBusy = deployer.OnBusy(p.enum(inOnBusy, string(deployer.OnBusyWait), string(deployer.OnBusyWait), string(deployer.OnBusyFail)))
	cfg.DeregisterFailed = p.boolean(inDeregisterFailed, false)
	cfg.DryRun = p.boolean(inDryRun, false)
}

// defaultPollFor is the poll interval when none is given: the default,
// shortened so that each timeout spans at least five polls, and never
// under the minimum.
func defaultPollFor(timeouts ...time.Duration) time.Duration {
	d := deployer.DefaultPollInterval
	for _, t := range timeouts {
		if t > 0 && t/5 < d {
			d = t / 5
		}
	}
	return max(d, minPollInterval)
}

// maxWaitForMinutes is the deploy action's own limit on wait-for-minutes
// (MAX_WAIT_MINUTES, 6 hours): more is taken as 360, with a notice.
const maxWaitForMinutes = 360

// timeout parses timeout and wait-for-minutes (the deploy action's name
// for it, in minutes). wait-for-minutes above 360 is clamped to 6 hours
// as the deploy action clamps it, with a notice.
func (p *inputParser) timeout() time.Duration {
	t := p.duration(inTimeout, deployer.DefaultTimeout, 0, maxDuration)
	s := p.raw(inWaitForMinutes)
	if s == "" {
		return t
	}
	n, ok := p.parseInt(inWaitForMinutes, s)
	if !ok {
		return t
	}
	if n == 0 {
		// The deploy action reads wait-for-minutes as
		// parseInt(...) || 30: a 0 is its default.
		p.notice(inWaitForMinutes, fmt.Sprintf("0 is taken as not set, as the deploy action does; waiting up to timeout (%s)", durationText(t)))
		return t
	}
	if n < 0 {
		p.add(inWaitForMinutes, fmt.Sprintf("%d is out of range (1 to %d minutes)", n, maxWaitForMinutes))
		return t
	}
	if n > maxWaitForMinutes {
		p.notice(inWaitForMinutes, fmt.Sprintf("%d minutes is more than 6 hours; waiting at most 360 minutes (6h), as the deploy action does", n))
		n = maxWaitForMinutes
	}
	w := time.Duration(n) * time.Minute
	// The runner passes timeout's default even when the user did not set
	// it, so only a timeout other than the default conflicts.
	if ts := p.raw(inTimeout); ts != "" && ts != durationText(deployer.DefaultTimeout) && t != w {
		p.add(inWaitForMinutes, fmt.Sprintf("%s minutes disagrees with timeout %s: set only one", s, ts))
	}
	return w
}

func (p *inputParser) wait() bool {
	w := p.boolean(inWait, true)
	s := p.raw(inWaitForServiceStability)
	if s == "" {
		return w
	}
	stable, ok := p.parseBool(inWaitForServiceStability, s)
	if !ok {
		return w
	}
	if stable && !w {
		p.add(inWaitForServiceStability, "true disagrees with wait: false: set only one")
	}
	return w && stable
}
