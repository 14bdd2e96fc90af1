# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from service.emulator import rules
from service.emulator.errors import ApiError
from service.emulator.store import EmulatorStore, MessageResult
from service.emulator.validation import (
    AccountImport,
    GroupImportRequest,
    HistoryRequest,
    MemberImport,
    MemberImportRequest,
    MessageImport,
    MessageImportRequest,
    UnreadRequest,
)

NOW = 1_700_000_000
CREATED = NOW - 10_000


def group_request(
    group_id: str | None = "g1", group_type: str = "Public", **kw: Any
) -> GroupImportRequest:
    """Build a valid import_group request."""
    return GroupImportRequest(
        group_id=group_id,
        type=group_type,
        name="club",
        create_time=kw.get("create_time", CREATED),
        support_topic=kw.get("support_topic", 0),
        profile={"Type": group_type, "Name": "club"},
    )


def msg(send_time: int, random: int | None = None, text: str = "hi", **kw: Any) -> MessageImport:
    """Build one valid message."""
    body = kw.get("body") or [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]
    return MessageImport(from_account="leckie", send_time=send_time, random=random, body=body)


def batch(
    *messages: MessageImport, group_id: str = "g1", topic: str | None = None
) -> MessageImportRequest:
    """Build an import_group_msg request."""
    return MessageImportRequest(group_id=group_id, topic_id=topic, messages=messages)


def codes(results: list[MessageResult]) -> list[int]:
    """Return the Result of each entry."""
    return [r.result for r in results]


def seqs(results: list[MessageResult]) -> list[int | None]:
    """Return the MsgSeq of each entry."""
    return [r.seq for r in results]


@pytest.fixture
def store() -> EmulatorStore:
    """Provide a store holding group g1 created at CREATED."""
    store = EmulatorStore(seed=7)
    store.import_group(group_request(), now=NOW)
    return store


class TestGroups:
    """import_group: GroupIds, CreateTime, 10021, 10007."""

    def test_custom_group_id_is_kept(self) -> None:
        """import_group answers the custom GroupId and stores the profile with CreateTime."""
        store = EmulatorStore()
        group = store.import_group(group_request("my-group"), now=NOW)
        expected = ("my-group", CREATED)
        assert expected == (group.group_id, group.profile["CreateTime"])

    def test_group_id_is_generated_with_the_provider_prefix(self) -> None:
        """Without GroupId the emulator assigns one starting with @TGS#."""
        group = EmulatorStore().import_group(group_request(None), now=NOW)
        assert group.group_id.startswith("@TGS#")

    def test_community_ids_carry_the_community_prefix(self) -> None:
        """A generated Community GroupId starts with @TGS#_ as in the documentation's sample."""
        group = EmulatorStore().import_group(group_request(None, "Community"), now=NOW)
        assert group.group_id.startswith("@TGS#_@TGS#")

    def test_missing_create_time_defaults_to_now(self) -> None:
        """A group imported without CreateTime was created at the request time."""
        group = EmulatorStore().import_group(group_request(create_time=None), now=NOW)
        expected = NOW
        assert expected == group.create_time

    def test_existing_group_id_is_10021(self, store: EmulatorStore) -> None:
        """Importing a GroupId that exists answers 10021 and keeps the first group."""
        with pytest.raises(ApiError) as caught:
            store.import_group(group_request(), now=NOW)
        expected = (rules.GROUP_ID_IN_USE, 1)
        assert expected == (caught.value.code, len(store.groups()))

    def test_avchatroom_is_10007(self) -> None:
        """AVChatRoom groups cannot be imported: 10007."""
        with pytest.raises(ApiError) as caught:
            EmulatorStore().import_group(group_request(group_type="AVChatRoom"), now=NOW)
        expected = rules.NO_PERMISSION
        assert expected == caught.value.code


class TestOrdering:
    """Send-time rules: ascending order, after CreateTime, not in the future (10004)."""

    def test_msg_seq_counts_from_one_in_import_order(self, store: EmulatorStore) -> None:
        """MsgSeq is 1, 2, 3 ... per group, MsgTime is the SendTime."""
        results = store.import_messages(batch(msg(CREATED + 1), msg(CREATED + 2)), now=NOW)
        more = store.import_messages(batch(msg(CREATED + 3)), now=NOW)
        expected = ([1, 2, 3], [CREATED + 1, CREATED + 2, CREATED + 3])
        assert expected == (
            seqs(results + more),
            [r.time for r in results + more],
        )

    def test_equal_send_times_are_allowed(self, store: EmulatorStore) -> None:
        """Several messages in the same second are imported in order."""
        results = store.import_messages(batch(msg(CREATED + 5), msg(CREATED + 5)), now=NOW)
        expected = [0, 0]
        assert expected == codes(results)

    def test_earlier_than_the_latest_message_is_10004(self, store: EmulatorStore) -> None:
        """A message older than the group's latest message is refused with Result 10004."""
        store.import_messages(batch(msg(CREATED + 50)), now=NOW)
        results = store.import_messages(batch(msg(CREATED + 49)), now=NOW)
        expected = ([rules.INVALID_PARAMETER], [None])
        assert expected == (codes(results), seqs(results))

    def test_not_later_than_create_time_is_10004(self, store: EmulatorStore) -> None:
        """SendTime equal to or before the group's CreateTime is refused with 10004."""
        results = store.import_messages(batch(msg(CREATED), msg(CREATED - 1)), now=NOW)
        expected = [rules.INVALID_PARAMETER] * 2
        assert expected == codes(results)

    def test_send_time_not_earlier_than_now_is_10004(self, store: EmulatorStore) -> None:
        """Timestamps "must be earlier than the current time": now and later are refused."""
        results = store.import_messages(batch(msg(NOW - 1), msg(NOW), msg(NOW + 1)), now=NOW)
        expected = [0, rules.INVALID_PARAMETER, rules.INVALID_PARAMETER]
        assert expected == codes(results)

    def test_a_group_without_create_time_refuses_earlier_messages(self) -> None:
        """Without CreateTime the group is created "now": every earlier message is 10004."""
        store = EmulatorStore()
        store.import_group(group_request(create_time=None), now=NOW - 10)
        results = store.import_messages(batch(msg(NOW - 20), msg(NOW - 5)), now=NOW)
        expected = [rules.INVALID_PARAMETER, 0]
        assert expected == codes(results)

    def test_refused_messages_do_not_move_the_latest_time(self, store: EmulatorStore) -> None:
        """A refused message neither gets a seq nor changes what counts as the latest message."""
        store.import_messages(batch(msg(CREATED + 10), msg(NOW + 100)), now=NOW)
        results = store.import_messages(batch(msg(CREATED + 11)), now=NOW)
        expected = [2]
        assert expected == seqs(results)


class TestDeduplication:
    """A repeated Random within the window is discarded and answered with the first seq."""

    def test_same_random_within_the_window_answers_the_first_seq(
        self, store: EmulatorStore
    ) -> None:
        """A repeated Random within five minutes is discarded: Result 0 with the first MsgSeq."""
        store.import_messages(batch(msg(CREATED + 1, random=42), msg(CREATED + 2)), now=NOW)
        results = store.import_messages(batch(msg(CREATED + 300, random=42)), now=NOW)
        expected = ([(0, 1, CREATED + 1)], 2)
        assert expected == (
            [(r.result, r.seq, r.time) for r in results],
            len(store.group("g1").messages),
        )

    def test_same_random_outside_the_window_is_a_new_message(self, store: EmulatorStore) -> None:
        """Beyond the de-duplication window the same Random is stored again."""
        store.import_messages(batch(msg(CREATED + 1, random=42)), now=NOW)
        results = store.import_messages(batch(msg(CREATED + 302, random=42)), now=NOW)
        expected = [2]
        assert expected == seqs(results)

    def test_duplicate_inside_one_call(self, store: EmulatorStore) -> None:
        """A batch-mate repeating an earlier entry's Random gets the earlier entry's seq."""
        results = store.import_messages(
            batch(msg(CREATED + 1, random=9), msg(CREATED + 2, random=9), msg(CREATED + 3)),
            now=NOW,
        )
        expected = [1, 1, 2]
        assert expected == seqs(results)

    def test_resent_batch_is_recognised_before_the_time_rules(self, store: EmulatorStore) -> None:
        """Re-sending an applied batch answers the stored seqs (by default, duplicates first)."""
        sent = batch(*(msg(CREATED + n, random=100 + n) for n in range(1, 4)))
        first = store.import_messages(sent, now=NOW)
        again = store.import_messages(sent, now=NOW)
        expected = (seqs(first), 3)
        assert expected == (seqs(again), store.duplicates_discarded)

    def test_time_rules_first_when_configured(self) -> None:
        """With dedup_before_time_check off, an old duplicate is refused with 10004."""
        store = EmulatorStore(dedup_before_time_check=False)
        store.import_group(group_request(), now=NOW)
        store.import_messages(batch(msg(CREATED + 1, random=5), msg(CREATED + 2)), now=NOW)
        results = store.import_messages(batch(msg(CREATED + 1, random=5)), now=NOW)
        expected = [rules.INVALID_PARAMETER]
        assert expected == codes(results)

    def test_missing_random_is_generated(self, store: EmulatorStore) -> None:
        """Without Random the provider picks one (0..4294967295) and says it did."""
        store.import_messages(batch(msg(CREATED + 1)), now=NOW)
        stored = store.group("g1").messages[0]
        expected = (True, True)
        assert expected == (0 <= stored.random <= rules.RANDOM_MAX, stored.random_generated)


def body_of_size(size: int) -> list[dict[str, Any]]:
    """Build a text body whose compact UTF-8 JSON is exactly ``size`` bytes."""
    overhead = rules.message_body_size([{"MsgType": "TIMTextElem", "MsgContent": {"Text": ""}}])
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x" * (size - overhead)}}]


class TestSizeLimit:
    """Result 80002 over the edition's size limit, measured as compact UTF-8 JSON."""

    def test_measure_is_compact_utf8_json(self) -> None:
        """The size is the UTF-8 length of the compact JSON, so 'é' counts two bytes."""
        body = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "é"}}]
        expected = len('[{"MsgType":"TIMTextElem","MsgContent":{"Text":"é"}}]'.encode())
        assert expected == rules.message_body_size(body)

    def test_12000_bytes_pass_and_12001_are_80002(self, store: EmulatorStore) -> None:
        """2024 edition: a body of 12,000 bytes is imported, one byte more is Result 80002."""
        results = store.import_messages(
            batch(
                msg(CREATED + 1, body=body_of_size(12_000)),
                msg(CREATED + 2, body=body_of_size(12_001)),
            ),
            now=NOW,
        )
        expected = [0, rules.MESSAGE_TOO_LARGE]
        assert expected == codes(results)

    def test_2022_edition_limit_is_8000(self) -> None:
        """With the 2022 edition's limit, 8,001 bytes are Result 80002."""
        store = EmulatorStore(message_size_limit=rules.MESSAGE_SIZE_LIMIT_2022)
        store.import_group(group_request(), now=NOW)
        results = store.import_messages(
            batch(
                msg(CREATED + 1, body=body_of_size(8_000)),
                msg(CREATED + 2, body=body_of_size(8_001)),
            ),
            now=NOW,
        )
        expected = [0, rules.MESSAGE_TOO_LARGE]
        assert expected == codes(results)

    def test_oversized_message_can_refuse_the_whole_call_with_10020(self) -> None:
        """``oversized_refuses_call``: 10020 naming the message, and none of the call is stored."""
        store = EmulatorStore(
            message_size_limit=rules.MESSAGE_SIZE_LIMIT_2022, oversized_refuses_call=True
        )
        store.import_group(group_request(), now=NOW)
        with pytest.raises(ApiError) as refused:
            store.import_messages(
                batch(
                    msg(CREATED + 1, body=body_of_size(8_000)),
                    msg(CREATED + 2, body=body_of_size(8_001)),
                    msg(CREATED + 3),
                ),
                now=NOW,
            )
        assert (rules.CONTENT_TOO_LONG, True, 0) == (
            refused.value.code,
            refused.value.info.startswith("MsgList[1]."),
            store.message_count(),
        )


class TestRestrictedWords:
    """Result 80001 for restricted words (2022 edition)."""

    def test_text_with_a_restricted_word_is_80001(self) -> None:
        """2022 edition: a text element containing a restricted word gets Result 80001."""
        store = EmulatorStore(restricted_words=["forbidden"])
        store.import_group(group_request(), now=NOW)
        results = store.import_messages(
            batch(msg(CREATED + 1, text="all fine"), msg(CREATED + 2, text="a forbidden thing")),
            now=NOW,
        )
        expected = [0, rules.RESTRICTED_WORDS]
        assert expected == codes(results)


class TestBatchIsolation:
    """Per-message refusals leave the other messages of the call alone."""

    def test_refused_message_does_not_affect_its_batch_mates(self) -> None:
        """Refused entries get no seq; the others are stored with consecutive seqs."""
        store = EmulatorStore(restricted_words=["forbidden"])
        store.import_group(group_request(), now=NOW)
        results = store.import_messages(
            batch(
                msg(CREATED + 1),
                msg(NOW + 60),
                msg(CREATED + 2, text="forbidden"),
                msg(CREATED + 3, body=body_of_size(12_001)),
                msg(CREATED + 4),
            ),
            now=NOW,
        )
        expected = ([0, 10004, 80001, 80002, 0], [1, None, None, None, 2])
        assert expected == (
            codes(results),
            seqs(results),
        )


class TestGroupChecks:
    """Whole-call refusals about the group."""

    def test_unknown_group_is_10010(self) -> None:
        """Messages for a group that does not exist are refused as a whole with 10010."""
        with pytest.raises(ApiError) as caught:
            EmulatorStore().import_messages(batch(msg(CREATED + 1)), now=NOW)
        expected = rules.GROUP_NOT_FOUND
        assert expected == caught.value.code

    def test_topic_on_a_group_without_topics_is_10004(self, store: EmulatorStore) -> None:
        """TopicId is only valid for a topic-enabled Community group."""
        with pytest.raises(ApiError) as caught:
            store.import_messages(batch(msg(CREATED + 1), topic="t1"), now=NOW)
        expected = rules.INVALID_PARAMETER
        assert expected == caught.value.code


class TestHistory:
    """group_msg_get_simple in memory: newest first, bounded by seq, topics, deletions."""

    def test_newest_first_with_max_seq(self, store: EmulatorStore) -> None:
        """History returns up to ReqMsgNumber messages with seq <= ReqMsgSeq, newest first."""
        store.import_messages(batch(*(msg(CREATED + n) for n in range(1, 8))), now=NOW)
        latest = store.history(HistoryRequest("g1", number=3, max_seq=None, topic_id=None))
        older = store.history(HistoryRequest("g1", number=3, max_seq=4, topic_id=None))
        expected = ([7, 6, 5], [4, 3, 2])
        assert expected == ([m.seq for m in latest], [m.seq for m in older])

    def test_topic_filter(self) -> None:
        """With TopicId only that topic's messages are returned."""
        store = EmulatorStore()
        store.import_group(group_request(group_type="Community", support_topic=1), now=NOW)
        store.import_messages(batch(msg(CREATED + 1), topic="a"), now=NOW)
        store.import_messages(batch(msg(CREATED + 2), topic="b"), now=NOW)
        page = store.history(HistoryRequest("g1", number=20, max_seq=None, topic_id="a"))
        expected = [1]
        assert expected == [m.seq for m in page]

    def test_deleted_message_stays_in_place(self, store: EmulatorStore) -> None:
        """A deleted message keeps its seq and is flagged."""
        store.import_messages(batch(msg(CREATED + 1), msg(CREATED + 2)), now=NOW)
        store.delete("g1", 1)
        page = store.history(HistoryRequest("g1", number=20, max_seq=None, topic_id=None))
        expected = [(2, False), (1, True)]
        assert expected == [(m.seq, m.deleted) for m in page]

    def test_recalled_messages_are_left_out_unless_asked_for(self, store: EmulatorStore) -> None:
        """A recalled message is not pulled by default; WithRecalledMsg brings it back."""
        store.import_messages(batch(*(msg(CREATED + n) for n in range(1, 4))), now=NOW)
        store.recall("g1", 2)
        default = store.history(HistoryRequest("g1", number=20, max_seq=None, topic_id=None))
        asked = store.history(
            HistoryRequest("g1", number=20, max_seq=None, topic_id=None, with_recalled=True)
        )
        expected = ([3, 1], [(3, False), (2, True), (1, False)])
        assert expected == ([m.seq for m in default], [(m.seq, m.recalled) for m in asked])

    def test_unknown_group_is_10010(self) -> None:
        """History of a group that does not exist is 10010."""
        with pytest.raises(ApiError) as caught:
            EmulatorStore().history(HistoryRequest("nope", number=1, max_seq=None, topic_id=None))
        expected = rules.GROUP_NOT_FOUND
        assert expected == caught.value.code


def refusal(call: Any) -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.code, caught.value.info


def accounts(*names: str) -> tuple[AccountImport, ...]:
    return tuple(AccountImport(name, None, None) for name in names)


def members(*entries: tuple[str, int | None], group_id: str = "g1", **kw: Any) -> Any:
    return MemberImportRequest(
        group_id=group_id,
        members=tuple(
            MemberImport(account, kw.get("role"), join_time, kw.get("unread"))
            for account, join_time in entries
        ),
    )


def with_members(*names: str) -> EmulatorStore:
    store = EmulatorStore()
    store.import_accounts(accounts(*names))
    store.import_group(group_request(), now=NOW)
    store.import_members(members(*((name, CREATED + 5) for name in names)), now=NOW)
    return store


class TestAccounts:
    def test_accounts_are_created_and_updated(self):
        """An account imported twice is one account, with its latest profile."""
        store = EmulatorStore()
        store.import_accounts(accounts("a"))
        failed = store.import_accounts((AccountImport("a", "Nick", None), *accounts("b")))
        assert ([], ["a", "b"], "Nick") == (
            failed,
            [a.user_id for a in store.accounts()],
            store.accounts()[0].nick,
        )

    def test_refused_and_over_limit_accounts_are_listed_as_failed(self):
        """A refused account, one over 32 bytes and one over the plan's limit: FailAccounts."""
        store = EmulatorStore(refused_accounts=["bad"], max_accounts=2)
        failed = store.import_accounts(accounts("a", "bad", "x" * 33, "b", "c"))
        assert (["bad", "x" * 33, "c"], 2) == (failed, len(store.accounts()))


class TestMembers:
    def test_the_owner_is_the_first_member(self):
        """import_group with Owner_Account makes the owner a member, role Owner."""
        store = EmulatorStore()
        request = group_request()
        owned = replace(request, profile={**request.profile, "Owner_Account": "boss"})
        group = store.import_group(owned, now=NOW)
        assert [("boss", "Owner")] == [(m.account, m.role) for m in group.members.values()]

    def test_results_say_imported_already_a_member_or_failed(self):
        """1 imported, 2 already a member, 0 for a JoinTime not after creation or not before now."""
        store = with_members("a")
        store.import_accounts(accounts("b", "c", "d"))
        results = store.import_members(
            members(("a", None), ("b", CREATED + 1), ("c", CREATED), ("d", NOW)), now=NOW
        )
        assert [2, 1, 0, 0] == results

    def test_a_member_that_is_not_an_account_refuses_the_call(self):
        """10019 for the whole call, naming the account; nobody joins."""
        store = with_members("a")
        store.import_accounts(accounts("b"))
        code, info = refusal(
            lambda: store.import_members(members(("b", None), ("ghost", None)), now=NOW)
        )
        assert (rules.ACCOUNT_NOT_FOUND, True, ["a"]) == (
            code,
            "'ghost'" in info,
            list(store.group("g1").members),
        )

    def test_a_full_group_refuses_the_call(self):
        """More members than MaxMemberCount: 10014 for the whole call."""
        store = EmulatorStore()
        store.import_accounts(accounts("a", "b", "c"))
        request = group_request()
        small = replace(request, profile={**request.profile, "MaxMemberCount": 2})
        store.import_group(small, now=NOW)
        code, _ = refusal(
            lambda: store.import_members(members(("a", None), ("b", None), ("c", None)), now=NOW)
        )
        assert rules.GROUP_FULL == code

    def test_a_missing_group_is_10010(self):
        """Members of a group that does not exist: 10010."""
        store = EmulatorStore()
        store.import_accounts(accounts("a"))
        code, _ = refusal(lambda: store.import_members(members(("a", None)), now=NOW))
        assert rules.GROUP_NOT_FOUND == code


class TestUnreadCounts:
    def test_a_message_import_resets_every_unread_count(self):
        """Unread counts set before a message import are 0 after it."""
        store = with_members("a")
        store.import_messages(batch(msg(CREATED + 10), msg(CREATED + 11)), now=NOW)
        store.set_unread(UnreadRequest("g1", "a", 2))
        store.import_messages(batch(msg(CREATED + 12)), now=NOW)
        group = store.group("g1")
        assert 0 == group.unread(group.members["a"])

    def test_unread_counts_are_clamped_to_the_message_count(self):
        """set_unread_msg_num and import_group_member both clamp to the messages held."""
        store = with_members("a")
        store.import_messages(batch(msg(CREATED + 10), msg(CREATED + 11)), now=NOW)
        store.set_unread(UnreadRequest("g1", "a", 50))
        store.import_accounts(accounts("b"))
        store.import_members(members(("b", CREATED + 1), unread=9), now=NOW)
        group = store.group("g1")
        assert (2, 2) == (group.unread(group.members["a"]), group.unread(group.members["b"]))

    def test_meeting_groups_ignore_unread_counts(self):
        """set_unread_msg_num on a Meeting group answers OK and sets nothing."""
        store = EmulatorStore()
        store.import_accounts(accounts("a"))
        store.import_group(group_request(group_type="Meeting"), now=NOW)
        store.import_members(members(("a", CREATED + 1)), now=NOW)
        store.import_messages(batch(msg(CREATED + 10)), now=NOW)
        store.set_unread(UnreadRequest("g1", "a", 1))
        group = store.group("g1")
        assert 0 == group.unread(group.members["a"])

    def test_a_non_member_is_refused(self):
        """An unread count for an account that is not a member: refused (10007, unconfirmed)."""
        store = with_members("a")
        code, _ = refusal(lambda: store.set_unread(UnreadRequest("g1", "stranger", 1)))
        assert rules.NOT_A_MEMBER == code

    def test_recent_contact_flag_counts_except_for_community_groups(self):
        """RecentContactFlag 1 updates conversations; a Community group does not support it."""
        store = EmulatorStore()
        store.import_group(group_request("g1"), now=NOW)
        store.import_group(group_request("c1", "Community"), now=NOW)
        for group_id in ("g1", "c1"):
            request = MessageImportRequest(
                group_id, None, (msg(CREATED + 10),), recent_contact=True
            )
            store.import_messages(request, now=NOW)
        assert (1, 0) == (
            store.group("g1").recent_contact_updates,
            store.group("c1").recent_contact_updates,
        )
