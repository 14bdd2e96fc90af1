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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from service.domain import limits
from service.domain.events import (
    Account,
    AccountImportEvent,
    EventType,
    GroupImportEvent,
    GroupMember,
    GroupMessage,
    GroupProfile,
    InputRecord,
    MemberImportEvent,
    MemberUnread,
    MessageImportEvent,
    UnreadSetEvent,
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
    # what the imported outcome's error_info should say although the import is valid
    warnings: tuple[str, ...] = ()

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
    # the event's RecentContactFlag (None: the provider's default setting)
    recent_contact_flag: int | None = None

    @property
    def random(self) -> int:
        """The message's Random (the exporter's, or derived from ``event_id``)."""
        assert self.message.Random is not None  # noqa: S101 - set by validate_event
        return self.message.Random


@dataclass(frozen=True, slots=True)
class ValidAccountImport:
    """An ``account.import`` event that passed every rule."""

    event_id: str
    account: Account

    @property
    def group_id(self) -> None:
        """Accounts belong to no group."""
        return None

    @property
    def user_id(self) -> str:
        """The account this event creates."""
        return self.account.UserID


@dataclass(frozen=True, slots=True)
class ValidMemberImport:
    """A ``group.member.import`` event that passed every rule."""

    event_id: str
    group_id: str
    member: GroupMember
    # what the imported outcome's error_info should say (a field the provider does not take)
    warnings: tuple[str, ...] = ()

    @property
    def user_id(self) -> str:
        """The member this event adds."""
        return self.member.Member_Account


@dataclass(frozen=True, slots=True)
class ValidUnreadSet:
    """A ``group.member.unread`` event that passed every rule."""

    event_id: str
    group_id: str
    member: MemberUnread

    @property
    def user_id(self) -> str:
        """The member whose unread count this event sets."""
        return self.member.Member_Account


ValidEvent = (
    ValidGroupImport | ValidMessageImport | ValidAccountImport | ValidMemberImport | ValidUnreadSet
)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A known event that breaks a documented rule: a failed outcome, no provider call."""

    event_type: EventType
    event_id: str
    group_id: str | None
    code: int
    info: str
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Codes:
    """The codes a provider refuses with; the service uses the same ones for its own refusals."""

    invalid_parameter: int = limits.INVALID_PARAMETER
    invalid_group_id: int = limits.INVALID_GROUP_ID
    no_permission: int = limits.NO_PERMISSION
    message_too_large: int = limits.MESSAGE_TOO_LARGE
    # the account APIs' own code for an invalid parameter (Tencent 70402)
    account_invalid_parameter: int = limits.ACCOUNT_INVALID_PARAMETER


@dataclass(frozen=True, slots=True)
class Rules:
    """One provider's documented limits and the codes of its refusals.

    Each adapter provides its own (``ChatProvider.rules``); ``Rules()`` is Tencent's, the
    2024 edition. A limit of ``None`` is not checked here: the provider has no such field (it
    is not sent) or the adapter measures it on what it sends (ZIM's message size).
    """

    provider: str = "tencent"
    codes: Codes = field(default_factory=Codes)
    # --- messages
    message_size_limit: int | None = limits.MESSAGE_SIZE_LIMIT_2024
    # Tencent: "earlier than the current time" (a SendTime equal to now is refused); ZIM: "not
    # later than the current time".
    send_time_before_now: bool = True
    # ZIM: SendMessageTime no earlier than now minus the plan's retention (None: no limit)
    retention_seconds: int | None = None
    retention_setting: str = ""
    topics: bool = True
    # --- groups
    group_id_max_bytes: int = limits.GROUP_ID_MAX_BYTES
    reserved_group_id_prefix: str = limits.GENERATED_GROUP_ID_PREFIX
    # a group ID of this form is the provider's own and is allowed for Community groups
    community_group_id_prefix: str | None = limits.COMMUNITY_GROUP_ID_PREFIX
    # characters user and group IDs may hold (None: any)
    id_characters: frozenset[str] | None = None
    owner_required: bool = False
    unsupported_group_types: frozenset[str] = frozenset({limits.UNSUPPORTED_GROUP_TYPE})
    name_max_bytes: int = limits.NAME_MAX_BYTES
    introduction_max_bytes: int | None = limits.INTRODUCTION_MAX_BYTES
    notification_max_bytes: int = limits.NOTIFICATION_MAX_BYTES
    face_url_max_bytes: int = limits.FACE_URL_MAX_BYTES
    max_member_count: int | None = limits.MAX_MEMBER_COUNT
    community_max_member_count: int | None = limits.COMMUNITY_MAX_MEMBER_COUNT
    apply_join_options: frozenset[str] | None = limits.APPLY_JOIN_OPTIONS
    # import_group: ApplyJoinOption "is not supported by community groups"
    apply_join_for_community: bool = False
    support_topic: bool = True
    # import_group: without CreateTime "the default creation time is the request time", and
    # import_group_msg refuses messages not later than the group's creation (10004)
    missing_create_time_warning: str | None = (
        "group.CreateTime is not set: the provider takes the import time as the group's "
        "creation time and refuses (10004) every message sent before it"
    )
    attributes_max: int | None = None
    attribute_key_max_bytes: int | None = None
    attribute_value_max_bytes: int | None = None
    # codes with which the provider refuses a whole call for what one of its messages holds
    isolatable_codes: frozenset[int] = frozenset(
        {limits.INVALID_PARAMETER, limits.CONTENT_TOO_LONG}
    )
    # --- messages: RecentContactFlag is a Tencent field (ZIM: not sent, not checked)
    recent_contact_flag: bool = True
    # --- accounts
    user_id_max_bytes: int = limits.USER_ID_MAX_BYTES
    nick_max_bytes: int | None = None
    avatar_max_bytes: int | None = None
    # --- members and unread counts
    # the roles a member may be imported with (None: the provider imports no role, the outcome
    # warns instead)
    member_roles: frozenset[str] | None = limits.MEMBER_ROLES
    # whether a member's UnreadMsgNum is imported with it (False: the outcome warns instead)
    member_unread: bool = True
    # why the provider cannot set unread counts (None: it can)
    unread_refusal: str | None = None


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
    if event_type is EventType.ACCOUNT_IMPORT:
        return None
    if event_type is EventType.GROUP_IMPORT:
        group = payload.get("group")
        value = group.get("GroupId") if isinstance(group, dict) else None
    else:
        value = payload.get("group_id")
    return value if isinstance(value, str) else None


def _user_id_hint(payload: dict[str, Any], event_type: EventType) -> str | None:
    if event_type is EventType.ACCOUNT_IMPORT:
        inner, field_name = payload.get("account"), "UserID"
    elif event_type in {EventType.MEMBER_IMPORT, EventType.UNREAD_SET}:
        inner, field_name = payload.get("member"), "Member_Account"
    else:
        return None
    value = inner.get(field_name) if isinstance(inner, dict) else None
    return value if isinstance(value, str) and limits.encodable(value) else None


def _key_text(key: bytes | None) -> str | None:
    if key is None:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _unicode_problem(
    prefix: str, model: GroupProfile | GroupMessage | Account | GroupMember | MemberUnread
) -> str | None:
    for name, value in model:
        if isinstance(value, str) and not limits.encodable(value):
            return f"{prefix}.{name} is not valid Unicode (a lone surrogate escape)"
    return None


Problem = tuple[int, str] | None


def _bad_character(value: str, rules: Rules) -> str | None:
    if rules.id_characters is None:
        return None
    return next((char for char in value if char not in rules.id_characters), None)


def _check_group_id(group: GroupProfile, rules: Rules) -> Problem:
    code = rules.codes.invalid_group_id
    group_id_bytes = limits.utf8_len(group.GroupId)
    if group_id_bytes == 0 or group_id_bytes > rules.group_id_max_bytes:
        return (
            code,
            f"group.GroupId is {group_id_bytes} bytes; 1 to {rules.group_id_max_bytes} allowed",
        )
    community_form = (
        rules.community_group_id_prefix is not None
        and group.Type == "Community"
        and group.GroupId.startswith(rules.community_group_id_prefix)
    )
    if group.GroupId.startswith(rules.reserved_group_id_prefix) and not community_form:
        allowed = (
            f" (a Community group's may start with {rules.community_group_id_prefix!r})"
            if rules.community_group_id_prefix is not None
            else ""
        )
        return code, (
            f"group.GroupId may not start with {rules.reserved_group_id_prefix!r}{allowed}"
        )
    if (bad := _bad_character(group.GroupId, rules)) is not None:
        return code, f"group.GroupId holds {bad!r}, a character {rules.provider} IDs cannot hold"
    return None


def _check_owner(group: GroupProfile, rules: Rules) -> Problem:
    code = rules.codes.invalid_parameter
    if group.Owner_Account is None or not group.Owner_Account:
        if rules.owner_required:
            return code, f"group.Owner_Account is missing; {rules.provider} requires a group owner"
        return None
    if (bad := _bad_character(group.Owner_Account, rules)) is not None:
        return code, (
            f"group.Owner_Account holds {bad!r}, a character {rules.provider} user IDs cannot hold"
        )
    return None


def _check_texts(group: GroupProfile, rules: Rules) -> Problem:
    if not group.Name:
        return rules.codes.invalid_parameter, "group.Name is empty"
    for name, value, maximum in (
        ("Name", group.Name, rules.name_max_bytes),
        ("Introduction", group.Introduction, rules.introduction_max_bytes),
        ("Notification", group.Notification, rules.notification_max_bytes),
        ("FaceUrl", group.FaceUrl, rules.face_url_max_bytes),
    ):
        if value is not None and maximum is not None and limits.utf8_len(value) > maximum:
            size = limits.utf8_len(value)
            return rules.codes.invalid_parameter, f"group.{name} is {size} bytes; at most {maximum}"
    return None


def _check_attributes(group: GroupProfile, rules: Rules) -> Problem:
    items = group.AppDefinedData or []
    code = rules.codes.invalid_parameter
    if rules.attributes_max is not None and len(items) > rules.attributes_max:
        return code, f"group.AppDefinedData has {len(items)} items; at most {rules.attributes_max}"
    for index, item in enumerate(items):
        for name, value, maximum in (
            ("Key", item.Key, rules.attribute_key_max_bytes),
            ("Value", item.Value, rules.attribute_value_max_bytes),
        ):
            if maximum is not None and limits.utf8_len(value) > maximum:
                size = limits.utf8_len(value)
                return code, (
                    f"group.AppDefinedData[{index}].{name} is {size} bytes; at most {maximum}"
                )
    return None


def _check_membership(group: GroupProfile, rules: Rules) -> Problem:
    code = rules.codes.invalid_parameter
    community = group.Type == "Community"
    maximum = rules.community_max_member_count if community else rules.max_member_count
    if (
        group.MaxMemberCount is not None
        and maximum is not None
        and not 1 <= group.MaxMemberCount <= maximum
    ):
        return code, f"group.MaxMemberCount {group.MaxMemberCount} is outside 1..{maximum}"
    options = rules.apply_join_options
    if community and group.ApplyJoinOption is not None and not rules.apply_join_for_community:
        return code, "group.ApplyJoinOption is not supported by Community groups"
    if (
        options is not None
        and group.ApplyJoinOption is not None
        and group.ApplyJoinOption not in options
    ):
        return code, (
            f"group.ApplyJoinOption {group.ApplyJoinOption!r} is not one of "
            + ", ".join(sorted(options))
        )
    return None


def _check_group(group: GroupProfile, now: int, rules: Rules) -> Problem:  # noqa: PLR0911 - one return per kind of rule
    code = rules.codes.invalid_parameter
    if group.Type not in limits.GROUP_TYPES:
        allowed = ", ".join(sorted(limits.GROUP_TYPES - rules.unsupported_group_types))
        return code, f"group.Type {group.Type!r} is not one of {allowed}"
    if group.Type in rules.unsupported_group_types:
        return rules.codes.no_permission, (
            f"group.Type {group.Type}: audio-video groups cannot be imported"
        )
    problem = (
        _check_group_id(group, rules)
        or _check_owner(group, rules)
        or _check_texts(group, rules)
        or _check_membership(group, rules)
        or _check_attributes(group, rules)
    )
    if problem:
        return problem
    if group.CreateTime is not None and not 0 <= group.CreateTime <= now:
        return code, f"group.CreateTime {group.CreateTime} is not in the past"
    if rules.support_topic:
        if group.SupportTopic not in (None, 0, 1):
            return code, "group.SupportTopic must be 0 or 1"
        if group.SupportTopic == 1 and group.Type != "Community":
            return code, "group.SupportTopic is only valid for Community groups"
    return None


_REQUIRED_CONTENT = {
    "TIMTextElem": ("Text", str),
    "TIMFaceElem": ("Index", int),
    "TIMLocationElem": ("Latitude", float),
    "TIMCustomElem": ("Data", str),
}


def _check_send_time(message: GroupMessage, now: int, rules: Rules) -> Problem:
    code = rules.codes.invalid_parameter
    if message.SendTime <= 0:
        return code, f"message.SendTime {message.SendTime} is not a time"
    if message.SendTime > now or (rules.send_time_before_now and message.SendTime == now):
        return code, (
            f"message.SendTime {message.SendTime} is in the future"
            if message.SendTime > now
            else f"message.SendTime {message.SendTime} is now; it must be earlier"
        )
    if rules.retention_seconds is not None and message.SendTime < now - rules.retention_seconds:
        days = rules.retention_seconds // 86_400
        return code, (
            f"message.SendTime {message.SendTime} is older than the {days}-day retention of "
            f"the {rules.provider} plan ({rules.retention_setting})"
        )
    return None


def _check_body(message: GroupMessage, raw_body: list[Any], rules: Rules) -> Problem:
    code = rules.codes.invalid_parameter
    if not message.MsgBody:
        return code, "message.MsgBody is empty"
    for index, element in enumerate(message.MsgBody):
        if element.MsgType not in limits.MESSAGE_TYPES:
            return code, (
                f"message.MsgBody[{index}].MsgType {element.MsgType!r} is not supported "
                f"(supported: {', '.join(sorted(limits.MESSAGE_TYPES))})"
            )
        name, kind = _REQUIRED_CONTENT[element.MsgType]
        value = element.MsgContent.get(name)
        valid = (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if kind is float
            else isinstance(value, kind) and not isinstance(value, bool)
        )
        if not valid:
            return code, (
                f"message.MsgBody[{index}].MsgContent.{name} is missing or not a {kind.__name__}"
            )
    return _check_size(raw_body, rules)


def _check_size(raw_body: list[Any], rules: Rules) -> Problem:
    code = rules.codes.invalid_parameter
    try:
        size = limits.message_body_size(raw_body)
    except UnicodeEncodeError:
        return code, "message.MsgBody is not valid Unicode (a lone surrogate)"
    except ValueError:
        return code, "message.MsgBody holds a number out of range (Infinity)"
    if rules.message_size_limit is not None and size > rules.message_size_limit:
        return rules.codes.message_too_large, (
            f"message.MsgBody is {size} bytes; at most {rules.message_size_limit}"
        )
    return None


def _check_message(message: GroupMessage, raw_body: list[Any], now: int, rules: Rules) -> Problem:
    code = rules.codes.invalid_parameter
    if not message.From_Account:
        return code, "message.From_Account is empty"
    if (bad := _bad_character(message.From_Account, rules)) is not None:
        return code, (
            f"message.From_Account holds {bad!r}, a character {rules.provider} user IDs cannot hold"
        )
    problem = _check_send_time(message, now, rules)
    if problem:
        return problem
    if message.Random is not None and not 0 <= message.Random <= limits.RANDOM_MAX:
        return code, "message.Random is not a 32-bit unsigned integer"
    return _check_body(message, raw_body, rules)


def _check_user_id(where: str, value: str, rules: Rules, code: int) -> Problem:
    size = limits.utf8_len(value)
    if size == 0:
        return code, f"{where} is empty"
    if size > rules.user_id_max_bytes:
        return code, f"{where} is {size} bytes; at most {rules.user_id_max_bytes}"
    if (bad := _bad_character(value, rules)) is not None:
        return code, f"{where} holds {bad!r}, a character {rules.provider} user IDs cannot hold"
    return None


def check_account(account: Account, rules: Rules) -> Problem:
    """The first documented rule ``account`` breaks (code, reason), or None."""
    code = rules.codes.account_invalid_parameter
    problem = _check_user_id("account.UserID", account.UserID, rules, code)
    if problem:
        return problem
    for name, value, maximum in (
        ("Nick", account.Nick, rules.nick_max_bytes),
        ("FaceUrl", account.FaceUrl, rules.avatar_max_bytes),
    ):
        if value is not None and maximum is not None and limits.utf8_len(value) > maximum:
            return code, f"account.{name} is {limits.utf8_len(value)} bytes; at most {maximum}"
    return None


def _check_time_before_now(where: str, value: int, now: int, rules: Rules) -> Problem:
    code = rules.codes.invalid_parameter
    if value <= 0:
        return code, f"{where} {value} is not a time"
    if value > now or (rules.send_time_before_now and value == now):
        return code, (
            f"{where} {value} is in the future"
            if value > now
            else f"{where} {value} is now; it must be earlier"
        )
    return None


def _check_unread(where: str, value: int, rules: Rules) -> Problem:
    if not 0 <= value <= limits.RANDOM_MAX:
        return rules.codes.invalid_parameter, f"{where} {value} is not a count (0 or more)"
    return None


def check_member(member: GroupMember, now: int, rules: Rules) -> Problem:
    """The first documented rule ``member`` breaks (code, reason), or None."""
    code = rules.codes.invalid_parameter
    problem = _check_user_id("member.Member_Account", member.Member_Account, rules, code)
    if problem:
        return problem
    roles = rules.member_roles
    if member.Role is not None and roles is not None and member.Role not in roles:
        allowed = ", ".join(sorted(roles))
        return code, f"member.Role {member.Role!r} is not one of {allowed} (absent: a member)"
    if member.JoinTime is not None:
        problem = _check_time_before_now("member.JoinTime", member.JoinTime, now, rules)
        if problem:
            return problem
    if member.UnreadMsgNum is not None:
        return _check_unread("member.UnreadMsgNum", member.UnreadMsgNum, rules)
    return None


def member_warnings(member: GroupMember, rules: Rules) -> tuple[str, ...]:
    """What an imported member's outcome says about fields the provider does not take."""
    warnings: list[str] = []
    if member.Role is not None and rules.member_roles is None:
        warnings.append(
            f"member.Role {member.Role!r} is not imported: {rules.provider} takes no role"
        )
    if member.UnreadMsgNum and not rules.member_unread:
        warnings.append(
            f"member.UnreadMsgNum {member.UnreadMsgNum} is not imported: {rules.provider} "
            "has no unread counts to set"
        )
    return tuple(warnings)


def join_time_problem(join_time: int | None, create_time: int | None, rules: Rules) -> Problem:
    """A join time not after the group's creation (when both are known), as the provider refuses.

    Checked once the group's ``CreateTime`` is known (its import was seen by this process).
    """
    if join_time is None or create_time is None or join_time > create_time:
        return None
    return rules.codes.invalid_parameter, (
        f"member.JoinTime {join_time} is not after the group's CreateTime {create_time}"
    )


def check_unread(member: MemberUnread, rules: Rules) -> Problem:
    """The first documented rule an unread count breaks (code, reason), or None."""
    if rules.unread_refusal is not None:
        return rules.codes.invalid_parameter, rules.unread_refusal
    code = rules.codes.invalid_parameter
    problem = _check_user_id("member.Member_Account", member.Member_Account, rules, code)
    return problem or _check_unread("member.UnreadMsgNum", member.UnreadMsgNum, rules)


_MODELS: dict[EventType, type[Any]] = {
    EventType.ACCOUNT_IMPORT: AccountImportEvent,
    EventType.GROUP_IMPORT: GroupImportEvent,
    EventType.MEMBER_IMPORT: MemberImportEvent,
    EventType.MESSAGE_IMPORT: MessageImportEvent,
    EventType.UNREAD_SET: UnreadSetEvent,
}


def validate_event(  # noqa: C901, PLR0911 - one return per refusal
    record: InputRecord, envelope: Envelope, *, now: int, rules: Rules
) -> ValidEvent | Rejection:
    """Apply every documented rule to an event; the result is importable or a ``Rejection``."""
    hint = _group_id_hint(envelope.payload, envelope.type)
    user = _user_id_hint(envelope.payload, envelope.type)
    codes = rules.codes
    invalid = (
        codes.account_invalid_parameter
        if envelope.type is EventType.ACCOUNT_IMPORT
        else codes.invalid_parameter
    )

    def reject(code: int, info: str) -> Rejection:
        return Rejection(envelope.type, envelope.event_id, hint, code, info, user)

    if hint is not None and not limits.encodable(hint):
        # the outcome is keyed by the group id: keep the unencodable one out of it
        return Rejection(
            envelope.type,
            envelope.event_id,
            None,
            codes.invalid_group_id,
            "the group id is not valid Unicode (a lone surrogate escape)",
            user,
        )
    try:
        event = _MODELS[envelope.type].model_validate(envelope.payload)
    except ValidationError as exc:
        return reject(invalid, _describe(exc))
    key = _key_text(record.key)
    if isinstance(event, AccountImportEvent):
        unicode_problem = _unicode_problem("account", event.account)
        problem = (invalid, unicode_problem) if unicode_problem else None
        problem = problem or check_account(event.account, rules)
        if problem:
            return reject(*problem)
        return ValidAccountImport(event_id=event.event_id, account=event.account)
    if isinstance(event, GroupImportEvent):
        return _validate_group(event, key, now, rules, reject)
    if not event.group_id:
        return reject(codes.invalid_group_id, "group_id is empty")
    if key != event.group_id:
        return reject(
            codes.invalid_parameter,
            f"record key {key!r} does not equal group_id {event.group_id!r}",
        )
    if isinstance(event, MemberImportEvent):
        unicode_problem = _unicode_problem("member", event.member)
        problem = (invalid, unicode_problem) if unicode_problem else None
        problem = problem or check_member(event.member, now, rules)
        if problem:
            return reject(*problem)
        return ValidMemberImport(
            event_id=event.event_id,
            group_id=event.group_id,
            member=event.member,
            warnings=member_warnings(event.member, rules),
        )
    if isinstance(event, UnreadSetEvent):
        unicode_problem = _unicode_problem("member", event.member)
        problem = (invalid, unicode_problem) if unicode_problem else None
        problem = problem or check_unread(event.member, rules)
        if problem:
            return reject(*problem)
        return ValidUnreadSet(event_id=event.event_id, group_id=event.group_id, member=event.member)
    assert isinstance(event, MessageImportEvent)  # noqa: S101 - the model chosen above
    return _validate_message(event, envelope, now, rules, reject)


def _validate_group(
    event: GroupImportEvent,
    key: str | None,
    now: int,
    rules: Rules,
    reject: Callable[[int, str], Rejection],
) -> ValidGroupImport | Rejection:
    codes = rules.codes
    if key != event.group.GroupId:
        return reject(
            codes.invalid_parameter,
            f"record key {key!r} does not equal group.GroupId {event.group.GroupId!r}",
        )
    unicode_problem = _unicode_problem("group", event.group)
    if unicode_problem:
        return reject(codes.invalid_parameter, unicode_problem)
    problem = _check_group(event.group, now, rules)
    if problem:
        return reject(*problem)
    warnings = (
        (rules.missing_create_time_warning,)
        if event.group.CreateTime is None and rules.missing_create_time_warning
        else ()
    )
    return ValidGroupImport(event_id=event.event_id, group=event.group, warnings=warnings)


def _validate_message(
    event: MessageImportEvent,
    envelope: Envelope,
    now: int,
    rules: Rules,
    reject: Callable[[int, str], Rejection],
) -> ValidMessageImport | Rejection:
    codes = rules.codes
    unicode_problem = _unicode_problem("message", event.message) or (
        None
        if event.topic_id is None or limits.encodable(event.topic_id)
        else "topic_id is not valid Unicode (a lone surrogate escape)"
    )
    if unicode_problem:
        return reject(codes.invalid_parameter, unicode_problem)
    if event.topic_id is not None and not rules.topics:
        return reject(codes.invalid_parameter, f"topic_id: {rules.provider} groups have no topics")
    flag = event.recent_contact_flag
    if rules.recent_contact_flag and flag is not None and flag not in {0, 1}:
        return reject(codes.invalid_parameter, f"recent_contact_flag {flag} is not 0 or 1")
    raw_body = envelope.payload["message"]["MsgBody"]  # validated above: a list of objects
    problem = _check_message(event.message, raw_body, now, rules)
    if problem:
        return reject(*problem)
    message = event.message
    if message.Random is None:
        message = message.model_copy(update={"Random": derive_random(event.event_id)})
    return ValidMessageImport(
        event_id=event.event_id,
        group_id=event.group_id,
        topic_id=event.topic_id,
        message=message,
        recent_contact_flag=flag if rules.recent_contact_flag else None,
    )
