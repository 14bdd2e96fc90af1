# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from .fakes import FakeProvider, FakeSink
from .stages import StageFeed, by_event, kinds, stage_engine


class TestUnreadCounts:
    async def test_an_unread_count_waits_for_the_messages_ahead_of_it(self):
        """Members, 20 messages, an unread count: the count is set after the last message."""
        provider, sink, feed = FakeProvider(latency=0.005), FakeSink(), StageFeed()
        eng = stage_engine(provider, sink)
        eng.submit(feed.group("g1"))
        eng.submit(feed.member("g1", "leckie"))
        for n in range(20):
            eng.submit(feed.message("g1", n))
        eng.submit(feed.unread("g1", "leckie", 3))
        assert await eng.wait_idle(5)
        order = kinds(provider, "g1")
        assert (["members", "messages", "messages", "messages", "unread"], 3, "imported") == (
            order,
            provider.unread[("g1", "leckie")],
            by_event(sink)["u:g1:leckie:3"].status.value,
        )

    async def test_messages_after_an_unread_count_go_after_it(self):
        """Partition order holds both ways: m0..m9, count, m10..m11 are applied in that order."""
        provider, sink, feed = FakeProvider(latency=0.005), FakeSink(), StageFeed()
        eng = stage_engine(provider, sink)
        eng.submit(feed.group("g1"))
        eng.submit(feed.member("g1", "leckie"))
        for n in range(10):
            eng.submit(feed.message("g1", n))
        eng.submit(feed.unread("g1", "leckie", 2))
        for n in range(10, 12):
            eng.submit(feed.message("g1", n))
        assert await eng.wait_idle(5)
        sent = [
            (kind, held)
            for kind, gid, held in provider.journal
            if gid == "g1" and kind in {"messages", "unread"}
        ]
        unread_at = next(i for i, (kind, _) in enumerate(sent) if kind == "unread")
        before = {m for _, held in sent[:unread_at] for m in held}
        after = {m for _, held in sent[unread_at + 1 :] for m in held}
        assert ({str(n) for n in range(10)}, {"10", "11"}) == (before, after)

    async def test_an_unread_count_before_its_group_waits(self):
        """An unread count read before its group's import waits, then applies."""
        provider, sink, feed = FakeProvider(), FakeSink(), StageFeed()
        eng = stage_engine(provider, sink)
        eng.submit(feed.unread("g1", "leckie", 1))
        eng.submit(feed.group("g1"))
        assert await eng.wait_idle(5)
        assert ("imported", ["unread"]) == (
            by_event(sink)["u:g1:leckie:1"].status.value,
            kinds(provider, "g1"),
        )

    async def test_a_meeting_groups_unread_count_says_it_is_ignored(self):
        """The provider ignores unread counts of Meeting groups: imported, and the outcome says so."""
        provider, sink, feed = FakeProvider(), FakeSink(), StageFeed()
        eng = stage_engine(provider, sink)
        eng.submit(feed.group("g1", Type="Meeting"))
        eng.submit(feed.unread("g1", "leckie", 1))
        assert await eng.wait_idle(5)
        outcome = by_event(sink)["u:g1:leckie:1"]
        assert ("imported", True) == (outcome.status.value, "Meeting" in outcome.error_info)

    async def test_a_failed_group_fails_its_unread_counts(self):
        """The group's import was refused: its unread counts fail with 10010 and no call."""
        provider, sink, feed = FakeProvider(), FakeSink(), StageFeed()
        eng = stage_engine(provider, sink)
        eng.submit(feed.group("g1", Name=""))
        eng.submit(feed.unread("g1", "leckie", 1))
        assert await eng.wait_idle(5)
        assert (10010, []) == (by_event(sink)["u:g1:leckie:1"].error_code, provider.journal)


class TestRecentContactFlag:
    async def test_messages_with_another_flag_go_in_another_call(self):
        """Flags 1, 1, unset, 1: three calls, the flag of each sent with it."""
        provider, sink, feed = FakeProvider(), FakeSink(), StageFeed()
        eng = stage_engine(provider, sink)
        eng.submit(feed.group("g1"))
        eng.submit(feed.message("g1", 0, recent_contact_flag=1))
        eng.submit(feed.message("g1", 1, recent_contact_flag=1))
        eng.submit(feed.message("g1", 2))
        eng.submit(feed.message("g1", 3, recent_contact_flag=1))
        assert await eng.wait_idle(5)
        sizes = [size for api, _, size in provider.calls if api == "import_group_msg"]
        assert ([2, 1, 1], [1, None, 1]) == (sizes, provider.recent_contact)

    async def test_a_community_group_never_gets_the_flag(self):
        """RecentContactFlag is not supported for Community groups: sent as 0 for them."""
        provider, sink, feed = FakeProvider(), FakeSink(), StageFeed()
        eng = stage_engine(provider, sink)
        eng.submit(feed.group("c1", Type="Community", SupportTopic=0))
        eng.submit(feed.message("c1", 0, recent_contact_flag=1))
        assert await eng.wait_idle(5)
        assert [0] == provider.recent_contact
