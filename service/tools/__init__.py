# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Operator tools: produce, report, verify, demo, and running the pieces locally."""
