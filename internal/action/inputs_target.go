package action

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/report"
)

// The inputs that choose what is deployed to: the cluster, and one service
// or several (with the scope of a rollback among them).
const (
	inCluster       = "cluster"
	inService       = "service"
	inServices      = "services"
	inRollbackScope = "rollback-scope"
)

// ECS names: up to 255 letters, numbers, hyphens and underscores. The
// length is checked apart (validECSName, maxECSName): a bounded repeat like
// {1,255} makes the regexp package build a large program at every start.
var (
	ecsNameRE    = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	clusterARNRE = regexp.MustCompile(`^arn:aws(?:-cn|-us-gov)?:ecs:([a-z]{2}(?:-gov)?-[a-z]+-\d):(\d{12}):cluster/([A-Za-z0-9_-]+)$`)
	serviceARNRE = regexp.MustCompile(`^arn:aws(?:-cn|-us-gov)?:ecs:([a-z]{2}(?:-gov)?-[a-z]+-\d):(\d{12}):service/(?:([A-Za-z0-9_-]+)/)?([A-Za-z0-9_-]+)$`)
)

// maxECSName is the longest cluster, service or container name ECS takes.
const maxECSName = 255

// validECSName reports whether s is a valid ECS cluster, service or
// container name.
func validECSName(s string) bool { return len(s) <= maxECSName && ecsNameRE.MatchString(s) }

// targetInputs parses cluster, service or services, and rollback-scope
// (which applies only to services).
func (p *inputParser) targetInputs(out *parsed, _ parseOptions) {
	cfg := &out.Config
	cfg.Cluster = p.cluster()
	if p.raw(inServices) != "" {
		cfg.Services = p.services(cfg.Cluster)
	} else {
		cfg.Service = p.service(cfg)
	}
	scope := deployer.RollbackScope(p.enum(inRollbackScope, string(deployer.RollbackScopeAll), string(deployer.RollbackScopeAll), string(deployer.RollbackScopeFailed)))
	if len(cfg.Services) > 0 {
		cfg.RollbackScope = scope
	}
}

func (p *inputParser) cluster() string {
	s := p.raw(inCluster)
	switch {
	case s == "":
		return "default"
	case strings.HasPrefix(s, "arn:"):
		if m := clusterARNRE.FindStringSubmatch(s); m == nil || len(m[3]) > maxECSName {
			p.add(inCluster, fmt.Sprintf("%q is not a cluster ARN (arn:aws:ecs:<region>:<account>:cluster/<name>)", s))
		}
	case !validECSName(s):
		p.add(inCluster, fmt.Sprintf("%q is not a cluster name (up to 255 letters, numbers, hyphens and underscores) or ARN", s))
	}
	return s
}

// service parses the service input. A service ARN of the long form names
// its cluster: it fills the cluster when that was left at "default", and
// must agree with it otherwise.
func (p *inputParser) service(cfg *deployer.Config) string {
	s := p.raw(inService)
	switch {
	case s == "" && (p.raw(inTaskDefinition) != "" || p.raw(inTaskDefinitionARN) != "" || p.raw(inTaskDefinitionFamily) != ""):
		cfg.RegisterOnly = true // register the revision, deploy nothing (inputs_render.go)
	case s == "":
		p.add(inService, "required: the name or ARN of the ECS service to deploy (or, to register a revision only, task-definition or task-definition-family without service)")
	case strings.HasPrefix(s, "arn:"):
		m := serviceARNRE.FindStringSubmatch(s)
		if m == nil || len(m[3]) > maxECSName || len(m[4]) > maxECSName {
			p.add(inService, fmt.Sprintf("%q is not a service ARN (arn:aws:ecs:<region>:<account>:service/<cluster>/<name>)", s))
			return s
		}
		arnCluster := m[3]
		if arnCluster == "" {
			break
		}
		clusterName := cfg.Cluster
		if cm := clusterARNRE.FindStringSubmatch(cfg.Cluster); cm != nil {
			clusterName = cm[3]
			if cm[1] != m[1] || cm[2] != m[2] {
				p.add(inService, fmt.Sprintf("service ARN is in %s/%s but cluster %s is in %s/%s", m[1], m[2], cfg.Cluster, cm[1], cm[2]))
				break
			}
		}
		switch {
		case clusterName == "default" && arnCluster != "default":
			cfg.Cluster = arnCluster
		case clusterName != arnCluster:
			p.add(inService, fmt.Sprintf("service ARN names cluster %q but the cluster input is %q", arnCluster, cfg.Cluster))
		}
	case !validECSName(s):
		p.add(inService, fmt.Sprintf("%q is not a service name (up to 255 letters, numbers, hyphens and underscores) or ARN", s))
	}
	return s
}

// services parses the services input: one service per line (commas work
// too), each a name (in the cluster input's cluster), cluster/name, or a
// service ARN of the long form (which names its cluster).
func (p *inputParser) services(cluster string) []deployer.Target {
	if p.raw(inService) != "" {
		p.add(inServices, "service and services are exclusive: name one service in service, or several in services")
		return nil
	}
	var out []deployer.Target
	seen := map[deployer.Target]bool{}
	for _, line := range strings.FieldsFunc(p.raw(inServices), func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		s := strings.TrimSpace(line)
		if s == "" {
			continue
		}
		t := deployer.Target{Cluster: cluster, Service: s}
		switch {
		case strings.HasPrefix(s, "arn:"):
			m := serviceARNRE.FindStringSubmatch(s)
			if m == nil || m[3] == "" || len(m[3]) > maxECSName || len(m[4]) > maxECSName {
				p.add(inServices, fmt.Sprintf("%q is not a service ARN of the long form (arn:aws:ecs:<region>:<account>:service/<cluster>/<name>)", report.Truncate(s, 300)))
				continue
			}
			t.Cluster = m[3]
		case strings.Contains(s, "/"):
			cl, name, _ := strings.Cut(s, "/")
			if !validECSName(cl) || !validECSName(name) {
				p.add(inServices, fmt.Sprintf("%q is not cluster/service (names of up to 255 letters, numbers, hyphens and underscores)", report.Truncate(s, 300)))
				continue
			}
			t = deployer.Target{Cluster: cl, Service: name}
		case !validECSName(s):
			p.add(inServices, fmt.Sprintf("%q is not a service name (up to 255 letters, numbers, hyphens and underscores), cluster/name or ARN", report.Truncate(s, 300)))
			continue
		}
		key := deployer.Target{Cluster: t.Cluster, Service: t.Service[strings.LastIndex(t.Service, "/")+1:]}
		if seen[key] {
			p.add(inServices, fmt.Sprintf("service %s is listed twice", key))
			continue
		}
		seen[key] = true
		out = append(out, t)
	}
	switch {
	case len(out) == 0 && len(p.errs) == 0:
		p.add(inServices, "names no service")
	case len(out) > deployer.MaxServices:
		p.add(inServices, fmt.Sprintf("at most %d services in one step, got %d", deployer.MaxServices, len(out)))
	}
	return out
}
