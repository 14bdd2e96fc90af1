# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Structured logging: JSON lines by default, human-readable on request, secrets scrubbed.

Every log line (the service's own and the libraries' through the standard library) passes a
redaction step that removes the configured secrets and anything shaped like a signed URL
parameter, so a secret cannot reach the logs even through an exception text.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

_SIGNED_PARAMS = re.compile(
    r"(?i)\b(usersig|signature|secret_key|server_secret|serversecret)=([^&\s\"']+)"
)
REDACTED = "[redacted]"


class Redactor:
    """A structlog processor that removes secrets from every string in an event."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = [s for s in secrets if s and len(s) >= 4]  # noqa: PLR2004

    def add(self, secret: str) -> None:
        """Also scrub ``secret`` from now on (a UserSig signed at run time)."""
        if secret and len(secret) >= 4 and secret not in self._secrets:  # noqa: PLR2004
            self._secrets.append(secret)

    def scrub(self, text: str) -> str:
        """``text`` with secrets and signed URL parameters replaced."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _SIGNED_PARAMS.sub(lambda m: f"{m.group(1)}={REDACTED}", text)

    def _clean(self, value: Any) -> Any:  # noqa: ANN401 - any logged value
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._clean(v) for v in value)
        if isinstance(value, BaseException):
            return self.scrub(f"{type(value).__name__}: {value}")
        return value

    def __call__(
        self,
        logger: Any,  # noqa: ANN401 - structlog passes any wrapped logger
        method: str,
        event: MutableMapping[str, Any],
    ) -> MutableMapping[str, Any]:
        """Scrub every field of ``event``."""
        del logger, method
        return {key: self._clean(value) for key, value in event.items()}


_redactor = Redactor()


def redactor() -> Redactor:
    """The process-wide redactor (register run-time secrets with ``add``)."""
    return _redactor


def configure_logging(
    *,
    level: str = "INFO",
    fmt: str = "json",
    secrets: Iterable[str] = (),
    stream: Any = None,  # noqa: ANN401
) -> None:
    """Route structlog and standard-library logging to one redacted output."""
    global _redactor  # noqa: PLW0603 - one logging configuration per process
    _redactor = Redactor(secrets)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _redactor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO, and a Tencent URL carries the UserSig.
    for noisy in ("httpx", "httpcore", "aiokafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
