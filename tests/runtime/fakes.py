# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""In-memory stand-ins for the provider and the Kafka sink, for engine tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from service.domain.events import (
    Account,
    GroupMember,
    GroupMessage,
    GroupProfile,
    InputRecord,
    OutcomeEvent,
)
from service.domain.recovery import Candidate, HistoryEntry
from service.domain.retry_policy import ErrorClass
from service.domain.validation import Rules
from service.errors import (
    AmbiguousProviderError,
    BatchRefusedError,
    PermanentProviderError,
    ProviderError,
)
from service.providers.base import (
    AccountResult,
    ApiNames,
    CallLimits,
    GroupResult,
    HistoryPage,
    MemberInfo,
    MemberResult,
    MessageResult,
)


class FakeProvider:
    """Keeps groups and messages like the provider; can fail calls on request."""

    name = "fake"
    messages_per_call = 7
    accounts_per_call = 100
    members_per_call = 20
    group_missing_code = 10010
    rules = Rules()
    api_names = ApiNames(
        "import_group",
        "import_group_msg",
        "group_msg_get_simple",
        import_accounts="multiaccount_import",
        import_members="import_group_member",
        set_unread="set_unread_msg_num",
        members="get_group_member_info",
    )
    call_limits = CallLimits()

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
        self.accounts: set[str] = set()
        self.refuse_accounts: set[str] = set()  # listed as failed in an accounts call
        self.members: dict[str, dict[str, GroupMember]] = {}
        self.refuse_members: set[str] = set()  # Result 0 in a members call
        self.require_accounts = False  # members must be accounts (else the call fails, 10019)
        self.unread: dict[tuple[str, str], int] = {}
        # (kind, group or "", what the call held) in call order, for order assertions
        self.journal: list[tuple[str, str, tuple[str, ...]]] = []
        self.recent_contact: list[int | None] = []

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

    async def import_accounts(self, accounts: Sequence[Account]) -> list[AccountResult]:
        self.calls.append(("multiaccount_import", "", len(accounts)))
        self.journal.append(("accounts", "", tuple(a.UserID for a in accounts)))
        await asyncio.sleep(self.latency)
        if self.failures:
            raise self.failures.pop(0)
        results = []
        for account in accounts:
            if account.UserID in self.refuse_accounts:
                results.append(AccountResult(70402, "listed in FailAccounts"))
                continue
            self.accounts.add(account.UserID)
            results.append(AccountResult(0))
        return results

    async def import_members(
        self, group_id: str, members: Sequence[GroupMember], *, inviter: str | None = None
    ) -> list[MemberResult]:
        self.calls.append(("import_group_member", group_id, len(members)))
        self.journal.append(("members", group_id, tuple(m.Member_Account for m in members)))
        await asyncio.sleep(self.latency)
        if self.failures:
            raise self.failures.pop(0)
        if group_id not in self.groups:
            raise PermanentProviderError(10010, "group does not exist", ErrorClass.GROUP_MISSING)
        missing = [m.Member_Account for m in members if m.Member_Account not in self.accounts]
        if self.require_accounts and missing:
            raise PermanentProviderError(
                10019, f"account {missing[0]} does not exist", ErrorClass.ACCOUNT_MISSING
            )
        held = self.members.setdefault(group_id, {})
        results = []
        for member in members:
            if member.Member_Account in self.refuse_members:
                results.append(MemberResult(10004, info="Result 0"))
            elif member.Member_Account in held:
                results.append(MemberResult(0, already_member=True))
            else:
                held[member.Member_Account] = member
                results.append(MemberResult(0))
        return results

    async def set_unread(self, group_id: str, member_account: str, count: int) -> None:
        self.calls.append(("set_unread_msg_num", group_id, 1))
        self.journal.append(("unread", group_id, (member_account,)))
        await asyncio.sleep(self.latency)
        if self.failures:
            raise self.failures.pop(0)
        if group_id not in self.groups:
            raise PermanentProviderError(10010, "group does not exist", ErrorClass.GROUP_MISSING)
        self.unread[(group_id, member_account)] = min(count, len(self.messages[group_id]))

    async def group_members(self, group_id: str) -> list[MemberInfo] | None:
        return [MemberInfo(name) for name in self.members.get(group_id, {})]

    async def import_messages(
        self,
        group_id: str,
        topic_id: str | None,
        messages: Sequence[GroupMessage],
        *,
        recent_contact: int | None = None,
    ) -> list[MessageResult]:
        self.calls.append(("import_group_msg", group_id, len(messages)))
        self.journal.append(("messages", group_id, tuple(str(m.Random) for m in messages)))
        self.recent_contact.append(recent_contact)
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
