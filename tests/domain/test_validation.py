# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
import json

import pytest

from service.domain import limits
from service.domain.events import EventType, InputRecord
from service.domain.validation import (
    Codes,
    Rejection,
    Rules,
    ValidAccountImport,
    ValidGroupImport,
    ValidMemberImport,
    ValidMessageImport,
    ValidUnreadSet,
    decode_envelope,
    derive_random,
    join_time_problem,
    validate_event,
)
from service.errors import BadInputError

NOW = 1_700_000_000


def record(value: object, key: str | None = "g-1", raw: bytes | None = None) -> InputRecord:
    data = raw if raw is not None else json.dumps(value).encode()
    return InputRecord("t", 0, 0, key.encode() if key is not None else None, data)


def group_event(**group: object) -> dict[str, object]:
    body: dict[str, object] = {"GroupId": "g-1", "Type": "Public", "Name": "Hiking club"}
    body.update(group)
    return {"type": "group.import", "event_id": "e-1", "group": body}


def message_event(**message: object) -> dict[str, object]:
    body: dict[str, object] = {
        "From_Account": "leckie",
        "SendTime": NOW - 100,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
    }
    body.update(message)
    return {"type": "group.message.import", "event_id": "m-1", "group_id": "g-1", "message": body}


def check(event: dict[str, object], key: str | None = "g-1", rules: Rules | None = None):
    rec = record(event, key)
    return validate_event(rec, decode_envelope(rec.value), now=NOW, rules=rules or Rules())


class TestDecodeEnvelope:
    @pytest.mark.parametrize(
        ("raw", "reason"),
        [
            (b"\xff\xfe", "not UTF-8"),
            (b"{nope", "not JSON"),
            (b"[1, 2]", "not an object"),
            (b'{"event_id": "x"}', "no 'type'"),
            (b'{"type": "group.import"}', "no 'event_id'"),
            (b'{"type": "group.delete", "event_id": "x"}', "unknown event type"),
            (b'{"type": "group.import", "event_id": "x", "n": NaN}', "not JSON"),
            (b"[" * 100_000 + b"]" * 100_000, "nested"),
            (None, "no value"),
        ],
    )
    def test_records_that_are_not_events_are_refused_with_a_reason(self, raw, reason):
        """Each kind of non-event names why it goes to the dead-letter topic."""
        with pytest.raises(BadInputError) as caught:
            decode_envelope(raw)
        assert reason in caught.value.reason

    def test_type_is_read_from_the_payload(self):
        """The event type comes from the payload, whatever topic it came on."""
        assert (
            EventType.MESSAGE_IMPORT == decode_envelope(json.dumps(message_event()).encode()).type
        )


class TestGroupRules:
    def test_valid_group_passes(self):
        """A group with the required fields is importable."""
        assert isinstance(check(group_event()), ValidGroupImport)

    @pytest.mark.parametrize(
        ("fields", "code", "named"),
        [
            ({"Name": "x" * 31}, 10004, "group.Name"),
            ({"Name": "名" * 11}, 10004, "group.Name"),  # 33 bytes in UTF-8
            ({"Introduction": "x" * 241}, 10004, "group.Introduction"),
            ({"Notification": "x" * 301}, 10004, "group.Notification"),
            ({"FaceUrl": "http://" + "x" * 100}, 10004, "group.FaceUrl"),
            ({"MaxMemberCount": 6001}, 10004, "group.MaxMemberCount"),
            ({"Type": "AVChatRoom"}, 10007, "AVChatRoom"),
            ({"Type": "Secret"}, 10004, "group.Type"),
            ({"ApplyJoinOption": "Anyone"}, 10004, "group.ApplyJoinOption"),
            ({"CreateTime": NOW + 60}, 10004, "group.CreateTime"),
            ({"Nmae": "typo"}, 10004, "group.Nmae"),
            ({"MaxMemberCount": "500"}, 10004, "group.MaxMemberCount"),
        ],
    )
    def test_broken_rule_is_refused_with_its_code_naming_the_field(self, fields, code, named):
        """Each documented group rule is enforced before any call, with the provider's code."""
        result = check(group_event(**fields))
        assert isinstance(result, Rejection)
        assert (code, True) == (result.code, named in result.info)

    def test_community_allows_more_members(self):
        """Community groups take up to 100,000 members."""
        assert isinstance(
            check(group_event(Type="Community", MaxMemberCount=100_000)), ValidGroupImport
        )

    def test_missing_name_is_refused(self):
        """Name is required (10004)."""
        event = group_event()
        del event["group"]["Name"]  # type: ignore[attr-defined]
        result = check(event)
        assert isinstance(result, Rejection)
        assert ("group.Name" in result.info, 10004) == (True, result.code)

    def test_key_must_equal_group_id(self):
        """A record keyed differently from its GroupId would break ordering: 10004."""
        result = check(group_event(), key="other")
        assert isinstance(result, Rejection)
        assert "record key" in result.info

    def test_community_group_ids_in_the_providers_form_are_accepted_for_community(self):
        """@TGS#_@TGS#c4YHCIIM62CX (the import_group sample) is a Community group's ID."""
        group_id = "@TGS#_@TGS#c4YHCIIM62CX"
        community = check(group_event(GroupId=group_id, Type="Community"), key=group_id)
        public = check(group_event(GroupId=group_id, Type="Public"), key=group_id)
        assert (True, limits.INVALID_GROUP_ID) == (
            isinstance(community, ValidGroupImport),
            public.code if isinstance(public, Rejection) else None,
        )

    def test_apply_join_option_is_refused_for_community(self):
        """ApplyJoinOption "is not supported by community groups": 10004 naming the field."""
        result = check(group_event(Type="Community", ApplyJoinOption="FreeAccess"))
        assert (10004, True) == (
            result.code if isinstance(result, Rejection) else None,
            isinstance(result, Rejection) and "group.ApplyJoinOption" in result.info,
        )

    def test_a_group_without_create_time_is_accepted_with_a_warning(self):
        """Optional, but then created "now": the warning says earlier messages will be refused."""
        without = check(group_event())
        with_time = check(group_event(CreateTime=NOW - 86_400))
        assert (True, True, ()) == (
            isinstance(without, ValidGroupImport),
            isinstance(without, ValidGroupImport)
            and any("CreateTime" in w and "10004" in w for w in without.warnings),
            with_time.warnings if isinstance(with_time, ValidGroupImport) else None,
        )

    def test_generated_prefix_is_an_invalid_group_id(self):
        """A custom GroupId may not look generated: 10015."""
        result = check(group_event(GroupId="@TGS#abc"), key="@TGS#abc")
        assert isinstance(result, Rejection)
        assert limits.INVALID_GROUP_ID == result.code


class TestMessageRules:
    def test_valid_message_passes_and_gets_a_derived_random(self):
        """A message without Random gets one derived from its event_id."""
        result = check(message_event())
        assert isinstance(result, ValidMessageImport)
        assert derive_random("m-1") == result.random

    def test_exporter_random_is_kept(self):
        """A Random given by the exporter is sent as is."""
        result = check(message_event(Random=42))
        assert isinstance(result, ValidMessageImport)
        assert 42 == result.random

    def test_derived_random_is_stable(self):
        """A re-sent event derives the same Random."""
        assert derive_random("export:msg:1") == derive_random("export:msg:1")

    @pytest.mark.parametrize(
        ("fields", "code", "named"),
        [
            ({"SendTime": NOW + 3600}, 10004, "in the future"),
            ({"SendTime": NOW}, 10004, "must be earlier"),
            ({"SendTime": -5}, 10004, "SendTime"),
            ({"SendTime": "1620808101"}, 10004, "message.SendTime"),
            ({"Random": 2**32}, 10004, "Random"),
            ({"MsgBody": []}, 10004, "MsgBody is empty"),
            ({"MsgBody": [{"MsgType": "TIMSoundElem", "MsgContent": {}}]}, 10004, "TIMSoundElem"),
            ({"MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": 5}}]}, 10004, "Text"),
            ({"From_Account": ""}, 10004, "From_Account"),
            (
                {"MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x" * 12_000}}]},
                80002,
                "bytes",
            ),
            ({"Extra": 1}, 10004, "message.Extra"),
        ],
    )
    def test_broken_rule_is_refused_with_its_code_naming_the_field(self, fields, code, named):
        """Each documented message rule is enforced before any call, with the provider's code."""
        result = check(message_event(**fields))
        assert isinstance(result, Rejection)
        assert (code, True) == (result.code, named in result.info)

    def test_older_size_limit_is_a_setting(self):
        """With the 2022 edition's 8,000 bytes, a 9,000-byte message is refused with 80002."""
        event = message_event(
            MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x" * 9_000}}]
        )
        assert isinstance(check(event), ValidMessageImport)
        result = check(event, rules=Rules(message_size_limit=limits.MESSAGE_SIZE_LIMIT_2022))
        assert isinstance(result, Rejection)
        assert limits.MESSAGE_TOO_LARGE == result.code

    def test_size_counts_utf8_bytes(self):
        """4,001 three-byte characters are over 12,000 bytes."""
        event = message_event(
            MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "語" * 4_001}}]
        )
        result = check(event)
        assert isinstance(result, Rejection)
        assert limits.MESSAGE_TOO_LARGE == result.code

    def test_key_must_equal_group_id(self):
        """A message keyed by another group is refused (10004)."""
        result = check(message_event(), key="g-2")
        assert isinstance(result, Rejection)
        assert "record key" in result.info

    def test_missing_group_id_is_named(self):
        """A message without group_id names the field."""
        event = message_event()
        del event["group_id"]
        result = check(event)
        assert isinstance(result, Rejection)
        assert "group_id" in result.info


class TestProviderRules:
    def test_refusals_carry_the_codes_of_the_rules_given(self):
        """Validation takes one Rules value: its limits and its codes, whatever the provider."""
        rules = Rules(
            provider="other",
            codes=Codes(invalid_parameter=2, invalid_group_id=2, message_too_large=9),
            name_max_bytes=40,
            message_size_limit=100,
        )
        named = check(group_event(Name="n" * 35), rules=rules)
        too_long = check(group_event(Name="n" * 41), rules=rules)
        too_large = check(
            message_event(MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x" * 200}}]),
            rules=rules,
        )
        assert (True, 2, 9) == (
            isinstance(named, ValidGroupImport),
            too_long.code if isinstance(too_long, Rejection) else None,
            too_large.code if isinstance(too_large, Rejection) else None,
        )

    def test_default_rules_are_tencents(self):
        """Rules() keeps today's callers on Tencent's limits and codes."""
        rules = Rules()
        assert ("tencent", 10004, 10015, 80002, 12_000, 30) == (
            rules.provider,
            rules.codes.invalid_parameter,
            rules.codes.invalid_group_id,
            rules.codes.message_too_large,
            rules.message_size_limit,
            rules.name_max_bytes,
        )


class TestUnrepresentableValues:
    def test_lone_surrogate_in_text_is_refused_naming_the_body(self):
        """A JSON escape of half a surrogate pair cannot be sent as UTF-8: 10004 on MsgBody."""
        event = message_event(
            MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "a \ud800 b"}}]
        )
        result = check(event)
        assert isinstance(result, Rejection)
        assert (10004, True) == (result.code, "message.MsgBody" in result.info)

    def test_lone_surrogate_in_group_name_is_refused_naming_the_field(self):
        """group.Name with a lone surrogate: 10004 naming group.Name."""
        result = check(group_event(Name="half \udc00"))
        assert isinstance(result, Rejection)
        assert (10004, True) == (result.code, "group.Name" in result.info)

    def test_infinite_number_in_content_is_refused(self):
        """1e999 parses to infinity, which JSON cannot carry to the provider: 10004."""
        raw = (
            json.dumps(message_event())
            .replace('"Text": "hi"', '"Text": "hi", "Size": 1e999')
            .encode()
        )
        rec = InputRecord("t", 0, 0, b"g-1", raw)
        result = validate_event(rec, decode_envelope(raw), now=NOW, rules=Rules())
        assert isinstance(result, Rejection)
        assert (10004, True) == (result.code, "out of range" in result.info)

    def test_lone_surrogate_event_id_is_not_an_event(self):
        """An event_id that cannot be encoded cannot key an outcome: dead letter."""
        raw = json.dumps({**message_event(), "event_id": "x\ud800"}).encode()
        with pytest.raises(BadInputError, match="event_id"):
            decode_envelope(raw)


def account_event(**account: object) -> dict[str, object]:
    body: dict[str, object] = {"UserID": "leckie", "Nick": "Leckie", "FaceUrl": "https://a/b.png"}
    body.update(account)
    return {"type": "account.import", "event_id": "a-1", "account": body}


def member_event(**member: object) -> dict[str, object]:
    body: dict[str, object] = {"Member_Account": "leckie", "JoinTime": NOW - 500}
    body.update(member)
    return {"type": "group.member.import", "event_id": "gm-1", "group_id": "g-1", "member": body}


def unread_event(**member: object) -> dict[str, object]:
    body: dict[str, object] = {"Member_Account": "leckie", "UnreadMsgNum": 3}
    body.update(member)
    return {"type": "group.member.unread", "event_id": "u-1", "group_id": "g-1", "member": body}


def zim_rules() -> Rules:
    from service.providers.zego import zim_rules as build  # noqa: PLC0415 - the adapter's own

    return build(retention_days=30)


class TestAccountRules:
    def test_a_valid_account_keeps_its_fields(self):
        """account.import with UserID, Nick and FaceUrl is importable as sent."""
        result = check(account_event(), key="leckie")
        assert isinstance(result, ValidAccountImport)
        assert ("leckie", "Leckie", None) == (
            result.user_id,
            result.account.Nick,
            result.group_id,
        )

    def test_the_record_key_of_an_account_is_not_checked(self):
        """Accounts have no order: any key (or none) is accepted."""
        assert isinstance(check(account_event(), key=None), ValidAccountImport)

    @pytest.mark.parametrize(
        ("user_id", "reason"), [("", "empty"), ("u" * 33, "33 bytes; at most 32")]
    )
    def test_a_bad_user_id_is_refused_with_the_account_code(self, user_id: str, reason: str):
        """Tencent refuses a missing or over-long UserID (70402), naming account.UserID."""
        result = check(account_event(UserID=user_id))
        assert isinstance(result, Rejection)
        assert (limits.ACCOUNT_INVALID_PARAMETER, True, True) == (
            result.code,
            "account.UserID" in result.info,
            reason in result.info,
        )

    def test_an_unknown_account_field_is_refused(self):
        """A typo inside account (Nickname) is refused rather than dropped: 70402."""
        result = check(account_event(Nickname="x"))
        assert isinstance(result, Rejection)
        assert (limits.ACCOUNT_INVALID_PARAMETER, "account.Nickname") == (
            result.code,
            result.info.split(":")[0],
        )

    def test_zim_refuses_characters_outside_its_id_set_with_code_2(self):
        """ZIM user IDs hold only ZIM's characters: 2, naming the character."""
        result = check(account_event(UserID="李雷"), rules=zim_rules())
        assert isinstance(result, Rejection)
        assert (2, True) == (result.code, "'李'" in result.info)

    def test_zim_refuses_an_avatar_over_500_bytes(self):
        """UserAvatar holds at most 500 bytes on ZIM: 2."""
        result = check(account_event(FaceUrl="h" * 501), rules=zim_rules())
        assert isinstance(result, Rejection)
        assert (2, "account.FaceUrl is 501 bytes; at most 500") == (result.code, result.info)

    def test_the_refusal_names_the_account(self):
        """A refused account's outcome names its UserID and no group."""
        result = check(account_event(UserID="u" * 33))
        assert isinstance(result, Rejection)
        assert ("u" * 33, None) == (result.user_id, result.group_id)


class TestMemberRules:
    def test_a_valid_member_is_importable_without_warnings(self):
        """A member with an Admin role and a past JoinTime is importable on Tencent."""
        result = check(member_event(Role="Admin", UnreadMsgNum=2))
        assert isinstance(result, ValidMemberImport)
        assert ("g-1", "leckie", ()) == (result.group_id, result.user_id, result.warnings)

    def test_the_record_key_must_equal_the_group(self):
        """A member keyed by another group could overtake its group: 10004."""
        result = check(member_event(), key="g-2")
        assert isinstance(result, Rejection)
        assert (10004, True) == (result.code, "does not equal group_id" in result.info)

    @pytest.mark.parametrize("role", ["Owner", "Member", "admin"])
    def test_roles_other_than_admin_are_refused(self, role: str):
        """import_group_member takes Role "Admin" or none: 10004 naming member.Role."""
        result = check(member_event(Role=role))
        assert isinstance(result, Rejection)
        assert (10004, True) == (result.code, "member.Role" in result.info)

    @pytest.mark.parametrize(
        ("join_time", "reason"),
        [(NOW + 5, "in the future"), (NOW, "is now"), (0, "not a time")],
    )
    def test_a_join_time_not_before_now_is_refused(self, join_time: int, reason: str):
        """JoinTime must be before now: 10004 naming member.JoinTime."""
        result = check(member_event(JoinTime=join_time))
        assert isinstance(result, Rejection)
        assert (10004, True, True) == (
            result.code,
            "member.JoinTime" in result.info,
            reason in result.info,
        )

    def test_a_negative_unread_count_is_refused(self):
        """UnreadMsgNum is a count: -1 is 10004."""
        result = check(member_event(UnreadMsgNum=-1))
        assert isinstance(result, Rejection)
        assert (10004, True) == (result.code, "member.UnreadMsgNum" in result.info)

    def test_zim_imports_the_member_and_warns_about_role_and_unread(self):
        """ZIM takes no role and no unread count: imported, both named in the warnings."""
        result = check(member_event(Role="Admin", UnreadMsgNum=4), rules=zim_rules())
        assert isinstance(result, ValidMemberImport)
        assert [True, True] == [
            "member.Role 'Admin' is not imported" in result.warnings[0],
            "member.UnreadMsgNum 4 is not imported" in result.warnings[1],
        ]

    def test_join_time_must_follow_the_groups_creation_once_known(self):
        """A JoinTime at or before the group's CreateTime is refused; unknown creation: no check."""
        rules = Rules()
        assert [True, None, None] == [
            join_time_problem(100, 100, rules) is not None,
            join_time_problem(101, 100, rules),
            join_time_problem(50, None, rules),
        ]


class TestUnreadRules:
    def test_a_valid_unread_count_is_importable(self):
        """group.member.unread with a member and a count is importable on Tencent."""
        result = check(unread_event(UnreadMsgNum=0))
        assert isinstance(result, ValidUnreadSet)
        assert ("g-1", "leckie", 0) == (result.group_id, result.user_id, result.member.UnreadMsgNum)

    def test_a_missing_count_is_refused(self):
        """UnreadMsgNum is required: 10004 naming it."""
        event = unread_event()
        del event["member"]["UnreadMsgNum"]  # type: ignore[attr-defined]
        result = check(event)
        assert isinstance(result, Rejection)
        assert (10004, True) == (result.code, "UnreadMsgNum" in result.info)

    def test_zim_refuses_every_unread_count_with_a_clear_reason(self):
        """ZIM has no unread-count import: failed before any call, code 2, saying so."""
        result = check(unread_event(), rules=zim_rules())
        assert isinstance(result, Rejection)
        assert (2, True) == (result.code, "ZIM has no API to set" in result.info)


class TestRecentContactFlag:
    def test_the_flag_travels_with_the_message(self):
        """recent_contact_flag 1 is kept for the call; absent is None (the setting decides)."""
        flagged = check({**message_event(), "recent_contact_flag": 1})
        plain = check(message_event())
        assert isinstance(flagged, ValidMessageImport)
        assert isinstance(plain, ValidMessageImport)
        assert (1, None) == (flagged.recent_contact_flag, plain.recent_contact_flag)

    def test_a_flag_other_than_0_or_1_is_refused(self):
        """RecentContactFlag is 0 or 1: 2 is 10004."""
        result = check({**message_event(), "recent_contact_flag": 2})
        assert isinstance(result, Rejection)
        assert (10004, "recent_contact_flag 2 is not 0 or 1") == (result.code, result.info)

    def test_zim_neither_checks_nor_keeps_the_flag(self):
        """ZIM has no such field: the flag is not sent, and not checked."""
        result = check({**message_event(), "recent_contact_flag": 7}, rules=zim_rules())
        assert isinstance(result, ValidMessageImport)
        assert result.recent_contact_flag is None
