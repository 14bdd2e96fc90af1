# Copyright 2026 chat-import-service contributors
from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from service.sample import SAMPLE_EXPORT, RawRecord, read_jsonl, route, topic_of, write_jsonl
from service.sample.jsonl import render_line

if TYPE_CHECKING:
    from pathlib import Path

    from service.sample import Record

GROUP = {"type": "group.import", "event_id": "e:g", "group": {"GroupId": "g-0001", "Name": "x"}}
MESSAGE = {"type": "group.message.import", "event_id": "e:m", "group_id": "g-0001", "message": {}}


@pytest.fixture(scope="module")
def sample_records() -> list[RawRecord]:
    """Read the shipped sample export back."""
    return list(read_jsonl(SAMPLE_EXPORT))


class TestRoute:
    """Which input topic a line goes to, and under which key."""

    def test_group_import_goes_to_the_group_topic_keyed_by_group_id(self) -> None:
        """group.import: kind group, key group.GroupId, groups topic."""
        kind, key = route(json.dumps(GROUP).encode())
        expected = ("group", b"g-0001", "groups")
        assert expected == (kind, key, topic_of(kind))

    def test_message_import_goes_to_the_message_topic_keyed_by_group_id(self) -> None:
        """group.message.import: kind message, key group_id, messages topic."""
        kind, key = route(json.dumps(MESSAGE).encode())
        expected = ("message", b"g-0001", "messages")
        assert expected == (kind, key, topic_of(kind))

    def test_unknown_type_goes_to_the_message_topic_keyed_by_group_id(self) -> None:
        """Another type: kind other, on the messages topic, still keyed by its group_id."""
        kind, key = route(b'{"type":"group.member.import","event_id":"e","group_id":"g-0004"}')
        expected = ("other", b"g-0004", "messages")
        assert expected == (kind, key, topic_of(kind))

    def test_message_without_event_id_is_still_routed_as_a_message(self) -> None:
        """Routing reads only type and group id; the service dead-letters the missing event_id."""
        expected = ("message", b"g-0002")
        assert expected == route(b'{"type":"group.message.import","group_id":"g-0002"}')

    @pytest.mark.parametrize(
        "value",
        [
            b'{"type":"group.message.import","event_id":"x","group_id":"g-1","Send',
            b'[{"type":"group.import"}]',
            b'"group.import"',
            b"\xff\xfe not utf-8",
            b"[" * 100_000,
        ],
        ids=["cut-off", "array", "string", "not-utf8", "deep"],
    )
    def test_non_objects_are_other_without_a_key(self, value: bytes) -> None:
        """Not JSON, or JSON that is not an object: kind other, no key."""
        expected = ("other", None)
        assert expected == route(value)

    @pytest.mark.parametrize(
        ("document", "expected"),
        [
            ({"type": "group.import", "event_id": "e"}, ("group", None)),
            ({"type": "group.import", "group": {"GroupId": 7}}, ("group", None)),
            ({"type": "group.message.import", "group_id": None}, ("message", None)),
            ({"type": ["group.import"], "group_id": "g-9"}, ("other", b"g-9")),
            ({"group_id": "g-9"}, ("other", b"g-9")),
        ],
        ids=["no-group", "numeric-id", "null-id", "list-type", "no-type"],
    )
    def test_keys_are_strings_or_none(
        self, document: dict[str, object], expected: tuple[str, bytes | None]
    ) -> None:
        """A group id that is missing or not a string gives no key."""
        assert expected == route(json.dumps(document).encode())

    def test_keys_are_utf8(self) -> None:
        """A non-ASCII group id is keyed by its UTF-8 bytes."""
        expected = ("message", "群-1".encode())
        assert expected == route(
            json.dumps({"type": "group.message.import", "group_id": "群-1"}).encode()
        )


class TestWriteAndRead:
    """Export files round-trip: events by value, raw lines byte for byte."""

    def test_round_trip_keeps_events_and_raw_lines(self, tmp_path: Path) -> None:
        """Events come back equal after JSON decoding; raw lines come back byte for byte."""
        records: list[Record] = [GROUP, "not json {", MESSAGE, "[1,2]"]
        path = tmp_path / "export.jsonl"
        written = write_jsonl(path, records)
        read = list(read_jsonl(path))
        expected = (4, [GROUP, MESSAGE], [b"not json {", b"[1,2]"])
        actual = (
            written,
            [json.loads(r.value) for r in read if r.kind != "other"],
            [r.value for r in read if r.kind == "other"],
        )
        assert expected == actual

    def test_values_are_the_exact_lines(self, tmp_path: Path) -> None:
        """A record's value is its line as written, without the line end."""
        path = tmp_path / "export.jsonl"
        write_jsonl(path, [GROUP, MESSAGE])
        expected = path.read_bytes().split(b"\n")[:2]
        assert expected == [record.value for record in read_jsonl(path)]

    def test_text_stays_readable_and_line_separators_are_escaped(self, tmp_path: Path) -> None:
        """Non-ASCII stays as is; U+2028, U+2029 and U+0085 are escaped so no reader splits."""
        text = "你好 \u2028 next\u2029 and \u0085 👍 \u0000"
        path = tmp_path / "export.jsonl"
        write_jsonl(path, [{"type": "group.message.import", "event_id": "e", "text": text}])
        content = path.read_text(encoding="utf-8")
        expected = (1, True, text)
        actual = (len(content.splitlines()), "你好 " in content, json.loads(content)["text"])
        assert expected == actual

    def test_a_raw_line_may_not_contain_a_line_break(self, tmp_path: Path) -> None:
        """A raw record with a newline would become two records: refused."""
        with pytest.raises(ValueError, match="line break"):
            write_jsonl(tmp_path / "export.jsonl", ["one\ntwo"])

    def test_blank_lines_and_crlf_are_tolerated(self, tmp_path: Path) -> None:
        """Blank lines are skipped; a CR before the LF is not part of the value."""
        path = tmp_path / "export.jsonl"
        path.write_bytes(b'{"type":"group.message.import","group_id":"g"}\r\n\n   \n[1]')
        expected = [
            RawRecord(b"g", b'{"type":"group.message.import","group_id":"g"}', "message"),
            RawRecord(None, b"[1]", "other"),
        ]
        assert expected == list(read_jsonl(path))

    def test_events_are_written_compactly(self) -> None:
        """Events are written without spaces between tokens, non-ASCII unescaped."""
        expected = '{"a":[1,2],"b":"é"}'
        assert expected == render_line({"a": [1, 2], "b": "é"})


class TestShippedExportRouting:
    """Every kind of record in the shipped export is routed as the contract says."""

    def test_every_record_kind_is_routed(self, sample_records: list[RawRecord]) -> None:
        """Accounts and groups to the groups topic; the rest to the messages topic."""
        expected = {
            ("account", "groups"): 141,
            ("group", "groups"): 62,
            ("message", "messages"): 6009 + 1,  # plus the message without event_id
            ("other", "messages"): 845 + 844 + 3,  # members, unread counts, and junk
        }
        assert expected == Counter((record.kind, record.topic) for record in sample_records)

    def test_every_event_is_keyed_by_its_group(self, sample_records: list[RawRecord]) -> None:
        """Each event's key: its UserID (accounts), GroupId (groups) or group_id (the rest)."""
        mismatched = []
        for record in sample_records:
            try:
                document = json.loads(record.value)
            except ValueError:
                continue
            if not isinstance(document, dict) or "event_id" not in document:
                continue
            if record.kind == "account":
                group_id = document["account"]["UserID"]
            elif record.kind == "group":
                group_id = document["group"]["GroupId"]
            else:
                group_id = document["group_id"]
            if record.key != group_id.encode():
                mismatched.append(record.value[:80])
        expected: list[bytes] = []
        assert expected == mismatched

    def test_junk_keys(self, sample_records: list[RawRecord]) -> None:
        """Not-JSON and array lines have no key; the unknown type keeps its group_id."""
        expected = [None, None, b"g-0001"]
        assert expected == [
            record.key
            for record in sample_records
            if record.kind == "other"
            and not record.value.startswith(
                (b'{"type":"group.member.import"', b'{"type":"group.member.unread"')
            )
        ]
