package taskdef

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestDecodeShape reads a managedEBSVolume as the deploy action's
// service-managed-ebs-volume input takes it, and rejects what ECS would
// not take, every problem at once.
func TestDecodeShape(t *testing.T) {
	t.Parallel()
	var got types.ServiceManagedEBSVolumeConfiguration
	err := DecodeShape(`{"roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRole", "sizeInGiB": 50, "volumeType": "gp3",
		"encrypted": true, "filesystemType": "xfs", "throughput": 250,
		"tagSpecifications": [{"resourceType": "volume", "propagateTags": "SERVICE", "tags": [{"key": "team", "value": "data"}]}]}`,
		schemas.ServiceManagedEBSVolumeConfiguration, &got)
	if err != nil {
		t.Fatal(err)
	}
	want := types.ServiceManagedEBSVolumeConfiguration{RoleArn: aws.String("arn:aws:iam::123456789012:role/ecsInfrastructureRole"), SizeInGiB: aws.Int32(50),
		VolumeType: aws.String("gp3"), Encrypted: aws.Bool(true), FilesystemType: types.TaskFilesystemTypeXfs, Throughput: aws.Int32(250),
		TagSpecifications: []types.EBSTagSpecification{{ResourceType: types.EBSResourceTypeVolume, PropagateTags: types.PropagateTagsService,
			Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("data")}}}}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(types.ServiceManagedEBSVolumeConfiguration{}, types.EBSTagSpecification{}, types.Tag{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	err = DecodeShape(`{"roleARN": "x", "sizeInGiB": "50", "size": 3}`, schemas.ServiceManagedEBSVolumeConfiguration, &got)
	for _, w := range []string{`roleARN: unknown field "roleARN" (did you mean "roleArn"?)`, "sizeInGiB: is a string, want a whole number", `size: unknown field "size"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not contain %q", err, w)
		}
	}
	if err := DecodeShape(`{"sizeInGiB": 5,}`, schemas.ServiceManagedEBSVolumeConfiguration, &got); err == nil || !strings.Contains(err.Error(), "is not valid JSON: line 1") {
		t.Errorf("malformed JSON: %v", err)
	}
}
