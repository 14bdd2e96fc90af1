# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The committed offsets of partitions with their metadata, where the offset map rides.

aiokafka's ``AIOKafkaConsumer.committed()`` answers with the offset only. Its group coordinator
fetches both (``fetch_committed_offsets``: an OffsetFetch to the coordinator, retried while the
error is retriable), and ``committed()`` itself is built on it; this is the one place that
reaches for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError

FETCH_TIMEOUT_SECONDS = 10.0


async def committed_with_metadata(
    consumer: Any,  # noqa: ANN401 - aiokafka's consumer (untyped)
    tps: Iterable[TopicPartition],
    timeout: float = FETCH_TIMEOUT_SECONDS,
) -> dict[TopicPartition, tuple[int, str]] | None:
    """Offset and metadata committed for each of ``tps`` (absent: no commit); None on failure."""
    wanted = list(tps)
    if not wanted:
        return {}
    coordinator = getattr(consumer, "_coordinator", None)
    fetch = getattr(coordinator, "fetch_committed_offsets", None)
    if fetch is None:
        return None
    try:
        found = await asyncio.wait_for(fetch(wanted), timeout)
    except (KafkaError, IllegalStateError, TimeoutError):
        return None
    return {
        tp: (int(value.offset), str(value.metadata or ""))
        for tp, value in found.items()
        if value.offset >= 0
    }
