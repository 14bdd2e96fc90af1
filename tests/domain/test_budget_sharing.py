# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Sharing the call budget by backlog: reports, allocations, smoothing and when shares apply."""

from __future__ import annotations

import copy
import json
import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.budget_sharing import (
    EFFECT_DELAY_SECONDS,
    BrokerClock,
    EpochBook,
    Report,
    ShareFollower,
    ShareSchedule,
    allocate,
    decode_report,
    encode_report,
    smooth,
    steady_whole_calls,
    whole_calls,
)

BUDGET = 196.0


def exact_sum(shares: object) -> Fraction:
    return sum((Fraction(share) for share in shares), Fraction(0))  # type: ignore[attr-defined]


def report(replica: str, indices: set[int], backlog: float, *, index_count: int = 12) -> Report:
    return Report(replica, 3, index_count, frozenset(indices), backlog, 1)


VALID = {
    "format": 1,
    "replica": "a",
    "epoch": 1,
    "index_count": 2,
    "indices": [0],
    "backlog": 1,
    "sequence": 1,
    "group": "chat-import",
}


class TestReports:
    @given(
        st.builds(
            Report,
            replica=st.text(min_size=1, max_size=40),
            epoch=st.integers(0, 2**32),
            index_count=st.just(12),
            indices=st.frozensets(st.integers(0, 11)),
            backlog=st.floats(0, 1e9).map(lambda x: round(x, 3)),
            sequence=st.integers(0, 2**40),
            group=st.text(max_size=40),
        )
    )
    def test_a_report_reads_back_as_it_was_written(self, written: Report) -> None:
        assert decode_report(encode_report(written)) == written

    @pytest.mark.parametrize(
        "data",
        [
            None,
            b"",
            b"not json",
            b"\xff\xfe",
            b"[]",
            *(
                json.dumps(VALID | change).encode().replace(b"Infinity", b"NaN")
                for change in (
                    {"format": 2},
                    {"indices": [2]},
                    {"epoch": True},
                    {"backlog": -1},
                    {"backlog": math.inf},
                    {"replica": 7},
                    {"sequence": None},
                    {"group": None},
                )
            ),
        ],
    )
    def test_anything_else_on_the_control_topic_is_no_report(self, data: bytes | None) -> None:
        assert decode_report(data) is None

    @pytest.mark.parametrize(
        "data",
        [
            # an integer too large for a float: math.isfinite raises OverflowError
            json.dumps(VALID).replace('"backlog": 1', '"backlog": 1' + "0" * 400).encode(),
            # nested deeper than the JSON decoder's recursion limit: RecursionError
            b"[" * 100_000 + b"]" * 100_000,
        ],
        ids=["huge-integer-backlog", "deeply-nested"],
    )
    def test_a_hostile_record_is_no_report_rather_than_an_error(self, data: bytes) -> None:
        """An error here drops the whole batch read with it, on each replica at its own cut."""
        assert decode_report(data) is None

    def test_the_valid_example_is_a_report(self) -> None:
        assert decode_report(json.dumps(VALID).encode()) is not None


class TestAllocate:
    def test_no_backlog_anywhere_is_the_split_by_indices(self) -> None:
        reports = {"a": report("a", {0, 1, 2}, 0), "b": report("b", set(range(3, 12)), 0)}
        assert allocate(reports, index_count=12, app_rate=BUDGET) == {
            "a": pytest.approx(49.0),
            "b": pytest.approx(147.0),
        }

    def test_a_replica_with_more_work_gets_more_of_the_budget(self) -> None:
        reports = {"a": report("a", {0, 1}, 900), "b": report("b", {2, 3}, 300)}
        shares = allocate(reports, index_count=4, app_rate=BUDGET)
        assert shares["a"] > 2 * shares["b"]
        assert exact_sum(shares.values()) <= Fraction(BUDGET)

    def test_indices_nobody_reported_keep_their_split(self) -> None:
        shares = allocate({"a": report("a", {0}, 1_000)}, index_count=4, app_rate=BUDGET)
        assert shares == {"a": pytest.approx(49.0)}  # the other three keep 147 for their holders
        assert shares["a"] <= 49.0

    def test_an_index_reported_twice_leaves_every_reporter_its_split(self) -> None:
        reports = {"a": report("a", {0, 1}, 900), "b": report("b", {1, 2}, 0)}
        assert allocate(reports, index_count=4, app_rate=BUDGET) == {
            "a": pytest.approx(98.0),
            "b": pytest.approx(98.0),
        }

    @given(
        owners=st.lists(st.integers(0, 5), min_size=1, max_size=24),
        backlogs=st.lists(st.floats(0, 1e7), min_size=6, max_size=6),
        reported=st.sets(st.integers(0, 5)),
        app_rate=st.floats(0.5, 1_000),
    )
    def test_the_shares_never_add_up_to_more_than_the_budget(
        self, owners: list[int], backlogs: list[float], reported: set[int], app_rate: float
    ) -> None:
        index_count = len(owners)
        held = {f"r{r}": {i for i, o in enumerate(owners) if o == r} for r in range(6)}
        reports = {
            name: report(name, indices, backlogs[int(name[1:])], index_count=index_count)
            for name, indices in held.items()
            if int(name[1:]) in reported
        }
        shares = allocate(reports, index_count=index_count, app_rate=app_rate)
        unreported = sum(len(held[f"r{r}"]) for r in range(6) if r not in reported)
        reserved = Fraction(app_rate) * unreported / index_count
        assert exact_sum(shares.values()) + reserved <= Fraction(app_rate)


class TestSmooth:
    def test_it_moves_part_of_the_way_with_time(self) -> None:
        assert smooth(10.0, 20.0, 0.0, seconds=0.5) == pytest.approx(10.0)
        half = smooth(10.0, 20.0, 0.5 * math.log(2), seconds=0.5)
        assert 14.99 < half <= 15.0
        assert 19.99 < smooth(10.0, 20.0, 10.0, seconds=0.5) <= 20.0

    @given(
        pairs=st.lists(st.tuples(st.floats(0, 200), st.floats(0, 200)), min_size=1, max_size=8),
        elapsed=st.floats(0, 5),
    )
    def test_mixing_two_splits_within_the_budget_stays_within_it(
        self, pairs: list[tuple[float, float]], elapsed: float
    ) -> None:
        before, after = zip(*pairs, strict=True)
        budget = max(exact_sum(before), exact_sum(after))
        mixed = [smooth(old, new, elapsed, seconds=0.5) for old, new in pairs]
        assert exact_sum(mixed) <= budget


class TestShareSchedule:
    def test_a_smaller_share_takes_effect_the_delay_after_its_report(self) -> None:
        schedule = ShareSchedule(30.0, delay_seconds=0.3)
        assert schedule.plan(20.0, stamped=100.0, now=100.05)
        assert schedule.share(100.29) == 30.0
        assert schedule.share(100.3) == 20.0

    def test_a_larger_share_takes_effect_a_window_later(self) -> None:
        """The provider counts by the second: the old share stays in its window for a second."""
        schedule = ShareSchedule(30.0, delay_seconds=0.3, window_seconds=1.0)
        assert schedule.plan(50.0, stamped=100.0, now=100.05)
        assert schedule.share(100.3) == 30.0
        assert schedule.share(101.29) == 30.0
        assert schedule.share(101.3) == 50.0

    def test_instants_never_go_back(self) -> None:
        schedule = ShareSchedule(30.0, delay_seconds=0.3)
        schedule.plan(25.0, stamped=100.0, now=100.0)
        schedule.plan(20.0, stamped=99.9, now=100.01)  # stamped earlier: after the first anyway
        assert schedule.share(100.29) == 30.0
        assert schedule.share(100.3) == 20.0

    def test_a_share_read_late_only_lowers(self) -> None:
        schedule = ShareSchedule(30.0, delay_seconds=0.3)
        assert not schedule.plan(50.0, stamped=100.0, now=101.0)
        assert schedule.share(101.0) == 30.0
        assert not schedule.plan(10.0, stamped=100.1, now=101.0)
        assert schedule.share(101.0) == 10.0

    def test_looking_ahead_takes_a_smaller_share_early(self) -> None:
        schedule = ShareSchedule(30.0, delay_seconds=0.3, window_seconds=1.0)
        schedule.plan(20.0, stamped=100.0, now=100.0)
        schedule.plan(40.0, stamped=100.01, now=100.0)
        assert schedule.share(100.24, ahead=0.05) == 30.0
        assert schedule.share(100.26, ahead=0.05) == 20.0
        assert schedule.share(101.305, ahead=0.05) == 20.0  # 20 was in effect a window ago
        assert schedule.share(101.311, ahead=0.05) == 40.0


# holdings, index count, the log (sender, backlog, stamp), and when each replica reads each record
Run = tuple[dict[str, frozenset[int]], int, list[tuple[str, float, float]], dict[str, list[float]]]


@st.composite
def cluster_runs(draw: st.DrawFn) -> Run:
    """Replicas holding disjoint indices, reports in log order, and when each replica reads each."""
    replicas = draw(st.integers(1, 5))
    index_count = draw(st.integers(replicas, 12))
    owners = [draw(st.integers(0, replicas - 1)) for _ in range(index_count)]
    held = {f"r{r}": frozenset(i for i, o in enumerate(owners) if o == r) for r in range(replicas)}
    log = []
    stamp = 1_000.0
    for _ in range(draw(st.integers(1, 30))):
        stamp += draw(st.floats(0, 0.4))
        sender = f"r{draw(st.integers(0, replicas - 1))}"
        log.append((sender, draw(st.floats(0, 5_000)), stamp))
    reads: dict[str, list[float]] = {}
    for name in held:
        last = 0.0
        reads[name] = []
        for _, _, stamped in log:
            # each replica reads the log in order, each record within the delay of its stamp
            last = max(last, stamped + draw(st.floats(0, EFFECT_DELAY_SECONDS * 0.99)))
            reads[name].append(last)
    return held, index_count, log, reads


class TestWholeCalls:
    def test_the_calls_left_over_go_to_the_largest_fractions(self) -> None:
        shares = {"a": 48.3, "b": 29.4, "c": 37.1, "d": 52.7, "e": 28.5}
        assert whole_calls(shares) == {"a": 48.0, "b": 29.0, "c": 37.0, "d": 53.0, "e": 29.0}

    @given(st.dictionaries(st.text(max_size=3), st.floats(0, 500), max_size=8))
    def test_whole_calls_add_up_to_the_whole_part_of_the_sum(
        self, shares: dict[str, float]
    ) -> None:
        cap = math.floor(exact_sum(shares.values()))
        calls = whole_calls(shares, cap=cap)
        assert all(
            calls[r] in (math.floor(share), math.floor(share) + 1) for r, share in shares.items()
        )
        assert exact_sum(calls.values()) == cap

    def test_a_sum_a_hair_below_a_whole_call_still_counts_it(self) -> None:
        """Float rounding leaves 195.99999999 of 196: the last call is not lost."""
        shares = {"a": 97.99999999999, "b": 97.99999999999}
        assert whole_calls(shares, cap=196) == {"a": 98.0, "b": 98.0}

    @given(st.dictionaries(st.text(max_size=3), st.floats(0, 500), max_size=8), st.integers(0, 50))
    def test_whole_calls_never_pass_the_cap(self, shares: dict[str, float], cap: int) -> None:
        assert exact_sum(whole_calls(shares, cap=cap).values()) <= cap


class TestBrokerClock:
    def test_before_any_report_came_back_the_clocks_are_taken_as_one(self) -> None:
        assert BrokerClock().bounds() == (0.0, 0.0)

    def test_reports_coming_back_bound_how_far_the_brokers_clock_is_ahead(self) -> None:
        clock = BrokerClock()
        # the broker's clock is 1.25 s ahead; acknowledgements take 20 ms, then 4 ms
        clock.add(sent=100.0, acked=100.02, stamped=101.26)
        clock.add(sent=101.0, acked=101.004, stamped=102.252)
        low, high = clock.bounds()
        assert low <= 1.25 <= high
        assert high - low < 0.01  # the tighter report narrows it

    def test_a_stepped_clock_trusts_the_latest_report(self) -> None:
        clock = BrokerClock()
        clock.add(sent=100.0, acked=100.01, stamped=100.005)
        clock.add(sent=200.0, acked=200.01, stamped=203.005)  # this pod's clock went back 3 s
        low, high = clock.bounds()
        assert low <= 3.0 <= high


class TestEpochBook:
    def test_shares_move_toward_the_backlogs_and_are_whole_calls(self) -> None:
        book = EpochBook(3, 4, BUDGET)
        book.add(report("a", {0, 1}, 900, index_count=4), 100.0)
        assert book.shares == {"a": 98.0}  # no time has passed: its split by indices
        book.add(report("b", {2, 3}, 100, index_count=4), 100.5)
        book.add(report("a", {0, 1}, 900, index_count=4), 105.0)
        assert book.shares["a"] > 150
        assert book.shares["b"] < 30
        assert book.shares["a"] + book.shares["b"] <= BUDGET


@given(cluster_runs(), st.lists(st.floats(0, 0.999), min_size=5, max_size=5))
def test_the_shares_taken_in_any_second_never_add_up_to_more_than_the_budget(
    run: Run, offsets: list[float]
) -> None:
    """Replicas follow the same reports at their own pace; no second sees them overrun.

    The provider counts calls in any one-second window, and each replica's calls in one are
    bounded by the rate it takes at its last call there: those rates, each at its own moment of
    the window, add up to at most the budget.
    """
    held, index_count, log, reads = run
    followers = {name: ShareFollower(name, index_count, held[name], BUDGET) for name in held}
    books = {name: EpochBook(3, index_count, BUDGET) for name in held}
    # every read, then every window's end, in time order; a window ends after each instant
    events: list[tuple[float, int, str, int]] = [
        (reads[name][k], 0, name, k) for name in held for k in range(len(log))
    ]
    for _, _, stamped in log:
        for instant in (stamped + EFFECT_DELAY_SECONDS, stamped + EFFECT_DELAY_SECONDS + 1.0):
            events += [(instant, 1, "", 0), (math.nextafter(instant, math.inf), 1, "", 0)]
    for moment, kind, name, k in sorted(events):
        if kind == 0:
            sender, backlog, stamped = log[k]
            books[name].add(Report(sender, 3, index_count, held[sender], backlog, k), stamped)
            assert followers[name].follow(books[name], moment)
            continue
        # each replica's last call in the window (moment - 1, moment] at its own time
        taken = [
            copy.deepcopy(follower).share(moment - offset)
            for follower, offset in zip(followers.values(), offsets, strict=False)
        ]
        assert exact_sum(taken) <= Fraction(BUDGET)


class TestSteadyWholeCalls:
    def test_shares_wobbling_within_a_call_keep_their_whole_calls(self) -> None:
        before = {"a": 49.0, "b": 33.0}
        assert steady_whole_calls(before, {"a": 48.6, "b": 33.3}, cap=82) == before

    def test_a_share_a_whole_call_away_rounds_anew(self) -> None:
        before = {"a": 49.0, "b": 33.0}
        assert steady_whole_calls(before, {"a": 47.9, "b": 34.1}, cap=82) == {"a": 48.0, "b": 34.0}

    def test_a_replica_coming_or_a_smaller_cap_rounds_anew(self) -> None:
        before = {"a": 49.0, "b": 33.0}
        assert steady_whole_calls(before, {"a": 49.0, "b": 33.0, "c": 16.3}, cap=98) == {
            "a": 49.0,
            "b": 33.0,
            "c": 16.0,
        }
        assert sum(steady_whole_calls(before, {"a": 49.0, "b": 33.0}, cap=80).values()) <= 80
