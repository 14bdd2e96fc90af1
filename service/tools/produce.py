# Copyright 2026 chat-import-service contributors
"""``chat-import produce FILE``: publish a JSON-lines export to the input topics.

Every line becomes one record: ``group.import`` events go to the groups topic, everything else
to the messages topic (where the service dead-letters what is not an event), keyed by GroupId,
with the line's bytes as the value. Records are sent in file order and their acknowledgements
awaited in bulk; the producer keeps a partition's batches in order, so each group's records
arrive in the order of the file.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from service.messaging.kafka_clients import security_options
from service.messaging.topics import ensure_topics
from service.sample import read_jsonl

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from service.settings import Settings

ACK_WINDOW = 5_000
"""Records sent before their acknowledgements are awaited together."""


class RateColumn(ProgressColumn):
    """The task's current speed per second, e.g. ``1,234 records/s``."""

    def __init__(self, unit: str = "") -> None:
        super().__init__()
        self._unit = f" {unit}" if unit else ""

    def render(self, task: Task) -> Text:
        """Render the speed, or a dash while there is none."""
        speed = task.finished_speed or task.speed
        shown = "-" if speed is None else f"{speed:,.0f}"
        return Text(f"{shown}{self._unit}/s", style="progress.data.speed")


def count_records(path: Path) -> int:
    """The number of records ``read_jsonl`` yields for ``path`` (its non-blank lines)."""
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


async def produce_file(settings: Settings, path: Path, *, console: Console) -> int:
    """Publish every record of the export at ``path``; return how many were published."""
    if settings.kafka.create_topics:
        try:
            await ensure_topics(settings.kafka, settings.topics)
        except KafkaError:
            console.print("[yellow]could not check the topics; publishing anyway[/]")
    topics = {"groups": settings.topics.groups, "messages": settings.topics.messages}
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        **security_options(settings.kafka),
        client_id=f"{settings.kafka.client_id}-produce",
        acks="all",
        enable_idempotence=settings.kafka.idempotent_producer,
        linger_ms=10,
        max_batch_size=256 * 1024,
    )
    total = count_records(path)
    sent = 0
    await producer.start()
    try:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            RateColumn("records"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("publishing", total=total)

            def acknowledged(_: asyncio.Future[object]) -> None:
                progress.advance(task)

            pending: list[asyncio.Future[object]] = []
            for record in read_jsonl(path):
                future = await producer.send(
                    topics[record.topic], value=record.value, key=record.key
                )
                future.add_done_callback(acknowledged)
                pending.append(future)
                sent += 1
                if len(pending) >= ACK_WINDOW:
                    await asyncio.gather(*pending)
                    pending.clear()
            await asyncio.gather(*pending)
            progress.update(task, total=sent, completed=sent)
    finally:
        await producer.stop()
    return sent
