# Copyright 2026 chat-import-service contributors
"""Hostile input records, each labelled with what the service must do with it.

Three labels, from the contract ("Bad input") and the README ("What bad input gets"):

- ``DeadLetter``: the record is not an event at all (not UTF-8, not JSON, NaN, not an object,
  nested deeper than 64, no ``type`` or ``event_id``, unknown ``type``). It is copied to the
  dead-letter topic unchanged (key, value, headers) with ``error.*`` headers, and gets no outcome.
- ``Failed``: a known event breaking a documented rule. One ``failed`` outcome per record with the
  provider's code, ``detected_by`` as labelled, and an ``error_info`` naming ``field``; no import.
- ``Imported``: odd but valid. A group import succeeds; a message is stored with exactly ``text``
  (``stored=False``: the record repeats an ``event_id`` already stored, see below).

Duplicate ``event_id`` (the contract's idempotency key): every record still gets its own outcome,
and all outcomes of the id agree. A message re-sent with the same ``event_id`` is the same logical
message: it is stored once, and every record carrying the id is answered with that one ``msg_seq``
(the service derives ``Random`` from ``event_id`` and the provider discards a repeated ``Random``).
That holds even when the repeat carries a different text: the first one stored wins. A repeated
``group.import`` finds the group already there and reports it imported.

``build_corpus`` returns the group imports that must exist before the hostile records arrive
(they are produced first) and the hostile records in the order they are produced. Records whose
key names a host group land on the same partitions as the valid traffic around them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.integration.chaos import BASE_TIME

if TYPE_CHECKING:
    from collections.abc import Sequence

GROUPS = "groups"
MESSAGES = "messages"
TEN_MB = 10 * 1024 * 1024
SIZE_LIMIT = 12_000  # bytes of compact UTF-8 JSON MsgBody (2024 edition)

ODD = "odd-but-valid"  # receives every odd-but-valid message, in corpus order
EMOJI_GROUP = "群组-😀-مرحبا-שלום"
URL_GROUP = "a/b?c=d#e %20 ..\\"
CROSSED = "crossed-topics"  # its group.import comes on the messages topic and vice versa
AV_GROUP = "av-room"  # AVChatRoom: refused, so are its messages
BAD_GROUP = "bad-name"  # Name over 30 bytes: refused, so are its messages (10010)
RTL_NAME = "表情 😀 \u200f\u0645\u0631\u062d\u0628\u0627\u200e"  # 28 bytes, right-to-left marks
GHOST = "ghost"  # no group.import ever: its message waits, then fails 10010


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Copied to the dead-letter topic unchanged; no outcome."""


@dataclass(frozen=True, slots=True)
class Failed:
    """One failed outcome per record: ``code``, ``detected_by``, ``field`` named in error_info."""

    code: int
    field: str
    detected_by: str = "service"


@dataclass(frozen=True, slots=True)
class Imported:
    """Imported; a message (``text`` set) is stored once with exactly that text."""

    group_id: str
    text: str | None = None
    stored: bool = True


Label = DeadLetter | Failed | Imported


@dataclass(frozen=True, slots=True)
class Case:
    """One record to produce and what must become of it."""

    name: str
    topic: str  # GROUPS or MESSAGES: the test maps them to its topics
    key: bytes | None
    value: bytes | None
    label: Label
    event_id: str | None = None
    headers: tuple[tuple[str, bytes], ...] = field(default=())


def _json(document: Any) -> bytes:
    return json.dumps(document).encode()


def _text_body(text: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]


def _text_of_size(prefix: str, size: int) -> str:
    """A text whose MsgBody measures exactly ``size`` bytes as compact UTF-8 JSON."""
    empty = json.dumps(_text_body(""), ensure_ascii=False, separators=(",", ":"))
    text = prefix + "x" * (size - len(empty.encode()) - len(prefix.encode()))
    body = json.dumps(_text_body(text), ensure_ascii=False, separators=(",", ":"))
    assert size == len(body.encode())
    return text


class _Builder:
    def __init__(self, hosts: Sequence[str]) -> None:
        self.hosts = list(hosts)
        self.cases: list[Case] = []
        self.odd_time = BASE_TIME + 1_000

    def host(self) -> str:
        return self.hosts[len(self.cases) % len(self.hosts)]

    def add(self, case: Case) -> Case:
        self.cases.append(case)
        return case

    # ------------------------------------------------------------------ record shapes

    def message(
        self,
        name: str,
        label: Label,
        *,
        group_id: Any = None,
        key: bytes | str | None = "",
        envelope: dict[str, Any] | None = None,
        headers: tuple[tuple[str, bytes], ...] = (),
        **message: Any,
    ) -> Case:
        """A ``group.message.import`` event; ``message`` fields override a valid message."""
        gid = self.host() if group_id is None else group_id
        event_id = f"hostile:{name}"
        body: dict[str, Any] = {
            "From_Account": "hostile",
            "SendTime": BASE_TIME - 50,  # after the group's CreateTime, before every valid message
            "MsgBody": _text_body(f"hostile {name}"),
        }
        _override(body, message)
        document: dict[str, Any] = {
            "type": "group.message.import",
            "event_id": event_id,
            "group_id": gid,
            "message": body,
        }
        _override(document, envelope or {})
        record_key = (gid if isinstance(gid, str) else "").encode() if key == "" else key
        assert not isinstance(record_key, str)
        value = _json(document).replace(f'"{_INFINITE_MARK}"'.encode(), b"1e999")
        return self.add(Case(name, MESSAGES, record_key, value, label, event_id, headers))

    def odd(self, name: str, text: str, **kwargs: Any) -> Case:
        """A valid message for the ODD group, later than every earlier one."""
        self.odd_time += 1
        return self.message(
            name,
            Imported(ODD, text),
            group_id=ODD,
            SendTime=self.odd_time,
            MsgBody=_text_body(text),
            **kwargs,
        )

    def group(
        self,
        name: str,
        label: Label,
        *,
        key: bytes | str | None = "",
        topic: str = GROUPS,
        envelope: dict[str, Any] | None = None,
        **group: Any,
    ) -> Case:
        """A ``group.import`` event; ``group`` fields override a valid profile."""
        profile: dict[str, Any] = {
            "GroupId": f"hostile-{name}",
            "Type": "Public",
            "Name": "hostile group",
            "CreateTime": BASE_TIME - 100,
        }
        _override(profile, group)
        event_id = f"hostile:{name}"
        document: dict[str, Any] = {"type": "group.import", "event_id": event_id, "group": profile}
        _override(document, envelope or {})
        gid = profile.get("GroupId")
        record_key = (gid if isinstance(gid, str) else "").encode() if key == "" else key
        assert not isinstance(record_key, str)
        return self.add(Case(name, topic, record_key, _json(document), label, event_id))

    def raw(
        self, name: str, value: bytes | None, *, headers: tuple[tuple[str, bytes], ...] = ()
    ) -> Case:
        """A record that is not an event: dead letter."""
        return self.add(
            Case(name, MESSAGES, self.host().encode(), value, DeadLetter(), None, headers)
        )


_DROP: Any = object()  # leave the field out
_INFINITE_MARK = "@@infinite-number@@"  # replaced by the literal 1e999 in the record


def _override(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        if value is _DROP:
            target.pop(name, None)
        else:
            target[name] = value


def _setup_groups(b: _Builder) -> list[Case]:
    """Group imports produced (and finished) before the hostile records."""
    b.group("host-odd", Imported(ODD), GroupId=ODD)
    b.group("host-emoji", Imported(EMOJI_GROUP), GroupId=EMOJI_GROUP, Name=RTL_NAME)
    b.group("host-url", Imported(URL_GROUP), GroupId=URL_GROUP)
    b.group("av", Failed(10007, "AVChatRoom"), GroupId=AV_GROUP, Type="AVChatRoom")
    b.group("bad-name", Failed(10004, "group.Name"), GroupId=BAD_GROUP, Name="n" * 31)
    setup = b.cases
    b.cases = []
    return setup


def _not_events(b: _Builder) -> None:
    marker = '"event_id":"hostile:{}"'
    b.raw(
        "invalid-utf8",
        b'{"type":"group.message.import",'
        + marker.format("utf8").encode()
        + b',"x":"\xff\xfe\xc3"}',
    )
    b.raw("utf16", '{"type":"group.message.import","event_id":"hostile:utf16"}'.encode("utf-16"))
    b.raw(
        "bom", b"\xef\xbb\xbf" + _json({"type": "group.message.import", "event_id": "hostile:bom"})
    )
    b.raw("empty-value", b"")
    b.raw("tombstone", None)
    b.raw("nul-bytes", b"\x00\x01\x02\x03 binary", headers=(("trace", b"\x00\xff"), ("empty", b"")))
    b.raw("nan", b'{"type":"group.message.import","event_id":"hostile:nan","group_id":"x","n":NaN}')
    b.raw("infinity", b'{"type":"group.message.import","event_id":"hostile:inf","n":Infinity}')
    b.raw(
        "minus-infinity", b'{"type":"group.message.import","event_id":"hostile:-inf","n":-Infinity}'
    )
    b.raw("truncated", b'{"type":"group.message.import","event_id":"hostile:truncated","message":{')
    b.raw(
        "trailing-garbage",
        _json({"type": "group.message.import", "event_id": "hostile:tail"}) + b" }{",
    )
    b.raw("single-quotes", b"{'type': 'group.message.import', 'event_id': 'hostile:quotes'}")
    b.raw("array", b'[{"type":"group.message.import","event_id":"hostile:array"}]')
    b.raw("string", b'"group.message.import"')
    b.raw("number", b"42")
    b.raw("null", b"null")
    b.raw("no-type", _json({"event_id": "hostile:no-type", "group_id": "x"}))
    b.raw("type-null", _json({"type": None, "event_id": "hostile:type-null"}))
    b.raw("type-number", _json({"type": 7, "event_id": "hostile:type-number"}))
    b.raw("type-empty", _json({"type": "", "event_id": "hostile:type-empty"}))
    b.raw("type-unknown", _json({"type": "group.delete", "event_id": "hostile:type-unknown"}))
    b.raw("type-case", _json({"type": "GROUP.IMPORT", "event_id": "hostile:type-case"}))
    b.raw("type-result", _json({"type": "group.message.import.result", "event_id": "hostile:r"}))
    b.raw("no-event-id", _json({"type": "group.message.import", "group_id": "x", "message": {}}))
    b.raw("event-id-null", _json({"type": "group.import", "event_id": None}))
    b.raw("event-id-number", _json({"type": "group.import", "event_id": 12345}))
    b.raw("event-id-empty", _json({"type": "group.import", "event_id": ""}))
    b.raw("event-id-object", _json({"type": "group.import", "event_id": {"id": 1}}))
    deep = 100_000
    b.raw(
        "nested-100000",
        (
            '{"type":"group.import","event_id":"hostile:deep","x":' + "[" * deep + "]" * deep + "}"
        ).encode(),
    )
    b.raw(
        "nested-65",
        (
            '{"type":"group.import","event_id":"hostile:d65","x":' + "[" * 65 + "]" * 65 + "}"
        ).encode(),
    )
    b.raw("ten-mb-junk", b"\x00junk " + b"z" * TEN_MB)


def _broken_messages(b: _Builder) -> None:
    b.message("send-time-string", Failed(10004, "message.SendTime"), SendTime=str(BASE_TIME))
    b.message("send-time-float", Failed(10004, "message.SendTime"), SendTime=BASE_TIME + 0.5)
    b.message("send-time-bool", Failed(10004, "message.SendTime"), SendTime=True)
    b.message("send-time-null", Failed(10004, "message.SendTime"), SendTime=None)
    b.message("send-time-missing", Failed(10004, "message.SendTime"), SendTime=_DROP)
    b.message("send-time-negative", Failed(10004, "message.SendTime"), SendTime=-1_620_808_101)
    b.message("send-time-zero", Failed(10004, "message.SendTime"), SendTime=0)
    b.message("send-time-huge", Failed(10004, "message.SendTime"), SendTime=10**30)
    b.message("send-time-2038", Failed(10004, "message.SendTime"), SendTime=2**31 + 10**9)
    b.message("random-string", Failed(10004, "message.Random"), Random="42")
    b.message("random-negative", Failed(10004, "message.Random"), Random=-1)
    b.message("random-too-big", Failed(10004, "message.Random"), Random=2**32)
    b.message("random-float", Failed(10004, "message.Random"), Random=1.0)
    b.message("from-number", Failed(10004, "message.From_Account"), From_Account=1001)
    b.message("from-null", Failed(10004, "message.From_Account"), From_Account=None)
    b.message("from-empty", Failed(10004, "message.From_Account"), From_Account="")
    b.message("body-empty", Failed(10004, "message.MsgBody"), MsgBody=[])
    b.message("body-null", Failed(10004, "message.MsgBody"), MsgBody=None)
    b.message("body-object", Failed(10004, "message.MsgBody"), MsgBody={"MsgType": "TIMTextElem"})
    b.message("body-element-string", Failed(10004, "message.MsgBody"), MsgBody=["hello"])
    b.message(
        "msg-type-number", Failed(10004, "MsgType"), MsgBody=[{"MsgType": 1, "MsgContent": {}}]
    )
    b.message(
        "msg-type-sound",
        Failed(10004, "MsgType"),
        MsgBody=[{"MsgType": "TIMSoundElem", "MsgContent": {"UUID": "u"}}],
    )
    b.message(
        "msg-content-string",
        Failed(10004, "MsgContent"),
        MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": "hi"}],
    )
    b.message(
        "text-number",
        Failed(10004, "Text"),
        MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": 5}}],
    )
    b.message(
        "text-missing",
        Failed(10004, "Text"),
        MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {}}],
    )
    b.message(
        "latitude-string",
        Failed(10004, "Latitude"),
        MsgBody=[
            {
                "MsgType": "TIMLocationElem",
                "MsgContent": {"Desc": "d", "Latitude": "north", "Longitude": 1.0},
            }
        ],
    )
    b.message(
        "face-index-float",
        Failed(10004, "Index"),
        MsgBody=[{"MsgType": "TIMFaceElem", "MsgContent": {"Index": 1.5, "Data": "d"}}],
    )
    b.message("unknown-message-field", Failed(10004, "message.Priority"), Priority="High")
    b.message(
        "unknown-element-field",
        Failed(10004, "message.MsgBody"),
        MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "t"}, "Extra": 1}],
    )
    b.message("message-null", Failed(10004, "message"), envelope={"message": None})
    b.message("message-list", Failed(10004, "message"), envelope={"message": [1, 2]})
    b.message("message-missing", Failed(10004, "message"), envelope={"message": _DROP})
    b.message(
        "group-id-null", Failed(10004, "group_id"), group_id=None, envelope={"group_id": None}
    )
    b.message(
        "message-group-id-number",
        Failed(10004, "group_id"),
        envelope={"group_id": 1001},
        key=b"1001",
    )
    b.message("group-id-empty", Failed(10015, "group_id"), group_id="", key=b"")
    b.message("topic-id-number", Failed(10004, "topic_id"), envelope={"topic_id": 7})
    b.message("key-mismatch", Failed(10004, "record key"), key=b"someone-else")
    b.message("key-missing", Failed(10004, "record key"), key=None)
    b.message("key-not-utf8", Failed(10004, "record key"), key=b"\xff\xfe")
    b.message(
        "text-one-byte-over",
        Failed(80002, "message.MsgBody"),
        MsgBody=_text_body(_text_of_size("over ", SIZE_LIMIT + 1)),
    )
    b.message(
        "text-ten-mb", Failed(80002, "message.MsgBody"), MsgBody=_text_body("big " + "y" * TEN_MB)
    )
    # Valid JSON that cannot become a provider request: a lone surrogate has no UTF-8 form, and
    # 1e999 parses to infinity, which JSON cannot carry. Known events breaking a rule: failed.
    b.message(
        "text-lone-surrogate",
        Failed(10004, "message.MsgBody"),
        MsgBody=_text_body("half \ud800 a pair"),
    )
    b.message(
        "content-infinite-number",
        Failed(10004, "message.MsgBody"),
        MsgBody=[{"MsgType": "TIMCustomElem", "MsgContent": {"Data": "d", "Ext": _INFINITE_MARK}}],
    )
    b.message("ghost-group", Failed(10010, GHOST, detected_by="provider"), group_id=GHOST)
    b.message("av-group-message", Failed(10007, "AVChatRoom"), group_id=AV_GROUP)
    b.message("bad-group-message", Failed(10010, BAD_GROUP), group_id=BAD_GROUP)


def _broken_groups(b: _Builder) -> None:
    b.group("group-key-mismatch", Failed(10004, "record key"), key=b"not-the-group")
    b.group("group-key-missing", Failed(10004, "record key"), key=None)
    b.group("group-null", Failed(10004, "group"), envelope={"group": None}, key=b"x")
    b.group("group-id-number", Failed(10004, "group.GroupId"), GroupId=42, key=b"42")
    b.group("group-id-tgs", Failed(10015, "GroupId"), GroupId="@TGS#hostile")
    b.group("group-id-49-bytes", Failed(10015, "GroupId"), GroupId="g" * 49)
    b.group("group-type-number", Failed(10004, "group.Type"), Type=1)
    b.group("group-type-unknown", Failed(10004, "group.Type"), Type="Secret")
    b.group("group-name-number", Failed(10004, "group.Name"), Name=123)
    b.group("group-name-empty", Failed(10004, "group.Name"), Name="")
    b.group("group-typo", Failed(10004, "group.Introducton"), Introducton="a typo")
    b.group("group-members-string", Failed(10004, "group.MaxMemberCount"), MaxMemberCount="500")
    b.group("group-members-huge", Failed(10004, "group.MaxMemberCount"), MaxMemberCount=10**12)
    b.group("group-create-negative", Failed(10004, "group.CreateTime"), CreateTime=-5)
    b.group("group-create-future", Failed(10004, "group.CreateTime"), CreateTime=10**15)
    b.group("group-app-data", Failed(10004, "group.AppDefinedData"), AppDefinedData=[{"Key": 1}])
    b.group("group-join-option", Failed(10004, "group.ApplyJoinOption"), ApplyJoinOption="Anyone")
    b.group("group-name-lone-surrogate", Failed(10004, "group.Name"), Name="half \udc00")


def _odd_but_valid(b: _Builder) -> None:
    b.odd("emoji-rtl", "odd 1: 😀👩‍👩‍👧‍👦🏳️‍🌈 مرحبا بالعالم שלום עולם \u200fRTL\u200e mark")
    b.odd("control-characters", "odd 2: \u0000\u0001\u0007\u001b[31mred\u001b[0m\t\r\n\u007f\u0085")
    b.odd(
        "bidi-overrides", "odd 3: \u202egnp.exe\u202c \u2066isolate\u2069 \u200b\u200c\u200d\ufeff"
    )
    b.odd("combining", "odd 4: Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇ e\u0301 \U0001d573\U0001d58a\U0001d599")
    b.odd("markup", 'odd 5: </script><script>alert(1)</script> {"Text": "x"} \\" \' ${x} %s %n')
    b.odd(
        "unknown-envelope-fields",
        "odd 6: envelope fields the service does not know",
        envelope={"trace": {"id": [1, {"a": None}]}, "x-priority": 9, "schema": None},
    )
    b.odd(
        "deep-but-allowed",
        "odd 7: nested 50 deep beside it",
        envelope={"x": json.loads("[" * 50 + "]" * 50)},
    )
    b.odd("random-max", "odd 8: Random at its maximum", Random=2**32 - 1)
    b.odd("random-zero", "odd 9: Random zero", Random=0)
    b.odd(
        "binary-headers",
        "odd 10: binary headers",
        headers=(("bin", b"\x00\xff\xfe"), ("utf", "ü".encode())),
    )
    b.odd("exactly-the-size-limit", _text_of_size("odd 11: ", SIZE_LIMIT))
    original = b.odd("duplicate-event-id", "odd 12: sent three times")
    b.add(
        Case(
            "duplicate-at-once",
            original.topic,
            original.key,
            original.value,
            Imported(ODD, "odd 12: sent three times", stored=False),
            original.event_id,
        )
    )
    b.odd("after-duplicate", "odd 13: between the repeats")
    b.add(
        Case(
            "duplicate-later",
            original.topic,
            original.key,
            original.value,
            Imported(ODD, "odd 12: sent three times", stored=False),
            original.event_id,
        )
    )
    conflicting = json.loads(original.value or b"")
    conflicting["message"]["MsgBody"] = _text_body("odd 12 again, with another text")
    b.add(
        Case(
            "duplicate-other-text",
            original.topic,
            original.key,
            _json(conflicting),
            Imported(ODD, "odd 12 again, with another text", stored=False),
            original.event_id,
        )
    )
    b.message(
        "emoji-group-message",
        Imported(EMOJI_GROUP, "in the emoji group 🎉"),
        group_id=EMOJI_GROUP,
        MsgBody=_text_body("in the emoji group 🎉"),
    )
    b.message(
        "url-group-message",
        Imported(URL_GROUP, "in the URL-ish group"),
        group_id=URL_GROUP,
        MsgBody=_text_body("in the URL-ish group"),
    )
    # An event's type is read from its payload, never from the topic it came on.
    b.group("crossed-group", Imported(CROSSED), GroupId=CROSSED, topic=MESSAGES)
    crossed = b.message(
        "crossed-message",
        Imported(CROSSED, "crossed: a message on the groups topic"),
        group_id=CROSSED,
        MsgBody=_text_body("crossed: a message on the groups topic"),
    )
    b.cases[-1] = Case(
        crossed.name, GROUPS, crossed.key, crossed.value, crossed.label, crossed.event_id
    )


def build_corpus(hosts: Sequence[str]) -> tuple[list[Case], list[Case]]:
    """The group imports to produce first, and the hostile records in produce order."""
    b = _Builder(hosts)
    setup = _setup_groups(b)
    _not_events(b)
    _broken_messages(b)
    _broken_groups(b)
    _odd_but_valid(b)
    repeat = next(case for case in setup if case.name == "host-odd")
    b.add(
        Case(
            "duplicate-group-import",
            repeat.topic,
            repeat.key,
            repeat.value,
            Imported(ODD),
            repeat.event_id,
        )
    )
    return setup, _interleave_kinds(b.cases)


def _interleave_kinds(cases: list[Case]) -> list[Case]:
    """Mix the kinds so junk, broken and valid records follow one another on each partition."""
    buckets: dict[str, list[Case]] = {"dead": [], "failed": [], "imported": []}
    for case in cases:
        kind = {DeadLetter: "dead", Failed: "failed", Imported: "imported"}[type(case.label)]
        buckets[kind].append(case)
    mixed: list[Case] = []
    while any(buckets.values()):
        mixed.extend(bucket.pop(0) for bucket in buckets.values() if bucket)
    return mixed
