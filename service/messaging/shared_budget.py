# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The share of the app's call budget a replica takes, weighted by the work every replica has left.

The consumer controller calls ``hold`` when partitions are assigned (with the assignor's
holding and a way to measure the backlog) and ``release`` when they are revoked, and ``stop``
once its drain is over. While holding, one task reports this replica's backlog on the control
topic every ``REPORT_SECONDS``; another reads every replica's reports and sets the budget to the
share ``service.domain.budget_sharing`` gives (``EpochBook`` after each report, taking effect
when ``ShareSchedule`` says). Reading never waits on reporting. On assignment the share starts
at the split by indices held, which every replica's allocation keeps for indices not yet
reported.

The instants shares take effect come from the broker's clock (the reports' time stamps). Each
replica keeps the bounds of how far that clock is from its own (``BrokerClock``, from its own
reports coming back) and takes a smaller share as soon as the broker's clock may have reached
its instant, a larger one only once it surely has: a pod whose clock is off does not overrun
the budget.

The guarantee that the shares add up to at most the budget rests on every replica reading each
report within ``EFFECT_DELAY_SECONDS``. A report read later only lowers the share. A replica that
reads nothing at all knows it too: its own report, acknowledged by the broker, has not come
back. After ``LATE_AFTER_SECONDS`` of that it takes no share until it reads again, rather than
one the others may already have handed out.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from aiokafka.errors import KafkaError

from service.domain.budget_sharing import BrokerClock, EpochBook, Report, ShareFollower
from service.messaging.assignor import Holding
from service.messaging.control_channel import ControlChannel
from service.metrics import Metrics
from service.providers.ratelimit import ApiBudgets

log = structlog.get_logger("service.messaging.shared_budget")

REPORT_SECONDS = 0.1
READ_WAIT_SECONDS = 0.05  # also how often the share in effect is looked at
LATE_AFTER_SECONDS = 2.0
RETRY_SECONDS = 1.0
STOP_WAIT_SECONDS = 2.0


@dataclass(slots=True)
class _Term:
    """One assignment: what is held, how to measure it, and this replica's share in it."""

    holding: Holding
    backlog: Callable[[], Awaitable[float]]
    follower: ShareFollower


class SharedBudget:
    """Sets this replica's budget to its share (see the module's text)."""

    def __init__(  # noqa: PLR0913 - the budget, what it reports through, and for whom
        self,
        budgets: ApiBudgets,
        metrics: Metrics,
        app_rate: float,
        channel: ControlChannel | None,
        *,
        group: str = "",
        clock: Callable[[], float] = time.time,  # wall clock: reports carry the broker's
    ) -> None:
        self._budgets = budgets
        self._metrics = metrics
        self._app_rate = app_rate
        self._channel = channel  # None: shares follow the indices held only
        self._group = group
        self._clock = clock
        self.replica = uuid.uuid4().hex
        self._sequence = 0
        # own reports acknowledged by the broker, not read back yet: (sequence, sent, acked)
        self._unechoed: deque[tuple[int, float, float]] = deque(maxlen=256)
        self._broker_clock = BrokerClock()
        # the reports of the newest epoch read (from before this replica's own term too)
        self._book = EpochBook(0, 0, app_rate)
        self._term: _Term | None = None
        self._late = False
        self._failing = False
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def hold(self, holding: Holding | None, backlog: Callable[[], Awaitable[float]]) -> None:
        """Partitions were assigned: start from the split by indices, then follow the reports."""
        if holding is None or not holding.index_count:
            self._term = None
            self._apply(0.0)
            return
        follower = ShareFollower(self.replica, holding.index_count, holding.indices, self._app_rate)
        # Reports of this epoch read before this replica's assignment gave it its split by
        # indices, as every allocation does until it reports: the follower starts there.
        self._term = _Term(holding, backlog, follower)
        self._apply(follower.static)
        if self._channel is not None and self._task is None:
            self._task = asyncio.create_task(self._run(self._channel))

    def release(self) -> None:
        """Partitions were revoked: no share until the next assignment."""
        self._term = None
        self._apply(0.0)

    async def stop(self) -> None:
        """Stop reporting and reading (the share in effect stays; call it after the drain)."""
        self._term = None
        self._stopping = True  # a cancellation swallowed inside a client still ends the loop
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_WAIT_SECONDS)

    # ----------------------------------------------------------------- the loops

    async def _run(self, channel: ControlChannel) -> None:
        # Reading never waits for a report's acknowledgement or a backlog measurement: a share
        # planned for an instant must take effect then, whatever the reporting is doing.
        reporter = asyncio.create_task(self._report_loop(channel))
        try:
            await self._read_loop(channel)
        finally:
            reporter.cancel()
            await asyncio.wait({reporter}, timeout=STOP_WAIT_SECONDS)

    async def _read_loop(self, channel: ControlChannel) -> None:
        while not self._stopping:
            try:
                reports = await channel.read(READ_WAIT_SECONDS)
            except Exception as exc:  # whatever fails, the share goes to 0
                if not self._failing:
                    log.warning(
                        "the control topic failed: no call budget until it answers",
                        error=repr(exc),
                        exc_info=not isinstance(exc, KafkaError),
                    )
                self._failing = True
                self._refresh()
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if self._failing:
                log.info("the control topic answers again")
            self._failing = False
            for report, stamped in reports:
                self._take(report, stamped)
            self._refresh()

    async def _report_loop(self, channel: ControlChannel) -> None:
        while not self._stopping:
            # ten a second; fewer with many replicas, whose reports every replica reads
            await asyncio.sleep(max(REPORT_SECONDS, REPORT_SECONDS * len(self._book.reports) / 12))
            term = self._term
            if term is None or not term.holding.indices:
                continue
            try:
                await self._report(channel, term)
            except Exception as exc:  # the others keep this replica's last report meanwhile
                log.warning(
                    "a backlog report was not sent",
                    error=repr(exc),
                    exc_info=not isinstance(exc, KafkaError),
                )
                await asyncio.sleep(RETRY_SECONDS)

    async def _report(self, channel: ControlChannel, term: _Term) -> None:
        backlog = await term.backlog()
        self._metrics.backlog_calls.set(backlog)
        if self._term is not term:
            return  # revoked while measuring
        self._sequence += 1
        holding = term.holding
        sent = self._clock()
        await channel.send(
            Report(
                self.replica,
                holding.epoch,
                holding.index_count,
                holding.indices,
                backlog,
                self._sequence,
                self._group,
            )
        )
        self._unechoed.append((self._sequence, sent, self._clock()))

    def _broker_now(self) -> tuple[float, float]:
        """The least and the most the broker's clock may read now."""
        now = self._clock()
        low, high = self._broker_clock.bounds()
        return now + low, now + high

    def _take(self, report: Report, stamped: float) -> None:
        if report.group != self._group:
            return  # another deployment on the same control topic
        if report.replica == self.replica:
            while self._unechoed and self._unechoed[0][0] <= report.sequence:
                sequence, sent, acked = self._unechoed.popleft()
                if sequence == report.sequence:
                    self._broker_clock.add(sent, acked, stamped)
        book = self._book
        if report.epoch > book.epoch:
            self._book = book = EpochBook(report.epoch, report.index_count, self._app_rate)
        if report.epoch != book.epoch or report.index_count != book.index_count:
            return
        book.add(report, stamped)
        term = self._term
        if term is None:
            return
        holding = term.holding
        if book.epoch != holding.epoch or book.index_count != holding.index_count:
            return
        earliest, _ = self._broker_now()
        if not term.follower.follow(book, earliest):
            self._metrics.shares_read_late.inc()

    def _refresh(self) -> None:
        """Take the share in effect now, or none while this replica reads nothing back."""
        term = self._term
        if term is None:
            return
        now = self._clock()
        behind = bool(self._unechoed) and now - self._unechoed[0][2] > LATE_AFTER_SECONDS
        if behind != self._late:
            self._late = behind
            if behind:
                log.warning(
                    "reading the control topic late: no call budget until it catches up",
                    seconds=round(now - self._unechoed[0][2], 2),
                )
            else:
                log.info("the control topic caught up: call budget shared again")
        if behind or self._failing:
            self._apply(0.0)
            return
        # A smaller share as soon as the broker's clock may have reached its instant, a larger
        # one only once it surely has.
        earliest, latest = self._broker_now()
        self._apply(term.follower.share(earliest, ahead=latest - earliest + READ_WAIT_SECONDS))

    def _apply(self, rate: float) -> None:
        if rate != self._budgets.rate:
            self._budgets.set_rate(rate)
            self._metrics.rate_budget.set(rate)
