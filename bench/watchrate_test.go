package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// watchRun is one deployment watched to its end: the time from the call
// that started it to the step's end, and the calls made meanwhile, by
// operation.
type watchRun struct {
	watch time.Duration
	calls map[string]int
	ok    bool // the step ended as the benchmark expects
}

// newWatchRun counts the simulator's calls from the first call of
// startOp (UpdateService, CreateDeployment) to end, leaving out every
// call of startOp itself (a step of ten services makes ten).
func newWatchRun(calls []ecssim.Call, startOp string, end time.Time, ok bool) watchRun {
	r := watchRun{calls: map[string]int{}, ok: ok}
	var start time.Time
	for _, c := range calls {
		if c.Op == startOp {
			if start.IsZero() {
				start = c.At
			}
			continue
		}
		if !start.IsZero() {
			r.calls[c.Op]++
		}
	}
	r.watch = end.Sub(start)
	return r
}

// watchSummary is the mean over the runs that ended as expected.
type watchSummary struct {
	n     int       // runs counted
	secs  float64   // mean watch, seconds
	rates []float64 // mean calls/s, one per group given to summarizeWatch
	ops   string    // mean calls by operation, "DescribeServices 14.0, …"
}

// summarizeWatch averages the runs that ended as expected (each other
// run is an error: failed says what it was). Each group selects the
// operations whose calls/s it measures; with no group, one rate counts
// every call.
func summarizeWatch(b *testing.B, runs []watchRun, failed string, groups ...func(op string) bool) watchSummary {
	if len(groups) == 0 {
		groups = []func(string) bool{func(string) bool { return true }}
	}
	s := watchSummary{rates: make([]float64, len(groups))}
	total := map[string]int{}
	var secs float64
	for _, r := range runs {
		if !r.ok {
			b.Errorf("%s", failed)
			continue
		}
		for i, in := range groups {
			sum := 0
			for op, k := range r.calls {
				if in(op) {
					sum += k
				}
			}
			s.rates[i] += float64(sum) / r.watch.Seconds()
		}
		for op, k := range r.calls {
			total[op] += k
		}
		secs += r.watch.Seconds()
		s.n++
	}
	if s.n == 0 {
		return s
	}
	for i := range s.rates {
		s.rates[i] /= float64(s.n)
	}
	s.secs = secs / float64(s.n)
	var ops []string
	for op, k := range total {
		ops = append(ops, fmt.Sprintf("%s %.1f", op, float64(k)/float64(s.n)))
	}
	s.ops = strings.Join(sortedStrings(ops), ", ")
	return s
}
