# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The import engine: routes each record from intake to its lane, and each lane to the provider.

Each piece of state has one owner, and the engine is mostly routing between them:

- ``PartitionLedger`` (domain): partitions held, their generations, offsets read and finished;
- ``LaneSupervisor``: one FIFO and at most one worker per (event kind, partition, GroupId);
- ``GroupRegistry``: what is known about each group's existence at the provider;
- ``AccountRegistry``: whether accounts are still being imported here;
- ``AccountBatcher``: accounts of every lane in calls of up to the per-call maximum;
- ``ProviderCaller``: the call budget, retries and attempt counts, the halt;
- ``HistoryReconciler``: which pending messages are already at the provider;
- ``OutcomeWriter``: publishing outcomes and dead letters, then finishing offsets.

A record's offset is finished only once its outcome is published, so the committable offset of a
partition (the lowest unfinished one) never passes a record without one.

Routing by event kind: a group's import has its own lane (key: group); accounts have one lane
per partition, which hands them to the batcher; a group's members, messages and unread counts
share one lane (key: group), so each runs in partition order after the group's import, and an
unread count never before the messages ahead of it. That lane runs messages itself and hands a
member or an unread count at its head to their runners.
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
from service.domain.ledger import PartitionLedger, Skipped, Ticket, TopicPartition
from service.domain.offset_map import OffsetMap
from service.domain.retry_policy import RetryPolicy
from service.domain.validation import (
    Rejection,
    Rules,
    ValidAccountImport,
    ValidEvent,
    ValidGroupImport,
    ValidMemberImport,
)
from service.metrics import Metrics
from service.providers.base import ChatProvider
from service.providers.ratelimit import ApiBudgets
from service.runtime.account_batcher import AccountBatcher
from service.runtime.account_lanes import AccountImports
from service.runtime.accounts import AccountRegistry
from service.runtime.caller import ProviderCaller
from service.runtime.group_lanes import GroupImports
from service.runtime.group_waits import GroupWaits
from service.runtime.groups import DEFAULT_MAX_REMEMBERED, GroupFacts, GroupRegistry
from service.runtime.intake import DeadLetter, classify
from service.runtime.lanes import Lane, LaneSupervisor
from service.runtime.member_lanes import MemberImports
from service.runtime.message_lanes import MessageImports, MessageLaneState
from service.runtime.outcome_writer import OutcomeWriter
from service.runtime.reconciler import HistoryReconciler
from service.runtime.sinks import OutcomeSink
from service.runtime.unread_lanes import UnreadCounts
from service.runtime.work import WorkItem

log = structlog.get_logger("service.engine")

LaneKey = tuple[EventType, int, str]  # event kind, partition, GroupId
MAX_CRASHES = 3


def _lane_key(event: ValidEvent, partition: int) -> LaneKey:
    """The lane of a valid event: its kind's, in its partition, for its group."""
    if isinstance(event, ValidAccountImport):
        return (EventType.ACCOUNT_IMPORT, partition, "")  # one lane per partition
    if isinstance(event, ValidGroupImport):
        return (EventType.GROUP_IMPORT, partition, event.group_id)
    # members, messages and unread counts of a group: one lane, in partition order
    return (EventType.MESSAGE_IMPORT, partition, event.group_id)


@dataclass(slots=True)
class GroupLaneState:
    """A group lane needs no state of its own; its life is what the group registry counts."""


@dataclass(slots=True)
class AccountLaneState:
    """An account lane needs no state of its own: the batcher holds its items."""


LaneState = MessageLaneState | GroupLaneState | AccountLaneState
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
        members_per_call: int | None = None,
    ) -> None:
        self._provider = provider
        # the provider's own limits and codes unless a test gives others
        self._rules = rules if rules is not None else provider.rules
        self._metrics = metrics
        self._clock = clock
        self._ledger = PartitionLedger()
        self._progress = asyncio.Event()
        self._accounts = AccountRegistry()
        self._caller = ProviderCaller(
            budgets=budgets,
            policy=policy,
            metrics=metrics,
            max_in_flight_calls=max_in_flight_calls,
            on_send=lambda items: self._ledger.handed(item.ticket for item in items),
            accounts=self._accounts,
        )
        self._writer = OutcomeWriter(
            sink, self._ledger, metrics, provider=provider.name, on_progress=self._progress.set
        )
        self._groups = GroupRegistry(max_groups_remembered)
        self._group_imports = GroupImports(provider, self._caller, self._writer, self._groups)
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._account_batcher = AccountBatcher(
            provider,
            self._caller,
            self._writer,
            self._accounts,
            is_readable=self._readable,
            is_current=self._ledger.is_current,
            spawn=self._spawn,
            per_call=provider.accounts_per_call,
        )
        self._account_imports = AccountImports(self._account_batcher)
        waits = GroupWaits(self._groups, self._caller, self._writer, clock)
        self._member_imports = MemberImports(
            provider,
            self._caller,
            self._writer,
            waits,
            rules=self._rules,
            per_call=min(members_per_call or provider.members_per_call, provider.members_per_call),
        )
        self._unread_counts = UnreadCounts(provider, self._caller, self._writer, waits)
        # messages one import call takes: the setting, at most what the provider allows
        self.messages_per_call = min(
            messages_per_call or provider.messages_per_call, provider.messages_per_call
        )
        self._message_imports = MessageImports(
            provider,
            self._caller,
            self._writer,
            self._groups,
            HistoryReconciler(provider, self._caller, metrics),
            metrics,
            per_call=self.messages_per_call,
            clock=clock,
            beside=self._beside_messages,
        )
        self._lanes: LaneSupervisor[LaneKey, LaneState] = LaneSupervisor(
            self._run_lane,
            new_state=self._lane_started,
            on_crash=self._lane_crashed,
            on_end=self._lane_ended,
        )

    # ------------------------------------------------------------ ownership

    def assign(self, tps: Iterable[TopicPartition]) -> None:
        """Start holding ``tps``: their records are accepted from now on."""
        self._ledger.assign(tps)

    def generations(self) -> dict[TopicPartition, int]:
        """The generation of each partition read now (records carry it through intake)."""
        return self._ledger.generations()

    def resume(self, tp: TopicPartition, generation: int, offset_map: OffsetMap | None) -> bool:
        """Take the offset map the partition's earlier owner committed (None: nothing known).

        Must come before the partition's first record of ``generation``; False when it did not.
        """
        return self._ledger.resume(tp, generation, offset_map)

    async def release(
        self, tps: Iterable[TopicPartition], timeout: float
    ) -> dict[TopicPartition, OffsetMap]:
        """Hand ``tps`` back: no new work, calls on the wire finish within ``timeout``.

        Returns the offset maps to commit for them, drained: a record no call carried is new to
        the next owner. Everything about them is then forgotten, and work of theirs that is
        still finishing can no longer change anything.
        """
        revoked = [tp for tp in tps if tp in set(self._ledger.held())]
        if not revoked:
            return {}
        deadline = time.monotonic() + timeout
        self._ledger.release(revoked)
        self._clear_settled_doubt(revoked)
        self._account_batcher.release()
        await self._lanes.abandon(revoked, timeout)
        side = [task for task in self._side_tasks if not task.done()]
        if side:
            await asyncio.wait(side, timeout=max(0.0, deadline - time.monotonic()))
        self._groups.forget_creations()
        return self._ledger.revoke(revoked)

    def _clear_settled_doubt(self, tps: list[TopicPartition]) -> None:
        """Tell the ledger which doubtful records are known new, before their lanes are dropped.

        A message lane that decided it needs no history check (its group was created here, or
        its first message was new, or the check found where the group's history ends) knows
        that no earlier owner sent any of its messages; only calls of this process may have.
        """
        for lane in self._lanes.lanes_of(tps):
            state = lane.state
            if isinstance(state, MessageLaneState) and state.needs_recovery is False:
                self._ledger.clear_doubt(item.ticket for item in (*lane.in_hand, *lane.queue))

    async def drain(self, timeout: float) -> dict[TopicPartition, OffsetMap]:
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
        if isinstance(ticket, Skipped):
            self._metrics.records_skipped.labels(record.topic).inc()
            self._progress.set()
            return
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
            self._lanes.push(
                _lane_key(checked, record.partition), ticket.tp, WorkItem(record, checked, ticket)
            )

    def groups_topic_read(self, *, caught_up: bool) -> None:
        """Whether the consumer has read the groups topic to its end on the partitions held.

        While it has not, a message of a group not seen yet waits (bounded) for its import: the
        import is probably among the unread records, and calling for a group that does not
        exist yet costs a history pull and a refused call from the shared budget.
        """
        self._message_imports.groups_topic_read(caught_up=caught_up)
        self._accounts.groups_topic_read(caught_up=caught_up)

    def _readable(self, ticket: Ticket) -> bool:
        """True while the ticket's partition is held in its generation and not being released."""
        return self._ledger.generations().get(ticket.tp) == ticket.generation

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    # ---------------------------------------------------------------- lanes

    def _lane_started(self, key: LaneKey) -> LaneState:
        if key[0] is EventType.GROUP_IMPORT:
            self._group_imports.started(key[2])
            return GroupLaneState()
        if key[0] is EventType.ACCOUNT_IMPORT:
            return AccountLaneState()
        return MessageLaneState()

    def _lane_ended(self, lane: EngineLane) -> None:
        if lane.key[0] is EventType.GROUP_IMPORT:
            self._group_imports.ended(lane.key[2])

    async def _run_lane(self, lane: EngineLane) -> None:
        if isinstance(lane.state, GroupLaneState):
            await self._group_imports.run(lane)
        elif isinstance(lane.state, AccountLaneState):
            await self._account_imports.run(lane)
        else:
            await self._message_imports.run(lane)  # type: ignore[arg-type]

    async def _beside_messages(self, lane: Lane[Any, MessageLaneState], facts: GroupFacts) -> None:
        """The head of a group's lane is a member or an unread count: its runner takes it."""
        if isinstance(lane.queue[0].event, ValidMemberImport):
            await self._member_imports.run_head(lane, facts)
        else:
            await self._unread_counts.run_head(lane, facts)

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

    def offset_maps(self) -> dict[TopicPartition, OffsetMap]:
        """The offset map each partition held may commit now, while calls may still leave."""
        return self._ledger.offset_maps()

    def buffered(self, tp: TopicPartition | None = None) -> int:
        """Records read and not finished (all partitions, or one)."""
        return self._ledger.unfinished(tp)

    def read_to(self) -> dict[TopicPartition, int]:
        """The offset after the last record taken, per partition held."""
        return self._ledger.read_to()

    def buffered_by_partition(self) -> dict[TopicPartition, int]:
        """Records read and not finished, per partition held."""
        return dict(self._ledger.unfinished_by_partition())

    @property
    def queued(self) -> int:
        """Valid events waiting in lanes or for the account batcher (not yet in a call)."""
        return self._lanes.queued + self._account_batcher.queued

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
