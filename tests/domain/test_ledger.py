# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from hypothesis import given
from hypothesis import strategies as st

from service.domain.ledger import PartitionLedger, Skipped, Ticket
from service.domain.offset_map import Fate, OffsetMap

TP = ("messages", 3)


def holding(*tps: tuple[str, int]) -> PartitionLedger:
    ledger = PartitionLedger()
    ledger.assign(tps)
    return ledger


class TestOwnership:
    def test_a_record_of_a_partition_not_held_gets_no_ticket(self):
        """Records of partitions this replica does not hold are dropped before any state."""
        ledger = holding(TP)
        assert (None, {TP: 0}) == (ledger.read("messages", 4, 0, 1), {TP: ledger.unfinished(TP)})

    def test_every_assignment_starts_a_new_generation(self):
        """Revoked and assigned again, a partition's generation moves on."""
        ledger = holding(TP)
        first = ledger.generations()[TP]
        ledger.revoke([TP])
        ledger.assign([TP])
        assert first + 1 == ledger.generations()[TP]

    def test_assigning_a_partition_held_already_keeps_its_generation_and_offsets(self):
        """A repeated assignment of a partition held does not reset what it tracks."""
        ledger = holding(TP)
        assert ledger.read(*TP, 7, 1) is not None
        ledger.assign([TP])
        assert ({TP: 1}, {TP: 7}) == (ledger.generations(), ledger.committable())

    def test_a_partition_being_released_accepts_no_record_but_still_finishes(self):
        """While handed back, new records are refused; work already read still finishes."""
        ledger = holding(TP)
        ticket = ledger.read(*TP, 0, 1)
        assert isinstance(ticket, Ticket)
        ledger.release([TP])
        assert None is ledger.read(*TP, 1, 1)
        assert ledger.finish(ticket)
        assert {TP: 1} == {tp: m.base for tp, m in ledger.revoke([TP]).items()}


class TestStaleWork:
    def test_a_ticket_of_an_older_generation_changes_nothing(self):
        """Work that outlived a revocation cannot move the new owner's watermark."""
        ledger = holding(TP)
        old = ledger.read(*TP, 5, 1)
        assert old is not None
        ledger.revoke([TP])
        ledger.assign([TP])
        new = ledger.read(*TP, 5, 2)
        assert isinstance(old, Ticket)
        assert isinstance(new, Ticket)
        assert (False, False, True) == (
            ledger.finish(old),
            ledger.is_current(old),
            ledger.is_current(new),
        )
        assert {TP: 5} == ledger.committable()

    def test_a_record_read_in_an_older_generation_is_refused(self):
        """A batch taken before a re-assignment adds nothing to the new generation."""
        ledger = holding(TP)
        ledger.revoke([TP])
        ledger.assign([TP])
        assert (None, 0) == (ledger.read(*TP, 9, 1), ledger.unfinished())

    @given(
        st.lists(
            st.tuples(st.sampled_from(["read", "finish", "revoke", "assign"]), st.integers(0, 30)),
            max_size=80,
        )
    )
    def test_the_watermark_never_passes_a_record_of_its_generation_unfinished(self, steps):
        """For any interleaving of reads, finishes (stale ones too) and rebalances."""
        ledger = holding(TP)
        tickets: list[Ticket] = []
        next_offset = 0
        for action, number in steps:
            if action == "read":
                generation = ledger.generations().get(TP, -1)
                ticket = ledger.read(*TP, next_offset, generation)
                next_offset += 1 + number % 3
                if isinstance(ticket, Ticket):
                    tickets.append(ticket)
            elif action == "finish" and tickets:
                ledger.finish(tickets.pop(number % len(tickets)))
            elif action == "revoke":
                ledger.revoke([TP])
            else:
                ledger.assign([TP])
            mark = ledger.committable().get(TP)
            current = [t.offset for t in tickets if ledger.is_current(t)]
            if mark is not None and current:
                assert mark <= min(current)


def read(ledger: PartitionLedger, offset: int) -> Ticket:
    ticket = ledger.read(*TP, offset, ledger.generations()[TP])
    assert isinstance(ticket, Ticket)
    return ticket


def fates(offset_map: OffsetMap, start: int, stop: int) -> str:
    """Fates as letters: D done, ? doubtful, N new."""
    letters = {Fate.DONE: "D", Fate.DOUBTFUL: "?", Fate.NEW: "N"}
    return "".join(letters[offset_map.fate(o)] for o in range(start, stop))


class TestResume:
    def test_records_the_earlier_owner_finished_are_skipped_and_finished_at_once(self):
        """The map's done records never reach work; the watermark moves past them."""
        ledger = holding(TP)
        ledger.resume(TP, 1, OffsetMap.of(10, [(Fate.NEW, 1), (Fate.DONE, 3)], Fate.NEW))
        first = read(ledger, 10)
        skipped = [ledger.read(*TP, offset, 1) for offset in (11, 12, 13)]
        assert [Skipped(11), Skipped(12), Skipped(13)] == skipped
        assert ({TP: 10}, 1) == (ledger.committable(), ledger.unfinished(TP))
        ledger.finish(first)
        assert {TP: 14} == ledger.committable()

    def test_a_ticket_says_whether_an_earlier_owner_may_have_sent_the_record(self):
        """Doubtful per the map (or with no map at all); new when no call ever carried it."""
        ledger = holding(TP, ("groups", 3))
        ledger.resume(TP, 1, OffsetMap.of(0, [(Fate.DOUBTFUL, 1), (Fate.NEW, 1)], Fate.DOUBTFUL))
        doubts = [read(ledger, offset).doubtful for offset in range(3)]
        unmapped = ledger.read("groups", 3, 0, 1)
        assert isinstance(unmapped, Ticket)
        assert ([True, False, True], True) == (doubts, unmapped.doubtful)

    def test_a_map_comes_too_late_once_a_record_was_read(self):
        """Records already read were judged without it: it is refused, nothing changes."""
        ledger = holding(TP)
        read(ledger, 0)
        assert not ledger.resume(TP, 1, OffsetMap.of(0, [(Fate.DONE, 5)], Fate.NEW))
        assert not ledger.resume(("other", 0), 1, None)

    def test_a_map_for_another_generation_is_refused(self):
        """Fetched before a rebalance, it belongs to an assignment that is over."""
        ledger = holding(TP)
        ledger.revoke([TP])
        ledger.assign([TP])
        assert not ledger.resume(TP, 1, OffsetMap.unknown(0))
        assert ledger.resume(TP, 2, OffsetMap.unknown(0))


class TestMaps:
    def test_while_calls_may_leave_every_unfinished_record_is_doubtful(self):
        """The periodic map: done records listed, everything else doubtful, tail too."""
        ledger = holding(TP)
        tickets = [read(ledger, offset) for offset in range(6)]
        for n in (1, 2, 4):
            ledger.finish(tickets[n])
        offset_map = ledger.offset_maps()[TP]
        assert (0, "?DD?D???") == (offset_map.base, fates(offset_map, 0, 8))

    def test_drained_a_record_no_call_carried_is_new(self):
        """After the drain: finished D, carried by a call ?, never sent N; beyond: the tail."""
        ledger = holding(TP)
        ledger.resume(TP, 1, OffsetMap.of(0, (), Fate.NEW))
        tickets = [read(ledger, offset) for offset in range(6)]
        ledger.handed([tickets[0], tickets[1], tickets[3]])
        ledger.finish(tickets[1])
        ledger.finish(tickets[2])
        offset_map = ledger.revoke([TP])[TP]
        assert (0, "?DD?NNNN") == (offset_map.base, fates(offset_map, 0, 8))

    def test_drained_without_a_map_the_unread_rest_stays_doubtful(self):
        """Nobody said what happened before: what is unfinished stays doubtful, as before."""
        ledger = holding(TP)
        ticket = read(ledger, 0)
        read(ledger, 1)
        ledger.finish(ticket)
        assert "????" == fates(ledger.revoke([TP])[TP], 1, 5)

    def test_what_the_earlier_owner_said_beyond_the_records_read_is_carried_over(self):
        """A short-lived owner hands on the earlier map for the records it never read."""
        ledger = holding(TP)
        earlier = OffsetMap.of(0, [(Fate.NEW, 3), (Fate.DONE, 2), (Fate.DOUBTFUL, 1)], Fate.NEW)
        ledger.resume(TP, 1, earlier)
        ledger.finish(read(ledger, 0))
        read(ledger, 1)
        drained = ledger.revoke([TP])[TP]
        assert (1, "NNDD?NN") == (drained.base, fates(drained, 1, 8))

    def test_a_periodic_map_keeps_the_earlier_done_records_but_doubts_the_rest(self):
        """Calls may still leave: the earlier NEW becomes doubtful, DONE stays done."""
        ledger = holding(TP)
        ledger.resume(TP, 1, OffsetMap.of(0, [(Fate.NEW, 2), (Fate.DONE, 2)], Fate.NEW))
        read(ledger, 0)
        assert "??DD??" == fates(ledger.offset_maps()[TP], 0, 6)

    def test_cleared_doubt_makes_an_unsent_record_new_but_not_a_sent_one(self):
        """Its group's check said no earlier owner sent it; a call of this owner still counts."""
        ledger = holding(TP)
        tickets = [read(ledger, offset) for offset in range(3)]
        ledger.handed([tickets[1]])
        ledger.clear_doubt(tickets)
        assert "N?N" == fates(ledger.revoke([TP])[TP], 0, 3)

    def test_a_handed_ticket_of_a_finished_or_stale_record_changes_nothing(self):
        """Late marks do not bring doubt back."""
        ledger = holding(TP)
        ledger.resume(TP, 1, OffsetMap.of(0, (), Fate.NEW))
        ticket = read(ledger, 0)
        read(ledger, 1)
        ledger.finish(ticket)
        ledger.handed([ticket, Ticket(*TP, 1, generation=7)])
        assert "DN" == fates(ledger.revoke([TP])[TP], 0, 2)

    @given(
        st.lists(
            st.tuples(st.sampled_from(["read", "finish", "hand"]), st.integers(0, 30)),
            max_size=60,
        ),
        st.lists(st.sampled_from(list(Fate)), max_size=40),
        st.sampled_from([Fate.DOUBTFUL, Fate.NEW]),
        st.booleans(),
    )
    def test_a_map_never_skips_an_unfinished_record_nor_calls_a_sent_one_new(
        self, steps, earlier_fates, earlier_tail, drained
    ):
        """Soundness, for any run: DONE only when finished, NEW only when never carried.

        Finished here or by the earlier owner; no call of this owner or the earlier one can have
        carried a record called NEW.
        """
        ledger = holding(TP)
        earlier = OffsetMap.of(0, [(fate, 1) for fate in earlier_fates], earlier_tail)
        ledger.resume(TP, 1, earlier)
        open_tickets: list[Ticket] = []
        finished: set[int] = set()
        sent: set[int] = set()
        next_offset = 0
        records: set[int] = set()  # offsets skipped between reads hold no record
        for action, number in steps:
            if action == "read":
                got = ledger.read(*TP, next_offset, 1)
                records.add(next_offset)
                next_offset += 1 + number % 2
                if isinstance(got, Ticket):
                    open_tickets.append(got)
            elif action == "hand" and open_tickets:
                ticket = open_tickets[number % len(open_tickets)]
                ledger.handed([ticket])
                sent.add(ticket.offset)
            elif action == "finish" and open_tickets:
                ticket = open_tickets.pop(number % len(open_tickets))
                ledger.finish(ticket)
                finished.add(ticket.offset)
        maps = ledger.revoke([TP]) if drained else ledger.offset_maps()
        if TP not in maps:
            return
        offset_map = maps[TP]
        for offset in sorted(records) + list(range(next_offset, next_offset + 45)):
            fate = offset_map.fate(offset)
            was_done = offset in finished or earlier.fate(offset) is Fate.DONE
            if fate is Fate.DONE:
                assert was_done, offset
            if fate is Fate.NEW:
                assert drained, offset
                assert offset not in sent, offset
                assert earlier.fate(offset) is Fate.NEW, offset
