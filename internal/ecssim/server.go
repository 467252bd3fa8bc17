package ecssim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Server is a Sim listening on a TCP address, like httptest.Server.
type Server struct {
	// URL is the base URL, e.g. "http://127.0.0.1:43567", for the SDK's
	// BaseEndpoint or AWS_ENDPOINT_URL_ECS / AWS_ENDPOINT_URL_CLOUDWATCH_LOGS.
	URL string
	// Sim is the simulator behind the server.
	Sim *Sim

	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// Start builds a Sim from sc and serves it on addr (e.g. "127.0.0.1:0"
// for a random port). Close stops both.
func Start(addr string, sc Scenario) (*Server, error) {
	sim, err := New(sc)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		sim.Close()
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := &Server{
		URL:  "http://" + ln.Addr().String(),
		Sim:  sim,
		srv:  &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops accepting requests, closes open connections and stops the
// simulator's clock.
func (s *Server) Close() {
	s.srv.Close()
	<-s.done
	s.Sim.Close()
}

// Serve runs the simulator standalone on addr with the scenario file at
// scenarioPath, printing to w the URL and how to point awscli and the SDK
// at it. It serves until ctx is done, then shuts down and returns nil; it
// returns an error if the scenario is invalid or addr cannot be listened on.
func Serve(ctx context.Context, addr, scenarioPath string, w io.Writer) error {
	sc, err := LoadScenario(scenarioPath)
	if err != nil {
		return err
	}
	s, err := Start(addr, sc)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "ECS simulator listening on %s (scenario %s)\n\n", s.URL, scenarioPath)
	fmt.Fprintf(w, "Point the AWS SDK (or ecs-rollout) at it:\n")
	fmt.Fprintf(w, "  export AWS_ENDPOINT_URL_ECS=%s AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=%s AWS_ENDPOINT_URL_CLOUDWATCH=%s\n", s.URL, s.URL, s.URL)
	fmt.Fprintf(w, "  export AWS_ENDPOINT_URL_ECR=%s AWS_ENDPOINT_URL_SECRETS_MANAGER=%s AWS_ENDPOINT_URL_SSM=%s AWS_ENDPOINT_URL_IAM=%s\n", s.URL, s.URL, s.URL, s.URL)
	fmt.Fprintf(w, "  export AWS_REGION=%s AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test\n\n", s.Sim.region)
	fmt.Fprintf(w, "or use awscli:\n")
	for _, cl := range s.Sim.cOrder {
		for _, svc := range cl.sOrder {
			fmt.Fprintf(w, "  aws --endpoint-url %s --region %s ecs describe-services --cluster %s --services %s\n", s.URL, s.Sim.region, cl.name, svc.name)
			fmt.Fprintf(w, "  aws --endpoint-url %s --region %s ecs list-service-deployments --cluster %s --service %s\n", s.URL, s.Sim.region, cl.name, svc.name)
		}
	}
	fmt.Fprintf(w, "\nPress Ctrl-C to stop.\n")
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = s.srv.Shutdown(shutdownCtx)
	<-s.done
	s.Sim.Close()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shut down simulator: %w", err)
	}
	return nil
}
