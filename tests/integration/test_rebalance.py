# Copyright 2026 chat-import-service contributors
"""Replicas joining and dying mid-import: partitions move, nothing is lost or imported twice."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from service.emulator.server import EmulatorServer

from .chaos import (
    ChildService,
    all_alive,
    assert_exactly_once,
    build_load,
    create_topics,
    detected_by,
    emulator_config,
    emulator_stats,
    holds_partitions,
    progress,
    report_logs,
    shutdown,
    wait_until,
)
from .harness import make_settings, produce

if TYPE_CHECKING:
    from pathlib import Path

    from service.embedded_broker import EmbeddedBroker

pytestmark = [pytest.mark.kafka, pytest.mark.emulator, pytest.mark.slow]

GROUPS = 40
PER_GROUP = 100
PARTITIONS = 8
# A small app-wide budget stretches the import over several rebalances.
CALLS_PER_SECOND = 60


class TestRebalance:
    """A starts; B joins mid-run; A is SIGKILLed mid-run; C joins; B and C finish."""

    async def test_join_then_kill_9_then_join_keeps_exactly_once(
        self, kafka_broker: EmbeddedBroker, run_id: str, tmp_path: Path
    ):
        """4,000 messages over 8 partitions while the consumer group changes three times."""
        bootstrap = kafka_broker.bootstrap_servers
        async with EmulatorServer(emulator_config(latency_ms=30, jitter_ms=10)) as emulator:
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
                    progress(bootstrap, settings, expected, 0.10),
                    timeout=60,
                    what="10 % of the outcomes from A alone",
                    alive=a.ensure_alive,
                )
                b.start()
                await wait_until(
                    holds_partitions(b),
                    timeout=60,
                    what="B holding partitions",
                    alive=all_alive([a, b]),
                )
                await wait_until(
                    progress(bootstrap, settings, expected, 0.45),
                    timeout=90,
                    what="45 % of the outcomes from A and B",
                    alive=all_alive([a, b]),
                )
                a.kill()
                c.start()
                await wait_until(
                    holds_partitions(c),
                    timeout=60,
                    what="C holding partitions",
                    alive=all_alive([b, c]),
                )
                await wait_until(
                    progress(bootstrap, settings, expected, 1.0),
                    timeout=120,
                    what="every outcome from B and C",
                    alive=all_alive([b, c]),
                )
                assert (0, 0) == (await b.stop(), await c.stop())
                outcomes = await assert_exactly_once(
                    bootstrap, settings, emulator.url, expected, load.messages
                )
                stats = await emulator_stats(emulator.url)
            except BaseException:
                report_logs(everyone)
                raise
            finally:
                await shutdown(everyone)
        print(  # noqa: T201 - the run's shape, for the record
            f"assignments a={a.assignments()} b={b.assignments()} c={c.assignments()} "
            f"detected_by={dict(detected_by(outcomes))} "
            f"duplicates={stats['duplicates_discarded']}"
        )
