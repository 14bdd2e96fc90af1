# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from service.emulator.config import EmulatorConfig
from service.emulator.server import EmulatorServer

from .harness import SDK_APP_ID, SECRET_KEY

pytestmark = pytest.mark.kafka


def emulator_config(**overrides: object) -> EmulatorConfig:
    return EmulatorConfig(sdk_app_id=SDK_APP_ID, secret_key=SecretStr(SECRET_KEY), **overrides)


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    """A fresh, strict emulator on a free port."""
    async with EmulatorServer(emulator_config(restricted_words=["forbidden-word"])) as server:
        yield server
