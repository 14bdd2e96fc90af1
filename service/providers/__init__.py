# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Provider adapters (one module each), UserSig and ZIM signing, the call budget."""
