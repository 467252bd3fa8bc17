package ecssim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// handle decodes and validates the input, then runs fn under the lock
// with the state advanced to now.
func handle[In any, Out any](s *Sim, req *request,
	validate func(context.Context, *In, ...func(*ecs.Options)) (Out, error),
	fn func(in *In, now time.Time) (Out, *apiError),
) (any, *apiError) {
	in := new(In)
	if err := decodeStrict(req.body, in); err != nil {
		return nil, err.(*apiError)
	}
	if validate != nil {
		if err := validateWith(validate, in); err != nil {
			return nil, err.(*apiError)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.advanceLocked(now)
	out, aerr := fn(in, now)
	if aerr != nil {
		s.recordLocked(req, aerr.Code)
		return nil, aerr
	}
	s.recordLocked(req, "")
	return out, nil
}

func (s *Sim) dispatchECS(req *request) (any, *apiError) {
	v := s.val.client
	switch req.op {
	case "DescribeClusters":
		return handle(s, req, v.DescribeClusters, s.describeClusters)
	case "DescribeServices":
		return handle(s, req, v.DescribeServices, s.describeServices)
	case "DescribeTaskDefinition":
		return handle(s, req, v.DescribeTaskDefinition, s.describeTaskDefinition)
	case "RegisterTaskDefinition":
		return handle(s, req, v.RegisterTaskDefinition, s.registerTaskDefinition)
	case "DeregisterTaskDefinition":
		return handle(s, req, v.DeregisterTaskDefinition, s.deregisterTaskDefinition)
	case "UpdateService":
		return handle(s, req, v.UpdateService, s.updateService)
	case "ListTasks":
		return handle(s, req, v.ListTasks, s.listTasks)
	case "DescribeTasks":
		return handle(s, req, v.DescribeTasks, s.describeTasks)
	case "RunTask":
		return handle(s, req, onCopy(v.RunTask), s.runTask)
	case "StopTask":
		return handle(s, req, v.StopTask, s.stopTask)
	case "ListServiceDeployments":
		return handle(s, req, v.ListServiceDeployments, s.listServiceDeployments)
	case "DescribeServiceDeployments":
		return handle(s, req, v.DescribeServiceDeployments, s.describeServiceDeployments)
	case "DescribeServiceRevisions":
		return handle(s, req, v.DescribeServiceRevisions, s.describeServiceRevisions)
	case "StopServiceDeployment":
		return handle(s, req, v.StopServiceDeployment, s.stopServiceDeployment)
	case "ContinueServiceDeployment":
		return handle(s, req, v.ContinueServiceDeployment, s.continueServiceDeployment)
	case "DescribeTaskSets":
		return handle(s, req, v.DescribeTaskSets, s.describeTaskSets)
	case "UpdateExpressGatewayService":
		return handle(s, req, v.UpdateExpressGatewayService, s.updateExpressGatewayService)
	case "ListTaskDefinitions":
		return handle(s, req, v.ListTaskDefinitions, s.listTaskDefinitions) // lists.go
	case "ListServices":
		return handle(s, req, v.ListServices, s.listServices)
	}
	return nil, &apiError{Code: "UnknownOperationException", Message: fmt.Sprintf("Unknown operation %q.", req.op), Status: 400}
}

// resolveCluster finds a cluster by name or ARN ("default" when empty).
func (s *Sim) resolveCluster(ref *string) (*cluster, *apiError) {
	name := aws.ToString(ref)
	if name == "" {
		name = "default"
	}
	if i := strings.Index(name, ":cluster/"); i >= 0 {
		name = name[i+len(":cluster/"):]
	}
	cl, ok := s.clusters[name]
	if !ok {
		return nil, errClusterNotFound()
	}
	return cl, nil
}

func (cl *cluster) service(ref string) (*service, bool) {
	name := ref
	if i := strings.Index(ref, ":service/"); i >= 0 {
		name = ref[i+len(":service/"):]
		if c, n, ok := strings.Cut(name, "/"); ok {
			if c != cl.name {
				return nil, false
			}
			name = n
		}
	}
	svc, ok := cl.services[name]
	return svc, ok
}

func (s *Sim) describeClusters(in *ecs.DescribeClustersInput, now time.Time) (*ecs.DescribeClustersOutput, *apiError) {
	refs := in.Clusters
	if len(refs) == 0 {
		refs = []string{"default"}
	}
	if len(refs) > 100 {
		return nil, errInvalidParam("Clusters cannot have more than 100 elements")
	}
	out := &ecs.DescribeClustersOutput{Clusters: []types.Cluster{}, Failures: []types.Failure{}}
	for _, ref := range refs {
		cl, err := s.resolveCluster(aws.String(ref))
		if err != nil {
			out.Failures = append(out.Failures, s.missing(ref, "cluster/"))
			continue
		}
		var services int32
		for _, svc := range cl.sOrder {
			if svc.status == "ACTIVE" {
				services++
			}
		}
		running, pending := countRunningPending(cl.tOrder)
		out.Clusters = append(out.Clusters, types.Cluster{
			ClusterArn:                        aws.String(cl.arn),
			ClusterName:                       aws.String(cl.name),
			Status:                            aws.String("ACTIVE"),
			RunningTasksCount:                 running,
			PendingTasksCount:                 pending,
			ActiveServicesCount:               services,
			RegisteredContainerInstancesCount: 0,
			Statistics:                        []types.KeyValuePair{},
			Tags:                              []types.Tag{},
			Settings:                          []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("disabled")}},
			CapacityProviders:                 []string{"FARGATE", "FARGATE_SPOT"},
			DefaultCapacityProviderStrategy:   []types.CapacityProviderStrategyItem{},
		})
	}
	return out, nil
}

// batchIn checks a batch member of a Describe call (member, n elements, at
// most max) as ECS does, then resolves the cluster the batch is in.
func (s *Sim) batchIn(clusterRef *string, member string, n, max int) (*cluster, *apiError) {
	if n > max {
		return nil, errInvalidParam("%s cannot have more than %d elements", member, max)
	}
	if n == 0 {
		return nil, errInvalidParam("%s cannot be empty.", member)
	}
	return s.resolveCluster(clusterRef)
}

func (s *Sim) describeServices(in *ecs.DescribeServicesInput, now time.Time) (*ecs.DescribeServicesOutput, *apiError) {
	cl, err := s.batchIn(in.Cluster, "Services", len(in.Services), 10)
	if err != nil {
		return nil, err
	}
	withTags := false
	for _, f := range in.Include {
		if f == types.ServiceFieldTags {
			withTags = true
		}
	}
	out := &ecs.DescribeServicesOutput{Services: []types.Service{}, Failures: []types.Failure{}}
	for _, ref := range in.Services {
		svc, ok := cl.service(ref)
		if !ok {
			out.Failures = append(out.Failures, s.missing(ref, "service/"+cl.name+"/"))
			continue
		}
		out.Services = append(out.Services, s.serviceView(svc, withTags))
	}
	return out, nil
}

// serviceView renders a service as ECS describes it.
func (s *Sim) serviceView(svc *service, withTags bool) types.Service {
	prim := svc.deps[0]
	v := types.Service{
		ServiceArn:     aws.String(svc.arn),
		ServiceName:    aws.String(svc.name),
		ClusterArn:     aws.String(svc.cl.arn),
		Status:         aws.String(svc.status),
		DesiredCount:   svc.desired,
		LaunchType:     svc.launchType,
		TaskDefinition: aws.String(prim.td.arn()),
		DeploymentConfiguration: &types.DeploymentConfiguration{
			MinimumHealthyPercent:    aws.Int32(svc.minHealthy),
			MaximumPercent:           aws.Int32(svc.maxPercent),
			DeploymentCircuitBreaker: svc.cb,
			Alarms:                   svc.alarms,
			Strategy:                 types.DeploymentStrategyRolling,
			EarlySuccessCriteria:     svc.earlySuccess,
		},
		DeploymentController:          &types.DeploymentController{Type: types.DeploymentControllerTypeEcs},
		LoadBalancers:                 []types.LoadBalancer{},
		ServiceRegistries:             []types.ServiceRegistry{},
		PlacementConstraints:          append([]types.PlacementConstraint{}, svc.placement...),
		PlacementStrategy:             append([]types.PlacementStrategy{}, svc.strategy...),
		NetworkConfiguration:          svc.network,
		HealthCheckGracePeriodSeconds: svc.graceSeconds,
		SchedulingStrategy:            types.SchedulingStrategyReplica,
		CreatedAt:                     aws.Time(svc.createdAt),
		CreatedBy:                     aws.String(fmt.Sprintf("arn:aws:iam::%s:root", s.account)),
		EnableECSManagedTags:          svc.enableManagedTags,
		PropagateTags:                 svc.propagateTags,
		EnableExecuteCommand:          svc.enableExec,
		PlatformVersion:               svc.platformVersion,
		Events:                        append([]types.ServiceEvent{}, svc.events...),
	}
	if svc.launchType == types.LaunchTypeFargate {
		v.PlatformFamily = aws.String("Linux")
	}
	for _, d := range svc.deps {
		dv := s.deploymentView(svc, d)
		v.Deployments = append(v.Deployments, dv)
		v.RunningCount += dv.RunningCount
		v.PendingCount += dv.PendingCount
	}
	if withTags {
		v.Tags = append([]types.Tag{}, svc.tags...)
	}
	s.decorateServiceView(svc, &v)
	s.decorateCodeDeployView(svc, &v)
	expressView(svc, &v)
	return v
}

func (s *Sim) deploymentView(svc *service, d *deployment) types.Deployment {
	running, pending := countRunningPending(d.live)
	dv := types.Deployment{
		Id:                   aws.String(d.id),
		Status:               aws.String(d.status),
		TaskDefinition:       aws.String(d.td.arn()),
		DesiredCount:         d.desired,
		PendingCount:         pending,
		RunningCount:         running,
		FailedTasks:          d.failed,
		CreatedAt:            aws.Time(d.createdAt),
		UpdatedAt:            aws.Time(d.updatedAt),
		LaunchType:           svc.launchType,
		NetworkConfiguration: svc.network,
		RolloutState:         d.rollout,
		RolloutStateReason:   aws.String(d.reason),
		PlatformVersion:      svc.platformVersion,
		VolumeConfigurations: d.volumes,
	}
	if svc.launchType == types.LaunchTypeFargate {
		dv.PlatformFamily = aws.String("Linux")
	}
	return dv
}

func (s *Sim) describeTaskDefinition(in *ecs.DescribeTaskDefinitionInput, now time.Time) (*ecs.DescribeTaskDefinitionOutput, *apiError) {
	td, ok := s.lookupTaskDef(aws.ToString(in.TaskDefinition))
	if !ok {
		return nil, errClient("Unable to describe task definition.")
	}
	out := &ecs.DescribeTaskDefinitionOutput{TaskDefinition: taskDefCopy(td)}
	for _, f := range in.Include {
		if f == types.TaskDefinitionFieldTags {
			out.Tags = append([]types.Tag{}, td.tags...)
		}
	}
	return out, nil
}

func taskDefCopy(td *taskDef) *types.TaskDefinition {
	c := td.td
	return &c
}

func (s *Sim) registerTaskDefinition(in *ecs.RegisterTaskDefinitionInput, now time.Time) (*ecs.RegisterTaskDefinitionOutput, *apiError) {
	if err := checkRegister(in); err != nil {
		return nil, err
	}
	td := taskDefFromInput(in)
	t, err := s.addTaskDefinition(td, in.Tags, now)
	if err != nil {
		if ae, ok := err.(*apiError); ok {
			return nil, ae
		}
		return nil, errClient("%v", err)
	}
	out := &ecs.RegisterTaskDefinitionOutput{TaskDefinition: taskDefCopy(t)}
	if len(in.Tags) > 0 {
		out.Tags = append([]types.Tag{}, in.Tags...)
	}
	return out, nil
}

// checkRegister applies the checks ECS makes beyond required members.
func checkRegister(in *ecs.RegisterTaskDefinitionInput) *apiError {
	if !validFamily(aws.ToString(in.Family)) {
		return errClient("Family contains invalid characters: %q. Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.", aws.ToString(in.Family))
	}
	if len(in.ContainerDefinitions) == 0 {
		return errClient("Container list cannot be empty.")
	}
	names := map[string]bool{}
	for _, c := range in.ContainerDefinitions {
		if aws.ToString(c.Name) == "" {
			return errClient("Container.name should not be null or empty.")
		}
		if aws.ToString(c.Image) == "" {
			return errClient("Container.image should not be null or empty.")
		}
		if names[*c.Name] {
			return errClient("Duplicate container name %q.", *c.Name)
		}
		names[*c.Name] = true
	}
	for _, rc := range in.RequiresCompatibilities {
		if rc != types.CompatibilityFargate {
			continue
		}
		if in.NetworkMode != types.NetworkModeAwsvpc {
			return errClient("Fargate only supports network mode 'awsvpc'.")
		}
		if in.Cpu == nil {
			return errClient("Fargate requires that 'cpu' be defined at the task level.")
		}
		if in.Memory == nil {
			return errClient("Fargate requires that 'memory' be defined at the task level.")
		}
		if !fargateSize(*in.Cpu, *in.Memory) {
			return errClient("No Fargate configuration exists for given values: %s CPU, %s memory. See the Amazon ECS documentation for the valid values.", *in.Cpu, *in.Memory)
		}
	}
	if in.Memory == nil {
		for _, c := range in.ContainerDefinitions {
			if c.Memory == nil && c.MemoryReservation == nil {
				return errClient("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", aws.ToString(c.Name))
			}
		}
	}
	return nil
}

// fargateSize reports whether cpu and memory (in CPU units and MiB) are a
// combination Fargate offers. Values in other notations ("1 vCPU",
// "2 GB") are accepted unchecked.
func fargateSize(cpu, memory string) bool {
	c, err1 := strconv.Atoi(cpu)
	m, err2 := strconv.Atoi(memory)
	if err1 != nil || err2 != nil {
		return true
	}
	ranges := map[int][3]int{ // cpu: {min, max, step} memory
		256:   {512, 2048, 512},
		512:   {1024, 4096, 1024},
		1024:  {2048, 8192, 1024},
		2048:  {4096, 16384, 1024},
		4096:  {8192, 30720, 1024},
		8192:  {16384, 61440, 4096},
		16384: {32768, 122880, 8192},
	}
	r, ok := ranges[c]
	if !ok || m < r[0] || m > r[1] || (m-r[0])%r[2] != 0 {
		return false
	}
	return c != 256 || m != 1536 // 256 CPU: 512, 1024 or 2048
}

// taskDefFromInput copies every member of the registration into a task
// definition: all members but tags exist under the same name in both
// shapes, so nothing given is lost (including members added to the SDK
// later).
func taskDefFromInput(in *ecs.RegisterTaskDefinitionInput) types.TaskDefinition {
	var td types.TaskDefinition
	src := reflect.ValueOf(in).Elem()
	dst := reflect.ValueOf(&td).Elem()
	for i := 0; i < src.NumField(); i++ {
		f := src.Type().Field(i)
		if !f.IsExported() || f.Name == "Tags" {
			continue
		}
		df := dst.FieldByName(f.Name)
		if df.IsValid() && df.Type() == f.Type {
			df.Set(src.Field(i))
		}
	}
	return td
}

func (s *Sim) deregisterTaskDefinition(in *ecs.DeregisterTaskDefinitionInput, now time.Time) (*ecs.DeregisterTaskDefinitionOutput, *apiError) {
	ref := aws.ToString(in.TaskDefinition)
	short := ref
	if i := strings.Index(short, ":task-definition/"); i >= 0 {
		short = short[i+len(":task-definition/"):]
	}
	_, rev, ok := strings.Cut(short, ":")
	if !ok {
		return nil, errClient("Invalid revision number. Number: %s", rev)
	}
	if _, err := strconv.Atoi(rev); err != nil {
		return nil, errClient("Invalid revision number. Number: %s", rev)
	}
	td, found := s.lookupTaskDef(ref)
	if !found {
		return nil, errClient("The specified task definition does not exist.")
	}
	if td.td.Status == types.TaskDefinitionStatusActive {
		td.td.Status = types.TaskDefinitionStatusInactive
		td.td.DeregisteredAt = aws.Time(now)
	}
	return &ecs.DeregisterTaskDefinitionOutput{TaskDefinition: taskDefCopy(td)}, nil
}

func (s *Sim) updateService(in *ecs.UpdateServiceInput, now time.Time) (*ecs.UpdateServiceOutput, *apiError) {
	cl, aerr := s.resolveCluster(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	svc, ok := cl.service(aws.ToString(in.Service))
	if !ok {
		return nil, errServiceNotFound()
	}
	if svc.status != "ACTIVE" {
		return nil, errServiceNotActive()
	}
	if cs := s.cdServiceOf(svc); cs != nil {
		return s.updateCodeDeployService(cs, in, now)
	}
	if aerr := checkExpressUpdate(svc, in); aerr != nil {
		return nil, aerr
	}
	if in.DesiredCount != nil && *in.DesiredCount < 0 {
		return nil, errInvalidParam("Desired count must be greater than or equal to 0.")
	}
	minH, maxP := svc.minHealthy, svc.maxPercent
	var cb *types.DeploymentCircuitBreaker = svc.cb
	alarms := svc.alarms
	if dc := in.DeploymentConfiguration; dc != nil {
		if dc.MinimumHealthyPercent != nil {
			minH = *dc.MinimumHealthyPercent
		}
		if dc.MaximumPercent != nil {
			maxP = *dc.MaximumPercent
		}
		if dc.DeploymentCircuitBreaker != nil {
			c := *dc.DeploymentCircuitBreaker
			if tc := c.ThresholdConfiguration; tc != nil {
				if !slices.Contains(tc.Type.Values(), tc.Type) {
					return nil, errInvalidParam("Invalid thresholdConfiguration type %q: must be one of COUNT, BOUNDED_PERCENT, UNBOUNDED_PERCENT.", tc.Type)
				}
				if tc.Value < 0 {
					return nil, errInvalidParam("thresholdConfiguration value must be greater than or equal to 0.")
				}
			}
			cb = &c
		}
		if dc.Alarms != nil {
			alarms = dc.Alarms
		}
	}
	staged := mergeStaged(svc.sdx, in.DeploymentConfiguration, in.LoadBalancers)
	if problems := staged.validate(); len(problems) > 0 {
		return nil, errInvalidParam("%s", strings.Join(problems, " "))
	}
	early := svc.earlySuccess
	if dc := in.DeploymentConfiguration; dc != nil && dc.EarlySuccessCriteria != nil {
		early = dc.EarlySuccessCriteria
	}
	if aerr := checkEarlySuccess(early, staged.strategy, minH); aerr != nil {
		return nil, aerr
	}
	if minH < 0 || minH > 100 {
		return nil, errInvalidParam("minimumHealthyPercent must be between 0 and 100.")
	}
	if maxP < 100 && !(maxP > 0 && minH < maxP) {
		return nil, errInvalidParam("maximumPercent must be greater than minimumHealthyPercent.")
	}
	var newTD *taskDef
	if in.TaskDefinition != nil {
		td, ok := s.lookupTaskDef(*in.TaskDefinition)
		if !ok {
			return nil, errClient("TaskDefinition not found.")
		}
		if td.td.Status != types.TaskDefinitionStatusActive {
			return nil, errClient("TaskDefinition is inactive")
		}
		newTD = td
	}
	if in.HealthCheckGracePeriodSeconds != nil && *in.HealthCheckGracePeriodSeconds < 0 {
		return nil, errInvalidParam("healthCheckGracePeriodSeconds must be greater than or equal to 0.")
	}
	// volumeConfigurations: null keeps the service's and starts no
	// deployment; a list replaces them (an empty one removes them) and
	// starts a deployment when it differs
	// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html).
	volumesChange := false
	if in.VolumeConfigurations != nil {
		td := svc.deps[0].td
		if newTD != nil {
			td = newTD
		}
		if aerr := checkVolumeConfigurations(td, in.VolumeConfigurations); aerr != nil {
			return nil, aerr
		}
		a, _ := json.Marshal(in.VolumeConfigurations)
		b, _ := json.Marshal(svc.deps[0].volumes)
		volumesChange = string(a) != string(b) && !(len(in.VolumeConfigurations) == 0 && len(svc.deps[0].volumes) == 0)
	}
	// Validated: apply.
	svc.minHealthy, svc.maxPercent, svc.cb, svc.alarms, svc.earlySuccess = minH, maxP, cb, alarms, early
	staged.applyTo(svc.sdx)
	if in.DesiredCount != nil {
		if newTD == nil && !in.ForceNewDeployment {
			s.scaleOutOld(svc, *in.DesiredCount, now) // rolling2025.go: both revisions scale out
		}
		svc.desired = *in.DesiredCount
		svc.deps[0].desired = svc.desired
		svc.deps[0].updatedAt = now
	}
	if in.EnableECSManagedTags != nil {
		svc.enableManagedTags = *in.EnableECSManagedTags
	}
	if in.PropagateTags != "" {
		svc.propagateTags = in.PropagateTags
	}
	if in.HealthCheckGracePeriodSeconds != nil {
		svc.graceSeconds = in.HealthCheckGracePeriodSeconds
	}
	if in.NetworkConfiguration != nil {
		svc.network = in.NetworkConfiguration
	}
	if in.PlatformVersion != nil {
		svc.platformVersion = in.PlatformVersion
	}
	if in.EnableExecuteCommand != nil {
		svc.enableExec = *in.EnableExecuteCommand
	}
	prim := svc.deps[0]
	if (newTD != nil && newTD != prim.td) || in.ForceNewDeployment || volumesChange {
		td := prim.td
		if newTD != nil {
			td = newTD
		}
		d := s.newDeployment(svc, td, now)
		if in.VolumeConfigurations != nil {
			d.volumes = in.VolumeConfigurations
			if len(d.volumes) == 0 {
				d.volumes = nil
			}
		}
		for _, old := range svc.deps {
			old.status = "ACTIVE"
		}
		svc.deps = append([]*deployment{d}, svc.deps...)
		svc.steady = false
		s.noteUpdateLocked(svc, d, now)
		s.startServiceDeployment(svc, d, now)
	}
	s.wake()
	return &ecs.UpdateServiceOutput{Service: ptr(s.serviceView(svc, false))}, nil
}

func ptr[T any](v T) *T { return &v }

// pageToken encodes the sequence number of the last task returned.
func pageToken(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("ecssim:" + strconv.FormatInt(seq, 10)))
}

func parsePageToken(tok string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(string(b), "ecssim:"), 10, 64)
	if err != nil || !strings.HasPrefix(string(b), "ecssim:") {
		return 0, false
	}
	return n, true
}

func (s *Sim) listTasks(in *ecs.ListTasksInput, now time.Time) (*ecs.ListTasksOutput, *apiError) {
	cl, aerr := s.resolveCluster(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	limit := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, errInvalidParam("maxResults must be between 1 and 100.")
		}
		limit = int(*in.MaxResults)
	}
	if in.StartedBy != nil && (in.ServiceName != nil || in.Family != nil || in.ContainerInstance != nil || in.LaunchType != "" || in.DaemonName != nil) {
		// "When you specify startedBy as the filter, it must be the only
		// filter that you use." (desiredStatus may accompany it.)
		return nil, errInvalidParam("startedBy cannot be combined with other filters (serviceName, family, containerInstance, launchType).")
	}
	var after int64
	if in.NextToken != nil {
		n, ok := parsePageToken(*in.NextToken)
		if !ok {
			return nil, errInvalidParam("Invalid nextToken.")
		}
		after = n
	}
	var svc *service
	if in.ServiceName != nil {
		sv, ok := cl.service(*in.ServiceName)
		if !ok {
			return nil, errServiceNotFound()
		}
		svc = sv
	}
	desired := string(in.DesiredStatus)
	if desired == "" {
		desired = "RUNNING"
	}
	out := &ecs.ListTasksOutput{TaskArns: []string{}}
	for _, t := range cl.tOrder {
		if t.seq <= after {
			continue
		}
		if t.desired != desired {
			continue
		}
		if svc != nil && t.svc != svc {
			continue
		}
		if in.StartedBy != nil && t.startedBy != *in.StartedBy {
			continue
		}
		if in.Family != nil && aws.ToString(t.td.td.Family) != *in.Family {
			continue
		}
		if in.LaunchType != "" && t.launchType != in.LaunchType {
			continue
		}
		if len(out.TaskArns) == limit {
			out.NextToken = aws.String(pageToken(after))
			break
		}
		out.TaskArns = append(out.TaskArns, t.arn)
		after = t.seq
	}
	return out, nil
}

func (s *Sim) describeTasks(in *ecs.DescribeTasksInput, now time.Time) (*ecs.DescribeTasksOutput, *apiError) {
	cl, aerr := s.batchIn(in.Cluster, "Tasks", len(in.Tasks), 100)
	if aerr != nil {
		return nil, aerr
	}
	out := &ecs.DescribeTasksOutput{Tasks: []types.Task{}, Failures: []types.Failure{}}
	for _, ref := range in.Tasks {
		id := ref
		if i := strings.LastIndex(ref, "/"); i >= 0 {
			id = ref[i+1:]
		}
		t, ok := cl.tasks[id]
		if !ok {
			out.Failures = append(out.Failures, s.missing(ref, "task/"+cl.name+"/"))
			continue
		}
		out.Tasks = append(out.Tasks, s.taskView(t))
	}
	return out, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return aws.Time(t)
}

// taskView renders a task as DescribeTasks returns it.
func (s *Sim) taskView(t *task) types.Task {
	td := t.td.td
	v := types.Task{
		TaskArn:               aws.String(t.arn),
		ClusterArn:            aws.String(t.cl.arn),
		TaskDefinitionArn:     aws.String(t.td.arn()),
		LastStatus:            aws.String(t.last),
		DesiredStatus:         aws.String(t.desired),
		HealthStatus:          t.health,
		LaunchType:            t.launchType,
		Cpu:                   td.Cpu,
		Memory:                td.Memory,
		CreatedAt:             aws.Time(t.createdAt),
		PullStartedAt:         timePtr(t.pullStarted),
		PullStoppedAt:         timePtr(t.pullStopped),
		StartedAt:             timePtr(t.startedAt),
		StoppingAt:            timePtr(t.stoppingAt),
		StoppedAt:             timePtr(t.stoppedAt),
		ExecutionStoppedAt:    timePtr(t.stoppedAt),
		ConnectivityAt:        timePtr(t.connectivity),
		Group:                 aws.String(t.group),
		Version:               t.version,
		AvailabilityZone:      aws.String(s.region + "a"),
		StopCode:              t.stopCode,
		Attachments:           []types.Attachment{},
		Attributes:            []types.Attribute{},
		Tags:                  []types.Tag{},
		InferenceAccelerators: []types.InferenceAccelerator{},
		Overrides:             &types.TaskOverride{InferenceAcceleratorOverrides: []types.InferenceAcceleratorOverride{}},
		EnableExecuteCommand:  t.enableExec,
	}
	if !t.connectivity.IsZero() {
		v.Connectivity = types.ConnectivityConnected
	}
	if t.stoppedReason != "" {
		v.StoppedReason = aws.String(t.stoppedReason)
	}
	if t.startedBy != "" {
		v.StartedBy = aws.String(t.startedBy)
	}
	if t.platform != nil {
		v.PlatformVersion = t.platform
		v.PlatformFamily = aws.String("Linux")
	}
	for i, c := range t.containers {
		cv := types.Container{
			ContainerArn:      aws.String(s.arn(fmt.Sprintf("container/%s/%s/%08x-0000-0000-0000-%012d", t.cl.name, t.id, t.seq, i))),
			TaskArn:           aws.String(t.arn),
			Name:              aws.String(c.name),
			Image:             aws.String(c.image),
			LastStatus:        aws.String(c.last),
			ExitCode:          c.exit,
			HealthStatus:      c.health,
			NetworkBindings:   []types.NetworkBinding{},
			NetworkInterfaces: []types.NetworkInterface{},
		}
		if c.reason != "" {
			cv.Reason = aws.String(c.reason)
		}
		if !c.startedAt.IsZero() {
			cv.RuntimeId = aws.String(fmt.Sprintf("%s-%d", t.id, i))
		}
		v.Containers = append(v.Containers, cv)
		v.Overrides.ContainerOverrides = append(v.Overrides.ContainerOverrides, types.ContainerOverride{Name: aws.String(c.name)})
	}
	soloView(t, &v)
	return v
}

// missing is the MISSING failure of a Describe call for ref, a name (made
// into an ARN under prefix, such as "service/prod/") or an ARN.
func (s *Sim) missing(ref, prefix string) types.Failure {
	arn := ref
	if !strings.HasPrefix(ref, "arn:") {
		arn = s.arn(prefix + ref)
	}
	return types.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")}
}
