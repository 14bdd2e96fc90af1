# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The headers a dead-letter record carries on top of the original ones."""

from __future__ import annotations

from service.domain.events import InputRecord

MAX_REASON_BYTES = 1_000


def dead_letter_headers(record: InputRecord, reason: str) -> list[tuple[str, bytes]]:
    """Original headers, then ``error.reason``, ``.topic``, ``.partition`` and ``.offset``."""
    return [
        *record.headers,
        ("error.reason", reason.encode("utf-8")[:MAX_REASON_BYTES]),
        ("error.topic", record.topic.encode("utf-8")),
        ("error.partition", str(record.partition).encode("ascii")),
        ("error.offset", str(record.offset).encode("ascii")),
    ]
