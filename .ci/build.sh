#!/usr/bin/env bash
# build.sh OUTPUT [VERSION]
#
# THE build line of ecs-rollout. The Dockerfile runs this script, and so do
# the tests and the release, so the binary a user gets from the action image
# is built exactly like the one measured and tested here: a static
# (CGO_ENABLED=0), reproducible (-trimpath), stripped (-s -w) binary with the
# version stamped into internal/action.version.
#
# VERSION defaults to $VERSION, then to `git describe`, then to "dev".
# GOOS/GOARCH are honoured when set (cross-compiling).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 OUTPUT [VERSION]" >&2
	exit 2
fi

out=$1
case $out in
/*) ;;
*) out="$PWD/$out" ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

version=${2:-${VERSION:-}}
if [ -z "$version" ]; then
	version=$(git describe --tags --always --dirty 2>/dev/null || true)
fi
version=${version:-dev}
case $version in
*[!A-Za-z0-9._+-]*)
	echo "build.sh: version ${version@Q} may only hold letters, digits and . _ + -" >&2
	exit 2
	;;
esac

CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X github.com/ecs-rollout/ecs-rollout/internal/action.version=${version}" -o "$out" .
