package deployer

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func stoppedTask(id string, code types.TaskStopCode, reason, container string, exit *int32, creason string) types.Task {
	return types.Task{
		TaskArn:       aws.String("arn:aws:ecs:us-east-1:123456789012:task/prod/" + id),
		StopCode:      code,
		StoppedReason: aws.String(reason),
		Containers: []types.Container{
			{Name: aws.String("envoy"), ExitCode: aws.Int32(0)},
			{Name: aws.String(container), ExitCode: exit, Reason: aws.String(creason)},
		},
	}
}

func TestIsFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		task types.Task
		want bool
	}{
		{"crash", stoppedTask("a", types.TaskStopCodeEssentialContainerExited, "Essential container in task exited", "app", aws.Int32(1), ""), true},
		{"pull", stoppedTask("b", types.TaskStopCodeTaskFailedToStart, "CannotPullContainerError: not found", "app", nil, ""), true},
		{"health", stoppedTask("c", types.TaskStopCodeServiceSchedulerInitiated, "Task failed container health checks", "app", nil, ""), true},
		{"elb health", stoppedTask("d", types.TaskStopCodeServiceSchedulerInitiated, "Task failed ELB health checks in (target-group arn)", "app", nil, ""), true},
		{"scaled in", stoppedTask("e", types.TaskStopCodeServiceSchedulerInitiated, "Scaling activity initiated by (deployment ecs-svc/1)", "app", nil, ""), false},
		{"stopped by a person", stoppedTask("f", types.TaskStopCodeUserInitiated, "Task stopped by user", "app", nil, ""), false},
		{"spot", stoppedTask("g", types.TaskStopCodeSpotInterruption, "Your Spot Task was interrupted.", "app", nil, ""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := isFailure(tt.task); got != tt.want {
				t.Errorf("isFailure: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGroupCausesAndHeadline(t *testing.T) {
	t.Parallel()
	oom := func(id string) types.Task {
		return stoppedTask(id, types.TaskStopCodeEssentialContainerExited, "Essential container in task exited", "app", aws.Int32(137), "OutOfMemoryError: Container killed due to memory usage")
	}
	tests := []struct {
		name         string
		tasks        []types.Task
		wantCauses   int
		wantTop      int
		wantHeadline string
	}{
		{"none", nil, 0, 0, ""},
		{"oom in all", []types.Task{oom("t1"), oom("t2"), oom("t3")}, 1, 3,
			`container "app" exited with code 137 (OutOfMemoryError: Container killed due to memory usage) in 3 of 3 tasks`},
		{"pull", []types.Task{stoppedTask("p1", types.TaskStopCodeTaskFailedToStart, "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found", "app", nil, "")}, 1, 1,
			"image pull failed: CannotPullContainerError: pull image manifest has been retried 5 time(s): not found"},
		{"health", []types.Task{stoppedTask("h1", types.TaskStopCodeServiceSchedulerInitiated, "Task failed container health checks", "app", nil, ""), stoppedTask("h2", types.TaskStopCodeServiceSchedulerInitiated, "Task failed container health checks", "app", nil, "")}, 1, 2,
			"health checks failed: Task failed container health checks in 2 of 2 tasks"},
		{"mixed, most frequent first", []types.Task{
			stoppedTask("x1", types.TaskStopCodeEssentialContainerExited, "Essential container in task exited", "app", aws.Int32(1), ""),
			oom("x2"), oom("x3"),
		}, 2, 2, `container "app" exited with code 137 (OutOfMemoryError: Container killed due to memory usage) in 2 of 3 tasks`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			causes := groupCauses(tt.tasks)
			if len(causes) != tt.wantCauses {
				t.Fatalf("causes: got %d, want %d: %+v", len(causes), tt.wantCauses, causes)
			}
			if len(causes) > 0 && causes[0].Count != tt.wantTop {
				t.Errorf("top cause count: got %d, want %d", causes[0].Count, tt.wantTop)
			}
			if got := headline(causes, len(tt.tasks)); got != tt.wantHeadline {
				t.Errorf("headline:\n got %q\nwant %q", got, tt.wantHeadline)
			}
		})
	}
}

func TestEventsSince(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ev := func(sec int, msg string) types.ServiceEvent {
		return types.ServiceEvent{CreatedAt: aws.Time(base.Add(time.Duration(sec) * time.Second)), Message: aws.String(msg)}
	}
	// The run's event log lists events oldest first.
	in := []types.ServiceEvent{ev(-1, "has reached a steady state."), ev(10, "has started 1 tasks"), ev(20, "has stopped 1 running tasks"), ev(30, "has started 1 tasks")}
	got := eventsSince(in, base)
	want := []ServiceEvent{
		{At: base.Add(10 * time.Second), Message: "has started 1 tasks"},
		{At: base.Add(20 * time.Second), Message: "has stopped 1 running tasks"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("eventsSince (-want +got):\n%s", diff)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := Config{Service: "web", Timeout: time.Minute, PollInterval: time.Second}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // Config fields named in the error
	}{
		{"good", func(*Config) {}, nil},
		{"no service", func(c *Config) { c.Service = " " }, []string{"Service:"}},
		{"several problems at once", func(c *Config) {
			c.Timeout = -time.Second
			c.MinimumHealthyPercent = aws.Int32(101)
			c.MaximumPercent = aws.Int32(50)
			c.OnBusy = "maybe"
		}, []string{"Timeout:", "MinimumHealthyPercent:", "MaximumPercent:", "OnBusy:"}},
		{"negative poll interval", func(c *Config) { c.PollInterval = -time.Second }, []string{"PollInterval:"}},
		{"duplicate container", func(c *Config) {
			c.Images = []ContainerImage{{Container: "app", Image: "a:1"}, {Container: "app", Image: "a:2"}}
		}, []string{"Images:"}},
		{"negative desired", func(c *Config) { c.DesiredCount = aws.Int32(-1) }, []string{"DesiredCount:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := good
			tt.mutate(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: got %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: got nil, want errors naming %v", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate: error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestPrimaryFor(t *testing.T) {
	t.Parallel()
	dep := func(id, status, td string) types.Deployment {
		return types.Deployment{Id: aws.String(id), Status: aws.String(status), TaskDefinition: aws.String(td)}
	}
	svc := types.Service{Deployments: []types.Deployment{dep("ecs-svc/2", "PRIMARY", "web:1"), dep("ecs-svc/1", "ACTIVE", "web:1")}}
	tests := []struct {
		name    string
		taskDef string
		before  map[string]bool
		want    string
	}{
		{"by task definition", "web:1", nil, "ecs-svc/2"},
		{"unknown task definition, no history", "web:9", nil, ""},
		{"stale task definition on a new PRIMARY", "web:9", map[string]bool{"ecs-svc/1": true}, "ecs-svc/2"},
		{"PRIMARY existed before", "web:9", map[string]bool{"ecs-svc/1": true, "ecs-svc/2": true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := primaryFor(svc, tt.taskDef, tt.before); got != tt.want {
				t.Errorf("primaryFor: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"prod": "prod",
		"arn:aws:ecs:us-east-1:123456789012:task-definition/web:3": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
		"my cluster": "'my cluster'",
		"it's":       `'it'\''s'`,
		"":           "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestErrPreflightWrapping(t *testing.T) {
	t.Parallel()
	r := &run{res: &Result{}}
	err := r.preflightFailed(errors.New("service: is required"))
	if !errors.Is(err, ErrPreflight) {
		t.Errorf("errors.Is(%v, ErrPreflight) = false, want true", err)
	}
	if r.res.Status != StatusFailed || r.res.Reason != "service: is required" {
		t.Errorf("result: got %q %q", r.res.Status, r.res.Reason)
	}
}

// eventBase is the time sdkEvent counts its seconds from.
func eventBase() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }

// sdkEvent is a service event as ECS lists it, with the given ID, sec
// seconds after eventBase.
func sdkEvent(id string, sec int, msg string) types.ServiceEvent {
	return types.ServiceEvent{Id: aws.String(id), CreatedAt: aws.Time(eventBase().Add(time.Duration(sec) * time.Second)), Message: aws.String(msg)}
}

func TestStartedSince(t *testing.T) {
	t.Parallel()
	ev := sdkEvent
	l := newEventLog(time.Time{})
	j := &rollingJudge{}
	// The first read only learns where the events stand.
	if j.startedSince(snapshot{newEvents: l.add([]types.ServiceEvent{ev("e1", 1, "(service web) has started 2 tasks: (task a) (task b).")}), first: true}) {
		t.Errorf("first read: got true, want false (nothing to compare with)")
	}
	steps := []struct {
		events []types.ServiceEvent // as ECS lists them: newest first
		want   bool
	}{
		{[]types.ServiceEvent{ev("e1", 1, "(service web) has started 2 tasks: (task a) (task b).")}, false},
		{[]types.ServiceEvent{ev("e2", 5, "(service web) has stopped 2 running tasks: (task x) (task y)."), ev("e1", 1, "has started 2 tasks")}, false},
		{[]types.ServiceEvent{ev("e3", 9, "(service web) has started 1 tasks: (task c)."), ev("e2", 5, "has stopped"), ev("e1", 1, "has started")}, true},
		{[]types.ServiceEvent{ev("e3", 9, "(service web) has started 1 tasks: (task c)."), ev("e2", 5, "has stopped"), ev("e1", 1, "has started")}, false},
		// Two events in the same second are two events.
		{[]types.ServiceEvent{ev("e4", 9, "(service web) has started 1 tasks: (task d)."), ev("e3", 9, "(service web) has started 1 tasks: (task c)."), ev("e2", 5, "has stopped")}, true},
	}
	for i, s := range steps {
		if got := j.startedSince(snapshot{newEvents: l.add(s.events)}); got != s.want {
			t.Errorf("read %d: got %v, want %v", i+2, got, s.want)
		}
	}
}

func TestStartedSinceCountsOurTasks(t *testing.T) {
	t.Parallel()
	ev := sdkEvent
	l := newEventLog(time.Time{})
	j := &rollingJudge{createdAt: eventBase()}
	j.startedSince(snapshot{first: true, newEvents: l.add([]types.ServiceEvent{
		ev("b", 2, "(service web) has started 2 tasks: (task a) (task b)."),
		ev("a", -5, "(service web) has started 3 tasks: (task x) (task y) (task z)."), // before our deployment
	})})
	j.startedSince(snapshot{newEvents: l.add([]types.ServiceEvent{
		ev("d", 6, "(service web) has started 1 tasks: (task c)."),
		ev("c", 4, "(service web) has stopped 1 running tasks: (task a)."),
		ev("b", 2, "(service web) has started 2 tasks: (task a) (task b)."),
	})})
	if j.started != 3 {
		t.Errorf("started: got %d, want 3 (a, b, then c; none counted twice, none from before our deployment)", j.started)
	}
}

// TestCheckpointJSONRoundTrip: the post step reads the checkpoint back
// from JSON with everything the rollback restores.
func TestCheckpointJSONRoundTrip(t *testing.T) {
	t.Parallel()
	cp := Checkpoint{Cluster: "prod", Service: "web", DeploymentID: "ecs-svc/1", TaskDefinition: "web:2", RollbackTarget: "web:1",
		Phase: PhaseRollbackOwed, Rollback: true, OriginalDesiredCount: aws.Int32(2),
		OriginalConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(150),
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
			Alarms:                   &types.DeploymentAlarms{AlarmNames: []string{"p99"}, Enable: true}, Strategy: types.DeploymentStrategyRolling}}
	b, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	var got Checkpoint
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	if diff := cmp.Diff(cp, got, cmpopts.IgnoreUnexported(types.DeploymentConfiguration{}, types.DeploymentCircuitBreaker{}, types.DeploymentAlarms{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if !got.Phase.PostStepMustAct() || PhaseDone.PostStepMustAct() || Phase("").PostStepMustAct() {
		t.Errorf("PostStepMustAct: rollback-owed must act, done and empty must not")
	}
}
