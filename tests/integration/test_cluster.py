# Copyright 2026 chat-import-service contributors
"""Three replicas as a deployment sees them: a rolling restart, a kill -9 and two joins.

The replicas run with the service's default drain, session and rebalance timeouts, during an
import that the provider's call budget bounds, while records are still being produced. Each
replica that gets SIGTERM must leave the group and exit 0 within the Deployment's
``terminationGracePeriodSeconds``; in the end every event has its outcome and the provider holds
every message once, in order.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from service.emulator.server import EmulatorServer
from service.settings import KafkaSettings, PipelineSettings

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
from .harness import make_settings, produce

if TYPE_CHECKING:
    from collections.abc import Callable

    from service.embedded_broker import EmbeddedBroker
    from service.settings import Settings

    from .harness import Out

pytestmark = [pytest.mark.kafka, pytest.mark.emulator, pytest.mark.slow]

GROUPS = 36
PER_GROUP = 60
PARTITIONS = 6
# Small enough that the import takes longer than the restarts: the budget binds throughout.
CALLS_PER_SECOND = 40
DEPLOYMENT = Path(__file__).parents[2] / "deploy" / "base" / "deployment.yaml"


def grace_period_seconds() -> float:
    """The Deployment's terminationGracePeriodSeconds: what Kubernetes waits before SIGKILL."""
    found = re.search(r"terminationGracePeriodSeconds:\s*(\d+)", DEPLOYMENT.read_text())
    assert found, f"no terminationGracePeriodSeconds in {DEPLOYMENT}"
    return float(found.group(1))


def cluster_settings(bootstrap: str, emulator_url: str, run_id: str) -> Settings:
    """The test run's topics and credentials with the service's own default timeouts."""
    settings = make_settings(bootstrap, emulator_url, run_id)
    defaults = KafkaSettings()
    settings.kafka.session_timeout_ms = defaults.session_timeout_ms
    settings.kafka.max_poll_interval_ms = defaults.max_poll_interval_ms
    settings.kafka.topic_partitions = PARTITIONS
    settings.pipeline = PipelineSettings()
    settings.tencent.calls_per_second = CALLS_PER_SECOND
    return settings


class Cluster:
    """The replicas of one run; a replaced replica keeps its log under a new name."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings = settings
        self.logs = logs
        self.everyone: list[ChildService] = []
        self.live: list[ChildService] = []

    def start(self, name: str) -> ChildService:
        child = ChildService(self.settings, self.logs / f"{name}.log").start()
        self.everyone.append(child)
        self.live.append(child)
        return child

    async def sigterm(self, child: ChildService) -> tuple[int, float]:
        """SIGTERM ``child`` as Kubernetes does; its exit code and how long it took to exit."""
        self.live.remove(child)
        started = time.monotonic()
        code = await child.stop()
        return code, time.monotonic() - started

    def kill(self, child: ChildService) -> None:
        self.live.remove(child)
        child.kill()

    def alive(self) -> Callable[[], None]:
        return all_alive(list(self.live))

    async def holding(self, child: ChildService, timeout: float) -> None:
        """Until ``child`` holds partitions (every live replica must stay up meanwhile)."""
        await wait_until(
            holds_partitions(child),
            timeout=timeout,
            what=f"{child.log_path.stem} holding partitions",
            alive=self.alive(),
        )


def waves(records: list[Out], count: int) -> list[list[Out]]:
    """``records`` cut into ``count`` consecutive parts (each group's order is kept)."""
    size = -(-len(records) // count)
    return [records[start : start + size] for start in range(0, len(records), size)]


class TestCluster:
    async def test_rolling_restart_kill_and_joins_lose_and_repeat_nothing(
        self, kafka_broker: EmbeddedBroker, run_id: str, tmp_path: Path
    ):
        """36 groups x 60 messages; A, B, C restarted in turn, one killed, two more join."""
        bootstrap = kafka_broker.bootstrap_servers
        grace = grace_period_seconds()
        async with EmulatorServer(emulator_config(latency_ms=30, jitter_ms=10)) as emulator:
            settings = cluster_settings(bootstrap, emulator.url, run_id)
            await create_topics(settings)
            load = build_load(settings, run_id, groups=GROUPS, per_group=PER_GROUP)
            expected = load.event_ids
            parts = waves(load.records, 5)
            cluster = Cluster(settings, tmp_path)
            stops: dict[str, tuple[int, float]] = {}
            try:
                await produce(bootstrap, parts[0])
                first = [cluster.start(name) for name in ("a", "b", "c")]
                for child in first:
                    await cluster.holding(child, timeout=60)
                await wait_until(
                    progress(bootstrap, settings, expected, 0.05),
                    timeout=60,
                    what="5 % of the outcomes",
                    alive=cluster.alive(),
                )
                # Rolling restart: each replica in turn gets SIGTERM while records arrive, and
                # its replacement starts once it has exited.
                for index, child in enumerate(first, start=1):
                    name = child.log_path.stem
                    stop, _ = await asyncio.gather(
                        cluster.sigterm(child), produce(bootstrap, parts[index])
                    )
                    stops[name] = stop
                    replacement = cluster.start(f"{name}2")
                    await cluster.holding(replacement, timeout=90)
                # A replica dies without a word; two join while the last records arrive.
                cluster.kill(cluster.live[0])
                await produce(bootstrap, parts[4])
                joiners = [cluster.start(name) for name in ("d", "e")]
                for child in joiners:
                    await cluster.holding(child, timeout=90)
                await wait_until(
                    progress(bootstrap, settings, expected, 1.0),
                    timeout=240,
                    what="every outcome",
                    alive=cluster.alive(),
                )
                for child in list(cluster.live):
                    stops[child.log_path.stem] = await cluster.sigterm(child)
                await assert_exactly_once(
                    bootstrap, settings, emulator.url, expected, load.messages
                )
            except BaseException:
                report_logs(cluster.everyone)
                raise
            finally:
                await shutdown(cluster.everyone)
        late = {name: stop for name, stop in stops.items() if stop[0] != 0 or stop[1] >= grace}
        assert not late, f"exit code and seconds of replicas that did not stop in {grace} s: {late}"
        print(  # noqa: T201 - the run's shape, for the record
            "stops "
            + ", ".join(
                f"{name}: exit {code} in {took:.1f} s" for name, (code, took) in stops.items()
            )
        )
