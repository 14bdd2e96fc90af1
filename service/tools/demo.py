# Copyright 2026 chat-import-service contributors
"""``chat-import demo``: the whole pipeline in one process, with no outside services.

An embedded Kafka-compatible broker, the provider emulator and the service share one event loop.
The sample export (a full migration: accounts, groups, members, messages, unread counts) is
published to the input topics, progress is followed through the high watermarks of the outcome
and dead-letter topics, then the service is stopped gracefully and everything it published is
read back and checked: each event's status and error code against the export's expectations,
the dead-letter count, each group's message count at the emulator against the imported outcomes,
and ``chat-import verify`` (history, members and unread counts pulled back from the provider)
must come out clean. The summary counts each stage.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from service.app import Service
from service.embedded_broker import EmbeddedBroker
from service.emulator.config import EmulatorConfig, FaultConfig
from service.emulator.server import EmulatorServer
from service.messaging.kafka_clients import security_options
from service.messaging.topic_reader import TopicRecord, read_topic
from service.sample import (
    SAMPLE_EXPORT,
    SampleExpectations,
    expectations,
    generate_export,
    load_expectations,
    write_jsonl,
)
from service.settings import (
    KafkaSettings,
    PipelineSettings,
    ProviderName,
    Settings,
    TencentSettings,
    ZegoSettings,
)
from service.tools.local_stack import LOCAL_SDK_APP_ID, LOCAL_SECRET_KEY
from service.tools.produce import RateColumn, produce_file
from service.tools.report import StageSummary, stage_table
from service.tools.verify import IssueKind, VerifyReport, verify_outcomes

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

CALLS_PER_SECOND = 200.0
LATENCY_MS = 20.0
JITTER_MS = 10.0
START_TIMEOUT_SECONDS = 60.0
OUTCOME_TIMEOUT_SECONDS = 60.0
DRAIN_SECONDS = 10.0
POLL_SECONDS = 0.5
MAX_LISTED_MISMATCHES = 40
GROUP_COLUMNS = 4

CONSUMER_ONLY_NOTICE = "Topic creation is skipped in consumer-only mode"

# ZIM imports one message per call at 20 calls/s: the ZIM demo uses a smaller export.
ZEGO_CALLS_PER_SECOND = 20.0
ZEGO_DEMO_GROUPS = 8
ZEGO_DEMO_MESSAGES = 400
ZEGO_MESSAGE_SIZE_LIMIT = 32 * 1_024  # an app raised to ZIM's maximum
ZEGO_RETENTION_DAYS = 3_650
ZEGO_PARAMETER_ERROR = 2

GROUP_RESULT = "group.import.result"
MESSAGE_RESULT = "group.message.import.result"


class DemoSettings(Settings):
    """Settings built from arguments only: the demo ignores the environment and ``.env``."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values passed in."""
        del settings_cls, env_settings, dotenv_settings, file_secret_settings
        return (init_settings,)


def demo_settings(
    bootstrap_servers: str, provider_url: str, provider: ProviderName = ProviderName.TENCENT
) -> Settings:
    """The service's settings in the demo: the embedded broker, the emulator, quiet logs."""
    return DemoSettings(
        provider=provider,
        zego=ZegoSettings(
            base_url=provider_url,
            app_id=LOCAL_SDK_APP_ID,
            server_secret=SecretStr(LOCAL_SECRET_KEY),
            calls_per_second=ZEGO_CALLS_PER_SECOND,
            # the sample's history is years old: a plan that keeps it (as the emulator's)
            retention_days=ZEGO_RETENTION_DAYS,
        ),
        kafka=KafkaSettings(
            bootstrap_servers=bootstrap_servers,
            group_id="chat-import-demo",
            # the embedded broker does not implement InitProducerId
            idempotent_producer=False,
        ),
        tencent=TencentSettings(
            base_url=provider_url,
            sdk_app_id=LOCAL_SDK_APP_ID,
            secret_key=SecretStr(LOCAL_SECRET_KEY),
            calls_per_second=CALLS_PER_SECOND,
        ),
        pipeline=PipelineSettings(drain_seconds=DRAIN_SECONDS),
        http_port=0,
        log_format="console",
        log_level="WARNING",
    )


def emulator_config() -> EmulatorConfig:
    """The emulator in the demo: the providers' call budgets and a little latency."""
    return EmulatorConfig(
        sdk_app_id=LOCAL_SDK_APP_ID,
        secret_key=SecretStr(LOCAL_SECRET_KEY),
        calls_per_second=CALLS_PER_SECOND,
        zego_app_id=LOCAL_SDK_APP_ID,
        zego_server_secret=SecretStr(LOCAL_SECRET_KEY),
        zego_calls_per_second=ZEGO_CALLS_PER_SECOND,
        zego_message_size_limit=ZEGO_MESSAGE_SIZE_LIMIT,
        # importing history needs a plan that keeps it: the sample is older than the default
        zego_retention_days=ZEGO_RETENTION_DAYS,
        faults=FaultConfig(latency_ms=LATENCY_MS, jitter_ms=JITTER_MS),
    )


@dataclass(frozen=True, slots=True)
class GroupCount:
    """A group's messages as the emulator stores them and as the outcomes report them imported."""

    group_id: str
    stored: int
    imported: int

    @property
    def matches(self) -> bool:
        """True when both counts agree."""
        return self.stored == self.imported


@dataclass
class DemoResult:
    """What a demo run produced, read back and found."""

    produced: int = 0
    outcome_records: int = 0
    dead_letters: int = 0
    imported_groups: int = 0
    imported_messages: int = 0
    failed_by_code: Counter[int] = field(default_factory=Counter)
    elapsed_seconds: float = 0.0
    completed: bool = False
    timeout_seconds: float = OUTCOME_TIMEOUT_SECONDS
    service_error: str | None = None
    groups: list[GroupCount] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    by_stage: dict[str, StageSummary] = field(default_factory=dict)
    verification: VerifyReport | None = None
    verify_error: str | None = None

    @property
    def messages_per_second(self) -> float:
        """Imported messages per second of elapsed time."""
        return self.imported_messages / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    @property
    def passed(self) -> bool:
        """True when every check agreed."""
        return not self.mismatches


def _describe(outcome: dict[str, Any]) -> str:
    return f"{outcome.get('status')}/{outcome.get('error_code')}"


def check_outcomes(
    outcomes: list[dict[str, Any]], dead_letters: int, expected: SampleExpectations
) -> list[str]:
    """Every difference between what the service published and what the export expects.

    Each expected event needs exactly one outcome with the expected status and error code; no
    outcome may name an event the export does not hold; the dead-letter count must agree.
    """
    by_event: dict[str, list[dict[str, Any]]] = {}
    for outcome in outcomes:
        by_event.setdefault(str(outcome.get("event_id")), []).append(outcome)
    mismatches: list[str] = []
    for event_id, want in expected.events.items():
        got = by_event.get(event_id, [])
        if not got:
            mismatches.append(f"{event_id}: no outcome (expected {want.status}/{want.error_code})")
            continue
        if len(got) > 1:
            seen = ", ".join(_describe(outcome) for outcome in got)
            mismatches.append(f"{event_id}: {len(got)} outcomes ({seen}); expected exactly one")
        for outcome in got:
            if (outcome.get("status"), outcome.get("error_code")) != (want.status, want.error_code):
                info = outcome.get("error_info") or ""
                mismatches.append(
                    f"{event_id}: got {_describe(outcome)} {info!r}, "
                    f"expected {want.status}/{want.error_code}"
                )
                break
    mismatches.extend(
        f"{event_id}: outcome {_describe(got[0])} for an event the export does not hold"
        for event_id, got in by_event.items()
        if event_id not in expected.events
    )
    if dead_letters != expected.dead_letter:
        mismatches.append(f"dead letters: got {dead_letters}, expected {expected.dead_letter}")
    return mismatches


def imported_per_group(outcomes: list[dict[str, Any]]) -> Counter[str]:
    """Imported message outcomes per GroupId (each event counted once)."""
    seen: set[str] = set()
    counts: Counter[str] = Counter()
    for outcome in outcomes:
        event_id = str(outcome.get("event_id"))
        if outcome.get("type") != MESSAGE_RESULT or outcome.get("status") != "imported":
            continue
        if event_id in seen:
            continue
        seen.add(event_id)
        counts[str(outcome.get("group_id"))] += 1
    return counts


def compare_groups(stored: dict[str, int], imported: Counter[str]) -> list[GroupCount]:
    """Each group's stored and imported message counts, for every group either side knows."""
    names = sorted(set(stored) | set(imported))
    return [GroupCount(name, stored.get(name, 0), imported.get(name, 0)) for name in names]


def summarise(
    result: DemoResult,
    outcomes: list[dict[str, Any]],
    dead_letters: int,
    expected: SampleExpectations,
) -> None:
    """Fill ``result``'s counts and checks from the outcomes read back."""
    latest = {str(outcome.get("event_id")): outcome for outcome in outcomes}
    for outcome in latest.values():
        stage = result.by_stage.setdefault(str(outcome.get("type")), StageSummary())
        if outcome.get("status") == "imported":
            stage.imported += 1
            if outcome.get("type") == GROUP_RESULT:
                result.imported_groups += 1
            elif outcome.get("type") == MESSAGE_RESULT:
                result.imported_messages += 1
        else:
            stage.failed += 1
            code = outcome.get("error_code")
            result.failed_by_code[code if isinstance(code, int) else -1] += 1
    result.outcome_records = len(outcomes)
    result.dead_letters = dead_letters
    result.mismatches = check_outcomes(outcomes, dead_letters, expected)
    result.mismatches.extend(
        f"group {group.group_id}: {group.stored} messages stored at the emulator, "
        f"{group.imported} imported outcomes"
        for group in result.groups
        if not group.matches
    )
    if not result.completed:
        result.mismatches.append(
            f"{max(0, result.produced - result.outcome_records - result.dead_letters)} record(s) "
            f"without an outcome or dead letter after {result.timeout_seconds:.0f} s"
        )
    if result.service_error is not None:
        result.mismatches.append(f"the service stopped with an error: {result.service_error}")
    if result.verify_error is not None:
        result.mismatches.append(f"verify could not check the provider: {result.verify_error}")
    elif result.verification is not None and not result.verification.clean:
        counts = result.verification.counts
        found = ", ".join(f"{n} {kind.value}" for kind, n in sorted(counts.items()))
        result.mismatches.append(f"verify found differences at the provider: {found}")


def render(result: DemoResult, console: Console) -> None:
    """Print the per-stage summary, the per-group comparison, verify's report and the verdict."""
    console.print(stage_table(result.by_stage, "Migration by stage"))
    summary = Table(title="Demo summary", show_header=False)
    summary.add_column("what")
    summary.add_column("count", justify="right")
    summary.add_row("records produced", f"{result.produced:,}")
    summary.add_row("imported groups", f"{result.imported_groups:,}")
    summary.add_row("imported messages", f"{result.imported_messages:,}")
    for code, count in sorted(result.failed_by_code.items()):
        summary.add_row(f"failed, error {code}", f"{count:,}")
    summary.add_row("dead letters", f"{result.dead_letters:,}")
    summary.add_row("elapsed seconds", f"{result.elapsed_seconds:.1f}")
    summary.add_row("messages/s", f"{result.messages_per_second:,.0f}")
    console.print(summary)

    grid = Table(title="Messages per group: stored at the emulator / imported outcomes")
    for _ in range(GROUP_COLUMNS):
        grid.add_column("group")
        grid.add_column("msgs", justify="right")
    cells: list[str] = []
    for group in result.groups:
        style = "" if group.matches else "[bold red]"
        close = "" if group.matches else "[/]"
        flag = "" if group.matches else " DIFF"
        cells += [
            f"{style}{group.group_id}{close}",
            f"{style}{group.stored}/{group.imported}{flag}{close}",
        ]
    width = 2 * GROUP_COLUMNS
    for start in range(0, len(cells), width):
        row = cells[start : start + width]
        grid.add_row(*row, *([""] * (width - len(row))))
    console.print(grid)
    differing = sum(1 for group in result.groups if not group.matches)
    if differing:
        console.print(
            f"[bold red]{differing} group(s) differ[/] between the emulator and the outcomes"
        )
    else:
        console.print(
            f"stored and imported message counts agree in all {len(result.groups)} groups"
        )

    if result.verification is not None:
        render_verify_summary(result.verification, console)
    if result.passed:
        console.print(
            "[bold green]PASS[/]: every outcome and the dead-letter count match the expectations, "
            "and verify is clean"
        )
        return
    console.print(f"[bold red]FAIL[/]: {len(result.mismatches)} mismatch(es)")
    for line in result.mismatches[:MAX_LISTED_MISMATCHES]:
        console.print(f"  - {line}", markup=False, highlight=False)
    if len(result.mismatches) > MAX_LISTED_MISMATCHES:
        console.print(f"  ... and {len(result.mismatches) - MAX_LISTED_MISMATCHES} more")


def render_verify_summary(report: VerifyReport, console: Console, *, limit: int = 10) -> None:
    """What verify pulled back from the provider, in totals, and the first differences."""
    table = Table(title="Verify: the provider against the outcomes", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    groups = report.groups
    table.add_row("groups checked", f"{len(groups):,}")
    table.add_row("imported messages", f"{sum(g.imported for g in groups):,}")
    table.add_row("messages at the provider", f"{sum(g.at_provider for g in groups):,}")
    table.add_row("imported members", f"{sum(g.members for g in groups):,}")
    table.add_row("members at the provider", f"{sum(g.members_at_provider or 0 for g in groups):,}")
    table.add_row("unread counts checked", f"{sum(g.unread_checked for g in groups):,}")
    counts = report.counts
    for kind in IssueKind:
        table.add_row(kind.value.replace("_", " "), f"{counts[kind]:,}")
    console.print(table)
    for issue in report.issues[:limit]:
        console.print(
            f"  - {issue.kind.value} {issue.group_id} {issue.event_id or ''}: {issue.detail}",
            markup=False,
            highlight=False,
        )
    console.print("verify: clean" if report.clean else "verify: differences found")


def _below_error(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR


def _not_consumer_only_notice(record: logging.LogRecord) -> bool:
    # The service creates its topics itself; FastStream's advice to do so would only confuse.
    return not str(record.msg).startswith(CONSUMER_ONLY_NOTICE)


def quiet_framework_logs() -> None:
    """Keep the framework's start-up notices and per-batch access lines off the progress bars."""
    logging.getLogger("faststream").setLevel(logging.WARNING)
    for name, keep in (
        ("faststream.access.kafka", _below_error),
        ("service.faststream", _not_consumer_only_notice),
    ):
        logger = logging.getLogger(name)
        if keep not in logger.filters:
            logger.addFilter(keep)


async def _wait_started(service: Service, task: asyncio.Task[None]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not service.started():
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError("the service stopped while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the service did not start within {START_TIMEOUT_SECONDS:.0f} s")
        await asyncio.sleep(0.05)


async def _stop(service: Service, task: asyncio.Task[None]) -> str | None:
    """Stop the service gracefully; describe what stopped it if that was an error."""
    service.app.exit()
    try:
        await asyncio.wait_for(task, DRAIN_SECONDS + 30)
    except TimeoutError:
        return "it did not stop within the drain bound"
    except Exception as exc:  # noqa: BLE001 - reported in the demo's verdict
        return f"{type(exc).__name__}: {exc}"
    return None


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer.client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(partitions)]


async def _follow(
    settings: Settings,
    produced: int,
    service_task: asyncio.Task[None],
    console: Console,
    timeout: float,
) -> bool:
    """Show outcomes and dead letters against records produced; True once all have arrived.

    The records are fetched and dropped: a fetch response carries each partition's high
    watermark, which is what is counted.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        **security_options(settings.kafka),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        outcome_tps = await _partitions(consumer, settings.topics.outcomes)
        dead_tps = await _partitions(consumer, settings.topics.dead_letter)
        consumer.assign(outcome_tps + dead_tps)
        await consumer.seek_to_beginning(*outcome_tps, *dead_tps)
        deadline = time.monotonic() + timeout
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            RateColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("importing", total=produced, detail="")
            while True:
                await consumer.getmany(timeout_ms=100)
                outcomes = sum(consumer.highwater(tp) or 0 for tp in outcome_tps)
                dead = sum(consumer.highwater(tp) or 0 for tp in dead_tps)
                progress.update(
                    task,
                    completed=min(produced, outcomes + dead),
                    detail=f"incl. {dead:,} dead letters",
                )
                if outcomes + dead >= produced:
                    return True
                if service_task.done() or time.monotonic() > deadline:
                    return False
                await asyncio.sleep(POLL_SECONDS)
    finally:
        await consumer.stop()


async def _read_back(settings: Settings) -> tuple[list[TopicRecord], list[TopicRecord]]:
    kafka = settings.kafka
    outcomes = [record async for record in read_topic(kafka, settings.topics.outcomes)]
    dead_letters = [record async for record in read_topic(kafka, settings.topics.dead_letter)]
    return outcomes, dead_letters


def zego_expectations(records: list[Any]) -> SampleExpectations:
    """What the export gives with ZIM (the sample's ZIM labels and ZIM's documented rules)."""
    return expectations(records, provider="zego")


def zego_export(directory: Path) -> tuple[Path, SampleExpectations]:
    """A smaller export for ZIM's 20 calls/s, written to ``directory``, and what it gives."""
    records = generate_export(groups=ZEGO_DEMO_GROUPS, messages=ZEGO_DEMO_MESSAGES)
    path = directory / "zego-demo-export.jsonl"
    write_jsonl(path, records)
    return path, zego_expectations(records)


async def _stored_counts(emulator_url: str, provider: ProviderName) -> dict[str, int]:
    prefix = "/_emulator/zim" if provider is ProviderName.ZEGO else "/_emulator"
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(f"{emulator_url}{prefix}/groups")
        response.raise_for_status()
    return {
        str(group["group_id"]): int(group["message_count"]) for group in response.json()["groups"]
    }


def _decode(records: list[TopicRecord]) -> list[dict[str, Any]]:
    decoded: list[dict[str, Any]] = []
    for record in records:
        try:
            value = json.loads(record.value or b"")
        except ValueError:
            value = None
        decoded.append(
            value if isinstance(value, dict) else {"event_id": None, "status": "unreadable"}
        )
    return decoded


async def run_demo(
    console: Console,
    *,
    export_path: Path = SAMPLE_EXPORT,
    expectations: SampleExpectations | None = None,
    outcome_timeout: float = OUTCOME_TIMEOUT_SECONDS,
    provider: ProviderName = ProviderName.TENCENT,
) -> DemoResult:
    """Run the pipeline on ``export_path``, print the summary and the verdict, return the result.

    ``expectations`` defaults to the shipped sample's; ``outcome_timeout`` bounds the wait for
    an outcome or dead letter per record produced.
    """
    expected = expectations if expectations is not None else load_expectations()
    result = DemoResult(timeout_seconds=outcome_timeout)
    quiet_framework_logs()
    console.print("starting the embedded broker ...")
    with EmbeddedBroker() as broker:
        async with EmulatorServer(emulator_config()) as emulator:
            console.print(
                f"broker {broker.bootstrap_servers}, emulator {emulator.url} "
                f"({CALLS_PER_SECOND:.0f} calls/s, {LATENCY_MS:.0f}±{JITTER_MS:.0f} ms)"
            )
            settings = demo_settings(broker.bootstrap_servers, emulator.url, provider)
            service = Service(settings)
            service_task = asyncio.create_task(service.app.run(log_level=logging.DEBUG))
            try:
                await _wait_started(service, service_task)
                console.print(f"service started; publishing {export_path}")
                started = time.time()
                result.produced = await produce_file(settings, export_path, console=console)
                result.completed = await _follow(
                    settings, result.produced, service_task, console, outcome_timeout
                )
                finished = time.time()
            finally:
                console.print("stopping the service (drain, commit) ...")
                result.service_error = await _stop(service, service_task)
            outcome_records, dead_letters = await _read_back(settings)
            stamps = [record.timestamp_ms for record in (*outcome_records, *dead_letters)]
            last = max(stamps) / 1000 if stamps else finished
            result.elapsed_seconds = max(0.0, last - started)
            outcomes = _decode(outcome_records)
            result.groups = compare_groups(
                await _stored_counts(emulator.url, provider), imported_per_group(outcomes)
            )
            console.print("verifying: pulling history, members and unread counts back ...")
            try:
                result.verification = await verify_outcomes(settings)
            except Exception as exc:  # noqa: BLE001 - reported in the demo's verdict
                result.verify_error = f"{type(exc).__name__}: {exc}"
    summarise(result, outcomes, len(dead_letters), expected)
    render(result, console)
    return result
