# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The consumer controller against a stand-in consumer: probes, rebalances, budget shares."""

import asyncio
import contextlib
import json
from collections.abc import Callable
from types import SimpleNamespace

from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError, OffsetMetadataTooLargeError
from aiokafka.structs import OffsetAndMetadata
from structlog.testing import capture_logs

from service.domain.budget_sharing import Report
from service.domain.offset_map import OffsetMap
from service.domain.retry_policy import RetryPolicy
from service.domain.validation import Rules
from service.messaging.assignor import CopartitionedAssignor, Holding
from service.messaging.consumer_controller import ConsumerController, Phase
from service.messaging.shared_budget import SharedBudget
from service.metrics import Metrics
from service.providers.ratelimit import ApiBudgets
from service.runtime.engine import Engine
from service.settings import KafkaSettings, PipelineSettings, Settings, TopicsSettings
from tests.messaging.test_shared_budget import Clock

from .fakes import FakeProvider, FakeSink

TOPICS = TopicsSettings(groups="groups", messages="messages")


class StandInConsumer:
    """The few consumer calls the controller makes, with an assignment set by the test."""

    def __init__(self, partitions: int = 4) -> None:
        self.held: set[TopicPartition] = set()
        self.partitions = partitions
        self.paused: set[TopicPartition] = set()
        self.commits: list[dict[TopicPartition, int]] = []
        self._closed = False

    def assignment(self) -> set[TopicPartition]:
        return set(self.held)

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(self.partitions))

    def pause(self, *tps: TopicPartition) -> None:
        self.paused.update(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.paused.difference_update(tps)

    def highwater(self, tp: TopicPartition) -> int | None:
        return None

    async def position(self, tp: TopicPartition) -> int:
        # past every record a test hands over: all of them fetched in the current assignment
        return 1 << 62

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))


def controller(consumer: StandInConsumer) -> tuple[ConsumerController, ApiBudgets]:
    settings = Settings(topics=TOPICS, pipeline=PipelineSettings(drain_seconds=1))
    budgets = ApiBudgets(settings.provider_calls_per_second)
    engine = Engine(
        FakeProvider(),
        FakeSink(),
        policy=RetryPolicy(),
        rules=Rules(),
        max_in_flight_calls=4,
        metrics=Metrics(),
        budgets=budgets,
    )
    assignor = CopartitionedAssignor()
    return ConsumerController(
        consumer,
        assignor,
        engine,
        budgets,
        SharedBudget(budgets, Metrics(), settings.provider_calls_per_second, None),
        settings,
        Metrics(),
    ), budgets


def both(*partitions: int) -> set[TopicPartition]:
    return {TopicPartition(t, p) for t in ("groups", "messages") for p in partitions}


class TestProbes:
    async def test_readiness_resets_while_partitions_are_revoked(self):
        """Ready when assigned, not ready between revocation and the next assignment (defect 9)."""
        consumer = StandInConsumer()
        control, _ = controller(consumer)
        consumer.held = both(0, 1)
        await control.on_assigned(list(consumer.held))
        assigned = control.readiness()
        await control.on_revoked(list(consumer.held))
        revoked = control.readiness()
        await control.on_assigned([])
        assert [True, False, True] == [assigned[0], revoked[0], control.readiness()[0]]
        assert "rebalancing" in revoked[1]
        await control.stop()

    async def test_a_joining_replica_says_so_not_rebalancing(self):
        """The join's own empty revocation comes first: still "not yet in the consumer group"."""
        consumer = StandInConsumer()
        control, _ = controller(consumer)
        await control.on_revoked([])
        ready, reason = control.readiness()
        assert (False, "not yet in the consumer group") == (ready, reason)
        await control.stop()

    async def test_liveness_fails_once_the_consumer_is_closed(self):
        """A consumer that died makes /healthz fail, so the pod is restarted (defect 9)."""
        consumer = StandInConsumer()
        control, _ = controller(consumer)
        alive = control.liveness()
        consumer._closed = True
        assert [True, False] == [alive[0], control.liveness()[0]]
        await control.stop()

    async def test_liveness_fails_once_the_flow_loop_stopped(self):
        """The loop that commits and pauses dying is a dead replica too."""
        consumer = StandInConsumer()
        control, _ = controller(consumer)
        control._flow_task.cancel()
        await asyncio.gather(control._flow_task, return_exceptions=True)
        assert (False, "the flow-control loop stopped") == control.liveness()
        await control.stop()


class TestBudgetShare:
    async def test_the_share_follows_the_partitions_held_and_drops_when_none_are(self):
        """Half the partitions, half the budget; after revocation no old rate is kept (defect 5)."""
        consumer = StandInConsumer(partitions=4)
        control, budgets = controller(consumer)
        consumer.held = both(0, 1)
        control._assignor.holding = Holding(1, frozenset({0, 1}), 4)
        await control.on_assigned(list(consumer.held))
        half = budgets.rate
        revoked = list(consumer.held)
        consumer.held = set()
        await control.on_revoked(revoked)
        assert (98.0, 0.0) == (half, budgets.rate)
        await control.stop()


class TestStopping:
    async def test_a_stopping_replica_takes_no_partition_it_is_given(self):
        """Assigned while stopping, it pauses them and the engine reads none (defect 10)."""
        consumer = StandInConsumer()
        control, _ = controller(consumer)
        await control.stop()
        consumer.held = both(2)
        await control.on_assigned(list(consumer.held))
        assert (both(2), "shutting down") == (consumer.paused, control.readiness()[1])


class ControlTopic:
    """One control partition every replica reads in full, each from its own position."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.log: list[tuple[Report, float]] = []
        self._appended = asyncio.Event()

    def channel(self) -> SimpleNamespace:
        read_to = 0

        async def send(report: Report) -> None:
            self.log.append((report, self.clock()))
            self._appended.set()
            self._appended = asyncio.Event()

        async def read(timeout_seconds: float) -> list[tuple[Report, float]]:
            nonlocal read_to
            if read_to == len(self.log):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._appended.wait(), timeout_seconds)
            got, read_to = self.log[read_to:], len(self.log)
            return got

        return SimpleNamespace(send=send, read=read)

    def sent_by(self, replica: str) -> int:
        return sum(1 for report, _ in self.log if report.replica == replica)

    async def next_report_of(self, replica: str) -> None:
        sent = self.sent_by(replica)
        await until(lambda: self.sent_by(replica) > sent)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - a plain condition, polled with a deadline
            await asyncio.sleep(0.01)


class UnfetchedConsumer(StandInConsumer):
    """Every held partition's log ends at ``end``: what is not handed over is not fetched."""

    def __init__(self, end: int) -> None:
        super().__init__()
        self.end = end

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.end


class OneMessagePerCall(FakeProvider):
    messages_per_call = 1  # as ZIM: one message per import call


class TestBacklog:
    async def test_messages_count_as_the_calls_the_provider_needs_for_them(self):
        """With one message per call, 70 messages waiting are 70 calls, not 10."""
        consumer = UnfetchedConsumer(end=70)
        settings = Settings(topics=TOPICS)  # messages_per_call: 7, the setting's default
        budgets = ApiBudgets(0.0)
        engine = Engine(
            OneMessagePerCall(),
            FakeSink(),
            policy=RetryPolicy(),
            rules=Rules(),
            max_in_flight_calls=4,
            metrics=Metrics(),
            budgets=budgets,
            messages_per_call=settings.pipeline.messages_per_call,
        )
        shared = SharedBudget(budgets, Metrics(), settings.provider_calls_per_second, None)
        control = ConsumerController(
            consumer, CopartitionedAssignor(), engine, budgets, shared, settings, Metrics()
        )
        consumer.held = {MESSAGES_0}
        await control.on_assigned(list(consumer.held))
        await control.on_batch([waiting_message(0)])  # one read (and waiting), 69 not fetched
        try:
            assert await control.backlog_calls() == 70.0
        finally:
            await control.stop()


class SwallowingConsumer(StandInConsumer):
    """Its position call never ends by itself and swallows the cancellation that ends it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = asyncio.Event()

    def highwater(self, tp: TopicPartition) -> int | None:
        # the groups topic not fetched yet: only the lag read asks for positions
        return None if tp.topic == "groups" else 10

    async def position(self, tp: TopicPartition) -> int:
        self.asked.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        return 10


class TestStopBound:
    async def test_a_client_call_swallowing_its_cancellation_does_not_hold_up_the_stop(self):
        """The flow loop is cancelled inside a call that swallows it: the stop still ends."""
        consumer = SwallowingConsumer()
        control, _ = controller(consumer)
        consumer.held = both(0)
        await control.on_assigned(list(consumer.held))
        await asyncio.wait_for(consumer.asked.wait(), 5)  # the lag read is in that call now
        async with asyncio.timeout(10):
            await control.stop()
        assert control.phase is Phase.STOPPING


class TestStoppingWithSharedBudget:
    async def test_a_draining_replica_gives_up_what_the_others_take_meanwhile(self):
        """While this replica drains, the other one's work grows: their shares still fit."""
        clock = Clock()
        topic = ControlTopic(clock)
        settings = Settings(topics=TOPICS, pipeline=PipelineSettings(drain_seconds=30))
        app_rate = settings.provider_calls_per_second  # 196
        budgets = ApiBudgets(0.0)
        engine = Engine(
            FakeProvider(),
            FakeSink(),
            policy=RetryPolicy(),
            rules=Rules(),
            max_in_flight_calls=4,
            metrics=Metrics(),
            budgets=budgets,
        )
        draining, drained = asyncio.Event(), asyncio.Event()

        async def slow_drain(timeout: float) -> dict[TopicPartition, OffsetMap]:
            draining.set()
            await drained.wait()  # in-flight calls still leave, on this replica's share
            return {}

        engine.drain = slow_drain  # type: ignore[method-assign]
        here = SharedBudget(budgets, Metrics(), app_rate, topic.channel(), clock=clock)  # type: ignore[arg-type]
        consumer = StandInConsumer(partitions=4)
        control = ConsumerController(
            consumer, CopartitionedAssignor(), engine, budgets, here, settings, Metrics()
        )
        other_budgets = ApiBudgets(0.0)
        other = SharedBudget(other_budgets, Metrics(), app_rate, topic.channel(), clock=clock)  # type: ignore[arg-type]
        other_work = [0.0]

        async def other_backlog() -> float:
            return other_work[0]

        consumer.held = both(0, 1)
        control._assignor.holding = Holding(7, frozenset({0, 1}), 4)
        await control.on_assigned(list(consumer.held))
        other.hold(Holding(7, frozenset({2, 3}), 4), other_backlog)
        await until(lambda: topic.sent_by(here.replica) > 0 and topic.sent_by(other.replica) > 0)
        stopping = asyncio.create_task(control.stop())
        try:
            await until(draining.is_set)
            other_work[0] = 50_000.0  # a backfill lands on the other replica's partitions
            for _ in range(5):
                clock.now += 1.0
                await topic.next_report_of(other.replica)
            # Reports read after a jump of the clock count as read late (they only lower a
            # share): let two be read on time, then let their instant and a window pass.
            clock.now += 1.0
            await topic.next_report_of(other.replica)
            await topic.next_report_of(other.replica)
            clock.now += 1.5  # a larger share takes effect a window after its instant
            await until(lambda: other_budgets.rate > 150)
            await until(lambda: budgets.rate + other_budgets.rate <= app_rate, timeout=2.0)
        finally:
            drained.set()
            await stopping
            await other.stop()


class StandInCoordinator:
    """Keeps what is committed, with its metadata, and answers fetches for it."""

    def __init__(self) -> None:
        self.committed: dict[TopicPartition, OffsetAndMetadata] = {}
        self.fetches = 0

    async def fetch_committed_offsets(
        self, tps: list[TopicPartition]
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        self.fetches += 1
        return {tp: self.committed[tp] for tp in tps if tp in self.committed}


class CommittingConsumer(StandInConsumer):
    """A stand-in whose commits land in its coordinator; refuses large metadata if told."""

    def __init__(self, refuse_metadata_over: int | None = None) -> None:
        super().__init__()
        self._coordinator = StandInCoordinator()
        self.refuse_metadata_over = refuse_metadata_over

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        limit = self.refuse_metadata_over
        if limit is not None and any(
            len(value.metadata) > limit  # type: ignore[attr-defined]
            for value in offsets.values()
        ):
            raise OffsetMetadataTooLargeError
        self.commits.append(dict(offsets))
        self._coordinator.committed.update(offsets)


def resuming_controller(
    consumer: StandInConsumer, **kafka: int
) -> tuple[ConsumerController, Engine, FakeProvider, Metrics]:
    settings = Settings(
        topics=TOPICS,
        pipeline=PipelineSettings(drain_seconds=1, replica_calls_per_second=1_000),
        kafka=KafkaSettings(**kafka),
    )
    provider, metrics = FakeProvider(), Metrics()
    budgets = ApiBudgets(1_000)
    engine = Engine(
        provider,
        FakeSink(),
        policy=RetryPolicy(),
        rules=Rules(),
        max_in_flight_calls=4,
        metrics=metrics,
        budgets=budgets,
    )
    control = ConsumerController(
        consumer,
        CopartitionedAssignor(),
        engine,
        budgets,
        SharedBudget(budgets, Metrics(), settings.provider_calls_per_second, None),
        settings,
        metrics,
    )
    return control, engine, provider, metrics


MESSAGES_0 = TopicPartition("messages", 0)


def waiting_message(offset: int) -> SimpleNamespace:
    """A message of a group nobody has seen: its lane waits a moment for the group's import."""
    value = {
        "type": "group.message.import",
        "event_id": f"m:{offset}",
        "group_id": "unseen",
        "message": {
            "From_Account": "u",
            "SendTime": 1_700_000_000,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
        },
    }
    return raw_record(offset, json.dumps(value).encode())


def junk(offset: int) -> SimpleNamespace:
    """Not an event: dead-lettered, finished at once."""
    return raw_record(offset, b"not an event")


def raw_record(offset: int, value: bytes) -> SimpleNamespace:
    return SimpleNamespace(
        topic="messages", partition=0, offset=offset, key=b"unseen", value=value, headers=()
    )


async def stop_with_a_hole(consumer: CommittingConsumer, **kafka: int) -> Metrics:
    """Offset 0 still waiting and offset 1 finished when the replica stops: a map to commit."""
    consumer.held = {MESSAGES_0}
    control, engine, _, metrics = resuming_controller(consumer, **kafka)
    await control.on_assigned(list(consumer.held))
    await control.on_batch([waiting_message(0), junk(1)])
    assert await engine.wait_until(lambda: engine.buffered() == 1, 5)
    await control.stop()
    return metrics


class TestOffsetMaps:
    async def test_the_drain_commits_the_map_and_the_next_owner_skips_what_it_finished(self):
        """Stop commits a map; a controller assigned the partition afterwards skips the done."""
        consumer = CommittingConsumer()
        await stop_with_a_hole(consumer)
        committed = consumer._coordinator.committed[MESSAGES_0]

        second, engine, _, metrics = resuming_controller(consumer)
        await second.on_assigned(list(consumer.held))
        await second.on_batch([waiting_message(0), junk(1)])
        assert await engine.wait_until(lambda: engine.buffered() == 1, 5)
        await second.stop()
        assert (0, True) == (committed.offset, committed.metadata.startswith("cim1:"))
        assert (1.0, 0.0) == (
            metrics.registry.get_sample_value(
                "chat_import_records_skipped_total", {"topic": "messages"}
            ),
            metrics.registry.get_sample_value("chat_import_dead_letters_total"),
        )

    async def test_new_partitions_stay_paused_until_their_maps_are_read(self):
        """Records of a new partition flow only once the engine has its map."""
        consumer = CommittingConsumer()
        consumer.held = both(0)
        control, _, _, _ = resuming_controller(consumer)
        seen: list[set[TopicPartition]] = []
        fetch = consumer._coordinator.fetch_committed_offsets

        async def watching(tps: list[TopicPartition]) -> dict[TopicPartition, OffsetAndMetadata]:
            seen.append(set(consumer.paused))
            return await fetch(tps)

        consumer._coordinator.fetch_committed_offsets = watching  # type: ignore[method-assign]
        await control.on_assigned(list(consumer.held))
        assert ([both(0)], set()) == (seen, consumer.paused)
        await control.stop()

    async def test_a_map_over_the_limit_commits_the_plain_watermark(self):
        """Nothing but the offset goes, and the fallback is counted."""
        consumer = CommittingConsumer()
        metrics = await stop_with_a_hole(consumer, offset_metadata_max_bytes=5)
        committed = consumer._coordinator.committed[MESSAGES_0]
        assert (0, "", 1.0) == (
            committed.offset,
            committed.metadata,
            metrics.registry.get_sample_value("chat_import_offset_map_fallbacks_total"),
        )

    async def test_a_broker_refusing_the_map_as_too_large_gets_the_plain_watermark(self):
        """The broker's limit is lower than the configured one: the plain offset is committed."""
        consumer = CommittingConsumer(refuse_metadata_over=3)
        metrics = await stop_with_a_hole(consumer)
        committed = consumer._coordinator.committed[MESSAGES_0]
        assert (0, "", 1.0) == (
            committed.offset,
            committed.metadata,
            metrics.registry.get_sample_value("chat_import_offset_map_fallbacks_total"),
        )


class FailingCommits(CommittingConsumer):
    """A stand-in whose broker is gone: every commit fails."""

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        raise KafkaConnectionError


class TestFinalCommit:
    async def test_a_failed_final_commit_says_what_the_next_owner_redoes(self):
        """At stop no later commit follows: the log line says so instead of 'will retry'."""
        with capture_logs() as logs:
            await stop_with_a_hole(FailingCommits())
        warnings = [entry["event"] for entry in logs if entry["log_level"] == "warning"]
        assert any(event.startswith("final offset commit failed") for event in warnings)
        assert not any("will retry" in event for event in warnings)
