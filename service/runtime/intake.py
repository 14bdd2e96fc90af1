# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Intake: what one record is, decided before anything is queued or called.

A record is a dead letter (not an event at all), a ``Rejection`` (a known event that breaks a
documented rule of the provider) or a valid event to import. Nothing here waits or publishes.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from service.domain.events import EventType, InputRecord
from service.domain.validation import (
    Rejection,
    Rules,
    ValidEvent,
    ValidMessageImport,
    decode_envelope,
    validate_event,
)
from service.errors import BadInputError
from service.providers.base import ChatProvider

log = structlog.get_logger("service.engine")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record that is not an event: it goes to the dead-letter topic unchanged."""

    reason: str


def classify(
    record: InputRecord, *, provider: ChatProvider, rules: Rules, now: int
) -> DeadLetter | Rejection | ValidEvent:
    """Decode and check one record against the provider's documented rules."""
    try:
        envelope = decode_envelope(record.value)
        checked = validate_event(record, envelope, now=now, rules=rules)
        if isinstance(checked, ValidMessageImport):
            refusal = provider.check_element_support(checked.message)
            if refusal is not None:
                return Rejection(
                    EventType.MESSAGE_IMPORT, checked.event_id, checked.group_id, *refusal
                )
    except BadInputError as exc:
        return DeadLetter(exc.reason)
    except Exception as exc:
        log.exception(
            "record could not be checked; sent to the dead-letter topic",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )
        return DeadLetter(f"the service could not check this record ({type(exc).__name__})")
    return checked
