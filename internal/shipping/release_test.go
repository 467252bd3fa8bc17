package shipping

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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

// releaseStep is one step of the release job, as far as the test runs it.
type releaseStep struct {
	Name string            `yaml:"name"`
	ID   string            `yaml:"id"`
	Env  map[string]string `yaml:"env"`
	Run  string            `yaml:"run"`
}

// releaseSteps returns the release job's steps by name.
func releaseSteps(t *testing.T) map[string]releaseStep {
	t.Helper()
	var wf struct {
		Jobs map[string]struct {
			Steps []releaseStep `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(repoFile(t, ".github/workflows/release.yml")), &wf); err != nil {
		t.Fatalf("release.yml is not valid YAML: %v", err)
	}
	steps := map[string]releaseStep{}
	for _, st := range wf.Jobs["release"].Steps {
		if st.Name != "" {
			steps[st.Name] = st
		}
	}
	return steps
}

// gitRepo is a scratch repository with a bare "origin", isolated from the
// user's and the system's git configuration.
type gitRepo struct {
	t         *testing.T
	dir, bare string
	env       []string
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	root := t.TempDir()
	r := &gitRepo{t: t, dir: filepath.Join(root, "work"), bare: filepath.Join(root, "origin.git"),
		env: append(os.Environ(), "HOME="+root, "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")}
	r.git(root, "init", "--quiet", "--bare", r.bare)
	r.git(root, "init", "--quiet", r.dir)
	r.git(r.dir, "remote", "add", "origin", r.bare)
	return r
}

// git runs git in dir and returns its trimmed output.
func (r *gitRepo) git(dir string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = r.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files into the work tree and commits them.
func (r *gitRepo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	for name, text := range files {
		path := filepath.Join(r.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git(r.dir, "add", "-A")
	r.git(r.dir, "commit", "--quiet", "-m", msg)
	return r.git(r.dir, "rev-parse", "HEAD")
}

// runStep runs a release step's script as the runner would: bash in the
// checkout, with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, and env for
// the step's own env keys (which must be exactly those the test gives).
// It returns the step's outputs and whether it succeeded.
func (r *gitRepo) runStep(st releaseStep, ghEnv, env map[string]string) (map[string]string, string, bool) {
	r.t.Helper()
	if st.Run == "" {
		r.t.Fatalf("release.yml has no step %q with a run: script", st.Name)
	}
	var keys, want []string
	for k := range st.Env {
		keys = append(keys, k)
	}
	for k := range env {
		want = append(want, k)
	}
	slices.Sort(keys)
	slices.Sort(want)
	if diff := cmp.Diff(want, keys); diff != "" {
		r.t.Fatalf("step %q: env keys (-the test's +release.yml's):\n%s", st.Name, diff)
	}
	dir := r.t.TempDir()
	outFile, summary := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", st.Run)
	cmd.Dir = r.dir
	cmd.Env = append(slices.Clone(r.env), "GITHUB_OUTPUT="+outFile, "GITHUB_STEP_SUMMARY="+summary)
	for k, v := range ghEnv {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		r.t.Fatalf("run step %q: %v", st.Name, err)
	}
	outputs := map[string]string{}
	if b, rerr := os.ReadFile(outFile); rerr == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				outputs[k] = v
			}
		}
	}
	return outputs, string(out), err == nil
}

// TestReleaseWorkflow runs the release job's own shell steps (from
// release.yml) in a scratch repository with a bare origin, after the image
// build: the source check, the release commit and the tag move. It checks
// that vX.Y.Z, vX.Y and vX end up on a child of the tagged commit whose
// only change is action.yml's image line (the lowercased owner, the
// digest), that a prerelease moves only its own tag, and that the workflow
// stops at a release commit.
func TestReleaseWorkflow(t *testing.T) {
	t.Parallel()
	steps := releaseSteps(t)
	source := steps["Is this a source commit?"]
	makeCommit := steps["Make the release commit (action.yml runs the image by digest)"]
	moveTags := steps["Move the version tags to the release commit"]

	r := newGitRepo(t)
	files := map[string]string{
		"action.yml":            repoFile(t, "action.yml"),
		".ci/release-action.sh": repoFile(t, ".ci/release-action.sh"),
		"README.md":             "old\n",
	}
	old := r.commit("old release", files)
	r.git(r.dir, "tag", "v1.1.0", old)
	r.git(r.dir, "tag", "v1.1", old)
	r.git(r.dir, "tag", "v1", old)
	files["README.md"] = "new\n"
	src := r.commit("new work", files)
	r.git(r.dir, "tag", "--annotate", "-m", "v1.2.0", "v1.2.0", src)
	r.git(r.dir, "push", "--quiet", "origin", "HEAD:refs/heads/main", "--tags")
	r.git(r.dir, "checkout", "--quiet", "--detach", "v1.2.0") // as actions/checkout does for a tag

	release := func(tag, digest string) string {
		t.Helper()
		gh := map[string]string{"GITHUB_SHA": r.git(r.dir, "rev-parse", "HEAD"), "GITHUB_REF_NAME": tag}
		outs, log, ok := r.runStep(source, gh, nil)
		if !ok || outs["release"] != "true" {
			t.Fatalf("source check on %s: ok=%v outputs %v\n%s", tag, ok, outs, log)
		}
		outs, log, ok = r.runStep(makeCommit, gh, map[string]string{"TAG": tag, "OWNER": "ECS-Rollout", "DIGEST": digest})
		if !ok || outs["sha"] == "" {
			t.Fatalf("release commit for %s: ok=%v outputs %v\n%s", tag, ok, outs, log)
		}
		sha := outs["sha"]
		if _, log, ok := r.runStep(moveTags, gh, map[string]string{"TAG": tag, "SHA": sha}); !ok {
			t.Fatalf("moving the tags for %s:\n%s", tag, log)
		}
		return sha
	}
	tagAt := func(tag string) string {
		return r.git(r.bare, "rev-parse", tag+"^{commit}")
	}

	sha := release("v1.2.0", testDigest)
	for _, tag := range []string{"v1.2.0", "v1.2", "v1"} {
		if got := tagAt(tag); got != sha {
			t.Errorf("origin's %s is at %s, want the release commit %s", tag, got, sha)
		}
	}
	if got := tagAt("v1.1"); got != old {
		t.Errorf("origin's v1.1 moved to %s, want it left at %s", got, old)
	}
	if parent := r.git(r.bare, "rev-parse", sha+"^"); parent != src {
		t.Errorf("the release commit's parent is %s, want the tagged commit %s", parent, src)
	}
	if diff := r.git(r.bare, "diff", "--name-only", src, sha); diff != "action.yml" {
		t.Errorf("the release commit changes %q, want action.yml only", diff)
	}
	if img := r.git(r.bare, "show", sha+":action.yml"); !strings.Contains(img, "\n  image: docker://ghcr.io/ecs-rollout/ecs-rollout@"+testDigest+"\n") {
		t.Errorf("the released action.yml does not name ghcr.io/ecs-rollout/ecs-rollout@%s (owner lowercased):\n%s", testDigest, img)
	}
	if main := r.git(r.bare, "show", "main:action.yml"); !strings.Contains(main, "\n  image: Dockerfile\n") {
		t.Error("main's action.yml no longer says image: Dockerfile")
	}

	// A tag push made with RELEASE_TAG_TOKEN starts the workflow again on
	// the release commit: it must stop at the source check.
	r.git(r.dir, "checkout", "--quiet", "--detach", sha)
	if outs, log, ok := r.runStep(source, map[string]string{"GITHUB_SHA": sha, "GITHUB_REF_NAME": "v1.2.0"}, nil); !ok || outs["release"] != "false" {
		t.Errorf("source check on the release commit: ok=%v outputs %v, want release=false\n%s", ok, outs, log)
	}

	// A prerelease moves only its own tag.
	r.git(r.dir, "checkout", "--quiet", "--detach", src)
	r.git(r.dir, "tag", "v1.3.0-rc.1", src)
	r.git(r.dir, "push", "--quiet", "origin", "refs/tags/v1.3.0-rc.1")
	rc := release("v1.3.0-rc.1", "sha256:"+strings.Repeat("e", 64))
	if got := tagAt("v1.3.0-rc.1"); got != rc {
		t.Errorf("origin's v1.3.0-rc.1 is at %s, want its release commit %s", got, rc)
	}
	for _, tag := range []string{"v1", "v1.2"} {
		if got := tagAt(tag); got != sha {
			t.Errorf("a prerelease moved %s to %s, want it left at %s", tag, got, sha)
		}
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
