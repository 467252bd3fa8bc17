package ecssim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"go.yaml.in/yaml/v3"
)

// This file simulates AWS CodeDeploy for Amazon ECS (the compute platform
// ECS) over its awsJson1_1 wire protocol (X-Amz-Target
// CodeDeploy_20141006.*). It follows:
//
//   - CodeDeploy User Guide, "What happens during an Amazon ECS deployment"
//     and "AppSpec 'hooks' section for an Amazon ECS deployment"
//     (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-steps-ecs.html,
//     .../reference-appspec-file-structure-hooks.html#appspec-hooks-ecs):
//     the lifecycle events BeforeInstall, Install, AfterInstall,
//     AllowTestTraffic, AfterAllowTestTraffic, BeforeAllowTraffic,
//     AllowTraffic, AfterAllowTraffic, in that order, Lambda hooks on the
//     five hookable ones;
//   - "Deployment configurations on an Amazon ECS compute platform"
//     (.../deployment-configurations.html#deployment-configurations-predefined-ecs):
//     AllAtOnce, Linear and Canary traffic shifting and the predefined
//     CodeDeployDefault.ECS* configurations;
//   - the API reference of CreateDeployment, GetDeployment,
//     GetDeploymentTarget, ListDeployments, GetDeploymentGroup,
//     StopDeployment and ContinueDeployment
//     (https://docs.aws.amazon.com/codedeploy/latest/APIReference/),
//     with DeploymentReadyOption (STOP_DEPLOYMENT waits in Ready until
//     ContinueDeployment READY_WAIT, and the deployment is Stopped when the
//     wait ends) and BlueInstanceTerminationOption (the original task set
//     keeps running for terminationWaitTimeInMinutes after the traffic
//     moved, while the deployment stays InProgress with
//     instanceTerminationWaitTimeStarted).
//
// What is simplified: a rollback deployment (CodeDeploy's own after a
// failure, or StopDeployment with autoRollbackEnabled) has one lifecycle
// event, AllowTraffic, which puts production and test traffic back on the
// original task set and deletes the replacement; hooks never run during a
// rollback. Minutes (wait times, linear and canary intervals, the Install
// timeout) are scenario minutes (Timings.Minute).

const codeDeployTargetPrefix = "CodeDeploy_20141006."

// The lifecycle events of an Amazon ECS deployment, in order.
var cdEventNames = []string{
	"BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic",
	"BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic",
}

// cdHookable are the lifecycle events an AppSpec can hook a Lambda
// function to.
var cdHookable = map[string]bool{
	"BeforeInstall": true, "AfterInstall": true, "AfterAllowTestTraffic": true,
	"BeforeAllowTraffic": true, "AfterAllowTraffic": true,
}

// ScenarioCodeDeploy is the CodeDeploy side of a scenario: applications
// and deployment groups (each deploying one CODE_DEPLOY service),
// custom deployment configurations and scripted Lambda hooks.
type ScenarioCodeDeploy struct {
	Applications      []string                   `json:"applications"`
	DeploymentGroups  []ScenarioDeploymentGroup  `json:"deploymentGroups"`
	DeploymentConfigs []ScenarioDeploymentConfig `json:"deploymentConfigs,omitempty"`
	// Hooks script what the AppSpec's Lambda hooks report.
	Hooks []CodeDeployHook `json:"hooks,omitempty"`
}

// ScenarioDeploymentGroup is a deployment group of the ECS compute
// platform (deployment style BLUE_GREEN WITH_TRAFFIC_CONTROL).
type ScenarioDeploymentGroup struct {
	Application string `json:"application"`
	Name        string `json:"name"`
	Cluster     string `json:"cluster"`
	Service     string `json:"service"`
	// DeploymentConfigName defaults to CodeDeployDefault.ECSAllAtOnce.
	DeploymentConfigName string `json:"deploymentConfigName,omitempty"`
	// TargetGroups are the two target group names; the service's load
	// balancer serves production from the first one at the start.
	TargetGroups   []string `json:"targetGroups,omitempty"`
	ProdListener   string   `json:"prodListener,omitempty"`
	TestListener   string   `json:"testListener,omitempty"`
	ServiceRoleArn string   `json:"serviceRoleArn,omitempty"`
	// ReadyAction is CONTINUE_DEPLOYMENT (default) or STOP_DEPLOYMENT: wait
	// in Ready for ReadyWaitMinutes until ContinueDeployment READY_WAIT.
	ReadyAction      string `json:"readyAction,omitempty"`
	ReadyWaitMinutes int32  `json:"readyWaitMinutes,omitempty"`
	// TerminationWaitMinutes is how long the original task set keeps
	// running after production traffic moved (CodeDeploy's default is 0
	// through the API, 60 in the console).
	TerminationWaitMinutes int32 `json:"terminationWaitMinutes,omitempty"`
	// AutoRollback turns on automatic rollback on DEPLOYMENT_FAILURE (and
	// AutoRollbackEvents replaces the events when set).
	AutoRollback       bool     `json:"autoRollback,omitempty"`
	AutoRollbackEvents []string `json:"autoRollbackEvents,omitempty"`
	// RollbackFails makes every rollback deployment of the group fail,
	// leaving traffic where it was.
	RollbackFails bool `json:"rollbackFails,omitempty"`
	// InstallTimeoutMinutes bounds the Install event's wait for a stable
	// replacement task set (default 60, as CodeDeploy's).
	InstallTimeoutMinutes int32 `json:"installTimeoutMinutes,omitempty"`
}

// ScenarioDeploymentConfig is a custom ECS deployment configuration.
type ScenarioDeploymentConfig struct {
	Name string `json:"name"`
	// Type is AllAtOnce, TimeBasedLinear or TimeBasedCanary.
	Type       string `json:"type"`
	Percentage int32  `json:"percentage,omitempty"`
	Interval   int32  `json:"interval,omitempty"` // minutes
}

// CodeDeployHook scripts what an AppSpec Lambda hook reports through
// PutLifecycleEventHookExecutionStatus: each invocation within one
// deployment takes the next result (the last repeats). A hook no script
// matches reports Succeeded.
type CodeDeployHook struct {
	// Function is the hook's function name or ARN as the AppSpec gives it;
	// '*' matches any run of characters.
	Function string `json:"function"`
	// Event limits the script to one lifecycle event (e.g.
	// "AfterAllowTestTraffic"); empty matches every event.
	Event string `json:"event,omitempty"`
	// Image limits the script to deployments whose task definition has a
	// container of this image ('*' matches any run of characters), e.g.
	// the new revision's and not a rollback's to the previous one.
	Image string `json:"image,omitempty"`
	// Results are Succeeded or Failed, in invocation order.
	Results []string `json:"results"`
	// Delay is how long the function runs before it reports (default one
	// Timings.Stage).
	Delay Duration `json:"delay,omitempty"`
	// Message is what a failed hook's diagnostics say.
	Message string `json:"message,omitempty"`
}

func (h CodeDeployHook) validate() []string {
	var problems []string
	if h.Function == "" {
		problems = append(problems, "function is empty")
	}
	if h.Event != "" && !cdHookable[h.Event] {
		problems = append(problems, fmt.Sprintf("event %q cannot have a hook (BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic)", h.Event))
	}
	if len(h.Results) == 0 {
		problems = append(problems, "results is empty")
	}
	for _, r := range h.Results {
		if r != "Succeeded" && r != "Failed" {
			problems = append(problems, fmt.Sprintf("unknown result %q (Succeeded or Failed)", r))
		}
	}
	return problems
}

// ScriptCodeDeployHook adds a hook script at run time; later scripts take
// precedence.
func (s *Sim) ScriptCodeDeployHook(h CodeDeployHook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cd.hooks = append([]CodeDeployHook{h}, s.cd.hooks...)
	s.wake()
}

// cdState is CodeDeploy's state.
type cdState struct {
	apps     map[string]time.Time
	groups   []*cdGroup
	configs  map[string]ScenarioDeploymentConfig
	deps     map[string]*cdDeployment
	order    []*cdDeployment
	hooks    []CodeDeployHook
	services map[*service]*cdService
}

type cdGroup struct {
	ScenarioDeploymentGroup
	id  string
	svc *service
}

func (c *cdState) groupOf(svc *service) *cdGroup {
	for _, g := range c.groups {
		if g.svc == svc {
			return g
		}
	}
	return nil
}

func (c *cdState) group(app, name string) *cdGroup {
	for _, g := range c.groups {
		if g.Application == app && g.Name == name {
			return g
		}
	}
	return nil
}

type cdEvent struct {
	name       string
	status     cdtypes.LifecycleEventStatus
	start, end time.Time
	diag       *cdtypes.Diagnostics
	hook       string    // the Lambda function, if the AppSpec hooks one
	hookDoneAt time.Time // when the function reports
	hookResult string
}

type cdDeployment struct {
	id          string
	g           *cdGroup
	cs          *cdService
	status      cdtypes.DeploymentStatus
	creator     cdtypes.DeploymentCreator
	description string
	config      ScenarioDeploymentConfig
	content     string
	sha         string
	td          *taskDef
	appSpecErr  string
	hooks       map[string]string // lifecycle event → function
	created     time.Time
	started     time.Time
	completed   time.Time
	events      []*cdEvent
	idx         int
	stepAt      time.Time // the current step may end no earlier than this
	err         *cdtypes.ErrorInformation
	rollback    *cdtypes.RollbackInfo
	blue, green *taskSet
	prod        float64 // production weight on green, percent
	test        bool    // test traffic on green
	readyUntil  time.Time
	readyGo     bool
	termStarted bool
	termAt      time.Time
	shiftAt     time.Time // the next traffic step
	installBy   time.Time
	hookCount   map[string]int
	rollbackOf  *cdDeployment // set on a rollback deployment
	// autoRollback is the deployment's automatic rollback: the group's,
	// or CreateDeployment's autoRollbackConfiguration, which overrides it
	// ("Configuration information for an automatic rollback that is
	// added when a deployment is created", API reference,
	// CreateDeployment).
	autoRollback       bool
	autoRollbackEvents []string
}

func (d *cdDeployment) active() bool {
	switch d.status {
	case cdtypes.DeploymentStatusCreated, cdtypes.DeploymentStatusQueued, cdtypes.DeploymentStatusInProgress,
		cdtypes.DeploymentStatusReady, cdtypes.DeploymentStatusBaking:
		return true
	}
	return false
}

// initCodeDeploy builds CodeDeploy's state from the scenario (after the
// services exist).
func (s *Sim) initCodeDeploy(sc Scenario, now time.Time) error {
	s.cd = &cdState{apps: map[string]time.Time{}, configs: map[string]ScenarioDeploymentConfig{}, deps: map[string]*cdDeployment{}, services: map[*service]*cdService{}}
	for _, ss := range sc.Services {
		if ss.DeploymentController == string(cdtypes.ComputePlatformEcs) || ss.DeploymentController == "" || ss.DeploymentController == "ECS" {
			continue
		}
		if ss.DeploymentController != "CODE_DEPLOY" {
			return fmt.Errorf("invalid scenario: service %s: deploymentController %q is not ECS or CODE_DEPLOY", ss.Name, ss.DeploymentController)
		}
		s.addCodeDeployService(s.clusters[ss.Cluster].services[ss.Name], now)
	}
	cd := sc.CodeDeploy
	if cd == nil {
		return nil
	}
	for _, a := range cd.Applications {
		s.cd.apps[a] = now
	}
	for _, c := range cd.DeploymentConfigs {
		s.cd.configs[c.Name] = c
	}
	s.cd.hooks = slices.Clone(cd.Hooks)
	slices.Reverse(s.cd.hooks)
	for i, g := range cd.DeploymentGroups {
		if _, ok := s.cd.apps[g.Application]; !ok {
			return fmt.Errorf("invalid scenario: codeDeploy.deploymentGroups[%d]: application %q is not in applications", i, g.Application)
		}
		cl, ok := s.clusters[g.Cluster]
		if !ok {
			return fmt.Errorf("invalid scenario: codeDeploy.deploymentGroups[%d]: cluster %q is not in clusters", i, g.Cluster)
		}
		svc, ok := cl.services[g.Service]
		if !ok || s.cdServiceOf(svc) == nil {
			return fmt.Errorf("invalid scenario: codeDeploy.deploymentGroups[%d]: service %q is not a CODE_DEPLOY service of cluster %q", i, g.Service, g.Cluster)
		}
		if g.DeploymentConfigName == "" {
			g.DeploymentConfigName = "CodeDeployDefault.ECSAllAtOnce"
		}
		if _, ok := s.deploymentConfig(g.DeploymentConfigName); !ok {
			return fmt.Errorf("invalid scenario: codeDeploy.deploymentGroups[%d]: unknown deployment config %q", i, g.DeploymentConfigName)
		}
		if len(g.TargetGroups) == 0 {
			g.TargetGroups = []string{g.Service + "-blue", g.Service + "-green"}
		}
		if len(g.TargetGroups) != 2 {
			return fmt.Errorf("invalid scenario: codeDeploy.deploymentGroups[%d]: targetGroups needs two names", i)
		}
		if g.ReadyAction == "" {
			g.ReadyAction = string(cdtypes.DeploymentReadyActionContinueDeployment)
		}
		if g.InstallTimeoutMinutes == 0 {
			g.InstallTimeoutMinutes = 60
		}
		if g.AutoRollback && len(g.AutoRollbackEvents) == 0 {
			g.AutoRollbackEvents = []string{string(cdtypes.AutoRollbackEventDeploymentFailure)}
		}
		s.cd.groups = append(s.cd.groups, &cdGroup{ScenarioDeploymentGroup: g, id: s.uuid(), svc: svc})
	}
	for i, h := range cd.Hooks {
		for _, p := range h.validate() {
			return fmt.Errorf("invalid scenario: codeDeploy.hooks[%d]: %s", i, p)
		}
	}
	return nil
}

func (s *Sim) uuid() string {
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", s.rnd.Uint32(), s.rnd.Uint32()&0xffff, s.rnd.Uint32()&0xffff, s.rnd.Uint32()&0xffff, s.rnd.Uint64()&0xffffffffffff)
}

// deploymentConfig looks up a predefined or scenario deployment
// configuration of the ECS compute platform.
func (s *Sim) deploymentConfig(name string) (ScenarioDeploymentConfig, bool) {
	switch name {
	case "CodeDeployDefault.ECSAllAtOnce":
		return ScenarioDeploymentConfig{Name: name, Type: "AllAtOnce"}, true
	case "CodeDeployDefault.ECSLinear10PercentEvery1Minutes":
		return ScenarioDeploymentConfig{Name: name, Type: "TimeBasedLinear", Percentage: 10, Interval: 1}, true
	case "CodeDeployDefault.ECSLinear10PercentEvery3Minutes":
		return ScenarioDeploymentConfig{Name: name, Type: "TimeBasedLinear", Percentage: 10, Interval: 3}, true
	case "CodeDeployDefault.ECSCanary10Percent5Minutes":
		return ScenarioDeploymentConfig{Name: name, Type: "TimeBasedCanary", Percentage: 10, Interval: 5}, true
	case "CodeDeployDefault.ECSCanary10Percent15Minutes":
		return ScenarioDeploymentConfig{Name: name, Type: "TimeBasedCanary", Percentage: 10, Interval: 15}, true
	}
	c, ok := s.cd.configs[name]
	return c, ok
}

func (s *Sim) targetGroupARN(name string) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/%s/%016x", s.region, s.account, name, len(name))
}

func (s *Sim) groupARN(g *cdGroup) string {
	return fmt.Sprintf("arn:aws:codedeploy:%s:%s:deploymentgroup:%s/%s", s.region, s.account, g.Application, g.Name)
}

func (s *Sim) dispatchCodeDeploy(req *request) (any, *apiError) {
	switch req.op {
	case "GetApplication":
		return handle(s, req, nil, s.cdGetApplication)
	case "GetDeploymentGroup":
		return handle(s, req, nil, s.cdGetDeploymentGroup)
	case "GetDeploymentConfig":
		return handle(s, req, nil, s.cdGetDeploymentConfig)
	case "ListDeployments":
		return handle(s, req, nil, s.cdListDeployments)
	case "CreateDeployment":
		return handle(s, req, nil, s.cdCreateDeployment)
	case "GetDeployment":
		return handle(s, req, nil, s.cdGetDeployment)
	case "BatchGetDeployments":
		return handle(s, req, nil, s.cdBatchGetDeployments)
	case "ListDeploymentTargets":
		return handle(s, req, nil, s.cdListDeploymentTargets)
	case "GetDeploymentTarget":
		return handle(s, req, nil, s.cdGetDeploymentTarget)
	case "StopDeployment":
		return handle(s, req, nil, s.cdStopDeployment)
	case "ContinueDeployment":
		return handle(s, req, nil, s.cdContinueDeployment)
	}
	return nil, &apiError{Code: "UnknownOperationException", Message: fmt.Sprintf("Unknown operation %q.", req.op), Status: 400}
}

func cdErr(code, format string, a ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, a...), Status: 400}
}

func (s *Sim) cdGroupFor(app, name *string) (*cdGroup, *apiError) {
	if aws.ToString(app) == "" {
		return nil, cdErr("ApplicationNameRequiredException", "The application name must be specified.")
	}
	if _, ok := s.cd.apps[aws.ToString(app)]; !ok {
		return nil, cdErr("ApplicationDoesNotExistException", "No application found for name: %s", aws.ToString(app))
	}
	if aws.ToString(name) == "" {
		return nil, cdErr("DeploymentGroupNameRequiredException", "The deployment group name must be specified.")
	}
	g := s.cd.group(aws.ToString(app), aws.ToString(name))
	if g == nil {
		return nil, cdErr("DeploymentGroupDoesNotExistException", "No Deployment Group found for name: %s", aws.ToString(name))
	}
	return g, nil
}

func (s *Sim) cdGetApplication(in *codedeploy.GetApplicationInput, now time.Time) (*codedeploy.GetApplicationOutput, *apiError) {
	at, ok := s.cd.apps[aws.ToString(in.ApplicationName)]
	if !ok {
		return nil, cdErr("ApplicationDoesNotExistException", "No application found for name: %s", aws.ToString(in.ApplicationName))
	}
	return &codedeploy.GetApplicationOutput{Application: &cdtypes.ApplicationInfo{
		ApplicationName: in.ApplicationName, ApplicationId: aws.String(s.uuid()), ComputePlatform: cdtypes.ComputePlatformEcs, CreateTime: aws.Time(at),
	}}, nil
}

func (s *Sim) cdGetDeploymentGroup(in *codedeploy.GetDeploymentGroupInput, now time.Time) (*codedeploy.GetDeploymentGroupOutput, *apiError) {
	g, aerr := s.cdGroupFor(in.ApplicationName, in.DeploymentGroupName)
	if aerr != nil {
		return nil, aerr
	}
	info := &cdtypes.DeploymentGroupInfo{
		ApplicationName:      aws.String(g.Application),
		DeploymentGroupName:  aws.String(g.Name),
		DeploymentGroupId:    aws.String(g.id),
		DeploymentConfigName: aws.String(g.DeploymentConfigName),
		ComputePlatform:      cdtypes.ComputePlatformEcs,
		ServiceRoleArn:       aws.String(orDefault(g.ServiceRoleArn, fmt.Sprintf("arn:aws:iam::%s:role/ecsCodeDeployRole", s.account))),
		EcsServices:          []cdtypes.ECSService{{ClusterName: aws.String(g.Cluster), ServiceName: aws.String(g.Service)}},
		DeploymentStyle: &cdtypes.DeploymentStyle{
			DeploymentType: cdtypes.DeploymentTypeBlueGreen, DeploymentOption: cdtypes.DeploymentOptionWithTrafficControl,
		},
		BlueGreenDeploymentConfiguration: &cdtypes.BlueGreenDeploymentConfiguration{
			DeploymentReadyOption: &cdtypes.DeploymentReadyOption{
				ActionOnTimeout: cdtypes.DeploymentReadyAction(g.ReadyAction), WaitTimeInMinutes: g.ReadyWaitMinutes,
			},
			TerminateBlueInstancesOnDeploymentSuccess: &cdtypes.BlueInstanceTerminationOption{
				Action: cdtypes.InstanceActionTerminate, TerminationWaitTimeInMinutes: g.TerminationWaitMinutes,
			},
		},
		AutoRollbackConfiguration: &cdtypes.AutoRollbackConfiguration{Enabled: g.AutoRollback},
		LoadBalancerInfo: &cdtypes.LoadBalancerInfo{TargetGroupPairInfoList: []cdtypes.TargetGroupPairInfo{{
			TargetGroups: []cdtypes.TargetGroupInfo{{Name: aws.String(g.TargetGroups[0])}, {Name: aws.String(g.TargetGroups[1])}},
		}}},
	}
	for _, e := range g.AutoRollbackEvents {
		info.AutoRollbackConfiguration.Events = append(info.AutoRollbackConfiguration.Events, cdtypes.AutoRollbackEvent(e))
	}
	pair := &info.LoadBalancerInfo.TargetGroupPairInfoList[0]
	if g.ProdListener != "" {
		pair.ProdTrafficRoute = &cdtypes.TrafficRoute{ListenerArns: []string{g.ProdListener}}
	}
	if g.TestListener != "" {
		pair.TestTrafficRoute = &cdtypes.TrafficRoute{ListenerArns: []string{g.TestListener}}
	}
	return &codedeploy.GetDeploymentGroupOutput{DeploymentGroupInfo: info}, nil
}

func (s *Sim) cdGetDeploymentConfig(in *codedeploy.GetDeploymentConfigInput, now time.Time) (*codedeploy.GetDeploymentConfigOutput, *apiError) {
	c, ok := s.deploymentConfig(aws.ToString(in.DeploymentConfigName))
	if !ok {
		return nil, cdErr("DeploymentConfigDoesNotExistException", "No deployment configuration found for name: %s", aws.ToString(in.DeploymentConfigName))
	}
	rc := &cdtypes.TrafficRoutingConfig{Type: cdtypes.TrafficRoutingType(c.Type)}
	switch c.Type {
	case "TimeBasedLinear":
		rc.TimeBasedLinear = &cdtypes.TimeBasedLinear{LinearPercentage: c.Percentage, LinearInterval: c.Interval}
	case "TimeBasedCanary":
		rc.TimeBasedCanary = &cdtypes.TimeBasedCanary{CanaryPercentage: c.Percentage, CanaryInterval: c.Interval}
	}
	return &codedeploy.GetDeploymentConfigOutput{DeploymentConfigInfo: &cdtypes.DeploymentConfigInfo{
		DeploymentConfigName: aws.String(c.Name), ComputePlatform: cdtypes.ComputePlatformEcs, TrafficRoutingConfig: rc,
	}}, nil
}

func (s *Sim) cdListDeployments(in *codedeploy.ListDeploymentsInput, now time.Time) (*codedeploy.ListDeploymentsOutput, *apiError) {
	var g *cdGroup
	if in.ApplicationName != nil || in.DeploymentGroupName != nil {
		var aerr *apiError
		if g, aerr = s.cdGroupFor(in.ApplicationName, in.DeploymentGroupName); aerr != nil {
			return nil, aerr
		}
	}
	out := &codedeploy.ListDeploymentsOutput{Deployments: []string{}}
	for i := len(s.cd.order) - 1; i >= 0; i-- {
		d := s.cd.order[i]
		if g != nil && d.g != g {
			continue
		}
		if len(in.IncludeOnlyStatuses) > 0 && !slices.Contains(in.IncludeOnlyStatuses, d.status) {
			continue
		}
		out.Deployments = append(out.Deployments, d.id)
	}
	return out, nil
}

// appSpecKey finds a member of an AppSpec map whatever its case, as
// CodeDeploy reads AppSpec files.
func appSpecKey(m map[string]any, key string) (any, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// parseAppSpec reads an ECS AppSpec (YAML or JSON): the task definition,
// the load balancer's container and port, and the Lambda hooks.
func parseAppSpec(content string) (td, container string, port int, hooks map[string]string, err error) {
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(content), &doc); err != nil {
		return "", "", 0, nil, fmt.Errorf("the AppSpec is not YAML or JSON: %v", err)
	}
	res, _ := appSpecKey(doc, "Resources")
	list, _ := res.([]any)
	if len(list) != 1 {
		return "", "", 0, nil, fmt.Errorf("the AppSpec must have exactly one resource in Resources")
	}
	var props map[string]any
	for _, v := range list[0].(map[string]any) {
		r, _ := v.(map[string]any)
		p, _ := appSpecKey(r, "Properties")
		props, _ = p.(map[string]any)
	}
	if props == nil {
		return "", "", 0, nil, fmt.Errorf("the AppSpec resource has no Properties")
	}
	v, _ := appSpecKey(props, "TaskDefinition")
	td, _ = v.(string)
	if lb, ok := appSpecKey(props, "LoadBalancerInfo"); ok {
		lbm, _ := lb.(map[string]any)
		c, _ := appSpecKey(lbm, "ContainerName")
		container, _ = c.(string)
		p, _ := appSpecKey(lbm, "ContainerPort")
		port, _ = p.(int)
	}
	hooks = map[string]string{}
	if hs, ok := appSpecKey(doc, "Hooks"); ok {
		hl, _ := hs.([]any)
		for _, h := range hl {
			hm, _ := h.(map[string]any)
			for ev, fn := range hm {
				if f, ok := fn.(string); ok {
					hooks[ev] = f
				}
			}
		}
	}
	return td, container, port, hooks, nil
}

func (s *Sim) cdCreateDeployment(in *codedeploy.CreateDeploymentInput, now time.Time) (*codedeploy.CreateDeploymentOutput, *apiError) {
	g, aerr := s.cdGroupFor(in.ApplicationName, in.DeploymentGroupName)
	if aerr != nil {
		return nil, aerr
	}
	rev := in.Revision
	if rev == nil {
		return nil, cdErr("RevisionRequiredException", "A revision must be specified.")
	}
	if rev.RevisionType != cdtypes.RevisionLocationTypeAppSpecContent || rev.AppSpecContent == nil || aws.ToString(rev.AppSpecContent.Content) == "" {
		return nil, cdErr("InvalidRevisionException", "An ECS deployment needs a revision of type AppSpecContent with content.")
	}
	content := aws.ToString(rev.AppSpecContent.Content)
	if sum := aws.ToString(rev.AppSpecContent.Sha256); sum != "" {
		h := sha256.Sum256([]byte(content))
		if !strings.EqualFold(sum, hex.EncodeToString(h[:])) {
			return nil, cdErr("InvalidRevisionException", "The sha256 of the AppSpec content does not match its content.")
		}
	}
	cfgName := orDefault(aws.ToString(in.DeploymentConfigName), g.DeploymentConfigName)
	cfg, ok := s.deploymentConfig(cfgName)
	if !ok {
		return nil, cdErr("DeploymentConfigDoesNotExistException", "No deployment configuration found for name: %s", cfgName)
	}
	for _, d := range s.cd.order {
		if d.g == g && d.active() {
			return nil, cdErr("DeploymentLimitExceededException", "The Deployment Group '%s' already has an active Deployment '%s'", g.Name, d.id)
		}
	}
	d := s.newCDDeployment(g, now)
	d.creator = cdtypes.DeploymentCreatorUser
	if rc := in.AutoRollbackConfiguration; rc != nil {
		d.autoRollback, d.autoRollbackEvents = rc.Enabled, nil
		for _, e := range rc.Events {
			d.autoRollbackEvents = append(d.autoRollbackEvents, string(e))
		}
	}
	s.noteCodeDeployLocked(d, false, now)
	d.description = aws.ToString(in.Description)
	d.config = cfg
	d.content = content
	d.sha = aws.ToString(rev.AppSpecContent.Sha256)
	tdRef, container, port, hooks, err := parseAppSpec(content)
	d.hooks = hooks
	switch {
	case err != nil:
		d.appSpecErr = err.Error()
	case tdRef == "":
		d.appSpecErr = "the AppSpec has no TaskDefinition"
	default:
		td, ok := s.lookupTaskDef(tdRef)
		if !ok {
			d.appSpecErr = fmt.Sprintf("the task definition %s in the AppSpec does not exist", tdRef)
			break
		}
		d.td = td
		if container != "" && !slices.ContainsFunc(td.td.ContainerDefinitions, func(c ecstypes.ContainerDefinition) bool { return aws.ToString(c.Name) == container }) {
			d.appSpecErr = fmt.Sprintf("the container %s of the AppSpec's LoadBalancerInfo is not in %s", container, tdRef)
		} else if container != "" && port == 0 {
			d.appSpecErr = "the AppSpec's LoadBalancerInfo has no ContainerPort"
		}
	}
	s.wake()
	return &codedeploy.CreateDeploymentOutput{DeploymentId: aws.String(d.id)}, nil
}

func (s *Sim) newCDDeployment(g *cdGroup, now time.Time) *cdDeployment {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	id := []byte("d-")
	for i := 0; i < 9; i++ {
		id = append(id, alnum[s.rnd.IntN(len(alnum))])
	}
	d := &cdDeployment{
		id: string(id), g: g, cs: s.cdServiceOf(g.svc), status: cdtypes.DeploymentStatusCreated,
		created: now, stepAt: now.Add(s.timings.Stage.D()), hookCount: map[string]int{},
		autoRollback: g.AutoRollback, autoRollbackEvents: g.AutoRollbackEvents,
	}
	for _, n := range cdEventNames {
		d.events = append(d.events, &cdEvent{name: n, status: cdtypes.LifecycleEventStatusPending})
	}
	s.cd.deps[d.id] = d
	s.cd.order = append(s.cd.order, d)
	return d
}

func (s *Sim) cdDeploymentByID(id *string) (*cdDeployment, *apiError) {
	if aws.ToString(id) == "" {
		return nil, cdErr("DeploymentIdRequiredException", "The deployment ID must be specified.")
	}
	d, ok := s.cd.deps[aws.ToString(id)]
	if !ok {
		return nil, cdErr("DeploymentDoesNotExistException", "The deployment %s could not be found.", aws.ToString(id))
	}
	return d, nil
}

func (s *Sim) cdGetDeployment(in *codedeploy.GetDeploymentInput, now time.Time) (*codedeploy.GetDeploymentOutput, *apiError) {
	d, aerr := s.cdDeploymentByID(in.DeploymentId)
	if aerr != nil {
		return nil, aerr
	}
	info := s.cdDeploymentView(d)
	return &codedeploy.GetDeploymentOutput{DeploymentInfo: &info}, nil
}

func (s *Sim) cdBatchGetDeployments(in *codedeploy.BatchGetDeploymentsInput, now time.Time) (*codedeploy.BatchGetDeploymentsOutput, *apiError) {
	out := &codedeploy.BatchGetDeploymentsOutput{DeploymentsInfo: []cdtypes.DeploymentInfo{}}
	for _, id := range in.DeploymentIds {
		if d, ok := s.cd.deps[id]; ok {
			out.DeploymentsInfo = append(out.DeploymentsInfo, s.cdDeploymentView(d))
		}
	}
	return out, nil
}

func (s *Sim) cdDeploymentView(d *cdDeployment) cdtypes.DeploymentInfo {
	g := d.g
	v := cdtypes.DeploymentInfo{
		ApplicationName:      aws.String(g.Application),
		DeploymentGroupName:  aws.String(g.Name),
		DeploymentConfigName: aws.String(d.config.Name),
		DeploymentId:         aws.String(d.id),
		Status:               d.status,
		Creator:              d.creator,
		ComputePlatform:      cdtypes.ComputePlatformEcs,
		CreateTime:           aws.Time(d.created),
		DeploymentStyle: &cdtypes.DeploymentStyle{
			DeploymentType: cdtypes.DeploymentTypeBlueGreen, DeploymentOption: cdtypes.DeploymentOptionWithTrafficControl,
		},
		BlueGreenDeploymentConfiguration: &cdtypes.BlueGreenDeploymentConfiguration{
			DeploymentReadyOption: &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyAction(g.ReadyAction), WaitTimeInMinutes: g.ReadyWaitMinutes},
			TerminateBlueInstancesOnDeploymentSuccess: &cdtypes.BlueInstanceTerminationOption{
				Action: cdtypes.InstanceActionTerminate, TerminationWaitTimeInMinutes: g.TerminationWaitMinutes,
			},
		},
		InstanceTerminationWaitTimeStarted: d.termStarted,
		ErrorInformation:                   d.err,
		RollbackInfo:                       d.rollback,
		AutoRollbackConfiguration:          &cdtypes.AutoRollbackConfiguration{Enabled: d.autoRollback},
	}
	for _, e := range d.autoRollbackEvents {
		v.AutoRollbackConfiguration.Events = append(v.AutoRollbackConfiguration.Events, cdtypes.AutoRollbackEvent(e))
	}
	if d.description != "" {
		v.Description = aws.String(d.description)
	}
	if d.content != "" {
		v.Revision = &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent,
			AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(d.content), Sha256: aws.String(d.sha)}}
	}
	if !d.started.IsZero() {
		v.StartTime = aws.Time(d.started)
	}
	if !d.completed.IsZero() {
		v.CompleteTime = aws.Time(d.completed)
	}
	return v
}

func (s *Sim) cdTargetID(d *cdDeployment) string {
	return d.g.Cluster + ":" + d.g.Service
}

func (s *Sim) cdListDeploymentTargets(in *codedeploy.ListDeploymentTargetsInput, now time.Time) (*codedeploy.ListDeploymentTargetsOutput, *apiError) {
	d, aerr := s.cdDeploymentByID(in.DeploymentId)
	if aerr != nil {
		return nil, aerr
	}
	return &codedeploy.ListDeploymentTargetsOutput{TargetIds: []string{s.cdTargetID(d)}}, nil
}

func (s *Sim) cdGetDeploymentTarget(in *codedeploy.GetDeploymentTargetInput, now time.Time) (*codedeploy.GetDeploymentTargetOutput, *apiError) {
	d, aerr := s.cdDeploymentByID(in.DeploymentId)
	if aerr != nil {
		return nil, aerr
	}
	if aws.ToString(in.TargetId) != s.cdTargetID(d) {
		return nil, cdErr("DeploymentTargetDoesNotExistException", "The deployment target %s could not be found.", aws.ToString(in.TargetId))
	}
	t := &cdtypes.ECSTarget{
		DeploymentId:  aws.String(d.id),
		TargetId:      aws.String(s.cdTargetID(d)),
		TargetArn:     aws.String(d.g.svc.arn),
		LastUpdatedAt: aws.Time(now),
		Status:        s.cdTargetStatus(d),
	}
	for _, e := range d.events {
		le := cdtypes.LifecycleEvent{LifecycleEventName: aws.String(e.name), Status: e.status, Diagnostics: e.diag}
		if !e.start.IsZero() {
			le.StartTime = aws.Time(e.start)
		}
		if !e.end.IsZero() {
			le.EndTime = aws.Time(e.end)
		}
		t.LifecycleEvents = append(t.LifecycleEvents, le)
	}
	for _, ts := range []*taskSet{d.blue, d.green} {
		if ts == nil {
			continue
		}
		label, weight := cdtypes.TargetLabelBlue, 100-d.prod
		if ts == d.green {
			label, weight = cdtypes.TargetLabelGreen, d.prod
		}
		running, pending := countRunningPending(ts.d.live)
		t.TaskSetsInfo = append(t.TaskSetsInfo, cdtypes.ECSTaskSet{
			Identifer:     aws.String(ts.d.id),
			DesiredCount:  int64(ts.computedDesired(d.g.svc.desired)),
			RunningCount:  int64(running),
			PendingCount:  int64(pending),
			Status:        aws.String(ts.d.status),
			TrafficWeight: weight,
			TargetGroup:   &cdtypes.TargetGroupInfo{Name: aws.String(d.g.TargetGroups[ts.tg])},
			TaskSetLabel:  label,
		})
	}
	return &codedeploy.GetDeploymentTargetOutput{DeploymentTarget: &cdtypes.DeploymentTarget{
		DeploymentTargetType: cdtypes.DeploymentTargetTypeEcsTarget, EcsTarget: t,
	}}, nil
}

func (s *Sim) cdTargetStatus(d *cdDeployment) cdtypes.TargetStatus {
	switch d.status {
	case cdtypes.DeploymentStatusCreated, cdtypes.DeploymentStatusQueued:
		return cdtypes.TargetStatusPending
	case cdtypes.DeploymentStatusReady:
		return cdtypes.TargetStatusReady
	case cdtypes.DeploymentStatusSucceeded:
		return cdtypes.TargetStatusSucceeded
	case cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusStopped:
		return cdtypes.TargetStatusFailed
	}
	return cdtypes.TargetStatusInProgress
}

// cdStopDeployment: "Attempts to stop an ongoing deployment." With
// autoRollbackEnabled true (or left out while the group rolls back on
// DEPLOYMENT_STOP_ON_REQUEST), CodeDeploy rolls back to the original
// task set with a new deployment.
func (s *Sim) cdStopDeployment(in *codedeploy.StopDeploymentInput, now time.Time) (*codedeploy.StopDeploymentOutput, *apiError) {
	d, aerr := s.cdDeploymentByID(in.DeploymentId)
	if aerr != nil {
		return nil, aerr
	}
	if !d.active() {
		return nil, cdErr("DeploymentAlreadyCompletedException", "The deployment %s has already completed.", d.id)
	}
	rollback := aws.ToBool(in.AutoRollbackEnabled)
	if in.AutoRollbackEnabled == nil {
		rollback = d.autoRollback && slices.Contains(d.autoRollbackEvents, string(cdtypes.AutoRollbackEventDeploymentStopOnRequest))
	}
	d.status = cdtypes.DeploymentStatusStopped
	d.completed = now
	d.err = &cdtypes.ErrorInformation{Code: cdtypes.ErrorCodeManualStop, Message: aws.String("The deployment was stopped by a StopDeployment request.")}
	d.skipRest(now)
	msg := "Stop deployment request has been submitted."
	if rollback && d.green != nil {
		s.startCDRollback(d, "Deployment stopped by request; rolling back to the original task set.", now)
		msg = "Stop deployment request with rollback has been submitted."
	}
	s.wake()
	return &codedeploy.StopDeploymentOutput{Status: cdtypes.StopStatusPending, StatusMessage: aws.String(msg)}, nil
}

// cdContinueDeployment: READY_WAIT starts rerouting traffic of a
// deployment waiting in Ready; TERMINATION_WAIT ends the termination
// wait at once.
func (s *Sim) cdContinueDeployment(in *codedeploy.ContinueDeploymentInput, now time.Time) (*codedeploy.ContinueDeploymentOutput, *apiError) {
	d, aerr := s.cdDeploymentByID(in.DeploymentId)
	if aerr != nil {
		return nil, aerr
	}
	switch in.DeploymentWaitType {
	case "", cdtypes.DeploymentWaitTypeReadyWait:
		if d.status != cdtypes.DeploymentStatusReady {
			return nil, cdErr("DeploymentIsNotInReadyStateException", "The deployment %s is not in the Ready state.", d.id)
		}
		d.readyGo = true
		d.status = cdtypes.DeploymentStatusInProgress
		d.stepAt = now
	case cdtypes.DeploymentWaitTypeTerminationWait:
		if !d.termStarted || !d.active() {
			return nil, cdErr("DeploymentIsNotInReadyStateException", "The deployment %s is not waiting to terminate the original task set.", d.id)
		}
		d.termAt = now
	default:
		return nil, cdErr("InvalidDeploymentWaitTypeException", "The wait type %s is not valid.", in.DeploymentWaitType)
	}
	s.wake()
	return &codedeploy.ContinueDeploymentOutput{}, nil
}

// skipRest marks the current and later lifecycle events of a deployment
// that ended early as Skipped (the current one Failed when it was
// running and failed).
func (d *cdDeployment) skipRest(now time.Time) {
	for _, e := range d.events {
		switch e.status {
		case cdtypes.LifecycleEventStatusPending, cdtypes.LifecycleEventStatusInProgress:
			e.status = cdtypes.LifecycleEventStatusSkipped
			if !e.start.IsZero() {
				e.end = now
			}
		}
	}
}

// startCDRollback creates the rollback deployment of d, which puts the
// traffic back on the original task set.
func (s *Sim) startCDRollback(d *cdDeployment, message string, now time.Time) {
	rb := s.newCDDeployment(d.g, now)
	rb.creator = cdtypes.DeploymentCreatorCodeDeployRollback
	rb.config = d.config
	rb.content, rb.sha, rb.td = d.content, d.sha, d.td
	rb.rollbackOf = d
	rb.blue, rb.green, rb.prod, rb.test = d.blue, d.green, d.prod, d.test
	rb.events = []*cdEvent{{name: "AllowTraffic", status: cdtypes.LifecycleEventStatusPending}}
	rb.rollback = &cdtypes.RollbackInfo{RollbackTriggeringDeploymentId: aws.String(d.id)}
	d.rollback = &cdtypes.RollbackInfo{RollbackDeploymentId: aws.String(rb.id), RollbackMessage: aws.String(message)}
}

// cdFail ends d as Failed with CodeDeploy's error, and rolls it back when
// the group rolls back on DEPLOYMENT_FAILURE.
func (s *Sim) cdFail(d *cdDeployment, code cdtypes.ErrorCode, msg string, now time.Time) {
	d.status = cdtypes.DeploymentStatusFailed
	d.completed = now
	d.err = &cdtypes.ErrorInformation{Code: code, Message: aws.String(msg)}
	d.skipRest(now)
	if d.rollbackOf == nil && d.autoRollback && slices.Contains(d.autoRollbackEvents, string(cdtypes.AutoRollbackEventDeploymentFailure)) && d.green != nil {
		s.startCDRollback(d, "Automatic rollback triggered: the deployment failed: "+msg, now)
	}
}

// stepCodeDeploy moves the service's unfinished CodeDeploy deployments
// as far as they go at now.
func (s *Sim) stepCodeDeploy(cs *cdService, now time.Time) bool {
	changed := false
	for _, d := range s.cd.order {
		if d.cs != cs || !d.active() {
			continue
		}
		for i := 0; i < 50 && d.active(); i++ {
			if !s.stepCDDeployment(d, now) {
				break
			}
			changed = true
		}
	}
	return changed
}

func (s *Sim) stepCDDeployment(d *cdDeployment, now time.Time) bool {
	if now.Before(d.stepAt) {
		return false
	}
	switch d.status {
	case cdtypes.DeploymentStatusCreated:
		d.status = cdtypes.DeploymentStatusInProgress
		d.started = now
		d.stepAt = now.Add(s.timings.Stage.D())
		return true
	case cdtypes.DeploymentStatusReady:
		if !d.readyUntil.After(now) {
			d.status = cdtypes.DeploymentStatusStopped
			d.completed = now
			d.err = &cdtypes.ErrorInformation{Code: cdtypes.ErrorCodeTimeout, Message: aws.String(fmt.Sprintf("Traffic rerouting was not started within the deployment group's %d-minute ready wait, so the deployment was stopped.", d.g.ReadyWaitMinutes))}
			d.skipRest(now)
			if d.green != nil {
				s.deleteTaskSet(d.cs, d.green, now)
				d.test = false
			}
			return true
		}
		return false
	}
	if d.rollbackOf != nil {
		return s.stepCDRollback(d, now)
	}
	if d.idx >= len(d.events) {
		return s.stepTermination(d, now)
	}
	e := d.events[d.idx]
	if e.status == cdtypes.LifecycleEventStatusPending {
		if d.idx == 0 && d.appSpecErr != "" {
			e.start, e.end = now, now
			e.status = cdtypes.LifecycleEventStatusFailed
			s.cdFail(d, cdtypes.ErrorCodeInvalidRevision, "The AppSpec is not valid: "+d.appSpecErr, now)
			return true
		}
		if e.name == "BeforeAllowTraffic" && d.g.ReadyAction == string(cdtypes.DeploymentReadyActionStopDeployment) && !d.readyGo {
			d.status = cdtypes.DeploymentStatusReady
			d.readyUntil = now.Add(s.minutes(d.g.ReadyWaitMinutes))
			return true
		}
		e.status = cdtypes.LifecycleEventStatusInProgress
		e.start = now
		d.stepAt = now.Add(s.timings.Stage.D())
		s.beginCDEvent(d, e, now)
		return true
	}
	done, failed := s.cdEventDone(d, e, now)
	switch {
	case failed:
		return true
	case !done:
		return false
	}
	e.status = cdtypes.LifecycleEventStatusSucceeded
	e.end = now
	d.idx++
	d.stepAt = now.Add(s.timings.Stage.D())
	return true
}

// beginCDEvent does what starting a lifecycle event does.
func (s *Sim) beginCDEvent(d *cdDeployment, e *cdEvent, now time.Time) {
	if fn, ok := d.hooks[e.name]; ok && cdHookable[e.name] {
		e.hook = fn
		res, delay, msg := s.invokeCDHook(d, e, fn)
		e.hookResult = res
		e.hookDoneAt = now.Add(delay)
		if res == "Failed" {
			e.diag = &cdtypes.Diagnostics{ErrorCode: cdtypes.LifecycleErrorCodeScriptFailed, ScriptName: aws.String(fn), Message: aws.String(msg)}
		}
		return
	}
	switch e.name {
	case "Install":
		d.blue = d.cs.sets[d.cs.svc.deps[0]]
		d.green = s.createTaskSet(d.cs, d.td, d.id, now)
		d.installBy = now.Add(s.minutes(d.g.InstallTimeoutMinutes))
	case "AllowTestTraffic":
		d.test = true
	case "AllowTraffic":
		d.prod = s.firstShift(d.config)
		d.shiftAt = now.Add(s.minutes(d.config.Interval))
	}
}

// firstShift is the production weight of the first traffic step.
func (s *Sim) firstShift(c ScenarioDeploymentConfig) float64 {
	switch c.Type {
	case "TimeBasedLinear", "TimeBasedCanary":
		return float64(c.Percentage)
	}
	return 100
}

func (s *Sim) invokeCDHook(d *cdDeployment, e *cdEvent, fn string) (result string, delay time.Duration, msg string) {
	key := fn + "|" + e.name
	n := d.hookCount[key]
	d.hookCount[key] = n + 1
	for _, h := range s.cd.hooks {
		if !globMatch(h.Function, fn) || (h.Event != "" && h.Event != e.name) || (h.Image != "" && !d.runsImage(h.Image)) {
			continue
		}
		res := h.Results[min(n, len(h.Results)-1)]
		delay = h.Delay.D()
		if delay <= 0 {
			delay = s.timings.Stage.D()
		}
		msg = orDefault(h.Message, fmt.Sprintf("The Lambda function %s reported Failed for %s.", fn, e.name))
		return res, delay, msg
	}
	return "Succeeded", s.timings.Stage.D(), ""
}

// runsImage reports whether the deployment's task definition has a
// container whose image matches pattern.
func (d *cdDeployment) runsImage(pattern string) bool {
	if d.td == nil {
		return false
	}
	return slices.ContainsFunc(d.td.td.ContainerDefinitions, func(c ecstypes.ContainerDefinition) bool {
		return globMatch(pattern, aws.ToString(c.Image))
	})
}

// cdEventDone reports whether the running lifecycle event is done, or
// failed (the deployment then failed).
func (s *Sim) cdEventDone(d *cdDeployment, e *cdEvent, now time.Time) (done, failed bool) {
	if e.hook != "" {
		if now.Before(e.hookDoneAt) {
			return false, false
		}
		if e.hookResult == "Failed" {
			e.status = cdtypes.LifecycleEventStatusFailed
			e.end = now
			s.cdFail(d, cdtypes.ErrorCodeHookExecutionFailure, fmt.Sprintf("The deployment failed because the %s hook %s reported Failed.", e.name, e.hook), now)
			return false, true
		}
		return true, false
	}
	switch e.name {
	case "Install":
		if d.green.steady(d.cs.svc.desired) {
			return true, false
		}
		if !d.installBy.After(now) {
			e.status = cdtypes.LifecycleEventStatusFailed
			e.end = now
			e.diag = &cdtypes.Diagnostics{ErrorCode: cdtypes.LifecycleErrorCodeScriptTimedOut, Message: aws.String("The replacement task set did not reach a steady state.")}
			s.cdFail(d, cdtypes.ErrorCodeTimeout, fmt.Sprintf("The ECS replacement task set %s did not reach a steady state within %d minutes.", d.green.d.id, d.g.InstallTimeoutMinutes), now)
			return false, true
		}
		return false, false
	case "AllowTraffic":
		if d.prod >= 100 {
			s.setPrimary(d.cs, d.green, now)
			return true, false
		}
		if d.shiftAt.After(now) {
			return false, false
		}
		if d.config.Type == "TimeBasedLinear" {
			d.prod = math.Min(100, d.prod+float64(d.config.Percentage))
		} else {
			d.prod = 100
		}
		d.shiftAt = now.Add(s.minutes(d.config.Interval))
		if d.prod >= 100 {
			s.setPrimary(d.cs, d.green, now)
			return true, false
		}
		return false, false
	}
	return true, false
}

// stepTermination runs the termination wait after AfterAllowTraffic: the
// original task set keeps running, then is deleted and the deployment
// succeeds.
func (s *Sim) stepTermination(d *cdDeployment, now time.Time) bool {
	if !d.termStarted {
		d.termStarted = true
		d.termAt = now.Add(s.minutes(d.g.TerminationWaitMinutes))
		return true
	}
	if d.termAt.After(now) {
		return false
	}
	if d.blue != nil {
		s.deleteTaskSet(d.cs, d.blue, now)
	}
	d.status = cdtypes.DeploymentStatusSucceeded
	d.completed = now
	s.noteCodeDeployLocked(d, true, now)
	return true
}

// noteCodeDeployLocked sets the alarm scripts' anchors (alarms.go) for a
// CODE_DEPLOY service: AnchorUpdate is its first CreateDeployment,
// AnchorCompleted that deployment's success.
func (s *Sim) noteCodeDeployLocked(d *cdDeployment, completed bool, now time.Time) {
	cw, name := s.cw, d.g.svc.name
	switch {
	case !completed:
		if _, ok := cw.updated[name]; ok {
			return
		}
		cw.updated[name], cw.updatedDep[name] = now, d.id
		if cw.firstSvc == "" {
			cw.firstSvc, cw.updated[""] = name, now
		}
	case cw.updatedDep[name] != d.id:
		return
	default:
		if _, ok := cw.completed[name]; ok {
			return
		}
		cw.completed[name] = now
		if cw.firstSvc == name {
			cw.completed[""] = now
		}
	}
	cw.resolve(s, now)
}

// stepCDRollback moves a rollback deployment: production and test
// traffic back on the original task set, the replacement deleted.
func (s *Sim) stepCDRollback(d *cdDeployment, now time.Time) bool {
	e := d.events[0]
	if e.status == cdtypes.LifecycleEventStatusPending {
		e.status = cdtypes.LifecycleEventStatusInProgress
		e.start = now
		d.stepAt = now.Add(s.timings.Stage.D())
		return true
	}
	e.end = now
	if d.g.RollbackFails {
		e.status = cdtypes.LifecycleEventStatusFailed
		e.diag = &cdtypes.Diagnostics{ErrorCode: cdtypes.LifecycleErrorCodeUnknownError, Message: aws.String("Rerouting traffic to the original task set failed.")}
		d.status = cdtypes.DeploymentStatusFailed
		d.completed = now
		d.err = &cdtypes.ErrorInformation{Code: cdtypes.ErrorCodeInternalError, Message: aws.String("The rollback failed: traffic could not be rerouted to the original task set.")}
		return true
	}
	orig := d.rollbackOf
	d.prod, d.test = 0, false
	orig.prod, orig.test = 0, false
	if d.blue != nil {
		s.setPrimary(d.cs, d.blue, now)
	}
	if d.green != nil {
		s.deleteTaskSet(d.cs, d.green, now)
	}
	e.status = cdtypes.LifecycleEventStatusSucceeded
	d.status = cdtypes.DeploymentStatusSucceeded
	d.completed = now
	return true
}

// codeDeployNext is the next time after now a CodeDeploy deployment of
// the service has something to do (zero if none).
func (s *Sim) codeDeployNext(cs *cdService, now time.Time) time.Time {
	var next time.Time
	earliest := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, d := range s.cd.order {
		if d.cs != cs || !d.active() {
			continue
		}
		earliest(d.stepAt)
		if d.status == cdtypes.DeploymentStatusReady {
			earliest(d.readyUntil)
		}
		if d.idx < len(d.events) {
			e := d.events[d.idx]
			earliest(e.hookDoneAt)
			if e.name == "AllowTraffic" {
				earliest(d.shiftAt)
			}
			if e.name == "Install" {
				earliest(d.installBy)
			}
		} else if d.termStarted {
			earliest(d.termAt)
		}
	}
	return next
}

// CodeDeployTraffic reports, for tests, the production weight on the
// replacement task set of the service's latest CodeDeploy deployment
// and the task definition its PRIMARY task set runs.
func (s *Sim) CodeDeployTraffic(cluster, service string) (prodOnReplacement float64, primaryTaskDefinition string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(time.Now())
	cl, found := s.clusters[cluster]
	if !found {
		return 0, "", false
	}
	svc, found := cl.services[service]
	if !found || s.cdServiceOf(svc) == nil {
		return 0, "", false
	}
	for i := len(s.cd.order) - 1; i >= 0; i-- {
		if d := s.cd.order[i]; d.cs.svc == svc && d.rollbackOf == nil {
			prodOnReplacement = d.prod
			break
		}
	}
	return prodOnReplacement, svc.deps[0].td.arn(), true
}

// CodeDeployWorld is a CODE_DEPLOY service to deploy to: cluster with
// service running desired tasks of td's family at revision 1, made a
// CODE_DEPLOY service by AddCodeDeploy.
func CodeDeployWorld(cluster, service string, td ecstypes.TaskDefinition, desired int32, mod func(*ScenarioDeploymentGroup)) Scenario {
	sc := OneService(cluster, service, td, desired)
	AddCodeDeploy(&sc, 0, mod)
	return sc
}

// AddCodeDeploy makes sc.Services[i] a CODE_DEPLOY service behind a load
// balancer (container "app", port 8080) with the CodeDeploy application
// AppECS-<cluster>-<service> and deployment group
// DgpECS-<cluster>-<service> (the names the console and
// aws-actions/amazon-ecs-deploy-task-definition use), a production and a
// test listener, and automatic rollback on failure. mod, when set,
// adjusts the deployment group.
func AddCodeDeploy(sc *Scenario, i int, mod func(*ScenarioDeploymentGroup)) {
	svc := &sc.Services[i]
	cluster, service := svc.Cluster, svc.Name
	svc.DeploymentController = "CODE_DEPLOY"
	svc.LoadBalancers = []ecstypes.LoadBalancer{{
		TargetGroupArn: aws.String(fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/%s-blue/%016x", service, len(service)+5)),
		ContainerName:  aws.String("app"), ContainerPort: aws.Int32(8080),
	}}
	app := fmt.Sprintf("AppECS-%s-%s", cluster, service)
	g := ScenarioDeploymentGroup{
		Application: app, Name: fmt.Sprintf("DgpECS-%s-%s", cluster, service), Cluster: cluster, Service: service,
		ProdListener: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/80",
		TestListener: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/8080",
		AutoRollback: true,
	}
	if mod != nil {
		mod(&g)
	}
	if sc.CodeDeploy == nil {
		sc.CodeDeploy = &ScenarioCodeDeploy{}
	}
	if !slices.Contains(sc.CodeDeploy.Applications, app) {
		sc.CodeDeploy.Applications = append(sc.CodeDeploy.Applications, app)
	}
	sc.CodeDeploy.DeploymentGroups = append(sc.CodeDeploy.DeploymentGroups, g)
}

// CodeDeployStatus reports, for tests, a CodeDeploy deployment's status
// and whether its termination wait started ("" when there is no such
// deployment).
func (s *Sim) CodeDeployStatus(id string) (status string, terminationWait bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(time.Now())
	d, ok := s.cd.deps[id]
	if !ok {
		return "", false
	}
	return string(d.status), d.termStarted
}
