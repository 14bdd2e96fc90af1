# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
