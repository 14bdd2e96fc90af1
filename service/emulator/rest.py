# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""``POST /v4/{service}/{api}``: the provider's call pipeline.

In order: unknown API (10003); the app-wide call budget (the excess call is refused and not
applied); the query string and UserSig; injected latency; injected HTTP 500 or 10002 (not
applied); the body (not JSON: 10004); the API itself; and, when injected, a connection that
breaks after the call was applied. Every answer except an injected 500 is HTTP 200.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING

from starlette.responses import Response

from service.emulator import rules
from service.emulator.commands import COMMANDS, SERVICES, Answer, fail, run_command
from service.emulator.faults import Failure

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import Receive, Scope, Send

    from service.emulator.state import EmulatorState

logger = logging.getLogger(__name__)

_JSON = "application/json"
_MISSING_BYTES = 64  # how much more the broken answer announces than it sends


def _encode(answer: Answer) -> bytes:
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _answer(answer: Answer) -> Response:
    return Response(_encode(answer), media_type=_JSON)


class BrokenResponse(Response):
    """Announces more bytes than it sends, then ends: the server drops the connection.

    The client has the status line and headers but never a complete body, so it sees a
    transport error (for httpx, ``RemoteProtocolError``), not an answer.
    """

    def __init__(self, body: bytes) -> None:
        super().__init__(body, media_type=_JSON)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the headers and half the body, then return without finishing the response."""
        del scope, receive
        body = bytes(self.body)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", _JSON.encode()),
                    (b"content-length", str(len(body) + _MISSING_BYTES).encode()),
                ],
            }
        )
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )


def _decode(raw: bytes) -> object | None:
    try:
        payload: object = json.loads(raw)
    except ValueError:
        return None
    return payload


def _count_results(state: EmulatorState, answer: Answer) -> None:
    for entry in answer.get("ImportMsgResult") or ():
        state.stats.message_result(int(entry["Result"]))


def _refusal(state: EmulatorState, service: str, api: str, request: Request) -> Answer | None:
    """Refuse the call before it is looked at: unknown API, over the budget, bad credentials."""
    stats = state.stats
    if api not in COMMANDS or SERVICES[api] != service:
        stats.call(f"{service}/{api}", rules.INVALID_COMMAND)
        return fail(rules.INVALID_COMMAND, f"unknown API v4/{service}/{api}")
    if not state.budget.try_acquire(api):
        stats.rate_limited += 1
        code = state.config.rate_limit_error_code
        stats.call(api, code)
        return fail(code, "REST API call frequency over the limit")
    stats.admitted()
    refusal = state.auth.check(request.query_params)
    if refusal is not None:
        stats.call(api, refusal.code)
        return fail(refusal.code, refusal.info)
    return None


async def handle_call(state: EmulatorState, request: Request) -> Response:
    """Answer one REST call as the provider would."""
    api = request.path_params["api"]
    refused = _refusal(state, request.path_params["service"], api, request)
    if refused is not None:
        return _answer(refused)

    stats = state.stats
    decision = state.faults.draw()
    if decision.spiked:
        stats.fault("latency_spike")
    if decision.latency_seconds > 0:
        await asyncio.sleep(decision.latency_seconds)
    if decision.failure is Failure.HTTP_500:
        stats.fault(Failure.HTTP_500.value)
        stats.call(api, "http_500")
        return Response(b"Internal Server Error", status_code=500, media_type="text/plain")
    if decision.failure is Failure.INTERNAL_ERROR:
        stats.fault(Failure.INTERNAL_ERROR.value)
        stats.call(api, rules.INTERNAL_ERROR)
        return _answer(fail(rules.INTERNAL_ERROR, "internal server error, try again"))

    payload = _decode(await request.body())
    if payload is None:
        answer = fail(rules.MALFORMED_BODY, "request body is not valid JSON")
    else:
        answer = run_command(api, state.store, payload, int(state.clock()))
    _count_results(state, answer)
    if decision.failure is Failure.APPLIED_THEN_RESET:
        stats.fault(Failure.APPLIED_THEN_RESET.value)
        stats.call(api, "connection_reset")
        logger.debug("injected a broken connection after applying %s", api)
        return BrokenResponse(_encode(answer))
    stats.call(api, answer["ErrorCode"])
    return _answer(answer)
