# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Kafka adapters: outcome and dead-letter publishing, topic creation and reading."""
