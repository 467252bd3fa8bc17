package ecssim

import (
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ListTaskDefinitions and ListServices, as the API reference describes
// them: what keep-revisions reads to find a family's revisions and the
// services of a cluster that may use them.

// listTaskDefinitions lists task definition ARNs: of one family
// (familyPrefix, "the full family name"), ACTIVE by default (status),
// sorted by family and revision ascending by default (sort DESC reverses),
// at most maxResults (1-100, default 100) a page.
func (s *Sim) listTaskDefinitions(in *ecs.ListTaskDefinitionsInput, _ time.Time) (*ecs.ListTaskDefinitionsOutput, *apiError) {
	limit := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, errInvalidParam("maxResults must be between 1 and 100.")
		}
		limit = int(*in.MaxResults)
	}
	status := in.Status
	if status == "" {
		status = types.TaskDefinitionStatusActive
	}
	var all []*taskDef
	for _, f := range s.familyOrderLocked() {
		if in.FamilyPrefix != nil && f != *in.FamilyPrefix {
			continue
		}
		for _, td := range s.families[f] {
			if td.td.Status == status {
				all = append(all, td)
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		fi, fj := aws.ToString(all[i].td.Family), aws.ToString(all[j].td.Family)
		if fi != fj {
			return fi < fj
		}
		return all[i].td.Revision < all[j].td.Revision
	})
	if in.Sort == types.SortOrderDesc {
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
	}
	arns, next, aerr := arnPage(all, (*taskDef).arn, limit, in.NextToken)
	if aerr != nil {
		return nil, aerr
	}
	return &ecs.ListTaskDefinitionsOutput{TaskDefinitionArns: arns, NextToken: next}, nil
}

// arnPage is one page of items' ARNs: at most limit, from the position
// the token names.
func arnPage[T any](items []T, arn func(T) string, limit int, token *string) ([]string, *string, *apiError) {
	from := 0
	if token != nil {
		n, ok := parsePageToken(*token)
		if !ok || n < 0 || int(n) > len(items) {
			return nil, nil, errInvalidParam("Invalid nextToken.")
		}
		from = int(n)
	}
	out := []string{}
	for i := from; i < len(items); i++ {
		if len(out) == limit {
			return out, aws.String(pageToken(int64(i))), nil
		}
		out = append(out, arn(items[i]))
	}
	return out, nil, nil
}

// listServices lists the ARNs of a cluster's services (not deleted ones),
// in creation order, at most maxResults (1-100, default 10) a page.
func (s *Sim) listServices(in *ecs.ListServicesInput, _ time.Time) (*ecs.ListServicesOutput, *apiError) {
	cl, aerr := s.resolveCluster(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	limit := 10
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, errInvalidParam("maxResults must be between 1 and 100.")
		}
		limit = int(*in.MaxResults)
	}
	var live []*service
	for _, svc := range cl.sOrder {
		if svc.status != "INACTIVE" && (in.LaunchType == "" || svc.launchType == in.LaunchType) {
			live = append(live, svc)
		}
	}
	arns, next, aerr := arnPage(live, func(svc *service) string { return svc.arn }, limit, in.NextToken)
	if aerr != nil {
		return nil, aerr
	}
	return &ecs.ListServicesOutput{ServiceArns: arns, NextToken: next}, nil
}
