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
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/awsclient"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

const plantedSecret = "s3cr3t-planted-value-7f3a"

// scenario is a cluster "prod" with a service "web" of two tasks running
// web:1 (app + envoy sidecar), with one image rule per behaviour.
func scenario(mutate ...func(*ecssim.Scenario)) ecssim.Scenario {
	td := ecssim.FargateApp("web", "repo/app:1")
	app := &td.ContainerDefinitions[0]
	app.HealthCheck = &types.HealthCheck{Command: []string{"CMD-SHELL", "curl -f http://localhost/health || exit 1"}, Interval: aws.Int32(5), Retries: aws.Int32(2)}
	app.Environment = []types.KeyValuePair{{Name: aws.String("API_TOKEN"), Value: aws.String(plantedSecret)}}
	app.LogConfiguration = ecssim.Awslogs("web")
	td.ContainerDefinitions = append(td.ContainerDefinitions,
		types.ContainerDefinition{Name: aws.String("envoy"), Image: aws.String("envoyproxy/envoy:v1.31"), Essential: aws.Bool(true)})
	sc := ecssim.OneService("prod", "web", td, 2)
	sc.TaskDefinitions[0].Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}
	sc.ImageRules = []ecssim.ImageRule{
		{Image: "*:crash", Behavior: ecssim.BehaviorCrash, Logs: []string{"panic: nil map", "token=" + plantedSecret}},
		{Image: "*:oom", Behavior: ecssim.BehaviorOOM},
		{Image: "*:pull", Behavior: ecssim.BehaviorPullError},
		{Image: "*:unhealthy", Behavior: ecssim.BehaviorUnhealthy},
		{Image: "*:crash-after", Behavior: ecssim.BehaviorCrashAfter, After: ecssim.Duration(150 * time.Millisecond)},
		{Image: "*:slow", Behavior: ecssim.BehaviorSlow, After: ecssim.Duration(10 * time.Second)},
		{Image: "*:flaky", Behavior: ecssim.BehaviorFlaky, Failures: 2},
		{Image: "*:pending", Behavior: ecssim.BehaviorPending},
		{Image: "*", Behavior: ecssim.BehaviorHealthy},
	}
	for _, m := range mutate {
		m(&sc)
	}
	return sc
}

type env struct {
	srv  *ecssim.Server
	ecs  *ecs.Client
	logs *cloudwatchlogs.Client
}

func newEnv(t *testing.T, sc ecssim.Scenario) env {
	t.Helper()
	srv := ecssimtest.NewServer(t, sc)
	e := env{srv: srv}
	e.ecs, e.logs = ecssimtest.Clients(srv)
	return e
}

// fastClients returns ECS and CloudWatch Logs clients for the simulator at
// url, built as the action builds them (awsclient) but with retries that
// back off in milliseconds; ecsOpts change the ECS client further.
func fastClients(url string, ecsOpts ...func(*ecs.Options)) (*ecs.Client, *cloudwatchlogs.Client) {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDSIM", "sim-secret", "")}
	fast := func(o *retry.StandardOptions) { o.Backoff = awsclient.FastBackoff() }
	ecsOpts = append([]func(*ecs.Options){func(o *ecs.Options) { o.Retryer = awsclient.Retryer(fast) }}, ecsOpts...)
	return awsclient.NewECS(cfg, url, ecsOpts...),
		awsclient.NewLogs(cfg, url, func(o *cloudwatchlogs.Options) { o.Retryer = awsclient.Retryer(fast) })
}

func (e env) service(t *testing.T) types.Service {
	t.Helper()
	out, err := e.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describe service: %v", err)
	}
	return out.Services[0]
}

func (e env) mutating() []string {
	var ops []string
	for _, c := range e.srv.Sim.MutatingCalls() {
		if c.ErrCode == "" {
			ops = append(ops, c.Op)
		} else {
			ops = append(ops, c.Op+"!"+c.ErrCode)
		}
	}
	return ops
}

func config(image string) deployer.Config {
	return deployer.Config{
		Cluster: "prod", Service: "web",
		Images:               []deployer.ContainerImage{{Container: "app", Image: image}},
		Timeout:              5 * time.Second,
		PollInterval:         25 * time.Millisecond,
		RollbackTimeout:      5 * time.Second,
		FailedTasksThreshold: 1,
		Rollback:             true,
		ForceNewDeployment:   true,
		Wait:                 true,
		LogLines:             20,
	}
}

// TestDeployScenarios runs the deployer through the real SDK client
// against the simulator, one case per behaviour, and checks the outcome,
// the final service state and the calls made.
func TestDeployScenarios(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		sc           []func(*ecssim.Scenario)
		cfg          func(*deployer.Config)
		image        string
		during       func(t *testing.T, e env) // runs alongside Deploy
		wantStatus   deployer.Status
		wantReason   []string
		wantFinal    string // task definition the service ends on: "new" or "old"
		wantMutating []string
	}{
		{name: "healthy", image: "repo/app:2", wantStatus: deployer.StatusSucceeded,
			wantReason: []string{"completed", "2/2"}, wantFinal: "new",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService"}},
		{name: "crash", image: "repo/app:crash", wantStatus: deployer.StatusRolledBack,
			wantReason: []string{`container "app" exited with code 1`, "rolled back to web:1"}, wantFinal: "old",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService", "UpdateService"}},
		{name: "out of memory", image: "repo/app:oom", wantStatus: deployer.StatusRolledBack,
			wantReason: []string{"exited with code 137", "OutOfMemoryError"}, wantFinal: "old",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService", "UpdateService"}},
		{name: "image pull failure", image: "repo/app:pull", wantStatus: deployer.StatusRolledBack,
			wantReason: []string{"image pull failed", "CannotPullContainerError"}, wantFinal: "old",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService", "UpdateService"}},
		{name: "failing health checks", image: "repo/app:unhealthy", wantStatus: deployer.StatusRolledBack,
			wantReason: []string{"health checks failed"}, wantFinal: "old",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService", "UpdateService"}},
		{name: "healthy then crashing", image: "repo/app:crash-after",
			// Tasks run 150ms, then crash, before their health checks pass.
			sc:         []func(*ecssim.Scenario){func(sc *ecssim.Scenario) { sc.Timings.HealthCheck = ecssim.Duration(600 * time.Millisecond) }},
			wantStatus: deployer.StatusRolledBack, wantReason: []string{"exited with code"}, wantFinal: "old",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService", "UpdateService"}},
		{name: "slow: timed out", image: "repo/app:slow",
			cfg:        func(c *deployer.Config) { c.Timeout = 300 * time.Millisecond },
			wantStatus: deployer.StatusRolledBack, wantReason: []string{"timed out after 300ms", "of 2 tasks running"}, wantFinal: "old",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService", "UpdateService"}},
		{name: "stuck pending: timed out", image: "repo/app:pending",
			cfg:        func(c *deployer.Config) { c.Timeout = 300 * time.Millisecond },
			wantStatus: deployer.StatusRolledBack, wantReason: []string{"timed out"}, wantFinal: "old",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService", "UpdateService"}},
		{name: "flaky, threshold 1", image: "repo/app:flaky", wantStatus: deployer.StatusRolledBack,
			wantFinal: "old", wantMutating: []string{"RegisterTaskDefinition", "UpdateService", "UpdateService"}},
		{name: "flaky, threshold 3", image: "repo/app:flaky",
			cfg:        func(c *deployer.Config) { c.FailedTasksThreshold = 3 },
			wantStatus: deployer.StatusSucceeded, wantFinal: "new",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService"}},
		{name: "rollback off", image: "repo/app:crash",
			cfg:        func(c *deployer.Config) { c.Rollback = false },
			wantStatus: deployer.StatusFailed, wantReason: []string{"rollback is off"}, wantFinal: "new",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService"}},
		{name: "circuit breaker rolled back", image: "repo/app:crash",
			sc: []func(*ecssim.Scenario){func(sc *ecssim.Scenario) {
				sc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker = &ecssim.CircuitBreaker{Enable: true, Rollback: true}
			}},
			cfg:        func(c *deployer.Config) { c.FailedTasksThreshold = 50 },
			wantStatus: deployer.StatusRolledBack, wantReason: []string{"circuit breaker"}, wantFinal: "old",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService"}},
		{name: "rollback denied", image: "repo/app:crash",
			during: func(t *testing.T, e env) {
				e.srv.Sim.InjectFault("UpdateService", ecssim.Fault{Error: "AccessDeniedException", OnCall: 2})
			},
			wantStatus: deployer.StatusRollbackFailed, wantReason: []string{"could not be issued", "AccessDenied", "finish it by hand with: aws ecs update-service --cluster prod --service web --task-definition arn:aws:ecs:"}, wantFinal: "new",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService", "UpdateService!AccessDeniedException"}},
		{name: "healthy, stopped tasks cannot be listed", image: "repo/app:2",
			during: func(t *testing.T, e env) {
				e.srv.Sim.InjectFault("ListTasks", ecssim.Fault{Error: "AccessDeniedException"})
			},
			wantStatus: deployer.StatusSucceeded, wantFinal: "new",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService"}},
		{name: "crash, stopped tasks cannot be listed", image: "repo/app:crash",
			during: func(t *testing.T, e env) {
				e.srv.Sim.InjectFault("ListTasks", ecssim.Fault{Error: "AccessDeniedException"})
			},
			wantStatus: deployer.StatusRolledBack, wantReason: []string{"failed to start", "rolled back to web:1"}, wantFinal: "old",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService", "UpdateService"}},
		{name: "desired count 0", image: "repo/app:crash",
			cfg:        func(c *deployer.Config) { c.DesiredCount = aws.Int32(0) },
			wantStatus: deployer.StatusSucceeded, wantReason: []string{"desired count 0"}, wantFinal: "new",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService"}},
		{name: "wait false", image: "repo/app:crash",
			cfg:        func(c *deployer.Config) { c.Wait = false },
			wantStatus: deployer.StatusSucceeded, wantReason: []string{"not watched"}, wantFinal: "new",
			wantMutating: []string{"RegisterTaskDefinition", "UpdateService"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, scenario(tt.sc...))
			if tt.during != nil {
				tt.during(t, e)
			}
			before := e.service(t)
			cfg := config(tt.image)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			var mu sync.Mutex
			var events []deployer.Event
			d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, ev)
			}))
			res, err := d.Deploy(context.Background(), cfg)
			if (err == nil) != tt.wantStatus.OK() {
				t.Errorf("Deploy error: got %v, want error only for a failing status", err)
			}
			if res.Status != tt.wantStatus {
				t.Fatalf("status: got %q, want %q; reason: %s", res.Status, tt.wantStatus, res.Reason)
			}
			for _, w := range tt.wantReason {
				if !strings.Contains(res.Reason, w) {
					t.Errorf("reason %q does not contain %q", res.Reason, w)
				}
			}
			if strings.Contains(res.Reason, plantedSecret) {
				t.Errorf("reason leaks the planted secret: %q", res.Reason)
			}
			for _, l := range res.Logs {
				for _, line := range l.Lines {
					if strings.Contains(line, plantedSecret) {
						t.Errorf("log excerpt leaks the planted secret: %q", line)
					}
				}
			}
			after := e.service(t)
			want := res.TaskDefinitionARN
			if tt.wantFinal == "old" {
				want = aws.ToString(before.TaskDefinition)
			}
			if got := aws.ToString(after.TaskDefinition); got != want {
				t.Errorf("service ends on %q, want %q", got, want)
			}
			if res.PreviousTaskDefinitionARN != aws.ToString(before.TaskDefinition) {
				t.Errorf("previous-task-definition-arn: got %q, want %q", res.PreviousTaskDefinitionARN, aws.ToString(before.TaskDefinition))
			}
			if diff := cmp.Diff(tt.wantMutating, e.mutating()); diff != "" {
				t.Errorf("mutating calls (-want +got):\n%s", diff)
			}
			if res.DeploymentID == "" || !strings.HasPrefix(res.DeploymentID, "ecs-svc/") {
				t.Errorf("deployment-id: got %q", res.DeploymentID)
			}
		})
	}
}

// TestDeployTakenOver: someone else deploys while we watch; we report it
// and do not undo their deploy.
func TestDeployTakenOver(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario())
	ctx := context.Background()
	theirs, err := e.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		ContainerDefinitions:    []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("repo/app:theirs"), Essential: aws.Bool(true)}},
	})
	if err != nil {
		t.Fatalf("register their revision: %v", err)
	}
	theirARN := aws.ToString(theirs.TaskDefinition.TaskDefinitionArn)
	d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
		if ev.Kind == deployer.EventProgress && ev.Counts != nil {
			// Their deploy lands while ours is being watched.
			if _, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(theirARN)}); err != nil {
				t.Errorf("their update: %v", err)
			}
		}
	}))
	res, err := d.Deploy(ctx, config("repo/app:slow"))
	if err == nil {
		t.Fatalf("Deploy: got nil error, want a failure")
	}
	if res.Status != deployer.StatusFailed || !strings.Contains(res.Reason, "of web:2") || !strings.Contains(res.Reason, "another deployment") {
		t.Errorf("got %q %q, want failed naming their revision web:2", res.Status, res.Reason)
	}
	if got := aws.ToString(e.service(t).TaskDefinition); got != theirARN {
		t.Errorf("service ends on %q, want their %q", got, theirARN)
	}
}

// TestDeploySidecarUntouched: only the named container's image changes.
func TestDeploySidecarUntouched(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario())
	ctx := context.Background()
	res, err := deployer.New(e.ecs, e.logs).Deploy(ctx, config("repo/app:2"))
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	oldTD, err := e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(res.PreviousTaskDefinitionARN), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	newTD, err := e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(res.TaskDefinitionARN), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	// Everything but the app image (and the registration metadata) is equal.
	oldTD.TaskDefinition.ContainerDefinitions[0].Image = aws.String("repo/app:2")
	ignore := func(td *types.TaskDefinition) {
		td.TaskDefinitionArn, td.Revision, td.RegisteredAt, td.RegisteredBy = nil, 0, nil, nil
	}
	ignore(oldTD.TaskDefinition)
	ignore(newTD.TaskDefinition)
	if diff := cmp.Diff(jsonOf(t, oldTD.TaskDefinition), jsonOf(t, newTD.TaskDefinition)); diff != "" {
		t.Errorf("new revision differs beyond the image (-old +new):\n%s", diff)
	}
	if diff := cmp.Diff(jsonOf(t, oldTD.Tags), jsonOf(t, newTD.Tags)); diff != "" {
		t.Errorf("tags differ (-old +new):\n%s", diff)
	}
	if diff := cmp.Diff([]deployer.ImageChange{{Container: "app", Old: "repo/app:1", New: "repo/app:2"}}, res.Images); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}
}

// TestDeployBadInputChangesNothing: every problem found at preflight ends
// the run before any mutating call.
func TestDeployBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  func(*deployer.Config)
		want string
	}{
		{"empty service", func(c *deployer.Config) { c.Service = "" }, "Service:"},
		{"unknown service", func(c *deployer.Config) { c.Service = "nope" }, "service:"},
		{"unknown cluster", func(c *deployer.Config) { c.Cluster = "nope" }, "cluster:"},
		{"unknown container", func(c *deployer.Config) { c.Images[0].Container = "api" }, `"api"`},
		{"ambiguous container", func(c *deployer.Config) { c.Images[0].Container = "" }, "container-name"},
		{"duplicate images", func(c *deployer.Config) { c.Images = append(c.Images, c.Images[0]) }, "Images:"},
		{"negative timeout", func(c *deployer.Config) { c.Timeout = -time.Second }, "Timeout:"},
		{"absurd percent", func(c *deployer.Config) { c.MinimumHealthyPercent = aws.Int32(500) }, "MinimumHealthyPercent:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, scenario())
			cfg := config("repo/app:2")
			tt.cfg(&cfg)
			res, err := deployer.New(e.ecs, e.logs).Deploy(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Deploy error: got %v, want one naming %q", err, tt.want)
			}
			if res.Status != deployer.StatusFailed {
				t.Errorf("status: got %q, want failed", res.Status)
			}
			if got := e.mutating(); len(got) != 0 {
				t.Errorf("mutating calls: got %v, want none", got)
			}
		})
	}
}

// TestDeployOnBusy: another deployment in progress at start.
func TestDeployOnBusy(t *testing.T) {
	t.Parallel()
	for _, policy := range []deployer.OnBusy{deployer.OnBusyFail, deployer.OnBusyWait} {
		t.Run(string(policy), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, scenario(func(sc *ecssim.Scenario) {
				if policy == deployer.OnBusyFail {
					// Their deployment is still in progress when we look,
					// however loaded the machine.
					sc.ImageRules = append([]ecssim.ImageRule{{Image: "repo/app:1", Behavior: ecssim.BehaviorSlow, After: ecssim.Duration(time.Hour)}}, sc.ImageRules...)
				}
			}))
			ctx := context.Background()
			// Start someone else's deployment (a forced redeploy of web:1).
			if _, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), ForceNewDeployment: true}); err != nil {
				t.Fatal(err)
			}
			cfg := config("repo/app:2")
			cfg.OnBusy = policy
			res, err := deployer.New(e.ecs, e.logs).Deploy(ctx, cfg)
			got := e.mutating()
			if policy == deployer.OnBusyFail {
				if err == nil || !strings.Contains(err.Error(), "OnBusy") {
					t.Errorf("Deploy error: got %v, want one naming on-busy", err)
				}
				if diff := cmp.Diff([]string{"UpdateService"}, got); diff != "" {
					t.Errorf("mutating calls beyond the test's own (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil || res.Status != deployer.StatusSucceeded {
				t.Errorf("Deploy: got %v %q %q, want success after waiting", err, res.Status, res.Reason)
			}
			if !slices.Equal(got, []string{"UpdateService", "RegisterTaskDefinition", "UpdateService"}) {
				t.Errorf("mutating calls: got %v", got)
			}
		})
	}
}

// TestDeployCancelled: cancelling mid-watch rolls back at once.
func TestDeployCancelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, scenario())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	d := deployer.New(e.ecs, e.logs, deployer.WithReporter(func(ev deployer.Event) {
		if ev.Kind == deployer.EventProgress {
			once.Do(cancel)
		}
	}))
	res, err := d.Deploy(ctx, config("repo/app:slow"))
	if err == nil || res.Status != deployer.StatusCancelled {
		t.Fatalf("got %v %q %q, want cancelled", err, res.Status, res.Reason)
	}
	if !strings.Contains(res.Reason, "rollback to web:1 issued") {
		t.Errorf("reason %q does not say the rollback was issued", res.Reason)
	}
	if diff := cmp.Diff([]string{"RegisterTaskDefinition", "UpdateService", "UpdateService"}, e.mutating()); diff != "" {
		t.Errorf("mutating calls (-want +got):\n%s", diff)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
