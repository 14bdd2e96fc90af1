# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The image's health check: /healthz for `run`, healthy for every other command."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from service.healthcheck import check, command_of, main_process_argv

ENTRYPOINT = ["/app/.venv/bin/python", "/app/.venv/bin/chat-import"]


class Healthz(BaseHTTPRequestHandler):
    """Answers /healthz with the server's ``status`` and counts the requests."""

    def do_GET(self) -> None:
        server: StatusServer = self.server  # type: ignore[assignment]
        server.requests.append(self.path)
        self.send_response(server.status)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the hook's signature
        del format, args


class StatusServer(ThreadingHTTPServer):
    """A loopback HTTP server that answers every GET with one status."""

    def __init__(self, status: int) -> None:
        super().__init__(("127.0.0.1", 0), Healthz)
        self.status = status
        self.requests: list[str] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])


@pytest.fixture
def serve() -> Iterator[type[StatusServer]]:
    """Start StatusServers on free loopback ports; stop them after the test."""
    started: list[StatusServer] = []

    class Started(StatusServer):
        def __init__(self, status: int) -> None:
            super().__init__(status)  # the socket is bound and listening from here on
            started.append(self)
            threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    yield Started
    for server in started:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A loopback port with nothing listening on it."""
    server = StatusServer(200)
    port = server.port
    server.server_close()
    return port


class TestCommandOf:
    """Which chat-import command the main process runs."""

    @pytest.mark.parametrize(
        ("argv", "expected"),
        [
            ([*ENTRYPOINT, "run"], "run"),
            (["chat-import", "run"], "run"),
            (["python", "-m", "service", "run"], "run"),
            ([*ENTRYPOINT, "emulator", "--port", "8081"], "emulator"),
            ([*ENTRYPOINT, "verify", "--calls-per-second", "50"], "verify"),
            ([*ENTRYPOINT], None),
            (["/opt/kafka/bin/kafka-server-start.sh", "run"], None),
            ([], None),
        ],
    )
    def test_reads_the_argument_after_the_program(
        self, argv: list[str], expected: str | None
    ) -> None:
        """The command is the argument after chat-import (or after `-m service`)."""
        assert expected == command_of(argv)

    def test_reads_the_nul_separated_cmdline(self, tmp_path: Path) -> None:
        """/proc/<pid>/cmdline holds NUL-terminated arguments."""
        cmdline = tmp_path / "cmdline"
        cmdline.write_bytes(b"/app/.venv/bin/python\0/app/.venv/bin/chat-import\0run\0")
        assert [*ENTRYPOINT, "run"] == main_process_argv(cmdline)

    def test_an_unreadable_cmdline_is_no_command(self, tmp_path: Path) -> None:
        """Without /proc (not Linux), the main process's command is unknown."""
        assert [] == main_process_argv(tmp_path / "missing")


class TestCheck:
    """The exit status for each command and /healthz answer."""

    def test_run_is_healthy_when_healthz_answers(self, serve: type[StatusServer]) -> None:
        """`run` with /healthz answering 200: exit 0, after asking /healthz."""
        server = serve(200)
        assert 0 == check([*ENTRYPOINT, "run"], server.port)
        assert ["/healthz"] == server.requests

    def test_run_is_unhealthy_when_healthz_fails(self, serve: type[StatusServer]) -> None:
        """`run` with /healthz answering 503: exit 1."""
        assert 1 == check([*ENTRYPOINT, "run"], serve(503).port)

    def test_run_is_unhealthy_when_nothing_listens(self) -> None:
        """`run` whose port refuses connections: exit 1."""
        assert 1 == check([*ENTRYPOINT, "run"], free_port())

    @pytest.mark.parametrize("command", ["emulator", "report", "verify", "produce"])
    def test_other_commands_are_healthy_without_asking(
        self, serve: type[StatusServer], command: str
    ) -> None:
        """Any other command exits 0 and sends no request (it serves no /healthz)."""
        server = serve(503)
        assert (0, []) == (check([*ENTRYPOINT, command], server.port), server.requests)
