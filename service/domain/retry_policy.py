# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""What to do after a provider call fails: the one retry policy of the service.

Provider adapters map each provider code to an ``ErrorClass`` (their tables live beside them);
this module decides, per class, whether to retry, after how long, and when to give up.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorClass(StrEnum):
    """How a provider error is handled."""

    RETRY = "retry"  # transient: 10002, 60008, HTTP 5xx before the call was applied
    THROTTLED = "throttled"  # the frequency limit: retry after a back-off
    AMBIGUOUS = "ambiguous"  # timeout or reset: the call may have been applied; check first
    RESIGN = "resign"  # the signature expired: sign again, retry at once
    GROUP_MISSING = "group_missing"  # 10010: wait for the group's import, then fail
    ACCOUNT_MISSING = "account_missing"  # 10019, 660500002: wait while accounts are imported
    ALREADY_EXISTS = "already_exists"  # 10021: the group was imported before (after a crash)
    PERMANENT = "permanent"  # a documented refusal: fail the event now
    CONFIGURATION = "configuration"  # credentials refused: stop calling, report


class Action(StrEnum):
    """The decision for the event(s) of a failed call."""

    RETRY = "retry"
    VERIFY_THEN_RETRY = "verify_then_retry"
    WAIT_FOR_GROUP = "wait_for_group"
    WAIT_FOR_ACCOUNTS = "wait_for_accounts"
    FAIL = "fail"
    HALT = "halt"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Back-off parameters (from settings)."""

    initial_seconds: float = 0.2
    max_seconds: float = 30.0
    max_attempts: int = 50
    group_wait_seconds: float = 600.0
    configuration_pause_seconds: float = 60.0
    # a call refused for an account that does not exist (yet) waits this long at most while
    # accounts are still being imported, and the grace when none is being imported here (another
    # replica may be importing it)
    account_wait_seconds: float = 120.0
    account_grace_seconds: float = 2.0


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do and how long to wait first."""

    action: Action
    delay: float


def backoff_delay(attempt: int, policy: RetryPolicy, jitter: float) -> float:
    """Exponential back-off with full jitter, capped: attempt 1 waits up to ``initial``.

    ``jitter`` is a number in [0, 1) drawn by the caller, so the function stays pure.
    """
    ceiling = min(
        policy.max_seconds, policy.initial_seconds * float(2 ** min(max(0, attempt - 1), 32))
    )
    return ceiling * (0.5 + jitter / 2)


def decide_account_wait(
    *, waited: float, importing: bool, attempt: int, policy: RetryPolicy, jitter: float
) -> Decision:
    """What follows a call refused because an account it names does not exist (yet).

    While accounts are still being imported, wait (bounded by ``account_wait_seconds``); when
    none is, wait only the short grace (another replica may hold its import), then fail.
    """
    bound = (
        policy.account_wait_seconds
        if importing
        else min(policy.account_grace_seconds, policy.account_wait_seconds)
    )
    if waited >= bound:
        return Decision(Action.FAIL, 0.0)
    delay = backoff_delay(attempt, policy, jitter)
    return Decision(Action.WAIT_FOR_ACCOUNTS, max(0.0, min(delay, bound - waited, 5.0)))


def decide(  # noqa: PLR0911, PLR0913 - one return per decision reads best; keyword-only inputs
    error_class: ErrorClass,
    *,
    attempt: int,
    waited_for_group: float,
    policy: RetryPolicy,
    jitter: float,
    provider_answering: bool = True,
) -> Decision:
    """Decide what follows the ``attempt``-th failed call of an event with ``error_class``.

    ``attempt`` counts every try for the event, across history checks. Calls that got no answer
    give up at ``max_attempts`` only while the provider answers other calls (one poison event);
    while it answers nothing (an outage) they hold the event instead of failing it.
    """
    delay = backoff_delay(attempt, policy, jitter)
    if error_class in {ErrorClass.PERMANENT, ErrorClass.ACCOUNT_MISSING}:
        # an account wait is decided by decide_account_wait, which knows what is importing
        return Decision(Action.FAIL, 0.0)
    if error_class is ErrorClass.CONFIGURATION:
        return Decision(Action.HALT, policy.configuration_pause_seconds)
    if error_class is ErrorClass.GROUP_MISSING:
        if waited_for_group >= policy.group_wait_seconds:
            return Decision(Action.FAIL, 0.0)
        remaining = policy.group_wait_seconds - waited_for_group
        return Decision(Action.WAIT_FOR_GROUP, min(delay, remaining, 5.0))
    if error_class is ErrorClass.RESIGN:
        if attempt > 3:  # noqa: PLR2004 - a fresh signature that expires at once is a config fault
            return Decision(Action.HALT, policy.configuration_pause_seconds)
        return Decision(Action.RETRY, 0.0)
    if error_class is ErrorClass.RETRY and attempt >= policy.max_attempts:
        # The provider keeps answering with an error for this call: give up with its code.
        # The frequency limit never fails an event: it holds it instead.
        return Decision(Action.FAIL, 0.0)
    if error_class is ErrorClass.AMBIGUOUS:
        if attempt >= policy.max_attempts and provider_answering:
            return Decision(Action.FAIL, 0.0)
        return Decision(Action.VERIFY_THEN_RETRY, delay)
    return Decision(Action.RETRY, delay)
