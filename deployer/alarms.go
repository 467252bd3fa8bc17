package deployer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// CloudWatchClient is the part of CloudWatch the deployer calls (to watch
// the alarms of Config.Alarms); *cloudwatch.Client satisfies it.
type CloudWatchClient interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

var (
	_ CloudWatchClient = (*cloudwatch.Client)(nil)
	_ judge            = (*alarmJudge)(nil)
)

// WithCloudWatch sets the CloudWatch client that watches Config.Alarms.
// Without one, a Config with alarms fails its preflight.
func WithCloudWatch(c CloudWatchClient) Option {
	return func(d *Deployer) {
		if cc, ok := c.(*cloudwatch.Client); ok && cc == nil {
			return // a typed nil would pass the nil check and panic
		}
		d.cw = c
	}
}

// AlarmState is a CloudWatch alarm state.
type AlarmState string

// The CloudWatch alarm states.
const (
	AlarmOK               AlarmState = "OK"
	AlarmAlarm            AlarmState = "ALARM"
	AlarmInsufficientData AlarmState = "INSUFFICIENT_DATA"
)

// AlarmChange is one state change of a watched alarm.
type AlarmChange struct {
	At     time.Time // when CloudWatch says the state changed
	State  AlarmState
	Reason string // CloudWatch's state reason
}

// AlarmReport is one alarm as the run saw it: its state when the watch
// began, each change during the run, and whether it failed the
// deployment.
type AlarmReport struct {
	Name        string
	Composite   bool
	Start       AlarmState
	StartReason string
	Changes     []AlarmChange
	// Triggered: its going into ALARM failed the deployment (ours, or
	// ECS's own deployment alarms for a service configured with them).
	Triggered bool
	// ByECS: named by ECS's own alarm rollback (the service's
	// deploymentConfiguration.alarms), not watched by us.
	ByECS bool
}

// alarmSeen is one alarm in one DescribeAlarms answer.
type alarmSeen struct {
	state     AlarmState
	reason    string
	at        time.Time
	composite bool
}

// alarmWatch watches Config.Alarms: one DescribeAlarms call per check
// for all of them.
type alarmWatch struct {
	d       *Deployer
	names   []string
	reports map[string]*AlarmReport
	last    map[string]alarmSeen
	fired   *AlarmReport // the alarm that failed the deployment
	checks  int
}

func newAlarmWatch(d *Deployer, names []string) *alarmWatch {
	return &alarmWatch{d: d, names: names, reports: map[string]*AlarmReport{}, last: map[string]alarmSeen{}}
}

// describe reads every watched alarm with one DescribeAlarms call (both
// metric and composite alarms: CloudWatch returns composite ones only
// when asked). A name CloudWatch does not know is missing from the map.
func (a *alarmWatch) describe(ctx context.Context) (map[string]alarmSeen, error) {
	if a.d.batch != nil {
		return a.d.batch.alarms(ctx, a) // one read for every service of the step
	}
	return describeAlarms(ctx, a.d.cw, a.names)
}

func describeAlarms(ctx context.Context, cw CloudWatchClient, names []string) (map[string]alarmSeen, error) {
	out := map[string]alarmSeen{}
	in := &cloudwatch.DescribeAlarmsInput{
		AlarmNames: names,
		AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
		MaxRecords: aws.Int32(MaxAlarms),
	}
	for page := 0; page < 10; page++ {
		res, err := cw.DescribeAlarms(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe alarms: %w", err)
		}
		for _, m := range res.MetricAlarms {
			out[aws.ToString(m.AlarmName)] = alarmSeen{state: AlarmState(m.StateValue), reason: aws.ToString(m.StateReason), at: aws.ToTime(m.StateUpdatedTimestamp)}
		}
		for _, c := range res.CompositeAlarms {
			out[aws.ToString(c.AlarmName)] = alarmSeen{state: AlarmState(c.StateValue), reason: aws.ToString(c.StateReason), at: aws.ToTime(c.StateUpdatedTimestamp), composite: true}
		}
		if aws.ToString(res.NextToken) == "" {
			break
		}
		in.NextToken = res.NextToken
	}
	return out, nil
}

// preflight reads the alarms once before anything changes: every one
// must exist and none may already be in ALARM (a rollback decision on top
// of a red alarm would mean nothing). It records their states at start.
func (a *alarmWatch) preflight(ctx context.Context) error {
	if a.d.cw == nil {
		return fieldError("Alarms", "no CloudWatch client to read them with")
	}
	got, err := a.describe(ctx)
	if err != nil {
		if accessLost(err) {
			return fieldError("Alarms", "reading the alarms was denied; allow cloudwatch:DescribeAlarms (see iam-policy.json) or watch no Alarms: %w", err)
		}
		return fieldError("Alarms", "could not read the alarms: %w", err)
	}
	var unknown, red []string
	for _, n := range a.names {
		s, ok := got[n]
		switch {
		case !ok:
			unknown = append(unknown, fmt.Sprintf("%q", n))
		case s.state == AlarmAlarm:
			red = append(red, fmt.Sprintf("%q (%s)", n, strings.TrimSuffix(s.reason, ".")))
		}
	}
	if len(unknown) > 0 {
		return fieldError("Alarms", "no CloudWatch %s named %s in this account and region", plural(len(unknown), "alarm", "alarms"), strings.Join(unknown, ", "))
	}
	if len(red) > 0 {
		return fieldError("Alarms", "%s already in ALARM: %s; not deploying, since whether the new revision is bad could not be told (fix or silence it first)",
			plural(len(red), "alarm is", "alarms are"), strings.Join(red, "; "))
	}
	for _, n := range a.names {
		s := got[n]
		a.reports[n] = &AlarmReport{Name: n, Composite: s.composite, Start: s.state, StartReason: s.reason}
		a.last[n] = s
	}
	return nil
}

// check reads the alarms once (one call), records their changes, and
// returns the first watched alarm found in ALARM, if any.
func (a *alarmWatch) check(ctx context.Context) (*AlarmReport, alarmSeen, error) {
	got, err := a.describe(ctx)
	if err != nil {
		return nil, alarmSeen{}, err
	}
	a.checks++
	var fired *AlarmReport
	var firedSeen alarmSeen
	for _, n := range a.names {
		s, ok := got[n]
		if !ok {
			continue // deleted while watching: its last state stands
		}
		rep := a.reports[n]
		if prev := a.last[n]; s.state != prev.state {
			a.last[n] = s
			rep.Changes = append(rep.Changes, AlarmChange{At: orTime(s.at, a.d.now()), State: s.state, Reason: s.reason})
			a.d.emit(EventInfo, "Alarm %s: %s → %s (%s)", n, prev.state, s.state, strings.TrimSuffix(s.reason, "."))
		}
		if s.state == AlarmAlarm && fired == nil {
			fired, firedSeen = rep, s
		}
	}
	return fired, firedSeen, nil
}

// report returns the alarms in the order they were named.
func (a *alarmWatch) report() []AlarmReport {
	if a == nil {
		return nil
	}
	var out []AlarmReport
	for _, n := range a.names {
		if r, ok := a.reports[n]; ok {
			out = append(out, *r)
		}
	}
	return out
}

func orTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

// alarmJudge wraps the judge of our deployment (any strategy) with the
// alarm check: it shares the poll, one DescribeAlarms per snapshot, and
// turns a watched alarm in ALARM into a failed verdict. The judge's own
// failures come first.
type alarmJudge struct {
	inner  judge
	alarms *alarmWatch
	// since is the moment the reason counts from (by ECS's clock when
	// known, which is CloudWatch's too): the update during the rollout,
	// the rollout's completion during the bake.
	since     func() time.Time
	sinceWhat string // "the update", "the rollout completed"
}

func (a *alarmJudge) subject() string { return a.inner.subject() }

func (a *alarmJudge) judge(ctx context.Context, s snapshot) (verdict, error) {
	v, err := a.inner.judge(ctx, s)
	if err != nil || (v.kind != verdictInProgress && v.kind != verdictSucceeded) || ecsFailing(s.service) {
		return v, err
	}
	fired, seen, err := a.alarms.check(ctx)
	if err != nil {
		return verdict{}, err
	}
	if fired == nil {
		return v, nil
	}
	fired.Triggered = true
	a.alarms.fired = fired
	return verdict{kind: verdictAlarm, counts: v.counts, standalone: true, reason: alarmReason(fired.Name, seen, a.since(), a.sinceWhat)}, nil
}

// alarmReason words an alarm failing the deployment: `alarm "web-5xx"
// went into ALARM 2m10s after the rollout completed (Threshold Crossed:
// …)`.
func alarmReason(name string, seen alarmSeen, since time.Time, sinceWhat string) string {
	after := ""
	if !seen.at.IsZero() && !since.IsZero() {
		after = fmt.Sprintf(" %s after %s", max(seen.at.Sub(since), 0).Round(time.Second), sinceWhat)
	}
	s := fmt.Sprintf("alarm %q went into ALARM%s", name, after)
	if r := strings.TrimSuffix(strings.TrimSpace(seen.reason), "."); r != "" {
		s += " (" + r + ")"
	}
	return s
}

// ecsFailing reports whether ECS itself has failed the service's PRIMARY
// deployment and rolls back on its own: our alarm check then stays out of
// its way (the judge recognises ECS's rollback).
func ecsFailing(svc types.Service) bool {
	p := primaryOf(svc)
	return p != nil && p.RolloutState == types.DeploymentRolloutStateFailed && ecsRollsBack(svc)
}

// ecsRollsBack reports whether ECS rolls the service back by itself when
// a deployment fails: its circuit breaker, or its deployment alarms, with
// rollback on.
func ecsRollsBack(svc types.Service) bool {
	if circuitBreakerRollsBack(svc) {
		return true
	}
	c := svc.DeploymentConfiguration
	return c != nil && c.Alarms != nil && c.Alarms.Enable && c.Alarms.Rollback && len(c.Alarms.AlarmNames) > 0
}

// ecsAlarmRollback names the alarms behind ECS's own alarm rollback of
// our deployment, from what ECS said (the failed deployment's reason and
// the service's events) and the service's deployment alarms that are in
// ALARM now (when CloudWatch can be read). ok is false when ECS's
// rollback was not an alarm's doing.
func (r *run) ecsAlarmRollback(ctx context.Context, reason string) (names []string, ok bool) {
	byAlarm := strings.Contains(strings.ToLower(reason), "alarm")
	for _, e := range r.events.all {
		msg := aws.ToString(e.Message)
		if strings.Contains(msg, "(deployment "+r.res.DeploymentID+")") && strings.Contains(strings.ToLower(msg), "alarm") {
			byAlarm = true
		}
	}
	svc := r.svc
	if s, err := r.d.describeService(ctx, r.cfg.Cluster, r.cfg.Service); err == nil {
		svc = s
	}
	c := svc.DeploymentConfiguration
	if c == nil || c.Alarms == nil || !c.Alarms.Enable || len(c.Alarms.AlarmNames) == 0 {
		return nil, byAlarm
	}
	configured := c.Alarms.AlarmNames
	names = r.triggeredAlarmNames(ctx)
	for _, n := range configured {
		if len(names) == 0 && strings.Contains(reason, n) {
			names = append(names, n)
		}
	}
	if r.d.cw != nil && len(names) == 0 {
		if got, err := describeAlarms(ctx, r.d.cw, configured); err == nil {
			for _, n := range configured {
				if got[n].state == AlarmAlarm {
					names = append(names, n)
				}
			}
		}
	}
	if !byAlarm && len(names) == 0 {
		return nil, false
	}
	if len(names) == 0 {
		names = configured // ECS did not say which: all could have
	}
	return names, true
}

// triggeredAlarmNames returns the alarms ECS says failed a service
// deployment of the service started since our update
// (alarms.triggeredAlarmNames), or nil when it says none or cannot be
// asked (two calls at most; an endpoint without the service-deployment
// API, such as moto, answers neither: the names are only a better account
// of an ECS rollback already recognised).
func (r *run) triggeredAlarmNames(ctx context.Context) []string {
	if r.updatedAt.IsZero() {
		return nil
	}
	sds, err := r.d.listServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
		Cluster: aws.String(r.cfg.Cluster), Service: aws.String(r.cfg.Service),
		CreatedAt: &types.CreatedAt{After: aws.Time(r.updatedAt.Add(-time.Minute))}, MaxResults: aws.Int32(20),
	})
	if err != nil {
		return nil
	}
	var names []string
	for _, d := range sds {
		if d.Alarms == nil {
			continue
		}
		for _, n := range d.Alarms.TriggeredAlarmNames {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

// alarmsReport is the Result's alarms: the watched ones in the order
// they were named, then those behind ECS's own alarm rollback that we did
// not watch.
func (r *run) alarmsReport() []AlarmReport {
	out := r.alarms.report()
	for _, n := range r.ecsAlarms {
		i := slices.IndexFunc(out, func(a AlarmReport) bool { return a.Name == n })
		if i >= 0 {
			out[i].Triggered = true
			continue
		}
		out = append(out, AlarmReport{Name: n, Triggered: true, ByECS: true})
	}
	return out
}

// quoteNames renders alarm names for a reason: "web-5xx", "web-p99".
func quoteNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
