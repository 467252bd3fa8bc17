// Package bench holds ecs-rollout's benchmarks: detection latency,
// time-to-green overhead, API calls per deployment and per minute of
// watching, start-up time, binary size and peak memory, and how the call
// rate scales with the size and number of services. Everything lives in
// the package's _test.go files and runs the deployer (or the real binary)
// against the in-process ECS simulator:
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/
//
// BENCHMARKS.md at the repository root records the results.
package bench
