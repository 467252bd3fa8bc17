package action

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// githubEnv is a GitHub-like environment for realMain: the runner's
// files in a temporary directory, the simulator as the ECS and Logs
// endpoint, dummy credentials, and the inputs (names as in action.yml) on
// top of a valid deploy of repo/app:2 to service web in cluster prod.
func githubEnv(t *testing.T, srv *ecssim.Server, inputs map[string]string) map[string]string {
	t.Helper()
	r := newActionRun(t, srv, nil)
	setInputs(r.env, inputs)
	if _, ok := inputs["image"]; !ok {
		if _, ok := inputs["images"]; !ok {
			r.env["INPUT_IMAGE"] = "repo/app:2"
		}
	}
	return r.env
}

// TestBadInputChangesNothing: bad input exits 1 with an ::error::
// annotation naming the input, and not one mutating call reaches ECS.
// Inputs that can be judged alone fail before any call at all; a cluster,
// service or container that does not exist fails on reads only.
func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		inputs map[string]string
		// names: for each of these (comma-separated), an ::error::
		// annotation starts with it: the input to fix comes first.
		names string
		// reads: the problem can only be found by reading from ECS.
		reads bool
	}{
		{"empty service", map[string]string{"service": ""}, "service", false},
		{"blank service", map[string]string{"service": "   "}, "service", false},
		{"unknown container", map[string]string{"container-name": "api"}, `container-name: no container "api"`, true},
		{"images with a duplicate", map[string]string{"container-name": "", "images": "app=repo/app:2\napp=repo/app:3"}, "images", false},
		{"images line without =", map[string]string{"container-name": "", "images": "app repo/app:2"}, "images", false},
		{"images line without an image", map[string]string{"container-name": "", "images": "app="}, "images", false},
		{"images line without a container", map[string]string{"container-name": "", "images": "=repo/app:2"}, "images", false},
		{"images naming an unknown container", map[string]string{"container-name": "", "images": "app=repo/app:2\nworker=repo/worker:2"}, `images: no container "worker"`, true},
		{"image with a space", map[string]string{"image": "repo/app: 2"}, "image", false},
		{"image with spaces inside", map[string]string{"image": "repo/app 2:latest"}, "image", false},
		{"image in upper case", map[string]string{"image": "Repo/App:2"}, "image", false},
		{"image with a bad digest", map[string]string{"image": "repo/app@sha256:1234"}, "image", false},
		{"keep-revisions zero", map[string]string{"keep-revisions": "0"}, "keep-revisions", false},
		{"keep-revisions not a number", map[string]string{"keep-revisions": "three"}, "keep-revisions", false},
		{"keep-revisions without wait", map[string]string{"keep-revisions": "3", "wait": "false"}, "keep-revisions: needs wait: true", false},
		{"enable-execute-command not a boolean", map[string]string{"enable-execute-command": "yes"}, "enable-execute-command", false},
		{"negative timeout", map[string]string{"timeout": "-5m"}, "timeout", false},
		{"absurd timeout", map[string]string{"timeout": "9999h"}, "timeout", false},
		{"timeout not a duration", map[string]string{"timeout": "soon"}, "timeout", false},
		{"zero poll interval", map[string]string{"poll-interval": "0s"}, "poll-interval", false},
		{"unknown alarm", map[string]string{"alarms": "web-5xx\nweb-p99"}, `alarms: no CloudWatch alarms named "web-5xx"`, true},
		{"bake-time over 6h", map[string]string{"bake-time": "7h"}, "bake-time", false},
		{"negative poll interval", map[string]string{"poll-interval": "-1s"}, "poll-interval", false},
		{"negative rollback timeout", map[string]string{"rollback-timeout": "-1m"}, "rollback-timeout", false},
		{"minimum-healthy-percent over 100", map[string]string{"minimum-healthy-percent": "150"}, "minimum-healthy-percent", false},
		{"negative minimum-healthy-percent", map[string]string{"minimum-healthy-percent": "-1"}, "minimum-healthy-percent", false},
		{"maximum-percent under 100", map[string]string{"maximum-percent": "50"}, "maximum-percent", false},
		{"absurd maximum-percent", map[string]string{"maximum-percent": "100000000000"}, "maximum-percent", false},
		{"negative failed-tasks-threshold", map[string]string{"failed-tasks-threshold": "-1"}, "failed-tasks-threshold", false},
		{"failed-tasks-threshold not a number", map[string]string{"failed-tasks-threshold": "three"}, "failed-tasks-threshold", false},
		{"negative desired-count", map[string]string{"desired-count": "-2"}, "desired-count", false},
		{"rollback not a boolean", map[string]string{"rollback": "maybe"}, "rollback", false},
		{"unknown on-cancel", map[string]string{"on-cancel": "ignore"}, "on-cancel", false},
		{"unknown on-busy", map[string]string{"on-busy": "never"}, "on-busy", false},
		{"malformed service ARN", map[string]string{"service": "arn:aws:ecs:us-east-1:123456789012:service"}, "service", false},
		{"service ARN of another service type", map[string]string{"service": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"}, "service", false},
		{"malformed cluster ARN", map[string]string{"cluster": "arn:aws:ecs:"}, "cluster", false},
		{"missing task-definition file", map[string]string{"task-definition": "does-not-exist.json"}, "task-definition", false},
		{"unknown cluster", map[string]string{"cluster": "staging"}, "cluster", true},
		{"unknown service", map[string]string{"service": "api"}, "service", true},
		{"pre-deploy-command not a JSON array", map[string]string{"pre-deploy-command": `["bin/rails", "db:migrate"`}, "pre-deploy-command: is not a JSON array of strings", false},
		{"pre-deploy-command an empty array", map[string]string{"pre-deploy-command": `[]`}, "pre-deploy-command", false},
		{"pre-deploy-container without a command", map[string]string{"pre-deploy-container": "app"}, "pre-deploy-container", false},
		{"pre-deploy-timeout not a duration", map[string]string{"pre-deploy-command": "bin/migrate", "pre-deploy-timeout": "soon"}, "pre-deploy-timeout", false},
		{"unknown pre-deploy-container", map[string]string{"pre-deploy-command": "bin/migrate", "pre-deploy-container": "worker"}, `pre-deploy-container: task definition web has no container "worker"`, true},
		{"revision with image", map[string]string{"revision": "web:1"}, "revision: cannot be combined with image", false},
		{"revision as a bare family", map[string]string{"revision": "web", "image": "", "container-name": ""}, "revision", false},
		{"revision that does not exist", map[string]string{"revision": "web:9", "image": "", "container-name": ""}, "revision: task definition web:9 does not exist", true},
		{"several problems at once", map[string]string{"service": "", "timeout": "-1s", "image": "bad image"}, "service,timeout,image", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := ecssimtest.NewServer(t, slowScenario())
			env := githubEnv(t, srv, tt.inputs)
			var stdout, stderr bytes.Buffer
			code := realMain(context.Background(), nil, func(k string) string { return env[k] }, &stdout, &stderr)
			if code != exitFail {
				t.Errorf("exit code: got %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFail, stdout.String(), stderr.String())
			}
			errs := errorAnnotations(stdout.String())
			if len(errs) == 0 {
				t.Fatalf("no ::error:: annotation\nstdout:\n%s", stdout.String())
			}
			for _, name := range strings.Split(tt.names, ",") {
				named := false
				for _, e := range errs {
					named = named || strings.HasPrefix(e, "::error::"+name)
				}
				if !named {
					t.Errorf("no ::error:: annotation names %q:\n%s", name, strings.Join(errs, "\n"))
				}
			}
			if m := srv.Sim.MutatingCalls(); len(m) != 0 {
				t.Errorf("mutating calls: got %d (first %s), want none", len(m), m[0].Op)
			}
			if calls := srv.Sim.Calls(); !tt.reads && len(calls) != 0 {
				t.Errorf("API calls: got %d (first %s), want none: the input alone is wrong", len(calls), calls[0].Op)
			}
			out := readFileCommands(t, env["GITHUB_OUTPUT"])
			if out["status"] != "failed" || out["reason"] == "" {
				t.Errorf("outputs: got status %q reason %q, want failed with a reason", out["status"], out["reason"])
			}
		})
	}
}

// TestBadInputBinary: the built binary, as an action and as a CLI, exits
// 1 on bad input before any AWS call.
func TestBadInputBinary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		github  bool
		inputs  map[string]string
		args    []string
		wantOut string // in stdout (GitHub) or stderr (CLI)
	}{
		{name: "action: image with a space", github: true, inputs: map[string]string{"image": "repo/app: 2"}, wantOut: "::error"},
		{name: "action: absurd percentage", github: true, inputs: map[string]string{"image": "repo/app:2", "maximum-percent": "900"}, wantOut: "maximum-percent"},
		{name: "CLI: image with a space", args: []string{"--cluster", "prod", "--service", "web", "--image", "repo/app: 2"}, wantOut: "image"},
		{name: "CLI: negative timeout", args: []string{"--cluster", "prod", "--service", "web", "--image", "repo/app:2", "--timeout", "-1m"}, wantOut: "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := ecssimtest.NewServer(t, slowScenario())
			r := newActionRun(t, srv, tt.inputs)
			if !tt.github {
				for k := range r.env {
					if strings.HasPrefix(k, "INPUT_") || strings.HasPrefix(k, "GITHUB_") {
						delete(r.env, k)
					}
				}
			}
			code := r.run(tt.args...)
			if code != exitFail {
				t.Errorf("exit code: got %d, want %d\n%s", code, exitFail, r.dump())
			}
			out := r.stdout.String()
			if !tt.github {
				out = r.stderr.String()
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("output does not contain %q\n%s", tt.wantOut, r.dump())
			}
			if calls := srv.Sim.Calls(); len(calls) != 0 {
				t.Errorf("API calls: got %d (first %s), want none", len(calls), calls[0].Op)
			}
		})
	}
}
