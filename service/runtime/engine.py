# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The import engine: routes each record from intake to its lane, and each lane to the provider.

Each piece of state has one owner, and the engine is mostly routing between them:

- ``PartitionLedger`` (domain): partitions held, their generations, offsets read and finished;
- ``LaneSupervisor``: one FIFO and at most one worker per (event kind, partition, GroupId);
- ``GroupRegistry``: what is known about each group's existence at the provider;
- ``ProviderCaller``: the call budget, retries and attempt counts, the halt;
- ``HistoryReconciler``: which pending messages are already at the provider;
- ``OutcomeWriter``: publishing outcomes and dead letters, then finishing offsets.

A record's offset is finished only once its outcome is published, so the committable offset of a
partition (the lowest unfinished one) never passes a record without one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

import structlog

from service.domain import limits
from service.domain.events import DetectedBy, EventType, InputRecord
from service.domain.ledger import PartitionLedger, TopicPartition
from service.domain.retry_policy import RetryPolicy
from service.domain.validation import Rejection, Rules, ValidGroupImport
from service.metrics import Metrics
from service.providers.base import ChatProvider
from service.providers.ratelimit import ApiBudgets
from service.runtime.caller import ProviderCaller
from service.runtime.group_lanes import GroupImports
from service.runtime.groups import DEFAULT_MAX_REMEMBERED, GroupRegistry
from service.runtime.intake import DeadLetter, classify
from service.runtime.lanes import Lane, LaneSupervisor
from service.runtime.message_lanes import MessageImports, MessageLaneState
from service.runtime.outcome_writer import OutcomeWriter
from service.runtime.reconciler import HistoryReconciler
from service.runtime.sinks import OutcomeSink
from service.runtime.work import WorkItem

log = structlog.get_logger("service.engine")

LaneKey = tuple[EventType, int, str]  # event kind, partition, GroupId
MAX_CRASHES = 3


@dataclass(slots=True)
class GroupLaneState:
    """A group lane needs no state of its own; its life is what the group registry counts."""


LaneState = MessageLaneState | GroupLaneState
EngineLane = Lane[LaneKey, LaneState]


class Engine:
    """Turns input records into provider calls and outcome events."""

    def __init__(  # noqa: PLR0913 - the engine's collaborators, each injected for tests
        self,
        provider: ChatProvider,
        sink: OutcomeSink,
        *,
        policy: RetryPolicy,
        rules: Rules | None = None,
        max_in_flight_calls: int,
        metrics: Metrics,
        budgets: ApiBudgets,
        clock: Callable[[], float] = time.time,
        messages_per_call: int | None = None,
        max_groups_remembered: int = DEFAULT_MAX_REMEMBERED,
    ) -> None:
        self._provider = provider
        # the provider's own limits and codes unless a test gives others
        self._rules = rules if rules is not None else provider.rules
        self._metrics = metrics
        self._clock = clock
        self._ledger = PartitionLedger()
        self._progress = asyncio.Event()
        self._caller = ProviderCaller(
            budgets=budgets, policy=policy, metrics=metrics, max_in_flight_calls=max_in_flight_calls
        )
        self._writer = OutcomeWriter(
            sink, self._ledger, metrics, provider=provider.name, on_progress=self._progress.set
        )
        self._groups = GroupRegistry(max_groups_remembered)
        self._group_imports = GroupImports(provider, self._caller, self._writer, self._groups)
        self._message_imports = MessageImports(
            provider,
            self._caller,
            self._writer,
            self._groups,
            HistoryReconciler(provider, self._caller, metrics),
            metrics,
            per_call=min(
                messages_per_call or provider.messages_per_call, provider.messages_per_call
            ),
            clock=clock,
        )
        self._lanes: LaneSupervisor[LaneKey, LaneState] = LaneSupervisor(
            self._run_lane,
            new_state=self._lane_started,
            on_crash=self._lane_crashed,
            on_end=self._lane_ended,
        )
        self._side_tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ ownership

    def assign(self, tps: Iterable[TopicPartition]) -> None:
        """Start holding ``tps``: their records are accepted from now on."""
        self._ledger.assign(tps)

    def generations(self) -> dict[TopicPartition, int]:
        """The generation of each partition read now (records carry it through intake)."""
        return self._ledger.generations()

    async def release(
        self, tps: Iterable[TopicPartition], timeout: float
    ) -> dict[TopicPartition, int]:
        """Hand ``tps`` back: no new work, calls on the wire finish within ``timeout``.

        Returns the offsets to commit for them; everything about them is then forgotten, and
        work of theirs that is still finishing can no longer change anything.
        """
        revoked = [tp for tp in tps if tp in set(self._ledger.held())]
        if not revoked:
            return {}
        deadline = time.monotonic() + timeout
        self._ledger.release(revoked)
        await self._lanes.abandon(revoked, timeout)
        side = [task for task in self._side_tasks if not task.done()]
        if side:
            await asyncio.wait(side, timeout=max(0.0, deadline - time.monotonic()))
        self._groups.forget_creations()
        return self._ledger.revoke(revoked)

    async def drain(self, timeout: float) -> dict[TopicPartition, int]:
        """Stop taking records, finish in-flight work within ``timeout``; return final offsets."""
        return await self.release(self._ledger.held(), timeout)

    # --------------------------------------------------------------- intake

    def submit(self, record: InputRecord, generation: int | None = None) -> None:
        """Take one record read in ``generation`` of its partition (None: the current one).

        Returns at once; the work runs in the background. A record of a partition not held, or
        held in another generation than it was read in, is dropped before it touches anything.
        """
        if generation is None:
            generation = self._ledger.generations().get((record.topic, record.partition), -1)
        ticket = self._ledger.read(record.topic, record.partition, record.offset, generation)
        if ticket is None:
            return
        self._metrics.records_consumed.labels(record.topic).inc()
        checked = classify(
            record, provider=self._provider, rules=self._rules, now=int(self._clock())
        )
        if isinstance(checked, DeadLetter):
            self._spawn(self._writer.dead_letter(ticket, record, checked.reason))
        elif isinstance(checked, Rejection):
            if checked.event_type is EventType.GROUP_IMPORT and checked.group_id:
                self._group_imports.refused(checked.group_id, checked.code, checked.info)
            self._spawn(self._writer.publish([self._writer.rejected(ticket, record, checked)]))
        else:
            kind = (
                EventType.GROUP_IMPORT
                if isinstance(checked, ValidGroupImport)
                else EventType.MESSAGE_IMPORT
            )
            key: LaneKey = (kind, record.partition, checked.group_id)
            self._lanes.push(key, ticket.tp, WorkItem(record, checked, ticket))

    def groups_topic_read(self, *, caught_up: bool) -> None:
        """Whether the consumer has read the groups topic to its end on the partitions held.

        While it has not, a message of a group not seen yet waits (bounded) for its import: the
        import is probably among the unread records, and calling for a group that does not
        exist yet costs a history pull and a refused call from the shared budget.
        """
        self._message_imports.groups_topic_read(caught_up=caught_up)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    # ---------------------------------------------------------------- lanes

    def _lane_started(self, key: LaneKey) -> LaneState:
        if key[0] is EventType.GROUP_IMPORT:
            self._group_imports.started(key[2])
            return GroupLaneState()
        return MessageLaneState()

    def _lane_ended(self, lane: EngineLane) -> None:
        if lane.key[0] is EventType.GROUP_IMPORT:
            self._group_imports.ended(lane.key[2])

    async def _run_lane(self, lane: EngineLane) -> None:
        if isinstance(lane.state, GroupLaneState):
            await self._group_imports.run(lane)
        else:
            await self._message_imports.run(lane)  # type: ignore[arg-type]

    async def _lane_crashed(
        self, lane: EngineLane, items: list[WorkItem], error: Exception
    ) -> None:
        """Re-queue what a failed worker held (checked against history first); fail repeats."""
        if isinstance(lane.state, MessageLaneState):
            lane.state.after_crash()
        again: list[WorkItem] = []
        given_up: list[WorkItem] = []
        for item in items:
            item.crashes += 1
            (given_up if item.crashes >= MAX_CRASHES else again).append(item)
        lane.requeue(again)
        info = (
            f"the service failed {MAX_CRASHES} times while importing this event "
            f"({type(error).__name__}); it may or may not be at the provider: "
            "check with chat-import verify"
        )
        await self._writer.fail(given_up, limits.SERVICE_FAILURE, info, DetectedBy.SERVICE)

    # ----------------------------------------------------- figures and waits

    def committable(self) -> dict[TopicPartition, int]:
        """The offset each partition held may commit now."""
        return self._ledger.committable()

    def buffered(self, tp: TopicPartition | None = None) -> int:
        """Records read and not finished (all partitions, or one)."""
        return self._ledger.unfinished(tp)

    def buffered_by_partition(self) -> dict[TopicPartition, int]:
        """Records read and not finished, per partition held."""
        return dict(self._ledger.unfinished_by_partition())

    @property
    def queued(self) -> int:
        """Valid events waiting in lanes (not yet in a call)."""
        return self._lanes.queued

    @property
    def lanes(self) -> int:
        """Lanes alive now (keys with work)."""
        return len(self._lanes)

    @property
    def groups_known(self) -> int:
        """Groups this process remembers something about."""
        return len(self._groups)

    @property
    def provider_unreachable(self) -> bool:
        """True after several calls in a row got no answer, while records still wait on them.

        Once nothing waits (revoked, a spare replica, or caught up), no call will tell whether
        the provider answers again: the old calls say nothing about it any more.
        """
        return self._caller.provider_unreachable and self._ledger.unfinished() > 0

    @property
    def halted(self) -> bool:
        """True while the provider refuses the configuration."""
        return self._caller.halted

    async def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``condition`` holds (checked at every finished record); False at the bound."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), min(remaining, 0.25))
            except TimeoutError:
                continue
        return True

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until every record read is finished (tests and the demo)."""
        return await self.wait_until(lambda: self.buffered() == 0, timeout)
