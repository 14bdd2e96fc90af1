# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The query string every REST call carries: app, admin identifier, UserSig, random, format.

Signature failures are counted; once ``failure_limit`` of them fall within ``failure_window``
seconds, every call is answered 70050 for ``lockout_seconds``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.emulator import rules
from service.providers.tencent_sig import UserSigError, verify_user_sig

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """Why a call is refused before it is looked at."""

    code: int
    info: str


def _uint32(text: str | None) -> int | None:
    if text is None or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= rules.RANDOM_MAX else None


class Authenticator:
    """Checks the query string of each call as the provider does."""

    def __init__(  # noqa: PLR0913 - one argument per documented check
        self,
        *,
        sdk_app_id: int,
        admin_identifier: str,
        secret_key: str,
        failure_limit: int,
        failure_window: float,
        lockout_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self._sdk_app_id = sdk_app_id
        self._admin = admin_identifier
        self._secret_key = secret_key
        self._failure_limit = failure_limit
        self._failure_window = failure_window
        self._lockout_seconds = lockout_seconds
        self._clock = clock
        self._failures: deque[float] = deque()
        self._locked_until = 0.0
        self.signature_failures = 0

    def __repr__(self) -> str:
        return f"Authenticator(sdk_app_id={self._sdk_app_id}, admin={self._admin!r})"

    def reset(self) -> None:
        """Forget past failures and any lockout."""
        self._failures.clear()
        self._locked_until = 0.0
        self.signature_failures = 0

    def _signature_failed(self, now: float) -> None:
        self.signature_failures += 1
        failures = self._failures
        failures.append(now)
        while failures and failures[0] <= now - self._failure_window:
            failures.popleft()
        if len(failures) >= self._failure_limit:
            self._locked_until = now + self._lockout_seconds
            failures.clear()

    def _query_problem(self, query: Mapping[str, str]) -> AuthFailure | None:
        app = query.get("sdkappid")
        if app is None or not app.isascii() or not app.isdigit():
            return AuthFailure(rules.SDKAPPID_MISSING, "the URL must carry a numeric sdkappid")
        if int(app) != self._sdk_app_id:
            return AuthFailure(rules.SDKAPPID_UNKNOWN, f"SDKAppID {app} does not exist")
        if _uint32(query.get("random")) is None:
            return AuthFailure(rules.URL_PARSE_ERROR, "random must be an integer 0..4294967295")
        if query.get("contenttype") != "json":
            return AuthFailure(rules.URL_PARSE_ERROR, "contenttype must be json")
        return None

    def _signature_problem(self, identifier: str, user_sig: str, now: float) -> AuthFailure | None:
        if not user_sig:
            return AuthFailure(rules.SIG_EMPTY, "usersig is missing")
        try:
            verify_user_sig(
                user_sig,
                sdk_app_id=self._sdk_app_id,
                identifier=identifier,
                secret_key=self._secret_key,
                now=int(now),
            )
        except UserSigError as exc:
            return AuthFailure(exc.code, exc.reason)
        return None

    def check(self, query: Mapping[str, str]) -> AuthFailure | None:
        """Return ``None`` when the call may proceed, else the provider's refusal."""
        now = self._clock()
        if now < self._locked_until:
            return AuthFailure(
                rules.SIG_LOCKED,
                f"too many UserSig failures: calls are blocked for {self._lockout_seconds:g} s",
            )
        problem = self._query_problem(query)
        if problem is not None:
            return problem
        identifier = query.get("identifier") or ""
        problem = self._signature_problem(identifier, query.get("usersig") or "", now)
        if problem is not None:
            self._signature_failed(now)
            return problem
        if identifier != self._admin:
            return AuthFailure(rules.NOT_ADMIN, "identifier is not the app admin account")
        return None
