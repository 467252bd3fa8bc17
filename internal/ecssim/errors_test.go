package ecssim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// rawCall posts body with X-Amz-Target target and returns the HTTP status
// and the decoded JSON response.
func rawCall(t testing.TB, url, target, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("response to %s is not JSON: %v: %s", target, err, b)
	}
	return resp.StatusCode, m, resp.Header
}

func scenarioWithInactiveService(t testing.TB) Scenario {
	sc := demoScenario(t)
	sc.Services = append(sc.Services, ScenarioService{Cluster: "demo", Name: "old", TaskDefinition: "web:1", DesiredCount: 0, Status: "INACTIVE"})
	return sc
}

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, scenarioWithInactiveService(t))
	const ecsT = "AmazonEC2ContainerServiceV20141113."
	manyTasks := make([]string, 101)
	for i := range manyTasks {
		manyTasks[i] = fmt.Sprintf("%032x", i)
	}
	many, _ := json.Marshal(manyTasks)
	tests := []struct {
		name, target, body string
		wantStatus         int
		wantType           string
		wantMsg            string // substring
	}{
		{"unknown ECS operation", ecsT + "Frobnicate", `{}`, 400, "UnknownOperationException", "Frobnicate"},
		{"no target", "", `{}`, 400, "UnknownOperationException", ""},
		{"unknown Logs operation", "Logs_20140328.PutLogEvents", `{}`, 400, "UnknownOperationException", "PutLogEvents"},
		{"missing required member", ecsT + "DescribeTaskDefinition", `{}`, 400, "InvalidParameterException", "TaskDefinition"},
		{"missing nested required member", ecsT + "RegisterTaskDefinition", `{"family":"web","containerDefinitions":[{"name":"app","image":"x","secrets":[{"name":"A"}]}]}`, 400, "InvalidParameterException", "ValueFrom"},
		{"unknown member", ecsT + "DescribeServices", `{"cluster":"demo","services":["web"],"servics":["x"]}`, 400, "SerializationException", "servics"},
		{"malformed JSON", ecsT + "DescribeServices", `{"cluster":`, 400, "SerializationException", ""},
		{"wrong member type", ecsT + "DescribeServices", `{"cluster":"demo","services":"web"}`, 400, "SerializationException", "services"},
		{"cluster not found", ecsT + "DescribeServices", `{"cluster":"nope","services":["web"]}`, 400, "ClusterNotFoundException", "Cluster not found."},
		{"too many services", ecsT + "DescribeServices", `{"cluster":"demo","services":["1","2","3","4","5","6","7","8","9","10","11"]}`, 400, "InvalidParameterException", "Services cannot have more than 10 elements"},
		{"no services", ecsT + "DescribeServices", `{"cluster":"demo","services":[]}`, 400, "InvalidParameterException", "Services cannot be empty."},
		{"no tasks", ecsT + "DescribeTasks", `{"cluster":"demo","tasks":[]}`, 400, "InvalidParameterException", "Tasks cannot be empty."},
		{"service not found", ecsT + "UpdateService", `{"cluster":"demo","service":"nope","desiredCount":1}`, 400, "ServiceNotFoundException", "Service not found."},
		{"service not active", ecsT + "UpdateService", `{"cluster":"demo","service":"old","desiredCount":1}`, 400, "ServiceNotActiveException", "Service was not ACTIVE."},
		{"update to unknown task definition", ecsT + "UpdateService", `{"cluster":"demo","service":"web","taskDefinition":"nope:9"}`, 400, "ClientException", "TaskDefinition not found."},
		{"negative desired count", ecsT + "UpdateService", `{"cluster":"demo","service":"web","desiredCount":-1}`, 400, "InvalidParameterException", ""},
		{"update with cluster not found", ecsT + "UpdateService", `{"cluster":"nope","service":"web"}`, 400, "ClusterNotFoundException", ""},
		{"describe unknown task definition", ecsT + "DescribeTaskDefinition", `{"taskDefinition":"nope:1"}`, 400, "ClientException", "Unable to describe task definition."},
		{"register bad family", ecsT + "RegisterTaskDefinition", `{"family":"we b","containerDefinitions":[{"name":"app","image":"x"}]}`, 400, "ClientException", "Family"},
		{"register fargate without cpu", ecsT + "RegisterTaskDefinition", `{"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"memory":"512","containerDefinitions":[{"name":"app","image":"x"}]}`, 400, "ClientException", "cpu"},
		{"register impossible Fargate size", ecsT + "RegisterTaskDefinition", `{"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"4096","containerDefinitions":[{"name":"app","image":"x"}]}`, 400, "ClientException", "No Fargate configuration exists for given values: 256 CPU, 4096 memory."},
		{"register EC2 without any memory", ecsT + "RegisterTaskDefinition", `{"family":"web","containerDefinitions":[{"name":"app","image":"x"}]}`, 400, "ClientException", "At least one of 'memory' or 'memoryReservation' must be specified."},
		{"register container without image", ecsT + "RegisterTaskDefinition", `{"family":"web","containerDefinitions":[{"name":"app"}]}`, 400, "ClientException", "image"},
		{"deregister without revision", ecsT + "DeregisterTaskDefinition", `{"taskDefinition":"web"}`, 400, "ClientException", "revision"},
		{"describe more than 100 tasks", ecsT + "DescribeTasks", `{"cluster":"demo","tasks":` + string(many) + `}`, 400, "InvalidParameterException", "100"},
		{"list tasks maxResults over 100", ecsT + "ListTasks", `{"cluster":"demo","maxResults":101}`, 400, "InvalidParameterException", ""},
		{"list tasks bad token", ecsT + "ListTasks", `{"cluster":"demo","nextToken":"garbage!"}`, 400, "InvalidParameterException", ""},
		{"list tasks startedBy with serviceName", ecsT + "ListTasks", `{"cluster":"demo","startedBy":"ecs-svc/1","serviceName":"web"}`, 400, "InvalidParameterException", "startedBy"},
		{"list tasks unknown service", ecsT + "ListTasks", `{"cluster":"demo","serviceName":"nope"}`, 400, "ServiceNotFoundException", ""},
		{"log stream missing member", "Logs_20140328.GetLogEvents", `{"logGroupName":"/ecs/web"}`, 400, "InvalidParameterException", ""},
		{"log stream not found", "Logs_20140328.GetLogEvents", `{"logGroupName":"/ecs/web","logStreamName":"web/app/0000"}`, 400, "ResourceNotFoundException", "log stream"},
		{"log group not found", "Logs_20140328.GetLogEvents", `{"logGroupName":"/ecs/nope","logStreamName":"web/app/0000"}`, 400, "ResourceNotFoundException", "log group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, m, h := rawCall(t, srv.URL, tt.target, tt.body)
			if status != tt.wantStatus || m["__type"] != tt.wantType {
				t.Errorf("got %d %v, want %d %s (body %v)", status, m["__type"], tt.wantStatus, tt.wantType, m)
			}
			msg, ok := m["message"].(string)
			if !ok || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message: got %q, want it to contain %q", m["message"], tt.wantMsg)
			}
			if got := h.Get("Content-Type"); got != "application/x-amz-json-1.1" {
				t.Errorf("Content-Type: got %q, want application/x-amz-json-1.1", got)
			}
		})
	}
	t.Cleanup(func() {
		// Nothing rejected changed the state.
		if got := len(srv.Sim.TaskDefinitions()); got != 1 {
			t.Errorf("task definitions after rejected calls: got %d, want 1", got)
		}
		svc, _ := srv.Sim.Service("demo", "web")
		if len(svc.Deployments) != 1 || svc.DesiredCount != 2 {
			t.Errorf("service after rejected calls: got %s desired %d, want one deployment, desired 2", fmtDeployments(svc.Deployments), svc.DesiredCount)
		}
		for _, c := range srv.Sim.MutatingCalls() {
			if c.ErrCode == "" {
				t.Errorf("mutating call %s %s succeeded, want every one rejected", c.Op, c.Input)
			}
		}
	})
}

// TestSDKErrorTypes checks the SDK maps the simulator's errors to its
// modeled error types.
func TestSDKErrorTypes(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, scenarioWithInactiveService(t))
	c, _ := clients(srv, 1)
	ctx := context.Background()
	tests := []struct {
		name  string
		call  func() error
		check func(error) bool
		want  string
	}{
		{"ClusterNotFoundException", func() error {
			_, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"web"}})
			return err
		}, func(err error) bool { var e *types.ClusterNotFoundException; return errors.As(err, &e) }, "*types.ClusterNotFoundException"},
		{"ServiceNotFoundException", func() error {
			_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("demo"), Service: aws.String("nope")})
			return err
		}, func(err error) bool { var e *types.ServiceNotFoundException; return errors.As(err, &e) }, "*types.ServiceNotFoundException"},
		{"ServiceNotActiveException", func() error {
			_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("demo"), Service: aws.String("old")})
			return err
		}, func(err error) bool { var e *types.ServiceNotActiveException; return errors.As(err, &e) }, "*types.ServiceNotActiveException"},
		{"ClientException", func() error {
			_, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("nope")})
			return err
		}, func(err error) bool { var e *types.ClientException; return errors.As(err, &e) }, "*types.ClientException"},
		{"InvalidParameterException", func() error {
			_, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("demo"), MaxResults: aws.Int32(500)})
			return err
		}, func(err error) bool { var e *types.InvalidParameterException; return errors.As(err, &e) }, "*types.InvalidParameterException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.call(); !tt.check(err) {
				t.Errorf("got %v (%T), want %s", err, errors.Unwrap(err), tt.want)
			}
		})
	}
}

func TestDescribeServicesMissing(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, demoScenario(t))
	c, _ := clients(srv, 1)
	out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("demo"), Services: []string{"web", "ghost"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) != 1 || aws.ToString(out.Services[0].ServiceName) != "web" {
		t.Errorf("services: got %d, want web only", len(out.Services))
	}
	want := []types.Failure{{Arn: aws.String("arn:aws:ecs:us-east-1:123456789012:service/demo/ghost"), Reason: aws.String("MISSING")}}
	if diff := cmp.Diff(want, out.Failures, exportedOnly); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
}
