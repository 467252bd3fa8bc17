package action

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// iamPolicy is iam-policy.json.
type iamPolicy struct {
	Version   string
	Statement []struct {
		Sid       string
		Effect    string
		Action    stringOrList
		Resource  stringOrList
		Condition map[string]map[string]stringOrList
	}
}

// stringOrList is an IAM policy value: one string or a list of them.
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

func loadPolicy(t *testing.T) iamPolicy {
	t.Helper()
	b, err := os.ReadFile("iam-policy.json")
	if err != nil {
		t.Fatalf("read the policy: %v", err)
	}
	var p iamPolicy
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("parse iam-policy.json: %v", err)
	}
	return p
}

// logsOps are the CloudWatch Logs operations and cloudWatchOps
// CloudWatch's (all others are ECS's).
var (
	logsOps       = map[string]bool{"GetLogEvents": true, "FilterLogEvents": true, "DescribeLogStreams": true}
	cloudWatchOps = map[string]bool{"DescribeAlarms": true}
	// verifyOps are the verify phase's operations, with their service's
	// IAM prefix.
	verifyOps = map[string]string{"DescribeImages": "ecr:", "BatchGetImage": "ecr:", "DescribeSecret": "secretsmanager:",
		"DescribeParameters": "ssm:", "GetParameters": "ssm:", "DescribeLogGroups": "logs:", "GetRole": "iam:", "SimulatePrincipalPolicy": "iam:"}
	codeDeployOps = map[string]bool{"GetDeploymentGroup": true, "GetDeploymentConfig": true, "ListDeployments": true, "CreateDeployment": true,
		"GetDeployment": true, "GetDeploymentTarget": true, "StopDeployment": true, "ContinueDeployment": true}
)

// iamActions returns the IAM actions a call needs: its own, plus the
// actions ECS authorizes along with it (tagging on register; passing the
// task and execution roles).
func iamActions(c ecssim.Call) []string {
	prefix := "ecs:"
	switch {
	case verifyOps[c.Op] != "":
		prefix = verifyOps[c.Op]
	case logsOps[c.Op]:
		prefix = "logs:"
	case cloudWatchOps[c.Op]:
		prefix = "cloudwatch:"
	case codeDeployOps[c.Op]:
		prefix = "codedeploy:"
	}
	out := []string{prefix + c.Op}
	if c.Op == "CreateDeployment" {
		// CodeDeploy registers the AppSpec content as a revision of the
		// application (the official action's policy lists it too).
		out = append(out, "codedeploy:RegisterApplicationRevision")
	}
	if c.Op == "RegisterTaskDefinition" {
		var in struct {
			Tags             []json.RawMessage `json:"tags"`
			TaskRoleArn      string            `json:"taskRoleArn"`
			ExecutionRoleArn string            `json:"executionRoleArn"`
		}
		_ = json.Unmarshal(c.Input, &in)
		if len(in.Tags) > 0 {
			out = append(out, "ecs:TagResource")
		}
		if in.TaskRoleArn != "" || in.ExecutionRoleArn != "" {
			out = append(out, "iam:PassRole")
		}
	}
	if c.Op == "RunTask" {
		// Running a task passes its task definition's task and execution
		// roles (counted whether or not this one has them); tags on it
		// are a TagResource authorization.
		out = append(out, "iam:PassRole")
		var in struct {
			Tags []json.RawMessage `json:"tags"`
		}
		_ = json.Unmarshal(c.Input, &in)
		if len(in.Tags) > 0 {
			out = append(out, "ecs:TagResource")
		}
	}
	if c.Op == "UpdateService" {
		// An EBS volume's roleArn (the ECS infrastructure role) is passed
		// to ECS.
		var in struct {
			VolumeConfigurations []struct {
				ManagedEBSVolume struct{ RoleArn string } `json:"managedEBSVolume"`
			} `json:"volumeConfigurations"`
		}
		_ = json.Unmarshal(c.Input, &in)
		for _, v := range in.VolumeConfigurations {
			if v.ManagedEBSVolume.RoleArn != "" {
				out = append(out, "iam:PassRole")
				break
			}
		}
	}
	return out
}

// iamScenario is one run whose calls count towards the policy.
type iamScenario struct {
	name   string
	inputs map[string]string
	sc     func(*ecssim.Scenario)
	// before runs against the simulator before the action starts.
	before func(t *testing.T, srv *ecssim.Server)
	// cancelWhileWatching cancels the run once it watches its deployment.
	cancelWhileWatching bool
	// killThenPost kills the binary mid-watch and runs the post step.
	killThenPost bool
	wantStatus   string
	wantOps      []string // operations this scenario must have called
}

func iamScenarios() []iamScenario {
	tagged := func(sc *ecssim.Scenario) {
		sc.TaskDefinitions[0].Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}
	}
	return []iamScenario{
		{name: "succeeded", inputs: map[string]string{"image": "repo/app:2"}, sc: tagged, wantStatus: "succeeded",
			wantOps: []string{"DescribeServices", "DescribeTaskDefinition", "RegisterTaskDefinition", "UpdateService"}},
		{name: "crash: rolled back, with logs", inputs: map[string]string{"image": "repo/app:crash", "log-lines": "20"}, wantStatus: "rolled-back",
			wantOps: []string{"ListTasks", "DescribeTasks", "GetLogEvents"}},
		{name: "out of memory", inputs: map[string]string{"image": "repo/app:oom"}, wantStatus: "rolled-back"},
		{name: "image pull failure", inputs: map[string]string{"image": "repo/app:pull"}, wantStatus: "rolled-back"},
		{name: "failing health checks", inputs: map[string]string{"image": "repo/app:unhealthy"}, wantStatus: "rolled-back"},
		{name: "healthy then crashing", inputs: map[string]string{"image": "repo/app:crash-after"}, wantStatus: "rolled-back"},
		{name: "timed out", inputs: map[string]string{"image": "repo/app:slow", "timeout": "1s"}, wantStatus: "rolled-back"},
		{name: "rollback off", inputs: map[string]string{"image": "repo/app:crash", "rollback": "false"}, wantStatus: "failed"},
		{name: "rollback denied", inputs: map[string]string{"image": "repo/app:crash"}, wantStatus: "rollback-failed",
			before: func(t *testing.T, srv *ecssim.Server) {
				srv.Sim.InjectFault("UpdateService", ecssim.Fault{Error: "AccessDeniedException", OnCall: 2})
			}},
		{name: "circuit breaker", inputs: map[string]string{"image": "repo/app:crash", "failed-tasks-threshold": "50"}, wantStatus: "rolled-back",
			sc: func(sc *ecssim.Scenario) {
				sc.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker = &ecssim.CircuitBreaker{Enable: true, Rollback: true}
			}},
		{name: "deregister-failed", inputs: map[string]string{"image": "repo/app:crash", "deregister-failed": "true"}, wantStatus: "rolled-back",
			wantOps: []string{"DeregisterTaskDefinition"}},
		{name: "keep-revisions", inputs: map[string]string{"image": "repo/app:2", "keep-revisions": "1", "enable-execute-command": "true"}, wantStatus: "succeeded",
			wantOps: []string{"ListTaskDefinitions", "ListServices", "DeregisterTaskDefinition"},
			sc: func(sc *ecssim.Scenario) {
				old := sc.TaskDefinitions[0]
				old.Revision, old.TaskDefinitionArn = 0, nil
				sc.TaskDefinitions = append([]ecssim.ScenarioTaskDefinition{old}, sc.TaskDefinitions...)
				sc.Services[0].TaskDefinition = aws.ToString(sc.TaskDefinitions[0].Family) + ":2"
			}},
		{name: "keep-revisions dry run", inputs: map[string]string{"image": "repo/app:2", "keep-revisions": "1", "dry-run": "true"}, wantStatus: "dry-run",
			wantOps: []string{"ListTaskDefinitions"}},
		{name: "alarm during the bake: rolled back", inputs: map[string]string{"image": "repo/app:2", "alarms": "web-5xx", "bake-time": "30s", "poll-interval": "100ms"},
			wantStatus: "rolled-back", wantOps: []string{"DescribeAlarms"},
			sc: func(sc *ecssim.Scenario) {
				sc.Alarms = []ecssim.ScenarioAlarm{{Name: "web-5xx", Changes: []ecssim.AlarmChange{{State: ecssim.AlarmAlarm, From: ecssim.AnchorCompleted, After: ecssim.Duration(300 * time.Millisecond)}}}}
			}},
		{name: "dry run", inputs: map[string]string{"image": "repo/app:2", "dry-run": "true"}, wantStatus: "dry-run"},
		{name: "wait false", inputs: map[string]string{"image": "repo/app:2", "wait": "false"}, wantStatus: "succeeded"},
		{name: "busy: waited", inputs: map[string]string{"image": "repo/app:2", "on-busy": "wait"}, wantStatus: "succeeded",
			before: func(t *testing.T, srv *ecssim.Server) {
				busy(t, srv)
			}},
		{name: "task-definition file", inputs: map[string]string{"image": "repo/app:2", "task-definition": "taskdef.json"}, wantStatus: "succeeded"},
		{name: "pre-deploy task", inputs: map[string]string{"image": "repo/app:2", "pre-deploy-command": `["bin/migrate", "up"]`}, wantStatus: "succeeded",
			wantOps: []string{"RunTask", "DescribeTasks", "UpdateService"}},
		{name: "pre-deploy task fails, with logs", inputs: map[string]string{"image": "repo/app:2", "pre-deploy-command": "bin/migrate broken", "log-lines": "20"}, wantStatus: "failed",
			sc: func(sc *ecssim.Scenario) {
				sc.TaskRules = []ecssim.TaskRule{{Command: "bin/migrate broken", ExitCode: 1, Logs: []string{"boom"}}}
			},
			wantOps: []string{"RunTask", "GetLogEvents"}},
		{name: "pre-deploy task timed out", inputs: map[string]string{"image": "repo/app:2", "pre-deploy-command": "bin/migrate hang", "pre-deploy-timeout": "1s"}, wantStatus: "failed",
			sc: func(sc *ecssim.Scenario) {
				sc.TaskRules = []ecssim.TaskRule{{Command: "bin/migrate hang", Outcome: ecssim.OutcomeForever}}
			},
			wantOps: []string{"RunTask", "StopTask"}},
		{name: "pre-deploy task with tags and startedBy", inputs: map[string]string{"image": "repo/app:2", "pre-deploy-command": "bin/migrate up",
			"pre-deploy-tags": `[{"key": "team", "value": "web"}]`, "pre-deploy-started-by": "GitHub-Actions"}, wantStatus: "succeeded",
			wantOps: []string{"RunTask"}},
		{name: "EBS volume: crash, the previous volume restored", inputs: map[string]string{"image": "repo/app:crash",
			"service-managed-ebs-volume": `{"roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRole", "sizeInGiB": 50}`}, wantStatus: "rolled-back",
			sc: func(sc *ecssim.Scenario) {
				sc.TaskDefinitions[0].Volumes = append(sc.TaskDefinitions[0].Volumes, types.Volume{Name: aws.String("data"), ConfiguredAtLaunch: aws.Bool(true)})
			},
			wantOps: []string{"UpdateService"}},
		{name: "register only", inputs: map[string]string{"service": "", "task-definition-family": "web", "image": "repo/app:2"}, wantStatus: "registered",
			wantOps: []string{"DescribeTaskDefinition", "RegisterTaskDefinition"}},
		{name: "promoted revision", inputs: map[string]string{"image": "", "container-name": "", "revision": "web:1"}, wantStatus: "succeeded",
			wantOps: []string{"DescribeTaskDefinition", "UpdateService"}},
		{name: "cancelled: rolled back", inputs: map[string]string{"image": "repo/app:slow"}, cancelWhileWatching: true, wantStatus: "cancelled"},
		{name: "killed: post step rolled back", inputs: map[string]string{"image": "repo/app:slow"}, killThenPost: true},
		{name: "blue/green: succeeded", inputs: map[string]string{"image": "repo/app:2"}, sc: blueGreen(false), wantStatus: "succeeded",
			wantOps: []string{"DescribeServiceDeployments"}},
		{name: "blue/green: crash, StopServiceDeployment", inputs: map[string]string{"image": "repo/app:crash"}, sc: blueGreen(false), wantStatus: "rolled-back",
			wantOps: []string{"StopServiceDeployment"}},
		{name: "blue/green: paused at a PAUSE hook", inputs: map[string]string{"image": "repo/app:2"}, sc: blueGreen(true), wantStatus: "paused"},
		{name: "blue/green: resume continue", inputs: map[string]string{"resume": "continue", "container-name": ""}, sc: blueGreen(true), wantStatus: "succeeded",
			before: pausedDeployment, wantOps: []string{"ListServiceDeployments", "DescribeServiceRevisions", "ContinueServiceDeployment"}},
		{name: "Express Mode: succeeded", inputs: map[string]string{"image": "repo/app:2", "container-name": "Main"}, sc: expressMode, wantStatus: "succeeded",
			wantOps: []string{"UpdateExpressGatewayService", "DescribeServiceDeployments"}},
		{name: "Express Mode: crash, StopServiceDeployment", inputs: map[string]string{"image": "repo/app:crash", "container-name": "Main"}, sc: expressMode, wantStatus: "rolled-back",
			wantOps: []string{"UpdateExpressGatewayService", "StopServiceDeployment"}},
		{name: "CodeDeploy: succeeded", inputs: map[string]string{"image": "repo/app:2"}, sc: codeDeployService(false), wantStatus: "succeeded",
			wantOps: []string{"GetDeploymentGroup", "GetDeploymentConfig", "ListDeployments", "CreateDeployment", "GetDeploymentTarget", "GetDeployment"}},
		{name: "CodeDeploy: crash, StopDeployment", inputs: map[string]string{"image": "repo/app:crash"}, sc: codeDeployService(false), wantStatus: "rolled-back",
			wantOps: []string{"StopDeployment", "ListTasks"}},
		{name: "CodeDeploy: resume continue at Ready", inputs: map[string]string{"resume": "continue", "container-name": ""}, sc: codeDeployService(true), wantStatus: "succeeded",
			before: readyDeployment, wantOps: []string{"ListDeployments", "ContinueDeployment"}},
	}
}

// expressMode makes the service an Express Mode service (container Main,
// resourceManagementType ECS, Express Mode's canary) on a fast scenario
// clock.
func expressMode(sc *ecssim.Scenario) {
	sc.TaskDefinitions[0].ContainerDefinitions[0].Name = aws.String("Main")
	svc := &sc.Services[0]
	svc.ResourceManagementType = "ECS"
	lb := ecssim.BlueGreenLoadBalancer()
	lb.ContainerName = aws.String("Main")
	svc.LoadBalancers = []types.LoadBalancer{lb}
	sc.Timings.Minute = ecssim.Duration(100 * time.Millisecond)
}

// codeDeployService makes the service CODE_DEPLOY with its CodeDeploy
// application and deployment group (with ready, a Ready wait) on a fast
// scenario clock.
func codeDeployService(ready bool) func(*ecssim.Scenario) {
	return func(sc *ecssim.Scenario) {
		ecssim.AddCodeDeploy(sc, 0, func(g *ecssim.ScenarioDeploymentGroup) {
			if ready {
				g.ReadyAction, g.ReadyWaitMinutes = "STOP_DEPLOYMENT", 600
			}
		})
		sc.Timings.Minute = ecssim.Duration(100 * time.Millisecond)
	}
}

// readyDeployment deploys repo/app:2 to the CODE_DEPLOY service until it
// waits in Ready, as a first workflow step would.
func readyDeployment(t *testing.T, srv *ecssim.Server) {
	t.Helper()
	c := ecs.New(ecs.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDREADY", "ready", "")})
	res, err := deployer.New(c, nil, deployer.WithCodeDeploy(ecssimtest.CodeDeployClient(srv))).Deploy(context.Background(), deployer.Config{Cluster: "prod", Service: "web",
		Images: []deployer.ContainerImage{{Container: "app", Image: "repo/app:2"}}, Timeout: 30 * time.Second,
		RollbackTimeout: 30 * time.Second, PollInterval: 50 * time.Millisecond, Rollback: true, Wait: true})
	if err != nil || res.Status != deployer.StatusPaused {
		t.Fatalf("first step: %s %q %v", res.Status, res.Reason, err)
	}
}

// blueGreen makes the service BLUE_GREEN (with a blue/green load
// balancer, a short bake on a fast scenario clock and, with pause, a
// PAUSE hook after the test traffic shift).
func blueGreen(pause bool) func(*ecssim.Scenario) {
	return func(sc *ecssim.Scenario) {
		svc := &sc.Services[0]
		svc.DeploymentConfiguration.Strategy = "BLUE_GREEN"
		svc.DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(1)
		svc.LoadBalancers = []types.LoadBalancer{ecssim.BlueGreenLoadBalancer()}
		if pause {
			svc.DeploymentConfiguration.LifecycleHooks = []types.DeploymentLifecycleHook{{
				TargetType:      types.DeploymentLifecycleHookTargetTypePause,
				LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift},
			}}
		}
		sc.Timings.Minute = ecssim.Duration(100 * time.Millisecond)
	}
}

// pausedDeployment deploys repo/app:2 to the BLUE_GREEN service until it
// waits at its PAUSE hook, as a first workflow step would.
func pausedDeployment(t *testing.T, srv *ecssim.Server) {
	t.Helper()
	creds := credentials.NewStaticCredentialsProvider("AKIDPAUSE", "pause", "")
	c := ecs.New(ecs.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", Credentials: creds})
	res, err := deployer.New(c, nil).Deploy(context.Background(), deployer.Config{Cluster: "prod", Service: "web",
		Images: []deployer.ContainerImage{{Container: "app", Image: "repo/app:2"}}, Timeout: 30 * time.Second,
		RollbackTimeout: 30 * time.Second, PollInterval: 50 * time.Millisecond, Rollback: true, Wait: true})
	if err != nil || res.Status != deployer.StatusPaused {
		t.Fatalf("first step: %s %q %v", res.Status, res.Reason, err)
	}
}

// busy starts someone else's deployment of the running revision.
func busy(t *testing.T, srv *ecssim.Server) {
	t.Helper()
	c := ecs.New(ecs.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBUSY", "busy", "")})
	if _, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{
		Cluster: aws.String("prod"), Service: aws.String("web"), ForceNewDeployment: true,
	}); err != nil {
		t.Fatalf("start a competing deployment: %v", err)
	}
}

// TestIAMPolicyCoversEveryCall runs every kind of run the action makes
// (success, each failure, rollback, rollback denied, circuit breaker,
// deregister-failed, log excerpts, dry run, on-busy, a task-definition
// file with roles and tags, cancellation and the post step) and fails if
// an operation called, or an authorization ECS makes along with it, is
// not allowed by iam-policy.json. Policy actions no run needed are
// listed.
func TestIAMPolicyCoversEveryCall(t *testing.T) {
	t.Parallel()
	policy := loadPolicy(t)
	allowed := map[string]bool{}
	for _, st := range policy.Statement {
		if st.Effect != "Allow" {
			t.Errorf("statement %s: effect %q, want Allow", st.Sid, st.Effect)
		}
		for _, a := range st.Action {
			if strings.Contains(a, "*") {
				t.Errorf("statement %s: wildcard action %q", st.Sid, a)
			}
			allowed[a] = true
		}
		if slices.Contains(st.Action, "iam:PassRole") {
			// Task and execution roles go to ecs-tasks; the infrastructure
			// role of EBS volumes to ecs.
			if got := st.Condition["StringEquals"]["iam:PassedToService"]; !slices.Equal(got, []string{"ecs-tasks.amazonaws.com"}) && !slices.Equal(got, []string{"ecs.amazonaws.com"}) {
				t.Errorf("iam:PassRole is not limited to ecs-tasks.amazonaws.com or ecs.amazonaws.com: %v", st.Condition)
			}
		}
		if slices.Contains(st.Action, "ecs:TagResource") {
			if got := st.Condition["StringEquals"]["ecs:CreateAction"]; !slices.Equal(got, []string{"RegisterTaskDefinition", "RunTask"}) {
				t.Errorf("ecs:TagResource is not limited to tagging on RegisterTaskDefinition and RunTask: %v", st.Condition)
			}
		}
	}

	var mu sync.Mutex
	used := map[string][]string{} // action → scenarios
	t.Run("scenarios", func(t *testing.T) {
		for _, s := range iamScenarios() {
			t.Run(s.name, func(t *testing.T) {
				t.Parallel()
				calls := runIAMScenario(t, s)
				mu.Lock()
				defer mu.Unlock()
				for _, c := range calls {
					for _, a := range iamActions(c) {
						if !slices.Contains(used[a], s.name) {
							used[a] = append(used[a], s.name)
						}
					}
				}
			})
		}
	})
	if t.Failed() {
		return
	}
	var actions []string
	for a := range used {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	for _, a := range actions {
		if !allowed[a] {
			t.Errorf("%s is called (in %s) but iam-policy.json does not allow it", a, strings.Join(used[a], ", "))
		}
	}
	for _, want := range []string{"ecs:TagResource", "iam:PassRole", "logs:GetLogEvents", "ecs:DeregisterTaskDefinition", "cloudwatch:DescribeAlarms", "ecs:RunTask", "ecs:StopTask", "codedeploy:CreateDeployment", "codedeploy:StopDeployment", "codedeploy:ContinueDeployment", "ecs:UpdateExpressGatewayService"} {
		if len(used[want]) == 0 {
			t.Errorf("no scenario needed %s: the test no longer covers it", want)
		}
	}
	var unused []string
	for a := range allowed {
		if len(used[a]) == 0 {
			unused = append(unused, a)
		}
	}
	sort.Strings(unused)
	t.Logf("actions used: %s", strings.Join(actions, ", "))
	if len(unused) > 0 {
		t.Logf("policy actions no scenario called: %s", strings.Join(unused, ", "))
	}
}

// runIAMScenario runs one scenario and returns the simulator's calls.
func runIAMScenario(t *testing.T, s iamScenario) []ecssim.Call {
	sc := secretScenario()
	sc.TaskDefinitions[0].ContainerDefinitions[0].HealthCheck = &types.HealthCheck{
		Command: []string{"CMD-SHELL", "curl -f http://localhost/health || exit 1"}, Interval: aws.Int32(5), Retries: aws.Int32(2)}
	sc.ImageRules = append([]ecssim.ImageRule{
		{Image: "*:oom", Behavior: ecssim.BehaviorOOM},
		{Image: "*:pull", Behavior: ecssim.BehaviorPullError},
		{Image: "*:unhealthy", Behavior: ecssim.BehaviorUnhealthy},
		{Image: "*:crash-after", Behavior: ecssim.BehaviorCrashAfter, After: ecssim.Duration(30 * time.Millisecond)},
	}, sc.ImageRules...)
	if s.sc != nil {
		s.sc(&sc)
	}
	srv := ecssimtest.NewServer(t, sc)
	if s.before != nil {
		s.before(t, srv)
	}
	first := len(srv.Sim.Calls()) // the calls the action makes start here
	r := newActionRun(t, srv, s.inputs)
	if s.inputs["task-definition"] != "" {
		td := `{"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
			"taskRoleArn":"arn:aws:iam::123456789012:role/web-task","executionRoleArn":"arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
			"containerDefinitions":[{"name":"app","image":"repo/app:1","essential":true}],
			"tags":[{"key":"team","value":"payments"}]}`
		if err := os.WriteFile(r.dir+"/taskdef.json", []byte(td), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	switch {
	case s.killThenPost:
		r.start()
		waitFor(t, 30*time.Second, "the deployment to be watched", func() bool {
			return watching(srv) && strings.Contains(r.states()["checkpoint"], "watching")
		})
		r.signal(syscall.SIGKILL)
		r.wait(10 * time.Second)
		post := postRun(t, r)
		if code := post.run(); code != 0 {
			t.Errorf("post step: exit %d\n%s", code, post.dump())
		}
		if len(updatesTo(srv, prevTaskDef)) != 1 {
			t.Errorf("the post step did not roll back\n%s", post.dump())
		}
	default:
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if s.cancelWhileWatching {
			go func() {
				eventually(time.Minute, func() bool { return watching(srv) || ctx.Err() != nil })
				cancel()
			}()
		}
		var stdout, stderr bytes.Buffer
		realMain(ctx, nil, func(k string) string { return r.env[k] }, &stdout, &stderr)
		if got := readFileCommands(t, r.output)["status"]; got != s.wantStatus {
			t.Errorf("status: got %q, want %q\nstdout:\n%s\nstderr:\n%s", got, s.wantStatus, stdout.String(), stderr.String())
		}
	}
	calls := srv.Sim.Calls()[first:]
	for _, op := range s.wantOps {
		if !slices.ContainsFunc(calls, func(c ecssim.Call) bool { return c.Op == op && c.ErrCode == "" }) {
			t.Errorf("the scenario made no successful %s call: it no longer covers it", op)
		}
	}
	return calls
}
