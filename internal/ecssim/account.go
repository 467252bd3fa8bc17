package ecssim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The account's resources outside ECS that a task definition refers to
// (images in ECR, secrets, parameters, log groups, IAM roles), which
// ecs-rollout's verify phase reads. Each service answers over its own
// wire protocol: ECR, Secrets Manager and SSM in awsJson1_1 (told apart
// by X-Amz-Target), IAM in the awsQuery protocol (a form-encoded POST,
// answered in XML). They only answer reads: nothing here changes.

// The X-Amz-Target prefixes of the awsJson1_1 services.
const (
	ecrTargetPrefix = "AmazonEC2ContainerRegistry_V20150921."
	smTargetPrefix  = "secretsmanager."
	ssmTargetPrefix = "AmazonSSM."
)

// protoQuery is the awsQuery protocol (IAM): form-encoded requests, XML
// answers and errors.
const protoQuery = protoCBOR + 1

// accountService names the account service an X-Amz-Target addresses
// ("ecr", "secretsmanager", "ssm"), or "".
func accountService(target string) string {
	switch {
	case strings.HasPrefix(target, ecrTargetPrefix):
		return "ecr"
	case strings.HasPrefix(target, smTargetPrefix):
		return "secretsmanager"
	case strings.HasPrefix(target, ssmTargetPrefix):
		return "ssm"
	}
	return ""
}

// accountOp is the operation of an account service's target.
func accountOp(target string) string {
	return target[strings.IndexByte(target, '.')+1:]
}

// isQueryRequest reports whether r is an awsQuery request (IAM).
func isQueryRequest(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

// queryRequest decodes an awsQuery body into its action and its
// parameters as one flat JSON object (recorded as the call's input, like
// the JSON services' bodies).
func queryRequest(body []byte) (op string, asJSON []byte) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return "", []byte("{}")
	}
	flat := map[string]string{}
	for k, v := range vals {
		flat[k] = v[0]
	}
	b, _ := json.Marshal(flat)
	return vals.Get("Action"), b
}

// accountIAMAction names the IAM action of an account service's
// operation, "" for others.
func accountIAMAction(op string) string {
	switch op {
	case "DescribeImages", "BatchGetImage":
		return "ecr:" + op
	case "DescribeSecret":
		return "secretsmanager:" + op
	case "DescribeParameters", "GetParameters":
		return "ssm:" + op
	case "GetRole", "SimulatePrincipalPolicy":
		return "iam:" + op
	case "DescribeLogGroups":
		return "logs:" + op
	}
	return ""
}

func (s *Sim) dispatchAccount(service string, req *request) (any, *apiError) {
	switch service + "." + req.op {
	case "ecr.DescribeImages":
		return s.ecrDescribeImages(req.body)
	case "ecr.BatchGetImage":
		return s.ecrBatchGetImage(req.body)
	case "secretsmanager.DescribeSecret":
		return s.smDescribeSecret(req.body)
	case "ssm.DescribeParameters":
		return s.ssmDescribeParameters(req.body)
	case "ssm.GetParameters":
		return s.ssmGetParameters(req.body)
	case "iam.GetRole":
		return s.iamGetRole(req.body)
	case "iam.SimulatePrincipalPolicy":
		return s.iamSimulatePrincipalPolicy(req.body)
	}
	return nil, &apiError{Code: "UnknownOperationException", Message: fmt.Sprintf("Unknown operation %q.", req.op), Status: 400}
}

// wireBody is an answer already encoded in its service's protocol.
type wireBody struct {
	contentType string
	body        []byte
}

// jsonBody encodes v (a struct with json tags naming the wire members) for
// an awsJson1_1 service whose members are not ECS's lowerCamelCase.
func jsonBody(v any) (any, *apiError) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &apiError{Code: "InternalFailure", Message: err.Error(), Status: 500}
	}
	return wireBody{contentType: "application/x-amz-json-1.1", body: b}, nil
}

func (b wireBody) write(w http.ResponseWriter, requestID string) {
	w.Header().Set("Content-Type", b.contentType)
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(http.StatusOK)
	w.Write(b.body)
}

// decodeJSONBody decodes an awsJson1_1 body with PascalCase members into
// v; malformed JSON is a SerializationException.
func decodeJSONBody(body []byte, v any) *apiError {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errSerialization("could not parse request body as JSON: %v", err)
	}
	return nil
}

// iamNamespace is the XML namespace of IAM's answers.
const iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"

// writeQueryError writes an awsQuery error
// (https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html).
func writeQueryError(w http.ResponseWriter, e *apiError, requestID string) {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	var body struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		NS        string   `xml:"xmlns,attr"`
		Type      string   `xml:"Error>Type"`
		Code      string   `xml:"Error>Code"`
		Message   string   `xml:"Error>Message"`
		RequestID string   `xml:"RequestId"`
	}
	body.NS, body.Type, body.Code, body.Message, body.RequestID = iamNamespace, typ, e.Code, e.Message, requestID
	b, _ := xml.Marshal(body)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(e.Status)
	w.Write(b)
}

// xmlBody encodes an awsQuery answer.
func xmlBody(v any) (any, *apiError) {
	b, err := xml.Marshal(v)
	if err != nil {
		return nil, &apiError{Code: "ServiceFailure", Message: err.Error(), Status: 500}
	}
	return wireBody{contentType: "text/xml", body: append([]byte(xml.Header), b...)}, nil
}

// AccountResources are the resources outside ECS a scenario's task
// definitions refer to. The log groups of the scenario's own task
// definitions exist without being listed (their tasks write to them).
type AccountResources struct {
	// Repositories are ECR repositories with their images.
	Repositories []ScenarioRepository `json:"repositories,omitempty"`
	// Secrets are Secrets Manager secrets (metadata only: the simulator
	// holds no values).
	Secrets []ScenarioSecret `json:"secrets,omitempty"`
	// Parameters are SSM Parameter Store parameters (no values either).
	Parameters []ScenarioParameter `json:"parameters,omitempty"`
	// LogGroups are CloudWatch Logs log group names.
	LogGroups []string `json:"logGroups,omitempty"`
	// Roles are IAM roles with their trust policy and the permissions
	// SimulatePrincipalPolicy evaluates.
	Roles []ScenarioRole `json:"roles,omitempty"`
}

// ScenarioRepository is an ECR repository.
type ScenarioRepository struct {
	Name string `json:"name"`
	// RegistryID is the registry's account (default: the scenario's).
	RegistryID string          `json:"registryId,omitempty"`
	Images     []ScenarioImage `json:"images"`
}

// ScenarioImage is one image in a repository.
type ScenarioImage struct {
	Tags []string `json:"tags,omitempty"`
	// Platforms ("linux/amd64", "linux/arm64/v8") make the image an OCI
	// image index listing them; empty: a plain image manifest (no
	// platform in it).
	Platforms []string `json:"platforms,omitempty"`
	// Attestation adds buildx's provenance attestation manifest
	// (platform unknown/unknown) to the index.
	Attestation bool `json:"attestation,omitempty"`
	// PushedAt defaults to one minute after the repository's previous
	// image (the last one an hour before the simulator starts).
	PushedAt *time.Time `json:"pushedAt,omitempty"`
}

// ScenarioSecret is a Secrets Manager secret.
type ScenarioSecret struct {
	Name string `json:"name"`
	// ARN defaults to arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>.
	ARN string `json:"arn,omitempty"`
}

// ScenarioParameter is an SSM parameter.
type ScenarioParameter struct {
	Name string `json:"name"`
	// Type is String, StringList or SecureString (default).
	Type string `json:"type,omitempty"`
}

// ScenarioRole is an IAM role.
type ScenarioRole struct {
	Name string `json:"name"`
	Path string `json:"path,omitempty"` // default "/"
	// AssumeRolePolicyDocument is the trust policy (default: ECS tasks,
	// ecs-tasks.amazonaws.com, may sts:AssumeRole).
	AssumeRolePolicyDocument json.RawMessage `json:"assumeRolePolicyDocument,omitempty"`
	// Statements are the role's permissions, as IAM policy statements
	// (Effect, Action, Resource; '*' wildcards), which
	// SimulatePrincipalPolicy evaluates.
	Statements []PolicyStatement `json:"statements,omitempty"`
}

// PolicyStatement is one statement of an IAM policy (no conditions).
type PolicyStatement struct {
	Effect   string      `json:"Effect"`
	Action   stringOrSet `json:"Action"`
	Resource stringOrSet `json:"Resource"`
}

// stringOrSet is an IAM policy element: one string or a list of them.
type stringOrSet []string

// UnmarshalJSON reads a string or a list of strings.
func (s *stringOrSet) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stringOrSet{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

// defaultTrustPolicy lets ECS tasks assume a role.
const defaultTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func (a AccountResources) validate() []string {
	var problems []string
	for i, r := range a.Repositories {
		if r.Name == "" {
			problems = append(problems, fmt.Sprintf("repositories[%d]: name is empty", i))
		}
		for j, img := range r.Images {
			for _, p := range img.Platforms {
				if parts := strings.Split(p, "/"); len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
					problems = append(problems, fmt.Sprintf("repositories[%d].images[%d]: platform %q is not os/architecture[/variant]", i, j, p))
				}
			}
		}
	}
	for i, sec := range a.Secrets {
		if sec.Name == "" {
			problems = append(problems, fmt.Sprintf("secrets[%d]: name is empty", i))
		}
	}
	for i, p := range a.Parameters {
		if p.Name == "" {
			problems = append(problems, fmt.Sprintf("parameters[%d]: name is empty", i))
		}
		switch p.Type {
		case "", "String", "StringList", "SecureString":
		default:
			problems = append(problems, fmt.Sprintf("parameters[%d]: type %q is not String, StringList or SecureString", i, p.Type))
		}
	}
	for i, r := range a.Roles {
		if r.Name == "" {
			problems = append(problems, fmt.Sprintf("roles[%d]: name is empty", i))
		}
		if len(r.AssumeRolePolicyDocument) > 0 && !json.Valid(r.AssumeRolePolicyDocument) {
			problems = append(problems, fmt.Sprintf("roles[%d]: assumeRolePolicyDocument is not JSON", i))
		}
		for j, st := range r.Statements {
			if st.Effect != "Allow" && st.Effect != "Deny" {
				problems = append(problems, fmt.Sprintf("roles[%d].statements[%d]: Effect must be Allow or Deny", i, j))
			}
		}
	}
	return problems
}

// accountState is the simulator's copy of the account resources. It is
// read-only after New.
type accountState struct {
	repos     map[string]*repository // by registry ID + "/" + name
	secrets   []*secret
	params    map[string]ScenarioParameter
	logGroups map[string]time.Time // name → creation time
	roles     map[string]*role     // by name
	region    string
	account   string
	seededAt  time.Time
}

type repository struct {
	registryID, name string
	images           []*image
}

type image struct {
	tags      []string
	digest    string
	manifest  string
	mediaType string
	size      int64
	pushedAt  time.Time
}

type secret struct {
	name, arn string
	created   time.Time
}

type role struct {
	ScenarioRole
	id, arn string
	trust   string
	created time.Time
}

// newAccountState seeds the account resources; groups are the awslogs
// groups of the scenario's task definitions.
func newAccountState(a AccountResources, region, account string, groups []string, now time.Time) (*accountState, error) {
	st := &accountState{
		repos:     map[string]*repository{},
		params:    map[string]ScenarioParameter{},
		logGroups: map[string]time.Time{},
		roles:     map[string]*role{},
		region:    region,
		account:   account,
		seededAt:  now,
	}
	for _, r := range a.Repositories {
		reg := orDefault(r.RegistryID, account)
		repo := &repository{registryID: reg, name: r.Name}
		at := now.Add(-time.Hour - time.Duration(len(r.Images))*time.Minute)
		for _, si := range r.Images {
			at = at.Add(time.Minute)
			if si.PushedAt != nil {
				at = *si.PushedAt
			}
			img, err := newImage(si, at)
			if err != nil {
				return nil, fmt.Errorf("repository %s: %w", r.Name, err)
			}
			repo.images = append(repo.images, img)
		}
		st.repos[reg+"/"+r.Name] = repo
	}
	for _, sec := range a.Secrets {
		arn := sec.ARN
		if arn == "" {
			sum := sha256.Sum256([]byte(sec.Name))
			suffix := strings.ToUpper(hex.EncodeToString(sum[:3]))
			arn = fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", region, account, sec.Name, suffix)
		}
		st.secrets = append(st.secrets, &secret{name: sec.Name, arn: arn, created: now.Add(-24 * time.Hour)})
	}
	for _, p := range a.Parameters {
		if p.Type == "" {
			p.Type = "SecureString"
		}
		st.params[p.Name] = p
	}
	for _, g := range append(append([]string(nil), groups...), a.LogGroups...) {
		st.logGroups[g] = now.Add(-24 * time.Hour)
	}
	for _, r := range a.Roles {
		path := orDefault(r.Path, "/")
		trust := defaultTrustPolicy
		if len(r.AssumeRolePolicyDocument) > 0 {
			trust = string(r.AssumeRolePolicyDocument)
		}
		sum := sha256.Sum256([]byte(r.Name))
		st.roles[r.Name] = &role{
			ScenarioRole: r,
			id:           "AROA" + strings.ToUpper(hex.EncodeToString(sum[:8])),
			arn:          fmt.Sprintf("arn:aws:iam::%s:role%s%s", account, path, r.Name),
			trust:        trust,
			created:      now.Add(-24 * time.Hour),
		}
	}
	return st, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// page cuts one page out of n items: limit items from the offset token
// ("" is the start; the simulator's tokens are offsets). next is the
// following page's token, "" after the last page; ok is false for a token
// the simulator did not issue.
func page(token string, n, limit int) (start, end int, next string, ok bool) {
	if token != "" {
		v, err := strconv.Atoi(token)
		if err != nil || v < 0 || v > n {
			return 0, 0, "", false
		}
		start = v
	}
	end = min(start+limit, n)
	if end < n {
		next = strconv.Itoa(end)
	}
	return start, end, next, true
}
