# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Serving the emulator: in-process (tests, the demo) or blocking (``chat-import emulator``).

Uvicorn is set up for load (no concurrency limit, a deep backlog, long keep-alive, no access
log). The broken connections the emulator injects on purpose are not logged as server errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from typing import TYPE_CHECKING, Self

import uvicorn
import uvloop

from service.gc_tuning import tune_for_steady_timing

if TYPE_CHECKING:
    from collections.abc import Callable, Generator
    from types import TracebackType

    from starlette.applications import Starlette

    from service.emulator.config import EmulatorConfig
    from service.emulator.state import EmulatorState
    from service.emulator.store import EmulatorStore

logger = logging.getLogger(__name__)

BACKLOG = 2048
KEEP_ALIVE_SECONDS = 30
GRACEFUL_SHUTDOWN_SECONDS = 5
START_TIMEOUT_SECONDS = 10.0
_POLL_SECONDS = 0.01
_INCOMPLETE_RESPONSE = "ASGI callable returned without completing response."


class _InjectedBreakFilter(logging.Filter):
    """Drops uvicorn's report of a response left unfinished: the emulator does that on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != _INCOMPLETE_RESPONSE


def _quiet_injected_breaks() -> None:
    uvicorn_logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _InjectedBreakFilter) for f in uvicorn_logger.filters):
        uvicorn_logger.addFilter(_InjectedBreakFilter())


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the process that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _uvicorn_config(app: Starlette, config: EmulatorConfig) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        limit_concurrency=None,
        backlog=BACKLOG,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        access_log=False,
        log_config=None,
        lifespan="off",
        server_header=False,
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _url_host(host: str) -> str:
    if host in {"0.0.0.0", ""}:  # noqa: S104 - naming the wildcard, not binding to it
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class EmulatorServer:
    """The emulator served by uvicorn as a task of the running event loop.

    ``async with EmulatorServer(config) as server:`` binds (a free port when ``config.port`` is
    0), waits until connections are accepted, and exposes ``server.url``, ``server.state`` and
    ``server.store``. Leaving the block stops the server.
    """

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        store: EmulatorStore | None = None,
        clock: Callable[[], float] = time.time,
        handle_signals: bool = False,
    ) -> None:
        # Imported here: the app module pulls in Starlette, the server module's callers may not.
        from service.emulator.app import create_emulator_app  # noqa: PLC0415

        self.config = config
        self.app = create_emulator_app(config, store=store, clock=clock)
        self._handle_signals = handle_signals
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = config.port

    def __repr__(self) -> str:
        return f"EmulatorServer(url={self.url!r})"

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8081`` (no trailing slash)."""
        return f"http://{_url_host(self.config.host)}:{self.port}"

    @property
    def state(self) -> EmulatorState:
        """The running emulator's state (store, counters, faults)."""
        state: EmulatorState = self.app.state.emulator
        return state

    @property
    def store(self) -> EmulatorStore:
        """The emulator's groups and messages."""
        return self.state.store

    async def start(self) -> None:
        """Bind, serve in a task, and return once a connection is accepted."""
        _quiet_injected_breaks()
        self._socket = _bind(self.config.host, self.config.port)
        self.port = int(self._socket.getsockname()[1])
        server_class = uvicorn.Server if self._handle_signals else _EmbeddedServer
        self._server = server_class(_uvicorn_config(self.app, self.config))
        self._task = asyncio.create_task(
            self._server.serve(sockets=[self._socket]), name="chat-import-emulator"
        )
        await self._wait_until_accepting()

    async def _wait_until_accepting(self) -> None:
        assert self._task is not None  # noqa: S101 - set by start()
        host = _url_host(self.config.host).strip("[]")
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if self._task.done():
                self._task.result()  # raises what stopped it
                msg = "the emulator stopped while starting"
                raise RuntimeError(msg)
            if self._server is not None and self._server.started:
                try:
                    _, writer = await asyncio.open_connection(host, self.port)
                except OSError:
                    pass
                else:
                    writer.close()
                    await writer.wait_closed()
                    return
            if time.monotonic() > deadline:
                msg = f"the emulator did not accept connections within {START_TIMEOUT_SECONDS} s"
                raise TimeoutError(msg)
            await asyncio.sleep(_POLL_SECONDS)

    async def wait(self) -> None:
        """Until the server stops (a signal when ``handle_signals``, or ``stop()``)."""
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, GRACEFUL_SHUTDOWN_SECONDS * 2)
            finally:
                self._task = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


async def _serve(config: EmulatorConfig) -> None:
    async with EmulatorServer(config, handle_signals=True) as server:
        logger.info(
            "emulator listening on %s (sdkappid %s, admin %s, %s calls/s)",
            server.url,
            config.sdk_app_id,
            config.admin_identifier,
            config.calls_per_second,
        )
        if config.zego_app_id is not None and config.zego_server_secret is not None:
            logger.info(
                "ZIM endpoints on %s/?Action=... (AppId %s, %s calls/s)",
                server.url,
                config.zego_app_id,
                config.zego_calls_per_second,
            )
        # its own pauses would bunch the calls it counts, and refuse calls the client spaced well
        tune_for_steady_timing()
        await server.wait()


def run_emulator(config: EmulatorConfig) -> None:
    """Serve the emulator until interrupted (the ``chat-import emulator`` command)."""
    uvloop.run(_serve(config))
