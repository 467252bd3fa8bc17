package ecssim

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// smDescribeSecret answers Secrets Manager's DescribeSecret
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html):
// SecretId is the secret's name, its ARN, or its ARN without the six
// random characters Secrets Manager appends (a partial ARN). It returns
// metadata only; the simulator holds no secret values.
func (s *Sim) smDescribeSecret(body []byte) (any, *apiError) {
	var in struct {
		SecretID string `json:"SecretId"`
	}
	if err := decodeJSONBody(body, &in); err != nil {
		return nil, err
	}
	if in.SecretID == "" {
		return nil, &apiError{Code: "InvalidParameterException", Message: "You must specify a SecretId.", Status: 400}
	}
	sec := s.acct.secret(in.SecretID)
	if sec == nil {
		return nil, &apiError{Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret.", Status: 400}
	}
	return jsonBody(struct {
		ARN             string  `json:"ARN"`
		Name            string  `json:"Name"`
		CreatedDate     float64 `json:"CreatedDate"`
		LastChangedDate float64 `json:"LastChangedDate"`
	}{sec.arn, sec.name, float64(sec.created.Unix()), float64(sec.created.Unix())})
}

// secret finds a secret by name, ARN or partial ARN.
func (a *accountState) secret(id string) *secret {
	for _, sec := range a.secrets {
		if id == sec.name || id == sec.arn {
			return sec
		}
		if i := strings.LastIndexByte(sec.arn, '-'); strings.HasPrefix(id, "arn:") && i > 0 && id == sec.arn[:i] {
			return sec
		}
	}
	return nil
}

// missingSecret is the stopped reason of a task whose containers name a
// Secrets Manager secret (secrets[].valueFrom) that the scenario's account
// does not hold: ECS fetches the secrets before the containers start and
// stops the task with ResourceInitializationError, quoting the secret's
// ARN (without ECS's json-key suffix), when the fetch fails
// (https://repost.aws/knowledge-center/ecs-unable-to-pull-secrets).
// It is "" when every secret is there, and when the scenario lists no
// secrets at all (it does not model Secrets Manager then).
func (s *Sim) missingSecret(cds []types.ContainerDefinition) string {
	if s.acct == nil || len(s.acct.secrets) == 0 { // nil: the scenario's own tasks, seeded running
		return ""
	}
	for _, cd := range cds {
		for _, sec := range cd.Secrets {
			p := strings.Split(aws.ToString(sec.ValueFrom), ":")
			if len(p) < 7 || p[0] != "arn" || p[2] != "secretsmanager" || p[5] != "secret" {
				continue
			}
			id := strings.Join(p[:7], ":")
			if s.acct.secret(id) == nil {
				return fmt.Sprintf("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "+
					"unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret %s from secrets manager: "+
					"ResourceNotFoundException: Secrets Manager can't find the specified secret.", id)
			}
		}
	}
	return ""
}
