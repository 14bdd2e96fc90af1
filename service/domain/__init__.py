# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The pure core: events, validation, batching, ordering, offsets, retry policy, recovery."""
