package action

import (
	"errors"
	"strings"
	"time"

	"github.com/ecs-rollout/ecs-rollout/deployer"
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
// To add an input: a name constant in its group's file (inputs_<group>.go);
// a line here (the CLI flag and --help come from it); the same input in
// action.yml; its parsing in the group's method into a deployer.Config
// field (problems through p.add, so that every problem is reported at
// once and nothing reaches AWS; a new group: see parseInputs);
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
		{Name: inTaskDefinition, Usage: "path to a task definition file (JSON or YAML) to register instead of a copy of the running revision"},
		{Name: inRevision, Usage: "promote an existing ACTIVE revision (family:revision or ARN) instead of registering one"},
		{Name: inPreDeployCommand, Usage: `one-off task run from the new revision before the service changes: JSON array, or a string with quoted arguments kept whole (no shell)`},
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
		{Name: inMinimumHealthyPercent, Kind: kindInt, Usage: "tasks kept running during the deployment, 0 to 100 % of the desired count; none: the service's own"},
		{Name: inMaximumPercent, Kind: kindInt, Usage: "tasks allowed during the deployment, 100 to 200 % of the desired count; none: the service's own"},
		{Name: inForceNewDeployment, Default: "true", Kind: kindBool, Usage: "force a new deployment even when the revision is unchanged"},
		{Name: inDesiredCount, Kind: kindInt, Usage: "new desired count; none leaves it unchanged"},
		{Name: inEnableECSManagedTags, Kind: kindBool, Usage: "turn Amazon ECS managed tags on or off; none leaves it unchanged"},
		{Name: inPropagateTags, Usage: "TASK_DEFINITION, SERVICE or NONE; none leaves it unchanged"},
		{Name: inEnableExecuteCommand, Kind: kindBool, Usage: "turn ECS Exec on or off for the service's tasks with the update (a rollback restores the service's own); none leaves it unchanged"},
		{Name: inWait, Default: "true", Kind: kindBool, Usage: "watch the deployment; false: register, update and return"},
		{Name: inWaitForServiceStability, Kind: kindBool, Usage: "aws-actions compatibility: false is the same as wait: false"},
		{Name: inLogLines, Default: "20", Kind: kindInt, Usage: "log lines per failing container in the diagnosis; 0 turns it off"},
		{Name: inOnCancel, Default: string(deployer.OnCancelRollback), Usage: "on cancellation: rollback or leave"},
		{Name: inOnBusy, Default: string(deployer.OnBusyWait), Usage: "when another deployment is in progress: wait or fail"},
		{Name: inDeregisterFailed, Default: "false", Kind: kindBool, Usage: "after a verified rollback, deregister the failed revision"},
		{Name: inKeepRevisions, Kind: kindInt, Usage: "after a success, deregister the family's older ACTIVE revisions beyond the newest N, never one in use in the cluster nor the rollback target; none keeps all"},
		{Name: inDryRun, Default: "false", Kind: kindBool, Usage: "run the preflight and print the plan; change nothing"},
		{Name: inOnPause, Default: string(deployer.OnPauseReturn), Usage: "when our deployment waits at a PAUSE hook: return (status paused), continue or rollback"},
		{Name: inResume, Usage: "continue or rollback the deployment waiting at a PAUSE hook (with service or services, no image)"},
		{Name: inVerify, Default: "true", Kind: kindBool, Usage: "before any change, verify the revision's images (and platform), secrets, log groups and roles; false skips it"},
		{Name: inCodeDeployAppSpec, Usage: "CODE_DEPLOY services: AppSpec file (YAML or JSON; its TaskDefinition is replaced); none: the workspace's appspec.yaml, else built from the service's load balancer"},
		{Name: inCodeDeployApplication, Usage: "CODE_DEPLOY services: CodeDeploy application; none: AppECS-<cluster>-<service>"},
		{Name: inCodeDeployGroup, Usage: "CODE_DEPLOY services: CodeDeploy deployment group; none: DgpECS-<cluster>-<service>"},
		{Name: inCodeDeployDescription, Usage: "CODE_DEPLOY services: description of the CodeDeploy deployment"},
		{Name: inCodeDeployConfig, Usage: "CODE_DEPLOY services: CodeDeploy deployment configuration (e.g. CodeDeployDefault.ECSCanary10Percent5Minutes); none: the deployment group's"},
		{Name: inEnvironmentVariables, Kind: kindList, Usage: "environment variables of the container (container-name or the only one): one NAME=value per line sets one, -NAME removes one"},
		{Name: inEnvFiles, Kind: kindList, Usage: "S3 object ARNs of .env files that replace the container's environmentFiles, one per line"},
		{Name: inSecrets, Kind: kindList, Usage: "secrets of the container: one NAME=valueFrom (Secrets Manager or SSM ARN) per line, -NAME removes one"},
		{Name: inDockerLabels, Kind: kindList, Usage: "Docker labels of the container: one key=value per line, -key removes one"},
		{Name: inLogDriver, Usage: "the container's log driver (logConfiguration.logDriver), e.g. awslogs or awsfirelens"},
		{Name: inLogOptions, Kind: kindList, Usage: "the container's log options (logConfiguration.options): one key=value per line, -key removes one"},
		{Name: inCommand, Usage: `the container's command: a JSON array, or a string split on spaces with quoted arguments kept whole`},
		{Name: inTaskRoleARN, Usage: "IAM role ARN of the task (taskRoleArn)"},
		{Name: inExecutionRoleARN, Usage: "IAM role ARN of the task execution (executionRoleArn)"},
		{Name: inCPU, Usage: `task-level CPU: units (1024) or vCPUs ("1 vCPU"); checked against Fargate's sizes`},
		{Name: inMemory, Usage: `task-level memory: MiB (2048) or GB ("2 GB"); checked against Fargate's sizes`},
		{Name: inTaskDefinitionARN, Usage: "start from this revision (family, family:revision or ARN) instead of the service's running one; task-definition wins over it"},
		{Name: inTaskDefinitionFamily, Usage: "start from this family's latest ACTIVE revision (or task-definition-revision) instead of the service's running one"},
		{Name: inTaskDefinitionRevision, Kind: kindInt, Usage: "with task-definition-family: the revision number to start from"},
		{Name: inServiceEBSVolumeName, Usage: "the task definition's volume configured at launch that service-managed-ebs-volume configures; none: that volume"},
		{Name: inServiceEBSVolume, Usage: "the service's Amazon EBS volume: a JSON managedEBSVolume object (sizeInGiB, volumeType, roleArn, ...); restored on rollback"},
		{Name: inPreDeployStartedBy, Usage: "startedBy of the pre-deploy task; none: ecs-rollout/pre-deploy/<random>"},
		{Name: inPreDeployTags, Usage: `tags of the pre-deploy task: a JSON array ([{"key": "k", "value": "v"}])`},
		{Name: inPreDeployEBSVolumeName, Usage: "the task definition's volume configured at launch that pre-deploy-managed-ebs-volume configures; none: that volume"},
		{Name: inPreDeployEBSVolume, Usage: "the pre-deploy task's Amazon EBS volume: a JSON managedEBSVolume object; none: the service's"},
		{Name: inRunTask, Kind: kindBool, Usage: "as the deploy action: run a one-off task from the new revision before the service changes (also without service)"},
		{Name: inRunTaskContainerOverrides, Usage: `run-task: a JSON array of container overrides ([{"name": "app", "command": ["bin/migrate"]}]); none: the task's own commands`},
		{Name: inRunTaskSecurityGroups, Usage: "run-task: security group IDs, comma-separated (with run-task-subnets)"},
		{Name: inRunTaskSubnets, Usage: "run-task: subnet IDs, comma-separated: the task's own awsvpc configuration; none: the service's"},
		{Name: inRunTaskAssignPublicIP, Usage: "run-task: ENABLED or DISABLED, with run-task-subnets or on the service's network configuration"},
		{Name: inRunTaskCapacityProviderStrategy, Usage: "run-task: a JSON array of capacity provider strategy items; wins over run-task-launch-type"},
		{Name: inRunTaskLaunchType, Usage: "run-task: FARGATE, EC2, EXTERNAL or MANAGED_INSTANCES; none: the service's placement, FARGATE without service"},
		{Name: inRunTaskStartedBy, Usage: "run-task: the task's startedBy; none: GitHub-Actions"},
		{Name: inRunTaskTags, Usage: `run-task: the task's tags, a JSON array ([{"key": "k", "value": "v"}])`},
		{Name: inRunTaskEBSVolumeName, Usage: "run-task: the volume configured at launch that run-task-managed-ebs-volume configures; none: the task definition's"},
		{Name: inRunTaskEBSVolume, Usage: "run-task: the task's Amazon EBS volume, a JSON managedEBSVolume object; none: the service's"},
		{Name: inWaitForTaskStopped, Kind: kindBool, Usage: "run-task: wait (up to timeout) and update the service only if every container exits 0; false: update it while the task runs"},
		{Name: inKeepNullValueKeys, Usage: "task-definition file members whose empty value (\"\", [], {}) is kept, comma-separated; others are removed, as the deploy action does"},
		{Name: inWaitMaxDelaySeconds, Kind: kindInt, Usage: "aws-actions compatibility: at most this many seconds between polls (shortens poll-interval)"},
		{Name: inMaxRetries, Kind: kindInt, Usage: "aws-actions compatibility: attempts of each AWS API call, the first included; none: 10, or AWS_MAX_ATTEMPTS"},
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
	// Notices are lines worth a notice annotation: an input taken other
	// than as given (wait-for-minutes clamped to 6 hours), each starting
	// with the input's name.
	Notices []string
	// MaxAttempts is max-retries: the attempts of each AWS call, the first
	// included (0: the retry policy's own, see internal/awsclient).
	MaxAttempts int
}

// parseInputs turns the inputs into a deployer.Config. get returns an
// input's raw text ("" when not given; surrounding spaces are ignored). It
// validates everything and reports every problem at once: the error is an
// errors.Join of *inputError values, each naming its input. It never calls
// AWS; it reads the task-definition file, if one is named, through
// opts.ReadFile.
//
// The inputs are parsed in groups, one file each (inputs_<group>.go: the
// group's input names, its parse method and its helpers). To add a group:
// write inputs_<group>.go with a method
//
//	func (p *inputParser) <group>Inputs(out *parsed, opts parseOptions)
//
// that sets out.Config and reports problems through p.add (never returning
// early: every problem at once); add a line to groups below (a group may
// read what an earlier one set in out.Config); add its inputs to
// inputSpecs. Checks across groups come after the loop.
func parseInputs(get func(name string) string, opts parseOptions) (*parsed, error) {
	p := &inputParser{get: get}
	out := &parsed{}
	groups := []func(*inputParser, *parsed, parseOptions){
		(*inputParser).targetInputs,     // inputs_target.go: cluster, service, services, rollback-scope
		(*inputParser).imageInputs,      // inputs_image.go: image, container-name, images, task-definition, revision
		(*inputParser).preDeployInputs,  // inputs_predeploy.go: pre-deploy-*
		(*inputParser).watchInputs,      // inputs_watch.go: timeout, poll-interval, failed-tasks-threshold, rollback*
		(*inputParser).serviceInputs,    // inputs_service.go: the service's settings (percentages, desired count, tags)
		(*inputParser).runInputs,        // inputs_watch.go: wait, log-lines, on-cancel, on-busy, deregister-failed, dry-run
		(*inputParser).bakeInputs,       // inputs_bake.go: bake-time, alarms (after wait)
		(*inputParser).revisionsInputs,  // inputs_revisions.go: keep-revisions (after wait)
		(*inputParser).strategyInputs,   // inputs_strategies.go: on-pause, resume
		(*inputParser).verifyInputs,     // inputs_verify.go: verify
		(*inputParser).codeDeployInputs, // inputs_codedeploy.go: codedeploy-*
		(*inputParser).volumeInputs,     // inputs_volumes.go: the service's and the pre-deploy task's EBS volumes (after pre-deploy)
		(*inputParser).renderInputs,     // inputs_render.go: the render action's inputs; register-only (checks the groups above)
		(*inputParser).compatInputs,     // inputs_compat.go: wait-max-delay-seconds, max-retries (after watchInputs)
	}
	for _, parse := range groups {
		parse(p, out, opts)
	}

	// Something must be deployed. force-new-deployment alone (the default)
	// redeploys the running revision, which restarts the tasks.
	cfg := &out.Config
	if cfg.Resume == "" && len(cfg.Images) == 0 && cfg.TaskDefinition == nil && cfg.Revision == "" && !cfg.ForceNewDeployment &&
		p.raw(inImage) == "" && p.raw(inImages) == "" && p.raw(inTaskDefinition) == "" && p.raw(inRevision) == "" {
		p.add(inImage, "nothing to deploy: set image, images or task-definition, or force-new-deployment: true to restart the running revision")
	}

	if err := errors.Join(p.errs...); err != nil {
		return nil, err
	}
	out.Notes, out.Notices = p.notes, p.notices
	return out, nil
}

// inputParser collects problems while parsing.
type inputParser struct {
	get     func(string) string
	errs    []error
	notes   []string
	notices []string
}

func (p *inputParser) raw(name string) string { return strings.TrimSpace(p.get(name)) }

func (p *inputParser) add(name, msg string) {
	p.errs = append(p.errs, &inputError{Input: name, Msg: msg})
}

// notice records an input taken other than as given, for a notice
// annotation naming it.
func (p *inputParser) notice(name, msg string) {
	p.notices = append(p.notices, name+": "+msg)
}
