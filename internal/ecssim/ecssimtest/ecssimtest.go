// Package ecssimtest starts the ECS simulator for tests, as net/http/httptest
// does for HTTP servers. It is the only package of the simulator that
// imports testing, so the shipped binary (whose demo uses ecssim.Start)
// does not link it.
package ecssimtest

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-rollout/ecs-rollout/internal/ecssim"
)

// Region is the AWS region of the clients made here.
const Region = "us-east-1"

// testCredentials are static credentials: the simulator checks none.
func testCredentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider("AKIDSIM", "sim-secret", "")
}

// NewServer starts a simulator of sc on a random port of 127.0.0.1 and
// closes it when the test ends. It fails the test if the scenario is
// invalid.
func NewServer(t testing.TB, sc ecssim.Scenario) *ecssim.Server {
	t.Helper()
	s, err := ecssim.Start("127.0.0.1:0", sc)
	if err != nil {
		t.Fatalf("start ecs simulator: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Clients returns ECS and CloudWatch Logs clients of the AWS SDK pointed at
// srv, with static test credentials and the SDK's default retries.
func Clients(srv *ecssim.Server) (*ecs.Client, *cloudwatchlogs.Client) {
	creds := testCredentials()
	return ecs.New(ecs.Options{BaseEndpoint: aws.String(srv.URL), Region: Region, Credentials: creds}),
		cloudwatchlogs.New(cloudwatchlogs.Options{BaseEndpoint: aws.String(srv.URL), Region: Region, Credentials: creds})
}

// Hold holds every call to op on srv from now on (see ecssim.Sim.Hold) and
// releases them when the test ends, so a failing test never leaves a
// request hanging.
func Hold(t testing.TB, srv *ecssim.Server, op string) *ecssim.Hold {
	t.Helper()
	h := srv.Sim.Hold(op)
	t.Cleanup(h.Release)
	return h
}

// AwaitHeld waits until h holds a call, that is until that call is in
// flight: it has reached the simulator and is not answered. It fails the
// test after d.
func AwaitHeld(t testing.TB, h *ecssim.Hold, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := h.Wait(ctx); err != nil {
		t.Fatalf("no %s call was held within %s", h.Op(), d)
	}
}
