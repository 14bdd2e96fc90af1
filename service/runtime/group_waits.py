# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Waiting for a group the provider does not know yet, for messages, members and unread counts.

A call refused because its group does not exist (Tencent 10010, ZIM 660600001) waits for the
group's import: bounded by
``GROUP_WAIT_SECONDS`` from the first refusal, woken as soon as the registry learns about the
group, and failed at once when the group's import failed meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import structlog

from service.domain.events import DetectedBy
from service.domain.retry_policy import Action, ErrorClass, decide
from service.runtime.caller import GroupMissing, ProviderCaller
from service.runtime.groups import GroupRegistry, GroupStatus
from service.runtime.lanes import Lane
from service.runtime.outcome_writer import OutcomeWriter
from service.runtime.work import WorkItem

log = structlog.get_logger("service.engine")


class WaitState(Protocol):
    """A lane state that remembers when the current wait for its group started."""

    group_wait_started: float | None


class GroupWaits:
    """Bounded waits for a group the provider does not know (yet)."""

    __slots__ = ("_caller", "_clock", "_groups", "_writer")

    def __init__(
        self,
        groups: GroupRegistry,
        caller: ProviderCaller,
        writer: OutcomeWriter,
        clock: Callable[[], float],
    ) -> None:
        self._groups = groups
        self._caller = caller
        self._writer = writer
        self._clock = clock

    async def wait(
        self,
        lane: Lane[Any, Any],
        state: WaitState,
        pending: list[WorkItem],
        missing: GroupMissing,
        api: str,
    ) -> bool:
        """Wait for the group, or fail ``pending`` when the wait is over; True when failed."""
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
            api=api,
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
            await self._writer.fail(pending, facts.code, facts.info, DetectedBy.SERVICE)
            return True
        return False

    def seen(self, lane: Lane[Any, Any], state: WaitState) -> None:
        """A call for the group went through: it exists, and the current wait is over."""
        state.group_wait_started = None
        self._groups.seen_existing(lane.key[2])
