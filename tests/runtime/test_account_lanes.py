# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
import asyncio
from collections.abc import Sequence

from service.domain.events import Account
from service.providers.base import AccountResult

from .fakes import FakeProvider, FakeSink
from .stages import StageFeed, by_event, stage_engine


class SlowAccounts(FakeProvider):
    """Account imports take ``delay`` seconds; everything else answers at once."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def import_accounts(self, accounts: Sequence[Account]) -> list[AccountResult]:
        await asyncio.sleep(self.delay)
        return await super().import_accounts(accounts)


class TestAccountBatching:
    async def test_accounts_of_every_partition_share_full_calls(self):
        """250 accounts read from three partitions go in calls of 100, 100 and 50, mixed."""
        provider, sink, feed = FakeProvider(latency=0.01), FakeSink(), StageFeed()
        eng = stage_engine(provider, sink, partitions=3)
        for n in range(250):
            eng.submit(feed.account(f"u{n:03d}", partition=n % 3))
        assert await eng.wait_idle(5)
        sizes = [size for api, _, size in provider.calls if api == "multiaccount_import"]
        first = provider.journal[0][2]
        assert ([100, 100, 50], True, 250) == (
            sizes,
            len({int(user[1:]) % 3 for user in first}) > 1,
            sum(o.status.value == "imported" for o in sink.outcomes),
        )

    async def test_one_refused_account_of_a_hundred_fails_alone(self):
        """FailAccounts names one account: it fails (70402), its 99 batch-mates are imported."""
        provider, sink, feed = FakeProvider(), FakeSink(), StageFeed()
        provider.refuse_accounts = {"u042"}
        eng = stage_engine(provider, sink)
        for n in range(100):
            eng.submit(feed.account(f"u{n:03d}"))
        assert await eng.wait_idle(5)
        outcomes = by_event(sink)
        failed = {o.event_id: o.error_code for o in outcomes.values() if o.status.value == "failed"}
        assert ({"a:u042": 70402}, 100, "u042") == (
            failed,
            len(outcomes),
            outcomes["a:u042"].user_id,
        )

    async def test_a_handed_back_partitions_queued_accounts_are_dropped_unpublished(self):
        """Revoked while waiting for the budget: partition 1's queued accounts get no outcome."""
        provider, sink, feed = FakeProvider(latency=0.02), FakeSink(), StageFeed()
        eng = stage_engine(provider, sink, rate=2, partitions=2)
        for n in range(300):
            eng.submit(feed.account(f"u{n:03d}", partition=n % 2))
        assert await eng.wait_until(lambda: len(sink.outcomes) >= 100, 5)
        sent_first = set(provider.journal[0][2])
        await eng.release([("groups", 1), ("messages", 1)], timeout=2)
        assert await eng.wait_idle(5)
        published_p1 = {o.user_id for o in sink.outcomes if o.source.partition == 1}
        assert (True, True, 300) == (
            published_p1 <= sent_first,
            all(o.source.partition == 0 for o in sink.outcomes[100:]),
            len(sink.outcomes) + 150 - len(published_p1),
        )


class TestAccountWaits:
    async def test_a_member_refused_for_its_account_waits_while_accounts_are_imported(self):
        """10019 while the account's import is still on its way: wait, then the member joins."""
        provider, sink, feed = SlowAccounts(delay=0.3), FakeSink(), StageFeed()
        provider.require_accounts = True
        eng = stage_engine(provider, sink)
        eng.submit(feed.group("g1"))
        eng.submit(feed.account("leckie"))
        eng.submit(feed.member("g1", "leckie"))
        assert await eng.wait_idle(5)
        journal = [kind for kind, _, _ in provider.journal]
        assert ("imported", "members", ["accounts", "members"]) == (
            by_event(sink)["gm:g1:leckie"].status.value,
            journal[0],
            journal[-2:],
        )

    async def test_with_no_account_import_on_its_way_the_wait_is_only_the_grace(self):
        """No account is being imported: a member without an account fails after the grace."""
        provider, sink, feed = FakeProvider(), FakeSink(), StageFeed()
        provider.require_accounts = True
        eng = stage_engine(provider, sink, account_grace=0.1, account_wait=30)
        eng.submit(feed.group("g1"))
        eng.submit(feed.member("g1", "nobody"))
        started = asyncio.get_running_loop().time()
        assert await eng.wait_idle(5)
        waited = asyncio.get_running_loop().time() - started
        outcome = by_event(sink)["gm:g1:nobody"]
        assert ("failed", 10019, True) == (outcome.status.value, outcome.error_code, waited < 2)
