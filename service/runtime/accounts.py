# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Whether accounts are still being imported here, for calls refused for a missing account.

Accounts come first in a migration and every later import names them; but they have no order of
their own, so a member or a ZIM message may reach the provider before its account's import has.
Such a call waits (bounded) while this process still has account imports queued or in flight, or
has not read the groups topic (where accounts are published) to its end. The counts are kept by
the account lanes as their items are queued and finished.
"""

from __future__ import annotations

import asyncio
from typing import Any

from service.runtime.lanes import Lane


class AccountRegistry:
    """Account imports pending here, and waits that end when that changes."""

    __slots__ = ("_changed", "_groups_read", "_pending")

    def __init__(self) -> None:
        self._pending = 0
        self._groups_read = True
        self._changed = asyncio.Event()

    @property
    def pending(self) -> int:
        """Account events queued or in a call here."""
        return self._pending

    @property
    def importing(self) -> bool:
        """True while accounts may still be on their way to the provider through this process."""
        return self._pending > 0 or not self._groups_read

    def queued(self, count: int = 1) -> None:
        """``count`` account events were queued."""
        self._pending += count

    def finished(self, count: int = 1) -> None:
        """``count`` account events ended (imported, failed, or dropped at a revocation)."""
        self._pending = max(0, self._pending - count)
        self._signal()

    def groups_topic_read(self, *, caught_up: bool) -> None:
        """Whether the groups topic (where accounts are published) is read to its end here."""
        if caught_up != self._groups_read:
            self._groups_read = caught_up
            self._signal()

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait(self, lane: Lane[Any, Any], seconds: float) -> None:
        """Until account imports here change, ``seconds`` pass, or the lane is abandoned."""
        await lane.pause(seconds, self._changed)
