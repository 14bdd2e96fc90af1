# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Message lanes: a call refused as a whole for one message, and recovery over holes."""

from __future__ import annotations

from service.domain import limits

from .fakes import FakeProvider, FakeSink
from .test_engine import NOW, Feed, by_event, engine

TOO_LONG = 10020


def import_calls(provider: FakeProvider) -> list[int]:
    """The size of each import call, in order."""
    return [size for api, _, size in provider.calls if api == "import_group_msg"]


def stored_texts(provider: FakeProvider, gid: str) -> list[str]:
    return [m.MsgBody[0].MsgContent["Text"] for m, _ in provider.messages.get(gid, [])]


def statuses(sink: FakeSink, prefix: str) -> dict[str, tuple[str, int, str]]:
    return {
        event_id: (o.status.value, o.error_code, o.detected_by.value)
        for event_id, o in by_event(sink).items()
        if event_id.startswith(prefix)
    }


async def imported_group(provider: FakeProvider, sink: FakeSink, feed: Feed, gid: str):
    eng = engine(provider, sink)
    eng.submit(feed.group(gid))
    assert await eng.wait_idle(5)
    return eng


class TestCallRefusedAsAWhole:
    async def test_only_the_named_message_fails_and_its_six_batch_mates_are_imported(self):
        """10020 naming MsgList[3]: the call again without it, then it fails alone with 10020."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        provider.refuse_call_random = {13}
        eng = await imported_group(provider, sink, feed, "g1")
        for n in range(7):
            eng.submit(feed.message("g1", n, Random=10 + n))
        assert await eng.wait_idle(5)
        outcomes = by_event(sink)
        assert {"m:g1:3": ("failed", TOO_LONG, "provider")} == {
            k: v for k, v in statuses(sink, "m:").items() if v[0] != "imported"
        }
        assert ([7, 6], [1, 2, 3, None, 4, 5, 6]) == (
            import_calls(provider),
            [outcomes[f"m:g1:{n}"].msg_seq for n in range(7)],
        )
        assert [f"m{n}" for n in range(7) if n != 3] == stored_texts(provider, "g1")

    async def test_a_refusal_naming_no_message_is_halved_down_to_the_bad_ones(self):
        """Two bad messages, no name in the answer: halves, in order, until each fails alone."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        provider.refuse_call_random = {11, 15}
        provider.name_refused = False
        eng = await imported_group(provider, sink, feed, "g1")
        for n in range(7):
            eng.submit(feed.message("g1", n, Random=10 + n))
        assert await eng.wait_idle(5)
        failed = {
            k for k, v in statuses(sink, "m:").items() if v == ("failed", TOO_LONG, "provider")
        }
        assert ({"m:g1:1", "m:g1:5"}, 7) == (failed, len(statuses(sink, "m:")))
        assert ["m0", "m2", "m3", "m4", "m6"] == stored_texts(provider, "g1")
        # each message in at most four calls: the batch, then halves of 4, 2 and 1
        assert sum(import_calls(provider)) <= 7 * 4

    async def test_the_next_batch_follows_the_isolated_one_in_order(self):
        """Messages queued behind a refused batch go after every one of its batch-mates."""
        provider, sink, feed = FakeProvider(latency=0.002), FakeSink(), Feed()
        provider.refuse_call_random = {12}
        provider.name_refused = False
        eng = await imported_group(provider, sink, feed, "g1")
        for n in range(20):
            eng.submit(feed.message("g1", n, Random=10 + n))
        assert await eng.wait_idle(5)
        assert [f"m{n}" for n in range(20) if n != 2] == stored_texts(provider, "g1")
        assert ("failed", TOO_LONG) == (
            by_event(sink)["m:g1:2"].status.value,
            by_event(sink)["m:g1:2"].error_code,
        )

    async def test_a_split_call_that_may_have_been_applied_is_checked_not_sent_again(self):
        """The call without the named message is applied, then the connection breaks.

        The history shows its six messages: they are reported recovered (nothing stored twice),
        and the named one fails with the provider's refusal, not as an unexplained gap.
        """
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        provider.refuse_call_random = {13}
        eng = await imported_group(provider, sink, feed, "g1")
        provider.apply_then_fail = 1
        for n in range(7):
            eng.submit(feed.message("g1", n, Random=10 + n))
        assert await eng.wait_idle(5)
        assert [f"m{n}" for n in range(7) if n != 3] == stored_texts(provider, "g1")
        assert {
            **{f"m:g1:{n}": ("imported", 0, "recovered") for n in range(7) if n != 3},
            "m:g1:3": ("failed", TOO_LONG, "provider"),
        } == statuses(sink, "m:")

    async def test_a_single_message_refused_fails_without_another_call(self):
        """A call of one message refused as a whole: that message fails, one call made."""
        provider, sink, feed = FakeProvider(), FakeSink(), Feed()
        provider.refuse_call_random = {10}
        eng = await imported_group(provider, sink, feed, "g1")
        eng.submit(feed.message("g1", 0, Random=10))
        assert await eng.wait_idle(5)
        assert ([1], {"m:g1:0": ("failed", TOO_LONG, "provider")}) == (
            import_calls(provider),
            statuses(sink, "m:"),
        )


async def first_run(provider: FakeProvider, feed: Feed, records) -> FakeSink:
    """Import ``records`` (after their group) with one engine; its outcomes."""
    sink = FakeSink()
    eng = engine(provider, sink)
    eng.submit(feed.group("g1"))
    for record in records:
        eng.submit(record)
    assert await eng.wait_idle(10)
    return sink


async def restart(provider: FakeProvider, feed: Feed, records) -> tuple[FakeSink, int]:
    """A new engine reading the group and ``records`` again; its outcomes and the calls it made."""
    before = len(provider.calls)
    sink = FakeSink()
    eng = engine(provider, sink)
    eng.submit(feed.group("g1"))
    for record in records:
        eng.submit(record)
    assert await eng.wait_idle(10)
    return sink, before


class TestRecoveryOverHoles:
    async def test_messages_behind_a_message_refused_alone_are_recovered_not_sent_again(self):
        """After a restart, the refused one is a hole: the ones after it are found, none resent."""
        provider, feed = FakeProvider(), Feed()
        provider.refuse_random = {14}
        records = [feed.message("g1", n, Random=10 + n) for n in range(10)]
        first = await first_run(provider, feed, records)
        again, before = await restart(provider, feed, records)
        assert [by_event(first)[f"m:g1:{n}"].msg_seq for n in range(10) if n != 4] == [
            by_event(again)[f"m:g1:{n}"].msg_seq for n in range(10) if n != 4
        ]
        assert {
            **{f"m:g1:{n}": ("imported", 0, "recovered") for n in range(10) if n != 4},
            "m:g1:4": ("failed", limits.NOT_STORED_BEFORE_LATER, "service"),
        } == statuses(again, "m:")
        assert ([], 9) == (
            [c for c in provider.calls[before:] if c[0] == "import_group_msg"],
            len(provider.messages["g1"]),
        )

    async def test_a_hole_at_the_end_of_a_batch_is_told_by_the_messages_queued_behind_it(self):
        """The last message of the first batch was refused; the next batch's messages are stored."""
        provider, feed = FakeProvider(), Feed()
        provider.refuse_random = {16}
        records = [feed.message("g1", n, Random=10 + n) for n in range(14)]
        await first_run(provider, feed, records)
        again, before = await restart(provider, feed, records)
        assert ("failed", limits.NOT_STORED_BEFORE_LATER) == (
            by_event(again)["m:g1:6"].status.value,
            by_event(again)["m:g1:6"].error_code,
        )
        assert ([], 13) == (
            [c for c in provider.calls[before:] if c[0] == "import_group_msg"],
            len(provider.messages["g1"]),
        )

    async def test_messages_never_sent_after_the_hole_are_imported(self):
        """Messages read after the restart that the first run never sent go in, after the rest."""
        provider, feed = FakeProvider(), Feed()
        provider.refuse_random = {14}
        records = [feed.message("g1", n, Random=10 + n) for n in range(15)]
        await first_run(provider, feed, records[:10])
        again, _ = await restart(provider, feed, records)
        outcomes = by_event(again)
        assert [("provider", seq) for seq in range(10, 15)] == [
            (outcomes[f"m:g1:{n}"].detected_by.value, outcomes[f"m:g1:{n}"].msg_seq)
            for n in range(10, 15)
        ]
        assert [f"m{n}" for n in range(15) if n != 4] == stored_texts(provider, "g1")

    async def test_the_history_is_read_as_deep_as_the_pending_messages_are_old(self):
        """1,100 messages newer than the pending ones (55 pages): they are found, not resent."""
        provider, feed = FakeProvider(), Feed()
        records = [feed.message("g1", n, Random=n) for n in range(1_103)]
        await first_run(provider, feed, records)
        again, before = await restart(provider, feed, records[:3])
        pulls = [c for c in provider.calls[before:] if c[0] == "group_msg_get_simple"]
        assert {f"m:g1:{n}": ("imported", 0, "recovered") for n in range(3)} == statuses(
            again, "m:"
        )
        assert (1_103, True) == (len(provider.messages["g1"]), len(pulls) > 50)

    async def test_two_identical_messages_of_which_one_was_stored_are_told_apart(self):
        """Same sender, second and Random: one copy in the history accounts for one of them."""
        provider, feed = FakeProvider(), Feed()
        twin = {"SendTime": NOW - 4_000, "Random": 77}
        records = [feed.message("g1", 0, **twin), feed.message("g1", 1, **twin)]
        await first_run(provider, feed, records[:1])
        again, _ = await restart(provider, feed, records)
        assert {
            "m:g1:0": ("imported", 0, "recovered"),
            "m:g1:1": ("imported", 0, "provider"),
        } == statuses(again, "m:")
        assert 2 == len(provider.messages["g1"])
