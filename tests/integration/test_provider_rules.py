# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Each provider's own limits, codes, names and history, seen through the running service."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from service.domain import limits
from service.embedded_broker import EmbeddedBroker
from service.emulator.server import EmulatorServer
from service.providers.zego import RETENTION_SETTING
from service.settings import Settings
from tests.ops.test_metrics import scrape

from .conftest import emulator_config
from .events import BASE, group_record, message_record
from .harness import Out, make_settings, produce, running
from .test_refusals_and_holes import ids, outcomes_of, restarted, summary
from .test_zego import (
    OWNER,
    ZIM_APP_ID,
    ZIM_SECRET,
    zego_settings,
    zim_group,
    zim_messages,
    zim_stats,
)

pytestmark = [pytest.mark.kafka, pytest.mark.emulator]

DAY = 86_400
ZIM_LARGEST = 32 * 1024  # what an app can raise ZIM's message size limit to


@pytest.fixture
async def zim_emulator() -> AsyncIterator[EmulatorServer]:
    """The emulator's ZIM side, its size limit raised to 32 KB, one unregistered sender."""
    config = emulator_config(
        zego_app_id=ZIM_APP_ID,
        zego_server_secret=SecretStr(ZIM_SECRET),
        zego_unregistered_users=["ghost"],
        zego_registered_users=[OWNER, "user-0", "user-1", "user-2"],
        zego_message_size_limit=ZIM_LARGEST,
    )
    async with EmulatorServer(config) as server:
        yield server


class TestZimRules:
    async def test_zim_limits_codes_and_api_names_not_tencents(
        self, kafka_broker: EmbeddedBroker, zim_emulator: EmulatorServer, run_id: str
    ) -> None:
        """A 40-byte name and a 20 KB message are ZIM's to take; the retention is checked here.

        Tencent's rules would refuse both (30 bytes, 12,000 bytes). A message older than the
        retention fails with ZIM's code 2 and no call; ZIM's refusal keeps its RequestId; calls
        are counted under ZIM's API names.
        """
        bootstrap = kafka_broker.bootstrap_servers
        settings = zego_settings(bootstrap, zim_emulator.url, run_id)
        records = [
            zim_group(settings, "wide", Name="n" * 40),
            message_record(settings, "wide", 0),
            message_record(settings, "wide", 1, text="w" * 20_000),
            message_record(settings, "wide", 2, SendTime=BASE - 31 * DAY),
            message_record(settings, "wide", 3, From_Account="ghost"),
        ]
        async with running(settings) as service:
            assert service.resources is not None
            await produce(bootstrap, records)
            outcomes = await outcomes_of(bootstrap, settings, len(records))
            metrics = await scrape(service.resources.http.port)
        message = [outcomes[event_id] for event_id in ids("wide", 4)]
        assert [
            ("imported", 0, "provider"),
            ("imported", 0, "provider"),
            ("failed", 2, "service"),
            ("failed", 660500002, "provider"),
        ] == [summary(o) for o in message]
        assert ("imported", True, True) == (
            outcomes["it:group:wide"]["status"],
            RETENTION_SETTING in message[2]["error_info"],
            "[RequestId " in message[3]["error_info"],
        )
        stored = await zim_messages(zim_emulator, "wide")
        assert ["wide #0", "w" * 20_000] == [m["body"]["Message"] for m in stored]
        calls = (await zim_stats(zim_emulator))["calls"]["ImportGroupMsg"]
        # the unregistered sender's call is tried again while accounts might still be imported
        refused = calls.get("660500002", 0)
        assert (2, True, 0) == (
            calls.get("0"),
            refused >= 1,
            metrics.total("chat_import_provider_calls_total", api="import_group_msg"),
        )
        assert (1, 2 + refused) == (
            metrics.total("chat_import_provider_calls_total", api="CreateGroup"),
            metrics.total("chat_import_provider_calls_total", api="ImportGroupMsg"),
        )

    async def test_two_identical_messages_of_which_zim_holds_one_are_told_apart(
        self, kafka_broker: EmbeddedBroker, zim_emulator: EmulatorServer, run_id: str
    ) -> None:
        """An "ok" typed twice in one second, only the first imported before a restart.

        One copy in ZIM's history accounts for the first: the second is imported, not reported
        imported with the first one's MsgSeq.
        """
        bootstrap = kafka_broker.bootstrap_servers
        settings = zego_settings(bootstrap, zim_emulator.url, run_id)
        first_twin, second_twin = (
            message_record(settings, "twins", n, text="ok", From_Account="user-0", SendTime=BASE)
            for n in (0, 1)
        )
        async with running(settings):
            await produce(bootstrap, [zim_group(settings, "twins"), first_twin])
            await outcomes_of(bootstrap, settings, 2)
        await produce(bootstrap, [second_twin])
        again = restarted(settings, run_id)
        async with running(again):
            outcomes = await outcomes_of(bootstrap, again, 3)
        assert [("imported", 0, "recovered", 1), ("imported", 0, "provider", 2)] == [
            (*summary(outcomes[event_id]), outcomes[event_id]["msg_seq"])
            for event_id in ids("twins", 2)
        ]
        assert ["ok", "ok"] == [
            m["body"]["Message"] for m in await zim_messages(zim_emulator, "twins")
        ]


def long_id_record(settings: Settings, gid: str, length: int) -> Out:
    value = json.loads(message_record(settings, gid, 0).value)
    value["event_id"] = "e" * length
    return Out(settings.topics.messages, gid.encode(), json.dumps(value).encode())


class TestTencentRules:
    async def test_community_ids_missing_create_time_and_long_ids(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ) -> None:
        """Community IDs, a group without CreateTime and a very long event id, end to end.

        A Community ID in the provider's @TGS#_ form imports with its messages; a Community with
        ApplyJoinOption fails with 10004 before any call; a group without CreateTime imports
        with the warning; the outcome of an event with a 5,000-character id stays small.
        """
        bootstrap = kafka_broker.bootstrap_servers
        settings = make_settings(bootstrap, emulator.url, run_id)
        community = "@TGS#_@TGS#c4YHCIIM62CX"
        records = [
            group_record(settings, community, Type="Community"),
            group_record(settings, "joinable", Type="Community", ApplyJoinOption="FreeAccess"),
            group_record(settings, "undated", CreateTime=None),
            message_record(settings, community, 0),
            long_id_record(settings, community, 5_000),
        ]
        async with running(settings):
            await produce(bootstrap, records)
            outcomes = await outcomes_of(bootstrap, settings, len(records))
        assert ("imported", "imported") == (
            outcomes[f"it:group:{community}"]["status"],
            outcomes[f"it:msg:{community}:00000"]["status"],
        )
        joinable = outcomes["it:group:joinable"]
        assert (("failed", 10004, "service"), True) == (
            summary(joinable),
            "ApplyJoinOption" in joinable["error_info"],
        )
        undated = outcomes["it:group:undated"]
        assert ("imported", True) == (undated["status"], "CreateTime" in undated["error_info"])
        (bounded,) = [o for event_id, o in outcomes.items() if event_id.startswith("eee")]
        assert ("imported", True, True) == (
            bounded["status"],
            len(bounded["event_id"]) <= 1_024,
            len(json.dumps(bounded)) < 4_096,
        )

    async def test_a_deleted_message_is_not_taken_for_present_after_a_restart(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ) -> None:
        """History shows it as a placeholder (IsPlaceMsg 1): not reported recovered, not resent."""
        bootstrap = kafka_broker.bootstrap_servers
        settings = make_settings(bootstrap, emulator.url, run_id)
        count, gone = 10, 4
        records = [group_record(settings, "del")] + [
            message_record(settings, "del", n) for n in range(count)
        ]
        async with running(settings):
            await produce(bootstrap, records)
            first = await outcomes_of(bootstrap, settings, len(records))
        seq = first[ids("del", count)[gone]]["msg_seq"]
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{emulator.url}/_emulator/groups/del/messages/{seq}/delete"
            )
            assert 200 == response.status_code
        again = restarted(settings, run_id)
        async with running(again):
            second = await outcomes_of(bootstrap, again, len(records))
        assert [
            ("failed", limits.NOT_STORED_BEFORE_LATER, "service")
            if n == gone
            else ("imported", 0, "recovered")
            for n in range(count)
        ] == [summary(second[event_id]) for event_id in ids("del", count)]
