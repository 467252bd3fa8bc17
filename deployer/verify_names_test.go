package deployer_test

import (
	"strings"
	"testing"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// TestVerifyNamesNoSecret: the verify phase names a secret or parameter by
// its container and variable, never by its name or ARN, also where AWS's
// error messages echo the ARN or the name (an error the phase reports as
// a notice) and where the execution role may not read it.
func TestVerifyNamesNoSecret(t *testing.T) {
	t.Parallel()
	const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment/db-Ab12Cd"
	srv := verifySim(t, func(sc *ecssim.Scenario) {
		sc.Roles[0].Statements = sc.Roles[0].Statements[:1] // the execution role may read neither
	})
	srv.Sim.InjectFault("DescribeSecret", ecssim.Fault{Error: "InvalidRequestException", Message: "You can't perform this operation on " + secretARN + " (payment/db) now."})
	srv.Sim.InjectFault("DescribeParameters", ecssim.Fault{Error: "ValidationException", Message: "Parameter /payment/api-key: invalid filter."})
	res, notices, _ := verifyRun(t, srv, verifyConfig(paymentRepo+":v2"))
	v := res.Verification
	if v == nil {
		t.Fatalf("no verification: %s", res.Reason)
	}
	all := append(append(append(append([]string{res.Reason}, notices...), v.Checked...), v.Problems...), v.Notices...)
	text := strings.Join(all, "\n")
	for _, s := range []string{"payment/db", "Ab12Cd", "payment/api-key"} {
		if strings.Contains(text, s) {
			t.Errorf("the verification prints %q:\n%s", s, text)
		}
	}
	for _, want := range []string{
		`secrets not verified: secretsmanager:DescribeSecret failed:`,
		`: container "app": secret DB_PASSWORD`,
		`parameters not verified: ssm:DescribeParameters failed:`,
		`container "app": the execution role payment-exec may not secretsmanager:GetSecretValue on secret DB_PASSWORD (implicitDeny)`,
		`container "app": the execution role payment-exec may not ssm:GetParameters on secret API_KEY (implicitDeny)`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the verification does not say %q:\n%s", want, text)
		}
	}
	if res.Status != deployer.StatusFailed {
		t.Errorf("status %s, want failed (the role may not read its secrets)", res.Status)
	}
	noChange(t, srv)
}
