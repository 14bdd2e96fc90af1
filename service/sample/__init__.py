# Copyright 2026 chat-import-service contributors
"""A deterministic sample export for ``chat-import demo`` and the tests, and JSON-lines I/O.

- ``generate_export`` builds the records; ``expectations`` says what each should become.
- ``write_jsonl`` / ``read_jsonl`` write records and read lines back as keyed records.
- ``SAMPLE_EXPORT`` / ``SAMPLE_EXPECTATIONS`` are the shipped files (``python -m service.sample``).
"""

from __future__ import annotations

from service.sample.generator import (
    DEFAULT_NOW,
    EXPECTATION_FIELD,
    FAR_FUTURE,
    Expected,
    SampleExpectations,
    expectations,
    generate_export,
    is_event,
)
from service.sample.jsonl import (
    InputTopic,
    RawRecord,
    Record,
    RecordKind,
    read_jsonl,
    route,
    topic_of,
    write_jsonl,
)
from service.sample.shipped import (
    SAMPLE_EXPECTATIONS,
    SAMPLE_EXPORT,
    load_expectations,
    write_sample,
)

__all__ = [
    "DEFAULT_NOW",
    "EXPECTATION_FIELD",
    "FAR_FUTURE",
    "SAMPLE_EXPECTATIONS",
    "SAMPLE_EXPORT",
    "Expected",
    "InputTopic",
    "RawRecord",
    "Record",
    "RecordKind",
    "SampleExpectations",
    "expectations",
    "generate_export",
    "is_event",
    "load_expectations",
    "read_jsonl",
    "route",
    "topic_of",
    "write_jsonl",
    "write_sample",
]
