package action

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// The deploy action's run-task inputs through the binary (issue 28): the
// one-off task runs from the new revision before the service is updated,
// as that action runs it, on top of the pre-deploy machinery.

// runTaskScenario is slowScenario where the standalone tasks of
// repo/app:2 exit 0 and those of repo/app:migrate-fails exit 3 (after a
// scenario-long second, so that a test can see the update happen while
// it runs).
func runTaskScenario() ecssim.Scenario {
	sc := slowScenario()
	sc.ImageRules = append([]ecssim.ImageRule{{Image: "*:migrate-fails", Behavior: ecssim.BehaviorHealthy}}, sc.ImageRules...)
	sc.TaskRules = []ecssim.TaskRule{
		{Command: "bin/migrate broken", ExitCode: 4, Logs: []string{"migration 42 failed"}},
		{Image: "*:migrate-fails", ExitCode: 3, RunTime: ecssim.Duration(time.Second), Logs: []string{"relation users does not exist"}},
		{Image: "*", ExitCode: 0},
	}
	return sc
}

// opsOf is the operations srv received, in order, successful ones only.
func opsOf(srv *ecssim.Server) []string {
	var ops []string
	for _, c := range srv.Sim.Calls() {
		if c.ErrCode == "" {
			ops = append(ops, c.Op)
		}
	}
	return ops
}

// runTaskInput is the first RunTask request srv received.
func runTaskInput(t *testing.T, srv *ecssim.Server) *ecs.RunTaskInput {
	t.Helper()
	for _, c := range srv.Sim.Calls() {
		if c.Op == "RunTask" {
			var in ecs.RunTaskInput
			if err := json.Unmarshal(c.Input, &in); err != nil {
				t.Fatal(err)
			}
			return &in
		}
	}
	t.Fatalf("no RunTask in %v", opsOf(srv))
	return nil
}

// runTaskFile is a task-definition file of family web (awsvpc, Fargate).
const runTaskFile = `{"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
  "containerDefinitions": [{"name": "app", "image": "repo/app:2", "essential": true}]}`

// TestRunTaskThroughTheBinary: the rows of run-task, each checked on the
// outcome, the calls and the RunTask request.
func TestRunTaskThroughTheBinary(t *testing.T) {
	t.Parallel()
	serviceNetwork := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
		Subnets: []string{"subnet-0123456789abcdef0"}, SecurityGroups: []string{"sg-0123456789abcdef0"}, AssignPublicIp: types.AssignPublicIpDisabled}}
	cases := []struct {
		name       string
		inputs     map[string]string
		file       bool // write task-definition.json (runTaskFile) to the workspace
		wantCode   int
		wantStatus string
		wantUpdate bool     // an UpdateService was made, after the RunTask
		wantLog    []string // in stdout
		wantReason string
		wantRun    func(*ecs.RunTaskInput) // the RunTask request's expected members (the rest is checked as zero)
	}{
		{name: "with service, waited for, exits 0: deployed after it",
			inputs:   map[string]string{"image": "repo/app:2", "run-task": "true", "wait-for-task-stopped": "true"},
			wantCode: 0, wantStatus: "succeeded", wantUpdate: true,
			wantLog: []string{"Started one-off task", "the task definition's own commands", "exited with code 0; the service is updated next"},
			wantRun: func(in *ecs.RunTaskInput) {
				in.StartedBy, in.NetworkConfiguration, in.PlatformVersion, in.LaunchType = aws.String("GitHub-Actions"), serviceNetwork, aws.String("LATEST"), types.LaunchTypeFargate
			}},
		{name: "the deploy action's test inputs: [] and {} ask for nothing",
			inputs: map[string]string{"image": "repo/app:2", "run-task": "true", "wait-for-task-stopped": "true", "run-task-launch-type": "FARGATE",
				"run-task-container-overrides": "[]", "run-task-tags": "[]", "run-task-capacity-provider-strategy": "[]",
				"run-task-managed-ebs-volume-name": "", "run-task-managed-ebs-volume": "{}", "service-managed-ebs-volume": "{ }"},
			wantCode: 0, wantStatus: "succeeded", wantUpdate: true,
			wantRun: func(in *ecs.RunTaskInput) {
				in.StartedBy, in.NetworkConfiguration, in.LaunchType = aws.String("GitHub-Actions"), serviceNetwork, types.LaunchTypeFargate
			}},
		{name: "with service, waited for, exits 3: nothing updated",
			inputs:   map[string]string{"image": "repo/app:migrate-fails", "run-task": "true", "wait-for-task-stopped": "TRUE"},
			wantCode: 1, wantStatus: "failed", wantUpdate: false,
			wantReason: "one-off task exited with code 3 (container app)",
			wantLog:    []string{"(EssentialContainerExited: Essential container in task exited); the service was not changed (still on web:1)"},
			wantRun: func(in *ecs.RunTaskInput) {
				in.StartedBy, in.NetworkConfiguration, in.PlatformVersion, in.LaunchType = aws.String("GitHub-Actions"), serviceNetwork, aws.String("LATEST"), types.LaunchTypeFargate
			}},
		{name: "with service, not waited for: deployed while it runs, whatever it exits with (the deploy action's default)",
			inputs:   map[string]string{"image": "repo/app:migrate-fails", "run-task": "true"},
			wantCode: 0, wantStatus: "succeeded", wantUpdate: true,
			wantLog: []string{"::notice::wait-for-task-stopped: is not true: the service is updated as soon as the one-off task has started", "not waiting for it to stop"},
			wantRun: func(in *ecs.RunTaskInput) {
				in.StartedBy, in.NetworkConfiguration, in.PlatformVersion, in.LaunchType = aws.String("GitHub-Actions"), serviceNetwork, aws.String("LATEST"), types.LaunchTypeFargate
			}},
		{name: "own network, placement, overrides, startedBy and tags",
			inputs: map[string]string{"image": "repo/app:2", "run-task": "true", "wait-for-task-stopped": "true",
				"run-task-subnets": "subnet-1a, subnet-2b", "run-task-security-groups": "sg-9", "run-task-assign-public-IP": "enabled",
				"run-task-launch-type": "FARGATE", "run-task-started-by": "release/42", "run-task-tags": `[{"key": "team", "value": "web"}]`,
				"run-task-container-overrides": `[{"name": "app", "command": ["bin/migrate", "up"], "environment": [{"name": "STEP", "value": "1"}]}]`},
			wantCode: 0, wantStatus: "succeeded", wantUpdate: true,
			wantLog: []string{"overrides for app"},
			wantRun: func(in *ecs.RunTaskInput) {
				in.StartedBy, in.LaunchType = aws.String("release/42"), types.LaunchTypeFargate
				in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
					Subnets: []string{"subnet-1a", "subnet-2b"}, SecurityGroups: []string{"sg-9"}, AssignPublicIp: types.AssignPublicIpEnabled}}
				in.Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}
				in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Command: []string{"bin/migrate", "up"},
					Environment: []types.KeyValuePair{{Name: aws.String("STEP"), Value: aws.String("1")}}}}}
			}},
		{name: "an override's failing command: nothing updated",
			inputs: map[string]string{"image": "repo/app:2", "run-task": "true", "wait-for-task-stopped": "true",
				"run-task-container-overrides": `[{"name": "app", "command": ["bin/migrate", "broken"]}]`},
			wantCode: 1, wantStatus: "failed", wantUpdate: false,
			wantReason: "one-off task exited with code 4 (container app)",
			wantRun: func(in *ecs.RunTaskInput) {
				in.StartedBy, in.NetworkConfiguration, in.PlatformVersion, in.LaunchType = aws.String("GitHub-Actions"), serviceNetwork, aws.String("LATEST"), types.LaunchTypeFargate
				in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Command: []string{"bin/migrate", "broken"}}}}
			}},
		{name: "the capacity provider strategy wins over the launch type, with a notice",
			inputs: map[string]string{"image": "repo/app:2", "run-task": "true", "wait-for-task-stopped": "true", "run-task-launch-type": "EC2",
				"run-task-capacity-provider-strategy": `[{"capacityProvider": "FARGATE_SPOT", "weight": 1}]`, "run-task-assign-public-IP": "ENABLED"},
			wantCode: 0, wantStatus: "succeeded", wantUpdate: true,
			wantLog: []string{"::notice::run-task-launch-type: EC2 is not used: run-task-capacity-provider-strategy is set"},
			wantRun: func(in *ecs.RunTaskInput) {
				in.StartedBy = aws.String("GitHub-Actions")
				in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
					Subnets: []string{"subnet-0123456789abcdef0"}, SecurityGroups: []string{"sg-0123456789abcdef0"}, AssignPublicIp: types.AssignPublicIpEnabled}}
				in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}
			}},
		{name: "no service: registered, the task run on FARGATE, nothing deployed",
			inputs:   map[string]string{"service": "", "container-name": "", "task-definition": "task-definition.json", "run-task": "true", "wait-for-task-stopped": "true", "run-task-subnets": "subnet-1a"},
			file:     true,
			wantCode: 0, wantStatus: "registered", wantUpdate: false,
			wantReason: "registered web:2; one-off task",
			wantRun: func(in *ecs.RunTaskInput) {
				in.StartedBy, in.LaunchType = aws.String("GitHub-Actions"), types.LaunchTypeFargate
				in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1a"}}}
			}},
		{name: "no service, not waited for: registered and started",
			inputs:   map[string]string{"service": "", "container-name": "", "task-definition": "task-definition.json", "run-task": "true", "run-task-subnets": "subnet-1a", "enable-ecs-managed-tags": "true"},
			file:     true,
			wantCode: 0, wantStatus: "registered", wantUpdate: false,
			wantReason: "(not waited for)",
			wantRun: func(in *ecs.RunTaskInput) {
				in.StartedBy, in.LaunchType, in.EnableECSManagedTags = aws.String("GitHub-Actions"), types.LaunchTypeFargate, true
				in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1a"}}}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := ecssimtest.NewServer(t, runTaskScenario())
			r := newActionRun(t, srv, tc.inputs)
			if tc.file {
				writeFile(t, filepath.Join(r.dir, "task-definition.json"), runTaskFile)
			}
			code := r.run()
			out := r.outputs()
			if code != tc.wantCode || out["status"] != tc.wantStatus || !strings.Contains(out["reason"], tc.wantReason) {
				t.Fatalf("exit %d, status %q, reason %q; want %d, %q, a reason with %q\n%s", code, out["status"], out["reason"], tc.wantCode, tc.wantStatus, tc.wantReason, r.stdout.String())
			}
			for _, want := range tc.wantLog {
				if !strings.Contains(r.stdout.String(), want) {
					t.Errorf("the log lacks %q:\n%s", want, r.stdout.String())
				}
			}
			ops := opsOf(srv)
			run, update := slices.Index(ops, "RunTask"), slices.Index(ops, "UpdateService")
			switch {
			case run < 0 || slices.Index(ops, "RegisterTaskDefinition") > run:
				t.Errorf("calls %v: want RunTask after RegisterTaskDefinition", ops)
			case tc.wantUpdate && update < run:
				t.Errorf("calls %v: want UpdateService after RunTask", ops)
			case !tc.wantUpdate && update >= 0:
				t.Errorf("calls %v: want no UpdateService", ops)
			}
			if n := strings.Count(strings.Join(ops, " "), "RunTask"); n != 1 {
				t.Errorf("%d RunTask calls, want 1", n)
			}
			// The RunTask request: the new revision, in the cluster, one task.
			in := runTaskInput(t, srv)
			want := &ecs.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: in.TaskDefinition, Count: aws.Int32(1)}
			tc.wantRun(want)
			if !strings.HasSuffix(*in.TaskDefinition, "task-definition/web:2") {
				t.Errorf("RunTask ran %s, want web:2", *in.TaskDefinition)
			}
			if diff := cmp.Diff(want, in, cmpopts.IgnoreUnexported(ecs.RunTaskInput{}, types.NetworkConfiguration{}, types.AwsVpcConfiguration{},
				types.Tag{}, types.TaskOverride{}, types.ContainerOverride{}, types.KeyValuePair{}, types.CapacityProviderStrategyItem{}), cmpopts.IgnoreFields(ecs.RunTaskInput{}, "ClientToken")); diff != "" {
				t.Errorf("RunTask request (-want +got):\n%s", diff)
			}
			if sum := r.summary(); !strings.Contains(sum, "One-off task (run-task)") || !strings.Contains(sum, arnTail(out["pre-deploy-task-arn"])) {
				t.Errorf("the job summary does not name the one-off task:\n%s", sum)
			}
			var arns []string
			if err := json.Unmarshal([]byte(out["run-task-arn"]), &arns); err != nil || len(arns) != 1 || !strings.Contains(arns[0], ":task/prod/") || arns[0] != out["pre-deploy-task-arn"] {
				t.Errorf("run-task-arn %q (pre-deploy-task-arn %q), want a JSON array of the task's ARN", out["run-task-arn"], out["pre-deploy-task-arn"])
			}
		})
	}
}

// TestRunTaskBadInputsThroughTheBinary: a bad run-task input is one error
// naming it, before any change in AWS (parse errors: before any call;
// what needs the revision: before any mutating call).
func TestRunTaskBadInputsThroughTheBinary(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		inputs   map[string]string
		file     bool
		want     string // the one ::error line has it
		anyCalls bool   // the problem needs the revision: read calls are allowed
	}{
		{"run-task not a boolean", map[string]string{"run-task": "yes"}, false, `run-task: "yes" is not a boolean`, false},
		{"a run-task input without run-task", map[string]string{"run-task-subnets": "subnet-1a"}, false, "run-task-subnets: is set but run-task is not true", false},
		{"run-task with pre-deploy-command", map[string]string{"run-task": "true", "pre-deploy-command": "bin/migrate"}, false, "run-task: cannot be combined with pre-deploy-command", false},
		{"run-task with resume", map[string]string{"image": "", "container-name": "", "run-task": "true", "resume": "continue"}, false, "run-task: cannot be combined with resume", false},
		{"a pre-deploy input with run-task", map[string]string{"run-task": "true", "pre-deploy-started-by": "me"}, false, "pre-deploy-started-by: is for pre-deploy-command", false},
		{"overrides not JSON", map[string]string{"run-task": "true", "run-task-container-overrides": `[{"name": "app"`}, false, "run-task-container-overrides: ", false},
		{"overrides with an unknown member", map[string]string{"run-task": "true", "run-task-container-overrides": `[{"nam": "app"}]`}, false, "run-task-container-overrides: ", false},
		{"overrides naming no container", map[string]string{"run-task": "true", "run-task-container-overrides": `[{"command": ["x"]}]`}, false, "run-task-container-overrides: [0].name: every override names its container", false},
		{"a subnet that is no subnet ID", map[string]string{"run-task": "true", "run-task-subnets": "subnet-1a,vpc-2"}, false, `run-task-subnets: "vpc-2" is not a subnet ID`, false},
		{"security groups without subnets", map[string]string{"run-task": "true", "run-task-security-groups": "sg-1"}, false, "run-task-security-groups: needs run-task-subnets", false},
		{"assign-public-IP not a value", map[string]string{"run-task": "true", "run-task-assign-public-IP": "yes"}, false, `run-task-assign-public-IP: "yes" is not one of ENABLED, DISABLED`, false},
		{"launch type unknown", map[string]string{"run-task": "true", "run-task-launch-type": "LAMBDA"}, false, `run-task-launch-type: "LAMBDA" is not one of`, false},
		{"capacity provider strategy not an array", map[string]string{"run-task": "true", "run-task-capacity-provider-strategy": `{"capacityProvider": "FARGATE"}`}, false, "run-task-capacity-provider-strategy: ", false},
		{"startedBy with a space", map[string]string{"run-task": "true", "run-task-started-by": "release 42"}, false, `run-task-started-by: "release 42" is not a startedBy`, false},
		{"tags with aws:", map[string]string{"run-task": "true", "run-task-tags": `[{"key": "aws:team", "value": "x"}]`}, false, "run-task-tags: [0].key", false},
		{"EBS volume with an unknown member", map[string]string{"run-task": "true", "run-task-managed-ebs-volume": `{"size": 20}`}, false, "run-task-managed-ebs-volume: ", false},
		{"wait-for-task-stopped not a boolean", map[string]string{"run-task": "true", "wait-for-task-stopped": "yes"}, false, `wait-for-task-stopped: "yes" is not a boolean`, false},
		{"no service, ENABLED without subnets", map[string]string{"service": "", "container-name": "", "task-definition": "task-definition.json", "run-task": "true", "run-task-assign-public-IP": "ENABLED"}, true, "run-task-assign-public-IP: ENABLED needs run-task-subnets", false},
		{"an override of a container the revision lacks", map[string]string{"image": "repo/app:2", "run-task": "true", "run-task-container-overrides": `[{"name": "worker", "command": ["x"]}]`}, false,
			`run-task-container-overrides: [0] names container "worker", which task definition web does not have (it has app)`, true},
		{"no service, awsvpc without subnets", map[string]string{"service": "", "container-name": "", "task-definition": "task-definition.json", "run-task": "true"}, true,
			"run-task-subnets: task definition web uses the awsvpc network mode, so the task needs subnets, and there is no service to take them from", true},
		{"an EBS volume the revision has no place for", map[string]string{"image": "repo/app:2", "run-task": "true", "run-task-managed-ebs-volume": `{"roleArn": "arn:aws:iam::123456789012:role/ebs", "sizeInGiB": 20}`}, false,
			"run-task-managed-ebs-volume: task definition web has no volume configured at launch", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := ecssimtest.NewServer(t, runTaskScenario())
			inputs := map[string]string{"image": "repo/app:2"}
			for k, v := range tc.inputs {
				inputs[k] = v
			}
			r := newActionRun(t, srv, inputs)
			if tc.file {
				writeFile(t, filepath.Join(r.dir, "task-definition.json"), runTaskFile)
			}
			if code := r.run(); code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, r.stdout.String())
			}
			errs := errorAnnotations(r.stdout.String())
			if len(errs) != 1 || !strings.Contains(errs[0], tc.want) {
				t.Errorf("errors %q, want one with %q", errs, tc.want)
			}
			calls := srv.Sim.Calls()
			if m := srv.Sim.MutatingCalls(); len(m) != 0 || (!tc.anyCalls && len(calls) != 0) {
				t.Errorf("calls %v before the input error, want none (mutating: %d)", opsOf(srv), len(m))
			}
		})
	}
}

// TestRunTaskFalseThroughTheBinary: run-task: false, as a workflow's
// expression gives it, with the other run-task inputs set: a notice says
// they are not used, and the deploy runs without a task.
func TestRunTaskFalseThroughTheBinary(t *testing.T) {
	t.Parallel()
	srv := ecssimtest.NewServer(t, runTaskScenario())
	r := newActionRun(t, srv, map[string]string{"image": "repo/app:2", "run-task": "false", "run-task-subnets": "subnet-1a", "wait-for-task-stopped": "true", "run-task-tags": "[]", "run-task-managed-ebs-volume": "{}"})
	if code := r.run(); code != 0 {
		t.Fatalf("exit %d\n%s", code, r.stdout.String())
	}
	if !strings.Contains(r.stdout.String(), "::notice::run-task: is not true: run-task-subnets, wait-for-task-stopped not used") {
		t.Errorf("no notice:\n%s", r.stdout.String())
	}
	if slices.Contains(opsOf(srv), "RunTask") || r.outputs()["run-task-arn"] != "" {
		t.Errorf("a task ran: calls %v, run-task-arn %q", opsOf(srv), r.outputs()["run-task-arn"])
	}
}

// arnTail is the last path element of an ARN (a task's ID).
func arnTail(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }
