# Copyright 2026 chat-import-service contributors
"""The default sample export, generated once per session: every test only reads it."""

from __future__ import annotations

from typing import Any

import pytest

from service.sample import Expected, Record, expectations, generate_export


@pytest.fixture(scope="session")
def records() -> list[Record]:
    """Generate the default sample export once."""
    return generate_export()


@pytest.fixture(scope="session")
def events(records: list[Record]) -> list[dict[str, Any]]:
    """Keep the event dicts of the default export (the raw junk lines left out)."""
    return [record for record in records if isinstance(record, dict)]


@pytest.fixture(scope="session")
def groups(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the ``group.import`` events."""
    return [event for event in events if event["type"] == "group.import"]


@pytest.fixture(scope="session")
def messages(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the ``group.message.import`` events."""
    return [event for event in events if event["type"] == "group.message.import"]


@pytest.fixture(scope="session")
def expected(records: list[Record]) -> dict[str, Expected]:
    """Map every event_id to its expected outcome."""
    return expectations(records).events
