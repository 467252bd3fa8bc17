package ecssim

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// This file models the ECS side of services with the CODE_DEPLOY
// deployment controller: task sets. It follows the Amazon ECS Developer
// Guide, "CodeDeploy blue/green deployments for Amazon ECS"
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-bluegreen.html)
// and the API reference of TaskSet, DescribeTaskSets and UpdateService
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskSet.html,
// .../API_DescribeTaskSets.html, .../API_UpdateService.html).
//
// A task set is simulated as a deployment of the service (the same task
// machinery: tasks started by the task set's ID, failures, stops), but
// the rolling scheduler never touches it: each task set keeps its own
// scale of the desired count, replaces its failed tasks after the retry
// back-off, and is scaled down only when CodeDeploy deletes it.

// cdService is a CODE_DEPLOY service: its task sets are svc.deps, the
// PRIMARY (serving production traffic) first.
type cdService struct {
	svc *service
	// prodTG is the index (0 or 1) in the deployment group's target group
	// pair of the target group the PRIMARY task set is registered with.
	prodTG int
	sets   map[*deployment]*taskSet
}

// taskSet is what a task set adds to its deployment.
type taskSet struct {
	d         *deployment
	arn       string
	createdAt time.Time
	updatedAt time.Time
	scale     float64 // percent of the service's desired count
	tg        int     // target group index
	deleted   bool    // deleted by CodeDeploy: its tasks are stopping
	externID  string  // the CodeDeploy deployment that created it
	lastFail  time.Time
}

// cdServiceOf returns the CODE_DEPLOY state of svc, nil for a service of
// the ECS controller.
func (s *Sim) cdServiceOf(svc *service) *cdService {
	if s.cd == nil {
		return nil
	}
	return s.cd.services[svc]
}

// addCodeDeployService turns svc (just added from the scenario) into a
// CODE_DEPLOY service whose running deployment is its PRIMARY task set.
func (s *Sim) addCodeDeployService(svc *service, now time.Time) {
	cs := &cdService{svc: svc, sets: map[*deployment]*taskSet{}}
	d := svc.deps[0]
	s.cd.services[svc] = cs
	cs.sets[d] = &taskSet{d: d, arn: s.taskSetARN(svc, d.id), createdAt: now, updatedAt: now, scale: 100}
}

func (s *Sim) taskSetARN(svc *service, id string) string {
	return s.arn(fmt.Sprintf("task-set/%s/%s/%s", svc.cl.name, svc.name, id))
}

// createTaskSet starts a replacement task set of td at full scale, as
// CodeDeploy's Install lifecycle event does ("CodeDeploy creates the
// replacement task set", Developer Guide, "CodeDeploy blue/green
// deployments").
func (s *Sim) createTaskSet(cs *cdService, td *taskDef, deploymentID string, now time.Time) *taskSet {
	d := s.newDeployment(cs.svc, td, now)
	d.status = "ACTIVE"
	d.evaluating = false
	ts := &taskSet{d: d, arn: s.taskSetARN(cs.svc, d.id), createdAt: now, updatedAt: now, scale: 100, tg: 1 - cs.prodTG, externID: deploymentID}
	cs.sets[d] = ts
	cs.svc.deps = append(cs.svc.deps, d)
	cs.svc.steady = false
	return ts
}

// setPrimary makes ts the PRIMARY task set (UpdateServicePrimaryTaskSet,
// which CodeDeploy calls once production traffic is rerouted).
func (s *Sim) setPrimary(cs *cdService, ts *taskSet, now time.Time) {
	svc := cs.svc
	deps := []*deployment{ts.d}
	for _, d := range svc.deps {
		if d != ts.d {
			if d.status == "PRIMARY" {
				d.status = "ACTIVE"
			}
			deps = append(deps, d)
		}
	}
	ts.d.status = "PRIMARY"
	ts.updatedAt = now
	svc.deps = deps
	cs.prodTG = ts.tg
}

// deleteTaskSet stops every task of ts; the task set disappears once they
// are STOPPED (DeleteTaskSet).
func (s *Sim) deleteTaskSet(cs *cdService, ts *taskSet, now time.Time) {
	if ts.deleted {
		return
	}
	ts.deleted = true
	ts.d.status = "DRAINING"
	ts.updatedAt = now
	var stopped []*task
	for _, t := range ts.d.live {
		if t.desired == "RUNNING" {
			s.beginStop(t, now, types.TaskStopCodeServiceSchedulerInitiated, fmt.Sprintf("Scaling activity initiated by (taskSet %s)", ts.d.id), false)
			stopped = append(stopped, t)
		}
	}
	if len(stopped) > 0 {
		s.event(cs.svc, now, fmt.Sprintf("(service %s, taskSet %s) has stopped %d running tasks: %s.", cs.svc.name, ts.d.id, len(stopped), taskList(stopped)))
	}
}

// scheduleTaskSets is the scheduler of a CODE_DEPLOY service: each task
// set runs its scale of the desired count, failed tasks are replaced
// after the retry back-off, deleted task sets go away once drained, and
// the CodeDeploy deployment of the service moves on. It reports whether
// anything changed.
func (s *Sim) scheduleTaskSets(cs *cdService, now time.Time) bool {
	svc := cs.svc
	if svc.status != "ACTIVE" {
		return false
	}
	changed := false
	kept := svc.deps[:0:0]
	for _, d := range svc.deps {
		ts := cs.sets[d]
		if ts.deleted && len(d.live) == 0 {
			delete(cs.sets, d)
			changed = true
			continue
		}
		kept = append(kept, d)
	}
	svc.deps = kept
	for _, d := range svc.deps {
		ts := cs.sets[d]
		if ts.deleted {
			continue
		}
		for _, t := range d.live {
			if t.desired == "STOPPED" && t.stopCode != types.TaskStopCodeServiceSchedulerInitiated && t.stoppingAt.After(ts.lastFail) {
				ts.lastFail = t.stoppingAt
			} else if t.desired == "STOPPED" && t.stoppedReason == "Task failed container health checks" && t.stoppingAt.After(ts.lastFail) {
				ts.lastFail = t.stoppingAt
			}
		}
		want := ts.computedDesired(svc.desired)
		var wanted []*task
		for _, t := range d.live {
			if t.desired == "RUNNING" {
				wanted = append(wanted, t)
			}
		}
		d.desired = want
		if n := int(want) - len(wanted); n > 0 && !now.Before(ts.lastFail.Add(s.timings.RetryBackoff.D())) {
			var started []*task
			for i := 0; i < n; i++ {
				started = append(started, s.newTask(svc, d, now))
			}
			ts.updatedAt = now
			s.event(svc, now, fmt.Sprintf("(service %s, taskSet %s) has started %d tasks: %s.", svc.name, d.id, len(started), taskList(started)))
			changed = true
		} else if n < 0 {
			for i := len(wanted) - 1; i >= int(want); i-- {
				s.stopByScheduler(wanted[i], d, now)
			}
			changed = true
		}
	}
	steady := true
	for _, d := range svc.deps {
		if !cs.sets[d].steady(svc.desired) {
			steady = false
		}
	}
	if steady && !svc.steady {
		svc.steady = true
		s.event(svc, now, fmt.Sprintf("(service %s) has reached a steady state.", svc.name))
		changed = true
	} else if !steady {
		svc.steady = false
	}
	if s.stepCodeDeploy(cs, now) {
		changed = true
	}
	return changed
}

// computedDesired is the task set's share of the service's desired count,
// rounded up as ECS does ("computedDesiredCount").
func (ts *taskSet) computedDesired(desired int32) int32 {
	if ts.deleted {
		return 0
	}
	return int32(math.Ceil(float64(desired) * ts.scale / 100))
}

// steady reports whether every task the task set wants runs healthy.
func (ts *taskSet) steady(desired int32) bool {
	if ts.deleted {
		return false
	}
	healthy := 0
	for _, t := range ts.d.live {
		if t.desired != "RUNNING" {
			continue
		}
		if !t.healthyForDeployment() {
			return false
		}
		healthy++
	}
	return int32(healthy) == ts.computedDesired(desired)
}

// taskSetsNext is the next time a task set of svc may launch a
// replacement for a failed task (zero if none waits).
func (s *Sim) taskSetsNext(svc *service, now time.Time) time.Time {
	cs := s.cdServiceOf(svc)
	if cs == nil {
		return time.Time{}
	}
	var next time.Time
	earliest := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, ts := range cs.sets {
		if !ts.lastFail.IsZero() {
			earliest(ts.lastFail.Add(s.timings.RetryBackoff.D()))
		}
	}
	earliest(s.codeDeployNext(cs, now))
	return next
}

// taskSetView renders a task set as DescribeServices (taskSets) and
// DescribeTaskSets return it.
func (s *Sim) taskSetView(cs *cdService, ts *taskSet) types.TaskSet {
	svc := cs.svc
	running, pending := countRunningPending(ts.d.live)
	stability := types.StabilityStatusStabilizing
	if ts.steady(svc.desired) {
		stability = types.StabilityStatusSteadyState
	}
	v := types.TaskSet{
		Id:                   aws.String(ts.d.id),
		TaskSetArn:           aws.String(ts.arn),
		ServiceArn:           aws.String(svc.arn),
		ClusterArn:           aws.String(svc.cl.arn),
		StartedBy:            aws.String("CODE_DEPLOY"),
		Status:               aws.String(ts.d.status),
		TaskDefinition:       aws.String(ts.d.td.arn()),
		ComputedDesiredCount: ts.computedDesired(svc.desired),
		RunningCount:         running,
		PendingCount:         pending,
		CreatedAt:            aws.Time(ts.createdAt),
		UpdatedAt:            aws.Time(ts.updatedAt),
		LaunchType:           svc.launchType,
		PlatformVersion:      svc.platformVersion,
		NetworkConfiguration: svc.network,
		Scale:                &types.Scale{Value: ts.scale, Unit: types.ScaleUnitPercent},
		StabilityStatus:      stability,
		StabilityStatusAt:    aws.Time(ts.updatedAt),
	}
	if ts.externID != "" {
		v.ExternalId = aws.String(ts.externID)
	}
	if g := s.cd.groupOf(svc); g != nil && len(g.TargetGroups) == 2 && len(svc.sdx.lbs) > 0 {
		lb := svc.sdx.lbs[0]
		lb.TargetGroupArn = aws.String(s.targetGroupARN(g.TargetGroups[ts.tg]))
		lb.AdvancedConfiguration = nil
		v.LoadBalancers = []types.LoadBalancer{lb}
	}
	return v
}

// decorateCodeDeployView shows a CODE_DEPLOY service as ECS describes
// one: its deployment controller, its task sets in taskSets, and no
// deployments (those belong to the ECS deployment controller).
func (s *Sim) decorateCodeDeployView(svc *service, v *types.Service) {
	cs := s.cdServiceOf(svc)
	if cs == nil {
		return
	}
	v.DeploymentController = &types.DeploymentController{Type: types.DeploymentControllerTypeCodeDeploy}
	v.Deployments = nil
	v.DeploymentConfiguration.Strategy = ""
	v.DeploymentConfiguration.DeploymentCircuitBreaker = nil
	v.CurrentServiceDeployment = nil
	v.RunningCount, v.PendingCount = 0, 0
	for _, d := range svc.deps {
		tv := s.taskSetView(cs, cs.sets[d])
		v.TaskSets = append(v.TaskSets, tv)
		v.RunningCount += tv.RunningCount
		v.PendingCount += tv.PendingCount
	}
}

// describeTaskSets answers DescribeTaskSets for a CODE_DEPLOY (or
// EXTERNAL) service; a service of the ECS controller has none.
func (s *Sim) describeTaskSets(in *ecs.DescribeTaskSetsInput, now time.Time) (*ecs.DescribeTaskSetsOutput, *apiError) {
	cl, aerr := s.resolveCluster(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	svc, ok := cl.service(aws.ToString(in.Service))
	if !ok {
		return nil, errServiceNotFound()
	}
	cs := s.cdServiceOf(svc)
	if cs == nil {
		return nil, errInvalidParam("Amazon ECS only supports task set management on services configured to use external deployment controllers.")
	}
	out := &ecs.DescribeTaskSetsOutput{TaskSets: []types.TaskSet{}, Failures: []types.Failure{}}
	if len(in.TaskSets) == 0 {
		for _, d := range svc.deps {
			out.TaskSets = append(out.TaskSets, s.taskSetView(cs, cs.sets[d]))
		}
		return out, nil
	}
	for _, ref := range in.TaskSets {
		var found *taskSet
		for _, d := range svc.deps {
			if ts := cs.sets[d]; ts.arn == ref || d.id == ref {
				found = ts
			}
		}
		if found == nil {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(ref), Reason: aws.String("MISSING")})
			continue
		}
		out.TaskSets = append(out.TaskSets, s.taskSetView(cs, found))
	}
	return out, nil
}

// updateCodeDeployService is UpdateService on a CODE_DEPLOY service:
// "only the desired count, deployment configuration, health check grace
// period, task placement constraints and strategies, enable ECS managed
// tags option, and propagate tags can be updated using this API. If the
// network configuration, platform version, task definition, or load
// balancer need to be updated, create a new CodeDeploy deployment"
// (UpdateService, API reference).
func (s *Sim) updateCodeDeployService(cs *cdService, in *ecs.UpdateServiceInput, now time.Time) (*ecs.UpdateServiceOutput, *apiError) {
	var refused []string
	if in.TaskDefinition != nil {
		refused = append(refused, "task definition")
	}
	if in.NetworkConfiguration != nil {
		refused = append(refused, "network configuration")
	}
	if in.PlatformVersion != nil {
		refused = append(refused, "platform version")
	}
	if in.LoadBalancers != nil {
		refused = append(refused, "load balancers")
	}
	if in.ForceNewDeployment {
		refused = append(refused, "force new deployment")
	}
	if len(refused) > 0 {
		return nil, errInvalidParam("Unable to update %s on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.", strings.Join(refused, ", "))
	}
	if in.DesiredCount != nil {
		cs.svc.desired = *in.DesiredCount
	}
	if in.EnableECSManagedTags != nil {
		cs.svc.enableManagedTags = *in.EnableECSManagedTags
	}
	if in.PropagateTags != "" {
		cs.svc.propagateTags = in.PropagateTags
	}
	s.wake()
	return &ecs.UpdateServiceOutput{Service: ptr(s.serviceView(cs.svc, false))}, nil
}
