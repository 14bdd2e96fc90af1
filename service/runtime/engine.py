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
from functools import partial
from typing import Any

import structlog

from service.domain import limits
from service.domain.batching import batch_size
from service.domain.events import DetectedBy, EventType, InputRecord
from service.domain.ledger import PartitionLedger, TopicPartition
from service.domain.recovery import HistoryIndex
from service.domain.retry_policy import Action, ErrorClass, RetryPolicy, decide
from service.domain.validation import Rejection, Rules, ValidGroupImport
from service.metrics import Metrics
from service.providers.base import ChatProvider, MessageResult
from service.providers.ratelimit import ApiBudgets
from service.runtime.caller import Answered, GaveUp, GroupMissing, ProviderCaller, Unsure
from service.runtime.groups import DEFAULT_MAX_REMEMBERED, GroupRegistry, GroupStatus
from service.runtime.intake import DeadLetter, classify
from service.runtime.lanes import Lane, LaneSupervisor
from service.runtime.outcome_writer import OutcomeWriter
from service.runtime.reconciler import HistoryReconciler
from service.runtime.sinks import OutcomeSink
from service.runtime.work import WorkItem

log = structlog.get_logger("service.engine")

LaneKey = tuple[EventType, int, str]  # event kind, partition, GroupId
UNKNOWN_GROUP_GRACE_SECONDS = 1.0
UNKNOWN_GROUP_MAX_WAIT_SECONDS = 30.0
PENDING_GROUP_RECHECK_SECONDS = 5.0
MAX_CRASHES = 3
IMPORT_GROUP = "import_group"
IMPORT_MESSAGES = "import_group_msg"


@dataclass(slots=True)
class MessageLaneState:
    """What a message lane knows while it lives."""

    needs_recovery: bool | None = None  # decided at the lane's first call
    history: HistoryIndex | None = None  # history read so far, while every message was found
    group_wait_started: float | None = None  # first 10010 of the current wait
    grace_taken: bool = False


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
        rules: Rules,
        max_in_flight_calls: int,
        metrics: Metrics,
        budgets: ApiBudgets,
        clock: Callable[[], float] = time.time,
        messages_per_call: int | None = None,
        max_groups_remembered: int = DEFAULT_MAX_REMEMBERED,
    ) -> None:
        self._provider = provider
        self._rules = rules
        self._metrics = metrics
        self._clock = clock
        self._per_call = min(
            messages_per_call or provider.messages_per_call, provider.messages_per_call
        )
        self._ledger = PartitionLedger()
        self._progress = asyncio.Event()
        self._caller = ProviderCaller(
            budgets=budgets, policy=policy, metrics=metrics, max_in_flight_calls=max_in_flight_calls
        )
        self._writer = OutcomeWriter(
            sink, self._ledger, metrics, provider=provider.name, on_progress=self._progress.set
        )
        self._reconciler = HistoryReconciler(provider, self._caller, metrics)
        self._groups = GroupRegistry(max_groups_remembered)
        self._lanes: LaneSupervisor[LaneKey, LaneState] = LaneSupervisor(
            self._run_lane,
            new_state=self._lane_started,
            on_crash=self._lane_crashed,
            on_end=self._lane_ended,
        )
        self._side_tasks: set[asyncio.Task[None]] = set()
        # Set while every group.import of the held partitions has been read (the consumer says
        # when); an engine on its own has nothing more to wait for.
        self._groups_read = asyncio.Event()
        self._groups_read.set()

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
                self._group_refused(checked.group_id, checked.code, checked.info)
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
        if caught_up:
            self._groups_read.set()
        else:
            self._groups_read.clear()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    def _group_refused(self, group_id: str, code: int, info: str) -> None:
        if code == limits.NO_PERMISSION:
            self._groups.import_failed(group_id, code, info)
        else:
            self._groups.import_failed(
                group_id,
                self._provider.group_missing_code,
                f"group {group_id} does not exist: its group.import failed ({code}: {info})",
            )

    # ---------------------------------------------------------------- lanes

    def _lane_started(self, key: LaneKey) -> LaneState:
        if key[0] is EventType.GROUP_IMPORT:
            self._groups.import_started(key[2])
            return GroupLaneState()
        return MessageLaneState()

    def _lane_ended(self, lane: EngineLane) -> None:
        if lane.key[0] is EventType.GROUP_IMPORT:
            self._groups.import_ended(lane.key[2])

    async def _run_lane(self, lane: EngineLane) -> None:
        if isinstance(lane.state, GroupLaneState):
            await self._run_group_lane(lane)
        else:
            await self._run_message_lane(lane, lane.state)

    async def _lane_crashed(
        self, lane: EngineLane, items: list[WorkItem], error: Exception
    ) -> None:
        """Re-queue what a failed worker held (checked against history first); fail repeats."""
        if isinstance(lane.state, MessageLaneState):
            lane.state.needs_recovery = True
            lane.state.history = None
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
        await self._fail(given_up, limits.SERVICE_FAILURE, info, DetectedBy.SERVICE)

    # ----------------------------------------------------------- group lanes

    async def _run_group_lane(self, lane: EngineLane) -> None:
        while lane.queue:
            (item,) = lane.take(1)
            await self._import_group(lane, item)
            lane.settle()

    async def _import_group(self, lane: EngineLane, item: WorkItem) -> None:
        event = item.event
        assert isinstance(event, ValidGroupImport)  # noqa: S101 - group lanes hold group events
        result = await self._caller.call(
            IMPORT_GROUP, partial(self._provider.import_group, event.group), lane, [item]
        )
        if isinstance(result, Answered):
            answer = result.value
            self._groups.imported(answer.group_id, created_here=not answer.already_existed)
            finished = self._writer.imported(
                item,
                group_id=answer.group_id,
                detected_by=DetectedBy.RECOVERED if answer.already_existed else DetectedBy.PROVIDER,
                info="the group already existed at the provider" if answer.already_existed else "",
            )
            await self._writer.publish([finished], [item])
            return
        if isinstance(result, GroupMissing | Unsure):  # pragma: no cover - not for group imports
            result = GaveUp(result.code, result.info)
        self._group_refused(event.group_id, result.code, result.info)
        await self._fail([item], result.code, result.info, result.detected_by)

    # --------------------------------------------------------- message lanes

    async def _run_message_lane(self, lane: EngineLane, state: MessageLaneState) -> None:
        group_id = lane.key[2]
        while lane.queue:
            lane.check_abandoned()
            facts = self._groups.facts(group_id)
            if facts.status is GroupStatus.PENDING:
                await self._groups.wait(group_id, lane, PENDING_GROUP_RECHECK_SECONDS)
                continue
            if facts.status is GroupStatus.FAILED:
                items = lane.take(len(lane.queue))
                await self._fail(items, facts.code, facts.info, DetectedBy.SERVICE)
                lane.settle()
                continue
            unknown = facts.status is GroupStatus.UNKNOWN
            if state.needs_recovery is None and unknown and not state.grace_taken:
                state.grace_taken = True
                await self._await_unseen_group(lane, group_id)
                continue
            if state.needs_recovery is None:
                # A group this process created holds no messages from anyone else: no history
                # check. Otherwise an earlier run (or owner) may have imported these already.
                state.needs_recovery = not facts.created_here
            prepaid = False
            if not state.needs_recovery and len(lane.queue) < self._per_call:
                # Wait for the call's slot first and cut the batch when it may leave: messages
                # read meanwhile join it, so a budget-bound import makes fewer, fuller calls.
                await self._caller.slot(IMPORT_MESSAGES, lane)
                prepaid = True
            batch = lane.take(batch_size(lane.queue, self._per_call))
            if batch:
                await self._import_batch(lane, state, batch, prepaid=prepaid)
                lane.settle()

    async def _import_batch(
        self, lane: EngineLane, state: MessageLaneState, batch: list[WorkItem], *, prepaid: bool
    ) -> None:
        group_id = lane.key[2]
        topic_id = batch[0].topic_id
        pending = batch
        while pending:
            if state.needs_recovery:
                pending = await self._recover(lane, state, pending)
                if not pending:
                    return
                prepaid = False
            messages = [item.event.message for item in pending]  # type: ignore[union-attr]
            result = await self._caller.call(
                IMPORT_MESSAGES,
                partial(self._provider.import_messages, group_id, topic_id, messages),
                lane,
                pending,
                unsure_on_ambiguous=True,
                prepaid=prepaid,
            )
            prepaid = False
            if isinstance(result, Answered) and len(result.value) != len(pending):
                result = Unsure(0, "the answer does not list one result per message")
            if isinstance(result, Unsure):
                state.needs_recovery = True  # the call may have been applied: check first
                state.history = None
                continue
            if isinstance(result, GroupMissing):
                if await self._wait_for_missing_group(lane, state, pending, result):
                    return
                continue
            if isinstance(result, GaveUp):
                await self._fail(pending, result.code, result.info, result.detected_by)
                return
            await self._imported(state, group_id, pending, result.value)
            return

    async def _imported(
        self,
        state: MessageLaneState,
        group_id: str,
        items: list[WorkItem],
        answers: list[MessageResult],
    ) -> None:
        state.needs_recovery = False
        state.group_wait_started = None
        self._groups.seen_existing(group_id)
        self._metrics.batch_size.observe(len(items))
        await self._writer.publish(
            [
                self._writer.imported(item, msg_seq=answer.msg_seq, msg_time=answer.msg_time)
                if answer.code == 0
                else self._writer.failed(item, answer.code, answer.info)
                for item, answer in zip(items, answers, strict=True)
            ],
            items,
        )

    async def _recover(
        self, lane: EngineLane, state: MessageLaneState, pending: list[WorkItem]
    ) -> list[WorkItem]:
        """Report the pending messages already at the provider; returns the rest to import."""
        found = await self._reconciler.reconcile(
            lane, lane.key[2], pending[0].topic_id, pending, state.history
        )
        state.history = found.index
        if found.index is None:
            state.needs_recovery = False
        await self._writer.publish(
            [
                self._writer.imported(
                    item,
                    msg_seq=entry.msg_seq,
                    msg_time=entry.msg_time,
                    detected_by=DetectedBy.RECOVERED,
                    info="already at the provider; not imported again",
                )
                for item, entry in found.found
            ],
            [item for item, _ in found.found],
        )
        return found.rest

    async def _wait_for_missing_group(
        self,
        lane: EngineLane,
        state: MessageLaneState,
        pending: list[WorkItem],
        missing: GroupMissing,
    ) -> bool:
        """Wait (bounded) for a group the provider does not know yet; True when given up."""
        group_id = lane.key[2]
        now = self._clock()
        if state.group_wait_started is None:
            state.group_wait_started = now
        policy = self._caller.policy
        decision = decide(
            ErrorClass.GROUP_MISSING,
            attempt=max(item.attempts for item in pending),
            waited_for_group=now - state.group_wait_started,
            policy=policy,
            jitter=0.5,
        )
        if decision.action is Action.FAIL:
            info = (
                f"group {group_id} does not exist at the provider "
                f"(waited {policy.group_wait_seconds:.0f} s for its import)"
            )
            self._groups.import_failed(group_id, missing.code, info)
            await self._fail(pending, missing.code, missing.info)
            return True
        first = pending[0]
        log.info(
            "provider call will be retried",
            api=IMPORT_MESSAGES,
            error_code=missing.code,
            error_class=ErrorClass.GROUP_MISSING.value,
            error_info=missing.info,
            delay_seconds=round(decision.delay, 3),
            event_id=first.event.event_id,
            group_id=group_id,
            partition=first.record.partition,
            offset=first.record.offset,
        )
        await self._groups.wait(group_id, lane, decision.delay)
        facts = self._groups.facts(group_id)
        if facts.status is GroupStatus.FAILED:
            # its group.import was refused meanwhile: it will never exist
            await self._fail(pending, facts.code, facts.info, DetectedBy.SERVICE)
            return True
        return False

    async def _await_unseen_group(self, lane: EngineLane, group_id: str) -> None:
        """Give the import of a group not seen yet the chance to arrive before calling for it.

        It may be a moment behind on the other topic: wait a short grace, and past it as long
        as the groups topic still has unread records here (bounded), or until the group is seen.
        """
        started = time.monotonic()
        await self._groups.wait(group_id, lane, UNKNOWN_GROUP_GRACE_SECONDS)
        while (
            self._groups.facts(group_id).status is GroupStatus.UNKNOWN
            and not self._groups_read.is_set()
        ):
            left = UNKNOWN_GROUP_MAX_WAIT_SECONDS - (time.monotonic() - started)
            if left <= 0:
                log.warning(
                    "gave up waiting for a group's import while the groups topic is still read; "
                    "importing its messages now",
                    group_id=group_id,
                    waited_seconds=UNKNOWN_GROUP_MAX_WAIT_SECONDS,
                )
                return
            await self._groups.wait(group_id, lane, left, self._groups_read)

    async def _fail(
        self,
        items: list[WorkItem],
        code: int,
        info: str,
        detected_by: DetectedBy = DetectedBy.PROVIDER,
    ) -> None:
        """Publish a failed outcome with the same code and reason for each item."""
        await self._writer.publish(
            [self._writer.failed(item, code, info, detected_by) for item in items], items
        )

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
        """True after several calls in a row got no answer from the provider."""
        return self._caller.provider_unreachable

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
