# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""``chat-import verify``: the comparison on its own, then against a real import at the emulator."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from service.domain.events import GroupMessage, GroupProfile
from service.domain.recovery import HistoryEntry
from service.embedded_broker import EmbeddedBroker
from service.emulator.config import EmulatorConfig
from service.emulator.server import EmulatorServer
from service.providers.base import HistoryPage, MemberInfo
from service.providers.factory import build_provider
from service.providers.ratelimit import RateLimiter
from service.settings import Settings
from service.tools.local_stack import settings_env
from service.tools.verify import (
    GroupCheck,
    GroupSide,
    ImportedMessage,
    IssueKind,
    check_group,
    compare,
    compare_members,
    fetch_history,
    imported_messages,
    sides,
    verify_outcomes,
)
from tests.integration.events import BASE, group_record, message_record
from tests.integration.harness import (
    SDK_APP_ID,
    SECRET_KEY,
    make_settings,
    produce,
    read_outcomes,
    running,
    wait_for,
)

M = IssueKind.MISSING
E = IssueKind.EXTRA
ORDER = IssueKind.OUT_OF_ORDER
X = IssueKind.MISMATCH


def outcome(
    n: int,
    seq: int | None,
    *,
    status: str = "imported",
    offset: int | None = None,
    event: str | None = None,
    group: str = "g",
) -> dict[str, Any]:
    return {
        "type": "group.message.import.result",
        "event_id": event or f"e{n}",
        "group_id": group,
        "status": status,
        "msg_seq": seq,
        "msg_time": 1000 + seq if seq is not None else None,
        "source": {"topic": "messages", "partition": 0, "offset": n if offset is None else offset},
    }


def entry(
    seq: int, *, time: int | None = None, placeholder: int = 0, system: bool = False
) -> HistoryEntry:
    return HistoryEntry(
        "u",
        1000 + seq if time is None else time,
        seq,
        seq,
        1000 + seq if time is None else time,
        placeholder,
        system,
    )


def messages(*outcomes: dict[str, Any]) -> list[ImportedMessage]:
    return imported_messages(list(outcomes)).get("g", [])


def found(group_check: GroupCheck) -> list[tuple[IssueKind, int | None]]:
    return [(issue.kind, issue.msg_seq) for issue in group_check.issues]


class TestOutcomesSide:
    def test_latest_outcome_per_event_counts_and_keeps_the_first_source_offset(self) -> None:
        """A failed outcome later replaced by an imported one counts; a re-sent event keeps its place."""
        read = imported_messages(
            [
                outcome(1, None, status="failed"),
                outcome(1, 1, offset=9),
                outcome(2, 2),
                outcome(3, 3),
                outcome(3, None, status="failed"),
                {
                    "type": "group.import.result",
                    "event_id": "grp",
                    "group_id": "g",
                    "status": "imported",
                },
                {"not": "an outcome"},
            ]
        )
        assert [("e1", 1, 1), ("e2", 2, 2)] == [
            (m.event_id, m.msg_seq, m.source_offset) for m in read["g"]
        ]


class TestCompare:
    def test_identical_sides_are_clean(self) -> None:
        """Every outcome's seq present with its time, nothing else, both in order."""
        check = compare(
            "g",
            messages(*(outcome(n, n) for n in range(1, 6))),
            [entry(s) for s in range(5, 0, -1)],
        )
        assert ([], 5, 5) == (found(check), check.imported, check.at_provider)

    def test_absent_and_placeholder_seqs_are_missing(self) -> None:
        """No message at the seq, or only IsPlaceMsg 1 / 2, means the imported message is gone."""
        history = [entry(1), entry(2, placeholder=1), entry(4, placeholder=2)]
        check = compare("g", messages(*(outcome(n, n) for n in range(1, 5))), history)
        assert [(M, 2), (M, 3), (M, 4)] == found(check)

    def test_unclaimed_provider_messages_are_extra(self) -> None:
        """A message at the provider no outcome claims; placeholders are not messages."""
        history = [entry(1), entry(2), entry(3, placeholder=1)]
        assert [(E, 2)] == found(compare("g", messages(outcome(1, 1)), history))

    def test_seq_order_must_follow_source_offsets_and_send_times(self) -> None:
        """Outcomes by seq must ascend in offset; provider send times must not go back."""
        swapped = messages(
            outcome(1, 1, offset=5), outcome(2, 2, offset=4), outcome(3, 3, offset=6)
        )
        assert [(ORDER, 2)] == found(compare("g", swapped, [entry(s) for s in (1, 2, 3)]))
        history = [entry(1), entry(2, time=900), entry(3)]
        check = compare("g", messages(outcome(1, 1), outcome(3, 3)), history)
        assert [(E, 2), (ORDER, 2)] == found(check)

    def test_system_messages_are_not_extra(self) -> None:
        """IsSystemMsg entries are the provider's own (group notices): no outcome claims them."""
        history = [entry(1), entry(2, system=True), entry(3)]
        check = compare("g", messages(outcome(1, 1), outcome(3, 3)), history)
        assert ([], 2) == (found(check), check.at_provider)

    def test_seq_claimed_twice_or_with_another_time_is_a_mismatch(self) -> None:
        """Two events cannot own one seq; the time the provider holds must be the outcome's."""
        both = messages(outcome(1, 1), outcome(2, 1))
        assert [(X, 1)] == found(compare("g", both, [entry(1)]))
        assert [(X, 1)] == found(compare("g", messages(outcome(1, 1)), [entry(1, time=5)]))


class FakeHistory:
    """A provider holding seqs 1..count, answering pages like group_msg_get_simple."""

    name = "fake"
    messages_per_call = 7

    def __init__(self, count: int) -> None:
        self.count = count
        self.requests: list[tuple[int | None, int]] = []
        self.with_recalled: list[bool] = []

    async def history(
        self,
        group_id: str,
        topic_id: str | None,
        *,
        before_seq: int | None,
        limit: int,
        with_recalled: bool = False,
    ) -> HistoryPage:
        self.requests.append((before_seq, limit))
        self.with_recalled.append(with_recalled)
        top = self.count if before_seq is None else min(before_seq, self.count)
        seqs = range(top, max(0, top - limit), -1)
        return HistoryPage(entries=tuple(entry(s) for s in seqs), finished=len(seqs) < limit)


class TestPaging:
    async def test_pages_back_from_the_newest_by_smallest_seq_minus_one(self) -> None:
        """First call without ReqMsgSeq, then smallest - 1, 20 at a time, stopping at seq 1."""
        provider = FakeHistory(45)
        history, exists = await fetch_history(provider, RateLimiter(1000), "g")  # type: ignore[arg-type]
        assert ([(None, 20), (25, 20), (5, 20)], True) == (provider.requests, exists)
        assert list(range(45, 0, -1)) == [e.msg_seq for e in history]

    async def test_recalled_messages_are_asked_for(self) -> None:
        """Every page asks for recalled messages too, so they show as placeholders, not gaps."""
        provider = FakeHistory(25)
        await fetch_history(provider, RateLimiter(1000), "g")  # type: ignore[arg-type]
        assert [True, True] == provider.with_recalled

    async def test_an_exact_multiple_of_the_page_stops_without_asking_for_seq_zero(self) -> None:
        """40 messages: two calls; ReqMsgSeq never reaches 0 (which would mean 'the newest')."""
        provider = FakeHistory(40)
        await fetch_history(provider, RateLimiter(1000), "g")  # type: ignore[arg-type]
        assert [(None, 20), (20, 20)] == provider.requests


@pytest.mark.emulator
class TestHistoryAtTheEmulator:
    async def test_recalled_is_missing_and_system_messages_are_not_extra_across_cut_pages(
        self,
    ) -> None:
        """Pages cut to 3 (IsFinished 0) are followed; a recalled import is missing; a notice is no extra."""
        config = EmulatorConfig(
            sdk_app_id=SDK_APP_ID, secret_key=SecretStr(SECRET_KEY), history_page_limit=3
        )
        async with EmulatorServer(config) as emulator, httpx.AsyncClient() as client:
            settings = make_settings("localhost:1", emulator.url, "h")
            provider = build_provider(settings, client)
            await provider.import_group(
                GroupProfile(GroupId="g", Type="Public", Name="n", CreateTime=BASE - 100)
            )
            sent = [
                GroupMessage(
                    From_Account="u",
                    SendTime=BASE - 90 + n,
                    Random=n,
                    MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": str(n)}}],
                )
                for n in range(7)
            ]
            results = await provider.import_messages("g", None, sent)
            await emulator_post(emulator, "g/messages/4/recall")
            notice = {
                "From_Account": "@TIM#SYSTEM",
                "SendTime": BASE - 10,
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "renamed"}}],
                "IsSystemMsg": 1,
            }
            await emulator_post(emulator, "g/messages", notice)
            imported = [
                ImportedMessage(f"e{n}", "g", r.msg_seq or 0, r.msg_time, "t", 0, n)
                for n, r in enumerate(results)
            ]
            check = await check_group(provider, RateLimiter(1000), "g", GroupSide(imported))
        assert [(M, 4, True)] == [
            (i.kind, i.msg_seq, "IsPlaceMsg 2" in i.detail) for i in check.issues
        ]


async def emulator_post(
    emulator: EmulatorServer, path: str, body: dict[str, Any] | None = None
) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{emulator.url}/_emulator/groups/{path}", json=body)
    assert 200 == response.status_code, response.text


async def run_cli(settings: Settings) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_IMPORT_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        "verify",
        "--calls-per-second",
        "50",
        env={**env, **settings_env(settings)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    assert b"Verification by group" in output, output.decode()
    return process.returncode


@pytest.mark.kafka
@pytest.mark.emulator
class TestAgainstTheEmulator:
    async def test_clean_after_an_import_then_reports_a_deleted_and_an_intruding_message(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ) -> None:
        """Clean (exit 0) after an import; a deletion is missing, a raw append extra and out of order (exit 1)."""
        settings = make_settings(kafka_broker.bootstrap_servers, emulator.url, run_id)
        groups = ("va", "vb")
        records = [group_record(settings, g) for g in groups]
        records += [message_record(settings, g, n) for n in range(25) for g in groups]
        async with running(settings):
            await produce(kafka_broker.bootstrap_servers, records)

            async def all_done() -> bool:
                return len(
                    await read_outcomes(kafka_broker.bootstrap_servers, settings.topics.outcomes)
                ) >= len(records)

            await wait_for(all_done, timeout=60)

        report = await verify_outcomes(settings)
        assert ([], True) == (report.issues, report.clean)
        assert {"va": (25, 25), "vb": (25, 25)} == {
            g.group_id: (g.imported, g.at_provider) for g in report.groups
        }
        assert 0 == await run_cli(settings)

        await emulator_post(emulator, "va/messages/7/delete")
        intruder = {
            "From_Account": "intruder",
            "SendTime": BASE - 50,
            "Random": 77,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "late"}}],
        }
        await emulator_post(emulator, "vb/messages", intruder)

        report = await verify_outcomes(settings)
        assert not report.clean
        assert [(M, "va", 7, "it:msg:va:00006"), (E, "vb", 26, None), (ORDER, "vb", 26, None)] == [
            (i.kind, i.group_id, i.msg_seq, i.event_id) for i in report.issues
        ]
        assert 1 == await run_cli(settings)


def stage_outcome(kind: str, event: str, user: str, offset: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": f"{kind}.result",
        "event_id": event,
        "group_id": "g",
        "user_id": user,
        "status": "imported",
        "source": {"topic": "messages", "partition": 0, "offset": offset},
        **fields,
    }


def history_of(count: int) -> list[HistoryEntry]:
    return [HistoryEntry("u", 1000 + n, n, n, 1000 + n) for n in range(count, 0, -1)]


class TestMembersAndUnread:
    def members_check(
        self, outcomes: list[dict[str, Any]], listed: list[MemberInfo], history: int
    ) -> GroupCheck:
        side = sides(outcomes)["g"]
        check = GroupCheck("g", len(side.messages))
        compare_members(
            check, side.members, side.unread, listed, history_of(history), side.messages
        )
        return check

    def test_an_imported_member_absent_at_the_provider_is_missing(self) -> None:
        """A member outcome says imported; the provider's list lacks it: missing, naming it."""
        outcomes = [
            stage_outcome("group.member.import", "m1", "a", 1),
            stage_outcome("group.member.import", "m2", "b", 2),
        ]
        check = self.members_check(outcomes, [MemberInfo("a", read_seq=0)], 0)
        assert [(M, "m2", True)] == [
            (i.kind, i.event_id, "member b" in i.detail) for i in check.issues
        ]

    def test_the_last_unread_count_set_is_expected_clamped_to_the_messages(self) -> None:
        """Counts 9 then 2 for a member of a 5-message group: 2 expected (and 9 would be 5)."""
        outcomes = [
            stage_outcome("group.member.import", "m1", "a", 1),
            stage_outcome("group.member.unread", "u1", "a", 2, unread_msg_num=9),
            stage_outcome("group.member.unread", "u2", "a", 3, unread_msg_num=2),
        ]
        right = self.members_check(outcomes, [MemberInfo("a", read_seq=3)], 5)
        wrong = self.members_check(outcomes, [MemberInfo("a", read_seq=0)], 5)
        assert ([], [(X, "u2")], 1) == (
            right.issues,
            [(i.kind, i.event_id) for i in wrong.issues],
            right.unread_checked,
        )

    def test_a_message_imported_after_the_count_makes_it_zero(self) -> None:
        """A later message in the partition resets unread counts: 0 is expected, not 3."""
        outcomes = [
            stage_outcome("group.member.import", "m1", "a", 1),
            stage_outcome("group.member.unread", "u1", "a", 2, unread_msg_num=3),
            outcome(1, 1, offset=5),
        ]
        check = self.members_check(outcomes, [MemberInfo("a", read_seq=1)], 1)
        assert [] == check.issues

    def test_a_provider_without_unread_counts_is_not_asked_for_them(self) -> None:
        """ZIM lists members without a read seq: membership is checked, unread counts are not."""
        outcomes = [
            stage_outcome("group.member.import", "m1", "a", 1),
            stage_outcome("group.member.unread", "u1", "a", 2, unread_msg_num=3),
        ]
        check = self.members_check(outcomes, [MemberInfo("a")], 4)
        assert ([], 0) == (check.issues, check.unread_checked)
