# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Offset watermarks: which offset of a partition may be committed.

Records of one partition finish out of order (different groups are in flight at once). The
committable position is the lowest offset whose record has not finished: everything below it has
its outcome (or dead letter) published. Committing it never skips an unfinished record.
"""

from __future__ import annotations

from collections import deque


class OffsetTracker:
    """Tracks the records of one partition from the moment they are read until they finish."""

    __slots__ = ("_done", "_next", "_pending")

    def __init__(self) -> None:
        self._pending: deque[int] = deque()
        self._done: set[int] = set()
        self._next: int | None = None

    def __repr__(self) -> str:
        return f"OffsetTracker(pending={len(self._pending)}, watermark={self.watermark})"

    def read(self, offset: int) -> bool:
        """Record that ``offset`` was read; False (and nothing tracked) for one read before.

        Offsets of a partition arrive ascending, with gaps (compaction, transaction markers). An
        offset at or below one already read is the same record delivered again: it is already
        tracked, and tracking it twice would let its second finish move the watermark.
        """
        if self._next is not None and offset < self._next:
            return False
        self._pending.append(offset)
        self._next = offset + 1
        return True

    def finish(self, offset: int) -> None:
        """Record that ``offset`` has its outcome published."""
        if not self._pending or offset < self._pending[0] or offset in self._done:
            return
        self._done.add(offset)
        while self._pending and self._pending[0] in self._done:
            self._done.discard(self._pending.popleft())

    @property
    def watermark(self) -> int | None:
        """The offset to commit (the next one to read after a restart); None before any read."""
        if self._pending:
            return self._pending[0]
        return self._next

    @property
    def next_offset(self) -> int | None:
        """The offset after the last one read (None before any read)."""
        return self._next

    def is_unfinished(self, offset: int) -> bool:
        """True for an offset read and not finished."""
        return (
            bool(self._pending)
            and self._pending[0] <= offset
            and self._next is not None
            and offset < self._next
            and offset not in self._done
        )

    def finished_above(self) -> list[int]:
        """The offsets finished above the watermark, ascending (out of order finishes)."""
        return sorted(self._done)

    def read_above(self) -> list[tuple[int, bool]]:
        """Every offset read from the watermark on, ascending, and whether it is finished."""
        return [(offset, offset in self._done) for offset in self._pending]

    @property
    def unfinished(self) -> int:
        """How many records read from this partition have not finished."""
        return len(self._pending) - len(self._done)
