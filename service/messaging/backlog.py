# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The records left on each input partition index, as the broker tells every replica alike.

The backlog of index p is, summed over the input topics, partition p's log-end offset less the
consumer group's committed offset, less the records above it that the offset map in the commit's
metadata says are done (``service.domain.offset_map``). Every replica asks the broker the same
question at the same wall-clock instants, so their views agree closely enough to split the app's
call budget by them (``ratelimit.backlog_share``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from aiokafka import TopicPartition

from service.domain.offset_map import Fate, decode
from service.messaging.committed import committed_with_metadata

REFRESH_SECONDS = 1.5


def next_refresh(now: float, every: float = REFRESH_SECONDS) -> float:
    """The next wall-clock instant at which every replica refreshes (a multiple of ``every``)."""
    return (now // every + 1) * every


def wall_clock() -> float:
    """The wall clock refreshes are aligned to (replicas share it, monotonic clocks do not)."""
    return time.time()


def records_left(end: int, committed: int, metadata: str) -> int:
    """Records from ``committed`` to ``end`` that the offset map does not say are done."""
    left = max(0, end - committed)
    offset_map = decode(metadata, committed)
    if offset_map is None:
        return left
    done = sum(
        min(start + length, end) - start
        for start, fate, length in offset_map.runs_from(committed)
        if fate is Fate.DONE and start < end
    )
    return max(0, left - done)


class BacklogProbe:
    """Reads the committed offsets (with their maps) and the partitions' ends, per index."""

    async def backlogs(
        self,
        consumer: Any,  # noqa: ANN401 - aiokafka's consumer (untyped)
        topics: Sequence[str],
        index_count: int,
    ) -> dict[int, int] | None:
        """Records left per partition index (input topics summed); None when not readable."""
        tps = [TopicPartition(topic, p) for topic in topics for p in range(index_count)]
        committed = await committed_with_metadata(consumer, tps)
        if committed is None:
            return None
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        left: dict[int, int] = defaultdict(int)
        for tp in tps:
            offset, metadata = committed.get(tp, (starts.get(tp, 0), ""))
            left[tp.partition] += records_left(ends.get(tp, 0), offset, metadata)
        return dict(left)
