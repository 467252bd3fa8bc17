package ecssim

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func bigScenario(t testing.TB, desired int32) Scenario {
	sc := demoScenario(t)
	sc.Services[0].DesiredCount = desired
	return sc
}

func TestListTasksPagination(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, bigScenario(t, 250))
	c, _ := clients(srv, 1)
	ctx := context.Background()
	tests := []struct {
		name      string
		max       *int32
		wantPages []int
	}{
		{"default page size", nil, []int{100, 100, 50}},
		{"maxResults 100", aws.Int32(100), []int{100, 100, 50}},
		{"maxResults 7", aws.Int32(7), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seen := map[string]bool{}
			var pages []int
			p := ecs.NewListTasksPaginator(c, &ecs.ListTasksInput{Cluster: aws.String("demo"), ServiceName: aws.String("web"), MaxResults: tt.max})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatalf("ListTasks: %v", err)
				}
				pages = append(pages, len(out.TaskArns))
				for _, a := range out.TaskArns {
					if seen[a] {
						t.Errorf("task %s listed twice", a)
					}
					seen[a] = true
				}
			}
			if len(seen) != 250 {
				t.Errorf("tasks listed: got %d, want 250", len(seen))
			}
			if tt.wantPages != nil {
				if diff := cmp.Diff(tt.wantPages, pages); diff != "" {
					t.Errorf("page sizes (-want +got):\n%s", diff)
				}
			} else if len(pages) != 36 {
				t.Errorf("pages of 7: got %d, want 36", len(pages))
			}
		})
	}
	t.Run("DescribeTasks takes 100", func(t *testing.T) {
		t.Parallel()
		out, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("demo")})
		if err != nil {
			t.Fatal(err)
		}
		dt, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("demo"), Tasks: out.TaskArns})
		if err != nil {
			t.Fatalf("DescribeTasks of 100: %v", err)
		}
		if len(dt.Tasks) != 100 || len(dt.Failures) != 0 {
			t.Errorf("got %d tasks and %d failures, want 100 and 0", len(dt.Tasks), len(dt.Failures))
		}
	})
}

func TestListTasksFilters(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, _ := clients(srv, 1)
	ctx := context.Background()
	oldID := aws.ToString(describeService(t, c, "demo", "web").Deployments[0].Id)
	id, _ := deploy(t, c, "public.ecr.aws/ecs-rollout/web:good")
	waitService(t, c, "demo", "web", 5*time.Second, "rollout COMPLETED", func(s types.Service) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	count := func(in ecs.ListTasksInput) int {
		in.Cluster = aws.String("demo")
		out, err := c.ListTasks(ctx, &in)
		if err != nil {
			t.Fatalf("ListTasks %+v: %v", in, err)
		}
		return len(out.TaskArns)
	}
	tests := []struct {
		name string
		in   ecs.ListTasksInput
		want int
	}{
		{"running (default)", ecs.ListTasksInput{}, 2},
		{"running of the service", ecs.ListTasksInput{ServiceName: aws.String("web")}, 2},
		{"service by ARN", ecs.ListTasksInput{ServiceName: aws.String("arn:aws:ecs:us-east-1:123456789012:service/demo/web")}, 2},
		{"stopped", ecs.ListTasksInput{DesiredStatus: types.DesiredStatusStopped}, 2},
		{"ours", ecs.ListTasksInput{StartedBy: aws.String(id)}, 2},
		{"old, running", ecs.ListTasksInput{StartedBy: aws.String(oldID)}, 0},
		{"old, stopped", ecs.ListTasksInput{StartedBy: aws.String(oldID), DesiredStatus: types.DesiredStatusStopped}, 2},
		{"family", ecs.ListTasksInput{Family: aws.String("web")}, 2},
		{"other family", ecs.ListTasksInput{Family: aws.String("api")}, 0},
		{"pending", ecs.ListTasksInput{DesiredStatus: types.DesiredStatusPending}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := count(tt.in); got != tt.want {
				t.Errorf("got %d tasks, want %d", got, tt.want)
			}
		})
	}
}

// TestRegisterTaskDefinitionLossless registers a definition with every
// member set (nested ones too) and reads it back unchanged.
func TestRegisterTaskDefinitionLossless(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, _ := clients(srv, 1)
	ctx := context.Background()
	var in ecs.RegisterTaskDefinitionInput
	fill(reflect.ValueOf(&in).Elem(), "", 0)
	in.Family = aws.String("full")
	in.RequiresCompatibilities = []types.Compatibility{types.CompatibilityEc2}
	in.ContainerDefinitions[0].Name = aws.String("app")
	in.ContainerDefinitions[0].Image = aws.String("example/app:1")
	reg, err := c.RegisterTaskDefinition(ctx, &in)
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	desc, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("full:1"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatalf("DescribeTaskDefinition: %v", err)
	}
	for name, got := range map[string]*types.TaskDefinition{"RegisterTaskDefinition": reg.TaskDefinition, "DescribeTaskDefinition": desc.TaskDefinition} {
		gv := reflect.ValueOf(got).Elem()
		iv := reflect.ValueOf(in)
		for i := 0; i < iv.NumField(); i++ {
			f := iv.Type().Field(i)
			if !f.IsExported() || f.Name == "Tags" {
				continue
			}
			if diff := cmp.Diff(iv.Field(i).Interface(), gv.FieldByName(f.Name).Interface(), exportedOnly); diff != "" {
				t.Errorf("%s: member %s changed (-registered +returned):\n%s", name, f.Name, diff)
			}
		}
		if got.Revision != 1 || got.Status != types.TaskDefinitionStatusActive || got.RegisteredAt == nil ||
			aws.ToString(got.TaskDefinitionArn) != "arn:aws:ecs:us-east-1:123456789012:task-definition/full:1" ||
			len(got.RequiresAttributes) == 0 || len(got.Compatibilities) == 0 {
			t.Errorf("%s: got revision %d status %s arn %s registeredAt %v, %d requiresAttributes, compatibilities %v; want 1 ACTIVE full:1 set, some, some",
				name, got.Revision, got.Status, aws.ToString(got.TaskDefinitionArn), got.RegisteredAt, len(got.RequiresAttributes), got.Compatibilities)
		}
	}
	if diff := cmp.Diff(in.Tags, desc.Tags, exportedOnly); diff != "" {
		t.Errorf("tags (-registered +described):\n%s", diff)
	}
}

func TestTaskDefinitionLifecycle(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, _ := clients(srv, 1)
	ctx := context.Background()

	noTags, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1")})
	if err != nil {
		t.Fatal(err)
	}
	if noTags.Tags != nil {
		t.Errorf("tags without include: got %v, want none", noTags.Tags)
	}
	withTags, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	wantTags := []types.Tag{{Key: aws.String("team"), Value: aws.String("platform")}, {Key: aws.String("app"), Value: aws.String("web")}}
	if diff := cmp.Diff(wantTags, withTags.Tags, exportedOnly); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	_, arn := deploy(t, c, "public.ecr.aws/ecs-rollout/web:good")
	latest, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(latest.TaskDefinition.TaskDefinitionArn); got != arn {
		t.Errorf("family alone: got %s, want the latest ACTIVE %s", got, arn)
	}
	dereg, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:2")})
	if err != nil {
		t.Fatalf("DeregisterTaskDefinition: %v", err)
	}
	if dereg.TaskDefinition.Status != types.TaskDefinitionStatusInactive || dereg.TaskDefinition.DeregisteredAt == nil {
		t.Errorf("deregistered: got status %s deregisteredAt %v, want INACTIVE and set", dereg.TaskDefinition.Status, dereg.TaskDefinition.DeregisteredAt)
	}
	latest, err = c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(latest.TaskDefinition.TaskDefinitionArn); !strings.HasSuffix(got, "web:1") {
		t.Errorf("family alone after deregistering web:2: got %s, want web:1", got)
	}
	inactive, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:2")})
	if err != nil || inactive.TaskDefinition.Status != types.TaskDefinitionStatusInactive {
		t.Errorf("describe web:2: got %v, %v; want it INACTIVE", err, inactive)
	}
	_, err = c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("demo"), Service: aws.String("web"), TaskDefinition: aws.String("web:2")})
	if errCode(err) != "ClientException" {
		t.Errorf("UpdateService to an INACTIVE revision: got %v, want ClientException", err)
	}
}

func TestUpdateServiceDesiredCountOnly(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, _ := clients(srv, 1)
	id := aws.ToString(describeService(t, c, "demo", "web").Deployments[0].Id)
	up, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("demo"), Service: aws.String("web"), DesiredCount: aws.Int32(4)})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Service.Deployments) != 1 || aws.ToString(up.Service.Deployments[0].Id) != id || up.Service.Deployments[0].DesiredCount != 4 {
		t.Fatalf("after scaling: got %s, want only %s with desired 4", fmtDeployments(up.Service.Deployments), id)
	}
	svc := waitService(t, c, "demo", "web", 5*time.Second, "4 running", func(s types.Service) bool { return s.RunningCount == 4 })
	if got := len(srv.Sim.tasksOf(id)); got != 4 {
		t.Errorf("tasks started by %s: got %d, want 4", id, got)
	}
	if svc.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
		t.Errorf("rolloutState: got %s, want still COMPLETED", svc.Deployments[0].RolloutState)
	}
	if _, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("demo"), Service: aws.String("web"), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	waitService(t, c, "demo", "web", 5*time.Second, "1 running", func(s types.Service) bool { return s.RunningCount == 1 && s.PendingCount == 0 })
}

func TestForceNewDeployment(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, _ := clients(srv, 1)
	old := describeService(t, c, "demo", "web").Deployments[0]
	up, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("demo"), Service: aws.String("web"), ForceNewDeployment: true})
	if err != nil {
		t.Fatal(err)
	}
	ds := up.Service.Deployments
	if len(ds) != 2 || aws.ToString(ds[0].Status) != "PRIMARY" || aws.ToString(ds[1].Status) != "ACTIVE" ||
		aws.ToString(ds[1].Id) != aws.ToString(old.Id) || aws.ToString(ds[0].TaskDefinition) != aws.ToString(old.TaskDefinition) ||
		ds[0].RolloutState != types.DeploymentRolloutStateInProgress ||
		aws.ToString(ds[0].RolloutStateReason) != "ECS deployment "+aws.ToString(ds[0].Id)+" in progress." {
		t.Fatalf("after forceNewDeployment: got %s, want a new PRIMARY IN_PROGRESS on the same revision and the old one ACTIVE", fmtDeployments(ds))
	}
	waitService(t, c, "demo", "web", 5*time.Second, "rollout COMPLETED", func(s types.Service) bool {
		return len(s.Deployments) == 1 && aws.ToString(s.Deployments[0].Id) == aws.ToString(ds[0].Id) && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
}

// TestMinimumHealthyPercentHonoured: with minimumHealthyPercent 50 and
// maximumPercent 100 the scheduler must stop an old task before starting a
// new one, and never run more than 2 tasks.
func TestMinimumHealthyPercentHonoured(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, _ := clients(srv, 1)
	ctx := context.Background()
	reg, err := c.RegisterTaskDefinition(ctx, registerInputFor(t, c, "public.ecr.aws/ecs-rollout/web:good"))
	if err != nil {
		t.Fatal(err)
	}
	up, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String("demo"), Service: aws.String("web"),
		TaskDefinition:          reg.TaskDefinition.TaskDefinitionArn,
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(100)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if dc := up.Service.DeploymentConfiguration; aws.ToInt32(dc.MinimumHealthyPercent) != 50 || aws.ToInt32(dc.MaximumPercent) != 100 {
		t.Errorf("deploymentConfiguration: got %d/%d, want 50/100 kept on the service", aws.ToInt32(dc.MinimumHealthyPercent), aws.ToInt32(dc.MaximumPercent))
	}
	svc := waitService(t, c, "demo", "web", 5*time.Second, "rollout COMPLETED", func(s types.Service) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	// Oldest first: the first scheduler action after the update is a stop.
	var msgs []string
	for i := len(svc.Events) - 1; i >= 0; i-- {
		m := aws.ToString(svc.Events[i].Message)
		if strings.Contains(m, "has started") || strings.Contains(m, "has stopped") {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) == 0 || !strings.Contains(msgs[0], "has stopped 1 running tasks") {
		t.Errorf("first scheduler event: got %q, want a stop of 1 task before any start", msgs)
	}
	if got := srv.Sim.maxLiveSeen("demo"); got > 2 {
		t.Errorf("tasks alive at once: got %d, want at most 2 (maximumPercent 100)", got)
	}
}

// maxLiveSeen replays task lifetimes and returns the most tasks that were
// not yet STOPPED at the same instant.
func (s *Sim) maxLiveSeen(cluster string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	type ev struct {
		at time.Time
		d  int
	}
	var evs []ev
	for _, t := range s.clusters[cluster].tOrder {
		evs = append(evs, ev{t.createdAt, +1})
		if !t.stoppedAt.IsZero() {
			evs = append(evs, ev{t.stoppedAt, -1})
		}
	}
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && (evs[j].at.Before(evs[j-1].at) || evs[j].at.Equal(evs[j-1].at) && evs[j].d < evs[j-1].d); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
	cur, best := 0, 0
	for _, e := range evs {
		cur += e.d
		best = max(best, cur)
	}
	return best
}

func registerInputFor(t testing.TB, c *ecs.Client, image string) *ecs.RegisterTaskDefinitionInput {
	t.Helper()
	cur, err := c.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	td := cur.TaskDefinition
	cds := append([]types.ContainerDefinition(nil), td.ContainerDefinitions...)
	cds[0].Image = aws.String(image)
	return &ecs.RegisterTaskDefinitionInput{
		Family: td.Family, ContainerDefinitions: cds, Cpu: td.Cpu, Memory: td.Memory, NetworkMode: td.NetworkMode,
		RequiresCompatibilities: td.RequiresCompatibilities, ExecutionRoleArn: td.ExecutionRoleArn, TaskRoleArn: td.TaskRoleArn,
	}
}

func TestDescribeClusters(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, _ := clients(srv, 1)
	out, err := c.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{Clusters: []string{"demo", "arn:aws:ecs:us-east-1:123456789012:cluster/nope"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Clusters) != 1 {
		t.Fatalf("clusters: got %d, want 1", len(out.Clusters))
	}
	cl := out.Clusters[0]
	if aws.ToString(cl.ClusterName) != "demo" || aws.ToString(cl.Status) != "ACTIVE" || cl.RunningTasksCount != 2 || cl.ActiveServicesCount != 1 {
		t.Errorf("cluster: got %s %s running %d services %d, want demo ACTIVE 2 1", aws.ToString(cl.ClusterName), aws.ToString(cl.Status), cl.RunningTasksCount, cl.ActiveServicesCount)
	}
	want := []types.Failure{{Arn: aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/nope"), Reason: aws.String("MISSING")}}
	if diff := cmp.Diff(want, out.Failures, exportedOnly); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
}

// TestConcurrentClients: many clients poll while a rollout runs (run with
// -race).
func TestConcurrentClients(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, l := clients(srv, 1)
	id, _ := deploy(t, c, "public.ecr.aws/ecs-rollout/web:good")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for j := 0; j < 15; j++ {
				if _, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("demo"), Services: []string{"web"}}); err != nil {
					errs <- err
					return
				}
				out, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("demo"), StartedBy: aws.String(id)})
				if err != nil {
					errs <- err
					return
				}
				if len(out.TaskArns) > 0 {
					if _, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("demo"), Tasks: out.TaskArns}); err != nil {
						errs <- err
						return
					}
					if _, err := logLines(t, l, out.TaskArns[0]); err != nil && errCode(err) != "ResourceNotFoundException" {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent call: %v", err)
	}
	waitService(t, c, "demo", "web", 5*time.Second, "rollout COMPLETED", func(s types.Service) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
}

func TestDescribeServicesTags(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, _ := clients(srv, 1)
	tests := []struct {
		name    string
		include []types.ServiceField
		want    []types.Tag
	}{
		{"without include", nil, nil},
		{"with TAGS", []types.ServiceField{types.ServiceFieldTags}, []types.Tag{{Key: aws.String("env"), Value: aws.String("demo")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("demo"), Services: []string{"web"}, Include: tt.include})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.Services[0].Tags, exportedOnly); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
			cb := out.Services[0].DeploymentConfiguration.DeploymentCircuitBreaker
			if cb == nil || cb.Enable || cb.Rollback {
				t.Errorf("deploymentCircuitBreaker: got %+v, want reported and disabled", cb)
			}
		})
	}
}
