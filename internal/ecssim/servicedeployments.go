package ecssim

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// This file holds ECS's service-deployment API for every strategy:
// service revisions (one per deployment, capturing what is deployed),
// service deployments (one per UpdateService that starts a deployment),
// and the operations ListServiceDeployments, DescribeServiceDeployments,
// DescribeServiceRevisions, StopServiceDeployment and
// ContinueServiceDeployment. The staged lifecycle (BLUE_GREEN, LINEAR,
// CANARY) that moves them is in strategies.go.

// svcDeploys is a service's deployment settings beyond the rolling ones,
// and its service revisions and service deployments.
type svcDeploys struct {
	strategy types.DeploymentStrategy
	bake     *int32
	linear   *types.LinearConfiguration
	canary   *types.CanaryConfiguration
	hooks    []types.DeploymentLifecycleHook
	lbs      []types.LoadBalancer

	revs []*serviceRevision
	sds  []*serviceDeployment // oldest first
	good *serviceRevision     // the last revision deployed successfully

	rollbackFails bool // scripted: rollbacks end ROLLBACK_FAILED
}

// serviceRevision is the workload configuration one deployment deployed.
type serviceRevision struct {
	arn             string
	svc             *service
	td              *taskDef
	createdAt       time.Time
	launchType      types.LaunchType
	network         *types.NetworkConfiguration
	platformVersion *string
	lbs             []types.LoadBalancer
	alternate       bool // serves from the alternate target groups (blue/green)
}

// serviceDeployment is one ECS service deployment.
type serviceDeployment struct {
	arn       string
	svc       *service
	strategy  types.DeploymentStrategy
	config    types.DeploymentConfiguration // as it was when it started
	target    *serviceRevision
	targetDep *deployment
	sources   []*serviceRevision
	status    types.ServiceDeploymentStatus
	reason    string

	createdAt, startedAt, updatedAt, finishedAt, stoppedAt time.Time
	listedAt                                               time.Time // when ListServiceDeployments begins to list it

	rollback   *types.Rollback
	rbRev      *serviceRevision // what a rollback restores
	rbDep      *deployment      // the deployment restoring it
	cbFailures int32
	next       time.Time // when a timed transition is due (zero: none)

	// The staged lifecycle (strategies.go).
	plan        []planStage
	stageIdx    int // index in plan; -1 before the first stage
	stageAt     time.Time
	waitUntil   time.Time
	hooksOf     int // plan index whose hooks are in hookRuns; -1 none
	hookRuns    []*hookRun
	hookCount   map[string]int    // Lambda invocations so far, by hook target + stage
	hookIDs     map[string]string // hookId by hook (index in the configuration) + stage
	prodWeight  float64           // requested on the target revision
	testWeight  float64
	stageReport types.ServiceDeploymentLifecycleStage
	history     []string // "STAGE prod/test" and statuses, in order (for tests)

	// Summaries frozen when the deployment ended.
	final *sdSummaries
}

type sdSummaries struct {
	target  types.ServiceRevisionSummary
	sources []types.ServiceRevisionSummary
}

func (sd *serviceDeployment) staged() bool {
	return sd.strategy == types.DeploymentStrategyBlueGreen || sd.strategy == types.DeploymentStrategyLinear || sd.strategy == types.DeploymentStrategyCanary
}

func (sd *serviceDeployment) ended() bool {
	switch sd.status {
	case types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentStatusStopped,
		types.ServiceDeploymentStatusRollbackSuccessful, types.ServiceDeploymentStatusRollbackFailed:
		return true
	}
	return false
}

// forward reports whether the deployment is still moving towards its
// target (not ended, not rolling back or stopping).
func (sd *serviceDeployment) forward() bool {
	return sd.status == types.ServiceDeploymentStatusPending || sd.status == types.ServiceDeploymentStatusInProgress
}

func (s *Sim) randomToken(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.rnd.IntN(len(alphabet))]
	}
	return string(b)
}

// newRevision captures svc's configuration with td as a service revision.
func (s *Sim) newRevision(svc *service, td *taskDef, now time.Time) *serviceRevision {
	st := svc.sdx
	r := &serviceRevision{
		arn:             s.arn(fmt.Sprintf("service-revision/%s/%s/%d%018d", svc.cl.name, svc.name, 1+s.rnd.IntN(9), s.rnd.Int64N(1e18))),
		svc:             svc,
		td:              td,
		createdAt:       now,
		launchType:      svc.launchType,
		network:         svc.network,
		platformVersion: svc.platformVersion,
		lbs:             append([]types.LoadBalancer(nil), st.lbs...),
	}
	if st.good != nil && stagedStrategy(st.strategy) {
		r.alternate = !st.good.alternate
	}
	st.revs = append(st.revs, r)
	return r
}

func stagedStrategy(st types.DeploymentStrategy) bool {
	return st == types.DeploymentStrategyBlueGreen || st == types.DeploymentStrategyLinear || st == types.DeploymentStrategyCanary
}

// initServiceDeployments gives a scenario service its first revision and
// the SUCCESSFUL service deployment that created it.
func (s *Sim) initServiceDeployments(svc *service, d *deployment, now time.Time) {
	rev := s.newRevision(svc, d.td, now)
	d.rev = rev
	sd := &serviceDeployment{
		arn:       s.arn(fmt.Sprintf("service-deployment/%s/%s/%s", svc.cl.name, svc.name, s.randomToken(21))),
		svc:       svc,
		strategy:  svc.sdx.strategyOrRolling(),
		config:    s.deploymentConfigView(svc),
		target:    rev,
		targetDep: d,
		status:    types.ServiceDeploymentStatusSuccessful,
		createdAt: now, startedAt: now, updatedAt: now, finishedAt: now, listedAt: now,
		stageIdx: -1, hooksOf: -1,
		prodWeight: 100, testWeight: 100,
	}
	if sd.staged() {
		sd.stageReport = types.ServiceDeploymentLifecycleStageCleanUp
	}
	svc.sdx.sds = append(svc.sdx.sds, sd)
	svc.sdx.good = rev
	sd.final = s.summaries(sd)
}

func (st *svcDeploys) strategyOrRolling() types.DeploymentStrategy {
	if st.strategy == "" {
		return types.DeploymentStrategyRolling
	}
	return st.strategy
}

// startServiceDeployment records the service deployment of d, the new
// PRIMARY deployment UpdateService just created.
func (s *Sim) startServiceDeployment(svc *service, d *deployment, now time.Time) *serviceDeployment {
	st := svc.sdx
	rev := s.newRevision(svc, d.td, now)
	d.rev = rev
	sd := &serviceDeployment{
		arn:       s.arn(fmt.Sprintf("service-deployment/%s/%s/%s", svc.cl.name, svc.name, s.randomToken(21))),
		svc:       svc,
		strategy:  st.strategyOrRolling(),
		config:    s.deploymentConfigView(svc),
		target:    rev,
		targetDep: d,
		status:    types.ServiceDeploymentStatusPending,
		createdAt: now, updatedAt: now,
		// The ECS API is eventually consistent: "the result of an API
		// command you run that affects your Amazon ECS resources might not
		// be immediately visible to all subsequent commands you run" (API
		// reference, RunTask and the other mutating actions). The new
		// service deployment is named by the UpdateService response
		// (currentServiceDeployment) and can be described at once, but
		// ListServiceDeployments lists it only after listDelay.
		listedAt: now.Add(s.listDelay),
		stageIdx: -1, hooksOf: -1,
		rbRev:     st.good,
		hookCount: map[string]int{},
		hookIDs:   map[string]string{},
		next:      now,
	}
	seen := map[*serviceRevision]bool{}
	for _, od := range svc.deps {
		if od == d || od.rev == nil || seen[od.rev] || len(od.live) == 0 {
			continue
		}
		seen[od.rev] = true
		sd.sources = append(sd.sources, od.rev)
	}
	if len(sd.sources) == 0 && st.good != nil {
		sd.sources = []*serviceRevision{st.good}
	}
	for _, old := range st.sds {
		if !old.ended() {
			old.status = types.ServiceDeploymentStatusStopped
			old.reason = "Service deployment stopped because a newer service deployment started."
			old.stoppedAt, old.finishedAt, old.updatedAt = now, now, now
			old.final = s.summaries(old)
		}
	}
	if sd.staged() {
		sd.plan = buildPlan(sd.strategy, st, len(st.activeRevisions()) > 1)
		sd.testWeight, sd.prodWeight = 0, 0
	} else {
		sd.plan = rollingHookPlan(st, len(st.activeRevisions()) > 1) // rollinghooks.go: nil without hooks
		sd.prodWeight, sd.testWeight = 100, 100
	}
	st.sds = append(st.sds, sd)
	return sd
}

// activeRevisions are the revisions with tasks still running.
func (st *svcDeploys) activeRevisions() []*serviceRevision {
	var out []*serviceRevision
	seen := map[*serviceRevision]bool{}
	for _, sd := range st.sds {
		if sd.targetDep != nil && len(sd.targetDep.live) > 0 && !seen[sd.target] {
			seen[sd.target] = true
			out = append(out, sd.target)
		}
	}
	return out
}

// current is the service's newest service deployment.
func (st *svcDeploys) current() *serviceDeployment {
	if len(st.sds) == 0 {
		return nil
	}
	return st.sds[len(st.sds)-1]
}

// deploymentConfigView is the service's deploymentConfiguration as ECS
// describes it.
func (s *Sim) deploymentConfigView(svc *service) types.DeploymentConfiguration {
	st := svc.sdx
	dc := types.DeploymentConfiguration{
		MinimumHealthyPercent:    aws.Int32(svc.minHealthy),
		MaximumPercent:           aws.Int32(svc.maxPercent),
		DeploymentCircuitBreaker: svc.cb,
		Alarms:                   svc.alarms,
		Strategy:                 st.strategyOrRolling(),
		BakeTimeInMinutes:        st.bake,
		LinearConfiguration:      st.linear,
		CanaryConfiguration:      st.canary,
	}
	if len(st.hooks) > 0 {
		dc.LifecycleHooks = append([]types.DeploymentLifecycleHook(nil), st.hooks...)
	}
	return dc
}

// decorateServiceView adds what DescribeServices shows of the
// service-deployment API and the deployment strategy.
func (s *Sim) decorateServiceView(svc *service, v *types.Service) {
	st := svc.sdx
	if st == nil {
		return
	}
	dc := s.deploymentConfigView(svc)
	if v.DeploymentConfiguration != nil { // keep what others added (alarms, …)
		v.DeploymentConfiguration.Strategy = dc.Strategy
		v.DeploymentConfiguration.BakeTimeInMinutes = dc.BakeTimeInMinutes
		v.DeploymentConfiguration.LinearConfiguration = dc.LinearConfiguration
		v.DeploymentConfiguration.CanaryConfiguration = dc.CanaryConfiguration
		v.DeploymentConfiguration.LifecycleHooks = dc.LifecycleHooks
	} else {
		v.DeploymentConfiguration = &dc
	}
	if len(st.lbs) > 0 {
		v.LoadBalancers = append([]types.LoadBalancer{}, st.lbs...)
	}
	if cur := st.current(); cur != nil {
		v.CurrentServiceDeployment = aws.String(cur.arn)
	}
}

// revisionSummary counts the tasks of rev across the service's deployments.
func (s *Sim) revisionSummary(svc *service, rev *serviceRevision, prod, test *float64) types.ServiceRevisionSummary {
	sum := types.ServiceRevisionSummary{Arn: aws.String(rev.arn), RequestedProductionTrafficWeight: prod, RequestedTestTrafficWeight: test}
	for _, d := range svc.deps {
		if d.rev != rev {
			continue
		}
		sum.RequestedTaskCount += d.desired
		for _, t := range d.live {
			if t.desired != "RUNNING" {
				continue
			}
			if t.last == "RUNNING" {
				sum.RunningTaskCount++
			} else if t.pending() {
				sum.PendingTaskCount++
			}
		}
	}
	return sum
}

func (s *Sim) summaries(sd *serviceDeployment) *sdSummaries {
	var tp, tt *float64
	if sd.staged() {
		tp, tt = aws.Float64(sd.prodWeight), aws.Float64(sd.testWeight)
	}
	out := &sdSummaries{target: s.revisionSummary(sd.svc, sd.target, tp, tt)}
	for _, r := range sd.sources {
		var sp, stt *float64
		if sd.staged() {
			sp, stt = aws.Float64(100-sd.prodWeight), aws.Float64(100-sd.testWeight)
		}
		out.sources = append(out.sources, s.revisionSummary(sd.svc, r, sp, stt))
	}
	return out
}

// serviceDeploymentView renders sd as DescribeServiceDeployments does.
func (s *Sim) serviceDeploymentView(sd *serviceDeployment) types.ServiceDeployment {
	svc := sd.svc
	sums := sd.final
	if sums == nil {
		sums = s.summaries(sd)
	}
	cfg := sd.config
	v := types.ServiceDeployment{
		ServiceDeploymentArn:    aws.String(sd.arn),
		ServiceArn:              aws.String(svc.arn),
		ClusterArn:              aws.String(svc.cl.arn),
		CreatedAt:               aws.Time(sd.createdAt),
		StartedAt:               timePtr(sd.startedAt),
		UpdatedAt:               aws.Time(sd.updatedAt),
		FinishedAt:              timePtr(sd.finishedAt),
		StoppedAt:               timePtr(sd.stoppedAt),
		Status:                  sd.status,
		DeploymentConfiguration: &cfg,
		TargetServiceRevision:   ptr(sums.target),
		SourceServiceRevisions:  append([]types.ServiceRevisionSummary{}, sums.sources...),
		Rollback:                sd.rollback,
		LifecycleStage:          sd.stageReport,
		Alarms:                  s.sdAlarmsView(sd),
	}
	if sd.reason != "" {
		v.StatusReason = aws.String(sd.reason)
	}
	// ServiceDeploymentCircuitBreaker (API reference): "Amazon ECS is not
	// using the circuit breaker for service deployment failures when the
	// status is DISABLED", so without an enabled breaker there is no
	// failureCount and no threshold: tasks that crash, even in a loop, show
	// only as stopped tasks and service events. With the breaker, the
	// threshold is the service's (cbThreshold: thresholdConfiguration and
	// the desired count; by default 0.5 × the desired count, at least 3 and
	// at most 200).
	cb := types.ServiceDeploymentCircuitBreaker{Status: types.ServiceDeploymentRollbackMonitorsStatusDisabled}
	if c := cfg.DeploymentCircuitBreaker; c != nil && c.Enable {
		cb.Status = types.ServiceDeploymentRollbackMonitorsStatusMonitoring
		cb.Threshold = cbThreshold(svc)
		cb.FailureCount = sd.cbFailures
		if sd.targetDep != nil && sd.targetDep.failed > cb.FailureCount {
			cb.FailureCount = sd.targetDep.failed
		}
		switch {
		case sd.rollback != nil && strings.Contains(aws.ToString(sd.rollback.Reason), "circuit breaker"),
			sd.status == types.ServiceDeploymentStatusStopped && strings.Contains(sd.reason, "circuit breaker"):
			cb.Status = types.ServiceDeploymentRollbackMonitorsStatusTriggered
		case sd.ended():
			cb.Status = types.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete
		}
	}
	v.DeploymentCircuitBreaker = &cb
	for _, h := range sd.hookRuns {
		v.LifecycleHookDetails = append(v.LifecycleHookDetails, h.view())
	}
	return v
}

// sdAlarmsView is the service deployment's alarms: the names it watches,
// MONITORING while it runs, TRIGGERED with the names that failed it.
func (s *Sim) sdAlarmsView(sd *serviceDeployment) *types.ServiceDeploymentAlarms {
	a := sd.config.Alarms
	if a == nil || !a.Enable || len(a.AlarmNames) == 0 {
		return &types.ServiceDeploymentAlarms{Status: types.ServiceDeploymentRollbackMonitorsStatusDisabled}
	}
	v := &types.ServiceDeploymentAlarms{AlarmNames: append([]string{}, a.AlarmNames...), Status: types.ServiceDeploymentRollbackMonitorsStatusMonitoring}
	if names := s.cw.triggered[sd.targetDep.id]; len(names) > 0 {
		v.Status = types.ServiceDeploymentRollbackMonitorsStatusTriggered
		v.TriggeredAlarmNames = append([]string{}, names...)
	} else if sd.ended() {
		v.Status = types.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete
	}
	return v
}

func (s *Sim) serviceDeploymentBrief(sd *serviceDeployment) types.ServiceDeploymentBrief {
	b := types.ServiceDeploymentBrief{
		ServiceDeploymentArn:     aws.String(sd.arn),
		ServiceArn:               aws.String(sd.svc.arn),
		ClusterArn:               aws.String(sd.svc.cl.arn),
		CreatedAt:                aws.Time(sd.createdAt),
		StartedAt:                timePtr(sd.startedAt),
		FinishedAt:               timePtr(sd.finishedAt),
		Status:                   sd.status,
		TargetServiceRevisionArn: aws.String(sd.target.arn),
	}
	if sd.reason != "" {
		b.StatusReason = aws.String(sd.reason)
	}
	return b
}

func (s *Sim) serviceRevisionView(r *serviceRevision) types.ServiceRevision {
	v := types.ServiceRevision{
		ServiceRevisionArn:   aws.String(r.arn),
		ServiceArn:           aws.String(r.svc.arn),
		ClusterArn:           aws.String(r.svc.cl.arn),
		TaskDefinition:       aws.String(r.td.arn()),
		CreatedAt:            aws.Time(r.createdAt),
		LaunchType:           r.launchType,
		NetworkConfiguration: r.network,
		PlatformVersion:      r.platformVersion,
	}
	if r.launchType == types.LaunchTypeFargate {
		v.PlatformFamily = aws.String("Linux")
	}
	for _, cd := range r.td.td.ContainerDefinitions {
		v.ContainerImages = append(v.ContainerImages, types.ContainerImage{
			ContainerName: cd.Name,
			Image:         cd.Image,
			ImageDigest:   aws.String(imageDigest(aws.ToString(cd.Image))),
		})
	}
	if len(r.lbs) > 0 {
		v.LoadBalancers = append([]types.LoadBalancer{}, r.lbs...)
		rc := &types.ResolvedConfiguration{}
		for _, lb := range r.lbs {
			tg := lb.TargetGroupArn
			var rule *string
			if ac := lb.AdvancedConfiguration; ac != nil {
				rule = ac.ProductionListenerRule
				if r.alternate && ac.AlternateTargetGroupArn != nil {
					tg = ac.AlternateTargetGroupArn
				}
			}
			rc.LoadBalancers = append(rc.LoadBalancers, types.ServiceRevisionLoadBalancer{TargetGroupArn: tg, ProductionListenerRule: rule})
		}
		v.ResolvedConfiguration = rc
	}
	return v
}

// imageDigest is a stable made-up sha256 digest for an image reference.
func imageDigest(image string) string {
	if i := strings.Index(image, "@sha256:"); i >= 0 {
		return image[i+1:]
	}
	var h uint64 = 1469598103934665603
	for i := 0; i < len(image); i++ {
		h = (h ^ uint64(image[i])) * 1099511628211
	}
	return fmt.Sprintf("sha256:%016x%016x%016x%016x", h, h*31, h*37, h*41)
}

// findServiceDeployment resolves a service-deployment ARN.
func (s *Sim) findServiceDeployment(arn string) *serviceDeployment {
	for _, cl := range s.cOrder {
		for _, svc := range cl.sOrder {
			if svc.sdx == nil {
				continue
			}
			for _, sd := range svc.sdx.sds {
				if sd.arn == arn {
					return sd
				}
			}
		}
	}
	return nil
}

func (s *Sim) findServiceRevision(arn string) *serviceRevision {
	for _, cl := range s.cOrder {
		for _, svc := range cl.sOrder {
			if svc.sdx == nil {
				continue
			}
			for _, r := range svc.sdx.revs {
				if r.arn == arn {
					return r
				}
			}
		}
	}
	return nil
}

func errServiceDeploymentNotFound() *apiError {
	return &apiError{Code: "ServiceDeploymentNotFoundException", Message: "The service deployment does not exist.", Status: 400}
}

func errConflict(format string, a ...any) *apiError {
	return &apiError{Code: "ConflictException", Message: fmt.Sprintf(format, a...), Status: 400}
}

func sdPageToken(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("ecssim-sd:" + strconv.Itoa(n)))
}

func parseSDPageToken(tok string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(b), "ecssim-sd:") {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "ecssim-sd:"))
	return n, err == nil && n >= 0
}

func (s *Sim) listServiceDeployments(in *ecs.ListServiceDeploymentsInput, now time.Time) (*ecs.ListServiceDeploymentsOutput, *apiError) {
	cl, aerr := s.resolveCluster(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	svc, ok := cl.service(aws.ToString(in.Service))
	if !ok {
		return nil, errServiceNotFound()
	}
	limit := 20
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, errInvalidParam("maxResults must be between 1 and 100.")
		}
		limit = int(*in.MaxResults)
	}
	skip := 0
	if in.NextToken != nil {
		n, ok := parseSDPageToken(*in.NextToken)
		if !ok {
			return nil, errInvalidParam("Invalid nextToken.")
		}
		skip = n
	}
	var match []*serviceDeployment
	for i := len(svc.sdx.sds) - 1; i >= 0; i-- { // newest first
		sd := svc.sdx.sds[i]
		if now.Before(sd.listedAt) {
			continue // not visible yet: see startServiceDeployment
		}
		if len(in.Status) > 0 && !slices.Contains(in.Status, sd.status) {
			continue
		}
		if ca := in.CreatedAt; ca != nil {
			if ca.After != nil && !sd.createdAt.After(*ca.After) {
				continue
			}
			if ca.Before != nil && !sd.createdAt.Before(*ca.Before) {
				continue
			}
		}
		match = append(match, sd)
	}
	out := &ecs.ListServiceDeploymentsOutput{ServiceDeployments: []types.ServiceDeploymentBrief{}}
	for i := skip; i < len(match); i++ {
		if len(out.ServiceDeployments) == limit {
			out.NextToken = aws.String(sdPageToken(i))
			break
		}
		out.ServiceDeployments = append(out.ServiceDeployments, s.serviceDeploymentBrief(match[i]))
	}
	return out, nil
}

func (s *Sim) describeServiceDeployments(in *ecs.DescribeServiceDeploymentsInput, now time.Time) (*ecs.DescribeServiceDeploymentsOutput, *apiError) {
	if len(in.ServiceDeploymentArns) > 20 {
		return nil, errInvalidParam("serviceDeploymentArns cannot have more than 20 elements")
	}
	out := &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []types.ServiceDeployment{}, Failures: []types.Failure{}}
	for _, arn := range in.ServiceDeploymentArns {
		sd := s.findServiceDeployment(arn)
		if sd == nil {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		out.ServiceDeployments = append(out.ServiceDeployments, s.serviceDeploymentView(sd))
	}
	return out, nil
}

func (s *Sim) describeServiceRevisions(in *ecs.DescribeServiceRevisionsInput, now time.Time) (*ecs.DescribeServiceRevisionsOutput, *apiError) {
	if len(in.ServiceRevisionArns) > 20 {
		return nil, errInvalidParam("serviceRevisionArns cannot have more than 20 elements")
	}
	out := &ecs.DescribeServiceRevisionsOutput{ServiceRevisions: []types.ServiceRevision{}, Failures: []types.Failure{}}
	for _, arn := range in.ServiceRevisionArns {
		r := s.findServiceRevision(arn)
		if r == nil {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		out.ServiceRevisions = append(out.ServiceRevisions, s.serviceRevisionView(r))
	}
	return out, nil
}

// The statusReason and rollback reason texts.
const (
	reasonStopRollback = "Service deployment rolled back because of a StopServiceDeployment request."
	reasonStopAbort    = "Service deployment stopped because of a StopServiceDeployment request."
)

// stopServiceDeployment follows "Stopping Amazon ECS service deployments"
// (developer guide, stop-service-deployment.html): a deployment can be
// stopped in PENDING or IN_PROGRESS (it moves to ROLLBACK_REQUESTED, then
// the rollback starts), STOP_REQUESTED ("continues to stop"),
// ROLLBACK_REQUESTED and ROLLBACK_IN_PROGRESS ("continues the rollback
// operation"); those calls succeed and change nothing more. A completed
// deployment (SUCCESSFUL, STOPPED, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED) is
// refused with ConflictException, which the API reference
// (API_StopServiceDeployment.html) describes as a conflict with the
// current state of the resource; an unknown ARN is
// ServiceDeploymentNotFoundException.
func (s *Sim) stopServiceDeployment(in *ecs.StopServiceDeploymentInput, now time.Time) (*ecs.StopServiceDeploymentOutput, *apiError) {
	stopType := in.StopType
	if stopType == "" {
		stopType = types.StopServiceDeploymentStopTypeRollback
	}
	if stopType != types.StopServiceDeploymentStopTypeRollback && stopType != types.StopServiceDeploymentStopTypeAbort {
		return nil, errInvalidParam("Invalid stopType %q: valid values are ROLLBACK and ABORT.", stopType)
	}
	sd := s.findServiceDeployment(aws.ToString(in.ServiceDeploymentArn))
	if sd == nil {
		return nil, errServiceDeploymentNotFound()
	}
	out := &ecs.StopServiceDeploymentOutput{ServiceDeploymentArn: aws.String(sd.arn)}
	switch sd.status {
	case types.ServiceDeploymentStatusPending, types.ServiceDeploymentStatusInProgress:
	case types.ServiceDeploymentStatusStopRequested, types.ServiceDeploymentStatusRollbackRequested, types.ServiceDeploymentStatusRollbackInProgress:
		return out, nil // already stopping: it continues
	default:
		return nil, errConflict("The service deployment is in the %s state and cannot be stopped.", sd.status)
	}
	if stopType == types.StopServiceDeploymentStopTypeAbort {
		sd.status = types.ServiceDeploymentStatusStopRequested
		sd.reason = reasonStopAbort
		sd.updatedAt = now
		sd.next = now.Add(s.timings.Stage.D())
	} else {
		s.requestRollback(sd, reasonStopRollback, "StopServiceDeployment requested a rollback.", now)
	}
	s.wake()
	return out, nil
}

// continueServiceDeployment follows "Continuing service deployments"
// (developer guide, continue-service-deployment.html): the PAUSE hook must
// be in AWAITING_ACTION and the deployment IN_PROGRESS. A hook that has
// moved on (continued or rolled back already, by us or by someone else, or
// timed out, whatever its timeout action) is refused. The API reference
// (API_ContinueServiceDeployment.html) lists no ConflictException for this
// action; of the errors it lists, ClientException ("usually caused by a
// client action") is the one for a hook in the wrong state, and
// InvalidParameterException the one for a hookId the deployment does not
// have.
func (s *Sim) continueServiceDeployment(in *ecs.ContinueServiceDeploymentInput, now time.Time) (*ecs.ContinueServiceDeploymentOutput, *apiError) {
	action := in.Action
	if action == "" {
		action = types.DeploymentLifecycleHookActionContinue
	}
	if action != types.DeploymentLifecycleHookActionContinue && action != types.DeploymentLifecycleHookActionRollback {
		return nil, errInvalidParam("Invalid action %q: valid values are CONTINUE and ROLLBACK.", action)
	}
	sd := s.findServiceDeployment(aws.ToString(in.ServiceDeploymentArn))
	if sd == nil {
		return nil, errServiceDeploymentNotFound()
	}
	var h *hookRun
	for _, r := range sd.hookRuns {
		if r.id == aws.ToString(in.HookId) {
			h = r
		}
	}
	if h == nil {
		return nil, errInvalidParam("The lifecycle hook %s is not part of the service deployment.", aws.ToString(in.HookId))
	}
	if sd.status != types.ServiceDeploymentStatusInProgress || h.status != types.DeploymentLifecycleHookStatusAwaitingAction {
		return nil, errClient("The lifecycle hook %s is not awaiting action (hook %s, service deployment %s).", h.id, h.status, sd.status)
	}
	if action == types.DeploymentLifecycleHookActionContinue {
		h.status = types.DeploymentLifecycleHookStatusSucceeded
	} else {
		h.status = types.DeploymentLifecycleHookStatusFailed
		s.requestRollback(sd,
			fmt.Sprintf("Service deployment rolled back because of a ContinueServiceDeployment request at the PAUSE lifecycle hook %s in the %s stage.", h.id, h.stage),
			"ContinueServiceDeployment requested a rollback.", now)
	}
	sd.updatedAt = now
	sd.next = now
	s.wake()
	return &ecs.ContinueServiceDeploymentOutput{ServiceDeploymentArn: aws.String(sd.arn)}, nil
}

// SetRollbackFails makes the rollbacks of a service's service deployments
// from now on end ROLLBACK_FAILED (or succeed again with fail false). It
// reports whether the service exists.
func (s *Sim) SetRollbackFails(cluster, service string, fail bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl, ok := s.clusters[cluster]
	if !ok {
		return false
	}
	svc, ok := cl.service(service)
	if !ok || svc.sdx == nil {
		return false
	}
	svc.sdx.rollbackFails = fail
	return true
}

// SetListDelay sets how long ListServiceDeployments takes to list a
// service deployment UpdateService starts from now on (0: at once); see
// Timings.ListDelay.
func (s *Sim) SetListDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listDelay = max(d, 0)
}

// ServiceDeployments returns a service's service deployments as
// DescribeServiceDeployments would, newest first.
func (s *Sim) ServiceDeployments(cluster, service string) []types.ServiceDeployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(time.Now())
	cl, ok := s.clusters[cluster]
	if !ok {
		return nil
	}
	svc, ok := cl.service(service)
	if !ok || svc.sdx == nil {
		return nil
	}
	out := make([]types.ServiceDeployment, 0, len(svc.sdx.sds))
	for i := len(svc.sdx.sds) - 1; i >= 0; i-- {
		out = append(out, s.serviceDeploymentView(svc.sdx.sds[i]))
	}
	return out
}
