package ecssim

import (
	"fmt"
	"strings"
	"time"
)

// ssmParameterMeta is a ParameterMetadata or Parameter on the wire.
type ssmParameterMeta struct {
	Name             string  `json:"Name"`
	ARN              string  `json:"ARN"`
	Type             string  `json:"Type"`
	Version          int64   `json:"Version"`
	DataType         string  `json:"DataType"`
	LastModifiedDate float64 `json:"LastModifiedDate"`
	Tier             string  `json:"Tier,omitempty"`
	Value            *string `json:"Value,omitempty"`
}

func (a *accountState) parameterMeta(p ScenarioParameter) ssmParameterMeta {
	return ssmParameterMeta{
		Name:             p.Name,
		ARN:              fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", a.region, a.account, strings.TrimPrefix(p.Name, "/")),
		Type:             p.Type,
		Version:          1,
		DataType:         "text",
		LastModifiedDate: float64(a.seededAt.Add(-24 * time.Hour).Unix()),
	}
}

// ssmDescribeParameters answers SSM's DescribeParameters
// (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeParameters.html)
// for the Name filter (ParameterFilters Key "Name", Option "Equals" or
// "BeginsWith", or the older Filters): the metadata of the matching
// parameters, MaxResults (1–50, default 10) at a time, by name.
func (s *Sim) ssmDescribeParameters(body []byte) (any, *apiError) {
	type filter struct {
		Key    string   `json:"Key"`
		Option string   `json:"Option"`
		Values []string `json:"Values"`
	}
	var in struct {
		Filters          []filter `json:"Filters"`
		ParameterFilters []filter `json:"ParameterFilters"`
		MaxResults       *int     `json:"MaxResults"`
		NextToken        string   `json:"NextToken"`
	}
	if err := decodeJSONBody(body, &in); err != nil {
		return nil, err
	}
	limit := 10
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			return nil, &apiError{Code: "ValidationException", Message: "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50", Status: 400}
		}
		limit = *in.MaxResults
	}
	filters := in.ParameterFilters
	for _, f := range in.Filters {
		filters = append(filters, filter{Key: f.Key, Option: "Equals", Values: f.Values})
	}
	keep := func(name string) bool {
		for _, f := range filters {
			if f.Key != "Name" {
				continue
			}
			ok := false
			for _, v := range f.Values {
				if (f.Option == "BeginsWith" && strings.HasPrefix(name, v)) || (f.Option != "BeginsWith" && name == v) {
					ok = true
				}
			}
			if !ok {
				return false
			}
		}
		return true
	}
	for _, f := range filters {
		if f.Key == "Name" && len(f.Values) > 50 {
			return nil, &apiError{Code: "InvalidFilterValue", Message: "A filter has more than 50 values.", Status: 400}
		}
		if f.Key == "Name" && f.Option != "" && f.Option != "Equals" && f.Option != "BeginsWith" {
			return nil, &apiError{Code: "InvalidFilterOption", Message: fmt.Sprintf("The filter option %q is not valid for key Name.", f.Option), Status: 400}
		}
	}
	var match []ssmParameterMeta
	for _, name := range sortedKeys(s.acct.params) {
		if keep(name) {
			match = append(match, s.acct.parameterMeta(s.acct.params[name]))
		}
	}
	start, end, next, ok := page(in.NextToken, len(match), limit)
	if !ok {
		return nil, &apiError{Code: "InvalidNextToken", Message: "The specified token is not valid.", Status: 400}
	}
	return jsonBody(struct {
		Parameters []ssmParameterMeta `json:"Parameters"`
		NextToken  string             `json:"NextToken,omitempty"`
	}{append([]ssmParameterMeta{}, match[start:end]...), next})
}

// ssmGetParameters answers SSM's GetParameters
// (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameters.html):
// up to 10 names or ARNs; the ones that do not exist are listed in
// InvalidParameters. Values are placeholders (a SecureString's is
// ciphertext-like unless WithDecryption).
func (s *Sim) ssmGetParameters(body []byte) (any, *apiError) {
	var in struct {
		Names          []string `json:"Names"`
		WithDecryption bool     `json:"WithDecryption"`
	}
	if err := decodeJSONBody(body, &in); err != nil {
		return nil, err
	}
	if len(in.Names) == 0 || len(in.Names) > 10 {
		return nil, &apiError{Code: "ValidationException", Message: "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10", Status: 400}
	}
	out := struct {
		Parameters        []ssmParameterMeta `json:"Parameters"`
		InvalidParameters []string           `json:"InvalidParameters"`
	}{Parameters: []ssmParameterMeta{}, InvalidParameters: []string{}}
	for _, n := range in.Names {
		name := n
		if strings.HasPrefix(n, "arn:") {
			if i := strings.Index(n, ":parameter/"); i >= 0 {
				name = n[i+len(":parameter/"):]
				if _, ok := s.acct.params[name]; !ok {
					name = "/" + name
				}
			}
		}
		p, ok := s.acct.params[name]
		if !ok {
			out.InvalidParameters = append(out.InvalidParameters, n)
			continue
		}
		m := s.acct.parameterMeta(p)
		v := "simulated-value"
		if p.Type == "SecureString" && !in.WithDecryption {
			v = "AQICAHhSimulatedCiphertext=="
		}
		m.Value = &v
		out.Parameters = append(out.Parameters, m)
	}
	return jsonBody(out)
}
