# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Settings of the emulator: who may call it, which documented edition it enforces, and faults."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from service.emulator import rules, zego_rules


class FaultConfig(BaseModel):
    """Per-call fault injection, drawn from one RNG seeded with ``seed`` (``None``: unseeded).

    Latency is ``latency_ms`` plus a uniform offset in ``[-jitter_ms, +jitter_ms]`` (never below
    zero), plus ``latency_spike_ms`` with probability ``latency_spike_probability``. At most one
    of the three failures happens per call; their probabilities add up to at most 1.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: float = Field(default=0.0, ge=0)
    jitter_ms: float = Field(default=0.0, ge=0)
    latency_spike_probability: float = Field(default=0.0, ge=0, le=1)
    latency_spike_ms: float = Field(default=0.0, ge=0)
    http_500_probability: float = Field(default=0.0, ge=0, le=1)
    """HTTP 500 with no JSON body; the call is not applied."""
    internal_error_probability: float = Field(default=0.0, ge=0, le=1)
    """ErrorCode 10002 ("internal server error, try again"); the call is not applied."""
    applied_then_reset_probability: float = Field(default=0.0, ge=0, le=1)
    """The call is applied, then the connection breaks before the client has the answer."""
    seed: int | None = None

    @model_validator(mode="after")
    def _failures_fit(self) -> Self:
        total = (
            self.http_500_probability
            + self.internal_error_probability
            + self.applied_then_reset_probability
        )
        if total > 1:
            msg = "the failure probabilities add up to more than 1"
            raise ValueError(msg)
        return self


class EmulatorConfig(BaseModel):
    """Everything the emulator needs; the secret keys are only ever used to verify signatures."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65_535)
    """0 picks a free port."""
    sdk_app_id: int = Field(gt=0)
    admin_identifier: str = Field(default="administrator", min_length=1)
    secret_key: SecretStr
    calls_per_second: float = Field(default=200, gt=0)
    """The documented budget: 200 calls per second for the app."""
    rate_limit_per_api: bool = False
    """False: one budget shared by every API (the safe reading); True: one budget per API."""
    rate_limit_error_code: int = rules.RATE_LIMITED
    message_size_limit: int = Field(default=rules.MESSAGE_SIZE_LIMIT_2024, gt=0)
    """12,000 bytes (2024 edition); ``rules.MESSAGE_SIZE_LIMIT_2022`` (8,000) for the older one."""
    oversized_refuses_call: bool = False
    """unconfirmed: a message over ``message_size_limit`` gets Result 80002 alone (False: the
    result table) or refuses the whole call with 10020, naming ``MsgList[i]`` in ErrorInfo and
    storing nothing (True: the API's error table, "the message content is too long")."""
    history_page_limit: int | None = Field(default=None, ge=1)
    """At most this many messages per ``group_msg_get_simple`` answer, with ``IsFinished`` 0 when
    requested ones were held back (the provider cuts pages of long messages); None: no cut."""
    members_per_call: int = Field(default=rules.MEMBERS_PER_CALL, ge=1)
    """``import_group_member``'s maximum per call (20, the newest page; older editions give 100,
    300, 500); more is refused with 10005."""
    refused_accounts: list[str] = Field(default_factory=list)
    """Accounts ``multiaccount_import`` lists in ``FailAccounts`` (a refusal to provoke)."""
    max_accounts: int | None = Field(default=None, ge=0)
    """The plan's account limit: accounts beyond it are listed in ``FailAccounts``."""
    restricted_words: list[str] = Field(default_factory=list)
    """A message whose text contains one of these gets Result 80001 (2022 edition)."""
    dedup_window_seconds: int = Field(default=rules.DEDUP_WINDOW_SECONDS, ge=0)
    dedup_before_time_check: bool = True
    """unconfirmed: whether a duplicate Random is recognised before the send-time rules."""
    sig_failure_limit: int = Field(default=10, gt=0)
    sig_failure_window_seconds: float = Field(default=60, gt=0)
    sig_lockout_seconds: float = Field(default=60, ge=0)
    faults: FaultConfig = Field(default_factory=FaultConfig)
    """Faults for every call, Tencent's and ZIM's (a ZIM "internal error" answers Code 1)."""
    zego_app_id: int | None = Field(default=None, gt=0)
    """ZIM AppId; without it and ``zego_server_secret`` the ZIM endpoints answer Code 3."""
    zego_server_secret: SecretStr | None = None
    """The ServerSecret ZIM calls are signed with; only ever used to verify signatures."""
    zego_calls_per_second: float = Field(default=zego_rules.CALLS_PER_SECOND, gt=0)
    """ZIM's own budget (20 calls per second), separate from Tencent's."""
    zego_rate_limit_per_api: bool = False
    """False: one ZIM budget shared by its APIs (the safe reading); True: one per API."""
    zego_rate_limit_error_code: int = zego_rules.CALLS_PER_SECOND_LIMIT
    """7 (calls per second over the limit); 660300005 for the app-level frequency limit."""
    zego_message_size_limit: int = Field(default=zego_rules.MESSAGE_SIZE_LIMIT_DEFAULT, gt=0)
    """2 KB by default; an app can raise it to 32 KB."""
    zego_unregistered_users: list[str] = Field(default_factory=list)
    """Users ZIM refuses to register (``UserRegister`` lists them in ``ErrorList``): every call
    naming them gets Code 660500002."""
    zego_registered_users: list[str] = Field(default_factory=list)
    """Users registered from the start (otherwise a user must go through ``UserRegister``)."""
    zego_retention_days: int = Field(default=zego_rules.RETENTION_DAYS, gt=0)
    """unconfirmed: the plan's retention; older send times are refused (Code 2)."""
