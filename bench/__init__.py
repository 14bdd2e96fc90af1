# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Throughput benchmark of the service against the emulator at the provider's limits."""
