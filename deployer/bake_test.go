package deployer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-rollout/ecs-rollout/deployer"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
	"github.com/ecs-rollout/ecs-rollout/internal/ecssim/ecssimtest"
)

// The bake and alarm tests run the deployer through the real ECS and
// CloudWatch SDK clients against the simulator, in memory, inside a
// testing/synctest bubble: the simulator's clock, the deployer's polls and
// the bake all run on the bubble's fake clock, so a ten-minute bake at
// the default 5 s poll interval takes no real time and the times in the
// reasons are exact.

// fakeClockRun is one Deploy on the fake clock.
type fakeClockRun struct {
	res     deployer.Result
	err     error
	elapsed time.Duration // by the fake clock
	calls   []ecssim.Call
	events  []deployer.Event
	sim     *ecssim.Sim
}

func (f fakeClockRun) ops(filter func(ecssim.Call) bool) []string {
	var out []string
	for _, c := range f.calls {
		if filter(c) {
			op := c.Op
			if c.ErrCode != "" {
				op += "!" + c.ErrCode
			}
			out = append(out, op)
		}
	}
	return out
}

func mutatingOnly(c ecssim.Call) bool {
	switch c.Op {
	case "RegisterTaskDefinition", "DeregisterTaskDefinition", "UpdateService":
		return true
	}
	return false
}

// deployOnFakeClock runs Deploy against a simulator of sc on the fake
// clock of a synctest bubble. check runs inside the bubble, with the
// simulator still up.
func deployOnFakeClock(t *testing.T, sc ecssim.Scenario, cfg deployer.Config, check func(t *testing.T, f fakeClockRun)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		sim, err := ecssim.New(sc)
		if err != nil {
			t.Fatal(err)
		}
		defer sim.Close()
		e, cw := ecssimtest.InMemoryClients(sim)
		var f fakeClockRun
		d := deployer.New(e, nil, deployer.WithCloudWatch(cw), deployer.WithReporter(func(ev deployer.Event) { f.events = append(f.events, ev) }))
		start := time.Now()
		f.res, f.err = d.Deploy(context.Background(), cfg)
		f.elapsed = time.Since(start)
		f.calls = sim.Calls()
		f.sim = sim
		check(t, f)
	})
}

// bakeConfig is config at the action's defaults for the watch: a 5 s
// poll interval and a ten-minute timeout.
func bakeConfig(image string, bake time.Duration, alarms ...string) deployer.Config {
	cfg := config(image)
	cfg.PollInterval = deployer.DefaultPollInterval
	cfg.Timeout = 10 * time.Minute
	cfg.RollbackTimeout = 10 * time.Minute
	cfg.BakeTime = bake
	cfg.Alarms = alarms
	return cfg
}

func withAlarms(alarms ...ecssim.ScenarioAlarm) func(*ecssim.Scenario) {
	return func(sc *ecssim.Scenario) { sc.Alarms = append(sc.Alarms, alarms...) }
}

func alarmAt(name string, from ecssim.AlarmAnchor, after time.Duration) ecssim.ScenarioAlarm {
	v := 12.0
	return ecssim.ScenarioAlarm{Name: name, Changes: []ecssim.AlarmChange{{State: ecssim.AlarmAlarm, From: from, After: ecssim.Duration(after), Value: &v}}}
}

func timeline(res deployer.Result) []string {
	var out []string
	for _, m := range res.Timeline {
		out = append(out, m.Name)
	}
	return out
}

func TestBakeAndAlarms(t *testing.T) {
	t.Parallel()
	const threshold = "Threshold Crossed: 1 out of the last 1 datapoints [12.0 ("
	tests := []struct {
		name     string
		sc       ecssim.Scenario
		cfg      deployer.Config
		status   deployer.Status
		reason   []string // substrings of the reason
		mutating []string
		check    func(t *testing.T, f fakeClockRun)
	}{
		{
			name:     "alarm into ALARM during the rollout",
			sc:       scenario(withAlarms(alarmAt("web-5xx", ecssim.AnchorUpdate, 3*time.Second))),
			cfg:      bakeConfig("repo/app:slow", time.Minute, "web-5xx"),
			status:   deployer.StatusRolledBack,
			reason:   []string{`alarm "web-5xx" went into ALARM 3s after the update (` + threshold, "was greater than the threshold (5.0)", "; rolled back to web:1"},
			mutating: []string{"RegisterTaskDefinition", "UpdateService", "UpdateService"},
			check: func(t *testing.T, f fakeClockRun) {
				if diff := cmp.Diff([]string{"deploy started", "alarm web-5xx in ALARM", "deployment failed", "rollback issued", "rollback completed"}, timeline(f.res)); diff != "" {
					t.Errorf("timeline (-want +got):\n%s", diff)
				}
				a := f.res.Alarms
				if len(a) != 1 || !a[0].Triggered || a[0].Start != deployer.AlarmOK || len(a[0].Changes) != 1 || a[0].Changes[0].State != deployer.AlarmAlarm {
					t.Errorf("alarms: %+v", a)
				}
			},
		},
		{
			name:     "alarm into ALARM during the bake",
			sc:       scenario(withAlarms(alarmAt("web-5xx", ecssim.AnchorCompleted, 2*time.Minute+10*time.Second))),
			cfg:      bakeConfig("repo/app:2", 5*time.Minute, "web-5xx"),
			status:   deployer.StatusRolledBack,
			reason:   []string{`alarm "web-5xx" went into ALARM 2m10s after the rollout completed (` + threshold, "; rolled back to web:1"},
			mutating: []string{"RegisterTaskDefinition", "UpdateService", "UpdateService"},
			check: func(t *testing.T, f fakeClockRun) {
				if diff := cmp.Diff([]string{"deploy started", "first task running", "deployment completed", "bake started", "bake failed", "alarm web-5xx in ALARM", "deployment failed", "rollback issued", "rollback completed"}, timeline(f.res)); diff != "" {
					t.Errorf("timeline (-want +got):\n%s", diff)
				}
				// The rollback is a new deployment of web:1 (ECS retired the old tasks).
				var rb string
				for _, c := range f.calls {
					if c.Op == "UpdateService" {
						rb = string(c.Input)
					}
				}
				if !strings.Contains(rb, "task-definition/web:1") || !strings.Contains(rb, `"forceNewDeployment":true`) {
					t.Errorf("rollback UpdateService: %s", rb)
				}
				if f.elapsed < 2*time.Minute+10*time.Second || f.elapsed > 3*time.Minute {
					t.Errorf("took %s; want the time to the alarm plus the rollback", f.elapsed)
				}
			},
		},
		{
			name:     "alarm stays OK for the whole bake",
			sc:       scenario(withAlarms(ecssim.ScenarioAlarm{Name: "web-5xx"}, ecssim.ScenarioAlarm{Name: "web-p99", MetricName: "TargetResponseTime", ExtendedStatistic: "p99", Threshold: 1.5})),
			cfg:      bakeConfig("repo/app:2", 10*time.Minute, "web-5xx", "web-p99"),
			status:   deployer.StatusSucceeded,
			reason:   []string{"completed: 2/2 tasks of web:2 running; baked for 10m0s with no failure"},
			mutating: []string{"RegisterTaskDefinition", "UpdateService"},
			check: func(t *testing.T, f fakeClockRun) {
				if f.elapsed < 10*time.Minute || f.elapsed > 10*time.Minute+20*time.Second {
					t.Errorf("the step took %s; want the bake time (10m) and the rollout", f.elapsed)
				}
				var bakeLines []string
				for _, ev := range f.events {
					if strings.Contains(strings.ToLower(ev.Message), "bak") && (ev.Kind == deployer.EventPhase || ev.Kind == deployer.EventInfo) {
						bakeLines = append(bakeLines, ev.Message)
					}
				}
				if len(bakeLines) != 3 || !strings.HasPrefix(bakeLines[0], "Bake web:2 for 10m0s") || !strings.Contains(bakeLines[1], "baking for 10m0s") || !strings.HasPrefix(bakeLines[2], "Bake of web:2 ended after 10m0s: no failed task, no alarm") {
					t.Errorf("bake log lines: %q", bakeLines)
				}
				if diff := cmp.Diff([]string{"deploy started", "first task running", "deployment completed", "bake started", "bake completed"}, timeline(f.res)); diff != "" {
					t.Errorf("timeline (-want +got):\n%s", diff)
				}
				// One DescribeAlarms per poll for both alarms: ≤ 0.25/s.
				n := len(f.ops(func(c ecssim.Call) bool { return c.Op == "DescribeAlarms" }))
				if rate := float64(n) / f.elapsed.Seconds(); rate > 0.25 || n < 100 {
					t.Errorf("%d DescribeAlarms calls in %s (%.3f/s); want one per poll, at most 0.25/s", n, f.elapsed, rate)
				}
				ecsCalls := len(f.ops(func(c ecssim.Call) bool { return c.Op != "DescribeAlarms" }))
				if rate := float64(ecsCalls) / f.elapsed.Seconds(); rate > 0.25 {
					t.Errorf("%d ECS calls in %s (%.3f/s); want at most 0.25/s", ecsCalls, f.elapsed, rate)
				}
				if len(f.res.Alarms) != 2 || f.res.Alarms[1].Name != "web-p99" || len(f.res.Alarms[1].Changes) != 0 {
					t.Errorf("alarms: %+v", f.res.Alarms)
				}
			},
		},
		{
			name: "a task crashes 20s after COMPLETED within a one-minute bake",
			sc: scenario(func(sc *ecssim.Scenario) {
				sc.ImageRules = append([]ecssim.ImageRule{{Image: "*:late-crash", Behavior: ecssim.BehaviorCrashAfter, After: ecssim.Duration(20 * time.Second)}}, sc.ImageRules...)
			}),
			cfg:      bakeConfig("repo/app:late-crash", time.Minute),
			status:   deployer.StatusRolledBack,
			reason:   []string{"of web:2 stopped 20s after the rollout completed: Essential container in task exited", `(container "app" exit code 1)`, "(failed-tasks-threshold 1); rolled back to web:1"},
			mutating: []string{"RegisterTaskDefinition", "UpdateService", "UpdateService"},
		},
		{
			name: "the same crash with bake-time 0s",
			sc: scenario(func(sc *ecssim.Scenario) {
				sc.ImageRules = append([]ecssim.ImageRule{{Image: "*:late-crash", Behavior: ecssim.BehaviorCrashAfter, After: ecssim.Duration(20 * time.Second)}}, sc.ImageRules...)
			}),
			cfg:      bakeConfig("repo/app:late-crash", 0),
			status:   deployer.StatusSucceeded,
			reason:   []string{"completed: 2/2 tasks of web:2 running"},
			mutating: []string{"RegisterTaskDefinition", "UpdateService"},
			check: func(t *testing.T, f fakeClockRun) {
				if f.elapsed > 15*time.Second {
					t.Errorf("took %s; the verdict is final at COMPLETED without a bake", f.elapsed)
				}
			},
		},
		{
			name:   "a composite alarm into ALARM during the bake",
			sc:     scenario(withAlarms(ecssim.ScenarioAlarm{Name: "web-health", Composite: true, AlarmRule: `ALARM("web-5xx") OR ALARM("web-p99")`, Changes: []ecssim.AlarmChange{{State: ecssim.AlarmAlarm, From: ecssim.AnchorCompleted, After: ecssim.Duration(45 * time.Second)}}})),
			cfg:    bakeConfig("repo/app:2", 2*time.Minute, "web-health"),
			status: deployer.StatusRolledBack,
			reason: []string{`alarm "web-health" went into ALARM 45s after the rollout completed (arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-health transitioned to ALARM at `, "; rolled back to web:1"},
			check: func(t *testing.T, f fakeClockRun) {
				if a := f.res.Alarms; len(a) != 1 || !a[0].Composite || !a[0].Triggered {
					t.Errorf("alarms: %+v", a)
				}
			},
			mutating: []string{"RegisterTaskDefinition", "UpdateService", "UpdateService"},
		},
		{
			name: "ECS's own alarm rollback",
			sc: scenario(withAlarms(alarmAt("svc-5xx", ecssim.AnchorUpdate, 30*time.Second), ecssim.ScenarioAlarm{Name: "svc-p99"}), func(sc *ecssim.Scenario) {
				sc.Services[0].DeploymentConfiguration.Alarms = &ecssim.DeploymentAlarms{AlarmNames: []string{"svc-5xx", "svc-p99"}, Enable: true, Rollback: true}
				sc.Timings.AlarmBake = ecssim.Duration(3 * time.Minute)
			}),
			cfg:      bakeConfig("repo/app:2", 0),
			status:   deployer.StatusRolledBack,
			reason:   []string{`failed: the service's deployment alarm "svc-5xx" went into ALARM; ECS's deployment alarms rolled the service back to web:1`},
			mutating: []string{"RegisterTaskDefinition", "UpdateService"}, // one rollback: ECS's
			check: func(t *testing.T, f fakeClockRun) {
				if a := f.res.Alarms; len(a) != 1 || a[0].Name != "svc-5xx" || !a[0].Triggered || !a[0].ByECS {
					t.Errorf("alarms: %+v", a)
				}
				// ECS's word on which alarms failed it: the service
				// deployment's alarms.triggeredAlarmNames.
				if got := f.ops(func(c ecssim.Call) bool { return c.Op == "DescribeServiceDeployments" }); !cmp.Equal(got, []string{"DescribeServiceDeployments"}) {
					t.Errorf("DescribeServiceDeployments calls: %v", got)
				}
				var triggered []string
				for _, sd := range f.sim.ServiceDeployments("prod", "web") {
					if sd.Alarms != nil {
						triggered = append(triggered, sd.Alarms.TriggeredAlarmNames...)
					}
				}
				if !cmp.Equal(triggered, []string{"svc-5xx"}) {
					t.Errorf("the service deployments' triggered alarms: %v", triggered)
				}
			},
		},
		{
			name: "ECS's own alarm rollback of an alarm we watch too",
			sc: scenario(withAlarms(alarmAt("svc-5xx", ecssim.AnchorUpdate, 30*time.Second)), func(sc *ecssim.Scenario) {
				sc.Services[0].DeploymentConfiguration.Alarms = &ecssim.DeploymentAlarms{AlarmNames: []string{"svc-5xx"}, Enable: true, Rollback: true}
				sc.Timings.AlarmBake = ecssim.Duration(3 * time.Minute)
			}),
			cfg:      bakeConfig("repo/app:2", time.Minute, "svc-5xx"),
			status:   deployer.StatusRolledBack,
			reason:   []string{`the service's deployment alarm "svc-5xx" went into ALARM; ECS's deployment alarms rolled the service back to web:1`},
			mutating: []string{"RegisterTaskDefinition", "UpdateService"},
			check: func(t *testing.T, f fakeClockRun) {
				if a := f.res.Alarms; len(a) != 1 || !a[0].Triggered || a[0].ByECS {
					t.Errorf("alarms: %+v", a)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			deployOnFakeClock(t, tt.sc, tt.cfg, func(t *testing.T, f fakeClockRun) {
				if f.res.Status != tt.status {
					t.Fatalf("status %s, want %s; reason: %s", f.res.Status, tt.status, f.res.Reason)
				}
				for _, want := range tt.reason {
					if !strings.Contains(f.res.Reason, want) {
						t.Errorf("reason lacks %q:\n%s", want, f.res.Reason)
					}
				}
				if diff := cmp.Diff(tt.mutating, f.ops(mutatingOnly)); diff != "" {
					t.Errorf("mutating calls (-want +got):\n%s", diff)
				}
				if tt.check != nil {
					tt.check(t, f)
				}
			})
		})
	}
}

func TestAlarmsPreflight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		sc    ecssim.Scenario
		fault bool
		want  []string
	}{
		{
			name: "an alarm already in ALARM",
			sc:   scenario(withAlarms(ecssim.ScenarioAlarm{Name: "web-5xx", State: ecssim.AlarmAlarm}, ecssim.ScenarioAlarm{Name: "web-p99"})),
			want: []string{`Alarms: alarm is already in ALARM: "web-5xx" (Threshold Crossed: 1 out of the last 1 datapoints [12.0`, "not deploying"},
		},
		{
			name: "unknown alarms",
			sc:   scenario(withAlarms(ecssim.ScenarioAlarm{Name: "web-p99"})),
			want: []string{`Alarms: no CloudWatch alarms named "web-5xx", "web-latency" in this account and region`},
		},
		{
			name:  "DescribeAlarms denied",
			sc:    scenario(withAlarms(ecssim.ScenarioAlarm{Name: "web-5xx"}, ecssim.ScenarioAlarm{Name: "web-p99"})),
			fault: true,
			want:  []string{"Alarms: reading the alarms was denied", "AccessDenied", "allow cloudwatch:DescribeAlarms (see iam-policy.json) or watch no Alarms"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			names := []string{"web-5xx", "web-p99"}
			if tt.name == "unknown alarms" {
				names = []string{"web-5xx", "web-p99", "web-latency"}
			}
			if tt.fault {
				tt.sc.Faults = append(tt.sc.Faults, ecssim.Fault{Op: "DescribeAlarms", Error: "AccessDenied"})
			}
			deployOnFakeClock(t, tt.sc, bakeConfig("repo/app:2", time.Minute, names...), func(t *testing.T, f fakeClockRun) {
				if !errors.Is(f.err, deployer.ErrPreflight) || f.res.Status != deployer.StatusFailed {
					t.Fatalf("got %s, %v; want a preflight error", f.res.Status, f.err)
				}
				for _, w := range tt.want {
					if !strings.Contains(f.err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, f.err)
					}
				}
				if got := f.ops(mutatingOnly); len(got) != 0 {
					t.Errorf("mutating calls: %v; want none", got)
				}
				if got := f.ops(func(c ecssim.Call) bool { return c.Op == "DescribeAlarms" }); len(got) != 1 {
					t.Errorf("DescribeAlarms calls: %v; want one for all the names", got)
				}
			})
		})
	}
}
