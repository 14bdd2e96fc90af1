# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The contract's behaviours, driven from outside through Kafka, against the emulator over HTTP."""

from __future__ import annotations

import json

import httpx
import pytest

from service.embedded_broker import EmbeddedBroker
from service.emulator.server import EmulatorServer

from .events import group_record, message_record
from .harness import Out, make_settings, produce, read_all, read_outcomes, running, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.emulator]


async def stored(emulator: EmulatorServer, gid: str) -> list[dict[str, object]]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{emulator.url}/_emulator/groups/{gid}/messages")
    if response.status_code == 404:
        return []
    return list(response.json()["messages"])


async def stats(emulator: EmulatorServer) -> dict[str, object]:
    async with httpx.AsyncClient() as client:
        return dict((await client.get(f"{emulator.url}/_emulator/stats")).json())


def outcome_count_at_least(bootstrap: str, topic: str, count: int):
    async def check() -> bool:
        return len(await read_outcomes(bootstrap, topic)) >= count

    return check


class TestEndToEnd:
    async def test_every_event_gets_its_outcome_with_the_stored_msg_seq_in_export_order(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ):
        """Groups and messages in, one outcome each; MsgSeq equals the emulator's, in export order."""
        settings = make_settings(kafka_broker.bootstrap_servers, emulator.url, run_id)
        groups = ["alpha", "beta", "gamma"]
        records = [group_record(settings, g) for g in groups]
        records += [message_record(settings, g, n) for n in range(15) for g in groups]
        async with running(settings):
            await produce(kafka_broker.bootstrap_servers, records)
            await wait_for(
                outcome_count_at_least(
                    kafka_broker.bootstrap_servers, settings.topics.outcomes, 48
                ),
                timeout=60,
            )
        outcomes = {
            o["event_id"]: o
            for o in await read_outcomes(kafka_broker.bootstrap_servers, settings.topics.outcomes)
        }
        assert 48 == len(outcomes)
        for g in groups:
            at_provider = await stored(emulator, g)
            texts = [m["body"][0]["MsgContent"]["Text"] for m in at_provider]  # type: ignore[index]
            assert [f"{g} #{n}" for n in range(15)] == texts
            assert [m["seq"] for m in at_provider] == [
                outcomes[f"it:msg:{g}:{n:05d}"]["msg_seq"] for n in range(15)
            ]
            assert {("imported", 0)} == {
                (
                    outcomes[f"it:msg:{g}:{n:05d}"]["status"],
                    outcomes[f"it:msg:{g}:{n:05d}"]["error_code"],
                )
                for n in range(15)
            }
            assert g == outcomes[f"it:group:{g}"]["group_id"]

    async def test_message_read_before_its_group_waits_and_then_imports(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ):
        """A message whose group.import has not arrived is held (10010), then imported."""
        settings = make_settings(kafka_broker.bootstrap_servers, emulator.url, run_id)
        async with running(settings):
            await produce(kafka_broker.bootstrap_servers, [message_record(settings, "late", 0)])

            async def provider_said_no_group() -> bool:
                calls: dict[str, dict[str, int]] = (await stats(emulator)).get("calls", {})  # type: ignore[assignment]
                return "10010" in calls.get("import_group_msg", {})

            await wait_for(provider_said_no_group, timeout=30)
            await produce(kafka_broker.bootstrap_servers, [group_record(settings, "late")])
            await wait_for(
                outcome_count_at_least(kafka_broker.bootstrap_servers, settings.topics.outcomes, 2),
                timeout=30,
            )
        outcomes = {
            o["event_id"]: o
            for o in await read_outcomes(kafka_broker.bootstrap_servers, settings.topics.outcomes)
        }
        assert ("imported", 1) == (
            outcomes["it:msg:late:00000"]["status"],
            outcomes["it:msg:late:00000"]["msg_seq"],
        )

    async def test_messages_read_ahead_of_their_groups_wait_without_spending_calls(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ):
        """Messages read long before their group.import (a groups backlog) wait for it.

        The consumer reads the groups topic slowly here (small fetches, a small buffer, 40 calls
        a second), so the last groups' imports come in seconds after their messages. The
        messages wait for them: no history pull and no call refused with 10010 is spent.
        """
        base = make_settings(
            kafka_broker.bootstrap_servers, emulator.url, run_id, max_buffered_per_partition=4
        )
        settings = base.model_copy(
            update={
                "kafka": base.kafka.model_copy(update={"fetch_max_records": 5}),
                "tencent": base.tencent.model_copy(update={"calls_per_second": 40}),
            }
        )
        groups = [f"backlog-{g:03d}" for g in range(80)]
        late = groups[-8:]
        records = [group_record(settings, g) for g in groups]
        records += [message_record(settings, g, n) for g in late for n in range(2)]
        await produce(kafka_broker.bootstrap_servers, records)
        async with running(settings):
            await wait_for(
                outcome_count_at_least(
                    kafka_broker.bootstrap_servers, settings.topics.outcomes, len(records)
                ),
                timeout=60,
            )
        outcomes = await read_outcomes(kafka_broker.bootstrap_servers, settings.topics.outcomes)
        messages = [o for o in outcomes if o["event_id"].startswith("it:msg:")]
        assert (16, {"imported"}) == (len(messages), {o["status"] for o in messages})
        calls: dict[str, dict[str, int]] = (await stats(emulator))["calls"]  # type: ignore[assignment]
        assert ({"0": 80}, {"0"}, {}) == (
            calls["import_group"],
            set(calls["import_group_msg"]),
            calls.get("group_msg_get_simple", {}),
        )

    async def test_a_full_buffer_of_messages_still_reads_their_group_imports(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ):
        """Messages fill the buffer and the consumer pauses; the imports they wait for still come in.

        The buffer cap pauses the messages topic only: the groups topic keeps being read, so
        the imports arrive and the held messages go through (instead of waiting out the group
        wait, then failing with 10010).
        """
        settings = make_settings(
            kafka_broker.bootstrap_servers,
            emulator.url,
            run_id,
            max_buffered_records=10,
            group_wait_seconds=600,
        )
        settings = settings.model_copy(
            update={"kafka": settings.kafka.model_copy(update={"fetch_max_records": 5})}
        )
        groups = [f"held-{g}" for g in range(4)]
        messages = [message_record(settings, g, n) for g in groups for n in range(10)]
        async with running(settings) as service:
            await produce(kafka_broker.bootstrap_servers, messages)
            registry = service.metrics.registry

            async def consumer_paused() -> bool:
                return (registry.get_sample_value("chat_import_paused_partitions") or 0) > 0

            await wait_for(consumer_paused, timeout=30)
            await produce(
                kafka_broker.bootstrap_servers, [group_record(settings, g) for g in groups]
            )
            await wait_for(
                outcome_count_at_least(
                    kafka_broker.bootstrap_servers, settings.topics.outcomes, 44
                ),
                timeout=60,
            )
        outcomes = await read_outcomes(kafka_broker.bootstrap_servers, settings.topics.outcomes)
        assert (44, {"imported"}) == (len(outcomes), {o["status"] for o in outcomes})

    async def test_junk_goes_to_the_dead_letter_topic_unchanged_and_consumption_continues(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ):
        """Non-events keep key, value and headers, gain error headers; the next event imports."""
        settings = make_settings(kafka_broker.bootstrap_servers, emulator.url, run_id)
        junk = [
            Out(settings.topics.messages, b"g", b"\xff\xfe not utf-8", (("trace", b"\x00\x01"),)),
            Out(settings.topics.messages, b"g", b"[1, 2, 3]"),
            Out(
                settings.topics.groups,
                b"g",
                json.dumps({"type": "group.delete", "event_id": "x"}).encode(),
            ),
            Out(
                settings.topics.messages,
                None,
                json.dumps({"type": "group.message.import"}).encode(),
            ),
        ]
        async with running(settings):
            await produce(
                kafka_broker.bootstrap_servers,
                [*junk, group_record(settings, "g"), message_record(settings, "g", 0)],
            )
            await wait_for(
                outcome_count_at_least(kafka_broker.bootstrap_servers, settings.topics.outcomes, 2),
                timeout=30,
            )
        dead = await read_all(kafka_broker.bootstrap_servers, settings.topics.dead_letter)
        assert sorted(j.value for j in junk) == sorted(d.value or b"" for d in dead)
        first = next(d for d in dead if d.value == junk[0].value)
        headers = dict(first.headers)
        assert (b"\x00\x01", b"g", settings.topics.messages.encode()) == (
            headers["trace"],
            first.key,
            headers["error.topic"],
        )
        assert {"error.reason", "error.partition", "error.offset"} <= set(headers)
        outcomes = await read_outcomes(kafka_broker.bootstrap_servers, settings.topics.outcomes)
        assert {"imported"} == {o["status"] for o in outcomes}

    async def test_broken_rules_fail_with_their_code_and_no_provider_call(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ):
        """Each documented rule, broken, gives a failed outcome by the service naming the field."""
        settings = make_settings(kafka_broker.bootstrap_servers, emulator.url, run_id)
        cases = {
            "it:group:long": (group_record(settings, "long", Name="n" * 31), 10004, "group.Name"),
            "it:group:av": (group_record(settings, "av", Type="AVChatRoom"), 10007, "AVChatRoom"),
            "it:group:intro": (
                group_record(settings, "intro", Introduction="i" * 241),
                10004,
                "Introduction",
            ),
            "it:group:notice": (
                group_record(settings, "notice", Notification="n" * 301),
                10004,
                "Notification",
            ),
            "it:group:face": (group_record(settings, "face", FaceUrl="f" * 101), 10004, "FaceUrl"),
            "it:group:members": (
                group_record(settings, "members", MaxMemberCount=6001),
                10004,
                "MaxMemberCount",
            ),
            "it:msg:ok:00001": (
                message_record(
                    settings, "ok", 1, MsgBody=[{"MsgType": "TIMSoundElem", "MsgContent": {}}]
                ),
                10004,
                "MsgType",
            ),
            "it:msg:ok:00002": (
                message_record(settings, "ok", 2, text="x" * 12_001),
                80002,
                "bytes",
            ),
            "it:msg:ok:00003": (
                message_record(settings, "ok", 3, SendTime=4_102_444_800),
                10004,
                "future",
            ),
            "it:msg:ok:00004": (
                message_record(settings, "ok", 4, From_Account=""),
                10004,
                "From_Account",
            ),
        }
        async with running(settings):
            await produce(kafka_broker.bootstrap_servers, [case[0] for case in cases.values()])
            await wait_for(
                outcome_count_at_least(
                    kafka_broker.bootstrap_servers, settings.topics.outcomes, len(cases)
                ),
                timeout=30,
            )
        outcomes = {
            o["event_id"]: o
            for o in await read_outcomes(kafka_broker.bootstrap_servers, settings.topics.outcomes)
        }
        for event_id, (_, code, named) in cases.items():
            outcome = outcomes[event_id]
            assert ("failed", code, "service", True) == (
                outcome["status"],
                outcome["error_code"],
                outcome["detected_by"],
                named in outcome["error_info"],
            ), event_id
        assert {} == (await stats(emulator)).get("calls", {})

    async def test_one_rejected_message_does_not_fail_its_batch_mates(
        self, kafka_broker: EmbeddedBroker, emulator: EmulatorServer, run_id: str
    ):
        """The provider refuses one message (80001 restricted words); the others are imported."""
        settings = make_settings(kafka_broker.bootstrap_servers, emulator.url, run_id)
        records = [group_record(settings, "mix")]
        records += [
            message_record(settings, "mix", n, text="a forbidden-word" if n == 3 else None)
            for n in range(7)
        ]
        async with running(settings):
            await produce(kafka_broker.bootstrap_servers, records)
            await wait_for(
                outcome_count_at_least(kafka_broker.bootstrap_servers, settings.topics.outcomes, 8),
                timeout=30,
            )
        outcomes = {
            o["event_id"]: o
            for o in await read_outcomes(kafka_broker.bootstrap_servers, settings.topics.outcomes)
        }
        results = [
            (
                outcomes[f"it:msg:mix:{n:05d}"]["status"],
                outcomes[f"it:msg:mix:{n:05d}"]["error_code"],
            )
            for n in range(7)
        ]
        assert [("imported", 0)] * 3 + [("failed", 80001)] + [("imported", 0)] * 3 == results
        assert 6 == len(await stored(emulator, "mix"))
