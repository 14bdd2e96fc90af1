# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from .fakes import FakeProvider, FakeSink
from .stages import CREATED, StageFeed, by_event, kinds, stage_engine


def with_accounts(provider: FakeProvider, *users: str) -> None:
    provider.accounts.update(users)
    provider.require_accounts = True


class TestMembers:
    async def test_members_go_twenty_a_call_each_with_its_outcome(self):
        """45 members: calls of 20, 20 and 5; each member imported with its user_id."""
        provider, sink, feed = FakeProvider(latency=0.005), FakeSink(), StageFeed()
        users = [f"u{n}" for n in range(45)]
        with_accounts(provider, *users)
        eng = stage_engine(provider, sink)
        eng.submit(feed.group("g1"))
        for user in users:
            eng.submit(feed.member("g1", user))
        assert await eng.wait_idle(5)
        sizes = [size for api, _, size in provider.calls if api == "import_group_member"]
        outcomes = by_event(sink)
        assert ([20, 20, 5], {"imported"}, "u7") == (
            sizes,
            {outcomes[f"gm:g1:{u}"].status.value for u in users},
            outcomes["gm:g1:u7"].user_id,
        )

    async def test_one_refused_member_of_twenty_fails_alone(self):
        """Result 0 for one member of a call of 20: it fails, the 19 others are imported."""
        provider, sink, feed = FakeProvider(), FakeSink(), StageFeed()
        users = [f"u{n}" for n in range(20)]
        with_accounts(provider, *users)
        provider.refuse_members = {"u13"}
        eng = stage_engine(provider, sink)
        eng.submit(feed.group("g1"))
        for user in users:
            eng.submit(feed.member("g1", user))
        assert await eng.wait_idle(5)
        failed = {o.user_id for o in sink.outcomes if o.status.value == "failed"}
        assert ({"u13"}, 21, [20]) == (
            failed,
            len(sink.outcomes),
            [size for api, _, size in provider.calls if api == "import_group_member"],
        )

    async def test_a_member_without_an_account_is_isolated_from_its_batch(self):
        """10019 for a call of 20 with one account missing: 19 join, that one fails with 10019."""
        provider, sink, feed = FakeProvider(), FakeSink(), StageFeed()
        users = [f"u{n}" for n in range(20)]
        with_accounts(provider, *(u for u in users if u != "u6"))
        eng = stage_engine(provider, sink, account_grace=0.05)
        eng.submit(feed.group("g1"))
        for user in users:
            eng.submit(feed.member("g1", user))
        assert await eng.wait_idle(5)
        outcomes = by_event(sink)
        failed = {o.user_id: o.error_code for o in outcomes.values() if o.status.value == "failed"}
        assert ({"u6": 10019}, set(users) - {"u6"}) == (failed, set(provider.members["g1"]))

    async def test_a_member_never_goes_before_its_group(self):
        """A member read before its group's import waits for it; the group is created first."""
        provider, sink, feed = FakeProvider(latency=0.01), FakeSink(), StageFeed()
        eng = stage_engine(provider, sink)
        eng.submit(feed.member("g1", "leckie"))
        eng.submit(feed.group("g1"))
        assert await eng.wait_idle(5)
        assert ("imported", ["import_group", "import_group_member"]) == (
            by_event(sink)["gm:g1:leckie"].status.value,
            [api for api, _, _ in provider.calls],
        )

    async def test_a_join_time_before_the_groups_creation_fails_without_a_call(self):
        """JoinTime not after the group's CreateTime (known from its import): 10004, no call."""
        provider, sink, feed = FakeProvider(), FakeSink(), StageFeed()
        eng = stage_engine(provider, sink)
        eng.submit(feed.group("g1"))
        eng.submit(feed.member("g1", "early", JoinTime=CREATED - 1))
        eng.submit(feed.member("g1", "late"))
        assert await eng.wait_idle(5)
        early = by_event(sink)["gm:g1:early"]
        assert (10004, "service", [("members", "g1", ("late",))]) == (
            early.error_code,
            early.detected_by.value,
            provider.journal,
        )

    async def test_an_existing_member_counts_as_imported(self):
        """A member already in the group (Result 2) is imported, detected_by recovered."""
        provider, sink, feed = FakeProvider(), FakeSink(), StageFeed()
        eng = stage_engine(provider, sink)
        eng.submit(feed.group("g1"))
        eng.submit(feed.member("g1", "leckie"))
        assert await eng.wait_idle(5)
        provider.journal.clear()
        sink.outcomes.clear()
        again = StageFeed()
        again.offsets = dict(feed.offsets)
        eng.submit(again.member("g1", "leckie"))
        assert await eng.wait_idle(5)
        outcome = sink.outcomes[0]
        assert ("imported", "recovered") == (outcome.status.value, outcome.detected_by.value)

    async def test_the_group_of_a_member_that_never_comes_fails_it_with_10010(self):
        """10010 holds the member for the group wait only, then fails it with 10010."""
        provider, sink, feed = FakeProvider(), FakeSink(), StageFeed()
        eng = stage_engine(provider, sink, group_wait=0.2, wall_clock=True)
        eng.submit(feed.member("ghost", "leckie"))
        assert await eng.wait_idle(5)
        assert (["members", "members"], 10010) == (
            kinds(provider, "ghost")[:2],
            sink.outcomes[0].error_code,
        )
