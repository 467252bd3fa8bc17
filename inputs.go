package main

import (
	"bufio"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/report"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// Limits applied to the inputs. They are documented in the README's inputs
// table.
const (
	maxDuration        = 6 * time.Hour          // timeout, rollback-timeout, wait-for-minutes
	minPollInterval    = 100 * time.Millisecond // low enough for simulators; ECS throttling is absorbed by the retryer
	maxPollInterval    = 5 * time.Minute
	maxFailedThreshold = 10000
	maxLogLines        = 1000
)

// The names of the action's inputs (and of the CLI's flags).
const (
	inCluster                 = "cluster"
	inService                 = "service"
	inServices                = "services"
	inRollbackScope           = "rollback-scope"
	inImage                   = "image"
	inContainerName           = "container-name"
	inImages                  = "images"
	inTaskDefinition          = "task-definition"
	inRevision                = "revision"
	inPreDeployCommand        = "pre-deploy-command"
	inPreDeployContainer      = "pre-deploy-container"
	inPreDeployTimeout        = "pre-deploy-timeout"
	inTimeout                 = "timeout"
	inWaitForMinutes          = "wait-for-minutes"
	inPollInterval            = "poll-interval"
	inFailedTasksThreshold    = "failed-tasks-threshold"
	inRollback                = "rollback"
	inRollbackTimeout         = "rollback-timeout"
	inMinimumHealthyPercent   = "minimum-healthy-percent"
	inMaximumPercent          = "maximum-percent"
	inForceNewDeployment      = "force-new-deployment"
	inDesiredCount            = "desired-count"
	inEnableECSManagedTags    = "enable-ecs-managed-tags"
	inPropagateTags           = "propagate-tags"
	inWait                    = "wait"
	inWaitForServiceStability = "wait-for-service-stability"
	inLogLines                = "log-lines"
	inOnCancel                = "on-cancel"
	inOnBusy                  = "on-busy"
	inDeregisterFailed        = "deregister-failed"
	inDryRun                  = "dry-run"
	inBakeTime                = "bake-time"
	inAlarms                  = "alarms"
)

// inputKind tells how an input's text is parsed; the CLI uses it to make
// boolean flags usable without a value (--dry-run).
type inputKind int

const (
	kindString inputKind = iota
	kindBool
	kindInt
	kindDuration
	kindList
)

// inputSpec describes one input of the action (one flag of the CLI).
type inputSpec struct {
	Name     string
	Default  string // as action.yml declares it; "" for none
	Required bool
	Kind     inputKind
	Usage    string // one line, for --help
}

// inputSpecs lists every input the code reads, in the order of action.yml.
// TestActionInputs (action_test.go) checks that action.yml declares
// exactly these, with the same defaults and required flags.
//
// To add an input: a name constant above; a line here (the CLI flag and
// --help come from it); the same input in action.yml; its parsing in
// parseInputs into a deployer.Config field (problems through p.add, so
// that every problem is reported at once and nothing reaches AWS);
// regenerate --help with `go test -run TestHelpGolden -update .`; a row
// in the README's inputs table.
func inputSpecs() []inputSpec {
	return []inputSpec{
		{Name: inCluster, Default: deployer.DefaultCluster, Usage: "cluster name or ARN"},
		{Name: inService, Usage: "service name or ARN (or several in services)"},
		{Name: inServices, Kind: kindList, Usage: "several services in one step, one per line: name, cluster/name or service ARN; exclusive with service"},
		{Name: inRollbackScope, Default: string(deployer.RollbackScopeAll), Usage: "with services: all (a failure rolls back every service) or failed (only the failed ones)"},
		{Name: inImage, Usage: "new image for the container named by container-name (or the only container)"},
		{Name: inContainerName, Usage: "container to change with image; required when the task definition has several containers"},
		{Name: inImages, Kind: kindList, Usage: "several containers at once: one container=image per line (the CLI flag may be repeated)"},
		{Name: inTaskDefinition, Usage: "path to a task definition JSON file to register instead of a copy of the running revision"},
		{Name: inRevision, Usage: "promote an existing ACTIVE revision (family:revision or ARN) instead of registering one"},
		{Name: inPreDeployCommand, Usage: `one-off task run from the new revision before the service changes: JSON array or plain string (no shell)`},
		{Name: inPreDeployContainer, Usage: "container that runs pre-deploy-command; none: the one whose image changes, or the only one"},
		{Name: inPreDeployTimeout, Default: durationText(deployer.DefaultPreDeployTimeout), Kind: kindDuration, Usage: "how long the pre-deploy task may take; it is stopped when this passes"},
		{Name: inTimeout, Default: durationText(deployer.DefaultTimeout), Kind: kindDuration, Usage: "how long the deployment may take before it counts as failed"},
		{Name: inWaitForMinutes, Kind: kindInt, Usage: "alias of timeout in minutes (aws-actions compatibility)"},
		{Name: inPollInterval, Default: durationText(deployer.DefaultPollInterval), Kind: kindDuration, Usage: "time between status checks"},
		{Name: inFailedTasksThreshold, Default: "1", Kind: kindInt, Usage: "failed or stopped tasks of the new deployment that count as failure"},
		{Name: inRollback, Default: "true", Kind: kindBool, Usage: "roll back to the previous revision on failure or timeout"},
		{Name: inRollbackTimeout, Default: durationText(deployer.DefaultRollbackTimeout), Kind: kindDuration, Usage: "how long to wait for the rollback to settle"},
		{Name: inBakeTime, Default: "0s", Kind: kindDuration, Usage: "after the deployment completes, keep watching its tasks and the alarms this long (at most 6h); 0s: the verdict is final at COMPLETED"},
		{Name: inAlarms, Kind: kindList, Usage: "CloudWatch alarm names (metric or composite), one per line or comma-separated, at most 100; one in ALARM from the update to the end of the bake rolls back"},
		{Name: inMinimumHealthyPercent, Kind: kindInt, Usage: "tasks kept running during the deployment, 0 to 100 % of the desired count (ROLLING services: 100 when none; others: the service's own)"},
		{Name: inMaximumPercent, Kind: kindInt, Usage: "tasks allowed during the deployment, 100 to 200 % of the desired count (ROLLING services: 200 when none; others: the service's own)"},
		{Name: inForceNewDeployment, Default: "true", Kind: kindBool, Usage: "force a new deployment even when the revision is unchanged"},
		{Name: inDesiredCount, Kind: kindInt, Usage: "new desired count; none leaves it unchanged"},
		{Name: inEnableECSManagedTags, Kind: kindBool, Usage: "turn Amazon ECS managed tags on or off; none leaves it unchanged"},
		{Name: inPropagateTags, Usage: "TASK_DEFINITION, SERVICE or NONE; none leaves it unchanged"},
		{Name: inWait, Default: "true", Kind: kindBool, Usage: "watch the deployment; false: register, update and return"},
		{Name: inWaitForServiceStability, Kind: kindBool, Usage: "aws-actions compatibility: false is the same as wait: false"},
		{Name: inLogLines, Default: "20", Kind: kindInt, Usage: "log lines per failing container in the diagnosis; 0 turns it off"},
		{Name: inOnCancel, Default: string(deployer.OnCancelRollback), Usage: "on cancellation: rollback or leave"},
		{Name: inOnBusy, Default: string(deployer.OnBusyWait), Usage: "when another deployment is in progress: wait or fail"},
		{Name: inDeregisterFailed, Default: "false", Kind: kindBool, Usage: "after a verified rollback, deregister the failed revision"},
		{Name: inDryRun, Default: "false", Kind: kindBool, Usage: "run the preflight and print the plan; change nothing"},
		{Name: inOnPause, Default: string(deployer.OnPauseReturn), Usage: "when our deployment waits at a PAUSE hook: return (status paused), continue or rollback"},
		{Name: inResume, Usage: "continue or rollback the deployment waiting at a PAUSE hook (with service or services, no image)"},
	}
}

// inputEnvName is the variable the runner passes an input in: INPUT_ and
// the name upper-cased, hyphens kept (INPUT_CONTAINER-NAME).
func inputEnvName(name string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

// inputError is one problem with one input. Its message starts with the
// input's name, so a user can tell which input to fix.
type inputError struct {
	Input string
	Msg   string
}

func (e *inputError) Error() string { return e.Input + ": " + e.Msg }

// inputErrors returns the inputs named by the problems in err, in order.
func inputErrors(err error) []*inputError {
	var out []*inputError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		var ie *inputError
		if u, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range u.Unwrap() {
				walk(e)
			}
			return
		}
		if errors.As(err, &ie) {
			out = append(out, ie)
		}
	}
	walk(err)
	return out
}

// parseOptions is what parsing needs besides the inputs themselves.
type parseOptions struct {
	// Workspace resolves a relative task-definition path (GITHUB_WORKSPACE);
	// empty: relative to the working directory.
	Workspace string
	// ReadFile reads the task-definition file.
	ReadFile func(name string) ([]byte, error)
}

// parsed is the result of parsing the inputs.
type parsed struct {
	Config deployer.Config
	// Secrets are values read from the task-definition file that must never
	// be printed (environment values, secret ARNs); GitHub mode masks them.
	Secrets []string
	// Notes are lines worth logging, e.g. read-only members ignored in the
	// task-definition file.
	Notes []string
}

// parseInputs turns the inputs into a deployer.Config. get returns an
// input's raw text ("" when not given; surrounding spaces are ignored). It
// validates everything and reports every problem at once: the error is an
// errors.Join of *inputError values, each naming its input. It never calls
// AWS; it reads the task-definition file, if one is named, through
// opts.ReadFile.
func parseInputs(get func(name string) string, opts parseOptions) (*parsed, error) {
	p := &inputParser{get: get}
	out := &parsed{}
	cfg := &out.Config

	cfg.Cluster = p.cluster()
	if p.raw(inServices) != "" {
		cfg.Services = p.services(cfg.Cluster)
	} else {
		cfg.Service = p.service(cfg)
	}
	scope := deployer.RollbackScope(p.enum(inRollbackScope, string(deployer.RollbackScopeAll), string(deployer.RollbackScopeAll), string(deployer.RollbackScopeFailed)))
	if len(cfg.Services) > 0 {
		cfg.RollbackScope = scope
	}

	cfg.Images = p.images()
	var err error
	cfg.TaskDefinition, out.Secrets, err = p.taskDefinition(opts)
	if err != nil {
		p.add(inTaskDefinition, err.Error())
	}
	p.checkContainersInFile(cfg)
	cfg.Revision = p.revision()
	cfg.PreDeploy = p.preDeploy()

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
	cfg.MinimumHealthyPercent = p.percent(inMinimumHealthyPercent, 0, 100)
	cfg.MaximumPercent = p.percent(inMaximumPercent, 100, 200)
	cfg.RollingDefaults = true // empty inputs: 100 and 200 for a ROLLING service
	// A ROLLING service takes 100 for a minimum-healthy-percent not given.
	if lo, hi := cfg.MinimumHealthyPercent, cfg.MaximumPercent; hi != nil && *hi == 100 && (lo == nil || *lo == 100) {
		p.add(inMaximumPercent, "100 together with minimum-healthy-percent 100 leaves ECS no room to replace a task; raise maximum-percent or lower minimum-healthy-percent")
	}
	cfg.ForceNewDeployment = p.boolean(inForceNewDeployment, true)
	if s := p.raw(inDesiredCount); s != "" {
		n, ok := p.parseInt(inDesiredCount, s)
		if ok {
			if n < 0 || n > 1<<31-1 {
				p.add(inDesiredCount, fmt.Sprintf("%d is out of range (0 or more)", n))
			} else {
				c := int32(n)
				cfg.DesiredCount = &c
			}
		}
	}
	if s := p.raw(inEnableECSManagedTags); s != "" {
		if b, ok := p.parseBool(inEnableECSManagedTags, s); ok {
			cfg.EnableECSManagedTags = &b
		}
	}
	cfg.PropagateTags = p.propagateTags()

	cfg.Wait = p.wait()
	cfg.LogLines = p.intIn(inLogLines, 20, 0, maxLogLines)
	cfg.OnCancel = deployer.OnCancel(p.enum(inOnCancel, string(deployer.OnCancelRollback), string(deployer.OnCancelRollback), string(deployer.OnCancelLeave)))
	cfg.OnBusy = deployer.OnBusy(p.enum(inOnBusy, string(deployer.OnBusyWait), string(deployer.OnBusyWait), string(deployer.OnBusyFail)))
	cfg.DeregisterFailed = p.boolean(inDeregisterFailed, false)
	cfg.DryRun = p.boolean(inDryRun, false)
	cfg.BakeTime = p.bakeTime()
	cfg.Alarms = p.alarms()
	if !cfg.Wait {
		if cfg.BakeTime > 0 {
			p.add(inBakeTime, "needs wait: true (with wait: false nothing is watched)")
		}
		if len(cfg.Alarms) > 0 {
			p.add(inAlarms, "needs wait: true (with wait: false nothing is watched)")
		}
	}
	p.pauseInputs(cfg)

	// Something must be deployed. force-new-deployment alone (the default)
	// redeploys the running revision, which restarts the tasks.
	if cfg.Resume == "" && len(cfg.Images) == 0 && cfg.TaskDefinition == nil && cfg.Revision == "" && !cfg.ForceNewDeployment &&
		p.raw(inImage) == "" && p.raw(inImages) == "" && p.raw(inTaskDefinition) == "" && p.raw(inRevision) == "" {
		p.add(inImage, "nothing to deploy: set image, images or task-definition, or force-new-deployment: true to restart the running revision")
	}

	if err := errors.Join(p.errs...); err != nil {
		return nil, err
	}
	out.Notes = p.notes
	return out, nil
}

// inputParser collects problems while parsing.
type inputParser struct {
	get   func(string) string
	errs  []error
	notes []string
}

func (p *inputParser) raw(name string) string { return strings.TrimSpace(p.get(name)) }

func (p *inputParser) add(name, msg string) {
	p.errs = append(p.errs, &inputError{Input: name, Msg: msg})
}

// ECS names: up to 255 letters, numbers, hyphens and underscores. The
// length is checked apart (validECSName, maxARNLen): a bounded repeat like
// {1,255} makes the regexp package build a large program at every start.
var (
	ecsNameRE       = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	clusterARNRE    = regexp.MustCompile(`^arn:aws(?:-cn|-us-gov)?:ecs:([a-z]{2}(?:-gov)?-[a-z]+-\d):(\d{12}):cluster/([A-Za-z0-9_-]+)$`)
	serviceARNRE    = regexp.MustCompile(`^arn:aws(?:-cn|-us-gov)?:ecs:([a-z]{2}(?:-gov)?-[a-z]+-\d):(\d{12}):service/(?:([A-Za-z0-9_-]+)/)?([A-Za-z0-9_-]+)$`)
	propagateValues = []types.PropagateTags{types.PropagateTagsTaskDefinition, types.PropagateTagsService, types.PropagateTagsNone}
)

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

// maxECSName is the longest cluster, service or container name ECS takes.
const maxECSName = 255

// validECSName reports whether s is a valid ECS cluster, service or
// container name.
func validECSName(s string) bool { return len(s) <= maxECSName && ecsNameRE.MatchString(s) }

func (p *inputParser) cluster() string {
	s := p.raw(inCluster)
	switch {
	case s == "":
		return "default"
	case strings.HasPrefix(s, "arn:"):
		if m := clusterARNRE.FindStringSubmatch(s); m == nil || len(m[3]) > maxECSName {
			p.add(inCluster, fmt.Sprintf("%q is not a cluster ARN (arn:aws:ecs:<region>:<account>:cluster/<name>)", s))
		}
	case !validECSName(s):
		p.add(inCluster, fmt.Sprintf("%q is not a cluster name (up to 255 letters, numbers, hyphens and underscores) or ARN", s))
	}
	return s
}

// service parses the service input. A service ARN of the long form names
// its cluster: it fills the cluster when that was left at "default", and
// must agree with it otherwise.
func (p *inputParser) service(cfg *deployer.Config) string {
	s := p.raw(inService)
	switch {
	case s == "":
		p.add(inService, "required: the name or ARN of the ECS service to deploy")
	case strings.HasPrefix(s, "arn:"):
		m := serviceARNRE.FindStringSubmatch(s)
		if m == nil || len(m[3]) > maxECSName || len(m[4]) > maxECSName {
			p.add(inService, fmt.Sprintf("%q is not a service ARN (arn:aws:ecs:<region>:<account>:service/<cluster>/<name>)", s))
			return s
		}
		arnCluster := m[3]
		if arnCluster == "" {
			break
		}
		clusterName := cfg.Cluster
		if cm := clusterARNRE.FindStringSubmatch(cfg.Cluster); cm != nil {
			clusterName = cm[3]
			if cm[1] != m[1] || cm[2] != m[2] {
				p.add(inService, fmt.Sprintf("service ARN is in %s/%s but cluster %s is in %s/%s", m[1], m[2], cfg.Cluster, cm[1], cm[2]))
				break
			}
		}
		switch {
		case clusterName == "default" && arnCluster != "default":
			cfg.Cluster = arnCluster
		case clusterName != arnCluster:
			p.add(inService, fmt.Sprintf("service ARN names cluster %q but the cluster input is %q", arnCluster, cfg.Cluster))
		}
	case !validECSName(s):
		p.add(inService, fmt.Sprintf("%q is not a service name (up to 255 letters, numbers, hyphens and underscores) or ARN", s))
	}
	return s
}

// services parses the services input: one service per line (commas work
// too), each a name (in the cluster input's cluster), cluster/name, or a
// service ARN of the long form (which names its cluster).
func (p *inputParser) services(cluster string) []deployer.Target {
	if p.raw(inService) != "" {
		p.add(inServices, "service and services are exclusive: name one service in service, or several in services")
		return nil
	}
	var out []deployer.Target
	seen := map[deployer.Target]bool{}
	for _, line := range strings.FieldsFunc(p.raw(inServices), func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		s := strings.TrimSpace(line)
		if s == "" {
			continue
		}
		t := deployer.Target{Cluster: cluster, Service: s}
		switch {
		case strings.HasPrefix(s, "arn:"):
			m := serviceARNRE.FindStringSubmatch(s)
			if m == nil || m[3] == "" || len(m[3]) > maxECSName || len(m[4]) > maxECSName {
				p.add(inServices, fmt.Sprintf("%q is not a service ARN of the long form (arn:aws:ecs:<region>:<account>:service/<cluster>/<name>)", report.Truncate(s, 300)))
				continue
			}
			t.Cluster = m[3]
		case strings.Contains(s, "/"):
			cl, name, _ := strings.Cut(s, "/")
			if !validECSName(cl) || !validECSName(name) {
				p.add(inServices, fmt.Sprintf("%q is not cluster/service (names of up to 255 letters, numbers, hyphens and underscores)", report.Truncate(s, 300)))
				continue
			}
			t = deployer.Target{Cluster: cl, Service: name}
		case !validECSName(s):
			p.add(inServices, fmt.Sprintf("%q is not a service name (up to 255 letters, numbers, hyphens and underscores), cluster/name or ARN", report.Truncate(s, 300)))
			continue
		}
		key := deployer.Target{Cluster: t.Cluster, Service: t.Service[strings.LastIndex(t.Service, "/")+1:]}
		if seen[key] {
			p.add(inServices, fmt.Sprintf("service %s is listed twice", key))
			continue
		}
		seen[key] = true
		out = append(out, t)
	}
	switch {
	case len(out) == 0 && len(p.errs) == 0:
		p.add(inServices, "names no service")
	case len(out) > deployer.MaxServices:
		p.add(inServices, fmt.Sprintf("at most %d services in one step, got %d", deployer.MaxServices, len(out)))
	}
	return out
}

func (p *inputParser) images() []deployer.ContainerImage {
	image, name, list := p.raw(inImage), p.raw(inContainerName), p.raw(inImages)
	if list != "" {
		if image != "" {
			p.add(inImages, "cannot be used together with image: list every container in images")
		}
		if name != "" {
			p.add(inContainerName, "cannot be used with images: name each container in images (container=image)")
		}
		imgs, err := parseImagesList(list)
		if err != nil {
			for _, e := range inputErrors(err) {
				p.errs = append(p.errs, e)
			}
		}
		return imgs
	}
	if image == "" {
		if name != "" {
			p.add(inContainerName, "is set but image is not: give the new image for "+strconv.Quote(name))
		}
		return nil
	}
	bad := false
	if name != "" && !validECSName(name) {
		p.add(inContainerName, fmt.Sprintf("%q is not a container name (up to 255 letters, numbers, hyphens and underscores)", name))
		bad = true
	}
	if err := validateImage(image); err != nil {
		p.add(inImage, err.Error())
		bad = true
	}
	if bad {
		return nil
	}
	// Errors about the container (not found, several to choose from)
	// name the input that chose it.
	input := inImage
	if name != "" {
		input = inContainerName
	}
	return []deployer.ContainerImage{{Container: name, Image: image, Input: input}}
}

// parseImagesList parses the images input: one container=image per line,
// blank lines and surrounding spaces ignored. Every bad line is reported
// (as an *inputError for "images" naming the line), all at once.
func parseImagesList(s string) ([]deployer.ContainerImage, error) {
	var out []deployer.ContainerImage
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, &inputError{Input: inImages, Msg: fmt.Sprintf("line %d: ", line) + fmt.Sprintf(format, args...)})
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		name, image, ok := strings.Cut(line, "=")
		name, image = strings.TrimSpace(name), strings.TrimSpace(image)
		switch {
		case !ok || name == "" || image == "":
			bad(n, "%q is not container=image", report.Truncate(line, 80))
			continue
		case !validECSName(name):
			bad(n, "%q is not a container name (up to 255 letters, numbers, hyphens and underscores)", report.Truncate(name, 80))
			continue
		}
		if first, dup := seen[name]; dup {
			bad(n, "container %q is listed twice (first on line %d)", name, first)
			continue
		}
		seen[name] = n
		if err := validateImage(image); err != nil {
			bad(n, "%s", err)
			continue
		}
		out = append(out, deployer.ContainerImage{Container: name, Image: image, Input: inImages})
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &inputError{Input: inImages, Msg: fmt.Sprintf("line %d: %v", n+1, err)})
	}
	if len(errs) == 0 && len(out) == 0 {
		errs = append(errs, &inputError{Input: inImages, Msg: "no container=image line"})
	}
	return out, errors.Join(errs...)
}

// validateImage checks an image reference as Docker and ECS understand it.
func validateImage(ref string) error { return taskdef.ValidateImage(ref) }

// taskDefinition reads and parses the task-definition file, if named.
func (p *inputParser) taskDefinition(opts parseOptions) (*ecs.RegisterTaskDefinitionInput, []string, error) {
	path := p.raw(inTaskDefinition)
	if path == "" {
		return nil, nil, nil
	}
	if !filepath.IsAbs(path) && opts.Workspace != "" {
		path = filepath.Join(opts.Workspace, path)
	}
	if opts.ReadFile == nil {
		return nil, nil, fmt.Errorf("cannot read %s", path)
	}
	data, err := opts.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	in, stripped, err := taskdef.ParseFileStripped(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, s := range stripped {
		p.notes = append(p.notes, fmt.Sprintf("task-definition: ignoring %s (ECS sets it itself)", s))
	}
	return in, taskdef.MaskValues(in), nil
}

// checkContainersInFile checks that the containers named by image or images
// exist in the task-definition file, when one is given.
func (p *inputParser) checkContainersInFile(cfg *deployer.Config) {
	if cfg.TaskDefinition == nil {
		return
	}
	var names []string
	have := map[string]bool{}
	for _, c := range cfg.TaskDefinition.ContainerDefinitions {
		if c.Name != nil {
			names = append(names, *c.Name)
			have[*c.Name] = true
		}
	}
	for _, ci := range cfg.Images {
		input := ci.Input
		if input == inImage {
			input = inContainerName
		}
		switch {
		case ci.Container == "" && len(names) > 1:
			p.add(inContainerName, fmt.Sprintf("required: the task definition file has %d containers (%s)", len(names), strings.Join(names, ", ")))
		case ci.Container != "" && !have[ci.Container]:
			p.add(input, fmt.Sprintf("container %q is not in the task definition file (it has %s)", ci.Container, strings.Join(names, ", ")))
		}
	}
}

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
	if n <= 0 || time.Duration(n)*time.Minute > maxDuration {
		p.add(inWaitForMinutes, fmt.Sprintf("%d is out of range (1 to %d minutes)", n, int(maxDuration/time.Minute)))
		return t
	}
	w := time.Duration(n) * time.Minute
	// The runner passes timeout's default even when the user did not set
	// it, so only a timeout other than the default conflicts.
	if ts := p.raw(inTimeout); ts != "" && ts != durationText(deployer.DefaultTimeout) && t != w {
		p.add(inWaitForMinutes, fmt.Sprintf("%d minutes disagrees with timeout %s: set only one", n, ts))
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

func (p *inputParser) propagateTags() types.PropagateTags {
	s := p.raw(inPropagateTags)
	if s == "" {
		return ""
	}
	for _, v := range propagateValues {
		if strings.EqualFold(s, string(v)) {
			return v
		}
	}
	p.add(inPropagateTags, fmt.Sprintf("%q is not one of TASK_DEFINITION, SERVICE, NONE", report.Truncate(s, 80)))
	return ""
}

func (p *inputParser) enum(name, def string, allowed ...string) string {
	s := p.raw(name)
	if s == "" {
		return def
	}
	for _, a := range allowed {
		if strings.EqualFold(s, a) {
			return a
		}
	}
	p.add(name, fmt.Sprintf("%q is not one of %s", report.Truncate(s, 80), strings.Join(allowed, ", ")))
	return def
}

// parseBool accepts true and false in any case, like the Actions toolkit.
func (p *inputParser) parseBool(name, s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	p.add(name, fmt.Sprintf("%q is not a boolean (true or false)", report.Truncate(s, 80)))
	return false, false
}

func (p *inputParser) boolean(name string, def bool) bool {
	s := p.raw(name)
	if s == "" {
		return def
	}
	b, ok := p.parseBool(name, s)
	if !ok {
		return def
	}
	return b
}

func (p *inputParser) parseInt(name, s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.add(name, fmt.Sprintf("%q is not a whole number", report.Truncate(s, 80)))
		return 0, false
	}
	return n, true
}

// percent parses an optional percentage input: nil when not given (or
// invalid, with the problem recorded).
func (p *inputParser) percent(name string, lo, hi int) *int32 {
	n, ok := p.optionalIntIn(name, lo, hi)
	if !ok {
		return nil
	}
	v := int32(n)
	return &v
}

func (p *inputParser) intIn(name string, def, lo, hi int) int {
	n, ok := p.optionalIntIn(name, lo, hi)
	if !ok {
		return def
	}
	return n
}

// optionalIntIn parses a whole-number input within [lo, hi]; ok is false
// when it is not given or invalid (the problem recorded).
func (p *inputParser) optionalIntIn(name string, lo, hi int) (int, bool) {
	s := p.raw(name)
	if s == "" {
		return 0, false
	}
	n, ok := p.parseInt(name, s)
	if !ok {
		return 0, false
	}
	if n < int64(lo) || n > int64(hi) {
		p.add(name, fmt.Sprintf("%d is out of range (%d to %d)", n, lo, hi))
		return 0, false
	}
	return int(n), true
}

// duration parses a Go duration (10m, 90s, 1h30m). lo is exclusive when 0
// (durations must be positive) and inclusive otherwise.
func (p *inputParser) duration(name string, def, lo, hi time.Duration) time.Duration {
	s := p.raw(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		hint := ""
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			hint = ": add a unit"
		}
		p.add(name, fmt.Sprintf("%q is not a duration (e.g. 10m)%s", report.Truncate(s, 80), hint))
		return 0
	}
	switch {
	case d <= 0:
		p.add(name, fmt.Sprintf("%s must be positive", d))
		return 0
	case d < lo:
		p.add(name, fmt.Sprintf("%s is too short (at least %s)", d, lo))
		return 0
	case d > hi:
		p.add(name, fmt.Sprintf("%s is too long (at most %s)", d, hi))
		return 0
	}
	return d
}

// bakeTime parses bake-time: a Go duration from 0s (no bake) to
// deployer.MaxBakeTime.
func (p *inputParser) bakeTime() time.Duration {
	s := p.raw(inBakeTime)
	if s == "" || s == "0" {
		return 0
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		p.add(inBakeTime, fmt.Sprintf("%q is not a duration (e.g. 10m, or 0s for none)", report.Truncate(s, 80)))
	case d < 0:
		p.add(inBakeTime, fmt.Sprintf("%s must not be negative", d))
	case d > deployer.MaxBakeTime:
		p.add(inBakeTime, fmt.Sprintf("%s is too long (at most %s)", d, durationText(deployer.MaxBakeTime)))
	default:
		return d
	}
	return 0
}

// alarms parses the alarms input: CloudWatch alarm names, one per line
// or comma-separated (so a name cannot contain a comma), duplicates
// dropped, at most deployer.MaxAlarms.
func (p *inputParser) alarms() []string {
	var names []string
	seen := map[string]bool{}
	for _, line := range strings.Split(p.raw(inAlarms), "\n") {
		for _, n := range strings.Split(line, ",") {
			n = strings.TrimSpace(n)
			if n == "" || seen[n] {
				continue
			}
			seen[n] = true
			if len(n) > 255 || strings.IndexFunc(n, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
				p.add(inAlarms, fmt.Sprintf("%q is not an alarm name (1 to 255 characters, no control characters)", report.Truncate(n, 80)))
				continue
			}
			names = append(names, n)
		}
	}
	if len(names) > deployer.MaxAlarms {
		p.add(inAlarms, fmt.Sprintf("%d alarms named; at most %d can be watched (one DescribeAlarms call)", len(names), deployer.MaxAlarms))
		return nil
	}
	return names
}

// durationText prints a duration the short way people write it: 10m, 5s,
// 1h30m (time.Duration.String would print 10m0s).
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// revision parses the revision input: an existing task definition to
// promote, as family:revision or ARN (not a bare family, which would
// deploy whatever revision is the latest at the time).
func (p *inputParser) revision() string {
	s := p.raw(inRevision)
	if s == "" {
		return ""
	}
	var others []string
	for _, name := range []string{inImage, inImages, inTaskDefinition} {
		if p.raw(name) != "" {
			others = append(others, name)
		}
	}
	if len(others) > 0 {
		p.add(inRevision, fmt.Sprintf("cannot be combined with %s: a promoted revision is deployed as it is", strings.Join(others, " or ")))
	}
	fam := taskdef.Family(s)
	if _, ok := taskdef.Revision(s); !ok || !validECSName(fam) ||
		(strings.HasPrefix(s, "arn:") && !strings.Contains(s, ":task-definition/")) {
		p.add(inRevision, fmt.Sprintf("%q is not a task definition revision: give family:revision (web:41) or its ARN", report.Truncate(s, 120)))
		return ""
	}
	return s
}

// preDeploy parses pre-deploy-command, pre-deploy-container and
// pre-deploy-timeout; nil when there is no pre-deploy task.
func (p *inputParser) preDeploy() *deployer.PreDeploy {
	s, container := p.raw(inPreDeployCommand), p.raw(inPreDeployContainer)
	timeout := p.duration(inPreDeployTimeout, deployer.DefaultPreDeployTimeout, time.Second, maxDuration)
	if s == "" {
		if container != "" {
			p.add(inPreDeployContainer, "is set but pre-deploy-command is not: give the command to run")
		}
		return nil
	}
	cmd, err := deployer.ParseCommand(s)
	if err != nil {
		p.add(inPreDeployCommand, err.Error())
	}
	if container != "" && !validECSName(container) {
		p.add(inPreDeployContainer, fmt.Sprintf("%q is not a container name (up to 255 letters, numbers, hyphens and underscores)", report.Truncate(container, 80)))
	}
	return &deployer.PreDeploy{Command: cmd, Container: container, Timeout: timeout}
}
