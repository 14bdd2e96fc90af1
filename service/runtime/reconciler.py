# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The history reconciler: which pending messages are already at the provider.

Asked when a group's messages may have been imported before (after a restart, a rebalance, or a
call that may have been applied): it pulls the group's history page by page, newest first, and
judges each pending message in order. The messages found are reported with the provider's real
MsgSeq; the first one that cannot be there ends the check, and it and those after it are imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.domain import limits
from service.domain.recovery import HistoryEntry, HistoryIndex, Verdict
from service.domain.validation import ValidMessageImport
from service.metrics import Metrics
from service.providers.base import ChatProvider
from service.runtime.caller import Answered, ProviderCaller
from service.runtime.lanes import Lane
from service.runtime.work import WorkItem

MAX_HISTORY_PAGES = 50


@dataclass(slots=True)
class Reconciled:
    """What the history said about a batch."""

    found: list[tuple[WorkItem, HistoryEntry]] = field(default_factory=list)
    rest: list[WorkItem] = field(default_factory=list)
    # the history read so far, while every pending message so far was found in it (the next
    # batch goes on from there); None once the check is over
    index: HistoryIndex | None = None


class HistoryReconciler:
    """Matches pending messages against the provider's history."""

    __slots__ = ("_caller", "_metrics", "_provider")

    def __init__(self, provider: ChatProvider, caller: ProviderCaller, metrics: Metrics) -> None:
        self._provider = provider
        self._caller = caller
        self._metrics = metrics

    async def reconcile(
        self,
        lane: Lane[Any, Any],
        group_id: str,
        topic_id: str | None,
        pending: list[WorkItem],
        index: HistoryIndex | None,
    ) -> Reconciled:
        """Judge ``pending`` in order against the history (``index``: what was read before)."""
        index = index or HistoryIndex()
        result = Reconciled()
        for position, item in enumerate(pending):
            event = item.event
            assert isinstance(event, ValidMessageImport)  # noqa: S101 - message lanes only
            candidate = self._provider.recovery_key(event.message, event.random)
            while True:
                verdict, entry = (
                    index.judge(candidate) if index.pages else (Verdict.NEED_OLDER, None)
                )
                if verdict is not Verdict.NEED_OLDER or index.pages >= MAX_HISTORY_PAGES:
                    break
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
                    # The history cannot be read: import, and let the provider's Random
                    # de-duplication protect against a second copy.
                    result.rest = pending[position:]
                    return result
                index.add_page(page.value.entries, finished=page.value.finished)
            if verdict is Verdict.PRESENT and entry is not None:
                result.found.append((item, entry))
                continue
            result.rest = pending[position:]
            return result
        result.index = index
        return result
