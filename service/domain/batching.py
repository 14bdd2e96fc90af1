# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Which queued messages of one group go together in one provider call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Batchable(Protocol):
    """Anything with the topic a message belongs to (one call imports into one topic)."""

    @property
    def topic_id(self) -> str | None:
        """The topic of the message (None: the group itself)."""


def batch_size(queue: Sequence[Batchable], limit: int) -> int:
    """How many items from the head of ``queue`` go in the next call.

    The head and the consecutive items after it that share its topic, at most ``limit``. Order is
    never changed: a batch is always a prefix of the queue.
    """
    if not queue or limit < 1:
        return 0
    topic = queue[0].topic_id
    size = 1
    while size < min(limit, len(queue)) and queue[size].topic_id == topic:
        size += 1
    return size
