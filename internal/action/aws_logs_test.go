package action

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestLogsClientByEndpoint: log excerpts are off only for an emulator
// (a custom ECS endpoint that is not an AWS host) without a Logs
// endpoint of its own; a VPC endpoint for ECS keeps them on.
func TestLogsClientByEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ecs, logs string
		want            bool
	}{
		{"standard endpoints", "", "", true},
		{"emulator without a Logs endpoint", "http://127.0.0.1:4566", "", false},
		{"emulator with a Logs endpoint", "http://127.0.0.1:4566", "http://127.0.0.1:4566", true},
		{"VPC interface endpoint", "https://vpce-0abc-1234.ecs.us-east-1.vpce.amazonaws.com", "", true},
		{"FIPS endpoint", "https://ecs-fips.us-east-1.amazonaws.com", "", true},
		{"China", "https://ecs.cn-north-1.amazonaws.com.cn", "", true},
		{"dual-stack", "https://ecs.us-east-1.api.aws", "", true},
		{"look-alike host", "https://amazonaws.com.example.net", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := logsClient(aws.Config{Region: "us-east-1"}, tt.ecs, tt.logs) != nil
			if got != tt.want {
				t.Errorf("logs client for ECS %q, Logs %q: got %v, want %v", tt.ecs, tt.logs, got, tt.want)
			}
		})
	}
}
