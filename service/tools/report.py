# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""``chat-import report``: what the outcomes topic says about a migration.

Progress per stage, in the providers' migration order (accounts, groups, members, messages,
unread counts): events imported and failed; then failures by code and the groups that failed
most or took longest.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from service.domain.events import EventType
from service.messaging.topic_reader import read_topic
from service.settings import KafkaSettings


@dataclass
class GroupSummary:
    """Outcome counts and time span of one group."""

    imported: int = 0
    failed: int = 0
    first_ms: int | None = None
    last_ms: int | None = None

    @property
    def seconds(self) -> float:
        """Time between the group's first and last outcome."""
        if self.first_ms is None or self.last_ms is None:
            return 0.0
        return (self.last_ms - self.first_ms) / 1000


# The stages of a migration, in the providers' order, by outcome type.
STAGES: tuple[tuple[str, str], ...] = (
    (EventType.ACCOUNT_IMPORT.result_type, "accounts"),
    (EventType.GROUP_IMPORT.result_type, "groups"),
    (EventType.MEMBER_IMPORT.result_type, "members"),
    (EventType.MESSAGE_IMPORT.result_type, "messages"),
    (EventType.UNREAD_SET.result_type, "unread counts"),
)


@dataclass
class StageSummary:
    """Outcomes of one stage."""

    imported: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        """Events of the stage with an outcome."""
        return self.imported + self.failed


@dataclass
class Summary:
    """Totals of the outcomes topic, latest outcome per event."""

    by_status: Counter[str] = field(default_factory=Counter)
    failed_by_code: Counter[int] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    by_stage: dict[str, StageSummary] = field(default_factory=lambda: defaultdict(StageSummary))
    groups: dict[str, GroupSummary] = field(default_factory=lambda: defaultdict(GroupSummary))
    outcomes_read: int = 0
    unreadable: int = 0

    @property
    def events(self) -> int:
        """Distinct events with an outcome."""
        return sum(self.by_status.values())

    @property
    def repeated(self) -> int:
        """Outcome records beyond the first of their event (a restart or a rebalance repeats)."""
        return self.outcomes_read - self.events


def summarise(outcomes: list[tuple[dict[str, object], int]]) -> Summary:
    """Summarise (outcome, timestamp) pairs; a repeated event counts once (its latest outcome)."""
    latest: dict[str, tuple[dict[str, object], int]] = {}
    summary = Summary()
    for outcome, timestamp in outcomes:
        summary.outcomes_read += 1
        latest[str(outcome.get("event_id"))] = (outcome, timestamp)
    for outcome, timestamp in latest.values():
        status = str(outcome.get("status"))
        summary.by_status[status] += 1
        summary.by_type[str(outcome.get("type"))] += 1
        stage = summary.by_stage[str(outcome.get("type"))]
        if status == "imported":
            stage.imported += 1
        else:
            stage.failed += 1
            code = outcome.get("error_code")
            summary.failed_by_code[code if isinstance(code, int) else -1] += 1
        group_id = outcome.get("group_id")
        if not isinstance(group_id, str):
            continue  # an account: no group
        group = summary.groups[group_id]
        if status == "imported":
            group.imported += 1
        else:
            group.failed += 1
        group.first_ms = timestamp if group.first_ms is None else min(group.first_ms, timestamp)
        group.last_ms = timestamp if group.last_ms is None else max(group.last_ms, timestamp)
    return summary


async def load_outcomes(
    kafka: KafkaSettings | str, topic: str
) -> tuple[list[tuple[dict[str, object], int]], int]:
    """Every outcome of the topic with its timestamp, and the count of unreadable records."""
    outcomes: list[tuple[dict[str, object], int]] = []
    unreadable = 0
    async for record in read_topic(kafka, topic):
        try:
            value = json.loads(record.value or b"")
        except ValueError:
            unreadable += 1
            continue
        if isinstance(value, dict):
            outcomes.append((value, record.timestamp_ms))
        else:
            unreadable += 1
    return outcomes, unreadable


def stage_table(by_stage: dict[str, StageSummary], title: str = "Progress by stage") -> Table:
    """One row per stage in migration order (then any other type), imported and failed."""
    table = Table(title=title)
    table.add_column("stage")
    table.add_column("imported", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("events", justify="right")
    known = dict(STAGES)
    rows = [(name, by_stage.get(kind, StageSummary())) for kind, name in STAGES]
    rows += [(kind, stage) for kind, stage in sorted(by_stage.items()) if kind not in known]
    for name, stage in rows:
        table.add_row(name, f"{stage.imported:,}", f"{stage.failed:,}", f"{stage.total:,}")
    return table


def render(summary: Summary, console: Console, *, top: int = 5) -> None:
    """Print the summary tables."""
    console.print(stage_table(summary.by_stage))
    totals = Table(title="Outcomes")
    totals.add_column("status")
    totals.add_column("events", justify="right")
    for status, count in sorted(summary.by_status.items()):
        totals.add_row(status, str(count))
    totals.add_row("total", str(summary.events))
    console.print(totals)
    if summary.failed_by_code:
        codes = Table(title="Failed by error code")
        codes.add_column("error_code")
        codes.add_column("events", justify="right")
        for code, count in summary.failed_by_code.most_common():
            codes.add_row(str(code), str(count))
        console.print(codes)
    groups = Table(title=f"Most-failed groups (top {top})")
    groups.add_column("group")
    groups.add_column("imported", justify="right")
    groups.add_column("failed", justify="right")
    for name, group in sorted(summary.groups.items(), key=lambda kv: -kv[1].failed)[:top]:
        if group.failed:
            groups.add_row(name, str(group.imported), str(group.failed))
    console.print(groups)
    slow = Table(title=f"Slowest groups (top {top}, first to last outcome)")
    slow.add_column("group")
    slow.add_column("seconds", justify="right")
    slow.add_column("events", justify="right")
    for name, group in sorted(summary.groups.items(), key=lambda kv: -kv[1].seconds)[:top]:
        slow.add_row(name, f"{group.seconds:.1f}", str(group.imported + group.failed))
    console.print(slow)
    share = f" ({summary.repeated / summary.events:.1%} of the events)" if summary.events else ""
    console.print(
        f"outcome records read: {summary.outcomes_read}; repeated outcomes: "
        f"{summary.repeated}{share}; unreadable: {summary.unreadable}"
    )
