package action

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	githubactions "github.com/sethvargo/go-githubactions"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// runDeploy is the deploy command: inputs from the INPUT_* variables in
// GitHub mode when no flags are given, from flags otherwise.
func (e *cmdEnv) runDeploy(ctx context.Context, args []string) int {
	return e.runDeployWith(ctx, args, nil)
}

// runDeployWith is runDeploy with some inputs forced to a value (the
// verify command forces dry-run and verify).
func (e *cmdEnv) runDeployWith(ctx context.Context, args []string, force map[string]string) int {
	gh := e.github()
	fs := flag.NewFlagSet("ecs-rollout", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {}
	flagInputs := defineInputFlags(fs)
	summaryPath := fs.String("summary", "", "also write the job summary (Markdown) to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(e.stdout, fs)
			return exitOK
		}
		fmt.Fprintln(e.stderr, "see ecs-rollout --help")
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "ecs-rollout: unexpected argument %q; see ecs-rollout --help\n", fs.Arg(0))
		return exitUsage
	}

	// Without flags, the inputs come from INPUT_* as the runner sets them;
	// then the output speaks workflow commands even if GITHUB_ACTIONS is
	// missing.
	get := flagInputs
	if len(args) == 0 && (gh || e.inputsInEnv()) {
		gh = true
		get = githubactions.New(githubactions.WithGetenv(e.getenv)).GetInput
	}
	if force != nil {
		given := get
		get = func(name string) string {
			if v, ok := force[name]; ok {
				return v
			}
			return given(name)
		}
	}
	con := newConsole(gh, e.getenv, e.stdout, e.stderr)
	con.summaryFile = *summaryPath
	if gh && len(args) == 0 {
		// First thing: tells the post step that it is the post step.
		con.saveState(stateStarted, "true")
	}

	_, code := e.deploy(ctx, con, get)
	return code
}

// deploy parses the inputs read by get, deploys, and reports the result
// through con. It returns the result and the exit code. Invalid inputs (or
// a missing region) are reported before any AWS call, with status failed.
func (e *cmdEnv) deploy(ctx context.Context, con *console, get func(string) string) (deployer.Result, int) {
	p, err := parseInputs(get, parseOptions{Workspace: e.getenv("GITHUB_WORKSPACE"), ReadFile: e.readFile})
	if err != nil {
		return deployer.Result{Status: deployer.StatusFailed, Reason: err.Error()}, con.badInput(err)
	}
	con.mask(p.Secrets)
	for _, n := range p.Notes {
		con.infof("%s", n)
	}
	for _, n := range p.Notices {
		con.noticef("%s", n)
	}

	clients, err := newAWSClients(ctx, withMaxAttempts(e.getenv, p.MaxAttempts))
	if err != nil {
		return deployer.Result{Status: deployer.StatusFailed, Reason: err.Error()}, con.badInput(err)
	}
	if len(p.Config.Alarms) > 0 && clients.CloudWatch == nil {
		err := &inputError{Input: inAlarms, Msg: "ECS is at a custom endpoint (AWS_ENDPOINT_URL_ECS) but CloudWatch is not: set AWS_ENDPOINT_URL_CLOUDWATCH to read the alarms from"}
		return deployer.Result{Status: deployer.StatusFailed, Reason: err.Error()}, con.badInput(err)
	}
	d := deployer.New(clients.ECS, clients.Logs, deployer.WithReporter(con.report), deployer.WithCloudWatch(clients.CloudWatch), deployer.WithVerifyClients(clients.Verify), deployer.WithCodeDeploy(clients.CodeDeploy))
	res, err := deployRecovered(ctx, d, p.Config)
	res = inputNames(res, err, p.Config.PreDeploy != nil && p.Config.PreDeploy.Mode == deployer.PreDeployRunTask)
	e.writeRendered(con, res)
	reportVerifyProblems(con, res)
	res = completeResult(res, err, p.Config)
	return res, con.finish(res)
}

// deployRecovered is d.Deploy with a belt: a panic (a bug in the deployer)
// still ends the step failed with a reason, an annotation and a summary,
// instead of a crash that reports nothing; the last checkpoint saved stays
// for the post step, which acts on it.
func deployRecovered(ctx context.Context, d *deployer.Deployer, cfg deployer.Config) (res deployer.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res = deployer.Result{Cluster: cfg.Cluster, Service: cfg.Service, Status: deployer.StatusFailed,
				Reason: fmt.Sprintf("internal error in ecs-rollout (please report it): %v; the deployment's state is unknown, and the post step acts on the last state saved", p)}
			err = errors.New(res.Reason)
		}
	}()
	return d.Deploy(ctx, cfg)
}

// completeResult makes sure a result carries a status and a reason, also
// when Deploy returned an error with a partial result.
func completeResult(res deployer.Result, err error, cfg deployer.Config) deployer.Result {
	if res.Service == "" {
		res.Service = cfg.Service
	}
	if res.Cluster == "" {
		res.Cluster = cfg.Cluster
	}
	if res.Status == "" {
		res.Status = deployer.StatusFailed
	}
	if res.Reason == "" {
		if err != nil {
			res.Reason = err.Error()
		} else if !res.Status.OK() {
			res.Reason = "the deployment " + string(res.Status)
		}
	}
	return res
}

// inputNames rewrites the deployer's problems with Config fields
// (deployer.FieldError, found in err) in the reasons of res as the
// action's inputs: "OnBusy: … (OnBusy: fail)" becomes "on-busy: …
// (on-busy: fail)". The deployer knows only its Config; the names people
// typed are ours. runTask: the one-off task came from the run-task
// inputs, whose names its fields take.
func inputNames(res deployer.Result, err error, runTask bool) deployer.Result {
	var fes []*deployer.FieldError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if fe, ok := e.(*deployer.FieldError); ok {
			fes = append(fes, fe)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	if len(fes) == 0 {
		return res
	}
	rewrite := func(s string) string {
		for _, fe := range fes {
			s = strings.ReplaceAll(s, fe.Error(), configFieldsAsInputs(fe.Error(), runTask))
		}
		return s
	}
	res.Reason = rewrite(res.Reason)
	res.Services = slices.Clone(res.Services)
	for i := range res.Services {
		res.Services[i].Reason = rewrite(res.Services[i].Reason)
	}
	return res
}

// configFieldsAsInputs replaces the Config field names a deployer message
// uses with the inputs they come from (with runTask, the one-off task's
// volume is run-task's).
func configFieldsAsInputs(s string, runTask bool) string {
	volumeName, volume := inPreDeployEBSVolumeName, inPreDeployEBSVolume
	if runTask {
		volumeName, volume = inRunTaskEBSVolumeName, inRunTaskEBSVolume
	}
	pairs := []string{
		"PreDeploy.Overrides", inRunTaskContainerOverrides, "PreDeploy.Network", inRunTaskSubnets,
		"PreDeploy.AssignPublicIP", inRunTaskAssignPublicIP, "PreDeploy.Volume.Name", volumeName, "PreDeploy.Volume", volume,
		"CodeDeploy.AppSpec", inCodeDeployAppSpec, "CodeDeploy.Application", inCodeDeployApplication,
		"CodeDeploy.DeploymentGroup", inCodeDeployGroup, "CodeDeploy.DeploymentConfig", inCodeDeployConfig,
		"PreDeploy.Command", inPreDeployCommand, "PreDeploy.Timeout", inPreDeployTimeout,
		"RollbackScope", inRollbackScope, "RollbackTimeout", inRollbackTimeout, "PollInterval", inPollInterval,
		"FailedTasksThreshold", inFailedTasksThreshold, "MinimumHealthyPercent", inMinimumHealthyPercent,
		"MaximumPercent", inMaximumPercent, "DesiredCount", inDesiredCount, "BakeTime", inBakeTime,
		"LogLines", inLogLines, "Timeout", inTimeout, "OnBusy", inOnBusy, "OnCancel", inOnCancel, "OnPause", inOnPause,
		"TaskDefinition", inTaskDefinition, "BaseRevision", inTaskDefinitionFamily, "Render", "the render inputs",
		"Services", inServices, "Service", inService, "Alarms", inAlarms, "Resume", inResume,
		"Images", inImages, "Revision", inRevision, "KeepRevisions", inKeepRevisions, "EnableExecuteCommand", inEnableExecuteCommand,
		"EnableECSManagedTags", inEnableECSManagedTags, "PropagateTags", inPropagateTags, "ServiceVolume", inServiceEBSVolume,
	}
	var b strings.Builder
	for len(s) > 0 {
		matched := false
		for i := 0; i < len(pairs) && !matched; i += 2 {
			f := pairs[i]
			if strings.HasPrefix(s, f) && (len(s) == len(f) || !isWordByte(s[len(f)])) {
				b.WriteString(pairs[i+1])
				s = s[len(f):]
				matched = true
			}
		}
		if !matched {
			r := s[0]
			b.WriteByte(r)
			s = s[1:]
			for len(s) > 0 && isWordByte(r) && isWordByte(s[0]) { // not a field's start: copy the rest of the word
				b.WriteByte(s[0])
				s = s[1:]
			}
		}
	}
	return b.String()
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// writeRendered writes the revision the step registered (or, in a dry
// run, would register) to a file under RUNNER_TEMP (the system's temp
// directory outside a runner) and sets the task-definition output to its
// path, as amazon-ecs-render-task-definition does: the next step can
// render it again or hand it to another deploy. A step with several
// services has a revision per service and sets no such output (one
// service in services is a single service).
func (e *cmdEnv) writeRendered(con *console, res deployer.Result) {
	if res.Rendered == nil || (res.TaskDefinitionARN == "" && res.Status != deployer.StatusDryRun) {
		return
	}
	data, err := taskdef.MarshalFile(res.Rendered)
	if err == nil {
		var f *os.File
		if f, err = os.CreateTemp(cmp.Or(e.getenv("RUNNER_TEMP"), os.TempDir()), "task-definition-*.json"); err == nil {
			_, err = f.Write(data)
			err = errors.Join(err, f.Close())
			if err == nil {
				con.outputs(map[string]string{outTaskDefinition: f.Name()})
				return
			}
		}
	}
	con.warnf("task-definition output: the rendered revision could not be written: %v", err)
}
