# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Assembling the service: FastStream consumer, resources, the consumer controller.

``create_app(settings)`` returns a FastStream application. Its lifespan opens every resource
(httpx client, producer, engine, HTTP server) as one ``Resources`` value and closes them on
shutdown; the ``ConsumerController`` does everything with the consumer once it exists. Shutdown
(SIGTERM) takes no more records, lets in-flight calls finish within ``pipeline.drain_seconds``,
commits, and then leaves the consumer group.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from aiokafka import AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker, KafkaMessage

from service.domain.retry_policy import RetryPolicy
from service.http_api import HttpServer, create_http_app
from service.messaging.assignor import (
    CopartitionedAssignor,
    ensure_copartitioned,
    read_partition_counts,
)
from service.messaging.consumer_controller import ConsumerController
from service.messaging.control_channel import ControlChannel
from service.messaging.kafka_clients import broker_security, security_options
from service.messaging.outcome_publisher import KafkaOutcomeSink
from service.messaging.producer_errors import start_producer
from service.messaging.shared_budget import SharedBudget
from service.messaging.topics import ensure_topics
from service.metrics import Metrics
from service.providers.factory import build_provider
from service.providers.ratelimit import ApiBudgets
from service.providers.transport import ShardedTransport
from service.runtime.engine import Engine
from service.settings import Settings

log = structlog.get_logger("service.app")

# The group coordinator waits this much longer than the drain for a member to rejoin: a
# revocation finishes its calls on the wire (bounded by the drain) before the member rejoins.
REBALANCE_MARGIN_SECONDS = 15


@dataclass(frozen=True, slots=True)
class Resources:
    """What the lifespan opens, and closes on shutdown."""

    engine: Engine
    budgets: ApiBudgets
    shared_budget: SharedBudget
    http: HttpServer


CONTROL_TOPIC_WAIT_SECONDS = 3.0  # a topic just created shows in the metadata by then


async def open_control_channel(settings: Settings) -> ControlChannel | None:
    """The control topic's channel, or None when shares follow indices only.

    A missing control topic is not fatal: the replicas then split the budget by the indices
    they hold, which never overruns it but leaves some unused at the end of a backfill.
    """
    if (
        not settings.pipeline.share_budget_by_backlog
        or settings.pipeline.replica_calls_per_second is not None
    ):
        return None
    topic = settings.topics.control
    counts = await read_partition_counts(
        settings.kafka, [topic], timeout=CONTROL_TOPIC_WAIT_SECONDS
    )
    if not counts[topic]:
        log.warning(
            "the control topic does not exist: the call budget is split by the partitions "
            "held, not by the work left; create it with one partition",
            topic=topic,
        )
        return None
    channel = ControlChannel(settings.kafka, topic)
    await channel.start()
    return channel


@asynccontextmanager
async def open_resources(
    settings: Settings,
    metrics: Metrics,
    probes: tuple[Any, Any],
) -> AsyncIterator[Resources]:
    """Open the httpx client, the producer, the engine and the HTTP endpoints; close them after."""
    if settings.kafka.create_topics:
        created = await ensure_topics(settings.kafka, settings.topics)
        if created:
            log.info("created topics", topics=created, partitions=settings.kafka.topic_partitions)
    # Partition p of every input topic goes to one replica: its groups with their messages.
    await ensure_copartitioned(settings.kafka, settings.topics)
    pipeline = settings.pipeline
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.http_timeout_seconds, connect=5.0),
        transport=ShardedTransport(max_connections=pipeline.max_connections),
    )
    provider = build_provider(settings, client)
    fixed = pipeline.replica_calls_per_second
    # No share of the app-wide budget until partitions are assigned. An API documented below the
    # app's budget keeps its share of whatever this replica holds.
    limits = provider.call_limits
    budgets = ApiBudgets(
        fixed if fixed is not None else 0.0,
        per_api=settings.tencent.budget_per_api,
        api_shares={api: limit / settings.provider_budget for api, limit in limits.per_api.items()},
        per_key=limits.per_group,
    )
    metrics.rate_budget.set(budgets.rate)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        **security_options(settings.kafka),
        client_id=f"{settings.kafka.client_id}-outcomes",
        acks="all",
        enable_idempotence=settings.kafka.idempotent_producer,
        linger_ms=5,
        request_timeout_ms=30_000,
        max_request_size=settings.kafka.max_message_bytes,
    )
    try:
        # a broker refusing the idempotent producer is ProducerStartError: one line, the setting
        await start_producer(producer, idempotent=settings.kafka.idempotent_producer)
    except BaseException:
        await client.aclose()
        raise
    try:
        channel = await open_control_channel(settings)
    except BaseException:
        await producer.stop()
        await client.aclose()
        raise
    shared_budget = SharedBudget(
        budgets,
        metrics,
        settings.provider_calls_per_second,
        channel,
        group=settings.kafka.group_id,
    )
    readiness, liveness = probes
    http = HttpServer(
        create_http_app(metrics.registry, readiness, liveness),
        host="0.0.0.0",  # noqa: S104 - probes and scrapes come from outside the pod
        port=settings.http_port,
    )
    try:
        engine = Engine(
            provider,
            KafkaOutcomeSink(producer, settings.topics),
            policy=RetryPolicy(
                initial_seconds=pipeline.retry_initial_seconds,
                max_seconds=pipeline.retry_max_seconds,
                max_attempts=pipeline.retry_max_attempts,
                group_wait_seconds=pipeline.group_wait_seconds,
                account_wait_seconds=pipeline.account_wait_seconds,
            ),
            max_in_flight_calls=pipeline.max_in_flight_calls,
            metrics=metrics,
            budgets=budgets,
            messages_per_call=pipeline.messages_per_call,
        )
        await http.start()
        log.info(
            "service starting",
            provider=settings.provider.value,
            bootstrap_servers=settings.kafka.bootstrap_servers,
            group_id=settings.kafka.group_id,
            http_port=http.port,
            calls_per_second=budgets.rate,
        )
        yield Resources(engine=engine, budgets=budgets, shared_budget=shared_budget, http=http)
    finally:
        await http.stop()
        await shared_budget.stop()
        if channel is not None:
            await channel.stop()
        await producer.stop()
        await client.aclose()


async def _parse_batch(records: Any, original: Any) -> KafkaMessage:  # noqa: ANN401 - FastStream parser hook
    """Wrap the batch without decoding header values.

    FastStream's own parser decodes every header value as UTF-8 and fails the whole batch on
    one binary value, before the handler sees it. Header values are arbitrary bytes in Kafka; the
    engine reads the raw records, so nothing here needs them decoded.
    """
    del original
    first, last = records[0], records[-1]
    return KafkaMessage(
        raw_message=records,
        body=[],
        message_id=f"{first.topic}-{first.partition}-{first.offset}-{last.offset}",
        # never acknowledged through FastStream: the service commits offsets itself
        consumer=None,  # type: ignore[arg-type]
    )


def _raw_batch(msg: Any) -> Any:  # noqa: ANN401 - FastStream decoder hook
    """Leave the batch undecoded: the engine decides what a value is (junk goes to dead letter)."""
    del msg
    return None


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, service: Service) -> None:
        self._service = service

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        controller = self._service.controller()
        if controller is not None:
            await controller.on_revoked(list(revoked))

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        controller = self._service.controller()
        if controller is not None:
            await controller.on_assigned(list(assigned))


class Service:
    """One service process: the FastStream app, its resources and its consumer controller."""

    def __init__(self, settings: Settings, *, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self._resources: Resources | None = None
        self._controller: ConsumerController | None = None
        # one per consumer: it remembers this member's indices for stickiness and the budget
        self.assignor = CopartitionedAssignor()
        kafka = settings.kafka
        pipeline = settings.pipeline
        self.broker = KafkaBroker(
            kafka.bootstrap_servers,
            client_id=kafka.client_id,
            security=broker_security(kafka),
            consumer_only=True,
            graceful_timeout=pipeline.drain_seconds,
            # through the root handler (JSON, redacted); per-batch access lines only at DEBUG
            logger=logging.getLogger("service.faststream"),
            log_level=logging.DEBUG,
        )
        self.subscriber = self.broker.subscriber(
            settings.topics.groups,
            settings.topics.messages,
            group_id=kafka.group_id,
            batch=True,
            max_records=kafka.fetch_max_records,
            batch_timeout_ms=100,
            auto_offset_reset=kafka.auto_offset_reset,
            session_timeout_ms=kafka.session_timeout_ms,
            max_poll_interval_ms=kafka.max_poll_interval_ms,
            rebalance_timeout_ms=int((pipeline.drain_seconds + REBALANCE_MARGIN_SECONDS) * 1000),
            partition_assignment_strategy=(self.assignor,),
            ack_policy=AckPolicy.MANUAL,
            listener=_Rebalance(self),
            parser=_parse_batch,
            decoder=_raw_batch,
            title="chat-import.input",
            description="import events of every type, key = GroupId (accounts: UserID)",
        )
        self.subscriber(self._on_batch)
        self.app = FastStream(
            self.broker, lifespan=self._lifespan, logger=logging.getLogger("service.faststream")
        )
        self.app.after_startup(self._after_startup)
        self.app.on_shutdown(self._on_shutdown)

    # -------------------------------------------------------------- access

    @property
    def resources(self) -> Resources | None:
        """The open resources (None before the lifespan opened them and after it closed them)."""
        return self._resources

    def controller(self) -> ConsumerController | None:
        """The consumer controller, made as soon as both the consumer and the resources exist."""
        if self._controller is None and self._resources is not None:
            consumer = self.subscriber.consumer
            if consumer is not None:
                self._controller = ConsumerController(
                    consumer,
                    self.assignor,
                    self._resources.engine,
                    self._resources.budgets,
                    self._resources.shared_budget,
                    self.settings,
                    self.metrics,
                )
        return self._controller

    def started(self) -> bool:
        """True once the consumer runs and the HTTP endpoints answer."""
        return self.controller() is not None

    def readiness(self) -> tuple[bool, str]:
        """What ``/readyz`` answers."""
        controller = self._controller
        return (False, "starting") if controller is None else controller.readiness()

    def liveness(self) -> tuple[bool, str]:
        """What ``/healthz`` answers."""
        controller = self._controller
        return (True, "ok") if controller is None else controller.liveness()

    # ------------------------------------------------------------ lifecycle

    @asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        async with open_resources(
            self.settings, self.metrics, (self.readiness, self.liveness)
        ) as resources:
            self._resources = resources
            try:
                yield
            finally:
                self._resources = None

    async def _on_batch(self, body: Any, message: KafkaMessage) -> None:  # noqa: ANN401
        del body
        controller = self.controller()
        if controller is not None:
            await controller.on_batch(message.raw_message)

    async def _after_startup(self) -> None:
        self.controller()

    async def _on_shutdown(self) -> None:
        log.info(
            "stopping: draining in-flight work", drain_seconds=self.settings.pipeline.drain_seconds
        )
        controller = self.controller()
        if controller is not None:
            await controller.stop()
        log.info("stopped: offsets committed; leaving the consumer group")


def create_app(settings: Settings) -> FastStream:
    """The FastStream application of one service process."""
    return Service(settings).app
