package ecssim

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"path/filepath"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// verifyScenario loads internal/action/scenarios/verify.json.
func verifyScenario(t testing.TB) Scenario {
	t.Helper()
	sc, err := LoadScenario(filepath.Join("..", "action", "scenarios", "verify.json"))
	if err != nil {
		t.Fatalf("load verify scenario: %v", err)
	}
	return sc
}

// accountClients are SDK clients of the account services pointed at srv.
type accountClients struct {
	ecr  *ecr.Client
	sm   *secretsmanager.Client
	ssm  *ssm.Client
	iam  *iam.Client
	logs *cloudwatchlogs.Client
}

func newAccountClients(srv *Server) accountClients {
	ep := aws.String(srv.URL)
	return accountClients{
		ecr:  ecr.New(ecr.Options{Region: "us-east-1", BaseEndpoint: ep, Credentials: testCreds}),
		sm:   secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: ep, Credentials: testCreds}),
		ssm:  ssm.New(ssm.Options{Region: "us-east-1", BaseEndpoint: ep, Credentials: testCreds}),
		iam:  iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: ep, Credentials: testCreds}),
		logs: cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: ep, Credentials: testCreds}),
	}
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestECRThroughSDK follows the ECR API reference: DescribeImages by tag
// (ImageNotFoundException, RepositoryNotFoundException), a page of tagged
// images, and BatchGetImage's manifests: an OCI image index with its
// platforms and buildx's attestation entry, or a plain manifest.
func TestECRThroughSDK(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, verifyScenario(t))
	c := newAccountClients(srv).ecr
	ctx := context.Background()

	out, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("payment"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v2")}}})
	if err != nil {
		t.Fatalf("DescribeImages v2: %v", err)
	}
	if len(out.ImageDetails) != 1 || !cmp.Equal(out.ImageDetails[0].ImageTags, []string{"v2", "latest"}) || out.ImageDetails[0].ImagePushedAt == nil {
		t.Errorf("DescribeImages v2: got %+v", out.ImageDetails)
	}
	if _, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("payment"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v3")}}}); errorCode(err) != "ImageNotFoundException" {
		t.Errorf("DescribeImages v3: got %v, want ImageNotFoundException", err)
	}
	var rnf *ecrtypes.RepositoryNotFoundException
	if _, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("nope"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v1")}}}); !errors.As(err, &rnf) {
		t.Errorf("DescribeImages nope: got %v, want RepositoryNotFoundException", err)
	}
	page, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("payment"), Filter: &ecrtypes.DescribeImagesFilter{TagStatus: ecrtypes.TagStatusTagged}, MaxResults: aws.Int32(3)})
	if err != nil {
		t.Fatalf("DescribeImages page: %v", err)
	}
	if len(page.ImageDetails) != 3 || page.NextToken == nil {
		t.Errorf("DescribeImages page: %d images, next %v; want 3 and a token", len(page.ImageDetails), page.NextToken)
	}

	got, err := c.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("payment"),
		ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v1")}, {ImageTag: aws.String("v2-plain")}, {ImageTag: aws.String("gone")}}})
	if err != nil {
		t.Fatalf("BatchGetImage: %v", err)
	}
	if len(got.Images) != 2 || len(got.Failures) != 1 || got.Failures[0].FailureCode != ecrtypes.ImageFailureCodeImageNotFound {
		t.Fatalf("BatchGetImage: %d images, failures %+v", len(got.Images), got.Failures)
	}
	var index struct {
		MediaType string
		Manifests []struct {
			Platform struct{ OS, Architecture string }
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(got.Images[0].ImageManifest)), &index); err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, m := range index.Manifests {
		plats = append(plats, m.Platform.OS+"/"+m.Platform.Architecture)
	}
	sort.Strings(plats)
	if want := []string{"linux/amd64", "linux/arm64", "unknown/unknown", "unknown/unknown"}; index.MediaType != mediaOCIIndex || !cmp.Equal(plats, want) {
		t.Errorf("v1 manifest: %s %v, want an index of %v", index.MediaType, plats, want)
	}
	if mt := aws.ToString(got.Images[1].ImageManifestMediaType); mt != mediaOCIManifest {
		t.Errorf("v2-plain media type %s, want %s", mt, mediaOCIManifest)
	}
}

// TestSecretsAndParametersThroughSDK follows DescribeSecret (name, ARN,
// partial ARN; ResourceNotFoundException), DescribeParameters (the Name
// filter) and GetParameters (InvalidParameters).
func TestSecretsAndParametersThroughSDK(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, verifyScenario(t))
	cs := newAccountClients(srv)
	ctx := context.Background()
	for _, id := range []string{"payment/db", "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment/db-Ab12Cd", "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment/db"} {
		out, err := cs.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
		if err != nil || aws.ToString(out.Name) != "payment/db" {
			t.Errorf("DescribeSecret %s: %v, %+v", id, err, out)
		}
	}
	var nf *smtypes.ResourceNotFoundException
	if _, err := cs.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("payment/nope")}); !errors.As(err, &nf) {
		t.Errorf("DescribeSecret payment/nope: got %v, want ResourceNotFoundException", err)
	}

	dp, err := cs.ssm.DescribeParameters(ctx, &ssm.DescribeParametersInput{MaxResults: aws.Int32(50), ParameterFilters: []ssmtypes.ParameterStringFilter{
		{Key: aws.String("Name"), Option: aws.String("Equals"), Values: []string{"/payment/api-key", "/payment/nope"}}}})
	if err != nil {
		t.Fatalf("DescribeParameters: %v", err)
	}
	if len(dp.Parameters) != 1 || aws.ToString(dp.Parameters[0].Name) != "/payment/api-key" || dp.Parameters[0].Type != ssmtypes.ParameterTypeSecureString {
		t.Errorf("DescribeParameters: got %+v", dp.Parameters)
	}
	gp, err := cs.ssm.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"arn:aws:ssm:us-east-1:123456789012:parameter/payment/api-key", "/payment/nope"}})
	if err != nil {
		t.Fatalf("GetParameters: %v", err)
	}
	if len(gp.Parameters) != 1 || !cmp.Equal(gp.InvalidParameters, []string{"/payment/nope"}) {
		t.Errorf("GetParameters: %d found, invalid %v", len(gp.Parameters), gp.InvalidParameters)
	}
}

// TestLogGroupsThroughSDK: the awslogs groups of the scenario's task
// definitions exist; DescribeLogGroups matches by prefix in name order.
func TestLogGroupsThroughSDK(t *testing.T) {
	t.Parallel()
	sc := verifyScenario(t)
	sc.LogGroups = []string{"/ecs/payment-batch"}
	srv := NewServer(t, sc)
	out, err := newAccountClients(srv).logs.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/payment")})
	if err != nil {
		t.Fatalf("DescribeLogGroups: %v", err)
	}
	var names []string
	for _, g := range out.LogGroups {
		names = append(names, aws.ToString(g.LogGroupName))
	}
	if want := []string{"/ecs/payment", "/ecs/payment-batch"}; !cmp.Equal(names, want) {
		t.Errorf("log groups %v, want %v", names, want)
	}
}

// TestIAMThroughSDK follows GetRole (the trust policy URL-encoded,
// NoSuchEntity) and SimulatePrincipalPolicy (allowed, implicitDeny,
// explicitDeny; pages with Marker) over the awsQuery protocol.
func TestIAMThroughSDK(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, verifyScenario(t))
	c := newAccountClients(srv).iam
	ctx := context.Background()
	out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("lambda-role")})
	if err != nil {
		t.Fatalf("GetRole: %v", err)
	}
	doc, err := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil || !json.Valid([]byte(doc)) || aws.ToString(out.Role.Arn) != "arn:aws:iam::123456789012:role/lambda-role" || out.Role.CreateDate == nil {
		t.Errorf("GetRole: %v, %q, %+v", err, doc, out.Role)
	}
	var nse *iamtypes.NoSuchEntityException
	if _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")}); !errors.As(err, &nse) {
		t.Errorf("GetRole nope: got %v, want NoSuchEntity", err)
	}

	in := &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::123456789012:role/payment-exec-nosecrets"),
		ActionNames:     []string{"ecr:BatchGetImage", "secretsmanager:GetSecretValue", "ssm:GetParameters"},
		ResourceArns:    []string{"arn:aws:ecr:us-east-1:123456789012:repository/payment", "arn:aws:ssm:us-east-1:123456789012:parameter/payment/api-key"},
		MaxItems:        aws.Int32(4),
	}
	decisions := map[string]string{}
	for p := iam.NewSimulatePrincipalPolicyPaginator(c, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("SimulatePrincipalPolicy: %v", err)
		}
		for _, r := range page.EvaluationResults {
			decisions[aws.ToString(r.EvalActionName)+" "+aws.ToString(r.EvalResourceName)] = string(r.EvalDecision)
		}
	}
	want := map[string]string{
		"ecr:BatchGetImage arn:aws:ecr:us-east-1:123456789012:repository/payment":                    "allowed",
		"ecr:BatchGetImage arn:aws:ssm:us-east-1:123456789012:parameter/payment/api-key":             "allowed",
		"secretsmanager:GetSecretValue arn:aws:ecr:us-east-1:123456789012:repository/payment":        "implicitDeny",
		"secretsmanager:GetSecretValue arn:aws:ssm:us-east-1:123456789012:parameter/payment/api-key": "implicitDeny",
		"ssm:GetParameters arn:aws:ecr:us-east-1:123456789012:repository/payment":                    "explicitDeny",
		"ssm:GetParameters arn:aws:ssm:us-east-1:123456789012:parameter/payment/api-key":             "explicitDeny",
	}
	if diff := cmp.Diff(want, decisions); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
}

// TestAccountAccessDenied: an injected AccessDenied reaches the SDK in
// each protocol, and the call is recorded.
func TestAccountAccessDenied(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, verifyScenario(t))
	cs := newAccountClients(srv)
	ctx := context.Background()
	srv.Sim.InjectFault("DescribeSecret", Fault{Error: "AccessDeniedException"})
	srv.Sim.InjectFault("GetRole", Fault{Error: "AccessDenied"})
	if _, err := cs.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("payment/db")}); errorCode(err) != "AccessDeniedException" {
		t.Errorf("DescribeSecret: got %v", err)
	}
	_, err := cs.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("payment-exec")})
	if errorCode(err) != "AccessDenied" {
		t.Errorf("GetRole: got %v", err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorMessage() != "User is not authorized to perform: iam:GetRole" {
		t.Errorf("GetRole message %q", ae.ErrorMessage())
	}
	var ops []string
	for _, c := range srv.Sim.Calls() {
		ops = append(ops, c.Op+"/"+c.ErrCode)
		if !json.Valid(c.Input) {
			t.Errorf("%s recorded input is not JSON: %s", c.Op, c.Input)
		}
	}
	if want := []string{"DescribeSecret/AccessDeniedException", "GetRole/AccessDenied"}; !cmp.Equal(ops, want) {
		t.Errorf("calls %v, want %v", ops, want)
	}
	if n := len(srv.Sim.MutatingCalls()); n != 0 {
		t.Errorf("%d mutating calls", n)
	}
}
