# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The engine where replicas meet: revocations, abandoned work, errors that never clear, memory."""

import asyncio

from service.domain import limits
from service.domain.retry_policy import ErrorClass, RetryPolicy
from service.domain.validation import Rules
from service.errors import AmbiguousProviderError, RetryableProviderError
from service.metrics import Metrics
from service.providers.ratelimit import ApiBudgets
from service.runtime.engine import Engine

from .fakes import FakeProvider, FakeSink
from .test_engine import HELD, NOW, Feed, by_event, engine, engine_with_short_group_wait, holding

MESSAGES = ("messages", 0)
GROUPS = ("groups", 0)


def capped_engine(provider: FakeProvider, sink: FakeSink, *, max_attempts: int) -> Engine:
    """An engine whose calls give up after ``max_attempts`` tries."""
    return holding(
        Engine(
            provider,
            sink,
            policy=RetryPolicy(initial_seconds=0.001, max_seconds=0.005, max_attempts=max_attempts),
            rules=Rules(),
            max_in_flight_calls=16,
            metrics=Metrics(),
            budgets=ApiBudgets(100_000),
            clock=lambda: float(NOW),
        )
    )


class TestRevocation:
    async def test_records_handed_over_while_their_partition_is_revoked_are_dropped(self):
        """A batch still being handed over when its partition is revoked adds nothing (defect 1)."""
        provider, sink, feed = FakeProvider(latency=0.02), FakeSink(), Feed()
        eng = engine(provider, sink)
        generations = eng.generations()
        eng.submit(feed.group("g1"), generations[GROUPS])
        for n in range(5):
            eng.submit(feed.message("g1", n), generations[MESSAGES])
        releasing = asyncio.ensure_future(eng.release(HELD, timeout=5))
        await asyncio.sleep(0)  # one turn of the loop: the revocation has begun
        late = [feed.message("g1", n) for n in range(5, 10)]
        for record in late:
            eng.submit(record, generations[MESSAGES])
        await releasing
        stored = {m.MsgBody[0].MsgContent["Text"] for m, _ in provider.messages.get("g1", [])}
        assert set() == stored & {f"m{n}" for n in range(5, 10)}
        assert set() == {f"m:g1:{n}" for n in range(5, 10)} & set(by_event(sink))

    async def test_work_of_an_older_generation_cannot_touch_the_new_one(self):
        """After revoke and re-assign, records read before are dropped; offsets start afresh."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = engine(provider, sink)
        old = eng.generations()
        await eng.release(HELD, timeout=1)
        eng.assign(HELD)
        eng.submit(feed.group("g1"), old[GROUPS])
        assert ({}, 0) == (eng.committable(), eng.buffered())
        eng.submit(feed.group("g2"))  # read in the new generation
        assert await eng.wait_idle(5)
        assert ({"g2"}, {GROUPS: 2}) == (provider.groups, eng.committable())

    async def test_a_record_delivered_twice_is_imported_once(self):
        """The same offset handed over again in one generation is not tracked or imported again."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = engine(provider, sink)
        record = feed.group("g1")
        eng.submit(record)
        eng.submit(record)
        assert await eng.wait_idle(5)
        assert (1, 1) == (len(sink.outcomes), len(provider.calls))

    async def test_lanes_waiting_for_budget_slots_leave_at_once(self):
        """Lanes queued in the call budget do not hold a revocation to the drain bound (defect 2)."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = holding(
            Engine(
                provider,
                sink,
                policy=RetryPolicy(),
                rules=Rules(),
                max_in_flight_calls=16,
                metrics=Metrics(),
                budgets=ApiBudgets(1.0),  # one call a second: 60 imports would take a minute
                clock=lambda: float(NOW),
            )
        )
        for n in range(60):
            eng.submit(feed.group(f"g{n}"))
        assert await eng.wait_until(lambda: len(provider.calls) >= 1, 5)
        await asyncio.wait_for(eng.release(HELD, timeout=120), 5)
        assert len(provider.calls) <= 2

    async def test_messages_do_not_wait_for_an_import_abandoned_in_back_off(self):
        """A group import revoked while backing off no longer holds its messages (defect 3)."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        provider.group_failures = [RetryableProviderError(10002, "busy", ErrorClass.RETRY)] * 1000
        eng = engine_with_short_group_wait(provider, sink)
        eng.submit(feed.group("g1"))
        assert await eng.wait_until(lambda: len(provider.calls) >= 2, 5)
        await eng.release([GROUPS], timeout=1)
        eng.submit(feed.message("g1", 0))
        assert await eng.wait_idle(10)
        assert 10010 == by_event(sink)["m:g1:0"].error_code


class TestErrorsThatNeverClear:
    async def test_a_call_never_answered_gives_up_at_the_cap(self):
        """One group's imports time out while others succeed: its events fail at the cap (defect 6)."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        provider.poison_groups = {"bad"}
        eng = capped_engine(provider, sink, max_attempts=4)
        for gid in ("bad", "ok"):
            eng.submit(feed.group(gid))
        assert await eng.wait_idle(5)
        eng.submit(feed.message("bad", 0))
        for n in range(20):  # keep the provider answering other calls meanwhile
            eng.submit(feed.message("ok", n))
        assert await eng.wait_idle(10)
        outcome = by_event(sink)["m:bad:0"]
        imports = [c for c in provider.calls if c[:2] == ("import_group_msg", "bad")]
        assert ("failed", 502, 4, 4) == (
            outcome.status.value,
            outcome.error_code,
            outcome.attempts,
            len(imports),
        )
        assert "gave up after 4 attempts" in outcome.error_info

    async def test_an_outage_holds_events_instead_of_failing_them(self):
        """While the provider answers no call at all, events are held past the cap, never failed."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = capped_engine(provider, sink, max_attempts=3)
        eng.submit(feed.group("g1"))
        assert await eng.wait_idle(5)
        provider.failures = [AmbiguousProviderError(0, "timed out")] * 10_000
        eng.submit(feed.message("g1", 0))
        assert await eng.wait_until(lambda: len(provider.calls) >= 20, 10)
        assert ([], 1) == ([o for o in sink.outcomes if o.event_id == "m:g1:0"], eng.buffered())
        await eng.release(HELD, timeout=1)


class TestCrashedLanes:
    async def test_an_unreadable_answer_after_the_call_was_applied_is_recovered(self):
        """The items a failing worker held are checked against history, not lost (defect 7)."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = engine(provider, sink)
        eng.submit(feed.group("g1"))
        assert await eng.wait_idle(5)
        provider.malformed_next, provider.malformed_after_store = 1, True
        for n in range(5):
            eng.submit(feed.message("g1", n))
        assert await eng.wait_idle(5)
        outcomes = by_event(sink)
        assert 5 == len(provider.messages["g1"])
        assert [("imported", n + 1) for n in range(5)] == [
            (outcomes[f"m:g1:{n}"].status.value, outcomes[f"m:g1:{n}"].msg_seq) for n in range(5)
        ]

    async def test_an_event_that_keeps_failing_the_service_gets_a_clear_failed_outcome(self):
        """A worker failing the same way three times fails its items with code 500 (defect 7)."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = engine(provider, sink)
        eng.submit(feed.group("g1"))
        assert await eng.wait_idle(5)
        provider.malformed_next = 1_000
        eng.submit(feed.message("g1", 0))
        assert await eng.wait_idle(5)
        outcome = by_event(sink)["m:g1:0"]
        assert (limits.SERVICE_FAILURE, "service") == (
            outcome.error_code,
            outcome.detected_by.value,
        )
        assert "ValueError" in outcome.error_info
        assert {GROUPS: 1, MESSAGES: 1} == eng.committable()


class TestMemory:
    async def test_per_group_state_ends_with_its_lane(self):
        """After 3,000 groups nothing per group is left but a bounded memory of the newest (defect 8)."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = holding(
            Engine(
                provider,
                sink,
                policy=RetryPolicy(),
                rules=Rules(),
                max_in_flight_calls=64,
                metrics=Metrics(),
                budgets=ApiBudgets(1_000_000),
                clock=lambda: float(NOW),
                max_groups_remembered=500,
            )
        )
        for n in range(3_000):
            eng.submit(feed.group(f"g{n}"))
            eng.submit(feed.message(f"g{n}", 0))
        assert await eng.wait_idle(30)
        assert (0, 500, 6_000) == (eng.lanes, eng.groups_known, len(sink.outcomes))
