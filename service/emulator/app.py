# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""``create_emulator_app``: the Tencent Cloud Chat REST endpoints plus ``/_emulator/`` controls."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.routing import Route

from service.emulator.inspection import inspection_routes
from service.emulator.rest import handle_call
from service.emulator.state import EmulatorState, store_for

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request
    from starlette.responses import Response

    from service.emulator.config import EmulatorConfig
    from service.emulator.store import EmulatorStore


def create_emulator_app(
    config: EmulatorConfig,
    store: EmulatorStore | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """Build the emulator app; ``app.state.emulator`` holds its ``EmulatorState``.

    ``store`` defaults to an empty one built from ``config``; ``clock`` (Unix seconds) decides
    "now" for send times, group creation, UserSig expiry and the UserSig lockout.
    """
    state = EmulatorState(
        config=config, store=store_for(config) if store is None else store, clock=clock
    )

    async def rest_call(request: Request) -> Response:
        return await handle_call(state, request)

    routes = [
        Route("/v4/{service}/{api}", rest_call, methods=["POST"]),
        *inspection_routes(state),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = state
    return app
