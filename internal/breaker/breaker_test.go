package breaker

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestThreshold(t *testing.T) {
	count := func(v int32) *types.ThresholdConfiguration {
		return &types.ThresholdConfiguration{Type: types.ThresholdTypeCount, Value: v}
	}
	bounded := func(v int32) *types.ThresholdConfiguration {
		return &types.ThresholdConfiguration{Type: types.ThresholdTypeBoundedPercent, Value: v}
	}
	unbounded := func(v int32) *types.ThresholdConfiguration {
		return &types.ThresholdConfiguration{Type: types.ThresholdTypeUnboundedPercent, Value: v}
	}
	tests := []struct {
		name    string
		tc      *types.ThresholdConfiguration
		desired int32
		want    int32
		formula string
	}{
		{"default, 2 tasks: the minimum 3", nil, 2, 3, "BOUNDED_PERCENT 50 of 2 tasks = 1, raised to the minimum 3"},
		{"default, 10 tasks", nil, 10, 5, "BOUNDED_PERCENT 50 of 10 tasks = 5"},
		{"default, 7 tasks: rounded up", nil, 7, 4, "BOUNDED_PERCENT 50 of 7 tasks = 4"},
		{"default, 1000 tasks: the maximum 200", nil, 1000, 200, "BOUNDED_PERCENT 50 of 1000 tasks = 500, capped at 200"},
		{"default, 0 tasks", nil, 0, 3, "BOUNDED_PERCENT 50 of 0 tasks = 0, raised to the minimum 3"},
		{"bounded 100 of 10", bounded(100), 10, 10, "BOUNDED_PERCENT 100 of 10 tasks = 10"},
		{"bounded 10 of 4: the minimum", bounded(10), 4, 3, "BOUNDED_PERCENT 10 of 4 tasks = 1, raised to the minimum 3"},
		{"unbounded 50 of 1000: past 200", unbounded(50), 1000, 500, "UNBOUNDED_PERCENT 50 of 1000 tasks = 500"},
		{"unbounded 10 of 4: below 3", unbounded(10), 4, 1, "UNBOUNDED_PERCENT 10 of 4 tasks = 1"},
		{"unbounded 0 %: at least 1", unbounded(0), 4, 1, "UNBOUNDED_PERCENT 0 of 4 tasks = 0, raised to 1"},
		{"count 1", count(1), 10, 1, "COUNT 1"},
		{"count 250: no bounds", count(250), 10, 250, "COUNT 250"},
		{"type omitted: BOUNDED_PERCENT", &types.ThresholdConfiguration{Value: 100}, 8, 8, "BOUNDED_PERCENT 100 of 8 tasks = 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Of(&types.DeploymentCircuitBreaker{Enable: true, Rollback: true, ThresholdConfiguration: tt.tc})
			if got := r.Threshold(tt.desired); got != tt.want {
				t.Errorf("Threshold(%d): got %d, want %d", tt.desired, got, tt.want)
			}
			if got := r.Formula(tt.desired); got != tt.formula {
				t.Errorf("Formula(%d): got %q, want %q", tt.desired, got, tt.formula)
			}
		})
	}
}

func TestOf(t *testing.T) {
	if r := Of(nil); r.Enabled || r.RollsBack() || !r.ResetOnHealthy || r.Type != types.ThresholdTypeBoundedPercent || r.Value != 50 {
		t.Errorf("Of(nil) = %+v, want off with the documented defaults", r)
	}
	r := Of(&types.DeploymentCircuitBreaker{Enable: true, Rollback: true, ResetOnHealthyTask: aws.Bool(false)})
	if !r.RollsBack() || r.ResetOnHealthy {
		t.Errorf("Of(enable, rollback, resetOnHealthyTask false) = %+v", r)
	}
	if got, want := r.Counting(), "failures add up over the whole deployment (resetOnHealthyTask false)"; got != want {
		t.Errorf("Counting: got %q, want %q", got, want)
	}
	if r := Of(&types.DeploymentCircuitBreaker{Enable: true}); r.RollsBack() {
		t.Errorf("enable without rollback rolls back: %+v", r)
	}
}
