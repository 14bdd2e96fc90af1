# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""``/_emulator/``: look inside and steer the emulator (no auth; loopback clients only)."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.emulator.config import FaultConfig
from service.emulator.errors import ApiError
from service.emulator.state import EmulatorState
from service.emulator.validation import parse_message

if TYPE_CHECKING:
    from service.emulator.store import Group, StoredMessage

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[EmulatorState, Request], Awaitable[Response]]

PREFIX = "/_emulator"


def error_response(status: int, message: str) -> JSONResponse:
    """An inspection error: ``{"error": message}`` with ``status``."""
    return JSONResponse({"error": message}, status_code=status)


def _is_loopback(request: Request) -> bool:
    client = request.client
    if client is None:
        return False
    try:
        return ipaddress.ip_address(client.host).is_loopback
    except ValueError:
        return False


def group_view(group: Group) -> dict[str, Any]:
    """Show a group as ``GET /_emulator/groups`` lists it."""
    return {
        "group_id": group.group_id,
        "type": group.type,
        "name": group.name,
        "create_time": group.create_time,
        "support_topic": group.support_topic,
        "message_count": len(group.messages),
        "latest_send_time": group.latest_time,
        "member_count": len(group.members),
        "recent_contact_updates": group.recent_contact_updates,
        "profile": group.profile,
    }


def message_view(message: StoredMessage) -> dict[str, Any]:
    """Show a stored message as ``GET /_emulator/groups/{id}/messages`` lists it."""
    return {
        "seq": message.seq,
        "time": message.time,
        "sender": message.sender,
        "random": message.random,
        "random_generated": message.random_generated,
        "body": message.body,
        "topic_id": message.topic_id,
        "deleted": message.deleted,
        "recalled": message.recalled,
        "system": message.system,
    }


async def list_groups(state: EmulatorState, request: Request) -> Response:
    """Every group with its profile."""
    del request
    return JSONResponse({"groups": [group_view(group) for group in state.store.groups()]})


async def list_messages(state: EmulatorState, request: Request) -> Response:
    """List the group's stored messages in seq order."""
    group_id = request.path_params["group_id"]
    try:
        group = state.store.group(group_id)
    except ApiError as exc:
        return error_response(404, exc.info)
    return JSONResponse(
        {"group_id": group.group_id, "messages": [message_view(m) for m in group.messages]}
    )


async def list_members(state: EmulatorState, request: Request) -> Response:
    """The group's members in join order, each with its role, join time and unread count."""
    group_id = request.path_params["group_id"]
    try:
        group = state.store.group(group_id)
    except ApiError as exc:
        return error_response(404, exc.info)
    return JSONResponse(
        {
            "group_id": group.group_id,
            "members": [
                {
                    "account": member.account,
                    "role": member.role,
                    "join_time": member.join_time,
                    "read_seq": member.read_seq,
                    "unread": group.unread(member),
                }
                for member in group.members.values()
            ],
        }
    )


async def list_accounts(state: EmulatorState, request: Request) -> Response:
    """Every account, in import order."""
    del request
    return JSONResponse(
        {
            "accounts": [
                {"user_id": a.user_id, "nick": a.nick, "face_url": a.face_url}
                for a in state.store.accounts()
            ]
        }
    )


async def delete_message(state: EmulatorState, request: Request) -> Response:
    """Mark one message deleted: history then shows it as a placeholder (IsPlaceMsg 1)."""
    group_id = request.path_params["group_id"]
    seq = request.path_params["seq"]
    try:
        message = state.store.delete(group_id, seq)
    except ApiError as exc:
        return error_response(404, exc.info)
    except KeyError:
        return error_response(404, f"group {group_id!r} has no message {seq}")
    return JSONResponse({"group_id": group_id, "message": message_view(message)})


async def recall_message(state: EmulatorState, request: Request) -> Response:
    """Mark one message recalled: history leaves it out, or shows IsPlaceMsg 2 when asked."""
    group_id = request.path_params["group_id"]
    seq = request.path_params["seq"]
    try:
        message = state.store.recall(group_id, seq)
    except ApiError as exc:
        return error_response(404, exc.info)
    except KeyError:
        return error_response(404, f"group {group_id!r} has no message {seq}")
    return JSONResponse({"group_id": group_id, "message": message_view(message)})


async def append_message(state: EmulatorState, request: Request) -> Response:
    """Store one message as given, ignoring the ordering and every other per-message rule.

    ``"IsSystemMsg": 1`` in the body stores it as a system message.
    """
    group_id = request.path_params["group_id"]
    try:
        group = state.store.group(group_id)
    except ApiError as exc:
        return error_response(404, exc.info)
    try:
        payload: object = json.loads(await request.body())
        message = parse_message(payload)
    except ValueError:
        return error_response(400, "body is not JSON")
    except ApiError as exc:
        return error_response(400, exc.info)
    fields = payload if isinstance(payload, dict) else {}
    topic = fields.get("TopicId")
    stored = state.store.append(
        group,
        message,
        topic if isinstance(topic, str) else None,
        system=fields.get("IsSystemMsg") == 1,
    )
    return JSONResponse({"group_id": group_id, "message": message_view(stored)})


async def get_faults(state: EmulatorState, request: Request) -> Response:
    """Show the fault configuration in force."""
    del request
    return JSONResponse(state.faults.config.model_dump(mode="json"))


async def put_faults(state: EmulatorState, request: Request) -> Response:
    """Replace the fault configuration (fields left out take their defaults)."""
    try:
        config = FaultConfig.model_validate_json(await request.body())
    except ValidationError as exc:
        return JSONResponse(
            {"error": "invalid fault configuration", "details": json.loads(exc.json())},
            status_code=422,
        )
    state.faults.replace(config)
    return JSONResponse(config.model_dump(mode="json"))


async def get_stats(state: EmulatorState, request: Request) -> Response:
    """Report calls by API and outcome, rate-limited calls, faults, message results, totals."""
    del request
    snapshot = state.stats.snapshot()
    snapshot["signature_failures"] = state.auth.signature_failures
    snapshot["duplicates_discarded"] = state.store.duplicates_discarded
    snapshot["groups"] = len(state.store.groups())
    snapshot["messages"] = state.store.message_count()
    snapshot["accounts"] = len(state.store.accounts())
    snapshot["members"] = sum(len(group.members) for group in state.store.groups())
    return JSONResponse(snapshot)


async def reset(state: EmulatorState, request: Request) -> Response:
    """Forget all data and counters; faults return to the configured ones."""
    del request
    state.reset()
    return JSONResponse({"reset": True})


def _bind(state: EmulatorState, handler: Handler) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        if not _is_loopback(request):
            return error_response(403, "the inspection endpoints answer loopback clients only")
        return await handler(state, request)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def inspection_routes(state: EmulatorState) -> list[Route]:
    """Build the routes under ``/_emulator/``."""
    table: list[tuple[str, Handler, list[str]]] = [
        ("/groups", list_groups, ["GET"]),
        ("/accounts", list_accounts, ["GET"]),
        ("/groups/{group_id:path}/members", list_members, ["GET"]),
        ("/groups/{group_id:path}/messages", list_messages, ["GET"]),
        ("/groups/{group_id:path}/messages", append_message, ["POST"]),
        ("/groups/{group_id:path}/messages/{seq:int}/delete", delete_message, ["POST"]),
        ("/groups/{group_id:path}/messages/{seq:int}/recall", recall_message, ["POST"]),
        ("/faults", get_faults, ["GET"]),
        ("/faults", put_faults, ["PUT"]),
        ("/stats", get_stats, ["GET"]),
        ("/reset", reset, ["POST"]),
    ]
    return loopback_routes(state, PREFIX, table)


def loopback_routes(
    state: EmulatorState, prefix: str, table: list[tuple[str, Handler, list[str]]]
) -> list[Route]:
    """Routes under ``prefix`` from ``(path, handler, methods)``; loopback clients only."""
    return [
        Route(prefix + path, _bind(state, handler), methods=methods)
        for path, handler, methods in table
    ]
