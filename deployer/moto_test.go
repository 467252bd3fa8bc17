package deployer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	neturl "net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/motoserver"
)

// motoClient returns an ECS client for moto_server at url.
func motoClient(url string) *ecs.Client {
	return ecs.New(ecs.Options{
		BaseEndpoint: aws.String(url),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDMOTO", "moto-secret", ""),
	})
}

// seedMoto creates a cluster, a task definition and a 2-task service.
func seedMoto(t *testing.T, client *ecs.Client) string {
	t.Helper()
	ctx := context.Background()
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatalf("create cluster: %v", err)
	}
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("registry.example.com/app:1"), Memory: aws.Int32(256), Essential: aws.Bool(true),
				Environment: []types.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("prod")}}},
			{Name: aws.String("envoy"), Image: aws.String("envoyproxy/envoy:v1.31"), Memory: aws.Int32(128)},
		},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}},
	})
	if err != nil {
		t.Fatalf("register task definition: %v", err)
	}
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(2),
	}); err != nil {
		t.Fatalf("create service: %v", err)
	}
	return aws.ToString(td.TaskDefinition.TaskDefinitionArn)
}

func serviceTaskDef(t *testing.T, client *ecs.Client) string {
	t.Helper()
	out, err := client.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describe service: %v (%d services)", err, len(out.Services))
	}
	return aws.ToString(out.Services[0].TaskDefinition)
}

func motoConfig() deployer.Config {
	cfg := config("registry.example.com/app:2")
	cfg.PollInterval, cfg.RollbackTimeout, cfg.LogLines = 20*time.Millisecond, time.Second, 0
	return cfg
}

// TestMotoContract checks the deploy against moto_server, an independent
// ECS emulator: the happy path and failures.
func TestMotoContract(t *testing.T) {
	t.Parallel()
	t.Run("happy path", func(t *testing.T) {
		t.Parallel()
		client := motoClient(motoserver.Start(t, "MOTO_ECS_SERVICE_RUNNING=2"))
		prev := seedMoto(t, client)
		res, err := deployer.New(client, nil).Deploy(context.Background(), motoConfig())
		if err != nil {
			t.Fatalf("Deploy: %v (result %+v)", err, res)
		}
		if res.Status != deployer.StatusSucceeded {
			t.Errorf("status: got %q, want %q (%s)", res.Status, deployer.StatusSucceeded, res.Reason)
		}
		if res.PreviousTaskDefinitionARN != prev {
			t.Errorf("previous task definition: got %q, want %q", res.PreviousTaskDefinitionARN, prev)
		}
		if got := serviceTaskDef(t, client); got != res.TaskDefinitionARN || got == prev {
			t.Errorf("service runs %q, want the new revision %q", got, res.TaskDefinitionARN)
		}
		td, err := client.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{
			TaskDefinition: aws.String(res.TaskDefinitionARN), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
		if err != nil {
			t.Fatalf("describe new revision: %v", err)
		}
		images := map[string]string{}
		for _, c := range td.TaskDefinition.ContainerDefinitions {
			images[aws.ToString(c.Name)] = aws.ToString(c.Image)
		}
		if images["app"] != "registry.example.com/app:2" || images["envoy"] != "envoyproxy/envoy:v1.31" {
			t.Errorf("images of the new revision: got %v", images)
		}
		if len(td.Tags) != 1 || aws.ToString(td.Tags[0].Key) != "team" {
			t.Errorf("tags of the new revision: got %v, want team=payments", td.Tags)
		}
	})
	t.Run("failed tasks, rollback off", func(t *testing.T) {
		t.Parallel()
		client := motoClient(motoserver.Start(t, "MOTO_ECS_SERVICE_RUNNING=2", "MOTO_ECS_SERVICE_FAILED_TASKS=1"))
		seedMoto(t, client)
		cfg := motoConfig()
		cfg.Rollback = false
		res, err := deployer.New(client, nil).Deploy(context.Background(), cfg)
		if err == nil {
			t.Fatalf("Deploy: got no error, want a failure (result %+v)", res)
		}
		if res.Status != deployer.StatusFailed {
			t.Errorf("status: got %q, want %q (%s)", res.Status, deployer.StatusFailed, res.Reason)
		}
		if !strings.Contains(res.Reason, "failed to start") || res.ManualRollback == "" {
			t.Errorf("reason %q / manual rollback %q: want the failed tasks named and a command to roll back", res.Reason, res.ManualRollback)
		}
		if got := serviceTaskDef(t, client); got != res.TaskDefinitionARN {
			t.Errorf("service runs %q, want it left on %q", got, res.TaskDefinitionARN)
		}
	})
	t.Run("failed tasks, rollback issued", func(t *testing.T) {
		t.Parallel()
		client := motoClient(motoserver.Start(t, "MOTO_ECS_SERVICE_RUNNING=2", "MOTO_ECS_SERVICE_FAILED_TASKS=1"))
		prev := seedMoto(t, client)
		res, err := deployer.New(client, nil).Deploy(context.Background(), motoConfig())
		if err == nil {
			t.Fatalf("Deploy: got no error, want a failure (result %+v)", res)
		}
		// moto reports the same failed task on every deployment, so the
		// rollback never looks settled: the outcome must say so.
		if res.Status != deployer.StatusRollbackFailed {
			t.Errorf("status: got %q, want %q (%s)", res.Status, deployer.StatusRollbackFailed, res.Reason)
		}
		if got := serviceTaskDef(t, client); got != prev {
			t.Errorf("service runs %q, want the rollback target %q", got, prev)
		}
		if !strings.Contains(res.ManualRollback, prev) {
			t.Errorf("manual rollback %q does not name %q", res.ManualRollback, prev)
		}
	})
}

// TestMotoCloudWatchAlarms checks the alarm watch against moto_server's
// CloudWatch, an independent implementation of DescribeAlarms (reached
// through motoserver.CloudWatch, which carries the SDK's Smithy RPC v2
// CBOR over to the query protocol moto speaks): metric and composite
// alarms created through the SDK are read at preflight and watched
// through a short bake; an alarm set to ALARM stops the deploy before any
// change, naming it and its reason; an unknown one is named.
func TestMotoCloudWatchAlarms(t *testing.T) {
	t.Parallel()
	url := motoserver.Start(t, "MOTO_ECS_SERVICE_RUNNING=2")
	client := motoClient(url)
	prev := seedMoto(t, client)
	cw := cloudwatch.New(cloudwatch.Options{BaseEndpoint: aws.String(motoserver.CloudWatch(t, url)), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDMOTO", "moto-secret", "")})
	ctx := context.Background()
	for _, name := range []string{"web-5xx", "web-p99"} {
		if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(name), Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"),
			Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(5),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		}); err != nil {
			t.Fatalf("put metric alarm %s: %v", name, err)
		}
		if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: cwtypes.StateValueOk, StateReason: aws.String("seeded OK")}); err != nil {
			t.Fatalf("set alarm state %s: %v", name, err)
		}
	}
	if _, err := cw.PutCompositeAlarm(ctx, &cloudwatch.PutCompositeAlarmInput{
		AlarmName: aws.String("web-health"), AlarmRule: aws.String(`ALARM("web-5xx") OR ALARM("web-p99")`),
	}); err != nil {
		t.Fatalf("put composite alarm: %v", err)
	}

	cfg := motoConfig()
	cfg.Alarms = []string{"web-5xx", "web-p99"}
	cfg.BakeTime = 300 * time.Millisecond
	res, err := deployer.New(client, nil, deployer.WithCloudWatch(cw)).Deploy(ctx, cfg)
	if err != nil || res.Status != deployer.StatusSucceeded {
		t.Fatalf("Deploy: %v (%s: %s)", err, res.Status, res.Reason)
	}
	if len(res.Alarms) != 2 || res.Alarms[0].Start != deployer.AlarmOK || res.Alarms[1].Name != "web-p99" {
		t.Errorf("alarms: %+v", res.Alarms)
	}
	if !strings.Contains(res.Reason, "baked for 300ms with no failure") {
		t.Errorf("reason: %s", res.Reason)
	}

	t.Run("an alarm in ALARM stops the deploy", func(t *testing.T) {
		if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-p99"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("p99 latency 2.3s > 1.5s")}); err != nil {
			t.Fatalf("set alarm state: %v", err)
		}
		before := serviceTaskDef(t, client)
		_, err := deployer.New(client, nil, deployer.WithCloudWatch(cw)).Deploy(ctx, cfg)
		if !errors.Is(err, deployer.ErrPreflight) || !strings.Contains(err.Error(), `"web-p99" (p99 latency 2.3s > 1.5s)`) {
			t.Fatalf("got %v; want a preflight error naming web-p99 and its reason", err)
		}
		if got := serviceTaskDef(t, client); got != before {
			t.Errorf("service changed from %s to %s", before, got)
		}
	})
	t.Run("composite and unknown alarms", func(t *testing.T) {
		cfg := cfg
		cfg.Alarms = []string{"web-health", "web-missing"}
		_, err := deployer.New(client, nil, deployer.WithCloudWatch(cw)).Deploy(ctx, cfg)
		if !errors.Is(err, deployer.ErrPreflight) || !strings.Contains(err.Error(), `no CloudWatch alarm named "web-missing"`) || strings.Contains(err.Error(), "web-health") {
			t.Fatalf("got %v; want the unknown alarm named, the composite one found", err)
		}
	})
	if got := serviceTaskDef(t, client); got == prev {
		t.Errorf("the service still runs %s after the deploy that succeeded", prev)
	}
}

// motoEC2 finds the first match of re in the answer of an EC2 query API
// action of moto (moto checks a service's subnets and security groups
// against its EC2; its default VPC has both).
func motoEC2(t *testing.T, url, action, re string) string {
	t.Helper()
	form := neturl.Values{"Action": {action}, "Version": {"2016-11-15"}}
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDMOTO/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("moto %s: %v", action, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(re).FindSubmatch(body)
	if m == nil {
		t.Fatalf("moto %s: nothing matches %s in %.300s", action, re, body)
	}
	return string(m[1])
}

// motoTaskShim works around one moto bug only: moto 5 writes a task's
// containers[].cpu and .memory as JSON numbers, where ECS (and so the
// SDK's deserializer) has strings. It rewrites those two members of
// RunTask, DescribeTasks and StopTask answers; everything else reaches
// the SDK as moto sent it.
type motoTaskShim struct{ next http.RoundTripper }

func (m motoTaskShim) RoundTrip(req *http.Request) (*http.Response, error) {
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.")
	resp, err := m.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || (op != "RunTask" && op != "DescribeTasks" && op != "StopTask") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if json.Unmarshal(body, &doc) == nil {
		var tasks []any
		if t, ok := doc["task"]; ok {
			tasks = []any{t}
		} else if ts, ok := doc["tasks"].([]any); ok {
			tasks = ts
		}
		for _, t := range tasks {
			cs, _ := t.(map[string]any)["containers"].([]any)
			for _, c := range cs {
				c := c.(map[string]any)
				for _, k := range []string{"cpu", "memory"} {
					if n, ok := c[k].(float64); ok {
						c[k] = strconv.FormatFloat(n, 'f', -1, 64)
					}
				}
			}
		}
		if b, err := json.Marshal(doc); err == nil {
			body = b
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// motoTaskClient is motoClient with motoTaskShim, for one-off tasks.
func motoTaskClient(url string) *ecs.Client {
	return ecs.New(ecs.Options{
		BaseEndpoint: aws.String(url),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDMOTO", "moto-secret", ""),
		HTTPClient:   &http.Client{Transport: motoTaskShim{next: http.DefaultTransport}},
	})
}

// seedMotoFargate creates a Fargate service (awsvpc, platform 1.4.0) of
// one container, and returns its task definition ARN.
func seedMotoFargate(t *testing.T, client *ecs.Client, url string) string {
	t.Helper()
	ctx := context.Background()
	subnet := motoEC2(t, url, "DescribeSubnets", `<subnetId>(subnet-[0-9a-f]+)</subnetId>`)
	sg := motoEC2(t, url, "DescribeSecurityGroups", `<groupId>(sg-[0-9a-f]+)</groupId>`)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatalf("create cluster: %v", err)
	}
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("registry.example.com/app:1"), Essential: aws.Bool(true), Memory: aws.Int32(512)},
		},
	})
	if err != nil {
		t.Fatalf("register task definition: %v", err)
	}
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), LaunchType: types.LaunchTypeFargate, PlatformVersion: aws.String("1.4.0"),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(2),
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: []string{subnet}, SecurityGroups: []string{sg}}},
	}); err != nil {
		t.Fatalf("create service: %v", err)
	}
	return aws.ToString(td.TaskDefinition.TaskDefinitionArn)
}

// TestMotoPreDeployAndPromote runs the pre-deploy task (RunTask,
// DescribeTasks) and a promotion against moto_server.
func TestMotoPreDeployAndPromote(t *testing.T) {
	t.Parallel()
	t.Run("pre-deploy task, then the deploy", func(t *testing.T) {
		t.Parallel()
		url := motoserver.Start(t, "MOTO_ECS_SERVICE_RUNNING=2")
		client := motoTaskClient(url)
		prev := seedMotoFargate(t, client, url)
		cfg := motoConfig()
		cfg.PreDeploy = &deployer.PreDeploy{Command: []string{"bin/rails", "db:migrate"}, Timeout: 5 * time.Second}
		res, err := deployer.New(client, nil).Deploy(context.Background(), cfg)
		if err != nil || res.Status != deployer.StatusSucceeded {
			t.Fatalf("Deploy: %v, status %s (%s)", err, res.Status, res.Reason)
		}
		if res.PreDeployTaskARN == "" {
			t.Fatal("no pre-deploy-task-arn")
		}
		out, err := client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: []string{res.PreDeployTaskARN}})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("describe the pre-deploy task: %v, %d tasks", err, len(out.Tasks))
		}
		tk := out.Tasks[0]
		if got := aws.ToString(tk.TaskDefinitionArn); got != res.TaskDefinitionARN || got == prev {
			t.Errorf("the task ran %s, want the new revision %s", got, res.TaskDefinitionARN)
		}
		if !strings.HasPrefix(aws.ToString(tk.StartedBy), "ecs-rollout/pre-deploy/") || tk.LaunchType != types.LaunchTypeFargate {
			t.Errorf("startedBy %q, launch type %s", aws.ToString(tk.StartedBy), tk.LaunchType)
		}
		if tk.Overrides == nil || len(tk.Overrides.ContainerOverrides) != 1 || strings.Join(tk.Overrides.ContainerOverrides[0].Command, " ") != "bin/rails db:migrate" {
			t.Errorf("overrides %+v, want app's command", tk.Overrides)
		}
		if got := serviceTaskDef(t, client); got != res.TaskDefinitionARN {
			t.Errorf("service runs %q, want %q", got, res.TaskDefinitionARN)
		}
	})
	t.Run("promote an existing revision", func(t *testing.T) {
		t.Parallel()
		url := motoserver.Start(t, "MOTO_ECS_SERVICE_RUNNING=2")
		client := motoClient(url)
		prev := seedMotoFargate(t, client, url)
		td, err := client.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
			RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			ContainerDefinitions:    []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("registry.example.com/app:2"), Essential: aws.Bool(true), Memory: aws.Int32(512)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		arn := aws.ToString(td.TaskDefinition.TaskDefinitionArn)
		cfg := motoConfig()
		cfg.Images, cfg.Revision = nil, arn
		res, err := deployer.New(client, nil).Deploy(context.Background(), cfg)
		if err != nil || res.Status != deployer.StatusSucceeded || res.TaskDefinitionARN != arn || res.PreviousTaskDefinitionARN != prev {
			t.Fatalf("Deploy: %v, %s %q, task definition %s", err, res.Status, res.Reason, res.TaskDefinitionARN)
		}
		if got := serviceTaskDef(t, client); got != arn {
			t.Errorf("service runs %q, want the promoted %q", got, arn)
		}
	})
}
