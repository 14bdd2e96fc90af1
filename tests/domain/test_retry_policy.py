# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.retry_policy import (
    Action,
    ErrorClass,
    RetryPolicy,
    backoff_delay,
    decide,
    decide_account_wait,
)
from service.providers.tencent import classify

POLICY = RetryPolicy(initial_seconds=0.2, max_seconds=30, max_attempts=5, group_wait_seconds=600)


def decision(
    error_class: ErrorClass, attempt: int = 1, waited: float = 0.0, *, answering: bool = True
):
    return decide(
        error_class,
        attempt=attempt,
        waited_for_group=waited,
        policy=POLICY,
        jitter=0.5,
        provider_answering=answering,
    )


class TestTencentCodes:
    @pytest.mark.parametrize(
        ("code", "expected"),
        [
            (10002, ErrorClass.RETRY),
            (60008, ErrorClass.RETRY),
            (60007, ErrorClass.THROTTLED),
            (60011, ErrorClass.THROTTLED),
            (60018, ErrorClass.THROTTLED),
            (60019, ErrorClass.THROTTLED),
            (70001, ErrorClass.RESIGN),
            (70003, ErrorClass.CONFIGURATION),
            (70050, ErrorClass.CONFIGURATION),
            (70009, ErrorClass.CONFIGURATION),
            (10010, ErrorClass.GROUP_MISSING),
            (10021, ErrorClass.ALREADY_EXISTS),
            (10003, ErrorClass.PERMANENT),
            (10004, ErrorClass.PERMANENT),
            (10007, ErrorClass.PERMANENT),
            (10015, ErrorClass.PERMANENT),
            (10020, ErrorClass.PERMANENT),
            (80001, ErrorClass.PERMANENT),
            (80002, ErrorClass.PERMANENT),
        ],
    )
    def test_each_documented_code_has_its_class(self, code, expected):
        """The provider notes' table, code by code."""
        assert expected == classify(code)


class TestDecide:
    @pytest.mark.parametrize("error_class", [ErrorClass.RETRY, ErrorClass.THROTTLED])
    def test_transient_errors_retry_after_a_delay(self, error_class):
        """10002 and the frequency limit retry after a back-off."""
        result = decision(error_class)
        assert (Action.RETRY, True) == (result.action, result.delay > 0)

    def test_ambiguous_failure_verifies_before_retrying(self):
        """A timeout or reset may have been applied: check the history first."""
        assert Action.VERIFY_THEN_RETRY == decision(ErrorClass.AMBIGUOUS).action

    def test_expired_signature_retries_at_once(self):
        """70001: sign again and retry without waiting."""
        result = decision(ErrorClass.RESIGN)
        assert (Action.RETRY, 0.0) == (result.action, result.delay)

    def test_permanent_fails_at_once(self):
        """A documented refusal fails the event without retrying."""
        assert Action.FAIL == decision(ErrorClass.PERMANENT).action

    def test_configuration_halts_for_a_minute(self):
        """A refused UserSig stops calls and backs off a minute."""
        result = decision(ErrorClass.CONFIGURATION)
        assert (Action.HALT, 60.0) == (result.action, result.delay)

    def test_missing_group_waits_then_fails(self):
        """10010 waits while the group's import may still come, then fails."""
        assert Action.WAIT_FOR_GROUP == decision(ErrorClass.GROUP_MISSING, waited=599).action
        assert Action.FAIL == decision(ErrorClass.GROUP_MISSING, waited=600).action

    def test_retries_stop_after_max_attempts(self):
        """A provider error that never clears (10002) fails the event after max_attempts."""
        assert Action.FAIL == decision(ErrorClass.RETRY, attempt=5).action

    @pytest.mark.parametrize("answering", [True, False])
    def test_the_frequency_limit_never_fails_the_event(self, answering):
        """The frequency limit holds events however long it lasts, it never fails them."""
        assert Action.FAIL != decision(ErrorClass.THROTTLED, 10_000, answering=answering).action

    def test_an_unreachable_provider_holds_the_event(self):
        """While the provider answers no call at all (an outage), unanswered calls never fail."""
        assert (
            Action.VERIFY_THEN_RETRY
            == decision(ErrorClass.AMBIGUOUS, 10_000, answering=False).action
        )

    def test_a_call_left_unanswered_while_others_are_answered_gives_up_at_the_cap(self):
        """One poison call (timeouts while the provider answers others) fails after max_attempts."""
        assert [Action.VERIFY_THEN_RETRY, Action.FAIL] == [
            decision(ErrorClass.AMBIGUOUS, attempt).action for attempt in (4, 5)
        ]

    @given(st.integers(min_value=1, max_value=100), st.floats(min_value=0, max_value=0.999))
    def test_backoff_is_capped_and_positive(self, attempt, jitter):
        """Back-off grows but never exceeds the cap."""
        delay = backoff_delay(attempt, POLICY, jitter)
        assert 0 < delay <= POLICY.max_seconds


class TestAccountWait:
    POLICY = RetryPolicy(account_wait_seconds=60, account_grace_seconds=2)

    def test_waits_while_accounts_are_being_imported(self):
        """A missing account while accounts are imported: wait, at most until the bound."""
        decision = decide_account_wait(
            waited=10, importing=True, attempt=3, policy=self.POLICY, jitter=0.5
        )
        assert Action.WAIT_FOR_ACCOUNTS == decision.action

    def test_fails_at_the_bound(self):
        """After account_wait_seconds the call is given up, importing or not."""
        decision = decide_account_wait(
            waited=60, importing=True, attempt=3, policy=self.POLICY, jitter=0.5
        )
        assert Action.FAIL == decision.action

    def test_without_imports_only_the_grace(self):
        """No account import on its way here: only the grace (another replica may hold it)."""
        early = decide_account_wait(
            waited=1, importing=False, attempt=1, policy=self.POLICY, jitter=0.5
        )
        late = decide_account_wait(
            waited=2, importing=False, attempt=2, policy=self.POLICY, jitter=0.5
        )
        assert (Action.WAIT_FOR_ACCOUNTS, True, Action.FAIL) == (
            early.action,
            early.delay <= 1,
            late.action,
        )

    @given(
        st.floats(min_value=0, max_value=100),
        st.booleans(),
        st.integers(min_value=1, max_value=60),
        st.floats(min_value=0, max_value=0.999),
    )
    def test_a_wait_never_runs_past_its_bound(self, waited, importing, attempt, jitter):
        """Whatever the state, waited + delay never exceeds the bound that applies."""
        decision = decide_account_wait(
            waited=waited, importing=importing, attempt=attempt, policy=self.POLICY, jitter=jitter
        )
        bound = 60 if importing else 2
        assert decision.action is Action.FAIL or waited + decision.delay <= bound + 1e-9
