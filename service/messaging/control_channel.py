# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The control topic: this replica's backlog reports out, every replica's reports in.

One partition, so every replica reads every report in the same order
(``service.domain.budget_sharing``). Each replica reads it with a consumer of its own, outside
the consumer group, from the end: reports are only of use while they are fresh. Reports go out
through a producer of their own, acknowledged by the leader only and sent at once, so that
outcomes queued on the service's main producer never hold them back.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from service.domain.budget_sharing import Report, decode_report, encode_report
from service.messaging.kafka_clients import security_options
from service.settings import KafkaSettings

log = structlog.get_logger("service.messaging.control")

FETCH_WAIT_MS = 50
LOG_APPEND_TIME = 1  # a record's timestamp_type when the broker stamped it
STOP_WAIT_SECONDS = 5.0


class ControlChannel:
    """Sends and reads backlog reports on the control topic."""

    __slots__ = ("_consumer", "_partition", "_producer", "_producer_stamped")

    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self._partition = TopicPartition(topic, 0)
        # replicas seen stamping their own reports; None once the warning was given
        self._producer_stamped: set[str] | None = set()
        options = security_options(kafka)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka.bootstrap_servers,
            client_id=f"{kafka.client_id}-control",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            fetch_max_wait_ms=FETCH_WAIT_MS,
            **options,
        )
        self._producer = AIOKafkaProducer(
            bootstrap_servers=kafka.bootstrap_servers,
            client_id=f"{kafka.client_id}-control",
            acks=1,
            linger_ms=0,
            enable_idempotence=False,
            request_timeout_ms=5_000,
            **options,
        )

    async def start(self) -> None:
        """Connect both clients and read from the end of the topic."""
        await self._producer.start()
        try:
            await self._consumer.start()
            self._consumer.assign([self._partition])
            await self._consumer.seek_to_end(self._partition)
        except BaseException:
            await self._producer.stop()
            raise

    async def send(self, report: Report) -> None:
        """Publish ``report`` and wait for the broker to acknowledge it."""
        await self._producer.send_and_wait(
            self._partition.topic,
            value=encode_report(report),
            key=report.replica.encode(),
            partition=0,
        )

    async def read(self, timeout_seconds: float) -> list[tuple[Report, float]]:
        """The reports that arrived, in order, each with its time stamp (seconds, wall clock).

        Waits up to ``timeout_seconds`` for one.
        """
        batches = await self._consumer.getmany(
            self._partition, timeout_ms=int(timeout_seconds * 1000)
        )
        reports = []
        for record in batches.get(self._partition, ()):
            report = decode_report(record.value)
            if report is None:
                log.warning(
                    "a control record is not a backlog report; skipped", offset=record.offset
                )
                continue
            if record.timestamp_type != LOG_APPEND_TIME:
                self._note_producer_stamp(report.replica)
            reports.append((report, record.timestamp / 1000))
        return reports

    def _note_producer_stamp(self, replica: str) -> None:
        """Warn once two replicas' clocks stamp the reports: they must then agree closely."""
        seen = self._producer_stamped
        if seen is None:
            return
        seen.add(replica)
        if len(seen) > 1:
            self._producer_stamped = None
            log.warning(
                "the control topic keeps the producers' time stamps: the replicas' clocks "
                "must agree closely; set message.timestamp.type=LogAppendTime on it",
                topic=self._partition.topic,
            )

    async def stop(self) -> None:
        """Close both clients; reports not yet sent are dropped after ``STOP_WAIT_SECONDS``."""
        for client in (self._consumer, self._producer):
            with contextlib.suppress(KafkaError, TimeoutError):
                await asyncio.wait_for(client.stop(), STOP_WAIT_SECONDS)
