# Copyright 2026 chat-import-service contributors
"""A corpus of hostile input records, each labelled with what the service must do with it."""
