# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The partition ledger: which input partitions this replica holds, and where each one stands.

It is the one owner of per-partition state: the generation (bumped at every assignment), the
offsets read and finished, and whether the partition is being handed back. Every record read
gets a ``Ticket`` naming the generation it was read in; finishing a ticket of an older generation
changes nothing, so work that outlives a revocation can never move a new owner's watermark, and a
record of a partition not held (or being handed back) is refused before it touches any state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from service.domain.offsets import OffsetTracker

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Ticket:
    """A record's claim on its partition: where it was read, and in which generation."""

    topic: str
    partition: int
    offset: int
    generation: int

    @property
    def tp(self) -> TopicPartition:
        """The partition the record was read from."""
        return (self.topic, self.partition)


class _Held:
    __slots__ = ("generation", "releasing", "tracker")

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.tracker = OffsetTracker()
        self.releasing = False


class PartitionLedger:
    """Held partitions, their generations and their offset watermarks."""

    __slots__ = ("_generations", "_held")

    def __init__(self) -> None:
        self._held: dict[TopicPartition, _Held] = {}
        self._generations: dict[TopicPartition, int] = {}

    def __repr__(self) -> str:
        return f"PartitionLedger(held={sorted(self._held)})"

    # ------------------------------------------------------------ ownership

    def assign(self, tps: Iterable[TopicPartition]) -> None:
        """Start holding ``tps`` (each in a new generation; ones already held stay as they are)."""
        for tp in tps:
            if tp in self._held:
                continue
            generation = self._generations.get(tp, 0) + 1
            self._generations[tp] = generation
            self._held[tp] = _Held(generation)

    def release(self, tps: Iterable[TopicPartition]) -> None:
        """Stop reading ``tps``: no record of theirs is accepted now; finishing still counts."""
        for tp in tps:
            held = self._held.get(tp)
            if held is not None:
                held.releasing = True

    def revoke(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """Forget ``tps``; returns the offset each may commit as it is handed over."""
        marks: dict[TopicPartition, int] = {}
        for tp in tps:
            held = self._held.pop(tp, None)
            if held is not None and (mark := held.tracker.watermark) is not None:
                marks[tp] = mark
        return marks

    def held(self) -> list[TopicPartition]:
        """Every partition held now (releasing ones included), sorted."""
        return sorted(self._held)

    def generations(self) -> dict[TopicPartition, int]:
        """The current generation of each partition held and still read."""
        return {tp: held.generation for tp, held in self._held.items() if not held.releasing}

    # -------------------------------------------------------------- records

    def read(self, topic: str, partition: int, offset: int, generation: int) -> Ticket | None:
        """A ticket for a record read in ``generation``; None when it must be dropped unread.

        Dropped: its partition is not held, is being handed back, or was assigned again since
        (``generation`` is older); or the record was read before (delivered again).
        """
        held = self._held.get((topic, partition))
        if held is None or held.releasing or held.generation != generation:
            return None
        if not held.tracker.read(offset):
            return None
        return Ticket(topic, partition, offset, generation)

    def is_current(self, ticket: Ticket) -> bool:
        """True while the ticket's partition is held in the ticket's generation."""
        held = self._held.get(ticket.tp)
        return held is not None and held.generation == ticket.generation

    def finish(self, ticket: Ticket) -> bool:
        """Mark the ticket's record finished; False (nothing changes) for a stale ticket."""
        held = self._held.get(ticket.tp)
        if held is None or held.generation != ticket.generation:
            return False
        held.tracker.finish(ticket.offset)
        return True

    # ------------------------------------------------------------- figures

    def committable(self) -> dict[TopicPartition, int]:
        """The offset each held partition may commit now."""
        return {
            tp: mark
            for tp, held in self._held.items()
            if (mark := held.tracker.watermark) is not None
        }

    def unfinished(self, tp: TopicPartition | None = None) -> int:
        """Records read and not finished (of every partition held, or of one)."""
        if tp is not None:
            held = self._held.get(tp)
            return 0 if held is None else held.tracker.unfinished
        return sum(held.tracker.unfinished for held in self._held.values())

    def unfinished_by_partition(self) -> Mapping[TopicPartition, int]:
        """Records read and not finished, per partition held."""
        return {tp: held.tracker.unfinished for tp, held in self._held.items()}
