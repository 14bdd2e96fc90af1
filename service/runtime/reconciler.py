# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The history reconciler: which pending messages are already at the provider.

Asked when a group's messages may have been imported before (after a restart, a rebalance, or a
call that may have been applied): it pulls the group's history page by page, newest first, and
matches a batch of pending messages against it together (``recovery.match_pending``: in order,
as a multiset, only stored messages). Each message of the batch ends in one of three lists:

- **found**: at the provider; reported with its real MsgSeq, not sent again;
- **holes**: not at the provider while a later message of the lane is (later in the batch, or
  queued behind it): the provider refused it on its own before (or it was removed since). It is
  not sent again: stored now it would land behind messages sent after it;
- **rest**: after the last message found, with nothing of the lane found behind it: to import.

How deep it reads: the pages go back until the oldest message read is older than the oldest
pending message's SendTime (a group's messages go in by ascending send time, so nothing older can
be one of them), or to the beginning of the history. Each page reaches a lower seq than the one
before (``HistoryIndex.add_page`` ends the history otherwise), so the pages read are bounded by
the messages sent after the pending one; ``MAX_HISTORY_PAGES`` (200,000 messages) only guards
against a provider whose seqs never run out: past it the messages not found are imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from service.domain import limits
from service.domain.recovery import Candidate, HistoryEntry, HistoryIndex, Matching, match_pending
from service.domain.validation import ValidMessageImport
from service.metrics import Metrics
from service.providers.base import ChatProvider
from service.runtime.caller import Answered, ProviderCaller
from service.runtime.lanes import Lane
from service.runtime.work import WorkItem

log = structlog.get_logger("service.engine")

MAX_HISTORY_PAGES = 10_000


@dataclass(slots=True)
class Reconciled:
    """What the history said about a batch."""

    found: list[tuple[WorkItem, HistoryEntry]] = field(default_factory=list)
    holes: list[WorkItem] = field(default_factory=list)
    rest: list[WorkItem] = field(default_factory=list)
    # the history read so far, while every message of the batch was settled by it (the next
    # batch goes on from there); None once the check is over
    index: HistoryIndex | None = None


class HistoryReconciler:
    """Matches pending messages against the provider's history."""

    __slots__ = ("_caller", "_metrics", "_provider")

    def __init__(self, provider: ChatProvider, caller: ProviderCaller, metrics: Metrics) -> None:
        self._provider = provider
        self._caller = caller
        self._metrics = metrics

    def candidate(self, item: WorkItem) -> Candidate:
        """What ``item``'s message is recognised by in the provider's history."""
        event = item.event
        assert isinstance(event, ValidMessageImport)  # noqa: S101 - message lanes only
        return self._provider.recovery_key(event.message, event.random)

    async def reconcile(  # noqa: PLR0913 - the batch, where it stands, and what follows it
        self,
        lane: Lane[Any, Any],
        group_id: str,
        topic_id: str | None,
        pending: list[WorkItem],
        index: HistoryIndex | None,
        *,
        after_seq: int | None = None,
        behind: Sequence[WorkItem] = (),
    ) -> Reconciled:
        """Judge ``pending`` against the history (``index``: what was read before).

        ``after_seq``: the seq of the lane's latest message known at the provider (history up
        to it holds earlier messages). ``behind``: the messages queued after ``pending`` (those
        of its topic count), to tell a hole at the end of the batch from a message never sent.
        """
        index = index or HistoryIndex()
        candidates = [self.candidate(item) for item in pending]
        matching = await self._matching(
            lane, group_id, topic_id, candidates, index=index, after_seq=after_seq
        )
        if matching is None:
            # The history cannot be read: import, and let the provider's Random de-duplication
            # protect against a second copy (Tencent; ZIM has none).
            return Reconciled(rest=list(pending))
        holes = set(matching.holes)
        tail = [p for p in matching.absent if p not in holes]  # after the last message found
        if tail and behind:
            present = matching.present
            last = matching.matches[present[-1]].entry if present else None
            threshold = after_seq if last is None else last.msg_seq
            later = (self.candidate(item).key for item in behind if item.topic_id == topic_id)
            if index.holds_any(later, after_seq=threshold):
                holes.update(tail)  # a message queued behind the batch is stored: refused alone
        result = Reconciled()
        for position, (item, match) in enumerate(zip(pending, matching.matches, strict=True)):
            if match.entry is not None:
                result.found.append((item, match.entry))
            elif position in holes:
                result.holes.append(item)
            else:
                result.rest.append(item)
        if result.holes:
            log.info(
                "messages not at the provider while later ones are: refused alone before, "
                "not sent again",
                group_id=group_id,
                event_ids=[item.event.event_id for item in result.holes],
            )
        if not result.rest:
            result.index = index
        return result

    async def _matching(  # noqa: PLR0913 - the group, the batch and the history read so far
        self,
        lane: Lane[Any, Any],
        group_id: str,
        topic_id: str | None,
        candidates: list[Candidate],
        *,
        index: HistoryIndex,
        after_seq: int | None,
    ) -> Matching | None:
        """Read older pages until the batch can be judged; None when the history cannot be read."""
        while (matching := match_pending(candidates, index, after_seq=after_seq)).need_older:
            if index.pages >= MAX_HISTORY_PAGES:
                log.warning(
                    "history read to its page bound without reaching the pending messages; "
                    "the ones not found are imported",
                    group_id=group_id,
                    pages=index.pages,
                )
                index.finished = True
                continue
            before = None if index.oldest_seq is None else index.oldest_seq - 1
            page = await self._caller.call(
                self._provider.api_names.history,
                lambda before=before: self._provider.history(  # type: ignore[misc]
                    group_id, topic_id, before_seq=before, limit=limits.HISTORY_PAGE_SIZE
                ),
                lane,
                (),
            )
            self._metrics.history_pulls.inc()
            if not isinstance(page, Answered):
                return None
            index.add_page(page.value.entries, finished=page.value.finished)
        return matching
