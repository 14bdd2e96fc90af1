# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Where the engine sends what it decides: outcome events and dead letters (Kafka adapters)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from service.domain.events import InputRecord, OutcomeEvent


class OutcomeSink(Protocol):
    """Publishes outcomes and dead letters; returns only once the broker acknowledged them."""

    async def publish_outcomes(self, outcomes: Sequence[OutcomeEvent]) -> None:
        """Publish outcome events (key = group id) with acks=all."""
        ...

    async def publish_dead_letter(self, record: InputRecord, reason: str) -> None:
        """Publish ``record`` unchanged to the dead-letter topic with the error headers."""
        ...
