package ecssim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Duration is a time.Duration written in scenario files as a Go duration
// string such as "30ms" or "2s".
type Duration time.Duration

// UnmarshalJSON reads "30ms"-style strings (or a number of nanoseconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration must be a string like \"30ms\": %w", err)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("parse duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string such as "30ms".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Behavior names what tasks running a matching image do.
type Behavior string

// The task behaviours an image rule can select.
const (
	// BehaviorHealthy: the task starts, turns HEALTHY (if the container has a
	// health check) and keeps running.
	BehaviorHealthy Behavior = "healthy"
	// BehaviorCrash: the essential container exits with code 1 while the task
	// is starting ("Essential container in task exited").
	BehaviorCrash Behavior = "crash"
	// BehaviorOOM: the container is killed with exit code 137,
	// "OutOfMemoryError: Container killed due to memory usage".
	BehaviorOOM Behavior = "oom"
	// BehaviorPullError: the image cannot be pulled (TaskFailedToStart,
	// "CannotPullContainerError: ...").
	BehaviorPullError Behavior = "pull-error"
	// BehaviorUnhealthy: the task runs but its container health check fails,
	// so the scheduler stops it ("Task failed container health checks").
	BehaviorUnhealthy Behavior = "unhealthy"
	// BehaviorCrashAfter: the task runs healthy for Rule.After, then its
	// essential container exits with code 1.
	BehaviorCrashAfter Behavior = "crash-after"
	// BehaviorSlow: the task takes Rule.After (default Timings.SlowStart)
	// longer to start, then is healthy.
	BehaviorSlow Behavior = "slow"
	// BehaviorFlaky: the first Rule.Failures tasks using the rule crash like
	// BehaviorCrash; later ones are healthy.
	BehaviorFlaky Behavior = "flaky"
	// BehaviorPending: the task never leaves PENDING.
	BehaviorPending Behavior = "pending"
	// BehaviorUnplaceable: ECS cannot place the task at all (no container
	// instance has the memory it needs): no task is created, and the
	// service's events say why, as ECS's do.
	BehaviorUnplaceable Behavior = "unplaceable"
)

func (b Behavior) valid() bool {
	switch b {
	case BehaviorHealthy, BehaviorCrash, BehaviorOOM, BehaviorPullError, BehaviorUnhealthy,
		BehaviorCrashAfter, BehaviorSlow, BehaviorFlaky, BehaviorPending, BehaviorUnplaceable:
		return true
	}
	return false
}

// ImageRule maps images to a behaviour. Rules are tried in order; the
// first whose Image pattern matches wins. In the pattern '*' matches any
// run of characters (including '/' and ':'); without '*' the pattern must
// equal the image.
type ImageRule struct {
	Image    string   `json:"image"`
	Behavior Behavior `json:"behavior"`
	// Family, when set, limits the rule to tasks of that task definition
	// family (one image can then behave differently in two services).
	Family string `json:"family,omitempty"`
	// After is the crash-after delay (time RUNNING before the crash) or the
	// slow behaviour's extra start time. Zero uses the Timings default.
	After Duration `json:"after,omitempty"`
	// Failures is how many tasks fail first with the flaky behaviour
	// (default 2).
	Failures int `json:"failures,omitempty"`
	// Sequence, with the flaky behaviour, replaces Failures: one letter
	// per task started with the rule, in order, c crashing and h healthy
	// ("chcc": a failure, a healthy task, two failures); the tasks after
	// the sequence are healthy. It puts failures after a healthy task, as
	// the circuit breaker's resetOnHealthyTask needs.
	Sequence string `json:"sequence,omitempty"`
	// HealthyFirst: the first HealthyFirst tasks started with the rule
	// are healthy, later ones behave as Behavior (e.g. a crash in the
	// background scale-out after early success).
	HealthyFirst int `json:"healthyFirst,omitempty"`
	// Logs, when set, replaces Scenario.Logs[Behavior] for this rule.
	Logs []string `json:"logs,omitempty"`
}

// Timings are the simulated durations of a task's life.
type Timings struct {
	Provisioning Duration `json:"provisioning,omitempty"` // PROVISIONING -> PENDING
	Pending      Duration `json:"pending,omitempty"`      // PENDING -> RUNNING (image pull and start)
	HealthCheck  Duration `json:"healthCheck,omitempty"`  // RUNNING -> HEALTHY (or UNHEALTHY)
	Stopping     Duration `json:"stopping,omitempty"`     // stop requested -> STOPPED
	RetryBackoff Duration `json:"retryBackoff,omitempty"` // wait before replacing a failed task
	SlowStart    Duration `json:"slowStart,omitempty"`    // extra start time of the slow behaviour
	CrashAfter   Duration `json:"crashAfter,omitempty"`   // running time before crash-after crashes
	AlarmBake    Duration `json:"alarmBake,omitempty"`    // ECS's bake after steady state with deployment alarms
	// Minute is how long one "minute" of ECS's deployment settings lasts
	// (bakeTimeInMinutes, step and canary bake times, hook timeouts), so a
	// test can run a blue/green bake in milliseconds (default 100ms).
	Minute Duration `json:"minute,omitempty"`
	// Stage is the least time a staged deployment spends in each lifecycle
	// stage, and between a rollback request and its start (default 5ms).
	Stage Duration `json:"stage,omitempty"`
	// ListDelay is how long after UpdateService starts a service
	// deployment ListServiceDeployments begins to list it (ECS's API is
	// eventually consistent). Zero: three scenario seconds (Minute/20, 5ms
	// by default); negative: listed at once. Sim.SetListDelay changes it
	// at run time.
	ListDelay Duration `json:"listDelay,omitempty"`
	// BreakerTrip is how long after a deployment's failedTasks reaches
	// the circuit breaker's threshold ECS fails it (rolloutState FAILED)
	// and starts its rollback; ECS evaluates the breaker on its own time,
	// so a read can show the count at the threshold and the rollout still
	// IN_PROGRESS. Zero: at once.
	BreakerTrip Duration `json:"breakerTrip,omitempty"`
}

func (t Timings) withDefaults() Timings {
	def := func(d *Duration, v time.Duration) {
		if *d <= 0 {
			*d = Duration(v)
		}
	}
	def(&t.Provisioning, 10*time.Millisecond)
	def(&t.Pending, 20*time.Millisecond)
	def(&t.HealthCheck, 20*time.Millisecond)
	def(&t.Stopping, 10*time.Millisecond)
	def(&t.RetryBackoff, 30*time.Millisecond)
	def(&t.SlowStart, 500*time.Millisecond)
	def(&t.CrashAfter, 200*time.Millisecond)
	def(&t.AlarmBake, 50*time.Millisecond)
	def(&t.Minute, 100*time.Millisecond)
	def(&t.Stage, 5*time.Millisecond)
	switch {
	case t.ListDelay == 0:
		t.ListDelay = t.Minute / 20
	case t.ListDelay < 0:
		t.ListDelay = 0
	}
	return t
}

// ScenarioCluster is one cluster to create.
type ScenarioCluster struct {
	Name string `json:"name"`
}

// CircuitBreaker is a service's deploymentCircuitBreaker setting. The
// failure threshold comes from ThresholdConfiguration (BOUNDED_PERCENT 50
// when omitted) and the service's desired count, and a healthy task
// resets the failure count unless ResetOnHealthyTask is false
// (internal/breaker: the API reference's DeploymentCircuitBreaker and
// ThresholdConfiguration).
type CircuitBreaker struct {
	Enable                 bool                    `json:"enable"`
	Rollback               bool                    `json:"rollback"`
	ResetOnHealthyTask     *bool                   `json:"resetOnHealthyTask,omitempty"`
	ThresholdConfiguration *ThresholdConfiguration `json:"thresholdConfiguration,omitempty"`
}

// ThresholdConfiguration is deploymentCircuitBreaker.thresholdConfiguration:
// type COUNT, BOUNDED_PERCENT or UNBOUNDED_PERCENT and its value.
type ThresholdConfiguration struct {
	Type  string `json:"type"`
	Value int32  `json:"value"`
}

// ecs is the setting as ECS reports it.
func (c *CircuitBreaker) ecs() *types.DeploymentCircuitBreaker {
	if c == nil {
		return &types.DeploymentCircuitBreaker{} // ECS reports it disabled
	}
	cb := &types.DeploymentCircuitBreaker{Enable: c.Enable, Rollback: c.Rollback, ResetOnHealthyTask: c.ResetOnHealthyTask}
	if t := c.ThresholdConfiguration; t != nil {
		cb.ThresholdConfiguration = &types.ThresholdConfiguration{Type: types.ThresholdType(t.Type), Value: t.Value}
	}
	return cb
}

// DeploymentConfiguration is a service's deployment configuration, in
// ECS's JSON shape.
type DeploymentConfiguration struct {
	MinimumHealthyPercent    *int32            `json:"minimumHealthyPercent,omitempty"`
	MaximumPercent           *int32            `json:"maximumPercent,omitempty"`
	DeploymentCircuitBreaker *CircuitBreaker   `json:"deploymentCircuitBreaker,omitempty"`
	Alarms                   *DeploymentAlarms `json:"alarms,omitempty"`
	// Strategy is ROLLING (default), BLUE_GREEN, LINEAR or CANARY.
	Strategy string `json:"strategy,omitempty"`
	// BakeTimeInMinutes is the bake of BLUE_GREEN, LINEAR and CANARY, in
	// scenario minutes (Timings.Minute).
	BakeTimeInMinutes   *int32                          `json:"bakeTimeInMinutes,omitempty"`
	LinearConfiguration *types.LinearConfiguration      `json:"linearConfiguration,omitempty"`
	CanaryConfiguration *types.CanaryConfiguration      `json:"canaryConfiguration,omitempty"`
	LifecycleHooks      []types.DeploymentLifecycleHook `json:"lifecycleHooks,omitempty"`
	// EarlySuccessCriteria of a ROLLING service (earlysuccess.go).
	EarlySuccessCriteria *types.DeploymentEarlySuccessCriteria `json:"earlySuccessCriteria,omitempty"`
}

// UnmarshalJSON reads a deploymentConfiguration strictly (unknown members
// are errors), lifecycleHooks in ECS's wire shape so that hookDetails (a
// document) is kept as given.
func (dc *DeploymentConfiguration) UnmarshalJSON(b []byte) error {
	type plain DeploymentConfiguration
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	hooks, hasHooks := m["lifecycleHooks"]
	delete(m, "lifecycleHooks")
	rest, err := json.Marshal(m)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return err
	}
	if hasHooks {
		var w struct {
			LifecycleHooks []types.DeploymentLifecycleHook
		}
		if err := decodeStrict([]byte(`{"lifecycleHooks":`+string(hooks)+`}`), &w); err != nil {
			return fmt.Errorf("lifecycleHooks: %w", err)
		}
		p.LifecycleHooks = w.LifecycleHooks
	}
	*dc = DeploymentConfiguration(p)
	return nil
}

// ScenarioService is one service, created with one COMPLETED deployment
// whose tasks are already RUNNING (and HEALTHY) when the simulator starts.
type ScenarioService struct {
	Cluster                 string                  `json:"cluster"`
	Name                    string                  `json:"name"`
	TaskDefinition          string                  `json:"taskDefinition"` // family:revision or ARN
	DesiredCount            int32                   `json:"desiredCount"`
	LaunchType              string                  `json:"launchType,omitempty"` // default FARGATE
	DeploymentConfiguration DeploymentConfiguration `json:"deploymentConfiguration"`
	// Status is ACTIVE (default), DRAINING or INACTIVE.
	Status string `json:"status,omitempty"`
	// Tags are returned by DescribeServices with include ["TAGS"].
	Tags []types.Tag `json:"tags,omitempty"`
	// LoadBalancers, with advancedConfiguration for blue/green, are kept
	// as given and shown by DescribeServices and DescribeServiceRevisions.
	LoadBalancers []types.LoadBalancer `json:"loadBalancers,omitempty"`
	// RollbackFails makes every rollback of the service's service
	// deployments end ROLLBACK_FAILED, leaving the service as it was.
	RollbackFails bool `json:"rollbackFails,omitempty"`
	// DeploymentController is ECS (default) or CODE_DEPLOY: the service's
	// running deployment is then its PRIMARY task set (tasksets.go).
	DeploymentController string `json:"deploymentController,omitempty"`
	// PlacementConstraints and PlacementStrategy are shown by
	// DescribeServices as given (EC2 services).
	PlacementConstraints []types.PlacementConstraint `json:"placementConstraints,omitempty"`
	PlacementStrategy    []types.PlacementStrategy   `json:"placementStrategy,omitempty"`
	// VolumeConfigurations are the service's volumes configured at launch
	// (Amazon EBS), shown on its deployments; each names a volume of the
	// task definition with configuredAtLaunch true.
	VolumeConfigurations []types.ServiceVolumeConfiguration `json:"volumeConfigurations,omitempty"`
	// ResourceManagementType ECS makes it an Express Mode service
	// (express.go): CANARY with Express Mode's settings unless the
	// deploymentConfiguration says otherwise, changed through
	// UpdateExpressGatewayService.
	ResourceManagementType string `json:"resourceManagementType,omitempty"`
}

// ScenarioTaskDefinition is a task definition in the shape
// DescribeTaskDefinition returns it, plus its tags (the whole
// describe-task-definition output, {"taskDefinition": …, "tags": …}, is
// accepted too). Register order decides
// revisions when Revision is zero.
type ScenarioTaskDefinition struct {
	types.TaskDefinition
	Tags []types.Tag
}

// UnmarshalJSON decodes the ECS JSON shape strictly (unknown members are
// errors).
func (t *ScenarioTaskDefinition) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	// Also accept the whole `aws ecs describe-task-definition --include TAGS`
	// output: {"taskDefinition": {...}, "tags": [...]}.
	if inner, ok := m["taskDefinition"]; ok && bytes.HasPrefix(bytes.TrimSpace(inner), []byte("{")) {
		tags := m["tags"]
		m = nil
		if err := json.Unmarshal(inner, &m); err != nil {
			return err
		}
		if tags != nil {
			m["tags"] = tags
		}
	}
	if raw, ok := m["tags"]; ok {
		var w struct{ Tags []types.Tag }
		if err := decodeStrict([]byte(`{"tags":`+string(raw)+`}`), &w); err != nil {
			return fmt.Errorf("tags: %w", err)
		}
		t.Tags = w.Tags
		delete(m, "tags")
	}
	rest, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := decodeStrict(rest, &t.TaskDefinition); err != nil {
		return fmt.Errorf("task definition: %w", err)
	}
	return nil
}

// Fault makes calls fail or slow down. Counted faults (Throttle, Status5xx,
// DropConnection, Error with Times) apply to the next matching calls after
// the fault is injected; probabilities draw from a generator seeded with
// Seed.
type Fault struct {
	// Op is the operation name (e.g. "UpdateService"); "" matches every
	// operation. Only used in scenario files (InjectFault takes op apart).
	Op string `json:"op,omitempty"`
	// Throttle: the next N calls fail with ThrottlingException.
	Throttle int `json:"throttle,omitempty"`
	// ThrottleProbability: each call fails with ThrottlingException with
	// this probability (0..1).
	ThrottleProbability float64 `json:"throttleProbability,omitempty"`
	// Status5xx: the next N calls fail with ServerException (HTTP 500).
	Status5xx int `json:"status5xx,omitempty"`
	// Latency is added before every matching call is answered.
	Latency Duration `json:"latency,omitempty"`
	// DropConnection: the next N calls get their connection closed with no
	// response.
	DropConnection int `json:"dropConnection,omitempty"`
	// Error, with Message, answers matching calls with this ECS error code
	// (e.g. "AccessDeniedException"). OnCall selects the Nth matching call
	// after injection (1-based; 0 = from the first); Times is how many calls
	// from there get the error (0 = all of them).
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
	OnCall  int    `json:"onCall,omitempty"`
	Times   int    `json:"times,omitempty"`
	// Seed seeds ThrottleProbability's generator (default 1).
	Seed int64 `json:"seed,omitempty"`
	// AfterApply: the call is applied first and then answered with the
	// fault's error (Throttle, Status5xx or Error), as when a response is
	// lost after the change was made; the SDK retries such a call, and
	// the retry meets the state the first attempt left.
	AfterApply bool `json:"afterApply,omitempty"`
}

// Scenario is the simulator's seed: the world as it is when it starts.
// See readme-parts/simulator.md for the file format.
type Scenario struct {
	Region          string                   `json:"region,omitempty"`    // default us-east-1
	AccountID       string                   `json:"accountId,omitempty"` // default 123456789012
	Clusters        []ScenarioCluster        `json:"clusters"`
	TaskDefinitions []ScenarioTaskDefinition `json:"taskDefinitions"`
	Services        []ScenarioService        `json:"services"`
	ImageRules      []ImageRule              `json:"imageRules,omitempty"`
	// TaskRules decide what standalone tasks (RunTask) do, by image and
	// command; see TaskRule.
	TaskRules []TaskRule `json:"taskRules,omitempty"`
	// DefaultBehavior applies to images no rule matches (default healthy).
	DefaultBehavior Behavior `json:"defaultBehavior,omitempty"`
	Timings         Timings  `json:"timings,omitempty"`
	// Logs are the log lines each behaviour's containers write, returned by
	// GetLogEvents.
	Logs   map[Behavior][]string `json:"logs,omitempty"`
	Faults []Fault               `json:"faults,omitempty"`
	// Alarms are the CloudWatch alarms DescribeAlarms answers, with their
	// scripted states.
	Alarms []ScenarioAlarm `json:"alarms,omitempty"`
	// LambdaHooks script what lifecycle hooks' Lambda functions return.
	LambdaHooks []HookScript `json:"lambdaHooks,omitempty"`
	// CodeDeploy is CodeDeploy's applications and deployment groups for
	// CODE_DEPLOY services (codedeploy.go).
	CodeDeploy *ScenarioCodeDeploy `json:"codeDeploy,omitempty"`
	// AccountResources are the images, secrets, parameters, log groups
	// and roles the verify phase reads (account.go).
	AccountResources
}

// LoadScenario reads and validates a scenario file.
func LoadScenario(path string) (Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, fmt.Errorf("read scenario: %w", err)
	}
	sc, err := ParseScenario(b)
	if err != nil {
		return Scenario{}, fmt.Errorf("scenario %s: %w", path, err)
	}
	return sc, nil
}

// ParseScenario decodes and validates a scenario document. Unknown fields
// are errors.
func ParseScenario(data []byte) (Scenario, error) {
	var sc Scenario
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		return Scenario{}, fmt.Errorf("parse scenario: %w", err)
	}
	if err := sc.validate(); err != nil {
		return Scenario{}, err
	}
	return sc, nil
}

func (sc Scenario) validate() error {
	var problems []string
	for i, r := range sc.ImageRules {
		if r.Image == "" {
			problems = append(problems, fmt.Sprintf("imageRules[%d]: image is empty", i))
		}
		if !r.Behavior.valid() {
			problems = append(problems, fmt.Sprintf("imageRules[%d]: unknown behavior %q", i, r.Behavior))
		}
	}
	problems = append(problems, validateTaskRules(sc.TaskRules)...)
	if sc.DefaultBehavior != "" && !sc.DefaultBehavior.valid() {
		problems = append(problems, fmt.Sprintf("defaultBehavior: unknown behavior %q", sc.DefaultBehavior))
	}
	for b := range sc.Logs {
		if !b.valid() {
			problems = append(problems, fmt.Sprintf("logs: unknown behavior %q", b))
		}
	}
	clusters := map[string]bool{}
	for i, c := range sc.Clusters {
		if c.Name == "" {
			problems = append(problems, fmt.Sprintf("clusters[%d]: name is empty", i))
		}
		clusters[c.Name] = true
	}
	for i, td := range sc.TaskDefinitions {
		if td.Family == nil || *td.Family == "" {
			problems = append(problems, fmt.Sprintf("taskDefinitions[%d]: family is empty", i))
		}
	}
	for i, s := range sc.Services {
		if s.Name == "" {
			problems = append(problems, fmt.Sprintf("services[%d]: name is empty", i))
		}
		if !clusters[s.Cluster] {
			problems = append(problems, fmt.Sprintf("services[%d]: cluster %q is not in clusters", i, s.Cluster))
		}
		if s.TaskDefinition == "" {
			problems = append(problems, fmt.Sprintf("services[%d]: taskDefinition is empty", i))
		}
		if s.DesiredCount < 0 {
			problems = append(problems, fmt.Sprintf("services[%d]: desiredCount is negative", i))
		}
	}
	for i, f := range sc.Faults {
		if f.ThrottleProbability < 0 || f.ThrottleProbability > 1 {
			problems = append(problems, fmt.Sprintf("faults[%d]: throttleProbability must be between 0 and 1", i))
		}
		if f.Throttle < 0 || f.Status5xx < 0 || f.DropConnection < 0 || f.OnCall < 0 || f.Times < 0 || f.Latency < 0 {
			problems = append(problems, fmt.Sprintf("faults[%d]: counts and latency must not be negative", i))
		}
		if f.Error == "" && (f.Message != "" || f.OnCall != 0 || f.Times != 0) {
			problems = append(problems, fmt.Sprintf("faults[%d]: message, onCall and times need error", i))
		}
	}
	problems = append(problems, sc.validateAlarms()...)
	problems = append(problems, sc.AccountResources.validate()...)
	for i, h := range sc.LambdaHooks {
		for _, p := range h.validate() {
			problems = append(problems, fmt.Sprintf("lambdaHooks[%d]: %s", i, p))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid scenario: %s", strings.Join(problems, "; "))
	}
	return nil
}
