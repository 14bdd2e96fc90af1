# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Running the pieces on one machine: settings as environment, service and emulator as processes.

Used by the demo, the benchmark and the crash tests, which need a real process to kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from service.embedded_broker import free_port
from service.settings import Settings

LOCAL_SDK_APP_ID = 1400000001
LOCAL_SECRET_KEY = "local-emulator-key-not-a-secret"  # noqa: S105 - the emulator's own key


def _flatten(prefix: str, model: BaseModel, out: dict[str, str]) -> None:
    for name in type(model).model_fields:
        value = getattr(model, name)
        key = f"{prefix}{name.upper()}"
        if isinstance(value, BaseModel):
            _flatten(f"{key}__", value, out)
        elif value is None:
            continue
        elif isinstance(value, SecretStr):
            out[key] = value.get_secret_value()
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value.value if hasattr(value, "value") else value)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables that reproduce ``settings`` in another process."""
    env: dict[str, str] = {}
    _flatten("CHAT_IMPORT_", settings, env)
    return env


def _clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CHAT_IMPORT_")}


class ManagedProcess:
    """A child process of ours: start, signal, kill, wait, and its memory."""

    def __init__(
        self, args: list[str], env: Mapping[str, str], *, log_path: Path | None = None
    ) -> None:
        self._args = args
        self._env = {**_clean_environ(), **env}
        self._log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        """Start the process."""
        output: Any = self._log_path.open("ab") if self._log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            self._args, env=self._env, stdout=output, stderr=output
        )
        return self

    @property
    def pid(self) -> int:
        """The process id."""
        assert self.process is not None  # noqa: S101
        return self.process.pid

    def alive(self) -> bool:
        """True while running."""
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up at all."""
        if self.alive():
            assert self.process is not None  # noqa: S101
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM and wait; return the exit code."""
        assert self.process is not None  # noqa: S101
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def rss_bytes(self) -> int:
        """Resident memory now (0 when not running)."""
        try:
            import psutil  # type: ignore[import-untyped,unused-ignore]  # noqa: PLC0415

            return int(psutil.Process(self.pid).memory_info().rss)
        except Exception:  # noqa: BLE001 - gone, or psutil missing
            return 0


def service_process(settings: Settings, *, log_path: Path | None = None) -> ManagedProcess:
    """``chat-import run`` in a child process with ``settings``."""
    return ManagedProcess(
        [sys.executable, "-m", "service", "run"], settings_env(settings), log_path=log_path
    )


def emulator_process(
    *,
    port: int | None = None,
    latency_ms: float = 0.0,
    jitter_ms: float = 0.0,
    calls_per_second: float = 200.0,
    log_path: Path | None = None,
) -> tuple[ManagedProcess, str]:
    """``chat-import emulator`` in a child process; returns it and its base URL."""
    chosen = port or free_port()
    env = {
        "CHAT_IMPORT_TENCENT__SDK_APP_ID": str(LOCAL_SDK_APP_ID),
        "CHAT_IMPORT_TENCENT__SECRET_KEY": LOCAL_SECRET_KEY,
        "CHAT_IMPORT_LOG_LEVEL": "WARNING",
    }
    args = [
        sys.executable,
        "-m",
        "service",
        "emulator",
        "--port",
        str(chosen),
        "--latency-ms",
        str(latency_ms),
        "--jitter-ms",
        str(jitter_ms),
        "--calls-per-second",
        str(calls_per_second),
    ]
    return ManagedProcess(args, env, log_path=log_path), f"http://127.0.0.1:{chosen}"


def wait_http_ok(url: str, timeout: float = 30.0) -> None:
    """Wait until ``url`` answers (any HTTP status)."""
    import httpx  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        return
    msg = f"{url} did not answer within {timeout} s"
    raise RuntimeError(msg)
