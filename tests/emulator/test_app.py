# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from service.emulator import rules
from service.emulator.app import create_emulator_app
from service.emulator.validation import parse_import_group

from .helpers import (
    API,
    WRONG_SIGNING_KEY,
    Caller,
    make_config,
    message,
    query,
    serving,
    sign,
    text_body,
)

pytestmark = pytest.mark.emulator

T0 = int(time.time()) - 100_000  # group creation time for the tests


async def group_with_messages(emulator: Caller, group_id: str, count: int) -> None:
    """Import a Public group and ``count`` messages one second apart, seven per call."""
    await emulator.import_group(group_id, T0)
    for start in range(0, count, 7):
        batch = [message(T0 + n + 1, f"#{n}") for n in range(start, min(start + 7, count))]
        answer = await emulator.import_messages(group_id, batch)
        expected = {0}
        assert expected == {entry["Result"] for entry in answer["ImportMsgResult"]}


class TestAuthentication:
    """The query string and UserSig, checked over HTTP."""

    @pytest.mark.asyncio
    async def test_missing_user_sig_is_70002(self, emulator: Caller) -> None:
        """A call without usersig is refused with 70002 (HTTP 200, ActionStatus FAIL)."""
        response = await emulator.call(
            "import_group", {"Type": "Public", "Name": "x"}, usersig=None
        )
        expected = (200, "FAIL", 70002)
        assert expected == (
            response.status_code,
            response.json()["ActionStatus"],
            response.json()["ErrorCode"],
        )

    @pytest.mark.asyncio
    async def test_invalid_user_sig_is_70003(self, emulator: Caller) -> None:
        """A UserSig signed with another key is refused with 70003."""
        response = await emulator.call(
            "import_group",
            {"Type": "Public", "Name": "x"},
            usersig=sign(secret_key=WRONG_SIGNING_KEY),
        )
        expected = 70003
        assert expected == response.json()["ErrorCode"]

    @pytest.mark.asyncio
    async def test_expired_user_sig_is_70001(self, emulator: Caller) -> None:
        """A UserSig past its expiry is refused with 70001."""
        expired = sign(now=int(time.time()) - 1_000, expire=10)
        response = await emulator.call(
            "import_group", {"Type": "Public", "Name": "x"}, usersig=expired
        )
        expected = 70001
        assert expected == response.json()["ErrorCode"]

    @pytest.mark.asyncio
    async def test_refused_calls_are_not_applied(self, emulator: Caller) -> None:
        """Nothing is stored by a call whose UserSig is refused."""
        await emulator.call(
            "import_group", {"Type": "Public", "Name": "x", "GroupId": "g"}, usersig="junk"
        )
        expected: list[object] = []
        assert expected == (await emulator.inspect("/groups"))["groups"]

    @pytest.mark.asyncio
    async def test_repeated_failures_lock_the_app_out(self, emulator: Caller) -> None:
        """After 10 UserSig failures even a valid call is answered 70050."""
        for _ in range(10):
            await emulator.call("group_msg_get_simple", {}, usersig="junk")
        response = await emulator.call("group_msg_get_simple", {"GroupId": "g", "ReqMsgNumber": 1})
        expected = rules.SIG_LOCKED
        assert expected == response.json()["ErrorCode"]


class TestRequests:
    """Request validation and the documented happy path over HTTP."""

    @pytest.mark.asyncio
    async def test_unknown_api_is_10003(self, emulator: Caller) -> None:
        """An API the emulator does not know answers 10003 with HTTP 200."""
        response = await emulator.call("destroy_group", {"GroupId": "g"})
        expected = (200, "FAIL", 10003)
        assert expected == (
            response.status_code,
            response.json()["ActionStatus"],
            response.json()["ErrorCode"],
        )

    @pytest.mark.asyncio
    async def test_malformed_json_is_10004(self, emulator: Caller) -> None:
        """A body that is not JSON answers 10004 with HTTP 200."""
        response = await emulator.client.post(
            API + "import_group", params=query(), content=b"{not json"
        )
        expected = (200, 10004)
        assert expected == (response.status_code, response.json()["ErrorCode"])

    @pytest.mark.asyncio
    async def test_eight_messages_are_10004_and_nothing_is_stored(self, emulator: Caller) -> None:
        """import_group_msg with eight messages fails as a whole with 10004."""
        await emulator.import_group("g", T0)
        answer = await emulator.import_messages("g", [message(T0 + n + 1) for n in range(8)])
        stored = await emulator.inspect("/groups/g/messages")
        expected: tuple[str, int, list[object]] = ("FAIL", 10004, [])
        assert expected == (
            answer["ActionStatus"],
            answer["ErrorCode"],
            stored["messages"],
        )

    @pytest.mark.asyncio
    async def test_import_group_then_messages(self, emulator: Caller) -> None:
        """The documented happy path: GroupId back, then one result per message in order."""
        group = await emulator.import_group("club", T0)
        answer = await emulator.import_messages("club", [message(T0 + 1), message(T0 + 2)])
        expected = ("club", [(1, T0 + 1, 0), (2, T0 + 2, 0)])
        assert expected == (
            group["GroupId"],
            [(e["MsgSeq"], e["MsgTime"], e["Result"]) for e in answer["ImportMsgResult"]],
        )

    @pytest.mark.asyncio
    async def test_refused_message_has_no_seq(self, emulator: Caller) -> None:
        """A message refused on its own carries Result and MsgTime but no MsgSeq."""
        await emulator.import_group("g", T0)
        answer = await emulator.import_messages("g", [message(T0 - 5), message(T0 + 1)])
        expected = [
            {"MsgTime": T0 - 5, "Result": 10004},
            {"MsgSeq": 1, "MsgTime": T0 + 1, "Result": 0},
        ]
        assert expected == answer["ImportMsgResult"]

    @pytest.mark.asyncio
    async def test_existing_group_and_unknown_group(self, emulator: Caller) -> None:
        """import_group twice is 10021; messages for an unknown group are 10010."""
        await emulator.import_group("g", T0)
        again = await emulator.import_group("g", T0)
        unknown = await emulator.import_messages("nope", [message(T0 + 1)])
        expected = (10021, 10010)
        assert expected == (again["ErrorCode"], unknown["ErrorCode"])


class TestRateLimit:
    """The app-wide call budget: the excess call is refused and not applied."""

    @pytest.mark.asyncio
    async def test_burst_over_the_budget_is_refused_and_not_applied(self) -> None:
        """Of 12 calls fired at once with a budget of 5 per second, 7 get the limit code.

        The load's shape (calls admitted per tenth of a second) counts only the admitted ones.
        """
        async with serving(make_config(calls_per_second=5)) as emulator:
            bodies = [{"Type": "Public", "Name": "n", "GroupId": f"g{n}"} for n in range(12)]
            responses = await asyncio.gather(*(emulator.call("import_group", b) for b in bodies))
            codes = [r.json()["ErrorCode"] for r in responses]
            groups = (await emulator.inspect("/groups"))["groups"]
            stats = await emulator.inspect("/stats")
        expected = (5, 7, 5, 7, 5)
        assert expected == (
            codes.count(0),
            codes.count(rules.RATE_LIMITED),
            len(groups),
            stats["rate_limited"],
            sum(stats["admitted_per_tenth"]),
        )

    @pytest.mark.asyncio
    async def test_limit_code_is_a_setting(self) -> None:
        """rate_limit_error_code chooses the code of the refused call."""
        async with serving(
            make_config(calls_per_second=1, rate_limit_error_code=60018)
        ) as emulator:
            await emulator.call("group_msg_get_simple", {"GroupId": "g", "ReqMsgNumber": 1})
            second = await emulator.call(
                "group_msg_get_simple", {"GroupId": "g", "ReqMsgNumber": 1}
            )
        expected = 60018
        assert expected == second.json()["ErrorCode"]


class TestFaults:
    """Injected latency and failures, and whether the call was applied."""

    @pytest.mark.asyncio
    async def test_injected_500_is_not_applied(self, emulator: Caller) -> None:
        """With HTTP 500 injected the client gets status 500 and the group is not created."""
        await emulator.client.put("/_emulator/faults", json={"http_500_probability": 1})
        response = await emulator.call(
            "import_group", {"Type": "Public", "Name": "n", "GroupId": "g"}
        )
        groups = (await emulator.inspect("/groups"))["groups"]
        expected: tuple[int, list[object]] = (500, [])
        assert expected == (response.status_code, groups)

    @pytest.mark.asyncio
    async def test_injected_10002_is_not_applied(self, emulator: Caller) -> None:
        """With 10002 injected the call fails with ErrorCode 10002 and nothing is stored."""
        await emulator.import_group("g", T0)
        await emulator.client.put("/_emulator/faults", json={"internal_error_probability": 1})
        answer = await emulator.import_messages("g", [message(T0 + 1)])
        stored = (await emulator.inspect("/groups/g/messages"))["messages"]
        expected: tuple[int, list[object]] = (10002, [])
        assert expected == (answer["ErrorCode"], stored)

    @pytest.mark.asyncio
    async def test_applied_then_reset_is_applied_and_the_client_sees_a_transport_error(
        self, emulator: Caller
    ) -> None:
        """The messages are stored, but the client's request fails with httpx.TransportError."""
        await emulator.import_group("g", T0)
        await emulator.client.put("/_emulator/faults", json={"applied_then_reset_probability": 1})
        with pytest.raises(httpx.TransportError):
            await emulator.import_messages("g", [message(T0 + 1), message(T0 + 2)])
        stored = (await emulator.inspect("/groups/g/messages"))["messages"]
        stats = await emulator.inspect("/stats")
        expected = ([1, 2], 1)
        assert expected == ([m["seq"] for m in stored], stats["faults"]["applied_then_reset"])

    @pytest.mark.asyncio
    async def test_latency_is_added(self, emulator: Caller) -> None:
        """A 100 ms latency delays the answer by at least that much."""
        await emulator.client.put("/_emulator/faults", json={"latency_ms": 100})
        started = time.perf_counter()
        await emulator.call("group_msg_get_simple", {"GroupId": "g", "ReqMsgNumber": 1})
        assert time.perf_counter() - started >= 0.1

    @pytest.mark.asyncio
    async def test_fault_configuration_round_trips_and_is_validated(self, emulator: Caller) -> None:
        """PUT replaces the faults (GET shows them); an impossible configuration is 422."""
        await emulator.client.put("/_emulator/faults", json={"latency_ms": 5, "seed": 9})
        shown = await emulator.inspect("/faults")
        bad = await emulator.client.put("/_emulator/faults", json={"http_500_probability": 2})
        expected = ((5.0, 9), 422)
        assert expected == ((shown["latency_ms"], shown["seed"]), bad.status_code)


class TestHistory:
    """group_msg_get_simple over HTTP."""

    @pytest.mark.asyncio
    async def test_paging_newest_first_with_req_msg_seq(self, emulator: Caller) -> None:
        """Pages of 4 walk the history from the newest message down with ReqMsgSeq."""
        await group_with_messages(emulator, "g", 10)
        pages = []
        seq = None
        while True:
            answer = await emulator.history("g", 4, seq)
            page = [m["MsgSeq"] for m in answer["RspMsgList"]]
            if not page:
                break
            pages.append(page)
            seq = page[-1] - 1
        expected = [[10, 9, 8, 7], [6, 5, 4, 3], [2, 1]]
        assert expected == pages

    @pytest.mark.asyncio
    async def test_entry_fields_are_the_documented_ones(self, emulator: Caller) -> None:
        """Each entry has exactly the documented fields; the answer names the group."""
        await emulator.import_group("g", T0)
        await emulator.import_messages("g", [message(T0 + 1, "hi", Random=77)])
        answer = await emulator.history("g", 1)
        expected = (
            "g",
            1,
            [
                {
                    "From_Account": "leckie",
                    "IsPlaceMsg": 0,
                    "MsgBody": text_body("hi"),
                    "MsgPriority": 1,
                    "MsgRandom": 77,
                    "MsgSeq": 1,
                    "MsgTimeStamp": T0 + 1,
                }
            ],
        )
        assert expected == (answer["GroupId"], answer["IsFinished"], answer["RspMsgList"])

    @pytest.mark.asyncio
    async def test_deleted_message_is_a_placeholder(self, emulator: Caller) -> None:
        """A deleted message comes back with IsPlaceMsg 1 and an empty MsgBody."""
        await group_with_messages(emulator, "g", 3)
        deleted = await emulator.client.post("/_emulator/groups/g/messages/2/delete")
        answer = await emulator.history("g", 20)
        expected = (200, [(3, 0, 1), (2, 1, 0), (1, 0, 1)])
        assert expected == (
            deleted.status_code,
            [(m["MsgSeq"], m["IsPlaceMsg"], len(m["MsgBody"])) for m in answer["RspMsgList"]],
        )

    @pytest.mark.asyncio
    async def test_recalled_message_is_a_placeholder_with_with_recalled_msg(
        self, emulator: Caller
    ) -> None:
        """Recalled: left out by default, IsPlaceMsg 2 with an empty body when asked for."""
        await group_with_messages(emulator, "g", 3)
        recalled = await emulator.client.post("/_emulator/groups/g/messages/2/recall")
        default = await emulator.history("g", 20)
        asked = await emulator.ok(
            "group_msg_get_simple", {"GroupId": "g", "ReqMsgNumber": 20, "WithRecalledMsg": 1}
        )
        expected = (200, [3, 1], [(3, 0, 1), (2, 2, 0), (1, 0, 1)])
        assert expected == (
            recalled.status_code,
            [m["MsgSeq"] for m in default["RspMsgList"]],
            [(m["MsgSeq"], m["IsPlaceMsg"], len(m["MsgBody"])) for m in asked["RspMsgList"]],
        )

    @pytest.mark.asyncio
    async def test_system_message_is_flagged(self, emulator: Caller) -> None:
        """A message stored with IsSystemMsg 1 (inspection append) comes back flagged."""
        await group_with_messages(emulator, "g", 1)
        notice = {**message(T0 + 5, "group renamed"), "IsSystemMsg": 1}
        appended = await emulator.client.post("/_emulator/groups/g/messages", json=notice)
        answer = await emulator.history("g", 20)
        expected = (200, [(2, 1), (1, None)])
        assert expected == (
            appended.status_code,
            [(m["MsgSeq"], m.get("IsSystemMsg")) for m in answer["RspMsgList"]],
        )

    @pytest.mark.asyncio
    async def test_unknown_group_is_10010(self, emulator: Caller) -> None:
        """History of a group that does not exist answers 10010."""
        answer = await emulator.history("nope", 5)
        expected = ("FAIL", 10010)
        assert expected == (answer["ActionStatus"], answer["ErrorCode"])


class TestCutPages:
    """``history_page_limit``: pages cut the way the provider cuts long messages."""

    @pytest.mark.asyncio
    async def test_a_cut_page_says_is_finished_0(self) -> None:
        """At most the limit per answer, IsFinished 0 while requested messages were held back."""
        async with serving(make_config(history_page_limit=3)) as emulator:
            await group_with_messages(emulator, "g", 10)
            first = await emulator.history("g", 20)
            last = await emulator.history("g", 20, 3)
            expected = (([10, 9, 8], 0), ([3, 2, 1], 1))
            assert expected == (
                ([m["MsgSeq"] for m in first["RspMsgList"]], first["IsFinished"]),
                ([m["MsgSeq"] for m in last["RspMsgList"]], last["IsFinished"]),
            )


class TestInspection:
    """The /_emulator/ endpoints."""

    @pytest.mark.asyncio
    async def test_groups_list_profiles(self, emulator: Caller) -> None:
        """GET /_emulator/groups lists each group with its profile and message count."""
        await group_with_messages(emulator, "g", 2)
        groups = (await emulator.inspect("/groups"))["groups"]
        expected = [("g", "Public", T0, 2, T0 + 2, "club")]
        assert expected == [
            (
                g["group_id"],
                g["type"],
                g["create_time"],
                g["message_count"],
                g["latest_send_time"],
                g["profile"]["Name"],
            )
            for g in groups
        ]

    @pytest.mark.asyncio
    async def test_raw_append_bypasses_the_ordering_rule(self, emulator: Caller) -> None:
        """POST /_emulator/groups/{id}/messages stores an out-of-order message as given."""
        await group_with_messages(emulator, "g", 2)
        response = await emulator.client.post(
            "/_emulator/groups/g/messages", json=message(T0 - 50, "old")
        )
        stored = (await emulator.inspect("/groups/g/messages"))["messages"]
        expected = (200, [(1, T0 + 1), (2, T0 + 2), (3, T0 - 50)])
        assert expected == (
            response.status_code,
            [(m["seq"], m["time"]) for m in stored],
        )

    @pytest.mark.asyncio
    async def test_unknown_group_is_404(self, emulator: Caller) -> None:
        """Inspecting or changing a group that does not exist is HTTP 404."""
        listing = await emulator.client.get("/_emulator/groups/nope/messages")
        deleting = await emulator.client.post("/_emulator/groups/nope/messages/1/delete")
        expected = (404, 404)
        assert expected == (listing.status_code, deleting.status_code)

    @pytest.mark.asyncio
    async def test_stats_and_reset(self, emulator: Caller) -> None:
        """Stats count calls by API and outcome; reset forgets data and counters."""
        await group_with_messages(emulator, "g", 1)
        await emulator.import_messages("g", [message(T0 - 1)])
        before = await emulator.inspect("/stats")
        reset = await emulator.client.post("/_emulator/reset")
        after = await emulator.inspect("/stats")
        expected: tuple[object, ...] = (
            {"import_group": {"0": 1}, "import_group_msg": {"0": 2}},
            {"0": 1, "10004": 1},
            200,
            ({}, 0, 0),
        )
        assert expected == (
            before["calls"],
            before["message_results"],
            reset.status_code,
            (after["calls"], after["groups"], after["messages"]),
        )

    @pytest.mark.asyncio
    @pytest.mark.parametrize(("client", "status"), [("10.1.2.3", 403), ("::1", 200)])
    async def test_loopback_clients_only(self, client: str, status: int) -> None:
        """The inspection endpoints refuse clients that are not on the loopback interface."""
        app = create_emulator_app(make_config())
        transport = httpx.ASGITransport(app=app, client=(client, 40_000))
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
            response = await http.get("/_emulator/stats")
        assert status == response.status_code


class TestLoad:
    """The emulator keeps up with the provider's documented budget."""

    @pytest.mark.asyncio
    async def test_paced_seven_message_calls_with_latency(self) -> None:
        """150 calls in one second, 7 messages each, 60 ms latency: all imported, no backlog."""
        calls, rate = 150, 150.0
        async with serving(make_config()) as emulator:
            for n in range(calls):
                request = parse_import_group({"GroupId": f"g{n}", "Type": "Public", "Name": "n"})
                emulator.server.store.import_group(request, now=T0)
            await emulator.client.put("/_emulator/faults", json={"latency_ms": 60, "jitter_ms": 10})
            started = time.perf_counter()

            async def one(n: int) -> int:
                await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
                answer = await emulator.import_messages(
                    f"g{n}", [message(T0 + k + 1) for k in range(7)]
                )
                return int(answer["ErrorCode"])

            codes = await asyncio.gather(*(one(n) for n in range(calls)))
            elapsed = time.perf_counter() - started
            stored = (await emulator.inspect("/stats"))["messages"]
        # One second of pacing; the generous bound only catches an emulator that falls behind.
        expected = ({0}, calls * 7, True)
        assert expected == (set(codes), stored, elapsed < calls / rate + 2.0)


LOGIN = "/v4/im_open_login_svc/"


class TestMigrationEndpoints:
    """Accounts, members and unread counts over HTTP, behind the same checks as every call."""

    @pytest.mark.asyncio
    async def test_accounts_live_under_the_login_service_only(self, emulator: Caller) -> None:
        """multiaccount_import answers under im_open_login_svc; under the group service: 10003."""
        body = {"AccountList": [{"UserID": "a"}]}
        good = await emulator.client.post(LOGIN + "multiaccount_import", params=query(), json=body)
        wrong = await emulator.call("multiaccount_import", body)
        assert ((0, []), 10003) == (
            (good.json()["ErrorCode"], good.json()["FailAccounts"]),
            wrong.json()["ErrorCode"],
        )

    @pytest.mark.asyncio
    async def test_a_bad_user_sig_refuses_an_account_import_unapplied(
        self, emulator: Caller
    ) -> None:
        """A UserSig signed with another key: 70003, and no account is created."""
        response = await emulator.client.post(
            LOGIN + "multiaccount_import",
            params=query(usersig=sign(secret_key=WRONG_SIGNING_KEY)),
            json={"AccountList": [{"UserID": "a"}]},
        )
        accounts = await emulator.inspect("/accounts")
        assert (70003, []) == (response.json()["ErrorCode"], accounts["accounts"])

    @pytest.mark.asyncio
    async def test_account_imports_have_their_own_limit_of_100_per_second(self) -> None:
        """Under a 200 calls/s budget, 130 account calls at once: only 100 admitted."""
        async with serving(make_config(calls_per_second=200)) as emulator:
            bodies = [{"AccountList": [{"UserID": f"u{n}"}]} for n in range(130)]
            responses = await asyncio.gather(
                *(
                    emulator.client.post(LOGIN + "multiaccount_import", params=query(), json=b)
                    for b in bodies
                )
            )
        codes = [r.json()["ErrorCode"] for r in responses]
        assert (100, 30) == (codes.count(0), codes.count(rules.RATE_LIMITED))

    @pytest.mark.asyncio
    async def test_members_then_messages_then_unread_counts(self, emulator: Caller) -> None:
        """The migration order over HTTP; get_group_member_info reads the result back."""
        await emulator.client.post(
            LOGIN + "multiaccount_import",
            params=query(),
            json={"AccountList": [{"UserID": "a"}, {"UserID": "b"}]},
        )
        await emulator.import_group("g", T0, Owner_Account="a")
        joined = await emulator.ok(
            "import_group_member",
            {
                "GroupId": "g",
                "MemberList": [
                    {"Member_Account": "a"},
                    {"Member_Account": "b", "Role": "Admin", "JoinTime": T0 + 1},
                ],
            },
        )
        await emulator.import_messages("g", [message(T0 + 2), message(T0 + 3)])
        await emulator.ok(
            "set_unread_msg_num", {"GroupId": "g", "Member_Account": "b", "UnreadMsgNum": 1}
        )
        info = await emulator.ok("get_group_member_info", {"GroupId": "g", "Limit": 10})
        members = await emulator.inspect("/groups/g/members")
        assert (
            [2, 1],
            2,
            [("a", "Owner", 2), ("b", "Admin", 1)],
            [0, 1],
        ) == (
            [m["Result"] for m in joined["MemberList"]],
            info["MemberNum"],
            [(m["Member_Account"], m["Role"], m["MsgSeq"]) for m in info["MemberList"]],
            [m["unread"] for m in members["members"]],
        )

    @pytest.mark.asyncio
    async def test_more_members_than_one_call_takes_is_10005(self, emulator: Caller) -> None:
        """21 members in one call where 20 is the maximum: 10005, nobody joins."""
        await emulator.import_group("g", T0)
        listing = [{"Member_Account": f"u{n}"} for n in range(21)]
        answer = await emulator.ok("import_group_member", {"GroupId": "g", "MemberList": listing})
        members = await emulator.inspect("/groups/g/members")
        assert (10005, []) == (answer["ErrorCode"], members["members"])
