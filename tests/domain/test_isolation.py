# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.isolation import IsolationPlan

ISOLATABLE = frozenset({10004, 10020})


def run(plan: IsolationPlan, bad: set[int], name) -> tuple[list[tuple[int, ...]], list[int]]:
    """Answer the plan's calls like the provider: a call with a bad message is refused (10004)."""
    calls: list[tuple[int, ...]] = []
    imported: list[int] = []
    while (call := plan.next_call()) is not None:
        calls.append(call)
        if bad & set(call):
            plan.refused(10004, "MsgList refused", suspect=name(call, bad))
        else:
            plan.answered()
            imported.extend(call)
    return calls, imported


def no_name(call, bad):
    return None


def names_a_bad_one(call, bad):
    return next(i for i, p in enumerate(call) if p in bad)


class TestIsolationPlan:
    def test_the_named_message_fails_and_the_rest_goes_in_one_call(self):
        """10004 naming MsgList[3]: the other six in one call, then only the fourth fails."""
        plan = IsolationPlan.after_refusal(
            7, 10004, "MsgList[3].SendTime", suspect=3, isolatable=ISOLATABLE
        )
        calls, _ = run(plan, {3}, names_a_bad_one)
        assert ([(0, 1, 2, 4, 5, 6)], [3], 10004) == (
            calls,
            sorted(plan.failures),
            plan.failures[3].code,
        )

    def test_without_a_name_halves_then_single_messages(self):
        """Unnamed: halves, earlier half first, down to the one message that is refused."""
        plan = IsolationPlan.after_refusal(
            7, 10020, "too long", suspect=None, isolatable=ISOLATABLE
        )
        calls, _ = run(plan, {5}, no_name)
        assert ([(0, 1, 2, 3), (4, 5, 6), (4, 5), (4,), (5,), (6,)], [5]) == (
            calls,
            sorted(plan.failures),
        )

    def test_a_wrong_name_falls_back_to_halves(self):
        """The call without the named message is refused too: the whole call is halved instead."""
        plan = IsolationPlan.after_refusal(4, 10004, "?", suspect=0, isolatable=ISOLATABLE)
        calls, imported = run(plan, {3}, no_name)
        assert ([(1, 2, 3), (0, 1), (2, 3), (2,), (3,)], [0, 1, 2], [3]) == (
            calls,
            imported,
            sorted(plan.failures),
        )

    def test_a_single_refused_message_fails_at_once(self):
        """A batch of one refused needs no other call."""
        plan = IsolationPlan.after_refusal(1, 10004, "bad", suspect=0, isolatable=ISOLATABLE)
        assert (None, {0: (10004, "bad")}) == (
            plan.next_call(),
            {p: (f.code, f.info) for p, f in plan.failures.items()},
        )

    def test_another_code_fails_the_call_without_splitting(self):
        """10007 is not about one message: the call's messages fail with it, nothing is split."""
        plan = IsolationPlan.after_refusal(
            3, 10007, "no permission", suspect=None, isolatable=ISOLATABLE
        )
        assert (None, [10007, 10007, 10007]) == (
            plan.next_call(),
            [plan.failures[p].code for p in range(3)],
        )

    def test_abandon_fails_what_is_left(self):
        """Abandoning (the group is gone) fails the call in flight and the ones not made yet."""
        plan = IsolationPlan.after_refusal(4, 10004, "x", suspect=None, isolatable=ISOLATABLE)
        plan.next_call()
        plan.abandon(10010, "group gone")
        assert (True, [10010] * 4) == (plan.done, [plan.failures[p].code for p in range(4)])

    def test_asking_for_a_call_while_one_is_in_flight_is_a_bug(self):
        """The plan makes one call at a time: order depends on it."""
        plan = IsolationPlan(2, isolatable=ISOLATABLE)
        plan.next_call()
        with pytest.raises(RuntimeError):
            plan.next_call()


namings = st.sampled_from(["none", "first_bad", "last_bad", "a_good_one", "out_of_range"])


def naming(kind: str):
    def name(call, bad):
        bad_at = [i for i, p in enumerate(call) if p in bad]
        good_at = [i for i, p in enumerate(call) if p not in bad]
        return {
            "none": None,
            "first_bad": bad_at[0],
            "last_bad": bad_at[-1],
            "a_good_one": good_at[0] if good_at else None,
            "out_of_range": len(call) + 3,
        }[kind]

    return name


class TestIsolationProperties:
    @given(
        size=st.integers(1, 7),
        data=st.data(),
        kind=namings,
    )
    def test_only_bad_messages_fail_each_exactly_once_and_in_order(self, size, data, kind):
        """Every message ends imported or failed exactly once; only the bad ones fail; order kept."""
        bad = data.draw(st.sets(st.integers(0, size - 1), min_size=1))
        plan = IsolationPlan(size, isolatable=ISOLATABLE)
        calls, imported = run(plan, bad, naming(kind))
        failed = sorted(plan.failures)
        assert (True, sorted(bad), sorted(set(range(size)) - bad), imported) == (
            plan.done,
            failed,
            sorted(imported),
            sorted(imported),
        )
        assert sorted(imported + failed) == list(range(size))
        assert len(calls) <= 3 * size
