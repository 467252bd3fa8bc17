package deployer

import (
	"time"

	"github.com/sethvargo/go-retry"
)

// backoffFactory builds a fresh backoff for each polling loop: go-retry
// backoffs carry state and must not be shared between loops.
type backoffFactory func() retry.Backoff

// adaptivePolling polls at the configured interval with ±10% jitter, so
// that parallel deploys sharing an account do not poll in lockstep.
func adaptivePolling(interval time.Duration) backoffFactory {
	return func() retry.Backoff {
		return retry.WithJitterPercent(10, retry.NewConstant(interval))
	}
}
