# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Replicas sharing the call budget through a real control topic on the embedded broker."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from service.app import open_control_channel
from service.embedded_broker import EmbeddedBroker
from service.messaging.assignor import Holding
from service.messaging.shared_budget import SharedBudget
from service.messaging.topics import ensure_topics
from service.metrics import Metrics
from service.providers.ratelimit import ApiBudgets
from service.settings import Settings

from .harness import make_settings

pytestmark = pytest.mark.kafka

BUDGET = 196.0


def settings_for(broker: EmbeddedBroker, run_id: str, **pipeline: Any) -> Settings:
    """The integration tests' settings, with a control topic of this run's own."""
    settings = make_settings(broker.bootstrap_servers, "http://127.0.0.1:1", run_id, **pipeline)
    topics = settings.topics.model_copy(update={"control": f"control-{run_id}"})
    return settings.model_copy(update={"topics": topics})


def backlog_of(calls: list[float]) -> Callable[[], asyncio.Future[float]]:
    async def measure() -> float:
        return calls[0]

    return measure  # type: ignore[return-value]


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - a plain condition, polled with a deadline
            await asyncio.sleep(0.02)


async def test_the_replica_with_more_work_left_gets_more_of_the_budget(
    kafka_broker: EmbeddedBroker, run_id: str
) -> None:
    """Two replicas, each half the indices: the one with ten times the work gets most calls."""
    settings = settings_for(kafka_broker, run_id)
    await ensure_topics(settings.kafka, settings.topics)
    group = settings.kafka.group_id
    replicas = []
    for indices, calls in (({0, 1}, 2_000.0), ({2, 3}, 200.0)):
        channel = await open_control_channel(settings)
        assert channel is not None
        budgets = ApiBudgets(0.0)
        shared = SharedBudget(budgets, Metrics(), BUDGET, channel, group=group)
        replicas.append((shared, budgets, channel, indices, [calls]))
    try:
        for shared, _, _, indices, backlog in replicas:
            shared.hold(Holding(1, frozenset(indices), 4), backlog_of(backlog))
        (_, busy, _, _, _), (_, idle, _, _, _) = replicas
        assert (busy.rate, idle.rate) == (98.0, 98.0)  # the split by indices, before any report
        await until(lambda: busy.rate > 150 and idle.rate < 50)
        assert busy.rate + idle.rate <= BUDGET
        assert busy.rate == math.floor(busy.rate)
        # the busy one catches up: the shares move back toward even
        replicas[0][4][0] = 200.0
        await until(lambda: abs(busy.rate - idle.rate) <= 2)
        assert busy.rate + idle.rate <= BUDGET
    finally:
        for shared, _, channel, _, _ in replicas:
            await shared.stop()
            await channel.stop()


async def test_without_the_control_topic_the_split_by_indices_stays(
    kafka_broker: EmbeddedBroker, run_id: str
) -> None:
    """A missing control topic is not fatal: a warning, and shares by partitions held."""
    settings = settings_for(kafka_broker, run_id)
    with capture_logs() as logs:
        channel = await open_control_channel(settings)
    assert channel is None
    assert any(entry["event"].startswith("the control topic does not exist") for entry in logs), (
        logs
    )


async def test_sharing_turned_off_opens_no_control_topic(
    kafka_broker: EmbeddedBroker, run_id: str
) -> None:
    settings = settings_for(kafka_broker, run_id, share_budget_by_backlog=False)
    await ensure_topics(settings.kafka, settings.topics)
    assert await open_control_channel(settings) is None
