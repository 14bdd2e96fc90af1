# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

from service.emulator import rules
from service.emulator.auth import Authenticator

from .helpers import (
    ADMIN,
    SDK_APP_ID,
    SECRET_KEY,
    WRONG_SIGNING_KEY,
    FakeClock,
    query,
    sign,
)


def authenticator(clock: FakeClock) -> Authenticator:
    """Build the authenticator the default emulator uses, on ``clock``."""
    return Authenticator(
        sdk_app_id=SDK_APP_ID,
        admin_identifier=ADMIN,
        secret_key=SECRET_KEY,
        failure_limit=10,
        failure_window=60,
        lockout_seconds=60,
        clock=clock,
    )


def code(auth: Authenticator, **overrides: str | None) -> int:
    """Return the refusal code for a call with ``overrides`` (0: accepted)."""
    failure = auth.check(query(**overrides))
    return 0 if failure is None else failure.code


class TestQueryString:
    """Each query parameter and the UserSig have their code."""

    def test_valid_call_passes(self) -> None:
        """A signed call from the admin with every parameter passes."""
        clock = FakeClock()
        expected = 0
        assert expected == code(authenticator(clock), usersig=sign(now=int(clock.now)))

    def test_each_parameter_is_checked(self) -> None:
        """Missing or wrong sdkappid, random and contenttype each have their code."""
        auth = authenticator(FakeClock())
        expected = [60012, 70020, 60002, 60002, 60002]
        assert expected == [
            code(auth, sdkappid=None),
            code(auth, sdkappid="1400000001"),
            code(auth, random="4294967296"),
            code(auth, random=None),
            code(auth, contenttype="xml"),
        ]

    def test_user_sig_codes(self) -> None:
        """Missing UserSig 70002, forged 70003, expired 70001, signed for another user 70003."""
        clock = FakeClock()
        auth = authenticator(clock)
        now = int(clock.now)
        expected = [70002, 70003, 70001, 70003]
        assert expected == [
            code(auth, usersig=None),
            code(auth, usersig=sign(secret_key=WRONG_SIGNING_KEY, now=now)),
            code(auth, usersig=sign(now=now - 200, expire=100)),
            code(auth, usersig=sign("someone", now=now)),
        ]

    def test_identifier_must_be_the_admin(self) -> None:
        """A valid UserSig of a user who is not the app admin is refused."""
        clock = FakeClock()
        auth = authenticator(clock)
        refused = code(auth, identifier="bob", usersig=sign("bob", now=int(clock.now)))
        expected = rules.NOT_ADMIN
        assert expected == refused


class TestLockout:
    """Repeated UserSig failures block the app for a minute (70050)."""

    def test_ten_failures_block_for_a_minute(self) -> None:
        """After 10 UserSig failures within 60 s every call is 70050 for a minute."""
        clock = FakeClock()
        auth = authenticator(clock)
        for _ in range(10):
            code(auth, usersig="garbage")
        blocked = code(auth, usersig=sign(now=int(clock.now)))
        clock.advance(61)
        after = code(auth, usersig=sign(now=int(clock.now)))
        expected = (rules.SIG_LOCKED, 0)
        assert expected == (blocked, after)

    def test_failures_spread_over_more_than_a_minute_do_not_block(self) -> None:
        """Old failures leave the window."""
        clock = FakeClock()
        auth = authenticator(clock)
        for _ in range(10):
            code(auth, usersig="garbage")
            clock.advance(7)
        expected = 0
        assert expected == code(auth, usersig=sign(now=int(clock.now)))
