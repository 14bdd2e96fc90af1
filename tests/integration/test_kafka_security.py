# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The service and its tools over TLS, mutual TLS and SASL, and what a refusal looks like.

The embedded broker serves neither TLS nor SASL, so a listener written for the tests
(``kafka_fronts``) stands in front of it: it terminates TLS and runs Kafka's SASL handshake
(PLAIN, SCRAM-SHA-256/512), then passes the connection through. The broker advertises the
front's port, so every connection after the bootstrap (partition leaders, group coordinator)
comes back through the front as well. Each test starts the front it needs on that port.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr
from rich.console import Console

from service.embedded_broker import EmbeddedBroker, free_port
from service.log import configure_logging
from service.settings import KafkaSettings, SaslMechanism, SecurityProtocol, Settings
from service.tools.local_stack import settings_env
from service.tools.produce import produce_file
from service.tools.report import load_outcomes

from .certificates import CLIENT_KEY_PASSWORD, Pki, make_pki, server_context
from .events import group_record, message_record
from .harness import make_settings, running, wait_for
from .kafka_fronts import FrontStats, SaslUsers, kafka_front

if TYPE_CHECKING:
    import ssl
    from collections.abc import AsyncIterator, Iterator
    from contextlib import AbstractAsyncContextManager
    from pathlib import Path

    from service.emulator.server import EmulatorServer

pytestmark = [pytest.mark.kafka, pytest.mark.emulator]

USER = "chat-import"
PASSWORD = "scram-password-for-tests"
WRONG = "wrong-password-that-must-not-show"
MESSAGES = 5
CLI_TIMEOUT_SECONDS = 30


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def fronted_broker() -> Iterator[EmbeddedBroker]:
    """A broker that tells its clients to connect to ``advertised_port``, where a front listens."""
    with EmbeddedBroker(advertised_port=free_port()) as broker:
        yield broker


@dataclass(frozen=True)
class Stack:
    """One test's broker behind its front, emulator, certificates, names and scratch directory."""

    broker: EmbeddedBroker
    provider_url: str
    pki: Pki
    run_id: str
    directory: Path

    def settings(self, **security: Any) -> Settings:
        """The test's settings pointed at the front, with these security settings (validated)."""
        settings = make_settings("unused", self.provider_url, self.run_id)
        kafka = KafkaSettings.model_validate(
            {
                **settings.kafka.model_dump(),
                "bootstrap_servers": f"127.0.0.1:{self.broker.advertised_port}",
                **security,
            }
        )
        return settings.model_copy(update={"kafka": kafka})

    def front(
        self, *, tls: ssl.SSLContext | None = None, sasl: SaslUsers | None = None
    ) -> AbstractAsyncContextManager[FrontStats]:
        """The secured listener on the port the broker advertises."""
        return kafka_front(self.broker.advertised_port, self.broker.port, tls=tls, sasl=sasl)

    def export(self, settings: Settings, group: str) -> Path:
        """A JSON-lines export of one group and its messages, as ``chat-import produce`` reads."""
        records = [group_record(settings, group)]
        records += [message_record(settings, group, n) for n in range(MESSAGES)]
        path = self.directory / f"{group}.jsonl"
        path.write_bytes(b"\n".join(record.value for record in records) + b"\n")
        return path


@pytest.fixture
def stack(
    fronted_broker: EmbeddedBroker, emulator: EmulatorServer, pki: Pki, run_id: str, tmp_path: Path
) -> Stack:
    return Stack(fronted_broker, emulator.url, pki, run_id, tmp_path)


@pytest.fixture
def refusing_stack(fronted_broker: EmbeddedBroker, pki: Pki, run_id: str, tmp_path: Path) -> Stack:
    """A stack whose provider is never reached (nothing gets past Kafka)."""
    return Stack(fronted_broker, "http://127.0.0.1:9", pki, run_id, tmp_path)


def sasl(protocol: SecurityProtocol, mechanism: SaslMechanism, password: str) -> dict[str, Any]:
    return {
        "security_protocol": protocol,
        "sasl_mechanism": mechanism,
        "sasl_username": USER,
        "sasl_password": SecretStr(password),
    }


def mutual_tls(pki: Pki) -> dict[str, Any]:
    return {
        "security_protocol": SecurityProtocol.SSL,
        "ssl_cafile": pki.ca,
        "ssl_certfile": pki.client_cert,
        "ssl_keyfile": pki.client_key,
        "ssl_keyfile_password": SecretStr(CLIENT_KEY_PASSWORD),
    }


async def import_through(settings: Settings, path: Path) -> list[tuple[str, str]]:
    """Publish the export with the produce tool, run the service, read outcomes as report does.

    Returns each outcome's (event_id, status), once every event has one.
    """
    await produce_file(settings, path, console=Console(file=io.StringIO()))
    outcomes: list[tuple[dict[str, object], int]] = []

    async def all_imported() -> bool:
        nonlocal outcomes
        outcomes, _ = await load_outcomes(settings.kafka, settings.topics.outcomes)
        return len(outcomes) >= 1 + MESSAGES

    async with running(settings):
        await wait_for(all_imported, timeout=30)
    return sorted((str(o["event_id"]), str(o["status"])) for o, _ in outcomes)


def expected_outcomes(group: str) -> list[tuple[str, str]]:
    events = [f"it:group:{group}"] + [f"it:msg:{group}:{n:05d}" for n in range(MESSAGES)]
    return sorted((event, "imported") for event in events)


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Every log line of the test at DEBUG, with no secret registered for redaction."""
    stream = io.StringIO()
    configure_logging(level="DEBUG", fmt="json", stream=stream)
    yield stream
    configure_logging(level="WARNING", fmt="json")


class TestServiceOverTls:
    async def test_mutual_tls(self, stack: Stack) -> None:
        """SSL with a client certificate (Amazon MSK's mTLS, Strimzi's tls listener): imported."""
        settings = stack.settings(**mutual_tls(stack.pki))
        async with stack.front(tls=server_context(stack.pki, require_client_cert=True)) as front:
            actual = await import_through(settings, stack.export(settings, "m"))
        assert expected_outcomes("m") == actual
        assert front.connections > 3  # admin, producers, consumer, coordinator, readers


class TestServiceOverSasl:
    async def test_scram_sha_256_over_sasl_plaintext(
        self, stack: Stack, captured_logs: io.StringIO
    ) -> None:
        """SASL_PLAINTEXT with SCRAM-SHA-256: every connection authenticates.

        Nothing logs the password, even at DEBUG and with no redaction configured for it.
        """
        settings = stack.settings(
            **sasl(SecurityProtocol.SASL_PLAINTEXT, SaslMechanism.SCRAM_SHA_256, PASSWORD)
        )
        async with stack.front(sasl=SaslUsers({USER: PASSWORD})) as front:
            actual = await import_through(settings, stack.export(settings, "s"))
        assert expected_outcomes("s") == actual
        assert ({f"{USER}/SCRAM-SHA-256"}, []) == (set(front.authenticated), front.refused)
        assert PASSWORD not in captured_logs.getvalue()

    @pytest.mark.parametrize(
        "mechanism", [SaslMechanism.SCRAM_SHA_512, SaslMechanism.PLAIN], ids=str
    )
    async def test_sasl_ssl(self, stack: Stack, mechanism: SaslMechanism) -> None:
        """SASL_SSL with SCRAM-SHA-512 (Amazon MSK) and with PLAIN (Confluent Cloud): imported."""
        security = sasl(SecurityProtocol.SASL_SSL, mechanism, PASSWORD)
        settings = stack.settings(**security, ssl_cafile=stack.pki.ca)
        tls = server_context(stack.pki)
        async with stack.front(tls=tls, sasl=SaslUsers({USER: PASSWORD})) as front:
            actual = await import_through(settings, stack.export(settings, "t"))
        assert expected_outcomes("t") == actual
        assert {f"{USER}/{mechanism.value}"} == set(front.authenticated)


# ------------------------------------------------------------------- refusals, as people see them


async def cli(settings: Settings, *args: str) -> tuple[int, list[str], str]:
    """Run ``chat-import ARGS`` with ``settings`` as its environment.

    Returns the exit code, the lines on stderr, and stdout.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_IMPORT_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        *args,
        env={**env, **settings_env(settings)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT_SECONDS)
    assert process.returncode is not None
    return process.returncode, err.decode().splitlines(), out.decode()


@pytest.fixture
async def sasl_front(refusing_stack: Stack) -> AsyncIterator[FrontStats]:
    async with refusing_stack.front(sasl=SaslUsers({USER: PASSWORD})) as stats:
        yield stats


@pytest.fixture
async def tls_front(refusing_stack: Stack) -> AsyncIterator[FrontStats]:
    async with refusing_stack.front(tls=server_context(refusing_stack.pki)) as stats:
        yield stats


def wrong_password(stack: Stack) -> Settings:
    return stack.settings(
        **sasl(SecurityProtocol.SASL_PLAINTEXT, SaslMechanism.SCRAM_SHA_256, WRONG)
    )


def untrusted(stack: Stack) -> Settings:
    return stack.settings(security_protocol=SecurityProtocol.SSL, ssl_cafile=stack.pki.other_ca)


class TestRunRefused:
    async def test_wrong_password_is_one_log_line(
        self, refusing_stack: Stack, sasl_front: FrontStats
    ) -> None:
        """``chat-import run`` with a wrong SASL password exits 1 with one JSON error line.

        The line names the refused credentials and the settings to check; the password is
        nowhere in the output.
        """
        started = time.monotonic()
        code, lines, out = await cli(wrong_password(refusing_stack), "run")
        elapsed = time.monotonic() - started
        assert (1, 1, "") == (code, len(lines), out)
        line = json.loads(lines[0])
        assert ("error", "cannot connect to Kafka") == (line["level"], line["event"])
        assert "refused the SASL credentials of user 'chat-import'" in line["reason"]
        assert (
            "check CHAT_IMPORT_KAFKA__SASL_USERNAME, CHAT_IMPORT_KAFKA__SASL_PASSWORD"
            in (line["reason"])
        )
        assert WRONG not in lines[0]
        assert [f"{USER}/SCRAM-SHA-256"] == sasl_front.refused
        assert elapsed < CLI_TIMEOUT_SECONDS

    async def test_untrusted_certificate_is_one_log_line(
        self, refusing_stack: Stack, tls_front: FrontStats
    ) -> None:
        """``chat-import run`` against a broker of an untrusted CA: one JSON line, SSL_CAFILE."""
        code, lines, out = await cli(untrusted(refusing_stack), "run")
        assert (1, 1, "") == (code, len(lines), out)
        line = json.loads(lines[0])
        port = refusing_stack.broker.advertised_port
        expected = (
            f"the certificate of the broker at 127.0.0.1:{port} is not trusted (unable to get "
            "local issuer certificate): check CHAT_IMPORT_KAFKA__SSL_CAFILE (the CA that signed "
            "the broker's certificate)"
        )
        assert ("error", expected) == (line["level"], line["reason"])


class TestToolsRefused:
    @pytest.mark.parametrize(
        "case",
        [("produce", 1, "publishing failed"), ("report", 2, "cannot report")],
        ids=["produce", "report"],
    )
    async def test_wrong_password_is_one_line(
        self, refusing_stack: Stack, sasl_front: FrontStats, case: tuple[str, int, str]
    ) -> None:
        """The tools say the same in one line on stderr, with their own exit code."""
        command, code, what = case
        settings = wrong_password(refusing_stack)
        path = refusing_stack.export(settings, "x")
        args = [command, str(path)] if command == "produce" else [command]
        actual_code, lines, _ = await cli(settings, *args)
        assert (code, 1) == (actual_code, len(lines))
        assert lines[0].startswith(f"{what}: the broker at 127.0.0.1:")
        assert (
            "check CHAT_IMPORT_KAFKA__SASL_USERNAME, CHAT_IMPORT_KAFKA__SASL_PASSWORD" in (lines[0])
        )

    async def test_untrusted_certificate_for_verify(
        self, refusing_stack: Stack, tls_front: FrontStats
    ) -> None:
        """``verify`` cannot check without the outcomes: exit 2, one line naming SSL_CAFILE."""
        code, lines, _ = await cli(untrusted(refusing_stack), "verify")
        assert (2, 1) == (code, len(lines))
        assert lines[0].startswith("cannot verify: the certificate of the broker at 127.0.0.1:")
        assert lines[0].endswith(
            "check CHAT_IMPORT_KAFKA__SSL_CAFILE (the CA that signed the broker's certificate)"
        )
