# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Which queued messages of one group go together in one provider call."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Protocol


class Batchable(Protocol):
    """Anything that says which call it may share: items with equal keys may go together.

    A message's key is its kind, topic and RecentContactFlag (one call imports into one topic,
    with one flag); a member's is its kind.
    """

    @property
    def batch_key(self) -> Hashable:
        """What an item must share with the head of the queue to go in the same call."""


def batch_size(queue: Sequence[Batchable], limit: int) -> int:
    """How many items from the head of ``queue`` go in the next call.

    The head and the consecutive items after it that share its key, at most ``limit``. Order is
    never changed: a batch is always a prefix of the queue.
    """
    if not queue or limit < 1:
        return 0
    key = queue[0].batch_key
    size = 1
    while size < min(limit, len(queue)) and queue[size].batch_key == key:
        size += 1
    return size
