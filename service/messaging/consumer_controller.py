# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The consumer controller: everything the service does with its Kafka consumer.

It hands fetched records to the engine (each with its partition's generation at the time the
batch was taken), pauses and resumes partitions to bound memory, commits finished offsets, reports
lag, answers the rebalance callbacks, gives the replica its share of the call budget, and stops:
it is the only code that touches the consumer.

Every commit carries the partition's offset map in its metadata (``service/domain/offset_map.py``):
the periodic ones say which records above the committed offset are finished (everything else
doubtful: calls may leave after it); the one after a revocation's or a stop's drain also says
which unfinished records no call ever carried. On assignment the new partitions stay paused until
the maps committed for them are read and handed to the engine, so that not one of their records
is judged without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError, OffsetMetadataTooLargeError
from aiokafka.structs import OffsetAndMetadata

from service.domain import offset_map
from service.domain.events import InputRecord
from service.domain.offset_map import OffsetMap
from service.messaging.assignor import CopartitionedAssignor
from service.messaging.committed import committed_with_metadata
from service.messaging.shared_budget import SharedBudget
from service.metrics import Metrics
from service.providers.ratelimit import ApiBudgets
from service.runtime.engine import Engine
from service.settings import Settings

log = structlog.get_logger("service.app")

FLOW_TICK_SECONDS = 0.05
FLOW_STOP_SECONDS = 2.0
LAG_EVERY_SECONDS = 5.0
RESUME_FRACTION = 0.8
SUBMIT_SLICE = 16
POSITION_WAIT_SECONDS = 0.1


class Phase(StrEnum):
    """Where the replica stands in its consumer group."""

    JOINING = "joining"  # not yet assigned
    HOLDING = "holding"  # assigned (possibly nothing: a spare replica)
    REBALANCING = "rebalancing"  # partitions revoked, the new assignment not yet given
    STOPPING = "stopping"


def to_record(raw: Any) -> InputRecord:  # noqa: ANN401 - aiokafka's ConsumerRecord
    """The engine's view of an aiokafka record."""
    return InputRecord(
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key,
        value=raw.value,
        headers=tuple((name, bytes(value or b"")) for name, value in (raw.headers or ())),
    )


class ConsumerController:
    """Owns flow control, commits, lag and rebalances of one consumer."""

    def __init__(  # noqa: PLR0913, PLR0917 - the consumer and what it feeds
        self,
        consumer: AIOKafkaConsumer,
        assignor: CopartitionedAssignor,
        engine: Engine,
        budgets: ApiBudgets,
        shared_budget: SharedBudget,
        settings: Settings,
        metrics: Metrics,
    ) -> None:
        self._consumer = consumer
        self._assignor = assignor
        self._engine = engine
        self._budgets = budgets
        self._shared_budget = shared_budget
        self._settings = settings
        self._metrics = metrics
        self._phase = Phase.JOINING
        self._paused: set[TopicPartition] = set()
        self._committed: dict[tuple[str, int], tuple[int, str]] = {}
        self._batches = 0  # batches taken; odd while one is being handed to the engine
        self._flow_task = asyncio.create_task(self._flow_loop())

    @property
    def phase(self) -> Phase:
        """Where the replica stands in its consumer group."""
        return self._phase

    # ---------------------------------------------------------------- intake

    async def on_batch(self, records: Sequence[Any]) -> None:
        """Hand a fetched batch to the engine, in order, without blocking on its work."""
        if self._phase is Phase.STOPPING:
            return
        # The generation of each partition when the batch is taken: a partition revoked (and
        # perhaps assigned again) while the batch is handed over drops the rest of its records.
        generations = self._engine.generations()
        self._batches += 1
        try:
            positions = await self._positions({(raw.topic, raw.partition) for raw in records})
            for count, raw in enumerate(records, start=1):
                tp = (raw.topic, raw.partition)
                if raw.offset < positions.get(tp, -1):  # else fetched again: see _positions
                    self._engine.submit(to_record(raw), generations.get(tp, -1))
                if count % SUBMIT_SLICE == 0:
                    # Let calls whose slot has come leave on time: a long synchronous run here
                    # would send them late and in a bunch, which the provider counts as a burst.
                    await asyncio.sleep(0)
        finally:
            self._batches += 1
        self._apply_flow_control()
        await self._report_groups_topic_read()

    async def _positions(self, tps: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The consumer's fetch position of each partition (left out: not assigned now).

        Fetching moves a partition's position past the records fetched, and an assignment sets
        it back to the committed offset, at or below every record the engine was not given. So a
        record at or past its position was fetched before the current assignment (the batch was
        handed over after a rebalance gave the partition back): it is fetched again, and taking
        it now would make the records before it look like repeats. A position being reset is
        waited for; it is then the committed offset.
        """
        positions = {}
        for topic, partition in tps:
            with contextlib.suppress(IllegalStateError, KafkaError):
                positions[topic, partition] = await self._consumer.position(
                    TopicPartition(topic, partition)
                )
        return positions

    # ------------------------------------------------------------ rebalances

    async def on_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        """Hand the lost partitions back: in-flight work finishes within the bound, commit."""
        if self._phase is Phase.HOLDING:
            self._phase = Phase.REBALANCING
        # JOINING stays JOINING: the join's own (empty) revocation comes before any assignment
        if not revoked:
            return
        log.info("partitions revoked", partitions=[f"{tp.topic}:{tp.partition}" for tp in revoked])
        marks = await self._engine.release(
            [(tp.topic, tp.partition) for tp in revoked], self._settings.pipeline.drain_seconds
        )
        await self._commit(marks, only=set(revoked), last=True)
        for tp in revoked:
            self._paused.discard(tp)
            self._committed.pop((tp.topic, tp.partition), None)
            # another replica reports this partition's lag now
            with contextlib.suppress(KeyError):
                self._metrics.consumer_lag.remove(tp.topic, str(tp.partition))
        if self._phase is not Phase.STOPPING and self._shares_budget:
            self._shared_budget.release()  # nothing held until the new assignment

    async def on_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        """Take the new partitions (none while stopping) and this replica's budget share."""
        del assigned  # the consumer's assignment() is the whole set, not just the new ones
        held = self._consumer.assignment()
        if self._phase is Phase.STOPPING:
            # Leaving: take nothing. The partitions move on once this replica has left.
            with contextlib.suppress(IllegalStateError):
                self._consumer.pause(*held)
            return
        self._phase = Phase.HOLDING
        known = set(self._engine.generations())
        new = [tp for tp in held if (tp.topic, tp.partition) not in known]
        # Not one record of a new partition before the engine has its offset map.
        self._consumer.pause(*new)
        self._engine.assign((tp.topic, tp.partition) for tp in held)
        self._engine.groups_topic_read(caught_up=False)  # until the new ones are read
        self._paused &= set(held)
        self._metrics.assigned_partitions.set(len(held))
        log.info(
            "partitions assigned", partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in held)
        )
        holding = self._assignor.holding
        if self._shares_budget:
            self._shared_budget.hold(holding, self.backlog_calls)
        log.info(
            "call budget share",
            calls_per_second=round(self._budgets.rate, 2),
            indices=sorted(holding.indices) if holding else [],
            of=holding.index_count if holding else 0,
        )
        await self._resume_from_maps(new)

    async def _resume_from_maps(self, new: list[TopicPartition]) -> None:
        """Hand the engine the map committed for each new partition, then let records flow."""
        if not new:
            return
        generations = self._engine.generations()
        committed = await committed_with_metadata(self._consumer, new)
        if committed is None:
            log.warning(
                "committed offset maps could not be read; the new partitions resume from the "
                "plain watermark (every unfinished record is checked against the history)",
                partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in new),
            )
            committed = {}
        maps: dict[str, int] = {"mapped": 0, "plain": 0}
        for tp in new:
            key = (tp.topic, tp.partition)
            found = committed.get(tp)
            resumed = offset_map.decode(found[1], found[0]) if found is not None else None
            maps["plain" if resumed is None else "mapped"] += 1
            if key in generations:
                self._engine.resume(key, generations[key], resumed)
        log.info("resumed from the committed offsets", **maps)
        held = self._consumer.assignment()
        with contextlib.suppress(IllegalStateError):
            self._consumer.resume(*(tp for tp in new if tp in held and tp not in self._paused))

    @property
    def _shares_budget(self) -> bool:
        """False when a fixed per-replica rate is set: then no share is taken."""
        return self._settings.pipeline.replica_calls_per_second is None

    async def backlog_calls(self) -> float:
        """The calls this replica estimates it still has to make for the partitions it holds.

        Records read and not finished, plus records not yet fetched (high watermark less the
        offset after the last record handed to the engine); a message record counts as
        ``1 / messages_per_call`` of a call (the engine's: the setting, at most what the provider
        takes), any other as one. Reported on the control topic, it weights this replica's
        share of the budget. It asks the consumer for nothing but what it already knows: a
        position call here, ten times a second, disturbed the groups-topic read check.
        """
        if self._phase is Phase.STOPPING:
            # It takes nothing more and its queued work is dropped by the drain: it reports
            # none, so that the others get its budget while its last calls finish.
            return 0.0
        per_call = self._engine.messages_per_call
        unfinished = self._engine.buffered_by_partition()
        read_to = self._engine.read_to()
        calls = 0.0
        for tp in self._consumer.assignment():
            key = (tp.topic, tp.partition)
            records = unfinished.get(key, 0)
            high = self._consumer.highwater(tp)
            taken = read_to.get(key)
            if high is not None and taken is not None:
                records += max(0, high - taken)
            calls += records / per_call if tp.topic == self._settings.topics.messages else records
        return calls

    # ------------------------------------------------------------------ stop

    async def stop(self) -> None:
        """Take nothing more, finish in-flight work within the drain bound, commit."""
        self._phase = Phase.STOPPING
        with contextlib.suppress(IllegalStateError):
            self._consumer.pause(*self._consumer.assignment())
        self._flow_task.cancel()
        await asyncio.wait({self._flow_task}, timeout=FLOW_STOP_SECONDS)
        # The share keeps following the reports through the drain: the others keep moving
        # theirs until this replica leaves the group, and a share frozen here would not follow.
        marks = await self._engine.drain(self._settings.pipeline.drain_seconds)
        await self._commit(marks, last=True)
        await self._shared_budget.stop()

    # ------------------------------------------------------------- probes

    def readiness(self) -> tuple[bool, str]:  # noqa: PLR0911 - one answer per reason
        """Ready while partitions are held (or none are to be had) and the provider answers."""
        if self._phase is Phase.STOPPING:
            return False, "shutting down"
        if self._engine.halted:
            return False, "the provider refuses the configuration"
        if self._engine.provider_unreachable:
            return False, "the provider is unreachable"
        if self._phase is Phase.JOINING:
            return False, "not yet in the consumer group"
        if self._phase is Phase.REBALANCING:
            return False, "rebalancing: partitions revoked, waiting for the new assignment"
        if not self._consumer.assignment():
            return True, "ok (spare replica: no partitions assigned)"
        return True, "ok"

    def liveness(self) -> tuple[bool, str]:
        """Alive while the consumer and the service's own loop still run."""
        if self._flow_task.done() and self._phase is not Phase.STOPPING:
            return False, "the flow-control loop stopped"
        if getattr(self._consumer, "_closed", False) and self._phase is not Phase.STOPPING:
            return False, "the Kafka consumer is closed"
        for owner, name in (("_coordinator", "_coordination_task"), ("_fetcher", "_fetch_task")):
            task = getattr(getattr(self._consumer, owner, None), name, None)
            if isinstance(task, asyncio.Task) and task.done() and self._phase is not Phase.STOPPING:
                return False, f"the Kafka consumer's {owner.strip('_')} stopped"
        return True, "ok"

    # ----------------------------------------------------- commits and flow

    def _metadata(self, mapped: OffsetMap) -> str:
        """The map's text, or the plain watermark (counted) when it does not fit."""
        limit = self._settings.kafka.offset_metadata_max_bytes
        if limit == 0:
            return ""
        text = offset_map.encode(mapped, limit)
        if text is None:
            self._metrics.offset_map_fallbacks.inc()
            return ""
        return text

    async def _commit(
        self,
        maps: dict[tuple[str, int], OffsetMap],
        only: set[TopicPartition] | None = None,
        *,
        last: bool = False,
    ) -> None:
        """Commit the offsets (with their maps) that changed; ``last``: no later commit follows."""
        if not maps:
            return
        assigned = only if only is not None else self._consumer.assignment()
        offsets: dict[TopicPartition, tuple[int, str]] = {}
        for (topic, partition), mapped in maps.items():
            tp = TopicPartition(topic, partition)
            entry = (mapped.base, self._metadata(mapped))
            if tp in assigned and self._committed.get((topic, partition)) != entry:
                offsets[tp] = entry
        if not offsets:
            return
        try:
            try:
                await self._consumer.commit(
                    {tp: OffsetAndMetadata(*entry) for tp, entry in offsets.items()}
                )
            except OffsetMetadataTooLargeError:
                # The broker's limit is below the configured one: the plain watermarks instead.
                self._metrics.offset_map_fallbacks.inc(
                    sum(1 for _, text in offsets.values() if text)
                )
                log.warning(
                    "the broker refused the offset maps as too large; committed the plain "
                    "watermarks (lower CHAT_IMPORT_KAFKA__OFFSET_METADATA_MAX_BYTES to the "
                    "broker's offset.metadata.max.bytes)"
                )
                offsets = {tp: (offset, "") for tp, (offset, _) in offsets.items()}
                await self._consumer.commit(
                    {tp: OffsetAndMetadata(*entry) for tp, entry in offsets.items()}
                )
        except (KafkaError, IllegalStateError) as exc:
            if last:
                # a revocation or the stop: the next owner resumes from the previous commit
                log.warning(
                    "final offset commit failed; the next owner redoes what finished since the "
                    "previous commit",
                    error=type(exc).__name__,
                )
            else:
                log.warning("offset commit failed; will retry", error=type(exc).__name__)
            return
        for tp, entry in offsets.items():
            self._committed[(tp.topic, tp.partition)] = entry

    def _apply_flow_control(self) -> None:
        if self._phase is Phase.STOPPING:
            return
        pipeline = self._settings.pipeline
        total = self._engine.buffered()
        over_total = total >= pipeline.max_buffered_records
        under_total = total < pipeline.max_buffered_records * RESUME_FRACTION
        per_partition = self._engine.buffered_by_partition()
        for tp in self._consumer.assignment():
            held = per_partition.get((tp.topic, tp.partition), 0)
            # The total cap never stops the groups topic: buffered messages may be waiting for
            # the very group imports it holds. Its partitions keep their own cap.
            groups = tp.topic == self._settings.topics.groups
            if tp not in self._paused:
                if (over_total and not groups) or held >= pipeline.max_buffered_per_partition:
                    self._consumer.pause(tp)
                    self._paused.add(tp)
            elif (under_total or groups) and held < (
                pipeline.max_buffered_per_partition * RESUME_FRACTION
            ):
                self._consumer.resume(tp)
                self._paused.discard(tp)
        metrics = self._metrics
        metrics.buffered.set(total)
        metrics.in_flight.set(total - self._engine.queued)
        metrics.queued.set(self._engine.queued)
        metrics.paused_partitions.set(len(self._paused))
        metrics.lanes.set(self._engine.lanes)

    async def _report_groups_topic_read(self) -> None:
        """Tell the engine whether every record of the held groups partitions has been read."""
        batches = self._batches
        if batches % 2:
            return  # mid-batch, the consumer's position is ahead of what the engine was given
        # highwater is known once a partition was fetched; read them all before any await
        highs = {
            tp: self._consumer.highwater(tp)
            for tp in self._consumer.assignment()
            if tp.topic == self._settings.topics.groups
        }
        caught_up = None not in highs.values()
        for tp, high in highs.items():
            if not caught_up or high is None:
                break
            try:
                position = await asyncio.wait_for(
                    self._consumer.position(tp), POSITION_WAIT_SECONDS
                )
            except IllegalStateError:
                continue  # revoked meanwhile
            except TimeoutError:
                caught_up = False  # its position is being reset
                break
            caught_up = position >= high
        if self._batches != batches:
            return  # a batch was taken meanwhile: the next report tells
        self._engine.groups_topic_read(caught_up=caught_up)

    async def _flow_loop(self) -> None:
        last_commit = 0.0
        last_lag = 0.0
        waited_before = 0.0
        interval = self._settings.kafka.commit_interval_seconds
        # Ends on STOPPING as well as on its cancellation: a client call that swallows a
        # cancellation (Python 3.11's asyncio.wait_for can, when its call completes just then)
        # must not keep it running, nor hold up the stop.
        while True:
            await asyncio.sleep(FLOW_TICK_SECONDS)
            if self._phase is Phase.STOPPING:
                return
            try:
                await self._flow_tick()
            except (KafkaError, IllegalStateError) as exc:
                log.warning("flow control skipped a tick", error=type(exc).__name__)
            now = time.monotonic()
            if now - last_commit >= interval:
                last_commit = now
                await self._commit(self._engine.offset_maps())
            if now - last_lag >= LAG_EVERY_SECONDS:
                last_lag = now
                await self._record_lag()
            waited = self._budgets.waited_seconds
            self._metrics.rate_limit_wait.inc(max(0.0, waited - waited_before))
            waited_before = waited

    async def _flow_tick(self) -> None:
        self._apply_flow_control()
        await self._report_groups_topic_read()

    async def _record_lag(self) -> None:
        for tp in self._consumer.assignment():
            # revoked while an earlier position was awaited: aiokafka's highwater asserts
            with contextlib.suppress(Exception):
                high = self._consumer.highwater(tp)
                if high is not None:
                    position = await self._consumer.position(tp)
                    self._metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(
                        max(0, high - position)
                    )
