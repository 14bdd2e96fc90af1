# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Finding messages already at the provider, so a resend after a crash imports nothing twice.

After a restart (or a timeout that may have been applied) the service pulls a group's recent
history, newest first, and matches each pending message by sender, send time and Random. A match
is reported with the provider's real MsgSeq (``detected_by: recovered``); the first message that
cannot be at the provider ends recovery, since a group's messages are imported in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One message pulled back from the provider."""

    sender: str
    send_time: int
    random: int
    msg_seq: int
    msg_time: int
    # IsPlaceMsg: 0 a message; 1 deleted, expired or not stored; 2 recalled (body empty)
    placeholder: int = 0
    # IsSystemMsg 1: a message the provider wrote itself, never one of ours
    system: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    """A pending message, by the fields the provider keeps."""

    sender: str
    send_time: int
    random: int


class Verdict(StrEnum):
    """What the history says about a pending message."""

    PRESENT = "present"
    ABSENT = "absent"
    NEED_OLDER = "need_older"


@dataclass(slots=True)
class HistoryIndex:
    """The part of a group's history fetched so far (pages newest first)."""

    entries: dict[tuple[str, int, int], HistoryEntry] = field(default_factory=dict)
    newest_time: int | None = None
    oldest_time: int | None = None
    oldest_seq: int | None = None
    finished: bool = False
    pages: int = 0

    def add_page(self, page: Iterable[HistoryEntry], *, finished: bool) -> None:
        """Add one page; ``finished`` when the provider has nothing older."""
        self.pages += 1
        count = 0
        for entry in page:
            count += 1
            self.entries.setdefault((entry.sender, entry.send_time, entry.random), entry)
            if self.newest_time is None or entry.msg_time > self.newest_time:
                self.newest_time = entry.msg_time
            if self.oldest_time is None or entry.msg_time < self.oldest_time:
                self.oldest_time = entry.msg_time
            if self.oldest_seq is None or entry.msg_seq < self.oldest_seq:
                self.oldest_seq = entry.msg_seq
        if count == 0 or finished or (self.oldest_seq is not None and self.oldest_seq <= 1):
            self.finished = True

    def judge(self, candidate: Candidate) -> tuple[Verdict, HistoryEntry | None]:
        """Say whether ``candidate`` is at the provider, absent, or needs an older page."""
        found = self.entries.get((candidate.sender, candidate.send_time, candidate.random))
        if found is not None:
            return Verdict.PRESENT, found
        if self.newest_time is None or candidate.send_time > self.newest_time:
            return Verdict.ABSENT, None
        if self.finished or (
            self.oldest_time is not None and self.oldest_time < candidate.send_time
        ):
            return Verdict.ABSENT, None
        return Verdict.NEED_OLDER, None
