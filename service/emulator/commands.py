# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The REST APIs as plain functions: decoded body in, response body out (no HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from service.emulator import rules
from service.emulator.errors import ApiError
from service.emulator.store import EmulatorStore, MessageResult, StoredMessage
from service.emulator.validation import (
    parse_history,
    parse_import_group,
    parse_import_group_member,
    parse_import_group_msg,
    parse_member_info,
    parse_multiaccount_import,
    parse_set_unread,
)

Answer = dict[str, Any]
Command = Callable[[EmulatorStore, object, int], Answer]

IMPORT_GROUP = "import_group"
IMPORT_GROUP_MSG = "import_group_msg"
GROUP_MSG_GET_SIMPLE = "group_msg_get_simple"
MULTIACCOUNT_IMPORT = "multiaccount_import"
IMPORT_GROUP_MEMBER = "import_group_member"
SET_UNREAD_MSG_NUM = "set_unread_msg_num"
GET_GROUP_MEMBER_INFO = "get_group_member_info"


def ok(**fields: Any) -> Answer:  # noqa: ANN401 - response fields are JSON values
    """Build a successful answer carrying ``fields``."""
    return {"ActionStatus": "OK", "ErrorCode": rules.OK, "ErrorInfo": "", **fields}


def fail(code: int, info: str) -> Answer:
    """Build the answer to a refused call."""
    return {"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": info}


def import_group(store: EmulatorStore, payload: object, now: int) -> Answer:
    """``import_group``: the GroupId the provider holds."""
    group = store.import_group(parse_import_group(payload), now=now)
    return ok(GroupId=group.group_id)


def _result_entry(result: MessageResult) -> Answer:
    if result.seq is None:  # a refused message gets no seq
        return {"MsgTime": result.time, "Result": result.result}
    return {"MsgSeq": result.seq, "MsgTime": result.time, "Result": result.result}


def import_group_msg(store: EmulatorStore, payload: object, now: int) -> Answer:
    """``import_group_msg``: one ``ImportMsgResult`` entry per message, in request order."""
    results = store.import_messages(parse_import_group_msg(payload), now=now)
    return ok(ImportMsgResult=[_result_entry(result) for result in results])


def _placeholder(message: StoredMessage) -> int:
    if message.deleted:
        return rules.PLACEHOLDER_DELETED
    if message.recalled:
        return rules.PLACEHOLDER_RECALLED
    return 0


def _history_entry(message: StoredMessage) -> Answer:
    placeholder = _placeholder(message)
    entry: Answer = {
        "From_Account": message.sender,
        "IsPlaceMsg": placeholder,
        "MsgBody": [] if placeholder else message.body,
        "MsgPriority": rules.IMPORTED_MSG_PRIORITY,
        "MsgRandom": message.random,
        "MsgSeq": message.seq,
        "MsgTimeStamp": message.time,
    }
    if message.system:
        entry["IsSystemMsg"] = 1
    return entry


def group_msg_get_simple(store: EmulatorStore, payload: object, now: int) -> Answer:
    """``group_msg_get_simple``: newest first; IsFinished 0 when the page was cut short."""
    del now
    request = parse_history(payload)
    page = store.history(request)
    is_finished = rules.IS_FINISHED_ALL
    cut = store.history_page_limit
    if cut is not None and len(page) > cut:
        page = page[:cut]
        is_finished = rules.IS_FINISHED_CUT
    return ok(
        GroupId=request.group_id,
        IsFinished=is_finished,
        RspMsgList=[_history_entry(message) for message in page],
    )


def multiaccount_import(store: EmulatorStore, payload: object, now: int) -> Answer:
    """``multiaccount_import``: the accounts refused, in ``FailAccounts``."""
    del now
    return ok(FailAccounts=store.import_accounts(parse_multiaccount_import(payload)))


def import_group_member(store: EmulatorStore, payload: object, now: int) -> Answer:
    """``import_group_member``: one ``Result`` per member, in request order."""
    request = parse_import_group_member(payload, store.members_per_call)
    results = store.import_members(request, now=now)
    return ok(
        MemberList=[
            {"Member_Account": member.account, "Result": result}
            for member, result in zip(request.members, results, strict=True)
        ]
    )


def set_unread_msg_num(store: EmulatorStore, payload: object, now: int) -> Answer:
    """``set_unread_msg_num``: nothing but the status."""
    del now
    store.set_unread(parse_set_unread(payload))
    return ok()


def get_group_member_info(store: EmulatorStore, payload: object, now: int) -> Answer:
    """``get_group_member_info``: ``MemberNum`` and the page of members asked for."""
    del now
    total, members = store.member_page(parse_member_info(payload))
    return ok(
        MemberNum=total,
        MemberList=[
            {
                "Member_Account": member.account,
                "Role": member.role,
                "JoinTime": member.join_time,
                "MsgSeq": member.read_seq,
                "MsgFlag": "AcceptAndNotify",
            }
            for member in members
        ],
    )


COMMANDS: Mapping[str, Command] = {
    IMPORT_GROUP: import_group,
    IMPORT_GROUP_MSG: import_group_msg,
    GROUP_MSG_GET_SIMPLE: group_msg_get_simple,
    MULTIACCOUNT_IMPORT: multiaccount_import,
    IMPORT_GROUP_MEMBER: import_group_member,
    SET_UNREAD_MSG_NUM: set_unread_msg_num,
    GET_GROUP_MEMBER_INFO: get_group_member_info,
}

# The service each API is served under (``/v4/{service}/{api}``).
SERVICES: Mapping[str, str] = {
    **dict.fromkeys(COMMANDS, rules.GROUP_SERVICE),
    MULTIACCOUNT_IMPORT: rules.LOGIN_SERVICE,
}


def run_command(api: str, store: EmulatorStore, payload: object, now: int) -> Answer:
    """Answer one call to ``api`` (10003 for an unknown one); refusals become FAIL answers."""
    command = COMMANDS.get(api)
    if command is None:
        return fail(rules.INVALID_COMMAND, f"unknown API {api!r}")
    try:
        return command(store, payload, now)
    except ApiError as exc:
        return fail(exc.code, exc.info)
