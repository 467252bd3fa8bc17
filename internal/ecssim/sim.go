// Package ecssim simulates Amazon ECS rolling deployments behind ECS's real
// awsJson1_1 wire protocol, so the unmodified aws-sdk-go-v2 ecs and
// cloudwatchlogs clients (and awscli) can drive it over HTTP.
//
// A Sim is seeded from a Scenario (clusters, services, task definitions,
// image rules that decide what tasks do, timings and faults). Deployments
// started with UpdateService progress on their own in real time: tasks are
// launched within maximumPercent, old ones are stopped while
// minimumHealthyPercent holds, failing tasks are replaced after a back-off,
// the deployment circuit breaker trips and rolls back as ECS documents, and
// service events are written in ECS's wording. It is meant for tests and
// the demo only.
//
// Every deployment is also a service deployment with a service revision,
// as ECS reports them (ListServiceDeployments, DescribeServiceDeployments,
// DescribeServiceRevisions, StopServiceDeployment,
// ContinueServiceDeployment, Service.currentServiceDeployment): a ROLLING
// one goes IN_PROGRESS → SUCCESSFUL, or ROLLBACK_IN_PROGRESS →
// ROLLBACK_SUCCESSFUL when the circuit breaker rolls back. Services with
// deploymentConfiguration.strategy BLUE_GREEN, LINEAR or CANARY go
// through ECS's lifecycle stages (PRE_SCALE_UP, SCALE_UP, POST_SCALE_UP,
// TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT
// once per traffic step, POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME,
// CLEAN_UP) with requested production and test traffic weights; the
// source revision keeps running until CLEAN_UP, so a rollback
// (StopServiceDeployment, ContinueServiceDeployment ROLLBACK, the circuit
// breaker during SCALE_UP, or a lifecycle hook that fails or times out)
// puts production traffic back on it at once and scales the target down.
// Bake times are counted in scenario minutes (Timings.Minute, 100ms by
// default). Lambda hooks return what Scenario.LambdaHooks (or
// Sim.ScriptHook) scripts, SUCCEEDED when nothing matches; PAUSE hooks
// wait in AWAITING_ACTION until ContinueServiceDeployment or their
// timeout action. See testdata/scenarios/blue-green-*.json, canary-*.json,
// linear-*.json and pause-hook.json.
package ecssim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

const (
	maxEvents  = 100    // ECS returns at most 100 service events
	maxStopped = 10_000 // STOPPED tasks kept per cluster (ECS keeps them about an hour)
)

// Call is one request the simulator received, whatever its outcome.
type Call struct {
	Op      string          // operation name, e.g. "UpdateService"
	At      time.Time       // when the request arrived
	Input   json.RawMessage // the raw JSON request body
	ErrCode string          // the error code returned, "" on success; "DropConnection" when dropped
}

// Sim is the simulated ECS control plane. It is safe for concurrent use;
// rollouts progress on one background goroutine until Close.
type Sim struct {
	mu       sync.Mutex
	timings  Timings
	region   string
	account  string
	defBeh   Behavior
	logs     map[Behavior][]string
	rules    []*ruleState
	clusters map[string]*cluster
	cOrder   []*cluster
	families map[string][]*taskDef
	calls    []Call
	faults   []*faultState
	holds    []*Hold
	cw       *cloudWatch
	acct     *accountState // ECR, Secrets Manager, SSM, log groups, IAM (account.go)
	rnd      *rand.Rand
	taskSeq  int64
	solo     soloState // standalone tasks (RunTask)

	val *validator

	hookScripts []HookScript  // newest first (strategies.go)
	cd          *cdState      // CodeDeploy and CODE_DEPLOY services (codedeploy.go, tasksets.go)
	listDelay   time.Duration // ListServiceDeployments lists a new service deployment this long after it starts

	kick      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

type ruleState struct {
	ImageRule
	launched int // tasks started with this rule (flaky, healthyFirst)
}

type taskDef struct {
	td   types.TaskDefinition
	tags []types.Tag
}

func (t *taskDef) arn() string { return aws.ToString(t.td.TaskDefinitionArn) }

type cluster struct {
	name, arn string
	services  map[string]*service
	sOrder    []*service
	tasks     map[string]*task // by task ID, live and stopped
	tOrder    []*task          // creation order
	stopped   int              // STOPPED tasks in tOrder
	solo      []*task          // standalone tasks (RunTask) not yet STOPPED
}

type service struct {
	name, arn  string
	cl         *cluster
	status     string
	desired    int32
	launchType types.LaunchType
	minHealthy int32
	maxPercent int32
	cb         *types.DeploymentCircuitBreaker
	alarms     *types.DeploymentAlarms
	deps       []*deployment // PRIMARY first
	events     []types.ServiceEvent
	createdAt  time.Time
	steady     bool

	lastCompletedTD  string
	lastCompletedDep string

	enableManagedTags bool
	propagateTags     types.PropagateTags
	graceSeconds      *int32
	network           *types.NetworkConfiguration
	platformVersion   *string
	enableExec        bool
	tags              []types.Tag
	placement         []types.PlacementConstraint
	strategy          []types.PlacementStrategy

	sdx *svcDeploys // strategy settings, service revisions and deployments (servicedeployments.go)

	express      bool                                  // resourceManagementType ECS: an Express Mode service (express.go)
	earlySuccess *types.DeploymentEarlySuccessCriteria // ROLLING early success criteria (earlysuccess.go)
}

type deployment struct {
	id         string
	status     string // PRIMARY or ACTIVE
	td         *taskDef
	desired    int32
	failed     int32
	consec     int32 // consecutive failures, never reset by success evaluation
	evaluating bool
	rollout    types.DeploymentRolloutState
	reason     string
	createdAt  time.Time
	updatedAt  time.Time
	nextLaunch time.Time
	tripAt     time.Time // when the circuit breaker fails it (Timings.BreakerTrip after the threshold)
	// owed is how many tasks an older (ACTIVE) deployment is to start
	// from its own revision: replacements of its tasks that stopped on
	// their own, and its share of a scale-out (rolling2025.go).
	owed           int32
	live           []*task // tasks not yet STOPPED
	unableSent     bool
	bakeUntil      time.Time        // end of ECS's bake with deployment alarms
	ecsRollback    bool             // started by ECS's own rollback
	rev            *serviceRevision // the service revision it deploys
	placementEvent time.Time        // the last "unable to place a task" event
	// volumes are the volumeConfigurations the deployment's tasks launch
	// with (UpdateService's, or those of the deployment it replaces).
	volumes []types.ServiceVolumeConfiguration
}

type container struct {
	name      string
	image     string
	essential bool
	hasHC     bool
	behavior  Behavior
	rule      *ruleState
	last      string
	exit      *int32
	reason    string
	health    types.HealthStatus
	logGroup  string
	logStream string
	startedAt time.Time
	lines     []string // the log lines, when not those of its behaviour
}

type task struct {
	id, arn       string
	seq           int64
	cl            *cluster
	svc           *service    // nil for a standalone task
	dep           *deployment // nil for a standalone task
	solo          *soloTask   // set for a standalone task (RunTask)
	group         string
	launchType    types.LaunchType
	platform      *string // the platform version running (Fargate)
	enableExec    bool
	td            *taskDef
	startedBy     string
	last          string
	desired       string
	health        types.HealthStatus
	fate          Behavior
	extraStart    time.Duration
	crashAfter    time.Duration
	containers    []*container
	createdAt     time.Time
	pullStarted   time.Time
	pullStopped   time.Time
	startedAt     time.Time
	stoppingAt    time.Time
	stoppedAt     time.Time
	connectivity  time.Time
	stopCode      types.TaskStopCode
	stoppedReason string
	next          time.Time
	healthyOnce   bool
	refill        bool  // started by an older deployment to replace a task or scale out (rolling2025.go)
	version       int64 // bumped on every change, as ECS does

	// secretError is why ECS could not fetch a Secrets Manager secret
	// of the task's containers (missingSecret); the task then stops at
	// the end of PENDING with it, whatever its images do.
	secretError string
}

// New builds a simulator from a scenario and starts its clock. Call Close
// to stop it.
func New(sc Scenario) (*Sim, error) {
	if err := sc.validate(); err != nil {
		return nil, err
	}
	s := &Sim{
		timings:  sc.Timings.withDefaults(),
		region:   orDefault(sc.Region, "us-east-1"),
		account:  orDefault(sc.AccountID, "123456789012"),
		defBeh:   sc.DefaultBehavior,
		logs:     map[Behavior][]string{},
		clusters: map[string]*cluster{},
		families: map[string][]*taskDef{},
		rnd:      rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)),
		val:      newValidator(),
		kick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	s.listDelay = s.timings.ListDelay.D()
	if s.defBeh == "" {
		s.defBeh = BehaviorHealthy
	}
	for b, lines := range sc.Logs {
		s.logs[b] = append([]string(nil), lines...)
	}
	for i := len(sc.LambdaHooks) - 1; i >= 0; i-- {
		s.hookScripts = append(s.hookScripts, sc.LambdaHooks[i])
	}
	for _, r := range sc.ImageRules {
		r.Logs = append([]string(nil), r.Logs...)
		s.rules = append(s.rules, &ruleState{ImageRule: r})
	}
	now := time.Now()
	for _, c := range sc.Clusters {
		if _, ok := s.clusters[c.Name]; ok {
			return nil, fmt.Errorf("invalid scenario: cluster %q listed twice", c.Name)
		}
		cl := &cluster{
			name:     c.Name,
			arn:      s.arn("cluster/" + c.Name),
			services: map[string]*service{},
			tasks:    map[string]*task{},
		}
		s.clusters[c.Name] = cl
		s.cOrder = append(s.cOrder, cl)
	}
	for i, std := range sc.TaskDefinitions {
		if _, err := s.addTaskDefinition(std.TaskDefinition, std.Tags, now); err != nil {
			return nil, fmt.Errorf("invalid scenario: taskDefinitions[%d]: %w", i, err)
		}
	}
	for i, ss := range sc.Services {
		if err := s.addService(ss, now); err != nil {
			return nil, fmt.Errorf("invalid scenario: services[%d]: %w", i, err)
		}
	}
	if err := s.initCodeDeploy(sc, now); err != nil {
		return nil, err
	}
	s.cw = s.newCloudWatch(sc.Alarms, now)
	acct, err := newAccountState(sc.AccountResources, s.region, s.account, taskDefinitionLogGroups(sc.TaskDefinitions), now)
	if err != nil {
		return nil, fmt.Errorf("invalid scenario: %w", err)
	}
	s.acct = acct
	s.solo.rules = append([]TaskRule(nil), sc.TaskRules...)
	s.solo.tokens = map[string]*runTaskToken{}
	for _, f := range sc.Faults {
		s.InjectFault(f.Op, f)
	}
	s.wg.Add(1)
	go s.run()
	return s, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (s *Sim) arn(resource string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:%s", s.region, s.account, resource)
}

// Close stops the simulator's clock. Requests served after Close still
// answer, but rollouts no longer progress.
func (s *Sim) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	s.wg.Wait()
}

// addTaskDefinition registers td (ECS shape) as the next revision of its
// family, or at td.Revision when set and free.
func (s *Sim) addTaskDefinition(td types.TaskDefinition, tags []types.Tag, now time.Time) (*taskDef, error) {
	fam := aws.ToString(td.Family)
	if !validFamily(fam) {
		return nil, errClient("Family contains invalid characters: %q. Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.", fam)
	}
	revs := s.families[fam]
	rev := int32(len(revs) + 1)
	if td.Revision != 0 {
		if td.Revision < rev {
			return nil, fmt.Errorf("revision %d of %s is already registered", td.Revision, fam)
		}
		for int32(len(revs)+1) < td.Revision { // placeholder revisions, deregistered
			ph := &taskDef{td: types.TaskDefinition{
				Family:            aws.String(fam),
				Revision:          int32(len(revs) + 1),
				Status:            types.TaskDefinitionStatusDeleteInProgress,
				TaskDefinitionArn: aws.String(s.arn(fmt.Sprintf("task-definition/%s:%d", fam, len(revs)+1))),
			}}
			revs = append(revs, ph)
		}
		rev = td.Revision
	}
	td.Revision = rev
	td.TaskDefinitionArn = aws.String(s.arn(fmt.Sprintf("task-definition/%s:%d", fam, rev)))
	if td.Status == "" {
		td.Status = types.TaskDefinitionStatusActive
	}
	if td.RegisteredAt == nil {
		td.RegisteredAt = aws.Time(now)
	}
	if td.RegisteredBy == nil {
		td.RegisteredBy = aws.String(fmt.Sprintf("arn:aws:iam::%s:root", s.account))
	}
	if td.Compatibilities == nil {
		td.Compatibilities = compatibilities(td)
	}
	if td.RequiresAttributes == nil {
		td.RequiresAttributes = requiresAttributes(td)
	}
	t := &taskDef{td: td, tags: tags}
	s.families[fam] = append(revs, t)
	return t, nil
}

func validFamily(f string) bool {
	if f == "" || len(f) > 255 {
		return false
	}
	for _, r := range f {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func compatibilities(td types.TaskDefinition) []types.Compatibility {
	c := []types.Compatibility{types.CompatibilityEc2}
	if td.NetworkMode == types.NetworkModeAwsvpc {
		c = append(c, types.CompatibilityFargate)
	}
	return c
}

func requiresAttributes(td types.TaskDefinition) []types.Attribute {
	set := map[string]bool{"com.amazonaws.ecs.capability.docker-remote-api.1.18": true}
	for _, c := range td.ContainerDefinitions {
		if c.LogConfiguration != nil {
			set["com.amazonaws.ecs.capability.logging-driver."+string(c.LogConfiguration.LogDriver)] = true
			if td.ExecutionRoleArn != nil && c.LogConfiguration.LogDriver == types.LogDriverAwslogs {
				set["ecs.capability.execution-role-awslogs"] = true
			}
			set["com.amazonaws.ecs.capability.docker-remote-api.1.19"] = true
		}
		if c.HealthCheck != nil {
			set["ecs.capability.container-health-check"] = true
			set["com.amazonaws.ecs.capability.docker-remote-api.1.24"] = true
		}
		if len(c.Secrets) > 0 {
			set["ecs.capability.secrets.asm.environment-variables"] = true
		}
	}
	if td.TaskRoleArn != nil {
		set["com.amazonaws.ecs.capability.task-iam-role"] = true
	}
	if td.NetworkMode == types.NetworkModeAwsvpc {
		set["ecs.capability.task-eni"] = true
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]types.Attribute, 0, len(names))
	for _, n := range names {
		out = append(out, types.Attribute{Name: aws.String(n)})
	}
	return out
}

// lookupTaskDef resolves family, family:revision or an ARN. With a bare
// family it returns the latest ACTIVE revision.
func (s *Sim) lookupTaskDef(ref string) (*taskDef, bool) {
	if i := strings.Index(ref, ":task-definition/"); i >= 0 {
		ref = ref[i+len(":task-definition/"):]
	}
	fam, revStr, hasRev := strings.Cut(ref, ":")
	revs := s.families[fam]
	if !hasRev {
		for i := len(revs) - 1; i >= 0; i-- {
			if revs[i].td.Status == types.TaskDefinitionStatusActive {
				return revs[i], true
			}
		}
		return nil, false
	}
	var rev int
	if _, err := fmt.Sscanf(revStr, "%d", &rev); err != nil || fmt.Sprint(rev) != revStr {
		return nil, false
	}
	if rev < 1 || rev > len(revs) || revs[rev-1].td.Status == types.TaskDefinitionStatusDeleteInProgress {
		return nil, false
	}
	return revs[rev-1], true
}

func (s *Sim) addService(ss ScenarioService, now time.Time) error {
	cl := s.clusters[ss.Cluster]
	if _, ok := cl.services[ss.Name]; ok {
		return fmt.Errorf("service %q listed twice in cluster %q", ss.Name, ss.Cluster)
	}
	td, ok := s.lookupTaskDef(ss.TaskDefinition)
	if !ok {
		return fmt.Errorf("task definition %q is not in taskDefinitions", ss.TaskDefinition)
	}
	svc := &service{
		name:          ss.Name,
		arn:           s.arn("service/" + cl.name + "/" + ss.Name),
		cl:            cl,
		status:        orDefault(ss.Status, "ACTIVE"),
		desired:       ss.DesiredCount,
		launchType:    types.LaunchType(orDefault(ss.LaunchType, string(types.LaunchTypeFargate))),
		minHealthy:    100,
		maxPercent:    200,
		createdAt:     now,
		propagateTags: types.PropagateTagsNone,
	}
	dc := ss.DeploymentConfiguration
	if ss.ResourceManagementType == string(types.ResourceManagementTypeEcs) {
		svc.express = true
		expressDefaults(&dc)
	}
	if dc.MinimumHealthyPercent != nil {
		svc.minHealthy = *dc.MinimumHealthyPercent
	}
	if dc.MaximumPercent != nil {
		svc.maxPercent = *dc.MaximumPercent
	}
	svc.cb = dc.DeploymentCircuitBreaker.ecs()
	svc.alarms = dc.Alarms.ecs()
	if err := checkEarlySuccess(dc.EarlySuccessCriteria, types.DeploymentStrategy(dc.Strategy), svc.minHealthy); err != nil {
		return fmt.Errorf("service %s: %s", ss.Name, err.Message)
	}
	svc.earlySuccess = dc.EarlySuccessCriteria
	svc.sdx = &svcDeploys{}
	staged := mergeStaged(svc.sdx, &types.DeploymentConfiguration{
		Strategy: types.DeploymentStrategy(dc.Strategy), BakeTimeInMinutes: dc.BakeTimeInMinutes,
		LinearConfiguration: dc.LinearConfiguration, CanaryConfiguration: dc.CanaryConfiguration, LifecycleHooks: dc.LifecycleHooks,
	}, ss.LoadBalancers)
	if problems := staged.validate(); len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, " "))
	}
	staged.applyTo(svc.sdx)
	svc.sdx.rollbackFails = ss.RollbackFails
	svc.tags = append([]types.Tag(nil), ss.Tags...)
	svc.placement, svc.strategy = ss.PlacementConstraints, ss.PlacementStrategy
	if err := checkVolumeConfigurations(td, ss.VolumeConfigurations); err != nil {
		return fmt.Errorf("service %s: %s", ss.Name, err.Message)
	}
	if svc.launchType == types.LaunchTypeFargate {
		svc.platformVersion = aws.String("LATEST")
	}
	if td.td.NetworkMode == types.NetworkModeAwsvpc {
		svc.network = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets:        []string{"subnet-0123456789abcdef0"},
			SecurityGroups: []string{"sg-0123456789abcdef0"},
			AssignPublicIp: types.AssignPublicIpDisabled,
		}}
	}
	d := s.newDeployment(svc, td, now)
	d.volumes = ss.VolumeConfigurations
	d.rollout = types.DeploymentRolloutStateCompleted
	d.reason = fmt.Sprintf("ECS deployment %s completed.", d.id)
	d.evaluating = false
	svc.deps = []*deployment{d}
	s.initServiceDeployments(svc, d, now)
	svc.lastCompletedTD = td.arn()
	svc.lastCompletedDep = d.id
	cl.services[svc.name] = svc
	cl.sOrder = append(cl.sOrder, svc)
	for i := int32(0); i < ss.DesiredCount; i++ {
		t := s.newTask(svc, d, now)
		t.fate = BehaviorHealthy
		t.pullStarted, t.pullStopped, t.startedAt, t.connectivity = now, now, now, now
		t.last = "RUNNING"
		for _, c := range t.containers {
			c.last = "RUNNING"
			c.startedAt = now
			if c.hasHC {
				c.health = types.HealthStatusHealthy
			}
		}
		if t.hasHC() {
			t.health = types.HealthStatusHealthy
		}
		t.healthyOnce = true
		t.next = time.Time{}
	}
	svc.steady = true
	s.event(svc, now, fmt.Sprintf("(service %s) has reached a steady state.", svc.name))
	return nil
}

// newDeployment creates a PRIMARY deployment in progress (not yet attached).
func (s *Sim) newDeployment(svc *service, td *taskDef, now time.Time) *deployment {
	id := fmt.Sprintf("ecs-svc/%d%018d", 1+s.rnd.IntN(9), s.rnd.Int64N(1e18))
	var volumes []types.ServiceVolumeConfiguration
	if len(svc.deps) > 0 {
		volumes = svc.deps[0].volumes // kept unless UpdateService gives others
	}
	return &deployment{
		volumes:    volumes,
		id:         id,
		status:     "PRIMARY",
		td:         td,
		desired:    svc.desired,
		evaluating: true,
		rollout:    types.DeploymentRolloutStateInProgress,
		reason:     fmt.Sprintf("ECS deployment %s in progress.", id),
		createdAt:  now,
		updatedAt:  now,
	}
}

func (s *Sim) newID() string {
	return fmt.Sprintf("%016x%016x", s.rnd.Uint64(), s.rnd.Uint64())
}

// ruleFor returns the behaviour (and rule) for an image, from the rules
// that name no family.
func (s *Sim) ruleFor(image string) (Behavior, *ruleState) { return s.ruleForFamily("", image) }

// ruleForFamily returns the behaviour (and rule) for an image in a task of
// the given task definition family.
func (s *Sim) ruleForFamily(family, image string) (Behavior, *ruleState) {
	for _, r := range s.rules {
		if (r.Family == "" || r.Family == family) && globMatch(r.Image, image) {
			return r.Behavior, r
		}
	}
	return s.defBeh, nil
}

// globMatch matches s against pattern where '*' matches any run of
// characters.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// fatePriority orders behaviours by how early they decide a task's fate
// (lower first).
func fatePriority(b Behavior) int {
	switch b {
	case BehaviorPullError:
		return 0
	case BehaviorCrash:
		return 1
	case BehaviorOOM:
		return 2
	case BehaviorPending:
		return 3
	case BehaviorUnhealthy:
		return 4
	case BehaviorCrashAfter:
		return 5
	case BehaviorSlow:
		return 6
	}
	return 7
}

// newTask creates a PROVISIONING task of deployment d.
func (s *Sim) newTask(svc *service, d *deployment, now time.Time) *task {
	id := s.newID()
	s.taskSeq++
	t := &task{
		id:         id,
		arn:        s.arn("task/" + svc.cl.name + "/" + id),
		seq:        s.taskSeq,
		cl:         svc.cl,
		svc:        svc,
		group:      "service:" + svc.name,
		launchType: svc.launchType,
		enableExec: svc.enableExec,
		dep:        d,
		td:         d.td,
		startedBy:  d.id,
		last:       "PROVISIONING",
		desired:    "RUNNING",
		version:    1,
		health:     types.HealthStatusUnknown,
		fate:       BehaviorHealthy,
		createdAt:  now,
		next:       now.Add(s.timings.Provisioning.D()),
	}
	if svc.launchType == types.LaunchTypeFargate {
		t.platform = aws.String("1.4.0")
	}
	for _, cd := range d.td.td.ContainerDefinitions {
		c := newContainer(cd, id)
		b, r := s.ruleForFamily(aws.ToString(d.td.td.Family), c.image)
		if r != nil && r.HealthyFirst > 0 {
			r.launched++
			if r.launched <= r.HealthyFirst {
				b = BehaviorHealthy
			}
		}
		if b == BehaviorFlaky {
			n := 2
			if r != nil && r.Failures > 0 {
				n = r.Failures
			}
			if r != nil {
				r.launched++
				switch seq := r.Sequence; {
				case seq != "":
					b = BehaviorHealthy
					if r.launched <= len(seq) && seq[r.launched-1] == 'c' {
						b = BehaviorCrash
					}
				case r.launched > n:
					b = BehaviorHealthy
				default:
					b = BehaviorCrash
				}
			}
		}
		c.behavior, c.rule = b, r
		if c.essential && fatePriority(b) < fatePriority(t.fate) {
			t.fate = b
		}
		switch b {
		case BehaviorSlow:
			d := s.timings.SlowStart.D()
			if r != nil && r.After > 0 {
				d = r.After.D()
			}
			if d > t.extraStart {
				t.extraStart = d
			}
		case BehaviorCrashAfter:
			d := s.timings.CrashAfter.D()
			if r != nil && r.After > 0 {
				d = r.After.D()
			}
			if t.crashAfter == 0 || d < t.crashAfter {
				t.crashAfter = d
			}
		}
		t.containers = append(t.containers, c)
	}
	if t.fate == BehaviorSlow && t.extraStart == 0 {
		t.extraStart = s.timings.SlowStart.D()
	}
	t.secretError = s.missingSecret(d.td.td.ContainerDefinitions)
	svc.cl.tasks[id] = t
	svc.cl.tOrder = append(svc.cl.tOrder, t)
	d.live = append(d.live, t)
	return t
}

// newContainer is a PENDING container of task id, logging where its
// definition says.
func newContainer(cd types.ContainerDefinition, id string) *container {
	c := &container{
		name:      aws.ToString(cd.Name),
		image:     aws.ToString(cd.Image),
		essential: cd.Essential == nil || *cd.Essential,
		hasHC:     cd.HealthCheck != nil,
		last:      "PENDING",
		health:    types.HealthStatusUnknown,
	}
	if lc := cd.LogConfiguration; lc != nil && lc.LogDriver == types.LogDriverAwslogs {
		c.logGroup = lc.Options["awslogs-group"]
		if p := lc.Options["awslogs-stream-prefix"]; p != "" {
			c.logStream = p + "/" + c.name + "/" + id
		}
	}
	return c
}

func (t *task) hasHC() bool {
	for _, c := range t.containers {
		if c.hasHC {
			return true
		}
	}
	return false
}

// healthyForDeployment: RUNNING, wanted, and HEALTHY when checks apply.
func (t *task) healthyForDeployment() bool {
	if t.desired != "RUNNING" || t.last != "RUNNING" {
		return false
	}
	return !t.hasHC() || t.health == types.HealthStatusHealthy
}

// countRunningPending counts the tasks that ECS wants RUNNING among tasks:
// those already RUNNING and those still on their way (pending).
func countRunningPending(tasks []*task) (running, pending int32) {
	for _, t := range tasks {
		if t.desired != "RUNNING" {
			continue
		}
		if t.last == "RUNNING" {
			running++
		} else if t.pending() {
			pending++
		}
	}
	return running, pending
}

func (t *task) pending() bool {
	if t.desired != "RUNNING" {
		return false
	}
	switch t.last {
	case "PROVISIONING", "PENDING", "ACTIVATING":
		return true
	}
	return false
}

// event prepends a service event (newest first, at most maxEvents kept).
func (s *Sim) event(svc *service, now time.Time, msg string) {
	ev := types.ServiceEvent{
		Id:        aws.String(fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", s.rnd.Uint32(), s.rnd.Uint32()&0xffff, s.rnd.Uint32()&0xffff, s.rnd.Uint32()&0xffff, s.rnd.Uint64()&0xffffffffffff)),
		CreatedAt: aws.Time(now),
		Message:   aws.String(msg),
	}
	svc.events = append([]types.ServiceEvent{ev}, svc.events...)
	if len(svc.events) > maxEvents {
		svc.events = svc.events[:maxEvents]
	}
}

func taskList(ts []*task) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = "(task " + t.id + ")"
	}
	return strings.Join(parts, " ")
}
