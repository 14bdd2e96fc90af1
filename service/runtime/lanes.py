# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Key-ordered lanes: one queue and at most one worker per key, supervised.

A lane exists while its key has work: it is created by the first item pushed and ends (with all
its per-key state) when its worker finds the queue empty. The supervisor owns every lane; nobody
else starts, stops or forgets one. Two rules keep records from being stranded or repeated:

- **Abandoning** (the partition is revoked, or the service stops) drops the queued items (and any
  a failing worker hands back later), wakes every wait of the lane's worker (budget slot,
  back-off, group wait) with ``LaneAbandonedError``, and lets a call already on the wire finish
  and publish its outcomes (bounded: a worker still running at the drain bound is cancelled).
- **A worker that fails unexpectedly** hands the items it held to ``on_crash`` (which re-queues or
  fails them) and the same task runs the worker again if work is left: no exception strands a
  record.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable
from typing import Any, Generic, TypeVar

import structlog

from service.domain.ledger import TopicPartition
from service.runtime.work import WorkItem

log = structlog.get_logger("service.engine")

CANCEL_WAIT_SECONDS = 2.0

K = TypeVar("K", bound=Hashable)
S = TypeVar("S")
T = TypeVar("T")


class LaneAbandonedError(Exception):
    """The lane's partition was revoked or the service is stopping: stop, finish nothing more."""


class Lane(Generic[K, S]):
    """One key's FIFO of work items and its worker's state (``state``, per lane kind)."""

    __slots__ = ("_abandoned", "_counts", "in_hand", "key", "queue", "state", "tp")

    def __init__(self, key: K, tp: TopicPartition, state: S, counts: _Counts) -> None:
        self.key = key
        self.tp = tp
        self.state = state
        self.queue: deque[WorkItem] = deque()
        self.in_hand: list[WorkItem] = []
        self._abandoned = asyncio.Event()
        self._counts = counts

    def __repr__(self) -> str:
        return f"Lane({self.key!r}, queued={len(self.queue)}, in_hand={len(self.in_hand)})"

    # ------------------------------------------------------------- the work

    def take(self, count: int) -> list[WorkItem]:
        """Move the first ``count`` queued items into the worker's hand."""
        taken = [self.queue.popleft() for _ in range(min(count, len(self.queue)))]
        self._counts.queued -= len(taken)
        self.in_hand.extend(taken)
        return taken

    def requeue(self, items: list[WorkItem]) -> None:
        """Put ``items`` back at the head of the queue, in their order.

        Once the lane is abandoned they are dropped instead, like its queue: the partition's next
        owner reads them again, and a queue nobody works on would count as queued for ever.
        """
        if self.abandoned:
            return
        self.queue.extendleft(reversed(items))
        self._counts.queued += len(items)

    def settle(self) -> None:
        """Forget the items in hand whose outcomes are published."""
        self.in_hand = [item for item in self.in_hand if not item.finished]

    # -------------------------------------------------------- abandonment

    @property
    def abandoned(self) -> bool:
        """True once the lane must start nothing new."""
        return self._abandoned.is_set()

    def check_abandoned(self) -> None:
        """Raise ``LaneAbandonedError`` once the lane is abandoned."""
        if self._abandoned.is_set():
            raise LaneAbandonedError

    async def interruptible(self, work: Coroutine[Any, Any, T]) -> T:
        """Await ``work`` unless the lane is abandoned first (then ``LaneAbandonedError``)."""
        if self._abandoned.is_set():
            work.close()
            raise LaneAbandonedError
        task = asyncio.ensure_future(work)
        if task.done():
            return task.result()
        stop = asyncio.ensure_future(self._abandoned.wait())
        try:
            await asyncio.wait((task, stop), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()
        if task.cancelled() or not task.done():
            raise LaneAbandonedError
        return task.result()

    async def pause(self, seconds: float, *wake: asyncio.Event) -> None:
        """Wait ``seconds`` or until one of ``wake`` is set; abandoned: ``LaneAbandonedError``."""
        self.check_abandoned()
        if seconds <= 0:
            return
        waits = [asyncio.ensure_future(event.wait()) for event in (self._abandoned, *wake)]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        self.check_abandoned()

    def abandon(self) -> list[WorkItem]:
        """Start nothing new; returns the queued items dropped (their owner reads them again)."""
        self._abandoned.set()
        dropped = list(self.queue)
        self.queue.clear()
        self._counts.queued -= len(dropped)
        return dropped


class _Counts:
    __slots__ = ("queued",)

    def __init__(self) -> None:
        self.queued = 0


def detached_lane(key: K, state: S) -> Lane[K, S]:
    """A lane no supervisor owns, for work shared by many lanes (the account batcher's calls).

    Nothing abandons it but its owner; its queue is not counted with the supervised ones.
    """
    return Lane(key, ("", -1), state, _Counts())


class LaneSupervisor(Generic[K, S]):
    """Starts a worker per busy key, ends it with its lane, restarts it after a failure."""

    __slots__ = ("_counts", "_lanes", "_new_state", "_on_crash", "_on_end", "_run", "_tasks")

    def __init__(
        self,
        run: Callable[[Lane[K, S]], Awaitable[None]],
        *,
        new_state: Callable[[K], S],
        on_crash: Callable[[Lane[K, S], list[WorkItem], Exception], Awaitable[None]],
        on_end: Callable[[Lane[K, S]], None] | None = None,
    ) -> None:
        self._run = run
        self._new_state = new_state
        self._on_crash = on_crash
        self._on_end = on_end
        self._lanes: dict[K, Lane[K, S]] = {}
        self._tasks: dict[K, asyncio.Task[None]] = {}
        self._counts = _Counts()

    def __len__(self) -> int:
        """Lanes alive now."""
        return len(self._lanes)

    @property
    def queued(self) -> int:
        """Items waiting in a queue (not yet in a worker's hand)."""
        return self._counts.queued

    def lanes_of(self, tps: Iterable[TopicPartition]) -> list[Lane[K, S]]:
        """The live lanes of the partitions ``tps``."""
        wanted = set(tps)
        return [lane for lane in self._lanes.values() if lane.tp in wanted]

    def push(self, key: K, tp: TopicPartition, item: WorkItem) -> Lane[K, S]:
        """Queue ``item`` behind the key's earlier items; starts the key's worker if it has none."""
        lane = self._lanes.get(key)
        if lane is None:
            lane = Lane(key, tp, self._new_state(key), self._counts)
            self._lanes[key] = lane
            self._tasks[key] = asyncio.create_task(self._supervise(lane))
        lane.queue.append(item)
        self._counts.queued += 1
        return lane

    async def _supervise(self, lane: Lane[K, S]) -> None:
        try:
            while lane.queue and not lane.abandoned:
                try:
                    await self._run(lane)
                except LaneAbandonedError:
                    return
                except Exception as exc:
                    stranded = [item for item in lane.in_hand if not item.finished]
                    lane.in_hand = []
                    log.exception(
                        "lane failed unexpectedly; its items are handed on",
                        lane=str(lane.key),
                        partition=lane.tp[1],
                        items=len(stranded),
                    )
                    await self._on_crash(lane, stranded, exc)
        finally:
            if self._lanes.get(lane.key) is lane:
                del self._lanes[lane.key]
                del self._tasks[lane.key]
            if self._on_end is not None:
                self._on_end(lane)

    async def abandon(self, tps: Iterable[TopicPartition], timeout: float) -> int:
        """Abandon the lanes of ``tps``, wait (bounded) for their calls on the wire to finish.

        Returns how many queued items were dropped. A worker still running at the bound is
        cancelled: what it had on the wire is checked against the provider's history by the
        partitions' next owner.
        """
        revoked = set(tps)
        lanes = [lane for lane in self._lanes.values() if lane.tp in revoked]
        dropped = 0
        for lane in lanes:
            dropped += len(lane.abandon())
        tasks = [self._tasks[lane.key] for lane in lanes if lane.key in self._tasks]
        if tasks:
            started = time.monotonic()
            _, late = await asyncio.wait(tasks, timeout=timeout)
            for task in late:
                task.cancel()
            if late:
                # bounded too: a call that swallows its cancellation must not hold up a stop
                await asyncio.wait(late, timeout=CANCEL_WAIT_SECONDS)
                log.warning(
                    "calls still on the wire at the drain bound were cancelled",
                    lanes=len(late),
                    waited_seconds=round(time.monotonic() - started, 3),
                )
        return dropped
