# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Decoding records into events and checking every documented rule before a provider call.

``decode_envelope`` decides whether a record is an event at all (if not: dead letter).
``validate_event`` applies the documented rules; a broken rule becomes a ``Rejection`` carrying the
provider's own code for that refusal and an ``info`` that names the offending field.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from service.domain import limits
from service.domain.events import (
    EventType,
    GroupImportEvent,
    GroupMessage,
    GroupProfile,
    InputRecord,
    MessageImportEvent,
)
from service.errors import BadInputError

MAX_JSON_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Envelope:
    """A record that is an event: a JSON object with a known ``type`` and an ``event_id``."""

    type: EventType
    event_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ValidGroupImport:
    """A ``group.import`` event that passed every rule."""

    event_id: str
    group: GroupProfile

    @property
    def group_id(self) -> str:
        """The group this event creates."""
        return self.group.GroupId


@dataclass(frozen=True, slots=True)
class ValidMessageImport:
    """A ``group.message.import`` event that passed every rule; ``Random`` is always set."""

    event_id: str
    group_id: str
    topic_id: str | None
    message: GroupMessage

    @property
    def random(self) -> int:
        """The message's Random (the exporter's, or derived from ``event_id``)."""
        assert self.message.Random is not None  # noqa: S101 - set by validate_event
        return self.message.Random


ValidEvent = ValidGroupImport | ValidMessageImport


@dataclass(frozen=True, slots=True)
class Rejection:
    """A known event that breaks a documented rule: a failed outcome, no provider call."""

    event_type: EventType
    event_id: str
    group_id: str | None
    code: int
    info: str


@dataclass(frozen=True, slots=True)
class Rules:
    """The limits that depend on settings."""

    message_size_limit: int = limits.MESSAGE_SIZE_LIMIT_2024


def _reject_constant(name: str) -> float:
    raise ValueError(name)


def _depth(value: Any, depth: int = 0) -> int:  # noqa: ANN401 - any JSON value
    if depth > MAX_JSON_DEPTH:
        return depth
    if isinstance(value, dict):
        return max((_depth(v, depth + 1) for v in value.values()), default=depth + 1)
    if isinstance(value, list):
        return max((_depth(v, depth + 1) for v in value), default=depth + 1)
    return depth


def _bracket_count(text: str) -> int:
    return text.count("{") + text.count("[")


def decode_envelope(value: bytes | None) -> Envelope:  # noqa: C901 - one check per refusal
    """Decode a record value into an ``Envelope`` or raise ``BadInputError`` saying why."""
    if value is None:
        raise BadInputError("record has no value (tombstone)")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"value is not UTF-8 (byte {exc.start})") from exc
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise BadInputError("value is JSON nested too deeply") from exc
    except ValueError as exc:
        raise BadInputError(f"value is not JSON: {str(exc)[:120]}") from exc
    if not isinstance(document, dict):
        raise BadInputError(f"value is JSON but not an object ({type(document).__name__})")
    if _bracket_count(text) > MAX_JSON_DEPTH and _depth(document) > MAX_JSON_DEPTH:
        raise BadInputError(f"value is JSON nested deeper than {MAX_JSON_DEPTH} levels")
    event_type = document.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise BadInputError("event has no 'type'")
    event_id = document.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise BadInputError("event has no 'event_id'")
    if not limits.encodable(event_id):
        raise BadInputError("event_id is not valid Unicode (a lone surrogate escape)")
    try:
        known = EventType(event_type)
    except ValueError as exc:
        raise BadInputError(f"unknown event type {event_type[:80]!r}") from exc
    return Envelope(type=known, event_id=event_id, payload=document)


def derive_random(event_id: str) -> int:
    """A message Random derived from ``event_id``: a re-sent event carries the same one."""
    return int.from_bytes(hashlib.sha256(event_id.encode("utf-8")).digest()[:4], "big")


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "event"
    return f"{location}: {first['msg']}"


def _group_id_hint(payload: dict[str, Any], event_type: EventType) -> str | None:
    if event_type is EventType.GROUP_IMPORT:
        group = payload.get("group")
        value = group.get("GroupId") if isinstance(group, dict) else None
    else:
        value = payload.get("group_id")
    return value if isinstance(value, str) else None


def _key_text(key: bytes | None) -> str | None:
    if key is None:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _unicode_problem(prefix: str, model: GroupProfile | GroupMessage) -> str | None:
    for name, value in model:
        if isinstance(value, str) and not limits.encodable(value):
            return f"{prefix}.{name} is not valid Unicode (a lone surrogate escape)"
    return None


def _check_group(group: GroupProfile, now: int) -> tuple[int, str] | None:  # noqa: C901, PLR0911, PLR0912 - one branch per documented rule
    if group.Type not in limits.GROUP_TYPES:
        allowed = ", ".join(sorted(limits.GROUP_TYPES - {limits.UNSUPPORTED_GROUP_TYPE}))
        return limits.INVALID_PARAMETER, f"group.Type {group.Type!r} is not one of {allowed}"
    if group.Type == limits.UNSUPPORTED_GROUP_TYPE:
        return limits.NO_PERMISSION, "group.Type AVChatRoom: audio-video groups cannot be imported"
    group_id_bytes = limits.utf8_len(group.GroupId)
    if group_id_bytes == 0 or group_id_bytes > limits.GROUP_ID_MAX_BYTES:
        return (
            limits.INVALID_GROUP_ID,
            f"group.GroupId is {group_id_bytes} bytes; 1 to {limits.GROUP_ID_MAX_BYTES} allowed",
        )
    if group.GroupId.startswith(limits.GENERATED_GROUP_ID_PREFIX):
        return (
            limits.INVALID_GROUP_ID,
            f"group.GroupId may not start with {limits.GENERATED_GROUP_ID_PREFIX!r}",
        )
    if not group.Name:
        return limits.INVALID_PARAMETER, "group.Name is empty"
    for field, value, maximum in (
        ("Name", group.Name, limits.NAME_MAX_BYTES),
        ("Introduction", group.Introduction, limits.INTRODUCTION_MAX_BYTES),
        ("Notification", group.Notification, limits.NOTIFICATION_MAX_BYTES),
        ("FaceUrl", group.FaceUrl, limits.FACE_URL_MAX_BYTES),
    ):
        if value is not None and limits.utf8_len(value) > maximum:
            size = limits.utf8_len(value)
            return limits.INVALID_PARAMETER, f"group.{field} is {size} bytes; at most {maximum}"
    if group.MaxMemberCount is not None:
        maximum = (
            limits.COMMUNITY_MAX_MEMBER_COUNT
            if group.Type == "Community"
            else limits.MAX_MEMBER_COUNT
        )
        if not 1 <= group.MaxMemberCount <= maximum:
            return (
                limits.INVALID_PARAMETER,
                f"group.MaxMemberCount {group.MaxMemberCount} is outside 1..{maximum}",
            )
    if group.ApplyJoinOption is not None and group.ApplyJoinOption not in limits.APPLY_JOIN_OPTIONS:
        return (
            limits.INVALID_PARAMETER,
            f"group.ApplyJoinOption {group.ApplyJoinOption!r} is not one of "
            + ", ".join(sorted(limits.APPLY_JOIN_OPTIONS)),
        )
    if group.CreateTime is not None and not 0 <= group.CreateTime <= now:
        return limits.INVALID_PARAMETER, f"group.CreateTime {group.CreateTime} is not in the past"
    if group.SupportTopic not in (None, 0, 1):
        return limits.INVALID_PARAMETER, "group.SupportTopic must be 0 or 1"
    if group.SupportTopic == 1 and group.Type != "Community":
        return limits.INVALID_PARAMETER, "group.SupportTopic is only valid for Community groups"
    return None


_REQUIRED_CONTENT = {
    "TIMTextElem": ("Text", str),
    "TIMFaceElem": ("Index", int),
    "TIMLocationElem": ("Latitude", float),
    "TIMCustomElem": ("Data", str),
}


def _check_message(  # noqa: C901, PLR0911 - one branch per documented rule
    message: GroupMessage, raw_body: list[Any], now: int, rules: Rules
) -> tuple[int, str] | None:
    if not message.From_Account:
        return limits.INVALID_PARAMETER, "message.From_Account is empty"
    if message.SendTime <= 0:
        return limits.INVALID_PARAMETER, f"message.SendTime {message.SendTime} is not a time"
    if message.SendTime > now:
        return limits.INVALID_PARAMETER, f"message.SendTime {message.SendTime} is in the future"
    if message.Random is not None and not 0 <= message.Random <= limits.RANDOM_MAX:
        return limits.INVALID_PARAMETER, "message.Random is not a 32-bit unsigned integer"
    if not message.MsgBody:
        return limits.INVALID_PARAMETER, "message.MsgBody is empty"
    for index, element in enumerate(message.MsgBody):
        if element.MsgType not in limits.MESSAGE_TYPES:
            return (
                limits.INVALID_PARAMETER,
                (
                    f"message.MsgBody[{index}].MsgType {element.MsgType!r} is not supported "
                    f"(supported: {', '.join(sorted(limits.MESSAGE_TYPES))})"
                ),
            )
        field, kind = _REQUIRED_CONTENT[element.MsgType]
        value = element.MsgContent.get(field)
        valid = (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if kind is float
            else isinstance(value, kind) and not isinstance(value, bool)
        )
        if not valid:
            return (
                limits.INVALID_PARAMETER,
                f"message.MsgBody[{index}].MsgContent.{field} is missing or not a {kind.__name__}",
            )
    try:
        size = limits.message_body_size(raw_body)
    except UnicodeEncodeError:
        return limits.INVALID_PARAMETER, "message.MsgBody is not valid Unicode (a lone surrogate)"
    except ValueError:
        return limits.INVALID_PARAMETER, "message.MsgBody holds a number out of range (Infinity)"
    if size > rules.message_size_limit:
        return (
            limits.MESSAGE_TOO_LARGE,
            f"message.MsgBody is {size} bytes; at most {rules.message_size_limit}",
        )
    return None


def validate_event(  # noqa: C901, PLR0911 - one return per refusal
    record: InputRecord, envelope: Envelope, *, now: int, rules: Rules
) -> ValidEvent | Rejection:
    """Apply every documented rule to an event; the result is importable or a ``Rejection``."""
    hint = _group_id_hint(envelope.payload, envelope.type)

    def reject(code: int, info: str) -> Rejection:
        return Rejection(envelope.type, envelope.event_id, hint, code, info)

    if hint is not None and not limits.encodable(hint):
        # the outcome is keyed by the group id: keep the unencodable one out of it
        return Rejection(
            envelope.type,
            envelope.event_id,
            None,
            limits.INVALID_GROUP_ID,
            "the group id is not valid Unicode (a lone surrogate escape)",
        )

    model = GroupImportEvent if envelope.type is EventType.GROUP_IMPORT else MessageImportEvent
    try:
        event = model.model_validate(envelope.payload)
    except ValidationError as exc:
        return reject(limits.INVALID_PARAMETER, _describe(exc))
    key = _key_text(record.key)
    if isinstance(event, GroupImportEvent):
        if key != event.group.GroupId:
            return reject(
                limits.INVALID_PARAMETER,
                f"record key {key!r} does not equal group.GroupId {event.group.GroupId!r}",
            )
        unicode_problem = _unicode_problem("group", event.group)
        if unicode_problem:
            return reject(limits.INVALID_PARAMETER, unicode_problem)
        problem = _check_group(event.group, now)
        if problem:
            return reject(*problem)
        return ValidGroupImport(event_id=event.event_id, group=event.group)
    assert isinstance(event, MessageImportEvent)  # noqa: S101 - the model chosen above
    if not event.group_id:
        return reject(limits.INVALID_GROUP_ID, "group_id is empty")
    if key != event.group_id:
        return reject(
            limits.INVALID_PARAMETER,
            f"record key {key!r} does not equal group_id {event.group_id!r}",
        )
    unicode_problem = _unicode_problem("message", event.message) or (
        None
        if event.topic_id is None or limits.encodable(event.topic_id)
        else "topic_id is not valid Unicode (a lone surrogate escape)"
    )
    if unicode_problem:
        return reject(limits.INVALID_PARAMETER, unicode_problem)
    raw_body = envelope.payload["message"]["MsgBody"]  # validated above: a list of objects
    problem = _check_message(event.message, raw_body, now, rules)
    if problem:
        return reject(*problem)
    message = event.message
    if message.Random is None:
        message = message.model_copy(update={"Random": derive_random(event.event_id)})
    return ValidMessageImport(
        event_id=event.event_id, group_id=event.group_id, topic_id=event.topic_id, message=message
    )
