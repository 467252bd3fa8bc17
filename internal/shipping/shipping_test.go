package shipping

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// repoFile reads a file by its path from the repository root.
func repoFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(path)))
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

// instructions returns the Dockerfile's instructions (continuation lines
// joined, comments dropped), each as "KEYWORD rest".
func instructions(dockerfile string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(dockerfile, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := instructions(repoFile(t, "Dockerfile"))
	byKeyword := map[string][]string{}
	for _, in := range ins {
		kw, rest, _ := strings.Cut(in, " ")
		byKeyword[strings.ToUpper(kw)] = append(byKeyword[strings.ToUpper(kw)], strings.TrimSpace(rest))
	}

	t.Run("base images pinned by digest", func(t *testing.T) {
		t.Parallel()
		if len(byKeyword["FROM"]) < 2 {
			t.Fatalf("got %d FROM lines, want a multi-stage build (at least 2)", len(byKeyword["FROM"]))
		}
		for _, from := range byKeyword["FROM"] {
			if !pinned.MatchString(from) {
				t.Errorf("FROM %s: not pinned by a sha256 digest", from)
			}
		}
	})

	t.Run("builds with .ci/build.sh", func(t *testing.T) {
		t.Parallel()
		var builds int
		for _, run := range byKeyword["RUN"] {
			if strings.Contains(run, "go build") {
				t.Errorf("RUN %s: builds without .ci/build.sh (the shared build line)", run)
			}
			if strings.Contains(run, ".ci/build.sh /out/ecs-rollout ") {
				builds++
			}
		}
		if builds != 1 {
			t.Errorf("got %d RUN lines calling .ci/build.sh /out/ecs-rollout, want 1", builds)
		}
	})

	t.Run("entrypoint and user", func(t *testing.T) {
		t.Parallel()
		if diff := cmp.Diff([]string{`["/ecs-rollout"]`}, byKeyword["ENTRYPOINT"]); diff != "" {
			t.Errorf("ENTRYPOINT (-want +got):\n%s", diff)
		}
		// GitHub runs container actions as root and asks for no USER.
		if users := byKeyword["USER"]; len(users) != 0 {
			t.Errorf("got USER %q, want none (container actions run as root)", users)
		}
	})
}

func TestBuildScript(t *testing.T) {
	t.Parallel()
	script := repoFile(t, ".ci/build.sh")
	const want = `CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X github.com/ecs-rollout/ecs-rollout/internal/action.version=${version}" -o "$out" .`
	var got []string
	for _, line := range strings.Split(script, "\n") {
		if strings.Contains(line, "go build") && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			got = append(got, strings.TrimSpace(line))
		}
	}
	if diff := cmp.Diff([]string{want}, got); diff != "" {
		t.Errorf(".ci/build.sh build line (-want +got):\n%s", diff)
	}
}

// pinned matches the argument of a FROM pinned by digest.
var pinned = regexp.MustCompile(`^[a-z0-9./-]+(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64}( AS [A-Za-z0-9_-]+)?$`)

func TestPinnedPattern(t *testing.T) {
	t.Parallel()
	digest := strings.Repeat("0a", 32)
	for _, tc := range []struct {
		from string
		want bool
	}{
		{"golang:1.26.8-bookworm@sha256:" + digest + " AS build", true},
		{"gcr.io/distroless/static-debian12@sha256:" + digest, true},
		{"golang:1.26.8-bookworm AS build", false},
		{"gcr.io/distroless/static-debian12:latest", false},
		{"golang@sha256:" + digest[:63], false},
	} {
		t.Run(tc.from, func(t *testing.T) {
			t.Parallel()
			if got := pinned.MatchString(tc.from); got != tc.want {
				t.Errorf("pinned.MatchString(%q) = %v, want %v", tc.from, got, tc.want)
			}
		})
	}
}

// usesLine matches a `uses:` of a step or a job, with an optional comment.
var usesLine = regexp.MustCompile(`^\s*(?:-\s+)?uses:\s*([^\s#]+)\s*(?:#\s*(.*))?$`)

func TestUsesLinePattern(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line, ref, comment string
		match              bool
	}{
		{"      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1", "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1", true},
		{"        uses: ecs-rollout/ecs-rollout@v1", "ecs-rollout/ecs-rollout@v1", "", true},
		{"    uses: owner/repo/.github/workflows/x.yml@v1 # reusable", "owner/repo/.github/workflows/x.yml@v1", "reusable", true},
		{"      - run: echo uses: nothing", "", "", false},
	} {
		t.Run(tc.line, func(t *testing.T) {
			t.Parallel()
			m := usesLine.FindStringSubmatch(tc.line)
			if (m != nil) != tc.match {
				t.Fatalf("match = %v, want %v", m != nil, tc.match)
			}
			if m == nil {
				return
			}
			if m[1] != tc.ref || strings.TrimSpace(m[2]) != tc.comment {
				t.Errorf("got ref %q comment %q, want %q and %q", m[1], m[2], tc.ref, tc.comment)
			}
		})
	}
}

func TestActionsPinnedBySHA(t *testing.T) {
	t.Parallel()
	var files []string
	for _, pattern := range []string{".github/workflows/*.yml", "examples/*.yml"} {
		m, err := filepath.Glob(filepath.Join("..", "..", filepath.FromSlash(pattern)))
		if err != nil {
			t.Fatalf("glob %s: %v", pattern, err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("got no workflow files, want .github/workflows/*.yml and examples/*.yml")
	}
	sha := regexp.MustCompile(`^[0-9a-f]{40}$`)
	version := regexp.MustCompile(`^v\d+(\.\d+)*$`)
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("read %s: %v", file, err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			m := usesLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			ref, comment := m[1], strings.TrimSpace(m[2])
			where := filepath.Base(file) + ":" + strconv.Itoa(i+1)
			switch {
			case strings.HasPrefix(ref, "./"), strings.HasPrefix(ref, "docker://"):
				continue // this repository, or an image
			case strings.HasPrefix(ref, "ecs-rollout/ecs-rollout"):
				continue // our own action and workflow, by release tag
			}
			action, at, ok := strings.Cut(ref, "@")
			if !ok || !sha.MatchString(at) {
				t.Errorf("%s: uses %s: want a full commit SHA after @", where, ref)
				continue
			}
			if !version.MatchString(comment) {
				t.Errorf("%s: uses %s: got comment %q, want the version the SHA is (# vX.Y.Z)", where, action, comment)
			}
		}
	}
}
