package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	githubactions "github.com/sethvargo/go-githubactions"

	"github.com/ecs-rollout/ecs-rollout/deployer"
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

	clients, err := newAWSClients(ctx, e.getenv)
	if err != nil {
		return deployer.Result{Status: deployer.StatusFailed, Reason: err.Error()}, con.badInput(err)
	}
	if len(p.Config.Alarms) > 0 && clients.CloudWatch == nil {
		err := &inputError{Input: inAlarms, Msg: "ECS is at a custom endpoint (AWS_ENDPOINT_URL_ECS) but CloudWatch is not: set AWS_ENDPOINT_URL_CLOUDWATCH to read the alarms from"}
		return deployer.Result{Status: deployer.StatusFailed, Reason: err.Error()}, con.badInput(err)
	}
	d := deployer.New(clients.ECS, clients.Logs, deployer.WithReporter(con.report), deployer.WithCloudWatch(clients.CloudWatch), deployer.WithVerifyClients(clients.Verify), deployer.WithCodeDeploy(clients.CodeDeploy))
	res, err := d.Deploy(ctx, p.Config)
	reportVerifyProblems(con, res)
	res = completeResult(res, err, p.Config)
	return res, con.finish(res)
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
