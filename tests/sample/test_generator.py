# Copyright 2026 chat-import-service contributors
from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from typing import Any

import pytest

from service.domain.events import GroupMessage, InputRecord
from service.domain.validation import (
    Rejection,
    Rules,
    ValidMemberImport,
    decode_envelope,
    derive_random,
    join_time_problem,
    validate_event,
)
from service.providers.zego import UnsupportedMessageError, to_zim_message, zim_rules
from service.runtime.intake import classify
from service.sample import (
    DEFAULT_NOW,
    EXPECTATION_FIELD,
    FAR_FUTURE,
    Expected,
    Record,
    expectations,
    generate_export,
)
from service.sample.generator import IMPORTED, body_size, utf8_len
from service.sample.jsonl import render_line

LIMITS = {"Name": 30, "Introduction": 240, "Notification": 300, "FaceUrl": 100}
SUPPORTED = {"TIMTextElem", "TIMFaceElem", "TIMLocationElem", "TIMCustomElem"}
FIELDS = {
    "TIMTextElem": {"Text"},
    "TIMFaceElem": {"Index", "Data"},
    "TIMLocationElem": {"Desc", "Latitude", "Longitude"},
    "TIMCustomElem": {"Data", "Desc", "Ext", "Sound"},
}
SCRIPTS = {
    "han": r"[\u4e00-\u9fff]",
    "kana": r"[\u3040-\u30ff]",
    "hangul": r"[\uac00-\ud7af]",
    "arabic": r"[\u0600-\u06ff]",
    "devanagari": r"[\u0900-\u097f]",
    "cyrillic": r"[\u0400-\u04ff]",
    "spanish": r"[ñáéíóú¡¿]",
    "emoji": r"[\U0001f300-\U0001faff]",
}


def failed(code: int) -> Expected:
    """Expect a failed outcome with ``code``."""
    return Expected("failed", code)


def send_times(messages: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Each group's SendTimes in publishing order (0 where one is missing)."""
    by_group: dict[str, list[int]] = defaultdict(list)
    for event in messages:
        by_group[event["group_id"]].append(event["message"].get("SendTime", 0))
    return by_group


def valid_groups(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Profiles of the groups not planted as invalid."""
    return [event["group"] for event in groups if EXPECTATION_FIELD not in event]


def valid_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Message events not planted as invalid."""
    return [event for event in messages if EXPECTATION_FIELD not in event]


class TestDeterminism:
    """The same arguments always give the same export."""

    def test_same_arguments_give_the_same_records(self, records: list[Record]) -> None:
        """Generating twice with the default arguments gives equal records, line for line."""
        expected = [render_line(record) for record in records]
        actual = [render_line(record) for record in generate_export()]
        assert expected == actual

    def test_another_seed_gives_another_export(self, records: list[Record]) -> None:
        """The seed drives the content: seed 8 does not reproduce seed 7."""
        assert records != generate_export(seed=8)

    def test_small_exports_are_supported(self) -> None:
        """Tiny arguments still give every group and message asked for, plus the invalid ones."""
        small = generate_export(groups=1, messages=5)
        counts = Counter(record["type"] if isinstance(record, dict) else "raw" for record in small)
        expected = (1 + 2, 5 + 4 + 3 + 2, 4, True)
        assert expected == (
            counts["group.import"],
            counts["group.message.import"],
            counts["raw"],
            min(counts[kind] for kind in ("account.import", "group.member.import")) > 0,
        )

    def test_no_groups_is_refused(self) -> None:
        """An export needs at least one group."""
        with pytest.raises(ValueError, match="groups"):
            generate_export(groups=0)


class TestCounts:
    """The default export is big enough for a demo and uneven like a real one."""

    def test_at_least_fifty_groups(self, groups: list[dict[str, Any]]) -> None:
        """The default export has 60 valid groups plus the two that fail on purpose."""
        expected = (60, 62)
        assert expected == (len(valid_groups(groups)), len(groups))

    def test_at_least_five_thousand_messages(self, messages: list[dict[str, Any]]) -> None:
        """The default export has 6,000 valid messages."""
        expected = 6000
        assert expected == len(valid_messages(messages))

    def test_group_sizes_are_uneven(self, messages: list[dict[str, Any]]) -> None:
        """Some groups are large (ten times the median or more) and some have three or fewer."""
        sizes = sorted(Counter(event["group_id"] for event in messages).values())
        expected = (True, True)
        assert expected == (sizes[0] <= 3, sizes[-1] >= 10 * sizes[len(sizes) // 2])

    def test_every_group_type_is_used(self, groups: list[dict[str, Any]]) -> None:
        """Each importable group type appears among the valid groups."""
        expected = {"Public", "Private", "ChatRoom", "Community", "Work", "Meeting"}
        assert expected == {group["Type"] for group in valid_groups(groups)}


class TestGroups:
    """Valid group profiles keep the documented limits, in UTF-8 bytes."""

    def test_valid_groups_respect_the_byte_limits(self, groups: list[dict[str, Any]]) -> None:
        """Name, Introduction, Notification and FaceUrl fit their limits in UTF-8 bytes."""
        over = [
            (group["GroupId"], field)
            for group in valid_groups(groups)
            for field, limit in LIMITS.items()
            if utf8_len(group.get(field, "")) > limit
        ]
        expected: list[tuple[str, str]] = []
        assert expected == over

    def test_one_group_sits_exactly_on_every_limit(self, groups: list[dict[str, Any]]) -> None:
        """g-0002 has every string at exactly its byte limit and MaxMemberCount 6000."""
        group = valid_groups(groups)[1]
        actual = {field: utf8_len(group[field]) for field in LIMITS}
        actual["MaxMemberCount"] = group["MaxMemberCount"]
        expected = {**LIMITS, "MaxMemberCount": 6000}
        assert expected == actual

    def test_names_use_multibyte_text(self, groups: list[dict[str, Any]]) -> None:
        """Many names are longer in bytes than in characters, so counting characters is wrong."""
        multibyte = [g for g in valid_groups(groups) if utf8_len(g["Name"]) > len(g["Name"])]
        assert len(multibyte) >= 30

    def test_profiles_follow_the_documented_fields(self, groups: list[dict[str, Any]]) -> None:
        """Community groups omit ApplyJoinOption; counts stay within 6000; ids look like g-0001."""
        problems = [
            group["GroupId"]
            for group in valid_groups(groups)
            if (group["Type"] == "Community" and "ApplyJoinOption" in group)
            or not 1 <= group.get("MaxMemberCount", 2000) <= 6000
            or not re.fullmatch(r"g-\d{4}", group["GroupId"])
        ]
        expected: list[str] = []
        assert expected == problems

    def test_create_time_precedes_the_first_message(
        self, groups: list[dict[str, Any]], messages: list[dict[str, Any]]
    ) -> None:
        """Every group is created before its first message is sent."""
        first = {group_id: times[0] for group_id, times in send_times(messages).items()}
        late = [
            event["group"]["GroupId"]
            for event in groups
            if event["group"]["CreateTime"] >= first.get(event["group"]["GroupId"], DEFAULT_NOW)
        ]
        expected: list[str] = []
        assert expected == late

    def test_some_groups_carry_app_defined_data(self, groups: list[dict[str, Any]]) -> None:
        """A few groups have AppDefinedData, some of it with binary-ish control characters."""
        values = [
            item["Value"]
            for group in valid_groups(groups)
            for item in group.get("AppDefinedData", [])
        ]
        expected = (True, True)
        assert expected == (len(values) >= 5, any("\u0000" in value for value in values))

    def test_languages_cover_many_scripts(self, groups: list[dict[str, Any]]) -> None:
        """Profiles mix Chinese, Japanese, Korean, Arabic, Hindi, Russian, Spanish and emoji."""
        text = json.dumps(groups, ensure_ascii=False)
        found = {name for name, pattern in SCRIPTS.items() if re.search(pattern, text)}
        assert set(SCRIPTS) == found


class TestMessages:
    """Messages look like a real export: ordered per group, bursty, varied."""

    def test_send_times_ascend_within_each_group(self, messages: list[dict[str, Any]]) -> None:
        """In publishing order, each group's SendTimes never go down."""
        unordered = [
            group_id for group_id, times in send_times(messages).items() if times != sorted(times)
        ]
        expected: list[str] = []
        assert expected == unordered

    def test_several_messages_share_a_second(self, messages: list[dict[str, Any]]) -> None:
        """Bursts are common: many neighbours within a group share the same SendTime."""
        shared = sum(
            sum(1 for first, second in itertools.pairwise(times) if first == second)
            for times in send_times(messages).values()
        )
        assert shared >= 100

    def test_send_times_lie_between_creation_and_now(
        self, groups: list[dict[str, Any]], messages: list[dict[str, Any]]
    ) -> None:
        """Every valid message is after its group's CreateTime and before the generator's now."""
        created = {event["group"]["GroupId"]: event["group"]["CreateTime"] for event in groups}
        outside = [
            event["event_id"]
            for event in valid_messages(messages)
            if not created[event["group_id"]] < event["message"]["SendTime"] < DEFAULT_NOW
        ]
        expected: list[str] = []
        assert expected == outside

    def test_about_half_carry_a_random(self, messages: list[dict[str, Any]]) -> None:
        """Random is on about half the messages, a 32-bit unsigned int, unique within a group."""
        randoms = [
            (event["group_id"], event["message"]["Random"])
            for event in messages
            if "Random" in event["message"]
        ]
        share = len(randoms) / len(messages)
        in_range = all(0 <= value <= 4_294_967_295 for _, value in randoms)
        expected = (True, True, len(randoms))
        assert expected == (0.4 < share < 0.6, in_range, len(set(randoms)))

    def test_bodies_have_one_to_three_elements(self, messages: list[dict[str, Any]]) -> None:
        """Every body has 1, 2 or 3 elements, and each size occurs."""
        expected = {1, 2, 3}
        assert expected == {len(event["message"]["MsgBody"]) for event in messages}

    def test_every_supported_element_type_occurs(self, messages: list[dict[str, Any]]) -> None:
        """Valid messages use text, face, location and custom elements, nothing else."""
        actual = {
            element["MsgType"]
            for event in valid_messages(messages)
            for element in event["message"]["MsgBody"]
        }
        expected = SUPPORTED
        assert expected == actual

    def test_elements_carry_their_documented_fields(self, messages: list[dict[str, Any]]) -> None:
        """Each element type has exactly its documented MsgContent fields."""
        wrong = [
            event["event_id"]
            for event in valid_messages(messages)
            for element in event["message"]["MsgBody"]
            if set(element["MsgContent"]) != FIELDS[element["MsgType"]]
        ]
        expected: list[str] = []
        assert expected == wrong

    def test_custom_data_is_binary_ish(self, messages: list[dict[str, Any]]) -> None:
        """Custom Data includes control characters and base64 payloads."""
        data = [
            element["MsgContent"]["Data"]
            for event in messages
            for element in event["message"]["MsgBody"]
            if element["MsgType"] == "TIMCustomElem"
        ]
        control = any("\u0000" in value and "\u0001" in value for value in data)
        b64 = any(re.fullmatch(r"[A-Za-z0-9+/]{16}", value) for value in data)
        expected = (True, True)
        assert expected == (control, b64)

    def test_texts_cover_many_scripts(self, messages: list[dict[str, Any]]) -> None:
        """Message texts are multilingual and carry emoji."""
        text = json.dumps(
            [
                element["MsgContent"]["Text"]
                for event in messages
                for element in event["message"]["MsgBody"]
                if element["MsgType"] == "TIMTextElem"
            ],
            ensure_ascii=False,
        )
        found = {name for name, pattern in SCRIPTS.items() if re.search(pattern, text)}
        assert set(SCRIPTS) == found

    def test_valid_bodies_stay_well_under_the_size_limit(
        self, messages: list[dict[str, Any]]
    ) -> None:
        """Valid bodies stay under 8,000 bytes, so the 2022 limit would accept them too."""
        largest = max(body_size(event["message"]["MsgBody"]) for event in valid_messages(messages))
        assert largest < 8_000

    def test_event_ids_are_numbered_per_group(self, messages: list[dict[str, Any]]) -> None:
        """Message event_ids are sample:msg:<group>:<n>, n five digits counting from 1."""
        actual: dict[str, list[str]] = defaultdict(list)
        for event in messages:
            actual[event["group_id"]].append(event["event_id"])
        expected = {
            group_id: [f"sample:msg:{group_id}:{n:05d}" for n in range(1, len(ids) + 1)]
            for group_id, ids in actual.items()
        }
        assert expected == actual


class TestInvalidEvents:
    """Each planted invalid event is there, found by its content, with its expected code."""

    def test_over_long_name_fails_with_10004(
        self, groups: list[dict[str, Any]], expected: dict[str, Expected]
    ) -> None:
        """A Name of 15 characters but 45 bytes is refused with 10004."""
        found = {
            event["event_id"]: expected[event["event_id"]]
            for event in groups
            if utf8_len(event["group"]["Name"]) > 30
        }
        assert {"sample:group:g-0061": failed(10004)} == found

    def test_messages_of_that_group_fail_with_10010(
        self, messages: list[dict[str, Any]], expected: dict[str, Expected]
    ) -> None:
        """The group's three messages fail with 10010: the group does not exist."""
        found = [expected[e["event_id"]] for e in messages if e["group_id"] == "g-0061"]
        assert [failed(10010)] * 3 == found

    def test_avchatroom_group_and_messages_fail_with_10007(
        self, events: list[dict[str, Any]], expected: dict[str, Expected]
    ) -> None:
        """The AVChatRoom group and its two messages fail with 10007."""
        found = {
            event["event_id"]: expected[event["event_id"]]
            for event in events
            if event.get("group", {}).get("Type") == "AVChatRoom"
            or (event.get("group_id") == "g-0062" and event["type"] == "group.message.import")
        }
        ids = ["sample:group:g-0062", "sample:msg:g-0062:00001", "sample:msg:g-0062:00002"]
        assert dict.fromkeys(ids, failed(10007)) == found

    def test_unsupported_message_type_fails_with_10004(
        self, messages: list[dict[str, Any]], expected: dict[str, Expected]
    ) -> None:
        """A message with a TIMSoundElem element fails with 10004."""
        found = [
            (expected[event["event_id"]], event["message"]["MsgBody"][-1]["MsgType"])
            for event in messages
            if any(element["MsgType"] not in SUPPORTED for element in event["message"]["MsgBody"])
        ]
        assert [(failed(10004), "TIMSoundElem")] == found

    def test_oversized_body_fails_with_80002(
        self, messages: list[dict[str, Any]], expected: dict[str, Expected]
    ) -> None:
        """A body over 12,000 bytes, yet under 12,000 characters, fails with 80002."""
        found = [
            (expected[event["event_id"]], len(json.dumps(body, ensure_ascii=False)) < 12_000)
            for event in messages
            if body_size(body := event["message"]["MsgBody"]) > 12_000
        ]
        assert [(failed(80002), True)] == found

    def test_future_send_time_fails_with_10004(
        self, messages: list[dict[str, Any]], expected: dict[str, Expected]
    ) -> None:
        """A SendTime in 2100 fails with 10004, and it is the last message of its group."""
        found = [
            (expected[event["event_id"]], send_times(messages)[event["group_id"]][-1])
            for event in messages
            if event["message"].get("SendTime", 0) > DEFAULT_NOW
        ]
        assert [(failed(10004), FAR_FUTURE)] == found

    def test_missing_sender_fails_with_10004(
        self, messages: list[dict[str, Any]], expected: dict[str, Expected]
    ) -> None:
        """A message without From_Account fails with 10004."""
        found = [expected[e["event_id"]] for e in messages if "From_Account" not in e["message"]]
        assert [failed(10004)] == found

    def test_all_other_events_are_expected_imported(self, expected: dict[str, Expected]) -> None:
        """Besides the planted failures (and their groups' events), every event is imported."""
        by_code = {0: 7872, 10004: 7, 10007: 11, 10010: 9, 70402: 1, 80002: 1}
        assert by_code == Counter(outcome.error_code for outcome in expected.values())

    def test_four_records_are_dead_letters(self, records: list[Record]) -> None:
        """A cut-off line, a JSON array, an unknown type and an event without event_id."""
        kinds = []
        for line in (record for record in records if isinstance(record, str)):
            try:
                document = json.loads(line)
            except ValueError:
                kinds.append("not json")
                continue
            if isinstance(document, list):
                kinds.append("array")
            elif "event_id" not in document:
                kinds.append("no event_id")
            else:
                kinds.append(document["type"])
        expected = (["not json", "array", "group.member.remove", "no event_id"], 4)
        assert expected == (kinds, expectations(records).dead_letter)

    def test_without_invalid_everything_imports(self) -> None:
        """invalid=False gives only valid events and no dead letters."""
        records = generate_export(groups=5, messages=50, invalid=False)
        outcome = expectations(records)
        kinds = {record["type"] for record in records if isinstance(record, dict)}
        expected = ({IMPORTED}, 5, 0)
        assert expected == (set(outcome.events.values()), len(kinds), outcome.dead_letter)


class TestAgreesWithServiceValidation:
    """The labels agree with the service's own rule checks."""

    def test_service_detects_exactly_the_rule_breaking_events(self, records: list[Record]) -> None:
        """The service's per-event checks refuse the planted events with the labelled codes.

        Messages of a group whose import failed pass those checks (they fail once the group is
        known to be missing), so they are expected to pass here.
        """
        outcomes = expectations(records).events
        expected: dict[str, int] = {}
        actual: dict[str, int] = {}
        created = {
            r["group"]["GroupId"]: r["group"].get("CreateTime")
            for r in records
            if isinstance(r, dict) and r["type"] == "group.import"
        }
        for offset, record in enumerate(records):
            if not isinstance(record, dict):
                continue
            value = render_line(record).encode("utf-8")
            key = (
                record.get("group_id")
                or record.get("group", {}).get("GroupId")
                or record["account"]["UserID"]
            )
            input_record = InputRecord("t", 0, offset, key.encode("utf-8"), value)
            checked = validate_event(
                input_record, decode_envelope(value), now=DEFAULT_NOW + 86_400, rules=Rules()
            )
            if isinstance(checked, ValidMemberImport):  # checked once the group is known
                problem = join_time_problem(
                    checked.member.JoinTime, created[checked.group_id], Rules()
                )
                checked = problem[0] if problem else checked  # type: ignore[assignment]
            if isinstance(checked, int):
                actual[record["event_id"]] = checked
                code = outcomes[record["event_id"]].error_code
                expected[record["event_id"]] = code
                continue
            actual[record["event_id"]] = checked.code if isinstance(checked, Rejection) else 0
            code = outcomes[record["event_id"]].error_code
            own_fault = record["type"] == "group.import" or code not in (10007, 10010)
            expected[record["event_id"]] = code if own_fault else 0
        assert expected == actual

    def test_randoms_never_repeat_within_a_group(self, messages: list[dict[str, Any]]) -> None:
        """With the service's derived Random where one is absent, no group repeats a Random.

        The provider drops a message whose Random repeats one from the last five minutes, so a
        repeat would turn an expected import into a duplicate.
        """
        randoms = [
            (event["group_id"], event["message"].get("Random", derive_random(event["event_id"])))
            for event in messages
        ]
        expected = len(randoms)
        assert expected == len(set(randoms))

    def test_zim_labels_agree_with_the_services_zim_checks(self, records: list[Record]) -> None:
        """On ZIM, the events the service refuses as it reads them are labelled with ZIM's code.

        Failures that come from the provider or from a group's fate are left out; every other
        event's ZIM expectation is what the service's ZIM checks give (0 when they pass).
        """
        outcomes = expectations(records, provider="zego").events
        rules = zim_rules(retention_days=3_650)
        created = {
            r["group"]["GroupId"]: r["group"].get("CreateTime")
            for r in records
            if isinstance(r, dict) and r["type"] == "group.import"
        }
        expected: dict[str, int] = {}
        actual: dict[str, int] = {}
        for offset, record in enumerate(records):
            if not isinstance(record, dict):
                continue
            value = render_line(record).encode("utf-8")
            key = (
                record.get("group_id")
                or record.get("group", {}).get("GroupId")
                or record["account"]["UserID"]
            )
            checked = classify(
                InputRecord("t", 0, offset, key.encode("utf-8"), value),
                provider=ZimChecks(),  # type: ignore[arg-type]
                rules=rules,
                now=DEFAULT_NOW + 86_400,
            )
            code = checked.code if isinstance(checked, Rejection) else 0
            if isinstance(checked, ValidMemberImport):
                problem = join_time_problem(checked.member.JoinTime, created[key], rules)
                code = problem[0] if problem else 0
            actual[record["event_id"]] = code
            expected[record["event_id"]] = outcomes[record["event_id"]].error_code
        assert expected == actual


class ZimChecks:
    """What intake asks of the ZIM adapter, without a client: whether ZIM can hold a message."""

    def check_element_support(self, message: GroupMessage) -> tuple[int, str] | None:
        try:
            to_zim_message(message)
        except UnsupportedMessageError as exc:
            return exc.code, exc.reason
        return None
