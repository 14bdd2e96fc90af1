# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Driving the service from outside: settings, producing input, reading outcomes, waiting."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from service.app import Service
from service.messaging.topic_reader import TopicRecord, read_topic
from service.settings import (
    KafkaSettings,
    PipelineSettings,
    Settings,
    TencentSettings,
    TopicsSettings,
)

SDK_APP_ID = 1400000001
SECRET_KEY = "emulator-secret-key-for-tests-only"


def make_settings(bootstrap: str, provider_url: str, run_id: str, **pipeline: Any) -> Settings:
    """Settings for one test run: its own topics and group, the embedded broker, the emulator."""
    return Settings(
        kafka=KafkaSettings(
            bootstrap_servers=bootstrap,
            group_id=f"chat-import-{run_id}",
            idempotent_producer=False,
            topic_partitions=4,
            session_timeout_ms=6_000,
        ),
        topics=TopicsSettings(
            groups=f"groups-{run_id}",
            messages=f"messages-{run_id}",
            outcomes=f"outcomes-{run_id}",
            dead_letter=f"dead-letter-{run_id}",
        ),
        tencent=TencentSettings(
            base_url=provider_url, sdk_app_id=SDK_APP_ID, secret_key=SecretStr(SECRET_KEY)
        ),
        pipeline=PipelineSettings(
            **{
                "drain_seconds": 5,
                "retry_initial_seconds": 0.05,
                "retry_max_seconds": 0.5,
                **pipeline,
            }
        ),
        http_port=0,
    )


@dataclass(frozen=True)
class Out:
    """A record to produce."""

    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


async def produce(bootstrap: str, records: Iterable[Out]) -> None:
    """Publish records in order (acks=all)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(r.topic, value=r.value, key=r.key, headers=list(r.headers) or None)
            for r in records
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str) -> list[TopicRecord]:
    """Every record of the topic now."""
    return [record async for record in read_topic(bootstrap, topic)]


async def read_outcomes(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every outcome event of the topic now, decoded."""
    return [json.loads(r.value or b"") for r in await read_all(bootstrap, topic)]


async def wait_for(
    condition: Callable[[], Awaitable[bool]], *, timeout: float, interval: float = 0.25
) -> None:
    """Poll ``condition`` until true; fail the test with a clear message at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        if await condition():
            return
        if time.monotonic() > deadline:
            msg = f"condition not met within {timeout} s"
            raise AssertionError(msg)
        await asyncio.sleep(interval)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Service]:
    """The service running in this event loop; stopped (drained, committed) on exit."""
    service = Service(settings)
    task = asyncio.create_task(service.app.run())
    try:
        await wait_for(lambda: _started(service, task), timeout=30, interval=0.05)
        yield service
    finally:
        service.app.exit()
        await asyncio.wait_for(task, 60)


async def _started(service: Service, task: asyncio.Task[None]) -> bool:
    if task.done():
        task.result()  # raises what stopped it
    return service.started()
