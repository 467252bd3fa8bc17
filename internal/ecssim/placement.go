package ecssim

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// placementEventEvery is how often ECS repeats "unable to place a task"
// while it keeps failing to place a deployment's tasks.
const placementEventEvery = time.Minute

// unplaceable reports whether the deployment's tasks cannot be placed (an
// essential container's image has BehaviorUnplaceable). ECS then creates
// no task and writes a service event saying why, repeated while it keeps
// trying.
func (s *Sim) unplaceable(svc *service, d *deployment, now time.Time) bool {
	for _, cd := range d.td.td.ContainerDefinitions {
		if cd.Essential != nil && !*cd.Essential {
			continue
		}
		if b, _ := s.ruleFor(aws.ToString(cd.Image)); b != BehaviorUnplaceable {
			continue
		}
		if d.placementEvent.IsZero() || now.Sub(d.placementEvent) >= placementEventEvery {
			d.placementEvent = now
			s.event(svc, now, fmt.Sprintf("(service %s) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance %s) has insufficient memory available. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.", svc.name, s.newID()[:32]))
		}
		return true
	}
	return false
}

// DeleteService deletes a service as `aws ecs delete-service --force`
// does, as someone else would while a deployment is watched: the service
// turns DRAINING with a desired count of 0, and UpdateService answers
// ServiceNotActiveException from then on. It reports whether the service
// existed.
func (s *Sim) DeleteService(cluster, service string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl, ok := s.clusters[cluster]
	if !ok {
		return false
	}
	svc, ok := cl.service(service)
	if !ok || svc.status != "ACTIVE" {
		return false
	}
	svc.status = "DRAINING"
	svc.desired = 0
	return true
}
