// Package deployer ships a new revision of an ECS service with a rolling
// update, watches the deployment it started (by ID) and rolls back to the
// exact previous revision when that deployment fails or times out.
//
// The package never reads the environment and never writes GitHub workflow
// commands: callers pass a Config and AWS clients, receive progress as
// Events, and get one Result back.
package deployer

import (
	"context"
	"time"
)

// Deployer runs deployments against one ECS endpoint.
type Deployer struct {
	ecs    ecsAPI
	logs   logsAPI
	report func(Event)
	now    func() time.Time
}

// Option configures a Deployer.
type Option func(*Deployer)

// WithReporter sets the function that receives progress events. It is
// called synchronously from the deploying goroutine.
func WithReporter(f func(Event)) Option { return func(d *Deployer) { d.report = f } }

// New returns a Deployer using the given ECS client (usually *ecs.Client)
// and CloudWatch Logs client (usually *cloudwatchlogs.Client; may be nil,
// which turns log excerpts off).
func New(ecsClient ecsAPI, logsClient logsAPI, opts ...Option) *Deployer {
	d := &Deployer{ecs: ecsClient, logs: logsClient, report: func(Event) {}, now: time.Now}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Deploy runs preflight, register, update, watch and (on failure) rollback.
// See the package documentation for the outcomes.
func (d *Deployer) Deploy(ctx context.Context, cfg Config) (Result, error) {
	panic("not implemented yet")
}
