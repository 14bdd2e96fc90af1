# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""ZEGOCLOUD ZIM as the provider, driven through Kafka against the emulator's ZIM endpoints."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from service.embedded_broker import EmbeddedBroker
from service.emulator.config import FaultConfig
from service.emulator.server import EmulatorServer
from service.settings import (
    ProviderName,
    Settings,
    ZegoSettings,
)

from .conftest import emulator_config
from .events import (
    account_record,
    group_record,
    member_record,
    message_record,
    unread_record,
)
from .harness import Out, make_settings, produce, read_outcomes, running, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.emulator]

ZIM_APP_ID = 1_234_567_890
ZIM_SECRET = "zim-emulator-secret-for-tests-01"
OWNER = "user-0"
UNREGISTERED = "ghost"
ZIM_BUDGET = 20


def zego_settings(bootstrap: str, provider_url: str, run_id: str) -> Settings:
    """Settings for one run against the emulator's ZIM endpoints (provider zego)."""
    zego = ZegoSettings(
        base_url=provider_url, app_id=ZIM_APP_ID, server_secret=SecretStr(ZIM_SECRET)
    )
    return make_settings(bootstrap, provider_url, run_id).model_copy(
        update={"provider": ProviderName.ZEGO, "zego": zego}
    )


@pytest.fixture
async def zim_emulator() -> AsyncIterator[EmulatorServer]:
    """A fresh emulator with its ZIM endpoints configured and one user it refuses to register.

    The owner and the senders of ``message_record`` are registered from the start.
    """
    config = emulator_config(
        zego_app_id=ZIM_APP_ID,
        zego_server_secret=SecretStr(ZIM_SECRET),
        zego_unregistered_users=[UNREGISTERED],
        zego_registered_users=[OWNER, "user-0", "user-1", "user-2"],
    )
    async with EmulatorServer(config) as server:
        yield server


async def zim_messages(emulator: EmulatorServer, gid: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{emulator.url}/_emulator/zim/groups/{gid}/messages")
    if response.status_code == 404:
        return []
    return list(response.json()["messages"])


async def zim_stats(emulator: EmulatorServer) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        return dict((await client.get(f"{emulator.url}/_emulator/zim/stats")).json())


def zim_group(settings: Settings, gid: str, **fields: Any) -> Out:
    return group_record(settings, gid, Owner_Account=OWNER, **fields)


async def outcomes_by_event(
    bootstrap: str, settings: Settings, count: int
) -> dict[str, dict[str, Any]]:
    async def enough() -> bool:
        return len(await read_outcomes(bootstrap, settings.topics.outcomes)) >= count

    await wait_for(enough, timeout=90)
    return {o["event_id"]: o for o in await read_outcomes(bootstrap, settings.topics.outcomes)}


class TestZegoEndToEnd:
    async def test_groups_and_messages_import_in_order_within_twenty_calls_per_second(
        self, kafka_broker: EmbeddedBroker, zim_emulator: EmulatorServer, run_id: str
    ) -> None:
        """Every event gets its outcome with ZIM's MsgSeq, in export order; the 20/s budget holds."""
        bootstrap = kafka_broker.bootstrap_servers
        settings = zego_settings(bootstrap, zim_emulator.url, run_id)
        groups = ["alpha", "beta", "gamma"]
        per_group = 20
        records = [zim_group(settings, g) for g in groups]
        records += [message_record(settings, g, n) for n in range(per_group) for g in groups]
        calls = len(records)  # one call per group and one per message
        async with running(settings):
            started = time.monotonic()
            await produce(bootstrap, records)
            outcomes = await outcomes_by_event(bootstrap, settings, calls)
            elapsed = time.monotonic() - started
        assert calls == len(outcomes)
        for g in groups:
            stored = await zim_messages(zim_emulator, g)
            events = [outcomes[f"it:msg:{g}:{n:05d}"] for n in range(per_group)]
            assert [f"{g} #{n}" for n in range(per_group)] == [m["body"]["Message"] for m in stored]
            assert [m["seq"] for m in stored] == [o["msg_seq"] for o in events]
            assert {("imported", 0, "zego")} == {
                (o["status"], o["error_code"], o["provider"]) for o in events
            }
            assert ("imported", g) == (
                outcomes[f"it:group:{g}"]["status"],
                outcomes[f"it:group:{g}"]["group_id"],
            )
        stats = await zim_stats(zim_emulator)
        assert stats["rate_limited"] <= 2, stats  # no or few refusals (7) from the emulator
        messages = len(groups) * per_group
        assert elapsed >= messages / ZIM_BUDGET, elapsed

    async def test_unregistered_sender_fails_alone_naming_the_sender(
        self, kafka_broker: EmbeddedBroker, zim_emulator: EmulatorServer, run_id: str
    ) -> None:
        """660500002 for the unregistered sender's message only; its neighbours are imported."""
        bootstrap = kafka_broker.bootstrap_servers
        settings = zego_settings(bootstrap, zim_emulator.url, run_id)
        records = [zim_group(settings, "mix")]
        records += [
            message_record(settings, "mix", n, **({"From_Account": UNREGISTERED} if n == 2 else {}))
            for n in range(5)
        ]
        async with running(settings):
            await produce(bootstrap, records)
            outcomes = await outcomes_by_event(bootstrap, settings, len(records))
        results = [outcomes[f"it:msg:mix:{n:05d}"] for n in range(5)]
        assert [("imported", 0)] * 2 + [("failed", 660500002)] + [("imported", 0)] * 2 == [
            (o["status"], o["error_code"]) for o in results
        ]
        assert ("provider", True) == (
            results[2]["detected_by"],
            repr(UNREGISTERED) in results[2]["error_info"],
        )
        assert [1, 2, 3, 4] == [m["seq"] for m in await zim_messages(zim_emulator, "mix")]

    async def test_elements_without_a_zim_equivalent_fail_naming_the_element(
        self, kafka_broker: EmbeddedBroker, zim_emulator: EmulatorServer, run_id: str
    ) -> None:
        """A face or location element is refused before any call (code 2); the rest import."""
        bootstrap = kafka_broker.bootstrap_servers
        settings = zego_settings(bootstrap, zim_emulator.url, run_id)
        face = [{"MsgType": "TIMFaceElem", "MsgContent": {"Index": 1, "Data": "smile"}}]
        location = [
            {
                "MsgType": "TIMLocationElem",
                "MsgContent": {"Desc": "x", "Latitude": 1.0, "Longitude": 2.0},
            }
        ]
        custom = [{"MsgType": "TIMCustomElem", "MsgContent": {"Data": "d", "Desc": "gift"}}]
        records = [
            zim_group(settings, "elems"),
            message_record(settings, "elems", 0),
            message_record(settings, "elems", 1, MsgBody=face),
            message_record(settings, "elems", 2, MsgBody=location),
            message_record(settings, "elems", 3, MsgBody=custom),
        ]
        async with running(settings):
            await produce(bootstrap, records)
            outcomes = await outcomes_by_event(bootstrap, settings, len(records))
        face_outcome = outcomes["it:msg:elems:00001"]
        location_outcome = outcomes["it:msg:elems:00002"]
        assert ("failed", 2, "service", True, 0) == (
            face_outcome["status"],
            face_outcome["error_code"],
            face_outcome["detected_by"],
            "TIMFaceElem" in face_outcome["error_info"],
            face_outcome["attempts"],
        )
        assert (2, True) == (
            location_outcome["error_code"],
            "TIMLocationElem" in location_outcome["error_info"],
        )
        stored = await zim_messages(zim_emulator, "elems")
        assert [(1, "elems #0"), (200, "d")] == [
            (m["message_type"], m["body"]["Message"]) for m in stored
        ]
        assert [1, 2] == [outcomes[f"it:msg:elems:{n:05d}"]["msg_seq"] for n in (0, 3)]

    async def test_message_read_before_its_group_waits_and_then_imports(
        self, kafka_broker: EmbeddedBroker, zim_emulator: EmulatorServer, run_id: str
    ) -> None:
        """660600001 while the group's import is on its way: the message waits, then imports."""
        bootstrap = kafka_broker.bootstrap_servers
        settings = zego_settings(bootstrap, zim_emulator.url, run_id)
        async with running(settings):
            await produce(bootstrap, [message_record(settings, "late", 0)])

            async def zim_said_no_group() -> bool:
                calls = (await zim_stats(zim_emulator)).get("calls", {})
                return "660600001" in calls.get("ImportGroupMsg", {})

            await wait_for(zim_said_no_group, timeout=30)
            await produce(bootstrap, [zim_group(settings, "late")])
            outcomes = await outcomes_by_event(bootstrap, settings, 2)
        message = outcomes["it:msg:late:00000"]
        assert ("imported", 1) == (message["status"], message["msg_seq"])

    async def test_group_without_owner_fails_naming_the_field(
        self, kafka_broker: EmbeddedBroker, zim_emulator: EmulatorServer, run_id: str
    ) -> None:
        """ZIM's CreateGroup needs a GroupOwner: no Owner_Account is a failed outcome, code 2."""
        bootstrap = kafka_broker.bootstrap_servers
        settings = zego_settings(bootstrap, zim_emulator.url, run_id)
        async with running(settings):
            await produce(bootstrap, [group_record(settings, "ownerless")])
            outcomes = await outcomes_by_event(bootstrap, settings, 1)
        outcome = outcomes["it:group:ownerless"]
        assert ("failed", 2, True) == (
            outcome["status"],
            outcome["error_code"],
            "Owner_Account" in outcome["error_info"],
        )
        assert {} == (await zim_stats(zim_emulator))["calls"]

    async def test_no_secret_in_outcomes(
        self, kafka_broker: EmbeddedBroker, zim_emulator: EmulatorServer, run_id: str
    ) -> None:
        """The server secret appears in no outcome, even when calls are refused."""
        bootstrap = kafka_broker.bootstrap_servers
        settings = zego_settings(bootstrap, zim_emulator.url, run_id)
        records = [
            zim_group(settings, "s"),
            message_record(settings, "s", 0, From_Account=UNREGISTERED),
        ]
        async with running(settings):
            await produce(bootstrap, records)
            await outcomes_by_event(bootstrap, settings, len(records))
        raw = json.dumps(await read_outcomes(bootstrap, settings.topics.outcomes))
        assert ZIM_SECRET not in raw


class TestZegoRecovery:
    async def test_a_second_run_finds_everything_already_at_zim_and_imports_nothing(
        self, kafka_broker: EmbeddedBroker, zim_emulator: EmulatorServer, run_id: str
    ) -> None:
        """Re-read from the start: 660600011 for the group, history fingerprints for messages."""
        bootstrap = kafka_broker.bootstrap_servers
        first = zego_settings(bootstrap, zim_emulator.url, run_id)
        count = 25  # more than one history page
        records = [zim_group(first, "again")]
        records += [message_record(first, "again", n) for n in range(count)]
        async with running(first):
            await produce(bootstrap, records)
            before = await outcomes_by_event(bootstrap, first, len(records))
        second = first.model_copy(
            update={
                "kafka": first.kafka.model_copy(update={"group_id": f"again-{run_id}"}),
                "topics": first.topics.model_copy(update={"outcomes": f"outcomes-2-{run_id}"}),
            }
        )
        async with running(second):
            after = await outcomes_by_event(bootstrap, second, len(records))
        ids = [f"it:msg:again:{n:05d}" for n in range(count)]
        assert [before[i]["msg_seq"] for i in ids] == [after[i]["msg_seq"] for i in ids]
        assert {("imported", "recovered")} == {
            (o["status"], o["detected_by"]) for o in after.values()
        }
        stats = await zim_stats(zim_emulator)
        assert (count, True) == (stats["messages"], "QueryGroupMsg" in stats["calls"])

    @pytest.mark.slow
    async def test_lost_answers_and_server_errors_import_each_message_once_in_order(
        self, kafka_broker: EmbeddedBroker, run_id: str
    ) -> None:
        """Calls applied then cut off, HTTP 500 and Code 1: no duplicate, no gap, same order."""
        bootstrap = kafka_broker.bootstrap_servers
        faults = FaultConfig(
            http_500_probability=0.1,
            internal_error_probability=0.1,
            applied_then_reset_probability=0.15,
            seed=20_260_101,
        )
        config = emulator_config(
            zego_app_id=ZIM_APP_ID,
            zego_server_secret=SecretStr(ZIM_SECRET),
            zego_registered_users=[OWNER, "user-0", "user-1", "user-2"],
            faults=faults,
        )
        async with EmulatorServer(config) as emulator:
            settings = zego_settings(bootstrap, emulator.url, run_id)
            count = 40
            records = [zim_group(settings, "rough")]
            records += [message_record(settings, "rough", n) for n in range(count)]
            async with running(settings):
                await produce(bootstrap, records)
                outcomes = await outcomes_by_event(bootstrap, settings, len(records))
            stored = await zim_messages(emulator, "rough")
            stats = await zim_stats(emulator)
        assert [f"rough #{n}" for n in range(count)] == [m["body"]["Message"] for m in stored]
        assert [m["seq"] for m in stored] == [
            outcomes[f"it:msg:rough:{n:05d}"]["msg_seq"] for n in range(count)
        ]
        assert {"imported"} == {o["status"] for o in outcomes.values()}
        assert stats["faults"].get("applied_then_reset", 0) > 0, stats


class TestZimStages:
    async def test_users_members_and_a_clear_refusal_of_unread_counts(
        self, kafka_broker: EmbeddedBroker, zim_emulator: EmulatorServer, run_id: str
    ) -> None:
        """UserRegister, then 150 members invited in two calls a second apart (never code 7).

        The user ZIM refuses to register fails alone; an unread count fails with code 2 and no
        call.
        """
        bootstrap = kafka_broker.bootstrap_servers
        settings = zego_settings(bootstrap, zim_emulator.url, run_id)
        users = [f"member-{n}" for n in range(150)]
        records = [account_record(settings, user) for user in [*users, UNREGISTERED]]
        records.append(zim_group(settings, "zs"))
        records += [member_record(settings, "zs", user) for user in users]
        records.append(unread_record(settings, "zs", "member-0", 2))
        async with running(settings):
            await produce(bootstrap, records)
            outcomes = await outcomes_by_event(bootstrap, settings, len(records))
        stats = await zim_stats(zim_emulator)
        async with httpx.AsyncClient() as client:
            members = (
                await client.get(f"{zim_emulator.url}/_emulator/zim/groups/zs/members")
            ).json()["members"]
        failed = {e: o["error_code"] for e, o in outcomes.items() if o["status"] != "imported"}
        assert {f"it:account:{UNREGISTERED}": 2, "it:unread:zs:member-0:2": 2} == failed
        invites = stats["calls"]["InviteUsersIntoGroup"]
        # a call refused for an invitee not registered yet (660500002) waits and goes again
        assert (151, 2, 0) == (
            len(members),  # the owner and the 150
            invites.get("0"),
            invites.get("7", 0),
        )
