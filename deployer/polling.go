package deployer

import (
	"time"

	"github.com/sethvargo/go-retry"
)

// backoffFactory builds a fresh backoff for each polling loop: go-retry
// backoffs carry state and must not be shared between loops.
type backoffFactory func() retry.Backoff

// pollJitterPercent spreads polls of parallel deploys sharing an account
// (and its DescribeServices rate limit) so they do not poll in lockstep.
const pollJitterPercent = 10

// constantPolling is the watch loop's schedule: one poll every interval,
// ±10% jitter, for as long as the loop's context allows (go-retry makes
// the first poll immediately, then one after each wait).
//
// The interval is deliberately constant. Adaptive schedules (a short
// interval after the task counts change or while tasks are pending, a
// long one otherwise) were measured against constant intervals on
// recorded rollouts (bench/replay_test.go, BENCHMARKS.md): none lowered
// the detection latency without raising the call rate, because when a
// task will fail is not predictable from the counts, and for an event
// at an unpredictable time evenly spaced polls give the lowest latency
// for a given number of calls.
func constantPolling(interval time.Duration) backoffFactory {
	return func() retry.Backoff {
		return retry.WithJitterPercent(pollJitterPercent, retry.NewConstant(interval))
	}
}
