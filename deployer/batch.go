package deployer

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The shared reads of a multi-service step. Every watch of the step polls
// on one beat (alignedPolling); the first watch of a beat that asks for a
// service reads every watched service of its cluster (ten a
// DescribeServices), the first that asks for a service deployment reads
// every watched service deployment (twenty a DescribeServiceDeployments),
// the first that asks for the alarms reads them all; the others are
// served those reads while they are fresh. Watching ten services costs
// what watching one does.
//
// Each group of reads (a cluster's services, the service deployments,
// the alarms) has its own lock, never held across a network call: one
// read is in flight per group at a time, and a watch that needs it waits
// for it on its own context, so a slow or throttled read (the SDK's
// retries back off for seconds) never lets another watch's deadline
// overshoot, and never holds up the watches of another cluster.

// maxServiceDeploymentsPerDescribe is how many ARNs one
// DescribeServiceDeployments takes.
const maxServiceDeploymentsPerDescribe = 20

// serviceBatcher serves the watches of one step.
type serviceBatcher struct {
	d     *Deployer
	fresh time.Duration

	mu       sync.Mutex // guards clusters
	clusters map[string]*batchGroup[types.Service]
	sds      *batchGroup[types.ServiceDeployment]

	alarmMu     sync.Mutex
	alarm       *alarmRead    // the latest read of the step's alarms
	alarmFlight chan struct{} // closed when the alarm read in flight ends (nil: none)
}

func newServiceBatcher(d *Deployer, fresh time.Duration) *serviceBatcher {
	b := &serviceBatcher{d: d, fresh: fresh, clusters: map[string]*batchGroup[types.Service]{}}
	b.sds = &batchGroup[types.ServiceDeployment]{fresh: fresh, now: d.now, chunk: maxServiceDeploymentsPerDescribe,
		fetch: func(ctx context.Context, arns []string) (map[string]types.ServiceDeployment, map[string]string, error) {
			return d.describeServiceDeployments(ctx, arns)
		}}
	return b
}

// cluster returns the group of a cluster's services.
func (b *serviceBatcher) cluster(name string) *batchGroup[types.Service] {
	b.mu.Lock()
	defer b.mu.Unlock()
	g := b.clusters[name]
	if g == nil {
		g = &batchGroup[types.Service]{fresh: b.fresh, now: b.d.now, chunk: maxServicesPerDescribe,
			fetch: func(ctx context.Context, names []string) (map[string]types.Service, map[string]string, error) {
				return b.d.describeServices(ctx, name, names)
			}}
		b.clusters[name] = g
	}
	return g
}

// add makes a service one of those read together.
func (b *serviceBatcher) add(cluster, service string) { b.cluster(cluster).add(service) }

// release stops reading a service whose watch ended.
func (b *serviceBatcher) release(cluster, service string) { b.cluster(cluster).release(service) }

// describe returns one watched service as describeService does.
func (b *serviceBatcher) describe(ctx context.Context, cluster, service string) (types.Service, error) {
	s, missing, err := b.cluster(cluster).get(ctx, service)
	if err != nil {
		return types.Service{}, err
	}
	if missing != nil {
		return types.Service{}, serviceNotFound(cluster, service, *missing)
	}
	return s, nil
}

// serviceDeployment returns one watched service deployment as
// describeServiceDeployment does.
func (b *serviceBatcher) serviceDeployment(ctx context.Context, arn string) (types.ServiceDeployment, error) {
	sd, missing, err := b.sds.get(ctx, arn)
	if err != nil {
		return types.ServiceDeployment{}, fmt.Errorf("describe service deployment %s: %w", serviceDeploymentID(arn), err)
	}
	if missing != nil {
		return types.ServiceDeployment{}, fmt.Errorf("describe service deployment %s: %s", serviceDeploymentID(arn), *missing)
	}
	return sd, nil
}

// releaseServiceDeployment stops reading a service deployment whose
// watch ended.
func (b *serviceBatcher) releaseServiceDeployment(arn string) { b.sds.release(arn) }

// alarmRead is one DescribeAlarms read of the step's alarms (every
// service of a step watches the same ones).
type alarmRead struct {
	at     time.Time
	got    map[string]alarmSeen
	err    error
	served map[*alarmWatch]bool
}

// alarms serves the alarm reads of every service's watch from one
// DescribeAlarms call per beat, as describe does for the services.
func (b *serviceBatcher) alarms(ctx context.Context, a *alarmWatch) (map[string]alarmSeen, error) {
	b.alarmMu.Lock()
	for {
		if rd := b.alarm; rd != nil && !rd.served[a] && b.d.now().Sub(rd.at) < b.fresh {
			rd.served[a] = true
			b.alarmMu.Unlock()
			return rd.got, rd.err
		}
		if b.alarmFlight == nil {
			break
		}
		if err := awaitFlight(ctx, &b.alarmMu, b.alarmFlight); err != nil {
			return nil, err
		}
	}
	done := make(chan struct{})
	b.alarmFlight = done
	b.alarmMu.Unlock()
	got, err := describeAlarms(ctx, a.d.cw, a.names) // without the lock
	rd := &alarmRead{at: b.d.now(), got: got, err: err, served: map[*alarmWatch]bool{a: true}}
	b.alarmMu.Lock()
	b.alarm, b.alarmFlight = rd, nil
	close(done)
	b.alarmMu.Unlock()
	return rd.got, rd.err
}

// awaitFlight waits, without mu (held on entry and on a nil return), for
// the read in flight to end, or for ctx: a watch waits for another's read
// no longer than its own deadline.
func awaitFlight(ctx context.Context, mu *sync.Mutex, flight chan struct{}) error {
	mu.Unlock()
	select {
	case <-flight:
		mu.Lock()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// batchGroup is one kind of read shared by the watches of a step: the
// first watch that asks for a member reads every member (chunk a call);
// the others are served that read while it is fresh and not yet served
// to them.
type batchGroup[T any] struct {
	fresh time.Duration
	now   func() time.Time
	chunk int
	fetch func(ctx context.Context, names []string) (found map[string]T, missing map[string]string, err error)

	mu      sync.Mutex
	members []string
	read    *batchRead[T]
	flight  chan struct{} // closed when the read in flight ends (nil: none)
}

type batchRead[T any] struct {
	at      time.Time
	found   map[string]T
	missing map[string]string
	err     error
	served  map[string]bool // members this read was handed to
}

func (g *batchGroup[T]) add(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !slices.Contains(g.members, name) {
		g.members = append(g.members, name)
	}
}

func (g *batchGroup[T]) release(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.members = slices.DeleteFunc(g.members, func(s string) bool { return s == name })
}

// get returns one member from a fresh read: its value, or why it is
// missing, or the read's error.
func (g *batchGroup[T]) get(ctx context.Context, name string) (v T, missing *string, err error) {
	g.mu.Lock()
	if !slices.Contains(g.members, name) {
		g.members = append(g.members, name)
	}
	var rd *batchRead[T]
	for {
		if r := g.read; r != nil && !r.served[name] && g.now().Sub(r.at) < g.fresh && r.has(name) {
			rd = r
			break
		}
		if g.flight == nil {
			break
		}
		// Another watch's read is in flight: wait for it (it may serve
		// this one too) on our own context, without the lock.
		if err := awaitFlight(ctx, &g.mu, g.flight); err != nil {
			return v, nil, err
		}
	}
	if rd == nil {
		done := make(chan struct{})
		g.flight = done
		members := slices.Clone(g.members)
		g.mu.Unlock()
		rd = &batchRead[T]{found: map[string]T{}, missing: map[string]string{}, served: map[string]bool{}}
		for chunk := range slices.Chunk(members, g.chunk) { // without the lock
			found, miss, err := g.fetch(ctx, chunk)
			if err != nil {
				rd.err = err
				break
			}
			maps.Copy(rd.found, found)
			maps.Copy(rd.missing, miss)
		}
		rd.at = g.now()
		g.mu.Lock()
		g.read, g.flight = rd, nil
		close(done)
	}
	rd.served[name] = true
	g.mu.Unlock()
	if rd.err != nil {
		return v, nil, rd.err
	}
	if got, ok := rd.found[name]; ok {
		return got, nil, nil
	}
	why := rd.missing[name]
	return v, &why, nil
}

func (rd *batchRead[T]) has(name string) bool {
	if rd.err != nil {
		return true
	}
	_, found := rd.found[name]
	_, missing := rd.missing[name]
	return found || missing
}

// readService is the watch's read of its service: through the step's
// batcher when several services are watched.
func (d *Deployer) readService(ctx context.Context, cluster, service string) (types.Service, error) {
	if d.batch != nil {
		return d.batch.describe(ctx, cluster, service)
	}
	return d.describeService(ctx, cluster, service)
}

// readServiceDeployment is the watch's read of a service deployment:
// through the step's batcher when several services are watched.
func (d *Deployer) readServiceDeployment(ctx context.Context, arn string) (types.ServiceDeployment, error) {
	if d.batch != nil {
		return d.batch.serviceDeployment(ctx, arn)
	}
	return d.describeServiceDeployment(ctx, arn)
}

// listServiceDeployments is the one list-then-describe of a service's
// deployments: the ARNs in first (the service's current one, say), then
// those ListServiceDeployments returns for in (its first page), described
// twenty a DescribeServiceDeployments, in that order. An error names the
// call that failed (errServiceDeploymentsRead).
func (d *Deployer) listServiceDeployments(ctx context.Context, in *ecs.ListServiceDeploymentsInput, first ...string) ([]types.ServiceDeployment, error) {
	list, err := d.ecs.ListServiceDeployments(ctx, in)
	if err != nil {
		return nil, &serviceDeploymentsReadError{action: "ecs:ListServiceDeployments", err: err}
	}
	arns := slices.DeleteFunc(slices.Clone(first), func(s string) bool { return s == "" })
	for _, b := range list.ServiceDeployments {
		if arn := aws.ToString(b.ServiceDeploymentArn); arn != "" && !slices.Contains(arns, arn) {
			arns = append(arns, arn)
		}
	}
	var out []types.ServiceDeployment
	for chunk := range slices.Chunk(arns, maxServiceDeploymentsPerDescribe) {
		found, _, err := d.describeServiceDeployments(ctx, chunk)
		if err != nil {
			return nil, &serviceDeploymentsReadError{action: "ecs:DescribeServiceDeployments", err: err}
		}
		for _, arn := range chunk {
			if sd, ok := found[arn]; ok {
				out = append(out, sd)
			}
		}
	}
	return out, nil
}

// serviceDeploymentsReadError is a failed read of the service-deployment
// API, naming the IAM action of the call.
type serviceDeploymentsReadError struct {
	action string // "ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments"
	err    error
}

func (e *serviceDeploymentsReadError) Error() string {
	return fmt.Sprintf("%s: %v", e.action, e.err)
}

func (e *serviceDeploymentsReadError) Unwrap() error { return e.err }

// describeServiceDeployments reads up to twenty service deployments in
// one call: those found by ARN, and why the others are missing.
func (d *Deployer) describeServiceDeployments(ctx context.Context, arns []string) (found map[string]types.ServiceDeployment, missing map[string]string, err error) {
	out, err := d.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: arns})
	if err != nil {
		return nil, nil, err
	}
	found, missing = map[string]types.ServiceDeployment{}, map[string]string{}
	for _, sd := range out.ServiceDeployments {
		found[aws.ToString(sd.ServiceDeploymentArn)] = sd
	}
	for _, f := range out.Failures {
		missing[aws.ToString(f.Arn)] = cmp.Or(aws.ToString(f.Reason), "not found")
	}
	for _, arn := range arns {
		if _, ok := found[arn]; !ok {
			if _, ok := missing[arn]; !ok {
				missing[arn] = "not found"
			}
		}
	}
	return found, missing, nil
}
