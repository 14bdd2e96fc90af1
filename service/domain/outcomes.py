# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Building the outcome event of each input event."""

from __future__ import annotations

from service.domain.events import DetectedBy, EventType, OutcomeEvent, SourceRef, Status
from service.domain.validation import Rejection, ValidEvent, ValidGroupImport


def _event_type(event: ValidEvent) -> EventType:
    return (
        EventType.GROUP_IMPORT if isinstance(event, ValidGroupImport) else EventType.MESSAGE_IMPORT
    )


def rejected(rejection: Rejection, *, provider: str, source: SourceRef) -> OutcomeEvent:
    """The outcome of an event the service refused before calling the provider."""
    return OutcomeEvent(
        type=rejection.event_type.result_type,
        event_id=rejection.event_id,
        group_id=rejection.group_id,
        provider=provider,
        status=Status.FAILED,
        error_code=rejection.code,
        error_info=rejection.info,
        detected_by=DetectedBy.SERVICE,
        attempts=0,
        source=source,
    )


def imported(  # noqa: PLR0913 - one field per outcome field
    event: ValidEvent,
    *,
    provider: str,
    source: SourceRef,
    attempts: int,
    group_id: str | None = None,
    msg_seq: int | None = None,
    msg_time: int | None = None,
    detected_by: DetectedBy = DetectedBy.PROVIDER,
    info: str = "",
) -> OutcomeEvent:
    """The outcome of an event that is at the provider; the event's warnings join ``info``."""
    if isinstance(event, ValidGroupImport) and event.warnings:
        info = "; ".join(part for part in (info, *event.warnings) if part)
    return OutcomeEvent(
        type=_event_type(event).result_type,
        event_id=event.event_id,
        group_id=group_id or event.group_id,
        provider=provider,
        status=Status.IMPORTED,
        msg_seq=msg_seq,
        msg_time=msg_time,
        error_info=info,
        detected_by=detected_by,
        attempts=attempts,
        source=source,
    )


def failed(  # noqa: PLR0913 - one field per outcome field
    event: ValidEvent,
    *,
    provider: str,
    source: SourceRef,
    attempts: int,
    code: int,
    info: str,
    detected_by: DetectedBy = DetectedBy.PROVIDER,
) -> OutcomeEvent:
    """The outcome of an event the provider refused (or that could not be imported)."""
    return OutcomeEvent(
        type=_event_type(event).result_type,
        event_id=event.event_id,
        group_id=event.group_id,
        provider=provider,
        status=Status.FAILED,
        error_code=code,
        error_info=info,
        detected_by=detected_by,
        attempts=attempts,
        source=source,
    )
