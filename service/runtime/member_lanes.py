# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Members: the ``group.member.import`` events of one group, in calls of up to the maximum.

Members share their group's lane with its messages and unread counts (key: partition, GroupId),
so they wait for the group's import exactly as messages do, and an unread count later in the
partition never overtakes them. The message lane hands its head over when it is a member: the
consecutive members at the head go in one call (Tencent ``import_group_member``, a setting's
maximum, default 20; ZIM ``InviteUsersIntoGroup``, 100, one call per second per group).

Before calling, a member whose ``JoinTime`` is not after its group's ``CreateTime`` (known when
this process read the group's import) fails as the provider would refuse it. Each member gets
its own outcome: imported, already a member (``detected_by: recovered``), or refused alone. A
call refused for an account that does not exist (Tencent 10019, ZIM 660500002) first waits while
accounts are being imported (the provider caller does); refused still, it is split in halves
until the members whose accounts are missing fail alone.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from service.domain.batching import batch_size
from service.domain.events import DetectedBy, GroupMember
from service.domain.retry_policy import ErrorClass
from service.domain.validation import Rules, ValidMemberImport, join_time_problem
from service.providers.base import ChatProvider, MemberResult
from service.runtime.caller import GaveUp, GroupMissing, ProviderCaller, Refused, Unsure
from service.runtime.group_waits import GroupWaits, WaitState
from service.runtime.groups import GroupFacts
from service.runtime.lanes import Lane
from service.runtime.outcome_writer import Finished, OutcomeWriter
from service.runtime.work import WorkItem

ALREADY_A_MEMBER = "already a member of the group at the provider"


class MemberImports:
    """Imports the members at the head of a group's lane."""

    __slots__ = ("_api", "_caller", "_per_call", "_provider", "_rules", "_waits", "_writer")

    def __init__(  # noqa: PLR0913 - the collaborators a member import calls on
        self,
        provider: ChatProvider,
        caller: ProviderCaller,
        writer: OutcomeWriter,
        waits: GroupWaits,
        *,
        rules: Rules,
        per_call: int,
    ) -> None:
        self._provider = provider
        self._caller = caller
        self._writer = writer
        self._waits = waits
        self._rules = rules
        self._per_call = per_call
        self._api = provider.api_names.import_members

    async def run_head(self, lane: Lane[Any, Any], facts: GroupFacts) -> None:
        """Import the consecutive members at the head of the lane (up to the maximum).

        With fewer than the maximum queued, the call's budget slot is taken first and the batch
        cut when it may leave: members read meanwhile join it (fewer, fuller calls).
        """
        group_id = lane.key[2]
        prepaid = batch_size(lane.queue, self._per_call) < self._per_call
        if prepaid:
            await self._caller.slot(self._api, lane, group_id)
        batch = lane.take(batch_size(lane.queue, self._per_call))
        refused: list[Finished] = []
        pending: list[WorkItem] = []
        for item in batch:
            event = item.event
            assert isinstance(event, ValidMemberImport)  # noqa: S101 - the head is members
            problem = join_time_problem(
                event.member.JoinTime, facts.profile.create_time, self._rules
            )
            if problem is None:
                pending.append(item)
            else:
                refused.append(self._writer.failed(item, *problem, DetectedBy.SERVICE))
        await self._writer.publish(refused, [item for item in batch if item not in pending])
        if pending:
            await self._import(lane, lane.state, pending, facts.profile.owner, prepaid=prepaid)

    async def _import(
        self,
        lane: Lane[Any, Any],
        state: WaitState,
        pending: list[WorkItem],
        owner: str | None,
        *,
        prepaid: bool = False,
    ) -> None:
        group_id = lane.key[2]
        while pending:
            members = [_member(item) for item in pending]
            result = await self._caller.call(
                self._api,
                partial(self._provider.import_members, group_id, members, inviter=owner),
                lane,
                pending,
                budget_key=group_id,
                prepaid=prepaid,
            )
            prepaid = False
            if isinstance(result, GroupMissing):
                if await self._waits.wait(lane, state, pending, result, self._api):
                    return
                continue
            if isinstance(result, Unsure):  # pragma: no cover - not asked for: retried inside
                continue
            if isinstance(result, GaveUp):
                if result.error_class is ErrorClass.ACCOUNT_MISSING and len(pending) > 1:
                    # one (or some) of them has no account: halve until they fail alone
                    middle = len(pending) // 2
                    await self._import(lane, state, pending[:middle], owner)
                    await self._import(lane, state, pending[middle:], owner)
                    return
                await self._writer.fail(pending, result.code, result.info, result.detected_by)
                return
            if isinstance(result, Refused):  # pragma: no cover - only message calls are split
                await self._writer.fail(pending, result.code, result.info)
                return
            self._waits.seen(lane, state)
            await self._writer.publish(
                [
                    self._outcome(item, answer)
                    for item, answer in zip(pending, result.value, strict=True)
                ],
                pending,
            )
            return

    def _outcome(self, item: WorkItem, answer: MemberResult) -> Finished:
        if answer.code != 0:
            return self._writer.failed(item, answer.code, answer.info)
        if answer.already_member:
            return self._writer.imported(
                item, detected_by=DetectedBy.RECOVERED, info=ALREADY_A_MEMBER
            )
        return self._writer.imported(item)


def _member(item: WorkItem) -> GroupMember:
    event = item.event
    assert isinstance(event, ValidMemberImport)  # noqa: S101 - member items only
    return event.member
