package ecssim

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Service returns the service as DescribeServices would (with tags), and
// false if the cluster or service does not exist; an Express Mode
// service with its taskDefinition, which DescribeServices leaves out.
func (s *Sim) Service(cluster, name string) (types.Service, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(time.Now())
	cl, ok := s.clusters[cluster]
	if !ok {
		return types.Service{}, false
	}
	svc, ok := cl.service(name)
	if !ok {
		return types.Service{}, false
	}
	v := s.serviceView(svc, true)
	if svc.express {
		v.TaskDefinition = aws.String(svc.deps[0].td.arn()) // for tests: what the wire leaves out (express.go)
	}
	return v, true
}

// TaskDefinitions returns every registered revision (ACTIVE and INACTIVE),
// ordered by family as first registered, then revision.
func (s *Sim) TaskDefinitions() []types.TaskDefinition {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []types.TaskDefinition
	fams := s.familyOrderLocked()
	for _, f := range fams {
		for _, td := range s.families[f] {
			if td.td.Status == types.TaskDefinitionStatusDeleteInProgress {
				continue
			}
			out = append(out, td.td)
		}
	}
	return out
}

// TaskDefinitionTags returns the tags of a task definition (family,
// family:revision or ARN) and whether it exists.
func (s *Sim) TaskDefinitionTags(ref string) ([]types.Tag, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	td, ok := s.lookupTaskDef(ref)
	if !ok {
		return nil, false
	}
	return append([]types.Tag{}, td.tags...), true
}

func (s *Sim) familyOrderLocked() []string {
	type fr struct {
		fam string
		at  time.Time
	}
	var list []fr
	for f, revs := range s.families {
		at := time.Time{}
		for _, r := range revs {
			if r.td.RegisteredAt != nil {
				at = *r.td.RegisteredAt
				break
			}
		}
		list = append(list, fr{f, at})
	}
	// insertion sort by first registration, then name
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && (list[j].at.Before(list[j-1].at) || list[j].at.Equal(list[j-1].at) && list[j].fam < list[j-1].fam); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
	out := make([]string, len(list))
	for i, f := range list {
		out[i] = f.fam
	}
	return out
}

// Tasks returns every task of the cluster (running and stopped) as
// DescribeTasks would, oldest first.
func (s *Sim) Tasks(cluster string) []types.Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(time.Now())
	cl, ok := s.clusters[cluster]
	if !ok {
		return nil
	}
	out := make([]types.Task, 0, len(cl.tOrder))
	for _, t := range cl.tOrder {
		out = append(out, s.taskView(t))
	}
	return out
}

// Events returns a service's events, newest first.
func (s *Sim) Events(cluster, service string) []types.ServiceEvent {
	v, ok := s.Service(cluster, service)
	if !ok {
		return nil
	}
	return v.Events
}

// PrimaryDeployment returns the service's PRIMARY deployment.
func (s *Sim) PrimaryDeployment(cluster, service string) (types.Deployment, bool) {
	v, ok := s.Service(cluster, service)
	if !ok || len(v.Deployments) == 0 {
		return types.Deployment{}, false
	}
	return v.Deployments[0], true
}

// Deployment returns one deployment of a service by ID, if it still exists.
func (s *Sim) Deployment(cluster, service, id string) (types.Deployment, bool) {
	v, ok := s.Service(cluster, service)
	if !ok {
		return types.Deployment{}, false
	}
	for _, d := range v.Deployments {
		if aws.ToString(d.Id) == id {
			return d, true
		}
	}
	return types.Deployment{}, false
}
