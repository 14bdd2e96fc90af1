# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Tencent Cloud Chat REST adapter: every API of a migration, and the reads verify needs.

Accounts ``im_open_login_svc/multiaccount_import`` (100 a call; ``FailAccounts`` lists the ones
refused); groups ``import_group``; members ``import_group_member`` (a setting's maximum a call,
default 20; per member ``Result`` 0 failed, 1 imported, 2 already a member); messages
``import_group_msg`` (7 a call, with ``RecentContactFlag`` when asked); unread counts
``set_unread_msg_num`` (one member a call); history ``group_msg_get_simple``; members read back
``get_group_member_info``.

Calls are not rate-limited here: the caller waits on the call budget first (the engine does, so
that it can cut a batch at the moment its call may leave).

The request URL carries the UserSig, so nothing here ever puts a URL, a request or an httpx
exception text into an error: errors name the API and the failure only.

A whole ``import_group_msg`` call refused with 10004 or 10020 (one message broke a rule) raises
``BatchRefusedError``, naming the message when the answer does, so that the engine can isolate
it (``service.domain.isolation``) instead of failing its batch-mates.

An answer the adapter cannot read (no ``ErrorCode``, ``FAIL`` with code 0, a result entry that
is not an object, ``Result`` 0 without ``MsgSeq``, a number that is not one, a result list of
the wrong length) raises ``AmbiguousProviderError``: the call may have been applied, so the
engine reads the group's history before it sends anything again. Nothing else escapes: every
failure is a ``ProviderError``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import httpx

from service.domain import limits
from service.domain.events import Account, GroupMember, GroupMessage, GroupProfile
from service.domain.recovery import Candidate, HistoryEntry
from service.domain.retry_policy import ErrorClass
from service.domain.validation import Rules
from service.errors import (
    AmbiguousProviderError,
    BatchRefusedError,
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
from service.providers.tencent_sig import UserSigCache

GROUP_SERVICE = "group_open_http_svc"
LOGIN_SERVICE = "im_open_login_svc"
API_PREFIX = f"/v4/{GROUP_SERVICE}/"
IMPORT_GROUP = "import_group"
IMPORT_GROUP_MSG = "import_group_msg"
GROUP_MSG_GET_SIMPLE = "group_msg_get_simple"
MULTIACCOUNT_IMPORT = "multiaccount_import"
IMPORT_GROUP_MEMBER = "import_group_member"
SET_UNREAD_MSG_NUM = "set_unread_msg_num"
GET_GROUP_MEMBER_INFO = "get_group_member_info"
# multiaccount_import is documented at 100 calls per second, below the app's 200.
MULTIACCOUNT_IMPORT_CALLS_PER_SECOND = 100.0
# import_group_member's per-member Result
MEMBER_FAILED = 0
MEMBER_IMPORTED = 1
MEMBER_ALREADY = 2
# get_group_member_info: members per page (unconfirmed maximum; the pages ask for this many)
MEMBER_PAGE_SIZE = 100

# group_msg_get_simple's IsFinished: 1 every requested message is in the answer; 0 the answer
# was cut (messages too long, or more than 20); 2 cut, and the rest has expired.
IS_FINISHED_CUT = 0
IS_FINISHED_ALL = 1
IS_FINISHED_REST_EXPIRED = 2

ERROR_CLASSES: Mapping[int, ErrorClass] = {
    limits.INTERNAL_ERROR: ErrorClass.RETRY,
    60008: ErrorClass.RETRY,  # service timeout
    60007: ErrorClass.THROTTLED,  # REST API call frequency over the limit
    60011: ErrorClass.THROTTLED,
    60018: ErrorClass.THROTTLED,
    60019: ErrorClass.THROTTLED,
    70001: ErrorClass.RESIGN,  # UserSig expired
    limits.GROUP_NOT_FOUND: ErrorClass.GROUP_MISSING,
    limits.GROUP_ID_IN_USE: ErrorClass.ALREADY_EXISTS,
    limits.INVALID_COMMAND: ErrorClass.PERMANENT,
    limits.INVALID_PARAMETER: ErrorClass.PERMANENT,
    limits.NO_PERMISSION: ErrorClass.PERMANENT,
    limits.INVALID_GROUP_ID: ErrorClass.PERMANENT,
    limits.CONTENT_TOO_LONG: ErrorClass.PERMANENT,
    limits.RESTRICTED_WORDS: ErrorClass.PERMANENT,
    limits.MESSAGE_TOO_LARGE: ErrorClass.PERMANENT,
    limits.TOO_MANY_MEMBERS: ErrorClass.PERMANENT,
    limits.GROUP_FULL: ErrorClass.PERMANENT,
    limits.ACCOUNT_NOT_FOUND: ErrorClass.ACCOUNT_MISSING,
    # account APIs (700xx codes that are not about the UserSig; unconfirmed readings)
    limits.ACCOUNT_MISSING: ErrorClass.ACCOUNT_MISSING,
    limits.ACCOUNT_INVALID_PARAMETER: ErrorClass.PERMANENT,
    limits.ACCOUNT_LIMIT_REACHED: ErrorClass.PERMANENT,
    **dict.fromkeys(limits.ACCOUNT_RETRY_CODES, ErrorClass.RETRY),
}


_INTEGER = re.compile(r"-?[0-9]+")


def number(value: object) -> int | None:
    """An integer as the provider sent it (a JSON integer or a string of digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    return None


# Codes with which Tencent refuses a whole import_group_msg call for what one message holds.
BATCH_REFUSAL_CODES: frozenset[int] = Rules().isolatable_codes
# unconfirmed: how ErrorInfo names the offending message; the emulator writes "MsgList[3]....".
_NAMED_MESSAGE = re.compile(r"MsgList\[(\d+)\]")


def suspect_in(info: str, size: int) -> int | None:
    """The position of the message a refusal's ErrorInfo names, if it names one of ``size``."""
    found = _NAMED_MESSAGE.search(info)
    if found is None:
        return None
    position = int(found.group(1))
    return position if position < size else None


def _unreadable(api: str, what: str) -> AmbiguousProviderError:
    return AmbiguousProviderError(0, f"{api}: unreadable answer ({what})")


# Public REST codes (60000-60999) are about the request or the app, never one event: other than
# the frequency limits and the service timeout above, each stops all calls with this reason.
# unconfirmed: our reading of the public error code table (the seeds only point to it).
PUBLIC_CODES = range(60_000, 61_000)
USER_SIG_CODES = range(70_000, 71_000)
PUBLIC_CODE_REASONS: Mapping[int, str] = {
    60002: "the request URL could not be parsed",
    60003: "the request body is not valid JSON",
    60004: "the account or signature in the request URL was refused",
    60005: "the account or signature in the request URL was refused",
    60006: "the SDKAppID is not valid: check CHAT_IMPORT_TENCENT__SDK_APP_ID",
    60010: (
        "the request needs the app admin: CHAT_IMPORT_TENCENT__ADMIN_IDENTIFIER is not an "
        "admin account of the app"
    ),
    60012: "the request carries no SDKAppID",
    60016: "the SDKAppID is disabled",
    60017: "requests are disabled for the app",
    60020: "the app's plan has expired or been suspended, or does not include this feature",
    60021: "this machine's IP address is not on the app's REST API allowlist",
}


def classify(code: int) -> ErrorClass:
    """The handling class of a Tencent error code.

    Listed codes take their class; other public codes (600xx) and UserSig codes (700xx) are
    configuration (stop calling, report); any other code is a permanent refusal of the event.
    """
    known = ERROR_CLASSES.get(code)
    if known is not None:
        return known
    if code in PUBLIC_CODES or code in USER_SIG_CODES:
        return ErrorClass.CONFIGURATION
    return ErrorClass.PERMANENT


_PERMANENT_CLASSES = frozenset(
    {
        ErrorClass.PERMANENT,
        ErrorClass.GROUP_MISSING,
        ErrorClass.ALREADY_EXISTS,
        ErrorClass.ACCOUNT_MISSING,
    }
)


def _error(api: str, code: int, info: str) -> ProviderError:
    error_class = classify(code)
    if code in PUBLIC_CODES and error_class is ErrorClass.CONFIGURATION:
        reason = PUBLIC_CODE_REASONS.get(code, "a public error code of the REST API")
        info = f"{reason} ({code}): {info}" if info else f"{reason} ({code})"
    text = f"{api}: {info}" if info else api
    if error_class is ErrorClass.CONFIGURATION:
        return ConfigurationError(code, text)
    if error_class in _PERMANENT_CLASSES:
        return PermanentProviderError(code, text, error_class)
    return RetryableProviderError(code, text, error_class)


class TencentProvider:
    """Calls the Tencent Cloud Chat REST API through a shared client and budget."""

    name = "tencent"
    messages_per_call = limits.MESSAGES_PER_CALL
    accounts_per_call = limits.ACCOUNTS_PER_CALL
    group_missing_code = limits.GROUP_NOT_FOUND
    api_names = ApiNames(
        IMPORT_GROUP,
        IMPORT_GROUP_MSG,
        GROUP_MSG_GET_SIMPLE,
        import_accounts=MULTIACCOUNT_IMPORT,
        import_members=IMPORT_GROUP_MEMBER,
        set_unread=SET_UNREAD_MSG_NUM,
        members=GET_GROUP_MEMBER_INFO,
    )
    call_limits = CallLimits(per_api={MULTIACCOUNT_IMPORT: MULTIACCOUNT_IMPORT_CALLS_PER_SECOND})

    def __init__(  # noqa: PLR0913 - the app's coordinates and its documented edition
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        sdk_app_id: int,
        admin_identifier: str,
        user_sig: UserSigCache,
        message_size_limit: int = limits.MESSAGE_SIZE_LIMIT_2024,
        members_per_call: int = limits.MEMBERS_PER_CALL,
        recent_contact_flag: int = 0,
    ) -> None:
        self.rules = Rules(message_size_limit=message_size_limit)
        self.members_per_call = members_per_call
        self._recent_contact_default = recent_contact_flag
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._sdk_app_id = sdk_app_id
        self._admin = admin_identifier
        self._user_sig = user_sig
        self._random = random.SystemRandom()
        self.calls: dict[tuple[str, str], int] = {}

    def __repr__(self) -> str:
        return f"TencentProvider(base_url={self._base_url!r}, sdk_app_id={self._sdk_app_id})"

    def _count(self, api: str, result: str) -> None:
        self.calls[(api, result)] = self.calls.get((api, result), 0) + 1

    async def _call(
        self, api: str, body: dict[str, Any], service: str = GROUP_SERVICE
    ) -> dict[str, Any]:
        params = {
            "sdkappid": str(self._sdk_app_id),
            "identifier": self._admin,
            "usersig": self._user_sig.current(),
            "random": str(self._random.randint(0, limits.RANDOM_MAX)),
            "contenttype": "json",
        }
        data = await post_for_object(
            self._client,
            f"{self._base_url}/v4/{service}/{api}",
            api=api,
            params=params,
            body=body,
            count=partial(self._count, api),
        )
        code = number(data.get("ErrorCode"))
        if code is None:
            self._count(api, "bad_response")
            raise _unreadable(api, "no integer ErrorCode")
        if code == 0 and data.get("ActionStatus") == "FAIL":
            self._count(api, "bad_response")
            raise _unreadable(api, "ActionStatus FAIL with ErrorCode 0")
        self._count(api, str(code))
        if code != 0:
            error_class = classify(code)
            if error_class is ErrorClass.RESIGN:
                self._user_sig.invalidate()
            raise _error(api, code, str(data.get("ErrorInfo", ""))[:300])
        return data

    async def import_group(self, group: GroupProfile) -> GroupResult:
        """``import_group``; a group that already exists (10021) counts as imported."""
        body = group.model_dump(mode="json", exclude_none=True)
        try:
            data = await self._call(IMPORT_GROUP, body)
        except PermanentProviderError as exc:
            if exc.error_class is ErrorClass.ALREADY_EXISTS:
                return GroupResult(group_id=group.GroupId, already_existed=True)
            raise
        return GroupResult(group_id=str(data.get("GroupId") or group.GroupId))

    async def import_messages(
        self,
        group_id: str,
        topic_id: str | None,
        messages: Sequence[GroupMessage],
        *,
        recent_contact: int | None = None,
    ) -> list[MessageResult]:
        """``import_group_msg`` with up to 7 messages; one result per message, in order.

        ``RecentContactFlag`` 1 is sent when ``recent_contact`` (or, when it is None, the
        default setting) says so; 0 is the provider's default and is not sent.
        """
        body: dict[str, Any] = {"GroupId": group_id}
        flag = self._recent_contact_default if recent_contact is None else recent_contact
        if flag:
            body["RecentContactFlag"] = 1
        body["MsgList"] = [m.model_dump(mode="json", exclude_none=True) for m in messages]
        if topic_id is not None:
            body["TopicId"] = topic_id
        try:
            data = await self._call(IMPORT_GROUP_MSG, body)
        except PermanentProviderError as exc:
            if exc.code in BATCH_REFUSAL_CODES:
                raise BatchRefusedError(
                    exc.code, exc.info, suspect=suspect_in(exc.info, len(messages))
                ) from None
            raise
        results = data.get("ImportMsgResult")
        if not isinstance(results, list) or len(results) != len(messages):
            # The call was accepted but the answer does not say which message got which seq.
            raise AmbiguousProviderError(0, f"{IMPORT_GROUP_MSG}: result list does not match")
        return [_message_result(index, item) for index, item in enumerate(results)]

    async def history(
        self,
        group_id: str,
        topic_id: str | None,
        *,
        before_seq: int | None,
        limit: int,
        with_recalled: bool = False,
    ) -> HistoryPage:
        """``group_msg_get_simple``: up to 20 messages with seq <= ``before_seq``, newest first.

        The list is read from ``RspMsgList`` (the sample answer) or ``MsgList`` (the field
        table). ``IsFinished`` 0 means the provider cut the page (long messages), so a short page
        is the end only with ``IsFinished`` 1 (or 2: the rest has expired); without
        ``IsFinished``, a short page is the end.
        """
        body: dict[str, Any] = {
            "GroupId": group_id,
            "ReqMsgNumber": min(limit, limits.HISTORY_PAGE_SIZE),
        }
        if before_seq is not None:
            body["ReqMsgSeq"] = before_seq
        if topic_id is not None:
            body["TopicId"] = topic_id
        if with_recalled:
            body["WithRecalledMsg"] = 1
        try:
            data = await self._call(GROUP_MSG_GET_SIMPLE, body)
        except PermanentProviderError as exc:
            if exc.error_class is ErrorClass.GROUP_MISSING:
                return HistoryPage(entries=(), finished=True, group_exists=False)
            raise
        return _history_page(data, requested=body["ReqMsgNumber"])

    async def import_accounts(self, accounts: Sequence[Account]) -> list[AccountResult]:
        """``multiaccount_import`` with up to 100 accounts; those in ``FailAccounts`` failed.

        An account that exists already is updated, not duplicated: importing again is safe.
        """
        body = {"AccountList": [a.model_dump(mode="json", exclude_none=True) for a in accounts]}
        data = await self._call(MULTIACCOUNT_IMPORT, body, LOGIN_SERVICE)
        failed = data.get("FailAccounts") or []
        if not isinstance(failed, list) or not all(isinstance(x, str) for x in failed):
            raise _unreadable(MULTIACCOUNT_IMPORT, "FailAccounts is not a list of UserIDs")
        refused = set(failed)
        return [
            AccountResult(limits.ACCOUNT_INVALID_PARAMETER, _FAIL_ACCOUNTS_INFO)
            if account.UserID in refused
            else AccountResult(0)
            for account in accounts
        ]

    async def import_members(
        self, group_id: str, members: Sequence[GroupMember], *, inviter: str | None = None
    ) -> list[MemberResult]:
        """``import_group_member``: one result per member (``Result`` 0, 1 or 2), in order.

        A member already in the group (``Result`` 2) counts as imported: importing again is
        safe. The answer is matched by ``Member_Account``; one that lists a member twice or not
        at all cannot be read.
        """
        del inviter  # the app admin imports: no member invites
        body = {
            "GroupId": group_id,
            "MemberList": [m.model_dump(mode="json", exclude_none=True) for m in members],
        }
        data = await self._call(IMPORT_GROUP_MEMBER, body)
        return _member_results(data, members)

    async def set_unread(self, group_id: str, member_account: str, count: int) -> None:
        """``set_unread_msg_num`` for one member (clamped by the provider to the message count)."""
        body = {"GroupId": group_id, "Member_Account": member_account, "UnreadMsgNum": count}
        await self._call(SET_UNREAD_MSG_NUM, body)

    async def group_members(self, group_id: str) -> list[MemberInfo] | None:
        """``get_group_member_info``, page by page (``Limit``/``Offset``): role, join, read seq."""
        members: list[MemberInfo] = []
        while True:
            body = {
                "GroupId": group_id,
                "Limit": MEMBER_PAGE_SIZE,
                "Offset": len(members),
                "MemberInfoFilter": ["Role", "JoinTime", "MsgSeq"],
            }
            data = await self._call(GET_GROUP_MEMBER_INFO, body)
            page = data.get("MemberList") or []
            total = number(data.get("MemberNum"))
            if not isinstance(page, list) or total is None:
                raise _unreadable(GET_GROUP_MEMBER_INFO, "no MemberNum or MemberList")
            members.extend(_member_info(index, item) for index, item in enumerate(page))
            if not page or len(members) >= total:
                return members

    def check_element_support(self, message: GroupMessage) -> tuple[int, str] | None:
        """Every element type the event contract allows is native to Tencent."""
        del message
        return None

    def recovery_key(self, message: GroupMessage, random: int) -> Candidate:
        """Tencent's history keeps sender, send time and Random."""
        return Candidate(message.From_Account, message.SendTime, random)


_FAIL_ACCOUNTS_INFO = (
    "multiaccount_import listed this account in FailAccounts (the answer gives no reason)"
)
_MEMBER_FAILED_INFO = (
    "import_group_member: the provider refused this member (Result 0); its JoinTime must be "
    "after the group's creation and before now"
)


def _member_results(data: Mapping[str, Any], members: Sequence[GroupMember]) -> list[MemberResult]:
    listing = data.get("MemberList")
    if not isinstance(listing, list):
        raise _unreadable(IMPORT_GROUP_MEMBER, "MemberList is not a list")
    by_account: dict[str, int] = {}
    for index, item in enumerate(listing):
        account = item.get("Member_Account") if isinstance(item, dict) else None
        result = number(item.get("Result")) if isinstance(item, dict) else None
        if not isinstance(account, str) or result is None or account in by_account:
            raise _unreadable(IMPORT_GROUP_MEMBER, f"MemberList[{index}] cannot be read")
        by_account[account] = result
    results: list[MemberResult] = []
    for member in members:
        result = by_account.get(member.Member_Account)
        if result is None:
            raise _unreadable(IMPORT_GROUP_MEMBER, f"no Result for {member.Member_Account!r}")
        if result == MEMBER_FAILED:
            results.append(MemberResult(limits.INVALID_PARAMETER, info=_MEMBER_FAILED_INFO))
        elif result in {MEMBER_IMPORTED, MEMBER_ALREADY}:
            results.append(MemberResult(0, already_member=result == MEMBER_ALREADY))
        else:
            raise _unreadable(IMPORT_GROUP_MEMBER, f"Result {result} is not 0, 1 or 2")
    return results


def _member_info(index: int, item: object) -> MemberInfo:
    where = f"MemberList[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("Member_Account"), str):
        raise _unreadable(GET_GROUP_MEMBER_INFO, f"{where} has no Member_Account")
    role = item.get("Role")
    return MemberInfo(
        user_id=str(item["Member_Account"]),
        role=role if isinstance(role, str) else None,
        join_time=number(item.get("JoinTime")),
        read_seq=number(item.get("MsgSeq")),
    )


_RESULT_INFO = {
    limits.INVALID_PARAMETER: "the provider refused the send time (10004)",
    limits.RESTRICTED_WORDS: "the message contains restricted words (80001)",
    limits.MESSAGE_TOO_LARGE: "the message is over the provider's size limit (80002)",
}


def _result_info(code: int) -> str:
    return _RESULT_INFO.get(code, f"the provider refused the message ({code})")


def _message_result(index: int, item: object) -> MessageResult:
    """One ``ImportMsgResult`` entry; ``AmbiguousProviderError`` when it cannot be read."""
    where = f"ImportMsgResult[{index}]"
    if not isinstance(item, dict):
        raise _unreadable(IMPORT_GROUP_MSG, f"{where} is not an object")
    code = number(item.get("Result"))
    if code is None:
        raise _unreadable(IMPORT_GROUP_MSG, f"{where}.Result is missing or not a number")
    if code != 0:
        return MessageResult(code, info=_result_info(code))
    seq = number(item.get("MsgSeq"))
    if seq is None or seq < 1:
        raise _unreadable(IMPORT_GROUP_MSG, f"{where} has Result 0 but no MsgSeq")
    time = number(item.get("MsgTime"))
    if time is None and item.get("MsgTime") is not None:
        raise _unreadable(IMPORT_GROUP_MSG, f"{where}.MsgTime is not a number")
    return MessageResult(0, seq, time)


def _history_page(data: Mapping[str, Any], *, requested: int) -> HistoryPage:
    """A ``group_msg_get_simple`` answer as a page; ``finished`` when nothing older is left."""
    listing = data.get("RspMsgList")
    if listing is None:
        listing = data.get("MsgList")
    if listing is None:
        listing = []
    if not isinstance(listing, list):
        raise _unreadable(GROUP_MSG_GET_SIMPLE, "the message list is not a list")
    entries = tuple(_history_entry(index, item) for index, item in enumerate(listing))
    is_finished = number(data.get("IsFinished", IS_FINISHED_ALL))
    if is_finished is None:
        raise _unreadable(GROUP_MSG_GET_SIMPLE, "IsFinished is not a number")
    if is_finished == IS_FINISHED_ALL:
        finished = len(entries) < requested
    else:  # cut short: older messages remain, unless they have all expired
        finished = is_finished == IS_FINISHED_REST_EXPIRED
    return HistoryPage(entries=entries, finished=finished)


def _history_entry(index: int, item: object) -> HistoryEntry:
    """One ``RspMsgList`` entry; ``AmbiguousProviderError`` when it cannot be read.

    A placeholder (``IsPlaceMsg`` 1 or 2: deleted, expired, not stored, recalled) may lack its
    sender, time and Random; a message may not.
    """
    where = f"RspMsgList[{index}]"
    if not isinstance(item, dict):
        raise _unreadable(GROUP_MSG_GET_SIMPLE, f"{where} is not an object")
    seq = number(item.get("MsgSeq"))
    placeholder = number(item.get("IsPlaceMsg") or 0)
    system = number(item.get("IsSystemMsg") or 0)
    if seq is None or placeholder is None or system is None:
        raise _unreadable(
            GROUP_MSG_GET_SIMPLE, f"{where} has no readable MsgSeq, IsPlaceMsg or IsSystemMsg"
        )
    sender = item.get("From_Account")
    time = number(item.get("MsgTimeStamp"))
    random_value = number(item.get("MsgRandom"))
    if not placeholder and (not isinstance(sender, str) or time is None or random_value is None):
        raise _unreadable(
            GROUP_MSG_GET_SIMPLE, f"{where} lacks From_Account, MsgTimeStamp or MsgRandom"
        )
    return HistoryEntry(
        sender=sender if isinstance(sender, str) else "",
        send_time=time or 0,
        random=-1 if random_value is None else random_value,
        msg_seq=seq,
        msg_time=time or 0,
        placeholder=placeholder,
        system=system == 1,
    )
