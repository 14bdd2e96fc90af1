# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""What a first version would do: one record at a time, one message per call, commit each."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from service.domain.events import GroupMessage, GroupProfile
from service.providers.ratelimit import RateLimiter
from service.providers.tencent import TencentProvider
from service.providers.tencent_sig import UserSigCache


async def run_naive(
    bootstrap: str,
    topics: list[str],
    outcomes_topic: str,
    provider_url: str,
    *,
    sdk_app_id: int,
    secret_key: str,
    seconds: float,
    groups: list[str],
    on_groups_created: Callable[[], Awaitable[object]],
) -> int:
    """Consume for ``seconds`` and return how many messages were imported.

    The groups are created first and not timed: the baseline measures message throughput.
    """
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=f"naive-{time.time_ns()}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    imported = 0
    async with httpx.AsyncClient(timeout=10) as client:
        provider = TencentProvider(
            client,
            base_url=provider_url,
            sdk_app_id=sdk_app_id,
            admin_identifier="administrator",
            user_sig=UserSigCache(
                sdk_app_id=sdk_app_id, identifier="administrator", secret_key=secret_key
            ),
        )
        limiter = RateLimiter(190)
        for gid in groups:
            await limiter.acquire()
            await provider.import_group(GroupProfile(GroupId=gid, Type="Public", Name=gid))
        await on_groups_created()
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                record = await consumer.getone()
                event = json.loads(record.value)
                try:
                    if event["type"] == "group.message.import":
                        message = GroupMessage.model_validate(event["message"])
                        await limiter.acquire()
                        await provider.import_messages(event["group_id"], None, [message])
                        imported += 1
                except Exception:  # noqa: BLE001, S110 - a naive consumer logs and moves on
                    pass
                await producer.send_and_wait(
                    outcomes_topic, json.dumps({"event_id": event["event_id"]}).encode()
                )
                await consumer.commit()
        finally:
            await consumer.stop()
            await producer.stop()
    return imported
