# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""``make bench``: throughput of the service against the emulator at the provider's limits.

Starts the embedded broker and the emulator (latency and jitter as the provider's), preloads an
export, runs the service as a real process, and measures from the outcomes topic. Prints messages
per second, the ratio to the provider ceiling (minimum calls / 200 per second, over the elapsed
time), average batch size, peak RSS and frequency-limit errors; the same for a naive consumer
(one record at a time); the main run interrupted by a SIGTERM and a kill -9, with the offset map
and with the plain watermark (repeated outcomes, history pulls); five replicas sharing the app's
budget, and how the budget splits for 1 to 12 replicas; the engine's memory after 10,000 and
1,000,000 distinct groups; a full migration (10,000 accounts, 300 groups x 50 members x 50
messages, an unread count per member) stage by stage, with each stage's ratio to its ceiling; a
sweep over latency and group count; and peak RSS with a million records waiting. Order and counts
are verified against the emulator after every run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Self

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from bench.cluster import budget_split, group_memory, run_replicas
from bench.interrupted import PHASES, Interrupted, run_interrupted
from bench.load import (
    members_of,
    migration_stages,
    produce_export,
    produce_records,
    unread_count,
)
from bench.naive import run_naive
from service.embedded_broker import EmbeddedBroker, free_port
from service.messaging.topic_reader import read_topic
from service.messaging.topics import ensure_topics
from service.settings import (
    KafkaSettings,
    PipelineSettings,
    Settings,
    TencentSettings,
    TopicsSettings,
)
from service.tools.local_stack import (
    LOCAL_SDK_APP_ID,
    LOCAL_SECRET_KEY,
    ManagedProcess,
    emulator_process,
    service_process,
    wait_http_ok,
)

CALLS_PER_SECOND = 200
PARTITIONS = 12
REPLICA_GROUPS = 600
REPLICA_MESSAGES = 40
RESULTS = Path("bench-results")
console = Console(width=160)


@dataclass
class Result:
    name: str
    latency_ms: int
    groups: int
    messages: int
    elapsed_s: float
    messages_per_s: float
    ceiling_ratio: float
    avg_batch: float
    peak_rss_mb: float
    rate_limited: int
    order_ok: bool
    counts_ok: bool
    calls_per_second: list[int] | None = None


def slug(name: str) -> str:
    return name.replace("/", "-").replace(" ", "-")


def settings_for(bootstrap: str, emulator_url: str, tag: str) -> Settings:
    return Settings(
        kafka=KafkaSettings(
            bootstrap_servers=bootstrap,
            group_id=f"bench-{tag}",
            idempotent_producer=False,
            topic_partitions=PARTITIONS,
        ),
        topics=TopicsSettings(
            groups=f"groups-{tag}",
            messages=f"messages-{tag}",
            outcomes=f"outcomes-{tag}",
            dead_letter=f"dead-letter-{tag}",
        ),
        tencent=TencentSettings(
            base_url=emulator_url,
            sdk_app_id=LOCAL_SDK_APP_ID,
            secret_key=SecretStr(LOCAL_SECRET_KEY),
            calls_per_second=CALLS_PER_SECOND,
        ),
        http_port=free_port(),
        log_level="WARNING",
    )


async def emulator_call(
    client: httpx.AsyncClient, url: str, method: str, path: str, body: object = None
) -> dict:
    response = await client.request(method, f"{url}/_emulator{path}", json=body)
    response.raise_for_status()
    return dict(response.json())


async def collect(
    bootstrap: str, topic: str, expected: int, timeout: float
) -> list[tuple[dict, int]]:
    """Wait until ``expected`` outcomes are in the topic, then read them: (outcome, timestamp ms).

    While the service runs, only the partitions' high watermarks are polled (a fetch of the
    newest record each), so the measurement takes little CPU from the run it measures.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    try:
        consumer.assign(tps)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await consumer.seek_to_end(*tps)
            await consumer.getmany(timeout_ms=200)
            if sum(consumer.highwater(tp) or 0 for tp in tps) >= expected:
                break
            await asyncio.sleep(0.5)
    finally:
        await consumer.stop()
    return [
        (json.loads(r.value or b"{}"), r.timestamp_ms) async for r in read_topic(bootstrap, topic)
    ]


async def sample_rss(process: ManagedProcess, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], process.rss_bytes())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)


@contextlib.asynccontextmanager
async def running_service(settings: Settings, log_name: str) -> AsyncIterator[list[int]]:
    """The service as a process while the block runs; yields its peak RSS so far (bytes)."""
    process = service_process(settings, log_path=RESULTS / f"service-{log_name}.log").start()
    peak = [0]
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(process, peak, stop))
    try:
        yield peak
    finally:
        stop.set()
        await sampler
        process.terminate()


async def set_latency(client: httpx.AsyncClient, url: str, latency_ms: float) -> None:
    """The provider's latency, varying by a third either way."""
    faults = {"latency_ms": latency_ms, "jitter_ms": latency_ms / 3}
    await emulator_call(client, url, "PUT", "/faults", faults)


async def load_export(settings: Settings, *, groups: int, per_group: int, prefix: str) -> int:
    """Create the run's topics and produce its export; returns the records produced."""
    await ensure_topics(settings.kafka, settings.topics)
    return await produce_export(
        settings.kafka.bootstrap_servers,
        settings.topics.groups,
        settings.topics.messages,
        groups=groups,
        messages=per_group,
        partitions=PARTITIONS,
        prefix=prefix,
    )


async def verify_groups(
    client: httpx.AsyncClient, url: str, prefix: str, groups: int, per_group: int
) -> tuple[bool, bool]:
    order_ok = counts_ok = True
    for g in range(groups):
        gid = f"{prefix}-{g:05d}"
        response = await client.get(f"{url}/_emulator/groups/{gid}/messages")
        messages = response.json().get("messages", []) if response.status_code == 200 else []
        texts = [m["body"][0]["MsgContent"]["Text"] for m in messages]
        counts_ok &= len(texts) == per_group
        order_ok &= texts == [f"message {n} of {gid} ✓" for n in range(len(texts))]
    return order_ok, counts_ok


async def run_service(
    broker: EmbeddedBroker,
    emulator_url: str,
    *,
    latency_ms: int,
    groups: int,
    per_group: int,
    name: str,
    replicas: int = 1,
) -> Result:
    tag = uuid.uuid4().hex[:8]
    prefix = f"bench-{tag}"
    settings = settings_for(broker.bootstrap_servers, emulator_url, tag)
    async with httpx.AsyncClient(timeout=30) as client:
        await emulator_call(client, emulator_url, "POST", "/reset")
        await set_latency(client, emulator_url, latency_ms)
        peak = [0]
        outcomes: list[tuple[dict, int]] = []

        async def produce() -> int:
            return await load_export(settings, groups=groups, per_group=per_group, prefix=prefix)

        async def gather(total: int) -> None:
            outcomes.extend(
                await collect(broker.bootstrap_servers, settings.topics.outcomes, total, 600)
            )

        if replicas == 1:
            total = await produce()
            async with running_service(settings, slug(name)) as peak:
                await gather(total)
        else:
            await run_replicas(
                settings,
                replicas=replicas,
                partitions=PARTITIONS,
                results=RESULTS,
                name=slug(name),
                produce=produce,
                collect=gather,
            )
        stats = await emulator_call(client, emulator_url, "GET", "/stats")
        (RESULTS / f"emulator-stats-{slug(name)}.json").write_text(
            json.dumps(stats, indent=1), encoding="utf-8"
        )
        order_ok, counts_ok = await verify_groups(client, emulator_url, prefix, groups, per_group)
    # The provider's view: from its first answer to its last, plus the first call's latency.
    elapsed = stats["last_answer"] - stats["first_answer"] + latency_ms / 1000
    messages = groups * per_group
    min_calls = groups + groups * math.ceil(per_group / 7)
    msg_calls = sum(stats["calls"].get("import_group_msg", {}).values())
    return Result(
        name=name,
        latency_ms=latency_ms,
        groups=groups,
        messages=messages,
        elapsed_s=round(elapsed, 2),
        messages_per_s=round(messages / elapsed, 1),
        ceiling_ratio=round(min_calls / CALLS_PER_SECOND / elapsed, 3),
        avg_batch=round(messages / max(1, msg_calls), 2),
        peak_rss_mb=round(peak[0] / 2**20, 1),
        rate_limited=int(stats.get("rate_limited", 0)),
        order_ok=order_ok and len(outcomes) >= groups * (per_group + 1),
        counts_ok=counts_ok,
        calls_per_second=per_second(stats.get("admitted_per_tenth", [])),
    )


@dataclass
class StageResult:
    name: str
    api: str
    events: int
    calls: int
    min_calls: int
    ceiling_calls_per_s: float
    span_s: float
    calls_per_s: float
    ceiling_ratio: float
    freq_limit_errors: int


@dataclass
class MigrationResult:
    stages: list[StageResult]
    ceiling_s: float  # the time the minimum calls take at the provider's limits
    busy_s: float  # the sum of the stages' spans at the provider
    wall_s: float  # first answer to last, gaps between stages included
    ceiling_ratio: float  # ceiling_s / busy_s
    peak_rss_mb: float
    accounts_ok: bool
    members_ok: bool
    order_ok: bool
    unread_ok: bool


# (stage, API, events per unit, per-call maximum, the API's limit in calls/s)
MIGRATION_APIS = {
    "accounts": ("multiaccount_import", 100, 100.0),
    "groups": ("import_group", 1, 200.0),
    "members": ("import_group_member", 20, 200.0),
    "messages": ("import_group_msg", 7, 200.0),
    "unread counts": ("set_unread_msg_num", 1, 200.0),
}


class OutcomeCounter:
    """Counts the outcome records as they arrive, reading the topic once from its start.

    Records are counted, not offsets: the embedded broker's offsets do not always advance by
    one per record of a batch, so a high watermark can stay below the records it holds.
    """

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.count = 0
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        self._tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]

    async def __aenter__(self) -> Self:
        await self._consumer.start()
        self._consumer.assign(self._tps)
        await self._consumer.seek_to_beginning(*self._tps)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def wait(self, expected: int, timeout: float) -> int:
        """Read until ``expected`` records have been counted (or the timeout); the count."""
        deadline = time.monotonic() + timeout
        while self.count < expected and time.monotonic() < deadline:
            batches = await self._consumer.getmany(timeout_ms=500, max_records=5_000)
            self.count += sum(len(records) for records in batches.values())
        return self.count


async def check_migration(
    client: httpx.AsyncClient, url: str, prefix: str, *, accounts: int, groups: int, members: int
) -> tuple[bool, bool, bool, bool]:
    """Accounts, members (with their unread counts) and messages at the emulator, as produced."""
    held = (await emulator_call(client, url, "GET", "/accounts"))["accounts"]
    accounts_ok = len(held) == accounts
    members_ok = unread_ok = True
    order_ok, _ = await verify_groups(client, url, prefix, groups, 50)
    for g in range(groups):
        gid = f"{prefix}-{g:05d}"
        listed = (await emulator_call(client, url, "GET", f"/groups/{gid}/members"))["members"]
        want = members_of(g, members, accounts)
        members_ok &= [m["account"] for m in listed] == want
        unread_ok &= [m["unread"] for m in listed] == [unread_count(i) for i in range(len(listed))]
    return accounts_ok, members_ok, order_ok, unread_ok


async def run_full_migration(
    broker: EmbeddedBroker,
    emulator_url: str,
    *,
    latency_ms: int = 60,
    accounts: int = 10_000,
    groups: int = 300,
    members: int = 50,
    per_group: int = 50,
) -> MigrationResult:
    """A full migration, stage by stage: each stage is produced once the one before is done."""
    tag = uuid.uuid4().hex[:8]
    prefix = f"mig-{tag}"
    settings = settings_for(broker.bootstrap_servers, emulator_url, tag)
    stages = migration_stages(
        settings.topics.groups,
        settings.topics.messages,
        accounts=accounts,
        groups=groups,
        members=members,
        messages=per_group,
        prefix=prefix,
    )
    bootstrap = broker.bootstrap_servers
    async with httpx.AsyncClient(timeout=60) as client:
        await emulator_call(client, emulator_url, "POST", "/reset")
        await set_latency(client, emulator_url, latency_ms)
        await ensure_topics(settings.kafka, settings.topics)
        produced = 0
        async with (
            running_service(settings, "full-migration") as peak,
            OutcomeCounter(bootstrap, settings.topics.outcomes) as counter,
        ):
            for name, records in stages:
                produced += await produce_records(bootstrap, records, partitions=PARTITIONS)
                done = await counter.wait(produced, 900)
                console.print(f"  {name}: {len(records):,} events, {done:,} outcomes so far")
        stats = await emulator_call(client, emulator_url, "GET", "/stats")
        (RESULTS / "emulator-stats-full-migration.json").write_text(
            json.dumps(stats, indent=1), encoding="utf-8"
        )
        accounts_ok, members_ok, order_ok, unread_ok = await check_migration(
            client, emulator_url, prefix, accounts=accounts, groups=groups, members=members
        )
    latency = latency_ms / 1000
    results: list[StageResult] = []
    for name, records in stages:
        api, per_call, limit = MIGRATION_APIS[name]
        ceiling = min(limit, CALLS_PER_SECOND)
        units = groups if name in {"members", "messages"} else 1
        per_unit = len(records) // units
        min_calls = units * math.ceil(per_unit / per_call)
        first, last = stats["spans"].get(api, [0.0, 0.0])
        span = last - first + latency
        calls = sum(stats["calls"].get(api, {}).values())
        results.append(
            StageResult(
                name=name,
                api=api,
                events=len(records),
                calls=calls,
                min_calls=min_calls,
                ceiling_calls_per_s=ceiling,
                span_s=round(span, 2),
                calls_per_s=round(calls / span, 1),
                ceiling_ratio=round(min_calls / ceiling / span, 3),
                freq_limit_errors=int(stats["calls"].get(api, {}).get("60007", 0)),
            )
        )
    ceiling_s = sum(r.min_calls / r.ceiling_calls_per_s for r in results)
    busy = sum(r.span_s for r in results)
    return MigrationResult(
        stages=results,
        ceiling_s=round(ceiling_s, 2),
        busy_s=round(busy, 2),
        wall_s=round(stats["last_answer"] - stats["first_answer"] + latency, 2),
        ceiling_ratio=round(ceiling_s / busy, 3),
        peak_rss_mb=round(peak[0] / 2**20, 1),
        accounts_ok=accounts_ok,
        members_ok=members_ok,
        order_ok=order_ok,
        unread_ok=unread_ok,
    )


def migration_table(result: MigrationResult) -> Table:
    out = Table(title="Full migration at 60 ms, stage by stage (ceiling: each API's limit)")
    for column in (
        "stage",
        "API",
        "events",
        "calls",
        "min calls",
        "ceiling calls/s",
        "seconds",
        "calls/s",
        "ratio to ceiling",
        "freq-limit errors",
    ):
        out.add_column(column, justify="right")
    for r in result.stages:
        out.add_row(
            r.name,
            r.api,
            f"{r.events:,}",
            f"{r.calls:,}",
            f"{r.min_calls:,}",
            f"{r.ceiling_calls_per_s:.0f}",
            f"{r.span_s:.1f}",
            f"{r.calls_per_s:,.0f}",
            f"{r.ceiling_ratio:.3f}",
            str(r.freq_limit_errors),
        )
    out.add_section()
    out.add_row(
        "all stages",
        "",
        f"{sum(r.events for r in result.stages):,}",
        f"{sum(r.calls for r in result.stages):,}",
        f"{sum(r.min_calls for r in result.stages):,}",
        "",
        f"{result.busy_s:.1f}",
        "",
        f"{result.ceiling_ratio:.3f}",
        str(sum(r.freq_limit_errors for r in result.stages)),
    )
    return out


def per_second(tenths: list[int]) -> list[int]:
    """Calls admitted in each second from the first one (the provider's view of the load)."""
    return [sum(tenths[i : i + 10]) for i in range(0, len(tenths), 10)]


async def run_naive_baseline(
    broker: EmbeddedBroker, emulator_url: str, *, latency_ms: int, seconds: float
) -> Result:
    tag = uuid.uuid4().hex[:8]
    settings = settings_for(broker.bootstrap_servers, emulator_url, tag)
    async with httpx.AsyncClient(timeout=30) as client:
        await emulator_call(client, emulator_url, "POST", "/reset")
        await load_export(settings, groups=300, per_group=50, prefix=f"naive-{tag}")
        await emulator_call(client, emulator_url, "PUT", "/faults", {})
        imported = await run_naive(
            broker.bootstrap_servers,
            [settings.topics.messages],
            settings.topics.outcomes,
            emulator_url,
            sdk_app_id=LOCAL_SDK_APP_ID,
            secret_key=LOCAL_SECRET_KEY,
            seconds=seconds,
            groups=[f"naive-{tag}-{g:05d}" for g in range(300)],
            on_groups_created=lambda: set_latency(client, emulator_url, latency_ms),
        )
        stats = await emulator_call(client, emulator_url, "GET", "/stats")
    calls = sum(stats["calls"].get("import_group_msg", {}).values())
    return Result(
        name="naive (one record at a time)",
        latency_ms=latency_ms,
        groups=300,
        messages=imported,
        elapsed_s=seconds,
        messages_per_s=round(imported / seconds, 1),
        ceiling_ratio=round(calls / CALLS_PER_SECOND / seconds, 3),
        avg_batch=1.0,
        peak_rss_mb=0.0,
        rate_limited=int(stats.get("rate_limited", 0)),
        order_ok=True,
        counts_ok=True,
    )


async def run_backlog_memory(
    broker: EmbeddedBroker, emulator_url: str, *, records: int, seconds: float
) -> Result:
    tag = uuid.uuid4().hex[:8]
    settings = settings_for(broker.bootstrap_servers, emulator_url, tag)
    groups = 2_000
    per_group = records // groups
    async with httpx.AsyncClient(timeout=30) as client:
        await emulator_call(client, emulator_url, "POST", "/reset")
        await set_latency(client, emulator_url, 60)
        console.print(f"producing {groups * (per_group + 1):,} records ...")
        total = await load_export(settings, groups=groups, per_group=per_group, prefix=f"rss-{tag}")
        async with running_service(settings, "backlog") as peak:
            started = time.monotonic()
            outcomes = await collect(
                broker.bootstrap_servers, settings.topics.outcomes, total, timeout=seconds
            )
        elapsed = time.monotonic() - started
    return Result(
        name=f"backlog of {total:,} records",
        latency_ms=60,
        groups=groups,
        messages=len(outcomes),
        elapsed_s=round(elapsed, 1),
        messages_per_s=round(len(outcomes) / elapsed, 1),
        ceiling_ratio=0.0,
        avg_batch=0.0,
        peak_rss_mb=round(peak[0] / 2**20, 1),
        rate_limited=0,
        order_ok=True,
        counts_ok=True,
    )


def memory_table(rows: list[dict[str, float]]) -> Table:
    out = Table(title="Engine memory after N distinct groups (one group.import + one message each)")
    for column in ("groups", "peak RSS MB", "groups remembered", "lanes left", "seconds"):
        out.add_column(column, justify="right")
    for row in rows:
        out.add_row(
            f"{int(row['groups']):,}",
            f"{row['peak_rss_mb']:.0f}",
            f"{int(row['groups_remembered']):,}",
            str(int(row["lanes"])),
            f"{row['seconds']:.0f}",
        )
    return out


async def run_restarts(
    broker: EmbeddedBroker, emulator_url: str, *, with_map: bool, groups: int, per_group: int
) -> Interrupted:
    """The main run, SIGTERMed at a third and SIGKILLed at two thirds of the messages."""
    tag = uuid.uuid4().hex[:8]
    prefix = f"restart-{tag}"
    settings = settings_for(broker.bootstrap_servers, emulator_url, tag)
    if not with_map:
        settings.kafka.offset_metadata_max_bytes = 0  # the plain watermark, as before the map
    async with httpx.AsyncClient(timeout=30) as client:
        await emulator_call(client, emulator_url, "POST", "/reset")
        await set_latency(client, emulator_url, 60)
        return await run_interrupted(
            settings,
            emulator_url,
            name="offset map" if with_map else "plain watermark",
            groups=groups,
            per_group=per_group,
            partitions=PARTITIONS,
            prefix=prefix,
            log_dir=RESULTS,
            verify=lambda: verify_groups(client, emulator_url, prefix, groups, per_group),
        )


def restart_table(results: list[Interrupted]) -> Table:
    out = Table(title="300 groups x 50 messages, SIGTERM at 1/3 and kill -9 at 2/3 of the messages")
    for column in (
        "commits",
        "events",
        "outcomes",
        "repeated",
        "repeated " + " / ".join(PHASES[1:]),
        "history pulls",
        "pulls " + " / ".join(PHASES),
        "seconds",
        "order",
        "counts",
    ):
        out.add_column(column, justify="right")
    for r in results:
        out.add_row(
            r.name,
            f"{r.events:,}",
            f"{r.outcomes:,}",
            f"{r.repeated:,} ({r.repeated_share:.1%})",
            " / ".join(f"{n:,}" for n in r.repeated_by_phase[1:]),
            f"{r.history_pulls:,}",
            " / ".join(f"{n:,}" for n in r.pulls_by_phase),
            f"{r.elapsed_s:.0f}",
            "ok" if r.order_ok else "BROKEN",
            "ok" if r.counts_ok else "WRONG",
        )
    return out


def table(title: str, results: list[Result], naive: Result | None = None) -> Table:
    out = Table(title=title)
    for column in (
        "run",
        "latency ms",
        "groups",
        "messages",
        "msg/s",
        "ratio to ceiling",
        "x naive",
        "avg batch",
        "peak RSS MB",
        "freq-limit errors",
        "order",
        "counts",
    ):
        out.add_column(column, justify="right")
    for r in results:
        versus = (
            f"{r.messages_per_s / naive.messages_per_s:.1f}"
            if naive and naive.messages_per_s
            else "-"
        )
        out.add_row(
            r.name,
            str(r.latency_ms),
            str(r.groups),
            f"{r.messages:,}",
            f"{r.messages_per_s:,.0f}",
            f"{r.ceiling_ratio:.3f}",
            versus,
            f"{r.avg_batch:.2f}",
            f"{r.peak_rss_mb:.0f}",
            str(r.rate_limited),
            "ok" if r.order_ok else "BROKEN",
            "ok" if r.counts_ok else "WRONG",
        )
    return out


async def run_cluster_rows(
    broker: EmbeddedBroker,
    url: str,
    naive: Result,
    args: argparse.Namespace,
    all_results: dict[str, list[dict]],
) -> bool:
    """Five replicas on one app budget, the budget split table, engine memory; True on failure."""
    console.print(
        f"[bold]five replicas[/]: {REPLICA_GROUPS} groups x {REPLICA_MESSAGES} "
        "messages, 60 ms, one app budget of 200 calls/s shared by the calls each replica has left"
    )
    five = await run_service(
        broker,
        url,
        latency_ms=60,
        groups=REPLICA_GROUPS,
        per_group=REPLICA_MESSAGES,
        name="5 replicas",
        replicas=5,
    )
    console.print(table("Five replicas on 12 partitions at 60 ms", [five], naive))
    all_results["replicas"] = [asdict(five)]
    rate = CALLS_PER_SECOND * (1 - PipelineSettings().budget_headroom)
    console.print(
        f"[bold]call budget split on assignment[/] over {PARTITIONS} partitions "
        f"({rate:g} calls/s, the app budget less the headroom), calls/s per replica, before "
        "the first backlog reports:"
    )
    console.print(budget_split(PARTITIONS, rate), highlight=False)
    memory = [group_memory(count) for count in args.memory_groups]
    console.print(memory_table(memory))
    all_results["group_memory"] = memory
    return not (five.order_ok and five.counts_ok)


async def main(args: argparse.Namespace) -> int:
    RESULTS.mkdir(exist_ok=True)
    emulator, url = emulator_process(
        calls_per_second=CALLS_PER_SECOND, log_path=RESULTS / "emulator.log"
    )
    all_results: dict[str, list[dict]] = {}
    failed = False
    with EmbeddedBroker(log_path=RESULTS / "broker.log") as broker:
        emulator.start()
        try:
            wait_http_ok(f"{url}/_emulator/stats")
            if not args.migration_only:
                console.print(
                    "[bold]main run[/]: 300 groups x 50 messages, 60 ms +/- 20 ms, 200 calls/s"
                )
                main_run = await run_service(
                    broker, url, latency_ms=60, groups=300, per_group=50, name="service"
                )
                naive = await run_naive_baseline(
                    broker, url, latency_ms=60, seconds=args.naive_seconds
                )
                console.print(
                    table(
                        "Throughput at 60 ms (ceiling: 200 calls/s x 7 = 1,400 messages/s)",
                        [main_run, naive],
                        naive,
                    )
                )
                console.print(
                    "calls admitted per second (service): "
                    + " ".join(str(n) for n in main_run.calls_per_second or [])
                )
                all_results["main"] = [asdict(main_run), asdict(naive)]
                (RESULTS / "latest.json").write_text(
                    json.dumps(all_results, indent=2), encoding="utf-8"
                )
                failed |= not (main_run.order_ok and main_run.counts_ok)
                restarts = [
                    await run_restarts(broker, url, with_map=with_map, groups=300, per_group=50)
                    for with_map in (False, True)
                ]
                console.print(restart_table(restarts))
                all_results["restarts"] = [
                    {**asdict(r), "repeated_share": round(r.repeated_share, 4)} for r in restarts
                ]
                failed |= not all(r.order_ok and r.counts_ok for r in restarts)
                failed |= await run_cluster_rows(broker, url, naive, args, all_results)
            if not args.skip_migration:
                console.print(
                    "[bold]full migration[/]: 10,000 accounts, 300 groups x 50 members x 50 "
                    "messages, an unread count per member, 60 ms +/- 20 ms, 200 calls/s"
                )
                migration = await run_full_migration(broker, url)
                console.print(migration_table(migration))
                console.print(
                    f"minimum calls take {migration.ceiling_s:.1f} s at the limits; the stages "
                    f"kept the provider busy {migration.busy_s:.1f} s ({migration.wall_s:.1f} s "
                    f"first answer to last, gaps between stages included); peak RSS "
                    f"{migration.peak_rss_mb:.0f} MB; accounts "
                    f"{'ok' if migration.accounts_ok else 'WRONG'}, members "
                    f"{'ok' if migration.members_ok else 'WRONG'}, messages in order "
                    f"{'ok' if migration.order_ok else 'BROKEN'}, unread counts "
                    f"{'ok' if migration.unread_ok else 'WRONG'}"
                )
                all_results["full_migration"] = [asdict(migration)]
                (RESULTS / "latest.json").write_text(
                    json.dumps(all_results, indent=2), encoding="utf-8"
                )
                failed |= not (
                    migration.accounts_ok
                    and migration.members_ok
                    and migration.order_ok
                    and migration.unread_ok
                )
            if not (args.quick or args.migration_only):
                sweep = []
                for latency in (10, 60, 200):
                    for groups in (10, 100, 1000):
                        per_group = max(5, 6000 // groups)
                        console.print(f"sweep: {latency} ms, {groups} groups x {per_group}")
                        result = await run_service(
                            broker,
                            url,
                            latency_ms=latency,
                            groups=groups,
                            per_group=per_group,
                            name=f"sweep {latency}ms/{groups}g",
                        )
                        sweep.append(result)
                        failed |= not (result.order_ok and result.counts_ok)
                console.print(table("Sweep over latency and groups", sweep, naive))
                all_results["sweep"] = [asdict(r) for r in sweep]
                backlog = await run_backlog_memory(
                    broker, url, records=args.backlog, seconds=args.backlog_seconds
                )
                console.print(table("Memory with a backlog waiting in the input topics", [backlog]))
                all_results["backlog"] = [asdict(backlog)]
        finally:
            emulator.terminate()
    (RESULTS / "latest.json").write_text(json.dumps(all_results, indent=2), encoding="utf-8")
    console.print(f"results written to {RESULTS / 'latest.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="main run, naive baseline, restarts, replicas, memory and full migration only",
    )
    parser.add_argument(
        "--skip-migration", action="store_true", help="leave out the full-migration run"
    )
    parser.add_argument("--migration-only", action="store_true", help="only the full-migration run")
    parser.add_argument("--naive-seconds", type=float, default=20.0)
    parser.add_argument("--backlog", type=int, default=1_000_000)
    parser.add_argument("--backlog-seconds", type=float, default=30.0)
    parser.add_argument(
        "--memory-groups",
        type=int,
        nargs="+",
        default=[10_000, 1_000_000],
        help="distinct group counts for the engine memory row",
    )
    raise SystemExit(asyncio.run(main(parser.parse_args())))
