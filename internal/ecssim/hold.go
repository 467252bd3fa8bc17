package ecssim

import (
	"context"
	"net/http"
	"sync"
)

// Hold keeps the calls to one operation in flight: each call that arrives
// while the hold is on waits, before it is answered, until Release (or
// until its client gives up, which is recorded as "RequestCancelled").
// Tests use it to act while a call is certainly in flight, without sleeps.
type Hold struct {
	op       string
	mu       sync.Mutex
	n        int           // calls held so far
	held     chan struct{} // closed when the first call is held
	released chan struct{} // closed by Release
	once     sync.Once
}

// Hold holds every call to op (e.g. "RegisterTaskDefinition",
// "UpdateService") that arrives from now until the returned Hold is
// released. Calls already being answered are not affected.
func (s *Sim) Hold(op string) *Hold {
	h := &Hold{op: op, held: make(chan struct{}), released: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds = append(s.holds, h)
	return h
}

// Op returns the operation held.
func (h *Hold) Op() string { return h.op }

// Held returns a channel closed once a call to the operation is held.
func (h *Hold) Held() <-chan struct{} { return h.held }

// Count returns how many calls have been held so far (released or not).
func (h *Hold) Count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// Wait blocks until a call is held or ctx is done, and returns ctx's error
// in the latter case.
func (h *Hold) Wait(ctx context.Context) error {
	select {
	case <-h.held:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release lets the held calls, and every later call, proceed. It may be
// called more than once.
func (h *Hold) Release() { h.once.Do(func() { close(h.released) }) }

// holdsForLocked returns the holds on op not yet released, and forgets
// the released ones.
func (s *Sim) holdsForLocked(op string) []*Hold {
	var out []*Hold
	kept := s.holds[:0]
	for _, h := range s.holds {
		select {
		case <-h.released:
			continue
		default:
		}
		kept = append(kept, h)
		if h.op == op {
			out = append(out, h)
		}
	}
	clear(s.holds[len(kept):])
	s.holds = kept
	return out
}

// wait holds one call until h is released (true), or until the request
// is cancelled or the simulator closes (false).
func (h *Hold) wait(r *http.Request, closed <-chan struct{}) bool {
	h.mu.Lock()
	h.n++
	if h.n == 1 {
		close(h.held)
	}
	h.mu.Unlock()
	select {
	case <-h.released:
		return true
	case <-r.Context().Done():
		return false
	case <-closed:
		return false
	}
}
