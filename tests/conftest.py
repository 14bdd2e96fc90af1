# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures: a clean environment, the embedded broker, unique topic names, settings."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.embedded_broker import EmbeddedBroker


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CHAT_IMPORT_ variable from the shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("CHAT_IMPORT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(Path(__file__).parent)  # no stray .env file is read


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[EmbeddedBroker]:
    """One embedded Kafka-compatible broker for the whole session."""
    with EmbeddedBroker() as broker:
        yield broker


@pytest.fixture
def run_id() -> str:
    """A short unique id for topic and group names."""
    return uuid.uuid4().hex[:10]
