# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The partition ledger: which input partitions this replica holds, and where each one stands.

It is the one owner of per-partition state: the generation (bumped at every assignment), the
offsets read and finished, and whether the partition is being handed back. Every record read
gets a ``Ticket`` naming the generation it was read in; finishing a ticket of an older generation
changes nothing, so work that outlives a revocation can never move a new owner's watermark, and a
record of a partition not held (or being handed back) is refused before it touches any state.

It also keeps what the commit's offset map says (``service/domain/offset_map.py``). On assignment
the map an earlier owner committed is handed over (``resume``): a record it lists as done is
skipped as it is read (``Skipped``, finished at once so the watermark moves past it), and a record
it lists as doubtful is read with ``Ticket.doubtful`` so that its group checks the provider's
history before importing it. While the partition is held the ledger counts as doubtful every
unfinished record that a provider call carried (``handed``) and every doubtful one not cleared
(``clear_doubt``: its group's check is over), and gives the map to commit:

- ``offset_maps()`` while calls may still leave (the periodic commit): every unfinished record is
  doubtful, since after the commit any of them may be sent and the process killed;
- ``revoke()`` once the partition's work is drained (revocation, SIGTERM): no call of this owner
  leaves any more, so an unfinished record no call carried is ``NEW``; beyond the last record
  read, the fates the earlier owner's map gave are carried over (without a map: doubtful).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from service.domain.offset_map import Fate, MapBuilder, OffsetMap
from service.domain.offsets import OffsetTracker

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Ticket:
    """A record's claim on its partition: where it was read, and in which generation."""

    topic: str
    partition: int
    offset: int
    generation: int
    # an earlier owner of the partition may have handed the record to the provider
    doubtful: bool = True

    @property
    def tp(self) -> TopicPartition:
        """The partition the record was read from."""
        return (self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record an earlier owner finished (its offset map says so): finished here as it is read."""

    offset: int


class _Held:
    __slots__ = ("doubtful", "generation", "handed", "inherited", "releasing", "tracker")

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.tracker = OffsetTracker()
        self.releasing = False
        self.inherited: OffsetMap | None = None  # the map committed by the earlier owner
        self.doubtful: set[int] = set()  # unfinished, and the earlier owner may have sent them
        self.handed: set[int] = set()  # unfinished, and a call of this owner carried them

    def fate(self, offset: int) -> Fate:
        """What the earlier owner's map says of ``offset`` (no map: doubtful)."""
        return Fate.DOUBTFUL if self.inherited is None else self.inherited.fate(offset)

    def offset_map(self, *, drained: bool) -> OffsetMap | None:
        """The map to commit now (None before any read: there is nothing new to say)."""
        tracker = self.tracker
        mark, read_to = tracker.watermark, tracker.next_offset
        if mark is None or read_to is None:
            return None
        builder = MapBuilder(mark)
        if not drained:
            for offset in tracker.finished_above():
                builder.put(offset, Fate.DONE, gap=Fate.DOUBTFUL)
            for start, fate, length in self._inherited_from(read_to):
                if fate is Fate.DONE:
                    builder.put(start, Fate.DONE, gap=Fate.DOUBTFUL)
                    builder.extend(Fate.DONE, length - 1)
            return builder.build(Fate.DOUBTFUL)
        for offset, finished in tracker.read_above():
            if finished:
                builder.put(offset, Fate.DONE)
            else:
                sent = offset in self.handed or offset in self.doubtful
                builder.put(offset, Fate.DOUBTFUL if sent else Fate.NEW)
        for start, fate, length in self._inherited_from(builder.cursor):
            builder.put(start, fate)
            builder.extend(fate, length - 1)
        return builder.build(Fate.DOUBTFUL if self.inherited is None else self.inherited.tail)

    def _inherited_from(self, offset: int) -> list[tuple[int, Fate, int]]:
        inherited = self.inherited
        if inherited is None:
            return []
        runs = list(inherited.runs_from(offset))
        if offset < inherited.base:  # below its base everything was done
            runs.insert(0, (offset, Fate.DONE, inherited.base - offset))
        return runs


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

    def resume(self, tp: TopicPartition, generation: int, offset_map: OffsetMap | None) -> bool:
        """Take the map the earlier owner committed for ``tp`` (None: nothing is known).

        Only before the first record of the generation is read; False (nothing changes) when it
        comes too late, or for another generation.
        """
        held = self._held.get(tp)
        if held is None or held.generation != generation or held.tracker.next_offset is not None:
            return False
        held.inherited = offset_map
        return True

    def revoke(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, OffsetMap]:
        """Forget ``tps``; returns the map each may commit as it is handed over, drained."""
        maps: dict[TopicPartition, OffsetMap] = {}
        for tp in tps:
            held = self._held.pop(tp, None)
            if held is not None and (drained := held.offset_map(drained=True)) is not None:
                maps[tp] = drained
        return maps

    def held(self) -> list[TopicPartition]:
        """Every partition held now (releasing ones included), sorted."""
        return sorted(self._held)

    def generations(self) -> dict[TopicPartition, int]:
        """The current generation of each partition held and still read."""
        return {tp: held.generation for tp, held in self._held.items() if not held.releasing}

    # -------------------------------------------------------------- records

    def read(
        self, topic: str, partition: int, offset: int, generation: int
    ) -> Ticket | Skipped | None:
        """A ticket for a record read in ``generation``; None when it must be dropped unread.

        Dropped: its partition is not held, is being handed back, or was assigned again since
        (``generation`` is older); or the record was read before (delivered again). ``Skipped``:
        the earlier owner's map says it is done; it is finished already.
        """
        held = self._held.get((topic, partition))
        if held is None or held.releasing or held.generation != generation:
            return None
        if not held.tracker.read(offset):
            return None
        fate = held.fate(offset)
        if fate is Fate.DONE:
            held.tracker.finish(offset)
            return Skipped(offset)
        doubtful = fate is Fate.DOUBTFUL
        if doubtful:
            held.doubtful.add(offset)
        return Ticket(topic, partition, offset, generation, doubtful=doubtful)

    def handed(self, tickets: Iterable[Ticket]) -> None:
        """A provider call carrying these records is leaving: until finished, they are doubtful."""
        for ticket in tickets:
            held = self._held.get(ticket.tp)
            if (
                held is not None
                and held.generation == ticket.generation
                and held.tracker.is_unfinished(ticket.offset)
            ):
                held.handed.add(ticket.offset)

    def clear_doubt(self, tickets: Iterable[Ticket]) -> None:
        """No earlier owner sent these records after all; calls of this owner still count.

        Their group's history check is over, or the group did not exist before this process
        created it.
        """
        for ticket in tickets:
            held = self._held.get(ticket.tp)
            if held is not None and held.generation == ticket.generation:
                held.doubtful.discard(ticket.offset)

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
        held.doubtful.discard(ticket.offset)
        held.handed.discard(ticket.offset)
        return True

    # ------------------------------------------------------------- figures

    def committable(self) -> dict[TopicPartition, int]:
        """The offset each held partition may commit now."""
        return {
            tp: mark
            for tp, held in self._held.items()
            if (mark := held.tracker.watermark) is not None
        }

    def offset_maps(self) -> dict[TopicPartition, OffsetMap]:
        """The map each held partition may commit now, while calls may still leave."""
        return {
            tp: offset_map
            for tp, held in self._held.items()
            if (offset_map := held.offset_map(drained=False)) is not None
        }

    def unfinished(self, tp: TopicPartition | None = None) -> int:
        """Records read and not finished (of every partition held, or of one)."""
        if tp is not None:
            held = self._held.get(tp)
            return 0 if held is None else held.tracker.unfinished
        return sum(held.tracker.unfinished for held in self._held.values())

    def read_to(self) -> dict[TopicPartition, int]:
        """The offset after the last record read, per partition held that has read one."""
        return {
            tp: next_offset
            for tp, held in self._held.items()
            if (next_offset := held.tracker.next_offset) is not None
        }

    def unfinished_by_partition(self) -> Mapping[TopicPartition, int]:
        """Records read and not finished, per partition held."""
        return {tp: held.tracker.unfinished for tp, held in self._held.items()}
