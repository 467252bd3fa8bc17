package ecssim

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// waitSimSD waits (through the Sim, not the wire) until the service's
// newest service deployment satisfies cond.
func waitSimSD(t *testing.T, s *Sim, what string, cond func(types.ServiceDeployment) bool) types.ServiceDeployment {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sds := s.ServiceDeployments("prod", "web")
		if len(sds) > 0 && cond(sds[0]) {
			return sds[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %+v", what, sds[0])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func awaitingAction(sd types.ServiceDeployment) bool {
	return len(sd.LifecycleHookDetails) == 1 && sd.LifecycleHookDetails[0].Status == types.DeploymentLifecycleHookStatusAwaitingAction
}

// TestAWSCLIServiceDeployments proves the wire format of the
// service-deployment operations with awscli (botocore): a blue/green
// deployment paused at a PAUSE hook is listed, described, its revisions
// described, continued; a second one is stopped with a rollback.
func TestAWSCLIServiceDeployments(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("awscli wire test skipped with -short: it starts awscli processes (seconds each)")
	}
	sc := stagedWorld("BLUE_GREEN", 2, 50*time.Millisecond, func(sc *Scenario) {
		sc.Services[0].DeploymentConfiguration.LifecycleHooks = []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages:      []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift},
			TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(1440)}}}
	})
	srv, err := Start("127.0.0.1:0", sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cli := newAWSCLI(t, srv.URL)
	initial := aws.ToString(srv.Sim.ServiceDeployments("prod", "web")[0].ServiceDeploymentArn)

	up := cli.ok("ecs", "update-service", "--cluster", "prod", "--service", "web", "--force-new-deployment")
	arn, _ := dig(up, "service", "currentServiceDeployment").(string)
	if arn == "" || arn == initial || dig(up, "service", "deploymentConfiguration", "strategy") != "BLUE_GREEN" ||
		dig(up, "service", "loadBalancers", 0, "advancedConfiguration", "alternateTargetGroupArn") != greenTG {
		t.Fatalf("update-service: currentServiceDeployment %q, deploymentConfiguration %v, loadBalancers %v", arn, dig(up, "service", "deploymentConfiguration"), dig(up, "service", "loadBalancers"))
	}
	waitSimSD(t, srv.Sim, "the PAUSE hook", awaitingAction)

	res := cli.okAll(
		[]string{"ecs", "list-service-deployments", "--cluster", "prod", "--service", "web"},
		[]string{"ecs", "list-service-deployments", "--cluster", "prod", "--service", "web", "--status", "SUCCESSFUL"},
		[]string{"ecs", "describe-service-deployments", "--service-deployment-arns", arn, arn + "x"},
	)
	if got := dig(res[0], "serviceDeployments", 0, "serviceDeploymentArn"); got != arn {
		t.Errorf("list-service-deployments: newest %v, want %s", got, arn)
	}
	if got := dig(res[0], "serviceDeployments", 1, "serviceDeploymentArn"); got != initial {
		t.Errorf("list-service-deployments: second %v, want the service's first %s", got, initial)
	}
	if all, _ := dig(res[1], "serviceDeployments").([]any); len(all) != 1 || dig(res[1], "serviceDeployments", 0, "status") != "SUCCESSFUL" {
		t.Errorf("list-service-deployments --status SUCCESSFUL: %v", dig(res[1], "serviceDeployments"))
	}
	sd := res[2]
	checks := []struct {
		path []any
		want any
	}{
		{[]any{"serviceDeployments", 0, "status"}, "IN_PROGRESS"},
		{[]any{"serviceDeployments", 0, "lifecycleStage"}, "POST_TEST_TRAFFIC_SHIFT"},
		{[]any{"serviceDeployments", 0, "targetServiceRevision", "requestedTestTrafficWeight"}, 100.0},
		{[]any{"serviceDeployments", 0, "targetServiceRevision", "requestedProductionTrafficWeight"}, 0.0},
		{[]any{"serviceDeployments", 0, "sourceServiceRevisions", 0, "requestedProductionTrafficWeight"}, 100.0},
		{[]any{"serviceDeployments", 0, "sourceServiceRevisions", 0, "runningTaskCount"}, 2.0},
		{[]any{"serviceDeployments", 0, "lifecycleHookDetails", 0, "status"}, "AWAITING_ACTION"},
		{[]any{"serviceDeployments", 0, "lifecycleHookDetails", 0, "targetType"}, "PAUSE"},
		{[]any{"serviceDeployments", 0, "deploymentConfiguration", "strategy"}, "BLUE_GREEN"},
		{[]any{"serviceDeployments", 0, "deploymentCircuitBreaker", "status"}, "DISABLED"},
		{[]any{"failures", 0, "reason"}, "MISSING"},
	}
	for _, c := range checks {
		if got := dig(sd, c.path...); got != c.want {
			t.Errorf("describe-service-deployments %v: got %v, want %v", c.path, got, c.want)
		}
	}
	if ts, ok := dig(sd, "serviceDeployments", 0, "lifecycleHookDetails", 0, "expiresAt").(float64); !ok || ts < 1.6e9 {
		t.Errorf("describe-service-deployments: expiresAt %v, want epoch seconds", dig(sd, "serviceDeployments", 0, "lifecycleHookDetails", 0, "expiresAt"))
	}
	hookID, _ := dig(sd, "serviceDeployments", 0, "lifecycleHookDetails", 0, "hookId").(string)
	target, _ := dig(sd, "serviceDeployments", 0, "targetServiceRevision", "arn").(string)
	source, _ := dig(sd, "serviceDeployments", 0, "sourceServiceRevisions", 0, "arn").(string)

	res = cli.okAll(
		[]string{"ecs", "describe-service-revisions", "--service-revision-arns", target, source},
		[]string{"ecs", "continue-service-deployment", "--service-deployment-arn", arn, "--hook-id", hookID, "--action", "CONTINUE"},
	)
	if got := dig(res[0], "serviceRevisions", 0, "resolvedConfiguration", "loadBalancers", 0, "targetGroupArn"); got != greenTG {
		t.Errorf("describe-service-revisions: target's target group %v, want the alternate %s", got, greenTG)
	}
	if got := dig(res[0], "serviceRevisions", 1, "loadBalancers", 0, "advancedConfiguration", "productionListenerRule"); got != prodRule {
		t.Errorf("describe-service-revisions: source's productionListenerRule %v, want %s", got, prodRule)
	}
	if got := dig(res[0], "serviceRevisions", 0, "containerImages", 0, "image"); got != "app:v1" {
		t.Errorf("describe-service-revisions: image %v, want app:v1", got)
	}
	if got := dig(res[1], "serviceDeploymentArn"); got != arn {
		t.Errorf("continue-service-deployment: %v, want %s", got, arn)
	}
	waitSimSD(t, srv.Sim, "SUCCESSFUL", func(sd types.ServiceDeployment) bool { return sd.Status == types.ServiceDeploymentStatusSuccessful })

	// A second deployment, stopped with a rollback while it waits.
	mid := time.Now()
	up = cli.ok("ecs", "update-service", "--cluster", "prod", "--service", "web", "--force-new-deployment")
	second, _ := dig(up, "service", "currentServiceDeployment").(string)
	waitSimSD(t, srv.Sim, "the PAUSE hook again", awaitingAction)
	after := strconv.FormatInt(mid.Unix()-1, 10)
	res = cli.okAll(
		[]string{"ecs", "stop-service-deployment", "--service-deployment-arn", second, "--stop-type", "ROLLBACK"},
		[]string{"ecs", "list-service-deployments", "--cluster", "prod", "--service", "web", "--created-at", "after=" + after},
	)
	if got := dig(res[0], "serviceDeploymentArn"); got != second {
		t.Errorf("stop-service-deployment: %v, want %s", got, second)
	}
	if got, _ := dig(res[1], "serviceDeployments").([]any); len(got) < 1 || dig(res[1], "serviceDeployments", 0, "serviceDeploymentArn") != second {
		t.Errorf("list-service-deployments --created-at after=%s: %v", after, got)
	}
	final := waitSimSD(t, srv.Sim, "ROLLBACK_SUCCESSFUL", func(sd types.ServiceDeployment) bool {
		return sd.Status == types.ServiceDeploymentStatusRollbackSuccessful
	})
	m := cli.ok("ecs", "describe-service-deployments", "--service-deployment-arns", second)
	if got := dig(m, "serviceDeployments", 0, "rollback", "serviceRevisionArn"); got != aws.ToString(final.Rollback.ServiceRevisionArn) || got == nil {
		t.Errorf("describe-service-deployments after the rollback: rollback %v", dig(m, "serviceDeployments", 0, "rollback"))
	}

	errs := cli.all(
		[]string{"ecs", "stop-service-deployment", "--service-deployment-arn", second},
		[]string{"ecs", "continue-service-deployment", "--service-deployment-arn", arn + "x", "--hook-id", hookID},
		[]string{"ecs", "continue-service-deployment", "--service-deployment-arn", arn, "--hook-id", hookID}, // continued already
	)
	for i, want := range []string{"ConflictException", "ServiceDeploymentNotFoundException", "ClientException"} {
		if errs[i].err == nil || !strings.Contains(errs[i].stderr, want) {
			t.Errorf("error case %d: err %v, stderr %q, want %s", i, errs[i].err, errs[i].stderr, want)
		}
	}
	ops := map[string]bool{}
	for _, c := range srv.Sim.Calls() {
		ops[c.Op] = true
	}
	for _, op := range []string{"ListServiceDeployments", "DescribeServiceDeployments", "DescribeServiceRevisions", "StopServiceDeployment", "ContinueServiceDeployment"} {
		if !ops[op] {
			t.Errorf("operation %s never reached the simulator", op)
		}
	}
}
