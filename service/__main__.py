# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""``python -m service`` is ``chat-import``."""

from service.cli import main

main()
