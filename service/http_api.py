# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The service's own HTTP endpoints: ``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Probe = Callable[[], tuple[bool, str]]


def _always_alive() -> tuple[bool, str]:
    return True, "ok"


def create_http_app(
    registry: CollectorRegistry, readiness: Probe, liveness: Probe = _always_alive
) -> Starlette:
    """Liveness (the consumer runs), readiness (partitions held, provider reachable), metrics."""

    async def healthz(request: Request) -> Response:
        del request
        alive, reason = liveness()
        return JSONResponse(
            {"status": "ok" if alive else "failing", "reason": reason},
            status_code=200 if alive else 503,
        )

    async def readyz(request: Request) -> Response:
        del request
        ready, reason = readiness()
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "reason": reason},
            status_code=200 if ready else 503,
        )

    async def metrics(request: Request) -> Response:
        del request
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves SIGTERM and SIGINT to the service.

    Left to itself, uvicorn takes over both signals while it serves, so a SIGTERM would close the
    probes and ``/metrics`` at once, while the service is still draining. The service stops the
    server itself once the drain is over.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """Runs the endpoints with uvicorn inside the service's event loop."""

    def __init__(self, app: Starlette, *, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_config=None, access_log=False, lifespan="off"
        )
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start serving and wait until the socket is bound."""
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                await self._task  # raises the bind error
                return
            await asyncio.sleep(0.01)

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0)."""
        servers = getattr(self._server, "servers", None)  # set once uvicorn has started
        return int(servers[0].sockets[0].getsockname()[1]) if servers else 0

    async def stop(self) -> None:
        """Stop serving."""
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
