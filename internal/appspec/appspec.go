// Package appspec reads, builds and rewrites CodeDeploy AppSpec files of
// the Amazon ECS compute platform (YAML or JSON), as described in the
// CodeDeploy User Guide, "AppSpec file structure for Amazon ECS
// deployments"
// (https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-resources.html#reference-appspec-file-structure-resources-ecs).
// Member names are matched whatever their case, as
// aws-actions/amazon-ecs-deploy-task-definition matches them; everything
// the file has (hooks, network configuration, capacity providers) is kept.
package appspec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// AppSpec is a parsed ECS AppSpec.
type AppSpec struct {
	doc   map[string]any
	props map[string]any // the target service's Properties
}

// Parse reads an AppSpec in YAML or JSON. It needs exactly one resource
// with Properties and a TaskDefinition member (whose value is replaced at
// deploy time), as CodeDeploy does for ECS.
func Parse(content []byte) (*AppSpec, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(content, &doc); err != nil {
		return nil, fmt.Errorf("not YAML or JSON: %w", err)
	}
	if doc == nil {
		return nil, errors.New("the file is empty")
	}
	res, ok := member(doc, "Resources")
	if !ok {
		return nil, errors.New("no Resources section")
	}
	list, _ := res.([]any)
	if len(list) != 1 {
		return nil, fmt.Errorf("Resources must list exactly one target service, found %d", len(list))
	}
	target, _ := list[0].(map[string]any)
	if len(target) != 1 {
		return nil, errors.New("the resource must be one named target service (e.g. TargetService)")
	}
	var props map[string]any
	for _, v := range target {
		r, _ := v.(map[string]any)
		p, _ := member(r, "Properties")
		props, _ = p.(map[string]any)
	}
	if props == nil {
		return nil, errors.New("the target service has no Properties")
	}
	if _, ok := member(props, "TaskDefinition"); !ok {
		return nil, errors.New("the target service's Properties have no TaskDefinition (any value: it is replaced by the revision deployed)")
	}
	return &AppSpec{doc: doc, props: props}, nil
}

// Build makes the AppSpec of a service that has none: its load balancer's
// container and port and, for Fargate, its platform version.
func Build(taskDefinition, container string, port int32, platformVersion string) *AppSpec {
	lb := map[string]any{"ContainerName": container, "ContainerPort": int(port)}
	props := map[string]any{"TaskDefinition": taskDefinition, "LoadBalancerInfo": lb}
	if platformVersion != "" {
		props["PlatformVersion"] = platformVersion
	}
	doc := map[string]any{
		"version":   "0.0",
		"Resources": []any{map[string]any{"TargetService": map[string]any{"Type": "AWS::ECS::Service", "Properties": props}}},
	}
	return &AppSpec{doc: doc, props: props}
}

func member(m map[string]any, name string) (any, bool) {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func set(m map[string]any, name string, v any) {
	for k := range m {
		if strings.EqualFold(k, name) {
			m[k] = v
			return
		}
	}
	m[name] = v
}

// Container returns the load balancer's container name and port ("" and
// 0 when the AppSpec has no LoadBalancerInfo).
func (a *AppSpec) Container() (name string, port int, ok bool) {
	lb, found := member(a.props, "LoadBalancerInfo")
	if !found {
		return "", 0, false
	}
	m, _ := lb.(map[string]any)
	n, _ := member(m, "ContainerName")
	name, _ = n.(string)
	p, _ := member(m, "ContainerPort")
	switch v := p.(type) {
	case int:
		port = v
	case float64:
		port = int(v)
	case string:
		fmt.Sscan(v, &port)
	}
	return name, port, true
}

// Hooks returns the lifecycle hooks as event → function.
func (a *AppSpec) Hooks() map[string]string {
	out := map[string]string{}
	hs, _ := member(a.doc, "Hooks")
	list, _ := hs.([]any)
	for _, h := range list {
		m, _ := h.(map[string]any)
		for ev, fn := range m {
			if s, ok := fn.(string); ok {
				out[ev] = s
			}
		}
	}
	return out
}

// TaskDefinition is the AppSpec's TaskDefinition value.
func (a *AppSpec) TaskDefinition() string {
	v, _ := member(a.props, "TaskDefinition")
	s, _ := v.(string)
	return s
}

// Content is the AppSpec as JSON with TaskDefinition set to arn, and its
// sha256 (hex), as CreateDeployment takes them.
func (a *AppSpec) Content(arn string) (content, sha string, err error) {
	set(a.props, "TaskDefinition", arn)
	b, err := json.Marshal(a.doc)
	if err != nil {
		return "", "", fmt.Errorf("encode the AppSpec: %w", err)
	}
	sum := sha256.Sum256(b)
	return string(b), hex.EncodeToString(sum[:]), nil
}
