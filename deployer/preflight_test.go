package deployer

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestCheckService: the services the preflight refuses before anything is
// registered (the deploy action registers first and fails after, leaving
// an unused revision): not ACTIVE, the EXTERNAL controller, no task
// definition. ECS and CODE_DEPLOY services of any status ACTIVE pass.
func TestCheckService(t *testing.T) {
	t.Parallel()
	td := aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/web:1")
	cases := []struct {
		name string
		svc  types.Service
		want string // "" passes
	}{
		{"active, ECS", types.Service{Status: aws.String("ACTIVE"), TaskDefinition: td}, ""},
		{"active, CODE_DEPLOY", types.Service{Status: aws.String("ACTIVE"), TaskDefinition: td, DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeCodeDeploy}}, ""},
		{"inactive", types.Service{Status: aws.String("INACTIVE"), TaskDefinition: td}, `Service: service "web" is INACTIVE, not ACTIVE`},
		{"draining", types.Service{Status: aws.String("DRAINING"), TaskDefinition: td}, `Service: service "web" is DRAINING, not ACTIVE`},
		{"external", types.Service{Status: aws.String("ACTIVE"), TaskDefinition: td, DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeExternal}},
			`Service: service "web" uses the EXTERNAL deployment controller`},
		{"no task definition", types.Service{Status: aws.String("ACTIVE")}, `Service: service "web" has no task definition`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := checkService(tc.svc, "web")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
