# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Message lanes: the ``group.message.import`` events of one GroupId, imported in order.

A lane waits while its group's import is pending here, fails its messages when the import was
refused, and gives a group not seen yet a bounded chance to arrive. When an earlier run (or
another owner) may have imported some of its messages, it asks the history reconciler first and
reports those as recovered (and fails without a call those the provider refused alone before,
the holes); it sends the rest in calls of up to the per-call maximum, cut as late as the call
budget allows so that budget-bound calls are full. A call refused as a whole for one of its
messages is split until only that message fails (``batch_isolation``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import structlog

from service.domain import limits
from service.domain.batching import batch_size
from service.domain.events import DetectedBy, GroupMessage
from service.domain.recovery import HistoryIndex
from service.domain.validation import ValidMessageImport
from service.errors import AmbiguousProviderError
from service.metrics import Metrics
from service.providers.base import ChatProvider, MessageResult
from service.runtime.batch_isolation import isolate
from service.runtime.caller import (
    CallResult,
    GaveUp,
    GroupMissing,
    ProviderCaller,
    Refused,
    Unsure,
)
from service.runtime.group_waits import GroupWaits
from service.runtime.groups import GroupFacts, GroupRegistry, GroupStatus
from service.runtime.lanes import Lane
from service.runtime.outcome_writer import Finished, OutcomeWriter
from service.runtime.reconciler import HistoryReconciler
from service.runtime.work import WorkItem

log = structlog.get_logger("service.engine")

UNKNOWN_GROUP_GRACE_SECONDS = 1.0
UNKNOWN_GROUP_MAX_WAIT_SECONDS = 30.0
PENDING_GROUP_RECHECK_SECONDS = 5.0
HOLE_INFO = (
    "not at the provider while later messages of its group are: the provider refused it on its "
    "own before (see its earlier outcome) or it was removed since; not sent again, since it "
    "would be stored after messages sent later"
)
COMMUNITY = "Community"  # RecentContactFlag is not supported for Community groups

# Runs the head of the lane when it is not a message (a member, an unread count).
Beside = Callable[[Lane[Any, "MessageLaneState"], GroupFacts], Awaitable[None]]


@dataclass(slots=True)
class MessageLaneState:
    """What a message lane knows while it lives."""

    needs_recovery: bool | None = None  # decided at the lane's first call
    history: HistoryIndex | None = None  # history read so far, while every message was found
    history_topic: str | None = None  # the topic ``history`` was read from
    # per topic: the MsgSeq of the lane's latest message known at the provider (answered or
    # found); history up to it holds earlier messages, never one still pending
    last_seq: dict[str | None, int] = field(default_factory=dict)
    # messages a refusal named while a split call was interrupted: if the history then shows
    # them missing behind stored batch-mates, they fail with that refusal
    refused_alone: dict[WorkItem, tuple[int, str]] = field(default_factory=dict)
    group_wait_started: float | None = None  # first 10010 of the current wait
    grace_taken: bool = False

    def after_crash(self) -> None:
        """A worker failed mid-way: what it had sent may be at the provider; check first."""
        self.needs_recovery = True
        self.history = None

    def seen(self, topic_id: str | None, seqs: Iterable[int | None]) -> None:
        """Messages of ``topic_id`` are at the provider with ``seqs``."""
        top = max((seq for seq in seqs if seq is not None), default=None)
        if top is not None and top > self.last_seq.get(topic_id, 0):
            self.last_seq[topic_id] = top


class MessageImports:
    """Runs message lanes: waits for groups, reconciles history, imports batches."""

    __slots__ = (
        "_api",
        "_beside",
        "_caller",
        "_clock",
        "_groups",
        "_groups_read",
        "_metrics",
        "_per_call",
        "_provider",
        "_reconciler",
        "_waits",
        "_writer",
    )

    def __init__(  # noqa: PLR0913, PLR0917 - the collaborators a message lane calls on
        self,
        provider: ChatProvider,
        caller: ProviderCaller,
        writer: OutcomeWriter,
        groups: GroupRegistry,
        reconciler: HistoryReconciler,
        metrics: Metrics,
        *,
        per_call: int,
        clock: Callable[[], float],
        beside: Beside | None = None,
    ) -> None:
        self._beside = beside
        self._provider = provider
        self._caller = caller
        self._writer = writer
        self._groups = groups
        self._reconciler = reconciler
        self._waits = GroupWaits(groups, caller, writer, clock)
        self._metrics = metrics
        self._per_call = per_call
        self._clock = clock
        self._api = provider.api_names.import_messages
        # Set while every group.import of the held partitions has been read (the consumer says
        # when); an engine on its own has nothing more to wait for.
        self._groups_read = asyncio.Event()
        self._groups_read.set()

    def groups_topic_read(self, *, caught_up: bool) -> None:
        """Whether the groups topic has been read to its end on the partitions held."""
        if caught_up:
            self._groups_read.set()
        else:
            self._groups_read.clear()

    async def run(self, lane: Lane[Any, MessageLaneState]) -> None:
        """Import the lane's messages in order, in calls of up to the per-call maximum."""
        state = lane.state
        group_id = lane.key[2]
        while lane.queue:
            lane.check_abandoned()
            facts = self._groups.facts(group_id)
            if facts.status is GroupStatus.PENDING:
                await self._groups.wait(group_id, lane, PENDING_GROUP_RECHECK_SECONDS)
                continue
            if facts.status is GroupStatus.FAILED:
                items = lane.take(len(lane.queue))
                await self._writer.fail(items, facts.code, facts.info, DetectedBy.SERVICE)
                lane.settle()
                continue
            unknown = facts.status is GroupStatus.UNKNOWN
            if state.needs_recovery is None and unknown and not state.grace_taken:
                state.grace_taken = True
                await self._await_unseen_group(lane, group_id)
                continue
            if self._beside is not None and not isinstance(lane.queue[0].event, ValidMessageImport):
                # a member or an unread count: in the lane's order, by its own runner
                await self._beside(lane, facts)
                lane.settle()
                continue
            if state.needs_recovery is None:
                # A group this process created holds no messages from anyone else: no history
                # check. Otherwise the check is needed only when an earlier run (or owner) may
                # have sent the lane's first message: a group's messages go out in order, so if
                # no call ever carried the first one, none carried those behind it either.
                state.needs_recovery = not facts.created_here and lane.queue[0].doubtful
                if state.needs_recovery:
                    self._metrics.resume_checks.inc()
            prepaid = False
            if not state.needs_recovery and len(lane.queue) < self._per_call:
                # Wait for the call's slot first and cut the batch when it may leave: messages
                # read meanwhile join it, so a budget-bound import makes fewer, fuller calls.
                await self._caller.slot(self._api, lane)
                prepaid = True
            batch = lane.take(batch_size(lane.queue, self._per_call))
            if batch:
                await self._import_batch(lane, state, batch, prepaid=prepaid)
                lane.settle()

    async def _import_batch(
        self,
        lane: Lane[Any, MessageLaneState],
        state: MessageLaneState,
        batch: list[WorkItem],
        *,
        prepaid: bool,
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
            result = await self._send(lane, pending, prepaid=prepaid)
            prepaid = False
            if isinstance(result, Refused):
                stopped = await self._isolate(lane, state, pending, result)
                if stopped is None:
                    return
                pending, result = stopped
            if isinstance(result, Unsure):
                state.needs_recovery = True  # the call may have been applied: check first
                state.history = None
                continue
            if isinstance(result, GroupMissing):
                if await self._waits.wait(lane, state, pending, result, self._api):
                    return
                continue
            if isinstance(result, GaveUp):
                await self._writer.fail(pending, result.code, result.info, result.detected_by)
                return
            self._metrics.batch_size.observe(len(pending))
            await self._imported(state, group_id, topic_id, pending, result.value)
            return

    async def _isolate(
        self,
        lane: Lane[Any, MessageLaneState],
        state: MessageLaneState,
        pending: list[WorkItem],
        refused: Refused,
    ) -> tuple[list[WorkItem], Unsure | GroupMissing] | None:
        """Split a call refused as a whole until only the bad message fails; publish the results.

        A call of one message refused fails that message with the refusal, without another call.

        Returns the messages left and the call result that stopped the split, if one did.
        """
        group_id, topic_id = lane.key[2], pending[0].topic_id
        isolated = await isolate(
            partial(self._send, lane, prepaid=False),
            pending,
            refused,
            isolatable=self._provider.rules.isolatable_codes,
        )
        await self._imported(
            state,
            group_id,
            topic_id,
            [item for item, _ in isolated.settled],
            [answer for _, answer in isolated.settled],
        )
        if isolated.stopped_by is None:
            return None
        state.refused_alone.update(isolated.named)
        return isolated.rest, isolated.stopped_by

    async def _send(
        self, lane: Lane[Any, MessageLaneState], pending: list[WorkItem], *, prepaid: bool
    ) -> CallResult[list[MessageResult]]:
        """One import call of ``pending`` (a call whose answer may have been applied: Unsure)."""
        return await self._caller.call(
            self._api,
            self._sender(lane.key[2], pending[0].topic_id, pending),
            lane,
            pending,
            unsure_on_ambiguous=True,
            prepaid=prepaid,
        )

    def _sender(
        self, group_id: str, topic_id: str | None, items: list[WorkItem]
    ) -> Callable[[], Awaitable[list[MessageResult]]]:
        """The import call of ``items``' messages, with the first one's RecentContactFlag."""
        messages = [item.event.message for item in items]  # type: ignore[union-attr]
        head = items[0].event
        flag = head.recent_contact_flag if isinstance(head, ValidMessageImport) else None
        if self._groups.facts(group_id).profile.group_type == COMMUNITY:
            flag = 0  # not supported for Community groups: never sent for them
        return partial(self._import, group_id, topic_id, messages, flag)

    async def _import(
        self,
        group_id: str,
        topic_id: str | None,
        messages: list[GroupMessage],
        flag: int | None,
    ) -> list[MessageResult]:
        """One import call; an answer without one result per message may have been applied.

        Raised as ambiguous inside the call, so the caller's back-off and attempt cap apply.
        """
        results = await self._provider.import_messages(
            group_id, topic_id, messages, recent_contact=flag
        )
        if len(results) != len(messages):
            raise AmbiguousProviderError(0, "the answer does not list one result per message")
        return results

    async def _imported(
        self,
        state: MessageLaneState,
        group_id: str,
        topic_id: str | None,
        items: list[WorkItem],
        answers: list[MessageResult],
    ) -> None:
        if not items:
            return
        state.needs_recovery = False
        state.group_wait_started = None
        self._groups.seen_existing(group_id)
        await self._writer.publish(
            [
                self._writer.imported(item, msg_seq=answer.msg_seq, msg_time=answer.msg_time)
                if answer.code == 0
                else self._writer.failed(item, answer.code, answer.info)
                for item, answer in zip(items, answers, strict=True)
            ],
            items,
        )
        state.seen(topic_id, (answer.msg_seq for answer in answers if answer.code == 0))

    async def _recover(
        self, lane: Lane[Any, MessageLaneState], state: MessageLaneState, pending: list[WorkItem]
    ) -> list[WorkItem]:
        """Report the pending messages already at the provider, fail the holes; returns the rest."""
        topic_id = pending[0].topic_id
        if state.history_topic != topic_id:
            state.history = None
        found = await self._reconciler.reconcile(
            lane,
            lane.key[2],
            topic_id,
            pending,
            state.history,
            after_seq=state.last_seq.get(topic_id),
            behind=lane.queue,
        )
        state.history, state.history_topic = found.index, topic_id
        if found.index is None:
            state.needs_recovery = False
        await self._writer.publish(
            [
                *(
                    self._writer.imported(
                        item,
                        msg_seq=entry.msg_seq,
                        msg_time=entry.msg_time,
                        detected_by=DetectedBy.RECOVERED,
                        info="already at the provider; not imported again",
                    )
                    for item, entry in found.found
                ),
                *(self._hole(state, item) for item in found.holes),
            ],
            [*(item for item, _ in found.found), *found.holes],
        )
        state.seen(topic_id, (entry.msg_seq for _, entry in found.found))
        return found.rest

    def _hole(self, state: MessageLaneState, item: WorkItem) -> Finished:
        """The outcome of a message the provider does not hold while later ones are."""
        refusal = state.refused_alone.pop(item, None)
        if refusal is not None:  # its refusal was seen here, in a split interrupted since
            return self._writer.failed(item, *refusal)
        return self._writer.failed(
            item, limits.NOT_STORED_BEFORE_LATER, HOLE_INFO, DetectedBy.SERVICE
        )

    async def _await_unseen_group(self, lane: Lane[Any, MessageLaneState], group_id: str) -> None:
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
