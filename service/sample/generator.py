# Copyright 2026 chat-import-service contributors
"""A deterministic, realistic sample export and the outcome each of its records should get.

``generate_export`` builds the records an exporter would publish, in the providers' migration
order: every ``account.import``, every ``group.import``, each group's ``group.member.import``
events, every ``group.message.import`` in ascending ``SendTime`` (ties keep group order), then
every ``group.member.unread`` (after the messages, which reset unread counts), with a few records
that are not events at all scattered among the messages. A record is an event ``dict`` or, for
input that is not a JSON object event, the raw line as a ``str``.

With ``invalid=True`` a handful of events break a documented rule on purpose. Each carries its
expected result in the envelope field ``sample_expectation`` (envelope fields the service does
not know are ignored), so the label travels with the event; where ZIM's outcome differs, the
label holds it under ``zim``. ``expectations`` reads the labels back for either provider: an
event without one is expected to be imported (on ZIM: unless it is a message ZIM cannot hold,
or an unread count, which ZIM has no API for).

The limits below restate the providers' documentation (Tencent ``import_group``,
``import_group_msg`` 2024, ``multiaccount_import``, ``import_group_member``; ZIM's group name,
user ID and message elements) on purpose instead of importing the service's own constants: the
sample is a check on the service, so a wrong figure there must not be mirrored here.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from service.sample import corpus
from service.sample.jsonl import Record, compact_json

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

DEFAULT_NOW: Final = 1_750_000_000  # 2025-06-15T15:06:40Z: every valid SendTime is before it
FAR_FUTURE: Final = 4_102_444_800  # 2100-01-01T00:00:00Z: in the future whenever it is produced
EXPECTATION_FIELD: Final = "sample_expectation"

ACCOUNT_IMPORT: Final = "account.import"
GROUP_IMPORT: Final = "group.import"
MEMBER_IMPORT: Final = "group.member.import"
MESSAGE_IMPORT: Final = "group.message.import"
UNREAD_SET: Final = "group.member.unread"
EVENT_TYPES: Final = (ACCOUNT_IMPORT, GROUP_IMPORT, MEMBER_IMPORT, MESSAGE_IMPORT, UNREAD_SET)
TENCENT: Final = "tencent"
ZEGO: Final = "zego"

# Tencent figures, restated from the documentation (see the module docstring).
NAME_MAX_BYTES: Final = 30
INTRODUCTION_MAX_BYTES: Final = 240
NOTIFICATION_MAX_BYTES: Final = 300
FACE_URL_MAX_BYTES: Final = 100
MAX_MEMBER_COUNT: Final = 6_000
MESSAGE_MAX_BYTES: Final = 12_000
VALID_GROUP_TYPES: Final = ("Public", "Private", "ChatRoom", "Community", "Work", "Meeting")
APPLY_JOIN_OPTIONS: Final = ("FreeAccess", "NeedPermission", "DisableApply")

USER_ID_MAX_BYTES: Final = 32  # multiaccount_import UserID, ZIM UserId
UNREAD_MAX: Final = 12  # the largest unread count the sample sets

# Tencent error codes the invalid events provoke.
INVALID_PARAMETER: Final = 10004
NO_PERMISSION: Final = 10007
GROUP_NOT_FOUND: Final = 10010
MESSAGE_TOO_LARGE: Final = 80002
ACCOUNT_INVALID_PARAMETER: Final = 70402

# ZIM: its parameter error, the group name's limit, the elements a ZIM message holds.
ZIM_PARAMETER_ERROR: Final = 2
ZIM_GROUP_NAME_MAX_BYTES: Final = 50
ZIM_NATIVE_ELEMENTS: Final = frozenset({"TIMTextElem", "TIMCustomElem"})

_MINUTE: Final = 60
_HOUR: Final = 3_600
_DAY: Final = 86_400
_SAME_SECOND: Final = 0.4  # chance that a message in a burst shares the previous one's second
_CJK_FILLER: Final = "欢迎新朋友加入本群"


@dataclass(frozen=True, slots=True)
class Expected:
    """The terminal outcome an event should get: ``status`` and the provider's ``error_code``."""

    status: str
    error_code: int


IMPORTED: Final = Expected("imported", 0)


@dataclass(frozen=True, slots=True)
class SampleExpectations:
    """What should come out of an export: one ``Expected`` per event, and dead-letter records."""

    events: dict[str, Expected]
    dead_letter: int

    def failed_by_code(self) -> dict[int, int]:
        """Count the events expected to fail, by error code, in ascending code order."""
        counts: dict[int, int] = {}
        for expected in self.events.values():
            if expected.status != IMPORTED.status:
                counts[expected.error_code] = counts.get(expected.error_code, 0) + 1
        return dict(sorted(counts.items()))

    def imported(self) -> int:
        """Count the events expected to be imported."""
        return sum(1 for expected in self.events.values() if expected == IMPORTED)


def _label(code: int, reason: str, *, zim: int | None = None) -> dict[str, Any]:
    """A failed outcome with ``code``; on ZIM failed with ``zim`` (0: imported on ZIM)."""
    label: dict[str, Any] = {"status": "failed", "error_code": code, "reason": reason}
    if zim is not None:
        label["zim"] = (
            {"status": "imported", "error_code": 0}
            if zim == 0
            else {"status": "failed", "error_code": zim}
        )
    return label


def utf8_len(text: str) -> int:
    """Length of ``text`` in UTF-8 bytes, the unit of every documented string limit."""
    return len(text.encode("utf-8"))


def body_size(body: Sequence[dict[str, Any]]) -> int:
    """Size of a ``MsgBody`` as compact UTF-8 JSON."""
    return utf8_len(json.dumps(list(body), ensure_ascii=False, separators=(",", ":")))


@dataclass(frozen=True, slots=True)
class _Context:
    """What every planning step shares: the one random source, the accounts, the clock."""

    rng: random.Random
    accounts: Sequence[str]
    now: int


@dataclass(frozen=True, slots=True)
class _Failure:
    """A group whose import fails on purpose, and what happens to it and its messages."""

    language: str
    group_type: str
    name: str
    label: dict[str, Any]
    message_label: dict[str, Any]
    message_count: int


@dataclass(slots=True)
class _Message:
    send_time: int
    message: dict[str, Any]
    label: dict[str, Any] | None = None


@dataclass(slots=True)
class _Group:
    index: int
    language: str
    profile: dict[str, Any]
    members: list[str]
    create_time: int
    label: dict[str, Any] | None = None
    message_label: dict[str, Any] | None = None
    messages: list[_Message] = field(default_factory=list)
    member_events: list[dict[str, Any]] = field(default_factory=list)
    unread_events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def group_id(self) -> str:
        return str(self.profile["GroupId"])


def _group_id(index: int) -> str:
    return f"g-{index:04d}"


def _message_event_id(group_id: str, number: int) -> str:
    return f"sample:msg:{group_id}:{number:05d}"


def _accounts(rng: random.Random) -> list[str]:
    names = [
        f"{first}{sep}{family}"
        for first in corpus.FIRST_NAMES
        for family in corpus.FAMILY_NAMES
        for sep in ("_", ".")
    ]
    rng.shuffle(names)
    chosen = names[:120]
    # Some accounts are the numeric IDs older systems hand out.
    chosen.extend(f"user{rng.randrange(10_000, 99_999)}" for _ in range(20))
    return list(dict.fromkeys(chosen))


def _compose(rng: random.Random, language: str, pool: Sequence[str], max_bytes: int) -> str:
    """Join sentences from ``pool`` in random order, each that still fits in ``max_bytes``."""
    joiner = "" if language in {"zh", "ja"} else " "
    sentences = list(pool)
    rng.shuffle(sentences)
    text = ""
    for sentence in sentences:
        candidate = f"{text}{joiner}{sentence}" if text else sentence
        if utf8_len(candidate) <= max_bytes:
            text = candidate
    return text


def _fill_exact(text: str, size: int) -> str:
    """Pad ``text`` with CJK characters, then ASCII, to exactly ``size`` UTF-8 bytes."""
    if utf8_len(text) > size:
        raise ValueError(f"{text!r} is already over {size} bytes")
    position = 0
    while utf8_len(text) + 3 <= size:
        text += _CJK_FILLER[position % len(_CJK_FILLER)]
        position += 1
    return text + "!" * (size - utf8_len(text))


def _face_url(rng: random.Random, group_id: str, *, exact: bool) -> str:
    if exact:
        base = f"https://img.example.com/groups/{group_id}/avatar.png?v="
        return base + "7" * (FACE_URL_MAX_BYTES - utf8_len(base))
    return rng.choice(
        (
            f"https://img.example.com/groups/{group_id}/avatar.jpg",
            f"https://cdn.example.org/g/{group_id}.png?size=640&v={rng.randrange(1, 9)}",
            f"https://static.example.net/头像/{group_id}.webp",
        )
    )


def _app_defined(rng: random.Random) -> list[dict[str, str]]:
    items = rng.sample(corpus.APP_DEFINED, rng.randint(1, 3))
    return [{"Key": key, "Value": rng.choice(values)} for key, values in items]


def _texts(rng: random.Random, language: str, *, boundary: bool) -> dict[str, str]:
    """Pick the optional Introduction and Notification, or fill both to their byte limits."""
    intro_pool = corpus.INTRO_SENTENCES[language]
    notice_pool = corpus.NOTICE_SENTENCES[language]
    if boundary:
        intro = _compose(rng, language, intro_pool, INTRODUCTION_MAX_BYTES)
        notice = _compose(rng, language, notice_pool, NOTIFICATION_MAX_BYTES)
        return {
            "Introduction": _fill_exact(intro, INTRODUCTION_MAX_BYTES),
            "Notification": _fill_exact(notice, NOTIFICATION_MAX_BYTES),
        }
    texts = {}
    if rng.random() < 0.85:  # noqa: PLR2004 - most groups describe themselves
        limit = rng.choice((60, 120, INTRODUCTION_MAX_BYTES))
        texts["Introduction"] = _compose(rng, language, intro_pool, limit)
    if rng.random() < 0.6:  # noqa: PLR2004 - fewer have a notice pinned
        texts["Notification"] = _compose(rng, language, notice_pool, NOTIFICATION_MAX_BYTES)
    return {field: text for field, text in texts.items() if text}


def _plan_group(
    ctx: _Context, index: int, language: str, group_type: str, *, boundary: bool
) -> _Group:
    """Plan a valid group; ``boundary`` puts every string at exactly its byte limit."""
    rng = ctx.rng
    group_id = _group_id(index)
    members = rng.sample(list(ctx.accounts), rng.randint(3, 25))
    create_time = ctx.now - rng.randint(120 * _DAY, 1_100 * _DAY)
    if boundary:
        language = "zh"
        name = max(corpus.GROUP_NAMES["zh"], key=utf8_len)
    else:
        name = rng.choice(corpus.GROUP_NAMES[language])
    if utf8_len(name) > NAME_MAX_BYTES:
        raise ValueError(f"corpus name {name!r} is over {NAME_MAX_BYTES} bytes")
    profile: dict[str, Any] = {
        "GroupId": group_id,
        "Type": group_type,
        "Name": name,
        "Owner_Account": members[0],
        "CreateTime": create_time,
    }
    profile.update(_texts(rng, language, boundary=boundary))
    if boundary or rng.random() < 0.9:  # noqa: PLR2004 - a few groups have no picture
        profile["FaceUrl"] = _face_url(rng, group_id, exact=boundary)
    if boundary:
        profile["MaxMemberCount"] = MAX_MEMBER_COUNT
    elif rng.random() < 0.9:  # noqa: PLR2004 - the rest take the default
        profile["MaxMemberCount"] = rng.choice((50, 200, 500, 1_000, 2_000, 3_000, 6_000))
    if group_type != "Community" and rng.random() < 0.85:  # noqa: PLR2004
        profile["ApplyJoinOption"] = rng.choice(APPLY_JOIN_OPTIONS)
    if boundary or rng.random() < 0.25:  # noqa: PLR2004 - custom fields are rare
        profile["AppDefinedData"] = _app_defined(rng)
    if group_type == "Community":
        profile["SupportTopic"] = 0
    return _Group(index, language, profile, members, create_time)


def _split_counts(rng: random.Random, total: int, groups: int) -> list[int]:
    """Share ``total`` messages over ``groups`` groups unevenly: a few large, some tiny or empty."""
    counts = [0] * groups
    tiny = rng.sample(range(groups), groups // 10) if groups >= 3 else []  # noqa: PLR2004
    remaining = total
    for position, index in enumerate(tiny):
        counts[index] = min(remaining, (0, 1, 2, 3)[position % 4])
        remaining -= counts[index]
    others = [index for index in range(groups) if index not in tiny]
    weights = {index: min(rng.lognormvariate(0.0, 1.3), 30.0) for index in others}
    weight_sum = sum(weights.values())
    shares = {index: remaining * weight / weight_sum for index, weight in weights.items()}
    for index, share in shares.items():
        counts[index] = int(share)
    leftover = remaining - sum(counts[index] for index in others)
    by_remainder = sorted(others, key=lambda index: (int(shares[index]) - shares[index], index))
    for index in by_remainder[:leftover]:
        counts[index] += 1
    return counts


def _send_times(rng: random.Random, count: int, start: int, end: int) -> list[int]:
    """Draw ``count`` ascending times in ``[start, end]``, in bursts that often share a second."""
    times: list[int] = []
    while len(times) < count:
        size = min(count - len(times), rng.choice((1, 1, 2, 2, 3, 4, 5, 6, 8)))
        moment = rng.randint(start, end - 10 * _MINUTE)
        times.append(moment)
        for _ in range(size - 1):
            moment += 0 if rng.random() < _SAME_SECOND else rng.randint(1, 45)
            times.append(moment)
    return sorted(times)


def _chat_text(rng: random.Random, language: str) -> str:
    roll = rng.random()
    if roll < 0.03:  # noqa: PLR2004
        return rng.choice(corpus.TRICKY_TEXTS)
    if roll < 0.12:  # noqa: PLR2004
        return rng.choice(corpus.SHORT_REPLIES)
    if roll < 0.14:  # noqa: PLR2004 - now and then someone pastes a wall of text
        pool = corpus.CHAT_LINES[language]
        return "\n".join(rng.choice(pool) for _ in range(rng.randint(8, 30)))
    if rng.random() > 0.85:  # noqa: PLR2004 - groups switch language now and then
        language = rng.choice(corpus.LANGUAGES)
    pool = corpus.CHAT_LINES[language]
    text = rng.choice(pool)
    if rng.random() < 0.3:  # noqa: PLR2004
        text = f"{text} {rng.choice(pool)}"
    if rng.random() < 0.3:  # noqa: PLR2004
        text = f"{text} {rng.choice(corpus.EMOJI)}"
    return text


def _custom_data(rng: random.Random, kind: str, text: str) -> str:
    variant = rng.randrange(4)
    if variant == 0:
        return compact_json({"kind": kind, "id": rng.randrange(1, 1_000_000), "text": text})
    if variant == 1:
        return base64.b64encode(rng.randbytes(12)).decode("ascii")
    if variant == 2:  # noqa: PLR2004
        return f"\u0000\u0001{kind}\u0002\u00ff"
    return "abc\\u0000\\u0001"  # the documentation's example, backslashes and all


def _element(rng: random.Random, language: str, *, first: bool) -> dict[str, Any]:
    kinds = ("text", "face", "location", "custom")
    weights = (80, 7, 5, 8) if first else (40, 30, 10, 20)
    kind = rng.choices(kinds, weights)[0]
    if kind == "text":
        return {"MsgType": "TIMTextElem", "MsgContent": {"Text": _chat_text(rng, language)}}
    if kind == "face":
        content = {"Index": rng.randint(0, 200), "Data": rng.choice(corpus.FACE_DATA)}
        return {"MsgType": "TIMFaceElem", "MsgContent": content}
    if kind == "location":
        desc, latitude, longitude = rng.choice(corpus.PLACES)
        location = {
            "Desc": desc,
            "Latitude": round(latitude + rng.uniform(-0.002, 0.002), 6),
            "Longitude": round(longitude + rng.uniform(-0.002, 0.002), 6),
        }
        return {"MsgType": "TIMLocationElem", "MsgContent": location}
    custom_kind, desc, text = rng.choice(corpus.CUSTOM_KINDS)
    custom = {
        "Data": _custom_data(rng, custom_kind, text),
        "Desc": desc,
        "Ext": rng.choice(("", f"v=2;kind={custom_kind}", text)),
        "Sound": rng.choice(corpus.CUSTOM_SOUNDS),
    }
    return {"MsgType": "TIMCustomElem", "MsgContent": custom}


def _body(rng: random.Random, language: str) -> list[dict[str, Any]]:
    size = rng.choices((1, 2, 3), (70, 22, 8))[0]
    return [_element(rng, language, first=position == 0) for position in range(size)]


def _plan_messages(ctx: _Context, group: _Group, count: int) -> None:
    rng = ctx.rng
    start = group.create_time + rng.randint(5 * _MINUTE, 2 * _DAY)
    used_randoms: set[int] = set()
    sender = group.members[0]
    for send_time in _send_times(rng, count, start, ctx.now - _HOUR):
        if rng.random() < 0.6:  # noqa: PLR2004 - people often send several in a row
            sender = rng.choice(group.members)
        message: dict[str, Any] = {"From_Account": sender, "SendTime": send_time}
        if rng.random() < 0.5:  # noqa: PLR2004 - about half the exporter's messages carry one
            value = rng.getrandbits(32)
            while value in used_randoms:
                value = rng.getrandbits(32)
            used_randoms.add(value)
            message["Random"] = value
        message["MsgBody"] = _body(rng, group.language)
        group.messages.append(_Message(send_time, message))


def _failed_group(ctx: _Context, index: int, failure: _Failure) -> _Group:
    group = _plan_group(ctx, index, failure.language, failure.group_type, boundary=False)
    group.profile["Name"] = failure.name
    group.label = failure.label
    group.message_label = failure.message_label
    _plan_messages(ctx, group, failure.message_count)
    return group


def _insert(
    rng: random.Random,
    group: _Group,
    sender: str | None,
    body: list[dict[str, Any]],
    label: dict[str, Any],
) -> None:
    """Add an invalid message among ``group``'s messages, in the same second as a neighbour."""
    if group.messages:
        position = rng.randrange(len(group.messages)) + 1
        send_time = group.messages[position - 1].send_time
    else:
        position, send_time = 0, group.create_time + 10 * _MINUTE
    message: dict[str, Any] = {} if sender is None else {"From_Account": sender}
    message["SendTime"] = send_time
    message["MsgBody"] = body
    group.messages.insert(position, _Message(send_time, message, label))


def _oversized_text() -> str:
    """Make a text of about 13,500 bytes of UTF-8 but only about 4,500 characters."""
    paragraph = "".join(corpus.CHAT_LINES["zh"])
    text = ""
    while utf8_len(text) < MESSAGE_MAX_BYTES + 1_500:
        text += paragraph
    return text


def _add_invalid_messages(ctx: _Context, groups: Sequence[_Group]) -> None:
    rng = ctx.rng
    candidates = [group for group in groups if len(group.messages) >= 2] or list(groups)  # noqa: PLR2004
    hosts = [rng.choice(candidates) for _ in range(4)]
    if len(candidates) >= 4:  # noqa: PLR2004
        hosts = rng.sample(candidates, 4)
    unsupported, oversized, anonymous, future = hosts

    body = _body(rng, unsupported.language)[:1]
    sound = {
        "Url": "https://media.example.com/voice/8812.silk",
        "UUID": "sound-8812",
        "Size": 5_120,
        "Second": 4,
        "Download_Flag": 2,
    }
    body.append({"MsgType": "TIMSoundElem", "MsgContent": sound})
    _insert(
        rng,
        unsupported,
        rng.choice(unsupported.members),
        body,
        _label(
            INVALID_PARAMETER,
            "message.MsgBody[1].MsgType TIMSoundElem is not supported",
            zim=ZIM_PARAMETER_ERROR,
        ),
    )

    big = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": _oversized_text()}}]
    _insert(
        rng,
        oversized,
        rng.choice(oversized.members),
        big,
        _label(
            MESSAGE_TOO_LARGE,
            f"message.MsgBody is {body_size(big)} bytes; at most {MESSAGE_MAX_BYTES}",
            zim=0,  # a ZIM app may take up to 32 KB (the demo's does)
        ),
    )

    _insert(
        rng,
        anonymous,
        None,
        _body(rng, anonymous.language),
        _label(INVALID_PARAMETER, "message.From_Account is missing", zim=ZIM_PARAMETER_ERROR),
    )

    last = future.messages[-1].send_time if future.messages else future.create_time
    if last >= ctx.now:
        raise ValueError("the host group's messages must be in the past")
    message = {
        "From_Account": rng.choice(future.members),
        "SendTime": FAR_FUTURE,
        "MsgBody": _body(rng, future.language),
    }
    reason = f"message.SendTime {FAR_FUTURE} (2100-01-01) is in the future"
    future.messages.append(
        _Message(FAR_FUTURE, message, _label(INVALID_PARAMETER, reason, zim=ZIM_PARAMETER_ERROR))
    )


def _account_events(accounts: Sequence[str], *, invalid: bool) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {
            "type": ACCOUNT_IMPORT,
            "event_id": f"sample:account:{user}",
            "account": {"UserID": user, "Nick": user.replace("_", " ").replace(".", " ").title()},
        }
        for user in accounts
    ]
    if invalid:
        too_long = "migrated-user-with-an-over-long-identifier-0001"
        size = utf8_len(too_long)
        events.insert(
            len(events) // 2,
            {
                "type": ACCOUNT_IMPORT,
                "event_id": f"sample:account:{too_long}",
                "account": {"UserID": too_long},
                EXPECTATION_FIELD: _label(
                    ACCOUNT_INVALID_PARAMETER,
                    f"account.UserID is {size} bytes; at most {USER_ID_MAX_BYTES}",
                    zim=ZIM_PARAMETER_ERROR,
                ),
            },
        )
    return events


def _member_event(
    group: _Group, number: int, member: dict[str, Any], label: dict[str, Any] | None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": MEMBER_IMPORT,
        "event_id": f"sample:member:{group.group_id}:{number:05d}",
        "group_id": group.group_id,
        "member": member,
    }
    if label is not None:
        event[EXPECTATION_FIELD] = label
    return event


def _member_label(group: _Group) -> dict[str, Any] | None:
    """The label of a failed group's members: as its messages', unread counts aside."""
    if group.message_label is None:
        return None
    label = dict(group.message_label)
    label["reason"] = f"group {group.group_id} was not imported: no member can join it"
    return label


def _plan_members(ctx: _Context, group: _Group) -> None:
    """Every member joins between the group's creation and its first message."""
    rng = ctx.rng
    first = group.messages[0].send_time if group.messages else ctx.now - _HOUR
    latest = max(group.create_time + 2, min(first, ctx.now - _HOUR))
    label = _member_label(group)
    for number, account in enumerate(group.members, start=1):
        member: dict[str, Any] = {
            "Member_Account": account,
            "JoinTime": rng.randint(group.create_time + 1, latest - 1),
        }
        if number > 1 and rng.random() < 0.1:  # noqa: PLR2004 - a few admins per group
            member["Role"] = "Admin"
        group.member_events.append(_member_event(group, number, member, label))


def _plan_unread(ctx: _Context, group: _Group) -> None:
    """An unread count for each member (clamped here to what the group holds)."""
    rng = ctx.rng
    held = sum(1 for planned in group.messages if planned.label is None)
    label = None if group.message_label is None else dict(group.message_label)
    for member in group.members:
        event: dict[str, Any] = {
            "type": UNREAD_SET,
            "event_id": f"sample:unread:{group.group_id}:{member}",
            "group_id": group.group_id,
            "member": {"Member_Account": member, "UnreadMsgNum": rng.randint(0, min(held, 12))},
        }
        if label is not None:
            event[EXPECTATION_FIELD] = label
        group.unread_events.append(event)


def _add_invalid_stage_events(ctx: _Context, groups: Sequence[_Group]) -> None:
    """Add a member with a role no provider takes, one who joined too early, a bad count."""
    rng = ctx.rng
    hosts = [group for group in groups if group.label is None]
    owner_host, early_host, unread_host = (hosts[position % len(hosts)] for position in range(3))
    outsider = next(a for a in ctx.accounts if a not in owner_host.members)
    owner_host.member_events.append(
        _member_event(
            owner_host,
            len(owner_host.members) + 1,
            {"Member_Account": outsider, "Role": "Owner", "JoinTime": owner_host.create_time + 60},
            # ZIM takes no role: the member joins and the outcome says the role was not imported
            _label(INVALID_PARAMETER, "member.Role 'Owner' is not one of Admin", zim=0),
        )
    )
    latecomer = next(a for a in ctx.accounts if a not in early_host.members)
    early_host.member_events.append(
        _member_event(
            early_host,
            len(early_host.members) + 1,
            {"Member_Account": latecomer, "JoinTime": early_host.create_time - _DAY},
            _label(
                INVALID_PARAMETER,
                "member.JoinTime is not after the group's CreateTime",
                zim=ZIM_PARAMETER_ERROR,
            ),
        )
    )
    member = rng.choice(unread_host.members)
    unread_host.unread_events.append(
        {
            "type": UNREAD_SET,
            "event_id": f"sample:unread:{unread_host.group_id}:{member}:negative",
            "group_id": unread_host.group_id,
            "member": {"Member_Account": member, "UnreadMsgNum": -1},
            EXPECTATION_FIELD: _label(
                INVALID_PARAMETER, "member.UnreadMsgNum -1 is not a count", zim=ZIM_PARAMETER_ERROR
            ),
        }
    )


def _group_event(group: _Group) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": GROUP_IMPORT,
        "event_id": f"sample:group:{group.group_id}",
        "group": group.profile,
    }
    if group.label is not None:
        event[EXPECTATION_FIELD] = group.label
    return event


def _message_events(group: _Group) -> list[tuple[int, int, int, dict[str, Any]]]:
    events = []
    for number, planned in enumerate(group.messages, start=1):
        event: dict[str, Any] = {
            "type": MESSAGE_IMPORT,
            "event_id": _message_event_id(group.group_id, number),
            "group_id": group.group_id,
            "topic_id": None,
            "message": planned.message,
        }
        label = planned.label or group.message_label
        if label is not None:
            event[EXPECTATION_FIELD] = label
        events.append((planned.send_time, group.index, number, event))
    return events


def _junk(groups: Sequence[_Group], now: int) -> list[str]:
    """Make records that are not events: each belongs on the dead-letter topic."""
    first, second, third = (groups[position % len(groups)] for position in range(3))
    unknown_type = {  # a type the service does not know (members are removed by nobody)
        "type": "group.member.remove",
        "event_id": f"sample:member-remove:{first.group_id}:00001",
        "group_id": first.group_id,
        "member": {"Member_Account": first.members[0]},
    }
    no_event_id = {
        "type": MESSAGE_IMPORT,
        "group_id": second.group_id,
        "topic_id": None,
        "message": {
            "From_Account": second.members[0],
            "SendTime": now - 2 * _DAY,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "event_id はどこ?"}}],
        },
    }
    as_array = [{"type": GROUP_IMPORT, "event_id": f"sample:group:{third.group_id}"}]
    return [
        (  # a line cut off mid-write: not JSON
            f'{{"type":"{MESSAGE_IMPORT}","event_id":"sample:msg:{third.group_id}:partial",'
            f'"group_id":"{third.group_id}","message":{{"From_Account":"{third.members[0]}","Send'
        ),
        compact_json(as_array),
        compact_json(unknown_type),
        compact_json(no_event_id),
    ]


def generate_export(
    *,
    groups: int = 60,
    messages: int = 6000,
    seed: int = 7,
    now: int = DEFAULT_NOW,
    invalid: bool = True,
) -> list[Record]:
    """Build the sample export's records in publishing order; the same arguments, the same list.

    Every account, ``groups`` valid groups (``g-0001``...) with their members, ``messages``
    valid messages shared between them, and an unread count for every member. With
    ``invalid``, an account with an over-long UserID, two more groups (an over-long name, an
    AVChatRoom) with their members, messages and unread counts, four invalid messages and two
    invalid members in valid groups, an unread count that is not a count, and four records that
    are not events are added on top.
    """
    if groups < 1:
        raise ValueError("groups must be at least 1")
    if messages < 0:
        raise ValueError("messages must not be negative")
    rng = random.Random(seed)  # noqa: S311 - reproducible sample data, not a secret
    ctx = _Context(rng, _accounts(rng), now)
    languages = [corpus.LANGUAGES[position % len(corpus.LANGUAGES)] for position in range(groups)]
    types = [VALID_GROUP_TYPES[position % len(VALID_GROUP_TYPES)] for position in range(groups)]
    rng.shuffle(languages)
    rng.shuffle(types)
    planned = [
        # one group, g-0002, sits on every byte limit
        _plan_group(ctx, index, languages[index - 1], types[index - 1], boundary=index == 2)  # noqa: PLR2004
        for index in range(1, groups + 1)
    ]
    for group, count in zip(planned, _split_counts(rng, messages, groups), strict=True):
        _plan_messages(ctx, group, count)

    junk: list[str] = []
    if invalid:
        _add_invalid_messages(ctx, planned)
        name_bytes = utf8_len(corpus.OVERLONG_GROUP_NAME)
        overlong = _Failure(
            language="ja",
            group_type="Public",
            name=corpus.OVERLONG_GROUP_NAME,
            label=_label(
                INVALID_PARAMETER,
                f"group.Name is {name_bytes} bytes; at most {NAME_MAX_BYTES}",
                zim=0 if name_bytes <= ZIM_GROUP_NAME_MAX_BYTES else ZIM_PARAMETER_ERROR,
            ),
            message_label=_label(
                GROUP_NOT_FOUND,
                f"group {_group_id(groups + 1)} was not imported (Name too long)",
                zim=0 if name_bytes <= ZIM_GROUP_NAME_MAX_BYTES else None,
            ),
            message_count=3,
        )
        avchatroom = _Failure(
            language="zh",
            group_type="AVChatRoom",
            name=corpus.AVCHATROOM_GROUP_NAME,
            # ZIM has no group types: an AVChatRoom is an ordinary ZIM group
            label=_label(NO_PERMISSION, "group.Type AVChatRoom cannot be imported", zim=0),
            message_label=_label(NO_PERMISSION, "AVChatRoom groups cannot import messages", zim=0),
            message_count=2,
        )
        planned.append(_failed_group(ctx, groups + 1, overlong))
        planned.append(_failed_group(ctx, groups + 2, avchatroom))
        junk = _junk(planned, now)

    for group in planned:
        _plan_members(ctx, group)
        _plan_unread(ctx, group)
    if invalid:
        _add_invalid_stage_events(ctx, planned)

    stream: list[Record] = [
        event
        for _, _, _, event in sorted(
            (entry for group in planned for entry in _message_events(group)),
            key=lambda entry: entry[:3],
        )
    ]
    for position, line in sorted(zip((0.1, 0.3, 0.55, 0.8), junk, strict=False), reverse=True):
        stream.insert(int(len(stream) * position), line)
    return [
        *_account_events(ctx.accounts, invalid=invalid),
        *(_group_event(group) for group in planned),
        *(event for group in planned for event in group.member_events),
        *stream,
        *(event for group in planned for event in group.unread_events),
    ]


def _as_document(record: Record) -> object:
    if isinstance(record, dict):
        return record
    try:
        return json.loads(record)
    except (ValueError, RecursionError):
        return None


def is_event(document: object) -> bool:
    """Tell whether a decoded record is an event: an object, a known ``type``, an ``event_id``."""
    if not isinstance(document, dict):
        return False
    event_type, event_id = document.get("type"), document.get("event_id")
    return event_type in EVENT_TYPES and isinstance(event_id, str) and bool(event_id)


def _zim_native(document: dict[str, Any]) -> bool:
    message = document.get("message")
    body = message.get("MsgBody") if isinstance(message, dict) else None
    return (
        isinstance(body, list)
        and len(body) == 1
        and isinstance(body[0], dict)
        and body[0].get("MsgType") in ZIM_NATIVE_ELEMENTS
    )


def _expected(document: dict[str, Any], provider: str) -> Expected:
    label = document.get(EXPECTATION_FIELD)
    if provider == ZEGO:
        if document["type"] == UNREAD_SET:
            return Expected("failed", ZIM_PARAMETER_ERROR)  # ZIM has no unread counts to set
        if isinstance(label, dict) and isinstance(label.get("zim"), dict):
            label = label["zim"]
        expected = (
            Expected(str(label["status"]), int(label["error_code"]))
            if isinstance(label, dict)
            else IMPORTED
        )
        if document["type"] == MESSAGE_IMPORT and expected == IMPORTED:
            # a ZIM message holds one text or one custom element: refused as it is read
            return expected if _zim_native(document) else Expected("failed", ZIM_PARAMETER_ERROR)
        return expected
    if isinstance(label, dict):
        return Expected(str(label["status"]), int(label["error_code"]))
    return IMPORTED


def expectations(records: Iterable[Record], provider: str = TENCENT) -> SampleExpectations:
    """Give the outcome each event of ``records`` should get, and count the dead letters.

    An event's expectation is its ``sample_expectation`` label, or ``imported`` without one. On
    ZIM (``provider="zego"``) the label's ``zim`` entry takes its place where it has one; an
    unread count fails (code 2: ZIM has no such API) and so does a message that is not one text
    or one custom element (code 2), as the service refuses them when it reads them.
    """
    events: dict[str, Expected] = {}
    dead_letter = 0
    for record in records:
        document = _as_document(record)
        if not is_event(document):
            dead_letter += 1
            continue
        assert isinstance(document, dict)  # noqa: S101 - is_event checked it
        event_id = document["event_id"]
        if event_id in events:
            raise ValueError(f"event_id {event_id!r} occurs twice")
        events[event_id] = _expected(document, provider)
    return SampleExpectations(events=events, dead_letter=dead_letter)
