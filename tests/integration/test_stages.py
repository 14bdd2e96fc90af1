# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""A full migration through Kafka, against the emulator's strict rules over HTTP.

Accounts, groups, members, messages and unread counts, each with its own outcome.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from service.embedded_broker import EmbeddedBroker
from service.emulator.server import EmulatorServer
from service.tools.verify import verify_outcomes

from .conftest import emulator_config
from .events import account_record, group_record, member_record, message_record, unread_record
from .harness import Out, make_settings, produce, read_outcomes, running, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.emulator]


@pytest.fixture
async def strict_emulator() -> AsyncIterator[EmulatorServer]:
    """An emulator that refuses the account ``refused-7`` (FailAccounts)."""
    async with EmulatorServer(emulator_config(refused_accounts=["refused-7"])) as server:
        yield server


async def inspect(emulator: EmulatorServer, path: str) -> Any:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{emulator.url}/_emulator{path}")
    return response.json()


async def outcomes_of(bootstrap: str, topic: str, count: int) -> dict[str, dict[str, Any]]:
    async def enough() -> bool:
        return len(await read_outcomes(bootstrap, topic)) >= count

    await wait_for(enough, timeout=90)
    return {o["event_id"]: o for o in await read_outcomes(bootstrap, topic)}


class TestFullMigration:
    async def test_every_stage_in_order_and_verify_is_clean(
        self, kafka_broker: EmbeddedBroker, strict_emulator: EmulatorServer, run_id: str
    ) -> None:
        """Every stage gets one outcome per event; verify finds everything at the provider.

        100 accounts (one refused), 2 groups, members, messages, unread counts: the refused
        account fails alone (70402) and so does the member who needs it (10019); unread counts
        are set after the messages.
        """
        bootstrap = kafka_broker.bootstrap_servers
        settings = make_settings(bootstrap, strict_emulator.url, run_id)
        users = [f"refused-{n}" if n == 7 else f"user-{n}" for n in range(100)]
        records: list[Out] = [account_record(settings, user) for user in users]
        records += [group_record(settings, g) for g in ("ga", "gb")]
        for gid, members in (("ga", users[:20]), ("gb", users[20:25])):
            records += [member_record(settings, gid, user) for user in members]
            records += [message_record(settings, gid, n) for n in range(12)]
            records += [unread_record(settings, gid, user, 3) for user in members[:4]]
        async with running(settings):
            await produce(bootstrap, records)
            outcomes = await outcomes_of(bootstrap, settings.topics.outcomes, len(records))
        failed = {
            event_id: o["error_code"]
            for event_id, o in outcomes.items()
            if o["status"] != "imported"
        }
        members = await inspect(strict_emulator, "/groups/ga/members")
        unread = {m["account"]: m["unread"] for m in members["members"]}
        report = await verify_outcomes(settings)
        assert {"it:account:refused-7": 70402, "it:member:ga:refused-7": 10019} == failed
        assert ({"user-0": 3, "user-3": 3, "user-8": 0}, True) == (
            {user: unread[user] for user in ("user-0", "user-3", "user-8")},
            report.clean,
        )

    async def test_a_member_and_a_message_read_before_their_group_wait_for_it(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ) -> None:
        """Members and messages produced before their group's import are imported after it."""
        bootstrap = kafka_broker.bootstrap_servers
        settings = make_settings(bootstrap, emulator.url, run_id)
        early = [
            account_record(settings, "late-joiner"),
            member_record(settings, "gc", "late-joiner"),
            message_record(settings, "gc", 0),
        ]
        async with running(settings):
            await produce(bootstrap, early)
            await produce(bootstrap, [group_record(settings, "gc")])
            outcomes = await outcomes_of(bootstrap, settings.topics.outcomes, 4)
        members = await inspect(emulator, "/groups/gc/members")
        assert ({"imported"}, ["late-joiner"]) == (
            {o["status"] for o in outcomes.values()},
            [m["account"] for m in members["members"]],
        )

    async def test_a_member_whose_account_comes_later_waits_for_it(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ) -> None:
        """10019 while the account is still on its way: the member joins once it is imported."""
        bootstrap = kafka_broker.bootstrap_servers
        settings = make_settings(bootstrap, emulator.url, run_id)
        async with running(settings):
            await produce(
                bootstrap,
                [group_record(settings, "gd"), member_record(settings, "gd", "newcomer")],
            )

            async def refused_once() -> bool:
                calls = (await inspect(emulator, "/stats"))["calls"]
                refusals: int = calls.get("import_group_member", {}).get("10019", 0)
                return refusals >= 1

            await wait_for(refused_once, timeout=30)
            await produce(bootstrap, [account_record(settings, "newcomer")])
            outcomes = await outcomes_of(bootstrap, settings.topics.outcomes, 3)
        assert "imported" == outcomes["it:member:gd:newcomer"]["status"]
