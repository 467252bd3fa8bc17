package ecssim

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestVolumeConfigurations follows UpdateService's documented rules for
// volumeConfigurations: null keeps the service's volumes and starts no
// deployment; a different list starts one with it; an empty list removes
// them; a name that is not the task definition's volume configured at
// launch is refused, by RunTask too.
func TestVolumeConfigurations(t *testing.T) {
	t.Parallel()
	td := FargateApp("web", "repo/app:1")
	td.Volumes = []types.Volume{{Name: aws.String("data"), ConfiguredAtLaunch: aws.Bool(true)}}
	sc := OneService("prod", "web", td, 1)
	role := aws.String("arn:aws:iam::123456789012:role/ecsInfrastructureRole")
	vol := func(name string, size int32) []types.ServiceVolumeConfiguration {
		return []types.ServiceVolumeConfiguration{{Name: aws.String(name), ManagedEBSVolume: &types.ServiceManagedEBSVolumeConfiguration{RoleArn: role, SizeInGiB: aws.Int32(size)}}}
	}
	sc.Services[0].VolumeConfigurations = vol("data", 20)
	_, c := fakeClockSim(t, sc)
	ctx := context.Background()
	update := func(v []types.ServiceVolumeConfiguration) (types.Service, error) {
		out, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), VolumeConfigurations: v})
		if err != nil {
			return types.Service{}, err
		}
		return *out.Service, nil
	}
	primary := func(s types.Service) types.Deployment {
		for _, d := range s.Deployments {
			if aws.ToString(d.Status) == "PRIMARY" {
				return d
			}
		}
		t.Fatal("no PRIMARY deployment")
		return types.Deployment{}
	}
	s, err := update(nil)
	if err != nil || len(s.Deployments) != 1 || aws.ToInt32(primary(s).VolumeConfigurations[0].ManagedEBSVolume.SizeInGiB) != 20 {
		t.Fatalf("null: %v, %d deployments, want the one with its 20 GiB", err, len(s.Deployments))
	}
	s, err = update(vol("data", 50))
	if err != nil || len(s.Deployments) != 2 || aws.ToInt32(primary(s).VolumeConfigurations[0].ManagedEBSVolume.SizeInGiB) != 50 {
		t.Fatalf("a new size: %v, %d deployments, want a new one with 50 GiB", err, len(s.Deployments))
	}
	s, err = update([]types.ServiceVolumeConfiguration{})
	if err != nil || len(s.Deployments) != 3 || len(primary(s).VolumeConfigurations) != 0 {
		t.Fatalf("an empty list: %v, %d deployments, %v; want a new one without volumes", err, len(s.Deployments), primary(s).VolumeConfigurations)
	}
	if _, err := update(vol("logs", 5)); err == nil || !strings.Contains(err.Error(), "not a volume configured at launch") {
		t.Errorf("another name: %v, want InvalidParameterException", err)
	}
	_, err = c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String("web:1"), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}},
		VolumeConfigurations: []types.TaskVolumeConfiguration{{Name: aws.String("logs")}}})
	if err == nil || !strings.Contains(err.Error(), "not a volume configured at launch") {
		t.Errorf("RunTask with another name: %v, want InvalidParameterException", err)
	}
}
