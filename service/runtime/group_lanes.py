# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Group lanes: the ``group.import`` events of one GroupId, one call each, in order.

The group registry learns every result, so that the group's messages (and anything else that
needs the group) know whether to wait, to go ahead or to fail.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from service.domain import limits
from service.domain.events import DetectedBy
from service.domain.validation import ValidGroupImport
from service.providers.base import ChatProvider
from service.runtime.caller import Answered, GaveUp, GroupMissing, ProviderCaller, Refused, Unsure
from service.runtime.groups import GroupProfileFacts, GroupRegistry
from service.runtime.lanes import Lane
from service.runtime.outcome_writer import OutcomeWriter
from service.runtime.work import WorkItem


class GroupImports:
    """Runs group lanes: creates each group at the provider and tells the registry."""

    __slots__ = ("_caller", "_groups", "_provider", "_writer")

    def __init__(
        self,
        provider: ChatProvider,
        caller: ProviderCaller,
        writer: OutcomeWriter,
        groups: GroupRegistry,
    ) -> None:
        self._provider = provider
        self._caller = caller
        self._writer = writer
        self._groups = groups

    def started(self, group_id: str) -> None:
        """A lane of ``group_id``'s imports starts: its messages wait until it ends."""
        self._groups.import_started(group_id)

    def ended(self, group_id: str) -> None:
        """The lane of ``group_id``'s imports ended (finished, abandoned or crashed)."""
        self._groups.import_ended(group_id)

    def refused(self, group_id: str, code: int, info: str) -> None:
        """Its import was refused: the group will not exist (its messages fail with the reason)."""
        if code == limits.NO_PERMISSION:
            self._groups.import_failed(group_id, code, info)
        else:
            self._groups.import_failed(
                group_id,
                self._provider.group_missing_code,
                f"group {group_id} does not exist: its group.import failed ({code}: {info})",
            )

    async def run(self, lane: Lane[Any, Any]) -> None:
        """Import the lane's groups one by one, in the order they were read."""
        while lane.queue:
            (item,) = lane.take(1)
            await self._import(lane, item)
            lane.settle()

    async def _import(self, lane: Lane[Any, Any], item: WorkItem) -> None:
        event = item.event
        assert isinstance(event, ValidGroupImport)  # noqa: S101 - group lanes hold group events
        api = self._provider.api_names.import_group
        result = await self._caller.call(
            api, partial(self._provider.import_group, event.group), lane, [item]
        )
        if isinstance(result, Answered):
            answer = result.value
            profile = GroupProfileFacts(
                group_type=event.group.Type,
                create_time=event.group.CreateTime,
                owner=event.group.Owner_Account,
            )
            self._groups.imported(
                answer.group_id, created_here=not answer.already_existed, profile=profile
            )
            finished = self._writer.imported(
                item,
                group_id=answer.group_id,
                detected_by=DetectedBy.RECOVERED if answer.already_existed else DetectedBy.PROVIDER,
                info="the group already existed at the provider" if answer.already_existed else "",
            )
            await self._writer.publish([finished], [item])
            return
        if isinstance(result, GroupMissing | Unsure | Refused):  # pragma: no cover - not for groups
            result = GaveUp(result.code, result.info)
        self.refused(event.group_id, result.code, result.info)
        await self._writer.fail([item], result.code, result.info, result.detected_by)
