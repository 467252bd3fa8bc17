# The ecs-rollout action image: a static Go binary on distroless.
#
# On main, action.yml says `image: Dockerfile`, so GitHub builds this file
# on every run of the action from a branch, a SHA or a fork (no registry
# needed). The release workflow builds the same file for linux/amd64 and
# linux/arm64, pushes it to ghcr.io, and releases an action.yml that names
# that image by digest (.ci/release-action.sh): `uses: …@v1` pulls it and
# builds nothing.
#
# Both base images are pinned by digest (multi-platform index digests), so a
# rebuild of the tag upstream cannot change what we build. Bump them
# deliberately, together with the comment that says where they came from.

# golang:1.26.8-bookworm, the index digest that docker-library/repo-info
# records for the tag (repos/golang/remote/1.26.8-bookworm.md); its
# linux/amd64 manifest is sha256:abe4f87f354c4f6d7ee3fb11b241c6b6c24a32ca50a2ebcc30493a2168e14048.
FROM golang:1.26.8-bookworm@sha256:f4191582e1522dfc5980a6bdc0309a756f9697f3e7d0f199c7e26fc82ab324fd AS build

WORKDIR /src

# Modules first, in their own layer, so a source edit does not download them
# again.
COPY go.mod go.sum ./
RUN go mod download

COPY . .

# The version stamped into the binary (the release passes the git tag).
ARG VERSION=dev
# .ci/build.sh is THE build line (CGO_ENABLED=0, -trimpath, -s -w): the image
# and the tests build the binary the same way and cannot drift apart.
RUN bash .ci/build.sh /out/ecs-rollout "${VERSION}" \
	&& ln -s ecs-rollout /out/ecs-rollout-post

# gcr.io/distroless/static-debian12:latest (index digest): CA certificates,
# tzdata and /etc/passwd, no shell, no package manager.
FROM gcr.io/distroless/static-debian12@sha256:d75cdd72874d4790092fcb1b058493ecf6bb5bf2b2b897045b00ff01d91843f2

# /ecs-rollout, and /ecs-rollout-post -> ecs-rollout: a docker action's
# post-entrypoint is a single executable path run with the same args as the
# main step, so the post step is told apart by the name it is started as.
COPY --from=build /out/ /

# Runs as root, on purpose: GitHub's Dockerfile support for actions says a
# container action must run as the default Docker user (root) and must not
# use the USER instruction, because the workspace and the file-command files
# (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_STATE) are mounted from the
# runner and root is what can write them. The `latest` distroless variant's
# default user is root (the `nonroot` variant would break the action). The
# image holds nothing but this one binary (under its two names).
ENTRYPOINT ["/ecs-rollout"]
