package ecssim

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// heldScale starts a simulator, holds UpdateService and sends one that
// adds a task to demo/web with ctx. It returns once the call is held,
// with the desired count before and the channel the call's error arrives on.
func heldScale(t *testing.T, ctx context.Context) (srv *Server, c *ecs.Client, h *Hold, before int32, done <-chan error) {
	t.Helper()
	srv = NewServer(t, demoScenario(t))
	c, _ = clients(srv, 1)
	h = srv.Sim.Hold("UpdateService")
	t.Cleanup(h.Release)
	before = describeService(t, c, "demo", "web").DesiredCount
	errc := make(chan error, 1)
	go func() {
		_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("demo"), Service: aws.String("web"), DesiredCount: aws.Int32(before + 1)})
		errc <- err
	}()
	waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Wait(waitCtx); err != nil {
		t.Fatalf("no %s call was held: %v", h.Op(), err)
	}
	return srv, c, h, before, errc
}

// TestHold: a held call is in flight (arrived, not answered, nothing
// changed) until Release; a client that gives up while held changes
// nothing and is recorded as RequestCancelled; closing the server frees
// a held call.
func TestHold(t *testing.T) {
	t.Parallel()

	t.Run("released", func(t *testing.T) {
		t.Parallel()
		srv, c, h, before, done := heldScale(t, context.Background())
		if got := len(srv.Sim.MutatingCalls()); got != 0 {
			t.Errorf("while held: %d mutating calls answered, want 0", got)
		}
		if got := describeService(t, c, "demo", "web").DesiredCount; got != before {
			t.Errorf("while held: desired count %d, want %d (unchanged)", got, before)
		}
		if got := h.Count(); got != 1 {
			t.Errorf("Count: got %d, want 1", got)
		}
		h.Release()
		if err := <-done; err != nil {
			t.Fatalf("the released UpdateService: %v", err)
		}
		if got := describeService(t, c, "demo", "web").DesiredCount; got != before+1 {
			t.Errorf("after release: desired count %d, want %d", got, before+1)
		}
		// Released for good: later calls are not held.
		if _, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("demo"), Service: aws.String("web"), DesiredCount: aws.Int32(before)}); err != nil {
			t.Fatalf("UpdateService after release: %v", err)
		}
	})

	t.Run("client gives up", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		srv, c, _, before, done := heldScale(t, ctx)
		cancel()
		if err := <-done; err == nil {
			t.Fatal("UpdateService cancelled while held: got no error")
		}
		// The handler records the call once it sees the client gone.
		deadline := time.Now().Add(30 * time.Second)
		for len(srv.Sim.MutatingCalls()) == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		calls := srv.Sim.MutatingCalls()
		if len(calls) != 1 || calls[0].ErrCode != "RequestCancelled" {
			t.Errorf("recorded mutating calls %+v, want one RequestCancelled", calls)
		}
		if got := describeService(t, c, "demo", "web").DesiredCount; got != before {
			t.Errorf("desired count %d, want %d (unchanged)", got, before)
		}
	})

	t.Run("server closed", func(t *testing.T) {
		t.Parallel()
		srv, _, _, _, done := heldScale(t, context.Background())
		srv.Close() // must not wait for a release
		if err := <-done; err == nil {
			t.Error("UpdateService held when the server closed: got no error")
		}
	})
}
