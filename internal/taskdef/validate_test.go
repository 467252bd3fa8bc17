package taskdef

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      *ecs.RegisterTaskDefinitionInput
		wantErr []string
	}{
		{name: "valid", in: oneContainer()},
		{name: "nil", in: nil, wantErr: []string{"no task definition"}},
		{
			name:    "missing family and containers",
			in:      &ecs.RegisterTaskDefinitionInput{},
			wantErr: []string{"family: missing, ECS requires it", "containerDefinitions: missing, ECS requires it"},
		},
		{
			name: "nested required members",
			in: &ecs.RegisterTaskDefinitionInput{
				Family: aws.String("web"),
				ContainerDefinitions: []types.ContainerDefinition{{
					Name:             aws.String("app"),
					Secrets:          []types.Secret{{Name: aws.String("A")}},
					LogConfiguration: &types.LogConfiguration{},
				}},
				ProxyConfiguration: &types.ProxyConfiguration{},
			},
			wantErr: []string{
				"containerDefinitions[0].secrets[0].valueFrom: missing, ECS requires it",
				"containerDefinitions[0].logConfiguration.logDriver: missing, ECS requires it",
				"proxyConfiguration.containerName: missing, ECS requires it",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Validate(tt.in)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Errorf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want errors %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate error =\n%s\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// TestRealWorldDefinitionsValidate: the testdata definitions pass the SDK's
// own checks, both as files and through RegisterInput.
func TestRealWorldDefinitionsValidate(t *testing.T) {
	t.Parallel()
	for _, file := range taskdefFiles(t) {
		in := parseTestdata(t, file[strings.LastIndex(file, "/")+1:])
		if err := Validate(in); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}
