# Copyright 2026 chat-import-service contributors
