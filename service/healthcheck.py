# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The container image's health check: ``python -m service.healthcheck``.

One image runs every ``chat-import`` command, but only ``run`` serves ``/healthz``. The check
reads the command of the container's main process (PID 1): for ``run`` it asks ``/healthz`` on
the configured port, for any other command (``emulator``, ``report``, ``verify``, ...) it reports
healthy, since there is nothing to ask. Standard library and settings only: it runs every 15 s.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

from service.settings import Settings

MAIN_PROCESS_CMDLINE = Path("/proc/1/cmdline")
PROGRAM = "chat-import"
TIMEOUT_SECONDS = 4.0


def main_process_argv(cmdline: Path = MAIN_PROCESS_CMDLINE) -> list[str]:
    """The arguments of the container's main process (NUL-separated in /proc)."""
    try:
        raw = cmdline.read_bytes()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]


def command_of(argv: list[str]) -> str | None:
    """The ``chat-import`` command in a process's arguments, or ``None`` when it is not there.

    The entry point runs as ``python /app/.venv/bin/chat-import run`` (or ``chat-import run``,
    or ``python -m service run``): the command is the argument after the program.
    """
    for index, arg in enumerate(argv):
        program = Path(arg).name == PROGRAM
        module = arg == "service" and index > 0 and argv[index - 1] == "-m"
        if program or module:
            rest = argv[index + 1 :]
            return rest[0] if rest else None
    return None


def healthz_answers(port: int, host: str = "127.0.0.1") -> bool:
    """Tell whether ``GET /healthz`` answers 200 within the timeout."""
    try:
        with urllib.request.urlopen(
            f"http://{host}:{port}/healthz", timeout=TIMEOUT_SECONDS
        ) as response:
            return bool(response.status == 200)  # noqa: PLR2004 - HTTP OK
    except (urllib.error.URLError, OSError):
        return False


def check(argv: list[str], port: int) -> int:
    """Exit status of the check: 0 healthy, 1 not."""
    if command_of(argv) != "run":
        return 0
    return 0 if healthz_answers(port) else 1


def main() -> int:
    """Check the container this runs in."""
    return check(main_process_argv(), Settings().http_port)


if __name__ == "__main__":  # pragma: no cover - the image's HEALTHCHECK
    sys.exit(main())
