package ecssim

import (
	"strings"
	"testing"
)

// TestAWSCLIAccountServices proves the wire format of ECR, Secrets
// Manager, SSM, CloudWatch Logs' DescribeLogGroups and IAM (awsQuery) with
// awscli, an independent client.
func TestAWSCLIAccountServices(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("awscli wire test skipped with -short")
	}
	srv, err := Start("127.0.0.1:0", verifyScenario(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cli := newAWSCLI(t, srv.URL)

	res := cli.okAll(
		[]string{"ecr", "describe-images", "--repository-name", "payment", "--image-ids", "imageTag=v2"},
		[]string{"ecr", "batch-get-image", "--repository-name", "payment", "--image-ids", "imageTag=v1",
			"--accepted-media-types", "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json"},
		[]string{"secretsmanager", "describe-secret", "--secret-id", "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment/db-Ab12Cd"},
		[]string{"ssm", "describe-parameters", "--parameter-filters", "Key=Name,Option=Equals,Values=/payment/api-key"},
		[]string{"ssm", "get-parameters", "--names", "/payment/api-key", "/payment/nope"},
		[]string{"logs", "describe-log-groups", "--log-group-name-prefix", "/ecs/payment"},
		[]string{"iam", "get-role", "--role-name", "payment-exec"},
		[]string{"iam", "simulate-principal-policy", "--policy-source-arn", "arn:aws:iam::123456789012:role/payment-exec",
			"--action-names", "secretsmanager:GetSecretValue", "--resource-arns", "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment/db-Ab12Cd"},
	)
	checks := []struct {
		got  any
		want any
	}{
		{dig(res[0], "imageDetails", 0, "imageTags", 1), "latest"},
		{dig(res[1], "images", 0, "imageManifestMediaType"), "application/vnd.oci.image.index.v1+json"},
		{dig(res[2], "Name"), "payment/db"},
		{dig(res[3], "Parameters", 0, "Type"), "SecureString"},
		{dig(res[4], "InvalidParameters", 0), "/payment/nope"},
		{dig(res[5], "logGroups", 0, "logGroupName"), "/ecs/payment"},
		{dig(res[6], "Role", "RoleName"), "payment-exec"},
		{dig(res[6], "Role", "AssumeRolePolicyDocument", "Statement", 0, "Principal", "Service"), "ecs-tasks.amazonaws.com"},
		{dig(res[7], "EvaluationResults", 0, "EvalDecision"), "allowed"},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: got %v, want %v", i, c.got, c.want)
		}
	}

	errCases := []struct {
		args []string
		want string
	}{
		{[]string{"ecr", "describe-images", "--repository-name", "payment", "--image-ids", "imageTag=v9"}, "ImageNotFoundException"},
		{[]string{"secretsmanager", "describe-secret", "--secret-id", "payment/nope"}, "ResourceNotFoundException"},
		{[]string{"iam", "get-role", "--role-name", "nope"}, "NoSuchEntity"},
	}
	var cmds [][]string
	for _, c := range errCases {
		cmds = append(cmds, c.args)
	}
	for i, r := range cli.all(cmds...) {
		if r.err == nil || !strings.Contains(r.stderr, errCases[i].want) {
			t.Errorf("aws %s: err %v, stderr %q; want %s", strings.Join(errCases[i].args, " "), r.err, r.stderr, errCases[i].want)
		}
	}
}
