# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The account batcher: accounts of every lane and partition, in calls of up to the maximum.

Accounts have no order among themselves, so they are not imported lane by lane: every account
lane hands its items here, and one worker cuts calls of up to ``per_call`` (100) across all of
them, as late as the call budget allows (it waits for the call's slot first, then takes what is
queued), so that budget-bound imports make fewer, fuller calls. Calls run side by side within
the limit on calls in flight.

Revocation: an item of a partition being handed back is dropped before it is sent (as a lane
drops its queue), and one whose partition is no longer held in the generation it was read in is
dropped when its call comes back, never published (the new owner reads it again; importing an
account twice is safe, the provider updates it). A call already on the wire for a partition
being handed back finishes and publishes within the drain, like a lane's. Each account's
outcome is its own: one refused account of 100 fails alone.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

from service.domain.ledger import Ticket
from service.domain.validation import ValidAccountImport
from service.providers.base import AccountResult, ChatProvider
from service.runtime.accounts import AccountRegistry
from service.runtime.caller import Answered, GaveUp, ProviderCaller
from service.runtime.lanes import Lane, LaneAbandonedError, detached_lane
from service.runtime.outcome_writer import Finished, OutcomeWriter
from service.runtime.work import WorkItem


class _Handover:
    """Items one lane handed over; done when every one is published or dropped."""

    __slots__ = ("done", "left")

    def __init__(self, count: int) -> None:
        self.left = count
        self.done = asyncio.Event()
        if count == 0:
            self.done.set()

    def settle(self, count: int = 1) -> None:
        self.left -= count
        if self.left <= 0:
            self.done.set()


class AccountBatcher:
    """Collects account items from many lanes and imports them in full calls."""

    __slots__ = (
        "_accounts",
        "_api",
        "_caller",
        "_is_current",
        "_is_readable",
        "_lane",
        "_per_call",
        "_provider",
        "_queue",
        "_spawn",
        "_worker",
        "_writer",
    )

    def __init__(  # noqa: PLR0913 - the collaborators of the batcher
        self,
        provider: ChatProvider,
        caller: ProviderCaller,
        writer: OutcomeWriter,
        accounts: AccountRegistry,
        *,
        is_readable: Callable[[Ticket], bool],
        is_current: Callable[[Ticket], bool],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        per_call: int,
    ) -> None:
        self._provider = provider
        self._caller = caller
        self._writer = writer
        self._accounts = accounts
        self._is_readable = is_readable  # its partition is held and not being handed back
        self._is_current = is_current  # its outcome may still be published
        self._spawn = spawn
        self._per_call = per_call
        self._api = provider.api_names.import_accounts
        self._queue: deque[tuple[WorkItem, _Handover]] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._lane: Lane[Any, None] = detached_lane(("accounts",), None)

    @property
    def queued(self) -> int:
        """Account items waiting for a call."""
        return len(self._queue)

    async def submit(self, items: list[WorkItem]) -> None:
        """Queue ``items`` for the next calls; returns once each is published or dropped."""
        handover = _Handover(len(items))
        self._queue.extend((item, handover) for item in items)
        self._accounts.queued(len(items))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(self._lane))
        await handover.done.wait()

    def release(self) -> None:
        """Drop the queued items of partitions handed back; stop a worker left with nothing."""
        if not self._drop_stale() and self._worker is not None and not self._worker.done():
            self._lane.abandon()
            self._lane = detached_lane(("accounts",), None)

    def _drop_stale(self) -> bool:
        """Drop queued items of partitions handed back (or going); True if any is left."""
        kept: deque[tuple[WorkItem, _Handover]] = deque()
        for item, handover in self._queue:
            if self._is_readable(item.ticket):
                kept.append((item, handover))
            else:
                handover.settle()
                self._accounts.finished()
        self._queue = kept
        return bool(kept)

    def _cut(self) -> list[tuple[WorkItem, _Handover]]:
        batch: list[tuple[WorkItem, _Handover]] = []
        while self._queue and len(batch) < self._per_call:
            item, handover = self._queue.popleft()
            if self._is_readable(item.ticket):
                batch.append((item, handover))
            else:
                handover.settle()
                self._accounts.finished()
        return batch

    async def _work(self, lane: Lane[Any, None]) -> None:
        try:
            while self._queue:
                await self._caller.slot(self._api, lane)
                batch = self._cut()
                if batch:
                    self._spawn(self._send(batch))
        except LaneAbandonedError:
            return

    async def _send(self, batch: list[tuple[WorkItem, _Handover]]) -> None:
        items = [item for item, _ in batch]
        try:
            accounts = [item.event.account for item in items]  # type: ignore[union-attr]
            result = await self._caller.call(
                self._api,
                partial(self._provider.import_accounts, accounts),
                detached_lane(("accounts", "call"), None),
                items,
                prepaid=True,
            )
            current = [item for item in items if self._is_current(item.ticket)]
            if isinstance(result, Answered):
                answers = dict(zip(map(id, items), result.value, strict=True))
                await self._writer.publish(
                    [self._outcome(item, answers[id(item)]) for item in current], current
                )
            elif isinstance(result, GaveUp):
                await self._writer.fail(current, result.code, result.info, result.detected_by)
            else:  # pragma: no cover - accounts never wait for a group and are never unsure
                await self._writer.fail(current, result.code, result.info)
        finally:
            for _, handover in batch:
                handover.settle()
            self._accounts.finished(len(batch))

    def _outcome(self, item: WorkItem, answer: AccountResult) -> Finished:
        event = item.event
        assert isinstance(event, ValidAccountImport)  # noqa: S101 - account items only
        if answer.code != 0:
            return self._writer.failed(item, answer.code, answer.info)
        return self._writer.imported(item)
