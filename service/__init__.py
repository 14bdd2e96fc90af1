# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""chat-import-service: migrate group chats from Kafka into Tencent Cloud Chat and ZEGOCLOUD ZIM."""
