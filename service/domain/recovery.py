# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Finding messages already at the provider, so a resend after a crash imports nothing twice.

After a restart (or a timeout that may have been applied) the service pulls a group's recent
history, newest first, and matches pending messages by sender, send time and Random (ZIM: a
fingerprint in place of Random). A match is reported with the provider's real MsgSeq
(``detected_by: recovered``).

``match_pending`` judges all pending messages of a group at once:

- **In order, as a multiset.** A group's messages are imported in order, so the pending
  messages found form a subsequence of the history in ascending seq: the most that can be
  matched that way is matched, each entry at most once (two identical pending messages need two
  entries), the earlier pending messages first and the newest entries first among equals.
- **Holes are stepped over.** A message refused on its own by the provider (80001, 80002,
  10004 in a call's per-message results, or a whole call refused for it) is absent while
  later messages are present; recovery goes on past it (``Matching.holes``, and
  ``HistoryIndex.holds_any`` for the messages queued behind a batch) and does not send it again.
- **Only what is stored.** Placeholders (``IsPlaceMsg`` 1: deleted, expired or not stored; 2:
  recalled) and system messages never match: nothing is reported present that is not stored.
- **Bounded by time, not by pages.** Pages are read until the history read reaches a message
  older than the oldest pending one (or its beginning): nothing older can be a pending message,
  since messages go in by ascending send time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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

    @property
    def stored(self) -> bool:
        """True for a real message (not a placeholder, not a system message)."""
        return not self.placeholder and not self.system

    @property
    def key(self) -> tuple[str, int, int]:
        """What a pending message is recognised by."""
        return (self.sender, self.send_time, self.random)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A pending message, by the fields the provider keeps."""

    sender: str
    send_time: int
    random: int

    @property
    def key(self) -> tuple[str, int, int]:
        """What the history entry of this message would be recognised by."""
        return (self.sender, self.send_time, self.random)


class Verdict(StrEnum):
    """What the history says about a pending message."""

    PRESENT = "present"
    ABSENT = "absent"
    NEED_OLDER = "need_older"


@dataclass(slots=True)
class HistoryIndex:
    """The part of a group's history fetched so far (pages newest first).

    ``entries``, ``by_key`` and the times cover stored messages only; ``oldest_seq`` covers every
    entry (placeholders included), since the next page is asked for below it.
    """

    entries: dict[tuple[str, int, int], HistoryEntry] = field(default_factory=dict)
    # every stored entry read, by key, newest first: what matching looks up
    by_key: dict[tuple[str, int, int], list[HistoryEntry]] = field(default_factory=dict)
    newest_time: int | None = None
    oldest_time: int | None = None
    oldest_seq: int | None = None
    finished: bool = False
    pages: int = 0

    def add_page(self, page: Iterable[HistoryEntry], *, finished: bool) -> None:
        """Add one page; ``finished`` when the provider has nothing older.

        An empty page, seq 1, or a page that reaches no lower seq than the ones before it (a
        provider that keeps answering the same page) also ends the history.
        """
        self.pages += 1
        before = self.oldest_seq
        count = 0
        for entry in page:
            count += 1
            if before is not None and entry.msg_seq >= before:
                continue  # read before: a page overlapping the previous one
            if self.oldest_seq is None or entry.msg_seq < self.oldest_seq:
                self.oldest_seq = entry.msg_seq
            if not entry.stored:
                continue
            self.by_key.setdefault(entry.key, []).append(entry)
            self.entries.setdefault(entry.key, entry)
            if self.newest_time is None or entry.msg_time > self.newest_time:
                self.newest_time = entry.msg_time
            if self.oldest_time is None or entry.msg_time < self.oldest_time:
                self.oldest_time = entry.msg_time
        no_progress = before is not None and self.oldest_seq == before
        if count == 0 or finished or no_progress or (self.oldest_seq or 0) == 1:
            self.finished = True

    def holds_any(self, keys: Iterable[tuple[str, int, int]], *, after_seq: int | None) -> bool:
        """True when a stored entry after ``after_seq`` has one of ``keys``.

        Asked with the keys of the messages queued behind a batch: one of them at the provider
        means the batch's messages not found were refused alone before (holes), not unsent.
        """
        floor = 0 if after_seq is None else after_seq
        return any(entry.msg_seq > floor for key in set(keys) for entry in self.by_key.get(key, ()))

    def covers(self, send_time: int) -> bool:
        """True when no page older than those read can hold a message sent at ``send_time``."""
        if self.finished:
            return True
        return self.oldest_time is not None and self.oldest_time < send_time

    def judge(self, candidate: Candidate) -> tuple[Verdict, HistoryEntry | None]:
        """Say whether ``candidate`` is at the provider, absent, or needs an older page.

        One candidate on its own: ``match_pending`` judges a group's pending messages together
        (identical messages, holes).
        """
        found = self.entries.get(candidate.key)
        if found is not None:
            return Verdict.PRESENT, found
        if self.pages and (self.finished or self.covers(candidate.send_time)):
            return Verdict.ABSENT, None
        if self.newest_time is not None and candidate.send_time > self.newest_time:
            return Verdict.ABSENT, None
        return Verdict.NEED_OLDER, None


@dataclass(frozen=True, slots=True)
class Match:
    """One pending message's verdict: ``PRESENT`` with the entry that holds it, or ``ABSENT``."""

    verdict: Verdict
    entry: HistoryEntry | None = None


@dataclass(frozen=True, slots=True)
class Matching:
    """The verdict on every pending message, in their order, or a request for an older page."""

    matches: tuple[Match, ...]
    need_older: bool

    @property
    def present(self) -> list[int]:
        """Positions of the pending messages found at the provider."""
        return [i for i, m in enumerate(self.matches) if m.verdict is Verdict.PRESENT]

    @property
    def absent(self) -> list[int]:
        """Positions of the pending messages to import."""
        return [i for i, m in enumerate(self.matches) if m.verdict is Verdict.ABSENT]

    @property
    def holes(self) -> list[int]:
        """Absent messages with a present one after them: each was refused (or removed) alone.

        They are not sent again: stored now, a hole would land behind messages sent after it
        (the providers allow equal send times), and otherwise it gets a refusal again.
        """
        present = self.present
        if not present:
            return []
        last = present[-1]
        return [i for i in self.absent if i < last]


def match_pending(
    candidates: Sequence[Candidate], index: HistoryIndex, *, after_seq: int | None = None
) -> Matching:
    """Judge a group's pending messages (in import order) against the history read so far.

    ``need_older`` (and no verdicts) while the history read does not reach below the oldest
    pending message's send time: read the page before ``index.oldest_seq`` and ask again. There
    is no page limit; the bound is time (and the beginning of the history). ``after_seq``: the
    seq of the group's latest message already accounted for (imported or found before these);
    entries up to it hold earlier messages and are not matched again.
    """
    if not candidates:
        return Matching((), need_older=False)
    oldest = min(c.send_time for c in candidates)
    if not index.pages or not index.covers(oldest):
        return Matching((), need_older=True)
    wanted = {c.key for c in candidates}
    floor = 0 if after_seq is None else after_seq
    entries = sorted(
        (e for key in wanted for e in index.by_key.get(key, ()) if e.msg_seq > floor),
        key=lambda e: e.msg_seq,
    )
    pairs = _in_order_matching(candidates, entries)
    return Matching(
        tuple(
            Match(Verdict.ABSENT) if found is None else Match(Verdict.PRESENT, found)
            for found in pairs
        ),
        need_older=False,
    )


def _in_order_matching(
    candidates: Sequence[Candidate], entries: Sequence[HistoryEntry]
) -> list[HistoryEntry | None]:
    """The largest order-preserving matching of candidates to entries (ascending seq).

    A longest-common-subsequence table over keys; among the largest matchings, earlier
    candidates are matched first, each to the newest entry that still leaves the rest optimal.
    """
    n, m = len(candidates), len(entries)
    # best[i][j]: most matches of candidates[i:] against entries[j:]
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        key = candidates[i].key
        row, below = best[i], best[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = below[j + 1] + 1 if entries[j].key == key else max(below[j], row[j + 1])
    chosen: list[HistoryEntry | None] = []
    j = 0
    for i, candidate in enumerate(candidates):
        pick = None
        for k in range(m - 1, j - 1, -1):
            if entries[k].key == candidate.key and 1 + best[i + 1][k + 1] == best[i][j]:
                pick = k
                break
        if pick is None:
            chosen.append(None)
        else:
            chosen.append(entries[pick])
            j = pick + 1
    return chosen
