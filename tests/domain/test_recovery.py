# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.recovery import (
    Candidate,
    HistoryEntry,
    HistoryIndex,
    Matching,
    Verdict,
    match_pending,
)

P = Verdict.PRESENT
A = Verdict.ABSENT


def entry(seq: int, time: int, random: int = 0, sender: str = "a") -> HistoryEntry:
    return HistoryEntry(sender=sender, send_time=time, random=random, msg_seq=seq, msg_time=time)


class TestHistoryIndex:
    def test_message_in_history_is_present_with_its_seq(self):
        """A pending message matching sender, time and Random is at the provider."""
        index = HistoryIndex()
        index.add_page([entry(3, 300, 7), entry(2, 200, 6)], finished=False)
        verdict, found = index.judge(Candidate("a", 300, 7))
        assert (Verdict.PRESENT, 3) == (verdict, found.msg_seq if found else None)

    def test_message_newer_than_history_is_absent(self):
        """A message later than the group's newest message cannot have been imported."""
        index = HistoryIndex()
        index.add_page([entry(3, 300)], finished=False)
        assert Verdict.ABSENT == index.judge(Candidate("a", 301, 1))[0]

    def test_same_second_but_other_random_is_absent(self):
        """Messages of the same second are told apart by Random."""
        index = HistoryIndex()
        index.add_page([entry(3, 300, 7), entry(2, 290, 1)], finished=False)
        assert Verdict.ABSENT == index.judge(Candidate("a", 300, 8))[0]

    def test_older_than_the_fetched_page_needs_an_older_page(self):
        """A message older than everything fetched asks for the previous page."""
        index = HistoryIndex()
        index.add_page([entry(30, 300), entry(29, 299)], finished=False)
        assert Verdict.NEED_OLDER == index.judge(Candidate("a", 100, 1))[0]

    def test_empty_group_has_nothing(self):
        """A group with no messages holds none of ours."""
        index = HistoryIndex()
        index.add_page([], finished=True)
        assert Verdict.ABSENT == index.judge(Candidate("a", 1, 1))[0]

    def test_reaching_seq_one_finishes(self):
        """Once seq 1 is fetched there is nothing older."""
        index = HistoryIndex()
        index.add_page([entry(1, 100)], finished=False)
        assert (True, Verdict.ABSENT) == (index.finished, index.judge(Candidate("a", 50, 1))[0])


def place(seq: int, time: int, random: int = 0, kind: int = 1) -> HistoryEntry:
    return HistoryEntry("a", time, random, seq, time, placeholder=kind)


def read(*pages: list[HistoryEntry], finished: bool = True) -> HistoryIndex:
    index = HistoryIndex()
    for number, page in enumerate(pages, start=1):
        index.add_page(page, finished=finished and number == len(pages))
    return index


class TestPlaceholders:
    @pytest.mark.parametrize("kind", [1, 2])
    def test_a_placeholder_is_not_present(self, kind):
        """IsPlaceMsg 1 (deleted, expired, not stored) or 2 (recalled) does not hold the message."""
        index = read([entry(3, 300, 8), place(2, 200, 7, kind), entry(1, 100, 6)])
        assert Verdict.ABSENT == index.judge(Candidate("a", 200, 7))[0]

    def test_a_system_message_is_not_present(self):
        """A provider notice never is one of ours, even with the same sender, time and Random."""
        index = read([HistoryEntry("a", 200, 7, 2, 200, system=True), entry(1, 100, 6)])
        assert Verdict.ABSENT == index.judge(Candidate("a", 200, 7))[0]

    def test_a_page_of_placeholders_needs_an_older_page(self):
        """Placeholders say nothing about time: a page of them alone cannot rule a message out."""
        index = read([place(40, 400), place(39, 390)], finished=False)
        assert Verdict.NEED_OLDER == index.judge(Candidate("a", 100, 1))[0]


def verdicts(matching: Matching) -> list[tuple[Verdict, int | None]]:
    return [(m.verdict, m.entry.msg_seq if m.entry else None) for m in matching.matches]


class TestMatchPending:
    def test_a_refused_batch_mate_leaves_a_hole_that_recovery_steps_over(self):
        """The middle message was refused on its own (80001): the ones after it are still present."""
        index = read([entry(12, 300, 3), entry(11, 300, 1), entry(10, 290, 9)])
        matching = match_pending(
            [Candidate("a", 300, 1), Candidate("a", 300, 2), Candidate("a", 300, 3)], index
        )
        assert ([(P, 11), (A, None), (P, 12)], [1], False) == (
            verdicts(matching),
            matching.holes,
            matching.need_older,
        )

    def test_two_identical_candidates_never_share_one_entry(self):
        """Only the first of two identical messages reached the provider: only it is present."""
        index = read([entry(5, 300, 7), entry(4, 290, 1)])
        matching = match_pending([Candidate("a", 300, 7), Candidate("a", 300, 7)], index)
        assert [(P, 5), (A, None)] == verdicts(matching)

    def test_two_identical_candidates_take_two_entries_in_order(self):
        """Both reached it: each gets its own entry, the earlier candidate the lower seq."""
        index = read([entry(6, 300, 7), entry(5, 300, 7), entry(4, 290, 1)])
        matching = match_pending([Candidate("a", 300, 7), Candidate("a", 300, 7)], index)
        assert [(P, 5), (P, 6)] == verdicts(matching)

    def test_a_placeholder_is_never_matched(self):
        """A deleted or recalled copy is not stored: the candidate is absent."""
        index = read([place(5, 300, 7, kind=2), entry(4, 290, 1)])
        assert [(A, None)] == verdicts(match_pending([Candidate("a", 300, 7)], index))

    def test_older_pages_are_needed_while_the_history_read_is_not_older_than_the_oldest_pending(
        self,
    ):
        """No page limit: sixty pages at the pending message's second still ask for the next one."""
        index = HistoryIndex()
        for page in range(60):
            index.add_page([entry(10_000 - page, 300, page)], finished=False)
        assert (True, ()) == (
            match_pending([Candidate("a", 300, 99_999)], index).need_older,
            match_pending([Candidate("a", 300, 99_999)], index).matches,
        )

    def test_history_older_than_the_oldest_pending_message_is_enough(self):
        """Once an entry older than the oldest pending message is read, nothing older can match."""
        index = read([entry(9, 310, 1), entry(8, 299, 2)], finished=False)
        matching = match_pending([Candidate("a", 300, 5), Candidate("a", 310, 1)], index)
        assert (False, [(A, None), (P, 9)]) == (matching.need_older, verdicts(matching))

    def test_nothing_read_yet_needs_the_newest_page(self):
        """Before any page, the answer is: read one."""
        assert match_pending([Candidate("a", 1, 1)], HistoryIndex()).need_older

    def test_a_page_that_goes_no_further_back_ends_the_history(self):
        """A page repeating seqs already read (a provider paging bug) ends reading instead of looping."""
        index = read([entry(9, 300, 1)], finished=False)
        index.add_page([entry(9, 300, 1)], finished=False)
        assert (True, False) == (
            index.finished,
            match_pending([Candidate("a", 1, 1)], index).need_older,
        )

    def test_an_entry_read_twice_still_accounts_for_one_message(self):
        """A page repeated by the provider adds nothing: two twins cannot share one entry."""
        index = read([entry(5, 300, 7)], finished=False)
        index.add_page([entry(5, 300, 7)], finished=False)
        matching = match_pending([Candidate("a", 300, 7), Candidate("a", 300, 7)], index)
        assert [(P, 5), (A, None)] == verdicts(matching)

    def test_entries_up_to_the_seq_already_accounted_for_are_not_matched_again(self):
        """The first twin was matched in an earlier batch (seq 5): the second is absent."""
        index = read([entry(5, 300, 7), entry(4, 290, 1)])
        matching = match_pending([Candidate("a", 300, 7)], index, after_seq=5)
        assert [(A, None)] == verdicts(matching)


class TestHoldsAny:
    def test_a_key_stored_after_the_seq_is_held(self):
        """A message queued behind the batch is stored after the last one found: True."""
        index = read([entry(7, 320, 3), entry(6, 310, 2), entry(5, 300, 1)])
        assert (True, False) == (
            index.holds_any([("a", 320, 3)], after_seq=6),
            index.holds_any([("a", 320, 3)], after_seq=7),
        )

    def test_a_placeholder_or_another_key_is_not_held(self):
        """Only stored entries with one of the keys count."""
        index = read([place(7, 320, 3), entry(6, 310, 2)])
        assert (False, False) == (
            index.holds_any([("a", 320, 3)], after_seq=None),
            index.holds_any([("b", 310, 2)], after_seq=None),
        )


keys = st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 3), st.integers(0, 2))


def shifted(key: tuple[str, int, int], base: int) -> tuple[str, int, int]:
    return (key[0], base + key[1], key[2])


def read_until_enough(
    candidates: list[Candidate], newest_first: list[HistoryEntry], page_size: int
) -> Matching:
    """Feed pages of the history the way the engine does, until the matching needs no more."""
    index = HistoryIndex()
    while (matching := match_pending(candidates, index)).need_older:
        start = index.pages * page_size
        index.add_page(
            newest_first[start : start + page_size],
            finished=start + page_size >= len(newest_first),
        )
    return matching


class TestMatchPendingProperties:
    @given(
        committed=st.lists(keys, max_size=6),
        pending=st.lists(st.tuples(keys, st.booleans()), min_size=1, max_size=9),
        later=st.lists(keys, max_size=4),
        page_size=st.integers(1, 5),
        deleted=st.sets(st.integers(1, 20)),
    )
    def test_matching_never_claims_what_is_not_stored(
        self, committed, pending, later, page_size, deleted
    ):
        """Each entry used once, only stored ones with the same key, in ascending seq; exact when keys are unique.

        A group's history: committed messages (seconds 0-3), then the pending ones that arrived
        (seconds 10-13, the others were refused), then later ones (seconds 20-23); some deleted.
        """
        batch = sorted(
            ((shifted(key, 10), arrived) for key, arrived in pending), key=lambda p: p[0][1]
        )
        stored = (
            sorted((shifted(key, 0) for key in committed), key=lambda k: k[1])
            + [key for key, arrived in batch if arrived]
            + sorted((shifted(key, 20) for key in later), key=lambda k: k[1])
        )
        entries = [
            HistoryEntry(s, t, r, seq, t, placeholder=int(seq in deleted))
            for seq, (s, t, r) in enumerate(stored, start=1)
        ]
        candidates = [Candidate(*key) for key, _ in batch]

        matching = read_until_enough(candidates, entries[::-1], page_size)

        used = [(c, m.entry) for c, m in zip(candidates, matching.matches, strict=True) if m.entry]
        seqs = [entry.msg_seq for _, entry in used]
        assert (True, True, True, True) == (
            len(seqs) == len(set(seqs)),
            seqs == sorted(seqs),
            all(not entry.placeholder for _, entry in used),
            all(c.key == entry.key for c, entry in used),
        )
        every_key = stored + [key for key, arrived in batch if not arrived]
        if len(set(every_key)) == len(every_key):
            gone = {e.key for e in entries if e.placeholder}
            truth = [arrived and key not in gone for key, arrived in batch]
            assert truth == [m.verdict is Verdict.PRESENT for m in matching.matches]
