# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The engine at awkward moments: untrustworthy answers, revocations at the call cap or at random."""

import asyncio
import random
import time
from collections.abc import Sequence

import pytest

from service.domain.events import GroupMessage, GroupProfile
from service.domain.offset_map import OffsetMap
from service.domain.retry_policy import ErrorClass, RetryPolicy
from service.domain.validation import Rules
from service.errors import AmbiguousProviderError, PermanentProviderError, RetryableProviderError
from service.metrics import Metrics
from service.providers.base import GroupResult, MessageResult
from service.providers.ratelimit import ApiBudgets
from service.runtime.engine import Engine

from .fakes import FakeProvider, FakeSink
from .test_engine import HELD, NOW, Feed, by_event, holding


class ShortAnswers(FakeProvider):
    """Answers every message import with one result too few, and stores nothing."""

    async def import_messages(
        self,
        group_id: str,
        topic_id: str | None,
        messages: Sequence[GroupMessage],
        *,
        recent_contact: int | None = None,
    ) -> list[MessageResult]:
        del recent_contact
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


class Erratic(FakeProvider):
    """A provider whose calls take a while and often fail in every way a call can."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng

    async def import_group(self, group: GroupProfile) -> GroupResult:
        await asyncio.sleep(self.rng.random() * 0.01)
        if self.rng.random() < 0.1:
            raise RetryableProviderError(10002, "busy", ErrorClass.RETRY)
        return await super().import_group(group)

    async def import_messages(
        self,
        group_id: str,
        topic_id: str | None,
        messages: Sequence[GroupMessage],
        *,
        recent_contact: int | None = None,
    ) -> list[MessageResult]:
        self.latency = self.rng.random() * 0.01
        draw = self.rng.random()
        if draw < 0.05:  # an answer that cannot be read, before or after it was applied
            self.malformed_next, self.malformed_after_store = 1, self.rng.random() < 0.5
        elif draw < 0.1:  # applied, then the connection was reset
            self.apply_then_fail = 1
        elif draw < 0.15:
            raise AmbiguousProviderError(0, "timed out")
        elif draw < 0.2:
            raise PermanentProviderError(10010, "not yet", ErrorClass.GROUP_MISSING)
        return await super().import_messages(
            group_id, topic_id, messages, recent_contact=recent_contact
        )


class TestRandomRevocations:
    @pytest.mark.parametrize("seed", range(4))
    async def test_every_event_ends_once_and_nothing_outlives_its_partition(self, seed: int):
        """Revoked and assigned again five times at random, against a provider failing at random.

        Each revocation leaves no lane or record behind; in the end every event has an outcome
        and the provider holds each imported message once, in order.
        """
        rng = random.Random(seed)
        provider, sink, feed = Erratic(random.Random(seed + 1)), FakeSink(), Feed()
        eng = fast_engine(provider, sink, max_in_flight=4)
        groups = [f"g{n}" for n in range(6)]
        records = [feed.group(gid) for gid in groups[:3]]
        records += [feed.message(gid, n) for n in range(20) for gid in groups]
        records += [feed.group(gid) for gid in groups[3:]]  # read after their messages
        committed: dict[tuple[str, int], int] = {}
        maps: dict[tuple[str, int], OffsetMap] = {}
        for _ in range(5):
            generations = eng.generations()
            for tp, offset_map in maps.items():  # as the controller does before any record
                eng.resume(tp, generations[tp], offset_map)
            for record in records:  # read again from the committed offsets
                if record.offset >= committed.get((record.topic, record.partition), 0):
                    eng.submit(record, generations[(record.topic, record.partition)])
            await asyncio.sleep(rng.random() * 0.2)
            sink.fail_next = rng.choice([0, 0, 3])
            maps = await eng.release(HELD, timeout=rng.choice([0.01, 0.2, 1.0]))
            committed.update({tp: offset_map.base for tp, offset_map in maps.items()})
            assert (0, 0, 0) == (eng.lanes, eng.queued, eng.buffered())
            eng.assign(HELD)
        generations = eng.generations()
        for tp, offset_map in maps.items():
            eng.resume(tp, generations[tp], offset_map)
        for record in records:
            if record.offset >= committed.get((record.topic, record.partition), 0):
                eng.submit(record, generations[(record.topic, record.partition)])
        assert await eng.wait_idle(30)
        outcomes = by_event(sink)
        expected = {f"g:{gid}" for gid in groups} | {
            f"m:{gid}:{n}" for gid in groups for n in range(20)
        }
        assert expected == set(outcomes)
        for gid in groups:
            stored = [m.MsgBody[0].MsgContent["Text"] for m, _ in provider.messages.get(gid, [])]
            imported = [f"m{n}" for n in range(20) if outcomes[f"m:{gid}:{n}"].msg_seq is not None]
            assert imported == stored
