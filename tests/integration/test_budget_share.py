# Copyright 2026 chat-import-service contributors
"""Two replicas share the app's call budget by the records left on the partitions they hold.

All the work is on one partition index: the replica that holds it takes (nearly) the whole
budget, the idle one keeps only its floor, and together they never take more than the budget.
Read from each replica's ``/metrics``, as an operator would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from service.emulator.server import EmulatorServer
from service.providers.ratelimit import BACKLOG_FLOOR

from .chaos import (
    ChildService,
    all_alive,
    create_topics,
    emulator_config,
    group_event,
    report_logs,
    shutdown,
    wait_until,
)
from .harness import make_settings

if TYPE_CHECKING:
    from pathlib import Path

    from service.embedded_broker import EmbeddedBroker

pytestmark = [pytest.mark.kafka, pytest.mark.emulator, pytest.mark.slow]

PARTITIONS = 4
CALLS_PER_SECOND = 20  # 400 group imports keep the budget bound for about 20 s
GROUPS = 400


async def budget_of(client: httpx.AsyncClient, child: ChildService) -> float:
    """The replica's ``chat_import_calls_per_second_budget`` now."""
    (started,) = child.events("service starting")
    response = await client.get(f"http://127.0.0.1:{started['http_port']}/metrics")
    for line in response.text.splitlines():
        if line.startswith("chat_import_calls_per_second_budget "):
            return float(line.split()[1])
    msg = "no chat_import_calls_per_second_budget in /metrics"
    raise AssertionError(msg)


def holds(child: ChildService, partition: int) -> bool:
    """Whether the replica's last assignment includes ``partition`` of the groups topic."""
    assigned = child.events("partitions assigned")
    return bool(assigned) and any(
        name.endswith(f":{partition}") and name.startswith("groups-")
        for name in assigned[-1]["partitions"]
    )


class TestBudgetShare:
    async def test_the_replica_with_the_work_takes_the_budget(
        self, kafka_broker: EmbeddedBroker, run_id: str, tmp_path: Path
    ):
        bootstrap = kafka_broker.bootstrap_servers
        async with EmulatorServer(emulator_config(latency_ms=20)) as emulator:
            settings = make_settings(bootstrap, emulator.url, run_id)
            settings.kafka.topic_partitions = PARTITIONS
            settings.tencent.calls_per_second = CALLS_PER_SECOND
            budget = settings.provider_calls_per_second
            await create_topics(settings)
            replicas = [
                ChildService(settings, tmp_path / f"service-{name}.log").start()
                for name in ("a", "b")
            ]
            try:
                for child in replicas:
                    await wait_until(
                        _has_partitions(child),
                        timeout=60,
                        what=f"{child.log_path.stem} holding partitions",
                        alive=all_alive(replicas),
                    )
                busy = next(child for child in replicas if holds(child, 0))
                (idle,) = (child for child in replicas if child is not busy)
                producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
                await producer.start()
                try:
                    for n in range(GROUPS):
                        _, record = group_event(settings, run_id, f"share-{n:04d}-{run_id}")
                        await producer.send(record.topic, record.value, key=record.key, partition=0)
                    await producer.flush()
                finally:
                    await producer.stop()
                half = budget / 2
                async with httpx.AsyncClient(timeout=5) as client:
                    taken: list[tuple[float, float]] = []

                    async def shifted() -> bool:
                        shares = (await budget_of(client, busy), await budget_of(client, idle))
                        taken.append(shares)
                        return shares[0] > half * 1.5

                    await wait_until(
                        shifted,
                        timeout=30,
                        what="the busy replica taking most of the budget",
                        alive=all_alive(replicas),
                    )
                    busy_share, idle_share = taken[-1]
                    assert idle_share <= half
                    assert idle_share >= BACKLOG_FLOOR * half * 0.999
                    assert all(b + i <= budget * (1 + 1e-9) for b, i in taken), taken
            except BaseException:
                report_logs(replicas)
                raise
            finally:
                await shutdown(replicas)
        print(f"shares busy/idle: {busy_share:.2f}/{idle_share:.2f} of {budget:.2f}")  # noqa: T201


def _has_partitions(child: ChildService):
    async def check() -> bool:
        return bool(child.events("partitions assigned")) and bool(
            child.events("partitions assigned")[-1]["partitions"]
        )

    return check
