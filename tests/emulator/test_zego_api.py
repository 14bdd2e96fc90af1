# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from pydantic import SecretStr

from service.domain.events import Account, GroupMember, GroupMessage, GroupProfile
from service.domain.recovery import HistoryEntry
from service.domain.retry_policy import ErrorClass
from service.emulator import zego_rules as zr
from service.emulator.config import EmulatorConfig, FaultConfig
from service.emulator.server import EmulatorServer
from service.errors import PermanentProviderError
from service.providers.zego import ZegoProvider
from service.providers.zego_sign import signed_params

from .helpers import SDK_APP_ID, SECRET_KEY, FakeClock, query

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = pytest.mark.emulator

ZIM_APP_ID = 1_234_567_890
ZIM_SECRET = "zim-emulator-secret-for-tests-01"
NOW_MS = int(time.time() * 1000)


def zim_config(**overrides: Any) -> EmulatorConfig:
    fields: dict[str, Any] = {
        "sdk_app_id": SDK_APP_ID,
        "secret_key": SecretStr(SECRET_KEY),
        "zego_app_id": ZIM_APP_ID,
        "zego_server_secret": SecretStr(ZIM_SECRET),
        # the users the tests name (others must go through UserRegister)
        "zego_registered_users": ["owner", "leckie", "user-0", "a", "b"],
        **overrides,
    }
    return EmulatorConfig(**fields)


class ZimCaller:
    """Calls the emulator's ZIM endpoints, signed unless told otherwise."""

    def __init__(self, client: httpx.AsyncClient, server: EmulatorServer) -> None:
        self.client = client
        self.server = server

    def params(self, action: str, **overrides: str | None) -> dict[str, str]:
        signed: dict[str, str | None] = {
            "Action": action,
            **signed_params(ZIM_APP_ID, ZIM_SECRET),
            **overrides,
        }
        return {key: value for key, value in signed.items() if value is not None}

    async def call(self, action: str, body: Any, **overrides: str | None) -> dict[str, Any]:
        response = await self.client.post("/", params=self.params(action, **overrides), json=body)
        assert 200 == response.status_code
        data: dict[str, Any] = response.json()
        return data

    async def create_group(self, group_id: str = "g1", **fields: Any) -> dict[str, Any]:
        return await self.call(
            "CreateGroup", {"GroupId": group_id, "GroupOwner": "owner", **fields}
        )

    async def import_message(
        self, group_id: str = "g1", text: str = "hi", send_ms: int | None = None, **fields: Any
    ) -> dict[str, Any]:
        body = {
            "FromUserId": "leckie",
            "GroupId": group_id,
            "MessageType": 1,
            "Priority": 2,
            "MessageBody": {"Message": text},
            "SendMessageTime": NOW_MS - 60_000 if send_ms is None else send_ms,
            **fields,
        }
        return await self.call("ImportGroupMsg", body)

    async def inspect(self, path: str) -> Any:
        response = await self.client.get("/_emulator/zim" + path)
        assert 200 == response.status_code
        return response.json()


@asynccontextmanager
async def zim_serving(config: EmulatorConfig, clock: Any = time.time) -> AsyncIterator[ZimCaller]:
    async with (
        EmulatorServer(config, clock=clock) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
    ):
        yield ZimCaller(client, server)


@pytest.fixture
async def zim() -> AsyncIterator[ZimCaller]:
    """A fresh emulator with ZIM configured."""
    async with zim_serving(zim_config(zego_unregistered_users=["ghost"])) as caller:
        yield caller


class TestSignature:
    async def test_a_signed_call_is_answered_with_code_message_and_request_id(
        self, zim: ZimCaller
    ) -> None:
        """Code 0, Message "success", a RequestId, and the API's fields."""
        answer = await zim.create_group()
        assert (0, "success", True, "g1") == (
            answer["Code"],
            answer["Message"],
            bool(answer["RequestId"]),
            answer["GroupId"],
        )

    async def test_unconfigured_zim_is_authentication_failed(self) -> None:
        """Without a ZIM app ID and secret every ZIM call gets Code 3."""
        config = EmulatorConfig(sdk_app_id=SDK_APP_ID, secret_key=SecretStr(SECRET_KEY))
        async with zim_serving(config) as caller:
            answer = await caller.create_group()
        assert zr.AUTHENTICATION_FAILED == answer["Code"]

    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"Signature": "0" * 32}, zr.SIGNATURE_ERROR),
            ({"AppId": "42"}, zr.AUTHENTICATION_FAILED),
            ({"Signature": None}, zr.PARAMETER_ERROR),
            ({"SignatureVersion": "1.0"}, zr.PARAMETER_ERROR),
            ({"SignatureNonce": "xyz"}, zr.PARAMETER_ERROR),
        ],
    )
    async def test_bad_signatures_are_refused_and_not_applied(
        self, zim: ZimCaller, overrides: dict[str, str | None], code: int
    ) -> None:
        """A wrong signature or app, or a missing parameter: refused, nothing created."""
        answer = await zim.call("CreateGroup", {"GroupId": "g1", "GroupOwner": "o"}, **overrides)
        groups = await zim.inspect("/groups")
        assert (code, []) == (answer["Code"], groups["groups"])

    async def test_a_timestamp_beyond_ten_minutes_is_expired(self) -> None:
        """The emulator's clock 11 minutes ahead of the signer's: 100000004."""
        clock = FakeClock(time.time() + 660)
        async with zim_serving(zim_config(), clock=clock) as caller:
            answer = await caller.create_group()
            clock.now -= 120  # 9 minutes: accepted
            accepted = await caller.create_group()
        assert (zr.SIGNATURE_EXPIRED, 0) == (answer["Code"], accepted["Code"])

    async def test_a_replayed_nonce_is_a_signature_error(self, zim: ZimCaller) -> None:
        """The same signed query string twice: the second is refused (100000005)."""
        params = zim.params("CreateGroup")
        first = await zim.client.post(
            "/", params=params, json={"GroupId": "a", "GroupOwner": "owner"}
        )
        second = await zim.client.post(
            "/", params=params, json={"GroupId": "b", "GroupOwner": "owner"}
        )
        assert (0, zr.SIGNATURE_ERROR) == (first.json()["Code"], second.json()["Code"])

    async def test_unknown_action_is_a_parameter_error(self, zim: ZimCaller) -> None:
        """An Action the emulator does not know: 2."""
        answer = await zim.call("DeleteGroup", {"GroupId": "g1"})
        assert zr.PARAMETER_ERROR == answer["Code"]

    async def test_a_body_that_is_not_json_is_a_parameter_error(self, zim: ZimCaller) -> None:
        """Not JSON: 2."""
        response = await zim.client.post(
            "/", params=zim.params("CreateGroup"), content=b"{not json"
        )
        assert zr.PARAMETER_ERROR == response.json()["Code"]


class TestImport:
    async def test_messages_get_per_group_seq_and_show_in_inspection(self, zim: ZimCaller) -> None:
        """MsgSeq counts from 1 per group; /_emulator/zim/groups/{id}/messages lists them."""
        await zim.create_group("g1")
        await zim.create_group("g2")
        seqs = [
            (await zim.import_message(g, f"{g}-{n}"))["MsgSeq"]
            for n, g in enumerate(["g1", "g1", "g2"])
        ]
        listed = await zim.inspect("/groups/g1/messages")
        assert [1, 2, 1] == seqs
        assert [(1, "g1-0"), (2, "g1-1")] == [
            (m["seq"], m["body"]["Message"]) for m in listed["messages"]
        ]

    async def test_documented_refusals(self, zim: ZimCaller) -> None:
        """Unknown group 660600001, unregistered sender 660500002, over 2 KB 660400001, existing group 660600011."""
        await zim.create_group("g1")
        codes = [
            (await zim.import_message("nope"))["Code"],
            (await zim.import_message("g1", FromUserId="ghost"))["Code"],
            (await zim.import_message("g1", "x" * 2049))["Code"],
            (await zim.create_group("g1"))["Code"],
        ]
        assert [660600001, 660500002, 660400001, 660600011] == codes

    async def test_order_is_enforced(self, zim: ZimCaller) -> None:
        """A message earlier than the latest, or in the future, is a parameter error."""
        await zim.create_group()
        await zim.import_message(send_ms=NOW_MS - 1000)
        codes = [
            (await zim.import_message(send_ms=NOW_MS - 2000))["Code"],
            (await zim.import_message(send_ms=int(time.time() * 1000) + 60_000))["Code"],
        ]
        assert [2, 2] == codes

    async def test_history_pages_newest_first_with_next(self, zim: ZimCaller) -> None:
        """QueryGroupMsg: newest first, Next until 0, entries as documented."""
        await zim.create_group()
        for n in range(5):
            await zim.import_message(text=f"#{n}", send_ms=NOW_MS - 5000 + n)
        pages: list[list[int]] = []
        cursor = 0
        while True:
            answer = await zim.call("QueryGroupMsg", {"GroupId": "g1", "Limit": 2, "Next": cursor})
            pages.append([item["MsgSeq"] for item in answer["List"]])
            cursor = answer["Next"]
            if cursor == 0:
                break
        first = (await zim.call("QueryGroupMsg", {"GroupId": "g1", "Limit": 1, "Next": 0}))["List"][
            0
        ]
        assert [[5, 4], [3, 2], [1]] == pages
        assert {
            "Sender": "leckie",
            "MsgType": 1,
            "SubMsgType": 0,
            "MsgBody": "#4",
            "MsgSeq": 5,
            "MsgTime": NOW_MS - 5000 + 4,
            "IsEmpty": False,
        } == first


class TestBudget:
    async def test_burst_over_twenty_per_second_gets_code_7_and_is_not_applied(self) -> None:
        """Of 30 calls at once with the default 20/s budget, 10 get Code 7 and create nothing."""
        async with zim_serving(zim_config()) as zim:
            answers = await asyncio.gather(*(zim.create_group(f"g{n}") for n in range(30)))
            stats = await zim.inspect("/stats")
        codes = sorted(a["Code"] for a in answers)
        assert ([0] * 20 + [7] * 10, 10, 20) == (codes, stats["rate_limited"], stats["groups"])

    async def test_the_refusal_code_is_a_setting(self) -> None:
        """zego_rate_limit_error_code 660300005: the app-level frequency limit."""
        config = zim_config(zego_calls_per_second=1, zego_rate_limit_error_code=660300005)
        async with zim_serving(config) as zim:
            answers = await asyncio.gather(*(zim.create_group(f"g{n}") for n in range(2)))
        assert [0, 660300005] == sorted(a["Code"] for a in answers)

    async def test_zim_budget_is_separate_from_tencent(self) -> None:
        """ZIM's budget exhausted, a Tencent call still goes through (and the other way round)."""
        config = zim_config(zego_calls_per_second=1, calls_per_second=1)
        async with zim_serving(config) as zim:
            await zim.create_group("a")
            tencent = await zim.client.post(
                "/v4/group_open_http_svc/import_group",
                params=query(),
                json={"Type": "Public", "Name": "n"},
            )
            limited = await zim.create_group("b")
        assert (0, 7) == (tencent.json()["ErrorCode"], limited["Code"])


class TestInspectionAndFaults:
    async def test_stats_count_calls_by_action_and_code(self, zim: ZimCaller) -> None:
        """/_emulator/zim/stats: calls per API and Code, groups, messages."""
        await zim.create_group()
        await zim.import_message()
        await zim.import_message("nope")
        stats = await zim.inspect("/stats")
        assert (
            {"CreateGroup": {"0": 1}, "ImportGroupMsg": {"0": 1, "660600001": 1}},
            1,
            1,
            True,
        ) == (stats["calls"], stats["groups"], stats["messages"], stats["configured"])

    async def test_reset_forgets_zim_data(self, zim: ZimCaller) -> None:
        """POST /_emulator/reset clears ZIM groups and counters too."""
        await zim.create_group()
        await zim.client.post("/_emulator/reset")
        stats = await zim.inspect("/stats")
        assert (0, {}) == (stats["groups"], stats["calls"])

    async def test_unknown_group_in_inspection_is_404(self, zim: ZimCaller) -> None:
        """GET messages of a group that does not exist: 404."""
        response = await zim.client.get("/_emulator/zim/groups/nope/messages")
        assert 404 == response.status_code

    async def test_emptied_message_is_shown_empty_in_history(self, zim: ZimCaller) -> None:
        """POST .../messages/{seq}/empty: QueryGroupMsg with WithEmptyMsg shows IsEmpty."""
        await zim.create_group()
        await zim.import_message()
        response = await zim.client.post("/_emulator/zim/groups/g1/messages/1/empty")
        answer = await zim.call(
            "QueryGroupMsg", {"GroupId": "g1", "Limit": 5, "Next": 0, "WithEmptyMsg": 1}
        )
        assert (200, [(1, True, "")]) == (
            response.status_code,
            [(i["MsgSeq"], i["IsEmpty"], i["MsgBody"]) for i in answer["List"]],
        )

    async def test_injected_server_busy_is_code_1_and_not_applied(self) -> None:
        """internal_error_probability 1: Code 1 and nothing stored."""
        config = zim_config(faults=FaultConfig(internal_error_probability=1.0))
        async with zim_serving(config) as zim:
            answer = await zim.create_group()
            stats = await zim.inspect("/stats")
        assert (zr.SERVER_BUSY, 0) == (answer["Code"], stats["groups"])


class TestAdapterAgainstEmulator:
    """The service's ZIM adapter and the emulator agree, over real HTTP."""

    @staticmethod
    @asynccontextmanager
    async def adapter() -> AsyncIterator[tuple[ZegoProvider, ZimCaller]]:
        async with zim_serving(zim_config(zego_unregistered_users=["ghost"])) as zim:
            provider = ZegoProvider(
                zim.client, base_url=zim.server.url, app_id=ZIM_APP_ID, server_secret=ZIM_SECRET
            )
            yield provider, zim

    @staticmethod
    def message(
        n: int, *, sender: str = "leckie", body: list[dict[str, Any]] | None = None
    ) -> GroupMessage:
        return GroupMessage.model_validate(
            {
                "From_Account": sender,
                "SendTime": NOW_MS // 1000 - 3600 + n,
                "MsgBody": body or [{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"#{n}"}}],
            }
        )

    async def test_group_messages_and_history_round_trip(self) -> None:
        """CreateGroup, ImportGroupMsg (text and custom), then history pages find every message."""
        async with self.adapter() as (provider, zim):
            created = await provider.import_group(
                GroupProfile(
                    GroupId="g1",
                    Type="Public",
                    Name="club",
                    Owner_Account="leckie",
                    CreateTime=NOW_MS // 1000 - 7200,
                )
            )
            again = await provider.import_group(
                GroupProfile(GroupId="g1", Type="Public", Name="club", Owner_Account="leckie")
            )
            custom = [
                {
                    "MsgType": "TIMCustomElem",
                    "MsgContent": {"Data": "d", "Desc": "x" * 80, "Ext": "e"},
                }
            ]
            messages = [self.message(n) for n in range(4)] + [self.message(4, body=custom)]
            seqs = [(await provider.import_messages("g1", None, [m]))[0].msg_seq for m in messages]
            entries: list[HistoryEntry] = []
            before = None
            while True:
                page = await provider.history("g1", None, before_seq=before, limit=2)
                entries.extend(page.entries)
                if page.finished:
                    break
                before = min(e.msg_seq for e in page.entries) - 1
            stored = await zim.inspect("/groups/g1/messages")
        assert ((False, True), [1, 2, 3, 4, 5]) == (
            (created.already_existed, again.already_existed),
            seqs,
        )
        assert [5, 4, 3, 2, 1] == [e.msg_seq for e in entries]
        keys = {(e.sender, e.send_time, e.random) for e in entries}
        assert all(
            (k.sender, k.send_time, k.random) in keys
            for k in (provider.recovery_key(m, 0) for m in messages)
        )
        assert (200, 0, "x" * 64, {"Message": "d", "ExtendedData": "e"}) == (
            stored["messages"][4]["message_type"],
            stored["messages"][4]["sub_msg_type"],
            stored["messages"][4]["searched_content"],
            stored["messages"][4]["body"],
        )

    async def test_refusals_reach_the_adapter_with_their_codes(self) -> None:
        """660500002 names the sender; 660600001 is GROUP_MISSING; 2 KB text: 660400001."""
        async with self.adapter() as (provider, _):
            await provider.import_group(
                GroupProfile(GroupId="g1", Type="Public", Name="club", Owner_Account="leckie")
            )
            failures = []
            for group_id, msg in [
                ("g1", self.message(1, sender="ghost")),
                ("nope", self.message(2)),
                (
                    "g1",
                    self.message(
                        3, body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x" * 2049}}]
                    ),
                ),
            ]:
                with pytest.raises(PermanentProviderError) as caught:
                    await provider.import_messages(group_id, None, [msg])
                failures.append((caught.value.code, caught.value.error_class.value))
            history = await provider.history("nope", None, before_seq=None, limit=20)
        assert [
            (660500002, "account_missing"),
            (660600001, "group_missing"),
            (660400001, "permanent"),
        ] == failures
        assert False is history.group_exists

    async def test_users_then_members_round_trip(self) -> None:
        """UserRegister, CreateGroup, InviteUsersIntoGroup, then QueryGroupMemberList lists all."""
        async with self.adapter() as (provider, _):
            registered = await provider.import_accounts(
                [Account(UserID="new-1"), Account(UserID="ghost"), Account(UserID="new-2")]
            )
            await provider.import_group(
                GroupProfile(
                    GroupId="g1",
                    Type="Public",
                    Name="club",
                    Owner_Account="new-1",
                    CreateTime=NOW_MS // 1000 - 7200,
                )
            )
            joined = await provider.import_members(
                "g1",
                [GroupMember(Member_Account="new-2", JoinTime=NOW_MS // 1000 - 60)],
                inviter="new-1",
            )
            listed = await provider.group_members("g1")
        assert ([0, 2, 0], [0], ["new-1", "new-2"]) == (
            [r.code for r in registered],
            [r.code for r in joined],
            [m.user_id for m in listed or []],
        )

    async def test_an_unregistered_invitee_waits_for_the_accounts(self) -> None:
        """Inviting a user ZIM does not know: 660500002, an account that is missing (yet)."""
        async with self.adapter() as (provider, _):
            await provider.import_group(
                GroupProfile(GroupId="g1", Type="Public", Name="club", Owner_Account="leckie")
            )
            with pytest.raises(PermanentProviderError) as caught:
                await provider.import_members("g1", [GroupMember(Member_Account="stranger")])
        assert (660500002, ErrorClass.ACCOUNT_MISSING) == (
            caught.value.code,
            caught.value.error_class,
        )
