# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Sharing the app's call budget among replicas by the work each one has left.

A split by partition indices held (``service.providers.ratelimit.replica_share``) is fixed for a
whole assignment. Keys hash unevenly: with 600 groups on 12 partitions one index holds nearly
twice the records of another, and the replica holding the busiest ones finishes seconds after
the others, whose shares sit unused meanwhile. So each replica reports its backlog (the calls it
estimates it still has to make) on a one-partition control topic, and every replica derives every
share from the same reports:

- ``Report``: one replica's consumer group, assignment epoch, the indices it holds and its
  backlog.
- ``allocate``: the shares for one epoch from the latest report of each replica. Indices no
  report names yet keep their split by indices; the rest of the budget goes ``floor_seconds`` of
  calls per index plus the backlogs, in proportion. Backlogs far below a second of calls leave the
  split by indices nearly as it was (a live stream with little waiting); large ones (a backfill)
  give each replica a share in proportion to its work, so the replicas finish together. The
  shares add up to at most the budget.
- ``smooth``: each replica's share moves toward its allocation with a one-second time constant,
  the same way on every replica; ``steady_whole_calls`` keeps the shares in whole calls.
- ``ShareSchedule``: when a share takes effect. Every replica reads the reports in the same
  order, so every replica computes the same sequence of allocations; each one takes effect
  ``EFFECT_DELAY_SECONDS`` after the time stamp of the report it follows, on every replica at
  the same instant. The broker stamps the reports (the topic's ``LogAppendTime``), so the
  instants come from one clock. A smaller share applies at its instant, a larger one a window
  (one second, the provider's) later. As long as every replica reads a report within the
  delay, the calls of all replicas in any one-second window add up to at most the budget
  (``tests/domain/test_budget_sharing.py`` checks this on random schedules). A replica that
  reads a report after its instant only lowers its share to it.
- ``BrokerClock``: how far the broker's clock is from this replica's, within bounds.

Everything here is pure: the clock is an argument.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeGuard

REPORT_FORMAT = 1
EFFECT_DELAY_SECONDS = 0.3
FLOOR_SECONDS = 0.5
SMOOTHING_SECONDS = 1.0
STAMP_RESOLUTION = 0.001  # Kafka time stamps are whole milliseconds
WINDOW_SECONDS = 1.0  # the provider counts calls in any window of one second


@dataclass(frozen=True, slots=True)
class Report:
    """What one replica says of itself: ``backlog`` calls left on ``indices`` of ``epoch``."""

    replica: str
    epoch: int
    index_count: int
    indices: frozenset[int]
    backlog: float
    sequence: int = 0  # counts the replica's reports: it knows its own when they come back
    group: str = ""  # the consumer group: deployments sharing a control topic ignore each other


def encode_report(report: Report) -> bytes:
    """A report as the control topic carries it (JSON)."""
    return json.dumps(
        {
            "format": REPORT_FORMAT,
            "replica": report.replica,
            "epoch": report.epoch,
            "index_count": report.index_count,
            "indices": sorted(report.indices),
            "backlog": round(report.backlog, 3),
            "sequence": report.sequence,
            "group": report.group,
        },
        separators=(",", ":"),
    ).encode()


def decode_report(data: bytes | None) -> Report | None:
    """The report in a control record; None when it is not one this format knows."""
    try:
        body = json.loads(data or b"")
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
        return None
    if not isinstance(body, dict) or body.get("format") != REPORT_FORMAT:
        return None
    replica, epoch, index_count = body.get("replica"), body.get("epoch"), body.get("index_count")
    indices, backlog, sequence = body.get("indices"), body.get("backlog"), body.get("sequence")
    group = body.get("group")
    if not (
        isinstance(replica, str)
        and _natural(epoch)
        and _natural(index_count)
        and isinstance(indices, list)
        and all(_natural(index) and index < index_count for index in indices)
        and isinstance(backlog, int | float)
        and not isinstance(backlog, bool)
        and _finite(backlog)
        and backlog >= 0
        and _natural(sequence)
        and isinstance(group, str)
    ):
        return None
    return Report(replica, epoch, index_count, frozenset(indices), float(backlog), sequence, group)


def _finite(value: float) -> bool:
    """A float's finiteness; an integer too large for a float is not finite either."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _natural(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def split_by_indices(held: int, index_count: int, app_rate: float) -> float:
    """``app_rate * held / index_count`` calls per second, rounded down; 0 for no index.

    The share of ``held`` partition indices out of ``index_count``: rounded down from the exact
    value, so that the shares of disjoint holdings add up to at most ``app_rate`` as floats too.
    """
    if held <= 0 or index_count <= 0:
        return 0.0
    exact = Fraction(app_rate) * held / index_count
    share = float(exact)
    return share if Fraction(share) <= exact else math.nextafter(share, 0.0)


SAFETY = 1.0 - 1e-12  # float shares are scaled by this: rounding can never add up past a budget


def allocate(
    reports: Mapping[str, Report],
    *,
    index_count: int,
    app_rate: float,
    floor_seconds: float = FLOOR_SECONDS,
) -> dict[str, float]:
    """Each reporting replica's calls per second for one epoch (see the module's text).

    ``reports`` holds the latest report of each replica of the epoch, all with ``index_count``.
    Indices no report names keep ``app_rate * n / index_count`` for whoever holds them. Reports
    naming an index twice (which one assignment never does) leave every reporter its split by
    indices. The shares add up to at most ``app_rate`` (floats, scaled by ``SAFETY``, so this is
    cheap enough to run after every report with many replicas).
    """
    if index_count <= 0 or app_rate <= 0:
        return dict.fromkeys(reports, 0.0)
    named = [index for report in reports.values() for index in report.indices]
    per_index = app_rate / index_count
    by_index = {
        replica: per_index * len(report.indices) * SAFETY for replica, report in reports.items()
    }
    if len(named) != len(set(named)):
        return by_index
    floor = per_index * floor_seconds  # calls per index
    weights = {
        replica: report.backlog + floor * len(report.indices) for replica, report in reports.items()
    }
    total = math.fsum(weights.values())
    if total <= 0:
        return by_index
    rest = per_index * len(named)
    return {replica: rest * (weight / total) * SAFETY for replica, weight in weights.items()}


def smooth(previous: float, target: float, elapsed: float, *, seconds: float) -> float:
    """``previous`` moved toward ``target`` by ``1 - exp(-elapsed / seconds)``.

    Every replica moves every share this way after every report, with the same ``elapsed`` (the
    time between the reports' stamps). Early reports are partial (a replica that has not fetched
    yet reports nothing), and a share that followed each at once would swing: a replica given
    much more than it can use would meanwhile starve the others. The result lies between the
    two (scaled by ``SAFETY``), so mixing two splits within a budget stays within it.
    """
    step = -math.expm1(-max(0.0, elapsed) / seconds) if seconds > 0 else 1.0
    return (previous + (target - previous) * step) * SAFETY


def whole_calls(shares: Mapping[str, float], *, cap: int | None = None) -> dict[str, float]:
    """``shares`` as whole calls per second, adding up to the whole part of their sum.

    A replica's limiter lets no more than the whole part of its rate go in any one second (the
    provider counts by the second): the fractions of five shares would idle two calls a second.
    So each share is rounded down and the calls left over go one each to the largest fractions
    (ties to the smaller replica id). ``cap``: the total never exceeds it (the exact budget of
    the replicas in ``shares``, whatever float rounding did to their sum).
    """
    total = math.floor(math.fsum(shares.values()) + 1e-6)
    if cap is not None:
        total = min(total, cap)
    floors = {replica: math.floor(share) for replica, share in shares.items()}
    spare = total - sum(floors.values())
    by_fraction = sorted(shares, key=lambda replica: (floors[replica] - shares[replica], replica))
    for replica in by_fraction[: max(0, spare)]:
        floors[replica] += 1
    while spare < 0:  # only with shares that add up to more than ``cap``
        largest = min(floors, key=lambda replica: (-floors[replica], replica))
        floors[largest] -= 1
        spare += 1
    return {replica: float(calls) for replica, calls in floors.items()}


def steady_whole_calls(
    before: Mapping[str, float], shares: Mapping[str, float], *, cap: int
) -> dict[str, float]:
    """The whole calls of ``before`` while every share stays within a call of them; else anew.

    Every call moved from one replica to another takes effect a window late on the one that
    gains it (``ShareSchedule``) and at once on the one that loses it: a call moved back and
    forth as two fractions cross is a call lost each time. So the whole calls change only when
    a share has moved a whole call away from them, or replicas came or went.
    """
    if (
        before.keys() == shares.keys()
        and sum(before.values()) <= cap
        and all(abs(shares[replica] - calls) < 1 for replica, calls in before.items())
    ):
        return dict(before)
    return whole_calls(shares, cap=cap)


class EpochBook:
    """The reports of one epoch in the order read, and every reporter's share after each.

    Every replica keeps one from the moment it starts reading the control topic, so every
    replica holds the same book after the same report: the latest report of each replica, each
    reporter's share moved toward its allocation (``smooth``, starting from its split by
    indices), and those shares in whole calls (``whole_calls``).
    """

    __slots__ = ("_app_rate", "_smoothed", "epoch", "index_count", "reports", "shares", "stamped")

    def __init__(self, epoch: int, index_count: int, app_rate: float) -> None:
        self.epoch = epoch
        self.index_count = index_count
        self._app_rate = app_rate
        self.reports: dict[str, Report] = {}
        self._smoothed: dict[str, float] = {}
        self.shares: dict[str, float] = {}
        self.stamped: float | None = None

    def add(self, report: Report, stamped: float) -> None:
        """Take ``report`` of this epoch, stamped ``stamped``, and update every share."""
        elapsed = 0.0 if self.stamped is None else max(0.0, stamped - self.stamped)
        self.stamped = stamped if self.stamped is None else max(self.stamped, stamped)
        self.reports[report.replica] = report
        targets = allocate(self.reports, index_count=self.index_count, app_rate=self._app_rate)
        # the exact budget of the indices reported (each once, should two reports name one)
        named = len(frozenset().union(*(known.indices for known in self.reports.values())))
        cap = math.floor(Fraction(self._app_rate) * named / self.index_count)
        for replica, target in targets.items():
            before = self._smoothed.get(replica)
            if before is None:  # its split by indices until now
                indices = len(self.reports[replica].indices)
                before = split_by_indices(indices, self.index_count, self._app_rate)
            self._smoothed[replica] = smooth(before, target, elapsed, seconds=SMOOTHING_SECONDS)
        self.shares = steady_whole_calls(self.shares, self._smoothed, cap=cap)


class ShareSchedule:
    """When each allocation's share takes effect on this replica (see the module's text).

    ``plan`` takes the share an allocation gives this replica and the time stamp of the report
    it was computed after; the share takes effect ``delay_seconds`` later, and never before the
    one planned before it. Every replica plans the same allocations at the same instants, so
    they switch together.

    The provider counts calls in any one-second window, and a replica's limiter lets through
    in a window at most the rate it has at the window's last call. So the rate a replica takes
    is the smallest share in effect at any moment of the last ``window_seconds``: a smaller
    share applies at its instant, a larger one a window later. Then, in any window, every
    replica's calls are bounded by its share at the window's start, one allocation for all.

    An allocation read after its instant has passed (this replica reads the control topic late)
    only ever lowers the share: the others switched already.
    """

    __slots__ = ("_delay", "_last_at", "_timeline", "_window")

    def __init__(
        self,
        share: float,
        *,
        delay_seconds: float = EFFECT_DELAY_SECONDS,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        self._delay = delay_seconds
        self._window = window_seconds
        self._last_at = -math.inf
        # (instant, share from then on), in order: past switches within the window, then planned
        self._timeline: deque[tuple[float, float]] = deque([(-math.inf, share)])

    def plan(self, share: float, stamped: float, now: float) -> bool:
        """An allocation gave ``share`` after a report stamped ``stamped`` (both clocks: wall).

        False when it was read late (its instant had passed).
        """
        at = max(self._last_at, stamped + self._delay)
        self._last_at = at
        if at > now:
            self._timeline.append((at, share))
            return True
        # every instant planned so far has passed: the last share is the one in effect
        self._timeline.append((now, min(self._timeline[-1][1], share)))
        return False

    def share(self, now: float, *, ahead: float = 0.0) -> float:
        """The rate to take at ``now``: the smallest share in effect in the window before it.

        With ``ahead``, up to ``now + ahead`` as well: a replica that looks only every ``ahead``
        seconds takes a smaller share that early, never a larger one while the others have
        switched to smaller. Times asked never go back.
        """
        timeline = self._timeline
        while len(timeline) > 1 and timeline[1][0] <= now - self._window:
            timeline.popleft()
        return min(share for at, share in timeline if at <= now + ahead)


class BrokerClock:
    """How far the broker's clock is ahead of this replica's, from its own reports coming back.

    The broker stamps a report (``LogAppendTime``) between the moment it is sent and the moment
    its acknowledgement arrives, so its clock is ahead by between ``stamped - acked`` and
    ``stamped - sent`` (each widened by the millisecond a time stamp is rounded to). The bounds
    are what the last ``samples`` reports agree on; when they do not agree (a clock was
    stepped), the latest report's alone. Before any report came back: none (0, 0).
    """

    __slots__ = ("_samples",)

    def __init__(self, samples: int = 20) -> None:
        self._samples: deque[tuple[float, float]] = deque(maxlen=samples)

    def add(self, sent: float, acked: float, stamped: float) -> None:
        """One report of this replica's: sent and acknowledged (its clock), stamped (broker's)."""
        self._samples.append(
            (stamped - acked - STAMP_RESOLUTION, stamped - sent + STAMP_RESOLUTION)
        )

    def bounds(self) -> tuple[float, float]:
        """The least and the most the broker's clock may be ahead of this replica's."""
        if not self._samples:
            return 0.0, 0.0
        low = max(sample[0] for sample in self._samples)
        high = min(sample[1] for sample in self._samples)
        return (low, high) if low <= high else self._samples[-1]


class ShareFollower:
    """One replica's share through one epoch: its split by indices, then its share in the book.

    Every allocation gives a replica its split by indices until it has reported; after each
    report of the epoch (``follow``) the replica plans its share in the book
    (``ShareSchedule``).
    """

    __slots__ = ("_replica", "_schedule", "static")

    def __init__(
        self, replica: str, index_count: int, indices: frozenset[int], app_rate: float
    ) -> None:
        self._replica = replica
        self.static = split_by_indices(len(indices), index_count, app_rate)
        self._schedule = ShareSchedule(self.static)

    def follow(self, book: EpochBook, now: float) -> bool:
        """Plan this replica's share after the book's latest report; False when read late."""
        stamped = book.stamped if book.stamped is not None else now
        return self._schedule.plan(book.shares.get(self._replica, self.static), stamped, now)

    def share(self, now: float, *, ahead: float = 0.0) -> float:
        """The share in effect at ``now`` (see ``ShareSchedule.share``)."""
        return self._schedule.share(now, ahead=ahead)
