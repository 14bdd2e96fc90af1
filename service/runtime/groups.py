# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""What this process knows about each group's existence at the provider.

Messages of a group wait while its ``group.import`` is queued or in flight here, fail at once
when that import failed, and skip the crash-recovery history check when this process created the
group itself (it cannot hold messages imported by anyone else).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum


class GroupStatus(StrEnum):
    """The state of a group as this process last saw it."""

    UNKNOWN = "unknown"
    PENDING = "pending"  # a group.import for it is queued or in flight here
    EXISTS = "exists"
    FAILED = "failed"  # its import failed, or the wait for it ran out


@dataclass(slots=True)
class GroupFacts:
    """What is known about one group."""

    status: GroupStatus = GroupStatus.UNKNOWN
    pending_imports: int = 0
    created_here: bool = False
    code: int = 0
    info: str = ""


class GroupRegistry:
    """Group states, and a way for waiting messages to hear when a group's import settles."""

    def __init__(self) -> None:
        self._facts: dict[str, GroupFacts] = {}
        self._changed: dict[str, asyncio.Event] = {}

    def facts(self, group_id: str) -> GroupFacts:
        """The known facts (UNKNOWN when nothing is known)."""
        return self._facts.get(group_id) or GroupFacts()

    def _update(self, group_id: str) -> GroupFacts:
        facts = self._facts.setdefault(group_id, GroupFacts())
        event = self._changed.pop(group_id, None)
        if event is not None:
            event.set()
        return facts

    def import_queued(self, group_id: str) -> None:
        """A group.import for ``group_id`` was accepted and will be attempted."""
        facts = self._update(group_id)
        facts.pending_imports += 1
        if facts.status is not GroupStatus.EXISTS:
            facts.status = GroupStatus.PENDING

    def import_abandoned(self, group_id: str) -> None:
        """A queued group.import was dropped unfinished (its partition was revoked)."""
        facts = self._update(group_id)
        facts.pending_imports = max(0, facts.pending_imports - 1)
        if facts.pending_imports == 0 and facts.status is GroupStatus.PENDING:
            facts.status = GroupStatus.UNKNOWN

    def imported(self, group_id: str, *, created_here: bool) -> None:
        """The group exists at the provider (``created_here``: this process created it)."""
        facts = self._update(group_id)
        facts.pending_imports = max(0, facts.pending_imports - 1)
        facts.status = GroupStatus.EXISTS
        facts.created_here = facts.created_here or created_here

    def import_failed(self, group_id: str, code: int, info: str) -> None:
        """The import failed; its messages fail with ``code`` unless another import works."""
        facts = self._update(group_id)
        facts.pending_imports = max(0, facts.pending_imports - 1)
        if facts.status is not GroupStatus.EXISTS and facts.pending_imports == 0:
            facts.status = GroupStatus.FAILED
            facts.code = code
            facts.info = info

    def seen_existing(self, group_id: str) -> None:
        """A provider call showed the group exists."""
        facts = self._update(group_id)
        facts.status = GroupStatus.EXISTS

    def forget_creations(self) -> None:
        """After a rebalance another process may have imported into our groups: trust nothing."""
        for facts in self._facts.values():
            facts.created_here = False

    def change_event(self, group_id: str) -> asyncio.Event:
        """An event set at the group's next change (registered now, so no change is missed)."""
        return self._changed.setdefault(group_id, asyncio.Event())
