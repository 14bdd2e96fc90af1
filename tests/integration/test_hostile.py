# Copyright 2026 chat-import-service contributors
"""Hostile records among valid traffic: each ends as labelled, the rest imports exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from aiokafka import AIOKafkaProducer

from service.emulator.server import EmulatorServer
from service.log import configure_logging

from .chaos import (
    Expected,
    assert_exactly_once,
    create_topics,
    emulator_config,
    emulator_stats,
    group_event,
    message_event,
    outcome_ids,
    wait_until,
)
from .harness import Out, make_settings, read_all, read_outcomes, running
from .hostile.corpus import GROUPS, DeadLetter, Failed, Imported, build_corpus

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from service.embedded_broker import EmbeddedBroker
    from service.settings import Settings

    from .hostile.corpus import Case

pytestmark = [pytest.mark.kafka, pytest.mark.emulator, pytest.mark.slow]

HOSTS = [f"host-{n}" for n in range(4)]
TAIL = 5  # valid messages per host group after every hostile record
MAX_REQUEST_BYTES = 16 * 1024 * 1024  # the 10 MB records need more than the 1 MB default
GROUP_WAIT_SECONDS = 5  # the ghost group's message gives up after this


@dataclass(frozen=True)
class Sent:
    """A produced record: what it was and where it landed."""

    out: Out
    partition: int
    offset: int
    case: Case | None  # None for the valid traffic around the corpus
    event_id: str | None

    @property
    def source(self) -> tuple[str, int, int]:
        return (self.out.topic, self.partition, self.offset)


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """The in-process service's log lines."""
    stream = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=stream)
    yield stream
    configure_logging(level="WARNING", fmt="json")


async def produce_tracked(
    bootstrap: str, items: Sequence[tuple[Out, Case | None, str | None]]
) -> list[Sent]:
    """Publish in order (acks=all, up to 16 MB a record); return where each landed."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_request_size=MAX_REQUEST_BYTES
    )
    await producer.start()
    try:
        futures = [
            await producer.send(
                out.topic, value=out.value, key=out.key, headers=list(out.headers) or None
            )
            for out, _, _ in items
        ]
        metadata = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return [
        Sent(out, md.partition, md.offset, case, event_id)
        for (out, case, event_id), md in zip(items, metadata, strict=True)
    ]


def _topic(settings: Settings, case: Case) -> str:
    return settings.topics.groups if case.topic == GROUPS else settings.topics.messages


def _case_item(settings: Settings, case: Case) -> tuple[Out, Case | None, str | None]:
    out = Out(_topic(settings, case), case.key, case.value, case.headers)  # type: ignore[arg-type]
    return out, case, (None if isinstance(case.label, DeadLetter) else case.event_id)


class TestHostileInput:
    """The corpus in tests/integration/hostile, interleaved with valid events on one service."""

    async def test_every_hostile_record_ends_as_labelled_and_valid_traffic_flows_on(
        self, kafka_broker: EmbeddedBroker, run_id: str, captured_logs: io.StringIO
    ):
        """Dead letters unchanged, failures with their code and field, the rest imported once."""
        bootstrap = kafka_broker.bootstrap_servers
        setup_cases, cases = build_corpus(HOSTS)
        assert len(cases) >= 30
        async with EmulatorServer(emulator_config()) as emulator:
            settings = make_settings(
                bootstrap, emulator.url, run_id, group_wait_seconds=GROUP_WAIT_SECONDS
            )
            await create_topics(settings)
            setup: list[tuple[Out, Case | None, str | None]] = []
            for gid in HOSTS:
                event_id, out = group_event(settings, run_id, gid)
                setup.append((out, None, event_id))
            setup += [_case_item(settings, case) for case in setup_cases]

            expected_messages: dict[str, list[Expected]] = {gid: [] for gid in HOSTS}
            filler_counts = dict.fromkeys(HOSTS, 0)

            def filler(gid: str) -> tuple[Out, Case | None, str | None]:
                n = filler_counts[gid]
                filler_counts[gid] += 1
                expected, out = message_event(settings, run_id, gid, n)
                expected_messages[gid].append(expected)
                return out, None, expected.event_id

            stream: list[tuple[Out, Case | None, str | None]] = []
            for index, case in enumerate(cases):
                stream.append(filler(HOSTS[index % len(HOSTS)]))
                stream.append(_case_item(settings, case))
            for _ in range(TAIL):
                stream.extend(filler(gid) for gid in HOSTS)
            for case in [*setup_cases, *cases]:
                label = case.label
                if isinstance(label, Imported) and label.text is not None and label.stored:
                    expected_messages.setdefault(label.group_id, []).append(
                        Expected(str(case.event_id), label.text)
                    )

            async with running(settings):
                # Groups first, so that their messages meet a settled group (the wait for a
                # group that is still on its way is another test's subject).
                sent = await produce_tracked(bootstrap, setup)
                setup_ids = {s.event_id for s in sent if s.event_id}
                await wait_until(
                    lambda: _has_all(bootstrap, settings, setup_ids),
                    timeout=30,
                    what="outcomes of the group imports",
                )
                sent += await produce_tracked(bootstrap, stream)
                expected_ids = {s.event_id for s in sent if s.event_id}
                dead = sum(1 for s in sent if s.case and isinstance(s.case.label, DeadLetter))
                # On time-out the checks below say exactly which records are missing.
                with contextlib.suppress(AssertionError):
                    await wait_until(
                        lambda: _finished(bootstrap, settings, expected_ids, dead),
                        timeout=30,
                        what="an outcome or a dead letter for every record",
                        interval=0.5,
                    )
                outcomes = await read_outcomes(bootstrap, settings.topics.outcomes)
                dead_letters = await read_all(bootstrap, settings.topics.dead_letter)
            stats = await emulator_stats(emulator.url)

            problems = _check_records(sent, outcomes, dead_letters)
            logs = captured_logs.getvalue().splitlines()
            errors = [line for line in logs if '"level": "error"' in line or "Traceback" in line]
            assert not problems, (
                f"{len(problems)} records did not end as labelled:\n"
                + "\n".join(problems)
                + "\nerror log lines:\n"
                + "\n".join(line[:2000] for line in errors[:10])
            )
            await assert_exactly_once(
                bootstrap, settings, emulator.url, expected_ids, expected_messages
            )

        # Everything the service refuses it refuses before calling: the provider never saw a
        # request it would refuse for a bad parameter.
        calls = stats["calls"]
        assert (0, 0) == (
            calls.get("import_group_msg", {}).get("10004", 0),
            calls.get("import_group", {}).get("10004", 0),
        ), calls
        assert [] == errors


async def _has_all(bootstrap: str, settings: Settings, ids: set[str]) -> bool:
    return ids <= await outcome_ids(bootstrap, settings)


async def _finished(bootstrap: str, settings: Settings, ids: set[str], dead: int) -> bool:
    if not ids <= await outcome_ids(bootstrap, settings):
        return False
    return len(await read_all(bootstrap, settings.topics.dead_letter)) >= dead


def _check_records(  # noqa: C901, PLR0912 - one branch per label
    sent: Sequence[Sent], outcomes: Sequence[dict[str, Any]], dead_letters: Sequence[Any]
) -> list[str]:
    """Each produced record against its label; a list of what is wrong."""
    by_source: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for outcome in outcomes:
        src = outcome["source"]
        by_source.setdefault((src["topic"], src["partition"], src["offset"]), []).append(outcome)
    dead_by_source: dict[tuple[str, int, int], list[Any]] = {}
    for record in dead_letters:
        error = dict(record.headers)
        key = (
            error.get("error.topic", b"").decode(),
            int(error.get("error.partition", b"-1")),
            int(error.get("error.offset", b"-1")),
        )
        dead_by_source.setdefault(key, []).append(record)

    problems: list[str] = []
    for item in sent:
        name = item.case.name if item.case else f"valid {item.event_id}"
        label = item.case.label if item.case else Imported("")
        found = by_source.get(item.source, [])
        letters = dead_by_source.get(item.source, [])
        if isinstance(label, DeadLetter):
            if found:
                problems.append(f"{name}: expected a dead letter, got outcome {found[0]}")
            if len(letters) != 1:
                problems.append(f"{name}: expected one dead letter, found {len(letters)}")
                continue
            letter = letters[0]
            headers = list(letter.headers)
            original = list(item.out.headers)
            if (letter.key, letter.value) != (item.out.key, item.out.value):
                problems.append(f"{name}: the dead letter's key or value differs from the record")
            if headers[: len(original)] != original:
                problems.append(f"{name}: original headers not kept: {headers[: len(original)]}")
            if not dict(headers).get("error.reason"):
                problems.append(f"{name}: dead letter without error.reason")
            continue
        if letters:
            problems.append(
                f"{name}: dead-lettered ({dict(letters[0].headers).get('error.reason')!r})"
            )
        if len(found) != 1:
            problems.append(f"{name}: expected one outcome for the record, found {len(found)}")
            continue
        outcome = found[0]
        if outcome["event_id"] != item.event_id:
            problems.append(f"{name}: outcome names {outcome['event_id']!r}")
        if isinstance(label, Failed):
            got = (
                outcome["status"],
                outcome["error_code"],
                outcome["detected_by"],
                outcome["msg_seq"],
            )
            want = ("failed", label.code, label.detected_by, None)
            if got != want or label.field not in outcome["error_info"]:
                problems.append(
                    f"{name}: expected {want} naming {label.field!r}, got {got} "
                    f"{outcome['error_info']!r}"
                )
        elif outcome["status"] != "imported":
            problems.append(f"{name}: expected imported, got {json.dumps(outcome)[:300]}")
    sources = {s.source for s in sent}
    strays = [key for key in dead_by_source if key not in sources]
    if strays:
        problems.append(f"dead letters pointing at no produced record: {strays[:5]}")
    return problems
