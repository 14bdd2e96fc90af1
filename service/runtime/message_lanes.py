# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Message lanes: the ``group.message.import`` events of one GroupId, imported in order.

A lane waits while its group's import is pending here, fails its messages when the import was
refused, and gives a group not seen yet a bounded chance to arrive. When an earlier run (or
another owner) may have imported some of its messages, it asks the history reconciler first and
reports those as recovered; it sends the rest in calls of up to the per-call maximum, cut as late
as the call budget allows so that budget-bound calls are full.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import structlog

from service.domain.batching import batch_size
from service.domain.events import DetectedBy, GroupMessage
from service.domain.recovery import HistoryIndex
from service.domain.retry_policy import Action, ErrorClass, decide
from service.errors import AmbiguousProviderError
from service.metrics import Metrics
from service.providers.base import ChatProvider, MessageResult
from service.runtime.caller import GaveUp, GroupMissing, ProviderCaller, Unsure
from service.runtime.groups import GroupRegistry, GroupStatus
from service.runtime.lanes import Lane
from service.runtime.outcome_writer import OutcomeWriter
from service.runtime.reconciler import HistoryReconciler
from service.runtime.work import WorkItem

log = structlog.get_logger("service.engine")

UNKNOWN_GROUP_GRACE_SECONDS = 1.0
UNKNOWN_GROUP_MAX_WAIT_SECONDS = 30.0
PENDING_GROUP_RECHECK_SECONDS = 5.0


@dataclass(slots=True)
class MessageLaneState:
    """What a message lane knows while it lives."""

    needs_recovery: bool | None = None  # decided at the lane's first call
    history: HistoryIndex | None = None  # history read so far, while every message was found
    group_wait_started: float | None = None  # first 10010 of the current wait
    grace_taken: bool = False

    def after_crash(self) -> None:
        """A worker failed mid-way: what it had sent may be at the provider; check first."""
        self.needs_recovery = True
        self.history = None


class MessageImports:
    """Runs message lanes: waits for groups, reconciles history, imports batches."""

    __slots__ = (
        "_api",
        "_caller",
        "_clock",
        "_groups",
        "_groups_read",
        "_metrics",
        "_per_call",
        "_provider",
        "_reconciler",
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
    ) -> None:
        self._provider = provider
        self._caller = caller
        self._writer = writer
        self._groups = groups
        self._reconciler = reconciler
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
            if state.needs_recovery is None:
                # A group this process created holds no messages from anyone else: no history
                # check. Otherwise an earlier run (or owner) may have imported these already.
                state.needs_recovery = not facts.created_here
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
            messages = [item.event.message for item in pending]  # type: ignore[union-attr]
            result = await self._caller.call(
                self._api,
                partial(self._send, group_id, topic_id, messages),
                lane,
                pending,
                unsure_on_ambiguous=True,
                prepaid=prepaid,
            )
            prepaid = False
            if isinstance(result, Unsure):
                state.needs_recovery = True  # the call may have been applied: check first
                state.history = None
                continue
            if isinstance(result, GroupMissing):
                if await self._wait_for_missing_group(lane, state, pending, result):
                    return
                continue
            if isinstance(result, GaveUp):
                await self._writer.fail(pending, result.code, result.info, result.detected_by)
                return
            await self._imported(state, group_id, pending, result.value)
            return

    async def _send(
        self, group_id: str, topic_id: str | None, messages: list[GroupMessage]
    ) -> list[MessageResult]:
        """One import call; an answer without one result per message may have been applied."""
        results = await self._provider.import_messages(group_id, topic_id, messages)
        if len(results) != len(messages):
            raise AmbiguousProviderError(0, "the answer does not list one result per message")
        return results

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
        self, lane: Lane[Any, MessageLaneState], state: MessageLaneState, pending: list[WorkItem]
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
        lane: Lane[Any, MessageLaneState],
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
            await self._writer.fail(pending, missing.code, missing.info)
            return True
        first = pending[0]
        log.info(
            "provider call will be retried",
            api=self._api,
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
            await self._writer.fail(pending, facts.code, facts.info, DetectedBy.SERVICE)
            return True
        return False

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
