package ecssim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// waitSimCD waits (through the Sim, not the wire) until CodeDeploy
// deployment id satisfies cond.
func waitSimCD(t *testing.T, s *Sim, id, what string, cond func(status string, termWait bool) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, tw := s.CodeDeployStatus(id)
		if cond(st, tw) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAWSCLICodeDeploy proves the wire format of the CodeDeploy operations
// with awscli (botocore's `aws deploy`): a deployment group is read, a
// deployment created with AppSpec content waits in Ready, is continued,
// reaches the termination wait and is stopped with a rollback.
func TestAWSCLICodeDeploy(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("awscli wire test skipped with -short: it starts awscli processes (seconds each)")
	}
	sc := CodeDeployWorld("prod", "web", FargateApp("web", "app:v1"), 2, func(g *ScenarioDeploymentGroup) {
		g.ReadyAction, g.ReadyWaitMinutes, g.TerminationWaitMinutes = "STOP_DEPLOYMENT", 1440, 1440
	})
	sc.Timings = Timings{Minute: Duration(50 * time.Millisecond), Stage: Duration(2 * time.Millisecond)}
	srv, err := Start("127.0.0.1:0", sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cli := newAWSCLI(t, srv.URL)

	content := appSpec("arn:aws:ecs:us-east-1:123456789012:task-definition/web:1", map[string]string{"AfterAllowTestTraffic": "smoke-test"})
	sum := sha256.Sum256([]byte(content))
	rev, _ := json.Marshal(map[string]any{"revisionType": "AppSpecContent", "appSpecContent": map[string]string{"content": content, "sha256": hex.EncodeToString(sum[:])}})
	res := cli.okAll(
		[]string{"deploy", "get-deployment-group", "--application-name", cdApp, "--deployment-group-name", cdGroupName},
		[]string{"deploy", "create-deployment", "--application-name", cdApp, "--deployment-group-name", cdGroupName, "--revision", string(rev), "--description", "from awscli"},
	)
	if dig(res[0], "deploymentGroupInfo", "ecsServices", 0, "serviceName") != "web" ||
		dig(res[0], "deploymentGroupInfo", "blueGreenDeploymentConfiguration", "deploymentReadyOption", "actionOnTimeout") != "STOP_DEPLOYMENT" ||
		dig(res[0], "deploymentGroupInfo", "computePlatform") != "ECS" {
		t.Errorf("get-deployment-group: %v", res[0])
	}
	id, _ := dig(res[1], "deploymentId").(string)
	if len(id) != 11 || id[:2] != "d-" {
		t.Fatalf("create-deployment: deploymentId %q", id)
	}
	waitSimCD(t, srv.Sim, id, "Ready", func(st string, _ bool) bool { return st == "Ready" })

	res = cli.okAll(
		[]string{"deploy", "get-deployment", "--deployment-id", id},
		[]string{"deploy", "list-deployment-targets", "--deployment-id", id},
		[]string{"deploy", "get-deployment-target", "--deployment-id", id, "--target-id", "prod:web"},
		[]string{"ecs", "describe-services", "--cluster", "prod", "--services", "web"},
	)
	cli.ok("deploy", "continue-deployment", "--deployment-id", id, "--deployment-wait-type", "READY_WAIT")
	if dig(res[0], "deploymentInfo", "status") != "Ready" || dig(res[0], "deploymentInfo", "description") != "from awscli" {
		t.Errorf("get-deployment: %v", res[0])
	}
	if dig(res[1], "targetIds", 0) != "prod:web" {
		t.Errorf("list-deployment-targets: %v", res[1])
	}
	tg := res[2]
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"deploymentTarget", "deploymentTargetType"}, "ECSTarget"},
		{[]any{"deploymentTarget", "ecsTarget", "status"}, "Ready"},
		{[]any{"deploymentTarget", "ecsTarget", "lifecycleEvents", 4, "lifecycleEventName"}, "AfterAllowTestTraffic"},
		{[]any{"deploymentTarget", "ecsTarget", "lifecycleEvents", 4, "status"}, "Succeeded"},
		{[]any{"deploymentTarget", "ecsTarget", "taskSetsInfo", 1, "taskSetLabel"}, "Green"},
		{[]any{"deploymentTarget", "ecsTarget", "taskSetsInfo", 1, "trafficWeight"}, 0.0},
		{[]any{"deploymentTarget", "ecsTarget", "taskSetsInfo", 1, "runningCount"}, 2.0},
	} {
		if got := dig(tg, c.path...); got != c.want {
			t.Errorf("get-deployment-target %v: got %v, want %v", c.path, got, c.want)
		}
	}
	if dig(res[3], "services", 0, "deploymentController", "type") != "CODE_DEPLOY" || dig(res[3], "services", 0, "taskSets", 1, "status") != "ACTIVE" {
		t.Errorf("describe-services: %v", dig(res[3], "services", 0, "taskSets"))
	}
	waitSimCD(t, srv.Sim, id, "the termination wait", func(_ string, tw bool) bool { return tw })
	res = cli.okAll([]string{"deploy", "stop-deployment", "--deployment-id", id, "--auto-rollback-enabled"})
	if dig(res[0], "status") != "Pending" {
		t.Errorf("stop-deployment: %v", res[0])
	}
	res = cli.okAll([]string{"deploy", "get-deployment", "--deployment-id", id})
	rb, _ := dig(res[0], "deploymentInfo", "rollbackInfo", "rollbackDeploymentId").(string)
	if dig(res[0], "deploymentInfo", "status") != "Stopped" || rb == "" {
		t.Fatalf("get-deployment after stop-deployment: %v", res[0])
	}
	waitSimCD(t, srv.Sim, rb, "the rollback", func(st string, _ bool) bool { return st == "Succeeded" })
	res = cli.okAll([]string{"deploy", "get-deployment", "--deployment-id", rb})
	if dig(res[0], "deploymentInfo", "creator") != "codeDeployRollback" {
		t.Errorf("get-deployment of the rollback: %v", res[0])
	}
	_, stderr, err := cli.run("deploy", "stop-deployment", "--deployment-id", id)
	if err == nil || !strings.Contains(stderr, "DeploymentAlreadyCompletedException") {
		t.Errorf("stop-deployment of a stopped deployment: %v %s", err, stderr)
	}
}
