package ecssimtest

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// CodeDeployClient returns a CodeDeploy client of the AWS SDK pointed at
// srv, with static test credentials and the SDK's default retries.
func CodeDeployClient(srv *ecssim.Server) *codedeploy.Client {
	return codedeploy.New(codedeploy.Options{BaseEndpoint: aws.String(srv.URL), Region: Region, Credentials: testCredentials()})
}

// InMemoryCodeDeployClient returns a CodeDeploy client of the AWS SDK that
// reaches sim in memory (see Client), so it runs on a synctest bubble's
// fake clock.
func InMemoryCodeDeployClient(sim *ecssim.Sim) *codedeploy.Client {
	return codedeploy.New(codedeploy.Options{BaseEndpoint: aws.String("http://sim"), Region: Region, Credentials: testCredentials(), HTTPClient: Client{Sim: sim}})
}
