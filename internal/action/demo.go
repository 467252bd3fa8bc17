package action

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// demoScenario is the simulator's world for the demo: cluster "demo" with
// service "web" running web:1, images tagged :good healthy and :crash
// crashing.
//
//go:embed scenarios/demo.json
var demoScenario []byte

// demoBlueGreenScenario is the demo's third world: service
// "web-bluegreen" on ECS's BLUE_GREEN strategy with a ten-minute bake (a
// "minute" lasts half a second), where images tagged :bake-crash pass
// their start and crash in the bake.
//
//go:embed scenarios/demo-blue-green.json
var demoBlueGreenScenario []byte

// demoCodeDeployScenario is the demo's fifth world: service
// "web-codedeploy" on the CODE_DEPLOY controller with its CodeDeploy
// application and deployment group (a one-hour termination wait, a
// "minute" lasting half a second), where images tagged :crash crash at
// Install.
//
//go:embed scenarios/demo-codedeploy.json
var demoCodeDeployScenario []byte

// demoVerifyScenario is the demo's fourth world: service "payment" with
// its ECR repository, secret, parameter, log group and roles, where the
// verify phase stops a tag that was never pushed (docs/verify.md).
//
//go:embed scenarios/verify.json
var demoVerifyScenario []byte

// runDemo starts the ECS simulator in-process, deploys a good image (which
// succeeds), then a crashing one (which is rolled back), then, to a
// BLUE_GREEN service, one that crashes in the bake (rolled back by one
// StopServiceDeployment), then an ECR tag that was never pushed (stopped
// by the verify phase before any change), with the
// action's own log lines, and writes both job summaries to a file it names.
// It exits 0 when both outcomes are the expected ones.
func (e *cmdEnv) runDemo(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("ecs-rollout demo", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	summaryPath := fs.String("summary", "", "file to write the job summaries to (default: a new temporary file)")
	scenarioPath := fs.String("scenario", "", "simulator scenario file (default: the built-in demo scenario)")
	good := fs.String("good-image", "public.ecr.aws/ecs-rollout/web:good", "image deployed first; the scenario makes it healthy")
	bad := fs.String("bad-image", "public.ecr.aws/ecs-rollout/web:crash", "image deployed second; the scenario makes it crash")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "ecs-rollout demo: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}

	var sc ecssim.Scenario
	var err error
	if *scenarioPath != "" {
		sc, err = ecssim.LoadScenario(*scenarioPath)
	} else {
		sc, err = ecssim.ParseScenario(demoScenario)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ecs-rollout demo: %v\n", err)
		return exitFail
	}
	if len(sc.Services) == 0 {
		fmt.Fprintln(e.stderr, "ecs-rollout demo: the scenario has no service")
		return exitFail
	}
	svc := sc.Services[0]

	srv, err := ecssim.Start("127.0.0.1:0", sc)
	if err != nil {
		fmt.Fprintf(e.stderr, "ecs-rollout demo: start the simulator: %v\n", err)
		return exitFail
	}
	defer srv.Close()

	if *summaryPath == "" {
		f, err := os.CreateTemp("", "ecs-rollout-demo-*.md")
		if err != nil {
			fmt.Fprintf(e.stderr, "ecs-rollout demo: %v\n", err)
			return exitFail
		}
		*summaryPath = f.Name()
		f.Close()
	} else if err := os.WriteFile(*summaryPath, nil, 0o644); err != nil {
		fmt.Fprintf(e.stderr, "ecs-rollout demo: %v\n", err)
		return exitFail
	}

	bgSc, err := ecssim.ParseScenario(demoBlueGreenScenario)
	if err != nil {
		fmt.Fprintf(e.stderr, "ecs-rollout demo: %v\n", err)
		return exitFail
	}
	bgSrv, err := ecssim.Start("127.0.0.1:0", bgSc)
	if err != nil {
		fmt.Fprintf(e.stderr, "ecs-rollout demo: start the simulator: %v\n", err)
		return exitFail
	}
	defer bgSrv.Close()
	bgSvc := bgSc.Services[0]
	vSc, err := ecssim.ParseScenario(demoVerifyScenario)
	if err != nil {
		fmt.Fprintf(e.stderr, "ecs-rollout demo: %v\n", err)
		return exitFail
	}
	vSrv, err := ecssim.Start("127.0.0.1:0", vSc)
	if err != nil {
		fmt.Fprintf(e.stderr, "ecs-rollout demo: start the simulator: %v\n", err)
		return exitFail
	}
	defer vSrv.Close()

	cdSc, err := ecssim.ParseScenario(demoCodeDeployScenario)
	if err != nil {
		fmt.Fprintf(e.stderr, "ecs-rollout demo: %v\n", err)
		return exitFail
	}
	cdSrv, err := ecssim.Start("127.0.0.1:0", cdSc)
	if err != nil {
		fmt.Fprintf(e.stderr, "ecs-rollout demo: start the simulator: %v\n", err)
		return exitFail
	}
	defer cdSrv.Close()

	fmt.Fprintf(e.stdout, "ecs-rollout demo: ECS simulator at %s; service %s in cluster %s runs %s.\n",
		srv.URL, svc.Name, svc.Cluster, svc.TaskDefinition)

	steps := []struct {
		title     string
		image     string
		want      deployer.Status
		env       *cmdEnv
		svc       ecssim.ScenarioService
		container string
	}{
		{"Step 1 of 5: deploy a good image", *good, deployer.StatusSucceeded, e.demoVerifyEnv(srv.URL, sc.Region), svc, ""},
		{"Step 2 of 5: deploy an image that crashes", *bad, deployer.StatusRolledBack, e.demoVerifyEnv(srv.URL, sc.Region), svc, ""},
		{"Step 3 of 5: a BLUE_GREEN service, an image that crashes in the bake (rolled back by one StopServiceDeployment)",
			"public.ecr.aws/ecs-rollout/web:bake-crash", deployer.StatusRolledBack, e.demoVerifyEnv(bgSrv.URL, bgSc.Region), bgSvc, ""},
		{"Step 4 of 5: an image tag that was never pushed, stopped by the verify phase before any change",
			"123456789012.dkr.ecr.us-east-1.amazonaws.com/payment:v3", deployer.StatusFailed, e.demoVerifyEnv(vSrv.URL, vSc.Region), vSc.Services[0], "app"},
		{"Step 5 of 5: a CODE_DEPLOY service, an image that crashes at Install (CodeDeploy would wait an hour; stopped with rollback by one StopDeployment)",
			"public.ecr.aws/ecs-rollout/web:crash", deployer.StatusRolledBack, e.demoVerifyEnv(cdSrv.URL, cdSc.Region), cdSc.Services[0], ""},
	}
	ok := true
	var outcomes []string
	for _, st := range steps {
		fmt.Fprintf(e.stdout, "\n### %s: %s\n", st.title, st.image)
		demo := st.env
		con := newConsole(false, demo.getenv, e.stdout, e.stdout)
		con.summaryFile = *summaryPath
		con.summaryAppend = true
		inputs := map[string]string{
			inCluster:         st.svc.Cluster,
			inService:         st.svc.Name,
			inImage:           st.image,
			inPollInterval:    "200ms",
			inTimeout:         "1m",
			inRollbackTimeout: "1m",
		}
		if st.container != "" {
			inputs[inContainerName] = st.container
		}
		res, _ := demo.deploy(ctx, con, mapGetter(inputs))
		if v := res.Verification; v != nil && len(v.Problems) > 0 {
			fmt.Fprintf(e.stdout, "The verify phase stopped it in %s (%d read-only calls), before anything was registered.\n",
				v.Duration.Round(time.Millisecond), v.Calls)
		}
		got := "as expected"
		if res.Status != st.want {
			got = "expected " + string(st.want)
			ok = false
		}
		outcomes = append(outcomes, fmt.Sprintf("%s: %s (%s)", st.image, res.Status, got))
		if ctx.Err() != nil {
			ok = false
			break
		}
	}
	fmt.Fprintln(e.stdout, "\n### Demo finished")
	for _, o := range outcomes {
		fmt.Fprintln(e.stdout, "- "+o)
	}
	fmt.Fprintf(e.stdout, "Job summaries written to %s\n", *summaryPath)
	if !ok {
		return exitFail
	}
	return exitOK
}

// demoEnv is the environment of a demo step: the deployment talks to the
// simulator at url exactly as the action talks to ECS, through the SDK,
// pointed at it by the standard variables.
func (e *cmdEnv) demoEnv(url, region string) *cmdEnv {
	overlay := map[string]string{
		"AWS_REGION":                       cmp.Or(region, "us-east-1"),
		"AWS_ENDPOINT_URL_ECS":             url,
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": url,
		"AWS_ENDPOINT_URL_CODEDEPLOY":      url,
		"AWS_ACCESS_KEY_ID":                "demo",
		"AWS_SECRET_ACCESS_KEY":            "demo",
		"AWS_SESSION_TOKEN":                "",
		"GITHUB_ACTIONS":                   "",
		"GITHUB_WORKSPACE":                 "",
	}
	return &cmdEnv{
		getenv: func(k string) string {
			if v, ok := overlay[k]; ok {
				return v
			}
			return e.getenv(k)
		},
		stdout:   e.stdout,
		stderr:   e.stderr,
		readFile: e.readFile,
	}
}

// demoVerifyEnv is demoEnv with ECR, Secrets Manager, SSM and IAM at
// the simulator too, for the verify phase.
func (e *cmdEnv) demoVerifyEnv(url, region string) *cmdEnv {
	d := e.demoEnv(url, region)
	get := d.getenv
	d.getenv = func(k string) string {
		switch k {
		case "AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_IAM":
			return url
		}
		return get(k)
	}
	return d
}

// runSim serves the ECS simulator over HTTP until ctx is cancelled.
func (e *cmdEnv) runSim(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("ecs-rollout sim", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", "127.0.0.1:4566", "address to listen on")
	scenario := fs.String("scenario", "", "scenario file (JSON) to load (default: the built-in demo scenario)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "ecs-rollout sim: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *scenario == "" {
		f, err := os.CreateTemp("", "ecs-rollout-scenario-*.json")
		if err == nil {
			_, err = f.Write(demoScenario)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "ecs-rollout sim: write the demo scenario: %v\n", err)
			return exitFail
		}
		defer os.Remove(f.Name())
		*scenario = f.Name()
	}
	if err := ecssim.Serve(ctx, *addr, *scenario, e.stdout); err != nil {
		fmt.Fprintf(e.stderr, "ecs-rollout sim: %v\n", err)
		return exitFail
	}
	return exitOK
}

// mapGetter returns an input getter over m.
func mapGetter(m map[string]string) func(string) string {
	return func(name string) string { return m[name] }
}
