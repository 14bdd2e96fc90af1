# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""``/_emulator/zim/``: look inside the ZIM side of the emulator (no auth; loopback clients only).

| endpoint | answers |
| --- | --- |
| ``GET /_emulator/zim/groups`` | every ZIM group with its profile and message count |
| ``GET /_emulator/zim/groups/{id}/messages`` | the group's messages in seq order (404: no group) |
| ``GET /_emulator/zim/groups/{id}/members`` | the group's members and their entry times |
| ``GET /_emulator/zim/users`` | every registered user |
| ``POST /_emulator/zim/groups/{id}/messages/{seq}/empty`` | mark a message empty (deleted) |
| ``GET /_emulator/zim/stats`` | calls by API and Code, rate-limited calls, faults, totals |

``POST /_emulator/reset`` forgets the ZIM data and counters along with Tencent's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.emulator.errors import ApiError
from service.emulator.inspection import PREFIX, Handler, error_response, loopback_routes

if TYPE_CHECKING:
    from starlette.requests import Request

    from service.emulator.state import EmulatorState
    from service.emulator.zego_store import ZimGroup, ZimMessage


ZIM_PREFIX = f"{PREFIX}/zim"


def group_view(group: ZimGroup) -> dict[str, Any]:
    """Show a group as ``GET /_emulator/zim/groups`` lists it."""
    return {
        "group_id": group.group_id,
        "owner": group.owner,
        "name": group.name,
        "notice": group.notice,
        "avatar": group.avatar,
        "members": list(group.members),
        "attributes": group.attributes,
        "create_time_ms": group.create_time_ms,
        "message_count": len(group.messages),
        "latest_time_ms": group.latest_time_ms,
    }


def message_view(message: ZimMessage) -> dict[str, Any]:
    """Show a stored message as ``GET /_emulator/zim/groups/{id}/messages`` lists it."""
    return {
        "seq": message.seq,
        "time_ms": message.time_ms,
        "sender": message.sender,
        "message_type": message.message_type,
        "sub_msg_type": message.sub_msg_type,
        "priority": message.priority,
        "body": {"Message": message.message, "ExtendedData": message.extended_data},
        "searched_content": message.searched_content,
        "empty": message.empty,
    }


async def list_groups(state: EmulatorState, request: Request) -> Response:
    """Every ZIM group with its profile."""
    del request
    return JSONResponse({"groups": [group_view(g) for g in state.zego.store.groups()]})


async def list_messages(state: EmulatorState, request: Request) -> Response:
    """The group's stored messages in seq order."""
    group_id = request.path_params["group_id"]
    try:
        group = state.zego.store.group(group_id)
    except ApiError as exc:
        return error_response(404, exc.info)
    return JSONResponse(
        {"group_id": group.group_id, "messages": [message_view(m) for m in group.messages]}
    )


async def empty_message(state: EmulatorState, request: Request) -> Response:
    """Mark one message empty: history then shows it with ``IsEmpty`` and no body."""
    group_id = request.path_params["group_id"]
    seq = request.path_params["seq"]
    try:
        message = state.zego.store.empty(group_id, seq)
    except ApiError as exc:
        return error_response(404, exc.info)
    except KeyError:
        return error_response(404, f"group {group_id!r} has no message {seq}")
    return JSONResponse({"group_id": group_id, "message": message_view(message)})


async def list_members(state: EmulatorState, request: Request) -> Response:
    """The group's members in the order they joined, with their entry time (ms)."""
    group_id = request.path_params["group_id"]
    try:
        group = state.zego.store.group(group_id)
    except ApiError as exc:
        return error_response(404, exc.info)
    return JSONResponse(
        {
            "group_id": group.group_id,
            "members": [{"user_id": u, "enter_time_ms": t} for u, t in group.members.items()],
        }
    )


async def list_users(state: EmulatorState, request: Request) -> Response:
    """Every registered user."""
    del request
    return JSONResponse({"users": state.zego.store.users()})


async def get_stats(state: EmulatorState, request: Request) -> Response:
    """Calls by API and Code, rate-limited calls, faults, signature failures, totals."""
    del request
    zim = state.zego
    snapshot = zim.stats.snapshot()
    del snapshot["message_results"]  # ZIM answers one message per call: the calls say it all
    snapshot["configured"] = zim.configured
    snapshot["calls_per_second"] = zim.calls_per_second
    snapshot["signature_failures"] = zim.signature_failures
    snapshot["groups"] = len(zim.store.groups())
    snapshot["messages"] = zim.store.message_count()
    snapshot["users"] = len(zim.store.users())
    snapshot["members"] = sum(len(group.members) for group in zim.store.groups())
    return JSONResponse(snapshot)


def zim_inspection_routes(state: EmulatorState) -> list[Route]:
    """Build the routes under ``/_emulator/zim/``."""
    table: list[tuple[str, Handler, list[str]]] = [
        ("/groups", list_groups, ["GET"]),
        ("/users", list_users, ["GET"]),
        ("/groups/{group_id:path}/members", list_members, ["GET"]),
        ("/groups/{group_id:path}/messages", list_messages, ["GET"]),
        ("/groups/{group_id:path}/messages/{seq:int}/empty", empty_message, ["POST"]),
        ("/stats", get_stats, ["GET"]),
    ]
    return loopback_routes(state, ZIM_PREFIX, table)
