package ecssimtest

import (
	"net/http"
	"net/http/httptest"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// Client is an HTTP client for the SDK (its Options.HTTPClient) that
// hands each request straight to sim, in memory, on the caller's
// goroutine. With no sockets and no server goroutines, a simulator made
// with ecssim.New inside a testing/synctest bubble runs on the bubble's
// fake clock: a ten-minute bake takes no real time. The BaseEndpoint can
// be any URL ("http://sim"). Faults that drop connections do not apply.
type Client struct{ Sim *ecssim.Sim }

// Do serves r with the simulator.
func (c Client) Do(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	c.Sim.ServeHTTP(rec, r)
	return rec.Result(), nil
}
