package deployer_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// migrations adds what the one-off commands of the tests do.
func migrations(sc *ecssim.Scenario) {
	sc.TaskRules = []ecssim.TaskRule{
		{Command: "bin/migrate ok", Logs: []string{"== 20261130 CreateUsers: migrating", "== 20261130 CreateUsers: migrated"}},
		{Command: "bin/migrate broken", ExitCode: 1, Logs: []string{"== 20261130 AddIndex: migrating",
			"PG::UndefinedTable: ERROR: relation \"users\" does not exist", "token=" + plantedSecret}},
		{Command: "bin/migrate forever", Outcome: ecssim.OutcomeForever, Logs: []string{"waiting for lock on schema_migrations"}},
	}
}

func preDeploy(cmd ...string) func(*deployer.Config) {
	return func(c *deployer.Config) {
		c.PreDeploy = &deployer.PreDeploy{Command: cmd, Timeout: 5 * time.Second}
	}
}

// runTaskCalls returns the RunTask requests the simulator received.
func runTaskCalls(t *testing.T, e env) []ecs.RunTaskInput {
	t.Helper()
	var out []ecs.RunTaskInput
	for _, c := range e.srv.Sim.Calls() {
		if c.Op != "RunTask" {
			continue
		}
		var in struct {
			Cluster, TaskDefinition, StartedBy, LaunchType, PlatformVersion string
			Count                                                           int32
			NetworkConfiguration                                            *struct{ AwsvpcConfiguration *types.AwsVpcConfiguration }
			Overrides                                                       struct {
				ContainerOverrides []struct {
					Name    string
					Command []string
				}
			}
		}
		if err := json.Unmarshal(c.Input, &in); err != nil {
			t.Fatalf("decode RunTask input: %v", err)
		}
		rt := ecs.RunTaskInput{Cluster: aws.String(in.Cluster), TaskDefinition: aws.String(in.TaskDefinition), StartedBy: aws.String(in.StartedBy),
			LaunchType: types.LaunchType(in.LaunchType), PlatformVersion: aws.String(in.PlatformVersion), Count: aws.Int32(in.Count), Overrides: &types.TaskOverride{}}
		if in.NetworkConfiguration != nil {
			rt.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: in.NetworkConfiguration.AwsvpcConfiguration}
		}
		for _, co := range in.Overrides.ContainerOverrides {
			rt.Overrides.ContainerOverrides = append(rt.Overrides.ContainerOverrides, types.ContainerOverride{Name: aws.String(co.Name), Command: co.Command})
		}
		out = append(out, rt)
	}
	return out
}

// task returns the simulator's view of a task of cluster prod.
func simTask(t *testing.T, e env, arn string) types.Task {
	t.Helper()
	for _, tk := range e.srv.Sim.Tasks("prod") {
		if aws.ToString(tk.TaskArn) == arn {
			return tk
		}
	}
	t.Fatalf("the simulator has no task %s", arn)
	return types.Task{}
}

// TestPreDeploy runs the pre-deploy task through the SDK against the
// simulator: the migration's outcome decides whether the service changes.
func TestPreDeploy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		image        string
		sc           func(*ecssim.Scenario)
		fault        *ecssim.Fault // injected before the run
		cfg          func(*deployer.Config)
		wantStatus   deployer.Status
		wantReason   []string
		wantMutating []string
		wantStop     types.TaskStopCode // the pre-deploy task's stop code
		wantExit     *int32             // its app container's exit code
		wantLogs     []string           // the log excerpt of the pre-deploy container
		wantTimeline []string
	}{
		{name: "migration succeeds, then the deploy", image: "repo/app:2", cfg: preDeploy("bin/migrate", "ok"),
			wantStatus: deployer.StatusSucceeded, wantReason: []string{"completed"},
			wantMutating: []string{"RegisterTaskDefinition", "RunTask", "UpdateService"},
			wantStop:     types.TaskStopCodeEssentialContainerExited, wantExit: aws.Int32(0),
			wantTimeline: []string{"pre-deploy task started", "pre-deploy task succeeded", "deploy started", "first task running", "deployment completed"}},
		{name: "migration in a container that is not essential: the rest is stopped", image: "repo/app:2", cfg: preDeploy("bin/migrate", "ok"),
			sc: func(sc *ecssim.Scenario) {
				sc.TaskDefinitions[0].ContainerDefinitions[0].Essential = aws.Bool(false) // envoy runs on
			},
			wantStatus: deployer.StatusSucceeded, wantReason: []string{"completed"},
			wantMutating: []string{"RegisterTaskDefinition", "RunTask", "StopTask", "UpdateService"},
			wantStop:     types.TaskStopCodeUserInitiated, wantExit: aws.Int32(0)},
		{name: "migration exits 1: the service is not touched", image: "repo/app:2", cfg: preDeploy("bin/migrate", "broken"),
			wantStatus:   deployer.StatusFailed,
			wantReason:   []string{"pre-deploy task exited with code 1 (EssentialContainerExited: Essential container in task exited)", "the service was not changed (still on web:1)"},
			wantMutating: []string{"RegisterTaskDefinition", "RunTask"},
			wantStop:     types.TaskStopCodeEssentialContainerExited, wantExit: aws.Int32(1),
			wantLogs:     []string{"== 20261130 AddIndex: migrating", "PG::UndefinedTable: ERROR: relation \"users\" does not exist", "token=***"},
			wantTimeline: []string{"pre-deploy task started", "pre-deploy task failed"}},
		{name: "migration never finishes: stopped at the timeout", image: "repo/app:2",
			cfg: func(c *deployer.Config) {
				preDeploy("bin/migrate", "forever")(c)
				c.PreDeploy.Timeout = 300 * time.Millisecond
			},
			wantStatus:   deployer.StatusFailed,
			wantReason:   []string{"did not finish within pre-deploy-timeout (300ms); stopped it", "the service was not changed"},
			wantMutating: []string{"RegisterTaskDefinition", "RunTask", "StopTask"},
			wantStop:     types.TaskStopCodeUserInitiated, wantExit: aws.Int32(143),
			wantLogs:     []string{"waiting for lock on schema_migrations"},
			wantTimeline: []string{"pre-deploy task started", "pre-deploy task failed"}},
		{name: "the new image cannot be pulled: the task fails to start", image: "repo/app:pull", cfg: preDeploy("bin/migrate", "ok"),
			wantStatus:   deployer.StatusFailed,
			wantReason:   []string{"pre-deploy task failed to start: CannotPullContainerError", "the service was not changed"},
			wantMutating: []string{"RegisterTaskDefinition", "RunTask"},
			wantStop:     types.TaskStopCodeTaskFailedToStart,
			wantTimeline: []string{"pre-deploy task started", "pre-deploy task failed"}},
		{name: "RunTask denied", image: "repo/app:2", cfg: preDeploy("bin/migrate", "ok"),
			fault:        &ecssim.Fault{Op: "RunTask", Error: "AccessDeniedException"},
			wantStatus:   deployer.StatusFailed,
			wantReason:   []string{"pre-deploy task could not be started", "AccessDeniedException", "the service was not changed"},
			wantMutating: []string{"RegisterTaskDefinition", "RunTask!AccessDeniedException"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mutate := []func(*ecssim.Scenario){migrations}
			if tt.sc != nil {
				mutate = append(mutate, tt.sc)
			}
			e := newEnv(t, scenario(mutate...))
			if tt.fault != nil {
				e.srv.Sim.InjectFault(tt.fault.Op, *tt.fault)
			}
			cfg := config(tt.image)
			tt.cfg(&cfg)
			var mu sync.Mutex
			var phases []string
			d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
				mu.Lock()
				defer mu.Unlock()
				if ev.Kind == deployer.EventPhase {
					phases = append(phases, ev.Message)
				}
			}))
			res, err := d.Deploy(context.Background(), cfg)
			if (err == nil) != tt.wantStatus.OK() || errors.Is(err, deployer.ErrPreflight) {
				t.Errorf("Deploy error %v for status %s", err, res.Status)
			}
			if res.Status != tt.wantStatus {
				t.Fatalf("status %q, want %q; reason: %s", res.Status, tt.wantStatus, res.Reason)
			}
			for _, w := range tt.wantReason {
				if !strings.Contains(res.Reason, w) {
					t.Errorf("reason %q does not contain %q", res.Reason, w)
				}
			}
			if diff := cmp.Diff(tt.wantMutating, e.mutating()); diff != "" {
				t.Errorf("mutating calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantTimeline, milestones(res)); tt.wantTimeline != nil && diff != "" {
				t.Errorf("timeline (-want +got):\n%s", diff)
			}
			wantFinal := res.PreviousTaskDefinitionARN
			if tt.wantStatus == deployer.StatusSucceeded {
				wantFinal = res.TaskDefinitionARN
			}
			if got := aws.ToString(e.service(t).TaskDefinition); got != wantFinal {
				t.Errorf("service runs %s, want %s", got, wantFinal)
			}
			if tt.wantStop == "" {
				if res.PreDeployTaskARN != "" {
					t.Errorf("pre-deploy-task-arn %q, want none", res.PreDeployTaskARN)
				}
				return
			}
			if !slices.ContainsFunc(phases, func(p string) bool { return strings.HasPrefix(p, "Pre-deploy task: bin/migrate") }) {
				t.Errorf("no log group for the pre-deploy task in %q", phases)
			}
			// The task ran from the new revision, where the service's tasks run.
			calls := runTaskCalls(t, e)
			if len(calls) != 1 {
				t.Fatalf("%d RunTask calls, want 1", len(calls))
			}
			rt := calls[0]
			svc := e.service(t)
			if got := aws.ToString(rt.TaskDefinition); got != res.TaskDefinitionARN || got == res.PreviousTaskDefinitionARN {
				t.Errorf("RunTask task definition %s, want the new revision %s", got, res.TaskDefinitionARN)
			}
			if aws.ToString(rt.Cluster) != "prod" || rt.LaunchType != types.LaunchTypeFargate || aws.ToString(rt.PlatformVersion) != aws.ToString(svc.PlatformVersion) || aws.ToInt32(rt.Count) != 1 {
				t.Errorf("RunTask placement: cluster %s launch type %s platform %s count %d", aws.ToString(rt.Cluster), rt.LaunchType, aws.ToString(rt.PlatformVersion), aws.ToInt32(rt.Count))
			}
			if diff := cmp.Diff(svc.NetworkConfiguration.AwsvpcConfiguration, rt.NetworkConfiguration.AwsvpcConfiguration, cmp.AllowUnexported(types.AwsVpcConfiguration{})); diff != "" {
				t.Errorf("RunTask network configuration is not the service's (-service +task):\n%s", diff)
			}
			if got := rt.Overrides.ContainerOverrides; len(got) != 1 || aws.ToString(got[0].Name) != "app" || got[0].Command[0] != "bin/migrate" {
				t.Errorf("RunTask overrides %+v, want app's command", got)
			}
			if !strings.HasPrefix(aws.ToString(rt.StartedBy), "ecs-rollout/pre-deploy/") {
				t.Errorf("startedBy %q", aws.ToString(rt.StartedBy))
			}
			// What ECS reports about it.
			tk := simTask(t, e, res.PreDeployTaskARN)
			if tk.StopCode != tt.wantStop {
				t.Errorf("the task's stop code %s, want %s (%s)", tk.StopCode, tt.wantStop, aws.ToString(tk.StoppedReason))
			}
			var app types.Container
			for _, c := range tk.Containers {
				if aws.ToString(c.Name) == "app" {
					app = c
				}
			}
			if diff := cmp.Diff(tt.wantExit, app.ExitCode); diff != "" {
				t.Errorf("app exit code (-want +got):\n%s", diff)
			}
			if tt.wantLogs != nil {
				if len(res.Logs) != 1 || res.Logs[0].Container != "app" {
					t.Fatalf("log excerpts %+v, want one of app", res.Logs)
				}
				if diff := cmp.Diff(tt.wantLogs, res.Logs[0].Lines); diff != "" {
					t.Errorf("log tail (-want +got):\n%s", diff)
				}
			}
			if tt.wantStatus != deployer.StatusSucceeded && tt.wantStop != types.TaskStopCodeUserInitiated && len(res.Causes) != 1 {
				t.Errorf("causes %+v, want the task's one cause", res.Causes)
			}
		})
	}
}

// TestPreDeployCancelled: a cancel while the migration runs stops the
// task, leaves the service untouched and reports cancelled (a cancel is
// not a failure of the migration). The status check that sees the
// cancel is held in the simulator, so the migration is certainly running.
func TestPreDeployCancelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario(migrations))
	cfg := config("repo/app:2")
	preDeploy("bin/migrate", "forever")(&cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var started sync.Once
	held := make(chan struct{})
	d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
		if ev.Kind == deployer.EventInfo && strings.HasPrefix(ev.Message, "Pre-deploy task ") && strings.HasSuffix(ev.Message, ": RUNNING") {
			started.Do(func() {
				h := ecssimtest.Hold(t, e.srv, "DescribeTasks") // the next status check stays in flight
				go func() {
					ecssimtest.AwaitHeld(t, h, 10*time.Second)
					cancel()
					close(held)
				}()
			})
		}
	}))
	res, err := d.Deploy(ctx, cfg)
	<-held
	if err == nil || res.Status != deployer.StatusCancelled || !strings.Contains(res.Reason, "cancelled while pre-deploy task") || !strings.Contains(res.Reason, "stopped it") {
		t.Fatalf("got %s %q (err %v), want cancelled: cancelled, stopped", res.Status, res.Reason, err)
	}
	if diff := cmp.Diff([]string{"RegisterTaskDefinition", "RunTask", "StopTask"}, e.mutating()); diff != "" {
		t.Errorf("mutating calls (-want +got):\n%s", diff)
	}
	tk := simTask(t, e, res.PreDeployTaskARN)
	if aws.ToString(tk.DesiredStatus) != "STOPPED" || !strings.Contains(aws.ToString(tk.StoppedReason), "cancelled") {
		t.Errorf("the task is %s/%s (%q), want stopped because of the cancel", aws.ToString(tk.LastStatus), aws.ToString(tk.DesiredStatus), aws.ToString(tk.StoppedReason))
	}
	if got := aws.ToString(e.service(t).TaskDefinition); got != res.PreviousTaskDefinitionARN {
		t.Errorf("service runs %s, want %s", got, res.PreviousTaskDefinitionARN)
	}
}

// TestPreDeployBadContainer: an unknown pre-deploy-container is a
// preflight error; nothing is registered or run.
func TestPreDeployBadContainer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario(migrations))
	for _, tc := range []struct {
		name, container, want string
		images                []deployer.ContainerImage
	}{
		{"unknown container", "worker", `pre-deploy-container: task definition web has no container "worker" (it has app, envoy)`, nil},
		{"no image changes, two containers", "", "pre-deploy-container: task definition web has 2 containers (app, envoy)", []deployer.ContainerImage{}},
	} {
		cfg := config("repo/app:2")
		if tc.images != nil {
			cfg.Images = tc.images
		}
		cfg.PreDeploy = &deployer.PreDeploy{Command: []string{"bin/migrate", "ok"}, Container: tc.container}
		res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
		if !errors.Is(err, deployer.ErrPreflight) || !strings.HasPrefix(res.Reason, tc.want) {
			t.Errorf("%s: got %v %q, want a preflight error %q", tc.name, err, res.Reason, tc.want)
		}
	}
	if got := e.mutating(); len(got) != 0 {
		t.Errorf("mutating calls %v, want none", got)
	}
}

// TestPreDeployDryRun: the plan shows the task it would run; nothing runs.
func TestPreDeployDryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario(migrations))
	cfg := config("repo/app:2")
	preDeploy("bin/rails", "db:migrate")(&cfg)
	cfg.DryRun = true
	res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
	if err != nil || res.Status != deployer.StatusDryRun {
		t.Fatalf("got %s %v", res.Status, err)
	}
	plan := strings.Join(res.Plan, "\n")
	for _, want := range []string{`RunTask: pre-deploy task from the new revision in cluster prod, container app runs ["bin/rails","db:migrate"]`,
		"launch type FARGATE", "subnets subnet-", "exits 0 within 5s"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan does not contain %q:\n%s", want, plan)
		}
	}
	if strings.Index(plan, "RunTask") > strings.Index(plan, "UpdateService") {
		t.Errorf("the plan runs the task after the update:\n%s", plan)
	}
	if got := e.mutating(); len(got) != 0 {
		t.Errorf("mutating calls %v, want none", got)
	}
}

// registerRevision registers a copy of web:1 with image (and family) and
// returns its ARN.
func registerRevision(t *testing.T, e env, family, image string) string {
	t.Helper()
	ctx := context.Background()
	cur, err := e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1")})
	if err != nil {
		t.Fatal(err)
	}
	td := cur.TaskDefinition
	cds := slices.Clone(td.ContainerDefinitions)
	cds[0].Image = aws.String(image)
	out, err := e.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), ContainerDefinitions: cds, Cpu: td.Cpu, Memory: td.Memory,
		NetworkMode: td.NetworkMode, RequiresCompatibilities: td.RequiresCompatibilities,
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// TestPromote deploys existing revisions (the revision input).
func TestPromote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		family       string
		image        string
		ref          func(arn string) string // what the revision input says
		cfg          func(*deployer.Config)
		wantStatus   deployer.Status
		wantReason   []string
		wantMutating []string
		wantFinal    string // "promoted" or "previous"
	}{
		{name: "an existing ARN", family: "web", image: "repo/app:2", ref: func(arn string) string { return arn },
			wantStatus: deployer.StatusSucceeded, wantReason: []string{"completed"},
			wantMutating: []string{"UpdateService"}, wantFinal: "promoted"},
		{name: "family:revision", family: "web", image: "repo/app:2", ref: func(string) string { return "web:2" },
			wantStatus: deployer.StatusSucceeded, wantMutating: []string{"UpdateService"}, wantFinal: "promoted"},
		{name: "another family", family: "web-canary", image: "repo/app:2", ref: func(arn string) string { return arn },
			wantStatus: deployer.StatusSucceeded, wantMutating: []string{"UpdateService"}, wantFinal: "promoted"},
		{name: "it crashes: rolled back, never deregistered", family: "web", image: "repo/app:crash", ref: func(arn string) string { return arn },
			cfg:        func(c *deployer.Config) { c.DeregisterFailed = true },
			wantStatus: deployer.StatusRolledBack, wantReason: []string{`container "app" exited with code 1`, "rolled back to web:1"},
			wantMutating: []string{"UpdateService", "UpdateService"}, wantFinal: "previous"},
		{name: "with a migration first", family: "web", image: "repo/app:2", ref: func(arn string) string { return arn },
			cfg:        preDeploy("bin/migrate", "ok"),
			wantStatus: deployer.StatusSucceeded, wantMutating: []string{"RunTask", "UpdateService"}, wantFinal: "promoted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, scenario(migrations))
			arn := registerRevision(t, e, tt.family, tt.image)
			first := len(e.srv.Sim.MutatingCalls())
			cfg := config("")
			cfg.Images = nil
			cfg.Revision = tt.ref(arn)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			var mu sync.Mutex
			var lines []string
			d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
				mu.Lock()
				defer mu.Unlock()
				lines = append(lines, ev.Message)
			}))
			res, _ := d.Deploy(context.Background(), cfg)
			if res.Status != tt.wantStatus {
				t.Fatalf("status %q, want %q; reason: %s", res.Status, tt.wantStatus, res.Reason)
			}
			for _, w := range tt.wantReason {
				if !strings.Contains(res.Reason, w) {
					t.Errorf("reason %q does not contain %q", res.Reason, w)
				}
			}
			if diff := cmp.Diff(tt.wantMutating, e.mutating()[first:]); diff != "" {
				t.Errorf("mutating calls (-want +got):\n%s", diff)
			}
			if res.TaskDefinitionARN != arn || !res.Promoted {
				t.Errorf("task-definition-arn %q promoted %v, want the promoted %s", res.TaskDefinitionARN, res.Promoted, arn)
			}
			want := map[string]string{"promoted": arn, "previous": res.PreviousTaskDefinitionARN}[tt.wantFinal]
			if got := aws.ToString(e.service(t).TaskDefinition); got != want {
				t.Errorf("service runs %s, want %s", got, want)
			}
			if tds := e.srv.Sim.TaskDefinitions(); tds[len(tds)-1].Status != types.TaskDefinitionStatusActive {
				t.Errorf("the promoted revision is %s, want it left ACTIVE", tds[len(tds)-1].Status)
			}
			if diff := cmp.Diff([]deployer.ImageChange{{Container: "app", Old: "repo/app:1", New: tt.image}}, res.Images); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
			if tt.family != "web" && !slices.ContainsFunc(lines, func(l string) bool {
				return strings.Contains(l, "family web-canary differs from the service's current family web")
			}) {
				t.Errorf("the log does not say the family differs:\n%s", strings.Join(lines, "\n"))
			}
		})
	}
}

// TestPromoteRejected: an INACTIVE or unknown revision is a preflight
// error and nothing changes.
func TestPromoteRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario())
	arn := registerRevision(t, e, "web", "repo/app:2")
	if _, err := e.ecs.DeregisterTaskDefinition(context.Background(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	first := len(e.srv.Sim.MutatingCalls())
	for _, tc := range []struct{ revision, want string }{
		{arn, "Revision: web:2 is INACTIVE; only an ACTIVE revision can be deployed"},
		{"web:7", "Revision: task definition web:7 does not exist"},
		{"arn:aws:ecs:us-east-1:123456789012:task-definition/api:3", "Revision: task definition arn:aws:ecs:us-east-1:123456789012:task-definition/api:3 does not exist"},
	} {
		cfg := config("")
		cfg.Images = nil
		cfg.Revision = tc.revision
		res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
		if !errors.Is(err, deployer.ErrPreflight) || res.Status != deployer.StatusFailed || !strings.HasPrefix(res.Reason, tc.want) {
			t.Errorf("revision %s: got %s %q (err %v), want a preflight error %q", tc.revision, res.Status, res.Reason, err, tc.want)
		}
	}
	if got := e.srv.Sim.MutatingCalls()[first:]; len(got) != 0 {
		t.Errorf("mutating calls %v, want none", got)
	}
}

// TestRecoverStopsPreDeployTask: the post step after a main step that died
// during the pre-deploy task stops the task and changes nothing else.
func TestRecoverStopsPreDeployTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario(migrations))
	cfg := config("repo/app:2")
	preDeploy("bin/migrate", "forever")(&cfg)
	cfg.PreDeploy.Timeout = 200 * time.Millisecond
	var cp *deployer.Checkpoint
	d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
		if ev.Kind == deployer.EventCheckpoint && ev.State.Phase == deployer.PhasePreDeploy && cp == nil {
			c := *ev.State
			cp = &c
		}
	}))
	// The checkpoint a main step saves once its pre-deploy task started.
	res, _ := d.Deploy(context.Background(), cfg)
	if cp == nil || cp.PreDeployTask != res.PreDeployTaskARN || !cp.Phase.PostStepMustAct() {
		t.Fatalf("checkpoint %+v, want phase pre-deploy naming task %s", cp, res.PreDeployTaskARN)
	}
	// A second task as if the main step had died with it running.
	out, err := e.ecs.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String(res.TaskDefinitionARN),
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: e.service(t).NetworkConfiguration,
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Command: []string{"bin/migrate", "forever"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	cp.PreDeployTask = aws.ToString(out.Tasks[0].TaskArn)
	first := len(e.srv.Sim.MutatingCalls())
	rec, err := deployer.New(e.ecs, e.logs).Recover(context.Background(), *cp)
	if err != nil || rec.Status != "" || !strings.Contains(rec.Reason, "stopped it; the service was not changed") {
		t.Fatalf("Recover: %s %q %v", rec.Status, rec.Reason, err)
	}
	if tk := simTask(t, e, cp.PreDeployTask); aws.ToString(tk.DesiredStatus) != "STOPPED" || tk.StopCode != types.TaskStopCodeUserInitiated {
		t.Errorf("the task is %s, %s; want stopped by the post step", aws.ToString(tk.DesiredStatus), tk.StopCode)
	}
	rec, err = deployer.New(e.ecs, e.logs).Recover(context.Background(), *cp)
	if err != nil || !strings.Contains(rec.Reason, "which has stopped") {
		t.Errorf("Recover again: %q %v, want nothing left to do", rec.Reason, err)
	}
	if diff := cmp.Diff([]string{"StopTask"}, e.mutating()[first:]); diff != "" {
		t.Errorf("the post step's mutating calls (-want +got):\n%s", diff)
	}
}

// TestPreDeployManyServices: with several services the pre-deploy task
// runs once, with the first service, before any service changes; when it
// fails, no service changes.
func TestPreDeployManyServices(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmd        string
		wantStatus deployer.Status
		wantOps    []string
		wantRev    string
	}{
		{"bin/migrate ok", deployer.StatusSucceeded,
			[]string{"RegisterTaskDefinition", "RegisterTaskDefinition", "RunTask", "UpdateService", "UpdateService"}, "2"},
		{"bin/migrate broken", deployer.StatusFailed,
			[]string{"RegisterTaskDefinition", "RegisterTaskDefinition", "RunTask"}, "1"},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			t.Parallel()
			sc := fleetScenario("prod/web", "prod/worker")
			migrations(&sc)
			e := newEnv(t, sc)
			cfg := fleetConfig("repo/app:2", "web", "worker")
			preDeploy(strings.Fields(tc.cmd)...)(&cfg)
			res, _ := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
			if res.Status != tc.wantStatus {
				t.Fatalf("status %s (%s), want %s", res.Status, res.Reason, tc.wantStatus)
			}
			if diff := cmp.Diff(tc.wantOps, e.mutating()); diff != "" {
				t.Errorf("mutating calls (-want +got):\n%s", diff)
			}
			if calls := runTaskCalls(t, e); len(calls) != 1 || !strings.Contains(aws.ToString(calls[0].TaskDefinition), "task-definition/web:2") {
				t.Errorf("RunTask calls %d, want one from web:2", len(calls))
			}
			if res.PreDeployTaskARN == "" {
				t.Error("no pre-deploy-task-arn in the step's result")
			}
			for _, s := range []string{"web", "worker"} {
				if got := revisionOf(t, e, "prod", s); got != s+":"+tc.wantRev {
					t.Errorf("service %s runs %s, want %s:%s", s, got, s, tc.wantRev)
				}
			}
			if tc.wantStatus == deployer.StatusFailed && !strings.Contains(res.Reason, "pre-deploy task exited with code 1") {
				t.Errorf("reason %q does not name the failed pre-deploy task", res.Reason)
			}
		})
	}
}
