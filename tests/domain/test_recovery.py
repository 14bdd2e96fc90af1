# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from service.domain.recovery import Candidate, HistoryEntry, HistoryIndex, Verdict


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
