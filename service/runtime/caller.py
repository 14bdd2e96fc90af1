# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The provider caller: every provider call goes through here, and comes back as a value.

It owns what a call needs besides its arguments: the slot in the call budget, the limit on calls
in flight, back-off between tries, the attempt count (kept on the work items, so it runs on
across history checks), the halt while the provider refuses the configuration, and whether the
provider is answering at all. It returns ``Answered``, ``Unsure`` (the call may have been applied:
check the history before trying again), ``GroupMissing`` (the caller's lane decides how long to
wait), ``Refused`` (the provider refused the whole call for what one of its messages holds: the
lane isolates that message) or ``GaveUp`` (fail the events with the code given); it never raises
a provider error.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog

from service.domain import limits
from service.domain.events import DetectedBy
from service.domain.retry_policy import (
    Action,
    ErrorClass,
    RetryPolicy,
    decide,
    decide_account_wait,
)
from service.errors import BatchRefusedError, ProviderError
from service.metrics import Metrics
from service.providers.ratelimit import ApiBudgets
from service.runtime.accounts import AccountRegistry
from service.runtime.lanes import Lane
from service.runtime.work import WorkItem

log = structlog.get_logger("service.engine")

T = TypeVar("T")

THROTTLE_PAUSE_SECONDS = 0.1
UNREACHABLE_AFTER = 3


@dataclass(frozen=True, slots=True)
class Answered(Generic[T]):
    """The provider answered; ``value`` is what the adapter made of it."""

    value: T


@dataclass(frozen=True, slots=True)
class Unsure:
    """No answer, and the call may have been applied: check the history, then try again."""

    code: int
    info: str


@dataclass(frozen=True, slots=True)
class GroupMissing:
    """The provider says the group does not exist (yet)."""

    code: int
    info: str


@dataclass(frozen=True, slots=True)
class Refused:
    """The whole call was refused for what one (or some) of its messages hold, not sent again.

    ``suspect``: the position in the call of the message the answer names, when it names one.
    """

    code: int
    info: str
    suspect: int | None = None


@dataclass(frozen=True, slots=True)
class GaveUp:
    """The events of this call fail with ``code``."""

    code: int
    info: str
    error_class: ErrorClass = ErrorClass.PERMANENT
    detected_by: DetectedBy = DetectedBy.PROVIDER


CallResult = Answered[T] | Unsure | GroupMissing | Refused | GaveUp


class ProviderCaller:
    """Calls the provider within the budget and the retry policy."""

    __slots__ = (
        "_accounts",
        "_budgets",
        "_halted_reason",
        "_metrics",
        "_on_send",
        "_policy",
        "_rng",
        "_slots",
        "_unanswered",
    )

    def __init__(  # noqa: PLR0913 - the budget, the policy and who to tell
        self,
        *,
        budgets: ApiBudgets,
        policy: RetryPolicy,
        metrics: Metrics,
        max_in_flight_calls: int,
        on_send: Callable[[Sequence[WorkItem]], None] | None = None,
        accounts: AccountRegistry | None = None,
    ) -> None:
        self._accounts = accounts if accounts is not None else AccountRegistry()
        self._budgets = budgets
        # told before a call carrying work items leaves: from then on they may be at the provider
        self._on_send = on_send
        self._policy = policy
        self._metrics = metrics
        self._slots = asyncio.Semaphore(max_in_flight_calls)
        self._rng = random.Random()  # noqa: S311 - back-off jitter, not security
        self._unanswered = 0
        self._halted_reason: str | None = None

    @property
    def policy(self) -> RetryPolicy:
        """The retry policy calls follow."""
        return self._policy

    @property
    def halted(self) -> bool:
        """True while the provider refuses the configuration."""
        return self._halted_reason is not None

    @property
    def provider_unreachable(self) -> bool:
        """True after several calls in a row got no answer from the provider."""
        return self._unanswered >= UNREACHABLE_AFTER

    async def slot(self, api: str, lane: Lane[Any, Any], key: str | None = None) -> None:
        """Wait for a slot in ``api``'s budget (abandoning the lane wakes the wait).

        ``key``: the group the call is for, where the API is limited per group.
        """
        await lane.interruptible(self._budgets.acquire(api, key))

    async def call(  # noqa: PLR0913 - the call and how its failures are handled
        self,
        api: str,
        send: Callable[[], Awaitable[T]],
        lane: Lane[Any, Any],
        items: Sequence[WorkItem],
        *,
        unsure_on_ambiguous: bool = False,
        prepaid: bool = False,
        budget_key: str | None = None,
    ) -> CallResult[T]:
        """Call until answered or the policy says otherwise; waits between tries.

        Every try counts on each of ``items``; the attempt number is the largest count among
        them, so tries before a history check count towards the cap too. ``prepaid``: the first
        try already has its budget slot. With ``unsure_on_ambiguous`` a call that may have been
        applied returns ``Unsure`` instead of being sent again. ``budget_key``: the group, for
        APIs limited per group. A call refused for an account that does not exist (yet) is
        tried again while accounts are still being imported (bounded), then given up.
        """
        own_attempts = 0
        account_wait_started: float | None = None
        while True:
            lane.check_abandoned()
            own_attempts += 1
            for item in items:
                item.attempts += 1
            attempt = max((item.attempts for item in items), default=own_attempts)
            if not prepaid:
                await self.slot(api, lane, budget_key)
            prepaid = False
            lane.check_abandoned()
            if items and self._on_send is not None:
                self._on_send(items)
            outcome = await self._send_once(api, send, lane)
            if not isinstance(outcome, ProviderError):
                return Answered(outcome)
            if outcome.error_class is ErrorClass.ACCOUNT_MISSING:
                now = time.monotonic()
                if account_wait_started is None:
                    account_wait_started = now
                gave_up = await self._wait_for_accounts(
                    api, outcome, own_attempts, now - account_wait_started, lane, items
                )
                if gave_up is not None:
                    return gave_up
                continue
            result = await self._after_failure(
                api, outcome, attempt, lane, items, unsure_on_ambiguous=unsure_on_ambiguous
            )
            if result is not None:
                return result

    async def _send_once(
        self, api: str, send: Callable[[], Awaitable[T]], lane: Lane[Any, Any]
    ) -> T | ProviderError:
        # Only calls that have their budget slot wait here, so a call leaves right after its
        # slot: waiting between the two would send calls late and bunched.
        async with self._slots:
            lane.check_abandoned()  # revoked while calls in flight were at the cap: not sent
            started = time.monotonic()
            try:
                answer = await send()
            except ProviderError as exc:
                self._metrics.provider_latency.labels(api).observe(time.monotonic() - started)
                self._metrics.provider_calls.labels(api, str(exc.code or exc.error_class)).inc()
                if exc.error_class is ErrorClass.AMBIGUOUS:
                    self._unanswered += 1  # timeout, reset, or HTTP 5xx
                else:
                    self._unanswered = 0
                return exc
        self._metrics.provider_latency.labels(api).observe(time.monotonic() - started)
        self._metrics.provider_calls.labels(api, "0").inc()
        self._unanswered = 0
        if self._halted_reason is not None:
            self._halted_reason = None
            self._metrics.halted.set(0)
            log.warning("provider accepts the configuration again; calls resumed")
        return answer

    async def _after_failure(  # noqa: PLR0913 - the failure and where it happened
        self,
        api: str,
        error: ProviderError,
        attempt: int,
        lane: Lane[Any, Any],
        items: Sequence[WorkItem],
        *,
        unsure_on_ambiguous: bool,
    ) -> CallResult[Any] | None:
        """What follows a failed try: a result to return, or None to try again (after waiting)."""
        if error.error_class is ErrorClass.THROTTLED:
            self._budgets.for_api(api).penalise(THROTTLE_PAUSE_SECONDS)
        if error.error_class is ErrorClass.GROUP_MISSING:
            return GroupMissing(error.code, error.info)
        if isinstance(error, BatchRefusedError):
            return Refused(error.code, error.info, error.suspect)
        decision = decide(
            error.error_class,
            attempt=attempt,
            waited_for_group=0.0,
            policy=self._policy,
            jitter=self._rng.random(),
            provider_answering=not self.provider_unreachable,
        )
        self._metrics.retries.labels(error.error_class.value).inc()
        if decision.action is Action.FAIL:
            code = error.code or limits.NO_ANSWER
            return GaveUp(code, _give_up_info(error, attempt), error.error_class)
        if decision.action is Action.HALT:
            self._halt(error, decision.delay)
            await lane.pause(decision.delay)
            return None
        _log_retry(api, error, decision.delay, items)
        await lane.pause(decision.delay)
        if decision.action is Action.VERIFY_THEN_RETRY and unsure_on_ambiguous:
            return Unsure(error.code, error.info)
        return None

    async def _wait_for_accounts(  # noqa: PLR0913, PLR0917 - the refusal and where it happened
        self,
        api: str,
        error: ProviderError,
        attempt: int,
        waited: float,
        lane: Lane[Any, Any],
        items: Sequence[WorkItem],
    ) -> GaveUp | None:
        """Wait for the missing account's import while accounts are imported; None: try again."""
        decision = decide_account_wait(
            waited=waited,
            importing=self._accounts.importing,
            attempt=attempt,
            policy=self._policy,
            jitter=self._rng.random(),
        )
        if decision.action is Action.FAIL:
            return GaveUp(error.code, error.info, ErrorClass.ACCOUNT_MISSING)
        self._metrics.retries.labels(error.error_class.value).inc()
        _log_retry(api, error, decision.delay, items)
        await self._accounts.wait(lane, decision.delay)
        return None

    def _halt(self, error: ProviderError, pause: float) -> None:
        if self._halted_reason is None:
            self._halted_reason = error.info
            self._metrics.halted.set(1)
            log.error(
                "the provider refuses the service's configuration; no calls until it is fixed",
                error_code=error.code,
                error_info=error.info,
                pause_seconds=pause,
            )


def _give_up_info(error: ProviderError, attempt: int) -> str:
    if error.error_class in {ErrorClass.AMBIGUOUS, ErrorClass.RETRY} and attempt > 1:
        return f"gave up after {attempt} attempts; the last: {error.info}"
    return error.info


def _log_retry(api: str, error: ProviderError, delay: float, items: Sequence[WorkItem]) -> None:
    first = items[0] if items else None
    log.info(
        "provider call will be retried",
        api=api,
        error_code=error.code,
        error_class=error.error_class.value,
        error_info=error.info,
        delay_seconds=round(delay, 3),
        event_id=first.event.event_id if first else None,
        group_id=first.event.group_id if first else None,
        partition=first.record.partition if first else None,
        offset=first.record.offset if first else None,
    )
