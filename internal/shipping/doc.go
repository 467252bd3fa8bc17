// Package shipping holds no code: its tests check the files that ship the
// action (the Dockerfile, .ci/build.sh and the workflows) for the promises
// docs/releasing.md makes about them: base images pinned by digest, one build line
// shared by the image and the tests, a root ENTRYPOINT at /ecs-rollout, and
// third-party actions pinned by full commit SHA.
package shipping
