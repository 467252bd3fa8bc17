package ecssimtest

import (
	"net/http"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

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

// InMemoryClients returns ECS and CloudWatch clients of the AWS SDK that
// reach sim in memory through Client (so they run on a synctest bubble's
// fake clock), with static test credentials.
func InMemoryClients(sim *ecssim.Sim) (*ecs.Client, *cloudwatch.Client) {
	creds, httpc := testCredentials(), Client{Sim: sim}
	return ecs.New(ecs.Options{BaseEndpoint: aws.String("http://sim"), Region: Region, Credentials: creds, HTTPClient: httpc}),
		cloudwatch.New(cloudwatch.Options{BaseEndpoint: aws.String("http://sim"), Region: Region, Credentials: creds, HTTPClient: httpc})
}
