# Copyright 2026 chat-import-service contributors
"""The broker freezes for 30 s mid-import: the service rides it out and finishes exactly once."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from service.embedded_broker import EmbeddedBroker
from service.emulator.server import EmulatorServer

from .chaos import (
    ChildService,
    assert_exactly_once,
    build_load,
    create_topics,
    detected_by,
    emulator_config,
    emulator_stats,
    progress,
    report_logs,
    shutdown,
    wait_until,
)
from .harness import make_settings, produce

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.kafka, pytest.mark.emulator, pytest.mark.slow]

GROUPS = 20
PER_GROUP = 100
CALLS_PER_SECOND = 60  # a few seconds of import on each side of the outage
OUTAGE_SECONDS = 30.0


class TestBrokerOutage:
    """SIGSTOP on the broker (this test's own: the session broker is shared), then SIGCONT."""

    async def test_a_30_second_broker_freeze_mid_import_heals_by_itself(
        self, run_id: str, tmp_path: Path
    ):
        """No restart, no help: after the broker returns every event ends exactly once."""
        broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start()
        bootstrap = broker.bootstrap_servers
        child: ChildService | None = None
        try:
            async with EmulatorServer(emulator_config(latency_ms=30, jitter_ms=10)) as emulator:
                settings = make_settings(bootstrap, emulator.url, run_id)
                settings.tencent.calls_per_second = CALLS_PER_SECOND
                await create_topics(settings)
                load = build_load(settings, run_id, groups=GROUPS, per_group=PER_GROUP)
                expected = load.event_ids
                await produce(bootstrap, load.records)
                child = ChildService(settings, tmp_path / "service.log").start()
                try:
                    await wait_until(
                        progress(bootstrap, settings, expected, 0.25),
                        timeout=60,
                        what="25 % of the outcomes before the outage",
                        alive=child.ensure_alive,
                    )
                    stored_before = (await emulator_stats(emulator.url))["messages"]
                    broker.pause()
                    try:
                        await _hold(OUTAGE_SECONDS, child)
                    finally:
                        broker.resume()
                    await wait_until(
                        progress(bootstrap, settings, expected, 1.0),
                        timeout=120,
                        what="every outcome after the broker came back",
                        alive=child.ensure_alive,
                        interval=0.5,
                    )
                    assert 0 == await child.stop()
                    outcomes = await assert_exactly_once(
                        bootstrap, settings, emulator.url, expected, load.messages
                    )
                    stats = await emulator_stats(emulator.url)
                except BaseException:
                    report_logs([child])
                    raise
        finally:
            if child is not None:
                await shutdown([child])
            await asyncio.to_thread(broker.stop)
        assert stored_before < load.message_count, "the import finished before the outage"
        print(  # noqa: T201 - the run's shape, for the record
            f"stored before the outage={stored_before}/{load.message_count} "
            f"detected_by={dict(detected_by(outcomes))} "
            f"duplicates={stats['duplicates_discarded']} "
            f"publish retries={len(child.events('publishing failed; retrying'))} "
            f"revocations={len(child.events('partitions revoked'))}"
        )


async def _hold(seconds: float, child: ChildService) -> None:
    """Keep the outage up for ``seconds``; the service must stay up through it."""
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        child.ensure_alive()
        await asyncio.sleep(min(remaining, 0.5))
    child.ensure_alive()
