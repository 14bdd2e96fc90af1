# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Assembling the service: FastStream consumer, engine, provider, producer, HTTP endpoints.

``create_app(settings)`` returns a FastStream application; the lifespan opens every resource
(httpx client, producer, HTTP server) and closes it on shutdown. Shutdown (SIGTERM) stops taking
records, lets in-flight calls finish within ``pipeline.drain_seconds``, commits, and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker, KafkaMessage

from service.domain.events import InputRecord
from service.domain.retry_policy import RetryPolicy
from service.domain.validation import Rules
from service.http_api import HttpServer, create_http_app
from service.messaging.kafka_clients import broker_security, security_options
from service.messaging.outcome_publisher import KafkaOutcomeSink
from service.messaging.topics import ensure_topics
from service.metrics import Metrics
from service.providers.factory import build_provider
from service.providers.ratelimit import ApiBudgets, replica_rate
from service.providers.transport import ShardedTransport
from service.runtime.engine import Engine
from service.settings import Settings

log = structlog.get_logger("service.app")

FLOW_TICK_SECONDS = 0.05
LAG_EVERY_SECONDS = 5.0
RESUME_FRACTION = 0.8
SUBMIT_SLICE = 16
POSITION_WAIT_SECONDS = 0.1


@dataclass
class ServiceState:
    """Resources of a running service (set by the lifespan)."""

    settings: Settings
    metrics: Metrics
    engine: Engine | None = None
    budgets: ApiBudgets | None = None
    consumer: AIOKafkaConsumer | None = None
    http: HttpServer | None = None
    stopping: bool = False
    joined: bool = False
    submitting: bool = False  # a fetched batch is being handed to the engine
    batches: int = 0  # fetched batches handed to the engine so far
    committed: dict[tuple[str, int], int] = field(default_factory=dict)
    paused: set[TopicPartition] = field(default_factory=set)
    flow_task: asyncio.Task[None] | None = None
    started_at: float = field(default_factory=time.monotonic)

    def readiness(self) -> tuple[bool, str]:  # noqa: PLR0911 - one answer per reason
        """Ready when partitions are held and the provider answers."""
        if self.stopping:
            return False, "shutting down"
        if self.engine is None or self.consumer is None:
            return False, "starting"
        if self.engine.halted:
            return False, "the provider refuses the configuration"
        if self.engine.provider_unreachable:
            return False, "the provider is unreachable"
        if not self.joined:
            return False, "not yet in the consumer group"
        if not self.consumer.assignment():
            return True, "ok (spare replica: no partitions assigned)"
        return True, "ok"


def to_record(raw: Any) -> InputRecord:  # noqa: ANN401 - aiokafka's ConsumerRecord
    """The engine's view of an aiokafka record."""
    return InputRecord(
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key,
        value=raw.value,
        headers=tuple((name, bytes(value or b"")) for name, value in (raw.headers or ())),
    )


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
        await self._service.partitions_revoked(list(revoked))

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        await self._service.partitions_assigned(list(assigned))


class Service:
    """One service process: owns the FastStream app and the engine's surroundings."""

    def __init__(self, settings: Settings, *, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.state = ServiceState(settings=settings, metrics=metrics or Metrics())
        kafka = settings.kafka
        self.broker = KafkaBroker(
            kafka.bootstrap_servers,
            client_id=kafka.client_id,
            security=broker_security(kafka),
            consumer_only=True,
            graceful_timeout=settings.pipeline.drain_seconds,
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
            ack_policy=AckPolicy.MANUAL,
            listener=_Rebalance(self),
            parser=_parse_batch,
            decoder=_raw_batch,
            title="chat-import.input",
            description="group.import and group.message.import events, key = GroupId",
        )
        self.subscriber(self._on_batch)
        self.app = FastStream(
            self.broker, lifespan=self._lifespan, logger=logging.getLogger("service.faststream")
        )
        self.app.after_startup(self._after_startup)
        self.app.on_shutdown(self._on_shutdown)

    # --------------------------------------------------------------- intake

    async def _on_batch(self, body: Any, message: KafkaMessage) -> None:  # noqa: ANN401
        del body
        engine = self.state.engine
        if engine is None or self.state.stopping:
            return
        self.state.submitting = True
        self.state.batches += 1
        try:
            for count, raw in enumerate(message.raw_message, start=1):
                engine.submit(to_record(raw))
                if count % SUBMIT_SLICE == 0:
                    # Let calls whose slot has come leave on time: a long synchronous run here
                    # would send them late and in a bunch, which the provider counts as a burst.
                    await asyncio.sleep(0)
        finally:
            self.state.submitting = False
        self._apply_flow_control()
        await self._report_groups_topic_read()

    # ------------------------------------------------------------ lifespan

    @asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        settings = self.settings
        state = self.state
        if settings.kafka.create_topics:
            created = await ensure_topics(settings.kafka, settings.topics)
            if created:
                log.info(
                    "created topics", topics=created, partitions=settings.kafka.topic_partitions
                )
        pipeline = settings.pipeline
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.http_timeout_seconds, connect=5.0),
            transport=ShardedTransport(max_connections=pipeline.max_connections),
        )
        budgets = ApiBudgets(self._initial_rate(), per_api=settings.tencent.budget_per_api)
        state.budgets = budgets
        state.metrics.rate_budget.set(budgets.rate)
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
        await producer.start()
        provider = build_provider(settings, client)
        state.engine = Engine(
            provider,
            KafkaOutcomeSink(producer, settings.topics),
            policy=RetryPolicy(
                initial_seconds=pipeline.retry_initial_seconds,
                max_seconds=pipeline.retry_max_seconds,
                max_attempts=pipeline.retry_max_attempts,
                group_wait_seconds=pipeline.group_wait_seconds,
            ),
            rules=Rules(message_size_limit=settings.tencent.message_size_limit),
            max_in_flight_calls=pipeline.max_in_flight_calls,
            metrics=state.metrics,
            budgets=budgets,
            messages_per_call=pipeline.messages_per_call,
        )
        state.http = HttpServer(
            create_http_app(state.metrics.registry, state.readiness),
            host="0.0.0.0",  # noqa: S104 - probes and scrapes come from outside the pod
            port=settings.http_port,
        )
        await state.http.start()
        log.info(
            "service starting",
            provider=settings.provider.value,
            bootstrap_servers=settings.kafka.bootstrap_servers,
            group_id=settings.kafka.group_id,
            http_port=state.http.port,
            calls_per_second=budgets.rate,
        )
        try:
            yield
        finally:
            await state.http.stop()
            await producer.stop()
            await client.aclose()

    async def _after_startup(self) -> None:
        self.state.consumer = self.subscriber.consumer
        self.state.flow_task = asyncio.create_task(self._flow_loop())

    async def _on_shutdown(self) -> None:
        state = self.state
        state.stopping = True
        log.info(
            "stopping: draining in-flight work", drain_seconds=self.settings.pipeline.drain_seconds
        )
        consumer = state.consumer
        if consumer is not None:
            with contextlib.suppress(Exception):
                consumer.pause(*consumer.assignment())
        if state.flow_task is not None:
            state.flow_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await state.flow_task
        if state.engine is not None:
            marks = await state.engine.drain(self.settings.pipeline.drain_seconds)
            await self._commit(marks)
        log.info("stopped: offsets committed")

    # ------------------------------------------------------- offsets & flow

    def _initial_rate(self) -> float:
        fixed = self.settings.pipeline.replica_calls_per_second
        return fixed if fixed is not None else self.settings.provider_calls_per_second

    async def _commit(self, marks: dict[tuple[str, int], int]) -> None:
        consumer = self.state.consumer
        if consumer is None or not marks:
            return
        assigned = consumer.assignment()
        offsets = {
            TopicPartition(topic, partition): offset
            for (topic, partition), offset in marks.items()
            if TopicPartition(topic, partition) in assigned
            and self.state.committed.get((topic, partition)) != offset
        }
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            log.warning("offset commit failed; will retry", error=type(exc).__name__)
            return
        for tp, offset in offsets.items():
            self.state.committed[(tp.topic, tp.partition)] = offset

    def _apply_flow_control(self) -> None:
        consumer = self.state.consumer
        engine = self.state.engine
        if consumer is None or engine is None or self.state.stopping:
            return
        pipeline = self.settings.pipeline
        total = engine.buffered()
        over_total = total >= pipeline.max_buffered_records
        under_total = total < pipeline.max_buffered_records * RESUME_FRACTION
        for tp in consumer.assignment():
            held = engine.buffered((tp.topic, tp.partition))
            # The total cap never stops the groups topic: buffered messages may be waiting for
            # the very group imports it holds. Its partitions keep their own cap.
            groups = tp.topic == self.settings.topics.groups
            if tp not in self.state.paused:
                if (over_total and not groups) or held >= pipeline.max_buffered_per_partition:
                    consumer.pause(tp)
                    self.state.paused.add(tp)
            elif (under_total or groups) and held < (
                pipeline.max_buffered_per_partition * RESUME_FRACTION
            ):
                consumer.resume(tp)
                self.state.paused.discard(tp)
        metrics = self.state.metrics
        metrics.buffered.set(total)
        metrics.in_flight.set(total - engine.queued)
        metrics.queued.set(engine.queued)
        metrics.paused_partitions.set(len(self.state.paused))

    async def _report_groups_topic_read(self) -> None:
        """Tell the engine whether every record of the held groups partitions has been read."""
        consumer = self.state.consumer
        engine = self.state.engine
        if consumer is None or engine is None or self.state.submitting:
            return  # mid-batch, the consumer's position is ahead of what the engine was given
        batches = self.state.batches
        # highwater is known once a partition was fetched; read them all before any await
        highs = {
            tp: consumer.highwater(tp)
            for tp in consumer.assignment()
            if tp.topic == self.settings.topics.groups
        }
        caught_up = None not in highs.values()
        for tp, high in highs.items():
            if not caught_up or high is None:
                break
            try:
                position = await asyncio.wait_for(consumer.position(tp), POSITION_WAIT_SECONDS)
            except IllegalStateError:
                continue  # revoked meanwhile
            except TimeoutError:
                caught_up = False  # its position is being reset
                break
            caught_up = position >= high
        if self.state.submitting or self.state.batches != batches:
            return  # a batch was taken meanwhile: the next report tells
        engine.groups_topic_read(caught_up=caught_up)

    async def _flow_loop(self) -> None:
        last_commit = 0.0
        last_lag = 0.0
        waited_before = 0.0
        interval = self.settings.kafka.commit_interval_seconds
        while True:
            await asyncio.sleep(FLOW_TICK_SECONDS)
            self._apply_flow_control()
            await self._report_groups_topic_read()
            now = time.monotonic()
            engine = self.state.engine
            if engine is not None and now - last_commit >= interval:
                last_commit = now
                await self._commit(engine.committable())
            if now - last_lag >= LAG_EVERY_SECONDS:
                last_lag = now
                await self._record_lag()
            budgets = self.state.budgets
            if budgets is not None:
                waited = budgets.waited_seconds
                self.state.metrics.rate_limit_wait.inc(max(0.0, waited - waited_before))
                waited_before = waited

    async def _record_lag(self) -> None:
        consumer = self.state.consumer
        if consumer is None:
            return
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            with contextlib.suppress(Exception):
                position = await consumer.position(tp)
                self.state.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(
                    max(0, high - position)
                )

    # ----------------------------------------------------------- rebalance

    async def partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        """Stop work of the lost partitions, finish in flight within the bound, commit."""
        engine = self.state.engine
        if engine is None or not revoked:
            return
        log.info("partitions revoked", partitions=[f"{tp.topic}:{tp.partition}" for tp in revoked])
        marks = await engine.release_partitions(
            [(tp.topic, tp.partition) for tp in revoked], self.settings.pipeline.drain_seconds
        )
        await self._commit(marks)
        for tp in revoked:
            self.state.paused.discard(tp)
            self.state.committed.pop((tp.topic, tp.partition), None)
            # another replica reports this partition's lag now
            with contextlib.suppress(KeyError):
                self.state.metrics.consumer_lag.remove(tp.topic, str(tp.partition))

    async def partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """Take this replica's share of the app-wide call budget (from its whole assignment)."""
        del assigned  # the consumer's assignment() is the whole set, not just the new ones
        consumer = self.state.consumer or self.subscriber.consumer
        budgets = self.state.budgets
        if consumer is None or budgets is None:
            return
        held = consumer.assignment()
        self.state.joined = True
        if self.state.engine is not None:
            self.state.engine.groups_topic_read(caught_up=False)  # until the new ones are read
        self.state.paused &= set(held)
        self.state.metrics.assigned_partitions.set(len(held))
        log.info(
            "partitions assigned", partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in held)
        )
        if self.settings.pipeline.replica_calls_per_second is not None:
            return
        holdings = {
            topic: (
                sum(1 for tp in held if tp.topic == topic),
                len(consumer.partitions_for_topic(topic) or ()),
            )
            for topic in (self.settings.topics.groups, self.settings.topics.messages)
        }
        rate = replica_rate(self.settings.provider_calls_per_second, holdings)
        if rate is not None:
            budgets.set_rate(rate)
            self.state.metrics.rate_budget.set(rate)
            log.info("call budget share", calls_per_second=round(rate, 2), holdings=holdings)


def create_app(settings: Settings) -> FastStream:
    """The FastStream application of one service process."""
    return Service(settings).app
