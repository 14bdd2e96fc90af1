# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The engine at awkward moments: answers that cannot be trusted, revocation at a full call cap."""

import time
from collections.abc import Sequence

from service.domain.events import GroupMessage
from service.domain.retry_policy import RetryPolicy
from service.domain.validation import Rules
from service.errors import AmbiguousProviderError
from service.metrics import Metrics
from service.providers.base import MessageResult
from service.providers.ratelimit import ApiBudgets
from service.runtime.engine import Engine

from .fakes import FakeProvider, FakeSink
from .test_engine import HELD, NOW, Feed, by_event, holding


class ShortAnswers(FakeProvider):
    """Answers every message import with one result too few, and stores nothing."""

    async def import_messages(
        self, group_id: str, topic_id: str | None, messages: Sequence[GroupMessage]
    ) -> list[MessageResult]:
        self.calls.append(("import_group_msg", group_id, len(messages)))
        return [MessageResult(0, n + 1, m.SendTime) for n, m in enumerate(messages)][:-1]


def fast_engine(
    provider: FakeProvider, sink: FakeSink, *, max_attempts: int = 50, max_in_flight: int = 16
) -> Engine:
    return holding(
        Engine(
            provider,
            sink,
            policy=RetryPolicy(initial_seconds=0.001, max_seconds=0.005, max_attempts=max_attempts),
            rules=Rules(),
            max_in_flight_calls=max_in_flight,
            metrics=Metrics(),
            budgets=ApiBudgets(100_000),
            clock=lambda: float(NOW),
        )
    )


class TestAnswersOfTheWrongLength:
    async def test_they_are_retried_with_the_cap_like_any_ambiguous_answer(self):
        """A result list that does not match its messages backs off and gives up at the cap."""
        provider, sink, feed = ShortAnswers(), FakeSink(), Feed()
        eng = fast_engine(provider, sink, max_attempts=4)
        eng.submit(feed.group("g1"))
        assert await eng.wait_idle(5)
        eng.submit(feed.message("g1", 0))
        eng.submit(feed.message("g1", 1))
        assert await eng.wait_idle(5)
        imports = [call for call in provider.calls if call[0] == "import_group_msg"]
        outcomes = by_event(sink)
        assert [("failed", 4), ("failed", 4)] == [
            (outcomes[f"m:g1:{n}"].status.value, outcomes[f"m:g1:{n}"].attempts) for n in (0, 1)
        ]
        assert 4 == len(imports)
        assert "one result per message" in outcomes["m:g1:0"].error_info


class TestRevocationAtTheCallCap:
    async def test_calls_waiting_for_a_place_in_flight_are_not_sent_once_revoked(self):
        """At the in-flight cap, only the call on the wire finishes; the lanes behind it leave."""
        provider, sink, feed = FakeProvider(latency=0.5), FakeSink(), Feed()
        eng = fast_engine(provider, sink, max_in_flight=1)
        for n in range(5):
            eng.submit(feed.group(f"g{n}"))
        assert await eng.wait_until(lambda: len(provider.calls) >= 1, 5)
        started = time.monotonic()
        await eng.release(HELD, timeout=30)
        assert 1 == len(provider.calls)
        assert time.monotonic() - started < 2


class TestProbes:
    async def test_the_provider_is_not_called_unreachable_once_nothing_waits_on_it(self):
        """Calls that went unanswered say nothing about the provider once their work is gone."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = fast_engine(provider, sink)
        eng.submit(feed.group("g1"))
        assert await eng.wait_idle(5)
        provider.failures = [AmbiguousProviderError(0, "timed out")] * 10_000
        eng.submit(feed.message("g1", 0))
        assert await eng.wait_until(lambda: eng.provider_unreachable, 5)
        await eng.release(HELD, timeout=1)
        assert (False, 0) == (eng.provider_unreachable, eng.buffered())
