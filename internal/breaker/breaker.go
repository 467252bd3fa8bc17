// Package breaker is ECS's deployment circuit breaker as the API
// reference documents it: the failure threshold a service's
// deploymentCircuitBreaker (thresholdConfiguration) gives for a desired
// count, and whether a healthy task resets the failure count
// (resetOnHealthyTask). The simulator (internal/ecssim) trips by it and
// the deployer reasons with it (the plan, whether ECS is about to roll
// back, the reason it gives).
//
// Sources (Amazon ECS API reference):
//   - ThresholdConfiguration: "For the percentage types (BOUNDED_PERCENT
//     and UNBOUNDED_PERCENT), Amazon ECS multiplies value by the latest
//     service desired count. For COUNT, Amazon ECS uses value directly as
//     the threshold. The default is BOUNDED_PERCENT", value "The default
//     is 50";
//   - the ThresholdType enum: BOUNDED_PERCENT clamps "to a minimum of 3
//     and a maximum of 200", UNBOUNDED_PERCENT is "without applying the 3
//     -to- 200 bounds";
//   - ServiceDeploymentCircuitBreaker.threshold: "a minimum threshold of 3
//     and a maximum threshold of 200 ... 0.5 * desired task count" (the
//     default, 50 %);
//   - DeploymentCircuitBreaker.resetOnHealthyTask: "When set to true, a
//     task that reaches a healthy state resets the failure count to 0.
//     When set to false, Amazon ECS does not reset the failure count. The
//     default is true."
//
// value is a percentage of the desired count for the percentage types (50
// is the documented 0.5 × desired). The rounding of a fractional
// threshold is not documented: it is rounded up here, so a threshold is
// never below the documented product; an UNBOUNDED_PERCENT threshold is
// at least 1 (a breaker that trips at zero failures would fail every
// deployment).
package breaker

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Documented defaults and bounds.
const (
	DefaultType  = types.ThresholdTypeBoundedPercent
	DefaultValue = 50
	MinBounded   = 3
	MaxBounded   = 200
)

// Rule is a service's circuit-breaker setting with ECS's defaults filled
// in.
type Rule struct {
	Enabled        bool
	Rollback       bool
	ResetOnHealthy bool
	Type           types.ThresholdType
	Value          int32
}

// Of returns the rule of a service's deploymentCircuitBreaker (nil: off).
func Of(cb *types.DeploymentCircuitBreaker) Rule {
	r := Rule{ResetOnHealthy: true, Type: DefaultType, Value: DefaultValue}
	if cb == nil {
		return r
	}
	r.Enabled, r.Rollback = cb.Enable, cb.Rollback
	if cb.ResetOnHealthyTask != nil {
		r.ResetOnHealthy = *cb.ResetOnHealthyTask
	}
	if tc := cb.ThresholdConfiguration; tc != nil {
		if tc.Type != "" {
			r.Type = tc.Type
		}
		r.Value = tc.Value
	}
	return r
}

// RollsBack reports whether ECS fails and rolls back a deployment by
// itself under this rule.
func (r Rule) RollsBack() bool { return r.Enabled && r.Rollback }

// Threshold is the number of failed tasks at which the breaker fails a
// deployment of a service with this desired count.
func (r Rule) Threshold(desired int32) int32 {
	if r.Type == types.ThresholdTypeCount {
		return max(r.Value, 1)
	}
	n := ceilPercent(r.Value, desired)
	if r.Type == types.ThresholdTypeUnboundedPercent {
		return int32(max(n, 1))
	}
	return int32(min(max(n, MinBounded), MaxBounded))
}

// ceilPercent is ⌈value % of desired⌉.
func ceilPercent(value, desired int32) int64 {
	p := int64(value) * int64(max(desired, 0))
	return (p + 99) / 100
}

// Formula says how Threshold came about, for people: "COUNT 1",
// "BOUNDED_PERCENT 50 of 4 tasks = 2, raised to the minimum 3" (value
// percent of the desired count; no percent sign, which workflow commands
// would escape).
func (r Rule) Formula(desired int32) string {
	if r.Type == types.ThresholdTypeCount {
		return fmt.Sprintf("COUNT %d", r.Value)
	}
	n, t := ceilPercent(r.Value, desired), int64(r.Threshold(desired))
	s := fmt.Sprintf("%s %d of %d %s = %d", r.Type, r.Value, desired, plural(desired), n)
	switch {
	case t > n && r.Type == types.ThresholdTypeBoundedPercent:
		s += fmt.Sprintf(", raised to the minimum %d", t)
	case t < n:
		s += fmt.Sprintf(", capped at %d", t)
	case t > n:
		s += fmt.Sprintf(", raised to %d", t)
	}
	return s
}

// Counting says how failures are counted: "a healthy task resets the
// count" or "failures add up over the whole deployment".
func (r Rule) Counting() string {
	if r.ResetOnHealthy {
		return "a healthy task resets the count"
	}
	return "failures add up over the whole deployment (resetOnHealthyTask false)"
}

func plural(n int32) string {
	if n == 1 {
		return "task"
	}
	return "tasks"
}
