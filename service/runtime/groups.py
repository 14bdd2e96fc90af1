# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""What this process knows about each group's existence at the provider.

Messages of a group wait while a ``group.import`` of it is being worked on here, fail at once
when its import failed, and skip the crash-recovery history check when this process created the
group itself (it cannot hold messages imported by anyone else).

"Being worked on" is not counted by hand: it is the number of live group lanes of the group,
which the lane supervisor reports as lanes start and end, whatever ends them (success, failure,
revocation, a crash). What is known about settled groups is kept for the most recent
``max_remembered`` of them, so memory stays flat however many groups a migration has; a group
forgotten is treated as unknown (its messages check the provider's history first).
"""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from service.runtime.lanes import Lane

DEFAULT_MAX_REMEMBERED = 50_000


class GroupStatus(StrEnum):
    """The state of a group as this process last saw it."""

    UNKNOWN = "unknown"
    PENDING = "pending"  # a group.import of it is queued or in flight here
    EXISTS = "exists"
    FAILED = "failed"  # its import failed, or the wait for it ran out


@dataclass(frozen=True, slots=True)
class GroupProfileFacts:
    """What a group's ``group.import`` said, when this process read it."""

    group_type: str | None = None
    create_time: int | None = None
    owner: str | None = None


_NO_PROFILE = GroupProfileFacts()


@dataclass(frozen=True, slots=True)
class GroupFacts:
    """What is known about one group."""

    status: GroupStatus = GroupStatus.UNKNOWN
    created_here: bool = False
    code: int = 0
    info: str = ""
    profile: GroupProfileFacts = _NO_PROFILE


_UNKNOWN = GroupFacts()
_PENDING = GroupFacts(GroupStatus.PENDING)


@dataclass(frozen=True, slots=True)
class _Settled:
    status: GroupStatus
    created_in: int  # the ownership era it was created in (0: not by this process)
    code: int = 0
    info: str = ""
    profile: GroupProfileFacts = _NO_PROFILE


class _Signal:
    __slots__ = ("event", "waiters")

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.waiters = 0


class GroupRegistry:
    """Group states, and waits that end when a group's state changes."""

    __slots__ = ("_era", "_importing", "_max", "_settled", "_signals")

    def __init__(self, max_remembered: int = DEFAULT_MAX_REMEMBERED) -> None:
        self._max = max_remembered
        self._settled: OrderedDict[str, _Settled] = OrderedDict()
        self._importing: Counter[str] = Counter()
        self._signals: dict[str, _Signal] = {}
        self._era = 1

    def __len__(self) -> int:
        """Groups with something known about them."""
        return len(self._settled.keys() | self._importing.keys())

    def facts(self, group_id: str) -> GroupFacts:
        """The known facts (UNKNOWN when nothing is known)."""
        settled = self._settled.get(group_id)
        if settled is not None and settled.status is GroupStatus.EXISTS:
            return GroupFacts(
                GroupStatus.EXISTS,
                created_here=settled.created_in == self._era,
                profile=settled.profile,
            )
        if self._importing.get(group_id):
            return _PENDING
        if settled is None:
            return _UNKNOWN
        return GroupFacts(settled.status, code=settled.code, info=settled.info)

    # ---------------------------------------------------------- group lanes

    def import_started(self, group_id: str) -> None:
        """A group lane of ``group_id`` started: its messages wait for it."""
        self._importing[group_id] += 1
        self._changed(group_id)

    def import_ended(self, group_id: str) -> None:
        """A group lane of ``group_id`` ended, whatever ended it."""
        self._importing[group_id] -= 1
        if self._importing[group_id] <= 0:
            del self._importing[group_id]
        self._changed(group_id)

    # -------------------------------------------------------------- results

    def imported(
        self,
        group_id: str,
        *,
        created_here: bool,
        profile: GroupProfileFacts | None = None,
    ) -> None:
        """The group exists at the provider (``created_here``: this process created it).

        ``profile``: what its ``group.import`` said (type, creation time, owner), for the
        group's members and unread counts.
        """
        before = self._settled.get(group_id)
        kept = before is not None and before.created_in == self._era
        if profile is None:
            profile = before.profile if before is not None else _NO_PROFILE
        self._settle(
            group_id,
            _Settled(GroupStatus.EXISTS, self._era if created_here or kept else 0, profile=profile),
        )

    def import_failed(self, group_id: str, code: int, info: str) -> None:
        """Its import failed: its messages fail with ``code`` unless another import works."""
        before = self._settled.get(group_id)
        if before is not None and before.status is GroupStatus.EXISTS:
            return
        self._settle(group_id, _Settled(GroupStatus.FAILED, 0, code, info))

    def seen_existing(self, group_id: str) -> None:
        """A provider call showed the group exists."""
        before = self._settled.get(group_id)
        if before is not None and before.status is GroupStatus.EXISTS:
            self._settled.move_to_end(group_id)
            return
        self._settle(group_id, _Settled(GroupStatus.EXISTS, 0))

    def forget_creations(self) -> None:
        """After a rebalance another process may have imported into our groups: trust nothing."""
        self._era += 1

    def _settle(self, group_id: str, settled: _Settled) -> None:
        self._settled[group_id] = settled
        self._settled.move_to_end(group_id)
        while len(self._settled) > self._max:
            self._settled.popitem(last=False)
        self._changed(group_id)

    # ---------------------------------------------------------------- waits

    def _changed(self, group_id: str) -> None:
        signal = self._signals.pop(group_id, None)
        if signal is not None:
            signal.event.set()

    async def wait(
        self, group_id: str, lane: Lane[Any, Any], seconds: float, *also: asyncio.Event
    ) -> None:
        """Until the group's state changes, ``seconds`` pass, the lane is abandoned, or ``also``."""
        signal = self._signals.get(group_id)
        if signal is None:
            signal = self._signals[group_id] = _Signal()
        signal.waiters += 1
        try:
            await lane.pause(seconds, signal.event, *also)
        finally:
            signal.waiters -= 1
            if signal.waiters == 0 and self._signals.get(group_id) is signal:
                del self._signals[group_id]
