#!/usr/bin/env bash
# actionlint.sh: lint every workflow of the repository and every example
# workflow with a pinned actionlint (github.com/rhysd/actionlint), and check
# that action.yml is a well-formed docker action. Exits non-zero on any
# finding. .ci/run calls it; it also runs on its own:
#
#   bash .ci/actionlint.sh
#
# actionlint is installed with `go install` into $(go env GOBIN) (or
# $(go env GOPATH)/bin) unless the pinned version is already there. With
# ShellCheck on PATH, actionlint also checks every `run:` script.
set -euo pipefail

ACTIONLINT_VERSION=v1.7.12

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

gobin=$(go env GOBIN)
if [ -z "$gobin" ]; then
	gobin="$(go env GOPATH)/bin"
fi
actionlint="$gobin/actionlint"

installed=""
if [ -x "$actionlint" ]; then
	installed=$("$actionlint" --version 2>/dev/null | head -n 1 || true)
fi
if [ "$installed" != "$ACTIONLINT_VERSION" ]; then
	echo "actionlint.sh: installing actionlint ${ACTIONLINT_VERSION} into ${gobin}" >&2
	# Outside the module: go install pkg@version ignores go.mod anyway, and
	# GOFLAGS such as -mod=vendor must not leak into it.
	(cd / && GOFLAGS='' GOBIN="$gobin" go install "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}")
fi

shopt -s nullglob
files=(.github/workflows/*.yml .github/workflows/*.yaml examples/*.yml examples/*.yaml)
shopt -u nullglob
if [ ${#files[@]} -eq 0 ]; then
	echo "actionlint.sh: no workflow files found" >&2
	exit 1
fi

if command -v shellcheck >/dev/null 2>&1; then
	echo "actionlint.sh: $("$actionlint" --version | head -n 1), with $(shellcheck --version | sed -n 's/^version: /shellcheck /p'), on ${#files[@]} files" >&2
else
	echo "actionlint.sh: $("$actionlint" --version | head -n 1) on ${#files[@]} files (shellcheck not on PATH: run: scripts are not checked)" >&2
fi
# One known false positive: for a local docker action (`uses: ./`),
# actionlint looks for the runs.*entrypoint files in the repository, but
# ours are paths inside the image (/ecs-rollout, /ecs-rollout-post), which
# the Dockerfile creates. Only that message, only for those paths, is
# ignored.
ignore='file "/ecs-rollout(-post)?" does not exist in "[^"]*"\. it is specified at "(pre-|post-)?entrypoint" key'
status=0
"$actionlint" -ignore "$ignore" "${files[@]}" || status=1

# actionlint reads action.yml only through `uses: ./`; check its shape here.
# The Go test of the inputs (action.yml against the code) checks the rest.
if ! python3 - action.yml <<'PY'
import sys

try:
    import yaml
except ImportError:
    sys.exit("actionlint.sh: python3 cannot import yaml (PyYAML): pip install PyYAML")

path = sys.argv[1]
try:
    with open(path, encoding="utf-8") as f:
        meta = yaml.safe_load(f)
except (OSError, yaml.YAMLError) as e:
    sys.exit(f"{path}: {e}")

problems = []
if not isinstance(meta, dict):
    sys.exit(f"{path}: not a YAML mapping")
for key in ("name", "description", "runs"):
    if not meta.get(key):
        problems.append(f"missing {key}")
runs = meta.get("runs") or {}
if runs.get("using") != "docker":
    problems.append(f"runs.using is {runs.get('using')!r}, want 'docker'")
if runs.get("image") != "Dockerfile":
    problems.append(f"runs.image is {runs.get('image')!r}, want 'Dockerfile'")
# The runner takes each of these as one string (an executable path), never
# a list.
for key in ("entrypoint", "pre-entrypoint", "post-entrypoint"):
    if key in runs and not (isinstance(runs[key], str) and runs[key].strip()):
        problems.append(f"runs.{key} must be a non-empty string (one executable path), got {runs[key]!r}")
if "args" in runs and not isinstance(runs["args"], list):
    problems.append("runs.args must be a list")
for kind in ("inputs", "outputs"):
    for name, spec in (meta.get(kind) or {}).items():
        if not isinstance(spec, dict) or not str(spec.get("description") or "").strip():
            problems.append(f"{kind}.{name} has no description")
for p in problems:
    print(f"{path}: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
then
	status=1
fi

if [ "$status" -eq 0 ]; then
	echo "actionlint.sh: ok" >&2
fi
exit "$status"
