package deployer

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/appspec"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// The CODE_DEPLOY deployment controller: blue/green through AWS
// CodeDeploy. Our deployment is a CodeDeploy deployment (CreateDeployment
// with the AppSpec, its TaskDefinition set to our revision), judged from
// GetDeployment and GetDeploymentTarget (lifecycle events, task sets and
// traffic weights) and from the stopped tasks of the replacement task set
// (ListTasks startedBy the task set's ID); rolled back with
// StopDeployment autoRollbackEnabled, whose rollback deployment is
// followed to its end. A Ready wait (the group's deploymentReadyOption
// STOP_DEPLOYMENT) is a pause, answered by ContinueDeployment READY_WAIT.
// Success is production traffic all on our task set with AfterAllowTraffic
// succeeded: the termination wait of the original task set is not waited
// out.

// StrategyCodeDeploy is Result.Strategy of a CODE_DEPLOY service.
const StrategyCodeDeploy = "CODE_DEPLOY"

// CodeDeployClient is the part of the AWS CodeDeploy API the deployer
// calls for CODE_DEPLOY services; *codedeploy.Client satisfies it.
type CodeDeployClient interface {
	GetDeploymentGroup(ctx context.Context, in *codedeploy.GetDeploymentGroupInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentGroupOutput, error)
	GetDeploymentConfig(ctx context.Context, in *codedeploy.GetDeploymentConfigInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentConfigOutput, error)
	ListDeployments(ctx context.Context, in *codedeploy.ListDeploymentsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentsOutput, error)
	CreateDeployment(ctx context.Context, in *codedeploy.CreateDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.CreateDeploymentOutput, error)
	GetDeployment(ctx context.Context, in *codedeploy.GetDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentOutput, error)
	GetDeploymentTarget(ctx context.Context, in *codedeploy.GetDeploymentTargetInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentTargetOutput, error)
	StopDeployment(ctx context.Context, in *codedeploy.StopDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.StopDeploymentOutput, error)
	ContinueDeployment(ctx context.Context, in *codedeploy.ContinueDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ContinueDeploymentOutput, error)
}

var _ CodeDeployClient = (*codedeploy.Client)(nil)

// WithCodeDeploy sets the CodeDeploy client used for services of the
// CODE_DEPLOY deployment controller (without it, such a service fails
// preflight).
func WithCodeDeploy(c CodeDeployClient) Option {
	return func(d *Deployer) {
		if cc, ok := c.(*codedeploy.Client); ok && cc == nil {
			return
		}
		d.cd = c
	}
}

// CodeDeploy is the CodeDeploy side of a Config, for CODE_DEPLOY services
// (the official action's codedeploy-* inputs). Empty fields take the
// official action's defaults.
type CodeDeploy struct {
	// AppSpec is the AppSpec file's content (YAML or JSON); empty: built
	// from the service (its load balancer's container and port, its
	// platform version).
	AppSpec []byte
	// AppSpecFile names the file, for messages.
	AppSpecFile string
	// Application defaults to AppECS-<cluster>-<service>.
	Application string
	// DeploymentGroup defaults to DgpECS-<cluster>-<service>.
	DeploymentGroup  string
	Description      string
	DeploymentConfig string // empty: the deployment group's
}

// isCodeDeploy reports whether svc uses the CODE_DEPLOY controller.
func isCodeDeploy(svc types.Service) bool {
	return svc.DeploymentController != nil && svc.DeploymentController.Type == types.DeploymentControllerTypeCodeDeploy
}

// clusterName is the name of a cluster given by name or ARN.
func clusterName(c string) string {
	if i := strings.LastIndex(c, ":cluster/"); i >= 0 {
		return c[i+len(":cluster/"):]
	}
	return c
}

// serviceName is the name of a service given by name or ARN.
func serviceName(s string) string {
	if i := strings.LastIndex(s, "/"); i >= 0 && strings.HasPrefix(s, "arn:") {
		return s[i+1:]
	}
	return s
}

// codeDeployStrategy deploys a CODE_DEPLOY service through CodeDeploy.
type codeDeployStrategy struct {
	r *run // nil in the post step

	app, group string
	info       *cdtypes.DeploymentGroupInfo
	config     *cdtypes.DeploymentConfigInfo
	spec       *appspec.AppSpec

	id string   // our deployment
	w  *cdWatch // its judge
	rb *cdWatch // the rollback's judge
	by string   // who rolls back ("CodeDeploy", or "" for ours)
	// forward is the rollback of a finished deployment: a new deployment
	// of the previous revision, sent as prev; fwdStatus is its status as
	// last read.
	forward   string
	prev      *codedeploy.CreateDeploymentInput
	fwdStatus cdtypes.DeploymentStatus
	at        time.Time // when our deployment was created (our clock)
	// seen is every CodeDeploy deployment as last read, by ID.
	seen map[string]cdtypes.DeploymentInfo

	paused *cdtypes.DeploymentInfo // findPaused: the deployment waiting in Ready
}

var (
	_ strategy       = (*codeDeployStrategy)(nil)
	_ preflighter    = (*codeDeployStrategy)(nil)
	_ idleWaiter     = (*codeDeployStrategy)(nil)
	_ checkCommander = (*codeDeployStrategy)(nil)
)

// idleWaiter is a strategy whose deployments in progress the service
// does not show (a CodeDeploy deployment group's): waitIdle applies
// Config.OnBusy to them before the run reads the rollback target, and
// reports whether it waited for one.
type idleWaiter interface {
	waitIdle(ctx context.Context) (waited bool, err error)
}

// checkCommander is a strategy whose deployment a person checks with a
// command of its own (DescribeServices does not show it).
type checkCommander interface {
	checkCommand() string
}

// checkCommand shows our CodeDeploy deployment.
func (st *codeDeployStrategy) checkCommand() string { return codeDeployGetCommand(st.id) }

// preflighter is a strategy with checks of its own before any change
// once the revision about to be registered (or promoted) is known.
type preflighter interface {
	preflightRevision(ctx context.Context, rev *ecs.RegisterTaskDefinitionInput) error
	// updatePlan is the dry run's account of the start and the watch.
	updatePlan() []string
}

func (st *codeDeployStrategy) name() string { return StrategyCodeDeploy }

func (st *codeDeployStrategy) names() (app, group string) {
	r := st.r
	c, s := clusterName(r.cfg.Cluster), serviceName(r.cfg.Service)
	return cmp.Or(r.cfg.CodeDeploy.Application, fmt.Sprintf("AppECS-%s-%s", c, s)),
		cmp.Or(r.cfg.CodeDeploy.DeploymentGroup, fmt.Sprintf("DgpECS-%s-%s", c, s))
}

// preflight checks the CodeDeploy side without changing anything: the
// application and deployment group exist and deploy this service, and
// the deployment configuration exists. preflightRevision follows.
func (st *codeDeployStrategy) preflight(ctx context.Context) error {
	r := st.r
	if r.d.cd == nil {
		return fieldError("Service", "service %s uses the CODE_DEPLOY deployment controller, and no CodeDeploy client is configured", r.cfg.Service)
	}
	if r.cfg.MinimumHealthyPercent != nil || r.cfg.MaximumPercent != nil {
		in := "MinimumHealthyPercent"
		if r.cfg.MinimumHealthyPercent == nil {
			in = "MaximumPercent"
		}
		return fieldError(in, "service %s is deployed by CodeDeploy, whose deployment configuration (CodeDeploy.DeploymentConfig) decides how tasks and traffic move; leave it empty", r.cfg.Service)
	}
	if r.cfg.DesiredCount != nil {
		return fieldError("DesiredCount", "service %s is deployed by CodeDeploy, which keeps the service's desired count; change it with UpdateService apart, or leave it empty", r.cfg.Service)
	}
	if err := st.readGroup(ctx); err != nil {
		return err
	}
	return st.readConfig(ctx, cmp.Or(r.cfg.CodeDeploy.DeploymentConfig, aws.ToString(st.info.DeploymentConfigName)))
}

// readGroup finds the application and deployment group (GetDeploymentGroup)
// and checks that the group deploys this service.
func (st *codeDeployStrategy) readGroup(ctx context.Context) error {
	r := st.r
	st.app, st.group = st.names()
	g, err := r.d.cd.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(st.app), DeploymentGroupName: aws.String(st.group)})
	switch code := apiErrorCode(err); {
	case code == "ApplicationDoesNotExistException":
		return fieldError("CodeDeploy.Application", "CodeDeploy application %q does not exist", st.app)
	case code == "DeploymentGroupDoesNotExistException":
		return fieldError("CodeDeploy.DeploymentGroup", "deployment group %q of application %s does not exist", st.group, st.app)
	case err != nil:
		return fieldError("CodeDeploy.DeploymentGroup", "get deployment group %s of %s: %w", st.group, st.app, err)
	case g.DeploymentGroupInfo == nil:
		return fieldError("CodeDeploy.DeploymentGroup", "get deployment group %s of %s: empty response", st.group, st.app)
	}
	st.info = g.DeploymentGroupInfo
	if !slices.ContainsFunc(st.info.EcsServices, func(s cdtypes.ECSService) bool {
		return aws.ToString(s.ServiceName) == serviceName(r.cfg.Service) && clusterName(aws.ToString(s.ClusterName)) == clusterName(r.cfg.Cluster)
	}) {
		return fieldError("CodeDeploy.DeploymentGroup", "deployment group %s of %s does not deploy service %s of cluster %s", st.group, st.app, serviceName(r.cfg.Service), clusterName(r.cfg.Cluster))
	}
	return nil
}

// readConfig reads the deployment configuration cfgName (its traffic
// shifting's waits are the watches').
func (st *codeDeployStrategy) readConfig(ctx context.Context, cfgName string) error {
	r := st.r
	if cfgName != "" {
		c, err := r.d.cd.GetDeploymentConfig(ctx, &codedeploy.GetDeploymentConfigInput{DeploymentConfigName: aws.String(cfgName)})
		switch {
		case apiErrorCode(err) == "DeploymentConfigDoesNotExistException":
			return fieldError("CodeDeploy.DeploymentConfig", "deployment configuration %q does not exist", cfgName)
		case err != nil:
			return fieldError("CodeDeploy.DeploymentConfig", "get deployment configuration %s: %w", cfgName, err)
		}
		st.config = c.DeploymentConfigInfo
		if st.config != nil && st.config.ComputePlatform != "" && st.config.ComputePlatform != cdtypes.ComputePlatformEcs {
			return fieldError("CodeDeploy.DeploymentConfig", "%s is a deployment configuration of the %s compute platform, not ECS", cfgName, st.config.ComputePlatform)
		}
	}
	return nil
}

// preflightRevision checks that the AppSpec parses and names a container
// and port of the revision.
func (st *codeDeployStrategy) preflightRevision(ctx context.Context, rev *ecs.RegisterTaskDefinitionInput) error {
	return st.checkAppSpec(rev)
}

// waitIdle applies on-busy to a deployment of the group in progress
// (idleWaiter): fail, or wait for it within the timeout. waited reports
// that one was waited for: the service runs what it left, which the run
// reads again before it reads the rollback target and the revision to
// copy.
func (st *codeDeployStrategy) waitIdle(ctx context.Context) (waited bool, err error) {
	busy, err := st.busy(ctx)
	if err != nil || busy == "" {
		return false, err
	}
	return true, st.waitGroupIdle(ctx, busy)
}

// checkAppSpec parses the AppSpec (or builds it from the service) and
// checks that it names a container and port of the revision.
func (st *codeDeployStrategy) checkAppSpec(rev *ecs.RegisterTaskDefinitionInput) error {
	r := st.r
	in := "CodeDeploy.AppSpec"
	if len(r.cfg.CodeDeploy.AppSpec) == 0 {
		if len(r.svc.LoadBalancers) == 0 || aws.ToString(r.svc.LoadBalancers[0].ContainerName) == "" {
			return fieldError(in, "service %s has no load balancer to build the AppSpec from; give an AppSpec file", r.cfg.Service)
		}
		lb := r.svc.LoadBalancers[0]
		st.spec = appspec.Build(r.target, aws.ToString(lb.ContainerName), aws.ToInt32(lb.ContainerPort), aws.ToString(r.svc.PlatformVersion))
		r.d.emit(EventInfo, "No AppSpec file: built the AppSpec from service %s's load balancer (container %s, port %d), with no hooks",
			r.cfg.Service, aws.ToString(lb.ContainerName), aws.ToInt32(lb.ContainerPort))
	} else {
		spec, err := appspec.Parse(r.cfg.CodeDeploy.AppSpec)
		if err != nil {
			return fieldError(in, "%s: %w", cmp.Or(r.cfg.CodeDeploy.AppSpecFile, "the AppSpec"), err)
		}
		st.spec = spec
		r.d.emit(EventInfo, "AppSpec from %s%s", cmp.Or(r.cfg.CodeDeploy.AppSpecFile, "the AppSpec file"), hooksNote(spec.Hooks()))
	}
	name, port, ok := st.spec.Container()
	if !ok {
		return nil // CodeDeploy ECS AppSpecs without a load balancer are allowed
	}
	i := slices.IndexFunc(rev.ContainerDefinitions, func(c types.ContainerDefinition) bool { return aws.ToString(c.Name) == name })
	if i < 0 {
		var names []string
		for _, c := range rev.ContainerDefinitions {
			names = append(names, aws.ToString(c.Name))
		}
		return fieldError(in, "the AppSpec's LoadBalancerInfo names container %q, which the revision does not have (it has %s)", name, strings.Join(names, ", "))
	}
	if port == 0 {
		return fieldError(in, "the AppSpec's LoadBalancerInfo has no ContainerPort")
	}
	if pm := rev.ContainerDefinitions[i].PortMappings; len(pm) > 0 && !slices.ContainsFunc(pm, func(p types.PortMapping) bool { return int(aws.ToInt32(p.ContainerPort)) == port }) {
		return fieldError(in, "the AppSpec's LoadBalancerInfo names port %d of container %q, which maps no such port", port, name)
	}
	return nil
}

// activeStatuses are the statuses of a CodeDeploy deployment that is not
// over.
var activeStatuses = []cdtypes.DeploymentStatus{
	cdtypes.DeploymentStatusCreated, cdtypes.DeploymentStatusQueued, cdtypes.DeploymentStatusInProgress,
	cdtypes.DeploymentStatusBaking, cdtypes.DeploymentStatusReady,
}

// busy returns a deployment of the group that is not over ("" when none).
func (st *codeDeployStrategy) busy(ctx context.Context) (string, error) {
	out, err := st.r.d.cd.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{
		ApplicationName: aws.String(st.app), DeploymentGroupName: aws.String(st.group), IncludeOnlyStatuses: activeStatuses,
	})
	if err != nil {
		return "", fmt.Errorf("list deployments of %s: %w", st.group, err)
	}
	if len(out.Deployments) == 0 {
		return "", nil
	}
	return out.Deployments[0], nil
}

// waitGroupIdle applies on-busy to a deployment of the group in progress:
// fail, or wait for it within the timeout.
func (st *codeDeployStrategy) waitGroupIdle(ctx context.Context, busy string) error {
	r := st.r
	if r.cfg.OnBusy == OnBusyFail {
		return fieldError("OnBusy", "deployment group %s already has deployment %s in progress; not deploying (OnBusy: fail)", st.group, busy)
	}
	r.d.emit(EventInfo, "Deployment group %s already has deployment %s in progress; waiting for it to end (on-busy: wait, up to %s)", st.group, busy, r.cfg.Timeout)
	wctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	err := doPoll(wctx, r.d.poll(r.cfg.PollInterval), func(ctx context.Context) (bool, error) {
		b, err := st.busy(ctx)
		return b == "", err
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return fieldError("OnBusy", "deployment group %s was still busy with deployment %s after %s: %w", st.group, busy, r.cfg.Timeout, err)
}

func (st *codeDeployStrategy) updatePlan() []string {
	r := st.r
	plan := []string{fmt.Sprintf("CreateDeployment: CodeDeploy application %s, deployment group %s, %s, the AppSpec's TaskDefinition set to the %s revision",
		st.app, st.group, st.configName(), map[bool]string{true: "promoted", false: "new"}[r.res.Promoted])}
	if hooks := st.spec.Hooks(); len(hooks) > 0 {
		var hs []string
		for _, ev := range []string{"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"} {
			if fn, ok := hooks[ev]; ok {
				hs = append(hs, ev+" → "+fn)
			}
		}
		plan = append(plan, "  hooks: "+strings.Join(hs, ", "))
	}
	if !r.cfg.Wait {
		return plan
	}
	return append(plan, st.planWatch())
}

func (st *codeDeployStrategy) planWatch() string {
	r := st.r
	return fmt.Sprintf("CreateDeployment in CodeDeploy application %s, deployment group %s (%s); watch it for up to %s (timeout plus CodeDeploy's own waits); on failure StopDeployment with rollback back to %s",
		st.app, st.group, st.configName(), st.timeout(), taskdef.ShortRevision(r.target))
}

func (st *codeDeployStrategy) configName() string {
	if st.r != nil && st.r.cfg.CodeDeploy.DeploymentConfig != "" {
		return st.r.cfg.CodeDeploy.DeploymentConfig
	}
	if st.info != nil {
		return cmp.Or(aws.ToString(st.info.DeploymentConfigName), "CodeDeployDefault.ECSAllAtOnce")
	}
	return "CodeDeployDefault.ECSAllAtOnce"
}

// timeout is the timeout input plus the time CodeDeploy waits on purpose
// while shifting traffic (the canary's interval, the linear steps').
func (st *codeDeployStrategy) timeout() time.Duration {
	return st.r.cfg.Timeout + shiftWaits(st.config)
}

// shiftWaits is the time a deployment configuration waits on purpose
// while it shifts production traffic (the canary's interval, the linear
// steps'); zero for all at once.
func shiftWaits(c *cdtypes.DeploymentConfigInfo) time.Duration {
	if c == nil || c.TrafficRoutingConfig == nil {
		return 0
	}
	rc := c.TrafficRoutingConfig
	switch {
	case rc.TimeBasedCanary != nil:
		return time.Duration(rc.TimeBasedCanary.CanaryInterval) * time.Minute
	case rc.TimeBasedLinear != nil && rc.TimeBasedLinear.LinearPercentage > 0:
		steps := int(math.Ceil(100 / float64(rc.TimeBasedLinear.LinearPercentage)))
		return time.Duration(max(steps-1, 0)) * time.Duration(rc.TimeBasedLinear.LinearInterval) * time.Minute
	}
	return 0
}

// terminationWait is the deployment group's wait before the original
// task set is terminated.
func (st *codeDeployStrategy) terminationWait() time.Duration {
	if st.info == nil || st.info.BlueGreenDeploymentConfiguration == nil || st.info.BlueGreenDeploymentConfiguration.TerminateBlueInstancesOnDeploymentSuccess == nil {
		return 0
	}
	return time.Duration(st.info.BlueGreenDeploymentConfiguration.TerminateBlueInstancesOnDeploymentSuccess.TerminationWaitTimeInMinutes) * time.Minute
}

// start creates our CodeDeploy deployment.
func (st *codeDeployStrategy) start(ctx context.Context) (bool, error) {
	r := st.r
	content, sum, err := st.spec.Content(r.newARN)
	if err != nil {
		return false, err
	}
	in := &codedeploy.CreateDeploymentInput{
		ApplicationName:     aws.String(st.app),
		DeploymentGroupName: aws.String(st.group),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent,
			AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(content), Sha256: aws.String(sum)}},
	}
	if d := r.cfg.CodeDeploy.Description; d != "" {
		in.Description = aws.String(d)
	}
	if c := r.cfg.CodeDeploy.DeploymentConfig; c != "" {
		in.DeploymentConfigName = aws.String(c)
	}
	in.AutoRollbackConfiguration = st.autoRollback()
	out, err := r.d.cd.CreateDeployment(ctx, in)
	if err != nil {
		// A retried call that was applied: the group's active deployment
		// is ours when it deploys exactly our AppSpec.
		if id := st.adopt(ctx, sum); id != "" {
			return st.started(id), err
		}
		return false, fmt.Errorf("create CodeDeploy deployment in %s: %w", st.group, err)
	}
	return st.started(aws.ToString(out.DeploymentId)), nil
}

func (st *codeDeployStrategy) started(id string) bool {
	r := st.r
	st.id, st.at = id, r.d.now()
	r.res.DeploymentID = id
	st.w = st.newWatch(id, watchDeployment)
	r.ours = st.w.tasks
	r.d.emit(EventInfo, "CodeDeploy deployment %s of %s (application %s, deployment group %s, %s)", id, taskdef.ShortRevision(r.newARN), st.app, st.group, st.configName())
	r.checkpoint(PhaseUpdated)
	return true
}

// autoRollback is our deployment's automatic rollback: with Config.Rollback,
// CodeDeploy rolls a failed deployment back itself (rerouting traffic to the
// original task set and removing the replacement, which nothing else can
// remove once the deployment failed: StopDeployment refuses a finished
// deployment, and ECS's DeleteTaskSet is for the EXTERNAL controller
// only), whatever the group says: "When you create a new deployment, you
// can also choose to override the automatic rollback configuration that
// were specified for the deployment group" (CodeDeploy User Guide,
// "Redeploy and roll back a deployment with CodeDeploy"). The group's
// events (its alarms') are kept. nil (the group's) when the group rolls
// back on failure already, or Config.Rollback is off.
func (st *codeDeployStrategy) autoRollback() *cdtypes.AutoRollbackConfiguration {
	var group *cdtypes.AutoRollbackConfiguration
	if st.info != nil {
		group = st.info.AutoRollbackConfiguration
	}
	if !st.r.cfg.Rollback || group != nil && group.Enabled && slices.Contains(group.Events, cdtypes.AutoRollbackEventDeploymentFailure) {
		return nil
	}
	events := []cdtypes.AutoRollbackEvent{cdtypes.AutoRollbackEventDeploymentFailure}
	if group != nil && group.Enabled {
		events = append(slices.Clone(group.Events), events...)
	}
	return &cdtypes.AutoRollbackConfiguration{Enabled: true, Events: events}
}

// adopt finds our deployment after a CreateDeployment that failed but may
// have been applied: the group's active deployment with our AppSpec.
func (st *codeDeployStrategy) adopt(ctx context.Context, sum string) string {
	ctx, cancel := freshContext(ctx)
	defer cancel()
	id, err := st.busy(ctx)
	if err != nil || id == "" {
		return ""
	}
	d, err := st.r.d.cd.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil || d.DeploymentInfo == nil || d.DeploymentInfo.Revision == nil || d.DeploymentInfo.Revision.AppSpecContent == nil {
		return ""
	}
	if aws.ToString(d.DeploymentInfo.Revision.AppSpecContent.Sha256) == sum {
		return id
	}
	return ""
}

func (st *codeDeployStrategy) newWatch(id string, what watchKind) *cdWatch {
	r := st.r
	w := &cdWatch{st: st, id: id, what: what, tasks: r.rollingJudge("", r.newARN, watchDeployment), seen: map[string]cdtypes.LifecycleEventStatus{}}
	w.tasks.createdAt = r.d.now().Add(-time.Second)
	w.tasks.onFailure = func() { r.mark("first failure") }
	return w
}

func (st *codeDeployStrategy) watch(ctx context.Context) verdict {
	r := st.r
	title := fmt.Sprintf("Watch CodeDeploy deployment %s (%s, up to %s)", st.id, st.configName(), st.timeout())
	return r.watchOurs(ctx, title, st.w, st.timeout(), func() time.Time { return r.updatedAt }, nil)
}

// confirmFailed: before we roll back, CodeDeploy may have failed our
// deployment and started its own rollback: that one is followed, never
// doubled.
func (st *codeDeployStrategy) confirmFailed(ctx context.Context, v verdict) verdict {
	info, err := st.get(ctx, st.id)
	if err != nil || info.RollbackInfo == nil || aws.ToString(info.RollbackInfo.RollbackDeploymentId) == "" {
		return v
	}
	if info.Status != cdtypes.DeploymentStatusFailed {
		return v
	}
	st.by = "CodeDeploy"
	st.r.res.RollbackDeploymentID = rollbackOf(info)
	return verdict{kind: verdictECSRollback, by: "CodeDeploy", reason: st.w.failureReason(ctx, info)}
}

// bake keeps watching our deployment for Config.BakeTime once production
// traffic is on it: a task of the replacement task set that stops on a
// failure (or a watched alarm) fails it, and the rollback is ours
// (StopDeployment while the original task set still runs, a new
// deployment of the previous revision after).
func (st *codeDeployStrategy) bake(ctx context.Context, v verdict) verdict {
	r := st.r
	if v.kind != verdictSucceeded || r.cfg.BakeTime <= 0 || st.w == nil {
		return v
	}
	completed := r.d.now()
	r.mark("deployment completed")
	r.d.emit(EventPhase, "Bake %s for %s", taskdef.ShortRevision(r.newARN), r.cfg.BakeTime)
	r.mark("bake started")
	st.w.baking, st.w.bakeFrom = true, completed
	var j judge = st.w
	if r.alarms != nil {
		j = &alarmJudge{inner: j, alarms: r.alarms, since: func() time.Time { return completed }, sinceWhat: "production traffic moved"}
	}
	bv := r.watcher(j).watch(ctx, r.cfg.BakeTime, r.cfg.PollInterval)
	switch bv.kind {
	case verdictTimedOut:
		r.mark("bake completed")
		return verdict{kind: verdictSucceeded, counts: v.counts, reason: fmt.Sprintf("%s; baked for %s with no failure", v.reason, r.cfg.BakeTime)}
	case verdictCancelled:
		return bv
	}
	r.mark("bake failed")
	r.d.emit(EventWarning, "Bake of %s failed after %s: %s", taskdef.ShortRevision(r.newARN), r.d.now().Sub(completed).Round(time.Second), bv.reason)
	bv.standalone = true
	return bv
}

func (st *codeDeployStrategy) rollbackSubject() string {
	if st.forward != "" {
		return st.forward
	}
	return "of CodeDeploy deployment " + st.id
}

// watchRollback follows the rollback deployment CodeDeploy created for
// ours until it ends.
func (st *codeDeployStrategy) watchRollback(ctx context.Context) verdict {
	r := st.r
	st.rb = st.newWatch(st.id, watchRollback)
	if st.forward != "" {
		st.rb.rbID, st.rb.forward = st.forward, true
	}
	v := r.watcher(st.rb).watch(ctx, st.rollbackTimeout(), r.cfg.PollInterval)
	if v.kind != verdictFailed || st.forward != "" || ctx.Err() != nil {
		return v
	}
	// The rollback deployment CodeDeploy ran failed (rule 1: re-planned by
	// a fresh read): a new deployment of the previous revision.
	r.d.emit(EventWarning, "%s; rolling back with a new deployment of %s", v.reason, taskdef.ShortRevision(r.target))
	if err := st.rollback(ctx); err != nil || st.forward == "" {
		return v
	}
	r.checkpoint(PhaseRollingBack)
	st.rb = st.newWatch(st.id, watchRollback)
	st.rb.rbID, st.rb.forward = st.forward, true
	return r.watcher(st.rb).watch(ctx, st.rollbackTimeout(), r.cfg.PollInterval)
}

func codeDeployStopCommand(id string) string {
	if id == "" {
		return ""
	}
	return fmt.Sprintf("aws deploy stop-deployment --deployment-id %s --auto-rollback-enabled", shellQuote(id))
}

func (st *codeDeployStrategy) saveTo(cp *Checkpoint) {
	cp.CodeDeployApplication, cp.CodeDeployDeploymentGroup = st.app, st.group
}

// get reads one CodeDeploy deployment.
func (st *codeDeployStrategy) get(ctx context.Context, id string) (cdtypes.DeploymentInfo, error) {
	var cd CodeDeployClient
	if st.r != nil {
		cd = st.r.d.cd
	}
	info, err := getCodeDeployment(ctx, cd, id)
	if err == nil {
		if st.seen == nil {
			st.seen = map[string]cdtypes.DeploymentInfo{}
		}
		st.seen[id] = info
	}
	return info, err
}

func getCodeDeployment(ctx context.Context, cd CodeDeployClient, id string) (cdtypes.DeploymentInfo, error) {
	out, err := cd.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		return cdtypes.DeploymentInfo{}, fmt.Errorf("get CodeDeploy deployment %s: %w", id, err)
	}
	if out.DeploymentInfo == nil {
		return cdtypes.DeploymentInfo{}, fmt.Errorf("get CodeDeploy deployment %s: empty response", id)
	}
	return *out.DeploymentInfo, nil
}

// findPaused finds the deployment of the service's group that waits in
// Ready, for resume.
func (st *codeDeployStrategy) findPaused(ctx context.Context) (string, error) {
	r := st.r
	if r.d.cd == nil {
		return "", fieldError("Resume", "service %s uses the CODE_DEPLOY deployment controller, and no CodeDeploy client is configured", r.cfg.Service)
	}
	st.app, st.group = st.names()
	out, err := r.d.cd.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{
		ApplicationName: aws.String(st.app), DeploymentGroupName: aws.String(st.group),
		IncludeOnlyStatuses: []cdtypes.DeploymentStatus{cdtypes.DeploymentStatusReady},
	})
	if err != nil {
		return "", fieldError("Resume", "list deployments of %s: %w", st.group, err)
	}
	if len(out.Deployments) == 0 {
		return "", fieldError("Resume", "deployment group %s of service %s has no deployment waiting in Ready; nothing to %s, nothing changed", st.group, r.cfg.Service, r.cfg.Resume)
	}
	info, err := st.get(ctx, out.Deployments[0])
	if err != nil {
		return "", fieldError("Resume", "%w", err)
	}
	if info.Revision != nil && info.Revision.AppSpecContent != nil {
		if spec, err := appspec.Parse([]byte(aws.ToString(info.Revision.AppSpecContent.Content))); err == nil {
			r.newARN = spec.TaskDefinition()
			st.spec = spec
		}
	}
	// What a deploy's preflight reads, and the watch and the rollback
	// need: the group (its Ready wait, its termination wait) and the
	// paused deployment's configuration (its traffic shifting's waits).
	if err := st.readGroup(ctx); err != nil {
		return "", err
	}
	if err := st.readConfig(ctx, aws.ToString(info.DeploymentConfigName)); err != nil {
		return "", err
	}
	r.res.TaskDefinitionARN = r.newARN
	r.target = aws.ToString(r.svc.TaskDefinition)
	r.res.PreviousTaskDefinitionARN = r.target
	st.paused = &info
	return fmt.Sprintf("CodeDeploy deployment %s of %s waiting in Ready", aws.ToString(info.DeploymentId), taskdef.ShortRevision(r.newARN)), nil
}

// resume continues (ContinueDeployment READY_WAIT; true: then the watch
// to its end) or rolls back (StopDeployment with rollback, awaited) the
// deployment findPaused found.
func (st *codeDeployStrategy) resume(ctx context.Context) bool {
	r := st.r
	id := aws.ToString(st.paused.DeploymentId)
	st.id, st.at = id, r.d.now()
	r.res.DeploymentID = id
	st.w = st.newWatch(id, watchDeployment)
	st.w.readyDone = true
	r.ours = st.w.tasks
	r.mark("resumed at Ready")
	if r.cfg.Resume == ResumeRollback {
		r.d.emit(EventPhase, "Roll back CodeDeploy deployment %s at Ready (resume: rollback)", id)
		if err := r.issueRollback(ctx); err != nil {
			// The checkpoint names the rollback owed: the post step issues it.
			r.res.Status = StatusRollbackFailed
			r.res.Reason = fmt.Sprintf("resume: rollback: %v; the deployment still waits in Ready", err)
			r.res.ManualRollback = st.manualRollback()
			return false
		}
		_ = r.awaitRollback(ctx, fmt.Sprintf("CodeDeploy deployment %s of %s was waiting in Ready; resume: rollback", id, taskdef.ShortRevision(r.newARN)), "")
		return false
	}
	if err := st.continueReady(ctx); err != nil {
		r.res.Status = StatusFailed
		r.res.Reason = fmt.Sprintf("resume: %v; the deployment still waits in Ready", err)
		r.checkpoint(PhaseDone)
		return false
	}
	r.updatedAt = r.d.now() // the alarms are watched from here
	return true
}

// continueReady lets a deployment waiting in Ready reroute production
// traffic.
func (st *codeDeployStrategy) continueReady(ctx context.Context) error {
	r := st.r
	if _, err := r.d.cd.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(st.id), DeploymentWaitType: cdtypes.DeploymentWaitTypeReadyWait}); err != nil {
		return fmt.Errorf("continue CodeDeploy deployment %s (READY_WAIT): %w", st.id, err)
	}
	r.d.emit(EventInfo, "Continued CodeDeploy deployment %s: production traffic moves to %s", st.id, taskdef.ShortRevision(r.newARN))
	r.mark("continued at Ready")
	return nil
}

// hooksNote lists an AppSpec's lifecycle hooks for the log, in the order
// of the ECS lifecycle events (names matched whatever their case, as the
// AppSpec's are).
func hooksNote(hooks map[string]string) string {
	if len(hooks) == 0 {
		return ", with no hooks"
	}
	order := []string{"beforeinstall", "afterinstall", "afterallowtesttraffic", "beforeallowtraffic", "afterallowtraffic"}
	events := slices.Collect(maps.Keys(hooks))
	slices.SortFunc(events, func(a, b string) int {
		ia, ib := slices.Index(order, strings.ToLower(a)), slices.Index(order, strings.ToLower(b))
		if ia < 0 {
			ia = len(order)
		}
		if ib < 0 {
			ib = len(order)
		}
		return cmp.Or(cmp.Compare(ia, ib), strings.Compare(a, b))
	})
	parts := make([]string, len(events))
	for i, ev := range events {
		parts[i] = ev + " " + hooks[ev]
	}
	return ", hooks: " + strings.Join(parts, ", ")
}
