# Copyright 2026 chat-import-service contributors
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from service.sample import (
    SAMPLE_EXPECTATIONS,
    SAMPLE_EXPORT,
    expectations,
    generate_export,
    load_expectations,
    write_sample,
)
from service.sample.__main__ import main

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


class TestShippedFiles:
    """The committed sample files are what the generator produces today."""

    def test_export_is_up_to_date(self, tmp_path: Path) -> None:
        """The committed export is byte-identical to a fresh run (``python -m service.sample``)."""
        export, _ = write_sample(tmp_path)
        expected = export.read_bytes()
        assert expected == SAMPLE_EXPORT.read_bytes()

    def test_expectations_are_up_to_date(self, tmp_path: Path) -> None:
        """The committed expectations file is byte-identical to a fresh run."""
        _, expectations_file = write_sample(tmp_path)
        expected = expectations_file.read_bytes()
        assert expected == SAMPLE_EXPECTATIONS.read_bytes()

    def test_expectations_file_loads_back(self) -> None:
        """load_expectations reads back what expectations() computes from the records."""
        expected = expectations(generate_export())
        assert expected == load_expectations(SAMPLE_EXPECTATIONS)

    def test_summary_states_the_counts(self) -> None:
        """The file's summary gives event counts, failures by code and dead letters."""
        expected = {
            "account_events": 141,
            "group_events": 62,
            "member_events": 845,
            "message_events": 6009,
            "unread_events": 844,
            "imported": 7872,
            "failed_by_code": {"10004": 7, "10007": 11, "10010": 9, "70402": 1, "80002": 1},
            "dead_letter": 4,
        }
        assert expected == json.loads(SAMPLE_EXPECTATIONS.read_text(encoding="utf-8"))["summary"]

    def test_export_is_large_enough_for_the_demo(self) -> None:
        """At least 50 groups and 5,000 messages, one record per line."""
        lines = SAMPLE_EXPORT.read_bytes().splitlines()
        groups = sum(1 for line in lines if line.startswith(b'{"type":"group.import"'))
        messages = sum(1 for line in lines if line.startswith(b'{"type":"group.message.import"'))
        expected = (True, True)
        assert expected == (groups >= 50, messages >= 5_000)


class TestCommand:
    """``python -m service.sample`` writes both files."""

    def test_main_writes_both_files(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The command writes the export and its expectations and names them."""
        code = main(["--out", str(tmp_path), "--groups", "3", "--messages", "20"])
        written = [tmp_path / "sample_export.jsonl", tmp_path / "sample_expectations.json"]
        expected = (0, "".join(f"wrote {path}\n" for path in written))
        assert expected == (code, capsys.readouterr().out)

    def test_options_reach_the_generator(self, tmp_path: Path) -> None:
        """--groups, --messages and --no-invalid shape the export."""
        main(["--out", str(tmp_path), "--groups", "3", "--messages", "20", "--no-invalid"])
        written = load_expectations(tmp_path / "sample_expectations.json")
        summary = json.loads((tmp_path / "sample_expectations.json").read_text("utf-8"))["summary"]
        expected: tuple[int, int, int, dict[str, int]] = (3, 20, 0, {})
        assert expected == (
            summary["group_events"],
            summary["message_events"],
            written.dead_letter,
            summary["failed_by_code"],
        )
