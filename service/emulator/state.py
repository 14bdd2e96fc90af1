# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Everything one emulator instance holds, built from its configuration."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from service.emulator import rules
from service.emulator.auth import Authenticator
from service.emulator.commands import MULTIACCOUNT_IMPORT
from service.emulator.faults import FaultInjector
from service.emulator.ratelimit import CallBudget
from service.emulator.stats import EmulatorStats
from service.emulator.store import EmulatorStore
from service.emulator.zego_state import ZegoState, zego_state_for

if TYPE_CHECKING:
    from collections.abc import Callable

    from service.emulator.config import EmulatorConfig


def store_for(config: EmulatorConfig) -> EmulatorStore:
    """Build an empty store enforcing the rules ``config`` selects."""
    return EmulatorStore(
        message_size_limit=config.message_size_limit,
        oversized_refuses_call=config.oversized_refuses_call,
        restricted_words=config.restricted_words,
        dedup_window_seconds=config.dedup_window_seconds,
        dedup_before_time_check=config.dedup_before_time_check,
        seed=config.faults.seed,
        history_page_limit=config.history_page_limit,
        members_per_call=config.members_per_call,
        refused_accounts=config.refused_accounts,
        max_accounts=config.max_accounts,
    )


def _budget_for(config: EmulatorConfig) -> CallBudget:
    return CallBudget(
        config.calls_per_second,
        per_api=config.rate_limit_per_api,
        api_limits={
            MULTIACCOUNT_IMPORT: min(
                config.calls_per_second, rules.MULTIACCOUNT_IMPORT_CALLS_PER_SECOND
            )
        },
    )


@dataclass(slots=True)
class EmulatorState:
    """The store plus the call pipeline's parts: budget, authentication, faults, counters."""

    config: EmulatorConfig
    store: EmulatorStore
    clock: Callable[[], float] = time.time
    stats: EmulatorStats = field(default_factory=EmulatorStats)
    budget: CallBudget = field(init=False)
    auth: Authenticator = field(init=False)
    faults: FaultInjector = field(init=False)
    zego: ZegoState = field(init=False)
    """The ZIM endpoints' side: credentials, store, own budget and counters."""

    def __post_init__(self) -> None:
        config = self.config
        self.budget = _budget_for(config)
        self.auth = Authenticator(
            sdk_app_id=config.sdk_app_id,
            admin_identifier=config.admin_identifier,
            secret_key=config.secret_key.get_secret_value(),
            failure_limit=config.sig_failure_limit,
            failure_window=config.sig_failure_window_seconds,
            lockout_seconds=config.sig_lockout_seconds,
            clock=self.clock,
        )
        self.faults = FaultInjector(config.faults)
        self.zego = zego_state_for(config, self.clock)

    def reset(self) -> None:
        """Back to the state at start: no data, fresh budget, no lockout, configured faults."""
        self.store.reset(seed=self.config.faults.seed)
        self.stats.reset()
        self.budget = _budget_for(self.config)
        self.auth.reset()
        self.faults.replace(self.config.faults)
        self.zego.reset()
