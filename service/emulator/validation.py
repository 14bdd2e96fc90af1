# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Decoded request bodies → typed requests, refusing what the documentation does not allow.

Every refusal is an ``ApiError`` (10004 unless the documentation names another code) whose
``info`` names the offending field, as the provider's ErrorInfo does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.emulator import rules
from service.emulator.errors import ApiError

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class GroupImportRequest:
    """A valid ``import_group`` body."""

    group_id: str | None
    type: str
    name: str
    create_time: int | None
    support_topic: int
    profile: JsonObject
    """The accepted documented fields, as sent."""


@dataclass(frozen=True, slots=True)
class MessageImport:
    """One valid entry of ``MsgList``."""

    from_account: str
    send_time: int
    random: int | None
    body: list[JsonObject]


@dataclass(frozen=True, slots=True)
class MessageImportRequest:
    """A valid ``import_group_msg`` body."""

    group_id: str
    topic_id: str | None
    messages: tuple[MessageImport, ...]
    recent_contact: bool = False


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    """A valid ``group_msg_get_simple`` body."""

    group_id: str
    number: int
    max_seq: int | None
    topic_id: str | None
    with_recalled: bool = False


def _invalid(info: str) -> ApiError:
    return ApiError(rules.INVALID_PARAMETER, info)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _object(payload: object) -> JsonObject:
    if not isinstance(payload, dict):
        raise ApiError(rules.MALFORMED_BODY, "request body is not a JSON object")
    return payload


def _required_str(data: JsonObject, field: str, *, where: str = "") -> str:
    value = data.get(field)
    if value is None:
        raise _invalid(f"{where}{field} is required")
    if not isinstance(value, str) or not value:
        raise _invalid(f"{where}{field} must be a non-empty string")
    return value


def _optional_str(data: JsonObject, field: str, max_bytes: int | None = None) -> str | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(f"{field} must be a string")
    if max_bytes is not None and rules.utf8_len(value) > max_bytes:
        raise _invalid(f"{field} is longer than {max_bytes} bytes")
    return value


def _optional_int(data: JsonObject, field: str, *, where: str = "") -> int | None:
    value = data.get(field)
    if value is None:
        return None
    if not _is_int(value):
        raise _invalid(f"{where}{field} must be an integer")
    return int(value)


# --- import_group -----------------------------------------------------------------------------


def _group_type(data: JsonObject) -> str:
    group_type = _required_str(data, "Type")
    if group_type not in rules.GROUP_TYPES:
        raise _invalid(f"Type {group_type!r} is not one of {', '.join(sorted(rules.GROUP_TYPES))}")
    if group_type == rules.AVCHATROOM:
        raise ApiError(rules.NO_PERMISSION, "Type AVChatRoom does not support import_group")
    return group_type


def _custom_group_id(data: JsonObject, group_type: str) -> str | None:
    value = data.get("GroupId")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ApiError(rules.INVALID_GROUP_ID, "GroupId must be a non-empty string")
    if rules.utf8_len(value) > rules.GROUP_ID_MAX_BYTES:
        raise ApiError(
            rules.INVALID_GROUP_ID, f"GroupId is longer than {rules.GROUP_ID_MAX_BYTES} bytes"
        )
    community_prefixed = group_type == rules.COMMUNITY and value.startswith(
        rules.COMMUNITY_GROUP_ID_PREFIX
    )
    if value.startswith(rules.GENERATED_GROUP_ID_PREFIX) and not community_prefixed:
        raise ApiError(
            rules.INVALID_GROUP_ID,
            f"GroupId may not start with {rules.GENERATED_GROUP_ID_PREFIX!r}",
        )
    return value


def _max_member_count(data: JsonObject, group_type: str) -> None:
    count = _optional_int(data, "MaxMemberCount")
    if count is None:
        return
    ceiling = (
        rules.COMMUNITY_MAX_MEMBER_COUNT
        if group_type == rules.COMMUNITY
        else rules.MAX_MEMBER_COUNT
    )
    if not 1 <= count <= ceiling:
        raise _invalid(f"MaxMemberCount must be between 1 and {ceiling}")


def _app_defined_data(data: JsonObject) -> None:
    value = data.get("AppDefinedData")
    if value is None:
        return
    if not isinstance(value, list):
        raise _invalid("AppDefinedData must be a list of {Key, Value}")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise _invalid(f"AppDefinedData[{index}] must be an object")
        _required_str(item, "Key", where=f"AppDefinedData[{index}].")
        if not isinstance(item.get("Value"), str):
            raise _invalid(f"AppDefinedData[{index}].Value must be a string")


_GROUP_FIELDS = (
    "Owner_Account",
    "Type",
    "GroupId",
    "Name",
    "Introduction",
    "Notification",
    "FaceUrl",
    "MaxMemberCount",
    "ApplyJoinOption",
    "AppDefinedData",
    "CreateTime",
    "SupportTopic",
)


def parse_import_group(payload: object) -> GroupImportRequest:
    """Check an ``import_group`` body field by field."""
    data = _object(payload)
    group_type = _group_type(data)
    name = _required_str(data, "Name")
    if rules.utf8_len(name) > rules.NAME_MAX_BYTES:
        raise _invalid(f"Name is longer than {rules.NAME_MAX_BYTES} bytes")
    group_id = _custom_group_id(data, group_type)
    _optional_str(data, "Owner_Account")
    _optional_str(data, "Introduction", rules.INTRODUCTION_MAX_BYTES)
    _optional_str(data, "Notification", rules.NOTIFICATION_MAX_BYTES)
    _optional_str(data, "FaceUrl", rules.FACE_URL_MAX_BYTES)
    _max_member_count(data, group_type)
    apply_join = _optional_str(data, "ApplyJoinOption")
    if apply_join is not None and group_type == rules.COMMUNITY:
        raise _invalid("ApplyJoinOption is not supported by Community groups")
    if apply_join is not None and apply_join not in rules.APPLY_JOIN_OPTIONS:
        raise _invalid(
            f"ApplyJoinOption {apply_join!r} is not one of "
            f"{', '.join(sorted(rules.APPLY_JOIN_OPTIONS))}"
        )
    _app_defined_data(data)
    create_time = _optional_int(data, "CreateTime")
    if create_time is not None and create_time < 0:
        raise _invalid("CreateTime must not be negative")
    support_topic = _optional_int(data, "SupportTopic") or 0
    if support_topic not in {0, 1}:
        raise _invalid("SupportTopic must be 0 or 1")
    if support_topic == 1 and group_type != rules.COMMUNITY:
        raise _invalid("SupportTopic is only valid for Community groups")
    profile = {key: data[key] for key in _GROUP_FIELDS if data.get(key) is not None}
    return GroupImportRequest(
        group_id=group_id,
        type=group_type,
        name=name,
        create_time=create_time,
        support_topic=support_topic,
        profile=profile,
    )


# --- import_group_msg -------------------------------------------------------------------------


def _message_body(value: object, where: str) -> list[JsonObject]:
    if not isinstance(value, list) or not value:
        raise _invalid(f"{where}MsgBody must be a non-empty list of message elements")
    elements: list[JsonObject] = []
    for index, element in enumerate(value):
        here = f"{where}MsgBody[{index}]."
        if not isinstance(element, dict):
            raise _invalid(f"{here[:-1]} must be an object")
        msg_type = element.get("MsgType")
        if msg_type not in rules.MESSAGE_TYPES:
            raise _invalid(
                f"{here}MsgType {msg_type!r} is not one of {', '.join(sorted(rules.MESSAGE_TYPES))}"
            )
        if not isinstance(element.get("MsgContent"), dict):
            raise _invalid(f"{here}MsgContent must be an object")
        elements.append(element)
    return elements


def parse_message(item: object, where: str = "") -> MessageImport:
    """Check one ``MsgList`` entry; ``where`` prefixes the field names in errors."""
    if not isinstance(item, dict):
        raise _invalid(f"{where[:-1] or 'message'} must be an object")
    sender = _required_str(item, "From_Account", where=where)
    send_time = _optional_int(item, "SendTime", where=where)
    if send_time is None:
        raise _invalid(f"{where}SendTime is required")
    random = _optional_int(item, "Random", where=where)
    if random is not None and not 0 <= random <= rules.RANDOM_MAX:
        raise _invalid(f"{where}Random must be between 0 and {rules.RANDOM_MAX}")
    body = _message_body(item.get("MsgBody"), where)
    return MessageImport(from_account=sender, send_time=send_time, random=random, body=body)


def _topic_id(data: JsonObject) -> str | None:
    topic = data.get("TopicId")
    if topic is None:
        return None
    if not isinstance(topic, str) or not topic:
        raise _invalid("TopicId must be a non-empty string")
    return topic


def parse_import_group_msg(payload: object) -> MessageImportRequest:
    """Check an ``import_group_msg`` body; any bad entry refuses the whole call."""
    data = _object(payload)
    group_id = _required_str(data, "GroupId")
    msg_list = data.get("MsgList")
    if msg_list is None:
        raise _invalid("MsgList is required")
    if not isinstance(msg_list, list) or not msg_list:
        raise _invalid("MsgList must be a non-empty list")
    if len(msg_list) > rules.MESSAGES_PER_CALL:
        raise _invalid(
            f"MsgList holds {len(msg_list)} messages; at most {rules.MESSAGES_PER_CALL} per call"
        )
    messages = tuple(
        parse_message(item, f"MsgList[{index}].") for index, item in enumerate(msg_list)
    )
    recent_contact = _optional_int(data, "RecentContactFlag")
    if recent_contact is not None and recent_contact not in {0, 1}:
        raise _invalid("RecentContactFlag must be 0 or 1")
    return MessageImportRequest(
        group_id=group_id,
        topic_id=_topic_id(data),
        messages=messages,
        recent_contact=recent_contact == 1,
    )


# --- group_msg_get_simple ---------------------------------------------------------------------


def parse_history(payload: object) -> HistoryRequest:
    """Check a ``group_msg_get_simple`` body."""
    data = _object(payload)
    group_id = _required_str(data, "GroupId")
    number = _optional_int(data, "ReqMsgNumber")
    if number is None:
        raise _invalid("ReqMsgNumber is required")
    if not 1 <= number <= rules.HISTORY_PAGE_MAX:
        raise _invalid(f"ReqMsgNumber must be between 1 and {rules.HISTORY_PAGE_MAX}")
    max_seq = _optional_int(data, "ReqMsgSeq")
    if max_seq is not None and max_seq < 0:
        raise _invalid("ReqMsgSeq must not be negative")
    with_recalled = _optional_int(data, "WithRecalledMsg")
    if with_recalled not in {None, 0, 1}:
        raise _invalid("WithRecalledMsg must be 0 or 1")
    return HistoryRequest(
        group_id=group_id,
        number=number,
        max_seq=max_seq,
        topic_id=_topic_id(data),
        with_recalled=with_recalled == 1,
    )


# --- multiaccount_import ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountImport:
    """One valid entry of ``AccountList``."""

    user_id: str
    nick: str | None
    face_url: str | None


def _account(item: object, where: str) -> AccountImport:
    if not isinstance(item, dict):
        raise ApiError(rules.ACCOUNT_INVALID_PARAMETER, f"{where} must be an object")
    user_id = item.get("UserID")
    if not isinstance(user_id, str) or not user_id:
        raise ApiError(rules.ACCOUNT_INVALID_PARAMETER, f"{where}.UserID is required")
    for field in ("Nick", "FaceUrl"):
        if item.get(field) is not None and not isinstance(item.get(field), str):
            raise ApiError(rules.ACCOUNT_INVALID_PARAMETER, f"{where}.{field} must be a string")
    unknown = sorted(set(item) - {"UserID", "Nick", "FaceUrl"})
    if unknown:
        raise ApiError(rules.ACCOUNT_INVALID_PARAMETER, f"{where}.{unknown[0]} is not a field")
    return AccountImport(user_id=user_id, nick=item.get("Nick"), face_url=item.get("FaceUrl"))


def parse_multiaccount_import(payload: object) -> tuple[AccountImport, ...]:
    """Check a ``multiaccount_import`` body (``AccountList``, at most 100 accounts)."""
    if not isinstance(payload, dict):
        raise ApiError(rules.ACCOUNT_INVALID_PARAMETER, "request body is not a JSON object")
    listing = payload.get("AccountList")
    if not isinstance(listing, list) or not listing:
        raise ApiError(rules.ACCOUNT_INVALID_PARAMETER, "AccountList must be a non-empty list")
    if len(listing) > rules.ACCOUNTS_PER_CALL:
        raise ApiError(
            rules.ACCOUNT_INVALID_PARAMETER,
            f"AccountList holds {len(listing)} accounts; at most {rules.ACCOUNTS_PER_CALL}",
        )
    return tuple(_account(item, f"AccountList[{index}]") for index, item in enumerate(listing))


# --- import_group_member ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberImport:
    """One valid entry of ``MemberList``."""

    account: str
    role: str | None
    join_time: int | None
    unread: int | None


@dataclass(frozen=True, slots=True)
class MemberImportRequest:
    """A valid ``import_group_member`` body."""

    group_id: str
    members: tuple[MemberImport, ...]


_MEMBER_FIELDS = frozenset({"Member_Account", "Role", "JoinTime", "UnreadMsgNum"})


def _member(item: object, where: str) -> MemberImport:
    if not isinstance(item, dict):
        raise _invalid(f"{where} must be an object")
    unknown = sorted(set(item) - _MEMBER_FIELDS)
    if unknown:
        raise _invalid(f"{where}.{unknown[0]} is not a field")
    account = _required_str(item, "Member_Account", where=f"{where}.")
    role = item.get("Role")
    if role is not None and role != rules.MEMBER_ROLE_ADMIN:
        raise _invalid(f"{where}.Role must be {rules.MEMBER_ROLE_ADMIN!r} or absent")
    join_time = _optional_int(item, "JoinTime", where=f"{where}.")
    unread = _optional_int(item, "UnreadMsgNum", where=f"{where}.")
    if unread is not None and unread < 0:
        raise _invalid(f"{where}.UnreadMsgNum must not be negative")
    return MemberImport(account=account, role=role, join_time=join_time, unread=unread)


def parse_import_group_member(payload: object, max_members: int) -> MemberImportRequest:
    """Check an ``import_group_member`` body; more than ``max_members`` members is 10005."""
    data = _object(payload)
    group_id = _required_str(data, "GroupId")
    listing = data.get("MemberList")
    if not isinstance(listing, list) or not listing:
        raise _invalid("MemberList must be a non-empty list")
    if len(listing) > max_members:
        raise ApiError(
            rules.TOO_MANY_MEMBERS,
            f"MemberList holds {len(listing)} members; at most {max_members} per call",
        )
    members = tuple(_member(item, f"MemberList[{index}]") for index, item in enumerate(listing))
    accounts = [member.account for member in members]
    if len(set(accounts)) != len(accounts):
        raise _invalid("MemberList names a member twice")
    return MemberImportRequest(group_id=group_id, members=members)


# --- set_unread_msg_num -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnreadRequest:
    """A valid ``set_unread_msg_num`` body."""

    group_id: str
    account: str
    unread: int


def parse_set_unread(payload: object) -> UnreadRequest:
    """Check a ``set_unread_msg_num`` body (one member)."""
    data = _object(payload)
    group_id = _required_str(data, "GroupId")
    account = _required_str(data, "Member_Account")
    unread = _optional_int(data, "UnreadMsgNum")
    if unread is None:
        raise _invalid("UnreadMsgNum is required")
    if unread < 0:
        raise _invalid("UnreadMsgNum must not be negative")
    return UnreadRequest(group_id=group_id, account=account, unread=unread)


# --- get_group_member_info --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberInfoRequest:
    """A valid ``get_group_member_info`` body."""

    group_id: str
    limit: int
    offset: int


def parse_member_info(payload: object) -> MemberInfoRequest:
    """Check a ``get_group_member_info`` body (``Limit`` and ``Offset`` page the members)."""
    data = _object(payload)
    group_id = _required_str(data, "GroupId")
    limit = _optional_int(data, "Limit")
    offset = _optional_int(data, "Offset") or 0
    if limit is not None and not 1 <= limit <= rules.MEMBER_PAGE_MAX:
        raise _invalid(f"Limit must be between 1 and {rules.MEMBER_PAGE_MAX}")
    if offset < 0:
        raise _invalid("Offset must not be negative")
    filters = data.get("MemberInfoFilter")
    if filters is not None and (
        not isinstance(filters, list) or not all(isinstance(f, str) for f in filters)
    ):
        raise _invalid("MemberInfoFilter must be a list of field names")
    return MemberInfoRequest(group_id=group_id, limit=limit or rules.MEMBER_PAGE_MAX, offset=offset)
