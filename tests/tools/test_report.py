# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
import io

from rich.console import Console

from service.tools.report import render, summarise


def outcome(kind: str, event: str, status: str = "imported", **fields: object) -> dict[str, object]:
    return {"type": f"{kind}.result", "event_id": event, "status": status, **fields}


class TestProgressByStage:
    def test_each_stage_counts_its_latest_outcomes(self):
        """Imported and failed per stage; a repeated event counts once, by its latest outcome."""
        outcomes = [
            outcome("account.import", "a1", user_id="u1"),
            outcome("account.import", "a2", "failed", error_code=70402),
            outcome("group.import", "g1", group_id="g"),
            outcome("group.member.import", "m1", group_id="g"),
            outcome("group.message.import", "x1", "failed", group_id="g", error_code=10004),
            outcome("group.message.import", "x1", group_id="g"),
            outcome("group.member.unread", "u1", group_id="g"),
        ]
        summary = summarise([(o, 1_000 + n) for n, o in enumerate(outcomes)])
        assert {
            "account.import.result": (1, 1),
            "group.import.result": (1, 0),
            "group.member.import.result": (1, 0),
            "group.message.import.result": (1, 0),
            "group.member.unread.result": (1, 0),
        } == {kind: (s.imported, s.failed) for kind, s in summary.by_stage.items()}

    def test_accounts_are_not_counted_as_a_group(self):
        """An account's outcome has no group: the per-group tables leave it out."""
        summary = summarise([(outcome("account.import", "a1", user_id="u1"), 1)])
        assert {} == dict(summary.groups)

    def test_the_stages_are_printed_in_migration_order(self):
        """accounts, groups, members, messages, unread counts: every stage, even an empty one."""
        out = io.StringIO()
        render(summarise([]), Console(file=out, width=100))
        text = out.getvalue()
        positions = [
            text.index(name)
            for name in ("accounts", "groups", "members", "messages", "unread counts")
        ]
        assert sorted(positions) == positions


def message_outcome(event_id: str, status: str = "imported") -> dict[str, object]:
    return {"event_id": event_id, "status": status, "type": "group.message.import.result"}


def test_the_report_says_how_many_outcomes_were_repeated():
    """A restart that publishes an event's outcome again shows as a repeat, not a new event."""
    summary = summarise(
        [
            (message_outcome("a"), 1),
            (message_outcome("b"), 2),
            (message_outcome("a"), 3),
            (message_outcome("c"), 4),
        ]
    )
    console = Console(record=True, width=200)
    render(summary, console)
    assert (3, 1) == (summary.events, summary.repeated)
    assert "repeated outcomes: 1 (33.3% of the events)" in console.export_text()
