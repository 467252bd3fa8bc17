package deployer

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestBatchGroupWaitsOnItsOwnDeadline: one watch's read is in flight and
// slow (a throttled call the SDK retries for a minute); another watch of
// the step that needs the same read waits for it no longer than its own
// deadline (the lock is not held across the call), and a third served
// later gets that read once it lands.
func TestBatchGroupWaitsOnItsOwnDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		calls := 0
		g := &batchGroup[string]{fresh: 10 * time.Second, now: time.Now, chunk: 10,
			fetch: func(ctx context.Context, names []string) (map[string]string, map[string]string, error) {
				calls++
				<-release // throttled, retried: a minute
				found := map[string]string{}
				for _, n := range names {
					found[n] = n + "-read"
				}
				return found, nil, nil
			}}
		g.add("web")
		g.add("worker")
		first := make(chan string)
		go func() {
			v, _, _ := g.get(context.Background(), "web")
			first <- v
		}()
		synctest.Wait() // web's read is in flight

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, _, err := g.get(ctx, "worker")
		if waited := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || waited > time.Second {
			t.Errorf("worker's get: %v after %s, want its own deadline (1s) while web's read is in flight", err, waited)
		}

		third := make(chan string)
		go func() {
			v, _, _ := g.get(context.Background(), "worker")
			third <- v
		}()
		time.Sleep(time.Minute)
		close(release)
		if v := <-first; v != "web-read" {
			t.Errorf("web got %q", v)
		}
		if v := <-third; v != "worker-read" {
			t.Errorf("worker got %q, want the read in flight", v)
		}
		if calls != 1 {
			t.Errorf("%d reads, want 1 shared by both", calls)
		}
	})
}
