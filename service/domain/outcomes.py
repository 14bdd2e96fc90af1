# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Building the outcome event of each input event, bounded in size.

An outcome must never be larger than a broker takes (1 MB by default), whatever its event held:
ids and the reason are echoed from the input (a key and a group id of 300 KB each, named again
in ``error_info``, made an outcome three times its event). So:

- ``event_id`` and ``group_id`` over ``ID_MAX_CHARS`` (1,024) characters are cut to their
  first ``ID_KEPT_CHARS`` (1,000), then ``…`` and the first 16 hex digits of the SHA-256 of
  the whole UTF-8 value: two long ids stay distinct, and a consumer can compute the same;
- ``error_info`` over ``ERROR_INFO_MAX_CHARS`` (2,000) characters is cut, ending in ``…``.

An outcome is then at most a few kilobytes.
"""

from __future__ import annotations

import hashlib
from typing import Final

from service.domain.events import DetectedBy, EventType, OutcomeEvent, SourceRef, Status
from service.domain.validation import (
    Rejection,
    ValidAccountImport,
    ValidEvent,
    ValidGroupImport,
    ValidMemberImport,
    ValidUnreadSet,
)

ID_MAX_CHARS: Final = 1_024
ID_KEPT_CHARS: Final = 1_000
ID_DIGEST_HEX: Final = 16
ERROR_INFO_MAX_CHARS: Final = 2_000
ELLIPSIS: Final = "…"


def bounded_id(value: str) -> str:
    """``value``, or its first 1,000 characters, ``…`` and a digest of it all when too long."""
    if len(value) <= ID_MAX_CHARS:
        return value
    digest = hashlib.sha256(value.encode("utf-8", errors="surrogatepass")).hexdigest()
    return f"{value[:ID_KEPT_CHARS]}{ELLIPSIS}{digest[:ID_DIGEST_HEX]}"


def _bounded_group_id(value: str | None) -> str | None:
    return None if value is None else bounded_id(value)


def bounded_info(text: str) -> str:
    """``text`` cut to at most 2,000 characters (ending in ``…`` when cut)."""
    if len(text) <= ERROR_INFO_MAX_CHARS:
        return text
    return text[: ERROR_INFO_MAX_CHARS - len(ELLIPSIS)] + ELLIPSIS


def event_type(event: ValidEvent) -> EventType:
    """The type of a valid event."""
    if isinstance(event, ValidGroupImport):
        return EventType.GROUP_IMPORT
    if isinstance(event, ValidAccountImport):
        return EventType.ACCOUNT_IMPORT
    if isinstance(event, ValidMemberImport):
        return EventType.MEMBER_IMPORT
    if isinstance(event, ValidUnreadSet):
        return EventType.UNREAD_SET
    return EventType.MESSAGE_IMPORT


def _user_id(event: ValidEvent) -> str | None:
    if isinstance(event, ValidAccountImport | ValidMemberImport | ValidUnreadSet):
        return bounded_id(event.user_id)
    return None


def _group(event: ValidEvent, group_id: str | None = None) -> str | None:
    value = group_id or event.group_id
    return None if value is None else bounded_id(value)


def rejected(rejection: Rejection, *, provider: str, source: SourceRef) -> OutcomeEvent:
    """The outcome of an event the service refused before calling the provider."""
    return OutcomeEvent(
        type=rejection.event_type.result_type,
        event_id=bounded_id(rejection.event_id),
        group_id=_bounded_group_id(rejection.group_id),
        user_id=_bounded_group_id(rejection.user_id),
        provider=provider,
        status=Status.FAILED,
        error_code=rejection.code,
        error_info=bounded_info(rejection.info),
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
    unread_msg_num: int | None = None,
) -> OutcomeEvent:
    """The outcome of an event that is at the provider; the event's warnings join ``info``."""
    if isinstance(event, ValidGroupImport | ValidMemberImport) and event.warnings:
        info = "; ".join(part for part in (info, *event.warnings) if part)
    return OutcomeEvent(
        type=event_type(event).result_type,
        event_id=bounded_id(event.event_id),
        group_id=_group(event, group_id),
        user_id=_user_id(event),
        provider=provider,
        status=Status.IMPORTED,
        msg_seq=msg_seq,
        msg_time=msg_time,
        unread_msg_num=unread_msg_num,
        error_info=bounded_info(info),
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
        type=event_type(event).result_type,
        event_id=bounded_id(event.event_id),
        group_id=_group(event),
        user_id=_user_id(event),
        provider=provider,
        status=Status.FAILED,
        error_code=code,
        error_info=bounded_info(info),
        detected_by=detected_by,
        attempts=attempts,
        source=source,
    )
