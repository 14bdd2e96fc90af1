# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The outcome writer: publishes what became of each record, then finishes its offset.

A record counts as finished only once its outcome (or dead letter) is acknowledged by the broker
(acks=all). A failed publish is retried with back-off for as long as the record's partition is
still held in the record's generation; once it is not, the new owner reads the record again and
the writer stops trying.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import structlog

from service.domain import outcomes
from service.domain.events import DetectedBy, InputRecord, OutcomeEvent, Status
from service.domain.ledger import PartitionLedger, Ticket
from service.domain.validation import Rejection
from service.metrics import Metrics
from service.runtime.sinks import OutcomeSink
from service.runtime.work import WorkItem

log = structlog.get_logger("service.engine")

PUBLISH_RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)

Finished = tuple[Ticket, OutcomeEvent]


class OutcomeWriter:
    """Builds outcomes, publishes them and dead letters, and finishes their records' offsets."""

    __slots__ = ("_ledger", "_metrics", "_on_progress", "_provider", "_sink")

    def __init__(
        self,
        sink: OutcomeSink,
        ledger: PartitionLedger,
        metrics: Metrics,
        *,
        provider: str,
        on_progress: Callable[[], None],
    ) -> None:
        self._sink = sink
        self._ledger = ledger
        self._metrics = metrics
        self._provider = provider
        self._on_progress = on_progress

    # ------------------------------------------------------------- building

    def imported(  # noqa: PLR0913 - the outcome's optional fields
        self,
        item: WorkItem,
        *,
        group_id: str | None = None,
        msg_seq: int | None = None,
        msg_time: int | None = None,
        detected_by: DetectedBy = DetectedBy.PROVIDER,
        info: str = "",
        unread_msg_num: int | None = None,
    ) -> Finished:
        """The outcome of ``item`` now at the provider, with the attempts it took."""
        return item.ticket, outcomes.imported(
            item.event,
            provider=self._provider,
            source=item.record.source,
            attempts=item.attempts,
            group_id=group_id,
            msg_seq=msg_seq,
            msg_time=msg_time,
            detected_by=detected_by,
            info=info,
            unread_msg_num=unread_msg_num,
        )

    def failed(
        self, item: WorkItem, code: int, info: str, detected_by: DetectedBy = DetectedBy.PROVIDER
    ) -> Finished:
        """The failed outcome of ``item``, with the attempts it took."""
        return item.ticket, outcomes.failed(
            item.event,
            provider=self._provider,
            source=item.record.source,
            attempts=item.attempts,
            code=code,
            info=info,
            detected_by=detected_by,
        )

    def rejected(self, ticket: Ticket, record: InputRecord, rejection: Rejection) -> Finished:
        """The outcome of an event refused before any call."""
        return ticket, outcomes.rejected(rejection, provider=self._provider, source=record.source)

    # ----------------------------------------------------------- publishing

    async def publish(self, finished: Sequence[Finished], items: Sequence[WorkItem] = ()) -> None:
        """Publish the outcomes (acks=all), then finish their records (and mark ``items``)."""
        if not finished:
            return
        tickets = [ticket for ticket, _ in finished]
        published = await self._retry(
            lambda: self._sink.publish_outcomes([outcome for _, outcome in finished]), tickets
        )
        for item in items:
            item.finished = True
        if not published:
            return
        for ticket, outcome in finished:
            self._metrics.count_outcome(
                outcome.type, outcome.status.value, outcome.error_code, outcome.detected_by.value
            )
            if outcome.status is Status.FAILED:
                log.info(
                    "event failed",
                    event_id=outcome.event_id,
                    group_id=outcome.group_id,
                    topic=ticket.topic,
                    partition=ticket.partition,
                    offset=ticket.offset,
                    error_code=outcome.error_code,
                    error_info=outcome.error_info,
                    detected_by=outcome.detected_by.value,
                )
            self._ledger.finish(ticket)
        self._on_progress()

    async def fail(
        self,
        items: Sequence[WorkItem],
        code: int,
        info: str,
        detected_by: DetectedBy = DetectedBy.PROVIDER,
    ) -> None:
        """Publish a failed outcome with the same code and reason for each item."""
        await self.publish([self.failed(item, code, info, detected_by) for item in items], items)

    async def dead_letter(self, ticket: Ticket, record: InputRecord, reason: str) -> None:
        """Publish ``record`` unchanged to the dead-letter topic, then finish it."""
        log.warning(
            "record is not an event; sent to the dead-letter topic",
            reason=reason,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )
        if await self._retry(lambda: self._sink.publish_dead_letter(record, reason), [ticket]):
            self._metrics.dead_letters.inc()
            self._ledger.finish(ticket)
            self._on_progress()

    async def _retry(self, publish: Callable[[], Awaitable[None]], tickets: list[Ticket]) -> bool:
        """Publish until acknowledged (True), or until no ticket is current any more (False)."""
        attempt = 0
        while True:
            try:
                await publish()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any broker failure: keep the record unfinished, retry
                if not any(self._ledger.is_current(ticket) for ticket in tickets):
                    log.warning(
                        "publishing failed after the partition was handed over; its next owner "
                        "reads the records again",
                        error=type(exc).__name__,
                    )
                    return False
                delay = PUBLISH_RETRY_SECONDS[min(attempt, len(PUBLISH_RETRY_SECONDS) - 1)]
                attempt += 1
                log.warning(
                    "publishing failed; retrying", error=type(exc).__name__, delay_seconds=delay
                )
                await asyncio.sleep(delay)
            else:
                return True
