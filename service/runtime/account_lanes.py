# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Account lanes: the ``account.import`` events of one partition, handed to the batcher.

Accounts have no order among themselves: a partition's account lane only takes what is queued
and hands it to the account batcher, which imports the accounts of every lane and partition in
calls of up to the per-call maximum, and waits until they are published (or dropped because the
partition was handed back). Abandoning the lane (revocation) stops the wait; the batcher drops
the items itself.
"""

from __future__ import annotations

from typing import Any

from service.runtime.account_batcher import AccountBatcher
from service.runtime.lanes import Lane


class AccountImports:
    """Runs account lanes."""

    __slots__ = ("_batcher",)

    def __init__(self, batcher: AccountBatcher) -> None:
        self._batcher = batcher

    async def run(self, lane: Lane[Any, Any]) -> None:
        """Hand the lane's accounts to the batcher, as they come, until none is left."""
        while lane.queue:
            items = lane.take(len(lane.queue))
            await lane.interruptible(self._batcher.submit(items))
            lane.settle()
