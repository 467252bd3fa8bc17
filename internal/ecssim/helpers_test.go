package ecssim

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

var testCreds = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Source: "test"}, nil
})

// demoScenario loads internal/action/scenarios/demo.json with test-speed timings.
func demoScenario(t testing.TB) Scenario {
	t.Helper()
	sc, err := LoadScenario(filepath.Join("..", "action", "scenarios", "demo.json"))
	if err != nil {
		t.Fatalf("load demo scenario: %v", err)
	}
	sc.Timings = Timings{
		Provisioning: Duration(5 * time.Millisecond),
		Pending:      Duration(10 * time.Millisecond),
		HealthCheck:  Duration(10 * time.Millisecond),
		Stopping:     Duration(5 * time.Millisecond),
		RetryBackoff: Duration(10 * time.Millisecond),
		SlowStart:    Duration(150 * time.Millisecond),
		CrashAfter:   Duration(150 * time.Millisecond),
	}
	for i := range sc.ImageRules {
		sc.ImageRules[i].After = 0
	}
	return sc
}

// inProcess is an http.RoundTripper that hands each request to a handler
// in the same goroutine, with no network: a Sim driven this way inside a
// testing/synctest bubble runs on the bubble's fake clock.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// fakeClockSim builds a simulator of sc and an ECS client that calls it in
// process. Call it inside synctest.Test: the simulator's clock is then the
// bubble's, so waiting "several back-offs" takes no real time. The
// simulator is closed when the test ends.
func fakeClockSim(t *testing.T, sc Scenario) (*Sim, *ecs.Client) {
	t.Helper()
	sim, err := New(sc)
	if err != nil {
		t.Fatalf("build the simulator: %v", err)
	}
	t.Cleanup(sim.Close)
	c := ecs.New(ecs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(inProcessURL),
		Credentials:  testCreds,
		HTTPClient:   inProcessHTTP(sim),
	})
	return sim, c
}

// inProcessURL is the BaseEndpoint of clients using inProcessHTTP: any URL
// does, none is dialled.
const inProcessURL = "http://ecssim.invalid"

// inProcessHTTP is an SDK HTTPClient that serves every request with sim in
// process (see inProcess).
func inProcessHTTP(sim *Sim) *http.Client { return &http.Client{Transport: inProcess{sim}} }

// clients returns SDK clients pointed at srv, retrying at most maxAttempts
// times (0: SDK default).
func clients(srv *Server, maxAttempts int) (*ecs.Client, *cloudwatchlogs.Client) {
	e := ecs.New(ecs.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      testCreds,
		RetryMaxAttempts: maxAttempts,
	})
	l := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      testCreds,
		RetryMaxAttempts: maxAttempts,
	})
	return e, l
}

func describeService(t testing.TB, c *ecs.Client, cluster, name string) types.Service {
	t.Helper()
	out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	if err != nil {
		t.Fatalf("DescribeServices: %v", err)
	}
	if len(out.Services) != 1 {
		t.Fatalf("DescribeServices: got %d services, want 1 (failures %v)", len(out.Services), out.Failures)
	}
	return out.Services[0]
}

// waitService polls DescribeServices until cond holds or the timeout passes.
func waitService(t testing.TB, c *ecs.Client, cluster, name string, timeout time.Duration, what string, cond func(types.Service) bool) types.Service {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		late := time.Now().After(deadline) // checked before describing: a stall between the two cannot fail the test on a stale view
		svc := describeService(t, c, cluster, name)
		if cond(svc) {
			return svc
		}
		if late {
			t.Fatalf("timed out waiting for %s; deployments: %s; events: %s", what, fmtDeployments(svc.Deployments), fmtEvents(svc.Events))
		}
		time.Sleep(3 * time.Millisecond)
	}
}

func fmtDeployments(ds []types.Deployment) string {
	s := ""
	for _, d := range ds {
		s += "[" + aws.ToString(d.Id) + " " + aws.ToString(d.Status) + " " + string(d.RolloutState) + " td=" + aws.ToString(d.TaskDefinition) +
			" desired=" + itoa(d.DesiredCount) + " running=" + itoa(d.RunningCount) + " pending=" + itoa(d.PendingCount) + " failed=" + itoa(d.FailedTasks) + "]"
	}
	return s
}

func fmtEvents(es []types.ServiceEvent) string {
	s := ""
	for _, e := range es {
		s += "\n  " + aws.ToString(e.Message)
	}
	return s
}

func itoa(n int32) string { return fmt.Sprint(n) }

// deploy registers a copy of web:1 with image and updates the service,
// returning the new deployment ID.
func deploy(t testing.TB, c *ecs.Client, image string) (deploymentID, taskDefArn string) {
	t.Helper()
	ctx := context.Background()
	cur, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")})
	if err != nil {
		t.Fatalf("DescribeTaskDefinition: %v", err)
	}
	td := cur.TaskDefinition
	cds := append([]types.ContainerDefinition(nil), td.ContainerDefinitions...)
	cds[0].Image = aws.String(image)
	reg, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  td.Family,
		ContainerDefinitions:    cds,
		Cpu:                     td.Cpu,
		Memory:                  td.Memory,
		NetworkMode:             td.NetworkMode,
		RequiresCompatibilities: td.RequiresCompatibilities,
		ExecutionRoleArn:        td.ExecutionRoleArn,
		TaskRoleArn:             td.TaskRoleArn,
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	arn := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	up, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("demo"), Service: aws.String("web"), TaskDefinition: aws.String(arn)})
	if err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	d := up.Service.Deployments[0]
	if got := aws.ToString(d.Status); got != "PRIMARY" {
		t.Fatalf("UpdateService: first deployment status %q, want PRIMARY", got)
	}
	return aws.ToString(d.Id), arn
}

// NewServer is ecssimtest.NewServer for this package's own tests, which
// cannot import ecssimtest (it imports ecssim).
func NewServer(t testing.TB, sc Scenario) *Server {
	t.Helper()
	s, err := Start("127.0.0.1:0", sc)
	if err != nil {
		t.Fatalf("start ecs simulator: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
