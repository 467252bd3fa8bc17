package deployer

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-rollout/ecs-rollout/internal/appspec"
	"github.com/ecs-rollout/ecs-rollout/internal/taskdef"
)

// A CodeDeploy rollback acts on a fresh read (docs/safety.md, rule 1):
// the mechanism is chosen from our deployment as GetDeployment shows it
// just before the call, and a call refused because the deployment moved
// on is followed by another read and another plan.
//
// CodeDeploy's StopDeployment "attempts to stop an ongoing deployment"
// (API reference, StopDeployment); a finished one is refused with
// DeploymentAlreadyCompletedException. A finished deployment is rolled
// back as CodeDeploy rolls back: "by redeploying a previously deployed
// revision of an application as a new deployment" (CodeDeploy User
// Guide, "Redeploy and roll back a deployment with CodeDeploy",
// https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html).

// cdMechanism is how a CodeDeploy deployment is rolled back.
type cdMechanism string

// The mechanisms, chosen by planCodeDeployRollback.
const (
	// cdStop: the deployment is not over: StopDeployment with
	// autoRollbackEnabled (CodeDeploy reroutes traffic to the original
	// task set while it still runs).
	cdStop cdMechanism = "stop"
	// cdFollow: a rollback deployment exists (CodeDeploy's own, or the
	// one a stop with rollback started): it is followed, never doubled.
	cdFollow cdMechanism = "follow"
	// cdRedeploy: the deployment finished (Succeeded, or Failed or
	// Stopped without a rollback) and production runs our revision: a new
	// deployment of the previous revision.
	cdRedeploy cdMechanism = "redeploy"
	// cdNothing: the deployment finished without moving production
	// traffic: the previous revision serves.
	cdNothing cdMechanism = "nothing"
)

// maxRollbackPlans bounds the read-plan-call rounds of one rollback.
const maxRollbackPlans = 3

// planCodeDeployRollback chooses the rollback of a CodeDeploy deployment
// from its state as just read (info), the status of the rollback
// deployment its rollbackInfo names (rb, "" when none or not read) and
// the revision of the service's PRIMARY task set (primary, "" when not
// read), target being the revision to go back to. A rollback deployment
// that failed is no rollback: another mechanism is planned.
func planCodeDeployRollback(info cdtypes.DeploymentInfo, rb cdtypes.DeploymentStatus, primary, target string) cdMechanism {
	failed := rb == cdtypes.DeploymentStatusFailed || rb == cdtypes.DeploymentStatusStopped
	switch {
	case slices.Contains(activeStatuses, info.Status):
		return cdStop
	case rollbackOf(info) != "" && !failed:
		return cdFollow
	case primary != "" && primary == target:
		return cdNothing
	}
	return cdRedeploy
}

// rollbackOf is the rollback deployment a CodeDeploy deployment's
// rollbackInfo names ("" when none).
func rollbackOf(info cdtypes.DeploymentInfo) string {
	if info.RollbackInfo == nil {
		return ""
	}
	return aws.ToString(info.RollbackInfo.RollbackDeploymentId)
}

// rollbackStatus reads the status of info's rollback deployment ("" when
// it has none, or it cannot be read: then it is followed).
func rollbackStatus(ctx context.Context, cd CodeDeployClient, info cdtypes.DeploymentInfo) cdtypes.DeploymentStatus {
	rb := rollbackOf(info)
	if rb == "" {
		return ""
	}
	ri, err := getCodeDeployment(ctx, cd, rb)
	if err != nil {
		return ""
	}
	return ri.Status
}

// primaryTaskSetOf is the revision of a CODE_DEPLOY service's PRIMARY task set
// (the one production traffic reaches), else its task definition.
func primaryTaskSetOf(svc types.Service) string {
	for _, ts := range svc.TaskSets {
		if aws.ToString(ts.Status) == "PRIMARY" {
			return aws.ToString(ts.TaskDefinition)
		}
	}
	return aws.ToString(svc.TaskDefinition)
}

// taskSetRunning names a task set of the service that runs
// taskDefinition ("" when none): a CODE_DEPLOY service has task sets and
// no deployments.
func taskSetRunning(svc types.Service, taskDefinition string) string {
	for _, ts := range svc.TaskSets {
		if aws.ToString(ts.TaskDefinition) == taskDefinition {
			return aws.ToString(ts.Id)
		}
	}
	return ""
}

// previousDeployment is the CreateDeployment that rolls back the
// finished deployment info: the same application, deployment group,
// deployment configuration and AppSpec, its TaskDefinition set to
// target.
func previousDeployment(info cdtypes.DeploymentInfo, target string) (*codedeploy.CreateDeploymentInput, error) {
	id := aws.ToString(info.DeploymentId)
	if info.Revision == nil || info.Revision.AppSpecContent == nil || aws.ToString(info.Revision.AppSpecContent.Content) == "" {
		return nil, fmt.Errorf("CodeDeploy deployment %s has no AppSpec content to deploy %s with", id, taskdef.ShortRevision(target))
	}
	spec, err := appspec.Parse([]byte(aws.ToString(info.Revision.AppSpecContent.Content)))
	if err != nil {
		return nil, fmt.Errorf("the AppSpec of CodeDeploy deployment %s: %w", id, err)
	}
	content, sum, err := spec.Content(target)
	if err != nil {
		return nil, err
	}
	return &codedeploy.CreateDeploymentInput{
		ApplicationName:      info.ApplicationName,
		DeploymentGroupName:  info.DeploymentGroupName,
		DeploymentConfigName: info.DeploymentConfigName,
		Description:          aws.String(fmt.Sprintf("ecs-rollout: roll back %s to %s", id, taskdef.ShortRevision(target))),
		// A rollback that fails is not rolled back in turn: that would put
		// the revision that failed back into production.
		AutoRollbackConfiguration: &cdtypes.AutoRollbackConfiguration{Enabled: false},
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent,
			AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(content), Sha256: aws.String(sum)}},
	}, nil
}

// createPrevious sends in (previousDeployment's) and returns the new
// deployment's ID. A call that failed but was applied (a retry) is
// recognised: the group's active deployment with the same AppSpec.
func createPrevious(ctx context.Context, cd CodeDeployClient, in *codedeploy.CreateDeploymentInput) (string, error) {
	out, err := cd.CreateDeployment(ctx, in)
	if err == nil {
		return aws.ToString(out.DeploymentId), nil
	}
	if id := activeWithAppSpec(ctx, cd, aws.ToString(in.ApplicationName), aws.ToString(in.DeploymentGroupName), aws.ToString(in.Revision.AppSpecContent.Sha256)); id != "" {
		return id, nil
	}
	return "", err
}

// activeWithAppSpec is the group's deployment in progress when it
// deploys the AppSpec whose sha256 is sum ("" otherwise).
func activeWithAppSpec(ctx context.Context, cd CodeDeployClient, app, group, sum string) string {
	ctx, cancel := freshContext(ctx)
	defer cancel()
	l, err := cd.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(app), DeploymentGroupName: aws.String(group), IncludeOnlyStatuses: activeStatuses})
	if err != nil || len(l.Deployments) == 0 {
		return ""
	}
	info, err := getCodeDeployment(ctx, cd, l.Deployments[0])
	if err != nil || info.Revision == nil || info.Revision.AppSpecContent == nil || aws.ToString(info.Revision.AppSpecContent.Sha256) != sum {
		return ""
	}
	return l.Deployments[0]
}

// codeDeployRedeployCommand is the awscli command that sends in.
func codeDeployRedeployCommand(in *codedeploy.CreateDeploymentInput) string {
	if in == nil {
		return ""
	}
	rev, _ := json.Marshal(map[string]any{"revisionType": "AppSpecContent",
		"appSpecContent": map[string]string{"content": aws.ToString(in.Revision.AppSpecContent.Content)}})
	parts := []string{"aws deploy create-deployment",
		"--application-name " + shellQuote(aws.ToString(in.ApplicationName)),
		"--deployment-group-name " + shellQuote(aws.ToString(in.DeploymentGroupName))}
	if c := aws.ToString(in.DeploymentConfigName); c != "" {
		parts = append(parts, "--deployment-config-name "+shellQuote(c))
	}
	if d := aws.ToString(in.Description); d != "" {
		parts = append(parts, "--description "+shellQuote(d))
	}
	return strings.Join(append(parts, "--revision "+shellQuote(string(rev))), " ")
}

// codeDeployWaitCommand waits for a rollback deployment in flight.
func codeDeployWaitCommand(id string) string {
	return fmt.Sprintf("aws deploy wait deployment-successful --deployment-id %s", shellQuote(id))
}

// codeDeployGetCommand shows a deployment.
func codeDeployGetCommand(id string) string {
	return fmt.Sprintf("aws deploy get-deployment --deployment-id %s", shellQuote(id))
}

// rollback rolls our deployment back by the mechanism its fresh state
// calls for (planCodeDeployRollback), re-reading and re-planning when a
// call is refused because the deployment moved on. It does not wait for
// the rollback to settle.
func (st *codeDeployStrategy) rollback(ctx context.Context) error {
	r := st.r
	ctx, cancel := freshContext(ctx)
	defer cancel()
	if st.id == "" {
		return errors.New("no CodeDeploy deployment was created")
	}
	var refused error
	for range maxRollbackPlans {
		info, err := st.get(ctx, st.id)
		if err != nil {
			return fmt.Errorf("read CodeDeploy deployment %s before rolling it back: %w", st.id, err)
		}
		primary, rb := "", cdtypes.DeploymentStatus("")
		if !slices.Contains(activeStatuses, info.Status) {
			svc, err := r.d.describeService(ctx, r.cfg.Cluster, r.cfg.Service)
			if err != nil {
				return fmt.Errorf("CodeDeploy deployment %s is %s; read service %s before rolling it back: %w", st.id, info.Status, r.cfg.Service, err)
			}
			primary, rb = primaryTaskSetOf(svc), rollbackStatus(ctx, r.d.cd, info)
		}
		switch planCodeDeployRollback(info, rb, primary, r.target) {
		case cdNothing:
			r.d.emit(EventInfo, "Rollback: CodeDeploy deployment %s is %s and production still runs %s; nothing to roll back", st.id, info.Status, taskdef.ShortRevision(r.target))
			return nil
		case cdFollow:
			r.res.RollbackDeploymentID = rollbackOf(info)
			r.d.emit(EventInfo, "Rollback: CodeDeploy deployment %s is %s and CodeDeploy is rolling it back (deployment %s)", st.id, info.Status, rollbackOf(info))
			return nil
		case cdStop:
			_, err := r.d.cd.StopDeployment(ctx, &codedeploy.StopDeploymentInput{DeploymentId: aws.String(st.id), AutoRollbackEnabled: aws.Bool(true)})
			if err == nil {
				r.d.emit(EventInfo, "Rollback requested: StopDeployment %s with autoRollbackEnabled (back to %s)", st.id, taskdef.ShortRevision(r.target))
				return nil
			}
			if apiErrorCode(err) == "DeploymentAlreadyCompletedException" {
				refused = err
				r.d.emit(EventInfo, "StopDeployment %s refused: the deployment has just completed; reading it again", st.id)
				continue
			}
			// A retried call may have been applied, or the deployment may
			// have finished while it was retried: read again, and re-plan
			// when it is no longer running.
			if i, gerr := st.get(ctx, st.id); gerr == nil {
				if rollbackOf(i) != "" {
					return nil
				}
				if !slices.Contains(activeStatuses, i.Status) {
					refused = err
					continue
				}
			}
			return fmt.Errorf("stop CodeDeploy deployment %s with rollback: %w", st.id, err)
		case cdRedeploy:
			in, err := previousDeployment(info, r.target)
			if err != nil {
				return err
			}
			st.prev = in
			id, err := createPrevious(ctx, r.d.cd, in)
			if err == nil {
				st.forward, st.fwdStatus = id, cdtypes.DeploymentStatusCreated
				r.res.RollbackDeploymentID = id
				r.d.emit(EventInfo, "Rollback: CodeDeploy deployment %s is %s, so %s is deployed anew (CodeDeploy deployment %s, %s)", st.id, info.Status, taskdef.ShortRevision(r.target), id, aws.ToString(in.DeploymentConfigName))
				return nil
			}
			if apiErrorCode(err) == "DeploymentLimitExceededException" {
				refused = err
				continue
			}
			return fmt.Errorf("CodeDeploy deployment %s is %s; create a deployment of %s: %w", st.id, info.Status, taskdef.ShortRevision(r.target), err)
		}
	}
	return fmt.Errorf("roll back CodeDeploy deployment %s: refused %d times, each after a fresh read: %w", st.id, maxRollbackPlans, refused)
}

// rollbackTimeout is the rollback's watch: Config.RollbackTimeout, plus
// the traffic shifting's waits for a new deployment of the previous
// revision (which shifts as the deployment configuration says).
func (st *codeDeployStrategy) rollbackTimeout() time.Duration {
	t := st.r.cfg.RollbackTimeout
	if st.forward != "" {
		t += shiftWaits(st.config)
	}
	return t
}

// manualRollback is the command that finishes the rollback by hand in
// the state the run last saw (rule 4): stop our deployment while it
// runs; once it finished, a new deployment of the previous revision;
// while a rollback deployment is in flight, wait for it.
func (st *codeDeployStrategy) manualRollback() string {
	ours, seen := st.seen[st.id]
	switch {
	case st.forward != "" && slices.Contains(activeStatuses, st.fwdStatus):
		return codeDeployWaitCommand(st.forward)
	case st.forward != "":
		return codeDeployRedeployCommand(st.prev)
	case seen && ours.RollbackInfo != nil && aws.ToString(ours.RollbackInfo.RollbackDeploymentId) != "":
		rb := aws.ToString(ours.RollbackInfo.RollbackDeploymentId)
		if i, ok := st.seen[rb]; ok && !slices.Contains(activeStatuses, i.Status) && i.Status != cdtypes.DeploymentStatusSucceeded {
			return st.redeployCommand(ours)
		}
		return codeDeployWaitCommand(rb)
	case seen && !slices.Contains(activeStatuses, ours.Status):
		return st.redeployCommand(ours)
	}
	return codeDeployStopCommand(st.id)
}

func (st *codeDeployStrategy) redeployCommand(ours cdtypes.DeploymentInfo) string {
	if st.prev != nil {
		return codeDeployRedeployCommand(st.prev)
	}
	in, err := previousDeployment(ours, st.r.target)
	if err != nil {
		return ""
	}
	return codeDeployRedeployCommand(in)
}

// recover is Recover for a CODE_DEPLOY service. It reads our deployment
// (and, once it is over, the service's PRIMARY task set) and acts by
// rule 1: a deployment still running is stopped with rollback when the
// main step owes a rollback or on-cancel says rollback; a finished one is
// rolled back by a new deployment of the previous revision when a
// rollback is owed, or when CodeDeploy failed it without a rollback while
// production runs it. A deployment that moved all production traffic and
// waits only to terminate the original task set, or that Succeeded, was
// judged a success by the main step (whose bake was cut short): it is
// left, unless a rollback is owed. One call, not awaited.
func (st *codeDeployStrategy) recover(ctx context.Context, d *Deployer, cp Checkpoint, res Result) (Result, error) {
	if d.cd == nil {
		res.Status = StatusRollbackFailed
		res.Reason = "post: the CodeDeploy deployment cannot be checked (no CodeDeploy client)"
		res.ManualRollback = codeDeployStopCommand(cp.DeploymentID)
		return res, errors.New(res.Reason)
	}
	if cp.DeploymentID == "" {
		// Killed before it saved the ID: CreateDeployment may have been
		// applied all the same.
		id, err := findCodeDeployment(ctx, d.cd, cp)
		switch {
		case err != nil:
			res.Status = StatusRollbackFailed
			res.Reason = fmt.Sprintf("post: could not look for a CodeDeploy deployment of %s: %v", taskdef.ShortRevision(cp.TaskDefinition), err)
			return res, fmt.Errorf("post: %w", err)
		case id == "":
			res.Reason = fmt.Sprintf("no CodeDeploy deployment of %s is in progress; nothing to do", taskdef.ShortRevision(cp.TaskDefinition))
			return res, nil
		}
		cp.DeploymentID, res.DeploymentID = id, id
	}
	manual := codeDeployStopCommand(cp.DeploymentID)
	info, err := getCodeDeployment(ctx, d.cd, cp.DeploymentID)
	if err != nil {
		res.Status = StatusRollbackFailed
		res.Reason = fmt.Sprintf("post: could not check CodeDeploy deployment %s: %v", cp.DeploymentID, err)
		res.ManualRollback = manual
		return res, fmt.Errorf("post: %w", err)
	}
	owed := cp.Phase == PhaseRollbackOwed
	// rolling-back names the rollback the main step saw accepted: it is
	// checked; settled or in progress, nothing more is sent; failed, it is
	// owed again.
	if rb := cmp.Or(cp.RollbackDeploymentID, rollbackOf(info)); cp.Phase == PhaseRollingBack && rb != "" {
		if ri, err := getCodeDeployment(ctx, d.cd, rb); err == nil {
			switch {
			case slices.Contains(activeStatuses, ri.Status):
				res.Status, res.RollbackDeploymentID, res.ManualRollback = StatusRollbackIssued, rb, codeDeployWaitCommand(rb)
				res.Reason = fmt.Sprintf("the main step's rollback of CodeDeploy deployment %s, deployment %s, is %s (not watched to its end)", cp.DeploymentID, rb, ri.Status)
				return res, nil
			case ri.Status == cdtypes.DeploymentStatusSucceeded:
				res.RollbackDeploymentID = rb
				res.Reason = fmt.Sprintf("the main step's rollback of CodeDeploy deployment %s, deployment %s, Succeeded; nothing to do", cp.DeploymentID, rb)
				return res, nil
			}
		}
	}
	if cp.Phase == PhaseRollingBack {
		owed = true // accepted, not seen settled, and not in progress now
	}
	active := slices.Contains(activeStatuses, info.Status)
	rev := taskdef.ShortRevision(cp.TaskDefinition)
	what := fmt.Sprintf("the main step ended while CodeDeploy deployment %s of %s was %s", cp.DeploymentID, rev, info.Status)
	if owed {
		what = fmt.Sprintf("the main step owed a rollback of CodeDeploy deployment %s of %s, now %s", cp.DeploymentID, rev, info.Status)
	}
	primary, rbStatus := "", cdtypes.DeploymentStatus("")
	if !active {
		rbStatus = rollbackStatus(ctx, d.cd, info)
		svc, err := d.describeService(ctx, cp.Cluster, cp.Service)
		if err != nil {
			res.Status = StatusRollbackFailed
			res.Reason = fmt.Sprintf("post: CodeDeploy deployment %s is %s; could not read service %s: %v", cp.DeploymentID, info.Status, cp.Service, err)
			if in, perr := previousDeployment(info, cp.RollbackTarget); perr == nil {
				res.ManualRollback = codeDeployRedeployCommand(in)
			}
			return res, fmt.Errorf("post: %w", err)
		}
		primary = primaryTaskSetOf(svc)
	}
	m := planCodeDeployRollback(info, rbStatus, primary, cp.RollbackTarget)
	switch {
	case m == cdNothing:
		res.Reason = fmt.Sprintf("CodeDeploy deployment %s is %s and production runs %s; nothing to do", cp.DeploymentID, info.Status, taskdef.ShortRevision(cp.RollbackTarget))
		return res, nil
	case m == cdFollow:
		rb := rollbackOf(info)
		res.RollbackDeploymentID = rb
		res.Reason = fmt.Sprintf("CodeDeploy deployment %s is %s and CodeDeploy rolls it back (deployment %s, %s)", cp.DeploymentID, info.Status, rb, rbStatus)
		if rbStatus != cdtypes.DeploymentStatusSucceeded {
			res.Status, res.ManualRollback = StatusRollbackIssued, codeDeployWaitCommand(rb)
		}
		return res, nil
	case !owed && (info.Status == cdtypes.DeploymentStatusSucceeded || active && info.InstanceTerminationWaitTimeStarted):
		res.Reason = fmt.Sprintf("CodeDeploy deployment %s of %s is %s with all production traffic on it; the main step's bake was cut short; leaving it", cp.DeploymentID, rev, info.Status)
		return res, nil
	case !owed && !cp.Rollback: // a rollback the main step owes is issued whatever on-cancel says
		res.Status = StatusFailed
		res.Reason = what + "; leaving it (on-cancel: leave)"
		res.ManualRollback = manual
		if m == cdRedeploy {
			if in, perr := previousDeployment(info, cp.RollbackTarget); perr == nil {
				res.ManualRollback = codeDeployRedeployCommand(in)
			}
		}
		return res, nil
	case m == cdStop:
		if _, err := d.cd.StopDeployment(ctx, &codedeploy.StopDeploymentInput{DeploymentId: aws.String(cp.DeploymentID), AutoRollbackEnabled: aws.Bool(true)}); err != nil {
			res.Status = StatusRollbackFailed
			res.Reason = fmt.Sprintf("%s; the rollback could not be requested: %v", what, err)
			res.ManualRollback = manual
			return res, fmt.Errorf("post: roll back %s: %w", cp.Service, err)
		}
		res.Status = StatusRollbackIssued
		res.Reason = fmt.Sprintf("%s; rollback to %s requested (StopDeployment with autoRollbackEnabled)", what, taskdef.ShortRevision(cp.RollbackTarget))
		return res, nil
	}
	// cdRedeploy: a new deployment of the previous revision, unless one
	// is in flight already (the main step's, killed while it watched it).
	in, err := previousDeployment(info, cp.RollbackTarget)
	if err != nil {
		res.Status = StatusRollbackFailed
		res.Reason = fmt.Sprintf("%s; %v", what, err)
		return res, fmt.Errorf("post: %w", err)
	}
	res.ManualRollback = codeDeployRedeployCommand(in)
	if id := activeWithAppSpec(ctx, d.cd, aws.ToString(in.ApplicationName), aws.ToString(in.DeploymentGroupName), aws.ToString(in.Revision.AppSpecContent.Sha256)); id != "" {
		res.Status, res.RollbackDeploymentID, res.ManualRollback = StatusRollbackIssued, id, codeDeployWaitCommand(id)
		res.Reason = fmt.Sprintf("%s; CodeDeploy deployment %s of %s, the rollback, is in progress", what, id, taskdef.ShortRevision(cp.RollbackTarget))
		return res, nil
	}
	id, err := createPrevious(ctx, d.cd, in)
	if err != nil {
		res.Status = StatusRollbackFailed
		res.Reason = fmt.Sprintf("%s; a new deployment of %s could not be created: %v", what, taskdef.ShortRevision(cp.RollbackTarget), err)
		return res, fmt.Errorf("post: roll back %s: %w", cp.Service, err)
	}
	res.Status, res.RollbackDeploymentID, res.ManualRollback = StatusRollbackIssued, id, codeDeployWaitCommand(id)
	res.Reason = fmt.Sprintf("%s; rollback requested: CodeDeploy deployment %s of %s (%s)", what, id, taskdef.ShortRevision(cp.RollbackTarget), aws.ToString(in.DeploymentConfigName))
	return res, nil
}

// findCodeDeployment finds our deployment in the checkpoint's deployment
// group when the checkpoint has no ID: the group's deployment in progress
// whose AppSpec deploys cp.TaskDefinition ("" when there is none).
func findCodeDeployment(ctx context.Context, cd CodeDeployClient, cp Checkpoint) (string, error) {
	c, s := clusterName(cp.Cluster), serviceName(cp.Service)
	app := cmp.Or(cp.CodeDeployApplication, fmt.Sprintf("AppECS-%s-%s", c, s))
	group := cmp.Or(cp.CodeDeployDeploymentGroup, fmt.Sprintf("DgpECS-%s-%s", c, s))
	l, err := cd.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(app), DeploymentGroupName: aws.String(group), IncludeOnlyStatuses: activeStatuses})
	if err != nil {
		return "", fmt.Errorf("list deployments of %s: %w", group, err)
	}
	for _, id := range l.Deployments {
		info, err := getCodeDeployment(ctx, cd, id)
		if err != nil {
			return "", err
		}
		if info.Revision == nil || info.Revision.AppSpecContent == nil {
			continue
		}
		if spec, err := appspec.Parse([]byte(aws.ToString(info.Revision.AppSpecContent.Content))); err == nil && spec.TaskDefinition() == cp.TaskDefinition {
			return id, nil
		}
	}
	return "", nil
}
