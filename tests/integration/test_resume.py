# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Resuming where the work stopped: what a SIGTERM, a kill -9 or a moved partition repeats.

Measured as a consumer of the outcomes topic sees it: an event with more than one outcome is a
repeat. Every run also keeps the exactly-once promises (``assert_exactly_once``).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from service.emulator.server import EmulatorServer

from .chaos import (
    ChildService,
    all_alive,
    assert_exactly_once,
    build_load,
    create_topics,
    emulator_config,
    emulator_stats,
    outcome_ids,
    progress,
    report_logs,
    shutdown,
    wait_until,
)
from .harness import Out, make_settings, produce, read_all

if TYPE_CHECKING:
    from pathlib import Path

    from service.embedded_broker import EmbeddedBroker
    from service.settings import Settings

pytestmark = [pytest.mark.kafka, pytest.mark.emulator, pytest.mark.slow]

GROUPS = 60
PER_GROUP = 50
STOP_AT = 0.4
HISTORY_API = "group_msg_get_simple"


async def test_the_embedded_broker_gives_commit_metadata_back(
    kafka_broker: EmbeddedBroker, run_id: str
):
    """As Apache Kafka does: the metadata of the last commit, and none after a plain commit."""
    bootstrap = kafka_broker.bootstrap_servers
    topic = f"meta-{run_id}"
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=f"meta-{run_id}", enable_auto_commit=False
    )
    await consumer.start()
    try:
        await produce(bootstrap, [Out(topic, b"k", b"v")] * 3)
        consumer.assign([tp])
        coordinator = consumer._coordinator
        await consumer.commit({tp: OffsetAndMetadata(2, "cim1:kept")})
        kept = await coordinator.fetch_committed_offsets([tp])
        await consumer.commit({tp: OffsetAndMetadata(3, "")})
        plain = await coordinator.fetch_committed_offsets([tp])
    finally:
        await consumer.stop()
    assert ((2, "cim1:kept"), (3, "")) == (
        (kept[tp].offset, kept[tp].metadata),
        (plain[tp].offset, plain[tp].metadata),
    )


# ------------------------------------------------------------------------------ measuring


async def outcome_records(bootstrap: str, settings: Settings) -> list[tuple[str, int]]:
    """(event id, timestamp ms) of every outcome record, in no particular order."""
    return [
        (str(json.loads(r.value or b"{}").get("event_id")), r.timestamp_ms)
        for r in await read_all(bootstrap, settings.topics.outcomes)
    ]


def repeated(records: list[tuple[str, int]]) -> Counter[str]:
    """Events with more than one outcome, and how many outcomes beyond the first each has."""
    counts = Counter(event_id for event_id, _ in records)
    return Counter({event_id: n - 1 for event_id, n in counts.items() if n > 1})


def history_calls(stats: dict[str, Any]) -> int:
    return sum(stats["calls"].get(HISTORY_API, {}).values())


async def metric(child: ChildService, name: str, **labels: str) -> float:
    """A sample of the child's /metrics (0 when absent)."""
    port = child.events("service starting")[-1]["http_port"]
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    wanted = name + (
        "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else ""
    )
    total = 0.0
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            total += float(line.split()[-1])
    return total


# ------------------------------------------------------------------------------ the runs


class TestRestart:
    async def test_a_sigterm_mid_run_repeats_at_most_one_percent_and_pulls_no_history(
        self, kafka_broker: EmbeddedBroker, run_id: str, tmp_path: Path
    ):
        """SIGTERM at 40 %: the drain commits the map; the next start skips what was done."""
        bootstrap = kafka_broker.bootstrap_servers
        async with EmulatorServer(emulator_config(latency_ms=30, jitter_ms=10)) as emulator:
            settings = make_settings(bootstrap, emulator.url, run_id)
            await create_topics(settings)
            load = build_load(settings, run_id, groups=GROUPS, per_group=PER_GROUP)
            await produce(bootstrap, load.records)
            expected = load.event_ids
            child = ChildService(settings, tmp_path / "service.log").start()
            try:
                await wait_until(
                    progress(bootstrap, settings, expected, STOP_AT),
                    timeout=90,
                    what=f"{STOP_AT:.0%} of the outcomes",
                    alive=child.ensure_alive,
                    interval=0.1,
                )
                assert 0 == await child.stop()
                done_at_stop = len(await outcome_ids(bootstrap, settings) & expected)
                pulls_before = history_calls(await emulator_stats(emulator.url))
                child.start()
                await wait_until(
                    progress(bootstrap, settings, expected, 1.0),
                    timeout=120,
                    what="every outcome after the restart",
                    alive=child.ensure_alive,
                )
                skipped = await metric(
                    child, "chat_import_records_skipped_total", topic=settings.topics.messages
                )
                assert 0 == await child.stop()
                await assert_exactly_once(
                    bootstrap, settings, emulator.url, expected, load.messages
                )
                pulls_after = history_calls(await emulator_stats(emulator.url)) - pulls_before
                records = await outcome_records(bootstrap, settings)
            except BaseException:
                report_logs([child])
                raise
            finally:
                await shutdown([child])
        repeats = sum(repeated(records).values())
        print(  # noqa: T201 - the run's shape, for the record
            f"SIGTERM at {done_at_stop}/{len(expected)} events: {repeats} repeated outcomes, "
            f"{pulls_after} history pulls after the restart, {skipped:.0f} messages skipped"
        )
        assert done_at_stop < len(expected)
        assert repeats <= len(expected) // 100
        # finished above the committed offset: skipped as read, not published again
        assert skipped > 0
        # nothing was sent but not finished at the stop (the drain waited for the calls)
        assert 0 == pulls_after

    async def test_a_kill_9_repeats_only_what_finished_after_the_last_commit(
        self, kafka_broker: EmbeddedBroker, run_id: str, tmp_path: Path
    ):
        """A kill -9 at 40 %: every repeated event had its first outcome in the last interval.

        (What that is in a share of the events depends on the throughput against the length of
        the run: ``make bench`` measures it for 300 groups x 50 messages at the ceiling.)
        """
        bootstrap = kafka_broker.bootstrap_servers
        async with EmulatorServer(emulator_config(latency_ms=30, jitter_ms=10)) as emulator:
            settings = make_settings(bootstrap, emulator.url, run_id)
            await create_topics(settings)
            load = build_load(settings, run_id, groups=GROUPS, per_group=PER_GROUP)
            await produce(bootstrap, load.records)
            expected = load.event_ids
            child = ChildService(settings, tmp_path / "service.log").start()
            try:
                await wait_until(
                    progress(bootstrap, settings, expected, STOP_AT),
                    timeout=90,
                    what=f"{STOP_AT:.0%} of the outcomes",
                    alive=child.ensure_alive,
                    interval=0.1,
                )
                killed_ms = time.time() * 1000
                child.kill()
                child.start()
                await wait_until(
                    progress(bootstrap, settings, expected, 1.0),
                    timeout=120,
                    what="every outcome after the restart",
                    alive=child.ensure_alive,
                )
                assert 0 == await child.stop()
                await assert_exactly_once(
                    bootstrap, settings, emulator.url, expected, load.messages
                )
                records = await outcome_records(bootstrap, settings)
            except BaseException:
                report_logs([child])
                raise
            finally:
                await shutdown([child])
        first_at: dict[str, int] = {}
        for event_id, timestamp in sorted(records, key=lambda r: r[1]):
            first_at.setdefault(event_id, timestamp)
        again = repeated(records)
        # the last periodic commit is at most one interval old at the kill, give or take a flow
        # tick, the commit's round trip and the outcome's acknowledgement (two shared cores)
        window_ms = (settings.kafka.commit_interval_seconds + 2.0) * 1000
        older = sorted(e for e in again if first_at[e] < killed_ms - window_ms)
        print(  # noqa: T201 - the run's shape, for the record
            f"kill -9: {sum(again.values())} repeated outcomes of {len(expected)} events"
        )
        assert [] == older[:10], "events finished before the last commit were repeated"
        assert all(n == 1 for n in again.values())


class TestMovedPartition:
    async def test_a_replica_taking_partitions_over_skips_the_finished_records(
        self, kafka_broker: EmbeddedBroker, run_id: str, tmp_path: Path
    ):
        """A runs alone; B joins mid-run: the partitions handed to B resume from A's maps."""
        bootstrap = kafka_broker.bootstrap_servers
        async with EmulatorServer(emulator_config(latency_ms=30, jitter_ms=10)) as emulator:
            settings = make_settings(bootstrap, emulator.url, run_id)
            # Slow enough to be mid-run when B has joined: B's start and the rebalance take up to
            # ten seconds, and A must not have finished B's partitions meanwhile.
            settings.tencent.calls_per_second = 25
            await create_topics(settings)
            load = build_load(settings, run_id, groups=GROUPS, per_group=PER_GROUP)
            await produce(bootstrap, load.records)
            expected = load.event_ids
            a = ChildService(settings, tmp_path / "service-a.log").start()
            b = ChildService(settings, tmp_path / "service-b.log")
            try:
                await wait_until(
                    progress(bootstrap, settings, expected, 0.2),
                    timeout=90,
                    what="20 % of the outcomes from A alone",
                    alive=a.ensure_alive,
                )
                b.start()
                await wait_until(
                    progress(bootstrap, settings, expected, 1.0),
                    timeout=180,
                    what="every outcome from A and B",
                    alive=all_alive([a, b]),
                )
                skipped = await metric(
                    b, "chat_import_records_skipped_total", topic=settings.topics.messages
                )
                pulls = await metric(b, "chat_import_history_pulls_total")
                assert (0, 0) == (await a.stop(), await b.stop())
                await assert_exactly_once(
                    bootstrap, settings, emulator.url, expected, load.messages
                )
                records = await outcome_records(bootstrap, settings)
            except BaseException:
                report_logs([a, b])
                raise
            finally:
                await shutdown([a, b])
        resumed = [e for e in b.events("resumed from the committed offsets") if e.get("mapped")]
        repeats = sum(repeated(records).values())
        print(  # noqa: T201 - the run's shape, for the record
            f"B resumed {resumed}; skipped {skipped:.0f}; {pulls:.0f} history pulls; "
            f"{repeats} repeated outcomes"
        )
        assert b.assignments() >= 1
        assert resumed, "B read no offset map"
        # The maps tell B the fate of every record above the committed offsets: finished ones
        # are skipped, ones no call carried are sent without looking at the history. Whether A
        # had finished any above its committed offsets depends on where the handover falls
        # (``skipped`` shows it); with the plain watermark B would check the history instead.
        assert pulls == 0
        assert repeats <= len(expected) // 100
