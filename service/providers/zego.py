# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""ZEGOCLOUD ZIM server API adapter: every API of a migration, and the reads verify needs.

``UserRegister``, ``CreateGroup``, ``InviteUsersIntoGroup``, ``ImportGroupMsg``,
``QueryGroupMsg`` and ``QueryGroupMemberList``. Accounts go to ``UserRegister`` (100 a call,
20 calls/s; ``ErrorList`` names each refused user with its ``SubCode``); members to
``InviteUsersIntoGroup`` (100 a call, ``GroupMemberInfos`` with ``EnterGroupTime`` =
``JoinTime`` * 1000; 1 call/s per group), invited in the name of the group's owner when this
process saw its ``group.import`` (otherwise the first member invited: the notes require a
registered ``FromUserId``, nothing more; unconfirmed). ZIM takes no member role and has no
unread count to set (``set_unread`` refuses; the rules refuse such events before any call).

Every call is ``POST {base_url}/?Action=<API>&<common parameters>`` with a JSON body, signed
afresh (``zego_sign``). Calls are not rate-limited here: the engine waits on the call budget
(20 calls per second by default) before each one. ZIM imports one message per call.

Messages (Tencent-style event -> ``ImportGroupMsg`` body):

| event | ZIM |
| --- | --- |
| ``group_id`` | ``GroupId`` |
| ``From_Account`` | ``FromUserId`` |
| ``SendTime`` (s) | ``SendMessageTime`` = ``SendTime`` * 1000 (ms) |
| ``Random`` | not sent: ZIM keeps no Random (recovery uses a fingerprint, below) |
| (none) | ``Priority`` 2, medium: ordinary chat content (high is for signalling) |
| ``topic_id`` | ZIM groups have no topics: a message with one fails, code 2 |

| ``MsgBody`` | ZIM message |
| --- | --- |
| one ``TIMTextElem`` | ``MessageType`` 1 (text); ``MessageBody.Message`` = Text |
| one ``TIMCustomElem`` | ``MessageType`` 200 (custom), ``SubMsgType`` 0; |
| | ``MessageBody.Message`` = Data; ``MessageBody.ExtendedData`` = Ext (when set); |
| | ``SearchedContent`` = Desc cut to 64 bytes at a character boundary ("" if none); |
| | Sound is dropped (an offline-push sound; imports send no push) |
| ``TIMFaceElem`` | no ZIM equivalent: failed outcome, code 2, naming the element |
| ``TIMLocationElem`` | no ZIM equivalent: failed outcome, code 2, naming the element |
| two or more elements | a ZIM message holds one: failed outcome, code 2, naming them |

Refusals are decided by ``check_element_support`` before any call (``detected_by: service``)
with ZIM's parameter-error code 2. The service invents no encoding for faces and locations: an
exporter that wants them in ZIM sends them as a ``TIMCustomElem`` in its own convention, which
arrives as a ZIM custom message. The same check refuses what ZIM can never take: a sender ID
with characters outside ZIM's set (code 2), ``Ext`` over 1 KB or a message over 32 KB, the most
an app can be configured for (660400001). The default 2 KB text limit is left to the provider
(an app can raise it), which answers 660400001.

Groups (Tencent ``import_group`` profile -> ``CreateGroup`` body):

| profile | ZIM |
| --- | --- |
| ``GroupId`` | ``GroupId`` (at most 32 bytes, not starting with ``#``) |
| ``Name`` | ``GroupName`` (50 bytes) |
| ``Owner_Account`` | ``GroupOwner``: required by ZIM; a profile without it fails, code 2 |
| ``Notification`` | ``GroupNotice`` (300 bytes) |
| ``FaceUrl`` | ``GroupAvatar`` (500 bytes) |
| ``CreateTime`` (s) | ``CreateGroupTime`` (ms) |
| ``AppDefinedData`` | ``Attributes`` [{Key, Value}]: at most 10; Key 16, Value 1,024 bytes |
| ``Type``, ``Introduction``, | not sent: ZIM has no such field |
| ``MaxMemberCount``, ``ApplyJoinOption``, ``SupportTopic`` | |

A profile that breaks a ZIM limit fails with code 2 without a call. 660600011 (the group exists:
imported before a crash) counts as imported.

History and recovery: ZIM's history has no Random, so ``HistoryEntry.random`` holds a CRC-32 of
sender, send time in seconds (``MsgTime // 1000``), message type and ``Message`` as sent, and
``recovery_key`` computes the same from a pending message. Identical messages (one sender, one
second, one text) share a fingerprint; ``recovery.match_pending`` matches them as a multiset in
order, so one copy in the history accounts for one pending message only. No marker of ours is
added to the message: the seeds document ``ExtendedData`` on the import side only (what
``QueryGroupMsg`` returns in ``MsgBody`` is unconfirmed), and it is the app's own data that
clients read (a custom message's ``Ext`` goes there).

``QueryGroupMsg`` pages with an opaque ``Next`` cursor, not by seq; ``history(before_seq=...)``
uses the cursor the previous page returned, kept per (group, seq just below that page). Asked
for a ``before_seq`` it holds no cursor for, it starts from the newest page and returns only the
entries at or below ``before_seq``.

Codes and what the service does with them are in ``ERROR_CLASSES``. Every error carries the
answer's ``RequestId`` (``ProviderError.request_id``, and ``[RequestId ...]`` in its text, so it
reaches log lines and failed outcomes). An answer that cannot be read (no integer ``Code``,
``Code`` 0 without a ``MsgSeq``, a history entry without one) is ambiguous: the call may have
been applied. Nothing here puts a URL, a signature or the server secret into an error.
"""

from __future__ import annotations

import json
import string
import zlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

import httpx

from service.domain.events import Account, GroupMember, GroupMessage, GroupProfile
from service.domain.recovery import Candidate, HistoryEntry
from service.domain.retry_policy import ErrorClass
from service.domain.validation import Codes, Rules
from service.errors import (
    AmbiguousProviderError,
    ConfigurationError,
    PermanentProviderError,
    ProviderError,
    RetryableProviderError,
)
from service.providers.base import (
    AccountResult,
    ApiNames,
    CallLimits,
    GroupResult,
    HistoryPage,
    MemberInfo,
    MemberResult,
    MessageResult,
)
from service.providers.http_json import post_for_object
from service.providers.zego_sign import signed_params

CREATE_GROUP: Final = "CreateGroup"
IMPORT_GROUP_MSG: Final = "ImportGroupMsg"
QUERY_GROUP_MSG: Final = "QueryGroupMsg"
USER_REGISTER: Final = "UserRegister"
INVITE_USERS: Final = "InviteUsersIntoGroup"
QUERY_GROUP_MEMBERS: Final = "QueryGroupMemberList"  # unconfirmed name and shape (verify only)
SET_UNREAD: Final = "-"  # ZIM has no such API
USERS_PER_CALL: Final = 100
MEMBERS_PER_CALL: Final = 100
USER_REGISTER_CALLS_PER_SECOND: Final = 20.0
INVITE_CALLS_PER_SECOND_PER_GROUP: Final = 1.0

# --- Codes (``Code`` in every answer) -----------------------------------------------------------
OK: Final = 0
SERVER_BUSY: Final = 1
PARAMETER_ERROR: Final = 2
AUTHENTICATION_FAILED: Final = 3
CALLS_PER_SECOND_LIMIT: Final = 7
APP_FREQUENCY_LIMIT: Final = 660300005
MESSAGE_TOO_LARGE: Final = 660400001
SENDER_NOT_REGISTERED: Final = 660500002
GROUP_NOT_FOUND: Final = 660600001
GROUP_EXISTS: Final = 660600011
SIGNATURE_EXPIRED: Final = 100000004
SIGNATURE_ERROR: Final = 100000005

# The code of a refusal decided by the service (no ZIM equivalent, a ZIM limit broken).
UNSUPPORTED: Final = PARAMETER_ERROR

ERROR_CLASSES: Mapping[int, ErrorClass] = {
    SERVER_BUSY: ErrorClass.RETRY,
    PARAMETER_ERROR: ErrorClass.PERMANENT,
    AUTHENTICATION_FAILED: ErrorClass.CONFIGURATION,
    CALLS_PER_SECOND_LIMIT: ErrorClass.THROTTLED,
    APP_FREQUENCY_LIMIT: ErrorClass.THROTTLED,
    MESSAGE_TOO_LARGE: ErrorClass.PERMANENT,
    SENDER_NOT_REGISTERED: ErrorClass.ACCOUNT_MISSING,
    GROUP_NOT_FOUND: ErrorClass.GROUP_MISSING,
    GROUP_EXISTS: ErrorClass.ALREADY_EXISTS,
    SIGNATURE_EXPIRED: ErrorClass.RESIGN,
    SIGNATURE_ERROR: ErrorClass.CONFIGURATION,
}

_DESCRIPTIONS: Mapping[int, str] = {
    SERVER_BUSY: "the server is busy",
    PARAMETER_ERROR: "parameter error",
    AUTHENTICATION_FAILED: "authentication failed: check the ZEGO app ID and server secret",
    CALLS_PER_SECOND_LIMIT: "calls per second over the limit",
    APP_FREQUENCY_LIMIT: "the app's call frequency is over the limit",
    MESSAGE_TOO_LARGE: "the message is over ZIM's size limit",
    SENDER_NOT_REGISTERED: "the sender is not registered with ZIM",
    GROUP_NOT_FOUND: "the group does not exist",
    GROUP_EXISTS: "the group already exists",
    SIGNATURE_EXPIRED: "the signature expired: check this machine's clock",
    SIGNATURE_ERROR: "signature error: check the ZEGO app ID and server secret",
}

# --- Message and group limits -------------------------------------------------------------------
MESSAGE_TYPE_TEXT: Final = 1
MESSAGE_TYPE_CUSTOM: Final = 200
CUSTOM_SUB_MSG_TYPE: Final = 0
IMPORT_PRIORITY: Final = 2  # 1 low, 2 medium, 3 high
SEARCHED_CONTENT_MAX_BYTES: Final = 64
EXTENDED_DATA_MAX_BYTES: Final = 1_024  # "1 KB"; unconfirmed: 1 KB = 1,024 bytes
MESSAGE_MAX_BYTES: Final = 32 * 1_024  # the most an app can raise its limit to (default 2 KB)
GROUP_ID_MAX_BYTES: Final = 32
GROUP_ID_FORBIDDEN_PREFIX: Final = "#"
GROUP_NAME_MAX_BYTES: Final = 50
GROUP_NOTICE_MAX_BYTES: Final = 300
GROUP_AVATAR_MAX_BYTES: Final = 500
ATTRIBUTES_MAX: Final = 10
ATTRIBUTE_KEY_MAX_BYTES: Final = 16
ATTRIBUTE_VALUE_MAX_BYTES: Final = 1_024
HISTORY_LIMIT_MAX: Final = 100
USER_ID_MAX_BYTES: Final = 32  # UserRegister UserId
USER_AVATAR_MAX_BYTES: Final = 500  # UserRegister UserAvatar
UNREAD_REFUSAL: Final = (
    "ZIM has no API to set a member's unread count (nothing like Tencent's set_unread_msg_num)"
)
# Characters a ZIM user or group ID may hold (ImportGroupMsg page, "Note").
ID_CHARACTERS: Final = frozenset(
    string.ascii_letters + string.digits + "!#$%&()+-:;<=.>?@[]^_ {}|~"
)
# Cursors kept for history paging (one per group being recovered or verified is the norm).
CURSOR_CACHE_SIZE: Final = 4_096

_SUPPORTED = "TIMTextElem or TIMCustomElem"
_NO_EQUIVALENT = {
    "TIMFaceElem": "ZIM has no face message type",
    "TIMLocationElem": "ZIM has no location message type",
}


DAY_SECONDS: Final = 86_400
RETENTION_SETTING: Final = "CHAT_IMPORT_ZEGO__RETENTION_DAYS"


def zim_rules(*, retention_days: int) -> Rules:
    """ZIM's limits and codes, what events are validated with on the ZIM path.

    Parameter errors are code 2 and a message over the size limit 660400001. Only fields ZIM
    holds are checked (``Type``, ``Introduction``, ``MaxMemberCount``, ``ApplyJoinOption`` and
    ``SupportTopic`` are not sent); the message size is measured by ``check_element_support`` on
    the ZIM message as sent. ``SendMessageTime`` may equal now, and may be no older than the
    plan's retention.
    """
    return Rules(
        provider="ZIM",
        codes=Codes(
            invalid_parameter=PARAMETER_ERROR,
            invalid_group_id=PARAMETER_ERROR,
            no_permission=PARAMETER_ERROR,
            message_too_large=MESSAGE_TOO_LARGE,
            account_invalid_parameter=PARAMETER_ERROR,
        ),
        message_size_limit=None,
        send_time_before_now=False,
        retention_seconds=retention_days * DAY_SECONDS,
        retention_setting=RETENTION_SETTING,
        topics=False,
        group_id_max_bytes=GROUP_ID_MAX_BYTES,
        reserved_group_id_prefix=GROUP_ID_FORBIDDEN_PREFIX,
        community_group_id_prefix=None,
        id_characters=ID_CHARACTERS,
        owner_required=True,
        unsupported_group_types=frozenset(),
        name_max_bytes=GROUP_NAME_MAX_BYTES,
        introduction_max_bytes=None,
        notification_max_bytes=GROUP_NOTICE_MAX_BYTES,
        face_url_max_bytes=GROUP_AVATAR_MAX_BYTES,
        max_member_count=None,
        community_max_member_count=None,
        apply_join_options=None,
        support_topic=False,
        missing_create_time_warning=None,
        attributes_max=ATTRIBUTES_MAX,
        attribute_key_max_bytes=ATTRIBUTE_KEY_MAX_BYTES,
        attribute_value_max_bytes=ATTRIBUTE_VALUE_MAX_BYTES,
        isolatable_codes=frozenset(),
        recent_contact_flag=False,
        user_id_max_bytes=USER_ID_MAX_BYTES,
        avatar_max_bytes=USER_AVATAR_MAX_BYTES,
        member_roles=None,
        member_unread=False,
        unread_refusal=UNREAD_REFUSAL,
    )


def classify(code: int) -> ErrorClass:
    """The handling class of a ZIM code (an unknown code is a permanent refusal)."""
    return ERROR_CLASSES.get(code, ErrorClass.PERMANENT)


def _with_request_id(info: str, request_id: str) -> str:
    return f"{info} [RequestId {request_id}]" if request_id else info


def _error(code: int, info: str, request_id: str = "") -> ProviderError:
    error_class = classify(code)
    text = _with_request_id(info, request_id)
    if error_class is ErrorClass.CONFIGURATION:
        return ConfigurationError(code, text, request_id=request_id)
    if error_class in {
        ErrorClass.PERMANENT,
        ErrorClass.GROUP_MISSING,
        ErrorClass.ALREADY_EXISTS,
        ErrorClass.ACCOUNT_MISSING,
    }:
        return PermanentProviderError(code, text, error_class, request_id=request_id)
    return RetryableProviderError(code, text, error_class, request_id=request_id)


def _unreadable(api: str, what: str, request_id: str = "") -> AmbiguousProviderError:
    """An answer that cannot be read: the call may have been applied."""
    text = _with_request_id(f"{api}: unreadable answer ({what})", request_id)
    return AmbiguousProviderError(0, text, request_id=request_id)


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def request_id_of(data: Mapping[str, Any]) -> str:
    """The answer's ``RequestId`` as text ("" when it has none)."""
    value = data.get("RequestId")
    if isinstance(value, str):
        return value[:64]
    return str(value) if _integer(value) is not None else ""


def describe(api: str, code: int, said: str = "", *, sender: str = "", group_id: str = "") -> str:
    """The ``error_info`` of a refused call: the API, what the code means, the provider's words."""
    if code == SENDER_NOT_REGISTERED and sender:
        described = (
            f"the user {sender!r} is not registered with ZIM (import it first with an "
            "account.import event, UserRegister)"
        )
    elif code == GROUP_NOT_FOUND and group_id:
        described = f"group {group_id!r} does not exist"
    else:
        described = _DESCRIPTIONS.get(code, "the provider refused the call")
    text = f"{api}: {described} ({code})"
    return f"{text}: {said[:200]}" if said else text


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def cut_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes, never inside a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def _bad_id_character(value: str) -> str | None:
    return next((char for char in value if char not in ID_CHARACTERS), None)


def fingerprint(sender: str, send_time: int, message_type: int, content: str) -> int:
    """The stable 32-bit stand-in for Random: CRC-32 of sender, seconds, type and content."""
    text = "\x00".join((sender, str(send_time), str(message_type), content))
    return zlib.crc32(text.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class ZimMessage:
    """A message as ``ImportGroupMsg`` takes it."""

    message_type: int
    body: dict[str, str]
    sub_msg_type: int | None = None
    searched_content: str | None = None

    @property
    def content(self) -> str:
        """``MessageBody.Message``: what the recovery fingerprint covers."""
        return self.body["Message"]


class UnsupportedMessageError(Exception):
    """A message ZIM cannot hold; ``code`` and ``reason`` become the failed outcome."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def _optional_text(content: Mapping[str, Any], field: str, index: int) -> str | None:
    value = content.get(field)
    if value is None or isinstance(value, str):
        return value
    raise UnsupportedMessageError(
        UNSUPPORTED, f"message.MsgBody[{index}].MsgContent.{field} is not a string"
    )


def _custom(content: Mapping[str, Any]) -> ZimMessage:
    data = content.get("Data")
    if not isinstance(data, str):
        raise UnsupportedMessageError(
            UNSUPPORTED, "message.MsgBody[0].MsgContent.Data is missing or not a string"
        )
    desc = _optional_text(content, "Desc", 0)
    ext = _optional_text(content, "Ext", 0)
    _optional_text(content, "Sound", 0)  # checked, then dropped: imports send no push
    body = {"Message": data}
    if ext:
        if _utf8_len(ext) > EXTENDED_DATA_MAX_BYTES:
            raise UnsupportedMessageError(
                MESSAGE_TOO_LARGE,
                f"message.MsgBody[0].MsgContent.Ext is {_utf8_len(ext)} bytes; ZIM's "
                f"ExtendedData holds at most {EXTENDED_DATA_MAX_BYTES}",
            )
        body["ExtendedData"] = ext
    return ZimMessage(
        MESSAGE_TYPE_CUSTOM,
        body,
        sub_msg_type=CUSTOM_SUB_MSG_TYPE,
        searched_content=cut_utf8(desc or "", SEARCHED_CONTENT_MAX_BYTES),
    )


def to_zim_message(message: GroupMessage) -> ZimMessage:
    """Map one event message to ZIM (the table above), or raise ``UnsupportedMessageError``."""
    bad = _bad_id_character(message.From_Account)
    if bad is not None:
        raise UnsupportedMessageError(
            UNSUPPORTED, f"message.From_Account holds {bad!r}, a character ZIM user IDs cannot hold"
        )
    elements = message.MsgBody
    if len(elements) != 1:
        kinds = ", ".join(element.MsgType for element in elements)
        raise UnsupportedMessageError(
            UNSUPPORTED,
            f"message.MsgBody has {len(elements)} elements ({kinds}); a ZIM message holds "
            f"exactly one {_SUPPORTED}",
        )
    element = elements[0]
    if element.MsgType == "TIMTextElem":
        text = element.MsgContent.get("Text")
        if not isinstance(text, str):
            raise UnsupportedMessageError(
                UNSUPPORTED, "message.MsgBody[0].MsgContent.Text is missing or not a string"
            )
        mapped = ZimMessage(MESSAGE_TYPE_TEXT, {"Message": text})
    elif element.MsgType == "TIMCustomElem":
        mapped = _custom(element.MsgContent)
    else:
        why = _NO_EQUIVALENT.get(element.MsgType, "ZIM has no equivalent message type")
        raise UnsupportedMessageError(
            UNSUPPORTED,
            f"message.MsgBody[0] is a {element.MsgType}: {why} (supported: {_SUPPORTED})",
        )
    size = _utf8_len(mapped.content)
    if size > MESSAGE_MAX_BYTES:
        raise UnsupportedMessageError(
            MESSAGE_TOO_LARGE,
            f"message.MsgBody[0] is {size} bytes; a ZIM message holds at most {MESSAGE_MAX_BYTES}",
        )
    return mapped


def _limit_problem(field: str, value: str | None, maximum: int) -> str | None:
    if value is not None and _utf8_len(value) > maximum:
        return f"group.{field} is {_utf8_len(value)} bytes; ZIM allows at most {maximum}"
    return None


def _attributes(group: GroupProfile) -> list[dict[str, str]]:
    items = group.AppDefinedData or []
    if len(items) > ATTRIBUTES_MAX:
        msg = f"group.AppDefinedData has {len(items)} items; ZIM allows at most {ATTRIBUTES_MAX}"
        raise PermanentProviderError(UNSUPPORTED, f"{CREATE_GROUP}: {msg}")
    for index, item in enumerate(items):
        problem = _limit_problem(
            f"AppDefinedData[{index}].Key", item.Key, ATTRIBUTE_KEY_MAX_BYTES
        ) or _limit_problem(f"AppDefinedData[{index}].Value", item.Value, ATTRIBUTE_VALUE_MAX_BYTES)
        if problem:
            raise PermanentProviderError(UNSUPPORTED, f"{CREATE_GROUP}: {problem}")
    return [{"Key": item.Key, "Value": item.Value} for item in items]


def _profile_problem(group: GroupProfile) -> str | None:
    group_id_bytes = _utf8_len(group.GroupId)
    if not 0 < group_id_bytes <= GROUP_ID_MAX_BYTES:
        return f"group.GroupId is {group_id_bytes} bytes; ZIM allows 1 to {GROUP_ID_MAX_BYTES}"
    if group.GroupId.startswith(GROUP_ID_FORBIDDEN_PREFIX):
        return f"group.GroupId may not start with {GROUP_ID_FORBIDDEN_PREFIX!r} in ZIM"
    if (bad := _bad_id_character(group.GroupId)) is not None:
        return f"group.GroupId holds {bad!r}, a character ZIM group IDs cannot hold"
    if not group.Owner_Account:
        return "group.Owner_Account is missing; ZIM's CreateGroup requires a GroupOwner"
    if (bad := _bad_id_character(group.Owner_Account)) is not None:
        return f"group.Owner_Account holds {bad!r}, a character ZIM user IDs cannot hold"
    return (
        _limit_problem("Name", group.Name, GROUP_NAME_MAX_BYTES)
        or _limit_problem("Notification", group.Notification, GROUP_NOTICE_MAX_BYTES)
        or _limit_problem("FaceUrl", group.FaceUrl, GROUP_AVATAR_MAX_BYTES)
    )


def create_group_body(group: GroupProfile) -> dict[str, Any]:
    """The ``CreateGroup`` body for a profile (the table above), or ``PermanentProviderError``."""
    problem = _profile_problem(group)
    if problem:
        raise PermanentProviderError(UNSUPPORTED, f"{CREATE_GROUP}: {problem}")
    body: dict[str, Any] = {
        "GroupId": group.GroupId,
        "GroupName": group.Name,
        "GroupOwner": group.Owner_Account,
    }
    if group.Notification is not None:
        body["GroupNotice"] = group.Notification
    if group.FaceUrl is not None:
        body["GroupAvatar"] = group.FaceUrl
    if group.CreateTime is not None:
        body["CreateGroupTime"] = group.CreateTime * 1000
    attributes = _attributes(group)
    if attributes:
        body["Attributes"] = attributes
    return body


def _user_info(account: Account) -> dict[str, str]:
    info = {"UserId": account.UserID}
    if account.Nick is not None:
        info["UserName"] = account.Nick
    if account.FaceUrl is not None:
        info["UserAvatar"] = account.FaceUrl
    return info


def _error_list(api: str, data: Mapping[str, Any]) -> dict[str, int]:
    """``ErrorList`` as UserId -> SubCode (empty when every user went through)."""
    listing = data.get("ErrorList") or []
    if not isinstance(listing, list):
        raise _unreadable(api, "ErrorList is not a list", request_id_of(data))
    refused: dict[str, int] = {}
    for item in listing:
        user = item.get("UserId") if isinstance(item, dict) else None
        code = _integer(item.get("SubCode")) if isinstance(item, dict) else None
        if not isinstance(user, str) or code is None:
            raise _unreadable(
                api, "an ErrorList entry lacks UserId or SubCode", request_id_of(data)
            )
        refused[user] = code or PARAMETER_ERROR
    return refused


def _history_content(body: object) -> str:
    """``MsgBody`` of a ``QueryGroupMsg`` entry as the text the fingerprint covers.

    unconfirmed shape: the ``Message`` string as imported; an object is read for its ``Message``.
    """
    if isinstance(body, str):
        return body
    if isinstance(body, dict) and isinstance(body.get("Message"), str):
        return str(body["Message"])
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _history_entry(index: int, item: object, request_id: str) -> HistoryEntry:
    """One ``QueryGroupMsg`` entry; ``AmbiguousProviderError`` when it cannot be read.

    An empty (deleted or recalled) message may lack its sender, time and type; a message may not.
    """
    where = f"List[{index}]"
    if not isinstance(item, dict):
        raise _unreadable(QUERY_GROUP_MSG, f"{where} is not an object", request_id)
    seq = _integer(item.get("MsgSeq"))
    if seq is None:
        raise _unreadable(QUERY_GROUP_MSG, f"{where} has no integer MsgSeq", request_id)
    empty = bool(item.get("IsEmpty"))
    sender = item.get("Sender")
    time_ms = _integer(item.get("MsgTime"))
    message_type = _integer(item.get("MsgType"))
    if not empty and (not isinstance(sender, str) or time_ms is None or message_type is None):
        raise _unreadable(
            QUERY_GROUP_MSG, f"{where} lacks a readable Sender, MsgTime or MsgType", request_id
        )
    sender = sender if isinstance(sender, str) else ""
    seconds = (time_ms or 0) // 1000
    content = _history_content(item.get("MsgBody"))
    return HistoryEntry(
        sender=sender,
        send_time=seconds,
        random=fingerprint(sender, seconds, message_type or 0, content),
        msg_seq=seq,
        msg_time=seconds,
        placeholder=1 if empty else 0,
    )


class ZegoProvider:
    """Calls the ZEGOCLOUD ZIM server API through a shared client."""

    name = "zego"
    messages_per_call = 1
    accounts_per_call = USERS_PER_CALL
    members_per_call = MEMBERS_PER_CALL
    group_missing_code = GROUP_NOT_FOUND
    api_names = ApiNames(
        CREATE_GROUP,
        IMPORT_GROUP_MSG,
        QUERY_GROUP_MSG,
        import_accounts=USER_REGISTER,
        import_members=INVITE_USERS,
        set_unread=SET_UNREAD,
        members=QUERY_GROUP_MEMBERS,
    )
    call_limits = CallLimits(
        per_api={USER_REGISTER: USER_REGISTER_CALLS_PER_SECOND},
        per_group={INVITE_USERS: INVITE_CALLS_PER_SECOND_PER_GROUP},
    )

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        app_id: int,
        server_secret: str,
        retention_days: int = 30,
    ) -> None:
        self.rules = zim_rules(retention_days=retention_days)
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._app_id = app_id
        self._server_secret = server_secret
        self._cursors: OrderedDict[tuple[str, int], int] = OrderedDict()
        self.calls: dict[tuple[str, str], int] = {}

    def __repr__(self) -> str:
        return f"ZegoProvider(base_url={self._base_url!r}, app_id={self._app_id})"

    def _count(self, api: str, result: str) -> None:
        self.calls[(api, result)] = self.calls.get((api, result), 0) + 1

    async def _call(
        self, api: str, body: dict[str, Any], *, sender: str = "", group_id: str = ""
    ) -> dict[str, Any]:
        params = {"Action": api, **signed_params(self._app_id, self._server_secret)}
        data = await post_for_object(
            self._client,
            f"{self._base_url}/",
            api=api,
            params=params,
            body=body,
            count=partial(self._count, api),
        )
        request_id = request_id_of(data)
        code = _integer(data.get("Code"))
        if code is None:
            self._count(api, "bad_response")
            raise _unreadable(api, "no integer Code", request_id)
        self._count(api, str(code))
        if code != OK:
            said = str(data.get("Message") or "")
            raise _error(
                code, describe(api, code, said, sender=sender, group_id=group_id), request_id
            )
        return data

    async def import_group(self, group: GroupProfile) -> GroupResult:
        """``CreateGroup``; a group that already exists (660600011) counts as imported."""
        body = create_group_body(group)
        try:
            await self._call(CREATE_GROUP, body, group_id=group.GroupId)
        except PermanentProviderError as exc:
            if exc.error_class is ErrorClass.ALREADY_EXISTS:
                return GroupResult(group_id=group.GroupId, already_existed=True)
            raise
        return GroupResult(group_id=group.GroupId)

    async def import_accounts(self, accounts: Sequence[Account]) -> list[AccountResult]:
        """``UserRegister`` with up to 100 users; ``ErrorList`` names the refused ones.

        ``UserID`` -> ``UserId``, ``Nick`` -> ``UserName``, ``FaceUrl`` -> ``UserAvatar``. A
        user registered before is registered again (its name and avatar updated; unconfirmed).
        """
        body = {"UserInfo": [_user_info(account) for account in accounts]}
        data = await self._call(USER_REGISTER, body)
        refused = _error_list(USER_REGISTER, data)
        return [
            AccountResult(code, describe(USER_REGISTER, code, sender=account.UserID))
            if (code := refused.get(account.UserID))
            else AccountResult(OK)
            for account in accounts
        ]

    async def import_members(
        self, group_id: str, members: Sequence[GroupMember], *, inviter: str | None = None
    ) -> list[MemberResult]:
        """``InviteUsersIntoGroup`` with up to 100 members; ``ErrorList`` names refused ones.

        ``JoinTime`` (s) -> ``EnterGroupTime`` (ms); ``Role`` and ``UnreadMsgNum`` are not sent
        (ZIM takes neither; the outcome says so). Invited in ``inviter``'s name (the group's
        owner), else the first member's.
        """
        infos: list[dict[str, Any]] = []
        for member in members:
            info: dict[str, Any] = {"UserId": member.Member_Account}
            if member.JoinTime is not None:
                info["EnterGroupTime"] = member.JoinTime * 1000
            infos.append(info)
        body = {
            "FromUserId": inviter or members[0].Member_Account,
            "GroupId": group_id,
            "GroupMemberInfos": infos,
        }
        data = await self._call(INVITE_USERS, body, group_id=group_id)
        refused = _error_list(INVITE_USERS, data)
        return [
            MemberResult(code, info=describe(INVITE_USERS, code, sender=member.Member_Account))
            if (code := refused.get(member.Member_Account))
            else MemberResult(OK)
            for member in members
        ]

    async def set_unread(self, group_id: str, member_account: str, count: int) -> None:
        """ZIM has no unread count to set: always refused (the rules refuse before calling)."""
        del group_id, member_account, count
        raise PermanentProviderError(UNSUPPORTED, UNREAD_REFUSAL)

    async def group_members(self, group_id: str) -> list[MemberInfo] | None:
        """``QueryGroupMemberList``, paged by ``Next`` (unconfirmed shape): the members' IDs."""
        members: list[MemberInfo] = []
        cursor = 0
        while True:
            body = {"GroupId": group_id, "Limit": MEMBERS_PER_CALL, "Next": cursor}
            data = await self._call(QUERY_GROUP_MEMBERS, body, group_id=group_id)
            listing = data.get("MemberList") or []
            if not isinstance(listing, list):
                raise _unreadable(QUERY_GROUP_MEMBERS, "MemberList is not a list")
            for item in listing:
                user = item.get("UserId") if isinstance(item, dict) else None
                if not isinstance(user, str):
                    raise _unreadable(QUERY_GROUP_MEMBERS, "a member has no UserId")
                entered = _integer(item.get("EnterGroupTime"))
                members.append(
                    MemberInfo(user, join_time=None if entered is None else entered // 1000)
                )
            following = _integer(data.get("Next")) or 0
            if following <= 0 or not listing:
                return members
            cursor = following

    async def import_messages(
        self,
        group_id: str,
        topic_id: str | None,
        messages: Sequence[GroupMessage],
        *,
        recent_contact: int | None = None,
    ) -> list[MessageResult]:
        """``ImportGroupMsg`` for exactly one message; its result (no RecentContactFlag)."""
        del recent_contact
        if len(messages) != 1:
            msg = f"{IMPORT_GROUP_MSG} takes one message per call, not {len(messages)}"
            raise ValueError(msg)
        if topic_id is not None:
            raise PermanentProviderError(
                UNSUPPORTED, f"{IMPORT_GROUP_MSG}: ZIM groups have no topics (topic_id is set)"
            )
        message = messages[0]
        try:
            mapped = to_zim_message(message)
        except UnsupportedMessageError as exc:
            raise PermanentProviderError(exc.code, exc.reason) from None
        body: dict[str, Any] = {
            "FromUserId": message.From_Account,
            "GroupId": group_id,
            "MessageType": mapped.message_type,
            "Priority": IMPORT_PRIORITY,
            "MessageBody": mapped.body,
            "SendMessageTime": message.SendTime * 1000,
        }
        if mapped.sub_msg_type is not None:
            body["SubMsgType"] = mapped.sub_msg_type
        if mapped.searched_content is not None:
            body["SearchedContent"] = mapped.searched_content
        data = await self._call(
            IMPORT_GROUP_MSG, body, sender=message.From_Account, group_id=group_id
        )
        seq = _integer(data.get("MsgSeq"))
        if seq is None or seq < 1:
            # Accepted, but the answer does not say where the message went.
            raise _unreadable(IMPORT_GROUP_MSG, "Code 0 but no MsgSeq", request_id_of(data))
        return [MessageResult(OK, seq, message.SendTime)]

    def _remember_cursor(self, group_id: str, below_seq: int, cursor: int) -> None:
        key = (group_id, below_seq)
        self._cursors[key] = cursor
        self._cursors.move_to_end(key)
        while len(self._cursors) > CURSOR_CACHE_SIZE:
            self._cursors.popitem(last=False)

    async def history(
        self,
        group_id: str,
        topic_id: str | None,
        *,
        before_seq: int | None,
        limit: int,
        with_recalled: bool = False,
    ) -> HistoryPage:
        """``QueryGroupMsg``: up to ``limit`` (at most 100) messages, newest first.

        ZIM has no topics: ``topic_id`` is ignored and the group's history is read. Empty
        (deleted or recalled) messages always come back, as placeholders (``WithEmptyMsg`` 1),
        so ``with_recalled`` changes nothing.
        """
        del topic_id, with_recalled
        cursor = 0
        if before_seq is not None:
            cursor = self._cursors.pop((group_id, before_seq), 0)
        body = {
            "GroupId": group_id,
            "Limit": max(1, min(limit, HISTORY_LIMIT_MAX)),
            "Next": cursor,
            "WithEmptyMsg": 1,
        }
        try:
            data = await self._call(QUERY_GROUP_MSG, body, group_id=group_id)
        except PermanentProviderError as exc:
            if exc.error_class is ErrorClass.GROUP_MISSING:
                return HistoryPage(entries=(), finished=True, group_exists=False)
            raise
        request_id = request_id_of(data)
        listing = data.get("List")
        if listing is None:
            listing = []
        if not isinstance(listing, list):
            raise _unreadable(QUERY_GROUP_MSG, "List is not a list", request_id)
        page = [_history_entry(index, item, request_id) for index, item in enumerate(listing)]
        following = data.get("Next")
        following = following if isinstance(following, int) and following > 0 else 0
        if following:
            lowest = min((entry.msg_seq for entry in page), default=None)
            if before_seq is not None and (lowest is None or lowest > before_seq):
                # Nothing at or below before_seq yet: asking again goes on from here.
                self._remember_cursor(group_id, before_seq, following)
            elif lowest is not None and lowest > 1:
                self._remember_cursor(group_id, lowest - 1, following)
        entries = tuple(
            entry for entry in page if before_seq is None or entry.msg_seq <= before_seq
        )
        return HistoryPage(entries=entries, finished=following == 0)

    def check_element_support(self, message: GroupMessage) -> tuple[int, str] | None:
        """A refusal (code, reason) for a message ZIM cannot hold (see the table above)."""
        try:
            to_zim_message(message)
        except UnsupportedMessageError as exc:
            return exc.code, exc.reason
        return None

    def recovery_key(self, message: GroupMessage, random: int) -> Candidate:
        """The message's fingerprint, as ``history`` computes it from ZIM's answer (no Random)."""
        del random
        try:
            mapped = to_zim_message(message)
        except UnsupportedMessageError:  # never imported, so never found; any key will do
            return Candidate(message.From_Account, message.SendTime, 0)
        key = fingerprint(
            message.From_Account, message.SendTime, mapped.message_type, mapped.content
        )
        return Candidate(message.From_Account, message.SendTime, key)
