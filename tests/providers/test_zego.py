# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from service.domain.events import Account, GroupMember, GroupMessage, GroupProfile, InputRecord
from service.domain.recovery import HistoryIndex, Verdict, match_pending
from service.domain.retry_policy import ErrorClass
from service.domain.validation import (
    Rejection,
    Rules,
    ValidGroupImport,
    ValidMessageImport,
    decode_envelope,
    validate_event,
)
from service.errors import (
    AmbiguousProviderError,
    ConfigurationError,
    PermanentProviderError,
    ProviderError,
    RetryableProviderError,
)
from service.providers.base import ApiNames
from service.providers.factory import build_provider
from service.providers.zego import ZegoProvider, classify, cut_utf8
from service.providers.zego_sign import verify_signature
from service.settings import ProviderName, Settings, ZegoSettings

APP_ID = 1_234_567_890
SECRET = "zego-server-secret-for-tests-0001"
BASE_URL = "https://zim-api.zego.im"

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that records requests and answers from a script."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def body(self, index: int = -1) -> dict[str, Any]:
        return dict(json.loads(self.requests[index].content))

    def query(self, index: int = -1) -> dict[str, str]:
        return dict(self.requests[index].url.params)


def provider(handler: Handler) -> ZegoProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return ZegoProvider(client, base_url=BASE_URL, app_id=APP_ID, server_secret=SECRET)


def ok(**fields: object) -> httpx.Response:
    return httpx.Response(200, json={"Code": 0, "Message": "success", "RequestId": "1", **fields})


def fail(code: int, message: str = "no") -> httpx.Response:
    return httpx.Response(200, json={"Code": code, "Message": message, "RequestId": "2"})


def element(kind: str, **content: object) -> dict[str, Any]:
    return {"MsgType": kind, "MsgContent": content}


def message(
    *elements: dict[str, Any], sender: str = "leckie", send_time: int = 1_620_808_101
) -> GroupMessage:
    body = list(elements) or [element("TIMTextElem", Text="hello")]
    return GroupMessage.model_validate(
        {"From_Account": sender, "SendTime": send_time, "Random": 7, "MsgBody": body}
    )


def group(**fields: object) -> GroupProfile:
    base: dict[str, object] = {
        "GroupId": "g-1001",
        "Type": "Public",
        "Name": "Hiking club",
        "Owner_Account": "leckie",
    }
    return GroupProfile.model_validate({**base, **fields})


class TestRequests:
    async def test_calls_post_to_the_root_with_action_and_a_verifiable_signature(self) -> None:
        """POST {base}/?Action=...; AppId, SignatureNonce, Timestamp, Signature, SignatureVersion."""
        recorder = Recorder(ok(MsgSeq=1))
        await provider(recorder).import_messages("g-1001", None, [message()])
        request = recorder.requests[0]
        query = recorder.query()
        assert ("POST", "zim-api.zego.im", "/", "ImportGroupMsg") == (
            request.method,
            request.url.host,
            request.url.path,
            query["Action"],
        )
        assert ("1234567890", "2.0") == (query["AppId"], query["SignatureVersion"])
        now = float(query["Timestamp"])
        assert verify_signature(query, app_id=APP_ID, server_secret=SECRET, now=now) is None

    async def test_every_call_is_signed_afresh(self) -> None:
        """Each call carries its own nonce (and so its own signature)."""
        recorder = Recorder(ok(MsgSeq=1))
        zego = provider(recorder)
        for _ in range(3):
            await zego.import_messages("g-1001", None, [message()])
        assert 3 == len({recorder.query(i)["SignatureNonce"] for i in range(3)})
        assert 3 == len({recorder.query(i)["Signature"] for i in range(3)})

    async def test_the_secret_is_never_sent(self) -> None:
        """The server secret appears nowhere in the request."""
        recorder = Recorder(ok(MsgSeq=1))
        await provider(recorder).import_messages("g-1001", None, [message()])
        request = recorder.requests[0]
        assert SECRET not in str(request.url)
        assert SECRET.encode() not in request.content

    def test_one_message_per_call(self) -> None:
        """ZIM's ImportGroupMsg takes one message, so the engine sends one per call."""
        assert (1, "zego") == (
            provider(Recorder(ok())).messages_per_call,
            provider(Recorder(ok())).name,
        )

    async def test_more_than_one_message_is_a_programming_error(self) -> None:
        """A batch of two is refused before any call."""
        recorder = Recorder(ok(MsgSeq=1))
        with pytest.raises(ValueError, match="one message per call"):
            await provider(recorder).import_messages("g", None, [message(), message()])
        assert [] == recorder.requests

    def test_factory_builds_the_zego_adapter(self) -> None:
        """provider=zego builds a ZegoProvider from ZegoSettings."""
        settings = Settings(
            provider=ProviderName.ZEGO,
            zego=ZegoSettings(base_url=BASE_URL, app_id=APP_ID, server_secret=SecretStr(SECRET)),
        )
        built = build_provider(settings, httpx.AsyncClient())
        assert isinstance(built, ZegoProvider)
        assert SECRET not in repr(built)


class TestMessageMapping:
    async def test_text_element_is_a_zim_text_message(self) -> None:
        """TIMTextElem -> MessageType 1, MessageBody.Message = Text, ms send time, priority 2."""
        recorder = Recorder(ok(MsgSeq=17))
        results = await provider(recorder).import_messages("g-1001", None, [message()])
        assert {
            "FromUserId": "leckie",
            "GroupId": "g-1001",
            "MessageType": 1,
            "Priority": 2,
            "MessageBody": {"Message": "hello"},
            "SendMessageTime": 1_620_808_101_000,
        } == recorder.body()
        assert [(0, 17, 1_620_808_101)] == [(r.code, r.msg_seq, r.msg_time) for r in results]

    async def test_custom_element_is_a_zim_custom_message(self) -> None:
        """TIMCustomElem -> 200, SubMsgType 0, Data as Message, Ext as ExtendedData, Desc searched."""
        recorder = Recorder(ok(MsgSeq=1))
        custom = element(
            "TIMCustomElem", Data='{"gift":1}', Desc="a gift", Ext="x=1", Sound="ding.mp3"
        )
        await provider(recorder).import_messages("g", None, [message(custom)])
        body = recorder.body()
        assert (200, 0, "a gift", {"Message": '{"gift":1}', "ExtendedData": "x=1"}) == (
            body["MessageType"],
            body["SubMsgType"],
            body["SearchedContent"],
            body["MessageBody"],
        )
        assert "ding.mp3" not in json.dumps(body)

    async def test_custom_element_without_desc_or_ext_sends_empty_searched_content(self) -> None:
        """No Desc: SearchedContent is ""; no Ext: no ExtendedData."""
        recorder = Recorder(ok(MsgSeq=1))
        await provider(recorder).import_messages(
            "g", None, [message(element("TIMCustomElem", Data="d"))]
        )
        body = recorder.body()
        assert ("", {"Message": "d"}) == (body["SearchedContent"], body["MessageBody"])

    async def test_long_desc_is_cut_to_sixty_four_bytes_at_a_character_boundary(self) -> None:
        """SearchedContent holds at most 64 UTF-8 bytes and never half a character."""
        recorder = Recorder(ok(MsgSeq=1))
        desc = "旅" * 30  # 90 bytes
        await provider(recorder).import_messages(
            "g", None, [message(element("TIMCustomElem", Data="d", Desc=desc))]
        )
        searched = recorder.body()["SearchedContent"]
        assert ("旅" * 21, 63) == (searched, len(searched.encode()))

    def test_cut_utf8_keeps_short_text_whole(self) -> None:
        """Text within the limit is unchanged."""
        assert "abc" == cut_utf8("abc", 64)

    @pytest.mark.parametrize(
        ("body", "named"),
        [
            ([element("TIMFaceElem", Index=1, Data="smile")], "TIMFaceElem"),
            (
                [element("TIMLocationElem", Desc="here", Latitude=1.5, Longitude=2.5)],
                "TIMLocationElem",
            ),
            (
                [element("TIMTextElem", Text="a"), element("TIMFaceElem", Index=1)],
                "TIMTextElem, TIMFaceElem",
            ),
        ],
    )
    def test_elements_without_a_zim_equivalent_are_refused_naming_them(
        self, body: list[dict[str, Any]], named: str
    ) -> None:
        """Face, location and multi-element bodies: code 2 and a reason naming the element(s)."""
        refusal = provider(Recorder(ok())).check_element_support(message(*body))
        assert refusal is not None
        assert (2, True) == (refusal[0], named in refusal[1])

    def test_supported_messages_pass_the_check(self) -> None:
        """Text and custom messages are accepted by check_element_support."""
        zego = provider(Recorder(ok()))
        assert (None, None) == (
            zego.check_element_support(message()),
            zego.check_element_support(message(element("TIMCustomElem", Data="d"))),
        )

    async def test_unsupported_element_fails_without_a_call(self) -> None:
        """Should it reach import_messages, a face element is refused (code 2) with no request."""
        recorder = Recorder(ok(MsgSeq=1))
        with pytest.raises(PermanentProviderError) as caught:
            await provider(recorder).import_messages(
                "g", None, [message(element("TIMFaceElem", Index=1))]
            )
        assert (2, True, []) == (
            caught.value.code,
            "TIMFaceElem" in caught.value.info,
            recorder.requests,
        )

    @pytest.mark.parametrize(
        ("msg", "code", "named"),
        [
            (message(element("TIMCustomElem", Data="d", Ext="e" * 1025)), 660400001, "Ext"),
            (message(element("TIMTextElem", Text="t" * (32 * 1024 + 1))), 660400001, "bytes"),
            (message(sender="bad/user"), 2, "From_Account"),
            (message(element("TIMCustomElem", Data="d", Desc=5)), 2, "Desc"),
        ],
    )
    def test_what_zim_can_never_hold_is_refused_by_the_service(
        self, msg: GroupMessage, code: int, named: str
    ) -> None:
        """Ext over 1 KB or a message over 32 KB: 660400001; an illegal user ID character: 2."""
        refusal = provider(Recorder(ok())).check_element_support(msg)
        assert refusal is not None
        assert (code, True) == (refusal[0], named in refusal[1])

    async def test_a_topic_is_refused(self) -> None:
        """ZIM groups have no topics: code 2, no call."""
        recorder = Recorder(ok(MsgSeq=1))
        with pytest.raises(PermanentProviderError) as caught:
            await provider(recorder).import_messages("g", "topic-1", [message()])
        assert (2, []) == (caught.value.code, recorder.requests)


class TestErrors:
    @pytest.mark.parametrize(
        ("code", "error_type", "error_class"),
        [
            (1, RetryableProviderError, ErrorClass.RETRY),
            (2, PermanentProviderError, ErrorClass.PERMANENT),
            (3, ConfigurationError, ErrorClass.CONFIGURATION),
            (7, RetryableProviderError, ErrorClass.THROTTLED),
            (660300005, RetryableProviderError, ErrorClass.THROTTLED),
            (660400001, PermanentProviderError, ErrorClass.PERMANENT),
            (660500002, PermanentProviderError, ErrorClass.ACCOUNT_MISSING),
            (660600001, PermanentProviderError, ErrorClass.GROUP_MISSING),
            (100000004, RetryableProviderError, ErrorClass.RESIGN),
            (100000005, ConfigurationError, ErrorClass.CONFIGURATION),
            (123456, PermanentProviderError, ErrorClass.PERMANENT),
        ],
    )
    async def test_codes_map_to_their_class(
        self, code: int, error_type: type[ProviderError], error_class: ErrorClass
    ) -> None:
        """Each documented code raises the error type and class the table gives it."""
        with pytest.raises(ProviderError) as caught:
            await provider(Recorder(fail(code))).import_messages("g", None, [message()])
        assert (error_type, error_class, code) == (
            type(caught.value),
            caught.value.error_class,
            caught.value.code,
        )
        assert error_class == classify(code)

    async def test_unregistered_sender_names_the_sender(self) -> None:
        """660500002: the outcome says which sender is not registered with ZIM."""
        with pytest.raises(PermanentProviderError) as caught:
            await provider(Recorder(fail(660500002, "user not login"))).import_messages(
                "g", None, [message(sender="ghost")]
            )
        info = caught.value.info
        assert (True, True, True) == (
            "'ghost'" in info,
            "not registered" in info,
            "660500002" in info,
        )

    def test_an_unregistered_user_waits_for_the_accounts_import(self) -> None:
        """660500002 is an account that does not exist yet: wait while accounts are imported."""
        assert ErrorClass.ACCOUNT_MISSING == classify(660500002)

    async def test_missing_group_names_the_group(self) -> None:
        """660600001: the group is named, and the engine waits for it (GROUP_MISSING)."""
        with pytest.raises(PermanentProviderError) as caught:
            await provider(Recorder(fail(660600001))).import_messages("g-404", None, [message()])
        assert "'g-404' does not exist" in caught.value.info

    @pytest.mark.parametrize("status", [500, 502, 503])
    async def test_http_5xx_is_ambiguous(self, status: int) -> None:
        """A 5xx answer may follow an applied call: AmbiguousProviderError."""
        with pytest.raises(AmbiguousProviderError):
            await provider(Recorder(httpx.Response(status))).import_messages("g", None, [message()])

    @pytest.mark.parametrize(
        "exc",
        [
            httpx.ConnectError("refused"),
            httpx.ReadTimeout("slow"),
            httpx.RemoteProtocolError("reset"),
        ],
    )
    async def test_transport_errors_are_ambiguous_and_carry_no_url(self, exc: Exception) -> None:
        """Timeouts and broken connections are ambiguous; the error names no URL or signature."""

        def handler(request: httpx.Request) -> httpx.Response:
            raise exc

        with pytest.raises(AmbiguousProviderError) as caught:
            await provider(handler).import_messages("g", None, [message()])
        assert ("http" not in str(caught.value), "Signature" not in str(caught.value)) == (
            True,
            True,
        )

    async def test_http_404_is_a_configuration_error(self) -> None:
        """Another non-200 status means a wrong base URL: ConfigurationError."""
        with pytest.raises(ConfigurationError):
            await provider(Recorder(httpx.Response(404))).import_messages("g", None, [message()])

    @pytest.mark.parametrize(
        "response",
        [
            httpx.Response(200, content=b"<html>"),
            httpx.Response(200, json=[1]),
            httpx.Response(200, json={"Message": "?"}),
        ],
    )
    async def test_unreadable_answers_are_ambiguous(self, response: httpx.Response) -> None:
        """Not JSON, not an object, no Code: the call may have been applied."""
        with pytest.raises(AmbiguousProviderError):
            await provider(Recorder(response)).import_messages("g", None, [message()])

    async def test_success_without_msg_seq_is_ambiguous(self) -> None:
        """Code 0 but no MsgSeq: the message may be stored, so the engine checks history."""
        with pytest.raises(AmbiguousProviderError):
            await provider(Recorder(ok())).import_messages("g", None, [message()])

    async def test_errors_never_carry_the_secret(self) -> None:
        """Even an authentication failure's text holds no secret and no signature."""
        recorder = Recorder(fail(100000005, "signature error"))
        with pytest.raises(ConfigurationError) as caught:
            await provider(recorder).import_messages("g", None, [message()])
        assert SECRET not in str(caught.value)
        assert recorder.query()["Signature"] not in str(caught.value)


class TestGroups:
    async def test_profile_maps_to_create_group(self) -> None:
        """GroupId, Name, Owner, Notification, FaceUrl, CreateTime (ms), AppDefinedData as Attributes."""
        recorder = Recorder(ok())
        profile = group(
            Notification="meet at 9",
            FaceUrl="https://example.com/a.png",
            CreateTime=1_448_357_837,
            Introduction="not sent",
            AppDefinedData=[{"Key": "k", "Value": "v"}],
        )
        result = await provider(recorder).import_group(profile)
        assert "CreateGroup" == recorder.query()["Action"]
        assert {
            "GroupId": "g-1001",
            "GroupName": "Hiking club",
            "GroupOwner": "leckie",
            "GroupNotice": "meet at 9",
            "GroupAvatar": "https://example.com/a.png",
            "CreateGroupTime": 1_448_357_837_000,
            "Attributes": [{"Key": "k", "Value": "v"}],
        } == recorder.body()
        assert ("g-1001", False) == (result.group_id, result.already_existed)

    async def test_existing_group_counts_as_imported(self) -> None:
        """660600011: the group was created before (a crash): already_existed."""
        result = await provider(Recorder(fail(660600011))).import_group(group())
        assert ("g-1001", True) == (result.group_id, result.already_existed)

    @pytest.mark.parametrize(
        ("fields", "named"),
        [
            ({"Owner_Account": None}, "Owner_Account"),
            ({"GroupId": "g" * 33}, "GroupId"),
            ({"GroupId": "#g"}, "GroupId"),
            ({"GroupId": "g/1"}, "GroupId"),
            ({"Name": "n" * 51}, "Name"),
            ({"Notification": "n" * 301}, "Notification"),
            ({"FaceUrl": "f" * 501}, "FaceUrl"),
            (
                {"AppDefinedData": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]},
                "AppDefinedData",
            ),
            ({"AppDefinedData": [{"Key": "k" * 17, "Value": "v"}]}, "AppDefinedData[0].Key"),
            ({"AppDefinedData": [{"Key": "k", "Value": "v" * 1025}]}, "AppDefinedData[0].Value"),
        ],
    )
    async def test_profiles_zim_cannot_hold_fail_without_a_call(
        self, fields: dict[str, Any], named: str
    ) -> None:
        """A missing owner or a broken ZIM limit: code 2 naming the field, no request."""
        recorder = Recorder(ok())
        with pytest.raises(PermanentProviderError) as caught:
            await provider(recorder).import_group(group(**fields))
        assert (2, True, []) == (caught.value.code, named in caught.value.info, recorder.requests)


def entry(seq: int, *, sender: str = "leckie", time_ms: int, text: str) -> dict[str, Any]:
    return {
        "Sender": sender,
        "MsgType": 1,
        "SubMsgType": 0,
        "MsgBody": text,
        "MsgSeq": seq,
        "MsgTime": time_ms,
        "IsEmpty": False,
    }


class TestHistory:
    async def test_pages_follow_the_next_cursor_until_it_is_zero(self) -> None:
        """First call Next 0; asking below the page's lowest seq sends the returned Next."""
        recorder = Recorder(
            ok(
                Next=9001, List=[entry(5, time_ms=5000, text="5"), entry(4, time_ms=4000, text="4")]
            ),
            ok(
                Next=0,
                List=[
                    entry(3, time_ms=3000, text="3"),
                    entry(2, time_ms=2000, text="2"),
                    entry(1, time_ms=1000, text="1"),
                ],
            ),
        )
        zego = provider(recorder)
        first = await zego.history("g", None, before_seq=None, limit=2)
        second = await zego.history("g", None, before_seq=3, limit=2)
        assert [("QueryGroupMsg", 0, 2, 1), ("QueryGroupMsg", 9001, 2, 1)] == [
            (
                recorder.query(i)["Action"],
                recorder.body(i)["Next"],
                recorder.body(i)["Limit"],
                recorder.body(i)["WithEmptyMsg"],
            )
            for i in range(2)
        ]
        assert ([5, 4], False) == ([e.msg_seq for e in first.entries], first.finished)
        assert ([3, 2, 1], True) == ([e.msg_seq for e in second.entries], second.finished)

    async def test_limit_is_capped_at_one_hundred(self) -> None:
        """ZIM's Limit is 1-100."""
        recorder = Recorder(ok(Next=0, List=[]))
        await provider(recorder).history("g", None, before_seq=None, limit=500)
        assert 100 == recorder.body()["Limit"]

    async def test_unknown_before_seq_starts_from_the_newest_and_filters(self) -> None:
        """Without a cursor for before_seq, the newest page is read and newer entries dropped."""
        recorder = Recorder(
            ok(
                Next=77,
                List=[
                    entry(5, time_ms=5000, text="5"),
                    entry(4, time_ms=4000, text="4"),
                    entry(3, time_ms=3000, text="3"),
                ],
            )
        )
        page = await provider(recorder).history("g", None, before_seq=4, limit=20)
        assert (0, [4, 3]) == (recorder.body()["Next"], [e.msg_seq for e in page.entries])

    async def test_entries_carry_seconds_and_a_fingerprint_matching_recovery_key(self) -> None:
        """send_time = MsgTime // 1000, and the pending message is found in the history."""
        pending = message(element("TIMTextElem", Text="hello"), send_time=1_620_808_101)
        recorder = Recorder(ok(Next=0, List=[entry(9, time_ms=1_620_808_101_000, text="hello")]))
        zego = provider(recorder)
        page = await zego.history("g", None, before_seq=None, limit=20)
        index = HistoryIndex()
        index.add_page(page.entries, finished=page.finished)
        verdict, found = index.judge(zego.recovery_key(pending, 7))
        assert (Verdict.PRESENT, 9, 1_620_808_101) == (
            verdict,
            found.msg_seq if found else None,
            found.msg_time if found else None,
        )

    async def test_another_body_at_the_same_second_does_not_match(self) -> None:
        """The fingerprint covers the content: another text from the same sender is absent."""
        recorder = Recorder(ok(Next=0, List=[entry(9, time_ms=1_620_808_101_000, text="other")]))
        zego = provider(recorder)
        page = await zego.history("g", None, before_seq=None, limit=20)
        index = HistoryIndex()
        index.add_page(page.entries, finished=page.finished)
        verdict, _ = index.judge(zego.recovery_key(message(send_time=1_620_808_101), 7))
        assert Verdict.ABSENT == verdict

    async def test_custom_message_fingerprint_matches_an_object_body(self) -> None:
        """A MsgBody given as an object is read for its Message."""
        pending = message(element("TIMCustomElem", Data="d1", Desc="x"), send_time=1_000)
        item = {
            **entry(1, time_ms=1_000_500, text=""),
            "MsgType": 200,
            "MsgBody": {"Message": "d1"},
        }
        zego = provider(Recorder(ok(Next=0, List=[item])))
        page = await zego.history("g", None, before_seq=None, limit=20)
        assert zego.recovery_key(pending, 0).random == page.entries[0].random

    async def test_missing_group_is_reported_not_raised(self) -> None:
        """660600001 on history: group_exists False."""
        page = await provider(Recorder(fail(660600001))).history(
            "g", None, before_seq=None, limit=20
        )
        assert ((), True, False) == (page.entries, page.finished, page.group_exists)

    async def test_empty_messages_are_placeholders(self) -> None:
        """IsEmpty entries come back as placeholders."""
        item = {**entry(1, time_ms=1000, text=""), "IsEmpty": True}
        page = await provider(Recorder(ok(Next=0, List=[item]))).history(
            "g", None, before_seq=None, limit=20
        )
        assert 1 == page.entries[0].placeholder


NOW = 1_700_000_000
DAY = 86_400


def validate(event: dict[str, Any], rules: Rules, *, key: str = "g-1001", now: int = NOW):
    raw = json.dumps(event).encode()
    record = InputRecord("t", 0, 0, key.encode(), raw)
    return validate_event(record, decode_envelope(raw), now=now, rules=rules)


def group_import(**fields: object) -> dict[str, Any]:
    profile = {"GroupId": "g-1001", "Type": "Public", "Name": "Hiking club", "Owner_Account": "o"}
    return {"type": "group.import", "event_id": "e", "group": {**profile, **fields}}


def message_import(text: str = "hi", send_time: int = NOW - 60, **fields: object) -> dict[str, Any]:
    return {
        "type": "group.message.import",
        "event_id": "m",
        "group_id": "g-1001",
        "message": {
            "From_Account": "leckie",
            "SendTime": send_time,
            "MsgBody": [element("TIMTextElem", Text=text)],
        },
        **fields,
    }


class TestRules:
    """Events on the ZIM path are validated with ZIM's limits and codes, not Tencent's."""

    rules = provider(Recorder(ok())).rules

    def test_a_message_of_20_kb_is_valid(self) -> None:
        """Tencent's 12,000 bytes (80002) do not apply: ZIM takes up to 32 KB."""
        assert isinstance(validate(message_import("x" * 20_000), self.rules), ValidMessageImport)

    def test_a_50_byte_name_is_valid_and_51_bytes_is_code_2(self) -> None:
        """GroupName holds 50 bytes (Tencent's Name 30); over it the refusal carries code 2."""
        accepted = validate(group_import(Name="n" * 50), self.rules)
        refused = validate(group_import(Name="n" * 51), self.rules)
        assert (True, 2, True) == (
            isinstance(accepted, ValidGroupImport),
            refused.code if isinstance(refused, Rejection) else None,
            isinstance(refused, Rejection) and "group.Name" in refused.info,
        )

    def test_fields_zim_does_not_hold_are_not_checked(self) -> None:
        """MaxMemberCount, ApplyJoinOption and Introduction are not sent to ZIM."""
        event = group_import(
            MaxMemberCount=50_000, ApplyJoinOption="Anyone", Introduction="i" * 999
        )
        assert isinstance(validate(event, self.rules), ValidGroupImport)

    @pytest.mark.parametrize(
        ("fields", "named"),
        [
            ({"Owner_Account": None}, "Owner_Account"),
            ({"GroupId": "g" * 33}, "GroupId"),
            ({"GroupId": "#g"}, "GroupId"),
            ({"GroupId": "g/1"}, "GroupId"),
            ({"FaceUrl": "u" * 501}, "FaceUrl"),
            ({"AppDefinedData": [{"Key": "k" * 17, "Value": "v"}]}, "AppDefinedData[0].Key"),
        ],
    )
    def test_zim_group_limits_are_code_2_before_any_call(self, fields, named) -> None:
        """What CreateGroup cannot take is refused while validating (detected_by service)."""
        event = group_import(**fields)
        key = str(event["group"]["GroupId"])
        result = validate(event, self.rules, key=key)
        assert (2, True) == (
            result.code if isinstance(result, Rejection) else None,
            isinstance(result, Rejection) and named in result.info,
        )

    def test_a_topic_is_code_2_while_validating(self) -> None:
        """ZIM groups have no topics."""
        result = validate(message_import(topic_id="t"), self.rules)
        assert (2, True) == (
            result.code if isinstance(result, Rejection) else None,
            isinstance(result, Rejection) and "topic_id" in result.info,
        )

    def test_a_send_time_equal_to_now_is_valid(self) -> None:
        """ZIM refuses only times later than now."""
        assert isinstance(validate(message_import(send_time=NOW), self.rules), ValidMessageImport)

    def test_a_send_time_older_than_the_retention_is_code_2_naming_the_setting(self) -> None:
        """SendMessageTime no earlier than now minus the retention days (30 by default)."""
        inside = validate(message_import(send_time=NOW - 30 * DAY), self.rules)
        outside = validate(message_import(send_time=NOW - 30 * DAY - 1), self.rules)
        assert (True, 2, True) == (
            isinstance(inside, ValidMessageImport),
            outside.code if isinstance(outside, Rejection) else None,
            isinstance(outside, Rejection) and "CHAT_IMPORT_ZEGO__RETENTION_DAYS" in outside.info,
        )

    def test_the_retention_is_a_setting(self) -> None:
        """CHAT_IMPORT_ZEGO__RETENTION_DAYS reaches the adapter's rules."""
        settings = Settings(
            provider=ProviderName.ZEGO,
            zego=ZegoSettings(
                base_url=BASE_URL, app_id=APP_ID, server_secret=SecretStr(SECRET), retention_days=90
            ),
        )
        built = build_provider(settings, httpx.AsyncClient())
        assert (90 * DAY, 30) == (built.rules.retention_seconds, ZegoSettings().retention_days)

    def test_api_names_are_zims(self) -> None:
        """Metric labels and budget keys use ZIM's own API names."""
        assert ApiNames(
            "CreateGroup",
            "ImportGroupMsg",
            "QueryGroupMsg",
            import_accounts="UserRegister",
            import_members="InviteUsersIntoGroup",
            set_unread="-",
            members="QueryGroupMemberList",
        ) == (provider(Recorder(ok())).api_names)


class TestAnswers:
    """Every answer's RequestId is kept; an answer that cannot be read is ambiguous."""

    async def test_a_refusal_carries_the_request_id(self) -> None:
        """The error (so the log line and the failed outcome) names ZIM's RequestId."""
        answer = httpx.Response(
            200, json={"Code": 660500002, "Message": "not logged in", "RequestId": "343649807"}
        )
        with pytest.raises(PermanentProviderError) as caught:
            await provider(Recorder(answer)).import_messages("g", None, [message()])
        assert ("343649807", True) == (
            caught.value.request_id,
            "RequestId 343649807" in caught.value.info,
        )

    async def test_an_unusable_success_carries_the_request_id(self) -> None:
        """Code 0 without MsgSeq is ambiguous, and still says which request it was."""
        with pytest.raises(AmbiguousProviderError) as caught:
            await provider(Recorder(ok())).import_messages("g", None, [message()])
        assert ("1", True) == (caught.value.request_id, "RequestId 1" in caught.value.info)

    @pytest.mark.parametrize(
        "body",
        [
            {"Message": "?", "RequestId": "9"},
            {"Code": "0", "MsgSeq": 1, "RequestId": "9"},
            {"Code": True, "MsgSeq": 1, "RequestId": "9"},
            {"Code": 0, "MsgSeq": 0, "RequestId": "9"},
            {"Code": 0, "MsgSeq": "5", "RequestId": "9"},
        ],
    )
    async def test_an_unreadable_answer_is_ambiguous(self, body) -> None:
        """No integer Code, or a success without a usable MsgSeq: the message may be stored."""
        with pytest.raises(AmbiguousProviderError) as caught:
            await provider(Recorder(httpx.Response(200, json=body))).import_messages(
                "g", None, [message()]
            )
        assert ErrorClass.AMBIGUOUS == caught.value.error_class

    @pytest.mark.parametrize(
        "listing",
        [
            ["an entry"],
            [{"Sender": "a", "MsgType": 1, "MsgBody": "x", "MsgTime": 1000}],
            [{"Sender": "a", "MsgType": 1, "MsgBody": "x", "MsgSeq": 1, "MsgTime": "soon"}],
            [{"Sender": "a", "MsgType": "text", "MsgBody": "x", "MsgSeq": 1, "MsgTime": 1000}],
            {"MsgSeq": 1},
        ],
    )
    async def test_an_unreadable_history_page_is_ambiguous(self, listing) -> None:
        """A history page that cannot be read is an error to retry, never a shorter history."""
        with pytest.raises(AmbiguousProviderError):
            await provider(Recorder(ok(Next=0, List=listing))).history(
                "g", None, before_seq=None, limit=20
            )


class TestRecoveryOfIdenticalMessages:
    async def test_only_the_first_of_two_identical_messages_is_present(self) -> None:
        """Same sender, second and text: one copy in ZIM's history matches one pending message."""
        same = message(element("TIMTextElem", Text="ok"), send_time=1_620_808_101)
        recorder = Recorder(ok(Next=0, List=[entry(9, time_ms=1_620_808_101_400, text="ok")]))
        zego = provider(recorder)
        page = await zego.history("g", None, before_seq=None, limit=20)
        index = HistoryIndex()
        index.add_page(page.entries, finished=page.finished)
        key = zego.recovery_key(same, 0)
        matching = match_pending([key, key], index)
        assert [(Verdict.PRESENT, 9), (Verdict.ABSENT, None)] == [
            (m.verdict, m.entry.msg_seq if m.entry else None) for m in matching.matches
        ]


class TestUsersAndMembers:
    async def test_user_register_maps_accounts_and_reads_the_error_list(self) -> None:
        """UserId/UserName/UserAvatar out; the one user in ErrorList fails with its SubCode."""
        recorder = Recorder(ok(ErrorList=[{"UserId": "u2", "SubCode": 660700001}]))
        accounts = [
            Account(UserID="u1", Nick="One", FaceUrl="https://a/1.png"),
            Account(UserID="u2"),
        ]
        results = await provider(recorder).import_accounts(accounts)
        assert (
            "UserRegister",
            {
                "UserInfo": [
                    {"UserId": "u1", "UserName": "One", "UserAvatar": "https://a/1.png"},
                    {"UserId": "u2"},
                ]
            },
            [0, 660700001],
        ) == (recorder.query()["Action"], recorder.body(), [r.code for r in results])

    async def test_invite_users_sends_enter_times_in_ms_in_the_owners_name(self) -> None:
        """GroupMemberInfos with EnterGroupTime = JoinTime * 1000; FromUserId is the owner."""
        recorder = Recorder(ok())
        members = [
            GroupMember(Member_Account="a", JoinTime=1_600_000_000, Role="Admin"),
            GroupMember(Member_Account="b"),
        ]
        results = await provider(recorder).import_members("g", members, inviter="owner")
        assert (
            "InviteUsersIntoGroup",
            {
                "FromUserId": "owner",
                "GroupId": "g",
                "GroupMemberInfos": [
                    {"UserId": "a", "EnterGroupTime": 1_600_000_000_000},
                    {"UserId": "b"},
                ],
            },
            [0, 0],
        ) == (recorder.query()["Action"], recorder.body(), [r.code for r in results])

    async def test_without_a_known_owner_the_first_member_invites(self) -> None:
        """The group's owner is not known here: the first invited member is the FromUserId."""
        recorder = Recorder(ok())
        await provider(recorder).import_members("g", [GroupMember(Member_Account="a")])
        assert "a" == recorder.body()["FromUserId"]

    async def test_unread_counts_are_refused_without_a_call(self) -> None:
        """ZIM has no unread-count API: code 2, no request."""
        recorder = Recorder(ok())
        with pytest.raises(PermanentProviderError) as caught:
            await provider(recorder).set_unread("g", "a", 3)
        assert (2, []) == (caught.value.code, recorder.requests)

    def test_per_group_and_per_api_limits_are_declared(self) -> None:
        """InviteUsersIntoGroup 1 call/s per group, UserRegister 20 calls/s for the app."""
        limits = provider(Recorder(ok())).call_limits
        assert ({"InviteUsersIntoGroup": 1.0}, {"UserRegister": 20.0}) == (
            dict(limits.per_group),
            dict(limits.per_api),
        )
