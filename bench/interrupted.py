# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""A run interrupted twice: SIGTERM at a third of the messages, kill -9 at two thirds.

Measured as a consumer of the outcomes topic and the provider see it: outcome records against
events (a repeat is a second outcome of one event), and history pulls (the provider's history
API calls), in total and in the phase after each restart. Run once with the offset map in the
commits and once with the plain watermark (``offset_metadata_max_bytes`` 0), which is how the
service committed before the map: the before and after of one change on one machine.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.load import produce_export
from service.messaging.topic_reader import read_topic
from service.messaging.topics import ensure_topics
from service.settings import Settings
from service.tools.local_stack import ManagedProcess, service_process

HISTORY_API = "group_msg_get_simple"
PHASES = ("start", "after SIGTERM", "after kill -9")


@dataclass
class Interrupted:
    """What an interrupted run cost."""

    name: str
    events: int
    outcomes: int
    repeated: int
    history_pulls: int
    repeated_by_phase: list[int] = field(default_factory=list)
    pulls_by_phase: list[int] = field(default_factory=list)
    elapsed_s: float = 0.0
    order_ok: bool = True
    counts_ok: bool = True

    @property
    def repeated_share(self) -> float:
        """Repeated outcomes as a share of the events."""
        return self.repeated / self.events if self.events else 0.0


async def _stats(client: httpx.AsyncClient, url: str) -> dict:
    response = await client.get(f"{url}/_emulator/stats")
    response.raise_for_status()
    return dict(response.json())


def _pulls(stats: dict) -> int:
    return sum(stats["calls"].get(HISTORY_API, {}).values())


async def _ends(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    """The end offset of each partition of ``topic`` now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ends = await consumer.end_offsets(tps)
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def _until(
    check: Callable[[], Awaitable[bool]], process: ManagedProcess, timeout: float, what: str
) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if not process.alive():
            msg = f"the service exited before {what}"
            raise RuntimeError(msg)
        if time.monotonic() > deadline:
            msg = f"{what}: not reached within {timeout:.0f} s"
            raise RuntimeError(msg)
        await asyncio.sleep(0.2)


async def run_interrupted(
    settings: Settings,
    emulator_url: str,
    *,
    name: str,
    groups: int,
    per_group: int,
    partitions: int,
    prefix: str,
    log_dir: Path,
    verify: Callable[[], Awaitable[tuple[bool, bool]]],
) -> Interrupted:
    """Import ``groups`` x ``per_group``; SIGTERM at a third, kill -9 at two thirds; finish."""
    bootstrap = settings.kafka.bootstrap_servers
    await ensure_topics(settings.kafka, settings.topics)
    events = await produce_export(
        bootstrap,
        settings.topics.groups,
        settings.topics.messages,
        groups=groups,
        messages=per_group,
        partitions=partitions,
        prefix=prefix,
    )
    messages = groups * per_group
    ends: list[dict[int, int]] = []
    pulls: list[int] = []
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as client:

        async def stored(share: float) -> bool:
            return (await _stats(client, emulator_url))["messages"] >= messages * share

        process = service_process(settings, log_path=log_dir / f"service-{name}-1.log").start()
        await _until(lambda: stored(1 / 3), process, 300, "a third of the messages")
        await asyncio.to_thread(process.terminate)
        ends.append(await _ends(bootstrap, settings.topics.outcomes, partitions))
        pulls.append(_pulls(await _stats(client, emulator_url)))

        process = service_process(settings, log_path=log_dir / f"service-{name}-2.log").start()
        await _until(lambda: stored(2 / 3), process, 300, "two thirds of the messages")
        process.kill()
        ends.append(await _ends(bootstrap, settings.topics.outcomes, partitions))
        pulls.append(_pulls(await _stats(client, emulator_url)))

        process = service_process(settings, log_path=log_dir / f"service-{name}-3.log").start()
        try:
            outcome_ids: set[str] = set()

            async def finished() -> bool:
                if not await stored(1.0):
                    return False
                outcome_ids.clear()
                async for record in read_topic(bootstrap, settings.topics.outcomes):
                    outcome_ids.add(str(json.loads(record.value or b"{}").get("event_id")))
                return len(outcome_ids) >= events

            await _until(finished, process, 600, "every outcome")
            elapsed = time.monotonic() - started
        finally:
            await asyncio.to_thread(process.terminate)
        pulls.append(_pulls(await _stats(client, emulator_url)))
    order_ok, counts_ok = await verify()

    seen: set[str] = set()
    repeated_by_phase = [0, 0, 0]
    records = 0
    async for record in read_topic(bootstrap, settings.topics.outcomes):
        records += 1
        phase = next(
            (n for n, end in enumerate(ends) if record.offset < end.get(record.partition, 0)),
            len(ends),
        )
        event_id = str(json.loads(record.value or b"{}").get("event_id"))
        if event_id in seen:
            repeated_by_phase[phase] += 1
        seen.add(event_id)
    pulls_by_phase = [pulls[0], pulls[1] - pulls[0], pulls[2] - pulls[1]]
    return Interrupted(
        name=name,
        events=events,
        outcomes=records,
        repeated=sum(repeated_by_phase),
        history_pulls=pulls[-1],
        repeated_by_phase=repeated_by_phase,
        pulls_by_phase=pulls_by_phase,
        elapsed_s=round(elapsed, 1),
        order_ok=order_ok and len(seen) == events,
        counts_ok=counts_ok,
    )
