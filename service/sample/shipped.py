# Copyright 2026 chat-import-service contributors
"""The sample export shipped in the package, and its expectations file, for the demo and tests.

``python -m service.sample`` rewrites both from the generator's defaults; a test fails when the
committed files drift from what the generator produces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from service.sample.generator import (
    ACCOUNT_IMPORT,
    DEFAULT_NOW,
    GROUP_IMPORT,
    MEMBER_IMPORT,
    MESSAGE_IMPORT,
    UNREAD_SET,
    Expected,
    SampleExpectations,
    expectations,
    generate_export,
)
from service.sample.jsonl import compact_json, write_jsonl

if TYPE_CHECKING:
    from collections.abc import Sequence

    from service.sample.jsonl import Record

SAMPLE_DIR: Final = Path(__file__).resolve().parent
SAMPLE_EXPORT: Final = SAMPLE_DIR / "sample_export.jsonl"
SAMPLE_EXPECTATIONS: Final = SAMPLE_DIR / "sample_expectations.json"
EXPORT_NAME: Final = SAMPLE_EXPORT.name
EXPECTATIONS_NAME: Final = SAMPLE_EXPECTATIONS.name

DEFAULT_SETTINGS: Final[dict[str, Any]] = {
    "groups": 60,
    "messages": 6000,
    "seed": 7,
    "now": DEFAULT_NOW,
    "invalid": True,
}


def _count(records: Sequence[Record], event_type: str) -> int:
    return sum(1 for record in records if isinstance(record, dict) and record["type"] == event_type)


def render_expectations(records: Sequence[Record], settings: dict[str, Any]) -> str:
    """Render the expectations file: generator settings, a summary, then one line per event."""
    expected = expectations(records)
    summary = {
        "account_events": _count(records, ACCOUNT_IMPORT),
        "group_events": _count(records, GROUP_IMPORT),
        "member_events": _count(records, MEMBER_IMPORT),
        "message_events": _count(records, MESSAGE_IMPORT),
        "unread_events": _count(records, UNREAD_SET),
        "imported": expected.imported(),
        "failed_by_code": {str(code): n for code, n in expected.failed_by_code().items()},
        "dead_letter": expected.dead_letter,
    }
    lines = [
        "{",
        f'  "generator": {compact_json(settings)},',
        f'  "summary": {compact_json(summary)},',
        f'  "dead_letter": {expected.dead_letter},',
        '  "events": {',
    ]
    entries = [
        f"    {compact_json(event_id)}: "
        + compact_json({"status": outcome.status, "error_code": outcome.error_code})
        for event_id, outcome in expected.events.items()
    ]
    lines.append(",\n".join(entries))
    lines.extend(("  }", "}"))
    return "\n".join(lines) + "\n"


def load_expectations(path: str | Path = SAMPLE_EXPECTATIONS) -> SampleExpectations:
    """Read an expectations file written by ``write_sample``."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    events = {
        event_id: Expected(str(entry["status"]), int(entry["error_code"]))
        for event_id, entry in document["events"].items()
    }
    return SampleExpectations(events=events, dead_letter=int(document["dead_letter"]))


def write_sample(
    directory: str | Path = SAMPLE_DIR, settings: dict[str, Any] | None = None
) -> tuple[Path, Path]:
    """Generate an export with ``settings`` (the defaults when omitted) and write both files."""
    chosen = dict(DEFAULT_SETTINGS if settings is None else settings)
    records = generate_export(**chosen)
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    export_path, expectations_path = target / EXPORT_NAME, target / EXPECTATIONS_NAME
    write_jsonl(export_path, records)
    with expectations_path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(render_expectations(records, chosen))
    return export_path, expectations_path
