package ecssim

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// BenchmarkRollout1000 rolls a 1,000-task service to a new revision
// through the SDK and waits for COMPLETED.
func BenchmarkRollout1000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		srv := NewServer(b, bigScenario(b, 1000))
		c, _ := clients(srv, 1)
		deploy(b, c, "public.ecr.aws/ecs-rollout/web:good")
		waitService(b, c, "demo", "web", time.Minute, "rollout COMPLETED", func(s types.Service) bool {
			return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
		})
		srv.Close()
	}
}

// BenchmarkDescribeServices1000 measures one DescribeServices of a
// service with 1,000 running tasks.
func BenchmarkDescribeServices1000(b *testing.B) {
	srv := NewServer(b, bigScenario(b, 1000))
	c, _ := clients(srv, 1)
	in := &ecs.DescribeServicesInput{Cluster: aws.String("demo"), Services: []string{"web"}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.DescribeServices(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHealthyRollout2 is the 2-task rollout of the demo scenario.
func BenchmarkHealthyRollout2(b *testing.B) {
	for i := 0; i < b.N; i++ {
		srv := NewServer(b, demoScenario(b))
		c, _ := clients(srv, 1)
		deploy(b, c, "public.ecr.aws/ecs-rollout/web:good")
		waitService(b, c, "demo", "web", time.Minute, "rollout COMPLETED", func(s types.Service) bool {
			return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
		})
		srv.Close()
	}
}
