# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Unread counts: ``group.member.unread`` events, each applied after the messages before it.

Importing messages resets every member's unread count to 0 (Tencent ``import_group_msg``), so an
unread count is worth setting only once every message of its group that precedes it in the
partition has been imported. Unread counts share their group's lane with its members and
messages (key: partition, GroupId): the lane is a FIFO with one worker, so when an unread count
reaches its head, everything before it in the partition has its outcome. One member per call
(Tencent ``set_unread_msg_num``); the provider clamps the count to the group's message count and
ignores it for Meeting, ChatRoom and AVChatRoom groups (the outcome says so when the group's type
is known). ZIM has no such API: its rules refuse these events before they reach a lane.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from service.domain import limits
from service.domain.validation import ValidUnreadSet
from service.providers.base import ChatProvider
from service.runtime.caller import Answered, GaveUp, GroupMissing, ProviderCaller
from service.runtime.group_waits import GroupWaits
from service.runtime.groups import GroupFacts
from service.runtime.lanes import Lane
from service.runtime.outcome_writer import OutcomeWriter


class UnreadCounts:
    """Sets the unread count at the head of a group's lane."""

    __slots__ = ("_api", "_caller", "_provider", "_waits", "_writer")

    def __init__(
        self,
        provider: ChatProvider,
        caller: ProviderCaller,
        writer: OutcomeWriter,
        waits: GroupWaits,
    ) -> None:
        self._provider = provider
        self._caller = caller
        self._writer = writer
        self._waits = waits
        self._api = provider.api_names.set_unread

    async def run_head(self, lane: Lane[Any, Any], facts: GroupFacts) -> None:
        """Set the unread count at the head of the lane."""
        (item,) = lane.take(1)
        event = item.event
        assert isinstance(event, ValidUnreadSet)  # noqa: S101 - the head is an unread count
        group_id = lane.key[2]
        while True:
            result = await self._caller.call(
                self._api,
                partial(
                    self._provider.set_unread,
                    group_id,
                    event.member.Member_Account,
                    event.member.UnreadMsgNum,
                ),
                lane,
                [item],
                budget_key=group_id,
            )
            if isinstance(result, GroupMissing):
                if await self._waits.wait(lane, lane.state, [item], result, self._api):
                    return
                continue
            if isinstance(result, GaveUp):
                await self._writer.fail([item], result.code, result.info, result.detected_by)
                return
            if not isinstance(result, Answered):  # pragma: no cover - Unsure is not asked for
                continue
            self._waits.seen(lane, lane.state)
            group_type = facts.profile.group_type
            ignored = group_type in limits.NO_UNREAD_GROUP_TYPES
            info = (
                f"the provider keeps no unread counts for {group_type} groups: it ignored this one"
                if ignored
                else ""
            )
            count = None if ignored else event.member.UnreadMsgNum
            finished = self._writer.imported(item, info=info, unread_msg_num=count)
            await self._writer.publish([finished], [item])
            return
