# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The share of the app's call budget a replica takes, weighted by the work every replica has left.

The consumer controller calls ``hold`` when partitions are assigned (with the assignor's
holding and a way to measure the backlog) and ``release`` when they are revoked. While holding,
a task here reports this replica's backlog on the control topic every ``REPORT_SECONDS``, reads
every replica's reports, and sets the budget to the share ``service.domain.budget_sharing`` gives
(``allocate`` after each report, taking effect when ``ShareSchedule`` says). On assignment the
share starts at the split by indices held, which every replica's allocation keeps for indices
not yet reported.

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

from service.domain.budget_sharing import EpochBook, Report, ShareFollower
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
        # own reports acknowledged by the broker and not read back yet: (sequence, when)
        self._unechoed: deque[tuple[int, float]] = deque(maxlen=256)
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

    # ------------------------------------------------------------------ the loop

    async def _run(self, channel: ControlChannel) -> None:
        # Shares planned take effect on time even while a report waits for its acknowledgement
        # or the backlog is measured: the loop below may be away for longer than the delay.
        keeper = asyncio.create_task(self._keep_applying())
        try:
            await self._follow(channel)
        finally:
            keeper.cancel()

    async def _keep_applying(self) -> None:
        while True:
            await asyncio.sleep(READ_WAIT_SECONDS)
            self._refresh()

    async def _follow(self, channel: ControlChannel) -> None:
        next_report = self._clock()
        while not self._stopping:
            try:
                reports = await channel.read(READ_WAIT_SECONDS)
                now = self._clock()
                for report, stamped in reports:
                    self._take(report, stamped, now)
                term = self._term
                if term is not None and term.holding.indices and now >= next_report:
                    next_report = now + REPORT_SECONDS
                    await self._report(channel, term)
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
            self._refresh()

    async def _report(self, channel: ControlChannel, term: _Term) -> None:
        backlog = await term.backlog()
        self._metrics.backlog_calls.set(backlog)
        if self._term is not term:
            return  # revoked while measuring
        self._sequence += 1
        holding = term.holding
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
        self._unechoed.append((self._sequence, self._clock()))

    def _take(self, report: Report, stamped: float, now: float) -> None:
        if report.group != self._group:
            return  # another deployment on the same control topic
        if report.replica == self.replica:
            while self._unechoed and self._unechoed[0][0] <= report.sequence:
                self._unechoed.popleft()
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
        if not term.follower.follow(book, now):
            self._metrics.shares_read_late.inc()

    def _refresh(self) -> None:
        """Take the share in effect now, or none while this replica reads nothing back."""
        term = self._term
        if term is None:
            return
        now = self._clock()
        behind = bool(self._unechoed) and now - self._unechoed[0][1] > LATE_AFTER_SECONDS
        if behind != self._late:
            self._late = behind
            if behind:
                log.warning(
                    "reading the control topic late: no call budget until it catches up",
                    seconds=round(now - self._unechoed[0][1], 2),
                )
            else:
                log.info("the control topic caught up: call budget shared again")
        blind = behind or self._failing
        self._apply(0.0 if blind else term.follower.share(now, ahead=READ_WAIT_SECONDS))

    def _apply(self, rate: float) -> None:
        if rate != self._budgets.rate:
            self._budgets.set_rate(rate)
            self._metrics.rate_budget.set(rate)
