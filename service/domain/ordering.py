# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Key-ordered lanes: work of one key runs strictly in order, different keys run at once.

``Lanes`` is the bookkeeping only: it queues items per key and says when a key needs a worker.
The runtime starts one worker per busy key; the worker takes batches until its lane is empty.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class Lanes(Generic[K, T]):
    """FIFO queues per key, with the set of keys that have a worker."""

    __slots__ = ("_active", "_queues", "_size")

    def __init__(self) -> None:
        self._queues: dict[K, deque[T]] = {}
        self._active: set[K] = set()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def push(self, key: K, item: T) -> bool:
        """Queue ``item`` behind the key's earlier items; True when the key needs a new worker."""
        self._queues.setdefault(key, deque()).append(item)
        self._size += 1
        if key in self._active:
            return False
        self._active.add(key)
        return True

    def peek(self, key: K) -> deque[T]:
        """The key's queue (read-only use)."""
        return self._queues.get(key, deque())

    def take(self, key: K, count: int) -> list[T]:
        """Remove and return the first ``count`` items of the key's queue."""
        queue = self._queues.get(key)
        if not queue:
            return []
        taken = [queue.popleft() for _ in range(min(count, len(queue)))]
        self._size -= len(taken)
        return taken

    def release(self, key: K) -> bool:
        """The key's worker is about to stop: True if it may (nothing queued), else keep going."""
        queue = self._queues.get(key)
        if queue:
            return False
        self._queues.pop(key, None)
        self._active.discard(key)
        return True

    def remove_where(self, predicate: Callable[[T], bool]) -> list[T]:
        """Remove every queued item matching ``predicate`` (partitions revoked); order kept."""
        removed: list[T] = []
        for queue in self._queues.values():
            kept = deque(item for item in queue if not predicate(item))
            removed.extend(item for item in queue if predicate(item))
            queue.clear()
            queue.extend(kept)
        self._size -= len(removed)
        return removed

    def keys(self) -> Iterator[K]:
        """Keys that currently have a worker."""
        return iter(tuple(self._active))
