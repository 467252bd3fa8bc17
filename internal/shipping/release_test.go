package shipping

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// testDigest is a well-formed digest for the rewrite's tests.
var testDigest = "sha256:" + strings.Repeat("0123456789abcdef", 4)

// releaseAction runs .ci/release-action.sh on file with ref and returns its
// stderr and whether it succeeded.
func releaseAction(t *testing.T, file, ref string) (string, bool) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join("..", "..", ".ci", "release-action.sh"), file, ref)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		t.Fatalf("run release-action.sh: %v", err)
	}
	return stderr.String(), err == nil
}

// copyAction copies the repository's action.yml into a new temporary
// directory and returns the copy's path.
func copyAction(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "action.yml")
	if err := os.WriteFile(path, []byte(repoFile(t, "action.yml")), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// parseYAML parses a whole YAML document into generic values.
func parseYAML(t *testing.T, name string, data []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s is not valid YAML: %v", name, err)
	}
	return doc
}

// TestReleaseActionRewrite runs the release's rewrite on a copy of
// action.yml and checks the result: valid YAML whose runs.image is the
// image by digest, the same document as action.yml in every other value
// (every input, output, default, the post-entrypoint), one changed line,
// and actionlint-clean as a local action used with every input.
func TestReleaseActionRewrite(t *testing.T) {
	t.Parallel()
	orig := []byte(repoFile(t, "action.yml"))
	file := copyAction(t)
	ref := "ghcr.io/ecs-rollout/ecs-rollout@" + testDigest
	if msg, ok := releaseAction(t, file, ref); !ok {
		t.Fatalf("release-action.sh failed:\n%s", msg)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	before, after := parseYAML(t, "action.yml", orig), parseYAML(t, "the rewritten action.yml", got)
	runs, _ := after["runs"].(map[string]any)
	if runs["image"] != "docker://"+ref {
		t.Errorf("runs.image = %v, want docker://%s", runs["image"], ref)
	}
	if runs["using"] != "docker" {
		t.Errorf("runs.using = %v, want docker", runs["using"])
	}
	if pe, _ := runs["post-entrypoint"].(string); pe != "/ecs-rollout-post" {
		t.Errorf("runs.post-entrypoint = %q, want /ecs-rollout-post (the image carries it; see the Dockerfile)", pe)
	}
	// Every other value is action.yml's: put the original image back and
	// compare the whole documents.
	runs["image"] = "Dockerfile"
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("the rewrite changed more than runs.image (-action.yml +rewritten):\n%s", diff)
	}
	for _, kind := range []string{"inputs", "outputs"} {
		if m, _ := after[kind].(map[string]any); len(m) == 0 {
			t.Errorf("the rewritten action.yml has no %s", kind)
		}
	}

	// Byte for byte, one line differs.
	ol, gl := strings.Split(string(orig), "\n"), strings.Split(string(got), "\n")
	if len(ol) != len(gl) {
		t.Fatalf("got %d lines, want %d (action.yml's)", len(gl), len(ol))
	}
	var changed []string
	for i := range ol {
		if ol[i] != gl[i] {
			changed = append(changed, ol[i]+" => "+gl[i])
		}
	}
	if diff := cmp.Diff([]string{"  image: Dockerfile =>   image: docker://" + ref}, changed); diff != "" {
		t.Errorf("changed lines (-want +got):\n%s", diff)
	}

	t.Run("actionlint", func(t *testing.T) {
		actionlintLocalAction(t, got, after)
	})

	t.Run("a second rewrite is refused", func(t *testing.T) {
		msg, ok := releaseAction(t, file, "ghcr.io/ecs-rollout/ecs-rollout@sha256:"+strings.Repeat("f", 64))
		if ok {
			t.Fatal("release-action.sh rewrote an action.yml that already names an image")
		}
		if !strings.Contains(msg, "want Dockerfile") {
			t.Errorf("got message %q, want it to say runs.image should be Dockerfile", msg)
		}
		again, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, got) {
			t.Error("a refused rewrite changed the file")
		}
	})
}

// TestReleaseActionRefuses checks that the rewrite takes an image by
// digest only, says why it refuses anything else, and leaves the file
// alone when it does.
func TestReleaseActionRefuses(t *testing.T) {
	t.Parallel()
	hex := strings.TrimPrefix(testDigest, "sha256:")
	for _, tc := range []struct {
		name, ref, want string
	}{
		{"moving tag", "ghcr.io/o/ecs-rollout:v1", "is a tag"},
		{"latest", "ghcr.io/o/ecs-rollout:latest", "is a tag"},
		{"no tag, no digest", "ghcr.io/o/ecs-rollout", "has no digest"},
		{"tag and digest", "ghcr.io/o/ecs-rollout:v1.2.3@" + testDigest, "names a tag as well as a digest"},
		{"short digest", "ghcr.io/o/ecs-rollout@sha256:" + hex[:63], "not a sha256 digest"},
		{"long digest", "ghcr.io/o/ecs-rollout@sha256:" + hex + "0", "not a sha256 digest"},
		{"uppercase digest", "ghcr.io/o/ecs-rollout@sha256:" + strings.ToUpper(hex), "not a sha256 digest"},
		{"other algorithm", "ghcr.io/o/ecs-rollout@sha512:" + hex + hex, "not a sha256 digest"},
		{"digest without algorithm", "ghcr.io/o/ecs-rollout@" + hex, "not a sha256 digest"},
		{"digest with a newline", "ghcr.io/o/ecs-rollout@" + testDigest + "\nrm -rf /", "not a sha256 digest"},
		{"uppercase owner", "ghcr.io/Owner/ecs-rollout@" + testDigest, "lowercase"},
		{"no registry", "owner/ecs-rollout@" + testDigest, "not a registry/repository name"},
		{"empty", "", "has no digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := copyAction(t)
			msg, ok := releaseAction(t, file, tc.ref)
			if ok {
				t.Fatalf("release-action.sh accepted %q", tc.ref)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("got message %q, want it to contain %q", msg, tc.want)
			}
			if got, err := os.ReadFile(file); err != nil || string(got) != repoFile(t, "action.yml") {
				t.Errorf("a refused rewrite changed the file (err %v)", err)
			}
		})
	}
}

// TestReleaseWorkflowRewrites checks that the release workflow runs the
// tested script on action.yml with the digest the build pushed, and moves
// the version tags to the commit it makes.
func TestReleaseWorkflowRewrites(t *testing.T) {
	t.Parallel()
	wf := repoFile(t, ".github/workflows/release.yml")
	for _, want := range []string{
		`bash .ci/release-action.sh action.yml "${IMAGE}@${DIGEST}"`,
		"DIGEST: ${{ steps.build.outputs.digest }}",
		`git push --atomic --force origin "${tags[@]/#/refs/tags/}"`,
	} {
		if !strings.Contains(wf, want) {
			t.Errorf("release.yml lacks %q", want)
		}
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(wf), &doc); err != nil {
		t.Fatalf("release.yml is not valid YAML: %v", err)
	}
}

// actionlintVersion is the pinned actionlint of .ci/actionlint.sh.
func actionlintVersion(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^ACTIONLINT_VERSION=(v[0-9.]+)$`).FindStringSubmatch(repoFile(t, ".ci/actionlint.sh"))
	if m == nil {
		t.Fatal(".ci/actionlint.sh: no ACTIONLINT_VERSION=vX.Y.Z line")
	}
	return m[1]
}

// actionlintBinary returns the pinned actionlint, installed with `go
// install` into the same place .ci/actionlint.sh uses when it is not there
// yet (CI has the module proxy; the test fails, never skips, without it).
func actionlintBinary(t *testing.T) string {
	t.Helper()
	version := actionlintVersion(t)
	goEnv := func(name string) string {
		out, err := exec.Command("go", "env", name).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	gobin := goEnv("GOBIN")
	if gobin == "" {
		gobin = filepath.Join(goEnv("GOPATH"), "bin")
	}
	bin := filepath.Join(gobin, "actionlint")
	if out, err := exec.Command(bin, "--version").Output(); err == nil && strings.HasPrefix(string(out), version+"\n") {
		return bin
	}
	cmd := exec.Command("go", "install", "github.com/rhysd/actionlint/cmd/actionlint@"+version)
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOBIN="+gobin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install actionlint %s (as .ci/actionlint.sh does): %v\n%s", version, err, out)
	}
	return bin
}

// actionlintLocalAction lints action (the metadata, parsed as doc) the way
// actionlint reads an action: as a local action (`uses: ./`) of a
// workflow that passes every input. actionlint then checks the metadata
// (name, description, branding, runs for a docker action: an image on a
// registry or a Dockerfile) and every `with:` against the inputs. A control
// run with one unknown input proves the metadata was read.
func actionlintLocalAction(t *testing.T, action []byte, doc map[string]any) {
	bin := actionlintBinary(t)
	inputs, _ := doc["inputs"].(map[string]any)
	var with strings.Builder
	for name := range inputs {
		with.WriteString("          " + name + ": x\n")
	}
	workflow := func(extra string) string {
		return "name: use\non: push\npermissions: {}\njobs:\n  use:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: ./\n        with:\n" + with.String() + extra
	}
	// The entrypoints are paths inside the image, which actionlint looks
	// for in the repository: the one known false positive that
	// .ci/actionlint.sh ignores too.
	ignore := `file "/ecs-rollout(-post)?" does not exist in "[^"]*"\. it is specified at "(pre-|post-)?entrypoint" key`
	lint := func(wf string) (string, bool) {
		// A repository of its own: actionlint finds a project (and reads
		// local actions) only under a directory holding .git.
		dir := t.TempDir()
		for _, sub := range []string{".git", filepath.Join(".github", "workflows")} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "action.yml"), action, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".github", "workflows", "use.yml"), []byte(wf), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-no-color", "-shellcheck=", "-pyflakes=", "-ignore", ignore, filepath.Join(".github", "workflows", "use.yml"))
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if _, exit := err.(*exec.ExitError); err != nil && !exit {
			t.Fatalf("run actionlint: %v", err)
		}
		return string(out), err == nil
	}
	if out, ok := lint(workflow("")); !ok {
		t.Errorf("actionlint on the rewritten action.yml:\n%s", out)
	}
	if out, ok := lint(workflow("          no-such-input: x\n")); ok || !strings.Contains(out, "no-such-input") {
		t.Errorf("control: actionlint did not flag an unknown input of the local action (ok=%v):\n%s", ok, out)
	}
}
