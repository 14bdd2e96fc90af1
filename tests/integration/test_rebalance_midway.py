# Copyright 2026 chat-import-service contributors
"""Rebalances at awkward moments: SIGTERM and kill -9 mid-revocation, a batch handed over late."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import pytest

from service.emulator.server import EmulatorServer

from .chaos import (
    ChildService,
    all_alive,
    assert_exactly_once,
    build_load,
    create_topics,
    emulator_config,
    holds_partitions,
    progress,
    report_logs,
    shutdown,
    wait_until,
)
from .harness import make_settings, produce, running
from .test_cluster import grace_period_seconds

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from service.app import Service
    from service.domain.ledger import TopicPartition
    from service.embedded_broker import EmbeddedBroker
    from service.runtime.engine import Engine

pytestmark = [pytest.mark.kafka, pytest.mark.emulator, pytest.mark.slow]

GROUPS = 32
PER_GROUP = 90
PARTITIONS = 8
CALLS_PER_SECOND = 60
# Slow answers keep calls on the wire while partitions are revoked: the drain has work to wait on.
LATENCY_MS = 800
STOPPING = "stopping: draining in-flight work"


def revocations(child: ChildService) -> int:
    """How many revocations of a non-empty set the replica has begun."""
    return sum(1 for entry in child.events("partitions revoked") if entry.get("partitions"))


def sequence(child: ChildService, *names: str) -> list[str]:
    """The structured log events ``names`` the replica logged, in order."""
    events = (json.loads(line).get("event") for line in child.log().splitlines() if line[:1] == "{")
    return [event for event in events if event in names]


def revoking(child: ChildService, before: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return revocations(child) > before

    return check


class HeldThreadHop:
    """anyio's thread pool, made to hold the service's batch decoder until released."""

    def __init__(self) -> None:
        self.hold = False
        self._holding = asyncio.Event()
        self._released = asyncio.Event()
        self._run_sync = anyio.to_thread.run_sync

    async def run_sync(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        decoder = getattr(func, "__name__", "") == "_raw_batch"
        if self.hold and decoder and not self._released.is_set():
            self._holding.set()
            await self._released.wait()
        return await self._run_sync(func, *args, **kwargs)

    async def holding(self) -> bool:
        return self._holding.is_set()

    def release(self) -> None:
        self._released.set()


def consumed(service: Service, topic: str, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        found = service.metrics.registry.get_sample_value(
            "chat_import_records_consumed_total", {"topic": topic}
        )
        return (found or 0) >= count

    return check


def either(*conditions: Callable[[], Awaitable[bool]]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return any([await condition() for condition in conditions])

    return check


def came_back(engine: Engine, before: dict[TopicPartition, int]) -> Callable[[], Awaitable[bool]]:
    """All of ``before``'s partitions held again, each in a newer generation."""

    async def check() -> bool:
        now = engine.generations()
        return bool(before) and all(now.get(tp, 0) > gen for tp, gen in before.items())

    return check


class TestStoppedMidRebalance:
    async def test_sigterm_and_kill_9_while_partitions_are_being_revoked(
        self, kafka_broker: EmbeddedBroker, run_id: str, tmp_path: Path
    ):
        """A gets SIGTERM as B's join revokes its partitions; B is killed as C's join does."""
        bootstrap = kafka_broker.bootstrap_servers
        async with EmulatorServer(emulator_config(latency_ms=LATENCY_MS)) as emulator:
            settings = make_settings(bootstrap, emulator.url, run_id)
            settings.kafka.topic_partitions = PARTITIONS
            settings.tencent.calls_per_second = CALLS_PER_SECOND
            await create_topics(settings)
            load = build_load(settings, run_id, groups=GROUPS, per_group=PER_GROUP)
            expected = load.event_ids
            a = ChildService(settings, tmp_path / "service-a.log")
            b = ChildService(settings, tmp_path / "service-b.log")
            c = ChildService(settings, tmp_path / "service-c.log")
            everyone = [a, b, c]
            try:
                await produce(bootstrap, load.records)
                a.start()
                await wait_until(
                    progress(bootstrap, settings, expected, 0.15),
                    timeout=90,
                    what="15 % of the outcomes from A alone",
                    alive=a.ensure_alive,
                )
                before = revocations(a)
                b.start()
                await wait_until(
                    revoking(a, before),
                    timeout=60,
                    what="A revoking for B's join",
                    interval=0.02,
                    alive=all_alive([a, b]),
                )
                started = time.monotonic()
                code = await a.stop()
                # told to stop after giving its partitions up, before it got any back
                seen = sequence(a, "partitions revoked", "partitions assigned", STOPPING)
                assert "partitions revoked" == seen[seen.index(STOPPING) - 1]
                a_stop = (code, time.monotonic() - started)
                await wait_until(
                    holds_partitions(b),
                    timeout=90,
                    what="B holding partitions",
                    alive=b.ensure_alive,
                )
                await wait_until(
                    progress(bootstrap, settings, expected, 0.5),
                    timeout=120,
                    what="half the outcomes",
                    alive=b.ensure_alive,
                )
                before = revocations(b)
                c.start()
                await wait_until(
                    revoking(b, before),
                    timeout=60,
                    what="B revoking for C's join",
                    interval=0.02,
                    alive=all_alive([b, c]),
                )
                b.kill()
                # killed between giving its partitions up and getting the new ones
                seen = sequence(b, "partitions revoked", "partitions assigned")
                assert "partitions revoked" == seen[-1]
                await wait_until(
                    holds_partitions(c),
                    timeout=90,
                    what="C holding partitions",
                    alive=c.ensure_alive,
                )
                await wait_until(
                    progress(bootstrap, settings, expected, 1.0),
                    timeout=240,
                    what="every outcome from C",
                    alive=c.ensure_alive,
                )
                assert 0 == await c.stop()
                await assert_exactly_once(
                    bootstrap, settings, emulator.url, expected, load.messages
                )
            except BaseException:
                report_logs(everyone)
                raise
            finally:
                await shutdown(everyone)
        assert a_stop[0] == 0
        assert a_stop[1] < grace_period_seconds()
        print(f"A stopped mid-revocation: exit {a_stop[0]} in {a_stop[1]:.1f} s")  # noqa: T201


class TestBatchHandedOverLate:
    async def test_a_batch_fetched_before_a_rebalance_and_handed_over_after_it_loses_nothing(
        self, kafka_broker: EmbeddedBroker, run_id: str, monkeypatch: pytest.MonkeyPatch
    ):
        """The partition comes back to the same replica while a fetched batch is on its way."""
        bootstrap = kafka_broker.bootstrap_servers
        hop = HeldThreadHop()
        monkeypatch.setattr(anyio.to_thread, "run_sync", hop.run_sync)
        async with EmulatorServer(emulator_config(latency_ms=100)) as emulator:
            settings = make_settings(bootstrap, emulator.url, run_id, drain_seconds=1)
            settings.kafka.topic_partitions = 1
            settings.tencent.calls_per_second = 2  # the first records are still queued later
            await create_topics(settings)
            load = build_load(settings, run_id, groups=4, per_group=30)
            half = len(load.records) // 2
            async with running(settings) as a:
                await produce(bootstrap, load.records[:half])
                await wait_until(
                    consumed(a, settings.topics.messages, half - 4),
                    timeout=30,
                    what="A reading the first half",
                )
                hop.hold = True  # a slow thread pool from here on, as on a loaded machine
                await produce(bootstrap, load.records[half:])
                await wait_until(
                    either(
                        hop.holding, consumed(a, settings.topics.messages, len(load.records) - 4)
                    ),
                    timeout=30,
                    what="A's next batch on its way",
                )
                engine = a.resources.engine if a.resources else None
                assert engine is not None
                first = engine.generations()
                async with running(settings):  # a second replica joins: a rebalance
                    await wait_until(
                        came_back(engine, first), timeout=60, what="A holding its partitions again"
                    )
                    # FastStream decodes a batch in a worker thread, between fetch and handler
                    assert await hop.holding(), "no batch was held between fetch and handler"
                    hop.release()
                    await wait_until(
                        progress(bootstrap, settings, load.event_ids, 1.0),
                        timeout=120,
                        what="every outcome",
                    )
            await assert_exactly_once(
                bootstrap, settings, emulator.url, load.event_ids, load.messages
            )
