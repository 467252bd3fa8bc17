package ecssim

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// migrationWorld is one Fargate service "web" (image app:1, awslogs) in
// cluster "prod", plus task rules for the commands the tests run.
func migrationWorld() Scenario {
	td := FargateApp("web", "app:1")
	td.ContainerDefinitions[0].LogConfiguration = Awslogs("web")
	td.ContainerDefinitions = append(td.ContainerDefinitions, types.ContainerDefinition{
		Name: aws.String("sidecar"), Image: aws.String("envoy:1"), Essential: aws.Bool(false),
	})
	sc := OneService("prod", "web", td, 1)
	sc.TaskRules = []TaskRule{
		{Command: "bin/migrate ok", ExitCode: 0, Logs: []string{"== migrating", "== done"}},
		{Command: "bin/migrate broken", ExitCode: 1, Logs: []string{"== migrating", "PG::UndefinedTable: relation \"users\" does not exist"}},
		{Command: "sleep forever", Outcome: OutcomeForever},
		{Image: "app:oom", Outcome: OutcomeOOM},
	}
	sc.ImageRules = []ImageRule{{Image: "app:missing", Behavior: BehaviorPullError}}
	return sc
}

func awsvpc() *types.NetworkConfiguration {
	return &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
		Subnets: []string{"subnet-0aaa"}, SecurityGroups: []string{"sg-0bbb"}}}
}

func runInput(command ...string) *ecs.RunTaskInput {
	in := &ecs.RunTaskInput{
		Cluster:              aws.String("prod"),
		TaskDefinition:       aws.String("web:1"),
		LaunchType:           types.LaunchTypeFargate,
		NetworkConfiguration: awsvpc(),
		StartedBy:            aws.String("ecs-rollout/pre-deploy"),
	}
	if command != nil {
		in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Command: command}}}
	}
	return in
}

// waitTask describes the task until cond holds, failing after 5 s.
func waitTask(t *testing.T, c *ecs.Client, arn string, what string, cond func(types.Task) bool) types.Task {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		late := time.Now().After(deadline)
		out, err := c.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: []string{arn}})
		if err != nil {
			t.Fatalf("DescribeTasks: %v", err)
		}
		if len(out.Tasks) != 1 {
			t.Fatalf("DescribeTasks: %d tasks, failures %v", len(out.Tasks), out.Failures)
		}
		if cond(out.Tasks[0]) {
			return out.Tasks[0]
		}
		if late {
			tk := out.Tasks[0]
			t.Fatalf("timed out waiting for %s: task is %s/%s", what, aws.ToString(tk.LastStatus), aws.ToString(tk.DesiredStatus))
		}
		time.Sleep(3 * time.Millisecond)
	}
}

func stopped(tk types.Task) bool { return aws.ToString(tk.LastStatus) == "STOPPED" }

func running(tk types.Task) bool { return aws.ToString(tk.LastStatus) == "RUNNING" }

func runOne(t *testing.T, c *ecs.Client, in *ecs.RunTaskInput) types.Task {
	t.Helper()
	out, err := c.RunTask(context.Background(), in)
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	if len(out.Tasks) != 1 || len(out.Failures) != 0 {
		t.Fatalf("RunTask: %d tasks, failures %v", len(out.Tasks), out.Failures)
	}
	return out.Tasks[0]
}

// container returns the named container of a task.
func containerOf(t *testing.T, tk types.Task, name string) types.Container {
	t.Helper()
	for _, c := range tk.Containers {
		if aws.ToString(c.Name) == name {
			return c
		}
	}
	t.Fatalf("task has no container %q", name)
	return types.Container{}
}

// TestRunTaskOutcomes runs one-off tasks whose fate comes from the task
// rules (by command, by image) and from the image rules, and checks what
// DescribeTasks, ListTasks and GetLogEvents report, as ECS would.
func TestRunTaskOutcomes(t *testing.T) {
	t.Parallel()
	type want struct {
		stopCode   types.TaskStopCode
		reason     string // stoppedReason prefix
		exit       *int32
		contReason string // the app container's reason prefix
		started    bool   // startedAt set
		logs       []string
	}
	tests := []struct {
		name  string
		image string // when set, the task definition's image (registered as web:2)
		cmd   []string
		want  want
	}{
		{"command exits 0", "", []string{"bin/migrate", "ok"}, want{
			stopCode: types.TaskStopCodeEssentialContainerExited, reason: "Essential container in task exited",
			exit: aws.Int32(0), started: true, logs: []string{"== migrating", "== done"}}},
		{"command exits 1", "", []string{"bin/migrate", "broken"}, want{
			stopCode: types.TaskStopCodeEssentialContainerExited, reason: "Essential container in task exited",
			exit: aws.Int32(1), started: true, logs: []string{"== migrating", "PG::UndefinedTable: relation \"users\" does not exist"}}},
		{"unmatched overridden command completes", "", []string{"echo", "hi"}, want{
			stopCode: types.TaskStopCodeEssentialContainerExited, reason: "Essential container in task exited",
			exit: aws.Int32(0), started: true}},
		{"image cannot be pulled", "app:missing", []string{"bin/migrate", "ok"}, want{
			stopCode: types.TaskStopCodeTaskFailedToStart, reason: "CannotPullContainerError:",
			contReason: "CannotPullContainerError:"}},
		{"out of memory", "app:oom", []string{"bin/migrate", "big"}, want{
			stopCode: types.TaskStopCodeEssentialContainerExited, reason: "Essential container in task exited",
			exit: aws.Int32(137), contReason: "OutOfMemoryError", started: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := migrationWorld()
			if tc.image != "" {
				td := sc.TaskDefinitions[0]
				td.ContainerDefinitions = append([]types.ContainerDefinition(nil), td.ContainerDefinitions...)
				td.ContainerDefinitions[0].Image = aws.String(tc.image)
				sc.TaskDefinitions = append(sc.TaskDefinitions, td)
			}
			srv := NewServer(t, sc)
			c, logs := clients(srv, 1)
			in := runInput(tc.cmd...)
			if tc.image != "" {
				in.TaskDefinition = aws.String("web:2")
			}
			tk := runOne(t, c, in)
			if got := aws.ToString(tk.LastStatus); got != "PROVISIONING" {
				t.Errorf("RunTask: lastStatus %q, want PROVISIONING", got)
			}
			tk = waitTask(t, c, aws.ToString(tk.TaskArn), "STOPPED", stopped)
			if tk.StopCode != tc.want.stopCode || !strings.HasPrefix(aws.ToString(tk.StoppedReason), tc.want.reason) {
				t.Errorf("stop: %s %q, want %s %q…", tk.StopCode, aws.ToString(tk.StoppedReason), tc.want.stopCode, tc.want.reason)
			}
			app := containerOf(t, tk, "app")
			if diff := cmp.Diff(tc.want.exit, app.ExitCode); diff != "" {
				t.Errorf("app exit code (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(aws.ToString(app.Reason), tc.want.contReason) || (tc.want.contReason == "" && app.Reason != nil) {
				t.Errorf("app reason %q, want %q…", aws.ToString(app.Reason), tc.want.contReason)
			}
			if got := tk.StartedAt != nil; got != tc.want.started {
				t.Errorf("startedAt set: %v, want %v", got, tc.want.started)
			}
			if got := aws.ToString(tk.StartedBy); got != "ecs-rollout/pre-deploy" {
				t.Errorf("startedBy %q", got)
			}
			if got := aws.ToString(tk.Group); got != "family:web" {
				t.Errorf("group %q, want the default family:web", got)
			}
			if got := aws.ToString(tk.PlatformVersion); got != "1.4.0" || tk.LaunchType != types.LaunchTypeFargate {
				t.Errorf("platform %q launch type %s, want 1.4.0 FARGATE", got, tk.LaunchType)
			}
			if tc.want.logs == nil {
				return
			}
			id := aws.ToString(tk.TaskArn)[strings.LastIndex(aws.ToString(tk.TaskArn), "/")+1:]
			ev, err := logs.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{
				LogGroupName: aws.String("/ecs/web"), LogStreamName: aws.String("ecs/app/" + id), StartFromHead: aws.Bool(true)})
			if err != nil {
				t.Fatalf("GetLogEvents: %v", err)
			}
			var lines []string
			for _, e := range ev.Events {
				lines = append(lines, aws.ToString(e.Message))
			}
			if diff := cmp.Diff(tc.want.logs, lines); diff != "" {
				t.Errorf("log lines (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRunTaskShowsItsRequest: the task carries its overrides, network
// attachment, startedBy and group, and ListTasks finds it by startedBy,
// running and stopped.
func TestRunTaskShowsItsRequest(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, migrationWorld())
	c, _ := clients(srv, 1)
	ctx := context.Background()
	in := runInput("sleep", "forever")
	in.Group = aws.String("ecs-rollout:pre-deploy")
	in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}
	in.LaunchType = ""
	in.PlatformVersion = aws.String("1.4.0")
	tk := runOne(t, c, in)
	arn := aws.ToString(tk.TaskArn)
	tk = waitTask(t, c, arn, "RUNNING", running)

	if got := aws.ToString(tk.Group); got != "ecs-rollout:pre-deploy" {
		t.Errorf("group %q", got)
	}
	if got := aws.ToString(tk.CapacityProviderName); got != "FARGATE_SPOT" {
		t.Errorf("capacityProviderName %q, want FARGATE_SPOT", got)
	}
	wantOv := []types.ContainerOverride{{Name: aws.String("app"), Command: []string{"sleep", "forever"}}, {Name: aws.String("sidecar")}}
	if diff := cmp.Diff(wantOv, tk.Overrides.ContainerOverrides, cmp.AllowUnexported(types.ContainerOverride{})); diff != "" {
		t.Errorf("overrides (-want +got):\n%s", diff)
	}
	if len(tk.Attachments) != 1 || aws.ToString(tk.Attachments[0].Type) != "ElasticNetworkInterface" ||
		aws.ToString(tk.Attachments[0].Details[0].Value) != "subnet-0aaa" {
		t.Errorf("attachments %+v, want an ENI in subnet-0aaa", tk.Attachments)
	}
	// The service's own tasks are not started by us.
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), StartedBy: aws.String("ecs-rollout/pre-deploy")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{arn}, list.TaskArns); diff != "" {
		t.Errorf("ListTasks startedBy (-want +got):\n%s", diff)
	}
	list, err = c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.TaskArns) != 1 || list.TaskArns[0] == arn {
		t.Errorf("ListTasks serviceName web: %v, want the service's one task only", list.TaskArns)
	}

	// A task that runs until stopped: StopTask stops it as ECS reports it.
	out, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("prod"), Task: aws.String(arn)})
	if err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	if got := aws.ToString(out.Task.DesiredStatus); got != "STOPPED" {
		t.Errorf("StopTask: desiredStatus %q, want STOPPED", got)
	}
	tk = waitTask(t, c, arn, "STOPPED", stopped)
	if tk.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(tk.StoppedReason) != "Task stopped by user" {
		t.Errorf("stop: %s %q, want UserInitiated \"Task stopped by user\"", tk.StopCode, aws.ToString(tk.StoppedReason))
	}
	if got := containerOf(t, tk, "app").ExitCode; got == nil || *got != 143 {
		t.Errorf("app exit code %v, want 143 (SIGTERM)", got)
	}
	list, err = c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), StartedBy: aws.String("ecs-rollout/pre-deploy"), DesiredStatus: types.DesiredStatusStopped})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{arn}, list.TaskArns); diff != "" {
		t.Errorf("ListTasks startedBy STOPPED (-want +got):\n%s", diff)
	}
	// Stopping it again answers the task as it is.
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("prod"), Task: aws.String(arn), Reason: aws.String("again")}); err != nil {
		t.Errorf("StopTask of a stopped task: %v", err)
	}
	tk = waitTask(t, c, arn, "STOPPED", stopped)
	if got := aws.ToString(tk.StoppedReason); got != "Task stopped by user" {
		t.Errorf("second StopTask changed the reason to %q", got)
	}
	var ops []string
	for _, call := range srv.Sim.MutatingCalls() {
		ops = append(ops, call.Op)
	}
	if diff := cmp.Diff([]string{"RunTask", "StopTask", "StopTask"}, ops); diff != "" {
		t.Errorf("MutatingCalls (-want +got):\n%s", diff)
	}
}

// TestStopTaskReason: the reason given to StopTask is the stopped reason;
// a task stopped while still PENDING never started.
func TestStopTaskReason(t *testing.T) {
	t.Parallel()
	sc := migrationWorld()
	sc.TaskRules = append([]TaskRule{{Command: "wait", Outcome: OutcomePending}}, sc.TaskRules...)
	srv := NewServer(t, sc)
	c, _ := clients(srv, 1)
	tk := runOne(t, c, runInput("wait"))
	arn := aws.ToString(tk.TaskArn)
	waitTask(t, c, arn, "PENDING", func(tk types.Task) bool { return aws.ToString(tk.LastStatus) == "PENDING" })
	if _, err := c.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: aws.String("prod"), Task: aws.String(arn), Reason: aws.String("ecs-rollout: pre-deploy-timeout (10m) passed")}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	tk = waitTask(t, c, arn, "STOPPED", stopped)
	if tk.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(tk.StoppedReason) != "ecs-rollout: pre-deploy-timeout (10m) passed" {
		t.Errorf("stop: %s %q", tk.StopCode, aws.ToString(tk.StoppedReason))
	}
	if tk.StartedAt != nil || containerOf(t, tk, "app").ExitCode != nil {
		t.Errorf("a task stopped while PENDING shows startedAt %v, exit code %v", tk.StartedAt, containerOf(t, tk, "app").ExitCode)
	}
}

// TestRunTaskClientToken: a repeated RunTask with the same clientToken
// starts nothing new; the same token with other parameters is a conflict.
func TestRunTaskClientToken(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, migrationWorld())
	c, _ := clients(srv, 1)
	in := runInput("sleep", "forever")
	in.ClientToken = aws.String("run-1")
	first := runOne(t, c, in)
	again := runOne(t, c, in)
	if aws.ToString(first.TaskArn) != aws.ToString(again.TaskArn) {
		t.Errorf("same clientToken started a second task: %s, %s", aws.ToString(first.TaskArn), aws.ToString(again.TaskArn))
	}
	other := runInput("bin/migrate", "ok")
	other.ClientToken = aws.String("run-1")
	_, err := c.RunTask(context.Background(), other)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ConflictException" {
		t.Errorf("same token, other command: err %v, want ConflictException", err)
	}
	if n := len(srv.Sim.Tasks("prod")); n != 2 { // the service's task and ours
		t.Errorf("cluster has %d tasks, want 2", n)
	}
}

// TestRunTaskRejects: RunTask and StopTask validate as ECS does.
func TestRunTaskRejects(t *testing.T) {
	t.Parallel()
	sc := migrationWorld()
	bridge := types.TaskDefinition{Family: aws.String("cron"), NetworkMode: types.NetworkModeBridge, ContainerDefinitions: []types.ContainerDefinition{
		{Name: aws.String("job"), Image: aws.String("cron:1"), Memory: aws.Int32(128)}}}
	inactive := FargateApp("old", "old:1")
	inactive.Status = types.TaskDefinitionStatusInactive
	sc.TaskDefinitions = append(sc.TaskDefinitions, ScenarioTaskDefinition{TaskDefinition: bridge}, ScenarioTaskDefinition{TaskDefinition: inactive})
	srv := NewServer(t, sc)
	c, _ := clients(srv, 1)
	tests := []struct {
		name string
		edit func(*ecs.RunTaskInput)
		code string
		msg  string
	}{
		{"awsvpc needs a network configuration", func(in *ecs.RunTaskInput) { in.NetworkConfiguration = nil },
			"InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified."},
		{"subnets must not be empty", func(in *ecs.RunTaskInput) { in.NetworkConfiguration.AwsvpcConfiguration.Subnets = []string{} },
			"InvalidParameterException", "subnets can not be empty."},
		{"launch type and capacity provider strategy", func(in *ecs.RunTaskInput) {
			in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE")}}
		}, "InvalidParameterException", "Specifying both a launch type and capacity provider strategy is not supported."},
		{"unknown capacity provider", func(in *ecs.RunTaskInput) {
			in.LaunchType = ""
			in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("my-asg")}}
		}, "InvalidParameterException", "not associated with the cluster"},
		{"override of an unknown container", func(in *ecs.RunTaskInput) { in.Overrides.ContainerOverrides[0].Name = aws.String("web") },
			"InvalidParameterException", "Override for container named web is not a container in the TaskDefinition."},
		{"startedBy with a colon", func(in *ecs.RunTaskInput) { in.StartedBy = aws.String("ecs-rollout:pre-deploy") },
			"InvalidParameterException", "startedBy"},
		{"count over 10", func(in *ecs.RunTaskInput) { in.Count = aws.Int32(11) }, "InvalidParameterException", "Count"},
		{"unknown task definition", func(in *ecs.RunTaskInput) { in.TaskDefinition = aws.String("web:9") }, "ClientException", "TaskDefinition not found."},
		{"inactive task definition", func(in *ecs.RunTaskInput) { in.TaskDefinition = aws.String("old:1") }, "ClientException", "TaskDefinition is inactive"},
		{"EC2 with a platform version", func(in *ecs.RunTaskInput) {
			in.LaunchType = types.LaunchTypeEc2
			in.PlatformVersion = aws.String("1.4.0")
		}, "InvalidParameterException", "platform version must be null"},
		{"unknown platform version", func(in *ecs.RunTaskInput) { in.PlatformVersion = aws.String("9.9.9") }, "InvalidParameterException", "platform version"},
		{"Fargate with a bridge task definition", func(in *ecs.RunTaskInput) {
			in.TaskDefinition = aws.String("cron:1")
			in.NetworkConfiguration = nil
			in.Overrides = nil
		}, "ClientException", "Task definition does not support launch_type FARGATE."},
		{"network configuration for bridge mode", func(in *ecs.RunTaskInput) {
			in.TaskDefinition = aws.String("cron:1")
			in.LaunchType = types.LaunchTypeEc2
			in.Overrides = nil
		}, "InvalidParameterException", "Network Configuration is not valid"},
		{"no task definition", func(in *ecs.RunTaskInput) { in.TaskDefinition = nil }, "", "TaskDefinition"}, // the SDK refuses before sending
		{"unknown cluster", func(in *ecs.RunTaskInput) { in.Cluster = aws.String("nope") }, "ClusterNotFoundException", "Cluster not found."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := runInput("bin/migrate", "ok")
			tc.edit(in)
			_, err := c.RunTask(context.Background(), in)
			var ae smithy.APIError
			switch {
			case err == nil:
				t.Fatalf("RunTask succeeded, want %s %q", tc.code, tc.msg)
			case tc.code == "":
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("err %v, want one naming %s", err, tc.msg)
				}
			case !errors.As(err, &ae) || ae.ErrorCode() != tc.code || !strings.Contains(ae.ErrorMessage(), tc.msg):
				t.Errorf("err %v, want %s containing %q", err, tc.code, tc.msg)
			}
		})
	}
	t.Run("StopTask of an unknown task", func(t *testing.T) {
		t.Parallel()
		_, err := c.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: aws.String("prod"), Task: aws.String("0123456789abcdef0123456789abcdef")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterException" || ae.ErrorMessage() != "The referenced task was not found." {
			t.Errorf("err %v, want InvalidParameterException \"The referenced task was not found.\"", err)
		}
	})
}

// TestStandaloneTasksLeaveServicesAlone: a one-off task in the service's
// cluster neither counts for nor disturbs the service.
func TestStandaloneTasksLeaveServicesAlone(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, migrationWorld())
	c, _ := clients(srv, 1)
	tk := runOne(t, c, runInput("bin/migrate", "broken"))
	waitTask(t, c, aws.ToString(tk.TaskArn), "STOPPED", stopped)
	svc := describeService(t, c, "prod", "web")
	if svc.RunningCount != 1 || len(svc.Deployments) != 1 || svc.Deployments[0].FailedTasks != 0 {
		t.Errorf("service after a failed one-off task: %s", fmtDeployments(svc.Deployments))
	}
	if got := aws.ToString(svc.Events[0].Message); got != "(service web) has reached a steady state." {
		t.Errorf("newest service event %q", got)
	}
}

// TestAWSCLIRunTask extends the wire test to one-off tasks with an
// independent client: awscli (botocore, which fills RunTask's clientToken
// itself) runs, lists, describes and stops a standalone task.
func TestAWSCLIRunTask(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("awscli wire test skipped with -short: awscli processes take seconds each")
	}
	srv, err := Start("127.0.0.1:0", migrationWorld())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cli := newAWSCLI(t, srv.URL)

	m := cli.ok("ecs", "run-task", "--cluster", "prod", "--task-definition", "web:1", "--launch-type", "FARGATE",
		"--platform-version", "LATEST", "--started-by", "ecs-rollout/pre-deploy",
		"--network-configuration", "awsvpcConfiguration={subnets=[subnet-0aaa],securityGroups=[sg-0bbb],assignPublicIp=DISABLED}",
		"--overrides", `{"containerOverrides":[{"name":"app","command":["sleep","forever"]}]}`)
	arn, _ := dig(m, "tasks", 0, "taskArn").(string)
	if arn == "" || dig(m, "tasks", 0, "lastStatus") != "PROVISIONING" {
		t.Fatalf("run-task: got %v", m)
	}
	if got := dig(m, "tasks", 0, "overrides", "containerOverrides", 0, "command", 1); got != "forever" {
		t.Errorf("run-task: overridden command got %v", got)
	}
	errRes := cli.all(
		[]string{"ecs", "run-task", "--cluster", "prod", "--task-definition", "web:1", "--launch-type", "FARGATE"},
		[]string{"ecs", "stop-task", "--cluster", "prod", "--task", "0123456789abcdef0123456789abcdef"},
	)
	for i, want := range []string{"Network Configuration must be provided", "The referenced task was not found."} {
		if r := errRes[i]; r.err == nil || !strings.Contains(r.stderr, "InvalidParameterException") || !strings.Contains(r.stderr, want) {
			t.Errorf("error case %d: got err %v stderr %q, want InvalidParameterException %q", i, r.err, r.stderr, want)
		}
	}
	m = cli.ok("ecs", "stop-task", "--cluster", "prod", "--task", arn, "--reason", "pre-deploy-timeout passed")
	if got := dig(m, "task", "desiredStatus"); got != "STOPPED" {
		t.Errorf("stop-task: desiredStatus got %v", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		tasks := srv.Sim.Tasks("prod")
		if aws.ToString(tasks[len(tasks)-1].LastStatus) == "STOPPED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stopped task never reached STOPPED")
		}
		time.Sleep(5 * time.Millisecond)
	}
	res := cli.okAll(
		[]string{"ecs", "describe-tasks", "--cluster", "prod", "--tasks", arn},
		[]string{"ecs", "list-tasks", "--cluster", "prod", "--started-by", "ecs-rollout/pre-deploy", "--desired-status", "STOPPED"},
	)
	if got := dig(res[0], "tasks", 0, "stopCode"); got != "UserInitiated" {
		t.Errorf("describe-tasks: stopCode got %v", got)
	}
	if got := dig(res[0], "tasks", 0, "stoppedReason"); got != "pre-deploy-timeout passed" {
		t.Errorf("describe-tasks: stoppedReason got %v", got)
	}
	if got := dig(res[0], "tasks", 0, "containers", 0, "exitCode"); got != 143.0 {
		t.Errorf("describe-tasks: exitCode got %v, want 143", got)
	}
	if got := dig(res[1], "taskArns", 0); got != arn {
		t.Errorf("list-tasks --started-by: got %v, want %s", got, arn)
	}
	var token string
	for _, c := range srv.Sim.Calls() {
		if c.Op == "RunTask" && c.ErrCode == "" {
			var in struct{ ClientToken string }
			if err := json.Unmarshal(c.Input, &in); err == nil {
				token = in.ClientToken
			}
		}
	}
	if token == "" {
		t.Error("awscli sent RunTask without a clientToken; botocore fills it (idempotencyToken)")
	}
}
