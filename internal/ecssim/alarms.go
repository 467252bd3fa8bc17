package ecssim

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// AlarmState is a CloudWatch alarm state.
type AlarmState string

// The CloudWatch alarm states.
const (
	AlarmOK               AlarmState = "OK"
	AlarmAlarm            AlarmState = "ALARM"
	AlarmInsufficientData AlarmState = "INSUFFICIENT_DATA"
)

func (st AlarmState) valid() bool {
	switch st {
	case AlarmOK, AlarmAlarm, AlarmInsufficientData:
		return true
	}
	return false
}

// AlarmAnchor names the moment a scripted alarm change counts its After
// from.
type AlarmAnchor string

// The moments an alarm change can be anchored to.
const (
	// AnchorUpdate: the first UpdateService that started a new deployment
	// (of AlarmChange.Service, or of any service when it is empty).
	AnchorUpdate AlarmAnchor = "update"
	// AnchorCompleted: the deployment that update started reaching
	// COMPLETED. A change anchored here never happens when it does not.
	AnchorCompleted AlarmAnchor = "completed"
	// AnchorStart: the simulator's start.
	AnchorStart AlarmAnchor = "start"
)

// ScenarioAlarm is one CloudWatch alarm that DescribeAlarms answers. The
// simulator does not evaluate metrics: the alarm's state follows its
// script (State, then Changes).
type ScenarioAlarm struct {
	Name string `json:"name"`
	// Composite makes it a composite alarm (with AlarmRule) rather than a
	// metric alarm. DescribeAlarms returns composite alarms only when
	// AlarmTypes asks for CompositeAlarm, as CloudWatch does.
	Composite bool   `json:"composite,omitempty"`
	AlarmRule string `json:"alarmRule,omitempty"`
	// The metric alarm's description (shown, not evaluated). Defaults:
	// AWS/ApplicationELB HTTPCode_Target_5XX_Count, Sum over 60 s,
	// GreaterThanThreshold 5.
	Namespace          string  `json:"namespace,omitempty"`
	MetricName         string  `json:"metricName,omitempty"`
	Statistic          string  `json:"statistic,omitempty"`
	ExtendedStatistic  string  `json:"extendedStatistic,omitempty"` // e.g. "p99"; replaces Statistic
	ComparisonOperator string  `json:"comparisonOperator,omitempty"`
	Threshold          float64 `json:"threshold,omitempty"`
	// State is the state when the simulator starts (default OK) and
	// StateReason its reason (default: worded as CloudWatch words it).
	State       AlarmState `json:"state,omitempty"`
	StateReason string     `json:"stateReason,omitempty"`
	// Changes are the scripted state changes.
	Changes []AlarmChange `json:"changes,omitempty"`
}

// AlarmChange is one scripted state change of an alarm: to State, After
// the moment From (default "update").
type AlarmChange struct {
	State AlarmState  `json:"state"`
	After Duration    `json:"after,omitempty"`
	From  AlarmAnchor `json:"from,omitempty"`
	// Service is the service (name) whose update or completion From
	// refers to; empty means the first service updated.
	Service string `json:"service,omitempty"`
	// Reason is the state reason; empty words it as CloudWatch does, with
	// Value as the datapoint (default: twice the threshold into ALARM, 0
	// otherwise).
	Reason string   `json:"reason,omitempty"`
	Value  *float64 `json:"value,omitempty"`
}

// DeploymentAlarms is a service's deploymentConfiguration.alarms: ECS
// watches these alarms during its rolling deployments (and its own bake
// time, Timings.AlarmBake, after the new tasks are steady) and fails the
// deployment, rolling back when Rollback is set, when one goes into ALARM.
type DeploymentAlarms struct {
	AlarmNames []string `json:"alarmNames"`
	Enable     bool     `json:"enable"`
	Rollback   bool     `json:"rollback"`
}

func (a *DeploymentAlarms) ecs() *types.DeploymentAlarms {
	if a == nil {
		return nil
	}
	return &types.DeploymentAlarms{AlarmNames: append([]string{}, a.AlarmNames...), Enable: a.Enable, Rollback: a.Rollback}
}

// alarm is one alarm's script and resolved history.
type alarm struct {
	ScenarioAlarm
	arn     string
	created time.Time
	history []alarmTransition // resolved transitions, by time
	pending []AlarmChange     // changes whose anchor has not happened yet
}

type alarmTransition struct {
	at     time.Time
	state  AlarmState
	reason string
}

// cloudWatch is the simulator's CloudWatch: alarms and the anchors their
// scripts wait for.
type cloudWatch struct {
	alarms map[string]*alarm
	// Anchors by service name; "" is the first service updated.
	updated    map[string]time.Time
	updatedDep map[string]string // deployment the first update started
	completed  map[string]time.Time
	firstSvc   string
	triggered  map[string][]string // deployment ID → alarms that failed it
}

func (sc Scenario) validateAlarms() []string {
	var problems []string
	names := map[string]bool{}
	for i, a := range sc.Alarms {
		if a.Name == "" {
			problems = append(problems, fmt.Sprintf("alarms[%d]: name is empty", i))
		}
		if names[a.Name] {
			problems = append(problems, fmt.Sprintf("alarms[%d]: alarm %q listed twice", i, a.Name))
		}
		names[a.Name] = true
		if a.State != "" && !a.State.valid() {
			problems = append(problems, fmt.Sprintf("alarms[%d]: unknown state %q", i, a.State))
		}
		for j, c := range a.Changes {
			if !c.State.valid() {
				problems = append(problems, fmt.Sprintf("alarms[%d].changes[%d]: unknown state %q", i, j, c.State))
			}
			switch c.From {
			case "", AnchorUpdate, AnchorCompleted, AnchorStart:
			default:
				problems = append(problems, fmt.Sprintf("alarms[%d].changes[%d]: from must be update, completed or start, got %q", i, j, c.From))
			}
			if c.After < 0 {
				problems = append(problems, fmt.Sprintf("alarms[%d].changes[%d]: after must not be negative", i, j))
			}
		}
	}
	return problems
}

func (s *Sim) newCloudWatch(alarms []ScenarioAlarm, now time.Time) *cloudWatch {
	cw := &cloudWatch{
		alarms:     map[string]*alarm{},
		updated:    map[string]time.Time{},
		updatedDep: map[string]string{},
		completed:  map[string]time.Time{},
		triggered:  map[string][]string{},
	}
	for _, sa := range alarms {
		a := &alarm{ScenarioAlarm: sa, created: now, arn: fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", s.region, s.account, sa.Name)}
		a.Changes = append([]AlarmChange(nil), sa.Changes...)
		if a.State == "" {
			a.State = AlarmOK
		}
		if !a.Composite {
			a.Namespace = orDefault(a.Namespace, "AWS/ApplicationELB")
			a.MetricName = orDefault(a.MetricName, "HTTPCode_Target_5XX_Count")
			if a.ExtendedStatistic == "" {
				a.Statistic = orDefault(a.Statistic, "Sum")
			}
			a.ComparisonOperator = orDefault(a.ComparisonOperator, "GreaterThanThreshold")
			if a.Threshold == 0 {
				a.Threshold = 5
			}
		}
		if a.StateReason == "" {
			a.StateReason = a.reasonFor(a.State, nil, now, s)
		}
		a.history = []alarmTransition{{at: now, state: a.State, reason: a.StateReason}}
		a.pending = a.Changes
		cw.alarms[sa.Name] = a
	}
	cw.resolve(s, now)
	return cw
}

// reasonFor words a state reason as CloudWatch does.
func (a *alarm) reasonFor(st AlarmState, value *float64, at time.Time, s *Sim) string {
	if a.Composite {
		if st == AlarmInsufficientData {
			return "Unchecked: Initial alarm creation"
		}
		return fmt.Sprintf("%s transitioned to %s at %s", a.arn, st, at.UTC().Format("Monday 02 January, 2006 15:04:05 UTC"))
	}
	v := 0.0
	if st == AlarmAlarm {
		v = 2*a.Threshold + 2
	}
	if value != nil {
		v = *value
	}
	stamp := at.UTC().Format("02/01/06 15:04:05")
	switch st {
	case AlarmAlarm:
		return fmt.Sprintf("Threshold Crossed: 1 out of the last 1 datapoints [%.1f (%s)] was %s the threshold (%.1f) (minimum 1 datapoint for OK -> ALARM transition).",
			v, stamp, comparisonWords(a.ComparisonOperator, true), a.Threshold)
	case AlarmOK:
		return fmt.Sprintf("Threshold Crossed: 1 out of the last 1 datapoints [%.1f (%s)] was %s the threshold (%.1f) (minimum 1 datapoint for ALARM -> OK transition).",
			v, stamp, comparisonWords(a.ComparisonOperator, false), a.Threshold)
	}
	return "Insufficient Data: 1 datapoint was unknown."
}

func comparisonWords(op string, crossed bool) string {
	w := map[string]string{
		"GreaterThanThreshold":          "greater than",
		"GreaterThanOrEqualToThreshold": "greater than or equal to",
		"LessThanThreshold":             "less than",
		"LessThanOrEqualToThreshold":    "less than or equal to",
	}[op]
	if w == "" {
		w = "greater than"
	}
	if !crossed {
		w = "not " + w
	}
	return w
}

// anchor returns the time of a change's anchor, if it has happened.
func (cw *cloudWatch) anchor(c AlarmChange, start time.Time) (time.Time, bool) {
	var m map[string]time.Time
	switch c.From {
	case AnchorStart:
		return start, true
	case AnchorCompleted:
		m = cw.completed
	default:
		m = cw.updated
	}
	t, ok := m[c.Service]
	return t, ok
}

// resolve turns pending changes whose anchor has happened into
// transitions.
func (cw *cloudWatch) resolve(s *Sim, now time.Time) {
	for _, a := range cw.alarms {
		var still []AlarmChange
		added := false
		for _, c := range a.pending {
			t, ok := cw.anchor(c, a.created)
			if !ok {
				still = append(still, c)
				continue
			}
			at := t.Add(c.After.D())
			reason := c.Reason
			if reason == "" {
				reason = a.reasonFor(c.State, c.Value, at, s)
			}
			a.history = append(a.history, alarmTransition{at: at, state: c.State, reason: reason})
			added = true
		}
		a.pending = still
		if added {
			sort.SliceStable(a.history, func(i, j int) bool { return a.history[i].at.Before(a.history[j].at) })
		}
	}
}

// stateAt returns the alarm's state at t: its value, reason and when it
// last changed.
func (a *alarm) stateAt(t time.Time) alarmTransition {
	cur := a.history[0]
	for _, tr := range a.history[1:] {
		if tr.at.After(t) {
			break
		}
		if tr.state != cur.state {
			cur = tr
		}
	}
	return cur
}

// noteUpdateLocked records that UpdateService started deployment d of svc.
func (s *Sim) noteUpdateLocked(svc *service, d *deployment, now time.Time) {
	cw := s.cw
	if _, ok := cw.updated[svc.name]; ok {
		return
	}
	cw.updated[svc.name] = now
	cw.updatedDep[svc.name] = d.id
	if cw.firstSvc == "" {
		cw.firstSvc = svc.name
		cw.updated[""] = now
	}
	cw.resolve(s, now)
}

// noteCompletedLocked records that deployment d of svc reached COMPLETED.
func (s *Sim) noteCompletedLocked(svc *service, d *deployment, now time.Time) {
	cw := s.cw
	if cw.updatedDep[svc.name] != d.id {
		return
	}
	if _, ok := cw.completed[svc.name]; ok {
		return
	}
	cw.completed[svc.name] = now
	if cw.firstSvc == svc.name {
		cw.completed[""] = now
	}
	cw.resolve(s, now)
}

// nextAlarmEventLocked is the next time after now an alarm changes state
// or an ECS alarm bake ends (zero if none).
func (s *Sim) nextAlarmEventLocked(now time.Time) time.Time {
	var next time.Time
	earliest := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, a := range s.cw.alarms {
		for _, tr := range a.history {
			earliest(tr.at)
		}
	}
	for _, cl := range s.cOrder {
		for _, svc := range cl.sOrder {
			for _, d := range svc.deps {
				earliest(d.bakeUntil)
			}
		}
	}
	return next
}

// alarmsWatched reports whether ECS watches deployment alarms on svc.
func (svc *service) alarmsWatched() bool {
	return svc.alarms != nil && svc.alarms.Enable && len(svc.alarms.AlarmNames) > 0
}

// alarmBakeOver reports whether ECS's own bake after a steady deployment
// of a service with deployment alarms is over (immediately true without
// them). The bake starts the first time it is asked.
func (s *Sim) alarmBakeOver(svc *service, d *deployment, now time.Time) bool {
	if !svc.alarmsWatched() {
		return true
	}
	if d.bakeUntil.IsZero() {
		d.bakeUntil = now.Add(s.timings.AlarmBake.D())
	}
	return !now.Before(d.bakeUntil)
}

// triggeredAlarms returns the service's deployment alarms that went into
// ALARM since since, as of now.
func (s *Sim) triggeredAlarms(svc *service, since, now time.Time) []string {
	if !svc.alarmsWatched() {
		return nil
	}
	var out []string
	for _, name := range svc.alarms.AlarmNames {
		a, ok := s.cw.alarms[name]
		if !ok {
			continue
		}
		st := a.stateAt(now)
		if st.state == AlarmAlarm && !st.at.Before(since) {
			out = append(out, name)
		}
	}
	return out
}

// checkDeploymentAlarms fails the PRIMARY rolling deployment of svc when
// one of its deployment alarms went into ALARM while it was in progress
// (including ECS's bake), and rolls back when the service says so, with
// the events ECS writes. It reports whether anything changed.
func (s *Sim) checkDeploymentAlarms(svc *service, now time.Time) bool {
	if !svc.alarmsWatched() || svc.status != "ACTIVE" || len(svc.deps) == 0 {
		return false
	}
	d := svc.deps[0]
	if d.rollout != types.DeploymentRolloutStateInProgress || d.ecsRollback {
		return false
	}
	names := s.triggeredAlarms(svc, d.createdAt, now)
	if len(names) == 0 {
		return false
	}
	d.rollout = types.DeploymentRolloutStateFailed
	d.reason = fmt.Sprintf("ECS deployment alarm(s) triggered: %s.", strings.Join(names, ", "))
	s.cw.triggered[d.id] = names
	d.updatedAt = now
	s.event(svc, now, fmt.Sprintf("(service %s) (deployment %s) deployment failed: alarm detected.", svc.name, d.id))
	if s.stagedAlarms(svc, d, names, now) {
		return true
	}
	if svc.alarms.Rollback {
		s.rollBackLocked(svc, d, now, "ECS deployment alarms")
	}
	return true
}

// SetAlarmState changes an alarm's state now (as `aws cloudwatch
// set-alarm-state` does), with reason (default: worded as CloudWatch
// words it). It reports whether the alarm exists.
func (s *Sim) SetAlarmState(name string, state AlarmState, reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.cw.alarms[name]
	if !ok {
		return false
	}
	now := time.Now()
	if reason == "" {
		reason = a.reasonFor(state, nil, now, s)
	}
	a.history = append(a.history, alarmTransition{at: now, state: state, reason: reason})
	sort.SliceStable(a.history, func(i, j int) bool { return a.history[i].at.Before(a.history[j].at) })
	s.wake()
	return true
}

// AlarmChanged is one state change of an alarm, for tests.
type AlarmChanged struct {
	At     time.Time
	State  AlarmState
	Reason string
}

// AlarmHistory returns an alarm's states up to now: the initial one
// first, then each change.
func (s *Sim) AlarmHistory(name string) []AlarmChanged {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.cw.alarms[name]
	if !ok {
		return nil
	}
	now := time.Now()
	var out []AlarmChanged
	for i, tr := range a.history {
		if tr.at.After(now) {
			break
		}
		if i > 0 && tr.state == out[len(out)-1].State {
			continue
		}
		out = append(out, AlarmChanged{At: tr.at, State: tr.state, Reason: tr.reason})
	}
	return out
}

// TriggeredAlarmNames returns the deployment alarms that failed a
// deployment (nil when none did), as ECS reports them in the service
// deployment's alarms.triggeredAlarmNames.
func (s *Sim) TriggeredAlarmNames(deploymentID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cw.triggered[deploymentID]...)
}
