# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from hypothesis import given
from hypothesis import strategies as st

from service.domain.ledger import PartitionLedger

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
        assert ticket is not None
        ledger.release([TP])
        assert None is ledger.read(*TP, 1, 1)
        assert ledger.finish(ticket)
        assert {TP: 1} == ledger.revoke([TP])


class TestStaleWork:
    def test_a_ticket_of_an_older_generation_changes_nothing(self):
        """Work that outlived a revocation cannot move the new owner's watermark."""
        ledger = holding(TP)
        old = ledger.read(*TP, 5, 1)
        assert old is not None
        ledger.revoke([TP])
        ledger.assign([TP])
        new = ledger.read(*TP, 5, 2)
        assert new is not None
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
        tickets = []
        next_offset = 0
        for action, number in steps:
            if action == "read":
                generation = ledger.generations().get(TP, -1)
                ticket = ledger.read(*TP, next_offset, generation)
                next_offset += 1 + number % 3
                if ticket is not None:
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
