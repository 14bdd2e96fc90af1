# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

from typing import Any

import pytest

from service.emulator import zego_rules as zr
from service.emulator.errors import ApiError
from service.emulator.zego_store import ZimStore
from service.emulator.zego_validation import (
    parse_create_group,
    parse_import_message,
    parse_invite_users,
    parse_query_messages,
    parse_user_register,
)

NOW_MS = 1_700_000_000_000
# the users the tests name, registered with ZIM from the start
USERS = ("owner", "leckie", "u1", "u2")


def new_store(**options: Any) -> ZimStore:
    return ZimStore(registered_users=options.pop("registered_users", USERS), **options)


def group_body(**fields: Any) -> dict[str, Any]:
    return {"GroupId": "g1", "GroupOwner": "owner", "GroupName": "club", **fields}


def message_body(send_ms: int | None = NOW_MS - 10_000, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "FromUserId": "leckie",
        "GroupId": "g1",
        "MessageType": 1,
        "Priority": 2,
        "MessageBody": {"Message": "hello"},
        **fields,
    }
    if send_ms is not None:
        body["SendMessageTime"] = send_ms
    return body


def store_with_group(**options: Any) -> ZimStore:
    store = new_store(**options)
    store.create_group(parse_create_group(group_body()), now_ms=NOW_MS)
    return store


def refusal(call: Any) -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.code, caught.value.info


class TestCreateGroup:
    def test_a_group_is_created_with_its_profile(self) -> None:
        """Owner, name, notice, avatar, members, attributes and creation time are kept."""
        store = new_store()
        request = parse_create_group(
            group_body(
                GroupNotice="n",
                GroupAvatar="a",
                UserId=["u1", "u2"],
                Attributes=[{"Key": "k", "Value": "v"}],
                CreateGroupTime=NOW_MS - 5,
            )
        )
        group = store.create_group(request, now_ms=NOW_MS)
        assert ("owner", "club", "n", "a", ["owner", "u1", "u2"], {"k": "v"}, NOW_MS - 5) == (
            group.owner,
            group.name,
            group.notice,
            group.avatar,
            list(group.members),
            group.attributes,
            group.create_time_ms,
        )

    def test_an_existing_group_id_is_660600011(self) -> None:
        """Creating the same GroupId twice: the group already exists."""
        store = store_with_group()
        code, _ = refusal(
            lambda: store.create_group(parse_create_group(group_body()), now_ms=NOW_MS)
        )
        assert zr.GROUP_EXISTS == code

    def test_creation_time_in_the_future_is_refused(self) -> None:
        """CreateGroupTime later than now: parameter error (2)."""
        request = parse_create_group(group_body(CreateGroupTime=NOW_MS + 1))
        assert (
            zr.PARAMETER_ERROR
            == refusal(lambda: new_store().create_group(request, now_ms=NOW_MS))[0]
        )

    @pytest.mark.parametrize(
        ("fields", "named"),
        [
            ({"GroupId": "g" * 33}, "GroupId"),
            ({"GroupId": "#g"}, "GroupId"),
            ({"GroupId": "a/b"}, "GroupId"),
            ({"GroupOwner": None}, "GroupOwner"),
            ({"GroupName": "n" * 51}, "GroupName"),
            ({"GroupNotice": "n" * 301}, "GroupNotice"),
            ({"GroupAvatar": "a" * 501}, "GroupAvatar"),
            ({"UserId": [f"u{i}" for i in range(101)]}, "UserId"),
            ({"Attributes": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]}, "Attributes"),
            ({"Attributes": [{"Key": "k" * 17, "Value": "v"}]}, "Attributes[0].Key"),
            ({"Attributes": [{"Key": "k", "Value": "v" * 1025}]}, "Attributes[0].Value"),
            ({"Owner": "x"}, "Owner"),
        ],
    )
    def test_documented_limits_are_enforced(self, fields: dict[str, Any], named: str) -> None:
        """Each CreateGroup limit, broken, is a parameter error (2) naming the field."""
        body = {k: v for k, v in group_body(**fields).items() if v is not None}
        code, info = refusal(lambda: parse_create_group(body))
        assert (zr.PARAMETER_ERROR, True) == (code, named in info)

    def test_limits_at_their_edge_are_accepted(self) -> None:
        """32-byte GroupId, 50-byte name, 100 members and 10 attributes are fine."""
        request = parse_create_group(
            group_body(
                GroupId="g" * 32,
                GroupName="n" * 50,
                UserId=[f"u{i}" for i in range(100)],
                Attributes=[{"Key": "k" * 16, "Value": "v" * 1024} for _ in range(10)],
            )
        )
        assert (
            "g" * 32
            == new_store(registered_users=(*USERS, *(f"u{i}" for i in range(100))))
            .create_group(request, now_ms=NOW_MS)
            .group_id
        )


class TestImportMessage:
    def test_seq_counts_from_one_per_group(self) -> None:
        """Each group has its own MsgSeq from 1, in import order."""
        store = store_with_group()
        store.create_group(parse_create_group(group_body(GroupId="g2")), now_ms=NOW_MS)
        seqs = [
            store.import_message(parse_import_message(message_body(GroupId=g)), now_ms=NOW_MS).seq
            for g in ("g1", "g1", "g2", "g1")
        ]
        assert [1, 2, 1, 3] == seqs

    def test_unknown_group_is_660600001(self) -> None:
        """A message for a group that does not exist."""
        request = parse_import_message(message_body(GroupId="nope"))
        assert (
            zr.GROUP_NOT_FOUND
            == refusal(lambda: new_store().import_message(request, now_ms=NOW_MS))[0]
        )

    def test_unregistered_sender_is_660500002_and_not_stored(self) -> None:
        """A configured unregistered sender is refused; the group stays empty."""
        store = store_with_group(unregistered_users=["ghost"])
        request = parse_import_message(message_body(FromUserId="ghost"))
        code, info = refusal(lambda: store.import_message(request, now_ms=NOW_MS))
        assert (zr.SENDER_NOT_REGISTERED, True, 0) == (code, "ghost" in info, store.message_count())

    @pytest.mark.parametrize(
        ("body", "stored"),
        [
            ({"Message": "x" * 2048}, True),
            ({"Message": "x" * 2049}, False),
            ({"Message": "é" * 1025}, False),  # 2,050 bytes
            ({"Message": "x", "ExtendedData": "e" * 1024}, True),
            ({"Message": "x", "ExtendedData": "e" * 1025}, False),
        ],
    )
    def test_size_limits_are_660400001(self, body: dict[str, str], stored: bool) -> None:
        """Message over 2 KB or ExtendedData over 1 KB (UTF-8 bytes): 660400001."""
        store = store_with_group()
        request = parse_import_message(message_body(MessageBody=body))
        if stored:
            assert 1 == store.import_message(request, now_ms=NOW_MS).seq
        else:
            assert (
                zr.MESSAGE_TOO_LARGE
                == refusal(lambda: store.import_message(request, now_ms=NOW_MS))[0]
            )

    def test_message_size_limit_is_a_setting(self) -> None:
        """An app that raised its limit to 32 KB accepts a 3 KB message."""
        store = store_with_group(message_size_limit=32 * 1024)
        request = parse_import_message(message_body(MessageBody={"Message": "x" * 3072}))
        assert 1 == store.import_message(request, now_ms=NOW_MS).seq

    def test_messages_go_in_chronological_order_equal_times_allowed(self) -> None:
        """Not earlier than the latest message (2), but the same millisecond is fine."""
        store = store_with_group()
        store.import_message(parse_import_message(message_body(NOW_MS - 100)), now_ms=NOW_MS)
        same = store.import_message(parse_import_message(message_body(NOW_MS - 100)), now_ms=NOW_MS)
        earlier = parse_import_message(message_body(NOW_MS - 101))
        code, info = refusal(lambda: store.import_message(earlier, now_ms=NOW_MS))
        assert (2, zr.PARAMETER_ERROR, True) == (same.seq, code, "earlier" in info)

    def test_send_time_in_the_future_is_refused(self) -> None:
        """SendMessageTime later than now: 2."""
        store = store_with_group()
        request = parse_import_message(message_body(NOW_MS + 1))
        assert (
            zr.PARAMETER_ERROR == refusal(lambda: store.import_message(request, now_ms=NOW_MS))[0]
        )

    def test_send_time_older_than_the_retention_is_refused(self) -> None:
        """Older than the plan's retention days: 2."""
        store = store_with_group(retention_days=7)
        request = parse_import_message(message_body(NOW_MS - 8 * 86_400_000))
        assert (
            zr.PARAMETER_ERROR == refusal(lambda: store.import_message(request, now_ms=NOW_MS))[0]
        )

    def test_no_send_time_means_now(self) -> None:
        """SendMessageTime 0 or absent: the current time."""
        store = store_with_group()
        assert (
            NOW_MS
            == store.import_message(parse_import_message(message_body(0)), now_ms=NOW_MS).time_ms
        )

    @pytest.mark.parametrize(
        ("fields", "named"),
        [
            ({"MessageType": 2}, "signalling"),
            ({"MessageType": 11}, "MessageType"),
            ({"Priority": 4}, "Priority"),
            ({"Priority": None}, "Priority"),
            ({"FromUserId": "a/b"}, "FromUserId"),
            ({"MessageBody": {"Text": "x"}}, "MessageBody.Text"),
            ({"MessageBody": {}}, "MessageBody.Message"),
            ({"MessageType": 200, "SearchedContent": "s"}, "SubMsgType"),
            ({"MessageType": 200, "SubMsgType": 0}, "SearchedContent"),
            ({"MessageType": 200, "SubMsgType": 201, "SearchedContent": ""}, "SubMsgType"),
            ({"MessageType": 200, "SubMsgType": 0, "SearchedContent": "s" * 65}, "SearchedContent"),
            ({"Random": 5}, "Random"),
        ],
    )
    def test_request_rules_are_parameter_errors(self, fields: dict[str, Any], named: str) -> None:
        """Each broken ImportGroupMsg rule is refused with 2, naming the field."""
        body = {k: v for k, v in message_body(**fields).items() if v is not None}
        code, info = refusal(lambda: parse_import_message(body))
        assert (zr.PARAMETER_ERROR, True) == (code, named in info)

    def test_custom_message_keeps_its_fields(self) -> None:
        """MessageType 200 with SubMsgType, SearchedContent and ExtendedData is stored as sent."""
        store = store_with_group()
        body = message_body(
            MessageType=200,
            SubMsgType=7,
            SearchedContent="find me",
            MessageBody={"Message": "data", "ExtendedData": "ext"},
        )
        stored = store.import_message(parse_import_message(body), now_ms=NOW_MS)
        assert (200, 7, "find me", "data", "ext") == (
            stored.message_type,
            stored.sub_msg_type,
            stored.searched_content,
            stored.message,
            stored.extended_data,
        )


def query(store: ZimStore, limit: int, cursor: int = 0, **fields: Any) -> tuple[list[int], int]:
    page = store.history(
        parse_query_messages({"GroupId": "g1", "Limit": limit, "Next": cursor, **fields})
    )
    return [m.seq for m in page.messages], zr.encode_cursor(page.next_seq or 0)


class TestHistory:
    def fill(self, count: int) -> ZimStore:
        store = store_with_group()
        for n in range(count):
            body = message_body(NOW_MS - 1000 + n, MessageBody={"Message": f"#{n}"})
            store.import_message(parse_import_message(body), now_ms=NOW_MS)
        return store

    def test_pages_newest_first_and_next_is_zero_at_the_end(self) -> None:
        """Limit 2 over 5 messages: 5 4, 3 2, 1 and Next 0."""
        store = self.fill(5)
        pages = []
        cursor = 0
        while True:
            seqs, cursor = query(store, 2, cursor)
            pages.append(seqs)
            if cursor == 0:
                break
        assert [[5, 4], [3, 2], [1]] == pages

    def test_next_is_opaque(self) -> None:
        """A Next no answer returned (e.g. a seq) is a parameter error."""
        store = self.fill(5)
        assert zr.PARAMETER_ERROR == refusal(lambda: query(store, 2, 3))[0]

    def test_limit_is_one_to_one_hundred(self) -> None:
        """Limit 0 or 101: parameter error."""
        store = self.fill(1)
        assert [zr.PARAMETER_ERROR] * 2 == [
            refusal(lambda n=n: query(store, n))[0] for n in (0, 101)
        ]

    def test_empty_messages_show_only_with_with_empty_msg(self) -> None:
        """An emptied message is skipped unless WithEmptyMsg is 1."""
        store = self.fill(3)
        store.empty("g1", 2)
        assert ([3, 1], [3, 2, 1]) == (
            query(store, 10)[0],
            query(store, 10, WithEmptyMsg=1)[0],
        )

    def test_unknown_group_is_660600001(self) -> None:
        """History of a group that does not exist."""
        request = parse_query_messages({"GroupId": "nope", "Limit": 1, "Next": 0})
        assert zr.GROUP_NOT_FOUND == refusal(lambda: new_store().history(request))[0]


class TestUsersAndMembers:
    def test_registration_is_refused_for_configured_users_only(self) -> None:
        """UserRegister registers users; one ZIM refuses is in ErrorList with SubCode 2."""
        store = ZimStore(unregistered_users=["ghost"])
        refused = store.register(
            parse_user_register({"UserInfo": [{"UserId": "a"}, {"UserId": "ghost"}]})
        )
        assert ([("ghost", 2)], ["a"]) == (refused, store.users())

    def test_an_unregistered_owner_cannot_create_a_group(self) -> None:
        """CreateGroup names an owner ZIM does not know: 660500002, no group."""
        store = ZimStore()
        code, info = refusal(
            lambda: store.create_group(parse_create_group(group_body()), now_ms=NOW_MS)
        )
        assert (zr.SENDER_NOT_REGISTERED, True, []) == (code, "'owner'" in info, store.groups())

    def test_an_unregistered_sender_is_refused(self) -> None:
        """A message from a user who never registered: 660500002."""
        store = new_store(registered_users=("owner",))
        store.create_group(parse_create_group(group_body()), now_ms=NOW_MS)
        code, _ = refusal(
            lambda: store.import_message(parse_import_message(message_body()), now_ms=NOW_MS)
        )
        assert zr.SENDER_NOT_REGISTERED == code

    def test_invitees_join_with_their_entry_time(self) -> None:
        """InviteUsersIntoGroup adds members; an entry time before the group is refused alone."""
        store = new_store()
        created = parse_create_group(group_body(CreateGroupTime=NOW_MS - 10))
        store.create_group(created, now_ms=NOW_MS)
        refused = store.invite(
            parse_invite_users(
                {
                    "FromUserId": "owner",
                    "GroupId": "g1",
                    "GroupMemberInfos": [
                        {"UserId": "u1", "EnterGroupTime": NOW_MS - 1},
                        {"UserId": "u2", "EnterGroupTime": 1},
                    ],
                }
            ),
            now_ms=NOW_MS,
        )
        assert ([("u2", 2)], {"owner": NOW_MS - 10, "u1": NOW_MS - 1}) == (
            refused,
            store.group("g1").members,
        )

    def test_an_unregistered_invitee_refuses_the_call(self) -> None:
        """One invitee ZIM does not know: 660500002 for the call, naming it."""
        store = store_with_group()
        request = parse_invite_users(
            {"FromUserId": "owner", "GroupId": "g1", "UserIds": ["u1", "nobody"]}
        )
        code, info = refusal(lambda: store.invite(request, now_ms=NOW_MS))
        assert (zr.SENDER_NOT_REGISTERED, True, ["owner"]) == (
            code,
            "'nobody'" in info,
            list(store.group("g1").members),
        )

    def test_one_invitation_per_second_per_group(self) -> None:
        """A second InviteUsersIntoGroup of one group within a second: code 7; after it: fine."""
        store = store_with_group()
        store.create_group(parse_create_group(group_body(GroupId="g2")), now_ms=NOW_MS)

        def invite(group_id: str, user: str, at: int) -> object:
            body = {"FromUserId": "owner", "GroupId": group_id, "UserIds": [user]}
            return store.invite(parse_invite_users(body), now_ms=at)

        invite("g1", "u1", NOW_MS)
        code, _ = refusal(lambda: invite("g1", "u2", NOW_MS + 999))
        invite("g2", "u2", NOW_MS + 999)
        invite("g1", "u2", NOW_MS + 1_000)
        assert (zr.CALLS_PER_SECOND_LIMIT, ["owner", "u1", "u2"]) == (
            code,
            list(store.group("g1").members),
        )
