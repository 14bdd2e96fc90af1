# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""What the emulator holds for the ZIM endpoints: credentials, store, budget, nonces, counters.

ZIM has its own call budget (20 calls per second by default), separate from Tencent's, and its
own counters, reported by ``GET /_emulator/zim/stats``.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from service.emulator.ratelimit import CallBudget
from service.emulator.stats import EmulatorStats
from service.emulator.zego_store import ZimStore
from service.providers.zego_sign import TIMESTAMP_TOLERANCE_SECONDS

if TYPE_CHECKING:
    from collections.abc import Callable

    from service.emulator.config import EmulatorConfig

_FIRST_REQUEST_ID = 343_649_807_833_778_782


class NonceGuard:
    """Remembers each SignatureNonce while a call carrying it could still be accepted."""

    def __init__(self, window_seconds: float) -> None:
        self._window = window_seconds
        self._order: deque[tuple[float, str]] = deque()
        self._seen: set[str] = set()

    def first_use(self, nonce: str, now: float) -> bool:
        """Record ``nonce``; ``False`` when it was used within the window already."""
        order = self._order
        while order and order[0][0] <= now - self._window:
            self._seen.discard(order.popleft()[1])
        if nonce in self._seen:
            return False
        self._seen.add(nonce)
        order.append((now, nonce))
        return True

    def reset(self) -> None:
        """Forget every nonce."""
        self._order.clear()
        self._seen.clear()


@dataclass(slots=True)
class ZegoState:
    """The ZIM side of one emulator; unconfigured (no app ID or secret) it refuses every call."""

    app_id: int | None
    server_secret: str | None = field(repr=False)
    store: ZimStore
    calls_per_second: float
    rate_limit_per_api: bool
    rate_limit_code: int
    clock: Callable[[], float] = time.time
    stats: EmulatorStats = field(default_factory=EmulatorStats)
    budget: CallBudget = field(init=False)
    nonces: NonceGuard = field(init=False)
    signature_failures: int = 0
    _request_ids: itertools.count[int] = field(init=False)

    def __post_init__(self) -> None:
        self.budget = CallBudget(self.calls_per_second, per_api=self.rate_limit_per_api)
        # A timestamp is accepted up to the tolerance either way: a nonce must stay known for
        # twice that long to catch every replay.
        self.nonces = NonceGuard(2 * TIMESTAMP_TOLERANCE_SECONDS)
        self._request_ids = itertools.count(_FIRST_REQUEST_ID)

    @property
    def configured(self) -> bool:
        """True when the ZIM endpoints know an app ID and server secret."""
        return self.app_id is not None and bool(self.server_secret)

    def request_id(self) -> str:
        """A fresh ``RequestId`` for an answer."""
        return str(next(self._request_ids))

    def reset(self) -> None:
        """No data, fresh budget, no nonces, counters at zero (credentials and rules stay)."""
        self.store.reset()
        self.stats.reset()
        self.budget = CallBudget(self.calls_per_second, per_api=self.rate_limit_per_api)
        self.nonces.reset()
        self.signature_failures = 0


def zego_state_for(config: EmulatorConfig, clock: Callable[[], float]) -> ZegoState:
    """Build the ZIM side from the emulator's configuration."""
    secret = config.zego_server_secret
    return ZegoState(
        app_id=config.zego_app_id,
        server_secret=secret.get_secret_value() if secret is not None else None,
        store=ZimStore(
            message_size_limit=config.zego_message_size_limit,
            unregistered_users=config.zego_unregistered_users,
            registered_users=config.zego_registered_users,
            retention_days=config.zego_retention_days,
        ),
        calls_per_second=config.zego_calls_per_second,
        rate_limit_per_api=config.zego_rate_limit_per_api,
        rate_limit_code=config.zego_rate_limit_error_code,
        clock=clock,
    )
