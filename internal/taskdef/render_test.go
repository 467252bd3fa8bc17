package taskdef

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// TestRealWorldRender: on each real-world task definition, the render
// inputs change exactly the members they name (in the last container, and
// the task's roles and size) and the RegisterTaskDefinition request is
// otherwise the file byte for byte.
func TestRealWorldRender(t *testing.T) {
	t.Parallel()
	eachTaskdefFile(t, func(t *testing.T, _ string, data []byte) {
		in, err := ParseFile(data)
		if err != nil {
			t.Fatalf("ParseFile: %v", err)
		}
		want := fileWant(t, data)
		names := ContainerNames(in)
		target := names[len(names)-1]
		r := Render{
			Containers:       []string{target},
			Environment:      []Setting{{Name: "RENDERED_BY", Value: "ecs-rollout=yes"}},
			EnvironmentFiles: []string{"arn:aws:s3:::config-bucket/web/prod.env"},
			Secrets:          []Setting{{Name: "DB_PASSWORD", Value: "arn:aws:ssm:us-east-1:123456789012:parameter/db-password"}},
			DockerLabels:     []Setting{{Name: "com.example.release", Value: "42"}},
			Command:          []string{"bin/server", "--port", "8080"},
			TaskRoleArn:      "arn:aws:iam::123456789012:role/web-task",
			ExecutionRoleArn: "arn:aws:iam::123456789012:role/web-exec",
			Cpu:              "1024",
			Memory:           "2048",
		}
		if err := ApplyRender(in, r); err != nil {
			t.Fatalf("ApplyRender: %v", err)
		}
		cs := want["containerDefinitions"].([]any)
		c := cs[len(cs)-1].(map[string]any)
		appendTo := func(key string, v any) {
			list, _ := c[key].([]any)
			c[key] = append(list, v)
		}
		appendTo("environment", map[string]any{"name": "RENDERED_BY", "value": "ecs-rollout=yes"})
		c["environmentFiles"] = []any{map[string]any{"type": "s3", "value": "arn:aws:s3:::config-bucket/web/prod.env"}} // replaced, as the render action does
		appendTo("secrets", map[string]any{"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/db-password"})
		labels, _ := c["dockerLabels"].(map[string]any)
		if labels == nil {
			labels = map[string]any{}
		}
		labels["com.example.release"] = "42"
		c["dockerLabels"] = labels
		c["command"] = []any{"bin/server", "--port", "8080"}
		want["taskRoleArn"] = "arn:aws:iam::123456789012:role/web-task"
		want["executionRoleArn"] = "arn:aws:iam::123456789012:role/web-exec"
		want["cpu"], want["memory"] = "1024", "2048"
		if diff := cmp.Diff(want, requestJSON(t, in)); diff != "" {
			t.Errorf("after ApplyRender, more than the rendered members changed (-want +got):\n%s", diff)
		}
	})
}

func renderTD() *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("web"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("web:1"),
				Environment:      []types.KeyValuePair{{Name: aws.String("A"), Value: aws.String("1")}, {Name: aws.String("B"), Value: aws.String("2")}, {Name: aws.String("C"), Value: aws.String("")}},
				Secrets:          []types.Secret{{Name: aws.String("TOKEN"), ValueFrom: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:token")}},
				DockerLabels:     map[string]string{"team": "web", "old": "x"},
				LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{"awslogs-group": "/web", "mode": "blocking"}},
				Command:          []string{"old"}},
			{Name: aws.String("envoy"), Image: aws.String("envoy:1")},
		},
	}
}

func TestApplyRender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		r       Render
		check   func(t *testing.T, in *ecs.RegisterTaskDefinitionInput)
		wantErr []string
	}{
		{name: "environment: overwrite in place, remove, add at the end; others kept",
			r: Render{Containers: []string{"app"}, Environment: []Setting{{Name: "B", Value: "two=2"}, {Name: "A", Remove: true}, {Name: "D", Value: ""}, {Name: "NOPE", Remove: true}}},
			check: func(t *testing.T, in *ecs.RegisterTaskDefinitionInput) {
				var got []string
				for _, kv := range in.ContainerDefinitions[0].Environment {
					got = append(got, aws.ToString(kv.Name)+"="+aws.ToString(kv.Value))
				}
				if diff := cmp.Diff([]string{"B=two=2", "C=", "D="}, got); diff != "" {
					t.Errorf("environment (-want +got):\n%s", diff)
				}
			}},
		{name: "secrets, labels, log driver and options",
			r: Render{Containers: []string{"app"}, Secrets: []Setting{{Name: "TOKEN", Remove: true}, {Name: "DB", Value: "db-param"}},
				DockerLabels: []Setting{{Name: "old", Remove: true}, {Name: "release", Value: "42"}},
				LogDriver:    types.LogDriverAwsfirelens, LogOptions: []Setting{{Name: "mode", Remove: true}, {Name: "Name", Value: "datadog"}}},
			check: func(t *testing.T, in *ecs.RegisterTaskDefinitionInput) {
				c := in.ContainerDefinitions[0]
				if len(c.Secrets) != 1 || aws.ToString(c.Secrets[0].Name) != "DB" || aws.ToString(c.Secrets[0].ValueFrom) != "db-param" {
					t.Errorf("secrets %+v", c.Secrets)
				}
				if diff := cmp.Diff(map[string]string{"team": "web", "release": "42"}, c.DockerLabels); diff != "" {
					t.Errorf("labels (-want +got):\n%s", diff)
				}
				if c.LogConfiguration.LogDriver != types.LogDriverAwsfirelens || !cmp.Equal(map[string]string{"awslogs-group": "/web", "Name": "datadog"}, c.LogConfiguration.Options) {
					t.Errorf("log configuration %+v", c.LogConfiguration)
				}
			}},
		{name: "several containers by name (the render action's comma-separated container-name)",
			r: Render{Containers: []string{"app", "envoy"}, Environment: []Setting{{Name: "X", Value: "1"}}, LogDriver: types.LogDriverAwslogs},
			check: func(t *testing.T, in *ecs.RegisterTaskDefinitionInput) {
				e := in.ContainerDefinitions[1]
				if len(e.Environment) != 1 || e.LogConfiguration == nil || e.LogConfiguration.LogDriver != types.LogDriverAwslogs || e.LogConfiguration.Options != nil {
					t.Errorf("envoy %+v", e)
				}
			}},
		{name: "task size within Fargate's offers, roles",
			r: Render{Cpu: "1 vCPU", Memory: "4 GB", TaskRoleArn: "arn:aws:iam::123456789012:role/t"},
			check: func(t *testing.T, in *ecs.RegisterTaskDefinitionInput) {
				if aws.ToString(in.Cpu) != "1 vCPU" || aws.ToString(in.Memory) != "4 GB" || aws.ToString(in.TaskRoleArn) != "arn:aws:iam::123456789012:role/t" {
					t.Errorf("cpu %s memory %s role %s", aws.ToString(in.Cpu), aws.ToString(in.Memory), aws.ToString(in.TaskRoleArn))
				}
			}},
		{name: "no container-name with two containers", r: Render{Command: []string{"x"}},
			wantErr: []string{"container-name: required by command: task definition web has 2 containers (app, envoy)"}},
		{name: "unknown container and a size Fargate does not offer, all at once",
			r:       Render{Containers: []string{"worker"}, Command: []string{"x"}, Memory: "8192"},
			wantErr: []string{`container-name: no container "worker" in task definition web (containers: app, envoy)`, "memory: Fargate offers no task with 256 CPU units and 8192 MiB of memory (with 256 CPU units: 512, 1024 to 2048 in steps of 1024 MiB)"}},
		{name: "cpu Fargate does not offer", r: Render{Cpu: "300"},
			wantErr: []string{"cpu: Fargate offers no task with 300 CPU units"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := renderTD()
			err := ApplyRender(in, tc.r)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if diff := cmp.Diff(requestJSON(t, renderTD()), requestJSON(t, in)); diff != "" {
					t.Errorf("a failed ApplyRender changed the task definition:\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, in)
		})
	}
}

func TestParseSettings(t *testing.T) {
	t.Parallel()
	got, err := ParseSettings("  A=1\n\nB=x=y\nC=\n-D\n  - E  \n")
	if err != nil {
		t.Fatal(err)
	}
	want := []Setting{{Name: "A", Value: "1"}, {Name: "B", Value: "x=y"}, {Name: "C"}, {Name: "D", Remove: true}, {Name: "E", Remove: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	_, err = ParseSettings("hunter2-secret-value\n=v\nA=1\nA=2\nB C=1")
	for _, w := range []string{"line 1 is not NAME=value (or -NAME to remove one)", "line 2: the name", `line 4: "A" is already on line 3`, "line 5: the name"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not contain %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error quotes a value: %v", err)
	}
}

func TestSplitCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    []string
		wantErr string
	}{
		{`npm run start`, []string{"npm", "run", "start"}, ""},
		{`sh -c 'echo "hello world" && date'`, []string{"sh", "-c", `echo "hello world" && date`}, ""},
		{`printf "a \"quoted\" \\ word"  ''`, []string{"printf", `a "quoted" \ word`, ""}, ""},
		{`["bin/rails", "db:migrate", "VERBOSE=true"]`, []string{"bin/rails", "db:migrate", "VERBOSE=true"}, ""},
		{`echo 'open`, nil, "has a ' quote that is not closed"},
		{`[1, 2]`, nil, "is not a JSON array of strings"},
		{`[]`, nil, "is an empty JSON array"},
		{`  `, nil, "is empty"},
	} {
		got, err := SplitCommand(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !cmp.Equal(tc.want, got) {
			b, _ := json.Marshal(got)
			t.Errorf("%s: got %s %v, want %q", tc.in, b, err, tc.want)
		}
	}
}

func TestRenderInputChecks(t *testing.T) {
	t.Parallel()
	files, err := ParseEnvFiles("arn:aws:s3:::bucket-1/a/prod.env\n\narn:aws:s3:::bucket-1/a/prod.env\narn:aws-cn:s3:::b2b/x.env")
	if err != nil || !cmp.Equal([]string{"arn:aws:s3:::bucket-1/a/prod.env", "arn:aws-cn:s3:::b2b/x.env"}, files) {
		t.Errorf("env files %q %v", files, err)
	}
	_, err = ParseEnvFiles("s3://bucket/prod.env\narn:aws:s3:::bucket/prod.txt")
	for _, w := range []string{"line 1 is not an S3 object ARN", "line 2 does not end in .env"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("env-files error %v does not contain %q", err, w)
		}
	}
	for s, ok := range map[string]bool{"arn:aws:iam::123456789012:role/web": true, "arn:aws-us-gov:iam::123456789012:role/path/web": true,
		"web": false, "arn:aws:iam::123456789012:user/web": false, "arn:aws:iam::1234:role/web": false} {
		if (CheckRoleARN(s) == nil) != ok {
			t.Errorf("CheckRoleARN(%q) = %v, want ok %v", s, CheckRoleARN(s), ok)
		}
	}
	for s, ok := range map[string]bool{"awslogs": true, "awsfirelens": true, "splunk": true, "cloudwatch": false, "": false} {
		if (CheckLogDriver(s) == nil) != ok {
			t.Errorf("CheckLogDriver(%q) = %v, want ok %v", s, CheckLogDriver(s), ok)
		}
	}
	for _, tc := range []struct {
		s   string
		cpu bool
		ok  bool
	}{{"256", true, true}, {"1 vCPU", true, true}, {"0.5vcpu", true, true}, {"0", true, false}, {"1 GB", true, false},
		{"512", false, true}, {"2 GB", false, true}, {"2GiB", false, false}, {"-1", false, false}} {
		if (CheckTaskSize(tc.s, tc.cpu) == nil) != tc.ok {
			t.Errorf("CheckTaskSize(%q, cpu %v) = %v, want ok %v", tc.s, tc.cpu, CheckTaskSize(tc.s, tc.cpu), tc.ok)
		}
	}
}
