# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The three REST APIs as plain functions: decoded body in, response body out (no HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from service.emulator import rules
from service.emulator.errors import ApiError
from service.emulator.store import EmulatorStore, MessageResult, StoredMessage
from service.emulator.validation import (
    parse_history,
    parse_import_group,
    parse_import_group_msg,
)

Answer = dict[str, Any]
Command = Callable[[EmulatorStore, object, int], Answer]

IMPORT_GROUP = "import_group"
IMPORT_GROUP_MSG = "import_group_msg"
GROUP_MSG_GET_SIMPLE = "group_msg_get_simple"


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


COMMANDS: Mapping[str, Command] = {
    IMPORT_GROUP: import_group,
    IMPORT_GROUP_MSG: import_group_msg,
    GROUP_MSG_GET_SIMPLE: group_msg_get_simple,
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
