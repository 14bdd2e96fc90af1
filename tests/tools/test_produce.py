# Copyright 2026 chat-import-service contributors
from __future__ import annotations

import io
import json
from collections import defaultdict
from typing import TYPE_CHECKING

import pytest
from rich.console import Console

from service.messaging.topic_reader import read_topic
from service.settings import KafkaSettings, Settings, TopicsSettings
from service.tools.produce import count_records, produce_file

if TYPE_CHECKING:
    from pathlib import Path

    from service.embedded_broker import EmbeddedBroker


def group_line(gid: str) -> bytes:
    event = {
        "type": "group.import",
        "event_id": f"t:group:{gid}",
        "group": {"GroupId": gid, "Type": "Public", "Name": f"群 {gid}"},
    }
    return json.dumps(event, ensure_ascii=False).encode()


def message_line(gid: str, n: int) -> bytes:
    event = {
        "type": "group.message.import",
        "event_id": f"t:msg:{gid}:{n}",
        "group_id": gid,
        "message": {
            "From_Account": "a",
            "SendTime": 1_700_000_000 + n,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"héllo {n}"}}],
        },
    }
    # spacing kept as written: the value must be the line's bytes, not a re-encoding
    return json.dumps(event, ensure_ascii=False, indent=None).encode()


JUNK = b"{not json at all"


def settings_for(bootstrap: str, run_id: str) -> Settings:
    return Settings(
        kafka=KafkaSettings(
            bootstrap_servers=bootstrap, idempotent_producer=False, topic_partitions=3
        ),
        topics=TopicsSettings(
            groups=f"groups-{run_id}",
            messages=f"messages-{run_id}",
            outcomes=f"outcomes-{run_id}",
            dead_letter=f"dead-letter-{run_id}",
        ),
    )


class TestCountRecords:
    """The progress bar's total is the number of records the reader yields."""

    def test_blank_lines_are_not_records(self, tmp_path: Path) -> None:
        """Blank and whitespace-only lines are skipped, CR LF line ends are one line each."""
        path = tmp_path / "export.jsonl"
        path.write_bytes(b'{"a":1}\n\n   \n{"b":2}\r\nxyz')
        expected = 3
        assert expected == count_records(path)


@pytest.mark.kafka
class TestProduceFile:
    """produce_file publishes every line of an export, in file order, keyed by GroupId."""

    async def test_every_record_reaches_its_topic_with_its_key_and_exact_bytes(
        self, kafka_broker: EmbeddedBroker, run_id: str, tmp_path: Path
    ) -> None:
        """Group imports go to the groups topic, the rest (junk too) to messages, values unchanged."""
        lines = [group_line("g-1"), group_line("g-2")]
        lines += [message_line(gid, n) for n in range(5) for gid in ("g-1", "g-2")]
        lines.insert(4, JUNK)
        path = tmp_path / "export.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n\n")
        settings = settings_for(kafka_broker.bootstrap_servers, run_id)

        count = await produce_file(settings, path, console=Console(file=io.StringIO()))

        groups = [
            r async for r in read_topic(kafka_broker.bootstrap_servers, settings.topics.groups)
        ]
        messages = [
            r async for r in read_topic(kafka_broker.bootstrap_servers, settings.topics.messages)
        ]
        expected = len(lines)
        assert expected == count
        expected_groups = sorted([(b"g-1", group_line("g-1")), (b"g-2", group_line("g-2"))])
        assert expected_groups == sorted((r.key, r.value) for r in groups)
        expected_messages = sorted(
            [(None, JUNK)]
            + [(gid.encode(), message_line(gid, n)) for n in range(5) for gid in ("g-1", "g-2")],
            key=repr,
        )
        assert expected_messages == sorted(((r.key, r.value) for r in messages), key=repr)

    async def test_a_groups_records_keep_the_file_order_on_one_partition(
        self, kafka_broker: EmbeddedBroker, run_id: str, tmp_path: Path
    ) -> None:
        """All records of a key land on one partition, in the order of the file."""
        gids = [f"g-{i}" for i in range(6)]
        lines = [message_line(gid, n) for n in range(40) for gid in gids]
        path = tmp_path / "export.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        settings = settings_for(kafka_broker.bootstrap_servers, run_id)

        await produce_file(settings, path, console=Console(file=io.StringIO()))

        partitions: dict[bytes | None, set[int]] = defaultdict(set)
        order: dict[bytes | None, list[tuple[int, bytes | None]]] = defaultdict(list)
        async for record in read_topic(kafka_broker.bootstrap_servers, settings.topics.messages):
            partitions[record.key].add(record.partition)
            order[record.key].append((record.offset, record.value))
        expected_partitions = {gid.encode(): 1 for gid in gids}
        assert expected_partitions == {key: len(found) for key, found in partitions.items()}
        expected_order = {gid.encode(): [message_line(gid, n) for n in range(40)] for gid in gids}
        assert expected_order == {key: [v for _, v in sorted(rows)] for key, rows in order.items()}
