// Package motoserver starts moto_server, an independent AWS emulator, on
// a free loopback port for contract tests.
package motoserver

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Start runs moto_server on 127.0.0.1 with the extra environment (e.g.
// MOTO_ECS_SERVICE_RUNNING=2) and returns its URL. The server is stopped
// when the test ends. Without moto_server on PATH the test is skipped,
// except under CI (CI=true), where that is a failure: CI must install it.
func Start(t testing.TB, env ...string) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("moto_server is not installed (pip install 'moto[server]'): %v", err)
		}
		t.Skipf("moto_server not on PATH (pip install 'moto[server]'): %v", err)
	}
	// The port is free when chosen but may be taken (by another test's
	// server) before moto binds it: moto then exits, and another port is
	// tried. Only moto's own answer (200 on /moto-api/) counts as moto.
	var out strings.Builder
	for range 5 {
		if url, ok := start(t, bin, env, &out); ok {
			return url
		}
	}
	t.Fatalf("moto_server did not start; output:\n%s", out.String())
	return ""
}

// start runs moto_server on a free port; ok is false when it exited
// before answering (its port was taken).
func start(t testing.TB, bin string, env []string, out *strings.Builder) (string, bool) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return "", false
		default:
		}
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url, true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("moto_server did not answer on %s within 30s; output:\n%s", url, out.String())
	return "", false
}
