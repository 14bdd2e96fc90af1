# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""``/healthz`` and ``/readyz`` over HTTP: ready only with partitions and a provider that answers."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from service.app import Service
from service.embedded_broker import EmbeddedBroker, free_port
from service.emulator.server import EmulatorServer
from service.http_api import HttpServer, create_http_app
from service.settings import Settings
from tests.integration.events import group_record
from tests.integration.harness import make_settings, produce, running, wait_for


async def probe(port: int, path: str) -> tuple[int, str]:
    """Status code and ``reason`` (or ``status``) of one probe."""
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}{path}")
    body = response.json()
    return response.status_code, str(body.get("reason", body.get("status")))


def answers(port: int, path: str, status: int, reason: str = "") -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        code, text = await probe(port, path)
        return code == status and reason in text

    return check


@asynccontextmanager
async def started_early(settings: Settings) -> AsyncIterator[tuple[Service, int]]:
    """The service, handed over as soon as its HTTP port is bound (before it joins the group)."""
    service = Service(settings)
    task = asyncio.create_task(service.app.run())

    async def bound() -> bool:
        if task.done():
            task.result()
        return service.resources is not None and service.resources.http.port != 0

    try:
        await wait_for(bound, timeout=30, interval=0.005)
        assert service.resources is not None
        yield service, service.resources.http.port
    finally:
        service.app.exit()
        await asyncio.wait_for(task, 60)


class TestHttpServer:
    async def test_serving_leaves_sigterm_and_sigint_to_the_service(self) -> None:
        """The probes stay up through a drain: the HTTP server installs no signal handler."""
        before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        server = HttpServer(
            create_http_app(CollectorRegistry(), lambda: (False, "shutting down")),
            host="127.0.0.1",
            port=0,
        )
        assert 0 == server.port  # not bound yet
        await server.start()
        try:
            during = {sig: signal.getsignal(sig) for sig in before}
            assert (503, "shutting down") == await probe(server.port, "/readyz")
            assert (200, "ok") == await probe(server.port, "/healthz")
        finally:
            await server.stop()
        assert before == during


@pytest.mark.kafka
@pytest.mark.emulator
class TestProbes:
    async def test_readyz_flips_to_ready_once_partitions_are_assigned(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ) -> None:
        """503 until the replica is in the group, 200 once it is; /healthz 200 all along."""
        settings = make_settings(kafka_broker.bootstrap_servers, emulator.url, run_id)
        async with started_early(settings) as (service, port):
            first = await probe(port, "/readyz")
            assert (200, "ok") == await probe(port, "/healthz")
            await wait_for(answers(port, "/readyz", 200, "ok"), timeout=30)
            consumer = service.subscriber.consumer
            assert consumer is not None
            assert consumer.assignment()
            assert (200, "ok") == await probe(port, "/healthz")
        assert 503 == first[0]
        assert first[1] in {"starting", "not yet in the consumer group"}

    async def test_readyz_is_503_while_the_provider_is_unreachable(
        self, kafka_broker: EmbeddedBroker, run_id: str
    ) -> None:
        """Nothing listens at the base URL: once a call fails to connect, not ready; still alive."""
        closed = f"http://127.0.0.1:{free_port()}"
        settings = make_settings(kafka_broker.bootstrap_servers, closed, run_id, drain_seconds=1)
        async with running(settings) as service:
            assert service.resources is not None
            port = service.resources.http.port
            await wait_for(answers(port, "/readyz", 200, "ok"), timeout=30)
            await produce(kafka_broker.bootstrap_servers, [group_record(settings, "nowhere")])
            await wait_for(answers(port, "/readyz", 503, "unreachable"), timeout=30)
            assert (200, "ok") == await probe(port, "/healthz")

    async def test_readyz_is_503_while_the_provider_refuses_the_key(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ) -> None:
        """A key the provider refuses (70003) halts calls: not ready until it is fixed."""
        settings = make_settings(
            kafka_broker.bootstrap_servers, emulator.url, run_id, drain_seconds=1
        )
        settings.tencent.secret_key = SecretStr("a-key-the-emulator-does-not-know")
        async with running(settings) as service:
            assert service.resources is not None
            port = service.resources.http.port
            await wait_for(answers(port, "/readyz", 200, "ok"), timeout=30)
            await produce(kafka_broker.bootstrap_servers, [group_record(settings, "refused")])
            await wait_for(answers(port, "/readyz", 503, "refuses"), timeout=30)
            assert (200, "ok") == await probe(port, "/healthz")
