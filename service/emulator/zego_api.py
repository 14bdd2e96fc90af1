# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""``POST /?Action=<API>``: the ZIM server API's call pipeline.

In order: ZIM not configured (3, authentication failed); an unknown ``Action`` (2); the ZIM call
budget (7 by default; the excess call is refused and not applied); the common parameters and
signature (2 malformed, 3 unknown AppId, 100000004 timestamp outside the tolerance, 100000005
signature mismatch or a nonce used twice); injected latency; an injected HTTP 500 or "server
busy" (1, not applied); the body (not JSON: 2); the API itself; and, when injected, a connection
that breaks after the call was applied. Every answer except an injected 500 is HTTP 200 with
``{"Code", "Message", "RequestId", ...}``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from service.emulator import zego_rules as zr
from service.emulator.errors import ApiError
from service.emulator.faults import Failure
from service.emulator.rest import BrokenResponse
from service.emulator.zego_validation import (
    parse_create_group,
    parse_import_message,
    parse_invite_users,
    parse_query_members,
    parse_query_messages,
    parse_user_register,
)
from service.providers.zego_sign import SignatureProblem, verify_signature

if TYPE_CHECKING:
    from starlette.requests import Request

    from service.emulator.state import EmulatorState
    from service.emulator.zego_state import ZegoState
    from service.emulator.zego_store import ZimMessage, ZimStore

Answer = dict[str, Any]
Action = Callable[["ZimStore", object, int], Answer]

_JSON = "application/json"
_SIGNATURE_CODES: Mapping[SignatureProblem, int] = {
    SignatureProblem.MISSING: zr.PARAMETER_ERROR,
    SignatureProblem.MALFORMED: zr.PARAMETER_ERROR,
    SignatureProblem.WRONG_VERSION: zr.PARAMETER_ERROR,
    SignatureProblem.UNKNOWN_APP: zr.AUTHENTICATION_FAILED,
    SignatureProblem.EXPIRED: zr.SIGNATURE_EXPIRED,
    SignatureProblem.MISMATCH: zr.SIGNATURE_ERROR,
}


def create_group(store: ZimStore, payload: object, now_ms: int) -> Answer:
    """``CreateGroup``: the group's ID."""
    group = store.create_group(parse_create_group(payload), now_ms=now_ms)
    return {"GroupId": group.group_id}


def import_group_msg(store: ZimStore, payload: object, now_ms: int) -> Answer:
    """``ImportGroupMsg``: the stored message's ``MsgSeq``."""
    message = store.import_message(parse_import_message(payload), now_ms=now_ms)
    return {"MsgSeq": message.seq}


def history_entry(message: ZimMessage) -> Answer:
    """One entry of ``QueryGroupMsg``'s ``List`` (an empty message has no body)."""
    return {
        "Sender": message.sender,
        "MsgType": message.message_type,
        "SubMsgType": message.sub_msg_type,
        "MsgBody": "" if message.empty else message.message,
        "MsgSeq": message.seq,
        "MsgTime": message.time_ms,
        "IsEmpty": message.empty,
    }


def query_group_msg(store: ZimStore, payload: object, now_ms: int) -> Answer:
    """``QueryGroupMsg``: newest first; ``Next`` resumes below this page (0: nothing left)."""
    del now_ms
    page = store.history(parse_query_messages(payload))
    return {
        "Next": zr.encode_cursor(page.next_seq or 0),
        "List": [history_entry(message) for message in page.messages],
    }


def _error_list(refused: list[tuple[str, int]]) -> list[Answer]:
    return [{"UserId": user, "SubCode": code} for user, code in refused]


def user_register(store: ZimStore, payload: object, now_ms: int) -> Answer:
    """``UserRegister``: ``ErrorList`` names each user refused, with its ``SubCode``."""
    del now_ms
    return {"ErrorList": _error_list(store.register(parse_user_register(payload)))}


def invite_users(store: ZimStore, payload: object, now_ms: int) -> Answer:
    """``InviteUsersIntoGroup``: ``ErrorList`` names each invitee who could not join."""
    return {"ErrorList": _error_list(store.invite(parse_invite_users(payload), now_ms=now_ms))}


def query_group_members(store: ZimStore, payload: object, now_ms: int) -> Answer:
    """``QueryGroupMemberList``: a page of ``{UserId, EnterGroupTime}``; ``Next`` resumes it."""
    del now_ms
    page, following = store.member_page(parse_query_members(payload))
    return {
        "MemberList": [{"UserId": user, "EnterGroupTime": at} for user, at in page],
        "Next": zr.encode_cursor(following),
    }


ACTIONS: Mapping[str, Action] = {
    zr.CREATE_GROUP: create_group,
    zr.IMPORT_GROUP_MSG: import_group_msg,
    zr.QUERY_GROUP_MSG: query_group_msg,
    zr.USER_REGISTER: user_register,
    zr.INVITE_USERS: invite_users,
    zr.QUERY_GROUP_MEMBERS: query_group_members,
}


def run_action(action: str, store: ZimStore, payload: object, now_ms: int) -> tuple[int, Answer]:
    """Answer one call to ``action``: its code and answer fields (the message when refused)."""
    command = ACTIONS.get(action)
    if command is None:
        return zr.PARAMETER_ERROR, {"Message": f"unknown Action {action!r}"}
    try:
        return zr.OK, command(store, payload, now_ms)
    except ApiError as exc:
        return exc.code, {"Message": exc.info}


def _encode(zim: ZegoState, code: int, fields: Answer) -> bytes:
    answer = {
        "Code": code,
        "Message": "success" if code == zr.OK else "",
        "RequestId": zim.request_id(),
        **fields,
    }
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _answer(zim: ZegoState, code: int, message: str) -> Response:
    return Response(_encode(zim, code, {"Message": message}), media_type=_JSON)


def _signature_refusal(zim: ZegoState, query: Mapping[str, str]) -> tuple[int, str] | None:
    assert zim.app_id is not None  # noqa: S101 - configured
    assert zim.server_secret is not None  # noqa: S101
    now = zim.clock()
    problem = verify_signature(query, app_id=zim.app_id, server_secret=zim.server_secret, now=now)
    if problem is not None:
        if problem[0] in {SignatureProblem.MISMATCH, SignatureProblem.EXPIRED}:
            zim.signature_failures += 1
        return _SIGNATURE_CODES[problem[0]], problem[1]
    if not zim.nonces.first_use(query["SignatureNonce"], now):
        zim.signature_failures += 1
        return zr.REPLAYED_NONCE, "SignatureNonce was used before: sign every call afresh"
    return None


def _refusal(zim: ZegoState, action: str, query: Mapping[str, str]) -> tuple[int, str] | None:
    """Refuse the call before it is looked at: not configured, unknown, over budget, unsigned."""
    label = action if action in ACTIONS else "unknown"
    refusal: tuple[int, str] | None = None
    if not zim.configured:
        refusal = (zr.AUTHENTICATION_FAILED, "ZIM is not configured on this emulator")
    elif action not in ACTIONS:
        refusal = (zr.PARAMETER_ERROR, f"unknown Action {action[:40]!r}")
    elif not zim.budget.try_acquire(action):
        zim.stats.rate_limited += 1
        refusal = (zim.rate_limit_code, "calls per second over the limit")
    else:
        zim.stats.admitted()
        refusal = _signature_refusal(zim, query)
    if refusal is not None:
        zim.stats.call(label, refusal[0])
    return refusal


async def handle_zim_call(state: EmulatorState, request: Request) -> Response:
    """Answer one ZIM server API call as the provider would."""
    zim = state.zego
    action = request.query_params.get("Action", "")
    refused = _refusal(zim, action, request.query_params)
    if refused is not None:
        return _answer(zim, refused[0], refused[1])

    decision = state.faults.draw()
    if decision.spiked:
        zim.stats.fault("latency_spike")
    if decision.latency_seconds > 0:
        await asyncio.sleep(decision.latency_seconds)
    if decision.failure is Failure.HTTP_500:
        zim.stats.fault(Failure.HTTP_500.value)
        zim.stats.call(action, "http_500")
        return Response(b"Internal Server Error", status_code=500, media_type="text/plain")
    if decision.failure is Failure.INTERNAL_ERROR:
        zim.stats.fault(Failure.INTERNAL_ERROR.value)
        zim.stats.call(action, zr.SERVER_BUSY)
        return _answer(zim, zr.SERVER_BUSY, "server busy, try again")

    try:
        payload: object = json.loads(await request.body())
    except ValueError:
        code, fields = zr.PARAMETER_ERROR, {"Message": "request body is not valid JSON"}
    else:
        code, fields = run_action(action, zim.store, payload, int(zim.clock() * 1000))
    if decision.failure is Failure.APPLIED_THEN_RESET:
        zim.stats.fault(Failure.APPLIED_THEN_RESET.value)
        zim.stats.call(action, "connection_reset")
        return BrokenResponse(_encode(zim, code, fields))
    zim.stats.call(action, code)
    return Response(_encode(zim, code, fields), media_type=_JSON)
