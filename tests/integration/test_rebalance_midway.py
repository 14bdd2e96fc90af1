# Copyright 2026 chat-import-service contributors
"""Replicas stopped while a rebalance is under way: SIGTERM and kill -9 mid-revocation."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest

from service.emulator.server import EmulatorServer

from .chaos import (
    ChildService,
    all_alive,
    assert_exactly_once,
    build_load,
    create_topics,
    emulator_config,
    progress,
    report_logs,
    shutdown,
    wait_until,
)
from .harness import make_settings, produce
from .test_cluster import grace_period_seconds

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from service.embedded_broker import EmbeddedBroker

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


def holds_partitions(child: ChildService) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return child.assignments() > 0

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
