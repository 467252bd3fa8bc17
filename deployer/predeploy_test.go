package deployer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{`["bin/rails", "db:migrate"]`, []string{"bin/rails", "db:migrate"}, ""},
		{`  ["sh", "-c", "a && b"] `, []string{"sh", "-c", "a && b"}, ""},
		{"bin/rails db:migrate", []string{"bin/rails", "db:migrate"}, ""},
		{"  ./migrate   --to   latest\n", []string{"./migrate", "--to", "latest"}, ""},
		{`echo "a b"`, []string{"echo", "a b"}, ""}, // quoted arguments kept whole, as the command input
		{`sh -c 'bin/migrate && bin/seed'`, []string{"sh", "-c", "bin/migrate && bin/seed"}, ""},
		{`echo 'open`, nil, "quote that is not closed"},
		{"", nil, "is empty"},
		{"   ", nil, "is empty"},
		{"[]", nil, "empty JSON array"},
		{`["bin/rails", "db:migrate"`, nil, "not a JSON array of strings"},
		{`["bin/rails", 1]`, nil, "not a JSON array of strings"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseCommand(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseCommand(%q) = %q, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCommand(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseCommand(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestPreDeployContainer(t *testing.T) {
	t.Parallel()
	td := func(names ...string) *ecs.RegisterTaskDefinitionInput {
		in := &ecs.RegisterTaskDefinitionInput{Family: aws.String("web")}
		for _, n := range names {
			in.ContainerDefinitions = append(in.ContainerDefinitions, types.ContainerDefinition{Name: aws.String(n)})
		}
		return in
	}
	changed := func(names ...string) []ImageChange {
		var out []ImageChange
		for _, n := range names {
			out = append(out, ImageChange{Container: n, Old: n + ":1", New: n + ":2"})
		}
		return out
	}
	tests := []struct {
		name    string
		td      *ecs.RegisterTaskDefinitionInput
		want    string
		images  []ImageChange
		result  string
		wantErr string
	}{
		{"the only container", td("app"), "", nil, "app", ""},
		{"the one whose image changes", td("app", "envoy"), "", changed("app"), "app", ""},
		{"asked for", td("app", "envoy"), "envoy", changed("app"), "envoy", ""},
		{"asked for, unknown", td("app", "envoy"), "web", nil, "", `pre-deploy-container: task definition web has no container "web" (it has app, envoy)`},
		{"two images change", td("app", "worker"), "", changed("app", "worker"), "", "pre-deploy-container: the images of app, worker change"},
		{"several containers, no change", td("app", "envoy"), "", nil, "", "pre-deploy-container: task definition web has 2 containers (app, envoy)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := preDeployContainer(tc.td, tc.want, tc.images)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("got %q, %v; want an error starting %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.result {
				t.Errorf("got %q, %v; want %q", got, err, tc.result)
			}
		})
	}
}

// TestPreDeployTaskInput: the task runs as the service's tasks do.
func TestPreDeployTaskInput(t *testing.T) {
	t.Parallel()
	net := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}, SecurityGroups: []string{"sg-1"}}}
	cps := []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 3}, {CapacityProvider: aws.String("FARGATE"), Base: 1, Weight: 1}}
	cmd := []string{"bin/rails", "db:migrate"}
	override := &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Command: cmd}}}
	constraints := []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.instance-type =~ m7g.*")}}
	spread := []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")}}
	ec2cp := []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("asg-m7g"), Weight: 1}}
	tests := []struct {
		name string
		svc  types.Service
		want *ecs.RunTaskInput
	}{
		{"Fargate with a platform version",
			types.Service{LaunchType: types.LaunchTypeFargate, NetworkConfiguration: net, PlatformVersion: aws.String("1.4.0")},
			&ecs.RunTaskInput{LaunchType: types.LaunchTypeFargate, NetworkConfiguration: net, PlatformVersion: aws.String("1.4.0")}},
		{"capacity provider strategy, no launch type",
			types.Service{CapacityProviderStrategy: cps, NetworkConfiguration: net, PlatformVersion: aws.String("LATEST")},
			&ecs.RunTaskInput{CapacityProviderStrategy: cps, NetworkConfiguration: net, PlatformVersion: aws.String("LATEST")}},
		{"EC2 bridge: no network, no platform version",
			types.Service{LaunchType: types.LaunchTypeEc2, PlatformVersion: aws.String("LATEST")},
			&ecs.RunTaskInput{LaunchType: types.LaunchTypeEc2}},
		{"EC2 with placement constraints and strategy: kept",
			types.Service{LaunchType: types.LaunchTypeEc2, PlacementConstraints: constraints, PlacementStrategy: spread},
			&ecs.RunTaskInput{LaunchType: types.LaunchTypeEc2, PlacementConstraints: constraints, PlacementStrategy: spread}},
		{"an EC2 capacity provider with placement: kept",
			types.Service{CapacityProviderStrategy: ec2cp, PlacementConstraints: constraints, PlacementStrategy: spread},
			&ecs.RunTaskInput{CapacityProviderStrategy: ec2cp, PlacementConstraints: constraints, PlacementStrategy: spread}},
		{"Fargate capacity providers: no placement (Fargate takes none)",
			types.Service{CapacityProviderStrategy: cps, PlacementStrategy: spread},
			&ecs.RunTaskInput{CapacityProviderStrategy: cps}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := preDeployTaskInput(tc.svc, "prod", newTD, "app", PreDeploy{Command: cmd}, nil, "ecs-rollout/pre-deploy/abc")
			want := tc.want
			want.Cluster, want.TaskDefinition, want.Count = aws.String("prod"), aws.String(newTD), aws.Int32(1)
			want.StartedBy, want.Overrides = aws.String("ecs-rollout/pre-deploy/abc"), override
			if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(ecs.RunTaskInput{}, types.TaskOverride{}, types.ContainerOverride{},
				types.NetworkConfiguration{}, types.AwsVpcConfiguration{}, types.CapacityProviderStrategyItem{}, types.PlacementConstraint{}, types.PlacementStrategy{})); diff != "" {
				t.Errorf("RunTask input (-want +got):\n%s", diff)
			}
		})
	}
	if sb := preDeployStartedBy(); len(sb) > 128 || strings.Trim(sb, "abcdefghijklmnopqrstuvwxyz0123456789-/_") != "" || sb == preDeployStartedBy() {
		t.Errorf("startedBy %q: want ECS's characters, at most 128, unique per run", sb)
	}
}

// TestPreDeployVolume: a task definition with a volume configured at
// launch gets the pre-deploy-managed-ebs-volume, else the service's
// volume configuration made a task's; without such a volume none is sent.
func TestPreDeployVolume(t *testing.T) {
	t.Parallel()
	withVolume := &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		Volumes: []types.Volume{{Name: aws.String("scratch")}, {Name: aws.String("data"), ConfiguredAtLaunch: aws.Bool(true)}}}
	plain := &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), Volumes: []types.Volume{{Name: aws.String("scratch")}}}
	role := aws.String("arn:aws:iam::123456789012:role/ecsInfrastructureRole")
	service := []types.ServiceVolumeConfiguration{{Name: aws.String("data"), ManagedEBSVolume: &types.ServiceManagedEBSVolumeConfiguration{
		RoleArn: role, SizeInGiB: aws.Int32(50), VolumeType: aws.String("gp3"), Encrypted: aws.Bool(true), FilesystemType: types.TaskFilesystemTypeExt4}}}
	asked := &types.TaskVolumeConfiguration{ManagedEBSVolume: &types.TaskManagedEBSVolumeConfiguration{RoleArn: role, SizeInGiB: aws.Int32(10)}}
	tests := []struct {
		name    string
		td      *ecs.RegisterTaskDefinitionInput
		pd      PreDeploy
		service []types.ServiceVolumeConfiguration
		want    *types.TaskVolumeConfiguration
		wantErr string
	}{
		{"the service's volume, as a task's", withVolume, PreDeploy{}, service,
			&types.TaskVolumeConfiguration{Name: aws.String("data"), ManagedEBSVolume: &types.TaskManagedEBSVolumeConfiguration{
				RoleArn: role, SizeInGiB: aws.Int32(50), VolumeType: aws.String("gp3"), Encrypted: aws.Bool(true), FilesystemType: types.TaskFilesystemTypeExt4}}, ""},
		{"the one asked for, named after the task definition's", withVolume, PreDeploy{Volume: asked}, service,
			&types.TaskVolumeConfiguration{Name: aws.String("data"), ManagedEBSVolume: asked.ManagedEBSVolume}, ""},
		{"no volume configured at launch: none", plain, PreDeploy{}, service, nil, ""},
		{"nothing configures it: none (ECS decides)", withVolume, PreDeploy{}, nil, nil, ""},
		{"asked for without such a volume", plain, PreDeploy{Volume: asked}, nil, nil, "PreDeploy.Volume: task definition web has no volume configured at launch"},
		{"asked for under another name", withVolume, PreDeploy{Volume: &types.TaskVolumeConfiguration{Name: aws.String("logs"), ManagedEBSVolume: asked.ManagedEBSVolume}}, nil, nil,
			`PreDeploy.Volume.Name: task definition web has no volume "logs" configured at launch (its volume configured at launch is "data")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := preDeployVolume(tc.td, tc.pd, tc.service)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("got %v; want an error starting %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreUnexported(types.TaskVolumeConfiguration{}, types.TaskManagedEBSVolumeConfiguration{})); diff != "" {
				t.Errorf("volume (-want +got):\n%s", diff)
			}
		})
	}
}

// failingRunTask answers RunTask with a started task and a failure, as
// the deploy action's tests script it, and records StopTask.
type failingRunTask struct {
	taskAPI
	stopped []string
}

func (f *failingRunTask) RunTask(context.Context, *ecs.RunTaskInput, ...func(*ecs.Options)) (*ecs.RunTaskOutput, error) {
	arn := "arn:aws:ecs:us-east-1:123456789012:task/prod/0123abcd"
	return &ecs.RunTaskOutput{Tasks: []types.Task{{TaskArn: aws.String(arn), LastStatus: aws.String("PROVISIONING")}},
		Failures: []types.Failure{{Arn: aws.String(arn), Reason: aws.String("TASK_FAILED")}}}, nil
}

func (f *failingRunTask) StopTask(_ context.Context, in *ecs.StopTaskInput, _ ...func(*ecs.Options)) (*ecs.StopTaskOutput, error) {
	f.stopped = append(f.stopped, aws.ToString(in.Task))
	return &ecs.StopTaskOutput{Task: &types.Task{TaskArn: in.Task}}, nil
}

// TestOneOffRunTaskFailures: a RunTask answer with a failure is a task
// that could not be started, whatever else it holds (the deploy action
// fails on it too), waited for or not; a task it started anyway is
// stopped.
func TestOneOffRunTaskFailures(t *testing.T) {
	t.Parallel()
	for _, detach := range []bool{false, true} {
		api := &failingRunTask{}
		o := &oneOffRun{api: api, emit: func(EventKind, string, ...any) {}, poll: constantPolling(time.Millisecond),
			in: &ecs.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String("web:2")}, timeout: time.Second,
			label: "one-off task", timeoutName: "the timeout", detach: detach}
		out := o.run(context.Background())
		if out.end != oneOffFailedToStart || !strings.Contains(out.reason, "one-off task could not be started: TASK_FAILED") {
			t.Errorf("detach %v: end %d, reason %q; want failed to start with TASK_FAILED", detach, out.end, out.reason)
		}
		if len(api.stopped) != 1 || api.stopped[0] != out.arn || out.arn == "" {
			t.Errorf("detach %v: stopped %v, want the task started anyway (%s)", detach, api.stopped, out.arn)
		}
	}
}
