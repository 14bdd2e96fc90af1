# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the emulator tests: a real server on a free loopback port."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest_asyncio

from .helpers import Caller, make_config, serving

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[Caller]:
    """Serve a fresh emulator with the default rules, with a client for it."""
    async with serving(make_config()) as caller:
        yield caller
