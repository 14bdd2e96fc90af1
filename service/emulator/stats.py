# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Counters the inspection endpoint reports: calls by API and outcome, limits hit, faults."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any


class EmulatorStats:
    """What the emulator has answered since start (or the last reset)."""

    def __init__(self) -> None:
        self.calls: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.message_results: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.rate_limited = 0
        self.first_answer: float | None = None
        self.last_answer: float | None = None
        self.admitted_per_tenth: Counter[int] = Counter()
        self.spans: dict[str, list[float]] = {}

    def call(self, api: str, outcome: str | int) -> None:
        """Count one answered call; ``outcome`` is the ErrorCode or a transport outcome."""
        self.calls[api][str(outcome)] += 1
        now = time.time()
        span = self.spans.setdefault(api, [now, now])
        span[1] = now
        if self.first_answer is None:
            self.first_answer = now
        self.last_answer = now

    def admitted(self) -> None:
        """Count one call let past the rate limit, by the tenth of a second it arrived in."""
        self.admitted_per_tenth[int(time.time() * 10)] += 1

    def fault(self, name: str) -> None:
        """Count one injected fault."""
        self.faults[name] += 1

    def message_result(self, result: int) -> None:
        """Count one ``ImportMsgResult`` entry by its Result."""
        self.message_results[str(result)] += 1

    def reset(self) -> None:
        """Back to zero."""
        self.calls.clear()
        self.message_results.clear()
        self.faults.clear()
        self.rate_limited = 0
        self.first_answer = None
        self.last_answer = None
        self.admitted_per_tenth.clear()
        self.spans.clear()

    def snapshot(self) -> dict[str, Any]:
        """Copy the counters, ready for JSON."""
        return {
            "calls": {api: dict(outcomes) for api, outcomes in sorted(self.calls.items())},
            "message_results": dict(self.message_results),
            "rate_limited": self.rate_limited,
            "faults": dict(self.faults),
            # wall-clock span of answered calls: how long the provider was kept busy
            "first_answer": self.first_answer,
            "last_answer": self.last_answer,
            # per API: its first and last answer (a migration's stages overlap in time)
            "spans": {api: list(span) for api, span in sorted(self.spans.items())},
            # calls admitted in each tenth of a second, oldest first: the shape of the load
            "admitted_per_tenth": [
                self.admitted_per_tenth[tenth]
                for tenth in range(
                    min(self.admitted_per_tenth, default=0),
                    max(self.admitted_per_tenth, default=-1) + 1,
                )
            ],
        }
