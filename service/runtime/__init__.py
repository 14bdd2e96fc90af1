# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The import engine and what it keeps while running."""
