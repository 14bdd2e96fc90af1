# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""In-memory stand-ins for the provider and the Kafka sink, for engine tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from service.domain.events import GroupMessage, GroupProfile, InputRecord, OutcomeEvent
from service.domain.recovery import Candidate, HistoryEntry
from service.domain.retry_policy import ErrorClass
from service.domain.validation import Rules
from service.errors import (
    AmbiguousProviderError,
    BatchRefusedError,
    PermanentProviderError,
    ProviderError,
)
from service.providers.base import ApiNames, GroupResult, HistoryPage, MessageResult


class FakeProvider:
    """Keeps groups and messages like the provider; can fail calls on request."""

    name = "fake"
    messages_per_call = 7
    group_missing_code = 10010
    rules = Rules()
    api_names = ApiNames("import_group", "import_group_msg", "group_msg_get_simple")

    def __init__(self, latency: float = 0.0) -> None:
        self.groups: set[str] = set()
        self.messages: dict[str, list[tuple[GroupMessage, int]]] = {}
        self.calls: list[tuple[str, str, int]] = []
        self.latency = latency
        self.failures: list[ProviderError] = []  # raised by the next calls, in order
        self.apply_then_fail = 0
        self.refuse_random: set[int] = set()
        # a message with one of these Randoms refuses its whole call (10020), named or not
        self.refuse_call_random: set[int] = set()
        self.name_refused = True
        self.poison_groups: set[str] = set()  # every import into them times out (502)
        self.malformed_next = 0  # answers the adapter cannot read (raises outside ProviderError)
        self.malformed_after_store = False  # the unreadable answer came after the call was applied
        self.group_failures: list[ProviderError] = []  # raised by the next group imports

    async def import_group(self, group: GroupProfile) -> GroupResult:
        self.calls.append(("import_group", group.GroupId, 0))
        await asyncio.sleep(self.latency)
        if self.group_failures:
            raise self.group_failures.pop(0)
        if self.failures:
            raise self.failures.pop(0)
        if group.GroupId in self.groups:
            return GroupResult(group.GroupId, already_existed=True)
        self.groups.add(group.GroupId)
        self.messages[group.GroupId] = []
        return GroupResult(group.GroupId)

    async def import_messages(
        self, group_id: str, topic_id: str | None, messages: Sequence[GroupMessage]
    ) -> list[MessageResult]:
        self.calls.append(("import_group_msg", group_id, len(messages)))
        await asyncio.sleep(self.latency)
        if self.failures:
            raise self.failures.pop(0)
        if group_id in self.poison_groups:
            raise AmbiguousProviderError(502, "HTTP 502 from the provider")
        if group_id not in self.groups:
            raise PermanentProviderError(10010, "group does not exist", ErrorClass.GROUP_MISSING)
        if self.malformed_next and not self.malformed_after_store:
            self.malformed_next -= 1
            raise ValueError("MsgSeq is not a number")
        bad = [i for i, m in enumerate(messages) if m.Random in self.refuse_call_random]
        if bad:
            named = f"MsgList[{bad[0]}] is too long" if self.name_refused else "too long"
            suspect = bad[0] if self.name_refused else None
            raise BatchRefusedError(10020, named, suspect=suspect)
        results = []
        stored = self.messages[group_id]
        for message in messages:
            if message.Random in self.refuse_random:
                results.append(MessageResult(80001, info="restricted"))
                continue
            stored.append((message, len(stored) + 1))
            results.append(MessageResult(0, len(stored), message.SendTime))
        if self.malformed_next:
            self.malformed_next -= 1
            raise ValueError("MsgSeq is not a number")
        if self.apply_then_fail:
            self.apply_then_fail -= 1
            raise AmbiguousProviderError(0, "connection reset")
        return results

    async def history(
        self,
        group_id: str,
        topic_id: str | None,
        *,
        before_seq: int | None,
        limit: int,
        with_recalled: bool = False,
    ) -> HistoryPage:
        self.calls.append(("group_msg_get_simple", group_id, 0))
        if self.failures:
            raise self.failures.pop(0)
        if group_id not in self.groups:
            return HistoryPage((), finished=True, group_exists=False)
        stored = self.messages[group_id]
        top = len(stored) if before_seq is None else min(before_seq, len(stored))
        chosen = [stored[i - 1] for i in range(top, max(0, top - limit), -1)]
        entries = tuple(
            HistoryEntry(m.From_Account, m.SendTime, m.Random or 0, seq, m.SendTime)
            for m, seq in chosen
        )
        return HistoryPage(entries, finished=top - limit <= 0)

    def check_element_support(self, message: GroupMessage) -> tuple[int, str] | None:
        return None

    def recovery_key(self, message: GroupMessage, random: int) -> Candidate:
        return Candidate(message.From_Account, message.SendTime, random)


class FakeSink:
    """Collects what the engine publishes."""

    def __init__(self) -> None:
        self.outcomes: list[OutcomeEvent] = []
        self.dead_letters: list[tuple[InputRecord, str]] = []
        self.fail_next = 0

    async def publish_outcomes(self, outcomes: Sequence[OutcomeEvent]) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("broker away")
        self.outcomes.extend(outcomes)

    async def publish_dead_letter(self, record: InputRecord, reason: str) -> None:
        self.dead_letters.append((record, reason))
