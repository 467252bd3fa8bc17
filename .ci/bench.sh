#!/usr/bin/env bash
# bench.sh [--short] [extra go test flags]
#
# Runs ecs-rollout's benchmarks (package ./bench) once each against the
# in-process ECS simulator and the real binary, printing Markdown tables
# and the benchmark metrics. Without --short the poll intervals are the
# real ones (1 s, 2 s, 5 s and the default) and the run takes a few
# minutes; --short divides every duration by 20 so CI can run the whole
# suite in well under a minute and the benchmarks cannot rot.
set -euo pipefail
cd "$(dirname "$0")/.."

short=()
timeout=30m
if [ "${1:-}" = "--short" ]; then
	short=(-short)
	timeout=5m
	shift
fi
go test "${short[@]}" -run '^$' -bench . -benchtime 1x -timeout "$timeout" "$@" ./bench/
