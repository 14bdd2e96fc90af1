# Copyright 2026 chat-import-service contributors
"""JSON-lines export files: writing records, and reading lines back as keyed input records.

One record per line, UTF-8, LF line ends. An event is written as compact JSON that keeps
non-ASCII text readable; a raw line (input that is deliberately not an event) is written as is.
Reading keeps each line's bytes exactly as they are in the file, and ``route`` decides
which input topic the line belongs on and under which key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

Record: TypeAlias = dict[str, Any] | str
"""An event (JSON-ready ``dict``) or a raw line written to the export file verbatim."""

RecordKind: TypeAlias = Literal["account", "group", "message", "other"]
InputTopic: TypeAlias = Literal["groups", "messages"]

# JSON leaves these unescaped, yet text-mode line splitting (str.splitlines) breaks lines on them.
_LINE_BREAKING: Final = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def compact_json(value: object) -> str:
    """``value`` as compact JSON with non-ASCII characters kept as they are."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render_line(record: Record) -> str:
    """Render ``record`` as the line (without its line end) it is written as."""
    if isinstance(record, str):
        if "\n" in record or "\r" in record:
            raise ValueError("a raw line may not contain a line break")
        return record
    line = compact_json(record)
    for character, escaped in _LINE_BREAKING.items():
        line = line.replace(character, escaped)  # only ever inside a JSON string
    return line


def write_jsonl(path: str | Path, records: Iterable[Record]) -> int:
    """Write ``records`` to ``path``, one per line; return the number of lines written."""
    count = 0
    with Path(path).open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(render_line(record))
            handle.write("\n")
            count += 1
    return count


def route(value: bytes) -> tuple[RecordKind, bytes | None]:
    """Tell which kind of record a line is, and the key it is published under.

    Kind: ``account`` for an ``account.import`` event, ``group`` for a ``group.import`` event,
    ``message`` for a ``group.message.import`` event, ``other`` for anything else (members,
    unread counts, another type, not an object, not JSON). ``account`` and ``group`` go to the
    groups topic (accounts and groups come first in a migration, and the service reads that
    topic's backlog before importing messages of groups it has not seen); ``message`` and
    ``other`` go to the messages topic, where a group's members, messages and unread counts keep
    their order and the service sends what is not an event to the dead-letter topic.

    Key: ``account.UserID`` for ``account.import``, ``group.GroupId`` for ``group.import``,
    ``group_id`` for any other JSON object, in UTF-8; ``None`` when the line has no such string.
    """
    try:
        document = json.loads(value)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError too
        return "other", None
    if not isinstance(document, dict):
        return "other", None
    event_type = document.get("type")
    kind: RecordKind
    if event_type == "account.import":
        account = document.get("account")
        group_id = account.get("UserID") if isinstance(account, dict) else None
        kind = "account"
    elif event_type == "group.import":
        group = document.get("group")
        group_id = group.get("GroupId") if isinstance(group, dict) else None
        kind = "group"
    else:
        group_id = document.get("group_id")
        kind = "message" if event_type == "group.message.import" else "other"
    key = group_id.encode("utf-8") if isinstance(group_id, str) else None
    return kind, key


def topic_of(kind: RecordKind) -> InputTopic:
    """Name the input topic a record of ``kind`` is published to."""
    return "groups" if kind in {"account", "group"} else "messages"


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One line of an export file, ready to publish: ``value`` is the line's exact bytes."""

    key: bytes | None
    value: bytes
    kind: RecordKind

    @property
    def topic(self) -> InputTopic:
        """The input topic this record is published to."""
        return topic_of(self.kind)


def read_jsonl(path: str | Path) -> Iterator[RawRecord]:
    """Yield the records of an export file in file order, skipping blank lines.

    A record's ``value`` is its line without the line end (LF or CR LF).
    """
    with Path(path).open("rb") as handle:
        for line in handle:
            value = line.removesuffix(b"\n").removesuffix(b"\r")
            if not value.strip():
                continue
            kind, key = route(value)
            yield RawRecord(key=key, value=value, kind=kind)
