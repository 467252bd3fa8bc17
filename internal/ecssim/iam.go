package ecssim

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// queryParams is an awsQuery request's parameters (recorded as flat JSON
// by queryRequest).
type queryParams map[string]string

func decodeQuery(body []byte) (queryParams, *apiError) {
	q := queryParams{}
	if err := json.Unmarshal(body, &q); err != nil {
		return nil, &apiError{Code: "MalformedInput", Message: "could not read the request parameters", Status: 400}
	}
	return q, nil
}

// list returns the members of a list parameter (Name.member.1, …).
func (q queryParams) list(name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := q[fmt.Sprintf("%s.member.%d", name, i)]
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

func errNoSuchRole(name string) *apiError {
	return &apiError{Code: "NoSuchEntity", Message: fmt.Sprintf("The role with name %s cannot be found.", name), Status: 404}
}

type responseMetadata struct {
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

// iamGetRole answers IAM's GetRole
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html):
// the role with its trust policy, URL-encoded (RFC 3986) as IAM returns
// policy documents; NoSuchEntity (HTTP 404) when there is none.
func (s *Sim) iamGetRole(body []byte) (any, *apiError) {
	q, aerr := decodeQuery(body)
	if aerr != nil {
		return nil, aerr
	}
	name := q["RoleName"]
	if name == "" {
		return nil, &apiError{Code: "ValidationError", Message: "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null", Status: 400}
	}
	r := s.acct.roles[name]
	if r == nil {
		return nil, errNoSuchRole(name)
	}
	type roleXML struct {
		Path                     string `xml:"Path"`
		AssumeRolePolicyDocument string `xml:"AssumeRolePolicyDocument"`
		RoleName                 string `xml:"RoleName"`
		RoleID                   string `xml:"RoleId"`
		Arn                      string `xml:"Arn"`
		CreateDate               string `xml:"CreateDate"`
		MaxSessionDuration       int    `xml:"MaxSessionDuration"`
	}
	return xmlBody(struct {
		XMLName xml.Name `xml:"GetRoleResponse"`
		NS      string   `xml:"xmlns,attr"`
		Role    roleXML  `xml:"GetRoleResult>Role"`
		responseMetadata
	}{
		NS: iamNamespace,
		Role: roleXML{
			Path:                     orDefault(r.Path, "/"),
			AssumeRolePolicyDocument: strings.ReplaceAll(url.QueryEscape(r.trust), "+", "%20"),
			RoleName:                 r.Name,
			RoleID:                   r.id,
			Arn:                      r.arn,
			CreateDate:               r.created.UTC().Format(time.RFC3339),
			MaxSessionDuration:       3600,
		},
		responseMetadata: responseMetadata{RequestID: s.requestID()},
	})
}

// iamSimulatePrincipalPolicy answers IAM's SimulatePrincipalPolicy
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html)
// for a role: one result per action and resource (ResourceArns, default
// "*"), decided as IAM's policy evaluation logic does for identity-based
// policies
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
// a matching Deny statement is an explicitDeny, otherwise a matching Allow
// is allowed, otherwise implicitDeny. MaxItems (default 100) results at a
// time, continued with Marker.
func (s *Sim) iamSimulatePrincipalPolicy(body []byte) (any, *apiError) {
	q, aerr := decodeQuery(body)
	if aerr != nil {
		return nil, aerr
	}
	src := q["PolicySourceArn"]
	actions := q.list("ActionNames")
	if src == "" || len(actions) == 0 {
		return nil, &apiError{Code: "ValidationError", Message: "1 validation error detected: policySourceArn and actionNames must not be null", Status: 400}
	}
	i := strings.Index(src, ":role/")
	if i < 0 {
		return nil, &apiError{Code: "InvalidInput", Message: fmt.Sprintf("Invalid ARN: %s (the simulator simulates roles only)", src), Status: 400}
	}
	name := src[strings.LastIndexByte(src, '/')+1:]
	r := s.acct.roles[name]
	if r == nil || r.arn != src {
		return nil, errNoSuchRole(name)
	}
	resources := q.list("ResourceArns")
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	type result struct {
		EvalActionName   string `xml:"EvalActionName"`
		EvalResourceName string `xml:"EvalResourceName"`
		EvalDecision     string `xml:"EvalDecision"`
	}
	var all []result
	for _, a := range actions {
		for _, res := range resources {
			all = append(all, result{a, res, r.decide(a, res)})
		}
	}
	limit := 100
	if v := q["MaxItems"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, &apiError{Code: "ValidationError", Message: "1 validation error detected: Value at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", Status: 400}
		}
		limit = n
	}
	start, end, next, ok := page(q["Marker"], len(all), limit)
	if !ok {
		return nil, &apiError{Code: "InvalidInput", Message: "Invalid Marker.", Status: 400}
	}
	out := struct {
		XMLName     xml.Name `xml:"SimulatePrincipalPolicyResponse"`
		NS          string   `xml:"xmlns,attr"`
		Results     []result `xml:"SimulatePrincipalPolicyResult>EvaluationResults>member"`
		IsTruncated bool     `xml:"SimulatePrincipalPolicyResult>IsTruncated"`
		Marker      string   `xml:"SimulatePrincipalPolicyResult>Marker,omitempty"`
		responseMetadata
	}{NS: iamNamespace, Results: all[start:end], IsTruncated: next != "", Marker: next, responseMetadata: responseMetadata{RequestID: s.requestID()}}
	return xmlBody(out)
}

// decide evaluates the role's statements for one action on one resource.
func (r *role) decide(action, resource string) string {
	allowed := false
	for _, st := range r.Statements {
		if !matchAny(st.Action, action, true) || !matchAny(st.Resource, resource, false) {
			continue
		}
		if st.Effect == "Deny" {
			return "explicitDeny"
		}
		allowed = true
	}
	if allowed {
		return "allowed"
	}
	return "implicitDeny"
}

// matchAny reports whether one of the patterns ('*' matches any run of
// characters) matches s; actions match case-insensitively, as IAM's do.
func matchAny(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p, s = strings.ToLower(p), strings.ToLower(s)
		}
		if globMatch(p, s) {
			return true
		}
	}
	return false
}
