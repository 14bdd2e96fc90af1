# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""A whole call refused for one message, and restarts over messages refused alone, end to end.

The service runs against the embedded broker and the emulator (Tencent's endpoints and ZIM's).
A restart is a second run of the service under another consumer group: it reads every record
again, as a replica does after a crash for the records whose offsets were not committed.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from service.domain import limits
from service.embedded_broker import EmbeddedBroker
from service.emulator import rules
from service.emulator.server import EmulatorServer
from service.settings import Settings

from .conftest import emulator_config
from .events import group_record, message_record
from .harness import Out, make_settings, produce, read_outcomes, running, wait_for
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

COUNT = 10
BAD = 4  # the message refused on its own in the restart tests


async def outcomes_of(bootstrap: str, settings: Settings, count: int) -> dict[str, dict[str, Any]]:
    """The outcomes by event id, once there are ``count`` of them."""

    async def enough() -> bool:
        return len(await read_outcomes(bootstrap, settings.topics.outcomes)) >= count

    await wait_for(enough, timeout=90)
    return {o["event_id"]: o for o in await read_outcomes(bootstrap, settings.topics.outcomes)}


def restarted(settings: Settings, run_id: str) -> Settings:
    """The same service read from the start again (a new consumer group), its own outcomes."""
    return settings.model_copy(
        update={
            "kafka": settings.kafka.model_copy(update={"group_id": f"restart-{run_id}"}),
            "topics": settings.topics.model_copy(update={"outcomes": f"outcomes-2-{run_id}"}),
        }
    )


async def emulator_get(emulator: EmulatorServer, path: str) -> Any:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{emulator.url}/_emulator{path}")
    return response.json()


def summary(outcome: dict[str, Any]) -> tuple[str, int, str]:
    return (outcome["status"], outcome["error_code"], outcome["detected_by"])


def ids(gid: str, count: int) -> list[str]:
    return [f"it:msg:{gid}:{n:05d}" for n in range(count)]


class TestCallRefusedAsAWhole:
    async def test_six_batch_mates_are_imported_and_only_the_bad_message_fails_with_10020(
        self, kafka_broker: EmbeddedBroker, run_id: str
    ) -> None:
        """The emulator refuses the whole call of seven with 10020 for one oversized message.

        Its batch-mates go in again without it and are imported in order; it alone fails with
        the provider's code and reason.
        """
        bootstrap = kafka_broker.bootstrap_servers
        config = emulator_config(
            message_size_limit=rules.MESSAGE_SIZE_LIMIT_2022, oversized_refuses_call=True
        )
        async with EmulatorServer(config) as emulator:
            settings = make_settings(bootstrap, emulator.url, run_id)
            messages = [
                message_record(settings, "big", n, text="x" * 9_000 if n == 3 else None)
                for n in range(7)
            ]
            async with running(settings):
                await produce(bootstrap, [group_record(settings, "big")])
                await outcomes_of(bootstrap, settings, 1)
                await produce(bootstrap, messages)  # read together: one batch of seven
                outcomes = await outcomes_of(bootstrap, settings, 8)
            stored = (await emulator_get(emulator, "/groups/big/messages"))["messages"]
            calls = (await emulator_get(emulator, "/stats"))["calls"]["import_group_msg"]
        results = [outcomes[event_id] for event_id in ids("big", 7)]
        assert [("imported", 0, "provider")] * 3 + [("failed", 10020, "provider")] + [
            ("imported", 0, "provider")
        ] * 3 == [summary(o) for o in results]
        assert "MsgList[3]" in results[3]["error_info"]
        assert [f"big #{n}" for n in range(7) if n != 3] == [
            m["body"][0]["MsgContent"]["Text"] for m in stored
        ]
        assert [m["seq"] for m in stored] == [o["msg_seq"] for o in results if o["msg_seq"]]
        assert {"10020": 1, "0": 1} == calls  # refused once, then the six without it


async def first_and_second_run(
    bootstrap: str, settings: Settings, run_id: str, records: list[Out]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Run the service over ``records``, then again from the start; both runs' outcomes."""
    async with running(settings):
        await produce(bootstrap, records)
        first = await outcomes_of(bootstrap, settings, len(records))
    again = restarted(settings, run_id)
    async with running(again):
        second = await outcomes_of(bootstrap, again, len(records))
    return first, second


class TestRestartOverAMessageRefusedAlone:
    async def test_tencent_messages_behind_the_hole_are_recovered_not_sent_again(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ) -> None:
        """80001 for one message in the middle; after a restart nothing is sent again.

        The provider's Random de-duplication is not needed: no import call at all.
        """
        bootstrap = kafka_broker.bootstrap_servers
        settings = make_settings(bootstrap, emulator.url, run_id)
        records = [group_record(settings, "hole")] + [
            message_record(settings, "hole", n, text="a forbidden-word" if n == BAD else None)
            for n in range(COUNT)
        ]
        async with running(settings):
            await produce(bootstrap, records)
            first = await outcomes_of(bootstrap, settings, len(records))
        before = await emulator_get(emulator, "/stats")
        again = restarted(settings, run_id)
        async with running(again):
            second = await outcomes_of(bootstrap, again, len(records))
        after = await emulator_get(emulator, "/stats")
        event_ids = ids("hole", COUNT)
        assert ("failed", 80001) == (
            first[event_ids[BAD]]["status"],
            first[event_ids[BAD]]["error_code"],
        )
        assert [
            ("failed", limits.NOT_STORED_BEFORE_LATER, "service")
            if n == BAD
            else ("imported", 0, "recovered")
            for n in range(COUNT)
        ] == [summary(second[event_id]) for event_id in event_ids]
        assert [first[e]["msg_seq"] for e in event_ids] == [second[e]["msg_seq"] for e in event_ids]
        assert (COUNT - 1, 0, before["calls"]["import_group_msg"]) == (
            after["messages"],
            after["duplicates_discarded"],
            after["calls"]["import_group_msg"],
        )

    async def test_zim_messages_behind_the_hole_are_not_stored_twice(
        self, kafka_broker: EmbeddedBroker, run_id: str
    ) -> None:
        """An unregistered sender in the middle (660500002); after a restart ZIM holds each once."""
        bootstrap = kafka_broker.bootstrap_servers
        config = emulator_config(
            zego_app_id=ZIM_APP_ID,
            zego_server_secret=SecretStr(ZIM_SECRET),
            zego_unregistered_users=["ghost"],
            zego_registered_users=[OWNER, "user-0", "user-1", "user-2"],
        )
        async with EmulatorServer(config) as emulator:
            settings = zego_settings(bootstrap, emulator.url, run_id)
            records = [zim_group(settings, "zhole")] + [
                message_record(
                    settings, "zhole", n, **({"From_Account": "ghost"} if n == BAD else {})
                )
                for n in range(COUNT)
            ]
            first, second = await first_and_second_run(bootstrap, settings, run_id, records)
            stored = await zim_messages(emulator, "zhole")
            calls = (await zim_stats(emulator))["calls"]["ImportGroupMsg"]
        event_ids = ids("zhole", COUNT)
        assert ("failed", 660500002) == (
            first[event_ids[BAD]]["status"],
            first[event_ids[BAD]]["error_code"],
        )
        assert [
            ("failed", limits.NOT_STORED_BEFORE_LATER, "service")
            if n == BAD
            else ("imported", 0, "recovered")
            for n in range(COUNT)
        ] == [summary(second[event_id]) for event_id in event_ids]
        assert [f"zhole #{n}" for n in range(COUNT) if n != BAD] == [
            m["body"]["Message"] for m in stored
        ]
        # the first run's calls only (the unregistered sender's call is tried again while
        # accounts might still be imported; the second run sends nothing)
        assert (COUNT - 1, True) == (calls.get("0"), calls.get("660500002", 0) >= 1)


class TestRestartDeepInTheHistory:
    @pytest.mark.slow
    async def test_more_than_fifty_pages_are_read_when_the_pending_messages_are_older(
        self, kafka_broker: EmbeddedBroker, run_id: str
    ) -> None:
        """Pages of one message (IsFinished 0): the first pending one is 60 pages back.

        It and every later one are found and reported recovered; none is sent again.
        """
        bootstrap = kafka_broker.bootstrap_servers
        count = 60
        async with EmulatorServer(emulator_config(history_page_limit=1)) as emulator:
            settings = make_settings(bootstrap, emulator.url, run_id)
            records = [group_record(settings, "deep")] + [
                message_record(settings, "deep", n) for n in range(count)
            ]
            first, second = await first_and_second_run(bootstrap, settings, run_id, records)
            after = await emulator_get(emulator, "/stats")
        event_ids = ids("deep", count)
        assert [("imported", 0, "recovered")] * count == [summary(second[e]) for e in event_ids]
        assert [first[e]["msg_seq"] for e in event_ids] == [second[e]["msg_seq"] for e in event_ids]
        assert (count, 0, True) == (
            after["messages"],
            after["duplicates_discarded"],
            after["calls"]["group_msg_get_simple"]["0"] > 50,
        )
