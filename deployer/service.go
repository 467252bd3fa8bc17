package deployer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// The reads of a service that every phase shares: preflight, watch,
// rollback and Recover all look at the service the same way.

// errNotFound marks a cluster or service that does not exist: polling
// again will not help.
var errNotFound = errors.New("not found")

// maxServicesPerDescribe is how many services one DescribeServices call
// may name (the API's limit).
const maxServicesPerDescribe = 10

// describeServices reads up to maxServicesPerDescribe services of one
// cluster with one DescribeServices call. found is keyed by the names
// (or ARNs) asked for; a service ECS reports missing is in missing with
// ECS's reason. A cluster that does not exist is an error wrapping
// errNotFound.
func (d *Deployer) describeServices(ctx context.Context, cluster string, names []string) (found map[string]types.Service, missing map[string]string, err error) {
	if len(names) > maxServicesPerDescribe {
		return nil, nil, fmt.Errorf("describe services: %d services in one call, at most %d", len(names), maxServicesPerDescribe)
	}
	out, err := d.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(cluster),
		Services: names,
	})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ClusterNotFoundException" {
			return nil, nil, &notFoundError{fmt.Sprintf("cluster: cluster %q not found", cluster)}
		}
		return nil, nil, fmt.Errorf("describe service %s: %w", strings.Join(names, ", "), err)
	}
	for i := range out.Services {
		expressTaskDefinition(&out.Services[i]) // express.go
	}
	found, missing = map[string]types.Service{}, map[string]string{}
	for _, name := range names {
		for _, s := range out.Services {
			if sameService(name, aws.ToString(s.ServiceName), aws.ToString(s.ServiceArn)) {
				found[name] = s
				break
			}
		}
		if _, ok := found[name]; ok {
			continue
		}
		if len(names) == 1 && len(out.Services) == 1 {
			found[name] = out.Services[0] // an endpoint that names it differently
			continue
		}
		missing[name] = "MISSING"
		for _, f := range out.Failures {
			if arn := aws.ToString(f.Arn); arn == "" || sameService(name, "", arn) || len(names) == 1 {
				missing[name] = aws.ToString(f.Reason)
				break
			}
		}
	}
	return found, missing, nil
}

// sameService reports whether name (a service name or ARN, as a user
// gives it) is the service called svcName with ARN svcARN.
func sameService(name, svcName, svcARN string) bool {
	if name == "" {
		return false
	}
	if name == svcName || name == svcARN {
		return true
	}
	if strings.HasPrefix(name, "arn:") {
		name = name[strings.LastIndex(name, "/")+1:]
	}
	return name == svcName || (svcARN != "" && strings.HasSuffix(svcARN, "/"+name))
}

// describeService returns one service, or an error naming the input that
// points at something missing (wrapping errNotFound).
func (d *Deployer) describeService(ctx context.Context, cluster, service string) (types.Service, error) {
	found, missing, err := d.describeServices(ctx, cluster, []string{service})
	if err != nil {
		return types.Service{}, err
	}
	if s, ok := found[service]; ok {
		return s, nil
	}
	return types.Service{}, serviceNotFound(cluster, service, missing[service])
}

// serviceNotFound is the error of a service ECS reports missing (reason
// is ECS's failure reason, MISSING when it gave none).
func serviceNotFound(cluster, service, reason string) error {
	return &notFoundError{fmt.Sprintf("service: service %q not found in cluster %q (%s)", service, cluster, cmp.Or(reason, "MISSING"))}
}

// notFoundError is a cluster or service that does not exist; it matches
// errNotFound. Its text names the input that points at it.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string        { return e.msg }
func (e *notFoundError) Is(target error) bool { return target == errNotFound }

// serviceGone says why a service that DescribeServices returned can no
// longer be deployed to ("" while it is ACTIVE): ECS reports a deleted
// service as DRAINING, then INACTIVE.
func serviceGone(svc types.Service) string {
	switch st := aws.ToString(svc.Status); st {
	case "", "ACTIVE":
		return ""
	default:
		return fmt.Sprintf("the service is %s (deleted)", st)
	}
}

// primaryFor returns the ID of the PRIMARY deployment running taskDef.
// Where no PRIMARY names taskDef (some emulators keep a stale
// taskDefinition on a restarted deployment), a PRIMARY whose ID is not in
// before, the deployments that existed before our update, is ours.
func primaryFor(svc types.Service, taskDef string, before map[string]bool) string {
	for _, dep := range svc.Deployments {
		if aws.ToString(dep.Status) == "PRIMARY" && aws.ToString(dep.TaskDefinition) == taskDef {
			return aws.ToString(dep.Id)
		}
	}
	if before == nil {
		return ""
	}
	for _, dep := range svc.Deployments {
		if id := aws.ToString(dep.Id); aws.ToString(dep.Status) == "PRIMARY" && id != "" && !before[id] {
			return id
		}
	}
	return ""
}

// primaryOf returns the service's PRIMARY deployment, or nil.
func primaryOf(svc types.Service) *types.Deployment {
	for i := range svc.Deployments {
		if aws.ToString(svc.Deployments[i].Status) == "PRIMARY" {
			return &svc.Deployments[i]
		}
	}
	return nil
}

// deploymentIDs is the set of the service's deployment IDs.
func deploymentIDs(svc types.Service, extra ...string) map[string]bool {
	ids := map[string]bool{}
	for _, dep := range svc.Deployments {
		ids[aws.ToString(dep.Id)] = true
	}
	for _, id := range extra {
		if id != "" {
			ids[id] = true
		}
	}
	return ids
}

// otherInProgress returns a deployment of the service that has not
// settled yet, or nil when the service is idle.
func otherInProgress(svc types.Service) *types.Deployment {
	for i := range svc.Deployments {
		dep := &svc.Deployments[i]
		if aws.ToString(dep.Status) != "PRIMARY" {
			return dep
		}
	}
	for i := range svc.Deployments {
		dep := &svc.Deployments[i]
		if dep.RolloutState == types.DeploymentRolloutStateInProgress {
			return dep
		}
	}
	return nil
}

// circuitBreakerRollsBack reports whether ECS rolls the service back by
// itself when a deployment fails.
func circuitBreakerRollsBack(svc types.Service) bool { return serviceBreaker(svc).RollsBack() }
