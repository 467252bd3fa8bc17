package action

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// renderInputs is what a workflow gives amazon-ecs-render-task-definition,
// given to our step instead (with the render action's formats).
func renderInputs() map[string]string {
	return map[string]string{
		"cluster": "demo", "service": "web", "poll-interval": "100ms",
		"container-name": "app", "image": "public.ecr.aws/ecs-rollout/web:good",
		"environment-variables":        "LOG_LEVEL=debug\nFEATURE_FLAGS=a=1,b=2\nAPI_TOKEN=ghp_planted0123456789abcdefghijklmnopqrst\n",
		"env-files":                    "arn:aws:s3:::config-bucket/web/prod.env",
		"secrets":                      "STRIPE_KEY=arn:aws:secretsmanager:us-east-1:123456789012:secret:web/stripe-Zz9Yy8\n-DB_PASSWORD",
		"docker-labels":                "com.example.release=42",
		"log-configuration-log-driver": "awslogs",
		"log-configuration-options":    "awslogs-stream-prefix=api\nmode=non-blocking",
		"command":                      `sh -c 'exec bin/server --greeting "hello world"'`,
		"task-role-arn":                "arn:aws:iam::123456789012:role/web-task-v2",
		"execution-role-arn":           "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
		"cpu":                          "512",
		"memory":                       "1 GB",
	}
}

// printed is the log without the ::add-mask:: lines (which hand values
// to the runner to hide, and are not shown).
func printed(log string) string {
	var keep []string
	for _, l := range strings.Split(log, "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// describeJSON is a task definition as ECS describes it, as JSON members,
// without the members ECS sets on each registration.
func describeJSON(t *testing.T, c *ecs.Client, ref string) map[string]any {
	t.Helper()
	out, err := c.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(out.TaskDefinition)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"TaskDefinitionArn", "Revision", "RegisteredAt", "RegisteredBy"} {
		delete(m, k)
	}
	return m
}

// TestRenderInputsThroughBinary: the render action's inputs on our step,
// through the binary against the simulator. The registered revision
// differs from the running one exactly where the inputs say; the secret
// environment value is never printed.
func TestRenderInputsThroughBinary(t *testing.T) {
	t.Parallel()
	srv := demoSim(t, func(sc *ecssim.Scenario) {
		// The secret the secrets input adds exists: ECS stops tasks whose
		// secret it cannot fetch.
		sc.Secrets = append(sc.Secrets, ecssim.ScenarioSecret{Name: "web/stripe", ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:web/stripe-Zz9Yy8"})
	})
	env := feGitHubEnv(t, srv.URL, renderInputs())
	r := feRunMain(t.Context(), nil, env)
	if r.code != exitOK {
		t.Fatalf("exit code %d, want 0\n%s", r.code, r.stdout)
	}
	out := readFileCommands(t, env["GITHUB_OUTPUT"])
	if out["status"] != "succeeded" || !strings.HasSuffix(out["task-definition-arn"], "task-definition/web:2") {
		t.Fatalf("outputs %v, want succeeded with web:2", out)
	}
	clients, _ := ecssimtest.Clients(srv)
	want := describeJSON(t, clients, "web:1")
	got := describeJSON(t, clients, "web:2")
	app := want["ContainerDefinitions"].([]any)[0].(map[string]any)
	app["Image"] = "public.ecr.aws/ecs-rollout/web:good"
	app["Environment"] = []any{
		map[string]any{"Name": "LOG_LEVEL", "Value": "debug"},
		map[string]any{"Name": "FEATURE_FLAGS", "Value": "a=1,b=2"},
		map[string]any{"Name": "API_TOKEN", "Value": "ghp_planted0123456789abcdefghijklmnopqrst"},
	}
	app["EnvironmentFiles"] = []any{map[string]any{"Type": "s3", "Value": "arn:aws:s3:::config-bucket/web/prod.env"}}
	app["Secrets"] = []any{map[string]any{"Name": "STRIPE_KEY", "ValueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:web/stripe-Zz9Yy8"}}
	app["DockerLabels"] = map[string]any{"com.example.release": "42"}
	opts := app["LogConfiguration"].(map[string]any)["Options"].(map[string]any)
	opts["awslogs-stream-prefix"], opts["mode"] = "api", "non-blocking"
	app["Command"] = []any{"sh", "-c", `exec bin/server --greeting "hello world"`}
	want["TaskRoleArn"] = "arn:aws:iam::123456789012:role/web-task-v2"
	want["Cpu"], want["Memory"] = "512", "1 GB"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("web:2 differs from web:1 beyond the inputs (-want +got):\n%s", diff)
	}
	// The task-definition output: web:2 as a file, as the render action
	// writes one (secret values in it, as in theirs; a file, never printed).
	file, err := taskdef.ParseFile([]byte(readText(t, out["task-definition"])))
	if err != nil {
		t.Fatalf("task-definition output %q: %v", out["task-definition"], err)
	}
	reg, err := clients.DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:2"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil || !taskdef.Registers(file, reg.TaskDefinition, reg.Tags) {
		t.Errorf("the task-definition output's file is not web:2 (%v)", err)
	}
	if strings.Contains(printed(r.stdout.String()), "ghp_planted") || strings.Contains(readText(t, env["GITHUB_STEP_SUMMARY"]), "ghp_planted") {
		t.Errorf("a secret value was printed:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout.String(), "::add-mask::ghp_planted") {
		t.Errorf("the credential-like environment value was not masked:\n%s", r.stdout)
	}
}

// TestRenderDryRun: dry-run shows the render inputs' diff, with names and
// no values of the environment and secrets, and changes nothing.
func TestRenderDryRun(t *testing.T) {
	t.Parallel()
	srv := demoSim(t)
	in := renderInputs()
	in["dry-run"] = "true"
	env := feGitHubEnv(t, srv.URL, in)
	r := feRunMain(t.Context(), nil, env)
	if r.code != exitOK || readFileCommands(t, env["GITHUB_OUTPUT"])["status"] != "dry-run" {
		t.Fatalf("exit code %d, want a dry run\n%s", r.code, r.stdout)
	}
	if got := srv.Sim.MutatingCalls(); len(got) != 0 {
		t.Errorf("mutating calls %v, want none", got)
	}
	log := printed(r.stdout.String())
	for _, w := range []string{"environment LOG_LEVEL changed (value hidden)", "environment API_TOKEN added (value hidden)", "STRIPE_KEY", "DB_PASSWORD", "task definition: cpu 256 -> 512", "taskRoleArn"} {
		if !strings.Contains(log, w) {
			t.Errorf("the plan lacks %q:\n%s", w, log)
		}
	}
	if strings.Contains(log, "ghp_planted") || strings.Contains(log, "stripe-Zz9Yy8") {
		t.Errorf("the plan prints a secret value:\n%s", log)
	}
}

// TestRenderBadInputs: bad render values are input errors, each naming
// its input, all at once, before any AWS call; a value is never quoted.
func TestRenderBadInputs(t *testing.T) {
	t.Parallel()
	srv := demoSim(t)
	env := feGitHubEnv(t, srv.URL, map[string]string{
		"cluster": "demo", "service": "web", "image": "public.ecr.aws/ecs-rollout/web:good",
		"environment-variables":        "hunter2-no-equals-sign",
		"env-files":                    "s3://bucket/prod.env",
		"secrets":                      "=arn:aws:ssm:us-east-1:123456789012:parameter/x",
		"docker-labels":                "a=1\na=2",
		"log-configuration-log-driver": "cloudwatch",
		"command":                      `sh -c 'unclosed`,
		"task-role-arn":                "web-task",
		"cpu":                          "lots",
		"memory":                       "2GiB",
		"task-definition-revision":     "3",
		"service-managed-ebs-volume":   `{"sizeInGiB": 50, "size": 5}`,
		"pre-deploy-command":           "bin/migrate",
		"pre-deploy-started-by":        "not allowed!",
		"pre-deploy-tags":              `[{"Key": "team", "value": "web"}]`,
	})
	r := feRunMain(t.Context(), nil, env)
	if r.code != exitFail {
		t.Fatalf("exit code %d, want %d\n%s", r.code, exitFail, r.stdout)
	}
	if calls := srv.Sim.Calls(); len(calls) != 0 {
		t.Errorf("AWS calls %d, want none before the inputs are right", len(calls))
	}
	got := errorAnnotations(r.stdout.String())
	for _, input := range []string{"environment-variables", "env-files", "secrets", "docker-labels", "log-configuration-log-driver", "command", "task-role-arn", "cpu", "memory", "task-definition-revision",
		"service-managed-ebs-volume", "pre-deploy-started-by", "pre-deploy-tags"} {
		if !slices.ContainsFunc(got, func(a string) bool { return strings.Contains(a, "::"+input+": ") }) {
			t.Errorf("no error annotation names %s:\n%s", input, strings.Join(got, "\n"))
		}
	}
	if strings.Contains(r.stdout.String(), "hunter2") {
		t.Errorf("an environment value was printed:\n%s", r.stdout)
	}
}

// TestRegisterOnlyThroughBinary: no service and no services, as the deploy
// action without service: one RegisterTaskDefinition and nothing else,
// status registered, task-definition-arn set, exit 0.
func TestRegisterOnlyThroughBinary(t *testing.T) {
	t.Parallel()
	td := `{"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
  "containerDefinitions": [{"name": "app", "image": "public.ecr.aws/ecs-rollout/web:v1", "essential": true}]}`
	for _, tc := range []struct {
		name    string
		inputs  map[string]string
		wantOps []string
		wantArn string
	}{
		{"a task-definition file", map[string]string{"task-definition": "td.json", "image": "public.ecr.aws/ecs-rollout/web:good", "environment-variables": "A=1"},
			[]string{"RegisterTaskDefinition"}, "web:2"},
		{"a family's latest revision with the inputs", map[string]string{"task-definition-family": "web", "container-name": "app", "image": "public.ecr.aws/ecs-rollout/web:good", "cpu": "512", "memory": "1024"},
			[]string{"DescribeTaskDefinition", "RegisterTaskDefinition"}, "web:2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := demoSim(t)
			env := feGitHubEnv(t, srv.URL, tc.inputs)
			if err := os.WriteFile(filepath.Join(env["GITHUB_WORKSPACE"], "td.json"), []byte(td), 0o644); err != nil {
				t.Fatal(err)
			}
			r := feRunMain(t.Context(), nil, env)
			if r.code != exitOK {
				t.Fatalf("exit code %d, want 0\n%s", r.code, r.stdout)
			}
			out := readFileCommands(t, env["GITHUB_OUTPUT"])
			if out["status"] != "registered" || !strings.HasSuffix(out["task-definition-arn"], "task-definition/"+tc.wantArn) {
				t.Errorf("outputs %v, want registered %s", out, tc.wantArn)
			}
			var ops []string
			for _, c := range srv.Sim.Calls() {
				if c.Op != "DescribeLogGroups" { // the verify phase's read of the awslogs group (docs/verify.md)
					ops = append(ops, c.Op)
				}
			}
			if diff := cmp.Diff(tc.wantOps, ops); diff != "" {
				t.Errorf("AWS calls (-want +got):\n%s", diff)
			}
			if !strings.Contains(readText(t, env["GITHUB_STEP_SUMMARY"]), "Registered") {
				t.Errorf("the summary does not say registered:\n%s", readText(t, env["GITHUB_STEP_SUMMARY"]))
			}
			if svc, _ := srv.Sim.Service("demo", "web"); !strings.HasSuffix(aws.ToString(svc.TaskDefinition), "web:1") {
				t.Errorf("the service changed: it runs %s", aws.ToString(svc.TaskDefinition))
			}
		})
	}
}

// TestRegisterOnlyDryRun: a register-only dry run reads the family and
// registers nothing.
func TestRegisterOnlyDryRun(t *testing.T) {
	t.Parallel()
	srv := demoSim(t)
	env := feGitHubEnv(t, srv.URL, map[string]string{"task-definition-family": "web", "image": "public.ecr.aws/ecs-rollout/web:good", "dry-run": "true"})
	r := feRunMain(t.Context(), nil, env)
	if r.code != exitOK || readFileCommands(t, env["GITHUB_OUTPUT"])["status"] != "dry-run" {
		t.Fatalf("exit code %d, want a dry run\n%s", r.code, r.stdout)
	}
	if got := srv.Sim.MutatingCalls(); len(got) != 0 {
		t.Errorf("mutating calls %v, want none", got)
	}
	if !strings.Contains(r.stdout.String(), "container app: image public.ecr.aws/ecs-rollout/web:v1 -> public.ecr.aws/ecs-rollout/web:good") {
		t.Errorf("the plan lacks the image change:\n%s", r.stdout)
	}
	// The task-definition output is what the dry run would register.
	td := readFileCommands(t, env["GITHUB_OUTPUT"])["task-definition"]
	file, err := taskdef.ParseFile([]byte(readText(t, td)))
	if err != nil || aws.ToString(file.ContainerDefinitions[0].Image) != "public.ecr.aws/ecs-rollout/web:good" {
		t.Errorf("task-definition output %q: %v, want the rendered revision with web:good", td, err)
	}
}

// TestRegisterOnlyInputErrors: without service, inputs that act on a
// service are errors; no service and nothing to register is the usual
// "service: required".
func TestRegisterOnlyInputErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   map[string]string
		want [][2]string
	}{
		{"nothing at all", map[string]string{"image": "nginx:1"}, [][2]string{{"service", "required"}}},
		{"a pre-deploy task and a desired count", map[string]string{"task-definition-family": "web", "pre-deploy-command": "bin/migrate", "desired-count": "2"},
			[][2]string{{"pre-deploy-command", "needs service"}, {"desired-count", "needs service"}}},
		{"a revision alone", map[string]string{"task-definition-revision": "3", "image": "nginx:1"},
			[][2]string{{"service", "required"}, {"task-definition-revision", "needs task-definition-family"}}},
		{"arn that names no task definition", map[string]string{"task-definition-arn": "arn:aws:ecs:us-east-1:123456789012:service/web", "image": "nginx:1"},
			[][2]string{{"task-definition-arn", "is not a task definition"}}},
		{"render inputs and revision", map[string]string{"service": "web", "revision": "web:3", "cpu": "512"},
			[][2]string{{"revision", "cannot be combined with cpu"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseInputs(func(k string) string { return tc.in[k] }, parseOptions{})
			checkInputErrors(t, err, tc.want)
		})
	}
}

// TestRenderContainerName: container-name as the render action takes it
// (several, comma-separated: the same image for each), naming the render
// inputs' container without an image, and beside images.
func TestRenderContainerName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in         map[string]string
		images     []string // container=image
		containers []string // the render inputs' containers
	}{
		{map[string]string{"service": "web", "container-name": "app, worker", "image": "nginx:1"}, []string{"app=nginx:1", "worker=nginx:1"}, nil},
		{map[string]string{"service": "web", "container-name": "app", "environment-variables": "A=1"}, nil, []string{"app"}},
		{map[string]string{"service": "web", "images": "app=nginx:1\nworker=nginx:2", "container-name": "worker", "command": "bin/work"}, []string{"app=nginx:1", "worker=nginx:2"}, []string{"worker"}},
	} {
		p, err := parseInputs(func(k string) string { return tc.in[k] }, parseOptions{})
		if err != nil {
			t.Errorf("%v: %v", tc.in, err)
			continue
		}
		var images []string
		for _, ci := range p.Config.Images {
			images = append(images, ci.Container+"="+ci.Image)
		}
		var containers []string
		if p.Config.Render != nil {
			containers = p.Config.Render.Containers
		}
		if !cmp.Equal(tc.images, images) || !cmp.Equal(tc.containers, containers) {
			t.Errorf("%v: images %v, render containers %v; want %v and %v", tc.in, images, containers, tc.images, tc.containers)
		}
	}
	_, err := parseInputs(func(k string) string {
		return map[string]string{"service": "web", "container-name": "app,app", "image": "nginx:1"}[k]
	}, parseOptions{})
	checkInputErrors(t, err, [][2]string{{"container-name", `container "app" is named twice`}})
}

// registerBase registers web:2 in the simulator, the revision the render
// rows start from: web:1 with an environment file of an earlier release.
func registerBase(t *testing.T, c *ecs.Client) {
	t.Helper()
	out, err := c.DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1")})
	if err != nil {
		t.Fatal(err)
	}
	in := taskdef.RegisterInput(out.TaskDefinition, nil)
	in.ContainerDefinitions[0].EnvironmentFiles = []types.EnvironmentFile{{Type: types.EnvironmentFileTypeS3, Value: aws.String("arn:aws:s3:::config-bucket/release-41.env")}}
	if _, err := c.RegisterTaskDefinition(t.Context(), in); err != nil {
		t.Fatal(err)
	}
}

// TestRenderEnvFilesThroughBinary: the render action's env-files rows. An
// object in a bucket named before S3's current rules (underscores,
// capitals: the render action's own tests use s3_bucket_name) is taken;
// the list replaces the container's environmentFiles, as the render
// action's does, instead of adding to the earlier release's file; the
// .env check stays. task-definition-arn takes family:revision, as
// DescribeTaskDefinition does; the task-definition output is the rendered
// revision's file under RUNNER_TEMP, which reads back as what was
// registered.
func TestRenderEnvFilesThroughBinary(t *testing.T) {
	t.Parallel()
	srv := demoSim(t)
	clients, _ := ecssimtest.Clients(srv)
	registerBase(t, clients)
	files := []string{"arn:aws:s3:::s3_bucket_name/envfile_object_name.env", "arn:aws:s3:::Legacy_Bucket.2017/web/prod.env"}
	env := feGitHubEnv(t, srv.URL, map[string]string{
		"task-definition-arn": "web:2", "container-name": "app", "env-files": strings.Join(files, "\n"),
	})
	r := feRunMain(t.Context(), nil, env)
	if r.code != exitOK {
		t.Fatalf("exit code %d, want 0\n%s", r.code, r.stdout)
	}
	out := readFileCommands(t, env["GITHUB_OUTPUT"])
	if out["status"] != "registered" || !strings.HasSuffix(out["task-definition-arn"], "task-definition/web:3") {
		t.Fatalf("outputs %v, want web:3 registered", out)
	}
	got := describeJSON(t, clients, "web:3")["ContainerDefinitions"].([]any)[0].(map[string]any)["EnvironmentFiles"]
	want := []any{map[string]any{"Type": "s3", "Value": files[0]}, map[string]any{"Type": "s3", "Value": files[1]}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("web:3's environmentFiles (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(out["task-definition"], env["RUNNER_TEMP"]+string(filepath.Separator)) {
		t.Fatalf("task-definition output %q, want a file under RUNNER_TEMP %s", out["task-definition"], env["RUNNER_TEMP"])
	}
	file, err := taskdef.ParseFile([]byte(readText(t, out["task-definition"])))
	if err != nil {
		t.Fatalf("the task-definition output's file: %v", err)
	}
	reg, err := clients.DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:3"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if !taskdef.Registers(file, reg.TaskDefinition, reg.Tags) {
		t.Errorf("the task-definition output's file is not web:3:\n%s", readText(t, out["task-definition"]))
	}

	for _, tc := range []struct{ line, want string }{
		{"arn:aws:s3:::s3_bucket_name/envfile_object_name.txt", "does not end in .env"},
		{"arn:aws:s3:::ab/x.env", "is not an S3 object ARN"},
		{"arn:aws:s3:::bucket with spaces/x.env", "is not an S3 object ARN"},
	} {
		_, err := parseInputs(func(k string) string {
			return map[string]string{"service": "web", "image": "nginx:1", "env-files": tc.line}[k]
		}, parseOptions{})
		checkInputErrors(t, err, [][2]string{{"env-files", tc.want}})
	}
}

// TestRenderTaskDefinitionPrecedence: the render action's precedence
// (its README: a task-definition file "takes precedence over any other
// option"; then the ARN; then the family): the file wins and no revision
// is read; the ARN wins over the family and is the one described; the
// log says which was used and what was ignored. The render action's
// test cases: file and arn, file, arn, family and revision, arn and
// family.
func TestRenderTaskDefinitionPrecedence(t *testing.T) {
	t.Parallel()
	fileDef := `{"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
		"containerDefinitions": [{"name": "app", "image": "public.ecr.aws/ecs-rollout/web:v1", "essential": true}]}`
	for _, tc := range []struct {
		name      string
		in        map[string]string
		described []string // DescribeTaskDefinition's taskDefinition members
		note      string
	}{
		{"file and arn", map[string]string{"task-definition": "td.json", "task-definition-arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"},
			nil, "task-definition: used; ignoring task-definition-arn"},
		{"file, arn, family and revision", map[string]string{"task-definition": "td.json", "task-definition-arn": "web:1", "task-definition-family": "web", "task-definition-revision": "1"},
			nil, "task-definition: used; ignoring task-definition-arn, task-definition-family, task-definition-revision"},
		{"arn and family", map[string]string{"task-definition-arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1", "task-definition-family": "other"},
			[]string{"arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"}, "task-definition-arn: used; ignoring task-definition-family"},
		{"a family as task-definition-arn", map[string]string{"task-definition-arn": "web"}, []string{"web"}, ""},
		{"family and revision", map[string]string{"task-definition-family": "web", "task-definition-revision": "1"}, []string{"web:1"}, ""},
		{"family and revision 0 (none, as theirs reads it)", map[string]string{"task-definition-family": "web", "task-definition-revision": "0"}, []string{"web"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := demoSim(t)
			tc.in["image"] = "public.ecr.aws/ecs-rollout/web:good"
			env := feGitHubEnv(t, srv.URL, tc.in)
			if err := os.WriteFile(filepath.Join(env["GITHUB_WORKSPACE"], "td.json"), []byte(fileDef), 0o600); err != nil {
				t.Fatal(err)
			}
			r := feRunMain(t.Context(), nil, env)
			if r.code != exitOK {
				t.Fatalf("exit code %d, want 0\n%s", r.code, r.stdout)
			}
			var described []string
			for _, c := range srv.Sim.Calls() {
				if c.Op == "DescribeTaskDefinition" {
					described = append(described, callTaskDefinition(c))
				}
			}
			if diff := cmp.Diff(tc.described, described); diff != "" {
				t.Errorf("DescribeTaskDefinition calls (-want +got):\n%s", diff)
			}
			if tc.note != "" && !strings.Contains(r.stdout.String(), tc.note) {
				t.Errorf("the log lacks %q:\n%s", tc.note, r.stdout)
			}
		})
	}
}

// TestTaskDefinitionFileYAMLThroughBinary: the deploy action's rows for
// the task-definition file: YAML is read (theirs uses yaml.parse); the
// empty values its tests and issue 28 list (command [""], a
// repositoryCredentials with an empty parameter, an environment entry
// with an empty name, logConfiguration {}, an empty secretOptions, a
// taskRoleArn "") are
// removed as it removes them, and said so, and keep-null-value-keys keeps
// the ones it names; an environment variable set to "" stays set.
func TestTaskDefinitionFileYAMLThroughBinary(t *testing.T) {
	t.Parallel()
	file := `family: web
networkMode: awsvpc
requiresCompatibilities: [FARGATE]
cpu: "256"
memory: "512"
taskRoleArn: ""
containerDefinitions:
  - name: app
    image: public.ecr.aws/ecs-rollout/web:v1
    essential: true
    command: [""]
    repositoryCredentials: {credentialsParameter: ""}
    environment:
      - {name: "", value: ""}
      - {name: EMPTY, value: ""}
      - {name: MODE, value: on}
    logConfiguration: {}
    secretOptions: []
    dockerLabels: {}
`
	for _, tc := range []struct {
		name, keep string
		labels     any
	}{
		{"cleaned", "", nil},
		{"keep-null-value-keys: dockerLabels", "dockerLabels", map[string]any{}},
		{"keep-null-value-keys as a JSON array (as the deploy action's tests write it)", `["dockerLabels", "tag"]`, map[string]any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := demoSim(t)
			env := feGitHubEnv(t, srv.URL, map[string]string{"cluster": "demo", "service": "web", "poll-interval": "100ms",
				"task-definition": "taskdef.yaml", "image": "public.ecr.aws/ecs-rollout/web:good", "keep-null-value-keys": tc.keep})
			if err := os.WriteFile(filepath.Join(env["GITHUB_WORKSPACE"], "taskdef.yaml"), []byte(file), 0o600); err != nil {
				t.Fatal(err)
			}
			r := feRunMain(t.Context(), nil, env)
			if r.code != exitOK {
				t.Fatalf("exit code %d, want 0\n%s", r.code, r.stdout)
			}
			clients, _ := ecssimtest.Clients(srv)
			got := describeJSON(t, clients, "web:2")
			app := got["ContainerDefinitions"].([]any)[0].(map[string]any)
			if got["TaskRoleArn"] != nil || app["Command"] != nil || app["RepositoryCredentials"] != nil || app["LogConfiguration"] != nil || app["SecretOptions"] != nil {
				t.Errorf("web:2 kept an empty value: taskRoleArn %v, command %v, repositoryCredentials %v, logConfiguration %v, secretOptions %v",
					got["TaskRoleArn"], app["Command"], app["RepositoryCredentials"], app["LogConfiguration"], app["SecretOptions"])
			}
			if diff := cmp.Diff(tc.labels, app["DockerLabels"]); diff != "" {
				t.Errorf("dockerLabels (-want +got):\n%s", diff)
			}
			wantEnv := []any{map[string]any{"Name": "EMPTY", "Value": ""}, map[string]any{"Name": "MODE", "Value": "on"}}
			if diff := cmp.Diff(wantEnv, app["Environment"]); diff != "" {
				t.Errorf("environment (-want +got):\n%s", diff)
			}
			if !strings.Contains(r.stdout.String(), "task-definition: removed the empty values of containerDefinitions[0].command") {
				t.Errorf("the log does not say what was removed:\n%s", r.stdout)
			}
		})
	}
}

// TestCompatInputs: wait-max-delay-seconds and max-retries only tune our
// polling and retries: the first shortens poll-interval (never lengthens
// it), the second sets the attempts of each AWS call; bad values are
// input errors naming them.
func TestCompatInputs(t *testing.T) {
	t.Parallel()
	parse := func(in map[string]string) (*parsed, error) {
		in["service"], in["image"] = "web", "nginx:1"
		return parseInputs(func(k string) string { return in[k] }, parseOptions{})
	}
	for _, tc := range []struct {
		in       map[string]string
		poll     time.Duration
		attempts int
	}{
		{map[string]string{}, 5 * time.Second, 0},
		{map[string]string{"wait-max-delay-seconds": "2"}, 2 * time.Second, 0},
		{map[string]string{"wait-max-delay-seconds": "15"}, 5 * time.Second, 0},
		{map[string]string{"wait-max-delay-seconds": "3", "poll-interval": "1s"}, time.Second, 0},
		{map[string]string{"max-retries": "3"}, 5 * time.Second, 3},
	} {
		p, err := parse(tc.in)
		if err != nil {
			t.Fatalf("%v: %v", tc.in, err)
		}
		if p.Config.PollInterval != tc.poll || p.MaxAttempts != tc.attempts {
			t.Errorf("%v: poll %s, attempts %d; want %s and %d", tc.in, p.Config.PollInterval, p.MaxAttempts, tc.poll, tc.attempts)
		}
	}
	_, err := parse(map[string]string{"wait-max-delay-seconds": "0", "max-retries": "lots"})
	checkInputErrors(t, err, [][2]string{{"wait-max-delay-seconds", "out of range"}, {"max-retries", "not a whole number"}})

	// Through the binary: with max-retries 2 (and AWS_MAX_ATTEMPTS 5), a
	// DescribeServices that answers 500 three times fails the preflight
	// after two attempts.
	srv := demoSim(t)
	srv.Sim.InjectFault("DescribeServices", ecssim.Fault{Status5xx: 3})
	env := feGitHubEnv(t, srv.URL, map[string]string{"cluster": "demo", "service": "web", "image": "public.ecr.aws/ecs-rollout/web:good", "max-retries": "2"})
	env["AWS_MAX_ATTEMPTS"] = "5" // the input wins
	r := feRunMain(t.Context(), nil, env)
	if r.code != exitFail {
		t.Fatalf("exit code %d, want %d\n%s", r.code, exitFail, r.stdout)
	}
	n := 0
	for _, c := range srv.Sim.Calls() {
		if c.Op == "DescribeServices" {
			n++
		}
	}
	if n != 2 || len(srv.Sim.MutatingCalls()) != 0 {
		t.Errorf("%d DescribeServices calls and %d changes, want 2 and none", n, len(srv.Sim.MutatingCalls()))
	}
}

// TestRenderDifferencesKept: where ours differs from the render action on
// purpose (docs/migrating.md lists why): "=" inside a label or log-option
// value is kept, quoted command arguments stay whole, a variable given
// twice is an error, -NAME removes one, and logentries (no driver ECS
// lists) is refused.
func TestRenderDifferencesKept(t *testing.T) {
	t.Parallel()
	p, err := parseInputs(func(k string) string {
		return map[string]string{"service": "web", "image": "nginx:1",
			"docker-labels": "url=a=b", "log-configuration-options": "tag=k=v", "command": `sh -c 'echo hello world'`,
			"environment-variables": "-OLD\nNEW=1"}[k]
	}, parseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := p.Config.Render
	want := []taskdef.Setting{{Name: "url", Value: "a=b"}}
	if diff := cmp.Diff(want, r.DockerLabels); diff != "" {
		t.Errorf("docker-labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]taskdef.Setting{{Name: "tag", Value: "k=v"}}, r.LogOptions); diff != "" {
		t.Errorf("log-configuration-options (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"sh", "-c", "echo hello world"}, r.Command); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]taskdef.Setting{{Name: "OLD", Remove: true}, {Name: "NEW", Value: "1"}}, r.Environment); diff != "" {
		t.Errorf("environment-variables (-want +got):\n%s", diff)
	}
	_, err = parseInputs(func(k string) string {
		return map[string]string{"service": "web", "image": "nginx:1", "environment-variables": "A=1\nA=2", "log-configuration-log-driver": "logentries"}[k]
	}, parseOptions{})
	checkInputErrors(t, err, [][2]string{{"environment-variables", `line 2: "A" is already on line 1`}, {"log-configuration-log-driver", `"logentries" is not a log driver ECS takes`}})
}

// TestRegisterAnsweredErrorAfterApplyThroughBinary: issue 28's doubled
// RegisterTaskDefinition, through the binary with the production retryer:
// the first call registers web:2 and is answered 500 (Fault.AfterApply,
// as when the answer is lost after ECS made the change). The step reads
// the family's latest revision, finds web:2 is what it sent, deploys it
// and registers nothing more: no web:3 left unused.
func TestRegisterAnsweredErrorAfterApplyThroughBinary(t *testing.T) {
	t.Parallel()
	srv := demoSim(t)
	srv.Sim.InjectFault("RegisterTaskDefinition", ecssim.Fault{Status5xx: 1, AfterApply: true})
	env := feGitHubEnv(t, srv.URL, map[string]string{"cluster": "demo", "service": "web", "image": "public.ecr.aws/ecs-rollout/web:good", "poll-interval": "100ms"})
	r := feRunMain(t.Context(), nil, env)
	if r.code != exitOK {
		t.Fatalf("exit code %d, want 0\n%s", r.code, r.stdout)
	}
	out := readFileCommands(t, env["GITHUB_OUTPUT"])
	if out["status"] != "succeeded" || !strings.HasSuffix(out["task-definition-arn"], "task-definition/web:2") {
		t.Fatalf("outputs %v, want web:2 deployed", out)
	}
	var ops []string
	for _, c := range srv.Sim.Calls() {
		if c.Op == "RegisterTaskDefinition" || c.Op == "DescribeTaskDefinition" {
			ops = append(ops, c.Op+" "+callTaskDefinition(c))
		}
	}
	// The preflight's read of the running revision, the one register, the
	// check of the family's latest (web); nothing registered again.
	want := []string{"DescribeTaskDefinition arn:aws:ecs:us-east-1:123456789012:task-definition/web:1", "RegisterTaskDefinition ", "DescribeTaskDefinition web"}
	if diff := cmp.Diff(want, ops); diff != "" {
		t.Errorf("task definition calls (-want +got):\n%s", diff)
	}
	for _, td := range srv.Sim.TaskDefinitions() {
		if strings.HasSuffix(aws.ToString(td.TaskDefinitionArn), "task-definition/web:3") {
			t.Errorf("web:3 was registered: the retry made a second revision")
		}
	}
	if !strings.Contains(r.stdout.String(), "but had registered web:2: using it rather than registering another revision") {
		t.Errorf("the log does not say the first attempt's revision was used:\n%s", r.stdout)
	}
}
