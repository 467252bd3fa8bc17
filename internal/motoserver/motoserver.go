// Package motoserver starts moto_server, an independent AWS emulator, on
// a free loopback port for contract tests.
package motoserver

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Start runs moto_server on 127.0.0.1 with the extra environment (e.g.
// MOTO_ECS_SERVICE_RUNNING=2) and returns its URL. The server is stopped
// when the test ends. Without moto_server on PATH the test is skipped,
// except under CI (CI=true), where that is a failure: CI must install it.
//
// moto_server binds the port itself (-p 0: the kernel picks a free one)
// and the URL is the one it prints ("Running on http://127.0.0.1:PORT").
// Choosing a free port here and handing it to moto would leave a window
// between closing our probe listener and moto's bind in which another
// test's server (a simulator, or another moto_server) could take the
// port; the test would then talk to that server.
func Start(t testing.TB, env ...string) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("moto_server is not installed (pip install 'moto[server]'): %v", err)
		}
		t.Skipf("moto_server not on PATH (pip install 'moto[server]'): %v", err)
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		t.Fatalf("start moto_server: %v", err)
	}
	pw.Close()
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited: // reaped: its process group ID may be someone else's now
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		<-exited
		pr.Close()
	})

	// Read moto's output (kept for the failure message) until it names
	// its address; keep draining it afterwards so moto never blocks on a
	// full pipe.
	found := make(chan string, 1)
	out := &syncBuilder{}
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			out.add(line)
			if m := runningOn.FindStringSubmatch(line); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
	}()
	var url string
	select {
	case url = <-found:
	case <-exited:
		t.Fatalf("moto_server exited before it served; output:\n%s", out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("moto_server did not say where it serves within 30s; output:\n%s", out.String())
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("moto_server exited; output:\n%s", out.String())
		default:
		}
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("moto_server did not answer on %s within 30s; output:\n%s", url, out.String())
	return ""
}

// runningOn matches the line in which moto_server (werkzeug) names the
// address it bound.
var runningOn = regexp.MustCompile(`Running on (http://127\.0\.0\.1:[0-9]+)`)

// syncBuilder collects output lines from one goroutine for another.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) add(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(line)
	s.b.WriteByte('\n')
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
