# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
import asyncio

import pytest

from service.domain.events import GroupProfile, InputRecord
from service.domain.ledger import Ticket
from service.domain.validation import ValidGroupImport
from service.runtime.lanes import Lane, LaneAbandonedError, LaneSupervisor
from service.runtime.work import WorkItem

TP = ("groups", 0)


def item(offset: int) -> WorkItem:
    record = InputRecord("groups", 0, offset, b"g", b"{}")
    event = ValidGroupImport(f"e{offset}", GroupProfile(GroupId="g", Type="Public", Name="n"))
    return WorkItem(record, event, Ticket("groups", 0, offset, 1))


class Recorder:
    def __init__(self) -> None:
        self.done: list[int] = []
        self.crashed: list[tuple[list[int], str]] = []
        self.ended: list[str] = []
        self.gate = asyncio.Event()

    async def run(self, lane: Lane[str, None]) -> None:
        while lane.queue:
            (taken,) = lane.take(1)
            await lane.pause(60, self.gate)
            taken.finished = True
            self.done.append(taken.record.offset)
            lane.settle()

    async def crash_once(self, lane: Lane[str, None]) -> None:
        (taken,) = lane.take(1)
        if not self.crashed:
            raise RuntimeError("unexpected")
        taken.finished = True
        self.done.append(taken.record.offset)
        lane.settle()

    async def on_crash(self, lane: Lane[str, None], items: list[WorkItem], exc: Exception) -> None:
        self.crashed.append(([i.record.offset for i in items], type(exc).__name__))
        lane.requeue(items)


def supervisor(recorder: Recorder, run=None) -> LaneSupervisor[str, None]:
    return LaneSupervisor(
        run or recorder.run,
        new_state=lambda key: None,
        on_crash=recorder.on_crash,
        on_end=lambda lane: recorder.ended.append(lane.key),
    )


async def until(condition, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - a plain condition, polled with a deadline
            await asyncio.sleep(0.001)


class TestLaneSupervisor:
    async def test_a_key_runs_its_items_in_order_then_its_lane_ends(self):
        """One worker per key takes the items in order; the lane and its state go with the last."""
        recorder = Recorder()
        lanes = supervisor(recorder)
        for offset in range(3):
            lanes.push("k", TP, item(offset))
        recorder.gate.set()
        await until(lambda: recorder.ended == ["k"])
        assert ([0, 1, 2], 0, 0) == (recorder.done, len(lanes), lanes.queued)

    async def test_abandoning_drops_the_queue_and_wakes_the_waiting_worker(self):
        """A revoked lane stops at once: its wait ends and its queued items are dropped."""
        recorder = Recorder()
        lanes = supervisor(recorder)
        for offset in range(4):
            lanes.push("k", TP, item(offset))
        await until(lambda: lanes.queued == 3)
        dropped = await asyncio.wait_for(lanes.abandon([TP], timeout=60), 5)
        assert (3, [], ["k"]) == (dropped, recorder.done, recorder.ended)

    async def test_lanes_of_other_partitions_go_on(self):
        """Abandoning one partition leaves the lanes of the others alone."""
        recorder = Recorder()
        lanes = supervisor(recorder)
        lanes.push("a", TP, item(0))
        lanes.push("b", ("groups", 1), item(1))
        await lanes.abandon([TP], timeout=1)
        recorder.gate.set()
        await until(lambda: recorder.done == [1])
        assert sorted(recorder.ended) == ["a", "b"]

    async def test_a_failed_worker_hands_its_items_on_and_the_lane_goes_on(self):
        """An unexpected exception strands nothing: the items in hand go to on_crash."""
        recorder = Recorder()
        lanes = supervisor(recorder, run=recorder.crash_once)
        lanes.push("k", TP, item(0))
        lanes.push("k", TP, item(1))
        await until(lambda: recorder.ended == ["k"])
        assert ([([0], "RuntimeError")], [0, 1]) == (recorder.crashed, recorder.done)

    async def test_a_worker_failing_after_its_lane_was_abandoned_leaves_nothing_queued(self):
        """A call on the wire that fails once its partition is revoked re-queues nothing."""
        recorder = Recorder()

        async def fail_on_the_wire(lane: Lane[str, None]) -> None:
            lane.take(1)
            await recorder.gate.wait()  # on the wire: abandoning does not interrupt it
            raise RuntimeError("unreadable answer")

        lanes = supervisor(recorder, run=fail_on_the_wire)
        for offset in range(3):
            lanes.push("k", TP, item(offset))
        await until(lambda: lanes.queued == 2)
        abandoning = asyncio.ensure_future(lanes.abandon([TP], timeout=5))
        await until(lambda: lanes.queued == 0)
        recorder.gate.set()
        await asyncio.wait_for(abandoning, 5)
        assert ([([0], "RuntimeError")], ["k"], 0) == (
            recorder.crashed,
            recorder.ended,
            lanes.queued,
        )


class TestInterruptible:
    async def test_an_abandoned_lane_interrupts_a_pending_wait(self):
        """A budget wait (any awaitable) ends with LaneAbandonedError once the lane is abandoned."""
        lanes = supervisor(Recorder())
        lane = lanes.push("k", TP, item(0))
        never = asyncio.get_running_loop().create_future()

        async def wait_forever() -> None:
            await never

        waiting = asyncio.ensure_future(lane.interruptible(wait_forever()))
        await asyncio.sleep(0)
        lane.abandon()
        with pytest.raises(LaneAbandonedError):
            await asyncio.wait_for(waiting, 5)
        await lanes.abandon([TP], timeout=1)
