# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""``create_emulator_app``: Tencent Cloud Chat REST and ZIM server API endpoints, ``/_emulator/``.

Tencent calls go to ``/v4/{service}/{api}``, ZIM calls to ``/?Action=<API>``; each provider has
its own call budget. ZIM's inspection endpoints are under ``/_emulator/zim/``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.routing import Route

from service.emulator.inspection import inspection_routes
from service.emulator.rest import handle_call
from service.emulator.state import EmulatorState, store_for
from service.emulator.zego_api import handle_zim_call
from service.emulator.zego_inspection import zim_inspection_routes

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

    async def zim_call(request: Request) -> Response:
        return await handle_zim_call(state, request)

    routes = [
        Route("/v4/{service}/{api}", rest_call, methods=["POST"]),
        Route("/", zim_call, methods=["POST"]),
        *inspection_routes(state),
        *zim_inspection_routes(state),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = state
    return app
