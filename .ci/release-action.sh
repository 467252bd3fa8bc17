#!/usr/bin/env bash
# release-action.sh ACTION_YML IMAGE@sha256:DIGEST
#
# Points a copy of the action's metadata at a prebuilt image, by digest:
# the one line `  image: Dockerfile` under `runs:` becomes
# `  image: docker://IMAGE@sha256:DIGEST`. Nothing else changes (inputs,
# outputs, post-entrypoint, comments: byte for byte), so the released action
# keeps its post step and GitHub's input-name checks and pulls a small image
# instead of building the Dockerfile.
#
# The release workflow (.github/workflows/release.yml) runs it on action.yml
# in the release commit; `main` keeps `image: Dockerfile`. The Go test
# internal/shipping/release_test.go runs it on a copy of action.yml in
# every CI run and checks the result (valid YAML, same document but for
# runs.image, actionlint-clean) and the refusals below.
#
# It refuses, changing nothing:
#   - a moving tag (ghcr.io/o/ecs-rollout:v1), also next to a digest;
#   - a digest that is not sha256 with 64 lowercase hex digits;
#   - a reference that is not registry/path (lowercase) @sha256:...;
#   - a file whose runs.image is not exactly `Dockerfile` (already released,
#     or reshaped: the test of this script fails first).
set -euo pipefail

die() {
	echo "release-action.sh: $*" >&2
	exit 1
}

if [ $# -ne 2 ]; then
	echo "usage: $0 ACTION_YML IMAGE@sha256:DIGEST (e.g. ghcr.io/owner/ecs-rollout@sha256:<64 hex>)" >&2
	exit 2
fi
file=$1
ref=${2#docker://}

# A reference by digest: REGISTRY/PATH@sha256:HEX. The registry has a dot
# (or is localhost) and may have a port; path components are lowercase
# alphanumerics separated by . _ __ or -, as the OCI distribution spec
# says for repository names.
component='[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*'
registry='([a-z0-9-]+(\.[a-z0-9-]+)+|localhost)(:[0-9]+)?'
name="${registry}(/${component})+"
case $ref in
*@*) ;;
*:*) die "${ref@Q} is a tag, which can move: give the image by digest (IMAGE@sha256:<64 hex digits>)" ;;
*) die "${ref@Q} has no digest: give the image by digest (IMAGE@sha256:<64 hex digits>)" ;;
esac
repo=${ref%%@*}
digest=${ref#*@}
if [[ $repo =~ ^${registry}/.*:[^/]*$ ]]; then
	die "${ref@Q} names a tag as well as a digest: give the digest alone (${repo%:*}@${digest})"
fi
if [[ ! $repo =~ ^${name}$ ]]; then
	die "${repo@Q} is not a registry/repository name in lowercase (e.g. ghcr.io/owner/ecs-rollout)"
fi
if [[ ! $digest =~ ^sha256:[0-9a-f]{64}$ ]]; then
	die "${digest@Q} is not a sha256 digest: want sha256: and 64 lowercase hex digits"
fi

[ -f "$file" ] || die "${file@Q}: no such file"

# Exactly one `image:` line, at two spaces of indentation under `runs:`, and
# it says Dockerfile.
count=$(awk '
	/^[^ #]/ { inruns = ($0 ~ /^runs:[ \t]*$/) }
	inruns && /^  image:/ { n++ }
	END { print n + 0 }
' "$file")
if [ "$count" -ne 1 ]; then
	die "${file@Q}: want exactly one runs.image line (two-space indent), found ${count}"
fi
current=$(awk '
	/^[^ #]/ { inruns = ($0 ~ /^runs:[ \t]*$/) }
	inruns && /^  image:/ { sub(/^  image:[ \t]*/, ""); sub(/[ \t]+$/, ""); print }
' "$file")
if [ "$current" != "Dockerfile" ]; then
	die "${file@Q}: runs.image is ${current@Q}, want Dockerfile (is this already a release commit?)"
fi

tmp=$(mktemp "${file}.XXXXXX")
trap 'rm -f "$tmp"' EXIT
awk -v image="docker://${ref}" '
	/^[^ #]/ { inruns = ($0 ~ /^runs:[ \t]*$/) }
	inruns && /^  image:/ { print "  image: " image; next }
	{ print }
' "$file" >"$tmp"
# Keep the file's mode; replace it in one step.
chmod --reference="$file" "$tmp"
mv "$tmp" "$file"
trap - EXIT
echo "release-action.sh: ${file}: runs.image is now docker://${ref}" >&2
