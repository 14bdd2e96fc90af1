# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
import asyncio
import json

import pytest
from structlog.testing import capture_logs

from service.domain.events import InputRecord
from service.domain.retry_policy import ErrorClass, RetryPolicy
from service.domain.validation import Rules
from service.errors import RetryableProviderError
from service.metrics import Metrics
from service.providers.ratelimit import ApiBudgets
from service.runtime import message_lanes
from service.runtime.engine import Engine

from .fakes import FakeProvider, FakeSink

NOW = 1_700_000_000


class Feed:
    """Builds records with ascending offsets on one partition per topic."""

    def __init__(self) -> None:
        self.offsets: dict[str, int] = {}

    def record(self, topic: str, key: str | None, value: object) -> InputRecord:
        offset = self.offsets.get(topic, 0)
        self.offsets[topic] = offset + 1
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        return InputRecord(topic, 0, offset, key.encode() if key else None, raw)

    def group(self, gid: str, **extra: object) -> InputRecord:
        body = {
            "GroupId": gid,
            "Type": "Public",
            "Name": f"name {gid}",
            "CreateTime": NOW - 10_000,
            **extra,
        }
        return self.record(
            "groups", gid, {"type": "group.import", "event_id": f"g:{gid}", "group": body}
        )

    def message(self, gid: str, n: int, **extra: object) -> InputRecord:
        message = {
            "From_Account": "u",
            "SendTime": NOW - 5_000 + n,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"m{n}"}}],
            **extra,
        }
        return self.record(
            "messages",
            gid,
            {
                "type": "group.message.import",
                "event_id": f"m:{gid}:{n}",
                "group_id": gid,
                "message": message,
            },
        )


HELD = [("groups", 0), ("messages", 0)]


def engine(provider: FakeProvider, sink: FakeSink, **policy: float) -> Engine:
    return holding(
        Engine(
            provider,
            sink,
            policy=RetryPolicy(
                initial_seconds=0.01,
                max_seconds=0.05,
                group_wait_seconds=policy.get("group_wait", 5.0),
            ),
            rules=Rules(),
            max_in_flight_calls=64,
            metrics=Metrics(),
            budgets=ApiBudgets(100_000),
            clock=lambda: float(NOW),
        )
    )


def holding(eng: Engine) -> Engine:
    """The engine holding partition 0 of both test topics."""
    eng.assign(HELD)
    return eng


def engine_with_short_group_wait(provider: FakeProvider, sink: FakeSink) -> Engine:
    """An engine on the wall clock whose 10010 wait runs out after 0.2 s."""
    return holding(
        Engine(
            provider,
            sink,
            policy=RetryPolicy(initial_seconds=0.01, max_seconds=0.02, group_wait_seconds=0.2),
            rules=Rules(),
            max_in_flight_calls=4,
            metrics=Metrics(),
            budgets=ApiBudgets(100_000),
        )
    )


def by_event(sink: FakeSink):
    return {o.event_id: o for o in sink.outcomes}


class TestEngine:
    async def test_each_event_gets_one_outcome_with_the_stored_seq(self):
        """Every message is imported once, in order, and its outcome carries the provider's MsgSeq."""
        provider, sink, feed = FakeProvider(latency=0.001), FakeSink(), Feed()
        eng = engine(provider, sink)
        eng.submit(feed.group("g1"))
        for n in range(20):
            eng.submit(feed.message("g1", n))
        assert await eng.wait_idle(5)
        outcomes = by_event(sink)
        assert 21 == len(sink.outcomes) == len(outcomes)
        assert [n + 1 for n in range(20)] == [outcomes[f"m:g1:{n}"].msg_seq for n in range(20)]
        assert [f"m{n}" for n in range(20)] == [
            m.MsgBody[0].MsgContent["Text"] for m, _ in provider.messages["g1"]
        ]

    async def test_batches_follow_the_queue_up_to_seven(self):
        """Messages queued while a call is in flight go together, at most seven per call."""
        provider, sink, feed = FakeProvider(latency=0.01), FakeSink(), Feed()
        eng = engine(provider, sink)
        eng.submit(feed.group("g1"))
        for n in range(20):
            eng.submit(feed.message("g1", n))
        assert await eng.wait_idle(5)
        sizes = [size for api, _, size in provider.calls if api == "import_group_msg"]
        assert (20, True) == (sum(sizes), max(sizes) == 7)

    async def test_message_before_its_group_waits_instead_of_failing(self):
        """A message read before its group.import waits for it, then imports."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = engine(provider, sink)
        eng.submit(feed.message("g1", 0))
        eng.submit(feed.group("g1"))
        assert await eng.wait_idle(5)
        assert ("imported", 1) == (
            by_event(sink)["m:g1:0"].status.value,
            by_event(sink)["m:g1:0"].msg_seq,
        )

    async def test_group_that_never_comes_fails_its_messages_with_10010(self):
        """10010 holds the group only up to the wait setting, then fails its events with 10010."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = engine_with_short_group_wait(provider, sink)
        eng.submit(feed.message("ghost", 0))
        assert await eng.wait_idle(5)
        assert ("failed", 10010) == (sink.outcomes[0].status.value, sink.outcomes[0].error_code)

    async def test_rejected_message_fails_alone(self):
        """A provider rejection of one message in a batch fails that message only."""
        provider, sink, feed = FakeProvider(latency=0.005), FakeSink(), Feed()
        provider.refuse_random = {13}
        eng = engine(provider, sink)
        eng.submit(feed.group("g1"))
        for n in range(5):
            eng.submit(feed.message("g1", n, Random=10 + n))
        assert await eng.wait_idle(5)
        statuses = {
            k: (o.status.value, o.error_code)
            for k, o in by_event(sink).items()
            if k.startswith("m:")
        }
        assert {
            "m:g1:0": ("imported", 0),
            "m:g1:1": ("imported", 0),
            "m:g1:2": ("imported", 0),
            "m:g1:3": ("failed", 80001),
            "m:g1:4": ("imported", 0),
        } == statuses

    async def test_junk_goes_to_dead_letter_and_invalid_events_fail_without_a_call(self):
        """Non-events are dead-lettered; a broken rule fails with its code and no provider call."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = engine(provider, sink)
        eng.submit(feed.record("messages", "g1", b"not json"))
        eng.submit(feed.group("g1", Name="x" * 40))
        assert await eng.wait_idle(5)
        assert (1, [], 10004, "service") == (
            len(sink.dead_letters),
            provider.calls,
            sink.outcomes[0].error_code,
            sink.outcomes[0].detected_by.value,
        )

    async def test_messages_of_a_refused_group_fail_fast(self):
        """When the group's import failed, its messages fail with 10010 at once, no call made."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = engine(provider, sink)
        eng.submit(feed.group("g1", Name="x" * 40))
        eng.submit(feed.message("g1", 0))
        assert await eng.wait_idle(5)
        assert (10010, []) == (by_event(sink)["m:g1:0"].error_code, provider.calls)

    async def test_transient_errors_are_retried(self):
        """10002 twice, then success: imported, with three attempts counted."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = engine(provider, sink)
        eng.submit(feed.group("g1"))
        assert await eng.wait_idle(5)
        provider.failures = [RetryableProviderError(10002, "busy", ErrorClass.RETRY)] * 2
        eng.submit(feed.message("g1", 0))
        assert await eng.wait_idle(5)
        assert ("imported", 3) == (
            by_event(sink)["m:g1:0"].status.value,
            by_event(sink)["m:g1:0"].attempts,
        )

    async def test_applied_then_reset_is_not_imported_twice(self):
        """After an ambiguous failure the history shows the batch applied: recovered, not resent."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = engine(provider, sink)
        eng.submit(feed.group("g1"))
        assert await eng.wait_idle(5)
        provider.apply_then_fail = 1
        for n in range(3):
            eng.submit(feed.message("g1", n))
        assert await eng.wait_idle(5)
        outcomes = by_event(sink)
        assert 3 == len(provider.messages["g1"])
        assert [("recovered", n + 1) for n in range(3)] == [
            (outcomes[f"m:g1:{n}"].detected_by.value, outcomes[f"m:g1:{n}"].msg_seq)
            for n in range(3)
        ]

    async def test_restart_recovers_messages_already_imported(self):
        """A new engine re-reading imported messages reports their real MsgSeq, imports the rest."""
        provider, feed = FakeProvider(), Feed()
        first_sink = FakeSink()
        first = engine(provider, first_sink)
        first.submit(feed.group("g1"))
        records = [feed.message("g1", n) for n in range(10)]
        for rec in records[:6]:
            first.submit(rec)
        assert await first.wait_idle(5)
        second_sink = FakeSink()
        second = engine(provider, second_sink)
        for rec in records:
            second.submit(rec)
        assert await second.wait_idle(5)
        outcomes = by_event(second_sink)
        assert 10 == len(provider.messages["g1"])
        assert ["recovered"] * 6 + ["provider"] * 4 == [
            outcomes[f"m:g1:{n}"].detected_by.value for n in range(10)
        ]
        assert list(range(1, 11)) == [outcomes[f"m:g1:{n}"].msg_seq for n in range(10)]

    async def test_watermark_waits_for_the_slowest_group(self):
        """The committable offset never passes a record whose outcome is not published."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = engine(provider, sink)
        eng.submit(feed.message("waiting", 0))  # offset 0 of messages: its group is not there
        eng.submit(feed.group("g2"))
        eng.submit(feed.message("g2", 0))  # offset 1
        assert await eng.wait_until(lambda: len(sink.outcomes) == 2, 5)
        assert 0 == eng.committable()[("messages", 0)]

    async def test_publish_failure_is_retried_and_nothing_is_lost(self):
        """When the broker refuses an outcome, it is published again; the offset waits."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        sink.fail_next = 1
        eng = engine(provider, sink)
        eng.submit(feed.group("g1"))
        assert await eng.wait_idle(5)
        assert (1, 1) == (len(sink.outcomes), eng.committable()[("groups", 0)])

    async def test_revoked_partition_drops_queued_work_uncommitted(self):
        """Revoking a partition drops its queued records and returns an offset below them."""
        provider, sink, feed = FakeProvider(latency=0.05), FakeSink(), Feed()
        eng = engine(provider, sink)
        eng.submit(feed.group("g1"))
        for n in range(30):
            eng.submit(feed.message("g1", n))
        marks = await eng.release([("messages", 0), ("groups", 0)], timeout=2)
        imported = len(provider.messages.get("g1", []))
        assert marks[("messages", 0)].base == imported
        assert imported < 30


@pytest.mark.parametrize("groups", [1, 5])
async def test_order_is_kept_per_group_under_concurrency(groups):
    """Interleaved records of several groups: each group's messages are stored in export order."""
    provider, sink, feed = FakeProvider(latency=0.002), FakeSink(), Feed()
    eng = engine(provider, sink)
    for g in range(groups):
        eng.submit(feed.group(f"g{g}"))
    for n in range(30):
        for g in range(groups):
            eng.submit(feed.message(f"g{g}", n))
    assert await eng.wait_idle(10)
    for g in range(groups):
        assert [f"m{n}" for n in range(30)] == [
            m.MsgBody[0].MsgContent["Text"] for m, _ in provider.messages[f"g{g}"]
        ]


class TestGroupRefusedWhileWaiting:
    async def test_waiting_message_fails_with_the_groups_code_when_its_import_is_refused(self):
        """A message held on 10010 fails at once with 10007 when its AVChatRoom import is refused."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = engine(provider, sink, group_wait=600)
        eng.submit(feed.message("av", 0))
        assert await eng.wait_until(lambda: len(provider.calls) >= 1, 5)
        eng.submit(feed.group("av", Type="AVChatRoom"))
        assert await eng.wait_idle(5)
        outcome = by_event(sink)["m:av:0"]
        assert ("failed", 10007, "service") == (
            outcome.status.value,
            outcome.error_code,
            outcome.detected_by.value,
        )

    async def test_waiting_message_fails_with_10010_when_its_import_is_invalid(self):
        """A message held on 10010 fails at once with 10010 when its group's import is refused."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        eng = engine(provider, sink, group_wait=600)
        eng.submit(feed.message("bad", 0))
        assert await eng.wait_until(lambda: len(provider.calls) >= 1, 5)
        eng.submit(feed.group("bad", Name="x" * 40))
        assert await eng.wait_idle(5)
        assert (10010, "service") == (
            by_event(sink)["m:bad:0"].error_code,
            by_event(sink)["m:bad:0"].detected_by.value,
        )


def message_of_an_unseen_group(monkeypatch, gid: str, make=engine):
    """An engine told the groups topic has unread records, given one message of ``gid``."""
    monkeypatch.setattr(message_lanes, "UNKNOWN_GROUP_GRACE_SECONDS", 0.01)
    provider, sink, feed = FakeProvider(), FakeSink(), Feed()
    eng = make(provider, sink)
    eng.groups_topic_read(caught_up=False)
    eng.submit(feed.message(gid, 0))
    return provider, sink, feed, eng


class TestGroupsTopicStillBeingRead:
    """A message of a group not seen yet, while group imports wait unread in the groups topic."""

    async def test_it_waits_past_the_grace_and_imports_without_a_wasted_call(self, monkeypatch):
        """No history pull and no call refused with 10010 while its import may still come."""
        provider, sink, feed, eng = message_of_an_unseen_group(monkeypatch, "g1")
        await asyncio.sleep(0.2)  # the import is read well after the grace ran out
        eng.submit(feed.group("g1"))
        assert await eng.wait_idle(5)
        assert (
            [("import_group", "g1", 0), ("import_group_msg", "g1", 1)],
            ("imported", 1),
        ) == (
            provider.calls,
            (by_event(sink)["m:g1:0"].status.value, by_event(sink)["m:g1:0"].msg_seq),
        )

    async def test_it_goes_ahead_once_the_groups_topic_is_read_to_its_end(self, monkeypatch):
        """Read to the end without its import: the group may exist at the provider; it is tried."""
        provider, sink, _, eng = message_of_an_unseen_group(monkeypatch, "made-elsewhere")
        assert not await eng.wait_until(lambda: bool(provider.calls), 0.2)
        provider.groups.add("made-elsewhere")
        provider.messages["made-elsewhere"] = []
        eng.groups_topic_read(caught_up=True)
        assert await eng.wait_idle(5)
        assert ("imported", 1) == (
            by_event(sink)["m:made-elsewhere:0"].status.value,
            by_event(sink)["m:made-elsewhere:0"].msg_seq,
        )

    async def test_the_wait_is_bounded(self, monkeypatch):
        """A groups topic that never catches up does not hold a message for ever."""
        monkeypatch.setattr(message_lanes, "UNKNOWN_GROUP_MAX_WAIT_SECONDS", 0.05)
        with capture_logs() as logs:
            _, sink, _, eng = message_of_an_unseen_group(
                monkeypatch, "ghost", engine_with_short_group_wait
            )
            assert await eng.wait_idle(5)
        gave_up = [e for e in logs if e["event"].startswith("gave up waiting for a group")]
        assert ("failed", 10010, ["ghost"]) == (
            by_event(sink)["m:ghost:0"].status.value,
            by_event(sink)["m:ghost:0"].error_code,
            [e["group_id"] for e in gave_up],
        )
