package action

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-rollout/ecs-rollout/deployer"
)

func noFiles(name string) ([]byte, error) { return nil, fs.ErrNotExist }

// parseWeb parses the inputs service "web" and image "nginx:1.27", changed
// by over, with no file to read.
func parseWeb(over map[string]string) (*parsed, error) {
	in := map[string]string{"service": "web", "image": "nginx:1.27"}
	maps.Copy(in, over)
	return parseInputs(mapGetter(in), parseOptions{ReadFile: noFiles})
}

// feDefaultConfig is the Config for service "web" and image "nginx:1.27"
// with every other input left at its default.
func feDefaultConfig() deployer.Config {
	return deployer.Config{
		Cluster:              "default",
		Service:              "web",
		Images:               []deployer.ContainerImage{{Image: "nginx:1.27", Input: "image"}},
		Timeout:              30 * time.Minute,
		PollInterval:         deployer.DefaultPollInterval,
		FailedTasksThreshold: 1,
		Rollback:             true,
		RollbackTimeout:      10 * time.Minute,
		ForceNewDeployment:   true,
		Wait:                 true,
		LogLines:             20,
		OnBusy:               deployer.OnBusyWait,
		OnCancel:             deployer.OnCancelRollback,
		OnPause:              deployer.OnPauseReturn,
		Verify:               true,
	}
}

func TestParseInputs(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name string
		in   map[string]string
		want func(*deployer.Config)
	}{
		{
			name: "defaults",
			in:   map[string]string{},
			want: func(*deployer.Config) {},
		},
		{
			name: "defaults as the runner passes them",
			in: map[string]string{
				"cluster": "default", "timeout": "30m", "poll-interval": "5s", "failed-tasks-threshold": "1",
				"rollback": "true", "rollback-timeout": "10m", "minimum-healthy-percent": "", "maximum-percent": "",
				"force-new-deployment": "true", "wait": "true", "log-lines": "20", "on-cancel": "rollback",
				"on-busy": "wait", "deregister-failed": "false", "dry-run": "false", "bake-time": "0s", "alarms": "",
			},
			want: func(*deployer.Config) {},
		},
		{
			name: "bake-time and alarms, one per line or comma-separated",
			in:   map[string]string{"bake-time": "15m", "alarms": "web-5xx, web-p99\n\n  web health (composite) \nweb-5xx\n"},
			want: func(c *deployer.Config) {
				c.BakeTime = 15 * time.Minute
				c.Alarms = []string{"web-5xx", "web-p99", "web health (composite)"}
			},
		},
		{
			name: "bake-time 0",
			in:   map[string]string{"bake-time": "0"},
			want: func(*deployer.Config) {},
		},
		{
			name: "surrounding spaces and case",
			in:   map[string]string{"service": "  web\n", "image": " nginx:1.27 ", "rollback": "FALSE", "wait": "True", "on-cancel": "Leave", "on-busy": "FAIL", "propagate-tags": "service"},
			want: func(c *deployer.Config) {
				c.Rollback = false
				c.OnCancel = deployer.OnCancelLeave
				c.OnBusy = deployer.OnBusyFail
				c.PropagateTags = types.PropagateTagsService
			},
		},
		{
			name: "short timeouts shorten the default poll interval",
			in:   map[string]string{"timeout": "3s", "rollback-timeout": "20s", "poll-interval": "5s"}, // as the runner fills in action.yml's default
			want: func(c *deployer.Config) {
				c.Timeout = 3 * time.Second
				c.RollbackTimeout = 20 * time.Second
				c.PollInterval = 600 * time.Millisecond
			},
		},
		{
			name: "every input set",
			in: map[string]string{
				"cluster": "prod", "container-name": "app", "timeout": "15m", "poll-interval": "2s",
				"failed-tasks-threshold": "3", "rollback": "false", "rollback-timeout": "5m",
				"minimum-healthy-percent": "50", "maximum-percent": "150", "force-new-deployment": "false",
				"desired-count": "4", "enable-ecs-managed-tags": "true", "propagate-tags": "TASK_DEFINITION",
				"wait": "true", "log-lines": "0", "on-cancel": "leave", "on-busy": "fail",
				"deregister-failed": "true", "dry-run": "true",
			},
			want: func(c *deployer.Config) {
				c.Cluster = "prod"
				c.Images = []deployer.ContainerImage{{Container: "app", Image: "nginx:1.27", Input: "container-name"}}
				c.Timeout = 15 * time.Minute
				c.PollInterval = 2 * time.Second
				c.FailedTasksThreshold = 3
				c.Rollback = false
				c.RollbackTimeout = 5 * time.Minute
				c.MinimumHealthyPercent = aws.Int32(50)
				c.MaximumPercent = aws.Int32(150)
				c.ForceNewDeployment = false
				c.DesiredCount = aws.Int32(4)
				c.EnableECSManagedTags = aws.Bool(true)
				c.PropagateTags = types.PropagateTagsTaskDefinition
				c.LogLines = 0
				c.OnCancel = deployer.OnCancelLeave
				c.OnBusy = deployer.OnBusyFail
				c.DeregisterFailed = true
				c.DryRun = true
			},
		},
		{
			name: "desired count zero",
			in:   map[string]string{"desired-count": "0"},
			want: func(c *deployer.Config) { c.DesiredCount = aws.Int32(0) },
		},
		{
			name: "wait-for-minutes replaces the default timeout",
			in:   map[string]string{"timeout": "30m", "wait-for-minutes": "45"},
			want: func(c *deployer.Config) { c.Timeout = 45 * time.Minute },
		},
		{
			name: "wait-for-minutes above 360 is clamped to 6 hours",
			in:   map[string]string{"timeout": "30m", "wait-for-minutes": "1000"},
			want: func(c *deployer.Config) { c.Timeout = 6 * time.Hour; c.PollInterval = deployer.DefaultPollInterval },
		},
		{
			name: "wait-for-minutes 0 is not set, as the deploy action reads it",
			in:   map[string]string{"timeout": "30m", "wait-for-minutes": "0"},
			want: func(c *deployer.Config) { c.Timeout = 30 * time.Minute },
		},
		{
			name: "wait-for-minutes agreeing with timeout",
			in:   map[string]string{"timeout": "30m", "wait-for-minutes": "30"},
			want: func(c *deployer.Config) { c.Timeout = 30 * time.Minute },
		},
		{
			name: "wait-for-service-stability false turns wait off",
			in:   map[string]string{"wait-for-service-stability": "false"},
			want: func(c *deployer.Config) { c.Wait = false },
		},
		{
			name: "wait-for-service-stability true keeps waiting",
			in:   map[string]string{"wait-for-service-stability": "true"},
			want: func(c *deployer.Config) {},
		},
		{
			name: "images list",
			in:   map[string]string{"image": "", "images": "\n  app = nginx:1.27\n\nsidecar=public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0  \n"},
			want: func(c *deployer.Config) {
				c.Images = []deployer.ContainerImage{
					{Container: "app", Image: "nginx:1.27", Input: "images"},
					{Container: "sidecar", Image: "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0", Input: "images"},
				}
			},
		},
		{
			name: "only force-new-deployment: redeploy the running revision",
			in:   map[string]string{"image": ""},
			want: func(c *deployer.Config) { c.Images = nil },
		},
		{
			name: "service ARN, new form, fills the default cluster",
			in:   map[string]string{"service": "arn:aws:ecs:eu-west-1:123456789012:service/prod/web"},
			want: func(c *deployer.Config) {
				c.Service = "arn:aws:ecs:eu-west-1:123456789012:service/prod/web"
				c.Cluster = "prod"
			},
		},
		{
			name: "service ARN, old form",
			in:   map[string]string{"service": "arn:aws-cn:ecs:cn-north-1:123456789012:service/web", "cluster": "prod"},
			want: func(c *deployer.Config) {
				c.Service = "arn:aws-cn:ecs:cn-north-1:123456789012:service/web"
				c.Cluster = "prod"
			},
		},
		{
			name: "service and cluster ARNs agree",
			in: map[string]string{
				"service": "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:service/prod/web",
				"cluster": "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:cluster/prod",
			},
			want: func(c *deployer.Config) {
				c.Service = "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:service/prod/web"
				c.Cluster = "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:cluster/prod"
			},
		},
		{
			name: "image by digest",
			in:   map[string]string{"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:" + strings.Repeat("a", 64)},
			want: func(c *deployer.Config) {
				c.Images = []deployer.ContainerImage{{Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:" + strings.Repeat("a", 64), Input: "image"}}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseWeb(tc.in)
			if err != nil {
				t.Fatalf("parseInputs: %v", err)
			}
			want := feDefaultConfig()
			tc.want(&want)
			if diff := cmp.Diff(want, got.Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

// checkInputErrors checks that err holds exactly the input errors in want,
// in order: each names its input (want[i][0]), starts with that name and
// holds the fragment want[i][1]; and that the joined error names every input.
func checkInputErrors(t *testing.T, err error, want [][2]string) {
	t.Helper()
	ies := inputErrors(err)
	if len(ies) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(ies), len(want), err)
	}
	for i, w := range want {
		if ies[i].Input != w[0] || !strings.Contains(ies[i].Msg, w[1]) {
			t.Errorf("error %d: got %q, want input %q with %q", i, ies[i].Error(), w[0], w[1])
		}
		if !strings.HasPrefix(ies[i].Error(), w[0]+": ") {
			t.Errorf("error %d: got %q, want it to start with the input's name", i, ies[i].Error())
		}
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w[0]+": ") {
			t.Errorf("got error %q, want it to name %s", err, w[0])
		}
	}
}

func TestParseInputsErrors(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name string
		in   map[string]string
		// want lists the inputs named by the errors, in order, and a
		// fragment of each message.
		want [][2]string
	}{
		{"empty service", map[string]string{"service": " "}, [][2]string{{"service", "required"}}},
		{"services and service", map[string]string{"services": "web\nworker"}, [][2]string{{"services", "exclusive"}}},
		{"services bad entries", map[string]string{"service": "", "services": "web\na/b/c\nweb app"}, [][2]string{{"services", `"a/b/c" is not cluster/service`}, {"services", `"web app" is not a service name`}}},
		{"services duplicate", map[string]string{"service": "", "services": "web\nprod/web\ndefault/web"}, [][2]string{{"services", "service default/web is listed twice"}}},
		{"services short ARN", map[string]string{"service": "", "services": "arn:aws:ecs:eu-west-1:123456789012:service/web"}, [][2]string{{"services", "long form"}}},
		{"services blank", map[string]string{"service": "", "services": " ,\n "}, [][2]string{{"services", "names no service"}}},
		{"rollback-scope unknown", map[string]string{"rollback-scope": "some"}, [][2]string{{"rollback-scope", `"some" is not one of all, failed`}}},
		{"bad service name", map[string]string{"service": "web app"}, [][2]string{{"service", `"web app" is not a service name`}}},
		{"malformed service ARN", map[string]string{"service": "arn:aws:ecs:eu-west-1:1234:service/web"}, [][2]string{{"service", "is not a service ARN"}}},
		{"service ARN of another kind", map[string]string{"service": "arn:aws:ecs:eu-west-1:123456789012:cluster/web"}, [][2]string{{"service", "is not a service ARN"}}},
		{"service ARN in another cluster", map[string]string{"service": "arn:aws:ecs:eu-west-1:123456789012:service/prod/web", "cluster": "staging"}, [][2]string{{"service", `names cluster "prod" but the cluster input is "staging"`}}},
		{"service and cluster ARNs in other accounts", map[string]string{
			"service": "arn:aws:ecs:eu-west-1:123456789012:service/prod/web",
			"cluster": "arn:aws:ecs:eu-west-1:210987654321:cluster/prod",
		}, [][2]string{{"service", "is in eu-west-1/123456789012"}}},
		{"malformed cluster ARN", map[string]string{"cluster": "arn:aws:ecs:eu-west-1:123456789012:service/prod"}, [][2]string{{"cluster", "is not a cluster ARN"}}},
		{"bad cluster name", map[string]string{"cluster": "prod/eu"}, [][2]string{{"cluster", "is not a cluster name"}}},
		{"service name too long", map[string]string{"service": strings.Repeat("w", 256)}, [][2]string{{"service", "is not a service name"}}},
		{"cluster name in an ARN too long", map[string]string{"cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/" + strings.Repeat("c", 256)}, [][2]string{{"cluster", "is not a cluster ARN"}}},
		{"image with spaces", map[string]string{"image": "nginx: 1.27"}, [][2]string{{"image", "nginx: 1.27"}}},
		{"image upper case", map[string]string{"image": "Nginx:1.27"}, [][2]string{{"image", "Nginx:1.27"}}},
		{"bad container name", map[string]string{"container-name": "my app"}, [][2]string{{"container-name", `"my app" is not a container name`}}},
		{"container-name without image", map[string]string{"image": "", "container-name": "app"}, [][2]string{{"container-name", "image is not"}}},
		{"image and images", map[string]string{"images": "app=nginx:1"}, [][2]string{{"images", "cannot be used together with image"}}},
		{"container-name and images", map[string]string{"image": "", "container-name": "app", "images": "app=nginx:1"}, [][2]string{{"container-name", "cannot be used with images"}}},
		{"images duplicate", map[string]string{"image": "", "images": "app=nginx:1\nside=busybox\napp=nginx:2"}, [][2]string{{"images", `line 3: container "app" is listed twice (first on line 1)`}}},
		{"images bad lines", map[string]string{"image": "", "images": "app nginx:1\n=nginx\nside=\nok=nginx:1\nx=Bad Image"}, [][2]string{
			{"images", "line 1:"}, {"images", "line 2:"}, {"images", "line 3:"}, {"images", "line 5:"},
		}},
		{"timeout not a duration", map[string]string{"timeout": "abc"}, [][2]string{{"timeout", `"abc" is not a duration (e.g. 10m)`}}},
		{"bake-time not a duration", map[string]string{"bake-time": "an hour"}, [][2]string{{"bake-time", `"an hour" is not a duration`}}},
		{"bake-time negative", map[string]string{"bake-time": "-1m"}, [][2]string{{"bake-time", "must not be negative"}}},
		{"bake-time over 6h", map[string]string{"bake-time": "6h1m"}, [][2]string{{"bake-time", "too long (at most 6h)"}}},
		{"bake-time and alarms without wait", map[string]string{"bake-time": "5m", "alarms": "web-5xx", "wait": "false"}, [][2]string{{"bake-time", "needs wait: true"}, {"alarms", "needs wait: true"}}},
		{"too many alarms", map[string]string{"alarms": manyAlarms(101)}, [][2]string{{"alarms", "101 alarms named; at most 100"}}},
		{"alarm name with a control character", map[string]string{"alarms": "web\x075xx"}, [][2]string{{"alarms", "is not an alarm name"}}},
		{"timeout without unit", map[string]string{"timeout": "600"}, [][2]string{{"timeout", "add a unit"}}},
		{"timeout negative", map[string]string{"timeout": "-5m"}, [][2]string{{"timeout", "must be positive"}}},
		{"timeout zero", map[string]string{"timeout": "0s"}, [][2]string{{"timeout", "must be positive"}}},
		{"timeout absurd", map[string]string{"timeout": "1000h"}, [][2]string{{"timeout", "too long"}}},
		{"rollback-timeout absurd", map[string]string{"rollback-timeout": "7h"}, [][2]string{{"rollback-timeout", "too long"}}},
		{"poll-interval too short", map[string]string{"poll-interval": "1ms"}, [][2]string{{"poll-interval", "too short"}}},
		{"poll-interval longer than timeout", map[string]string{"poll-interval": "2m", "timeout": "1m"}, [][2]string{{"poll-interval", "shorter than the timeout"}}},
		{"poll-interval longer than rollback-timeout", map[string]string{"poll-interval": "2m", "rollback-timeout": "1m"}, [][2]string{{"poll-interval", "shorter than rollback-timeout"}}},
		{"threshold zero", map[string]string{"failed-tasks-threshold": "0"}, [][2]string{{"failed-tasks-threshold", "out of range"}}},
		{"threshold not a number", map[string]string{"failed-tasks-threshold": "1.5"}, [][2]string{{"failed-tasks-threshold", "not a whole number"}}},
		{"min healthy over 100", map[string]string{"minimum-healthy-percent": "101"}, [][2]string{{"minimum-healthy-percent", "out of range (0 to 100)"}}},
		{"min healthy negative", map[string]string{"minimum-healthy-percent": "-1"}, [][2]string{{"minimum-healthy-percent", "out of range"}}},
		{"max percent under 100", map[string]string{"maximum-percent": "99"}, [][2]string{{"maximum-percent", "out of range (100 to 200)"}}},
		{"max percent absurd", map[string]string{"maximum-percent": "100000"}, [][2]string{{"maximum-percent", "out of range"}}},
		{"no room to replace", map[string]string{"maximum-percent": "100", "minimum-healthy-percent": "100"}, [][2]string{{"maximum-percent", "no room"}}},
		{"desired count negative", map[string]string{"desired-count": "-1"}, [][2]string{{"desired-count", "out of range"}}},
		{"desired count huge", map[string]string{"desired-count": "99999999999"}, [][2]string{{"desired-count", "out of range"}}},
		{"bad boolean", map[string]string{"rollback": "yes"}, [][2]string{{"rollback", `"yes" is not a boolean`}}},
		{"bad managed tags", map[string]string{"enable-ecs-managed-tags": "1"}, [][2]string{{"enable-ecs-managed-tags", "not a boolean"}}},
		{"bad propagate-tags", map[string]string{"propagate-tags": "ALL"}, [][2]string{{"propagate-tags", "TASK_DEFINITION, SERVICE, NONE"}}},
		{"bad on-cancel", map[string]string{"on-cancel": "ignore"}, [][2]string{{"on-cancel", "rollback, leave"}}},
		{"bad on-busy", map[string]string{"on-busy": "queue"}, [][2]string{{"on-busy", "wait, fail"}}},
		{"log-lines negative", map[string]string{"log-lines": "-1"}, [][2]string{{"log-lines", "out of range"}}},
		{"log-lines absurd", map[string]string{"log-lines": "1000000"}, [][2]string{{"log-lines", "out of range"}}},
		{"wait-for-minutes negative", map[string]string{"wait-for-minutes": "-5"}, [][2]string{{"wait-for-minutes", "out of range"}}},
		{"wait-for-minutes and timeout disagree", map[string]string{"wait-for-minutes": "5", "timeout": "20m"}, [][2]string{{"wait-for-minutes", "disagrees with timeout"}}},
		{"wait false but wait-for-service-stability true", map[string]string{"wait": "false", "wait-for-service-stability": "true"}, [][2]string{{"wait-for-service-stability", "disagrees with wait"}}},
		{"nothing to deploy", map[string]string{"image": "", "force-new-deployment": "false"}, [][2]string{{"image", "nothing to deploy"}}},
		{"task definition file missing", map[string]string{"task-definition": "task-def.json"}, [][2]string{{"task-definition", "read task-def.json"}}},
		{"several at once", map[string]string{"service": "", "timeout": "abc", "image": "a b", "maximum-percent": "50", "dry-run": "maybe"}, [][2]string{
			{"service", "required"}, {"image", `"a b"`}, {"timeout", "not a duration"}, {"maximum-percent", "out of range"}, {"dry-run", "not a boolean"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseWeb(tc.in)
			if err == nil {
				t.Fatalf("parseInputs: got config %+v, want an error", got.Config)
			}
			checkInputErrors(t, err, tc.want)
		})
	}
}

func TestParseServices(t *testing.T) {
	t.Parallel()
	in := map[string]string{"cluster": "prod", "image": "nginx:1.27", "rollback-scope": "FAILED",
		"services": "web\r\nstaging/worker, arn:aws:ecs:eu-west-1:123456789012:service/batch/cron\n\n"}
	p, err := parseInputs(func(k string) string { return in[k] }, parseOptions{})
	if err != nil {
		t.Fatalf("parseInputs: %v", err)
	}
	want := []deployer.Target{
		{Cluster: "prod", Service: "web"},
		{Cluster: "staging", Service: "worker"},
		{Cluster: "batch", Service: "arn:aws:ecs:eu-west-1:123456789012:service/batch/cron"},
	}
	if diff := cmp.Diff(want, p.Config.Services); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
	if p.Config.Service != "" || p.Config.RollbackScope != deployer.RollbackScopeFailed {
		t.Errorf("service %q, rollback scope %q; want none and failed", p.Config.Service, p.Config.RollbackScope)
	}
}

func TestParseImagesList(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		in      string
		want    []deployer.ContainerImage
		wantErr []string
	}{
		{"one", "app=nginx", []deployer.ContainerImage{{Container: "app", Image: "nginx", Input: "images"}}, nil},
		{"crlf and blanks", "\r\napp=nginx:1\r\n\r\n  side = busybox:1.36 \r\n", []deployer.ContainerImage{{Container: "app", Image: "nginx:1", Input: "images"}, {Container: "side", Image: "busybox:1.36", Input: "images"}}, nil},
		{"registry with port", "app=registry.example.com:5000/team/app:v1", []deployer.ContainerImage{{Container: "app", Image: "registry.example.com:5000/team/app:v1", Input: "images"}}, nil},
		{"only blanks", "\n \n", nil, []string{"images: no container=image line"}},
		{"no equals", "nginx", nil, []string{`images: line 1: "nginx" is not container=image`}},
		{"empty name", "=nginx", nil, []string{"images: line 1:"}},
		{"empty image", "app=", nil, []string{"images: line 1:"}},
		{"bad name", "my app=nginx", nil, []string{`images: line 1: "my app" is not a container name`}},
		{"bad image", "app=nginx:latest:x", nil, []string{"images: line 1:", "nginx:latest:x"}},
		{"duplicate", "app=a\napp=b", nil, []string{`images: line 2: container "app" is listed twice (first on line 1)`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseImagesList(tc.in)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("parseImagesList: %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("images (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %v, want an error", got)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

const feTaskDefJSON = `{
  "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
  "revision": 7,
  "status": "ACTIVE",
  "family": "web",
  "cpu": "256",
  "memory": "512",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "containerDefinitions": [
    {
      "name": "app",
      "image": "nginx:1.26",
      "essential": true,
      "environment": [{"name": "DB_PASSWORD", "value": "hunter2-planted-secret"}, {"name": "EMPTY", "value": ""}],
      "secrets": [{"name": "API_KEY", "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-key-AbCdEf"}]
    },
    {"name": "sidecar", "image": "busybox:1.36", "essential": false}
  ]
}`

func TestParseInputsTaskDefinitionFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "task-def.json"), []byte(feTaskDefJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"family": `), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("relative to the workspace, image overrides one container", func(t *testing.T) {
		t.Parallel()
		in := map[string]string{"service": "web", "task-definition": "task-def.json", "image": "nginx:1.27", "container-name": "app"}
		got, err := parseInputs(mapGetter(in), parseOptions{Workspace: dir, ReadFile: os.ReadFile})
		if err != nil {
			t.Fatalf("parseInputs: %v", err)
		}
		td := got.Config.TaskDefinition
		if td == nil || aws.ToString(td.Family) != "web" || len(td.ContainerDefinitions) != 2 {
			t.Fatalf("got task definition %+v, want family web with 2 containers", td)
		}
		if diff := cmp.Diff([]deployer.ContainerImage{{Container: "app", Image: "nginx:1.27", Input: "container-name"}}, got.Config.Images); diff != "" {
			t.Errorf("images (-want +got):\n%s", diff)
		}
		for _, s := range []string{"hunter2-planted-secret", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-key-AbCdEf"} {
			found := false
			for _, v := range got.Secrets {
				found = found || v == s
			}
			if !found {
				t.Errorf("got secrets %d values, want %q among them", len(got.Secrets), s)
			}
		}
	})
	t.Run("absolute path, nothing else to deploy", func(t *testing.T) {
		t.Parallel()
		in := map[string]string{"service": "web", "task-definition": filepath.Join(dir, "task-def.json"), "force-new-deployment": "false"}
		got, err := parseInputs(mapGetter(in), parseOptions{Workspace: "/nonexistent", ReadFile: os.ReadFile})
		if err != nil {
			t.Fatalf("parseInputs: %v", err)
		}
		if got.Config.TaskDefinition == nil || len(got.Config.Images) != 0 {
			t.Errorf("got task definition %v and images %v, want the file and no images", got.Config.TaskDefinition != nil, got.Config.Images)
		}
	})
	bad := []struct {
		name string
		in   map[string]string
		want [][2]string
	}{
		{"broken JSON", map[string]string{"task-definition": "broken.json"}, [][2]string{{"task-definition", "broken.json"}}},
		{"container not in the file", map[string]string{"task-definition": "task-def.json", "image": "nginx:1", "container-name": "web"}, [][2]string{{"container-name", `container "web" is not in the task definition file (it has app, sidecar)`}}},
		{"container name needed", map[string]string{"task-definition": "task-def.json", "image": "nginx:1"}, [][2]string{{"container-name", "has 2 containers (app, sidecar)"}}},
		{"images container not in the file", map[string]string{"task-definition": "task-def.json", "images": "app=nginx:1\nproxy=envoy:1"}, [][2]string{{"images", `container "proxy" is not in the task definition file`}}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := map[string]string{"service": "web"}
			maps.Copy(in, tc.in)
			_, err := parseInputs(mapGetter(in), parseOptions{Workspace: dir, ReadFile: os.ReadFile})
			checkInputErrors(t, err, tc.want)
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q prints a secret value", err)
			}
		})
	}
}

// TestInputFlags checks that the CLI's flags give the same Config as the
// action's inputs.
func TestInputFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{
			name: "values and bare booleans",
			args: []string{"--service", "web", "--image=nginx:1.27", "--timeout", "3m", "--dry-run", "--rollback=false", "--desired-count", "2"},
			env:  map[string]string{"service": "web", "image": "nginx:1.27", "timeout": "3m", "dry-run": "true", "rollback": "false", "desired-count": "2"},
		},
		{
			name: "repeated images",
			args: []string{"--service", "web", "--images", "app=nginx:1", "--images", "side=busybox:1"},
			env:  map[string]string{"service": "web", "images": "app=nginx:1\nside=busybox:1"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			get := defineInputFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatalf("parse flags: %v", err)
			}
			fromFlags, err := parseInputs(get, parseOptions{ReadFile: noFiles})
			if err != nil {
				t.Fatalf("parseInputs from flags: %v", err)
			}
			fromEnv, err := parseInputs(mapGetter(tc.env), parseOptions{ReadFile: noFiles})
			if err != nil {
				t.Fatalf("parseInputs from inputs: %v", err)
			}
			if diff := cmp.Diff(fromEnv.Config, fromFlags.Config); diff != "" {
				t.Errorf("config from flags differs from config from inputs (-inputs +flags):\n%s", diff)
			}
		})
	}
}

func TestDurationText(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		10 * time.Minute:                     "10m",
		5 * time.Second:                      "5s",
		time.Hour:                            "1h",
		90 * time.Minute:                     "1h30m",
		1500 * time.Millisecond:              "1.5s",
		time.Hour + 30*time.Second:           "1h0m30s",
		2*time.Minute + 500*time.Microsecond: "2m0.0005s",
	} {
		if got := durationText(d); got != want {
			t.Errorf("durationText(%v): got %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(durationText(d)); err != nil || back != d {
			t.Errorf("durationText(%v) = %q does not parse back: %v, %v", d, durationText(d), back, err)
		}
	}
}

func FuzzParseInputs(f *testing.F) {
	f.Add("web", "nginx:1.27", "", "", "10m", "5s", "1", "true", "100", "200", "")
	f.Add("arn:aws:ecs:eu-west-1:123456789012:service/prod/web", "", "app", "app=nginx\nside=busybox", "1h", "1s", "3", "false", "0", "100", "4")
	f.Add("", "a b", "x", "=\n=", "abc", "-1s", "0", "yes", "-1", "99999", "-3")
	f.Add("arn:aws:ecs:::service/", "UPPER:tag", "", "app=nginx\napp=nginx", "600", "0s", "1.5", "TRUE", "101", "99", "x")
	f.Fuzz(func(t *testing.T, service, image, container, images, timeout, poll, threshold, rollback, minHealthy, maxPercent, desired string) {
		in := map[string]string{
			"service": service, "image": image, "container-name": container, "images": images,
			"timeout": timeout, "poll-interval": poll, "failed-tasks-threshold": threshold, "rollback": rollback,
			"minimum-healthy-percent": minHealthy, "maximum-percent": maxPercent, "desired-count": desired,
		}
		got, err := parseInputs(mapGetter(in), parseOptions{ReadFile: noFiles})
		if err != nil {
			ies := inputErrors(err)
			if len(ies) == 0 {
				t.Fatalf("error %q names no input", err)
			}
			known := map[string]bool{}
			for _, s := range inputSpecs() {
				known[s.Name] = true
			}
			for _, ie := range ies {
				if !known[ie.Input] {
					t.Errorf("error %q names unknown input %q", ie, ie.Input)
				}
			}
			return
		}
		c := got.Config
		if c.Service == "" || c.Timeout <= 0 || c.PollInterval <= 0 || c.PollInterval >= c.Timeout ||
			c.FailedTasksThreshold < 1 || (c.MinimumHealthyPercent != nil && (*c.MinimumHealthyPercent < 0 || *c.MinimumHealthyPercent > 100)) ||
			(c.MaximumPercent != nil && (*c.MaximumPercent < 100 || *c.MaximumPercent > 200)) || (c.DesiredCount != nil && *c.DesiredCount < 0) {
			t.Errorf("accepted an invalid config: %+v", c)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("accepted a config the deployer rejects: %v", err)
		}
	})
}

func FuzzParseImagesList(f *testing.F) {
	for _, s := range []string{"app=nginx", "app=nginx:1\nside=busybox\n", "\r\n a = b \r\n", "=", "a=b\na=b", "app=Nginx", "app=nginx@sha256:" + strings.Repeat("0", 64), "x=y=z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseImagesList(s)
		if err != nil {
			for _, ie := range inputErrors(err) {
				if ie.Input != "images" {
					t.Errorf("error %q names %q, want images", ie, ie.Input)
				}
			}
			if len(inputErrors(err)) == 0 || errors.Unwrap(err) != nil {
				t.Errorf("error %q is not a joined list of input errors", err)
			}
			return
		}
		if len(got) == 0 {
			t.Fatalf("no images and no error for %q", s)
		}
		seen := map[string]bool{}
		for _, ci := range got {
			if ci.Container == "" || ci.Image == "" || seen[ci.Container] {
				t.Errorf("bad entry %+v in %v", ci, got)
			}
			seen[ci.Container] = true
			if err := validateImage(ci.Image); err != nil {
				t.Errorf("accepted image %q: %v", ci.Image, err)
			}
		}
	})
}

// manyAlarms names n distinct alarms, comma-separated.
func manyAlarms(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("alarm-%d", i)
	}
	return strings.Join(names, ",")
}
