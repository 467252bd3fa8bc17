package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// verifySim serves internal/action/scenarios/verify.json: service payment in
// cluster prod, its ECR repository, secret, parameter, log group and
// roles.
func verifySim(t *testing.T) *ecssim.Server {
	t.Helper()
	sc, err := ecssim.LoadScenario(filepath.Join("internal", "action", "scenarios", "verify.json"))
	if err != nil {
		t.Fatal(err)
	}
	return ecssimtest.NewServer(t, sc)
}

// verifyEnv is the runner's environment with every verified service at
// the simulator.
func verifyEnv(t *testing.T, url string, inputs map[string]string) map[string]string {
	env := feGitHubEnv(t, url, inputs)
	for _, s := range []string{"ECR", "SECRETS_MANAGER", "SSM", "IAM"} {
		env["AWS_ENDPOINT_URL_"+s] = url
	}
	return env
}

const verifyImage = "123456789012.dkr.ecr.us-east-1.amazonaws.com/payment"

// TestVerifyThroughTheBinary: a tag that was never pushed fails the step
// before anything is registered, with an ::error:: naming the container,
// the repository's newest tags, status failed, the reason output and the
// problem in the job summary.
func TestVerifyThroughTheBinary(t *testing.T) {
	t.Parallel()
	srv := verifySim(t)
	env := verifyEnv(t, srv.URL, map[string]string{"cluster": "prod", "service": "payment", "container-name": "app", "image": verifyImage + ":v3"})
	r := feRunMain(t.Context(), nil, env)
	if r.code != exitFail {
		t.Fatalf("exit %d, want %d\n%s", r.code, exitFail, r.stdout)
	}
	out := readFileCommands(t, env["GITHUB_OUTPUT"])
	problem := `container "app": image ` + verifyImage + `:v3: tag v3 was never pushed to repository payment (newest tags: v2-plain, v2-arm, v2, latest, v1)`
	if out["status"] != "failed" || !strings.Contains(out["reason"], problem) {
		t.Errorf("status %q, reason %q", out["status"], out["reason"])
	}
	log := r.stdout.String()
	if !strings.Contains(log, "::error::verify: "+problem) {
		t.Errorf("no ::error:: with the problem:\n%s", log)
	}
	if !strings.Contains(log, "::notice::verify: images outside private ECR are not verified") {
		t.Errorf("no notice for the envoy image:\n%s", log)
	}
	if s := readText(t, env["GITHUB_STEP_SUMMARY"]); !strings.Contains(s, "### Preflight: verified before any change") || !strings.Contains(s, "- ❌ container \"app\": image") {
		t.Errorf("summary lacks the verification:\n%s", s)
	}
	if m := srv.Sim.MutatingCalls(); len(m) > 0 {
		t.Errorf("mutating calls %v", m)
	}
}

// TestVerifyCommand: `ecs-rollout verify` runs the preflight and the
// verification alone: exit 0 for a revision that would deploy, 1 with
// every problem for one that would not, and never a change.
func TestVerifyCommand(t *testing.T) {
	t.Parallel()
	srv := verifySim(t)
	env := verifyEnv(t, srv.URL, nil)
	for _, k := range []string{"GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_STATE"} {
		delete(env, k)
	}
	ok := feRunMain(t.Context(), []string{"verify", "--cluster", "prod", "--service", "payment", "--container-name", "app", "--image", verifyImage + ":v2"}, env)
	if ok.code != exitOK || !strings.Contains(ok.stderr.String()+ok.stdout.String(), "Verified in") {
		t.Errorf("v2: exit %d\n%s%s", ok.code, ok.stdout, ok.stderr)
	}
	bad := feRunMain(t.Context(), []string{"verify", "--cluster", "prod", "--service", "payment", "--container-name", "app", "--image", verifyImage + ":v2-arm"}, env)
	if bad.code != exitFail || !strings.Contains(bad.stdout.String()+bad.stderr.String(), "is built for linux/arm64 only") {
		t.Errorf("v2-arm: exit %d\n%s%s", bad.code, bad.stdout, bad.stderr)
	}
	if m := srv.Sim.MutatingCalls(); len(m) > 0 {
		t.Errorf("mutating calls %v", m)
	}
}

// TestVerifyInputOff: verify: false makes no verification call.
func TestVerifyInputOff(t *testing.T) {
	t.Parallel()
	srv := verifySim(t)
	env := verifyEnv(t, srv.URL, map[string]string{"cluster": "prod", "service": "payment", "container-name": "app", "image": verifyImage + ":v3", "verify": "false", "dry-run": "true"})
	if r := feRunMain(t.Context(), nil, env); r.code != exitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	for _, c := range srv.Sim.Calls() {
		if c.Op != "DescribeServices" && c.Op != "DescribeTaskDefinition" {
			t.Errorf("%s called with verify: false", c.Op)
		}
	}
}

// TestVerifyCommandTaskDefinitionFile: `ecs-rollout verify
// --task-definition FILE` with no service verifies the file's revision
// (register-only, dry run): a pull-request check of a task definition.
func TestVerifyCommandTaskDefinitionFile(t *testing.T) {
	t.Parallel()
	srv := verifySim(t)
	env := verifyEnv(t, srv.URL, nil)
	for _, k := range []string{"GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_STATE"} {
		delete(env, k)
	}
	file := filepath.Join(t.TempDir(), "td.json")
	td := `{"family": "payment", "executionRoleArn": "arn:aws:iam::123456789012:role/payment-exec",
  "containerDefinitions": [{"name": "app", "image": "` + verifyImage + `:TAG", "memory": 256,
    "secrets": [{"name": "API_KEY", "valueFrom": "/payment/nope"}]}]}`
	for tag, want := range map[string]int{"v2": exitFail, "v3": exitFail} {
		if err := os.WriteFile(file, []byte(strings.ReplaceAll(td, "TAG", tag)), 0o600); err != nil {
			t.Fatal(err)
		}
		r := feRunMain(t.Context(), []string{"verify", "--task-definition", file}, env)
		out := r.stdout.String() + r.stderr.String()
		if r.code != want || !strings.Contains(out, `container "app": secret API_KEY: the SSM parameter it names does not exist in us-east-1`) {
			t.Errorf("%s: exit %d, want %d\n%s", tag, r.code, want, out)
		}
		if tag == "v3" && !strings.Contains(out, "tag v3 was never pushed") {
			t.Errorf("v3: the missing tag is not reported\n%s", out)
		}
	}
	if m := srv.Sim.MutatingCalls(); len(m) > 0 {
		t.Errorf("mutating calls %v", m)
	}
}
