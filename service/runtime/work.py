# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""One valid event on its way through the service, with its claim on its partition."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from service.domain.events import InputRecord
from service.domain.ledger import Ticket
from service.domain.validation import ValidEvent, ValidMessageImport


@dataclass(slots=True, eq=False)
class WorkItem:
    """A valid event waiting for (or in) a provider call, until its outcome is published."""

    record: InputRecord
    event: ValidEvent
    ticket: Ticket
    attempts: int = 0  # provider calls made for it, across history checks
    crashes: int = 0  # times the service failed unexpectedly while it was in hand
    finished: bool = False  # its outcome is published

    @property
    def doubtful(self) -> bool:
        """An earlier owner of its partition may have handed it to the provider."""
        return self.ticket.doubtful

    @property
    def topic_id(self) -> str | None:
        """The topic a message goes to (None for groups and topic-less messages)."""
        return self.event.topic_id if isinstance(self.event, ValidMessageImport) else None

    @property
    def batch_key(self) -> Hashable:
        """What items must share to go in one call: kind, and a message's topic and flag."""
        event = self.event
        if isinstance(event, ValidMessageImport):
            return ("message", event.topic_id, event.recent_contact_flag)
        return type(event).__name__
