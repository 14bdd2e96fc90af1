# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""ZIM request bodies → typed requests, refusing what the documentation does not allow.

Every refusal is an ``ApiError`` with ZIM's parameter-error code 2 unless the documentation
names another one; its text names the offending field. Fields the emulated APIs do not know are
refused too, so that a misspelt field in the adapter is caught rather than silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.emulator import zego_rules as zr
from service.emulator.errors import ApiError

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CreateGroupRequest:
    """A valid ``CreateGroup`` body."""

    group_id: str
    owner: str
    name: str | None
    notice: str | None
    avatar: str | None
    members: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...]
    create_time_ms: int | None


@dataclass(frozen=True, slots=True)
class ImportMessageRequest:
    """A valid ``ImportGroupMsg`` body."""

    sender: str
    group_id: str
    message_type: int
    priority: int
    message: str
    extended_data: str | None
    sub_msg_type: int | None
    searched_content: str | None
    send_time_ms: int | None


@dataclass(frozen=True, slots=True)
class QueryMessagesRequest:
    """A valid ``QueryGroupMsg`` body."""

    group_id: str
    limit: int
    next_seq: int | None
    """The seq to resume at (``None``: the newest message)."""
    with_empty: bool


def _invalid(info: str) -> ApiError:
    return ApiError(zr.PARAMETER_ERROR, info)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _object(payload: object, allowed: frozenset[str], where: str = "") -> JsonObject:
    if not isinstance(payload, dict):
        raise _invalid(f"{where or 'request body'} is not a JSON object")
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise _invalid(f"unknown field {where}{unknown[0]}")
    return payload


def _id(data: JsonObject, field: str, *, required: bool = True) -> str | None:
    value = data.get(field)
    if value is None:
        if required:
            raise _invalid(f"{field} is required")
        return None
    if not isinstance(value, str) or not value:
        raise _invalid(f"{field} must be a non-empty string")
    bad = next((char for char in value if char not in zr.ID_CHARACTERS), None)
    if bad is not None:
        raise _invalid(f"{field} holds {bad!r}, which IDs may not contain")
    return value


def _text(data: JsonObject, field: str, max_bytes: int | None = None) -> str | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(f"{field} must be a string")
    if max_bytes is not None and zr.utf8_len(value) > max_bytes:
        raise _invalid(f"{field} is longer than {max_bytes} bytes")
    return value


def _int(data: JsonObject, field: str, *, required: bool = False) -> int | None:
    value = data.get(field)
    if value is None:
        if required:
            raise _invalid(f"{field} is required")
        return None
    if not _is_int(value):
        raise _invalid(f"{field} must be an integer")
    return int(value)


# --- CreateGroup --------------------------------------------------------------------------------

_GROUP_FIELDS = frozenset(
    {
        "GroupId",
        "GroupName",
        "GroupNotice",
        "GroupAvatar",
        "GroupOwner",
        "UserId",
        "Attributes",
        "CreateGroupTime",
    }
)


def _group_id(data: JsonObject) -> str:
    group_id = _id(data, "GroupId")
    assert group_id is not None  # noqa: S101 - required above
    if zr.utf8_len(group_id) > zr.GROUP_ID_MAX_BYTES:
        raise _invalid(f"GroupId is longer than {zr.GROUP_ID_MAX_BYTES} bytes")
    if group_id.startswith(zr.GROUP_ID_FORBIDDEN_PREFIX):
        raise _invalid(f"GroupId may not start with {zr.GROUP_ID_FORBIDDEN_PREFIX!r}")
    return group_id


def _members(data: JsonObject) -> tuple[str, ...]:
    value = data.get("UserId")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _invalid("UserId must be a list of user IDs")
    if len(value) > zr.GROUP_MEMBERS_MAX:
        raise _invalid(f"UserId lists {len(value)} users; at most {zr.GROUP_MEMBERS_MAX}")
    members: list[str] = []
    for index, user in enumerate(value):
        member = _id({f"UserId[{index}]": user}, f"UserId[{index}]")
        assert member is not None  # noqa: S101 - required above
        members.append(member)
    return tuple(members)


def _attributes(data: JsonObject) -> tuple[tuple[str, str], ...]:
    """Attributes as a list of ``{"Key": ..., "Value": ...}`` objects (unconfirmed shape)."""
    value = data.get("Attributes")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _invalid("Attributes must be a list of {Key, Value}")
    if len(value) > zr.ATTRIBUTES_MAX:
        raise _invalid(f"Attributes holds {len(value)} items; at most {zr.ATTRIBUTES_MAX}")
    pairs: list[tuple[str, str]] = []
    for index, item in enumerate(value):
        where = f"Attributes[{index}]."
        entry = _object(item, frozenset({"Key", "Value"}), where)
        key = entry.get("Key")
        if not isinstance(key, str) or not key:
            raise _invalid(f"{where}Key must be a non-empty string")
        if zr.utf8_len(key) > zr.ATTRIBUTE_KEY_MAX_BYTES:
            raise _invalid(f"{where}Key is longer than {zr.ATTRIBUTE_KEY_MAX_BYTES} bytes")
        val = entry.get("Value")
        if not isinstance(val, str):
            raise _invalid(f"{where}Value must be a string")
        if zr.utf8_len(val) > zr.ATTRIBUTE_VALUE_MAX_BYTES:
            raise _invalid(f"{where}Value is longer than {zr.ATTRIBUTE_VALUE_MAX_BYTES} bytes")
        pairs.append((key, val))
    return tuple(pairs)


def parse_create_group(payload: object) -> CreateGroupRequest:
    """Check a ``CreateGroup`` body field by field."""
    data = _object(payload, _GROUP_FIELDS)
    group_id = _group_id(data)
    owner = _id(data, "GroupOwner")
    assert owner is not None  # noqa: S101 - required above
    create_time = _int(data, "CreateGroupTime")
    if create_time is not None and create_time < 0:
        raise _invalid("CreateGroupTime must not be negative")
    return CreateGroupRequest(
        group_id=group_id,
        owner=owner,
        name=_text(data, "GroupName", zr.GROUP_NAME_MAX_BYTES),
        notice=_text(data, "GroupNotice", zr.GROUP_NOTICE_MAX_BYTES),
        avatar=_text(data, "GroupAvatar", zr.GROUP_AVATAR_MAX_BYTES),
        members=_members(data),
        attributes=_attributes(data),
        create_time_ms=create_time,
    )


# --- ImportGroupMsg -----------------------------------------------------------------------------

_MESSAGE_FIELDS = frozenset(
    {
        "FromUserId",
        "GroupId",
        "MessageType",
        "Priority",
        "MessageBody",
        "SubMsgType",
        "SearchedContent",
        "SendMessageTime",
    }
)
_BODY_FIELDS = frozenset({"Message", "ExtendedData"})


def _message_type(data: JsonObject) -> int:
    message_type = _int(data, "MessageType", required=True)
    assert message_type is not None  # noqa: S101 - required above
    if message_type == zr.MESSAGE_TYPE_COMMAND:
        raise _invalid("MessageType 2: signalling messages cannot be imported")
    if message_type not in zr.EMULATED_MESSAGE_TYPES:
        raise _invalid(f"MessageType {message_type} is not emulated (only 1 text, 200 custom)")
    return message_type


def _sub_msg_type(data: JsonObject, message_type: int) -> int | None:
    sub_type = _int(data, "SubMsgType")
    if sub_type is None and message_type == zr.MESSAGE_TYPE_CUSTOM:
        raise _invalid("SubMsgType is required when MessageType is 200")
    if sub_type is not None and not 0 <= sub_type <= zr.SUB_MSG_TYPE_MAX:
        raise _invalid(f"SubMsgType must be between 0 and {zr.SUB_MSG_TYPE_MAX}")
    return sub_type


def parse_import_message(payload: object) -> ImportMessageRequest:
    """Check an ``ImportGroupMsg`` body (one message)."""
    data = _object(payload, _MESSAGE_FIELDS)
    sender = _id(data, "FromUserId")
    group_id = _id(data, "GroupId")
    assert sender is not None  # noqa: S101 - required above
    assert group_id is not None  # noqa: S101
    message_type = _message_type(data)
    priority = _int(data, "Priority", required=True)
    if priority not in zr.PRIORITIES:
        raise _invalid("Priority must be 1 (low), 2 (medium) or 3 (high)")
    if "MessageBody" not in data:
        raise _invalid("MessageBody is required")
    body = _object(data["MessageBody"], _BODY_FIELDS, "MessageBody.")
    message = body.get("Message")
    if not isinstance(message, str):
        raise _invalid("MessageBody.Message must be a string")
    extended = body.get("ExtendedData")
    if extended is not None and not isinstance(extended, str):
        raise _invalid("MessageBody.ExtendedData must be a string")
    searched = _text(data, "SearchedContent", zr.SEARCHED_CONTENT_MAX_BYTES)
    if searched is None and message_type == zr.MESSAGE_TYPE_CUSTOM:
        raise _invalid("SearchedContent is required when MessageType is 200")
    send_time = _int(data, "SendMessageTime")
    if send_time is not None and send_time < 0:
        raise _invalid("SendMessageTime must not be negative")
    return ImportMessageRequest(
        sender=sender,
        group_id=group_id,
        message_type=message_type,
        priority=priority,
        message=message,
        extended_data=extended,
        sub_msg_type=_sub_msg_type(data, message_type),
        searched_content=searched,
        send_time_ms=send_time or None,
    )


# --- QueryGroupMsg ------------------------------------------------------------------------------

_QUERY_FIELDS = frozenset({"GroupId", "Limit", "Next", "WithEmptyMsg"})


def parse_query_messages(payload: object) -> QueryMessagesRequest:
    """Check a ``QueryGroupMsg`` body; ``Next`` must be 0 or a value an answer returned."""
    data = _object(payload, _QUERY_FIELDS)
    group_id = _id(data, "GroupId")
    assert group_id is not None  # noqa: S101 - required above
    limit = _int(data, "Limit", required=True)
    assert limit is not None  # noqa: S101
    if not 1 <= limit <= zr.HISTORY_LIMIT_MAX:
        raise _invalid(f"Limit must be between 1 and {zr.HISTORY_LIMIT_MAX}")
    cursor = _int(data, "Next", required=True)
    assert cursor is not None  # noqa: S101
    next_seq: int | None = None
    if cursor != 0:
        next_seq = zr.decode_cursor(cursor)
        if next_seq is None:
            raise _invalid("Next must be 0 or the Next of the previous answer")
    with_empty = _int(data, "WithEmptyMsg")
    if with_empty not in {None, 0, 1}:
        raise _invalid("WithEmptyMsg must be 0 or 1")
    return QueryMessagesRequest(
        group_id=group_id, limit=limit, next_seq=next_seq, with_empty=with_empty == 1
    )


# --- UserRegister -------------------------------------------------------------------------------

_USER_FIELDS = frozenset({"UserId", "UserName", "UserAvatar"})


@dataclass(frozen=True, slots=True)
class UserInfo:
    """One valid entry of ``UserInfo``."""

    user_id: str
    name: str | None
    avatar: str | None


def parse_user_register(payload: object) -> tuple[UserInfo, ...]:
    """Check a ``UserRegister`` body: at most 100 users, each ``UserId`` a ZIM ID."""
    data = _object(payload, frozenset({"UserInfo"}))
    listing = data.get("UserInfo")
    if not isinstance(listing, list) or not listing:
        raise _invalid("UserInfo must be a non-empty list")
    if len(listing) > zr.USERS_PER_CALL:
        raise _invalid(f"UserInfo lists {len(listing)} users; at most {zr.USERS_PER_CALL}")
    users: list[UserInfo] = []
    for index, item in enumerate(listing):
        where = f"UserInfo[{index}]."
        entry = _object(item, _USER_FIELDS, where)
        user_id = _id(entry, "UserId")
        assert user_id is not None  # noqa: S101 - required above
        if zr.utf8_len(user_id) > zr.USER_ID_MAX_BYTES:
            raise _invalid(f"{where}UserId is longer than {zr.USER_ID_MAX_BYTES} bytes")
        users.append(
            UserInfo(
                user_id=user_id,
                name=_text(entry, "UserName"),
                avatar=_text(entry, "UserAvatar", zr.USER_AVATAR_MAX_BYTES),
            )
        )
    return tuple(users)


# --- InviteUsersIntoGroup -----------------------------------------------------------------------

_INVITE_FIELDS = frozenset({"FromUserId", "GroupId", "UserIds", "GroupMemberInfos"})
_MEMBER_INFO_FIELDS = frozenset({"UserId", "EnterGroupTime", "IsInvite"})


@dataclass(frozen=True, slots=True)
class InviteRequest:
    """A valid ``InviteUsersIntoGroup`` body: the invitees with their entry times (ms)."""

    inviter: str
    group_id: str
    members: tuple[tuple[str, int | None], ...]


def _invitees(data: JsonObject) -> tuple[tuple[str, int | None], ...]:
    ids, infos = data.get("UserIds"), data.get("GroupMemberInfos")
    if (ids is None) == (infos is None):
        raise _invalid("give either UserIds or GroupMemberInfos")
    listing = ids if ids is not None else infos
    if not isinstance(listing, list) or not listing:
        raise _invalid("the invitee list must be a non-empty list")
    if len(listing) > zr.INVITE_MEMBERS_MAX:
        raise _invalid(f"{len(listing)} invitees; at most {zr.INVITE_MEMBERS_MAX}")
    members: list[tuple[str, int | None]] = []
    for index, item in enumerate(listing):
        if ids is not None:
            user = _id({f"UserIds[{index}]": item}, f"UserIds[{index}]")
            entered = None
        else:
            where = f"GroupMemberInfos[{index}]."
            entry = _object(item, _MEMBER_INFO_FIELDS, where)
            user = _id(entry, "UserId")
            entered = _int(entry, "EnterGroupTime")
            if entered is not None and entered < 0:
                raise _invalid(f"{where}EnterGroupTime must not be negative")
        assert user is not None  # noqa: S101 - required above
        members.append((user, entered))
    if len({user for user, _ in members}) != len(members):
        raise _invalid("an invitee is listed twice")
    return tuple(members)


def parse_invite_users(payload: object) -> InviteRequest:
    """Check an ``InviteUsersIntoGroup`` body (at most 100 invitees)."""
    data = _object(payload, _INVITE_FIELDS)
    inviter = _id(data, "FromUserId")
    group_id = _id(data, "GroupId")
    assert inviter is not None  # noqa: S101 - required above
    assert group_id is not None  # noqa: S101
    return InviteRequest(inviter=inviter, group_id=group_id, members=_invitees(data))


# --- QueryGroupMemberList -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberQuery:
    """A valid ``QueryGroupMemberList`` body (unconfirmed shape: ``Limit`` and ``Next``)."""

    group_id: str
    limit: int
    offset: int


def parse_query_members(payload: object) -> MemberQuery:
    """Check a ``QueryGroupMemberList`` body; ``Next`` is 0 or the previous answer's."""
    data = _object(payload, frozenset({"GroupId", "Limit", "Next"}))
    group_id = _id(data, "GroupId")
    assert group_id is not None  # noqa: S101 - required above
    limit = _int(data, "Limit", required=True)
    assert limit is not None  # noqa: S101
    if not 1 <= limit <= zr.MEMBER_PAGE_MAX:
        raise _invalid(f"Limit must be between 1 and {zr.MEMBER_PAGE_MAX}")
    cursor = _int(data, "Next") or 0
    offset = 0
    if cursor:
        decoded = zr.decode_cursor(cursor)
        if decoded is None:
            raise _invalid("Next must be 0 or the Next of the previous answer")
        offset = decoded
    return MemberQuery(group_id=group_id, limit=limit, offset=offset)
