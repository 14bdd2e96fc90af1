# Copyright 2026 chat-import-service contributors
from __future__ import annotations

import io
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from rich.console import Console

from service.sample import (
    Expected,
    Record,
    SampleExpectations,
    expectations,
    generate_export,
    write_jsonl,
)
from service.settings import ProviderName
from service.tools.demo import (
    ZEGO_PARAMETER_ERROR,
    DemoResult,
    GroupCount,
    check_outcomes,
    compare_groups,
    demo_settings,
    imported_per_group,
    render,
    run_demo,
    zego_expectations,
)

if TYPE_CHECKING:
    from pathlib import Path

EXPECTED = SampleExpectations(
    events={
        "e:group:g-1": Expected("imported", 0),
        "e:msg:1": Expected("imported", 0),
        "e:msg:2": Expected("failed", 80002),
    },
    dead_letter=1,
)


def outcome(
    event_id: str, status: str = "imported", code: int = 0, **fields: Any
) -> dict[str, Any]:
    kind = "group.import.result" if ":group:" in event_id else "group.message.import.result"
    return {
        "type": kind,
        "event_id": event_id,
        "group_id": "g-1",
        "status": status,
        "error_code": code,
        "error_info": "" if code == 0 else "why",
        **fields,
    }


def all_as_expected() -> list[dict[str, Any]]:
    return [outcome("e:group:g-1"), outcome("e:msg:1"), outcome("e:msg:2", "failed", 80002)]


class TestCheckOutcomes:
    """The demo's verdict: one outcome per expected event, as expected, and the dead letters."""

    def test_outcomes_as_expected_give_no_mismatch(self) -> None:
        """Matching statuses, codes and dead-letter count: nothing to report."""
        expected: list[str] = []
        assert expected == check_outcomes(all_as_expected(), 1, EXPECTED)

    def test_a_missing_outcome_is_reported(self) -> None:
        """An expected event without an outcome is named."""
        outcomes = all_as_expected()[:2]
        expected = ["e:msg:2: no outcome (expected failed/80002)"]
        assert expected == check_outcomes(outcomes, 1, EXPECTED)

    def test_a_wrong_status_or_code_is_reported(self) -> None:
        """An outcome with another error code than expected is named with both."""
        outcomes = [*all_as_expected()[:2], outcome("e:msg:2", "failed", 10004)]
        expected = ["e:msg:2: got failed/10004 'why', expected failed/80002"]
        assert expected == check_outcomes(outcomes, 1, EXPECTED)

    def test_a_second_outcome_for_one_event_is_reported(self) -> None:
        """Exactly one outcome per event: a repeat is a mismatch even when it agrees."""
        outcomes = [*all_as_expected(), outcome("e:msg:1")]
        expected = ["e:msg:1: 2 outcomes (imported/0, imported/0); expected exactly one"]
        assert expected == check_outcomes(outcomes, 1, EXPECTED)

    def test_an_outcome_for_an_unknown_event_and_a_wrong_dead_letter_count_are_reported(
        self,
    ) -> None:
        """Outcomes the export does not explain, and a dead-letter count off by one."""
        outcomes = [*all_as_expected(), outcome("e:msg:9")]
        expected = [
            "e:msg:9: outcome imported/0 for an event the export does not hold",
            "dead letters: got 2, expected 1",
        ]
        assert expected == check_outcomes(outcomes, 2, EXPECTED)


class TestGroupComparison:
    """Messages stored at the emulator against imported message outcomes, per group."""

    def test_counts_imported_messages_once_per_event(self) -> None:
        """Group outcomes, failures and repeats do not count."""
        outcomes = [
            outcome("e:group:g-1"),
            outcome("e:msg:1"),
            outcome("e:msg:1"),
            outcome("e:msg:2", "failed", 80002),
            outcome("e:msg:3", group_id="g-2"),
        ]
        expected = Counter({"g-1": 1, "g-2": 1})
        assert expected == imported_per_group(outcomes)

    def test_every_group_of_either_side_is_listed(self) -> None:
        """A group only the emulator knows, or only the outcomes, shows with zero on the other side."""
        actual = compare_groups({"g-1": 3, "g-3": 1}, Counter({"g-1": 3, "g-2": 2}))
        expected = [GroupCount("g-1", 3, 3), GroupCount("g-2", 0, 2), GroupCount("g-3", 1, 0)]
        assert expected == actual
        assert [True, False, False] == [group.matches for group in actual]


class TestRender:
    """What the demo prints at the end."""

    def test_a_passing_run_ends_with_pass(self) -> None:
        """The summary table, the group grid and a PASS line."""
        result = DemoResult(produced=5, imported_messages=4, elapsed_seconds=2.0, completed=True)
        result.groups = [GroupCount("g-1", 4, 4)]
        out = io.StringIO()
        render(result, Console(file=out, width=120))
        lines = out.getvalue().splitlines()
        assert 2.0 == result.messages_per_second
        row = next(line for line in lines if "messages/s" in line)
        assert ["messages/s", "2"] == [cell.strip() for cell in row.split("│") if cell.strip()]
        assert lines[-1].startswith("PASS")

    def test_a_failing_run_lists_its_mismatches(self) -> None:
        """FAIL with the count, then each mismatch on its own line."""
        result = DemoResult(mismatches=["e:msg:2: no outcome (expected failed/80002)"])
        out = io.StringIO()
        render(result, Console(file=out, width=120))
        expected = ["FAIL: 1 mismatch(es)", "  - e:msg:2: no outcome (expected failed/80002)"]
        assert expected == out.getvalue().splitlines()[-2:]


class TestDemoSettings:
    """The demo's settings come from its arguments, never from the environment."""

    def test_provider_credentials_in_the_environment_are_ignored(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """CHAT_IMPORT_ variables do not reach the demo's service."""
        monkeypatch.setenv("CHAT_IMPORT_TENCENT__SECRET_KEY", "from-the-environment")
        monkeypatch.setenv("CHAT_IMPORT_TENCENT__SDK_APP_ID", "1234")
        monkeypatch.setenv("CHAT_IMPORT_PIPELINE__DRAIN_SECONDS", "99")
        settings = demo_settings("127.0.0.1:1", "http://127.0.0.1:2")
        assert settings.tencent.secret_key is not None
        expected = ("local-emulator-key-not-a-secret", 1400000001, 10.0, False)
        actual = (
            settings.tencent.secret_key.get_secret_value(),
            settings.tencent.sdk_app_id,
            settings.pipeline.drain_seconds,
            settings.kafka.idempotent_producer,
        )
        assert expected == actual


@pytest.mark.kafka
class TestZegoDemo:
    async def test_a_small_export_into_zim_passes_every_check(self, tmp_path: Path) -> None:
        """Provider zego: every event of every stage gets its ZIM outcome; verify is clean."""
        records = generate_export(groups=3, messages=40)
        path = tmp_path / "zim.jsonl"
        write_jsonl(path, records)
        wanted = zego_expectations(records)
        result = await run_demo(
            Console(file=io.StringIO(), width=120),
            export_path=path,
            expectations=wanted,
            outcome_timeout=60,
            provider=ProviderName.ZEGO,
        )
        expected: list[str] = []
        assert expected == result.mismatches
        # ZIM's own rules and codes: no Tencent code reaches a ZIM outcome
        assert {ZEGO_PARAMETER_ERROR} == set(result.failed_by_code)
        assert result.verification is not None
        assert (True, True, 5) == (
            ZEGO_PARAMETER_ERROR in result.failed_by_code,
            result.verification.clean,
            len(result.by_stage),
        )


def without_groups(records: list[Record], group_ids: set[str]) -> list[Record]:
    """The export without the events of ``group_ids`` (lines that are not events stay)."""

    def group_of(record: dict[str, Any]) -> object:
        group = record.get("group")
        return group.get("GroupId") if isinstance(group, dict) else record.get("group_id")

    return [r for r in records if not (isinstance(r, dict) and group_of(r) in group_ids)]


async def run_small_demo(tmp_path: Path, records: list[Record]) -> tuple[DemoResult, int]:
    path = tmp_path / "small.jsonl"
    write_jsonl(path, records)
    wanted = expectations(records)
    result = await run_demo(
        Console(file=io.StringIO(), width=120),
        export_path=path,
        expectations=wanted,
        outcome_timeout=15,
    )
    return result, wanted.dead_letter


@pytest.mark.kafka
@pytest.mark.emulator
@pytest.mark.slow
class TestRunDemo:
    """The whole pipeline in one event loop on a small export."""

    async def test_a_small_export_with_valid_groups_passes_every_check(
        self, tmp_path: Path
    ) -> None:
        """Imports, refused messages (80002, 10004) and junk: each as expected, counts agree.

        The export's two groups whose import fails (an over-long name, an AVChatRoom) are left
        out here: the next test has them.
        """
        records = without_groups(generate_export(groups=5, messages=200), {"g-0006", "g-0007"})

        result, dead_letters = await run_small_demo(tmp_path, records)

        expected: list[str] = []
        assert expected == result.mismatches
        assert (len(records), dead_letters) == (result.produced, result.dead_letters)
        assert 5 == len([group for group in result.groups if group.stored > 0])

    async def test_a_small_export_passes_every_check(self, tmp_path: Path) -> None:
        """The whole small export, failing groups included: every check agrees."""
        records = generate_export(groups=5, messages=200)

        result, dead_letters = await run_small_demo(tmp_path, records)

        expected: list[str] = []
        assert expected == result.mismatches
        assert (len(records), dead_letters) == (result.produced, result.dead_letters)
