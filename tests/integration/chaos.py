# Copyright 2026 chat-import-service contributors
"""Shared helpers of the crash, fault, rebalance, broker-outage and hostile-input tests.

A ``Load`` is a set of groups and their messages, each message with a text no other message has,
so that a message stored at the emulator can be traced back to the event that carried it.
``assert_exactly_once`` checks what the service promises whatever happened during the run:

- every input event has an outcome, and no outcome names an event that was never sent;
- all outcomes of one ``event_id`` agree (a crash may repeat an outcome, never change it);
- every valid message is stored exactly once at the emulator, in its group's export order, and
  nothing else is stored there;
- each imported message's outcome carries the ``msg_seq`` the emulator gave that message.

Child services (``ChildService``) are real processes, so a test can SIGKILL them; their logs go
to a file the failure report quotes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from service.emulator.config import EmulatorConfig, FaultConfig
from service.messaging.topics import ensure_topics
from service.tools.local_stack import ManagedProcess, service_process

from .harness import SDK_APP_ID, SECRET_KEY, Out, read_outcomes

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
    from pathlib import Path

    from service.settings import Settings

# A week ago: far enough in the past for every send-time rule, close enough for none to care.
BASE_TIME = int(time.time()) - 7 * 86_400
MESSAGES_PER_SECOND_OF_EXPORT = 3  # several messages share a SendTime, as in real exports


def emulator_config(**faults: Any) -> EmulatorConfig:
    """A strict emulator with the test credentials and the given faults."""
    return EmulatorConfig(
        sdk_app_id=SDK_APP_ID, secret_key=SecretStr(SECRET_KEY), faults=FaultConfig(**faults)
    )


# ------------------------------------------------------------------------------------ the load


@dataclass(frozen=True, slots=True)
class Expected:
    """One valid message of a load: its event and the text that identifies it when stored."""

    event_id: str
    text: str


@dataclass(slots=True)
class Load:
    """Records to produce (in order) and what the emulator must hold afterwards."""

    records: list[Out] = field(default_factory=list)
    group_events: dict[str, str] = field(default_factory=dict)
    messages: dict[str, list[Expected]] = field(default_factory=dict)

    @property
    def event_ids(self) -> set[str]:
        """Every event the load sends."""
        ids = set(self.group_events.values())
        for expected in self.messages.values():
            ids.update(e.event_id for e in expected)
        return ids

    @property
    def message_count(self) -> int:
        """Valid messages in the load."""
        return sum(len(expected) for expected in self.messages.values())


def group_event(settings: Settings, run_id: str, gid: str) -> tuple[str, Out]:
    """A valid ``group.import`` for ``gid``: its event id and its record."""
    event_id = f"{run_id}:group:{gid}"
    value = {
        "type": "group.import",
        "event_id": event_id,
        "group": {
            "GroupId": gid,
            "Type": "Public",
            "Name": f"chaos {gid}"[:30],
            "CreateTime": BASE_TIME - 100,
        },
    }
    return event_id, Out(settings.topics.groups, gid.encode(), json.dumps(value).encode())


def message_event(
    settings: Settings, run_id: str, gid: str, n: int, *, text: str | None = None
) -> tuple[Expected, Out]:
    """The ``n``-th valid message of ``gid`` (ascending SendTime in ``n``), text unique per event."""
    event_id = f"{run_id}:msg:{gid}:{n:05d}"
    body_text = text if text is not None else f"{run_id} {gid} message {n}"
    value = {
        "type": "group.message.import",
        "event_id": event_id,
        "group_id": gid,
        "message": {
            "From_Account": f"user-{n % 4}",
            "SendTime": BASE_TIME + n // MESSAGES_PER_SECOND_OF_EXPORT,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": body_text}}],
        },
    }
    record = Out(settings.topics.messages, gid.encode(), json.dumps(value).encode())
    return Expected(event_id, body_text), record


def build_load(settings: Settings, run_id: str, *, groups: int, per_group: int) -> Load:
    """``groups`` groups of ``per_group`` messages, groups first, messages round-robin."""
    load = Load()
    gids = [f"g{index:03d}-{run_id}" for index in range(groups)]
    for gid in gids:
        event_id, record = group_event(settings, run_id, gid)
        load.group_events[gid] = event_id
        load.records.append(record)
        load.messages[gid] = []
    for n in range(per_group):
        for gid in gids:
            expected, record = message_event(settings, run_id, gid, n)
            load.messages[gid].append(expected)
            load.records.append(record)
    return load


async def create_topics(settings: Settings) -> None:
    """Create the run's topics now (before anything is produced, before any service starts)."""
    await ensure_topics(settings.kafka, settings.topics)


# ------------------------------------------------------------------------- the emulator's view


async def stored_messages(
    client: httpx.AsyncClient, emulator_url: str, gid: str
) -> list[dict[str, Any]]:
    """The group's messages as the emulator holds them, in seq order ([] for no group)."""
    response = await client.get(f"{emulator_url}/_emulator/groups/{quote(gid, safe='')}/messages")
    if response.status_code == 404:
        return []
    response.raise_for_status()
    return list(response.json()["messages"])


async def emulator_stats(emulator_url: str) -> dict[str, Any]:
    """Counters of the emulator: calls, faults, duplicates discarded, messages stored."""
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{emulator_url}/_emulator/stats")
        response.raise_for_status()
        return dict(response.json())


def stored_text(message: Mapping[str, Any]) -> str | None:
    """The text of a stored message's first element (None if it has none)."""
    body = message.get("body") or []
    first = body[0] if body and isinstance(body[0], dict) else {}
    content = first.get("MsgContent") if isinstance(first, dict) else None
    text = content.get("Text") if isinstance(content, dict) else None
    return text if isinstance(text, str) else None


# --------------------------------------------------------------------------------- outcomes


def by_event(outcomes: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Outcomes grouped by ``event_id``, in the order they were read."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for outcome in outcomes:
        grouped[str(outcome.get("event_id"))].append(outcome)
    return dict(grouped)


async def outcome_ids(bootstrap: str, settings: Settings) -> set[str]:
    """The event ids that have at least one outcome now."""
    return {
        str(o.get("event_id")) for o in await read_outcomes(bootstrap, settings.topics.outcomes)
    }


def _sample(items: Iterable[Any], count: int = 10) -> list[Any]:
    return sorted(items, key=str)[:count]


def _group_problems(
    gid: str, expected: Sequence[Expected], stored: Sequence[Mapping[str, Any]]
) -> list[str]:
    texts = [stored_text(m) for m in stored]
    wanted = [e.text for e in expected]
    if texts == wanted:
        return []
    problems: list[str] = []
    counts = Counter(texts)
    duplicated = [text for text, n in counts.items() if n > 1]
    if duplicated:
        problems.append(f"{gid}: stored more than once: {_sample(duplicated)}")
    missing = [text for text in wanted if text not in counts]
    if missing:
        problems.append(f"{gid}: never stored ({len(missing)}): {_sample(missing)}")
    extra = [text for text in counts if text not in set(wanted)]
    if extra:
        problems.append(f"{gid}: stored but never sent: {_sample(extra)}")
    unique = list(dict.fromkeys(t for t in texts if t in set(wanted)))
    present = [text for text in wanted if text in counts]
    if unique != present:
        first = next(i for i, (a, b) in enumerate(zip(unique, present, strict=True)) if a != b)
        problems.append(
            f"{gid}: stored order differs from export order at position {first}: "
            f"stored {unique[first : first + 3]}, exported {present[first : first + 3]}"
        )
    return problems or [f"{gid}: stored texts differ from the export"]


async def assert_exactly_once(
    bootstrap: str,
    settings: Settings,
    emulator_url: str,
    expected_event_ids: Iterable[str],
    groups_to_messages: Mapping[str, Sequence[Expected]],
) -> dict[str, list[dict[str, Any]]]:
    """Check every exactly-once promise of the run; return the outcomes by event id.

    ``groups_to_messages`` lists, per group, the valid messages in export order: the emulator
    must hold exactly these (nothing else, each once, in this order) and each one's outcome must
    say ``imported`` with the emulator's seq.
    """
    expected_ids = set(expected_event_ids)
    outcomes = by_event(await read_outcomes(bootstrap, settings.topics.outcomes))

    missing = expected_ids - outcomes.keys()
    assert not missing, f"{len(missing)} events have no outcome, e.g. {_sample(missing)}"
    unknown = outcomes.keys() - expected_ids
    assert not unknown, f"outcomes for events never sent: {_sample(unknown)}"

    disagreeing = {
        event_id: [(o["status"], o["msg_seq"], o["error_code"]) for o in found]
        for event_id, found in outcomes.items()
        if len({(o["status"], o["msg_seq"], o["error_code"]) for o in found}) > 1
    }
    assert not disagreeing, f"outcomes of one event disagree: {dict(_sample(disagreeing.items()))}"

    problems: list[str] = []
    wrong_outcomes: list[str] = []
    async with httpx.AsyncClient(timeout=30) as client:
        for gid, expected in groups_to_messages.items():
            stored = await stored_messages(client, emulator_url, gid)
            problems.extend(_group_problems(gid, expected, stored))
            seq_of = {stored_text(m): m["seq"] for m in stored}
            for item in expected:
                outcome = outcomes[item.event_id][0]
                if (outcome["status"], outcome["msg_seq"]) != ("imported", seq_of.get(item.text)):
                    wrong_outcomes.append(
                        f"{item.event_id}: outcome {outcome['status']} seq {outcome['msg_seq']} "
                        f"({outcome['error_code']} {outcome['error_info']!r}), "
                        f"emulator seq {seq_of.get(item.text)}"
                    )
    assert not problems, "the emulator does not hold the export exactly once:\n" + "\n".join(
        problems[:20]
    )
    assert not wrong_outcomes, "outcomes do not match the emulator:\n" + "\n".join(
        wrong_outcomes[:20]
    )
    total = sum(len(expected) for expected in groups_to_messages.values())
    stats = await emulator_stats(emulator_url)
    assert total == stats["messages"], "the emulator holds messages outside the expected groups"
    return outcomes


def detected_by(outcomes: Mapping[str, list[dict[str, Any]]]) -> Counter[str]:
    """How many outcomes (repeats included) each ``detected_by`` value has."""
    return Counter(o["detected_by"] for found in outcomes.values() for o in found)


# -------------------------------------------------------------------------------- waiting


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    *,
    timeout: float,
    what: str,
    interval: float = 0.2,
    alive: Callable[[], None] | None = None,
) -> None:
    """Poll ``condition`` until true; fail naming ``what`` at the deadline.

    ``alive`` is called on every round: it raises when something the wait depends on (a child
    service) is gone, so a crash is reported at once instead of at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None:
            alive()
        if await condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout:.0f} s")
        await asyncio.sleep(interval)


def progress(bootstrap: str, settings: Settings, event_ids: set[str], fraction: float):
    """A condition: at least ``fraction`` of ``event_ids`` have an outcome."""
    needed = max(1, int(len(event_ids) * fraction))

    async def reached() -> bool:
        return len(await outcome_ids(bootstrap, settings) & event_ids) >= needed

    return reached


# ---------------------------------------------------------------------------- child services


class ChildService:
    """``chat-import run`` as a child process that can be killed and started again."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.log_path = log_path
        self.process: ManagedProcess = service_process(settings, log_path=log_path)
        self.starts = 0
        self.kills = 0

    def start(self) -> ChildService:
        """Start (or restart) the process."""
        self.process.start()
        self.starts += 1
        return self

    def kill(self) -> None:
        """SIGKILL and reap."""
        assert self.process.alive(), f"{self.log_path.name} died before it was killed"
        self.process.kill()
        self.kills += 1

    async def stop(self) -> int:
        """SIGTERM, wait for the drain; the exit code."""
        return await asyncio.to_thread(self.process.terminate, 60)

    def ensure_alive(self) -> None:
        """Raise (quoting the log) when the process exited on its own."""
        if not self.process.alive():
            raise AssertionError(
                f"{self.log_path.name} exited unexpectedly:\n{log_tail(self.log_path)}"
            )

    def log(self) -> str:
        """The whole log so far."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def events(self, name: str) -> list[dict[str, Any]]:
        """The service's structured log lines whose event is ``name``, oldest first."""
        found: list[dict[str, Any]] = []
        for line in self.log().splitlines():
            if not line.startswith("{"):
                continue  # FastStream's own lines are plain text
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("event") == name:
                found.append(entry)
        return found

    def assignments(self) -> int:
        """How many times this process was assigned a non-empty set of partitions."""
        return sum(1 for entry in self.events("partitions assigned") if entry.get("partitions"))


def log_tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file."""
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def holds_partitions(child: ChildService) -> Callable[[], Awaitable[bool]]:
    """A condition for ``wait_until``: the child has been assigned partitions."""

    async def check() -> bool:
        return child.assignments() > 0

    return check


def all_alive(children: Iterable[ChildService]) -> Callable[[], None]:
    """An ``alive`` check for ``wait_until`` covering ``children``."""
    chosen = list(children)

    def check() -> None:
        for child in chosen:
            child.ensure_alive()

    return check


async def shutdown(children: Iterable[ChildService]) -> None:
    """Kill whatever is still running (test clean-up)."""
    for child in children:
        if child.process.alive():
            await asyncio.to_thread(child.process.kill)


def report_logs(children: Iterable[ChildService], lines: int = 60) -> None:
    """Print the tail of each child's log (pytest shows it when the test fails)."""
    for child in children:
        print(f"----- {child.log_path} (last {lines} lines) -----")  # noqa: T201
        print(log_tail(child.log_path, lines))  # noqa: T201
