package action

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemo runs `ecs-rollout demo`: a good image succeeds, a crashing one
// is rolled back, and both summaries land in the named file.
func TestDemo(t *testing.T) {
	t.Parallel()
	summary := filepath.Join(t.TempDir(), "demo.md")
	r := feRunMain(t.Context(), []string{"demo", "--summary", summary}, map[string]string{})
	out := r.stdout.String()
	if r.code != exitOK {
		t.Fatalf("exit code: got %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, out, r.stderr)
	}
	for _, want := range []string{
		"web:good: succeeded (as expected)",
		"web:crash: rolled-back (as expected)",
		"web:bake-crash: rolled-back (as expected)",
		"payment:v3: failed (as expected)",
		"Rollback requested: StopDeployment",
		"Watch rollback of CodeDeploy deployment d-",
		"tag v3 was never pushed to repository payment",
		"The verify phase stopped it in",
		"BAKE_TIME, production 100 % → web-bluegreen:2",
		"Rollback requested: StopServiceDeployment ROLLBACK of deployment",
		"ROLLBACK_SUCCESSFUL",
		"== Roll back to web:2 ==",
		"Job summaries written to " + summary,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	md := readText(t, summary)
	first := strings.Index(md, "## ✅ Deployed: ")
	second := strings.Index(md, "## ↩️ Rolled back: ")
	if first != 0 || second <= first {
		t.Errorf("summary file: got headlines at %d and %d, want the success first and then the rollback:\n%s", first, second, md)
	}
}

// TestSim runs `ecs-rollout sim` with the built-in scenario until its
// context is cancelled (as SIGINT would).
func TestSim(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr lockedBuffer
	done := make(chan int)
	go func() {
		done <- realMain(ctx, []string{"sim", "--addr", "127.0.0.1:0"}, func(string) string { return "" }, &stdout, &stderr)
	}()
	eventually(5*time.Second, func() bool { return strings.Contains(stdout.String(), "listening on http://127.0.0.1:") })
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit code: got %d, want 0\nstderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "listening on http://127.0.0.1:") {
		t.Errorf("sim did not say where it listens:\n%s", stdout.String())
	}
}
