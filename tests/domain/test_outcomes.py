# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
import hashlib
import json

from service.domain import outcomes
from service.domain.events import (
    Account,
    GroupMember,
    GroupProfile,
    InputRecord,
    MemberUnread,
    SourceRef,
    Status,
)
from service.domain.validation import (
    Envelope,
    Rejection,
    Rules,
    ValidAccountImport,
    ValidGroupImport,
    ValidMemberImport,
    ValidUnreadSet,
    decode_envelope,
    validate_event,
)

SOURCE = SourceRef(topic="groups", partition=0, offset=7)


class TestImported:
    def test_an_events_warnings_reach_the_imported_outcome(self):
        """A group imported without CreateTime says so in error_info, after any other note."""
        event = ValidGroupImport(
            "e", GroupProfile(GroupId="g", Type="Public", Name="n"), warnings=("no CreateTime",)
        )
        outcome = outcomes.imported(
            event, provider="tencent", source=SOURCE, attempts=1, info="already there"
        )
        assert (Status.IMPORTED, 0, "already there; no CreateTime") == (
            outcome.status,
            outcome.error_code,
            outcome.error_info,
        )


class TestStageOutcomes:
    def test_each_new_event_type_answers_with_its_result_type_and_names_the_user(self):
        """account.import, group.member.import, group.member.unread: <type>.result with user_id."""
        events: list[ValidAccountImport | ValidMemberImport | ValidUnreadSet] = [
            ValidAccountImport("a", Account(UserID="leckie")),
            ValidMemberImport("m", "g-1", GroupMember(Member_Account="peter")),
            ValidUnreadSet("u", "g-1", MemberUnread(Member_Account="peter", UnreadMsgNum=2)),
        ]
        made = [
            outcomes.imported(event, provider="tencent", source=SOURCE, attempts=1)
            for event in events
        ]
        assert [
            ("account.import.result", None, "leckie"),
            ("group.member.import.result", "g-1", "peter"),
            ("group.member.unread.result", "g-1", "peter"),
        ] == [(o.type, o.group_id, o.user_id) for o in made]

    def test_a_members_warnings_reach_its_imported_outcome(self):
        """A member whose role the provider does not take is imported, and the outcome says so."""
        event = ValidMemberImport(
            "m", "g-1", GroupMember(Member_Account="peter"), warnings=("Role not imported",)
        )
        outcome = outcomes.imported(event, provider="zego", source=SOURCE, attempts=1)
        assert (Status.IMPORTED, "Role not imported") == (outcome.status, outcome.error_info)

    def test_a_failed_account_names_the_account_and_no_group(self):
        """The failed outcome of an account carries its UserID, its code and no group."""
        event = ValidAccountImport("a", Account(UserID="leckie"))
        outcome = outcomes.failed(
            event, provider="tencent", source=SOURCE, attempts=1, code=70402, info="FailAccounts"
        )
        assert ("account.import.result", None, "leckie", 70402) == (
            outcome.type,
            outcome.group_id,
            outcome.user_id,
            outcome.error_code,
        )


def long_event(size: int) -> tuple[InputRecord, Envelope]:
    third = "x" * (size // 3)
    event = {
        "type": "group.message.import",
        "event_id": "e" + third,
        "group_id": "g" + third,
        "message": {
            "From_Account": "a",
            "SendTime": 1,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": third}}],
        },
    }
    raw = json.dumps(event).encode()
    record = InputRecord("messages", 0, 0, ("k" + third).encode(), raw)
    return record, decode_envelope(raw)


class TestBounds:
    def test_a_700_kb_event_gets_an_outcome_well_under_1_mb(self):
        """Key and group id repeated in error_info no longer make the outcome larger than its input."""
        record, envelope = long_event(700_000)
        rejection = validate_event(record, envelope, now=1_700_000_000, rules=Rules())
        assert isinstance(rejection, Rejection)
        outcome = outcomes.rejected(rejection, provider="tencent", source=record.source)
        size = len(outcome.model_dump_json().encode())  # what the outcome publisher sends
        assert (True, True) == (size < 16_000, len(record.value or b"") > 700_000)

    def test_long_ids_are_cut_with_a_digest_of_the_whole(self):
        """Over 1,024 characters: the first 1,000, '…', 16 hex digits of the SHA-256 of it all."""
        long_id = "a" * 5_000
        bounded = outcomes.bounded_id(long_id)
        digest = hashlib.sha256(long_id.encode()).hexdigest()[:16]
        assert ("a" * 1_000 + "…" + digest, "short", True) == (
            bounded,
            outcomes.bounded_id("short"),
            outcomes.bounded_id("a" * 4_999 + "b") != bounded,
        )

    def test_error_info_is_cut_to_its_maximum(self):
        """error_info holds at most 2,000 characters, the last one an ellipsis when cut."""
        event = ValidGroupImport("e", GroupProfile(GroupId="g", Type="Public", Name="n"))
        outcome = outcomes.failed(
            event, provider="tencent", source=SOURCE, attempts=1, code=10004, info="i" * 50_000
        )
        assert (2_000, "…") == (len(outcome.error_info), outcome.error_info[-1])

    def test_imported_and_failed_outcomes_bound_their_ids(self):
        """Every kind of outcome carries bounded ids, whatever the event held."""
        group_id = "g" * 3_000
        event = ValidGroupImport(
            "e" * 3_000, GroupProfile(GroupId=group_id, Type="Public", Name="n", CreateTime=1)
        )
        made = [
            outcomes.imported(event, provider="tencent", source=SOURCE, attempts=1),
            outcomes.failed(
                event, provider="tencent", source=SOURCE, attempts=1, code=1, info="no"
            ),
        ]
        assert [(1_017, 1_017)] * 2 == [(len(o.event_id), len(o.group_id or "")) for o in made]
