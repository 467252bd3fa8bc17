package awsclient

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
)

// NewCodeDeploy returns a CodeDeploy client (for CODE_DEPLOY services) for
// cfg using the package's retryer (cfg.Retryer when set, as NewECS). A
// non-empty endpoint replaces the standard one.
func NewCodeDeploy(cfg aws.Config, endpoint string, optFns ...func(*codedeploy.Options)) *codedeploy.Client {
	return codedeploy.NewFromConfig(cfg, append([]func(*codedeploy.Options){func(o *codedeploy.Options) {
		if cfg.Retryer == nil {
			o.Retryer = Retryer()
		}
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}}, optFns...)...)
}
