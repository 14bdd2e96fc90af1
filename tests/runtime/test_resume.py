# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""An engine handing its partitions over and the next one resuming from the offset maps."""

import asyncio

from service.domain.offset_map import Fate, OffsetMap
from service.domain.retry_policy import RetryPolicy
from service.domain.validation import Rules
from service.metrics import Metrics
from service.providers.ratelimit import ApiBudgets
from service.runtime.engine import Engine

from .fakes import FakeProvider, FakeSink
from .test_engine import HELD, NOW, Feed, by_event

HISTORY = "group_msg_get_simple"


def fresh(provider: FakeProvider, sink: FakeSink, metrics: Metrics | None = None) -> Engine:
    """An engine not yet holding anything (the test assigns and resumes)."""
    return Engine(
        provider,
        sink,
        policy=RetryPolicy(initial_seconds=0.01, max_seconds=0.05),
        rules=Rules(),
        max_in_flight_calls=64,
        metrics=metrics or Metrics(),
        budgets=ApiBudgets(100_000),
        clock=lambda: float(NOW),
    )


def resumed(eng: Engine, maps: dict[tuple[str, int], OffsetMap]) -> Engine:
    eng.assign(HELD)
    generations = eng.generations()
    for tp in HELD:
        assert eng.resume(tp, generations[tp], maps.get(tp))
    return eng


def history_pulls(provider: FakeProvider) -> int:
    return sum(1 for api, _, _ in provider.calls if api == HISTORY)


class TestHandOver:
    async def test_the_next_owner_skips_what_was_finished_and_checks_no_history(self):
        """Drained hand-over mid-run: finished records skipped, the rest imported unchecked."""
        provider, feed = FakeProvider(latency=0.01), Feed()
        groups = [feed.group(f"g{g}") for g in range(3)]
        messages = [feed.message(f"g{g}", n) for g in range(3) for n in range(40)]
        first_sink = FakeSink()
        first = resumed(fresh(provider, first_sink), {})
        for record in groups + messages:  # read ahead: everything is buffered
            first.submit(record)
        assert await first.wait_until(lambda: len(first_sink.outcomes) >= 20, 5)
        maps = await first.drain(5)  # calls on the wire finish; queued records are dropped
        done_before = {o.event_id for o in first_sink.outcomes}

        metrics, second_sink = Metrics(), FakeSink()
        calls_before = len(provider.calls)
        second = resumed(fresh(provider, second_sink, metrics), maps)
        for record in groups + messages:
            second.submit(record)
        assert await second.wait_idle(5)

        again = {o.event_id for o in second_sink.outcomes}
        assert (set(), 123) == (done_before & again, len(done_before | again))
        assert {"provider"} == {o.detected_by.value for o in second_sink.outcomes}
        assert [] == [
            api for api, _, _ in provider.calls[calls_before:] if api != "import_group_msg"
        ]
        assert (float(len(done_before)), 0.0) == (
            sum(
                metrics.registry.get_sample_value("chat_import_records_skipped_total", {"topic": t})
                or 0.0
                for t in ("groups", "messages")
            ),
            metrics.registry.get_sample_value("chat_import_resume_checks_total"),
        )
        assert [list(range(1, 41))] * 3 == [
            [seq for _, seq in provider.messages[f"g{g}"]] for g in range(3)
        ]

    async def test_a_call_cut_at_the_drain_bound_leaves_its_group_doubtful(self):
        """A call still on the wire when the drain ends: its group checks the history next time.

        A group whose lane was still waiting (for its import to show up) sent nothing: the next
        owner imports its messages without a check.
        """
        provider, feed = FakeProvider(), Feed()
        clean = {tp: OffsetMap.of(0, (), Fate.NEW) for tp in HELD}
        first = resumed(fresh(provider, FakeSink()), clean)
        first.submit(feed.group("slow"))
        assert await first.wait_idle(5)
        provider.groups.add("later")  # imported long ago; this engine has not seen it
        provider.messages["later"] = []
        provider.latency = 1.0  # every call from now on outlives the drain
        slow = [feed.message("slow", n) for n in range(3)]
        later = [feed.message("later", n) for n in range(2)]
        for record in slow + later:
            first.submit(record)
        await asyncio.sleep(0.05)  # the call for "slow" is on the wire, "later" waits
        maps = await first.drain(0.1)
        provider.latency = 0.0
        messages = maps[("messages", 0)]
        assert [Fate.DOUBTFUL] * 3 + [Fate.NEW] * 2 == [
            messages.fate(r.offset) for r in slow + later
        ]

        metrics, second_sink = Metrics(), FakeSink()
        second = resumed(fresh(provider, second_sink, metrics), maps)
        for record in slow + later:
            second.submit(record)
        assert await second.wait_idle(5)
        assert (1.0, 1) == (
            metrics.registry.get_sample_value("chat_import_resume_checks_total"),
            history_pulls(provider),
        )
        assert (3, 2) == (len(provider.messages["slow"]), len(provider.messages["later"]))

    async def test_without_a_map_every_group_not_created_here_checks_its_history(self):
        """A plain watermark (or a map that could not be read): as before, check first."""
        provider, feed = FakeProvider(), Feed()
        first = resumed(fresh(provider, FakeSink()), {})
        first.submit(feed.group("g1"))
        assert await first.wait_idle(5)
        metrics = Metrics()
        second = resumed(fresh(provider, FakeSink(), metrics), {})
        second.submit(feed.message("g1", 0))
        assert await second.wait_idle(5)
        assert (1, 1.0) == (
            history_pulls(provider),
            metrics.registry.get_sample_value("chat_import_resume_checks_total"),
        )

    async def test_a_periodic_map_after_a_kill_doubts_everything_unfinished(self):
        """A kill -9 after a periodic commit: done records skipped, the rest checked first."""
        provider, feed = FakeProvider(), Feed()
        first = resumed(fresh(provider, FakeSink()), {})
        first.submit(feed.group("g1"))
        records = [feed.message("g1", n) for n in range(6)]
        for record in records[:3]:
            first.submit(record)
        assert await first.wait_idle(5)
        periodic = first.offset_maps()
        for record in records[3:5]:  # imported after the commit, then the process dies
            first.submit(record)
        assert await first.wait_idle(5)

        second_sink = FakeSink()
        second = resumed(fresh(provider, second_sink), periodic)
        for record in records:
            second.submit(record)
        assert await second.wait_idle(5)
        outcomes = by_event(second_sink)
        assert ["recovered", "recovered", "provider"] == [
            outcomes[f"m:g1:{n}"].detected_by.value for n in range(3, 6)
        ]
        assert list(range(1, 7)) == [seq for _, seq in provider.messages["g1"]]
