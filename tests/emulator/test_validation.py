# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

from typing import Any

import pytest

from service.emulator import rules
from service.emulator.errors import ApiError
from service.emulator.validation import (
    parse_history,
    parse_import_group,
    parse_import_group_msg,
)

from .helpers import message


def refusal(parse: Any, payload: object) -> tuple[int, str]:
    """Return the code and ErrorInfo ``parse`` refuses ``payload`` with."""
    with pytest.raises(ApiError) as caught:
        parse(payload)
    return caught.value.code, caught.value.info


def group(**fields: Any) -> dict[str, Any]:
    """Build a valid import_group body with ``fields``."""
    return {"Type": "Public", "Name": "club", **fields}


class TestImportGroup:
    """import_group bodies against the documented limits."""

    def test_minimal_profile_is_accepted(self) -> None:
        """Type and Name are all import_group needs."""
        request = parse_import_group(group())
        expected = ("Public", "club", None, None)
        assert expected == (
            request.type,
            request.name,
            request.group_id,
            request.create_time,
        )

    @pytest.mark.parametrize(
        ("fields", "named"),
        [
            ({"Type": None}, "Type"),
            ({"Type": "Secret"}, "Type"),
            ({"Name": None}, "Name"),
            ({"Name": "n" * 31}, "Name"),
            ({"Name": "é" * 16}, "Name"),  # 32 bytes in UTF-8
            ({"Introduction": "i" * 241}, "Introduction"),
            ({"Notification": "n" * 301}, "Notification"),
            ({"FaceUrl": "f" * 101}, "FaceUrl"),
            ({"MaxMemberCount": 6_001}, "MaxMemberCount"),
            ({"MaxMemberCount": 0}, "MaxMemberCount"),
            ({"ApplyJoinOption": "Anyone"}, "ApplyJoinOption"),
            ({"CreateTime": "yesterday"}, "CreateTime"),
            ({"AppDefinedData": [{"Key": "k"}]}, "AppDefinedData[0].Value"),
            ({"SupportTopic": 1}, "SupportTopic"),
        ],
    )
    def test_documented_limits_are_10004_naming_the_field(
        self, fields: dict[str, Any], named: str
    ) -> None:
        """Each broken documented limit is ErrorCode 10004 with ErrorInfo naming the field."""
        code, info = refusal(parse_import_group, {**group(), **fields})
        expected = (rules.INVALID_PARAMETER, True)
        assert expected == (code, named in info)

    def test_limits_are_inclusive(self) -> None:
        """Exactly 30/240/300/100 bytes and 6,000 members are accepted."""
        request = parse_import_group(
            group(
                Name="n" * 30,
                Introduction="i" * 240,
                Notification="n" * 300,
                FaceUrl="f" * 100,
                MaxMemberCount=6_000,
            )
        )
        expected = "n" * 30
        assert expected == request.name

    def test_community_allows_100000_members(self) -> None:
        """A Community group may have up to 100,000 members."""
        request = parse_import_group(group(Type="Community", MaxMemberCount=100_000))
        expected = "Community"
        assert expected == request.type

    def test_community_ids_of_the_providers_form_are_accepted_for_community(self) -> None:
        """@TGS#_@TGS#... is how the provider names Community groups: allowed for them only."""
        community = parse_import_group(group(Type="Community", GroupId="@TGS#_@TGS#c4YHCIIM62CX"))
        code, _ = refusal(parse_import_group, group(GroupId="@TGS#_@TGS#c4YHCIIM62CX"))
        expected = ("@TGS#_@TGS#c4YHCIIM62CX", rules.INVALID_GROUP_ID)
        assert expected == (community.group_id, code)

    def test_apply_join_option_is_10004_for_community(self) -> None:
        """ApplyJoinOption "is not supported by community groups"."""
        code, info = refusal(
            parse_import_group, group(Type="Community", ApplyJoinOption="FreeAccess")
        )
        expected = (rules.INVALID_PARAMETER, True)
        assert expected == (code, "ApplyJoinOption" in info)

    def test_avchatroom_is_10007(self) -> None:
        """AVChatRoom does not support import_group: 10007."""
        expected = rules.NO_PERMISSION
        assert expected == refusal(parse_import_group, group(Type="AVChatRoom"))[0]

    @pytest.mark.parametrize("group_id", ["@TGS#mine", "g" * 49, ""])
    def test_bad_custom_group_id_is_10015(self, group_id: str) -> None:
        """A custom GroupId using the generated prefix, over 48 bytes or empty is 10015."""
        code, _ = refusal(parse_import_group, group(GroupId=group_id))
        expected = rules.INVALID_GROUP_ID
        assert expected == code

    def test_new_type_names_are_accepted(self) -> None:
        """Work and Meeting are the new names of Private and ChatRoom."""
        expected = ["Work", "Meeting"]
        assert expected == [parse_import_group(group(Type=t)).type for t in ("Work", "Meeting")]

    def test_body_that_is_not_an_object_is_10004(self) -> None:
        """A JSON array or string body is refused with 10004."""
        expected = rules.INVALID_PARAMETER
        assert expected == refusal(parse_import_group, [1, 2])[0]


class TestImportGroupMsg:
    """import_group_msg bodies: any bad entry refuses the whole call."""

    def test_eight_messages_are_10004(self) -> None:
        """At most seven messages per call; eight refuse the whole call with 10004."""
        code, info = refusal(
            parse_import_group_msg, {"GroupId": "g", "MsgList": [message(n) for n in range(8)]}
        )
        expected = (rules.INVALID_PARAMETER, True)
        assert expected == (code, "MsgList" in info)

    @pytest.mark.parametrize(
        ("entry", "named"),
        [
            ({"From_Account": None}, "MsgList[0].From_Account"),
            ({"From_Account": ""}, "MsgList[0].From_Account"),
            ({"SendTime": None}, "MsgList[0].SendTime"),
            ({"SendTime": "1620808101"}, "MsgList[0].SendTime"),
            ({"SendTime": True}, "MsgList[0].SendTime"),
            ({"Random": -1}, "MsgList[0].Random"),
            ({"Random": 4_294_967_296}, "MsgList[0].Random"),
            ({"MsgBody": []}, "MsgList[0].MsgBody"),
            ({"MsgBody": [{"MsgType": "TIMSoundElem", "MsgContent": {}}]}, "MsgType"),
            ({"MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": "hi"}]}, "MsgContent"),
        ],
    )
    def test_bad_entry_refuses_the_whole_call(self, entry: dict[str, Any], named: str) -> None:
        """A malformed MsgList entry is ErrorCode 10004 for the call, naming the field."""
        fields = {**message(1), **entry}
        payload = {"GroupId": "g", "MsgList": [{k: v for k, v in fields.items() if v is not None}]}
        code, info = refusal(parse_import_group_msg, payload)
        expected = (rules.INVALID_PARAMETER, True)
        assert expected == (code, named in info)

    def test_missing_group_id_is_10004(self) -> None:
        """GroupId is required."""
        code, info = refusal(parse_import_group_msg, {"MsgList": [message(1)]})
        expected = (rules.INVALID_PARAMETER, True)
        assert expected == (code, "GroupId" in info)

    def test_every_documented_element_type_is_accepted(self) -> None:
        """Text, face, location and custom elements may be imported."""
        body: list[dict[str, Any]] = [
            {"MsgType": t, "MsgContent": {}}
            for t in ("TIMTextElem", "TIMFaceElem", "TIMLocationElem", "TIMCustomElem")
        ]
        request = parse_import_group_msg(
            {"GroupId": "g", "MsgList": [message(1, MsgBody=body, Random=4_294_967_295)]}
        )
        expected = 4
        assert expected == len(request.messages[0].body)


class TestHistory:
    """group_msg_get_simple bodies."""

    @pytest.mark.parametrize("number", [0, 21, None])
    def test_req_msg_number_must_be_1_to_20(self, number: int | None) -> None:
        """ReqMsgNumber is required and at most 20."""
        payload = {"GroupId": "g"} if number is None else {"GroupId": "g", "ReqMsgNumber": number}
        code, info = refusal(parse_history, payload)
        expected = (rules.INVALID_PARAMETER, True)
        assert expected == (code, "ReqMsgNumber" in info)

    def test_optional_seq(self) -> None:
        """ReqMsgSeq bounds the page from above."""
        request = parse_history({"GroupId": "g", "ReqMsgNumber": 20, "ReqMsgSeq": 7})
        expected = (20, 7)
        assert expected == (request.number, request.max_seq)

    @pytest.mark.parametrize(("flag", "expected"), [(None, False), (0, False), (1, True)])
    def test_with_recalled_msg_is_0_or_1(self, flag: int | None, expected: bool) -> None:
        """WithRecalledMsg is optional; 1 asks for recalled messages."""
        payload: dict[str, Any] = {"GroupId": "g", "ReqMsgNumber": 20}
        if flag is not None:
            payload["WithRecalledMsg"] = flag
        assert expected == parse_history(payload).with_recalled

    def test_with_recalled_msg_of_2_is_10004(self) -> None:
        """Any other WithRecalledMsg is an invalid parameter naming the field."""
        code, info = refusal(
            parse_history, {"GroupId": "g", "ReqMsgNumber": 1, "WithRecalledMsg": 2}
        )
        assert (rules.INVALID_PARAMETER, True) == (code, "WithRecalledMsg" in info)
