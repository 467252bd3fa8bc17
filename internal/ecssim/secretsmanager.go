package ecssim

import (
	"strings"
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
