package action

import (
	"errors"
	"io/fs"
	"maps"
	"strings"
	"testing"
)

func TestCodeDeployInputs(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"/ws/appspec.yaml": "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: app\n          ContainerPort: 8080\nHooks:\n  - AfterAllowTestTraffic: smoke-test\n",
		"/ws/bad.yaml":     "version: 0.0\nHooks: []\n",
	}
	read := func(path string) ([]byte, error) {
		if s, ok := files[path]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
	parse := func(over map[string]string) (*parsed, error) {
		in := map[string]string{"service": "web", "image": "nginx:1.27"}
		maps.Copy(in, over)
		return parseInputs(mapGetter(in), parseOptions{ReadFile: read, Workspace: "/ws"})
	}

	out, err := parse(map[string]string{"codedeploy-appspec": "appspec.yaml", "codedeploy-application": "app", "codedeploy-deployment-group": "dg",
		"codedeploy-deployment-description": "release 42", "codedeploy-deployment-config": "CodeDeployDefault.ECSCanary10Percent5Minutes"})
	if err != nil {
		t.Fatalf("valid inputs: %v", err)
	}
	cd := out.Config.CodeDeploy
	if cd.Application != "app" || cd.DeploymentGroup != "dg" || cd.Description != "release 42" || cd.DeploymentConfig != "CodeDeployDefault.ECSCanary10Percent5Minutes" ||
		cd.AppSpecFile != "appspec.yaml" || !strings.Contains(string(cd.AppSpec), "smoke-test") {
		t.Errorf("CodeDeploy config: %+v", cd)
	}
	// codedeploy-appspec empty: the workspace's appspec.yaml, as the
	// official action reads it; without one, nothing (the deployer builds
	// an AppSpec and says so).
	if out, err := parse(nil); err != nil || !strings.Contains(string(out.Config.CodeDeploy.AppSpec), "smoke-test") ||
		!strings.HasPrefix(out.Config.CodeDeploy.AppSpecFile, "appspec.yaml") || out.Config.CodeDeploy.Application != "" {
		t.Errorf("defaults: %v %+v (the workspace's appspec.yaml; empty names: the deployer applies the official action's defaults)", err, out.Config.CodeDeploy)
	}
	none := func(string) ([]byte, error) { return nil, fs.ErrNotExist }
	if out, err := parseInputs(mapGetter(map[string]string{"service": "web", "image": "nginx:1.27"}), parseOptions{ReadFile: none, Workspace: "/ws"}); err != nil || out.Config.CodeDeploy.AppSpec != nil {
		t.Errorf("no appspec.yaml: %v %+v", err, out.Config.CodeDeploy)
	}
	denied := func(string) ([]byte, error) { return nil, fs.ErrPermission }
	_, err = parseInputs(mapGetter(map[string]string{"service": "web", "image": "nginx:1.27"}), parseOptions{ReadFile: denied, Workspace: "/ws"})
	checkInputErrors(t, err, [][2]string{{"codedeploy-appspec", "empty, and the default appspec.yaml cannot be read"}})

	_, err = parse(map[string]string{"codedeploy-appspec": "missing.yaml", "codedeploy-deployment-description": strings.Repeat("x", 513)})
	checkInputErrors(t, err, [][2]string{
		{"codedeploy-deployment-description", "at most 512 characters, got 513"},
		{"codedeploy-appspec", "read /ws/missing.yaml"},
	})
	_, err = parse(map[string]string{"codedeploy-appspec": "bad.yaml"})
	checkInputErrors(t, err, [][2]string{{"codedeploy-appspec", "bad.yaml: no Resources section"}})
	var ie *inputError
	if !errors.As(err, &ie) {
		t.Errorf("not an input error: %v", err)
	}
}
