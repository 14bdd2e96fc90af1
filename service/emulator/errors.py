# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The one error type of the emulator's rules: a provider error code and its ErrorInfo."""

from __future__ import annotations


class ApiError(Exception):
    """A whole call refused with ``code``; ``info`` names the offending field or rule."""

    def __init__(self, code: int, info: str) -> None:
        super().__init__(f"{code}: {info}")
        self.code = code
        self.info = info
