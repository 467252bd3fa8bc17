package deployer_test

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// verifySim is internal/action/scenarios/verify.json (service payment in
// cluster prod, running payment:1 with app and envoy containers), changed
// by mutate.
func verifySim(t *testing.T, mutate ...func(*ecssim.Scenario)) *ecssim.Server {
	t.Helper()
	sc, err := ecssim.LoadScenario(filepath.Join("..", "internal", "action", "scenarios", "verify.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mutate {
		m(&sc)
	}
	return ecssimtest.NewServer(t, sc)
}

const paymentRepo = "123456789012.dkr.ecr.us-east-1.amazonaws.com/payment"

func verifyConfig(image string) deployer.Config {
	cfg := config(image)
	cfg.Service = "payment"
	cfg.Verify = true
	return cfg
}

// verifyRun deploys cfg to srv with the verify clients, collecting the
// notices.
func verifyRun(t *testing.T, srv *ecssim.Server, cfg deployer.Config) (deployer.Result, []string, *ecssimtest.VerifyClients) {
	t.Helper()
	ecsc, logs := ecssimtest.Clients(srv)
	vc := &ecssimtest.VerifyClients{URL: srv.URL}
	var mu sync.Mutex
	var notices []string
	d := deployer.New(ecsc, logs, deployer.WithVerifyClients(vc), deployer.WithReporter(func(ev deployer.Event) {
		if ev.Kind == deployer.EventNotice {
			mu.Lock()
			notices = append(notices, ev.Message)
			mu.Unlock()
		}
	}))
	res, _ := d.Deploy(context.Background(), cfg)
	return res, notices, vc
}

// noChange fails the test when anything was registered or updated.
func noChange(t *testing.T, srv *ecssim.Server) {
	t.Helper()
	if m := srv.Sim.MutatingCalls(); len(m) > 0 {
		t.Errorf("mutating calls: %v; want none", m)
	}
}

// TestVerifyPasses: a revision whose image (with the task's platform in
// its index), secret, parameter, log group and roles are all there
// deploys, with one call per resource and one simulation.
func TestVerifyPasses(t *testing.T) {
	t.Parallel()
	srv := verifySim(t)
	res, notices, vc := verifyRun(t, srv, verifyConfig(paymentRepo+":v2"))
	if res.Status != deployer.StatusSucceeded {
		t.Fatalf("status %s: %s", res.Status, res.Reason)
	}
	v := res.Verification
	if v == nil || len(v.Problems) > 0 {
		t.Fatalf("verification: %+v", v)
	}
	for _, want := range []string{"image " + paymentRepo + ":v2 (linux/amd64 in its index)", `container "app": secret DB_PASSWORD (Secrets Manager)`, `container "app": secret API_KEY (SSM parameter)`,
		"log group /ecs/payment", "execution role payment-exec (trusts ECS tasks)", "task role payment-task (trusts ECS tasks)"} {
		if !slices.Contains(v.Checked, want) {
			t.Errorf("checked %q missing from %q", want, v.Checked)
		}
	}
	// The envoy sidecar's image is on ECR Public: a notice, not an error.
	if len(notices) != 1 || !strings.Contains(notices[0], "aws-appmesh-envoy") {
		t.Errorf("notices %q, want one about the envoy image", notices)
	}
	// DescribeImages, BatchGetImage, DescribeSecret, DescribeParameters,
	// DescribeLogGroups, GetRole ×2, SimulatePrincipalPolicy.
	counts := map[string]int{}
	for _, c := range srv.Sim.Calls() {
		counts[c.Op]++
	}
	for op, n := range map[string]int{"DescribeImages": 1, "BatchGetImage": 1, "DescribeSecret": 1, "DescribeParameters": 1, "DescribeLogGroups": 1, "GetRole": 2, "SimulatePrincipalPolicy": 1, "GetParameters": 0} {
		if counts[op] != n {
			t.Errorf("%s called %d times, want %d", op, counts[op], n)
		}
	}
	if v.Calls != 8 {
		t.Errorf("Verification.Calls %d, want 8", v.Calls)
	}
	made := vc.Made()
	slices.Sort(made)
	if want := []string{"ecr@us-east-1", "iam@", "logs@us-east-1", "secretsmanager@us-east-1", "ssm@us-east-1"}; !slices.Equal(slices.Compact(made), want) {
		t.Errorf("clients asked for: %v, want %v", made, want)
	}
}

// TestVerifyFindsEveryProblemAtOnce: a tag never pushed, a missing secret
// and a missing parameter are reported together, each naming its
// container, and nothing is registered or updated.
func TestVerifyFindsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	srv := verifySim(t, func(sc *ecssim.Scenario) {
		sc.Secrets, sc.Parameters = nil, nil
	})
	res, _, _ := verifyRun(t, srv, verifyConfig(paymentRepo+":v3"))
	if res.Status != deployer.StatusFailed {
		t.Fatalf("status %s, want failed", res.Status)
	}
	want := []string{
		`container "app": image ` + paymentRepo + `:v3: tag v3 was never pushed to repository payment (newest tags: v2-plain, v2-arm, v2, latest, v1): the tasks would stop with CannotPullContainerError`,
		`container "app": secret DB_PASSWORD: the Secrets Manager secret it names does not exist: the tasks would stop with ResourceInitializationError`,
		`container "app": secret API_KEY: the SSM parameter it names does not exist in us-east-1: the tasks would stop with ResourceInitializationError`,
	}
	if got := res.Verification.Problems; !slices.Equal(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
	for _, w := range want {
		if !strings.Contains(res.Reason, w) {
			t.Errorf("reason %q lacks %q", res.Reason, w)
		}
	}
	if strings.Contains(res.Reason, "arn:aws:secretsmanager") {
		t.Errorf("reason shows a secret ARN: %s", res.Reason)
	}
	noChange(t, srv)
}

// TestVerifyPlatform: an image whose index lacks the task's platform
// (X86_64 by default) stops the deploy; one built for it passes; a plain
// manifest skips the platform with a notice.
func TestVerifyPlatform(t *testing.T) {
	t.Parallel()
	t.Run("arm64 only", func(t *testing.T) {
		t.Parallel()
		srv := verifySim(t)
		res, _, _ := verifyRun(t, srv, verifyConfig(paymentRepo+":v2-arm"))
		if res.Status != deployer.StatusFailed || !strings.Contains(res.Reason, "is built for linux/arm64 only; the task definition runs on LINUX/X86_64 (runtimePlatform): the tasks would stop with exec format error") {
			t.Errorf("status %s, reason %q", res.Status, res.Reason)
		}
		noChange(t, srv)
	})
	t.Run("arm64 task", func(t *testing.T) {
		t.Parallel()
		srv := verifySim(t, func(sc *ecssim.Scenario) {
			sc.TaskDefinitions[0].RuntimePlatform = &ecstypesRuntimePlatformARM
		})
		res, _, _ := verifyRun(t, srv, verifyConfig(paymentRepo+":v2-arm"))
		if res.Status != deployer.StatusSucceeded {
			t.Errorf("status %s, reason %q", res.Status, res.Reason)
		}
	})
	t.Run("plain manifest", func(t *testing.T) {
		t.Parallel()
		srv := verifySim(t)
		res, notices, _ := verifyRun(t, srv, verifyConfig(paymentRepo+":v2-plain"))
		if res.Status != deployer.StatusSucceeded || !slices.ContainsFunc(notices, func(n string) bool { return strings.Contains(n, "single-platform manifests") }) {
			t.Errorf("status %s, notices %q", res.Status, notices)
		}
	})
}

// TestVerifyDeniedIsNotFailed: when the deploying role may not call the
// verification APIs, each kind is one notice naming the permission, and
// the deploy goes on; DescribeParameters denied falls back to
// GetParameters.
func TestVerifyDeniedIsNotFailed(t *testing.T) {
	t.Parallel()
	srv := verifySim(t)
	for _, op := range []string{"DescribeImages", "DescribeSecret", "DescribeParameters", "DescribeLogGroups"} {
		srv.Sim.InjectFault(op, ecssim.Fault{Error: "AccessDeniedException"})
	}
	srv.Sim.InjectFault("GetRole", ecssim.Fault{Error: "AccessDenied"})
	srv.Sim.InjectFault("SimulatePrincipalPolicy", ecssim.Fault{Error: "AccessDenied"})
	res, notices, _ := verifyRun(t, srv, verifyConfig(paymentRepo+":v2"))
	if res.Status != deployer.StatusSucceeded {
		t.Fatalf("status %s: %s", res.Status, res.Reason)
	}
	for _, perm := range []string{"ecr:DescribeImages", "secretsmanager:DescribeSecret", "logs:DescribeLogGroups", "iam:GetRole", "iam:SimulatePrincipalPolicy"} {
		n := 0
		for _, msg := range notices {
			if strings.Contains(msg, "may not call "+perm) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d notices name %s, want 1: %q", n, perm, notices)
		}
	}
	if !slices.Contains(res.Verification.Checked, `container "app": secret API_KEY (SSM parameter)`) {
		t.Errorf("the parameter was not verified with GetParameters: %q", res.Verification.Checked)
	}
}

// TestVerifyExecutionRole: the execution role's permissions are
// simulated (nothing is assumed); a deny names the role, the action and
// the resource. A task role that ECS tasks may not assume is an error.
func TestVerifyExecutionRole(t *testing.T) {
	t.Parallel()
	srv := verifySim(t, func(sc *ecssim.Scenario) {
		sc.TaskDefinitions[0].ExecutionRoleArn = aws.String("arn:aws:iam::123456789012:role/payment-exec-nosecrets")
		sc.TaskDefinitions[0].TaskRoleArn = aws.String("arn:aws:iam::123456789012:role/lambda-role")
	})
	res, _, _ := verifyRun(t, srv, verifyConfig(paymentRepo+":v2"))
	want := []string{
		`container "app": the execution role payment-exec-nosecrets may not secretsmanager:GetSecretValue on secret DB_PASSWORD (implicitDeny): the tasks would stop with ResourceInitializationError`,
		`container "app": the execution role payment-exec-nosecrets may not ssm:GetParameters on secret API_KEY (explicitDeny): the tasks would stop with ResourceInitializationError`,
		`the task role lambda-role does not let ecs-tasks.amazonaws.com sts:AssumeRole (its trust policy): ECS could not start the tasks`,
	}
	if res.Verification == nil || !slices.Equal(res.Verification.Problems, want) {
		t.Errorf("problems:\n got %+v\nwant %q", res.Verification, want)
	}
	noChange(t, srv)
	for _, c := range srv.Sim.Calls() {
		if strings.Contains(c.Op, "Assume") {
			t.Errorf("%s called", c.Op)
		}
	}
}

// TestVerifyOff: verify false makes no verification call and asks for no
// client.
func TestVerifyOff(t *testing.T) {
	t.Parallel()
	srv := verifySim(t)
	cfg := verifyConfig(paymentRepo + ":v3")
	cfg.Verify = false
	res, _, vc := verifyRun(t, srv, cfg)
	if res.Verification != nil || len(vc.Made()) > 0 {
		t.Errorf("verification %+v, clients %v", res.Verification, vc.Made())
	}
	for _, c := range srv.Sim.Calls() {
		switch c.Op {
		case "DescribeImages", "BatchGetImage", "DescribeSecret", "DescribeParameters", "GetParameters", "DescribeLogGroups", "GetRole", "SimulatePrincipalPolicy":
			t.Errorf("%s called with verify false", c.Op)
		}
	}
}

// TestVerifyDryRunPlan: a dry run lists what was verified in its plan.
func TestVerifyDryRunPlan(t *testing.T) {
	t.Parallel()
	srv := verifySim(t)
	cfg := verifyConfig(paymentRepo + ":v2")
	cfg.DryRun = true
	res, _, _ := verifyRun(t, srv, cfg)
	if res.Status != deployer.StatusDryRun {
		t.Fatalf("status %s: %s", res.Status, res.Reason)
	}
	plan := strings.Join(res.Plan, "\n")
	for _, want := range []string{"verified before any change", "  image " + paymentRepo + ":v2 (linux/amd64 in its index)", "  not verified: verify: images outside private ECR"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	noChange(t, srv)
}

// TestVerifyEveryServiceFirst: with several services, every service's
// revision is verified before any change: the first passes, the second's
// missing secret stops the step, and nothing is registered.
func TestVerifyEveryServiceFirst(t *testing.T) {
	t.Parallel()
	srv := verifySim(t, func(sc *ecssim.Scenario) {
		td := sc.TaskDefinitions[0]
		td.Family = aws.String("worker")
		td.ContainerDefinitions = slices.Clone(td.ContainerDefinitions)
		td.ContainerDefinitions[0].Secrets = []types.Secret{{Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:worker/db-Zz99Yy")}}
		sc.TaskDefinitions = append(sc.TaskDefinitions, td)
		w := sc.Services[0]
		w.Name, w.TaskDefinition = "worker", "worker:1"
		sc.Services = append(sc.Services, w)
	})
	cfg := verifyConfig(paymentRepo + ":v2")
	cfg.Service = ""
	cfg.Services = []deployer.Target{{Cluster: "prod", Service: "payment"}, {Cluster: "prod", Service: "worker"}}
	res, _, _ := verifyRun(t, srv, cfg)
	if res.Status != deployer.StatusFailed || len(res.Services) != 2 {
		t.Fatalf("status %s, %d services", res.Status, len(res.Services))
	}
	if v := res.Services[0].Verification; v == nil || len(v.Problems) != 0 {
		t.Errorf("payment: verification %+v", v)
	}
	if v := res.Services[1].Verification; v == nil || len(v.Problems) == 0 || !strings.Contains(v.Problems[0], `container "app": secret DB_PASSWORD: the Secrets Manager secret it names does not exist`) || strings.Contains(strings.Join(v.Problems, " "), "worker/db") {
		t.Errorf("worker: verification %+v", v)
	}
	noChange(t, srv)
}

// TestVerifyTakesUnderASecond: the phase's own duration against the
// simulator.
func TestVerifyTakesUnderASecond(t *testing.T) {
	t.Parallel()
	srv := verifySim(t)
	cfg := verifyConfig(paymentRepo + ":v2")
	cfg.DryRun = true
	res, _, _ := verifyRun(t, srv, cfg)
	if res.Verification == nil || res.Verification.Duration > time.Second {
		t.Errorf("verification %+v", res.Verification)
	}
}

var ecstypesRuntimePlatformARM = types.RuntimePlatform{CpuArchitecture: types.CPUArchitectureArm64, OperatingSystemFamily: types.OSFamilyLinux}

// TestVerifyHungCallIsANotice: a verification call that does not answer
// holds the deploy for at most the phase's 30 s (on the fake clock), then
// is a notice and the deploy goes on.
func TestVerifyHungCallIsANotice(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sc, err := ecssim.LoadScenario(filepath.Join("..", "internal", "action", "scenarios", "verify.json"))
		if err != nil {
			t.Fatal(err)
		}
		sim, err := ecssim.New(sc)
		if err != nil {
			t.Fatal(err)
		}
		defer sim.Close()
		h := sim.Hold("DescribeSecret")
		defer h.Release()
		ecsc, _ := ecssimtest.InMemoryClients(sim)
		var notices []string
		d := deployer.New(ecsc, nil, deployer.WithVerifyClients(&ecssimtest.VerifyClients{URL: "http://sim", HTTPClient: cancellable{ecssimtest.Client{Sim: sim}}}),
			deployer.WithReporter(func(ev deployer.Event) {
				if ev.Kind == deployer.EventNotice {
					notices = append(notices, ev.Message)
				}
			}))
		cfg := verifyConfig(paymentRepo + ":v2")
		cfg.DryRun = true
		start := time.Now()
		res, _ := d.Deploy(context.Background(), cfg)
		if res.Status != deployer.StatusDryRun {
			t.Errorf("status %s: %s", res.Status, res.Reason)
		}
		if took := time.Since(start); took < 30*time.Second || took > 31*time.Second {
			t.Errorf("took %s, want the phase's 30 s", took)
		}
		if !slices.ContainsFunc(notices, func(n string) bool {
			return strings.Contains(n, "secrets not verified: secretsmanager:DescribeSecret failed")
		}) {
			t.Errorf("notices %q", notices)
		}
	})
}

// cancellable fails a request whose context ended while the simulator
// held it, as a real HTTP transport does (in memory, the simulator's
// unanswered request would read as an empty 200).
type cancellable struct{ c ecssimtest.Client }

func (c cancellable) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.c.Do(r)
	if r.Context().Err() != nil {
		return nil, r.Context().Err()
	}
	return resp, err
}
