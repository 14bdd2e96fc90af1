# Copyright 2026 chat-import-service contributors
"""A provider that fails one call in three, in every way it can: still exactly once, in order."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from service.emulator.server import EmulatorServer

from .chaos import (
    assert_exactly_once,
    build_load,
    create_topics,
    detected_by,
    emulator_config,
    emulator_stats,
    progress,
    wait_until,
)
from .harness import make_settings, produce, running

if TYPE_CHECKING:
    from service.embedded_broker import EmbeddedBroker

pytestmark = [pytest.mark.kafka, pytest.mark.emulator, pytest.mark.slow]

GROUPS = 20
PER_GROUP = 50
CLIENT_TIMEOUT_SECONDS = 1.0
FAULTS = {
    "latency_ms": 5,
    "jitter_ms": 5,
    "http_500_probability": 0.10,  # not applied
    "internal_error_probability": 0.10,  # 10002, not applied
    "applied_then_reset_probability": 0.10,  # applied, the answer is lost
    # A spike outlasts the service's HTTP timeout: the service cannot tell whether the call
    # happened and has to find out before calling again.
    "latency_spike_probability": 0.04,
    "latency_spike_ms": 1_500,
    "seed": 20_261_123,
}


class TestProviderFaults:
    """HTTP 500, ErrorCode 10002, answers lost after the call applied, and slow answers."""

    async def test_every_fault_kind_at_once_keeps_exactly_once_and_order(
        self, kafka_broker: EmbeddedBroker, run_id: str
    ):
        """20 groups x 50 messages through ~30 % failing calls: each stored once, in order."""
        bootstrap = kafka_broker.bootstrap_servers
        async with EmulatorServer(emulator_config(**FAULTS)) as emulator:
            settings = make_settings(bootstrap, emulator.url, run_id)
            settings.http_timeout_seconds = CLIENT_TIMEOUT_SECONDS
            await create_topics(settings)
            load = build_load(settings, run_id, groups=GROUPS, per_group=PER_GROUP)
            async with running(settings):
                await produce(bootstrap, load.records)
                await wait_until(
                    progress(bootstrap, settings, load.event_ids, 1.0),
                    timeout=120,
                    what="an outcome for every event",
                    interval=0.5,
                )
            outcomes = await assert_exactly_once(
                bootstrap, settings, emulator.url, load.event_ids, load.messages
            )
            stats = await emulator_stats(emulator.url)

        faults = stats["faults"]
        print(  # noqa: T201 - the run's shape, for the record
            f"faults={faults} duplicates={stats['duplicates_discarded']} "
            f"detected_by={dict(detected_by(outcomes))} calls={stats['calls']}"
        )
        injected = {kind: faults.get(kind, 0) > 0 for kind in FAULT_KINDS}
        assert dict.fromkeys(FAULT_KINDS, True) == injected, faults


FAULT_KINDS = ("http_500", "internal_error", "applied_then_reset", "latency_spike")
