package deployer

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// Config.KeepRevisions: after a success, deregister the family's older
// ACTIVE revisions beyond the newest N, never one that a service, a task
// set or a running task of the cluster uses, nor the rollback target nor
// the revision deployed (amazon-ecs-deploy-task-definition #145). ECS
// keeps a deregistered (INACTIVE) revision's tasks and services running;
// it only refuses new ones from it ("Existing tasks and services that
// reference an INACTIVE task definition continue to run without
// disruption", DeregisterTaskDefinition, API reference), which is why a
// revision anything uses is never deregistered.

// maxDeregistered bounds the deregistrations of one run: a family with
// thousands of old revisions is trimmed over several runs.
const maxDeregistered = 100

// revisionLister is what keep-revisions reads besides ECSClient: the
// family's revisions and the cluster's services.
type revisionLister interface {
	ListTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsInput, optFns ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)
	ListServices(ctx context.Context, in *ecs.ListServicesInput, optFns ...func(*ecs.Options)) (*ecs.ListServicesOutput, error)
}

// pruning is keep-revisions' decision for one family.
type pruning struct {
	family     string
	kept       []string          // the newest revisions kept by count
	inUse      map[string]string // revision ARN → what uses it (protected)
	deregister []string          // oldest last, at most maxDeregistered
	more       int               // candidates left for a later run
}

// planPruning lists the family's ACTIVE revisions newest first, keeps the
// newest keep of them, and marks the rest for deregistration unless
// protected (the rollback target, the revision deployed, extra) or in use
// in the cluster.
func (r *run) planPruning(ctx context.Context, family string, keep int, extra ...string) (pruning, error) {
	p := pruning{family: family, inUse: map[string]string{}}
	lister, ok := r.d.ecs.(revisionLister)
	if !ok {
		return p, fmt.Errorf("the ECS client cannot list task definitions")
	}
	var revs []string
	var token *string
	for {
		out, err := lister.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{
			FamilyPrefix: aws.String(family), Status: types.TaskDefinitionStatusActive, Sort: types.SortOrderDesc, NextToken: token,
		})
		if err != nil {
			return p, fmt.Errorf("list the revisions of %s: %w", family, err)
		}
		for _, arn := range out.TaskDefinitionArns {
			if taskdef.Family(arn) == family { // familyPrefix is a prefix on some endpoints
				revs = append(revs, arn)
			}
		}
		if token = out.NextToken; aws.ToString(token) == "" {
			break
		}
	}
	slices.SortStableFunc(revs, func(a, b string) int { // newest first, whatever the endpoint's order
		ra, _ := taskdef.Revision(a)
		rb, _ := taskdef.Revision(b)
		return rb - ra
	})
	keep = min(max(keep, 0), len(revs))
	p.kept = revs[:keep]
	candidates := revs[keep:]
	if len(candidates) == 0 {
		return p, nil
	}
	for _, arn := range append([]string{r.target, r.newARN}, extra...) {
		if arn != "" {
			p.inUse[arn] = "the rollback target or a revision this step deploys"
		}
	}
	if !slices.ContainsFunc(candidates, func(arn string) bool { _, ok := p.inUse[arn]; return !ok }) {
		return p, nil // every older revision is protected already: no need to read the cluster
	}
	if err := r.revisionsInUse(ctx, lister, family, p.inUse); err != nil {
		return p, err
	}
	for _, arn := range candidates {
		if _, used := p.inUse[arn]; used {
			continue
		}
		if len(p.deregister) == maxDeregistered {
			p.more++
			continue
		}
		p.deregister = append(p.deregister, arn)
	}
	return p, nil
}

// revisionsInUse adds to used every revision of family that a service of
// the cluster (its task definition, its deployments', its task sets') or a
// task of the cluster that ECS wants running uses.
func (r *run) revisionsInUse(ctx context.Context, lister revisionLister, family string, used map[string]string) error {
	note := func(arn, by string) {
		if arn != "" && taskdef.Family(arn) == family {
			if _, ok := used[arn]; !ok {
				used[arn] = by
			}
		}
	}
	var names []string
	var token *string
	for {
		out, err := lister.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(r.cfg.Cluster), MaxResults: aws.Int32(100), NextToken: token})
		if err != nil {
			return fmt.Errorf("list the services of cluster %s: %w", r.cfg.Cluster, err)
		}
		names = append(names, out.ServiceArns...)
		if token = out.NextToken; aws.ToString(token) == "" {
			break
		}
	}
	for batch := range slices.Chunk(names, maxServicesPerDescribe) {
		found, _, err := r.d.describeServices(ctx, r.cfg.Cluster, batch)
		if err != nil {
			return err
		}
		for _, svc := range found {
			by := "service " + aws.ToString(svc.ServiceName)
			note(aws.ToString(svc.TaskDefinition), by)
			for _, dep := range svc.Deployments {
				note(aws.ToString(dep.TaskDefinition), by+" (deployment "+aws.ToString(dep.Id)+")")
			}
			for _, ts := range svc.TaskSets {
				note(aws.ToString(ts.TaskDefinition), by+" (task set "+aws.ToString(ts.Id)+")")
			}
		}
	}
	token = nil
	for {
		out, err := r.d.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(r.cfg.Cluster), Family: aws.String(family), DesiredStatus: types.DesiredStatusRunning, NextToken: token})
		if err != nil {
			return fmt.Errorf("list the running tasks of %s: %w", family, err)
		}
		for batch := range slices.Chunk(out.TaskArns, 100) {
			desc, err := r.d.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(r.cfg.Cluster), Tasks: batch})
			if err != nil {
				return fmt.Errorf("describe the running tasks of %s: %w", family, err)
			}
			for _, t := range desc.Tasks {
				note(aws.ToString(t.TaskDefinitionArn), "task "+taskID(aws.ToString(t.TaskArn)))
			}
		}
		if token = out.NextToken; aws.ToString(token) == "" {
			break
		}
	}
	return nil
}

// keepRevisionsFamily is the family keep-revisions trims: the deployed
// revision's (or, before it is registered, the one to register).
func (r *run) keepRevisionsFamily() string {
	if r.newARN != "" {
		return taskdef.Family(r.newARN)
	}
	if r.register != nil {
		return aws.ToString(r.register.Family)
	}
	return ""
}

// keepRevisionsPlan is the dry run's line: what keep-revisions would
// deregister after a success, as the family and the cluster are now (the
// revision to register counted as the newest).
func (r *run) keepRevisionsPlan(ctx context.Context) string {
	n := r.cfg.KeepRevisions
	family := r.keepRevisionsFamily()
	keep := n
	if !r.res.Promoted {
		keep = n - 1 // the new revision will be the newest
	}
	p, err := r.planPruning(ctx, family, keep)
	if err != nil {
		return fmt.Sprintf("keep-revisions %d: could not tell what would be deregistered (%v)", n, err)
	}
	return fmt.Sprintf("keep-revisions %d: after a success, %s", n, p.describe("would deregister"))
}

// describe says what the pruning does, for people.
func (p pruning) describe(verb string) string {
	short := func(arns []string) string {
		out := make([]string, len(arns))
		for i, a := range arns {
			out[i] = taskdef.ShortRevision(a)
		}
		return strings.Join(out, ", ")
	}
	s := "nothing to deregister"
	if len(p.deregister) > 0 {
		s = fmt.Sprintf("%s %d %s of %s: %s", verb, len(p.deregister), plural(len(p.deregister), "revision", "revisions"), p.family, short(p.deregister))
	}
	if len(p.kept) > 0 {
		s += "; kept as the newest: " + short(p.kept)
	}
	var used []string
	for arn, by := range p.inUse {
		if !slices.Contains(p.kept, arn) && taskdef.Family(arn) == p.family {
			used = append(used, taskdef.ShortRevision(arn)+" ("+by+")")
		}
	}
	slices.Sort(used)
	if len(used) > 0 {
		s += "; kept as in use: " + strings.Join(used, ", ")
	}
	if p.more > 0 {
		s += fmt.Sprintf("; %d more left for a later run (at most %d a run)", p.more, maxDeregistered)
	}
	return s
}

// keepRevisions deregisters, after a success, what planPruning finds. A
// failed read or deregistration is a warning, never a failure of the
// deployment that succeeded.
func (r *run) keepRevisions(ctx context.Context, extra ...string) {
	n := r.cfg.KeepRevisions
	if n <= 0 || r.res.Status != StatusSucceeded || !r.cfg.Wait {
		return
	}
	p, err := r.planPruning(ctx, r.keepRevisionsFamily(), n, extra...)
	if err != nil {
		r.d.emit(EventWarning, "keep-revisions: nothing deregistered: %v", err)
		return
	}
	var done []string
	for _, arn := range p.deregister {
		if _, err := r.d.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
			r.d.emit(EventWarning, "keep-revisions: deregister %s: %v", taskdef.ShortRevision(arn), err)
			continue
		}
		done = append(done, arn)
	}
	p.deregister = done
	r.res.DeregisteredRevisions = done
	r.d.emit(EventInfo, "keep-revisions %d: %s", n, p.describe("deregistered"))
	if len(done) > 0 {
		r.mark("old revisions deregistered")
	}
}

// succeeded reports whether every service of the step succeeded: only
// then does keep-revisions deregister anything.
func (f *fleet) succeeded() bool {
	for _, r := range f.runs {
		if r.res.Status != StatusSucceeded {
			return false
		}
	}
	return len(f.runs) > 0
}
