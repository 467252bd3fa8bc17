package ecssim

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// earlyScenario is web in cluster prod: four tasks of app:v1, minimum
// healthy 50 %, maximum 100 %, early success at 50 % with cleanup, the
// circuit breaker on with rollback; app:v2's first two tasks are healthy,
// later ones crash.
func earlyScenario(cleanup types.ServiceRevisionCleanup) Scenario {
	sc := OneService("prod", "web", FargateApp("web", "app:v1"), 4)
	sc.Services[0].DeploymentConfiguration = DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(100),
		DeploymentCircuitBreaker: &CircuitBreaker{Enable: true, Rollback: true},
		EarlySuccessCriteria:     &types.DeploymentEarlySuccessCriteria{Enable: true, HealthyPercent: aws.Int32(50), SourceServiceRevisionCleanup: cleanup}}
	sc.ImageRules = []ImageRule{{Image: "app:v2", Behavior: BehaviorCrash, HealthyFirst: 2}, {Image: "*", Behavior: BehaviorHealthy}}
	sc.Timings = Timings{Provisioning: Duration(time.Second), Pending: Duration(time.Second), HealthCheck: Duration(time.Second),
		Stopping: Duration(time.Second), RetryBackoff: Duration(2 * time.Second)}
	return sc
}

// TestEarlySuccessCompletesAtTheShare: ECS completes the deployment once
// half of the desired count is healthy (BLOCKING: once the old tasks are
// gone too), keeps launching the rest, and neither its circuit breaker
// nor a rollback acts on the crashes of the background scale-out.
func TestEarlySuccessCompletesAtTheShare(t *testing.T) {
	for _, cleanup := range []types.ServiceRevisionCleanup{types.ServiceRevisionCleanupBlocking, types.ServiceRevisionCleanupDeferred} {
		t.Run(string(cleanup), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sc := earlyScenario(cleanup)
				sim, c := fakeClockSim(t, sc)
				id, _ := deployTo(t, c, "prod", "app:v2")
				var atSuccess types.Service
				svc := waitService(t, c, "prod", "web", time.Hour, "early success", func(s types.Service) bool {
					atSuccess = s
					return s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
				})
				d := svc.Deployments[0]
				if aws.ToString(d.Id) != id || d.RunningCount < 2 || d.RunningCount >= 4 {
					t.Errorf("completed with %d/%d running (%s), want 2 of 4", d.RunningCount, d.DesiredCount, fmtDeployments(svc.Deployments))
				}
				if !strings.Contains(aws.ToString(d.RolloutStateReason), "early success criteria met") {
					t.Errorf("reason %q", aws.ToString(d.RolloutStateReason))
				}
				old := 0
				for _, od := range atSuccess.Deployments[1:] {
					old += int(od.RunningCount)
				}
				if cleanup == types.ServiceRevisionCleanupBlocking && old != 0 {
					t.Errorf("BLOCKING: %d old tasks still running at success", old)
				}
				time.Sleep(2 * time.Minute) // the background scale-out crashes again and again
				svc = describeService(t, c, "prod", "web")
				crashed := 0
				for _, tk := range sim.Tasks("prod") {
					if strings.HasSuffix(aws.ToString(tk.TaskDefinitionArn), "web:2") && tk.StopCode == types.TaskStopCodeEssentialContainerExited {
						crashed++
					}
				}
				if p := svc.Deployments[0]; aws.ToString(p.Id) != id || p.RolloutState != types.DeploymentRolloutStateCompleted || crashed < 4 {
					t.Errorf("after the background crashes (%d crashed tasks): %s, want our deployment still PRIMARY and COMPLETED (no breaker, no rollback)", crashed, fmtDeployments(svc.Deployments))
				}
			})
		})
	}
}

func TestEarlySuccessRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := earlyScenario(types.ServiceRevisionCleanupDeferred)
		_, c := fakeClockSim(t, sc)
		ctx := context.Background()
		for _, tt := range []struct {
			dc   *types.DeploymentConfiguration
			want string
		}{
			{&types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(80)}, "InvalidParameterException: earlySuccessCriteria.healthyPercent must be between 0 and 100 and at least minimumHealthyPercent (80)."},
			{&types.DeploymentConfiguration{EarlySuccessCriteria: &types.DeploymentEarlySuccessCriteria{Enable: true, HealthyPercent: aws.Int32(60)}},
				"InvalidParameterException: earlySuccessCriteria.healthyPercent and earlySuccessCriteria.sourceServiceRevisionCleanup are required when enable is true."},
		} {
			_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DeploymentConfiguration: tt.dc})
			if got := apiCode(err); got != tt.want {
				t.Errorf("%+v: %q, want %q", tt.dc, got, tt.want)
			}
		}
		svc := describeService(t, c, "prod", "web")
		if es := svc.DeploymentConfiguration.EarlySuccessCriteria; es == nil || aws.ToInt32(es.HealthyPercent) != 50 {
			t.Errorf("DescribeServices shows earlySuccessCriteria %+v, want the scenario's", es)
		}
	})
}

// deployTo registers web with image and updates the service in cluster
// to it, returning our deployment's ID and the new revision's ARN.
func deployTo(t testing.TB, c *ecs.Client, cluster, image string) (string, string) {
	t.Helper()
	ctx := context.Background()
	td := FargateApp("web", image)
	reg, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: td.Family, ContainerDefinitions: td.ContainerDefinitions,
		Cpu: td.Cpu, Memory: td.Memory, NetworkMode: td.NetworkMode, RequiresCompatibilities: td.RequiresCompatibilities})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	up, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String("web"), TaskDefinition: reg.TaskDefinition.TaskDefinitionArn})
	if err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	return aws.ToString(up.Service.Deployments[0].Id), aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
}
