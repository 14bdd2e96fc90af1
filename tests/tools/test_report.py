# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from rich.console import Console

from service.tools.report import render, summarise


def outcome(event_id: str, status: str = "imported") -> dict[str, object]:
    return {"event_id": event_id, "status": status, "type": "group.message.import.result"}


def test_the_report_says_how_many_outcomes_were_repeated():
    """A restart that publishes an event's outcome again shows as a repeat, not a new event."""
    summary = summarise(
        [(outcome("a"), 1), (outcome("b"), 2), (outcome("a"), 3), (outcome("c"), 4)]
    )
    console = Console(record=True, width=200)
    render(summary, console)
    assert (3, 1) == (summary.events, summary.repeated)
    assert "repeated outcomes: 1 (33.3% of the events)" in console.export_text()
