package ecssim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The expectations here follow the CodeDeploy User Guide ("What happens
// during an Amazon ECS deployment", the AppSpec hooks of an ECS
// deployment, ECS deployment configurations) and the CodeDeploy and ECS
// API references cited in codedeploy.go and tasksets.go.

const cdApp, cdGroupName = "AppECS-prod-web", "DgpECS-prod-web"

// cdSim is a CODE_DEPLOY service web (3 tasks of app:v1) in cluster prod
// on the bubble's fake clock, with SDK clients that reach it in process.
func cdSim(t *testing.T, mod func(*Scenario)) (*Sim, *ecs.Client, *codedeploy.Client) {
	t.Helper()
	sc := CodeDeployWorld("prod", "web", FargateApp("web", "app:v1"), 3, nil)
	sc.Timings = Timings{Minute: Duration(time.Minute), Stage: Duration(time.Second)}
	if mod != nil {
		mod(&sc)
	}
	sim, c := fakeClockSim(t, sc)
	cd := codedeploy.New(codedeploy.Options{Region: "us-east-1", BaseEndpoint: aws.String(inProcessURL), Credentials: testCreds, HTTPClient: inProcessHTTP(sim)})
	return sim, c, cd
}

// appSpec is an ECS AppSpec for td with the given hooks (event → function).
func appSpec(td string, hooks map[string]string) string {
	s := fmt.Sprintf("version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: %q\n        LoadBalancerInfo:\n          ContainerName: app\n          ContainerPort: 8080\n", td)
	if len(hooks) > 0 {
		s += "Hooks:\n"
		for _, ev := range cdEventNames {
			if fn, ok := hooks[ev]; ok {
				s += fmt.Sprintf("  - %s: %q\n", ev, fn)
			}
		}
	}
	return s
}

// startCD registers web with image and creates a CodeDeploy deployment of
// it, returning the deployment ID.
func startCD(t *testing.T, c *ecs.Client, cd *codedeploy.Client, image string, hooks map[string]string) string {
	t.Helper()
	ctx := context.Background()
	td := FargateApp("web", image)
	reg, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: td.Family, ContainerDefinitions: td.ContainerDefinitions, Cpu: td.Cpu, Memory: td.Memory,
		NetworkMode: td.NetworkMode, RequiresCompatibilities: td.RequiresCompatibilities,
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	content := appSpec(aws.ToString(reg.TaskDefinition.TaskDefinitionArn), hooks)
	sum := sha256.Sum256([]byte(content))
	out, err := cd.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String(cdApp), DeploymentGroupName: aws.String(cdGroupName),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent,
			AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(content), Sha256: aws.String(hex.EncodeToString(sum[:]))}},
	})
	if err != nil {
		t.Fatalf("CreateDeployment: %v", err)
	}
	return aws.ToString(out.DeploymentId)
}

func getCD(t *testing.T, cd *codedeploy.Client, id string) cdtypes.DeploymentInfo {
	t.Helper()
	out, err := cd.GetDeployment(context.Background(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		t.Fatalf("GetDeployment: %v", err)
	}
	return *out.DeploymentInfo
}

func getTarget(t *testing.T, cd *codedeploy.Client, id string) cdtypes.ECSTarget {
	t.Helper()
	out, err := cd.GetDeploymentTarget(context.Background(), &codedeploy.GetDeploymentTargetInput{DeploymentId: aws.String(id), TargetId: aws.String("prod:web")})
	if err != nil {
		t.Fatalf("GetDeploymentTarget: %v", err)
	}
	return *out.DeploymentTarget.EcsTarget
}

func eventStatus(tg cdtypes.ECSTarget, name string) cdtypes.LifecycleEventStatus {
	for _, e := range tg.LifecycleEvents {
		if aws.ToString(e.LifecycleEventName) == name {
			return e.Status
		}
	}
	return ""
}

func greenWeight(tg cdtypes.ECSTarget) float64 {
	for _, ts := range tg.TaskSetsInfo {
		if ts.TaskSetLabel == cdtypes.TargetLabelGreen {
			return ts.TrafficWeight
		}
	}
	return -1
}

func describeWeb(t *testing.T, c *ecs.Client) types.Service {
	t.Helper()
	out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices: %v %v", err, out)
	}
	return out.Services[0]
}

// waitCD advances the fake clock second by second until cond holds, for at
// most limit.
func waitCD(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(limit); time.Now().Before(end); {
		if cond() {
			return
		}
		time.Sleep(time.Second)
		synctest.Wait()
	}
	if !cond() {
		t.Fatalf("%s: not within %s", what, limit)
	}
}

func TestCodeDeployHealthyWithTerminationWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c, cd := cdSim(t, func(sc *Scenario) { sc.CodeDeploy.DeploymentGroups[0].TerminationWaitMinutes = 5 })
		svc := describeWeb(t, c)
		if svc.DeploymentController.Type != types.DeploymentControllerTypeCodeDeploy || len(svc.TaskSets) != 1 || len(svc.Deployments) != 0 {
			t.Fatalf("a CODE_DEPLOY service shows its controller, one task set and no deployments: %+v", svc)
		}
		id := startCD(t, c, cd, "app:v2", nil)
		// Production traffic moves, then the original task set keeps running
		// through the termination wait while the deployment stays InProgress.
		waitCD(t, 10*time.Minute, "AfterAllowTraffic succeeded", func() bool {
			return eventStatus(getTarget(t, cd, id), "AfterAllowTraffic") == cdtypes.LifecycleEventStatusSucceeded
		})
		time.Sleep(2 * time.Second)
		synctest.Wait()
		info, tg := getCD(t, cd, id), getTarget(t, cd, id)
		if info.Status != cdtypes.DeploymentStatusInProgress || !info.InstanceTerminationWaitTimeStarted || greenWeight(tg) != 100 {
			t.Fatalf("in the termination wait: status %s, wait started %v, green weight %v", info.Status, info.InstanceTerminationWaitTimeStarted, greenWeight(tg))
		}
		svc = describeWeb(t, c)
		if len(svc.TaskSets) != 2 || aws.ToString(svc.TaskSets[0].Status) != "PRIMARY" || aws.ToString(svc.TaskDefinition) != aws.ToString(svc.TaskSets[0].TaskDefinition) {
			t.Fatalf("both task sets run during the wait, the replacement PRIMARY: %+v", svc.TaskSets)
		}
		if _, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: svc.TaskDefinition}); errCode(err) != "InvalidParameterException" {
			t.Errorf("UpdateService with a task definition on a CODE_DEPLOY service: got %v, want InvalidParameterException", err)
		}
		// No call for ten minutes: the simulator moves on by its own clock,
		// so the original task set's tasks stopped when the wait ended
		// (within a few seconds of it), not when someone next asked.
		blue := aws.ToString(svc.TaskSets[1].Id)
		waitStart := time.Now()
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		stopped, err := c.ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String("prod"), StartedBy: aws.String(blue), DesiredStatus: types.DesiredStatusStopped})
		if err != nil || len(stopped.TaskArns) != 3 {
			t.Fatalf("the original task set's stopped tasks: %v %v", err, stopped)
		}
		tasks, err := c.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: stopped.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range tasks.Tasks {
			if at := aws.ToTime(tk.StoppedAt); at.Sub(waitStart) > 5*time.Minute+10*time.Second {
				t.Errorf("an original task stopped %s after the wait began; want at the end of the 5-minute wait", at.Sub(waitStart))
			}
		}
		if st := getCD(t, cd, id).Status; st != cdtypes.DeploymentStatusSucceeded {
			t.Fatalf("after the termination wait: %s", st)
		}
		if svc := describeWeb(t, c); len(svc.TaskSets) != 1 || svc.RunningCount != 3 {
			t.Fatalf("after the wait one task set runs 3 tasks: %d task sets, %d running", len(svc.TaskSets), svc.RunningCount)
		}
	})
}

func TestCodeDeployLinearShiftsInSteps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c, cd := cdSim(t, func(sc *Scenario) {
			sc.CodeDeploy.DeploymentGroups[0].DeploymentConfigName = "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"
		})
		id := startCD(t, c, cd, "app:v2", nil)
		seen := map[float64]bool{}
		waitCD(t, 20*time.Minute, "all traffic shifted", func() bool {
			w := greenWeight(getTarget(t, cd, id))
			seen[w] = true
			return w == 100
		})
		for _, w := range []float64{10, 20, 50, 90, 100} {
			if !seen[w] {
				t.Errorf("linear 10 %% every minute: weight %v never seen (saw %v)", w, seen)
			}
		}
	})
}

func TestCodeDeployCrashingReplacementStoppedWithRollback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c, cd := cdSim(t, func(sc *Scenario) {
			sc.ImageRules = []ImageRule{{Image: "app:bad", Behavior: BehaviorCrash}}
		})
		id := startCD(t, c, cd, "app:bad", nil)
		var green string
		waitCD(t, 2*time.Minute, "the replacement task set's tasks crash", func() bool {
			tg := getTarget(t, cd, id)
			for _, ts := range tg.TaskSetsInfo {
				if ts.TaskSetLabel == cdtypes.TargetLabelGreen {
					green = aws.ToString(ts.Identifer)
				}
			}
			if green == "" {
				return false
			}
			out, err := c.ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String("prod"), StartedBy: aws.String(green), DesiredStatus: types.DesiredStatusStopped})
			return err == nil && len(out.TaskArns) >= 3
		})
		if s := eventStatus(getTarget(t, cd, id), "Install"); s != cdtypes.LifecycleEventStatusInProgress {
			t.Fatalf("Install waits for a stable replacement: %s", s)
		}
		if _, err := cd.StopDeployment(context.Background(), &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(true)}); err != nil {
			t.Fatalf("StopDeployment: %v", err)
		}
		info := getCD(t, cd, id)
		if info.Status != cdtypes.DeploymentStatusStopped || info.RollbackInfo == nil || aws.ToString(info.RollbackInfo.RollbackDeploymentId) == "" {
			t.Fatalf("stopped with rollback: %+v", info)
		}
		rb := aws.ToString(info.RollbackInfo.RollbackDeploymentId)
		waitCD(t, time.Minute, "rollback succeeded", func() bool { return getCD(t, cd, rb).Status == cdtypes.DeploymentStatusSucceeded })
		rbInfo := getCD(t, cd, rb)
		if rbInfo.Creator != cdtypes.DeploymentCreatorCodeDeployRollback || aws.ToString(rbInfo.RollbackInfo.RollbackTriggeringDeploymentId) != id {
			t.Errorf("the rollback deployment names its trigger: %+v", rbInfo)
		}
		waitCD(t, time.Minute, "replacement deleted", func() bool { return len(describeWeb(t, c).TaskSets) == 1 })
		if td := aws.ToString(describeWeb(t, c).TaskDefinition); td != "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1" {
			t.Errorf("after the rollback the service runs %s", td)
		}
		if _, err := cd.StopDeployment(context.Background(), &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id)}); errCode(err) != "DeploymentAlreadyCompletedException" {
			t.Errorf("StopDeployment of a stopped deployment: %v", err)
		}
	})
}

func TestCodeDeployFailedHookRollsBackByItself(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c, cd := cdSim(t, func(sc *Scenario) {
			sc.CodeDeploy.Hooks = []CodeDeployHook{{Function: "smoke-*", Event: "AfterAllowTestTraffic", Results: []string{"Failed"}, Message: "GET /health returned 500"}}
		})
		id := startCD(t, c, cd, "app:v2", map[string]string{"AfterAllowTestTraffic": "smoke-test"})
		waitCD(t, 5*time.Minute, "failed", func() bool { return getCD(t, cd, id).Status == cdtypes.DeploymentStatusFailed })
		info, tg := getCD(t, cd, id), getTarget(t, cd, id)
		if info.ErrorInformation == nil || info.ErrorInformation.Code != cdtypes.ErrorCodeHookExecutionFailure || info.RollbackInfo == nil {
			t.Fatalf("a failed hook fails the deployment and the group rolls it back: %+v", info)
		}
		for _, e := range tg.LifecycleEvents {
			if aws.ToString(e.LifecycleEventName) == "AfterAllowTestTraffic" {
				if e.Status != cdtypes.LifecycleEventStatusFailed || e.Diagnostics == nil || aws.ToString(e.Diagnostics.Message) != "GET /health returned 500" || aws.ToString(e.Diagnostics.ScriptName) != "smoke-test" {
					t.Errorf("the failed event carries the hook's diagnostics: %+v", e)
				}
			}
		}
		rb := aws.ToString(info.RollbackInfo.RollbackDeploymentId)
		waitCD(t, time.Minute, "rollback succeeded", func() bool { return getCD(t, cd, rb).Status == cdtypes.DeploymentStatusSucceeded })
	})
}

func TestCodeDeployReadyWait(t *testing.T) {
	for _, tc := range []struct {
		name      string
		continue_ bool
		want      cdtypes.DeploymentStatus
	}{{"continued", true, cdtypes.DeploymentStatusSucceeded}, {"wait runs out", false, cdtypes.DeploymentStatusStopped}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, c, cd := cdSim(t, func(sc *Scenario) {
					g := &sc.CodeDeploy.DeploymentGroups[0]
					g.ReadyAction, g.ReadyWaitMinutes = "STOP_DEPLOYMENT", 30
				})
				id := startCD(t, c, cd, "app:v2", nil)
				waitCD(t, 5*time.Minute, "Ready", func() bool { return getCD(t, cd, id).Status == cdtypes.DeploymentStatusReady })
				tg := getTarget(t, cd, id)
				if tg.Status != cdtypes.TargetStatusReady || greenWeight(tg) != 0 || eventStatus(tg, "AfterAllowTestTraffic") != cdtypes.LifecycleEventStatusSucceeded {
					t.Fatalf("Ready: test traffic on the replacement, production not: %+v", tg)
				}
				if _, err := cd.ContinueDeployment(context.Background(), &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(id), DeploymentWaitType: cdtypes.DeploymentWaitTypeTerminationWait}); errCode(err) != "DeploymentIsNotInReadyStateException" {
					t.Errorf("TERMINATION_WAIT while Ready: %v", err)
				}
				if tc.continue_ {
					if _, err := cd.ContinueDeployment(context.Background(), &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(id), DeploymentWaitType: cdtypes.DeploymentWaitTypeReadyWait}); err != nil {
						t.Fatalf("ContinueDeployment: %v", err)
					}
				}
				waitCD(t, 40*time.Minute, string(tc.want), func() bool { return getCD(t, cd, id).Status == tc.want })
			})
		})
	}
}

func TestCodeDeployBusyGroupAndBadRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c, cd := cdSim(t, func(sc *Scenario) { sc.CodeDeploy.DeploymentGroups[0].TerminationWaitMinutes = 60 })
		ctx := context.Background()
		if _, err := cd.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(cdApp), DeploymentGroupName: aws.String("nope")}); errCode(err) != "DeploymentGroupDoesNotExistException" {
			t.Errorf("unknown group: %v", err)
		}
		if _, err := cd.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String("nope"), DeploymentGroupName: aws.String(cdGroupName)}); errCode(err) != "ApplicationDoesNotExistException" {
			t.Errorf("unknown application: %v", err)
		}
		g, err := cd.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(cdApp), DeploymentGroupName: aws.String(cdGroupName)})
		if err != nil || aws.ToString(g.DeploymentGroupInfo.EcsServices[0].ServiceName) != "web" {
			t.Fatalf("GetDeploymentGroup: %v %+v", err, g)
		}
		id := startCD(t, c, cd, "app:v2", nil)
		_, err = cd.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{ApplicationName: aws.String(cdApp), DeploymentGroupName: aws.String(cdGroupName),
			Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(appSpec("web:1", nil))}}})
		if errCode(err) != "DeploymentLimitExceededException" {
			t.Errorf("a second deployment while %s is active: %v", id, err)
		}
		list, err := cd.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(cdApp), DeploymentGroupName: aws.String(cdGroupName),
			IncludeOnlyStatuses: []cdtypes.DeploymentStatus{cdtypes.DeploymentStatusCreated, cdtypes.DeploymentStatusInProgress, cdtypes.DeploymentStatusReady}})
		if err != nil || len(list.Deployments) != 1 || list.Deployments[0] != id {
			t.Errorf("ListDeployments of the active ones: %v %v", err, list)
		}
		// The termination wait: ContinueDeployment TERMINATION_WAIT ends it.
		waitCD(t, 5*time.Minute, "termination wait", func() bool { return getCD(t, cd, id).InstanceTerminationWaitTimeStarted })
		if _, err := cd.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(id), DeploymentWaitType: cdtypes.DeploymentWaitTypeTerminationWait}); err != nil {
			t.Fatalf("ContinueDeployment TERMINATION_WAIT: %v", err)
		}
		waitCD(t, time.Minute, "succeeded", func() bool { return getCD(t, cd, id).Status == cdtypes.DeploymentStatusSucceeded })
		// A bad AppSpec fails the deployment at its start.
		bad, err := cd.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{ApplicationName: aws.String(cdApp), DeploymentGroupName: aws.String(cdGroupName),
			Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(appSpec("web:99", nil))}}})
		if err != nil {
			t.Fatalf("CreateDeployment: %v", err)
		}
		waitCD(t, time.Minute, "failed", func() bool {
			return getCD(t, cd, aws.ToString(bad.DeploymentId)).Status == cdtypes.DeploymentStatusFailed
		})
		if e := getCD(t, cd, aws.ToString(bad.DeploymentId)).ErrorInformation; e == nil || e.Code != cdtypes.ErrorCodeInvalidRevision {
			t.Errorf("bad AppSpec: %+v", e)
		}
	})
}
