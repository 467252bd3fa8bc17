package taskdef

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestMaskValues(t *testing.T) {
	t.Parallel()
	kv := func(n, v string) types.KeyValuePair {
		return types.KeyValuePair{Name: aws.String(n), Value: aws.String(v)}
	}
	in := &ecs.RegisterTaskDefinitionInput{ContainerDefinitions: []types.ContainerDefinition{{
		Name: aws.String("app"),
		Environment: []types.KeyValuePair{
			kv("AWS_REGION", "us-east-1"),
			kv("ACCOUNT_ID", "123456789012"),
			kv("APP_NAME", "web-frontend"),
			kv("API_TOKEN", "tok-1234567890"),
			kv("DB_PASSWORD", "hunter2hunter2"),
			kv("DATABASE_URL", "postgres://app:pw@db.internal:5432/app"),
			kv("UPSTREAM", "AKIAIOSFODNN7EXAMPLE"),
		},
		Secrets: []types.Secret{{Name: aws.String("X"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:123456789012:parameter/x")}},
	}}}
	got := MaskValues(in)
	want := []string{"tok-1234567890", "hunter2hunter2", "postgres://app:pw@db.internal:5432/app", "AKIAIOSFODNN7EXAMPLE", "arn:aws:ssm:us-east-1:123456789012:parameter/x"}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("MaskValues (-want +got):\n%s", diff)
	}
	// The full list still has every environment value, for scrubbing.
	if all := SecretValues(in); len(all) != 8 {
		t.Errorf("SecretValues: got %d values, want 8: %q", len(all), all)
	}
}
