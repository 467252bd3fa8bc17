package action

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/appspec"
)

// The inputs of services with the CODE_DEPLOY deployment controller, with
// the names and defaults of aws-actions/amazon-ecs-deploy-task-definition.
// They are ignored for services of the ECS controller (as the official
// action ignores them), so a step listing both kinds in services works.
const (
	inCodeDeployAppSpec     = "codedeploy-appspec"
	inCodeDeployApplication = "codedeploy-application"
	inCodeDeployGroup       = "codedeploy-deployment-group"
	inCodeDeployDescription = "codedeploy-deployment-description"
	inCodeDeployConfig      = "codedeploy-deployment-config"
)

// maxDescription is CodeDeploy's limit on a deployment's description.
const maxDescription = 512

// defaultAppSpec is the AppSpec file read when codedeploy-appspec is
// empty, in the workspace: the deploy action's default.
const defaultAppSpec = "appspec.yaml"

// codeDeployInputs parses the codedeploy-* inputs. The AppSpec file is
// read and parsed here, so that a missing or malformed file is an input
// error before anything reaches AWS; whether it names a container and port
// of the revision is checked at preflight, once the revision is known.
func (p *inputParser) codeDeployInputs(out *parsed, opts parseOptions) {
	cd := &out.Config.CodeDeploy
	cd.Application = p.raw(inCodeDeployApplication)
	cd.DeploymentGroup = p.raw(inCodeDeployGroup)
	cd.Description = p.raw(inCodeDeployDescription)
	cd.DeploymentConfig = p.raw(inCodeDeployConfig)
	if n := len(cd.Description); n > maxDescription {
		p.add(inCodeDeployDescription, fmt.Sprintf("at most %d characters, got %d", maxDescription, n))
	}
	path := p.raw(inCodeDeployAppSpec)
	if path == "" {
		p.defaultAppSpec(cd, opts)
		return
	}
	if !filepath.IsAbs(path) && opts.Workspace != "" {
		path = filepath.Join(opts.Workspace, path)
	}
	if opts.ReadFile == nil {
		p.add(inCodeDeployAppSpec, "cannot read "+path)
		return
	}
	data, err := opts.ReadFile(path)
	if err != nil {
		p.add(inCodeDeployAppSpec, fmt.Sprintf("read %s: %v", path, err))
		return
	}
	if _, err := appspec.Parse(data); err != nil {
		p.add(inCodeDeployAppSpec, fmt.Sprintf("%s: %v", p.raw(inCodeDeployAppSpec), err))
		return
	}
	cd.AppSpec, cd.AppSpecFile = data, p.raw(inCodeDeployAppSpec)
}

// defaultAppSpec reads appspec.yaml from the workspace when
// codedeploy-appspec is empty, as the deploy action does, so that the
// hooks of a workflow migrated from it are kept. No such file: the
// CodeDeploy strategy builds an AppSpec from the service's load balancer
// and says so in the log. The file is parsed at preflight, and only for a
// CODE_DEPLOY service: an appspec.yaml lying in the workspace of a step
// that deploys an ECS-controller service is never read as an AppSpec.
func (p *inputParser) defaultAppSpec(cd *deployer.CodeDeploy, opts parseOptions) {
	if opts.ReadFile == nil {
		return
	}
	path := defaultAppSpec
	if opts.Workspace != "" {
		path = filepath.Join(opts.Workspace, defaultAppSpec)
	}
	data, err := opts.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return
	case err != nil:
		p.add(inCodeDeployAppSpec, fmt.Sprintf("empty, and the default %s cannot be read: %v", defaultAppSpec, err))
		return
	}
	cd.AppSpec, cd.AppSpecFile = data, defaultAppSpec+" (the workspace's, codedeploy-appspec being empty)"
}
