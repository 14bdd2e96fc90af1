# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Tests of the provider emulator: rules in memory, and the real server over HTTP."""
