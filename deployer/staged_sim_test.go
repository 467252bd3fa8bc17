package deployer_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

const smokeHook = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test"

// stagedScenario is scenario() with service "web" on strategy (BLUE_GREEN,
// LINEAR or CANARY), a blue/green load balancer, a one-minute bake, and a
// scenario minute of 100ms.
func stagedScenario(strategy string, mutate ...func(*ecssim.Scenario)) ecssim.Scenario {
	return scenario(append([]func(*ecssim.Scenario){func(sc *ecssim.Scenario) {
		svc := &sc.Services[0]
		svc.DeploymentConfiguration.Strategy = strategy
		svc.DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(1)
		svc.LoadBalancers = []types.LoadBalancer{{
			TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/1"),
			ContainerName:  aws.String("app"), ContainerPort: aws.Int32(8080),
			AdvancedConfiguration: &types.AdvancedConfiguration{
				AlternateTargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/2"),
				ProductionListenerRule:  aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3"),
				TestListenerRule:        aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/4"),
				RoleArn:                 aws.String("arn:aws:iam::123456789012:role/ecs-elb"),
			},
		}}
		sc.Timings.Minute = ecssim.Duration(100 * time.Millisecond)
		sc.Timings.Stage = ecssim.Duration(5 * time.Millisecond)
	}}, mutate...)...)
}

// recorder keeps the progress lines and phases a Deploy reports.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) report(ev deployer.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev.Kind {
	case deployer.EventProgress, deployer.EventInfo, deployer.EventWarning:
		r.lines = append(r.lines, ev.Message)
	case deployer.EventPhase:
		r.lines = append(r.lines, "## "+ev.Message)
	}
}

func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

func (e env) describeSD(t *testing.T, arn string) types.ServiceDeployment {
	t.Helper()
	out, err := e.ecs.DescribeServiceDeployments(context.Background(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		t.Fatalf("describe service deployment %s: %v", arn, err)
	}
	return out.ServiceDeployments[0]
}

func ops(calls []ecssim.Call, op string) int {
	n := 0
	for _, c := range calls {
		if c.Op == op && c.ErrCode == "" {
			n++
		}
	}
	return n
}

func milestones(res deployer.Result) []string {
	var out []string
	for _, m := range res.Timeline {
		out = append(out, m.Name)
	}
	return out
}

func TestStagedBlueGreenHealthy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stagedScenario("BLUE_GREEN", func(sc *ecssim.Scenario) {
		sc.Services[0].DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(5) // half a second: read under load too
	}))
	rec := &recorder{}
	res, err := deployer.New(e.ecs, e.logs, deployer.WithReporter(rec.report)).Deploy(context.Background(), config("repo/app:2"))
	if err != nil || res.Status != deployer.StatusSucceeded {
		t.Fatalf("status %s, err %v\n%s", res.Status, err, rec.text())
	}
	if res.ServiceDeploymentARN == "" || res.Strategy != "BLUE_GREEN" {
		t.Errorf("service deployment %q, strategy %q", res.ServiceDeploymentARN, res.Strategy)
	}
	sd := e.describeSD(t, res.ServiceDeploymentARN)
	if sd.Status != types.ServiceDeploymentStatusSuccessful {
		t.Errorf("service deployment: %s", sd.Status)
	}
	// Every stage is on the timeline: seen, or passed between two reads.
	for _, want := range []string{"SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
		"PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"} {
		if !slices.ContainsFunc(milestones(res), func(m string) bool { return m == want || strings.HasPrefix(m, want+" (") }) {
			t.Errorf("timeline has no %s: %v", want, milestones(res))
		}
	}
	if !strings.Contains(rec.text(), "BAKE_TIME, production 100 % → web:2, 2/2 running, IN_PROGRESS") {
		t.Errorf("log:\n%s", rec.text())
	}
	if got := e.mutating(); !slices.Equal(got, []string{"RegisterTaskDefinition", "UpdateService"}) {
		t.Errorf("mutating calls: %v", got)
	}
	t.Logf("log:\n%s\ntimeline: %v", rec.text(), milestones(res))
}

// productionWeights are the production weights on our revision the log
// showed, in order.
func productionWeights(log string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if _, rest, ok := strings.Cut(line, ", production "); ok {
			w, _, _ := strings.Cut(rest, " %")
			if len(out) == 0 || out[len(out)-1] != w {
				out = append(out, w)
			}
		}
	}
	return out
}

func TestStagedBlueGreenCrashDuringScaleUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stagedScenario("BLUE_GREEN"))
	rec := &recorder{}
	res, _ := deployer.New(e.ecs, e.logs, deployer.WithReporter(rec.report)).Deploy(context.Background(), config("repo/app:crash"))
	if res.Status != deployer.StatusRolledBack {
		t.Fatalf("status %s: %s\n%s", res.Status, res.Reason, rec.text())
	}
	for _, want := range []string{`container "app" exited with code 1`, "rolled back to web:1"} {
		if !strings.Contains(res.Reason, want) {
			t.Errorf("reason %q, want %q", res.Reason, want)
		}
	}
	calls := e.srv.Sim.Calls()
	if n := ops(calls, "StopServiceDeployment"); n != 1 {
		t.Errorf("StopServiceDeployment calls: %d, want 1", n)
	}
	if got := e.mutating(); !slices.Equal(got, []string{"RegisterTaskDefinition", "UpdateService", "StopServiceDeployment"}) {
		t.Errorf("mutating calls: %v, want one rollback call and no UpdateService back", got)
	}
	sd := e.describeSD(t, res.ServiceDeploymentARN)
	if sd.Status != types.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("service deployment %s, want ROLLBACK_SUCCESSFUL", sd.Status)
	}
	for _, w := range productionWeights(rec.text()) {
		if w != "0" {
			t.Errorf("production traffic shifted to the crashing revision (%s %%):\n%s", w, rec.text())
		}
	}
	if svc := e.service(t); !strings.HasSuffix(aws.ToString(svc.TaskDefinition), "web:1") {
		t.Errorf("service runs %s", aws.ToString(svc.TaskDefinition))
	}
	if len(res.Causes) == 0 {
		t.Errorf("no causes diagnosed")
	}
}

func TestStagedBlueGreenFailsInBake(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stagedScenario("BLUE_GREEN", func(sc *ecssim.Scenario) {
		sc.Services[0].DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(100) // 10 s: the crash comes first
		sc.ImageRules = append([]ecssim.ImageRule{{Image: "*:bake-crash", Behavior: ecssim.BehaviorCrashAfter, After: ecssim.Duration(400 * time.Millisecond)}}, sc.ImageRules...)
		sc.Timings.HealthCheck = ecssim.Duration(10 * time.Millisecond)
	}))
	rec := &recorder{}
	cfg := config("repo/app:bake-crash")
	cfg.Timeout = 30 * time.Second
	res, _ := deployer.New(e.ecs, e.logs, deployer.WithReporter(rec.report)).Deploy(context.Background(), cfg)
	if res.Status != deployer.StatusRolledBack {
		t.Fatalf("status %s: %s\n%s", res.Status, res.Reason, rec.text())
	}
	if !strings.Contains(rec.text(), "BAKE_TIME, production 100 % → web:2") {
		t.Errorf("the failure did not come in the bake:\n%s", rec.text())
	}
	sd := e.describeSD(t, res.ServiceDeploymentARN)
	if sd.Status != types.ServiceDeploymentStatusRollbackSuccessful || len(sd.SourceServiceRevisions) == 0 ||
		aws.ToFloat64(sd.SourceServiceRevisions[0].RequestedProductionTrafficWeight) != 100 {
		t.Errorf("after the rollback: %s, sources %+v; want production traffic back on web:1", sd.Status, sd.SourceServiceRevisions)
	}
	if got := e.mutating(); !slices.Equal(got, []string{"RegisterTaskDefinition", "UpdateService", "StopServiceDeployment"}) {
		t.Errorf("mutating calls: %v", got)
	}
}

func TestStagedLinearHealthy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stagedScenario("LINEAR", func(sc *ecssim.Scenario) {
		sc.Services[0].DeploymentConfiguration.LinearConfiguration = &types.LinearConfiguration{StepPercent: aws.Float64(25), StepBakeTimeInMinutes: aws.Int32(4)} // 400ms a step: read under load too
	}))
	rec := &recorder{}
	res, err := deployer.New(e.ecs, e.logs, deployer.WithReporter(rec.report)).Deploy(context.Background(), config("repo/app:2"))
	if err != nil || res.Status != deployer.StatusSucceeded {
		t.Fatalf("status %s, err %v\n%s", res.Status, err, rec.text())
	}
	// Every step is logged, once.
	want := []string{"0", "25", "50", "75", "100"}
	if got := productionWeights(rec.text()); !slices.Equal(got, want) {
		t.Errorf("production weights logged: %v, want %v\n%s", got, want, rec.text())
	}
	// The steps with a step bake last long enough to be read (the last
	// one goes straight on).
	for _, w := range []string{"25", "50", "75"} {
		if !slices.Contains(milestones(res), "PRODUCTION_TRAFFIC_SHIFT (production "+w+" %)") {
			t.Errorf("timeline has no step %s %%: %v", w, milestones(res))
		}
	}
}

func TestStagedCanaryLambdaHookFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stagedScenario("CANARY", func(sc *ecssim.Scenario) {
		dc := &sc.Services[0].DeploymentConfiguration
		dc.CanaryConfiguration = &types.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(1)}
		dc.LifecycleHooks = []types.DeploymentLifecycleHook{{
			TargetType: types.DeploymentLifecycleHookTargetTypeAwsLambda, HookTargetArn: aws.String(smokeHook),
			RoleArn:         aws.String("arn:aws:iam::123456789012:role/ecs-hooks"),
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift},
		}}
		sc.LambdaHooks = []ecssim.HookScript{{HookTargetArn: smokeHook, Results: []ecssim.HookStatus{ecssim.HookInProgress, ecssim.HookFailed},
			CallBackDelay: ecssim.Duration(50 * time.Millisecond)}}
	}))
	rec := &recorder{}
	res, _ := deployer.New(e.ecs, e.logs, deployer.WithReporter(rec.report)).Deploy(context.Background(), config("repo/app:2"))
	if res.Status != deployer.StatusRolledBack {
		t.Fatalf("status %s: %s\n%s", res.Status, res.Reason, rec.text())
	}
	for _, want := range []string{"Lambda hook smoke-test failed at POST_TEST_TRAFFIC_SHIFT", "ECS rolled the service back to web:1"} {
		if !strings.Contains(res.Reason, want) {
			t.Errorf("reason %q, want %q", res.Reason, want)
		}
	}
	if got := e.mutating(); !slices.Equal(got, []string{"RegisterTaskDefinition", "UpdateService"}) {
		t.Errorf("mutating calls: %v, want no rollback call of ours", got)
	}
	if sd := e.describeSD(t, res.ServiceDeploymentARN); sd.Status != types.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("service deployment %s", sd.Status)
	}
	t.Logf("reason: %s\n%s", res.Reason, rec.text())
}

// pauseScenario is a blue/green service with a PAUSE hook after the test
// traffic shift that would roll back after timeoutMinutes.
func pauseScenario(strategy string, timeoutMinutes int32) ecssim.Scenario {
	return stagedScenario(strategy, func(sc *ecssim.Scenario) {
		sc.Services[0].DeploymentConfiguration.LifecycleHooks = []types.DeploymentLifecycleHook{{
			TargetType:      types.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift},
			TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{
				TimeoutInMinutes: aws.Int32(timeoutMinutes), Action: types.DeploymentLifecycleHookActionRollback},
		}}
	})
}

func resumeConfig(action deployer.Resume) deployer.Config {
	cfg := config("")
	cfg.Images = nil
	cfg.Resume = action
	return cfg
}

func TestStagedPauseThenResume(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		resume     deployer.Resume
		wantStatus deployer.Status
		wantSD     types.ServiceDeploymentStatus
		wantReason string
		wantFinal  string
		// lost: ECS applies the Continue but its response is lost: no
		// failure, and no retry (the hook moved on).
		lost bool
	}{
		{"continue", deployer.ResumeContinue, deployer.StatusSucceeded, types.ServiceDeploymentStatusSuccessful, "completed: 2/2 tasks of web:2 running", "web:2", false},
		{"rollback", deployer.ResumeRollback, deployer.StatusRolledBack, types.ServiceDeploymentStatusRollbackSuccessful, "paused at POST_TEST_TRAFFIC_SHIFT; resume: rollback; rolled back to web:1", "web:1", false},
		{"continue, response lost after it was applied", deployer.ResumeContinue, deployer.StatusSucceeded, types.ServiceDeploymentStatusSuccessful, "completed: 2/2 tasks of web:2 running", "web:2", true},
		{"rollback, response lost after it was applied", deployer.ResumeRollback, deployer.StatusRolledBack, types.ServiceDeploymentStatusRollbackSuccessful, "resume: rollback; rolled back to web:1", "web:1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, pauseScenario("BLUE_GREEN", 600)) // the hook waits a minute of wall clock
			rec := &recorder{}
			d := deployer.New(e.ecs, e.logs, deployer.WithReporter(rec.report))
			res, err := d.Deploy(context.Background(), config("repo/app:2"))
			if err != nil || res.Status != deployer.StatusPaused {
				t.Fatalf("deploy: status %s, err %v\n%s", res.Status, err, rec.text())
			}
			for _, want := range []string{"paused at POST_TEST_TRAFFIC_SHIFT (PAUSE hook ", "then rolls back", "resume: continue"} {
				if !strings.Contains(res.Reason, want) {
					t.Errorf("paused reason %q, want %q", res.Reason, want)
				}
			}
			if sd := e.describeSD(t, res.ServiceDeploymentARN); sd.Status != types.ServiceDeploymentStatusInProgress {
				t.Fatalf("paused deployment: %s", sd.Status)
			}
			before := len(e.srv.Sim.MutatingCalls())
			wantMut := []string{"ContinueServiceDeployment"}
			if tt.lost {
				// No second call: read again, the hook has moved on.
				e.srv.Sim.InjectFault("ContinueServiceDeployment", ecssim.Fault{Status5xx: 1, AfterApply: true})
			}

			rec2 := &recorder{}
			res2, _ := deployer.New(e.ecs, e.logs, deployer.WithReporter(rec2.report)).Deploy(context.Background(), resumeConfig(tt.resume))
			if res2.Status != tt.wantStatus || !strings.Contains(res2.Reason, tt.wantReason) {
				t.Fatalf("resume: status %s, reason %q; want %s, %q\n%s", res2.Status, res2.Reason, tt.wantStatus, tt.wantReason, rec2.text())
			}
			if res2.ServiceDeploymentARN != res.ServiceDeploymentARN || res2.TaskDefinitionARN != res.TaskDefinitionARN || res2.PreviousTaskDefinitionARN != res.PreviousTaskDefinitionARN {
				t.Errorf("resume result: %s %s %s, want the paused run's %s %s %s", res2.ServiceDeploymentARN, res2.TaskDefinitionARN, res2.PreviousTaskDefinitionARN,
					res.ServiceDeploymentARN, res.TaskDefinitionARN, res.PreviousTaskDefinitionARN)
			}
			var mut []string
			for _, c := range e.srv.Sim.MutatingCalls()[before:] {
				mut = append(mut, c.Op)
			}
			if !slices.Equal(mut, wantMut) {
				t.Errorf("resume's mutating calls: %v, want %v", mut, wantMut)
			}
			if sd := e.describeSD(t, res.ServiceDeploymentARN); sd.Status != tt.wantSD {
				t.Errorf("service deployment %s, want %s", sd.Status, tt.wantSD)
			}
			t.Logf("paused: %s\n%s\nresumed: %s\n%s", res.Reason, rec.text(), res2.Reason, rec2.text())
			if svc := e.service(t); !strings.HasSuffix(aws.ToString(svc.TaskDefinition), tt.wantFinal) {
				t.Errorf("service runs %s, want %s", aws.ToString(svc.TaskDefinition), tt.wantFinal)
			}
		})
	}
}

func TestStagedResumeWithNothingWaiting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, pauseScenario("BLUE_GREEN", 600))
	res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), resumeConfig(deployer.ResumeContinue))
	if err == nil || res.Status != deployer.StatusFailed || !strings.Contains(res.Reason, "Resume: service web has no deployment waiting at a PAUSE hook") {
		t.Fatalf("status %s, reason %q, err %v", res.Status, res.Reason, err)
	}
	if got := e.mutating(); len(got) != 0 {
		t.Errorf("mutating calls: %v, want none", got)
	}
}

func TestStagedOnPause(t *testing.T) {
	t.Parallel()
	tests := []struct {
		onPause    deployer.OnPause
		wantStatus deployer.Status
		wantSD     types.ServiceDeploymentStatus
	}{
		{deployer.OnPauseContinue, deployer.StatusSucceeded, types.ServiceDeploymentStatusSuccessful},
		{deployer.OnPauseRollback, deployer.StatusRolledBack, types.ServiceDeploymentStatusRollbackSuccessful},
	}
	for _, tt := range tests {
		t.Run(string(tt.onPause), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, pauseScenario("BLUE_GREEN", 600))
			rec := &recorder{}
			cfg := config("repo/app:2")
			cfg.OnPause = tt.onPause
			res, _ := deployer.New(e.ecs, e.logs, deployer.WithReporter(rec.report)).Deploy(context.Background(), cfg)
			if res.Status != tt.wantStatus {
				t.Fatalf("status %s: %s\n%s", res.Status, res.Reason, rec.text())
			}
			if sd := e.describeSD(t, res.ServiceDeploymentARN); sd.Status != tt.wantSD {
				t.Errorf("service deployment %s, want %s", sd.Status, tt.wantSD)
			}
			if got := e.mutating(); !slices.Equal(got, []string{"RegisterTaskDefinition", "UpdateService", "ContinueServiceDeployment"}) {
				t.Errorf("mutating calls: %v", got)
			}
		})
	}
}

func TestStagedCancelDuringCanaryStep(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stagedScenario("CANARY", func(sc *ecssim.Scenario) {
		sc.Services[0].DeploymentConfiguration.CanaryConfiguration = &types.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(600)}
	}))
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
		rec.report(ev)
		if ev.Kind == deployer.EventProgress && strings.Contains(ev.Message, "PRODUCTION_TRAFFIC_SHIFT, production 10 %") {
			cancel() // in the canary step
		}
	}))
	cfg := config("repo/app:2")
	cfg.Timeout = time.Minute
	res, _ := d.Deploy(ctx, cfg)
	if res.Status != deployer.StatusCancelled || !strings.Contains(res.Reason, "rollback to web:1 issued") {
		t.Fatalf("status %s: %s\n%s", res.Status, res.Reason, rec.text())
	}
	if got := e.mutating(); !slices.Equal(got, []string{"RegisterTaskDefinition", "UpdateService", "StopServiceDeployment"}) {
		t.Errorf("mutating calls: %v", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		sd := e.describeSD(t, res.ServiceDeploymentARN)
		if sd.Status == types.ServiceDeploymentStatusRollbackSuccessful {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the canary was not rolled back: %s", sd.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStagedRecover is the post step after a main step killed while its
// blue/green deployment rolled: one StopServiceDeployment ROLLBACK, from
// the checkpoint's service deployment ARN; nothing when that deployment
// already finished.
func TestStagedRecover(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stagedScenario("BLUE_GREEN", func(sc *ecssim.Scenario) {
		sc.Services[0].DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(600)
	}))
	var cp *deployer.Checkpoint
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
		if ev.Kind == deployer.EventCheckpoint {
			c := *ev.State
			if c.Phase == deployer.PhaseWatching {
				cp = &c
			}
		}
		if ev.Kind == deployer.EventProgress && strings.Contains(ev.Message, "BAKE_TIME") {
			cancel()
		}
	}))
	cfg := config("repo/app:2")
	cfg.OnCancel = deployer.OnCancelLeave // the main step leaves it: as if killed
	cfg.Timeout = time.Minute
	if res, _ := d.Deploy(ctx, cfg); res.Status != deployer.StatusCancelled {
		t.Fatalf("main step: %s %s", res.Status, res.Reason)
	}
	if cp == nil || cp.ServiceDeploymentARN == "" || cp.Strategy != "BLUE_GREEN" {
		t.Fatalf("checkpoint: %+v", cp)
	}
	cp.Rollback = true
	res, err := deployer.New(e.ecs, e.logs).Recover(context.Background(), *cp)
	if err != nil || res.Status != deployer.StatusRollbackIssued || !strings.Contains(res.Reason, "StopServiceDeployment") {
		t.Fatalf("recover: %s %q %v", res.Status, res.Reason, err)
	}
	if got := e.mutating(); !slices.Equal(got, []string{"RegisterTaskDefinition", "UpdateService", "StopServiceDeployment"}) {
		t.Errorf("mutating calls: %v", got)
	}
	// Again, now that it is rolling back: nothing more.
	res, err = deployer.New(e.ecs, e.logs).Recover(context.Background(), *cp)
	if err != nil || res.Status != "" {
		t.Errorf("second recover: %s %q %v", res.Status, res.Reason, err)
	}
	if n := len(e.mutating()); n != 3 {
		t.Errorf("the second recover made a call: %v", e.mutating())
	}
}

// TestPercentagesByStrategy: with RollingDefaults (the action, the CLI), a
// ROLLING service is updated with 100/200 when the percentages are not
// given; a BLUE_GREEN service gets no deployment configuration at all and
// keeps its strategy, bake time, hooks and load balancers.
func TestPercentagesByStrategy(t *testing.T) {
	t.Parallel()
	updateInput := func(t *testing.T, e env) map[string]any {
		t.Helper()
		for _, c := range e.srv.Sim.Calls() {
			if c.Op == "UpdateService" {
				var in map[string]any
				if err := json.Unmarshal(c.Input, &in); err != nil {
					t.Fatal(err)
				}
				return in
			}
		}
		t.Fatal("no UpdateService")
		return nil
	}
	t.Run("rolling", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, scenario(func(sc *ecssim.Scenario) {
			sc.Services[0].DeploymentConfiguration = ecssim.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(150)}
		}))
		cfg := config("repo/app:2")
		cfg.RollingDefaults = true
		if res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg); err != nil {
			t.Fatalf("%s: %v", res.Status, err)
		}
		dc, _ := updateInput(t, e)["deploymentConfiguration"].(map[string]any)
		if dc["minimumHealthyPercent"] != float64(100) || dc["maximumPercent"] != float64(200) {
			t.Errorf("deploymentConfiguration sent: %v, want 100/200", dc)
		}
	})
	t.Run("blue/green", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, pauseScenario("BLUE_GREEN", 600))
		cfg := config("repo/app:2")
		cfg.RollingDefaults = true
		cfg.OnPause = deployer.OnPauseContinue
		if res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg); err != nil {
			t.Fatalf("%s: %v", res.Status, err)
		}
		if dc, ok := updateInput(t, e)["deploymentConfiguration"]; ok {
			t.Errorf("deploymentConfiguration sent to a BLUE_GREEN service: %v", dc)
		}
		svc := e.service(t)
		c := svc.DeploymentConfiguration
		if c.Strategy != types.DeploymentStrategyBlueGreen || aws.ToInt32(c.BakeTimeInMinutes) != 1 || len(c.LifecycleHooks) != 1 ||
			len(svc.LoadBalancers) != 1 || svc.LoadBalancers[0].AdvancedConfiguration == nil {
			t.Errorf("the service's settings changed: %+v, load balancers %+v", c, svc.LoadBalancers)
		}
	})
}

// TestStagedTimeoutAndTakeover: our own signals keep working on a
// BLUE_GREEN service: a deployment that never gets its tasks running
// times out and is rolled back with StopServiceDeployment; a deployment
// someone else starts while ours bakes ends ours as failed, with no
// rollback of theirs.
func TestStagedTimeoutAndTakeover(t *testing.T) {
	t.Parallel()
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, stagedScenario("BLUE_GREEN", func(sc *ecssim.Scenario) {
			// No bake: the timeout is ours plus ECS's planned waits, in real minutes.
			sc.Services[0].DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(0)
		}))
		cfg := config("repo/app:pending")
		cfg.Timeout = 500 * time.Millisecond
		rec := &recorder{}
		res, _ := deployer.New(e.ecs, e.logs, deployer.WithReporter(rec.report)).Deploy(context.Background(), cfg)
		if res.Status != deployer.StatusRolledBack || !strings.Contains(res.Reason, "timed out after") {
			t.Fatalf("status %s: %s\n%s", res.Status, res.Reason, rec.text())
		}
		if got := e.mutating(); !slices.Equal(got, []string{"RegisterTaskDefinition", "UpdateService", "StopServiceDeployment"}) {
			t.Errorf("mutating calls: %v", got)
		}
	})
	t.Run("taken over", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, stagedScenario("BLUE_GREEN", func(sc *ecssim.Scenario) {
			sc.Services[0].DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(100)
		}))
		rec := &recorder{}
		var once sync.Once
		var other sync.WaitGroup // someone else's update ends before the test does
		defer other.Wait()
		d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
			rec.report(ev)
			if ev.Kind == deployer.EventProgress && strings.Contains(ev.Message, "BAKE_TIME") {
				once.Do(func() {
					other.Go(func() {
						_, err := e.ecs.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), ForceNewDeployment: true})
						if err != nil {
							t.Errorf("someone else's UpdateService: %v", err)
						}
					})
				})
			}
		}))
		cfg := config("repo/app:2")
		cfg.Timeout = time.Minute
		res, _ := d.Deploy(context.Background(), cfg)
		if res.Status != deployer.StatusFailed {
			t.Fatalf("status %s: %s\n%s", res.Status, res.Reason, rec.text())
		}
		t.Logf("reason: %s\n%s", res.Reason, rec.text())
		for _, c := range e.srv.Sim.MutatingCalls() {
			if c.Op == "StopServiceDeployment" || c.Op == "ContinueServiceDeployment" {
				t.Errorf("rolled back someone else's deployment: %s", c.Op)
			}
		}
	})
}

// TestStagedResumeRetryAtLinearStep: ECS shows the same hookId before
// every LINEAR step. The response to our resume's Continue is lost after
// ECS applied it, and a blind retry (the SDK's) would arrive when the next
// step waits at the same hookId, and continue it too: the gate of the
// second step would open without anyone approving it. Our retry reads
// first: the first wait has moved on, so there is nothing to retry, and
// the run stops at the second step's wait.
func TestStagedResumeRetryAtLinearStep(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stagedScenario("LINEAR", func(sc *ecssim.Scenario) {
		dc := &sc.Services[0].DeploymentConfiguration
		dc.LinearConfiguration = &types.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(0)}
		dc.LifecycleHooks = []types.DeploymentLifecycleHook{{
			TargetType:      types.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePreProductionTrafficShift},
			TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{
				TimeoutInMinutes: aws.Int32(600), Action: types.DeploymentLifecycleHookActionRollback},
		}}
	}))
	rec := &recorder{}
	res, _ := deployer.New(e.ecs, e.logs, deployer.WithReporter(rec.report)).Deploy(context.Background(), config("repo/app:2"))
	if res.Status != deployer.StatusPaused {
		t.Fatalf("deploy: %s, want paused before the first step: %s\n%s", res.Status, res.Reason, rec.text())
	}
	// The Continue is applied, its response lost; every Continue takes
	// 300 ms to be served, long enough for the next step to wait.
	e.srv.Sim.InjectFault("ContinueServiceDeployment", ecssim.Fault{Status5xx: 1, AfterApply: true, Latency: ecssim.Duration(300 * time.Millisecond)})
	rec2 := &recorder{}
	res2, _ := deployer.New(e.ecs, e.logs, deployer.WithReporter(rec2.report)).Deploy(context.Background(), resumeConfig(deployer.ResumeContinue))
	if res2.Status != deployer.StatusPaused {
		t.Fatalf("resume: %s, want paused at the second step (nobody approved it): %s\n%s", res2.Status, res2.Reason, rec2.text())
	}
	sd := e.describeSD(t, res.ServiceDeploymentARN)
	if p := targetWeight(sd); sd.Status != types.ServiceDeploymentStatusInProgress || p != 50 {
		t.Errorf("service deployment %s with production %v %% on web:2, want IN_PROGRESS at 50 %%", sd.Status, p)
	}
	if n := ops(e.srv.Sim.Calls(), "ContinueServiceDeployment"); n != 1 {
		t.Errorf("%d ContinueServiceDeployment calls applied, want 1", n)
	}
}

func targetWeight(sd types.ServiceDeployment) float64 {
	if sd.TargetServiceRevision == nil {
		return -1
	}
	return aws.ToFloat64(sd.TargetServiceRevision.RequestedProductionTrafficWeight)
}
