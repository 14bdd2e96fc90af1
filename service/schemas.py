# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""JSON Schemas of the event contract, generated from the models into ``schemas/``.

``python -m service.schemas`` writes them; a test fails when the committed files drift.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from service.domain.events import (
    AccountImportEvent,
    GroupImportEvent,
    MemberImportEvent,
    MessageImportEvent,
    OutcomeEvent,
    UnreadSetEvent,
)

SCHEMAS: dict[str, type[BaseModel]] = {
    "account.import.schema.json": AccountImportEvent,
    "group.import.schema.json": GroupImportEvent,
    "group.member.import.schema.json": MemberImportEvent,
    "group.message.import.schema.json": MessageImportEvent,
    "group.member.unread.schema.json": UnreadSetEvent,
    "outcome.schema.json": OutcomeEvent,
}

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def render_schemas() -> dict[str, str]:
    """File name → JSON text of every schema."""
    rendered = {}
    for name, model in SCHEMAS.items():
        schema = model.model_json_schema(mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        rendered[name] = json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    return rendered


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema file; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_schemas():
        sys.stdout.write(f"wrote {path}\n")
