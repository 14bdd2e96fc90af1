# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the operations tests: a strict emulator and scraping the service's endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from service.emulator.config import EmulatorConfig
from service.emulator.server import EmulatorServer
from tests.integration.harness import SDK_APP_ID, SECRET_KEY


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    """A fresh, strict emulator on a free port."""
    config = EmulatorConfig(sdk_app_id=SDK_APP_ID, secret_key=SecretStr(SECRET_KEY))
    async with EmulatorServer(config) as server:
        yield server
