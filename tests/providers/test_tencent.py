# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
import json
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from service.domain.events import Account, GroupMember, GroupMessage, GroupProfile
from service.domain.retry_policy import ErrorClass
from service.domain.validation import Rules
from service.errors import (
    AmbiguousProviderError,
    BatchRefusedError,
    ConfigurationError,
    PermanentProviderError,
    ProviderError,
)
from service.providers.base import ApiNames
from service.providers.factory import build_provider
from service.providers.tencent import TencentProvider, classify
from service.providers.tencent_sig import UserSigCache, verify_user_sig
from service.settings import Settings, TencentSettings

KEY = "test-secret-key-0123456789abcdef"


def provider(handler) -> TencentProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return TencentProvider(
        client,
        base_url="https://adminapisgp.im.qcloud.com",
        sdk_app_id=1400000001,
        admin_identifier="administrator",
        user_sig=UserSigCache(sdk_app_id=1400000001, identifier="administrator", secret_key=KEY),
    )


def message(n: int) -> GroupMessage:
    return GroupMessage(
        From_Account="a",
        SendTime=1000 + n,
        Random=n,
        MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": str(n)}}],
    )


def ok(**fields: object) -> httpx.Response:
    return httpx.Response(
        200, json={"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", **fields}
    )


def fail(code: int) -> httpx.Response:
    return httpx.Response(200, json={"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": "no"})


class TestRequests:
    async def test_request_carries_the_documented_query_and_a_valid_user_sig(self):
        """sdkappid, identifier, a verifiable usersig, a random and contenttype=json."""
        seen: dict[str, list[str]] = {}

        def handler(request: httpx.Request) -> httpx.Response:
            seen.update(parse_qs(request.url.query.decode()))
            seen["path"] = [request.url.path]
            return ok(GroupId="g-1")

        await provider(handler).import_group(GroupProfile(GroupId="g-1", Type="Public", Name="n"))
        verify_user_sig(
            seen["usersig"][0], sdk_app_id=1400000001, identifier="administrator", secret_key=KEY
        )
        assert (
            ["/v4/group_open_http_svc/import_group"],
            ["1400000001"],
            ["administrator"],
            ["json"],
            True,
        ) == (
            seen["path"],
            seen["sdkappid"],
            seen["identifier"],
            seen["contenttype"],
            0 <= int(seen["random"][0]) <= 4294967295,
        )

    async def test_import_messages_sends_the_batch_in_order(self):
        """MsgList carries the messages in the order given, with their Random."""
        bodies = []

        def handler(request: httpx.Request) -> httpx.Response:
            bodies.append(json.loads(request.content))
            return ok(
                ImportMsgResult=[
                    {"MsgSeq": i + 1, "MsgTime": 1000 + i, "Result": 0} for i in range(3)
                ]
            )

        results = await provider(handler).import_messages(
            "g-1", None, [message(0), message(1), message(2)]
        )
        assert [0, 1, 2] == [m["Random"] for m in bodies[0]["MsgList"]]
        assert [1, 2, 3] == [r.msg_seq for r in results]


class TestAnswers:
    async def test_per_message_rejection_fails_only_that_message(self):
        """A Result of 80002 for one message leaves its batch-mates imported."""

        def handler(request: httpx.Request) -> httpx.Response:
            return ok(
                ImportMsgResult=[
                    {"MsgSeq": 1, "MsgTime": 1, "Result": 0},
                    {"MsgSeq": 0, "MsgTime": 0, "Result": 80002},
                    {"MsgSeq": 2, "MsgTime": 3, "Result": 0},
                ]
            )

        results = await provider(handler).import_messages(
            "g", None, [message(0), message(1), message(2)]
        )
        assert [0, 80002, 0] == [r.code for r in results]

    async def test_existing_group_counts_as_imported(self):
        """10021 after a crash: the group is already there."""
        result = await provider(lambda r: fail(10021)).import_group(
            GroupProfile(GroupId="g", Type="Public", Name="n")
        )
        assert (True, "g") == (result.already_existed, result.group_id)

    @pytest.mark.parametrize(
        ("code", "error_type", "error_class"),
        [
            (10010, PermanentProviderError, ErrorClass.GROUP_MISSING),
            (10007, PermanentProviderError, ErrorClass.PERMANENT),
            (60007, ProviderError, ErrorClass.THROTTLED),
            (10002, ProviderError, ErrorClass.RETRY),
            (70001, ProviderError, ErrorClass.RESIGN),
            (70003, ConfigurationError, ErrorClass.CONFIGURATION),
        ],
    )
    async def test_call_level_codes_raise_with_their_class(self, code, error_type, error_class):
        """Each documented code becomes an error carrying its handling class."""
        with pytest.raises(error_type) as caught:
            await provider(lambda r: fail(code)).import_messages("g", None, [message(0)])
        assert (code, error_class) == (caught.value.code, caught.value.error_class)

    async def test_http_5xx_is_ambiguous(self):
        """A 502 may hide an applied call."""
        with pytest.raises(AmbiguousProviderError):
            await provider(lambda r: httpx.Response(502)).import_messages("g", None, [message(0)])

    async def test_connection_failure_is_ambiguous_and_hides_the_url(self):
        """A reset after sending is ambiguous; the error text carries no UserSig or URL."""

        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.RemoteProtocolError(f"peer closed {request.url}", request=request)

        with pytest.raises(AmbiguousProviderError) as caught:
            await provider(handler).import_messages("g", None, [message(0)])
        assert ("usersig" not in str(caught.value), "http" not in str(caught.value)) == (True, True)

    async def test_history_of_a_missing_group_is_empty(self):
        """10010 on a history pull: the group holds nothing."""
        page = await provider(lambda r: fail(10010)).history("g", None, before_seq=None, limit=20)
        assert (False, ()) == (page.group_exists, page.entries)

    async def test_history_maps_entries_newest_first(self):
        """RspMsgList entries become history entries in the provider's order."""

        def handler(request: httpx.Request) -> httpx.Response:
            return ok(
                RspMsgList=[
                    {
                        "From_Account": "a",
                        "MsgRandom": 5,
                        "MsgSeq": 9,
                        "MsgTimeStamp": 90,
                        "IsPlaceMsg": 0,
                        "MsgBody": [],
                    },
                    {
                        "From_Account": "b",
                        "MsgRandom": 4,
                        "MsgSeq": 8,
                        "MsgTimeStamp": 80,
                        "IsPlaceMsg": 0,
                        "MsgBody": [],
                    },
                ],
                IsFinished=1,
            )

        page = await provider(handler).history("g", None, before_seq=None, limit=20)
        assert [(9, "a", 5), (8, "b", 4)] == [(e.msg_seq, e.sender, e.random) for e in page.entries]

    async def test_expired_sig_is_resigned(self):
        """After 70001 the next call carries a newly signed UserSig."""
        sigs: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            sigs.append(parse_qs(request.url.query.decode())["usersig"][0])
            return fail(70001) if len(sigs) == 1 else ok(GroupId="g")

        tencent = provider(handler)
        with pytest.raises(ProviderError):
            await tencent.import_group(GroupProfile(GroupId="g", Type="Public", Name="n"))
        tencent._user_sig._clock = lambda: 2_000_000_000.0  # a later second: a different sig
        await tencent.import_group(GroupProfile(GroupId="g", Type="Public", Name="n"))
        assert 2 == len(set(sigs))


def answer(body: object) -> httpx.Response:
    return httpx.Response(200, json=body)


def batch_ok(*results: object) -> httpx.Response:
    return ok(ImportMsgResult=list(results))


class TestMalformedAnswers:
    """An answer the adapter cannot read may hide an applied call: AmbiguousProviderError."""

    @pytest.mark.parametrize(
        ("response", "why"),
        [
            (batch_ok({"MsgTime": 1, "Result": 0}), "Result 0 without MsgSeq"),
            (batch_ok("seq 1"), "a result entry that is not an object"),
            (batch_ok({"MsgSeq": "one", "MsgTime": 1, "Result": 0}), "MsgSeq not a number"),
            (batch_ok({"MsgSeq": 1, "MsgTime": 1, "Result": "zero"}), "Result not a number"),
            (batch_ok({"MsgSeq": 1, "MsgTime": 1.5, "Result": 0}), "MsgTime not an integer"),
            (batch_ok({"MsgSeq": True, "MsgTime": 1, "Result": 0}), "MsgSeq a boolean"),
            (batch_ok({"MsgSeq": 1, "MsgTime": 1}), "no Result"),
            (
                answer({"ActionStatus": "OK", "ImportMsgResult": [{"MsgSeq": 1, "Result": 0}]}),
                "no ErrorCode, read as 0 before",
            ),
            (answer({"ActionStatus": "FAIL", "ErrorCode": 0}), "FAIL with ErrorCode 0"),
            (answer({"ActionStatus": "OK", "ErrorCode": "none"}), "ErrorCode not a number"),
            (
                batch_ok(
                    {"MsgSeq": 1, "MsgTime": 1, "Result": 0},
                    {"MsgSeq": 2, "MsgTime": 1, "Result": 0},
                ),
                "two results for one message",
            ),
            (ok(), "no result list"),
        ],
    )
    async def test_import_messages_raises_ambiguous(self, response, why):
        """Each malformed answer to import_group_msg is ambiguous, never a success or a crash."""
        with pytest.raises(AmbiguousProviderError) as caught:
            await provider(lambda r: response).import_messages("g", None, [message(0)])
        assert ErrorClass.AMBIGUOUS == caught.value.error_class, why

    async def test_a_refused_entry_without_msg_seq_is_fine(self):
        """A per-message refusal has no MsgSeq: that is the documented shape, not a malformed one."""
        results = await provider(
            lambda r: batch_ok({"MsgTime": 1, "Result": 80002})
        ).import_messages("g", None, [message(0)])
        assert [80002] == [r.code for r in results]

    async def test_numbers_sent_as_digit_strings_are_read(self):
        """A number the provider sends as a string of digits is still read as that number."""
        results = await provider(
            lambda r: batch_ok({"MsgSeq": "17", "MsgTime": "1620808101", "Result": "0"})
        ).import_messages("g", None, [message(0)])
        assert [(0, 17, 1620808101)] == [(r.code, r.msg_seq, r.msg_time) for r in results]

    @pytest.mark.parametrize(
        "body",
        [
            {"RspMsgList": ["not an entry"], "IsFinished": 1},
            {"RspMsgList": [{"From_Account": "a", "MsgRandom": 1, "MsgTimeStamp": 9}]},
            {
                "RspMsgList": [
                    {"From_Account": "a", "MsgSeq": "x", "MsgRandom": 1, "MsgTimeStamp": 9}
                ]
            },
            {"RspMsgList": [{"From_Account": "a", "MsgSeq": 3, "MsgRandom": 1}]},
            {"RspMsgList": {"MsgSeq": 3}},
            {"RspMsgList": [], "IsFinished": "yes"},
        ],
    )
    async def test_history_raises_ambiguous(self, body):
        """A history page that cannot be read is an error to retry, never a shorter history."""
        with pytest.raises(AmbiguousProviderError):
            await provider(lambda r: ok(**body)).history("g", None, before_seq=None, limit=20)

    async def test_group_import_without_error_code_is_ambiguous(self):
        """import_group answered without ErrorCode may have created the group."""
        with pytest.raises(AmbiguousProviderError):
            await provider(lambda r: answer({"ActionStatus": "OK", "GroupId": "g"})).import_group(
                GroupProfile(GroupId="g", Type="Public", Name="n")
            )


def history_item(seq: int, **fields: object) -> dict[str, object]:
    return {
        "From_Account": "a",
        "MsgRandom": seq,
        "MsgSeq": seq,
        "MsgTimeStamp": 100 + seq,
        "IsPlaceMsg": 0,
        "MsgBody": [],
        **fields,
    }


class TestHistoryPages:
    async def page(self, before_seq=None, **answer: object):
        return await provider(lambda r: ok(**answer)).history(
            "g", None, before_seq=before_seq, limit=20
        )

    async def test_a_short_page_with_is_finished_0_is_not_the_end(self):
        """IsFinished 0: the provider cut the page (long messages); older messages remain."""
        page = await self.page(RspMsgList=[history_item(s) for s in (30, 29, 28)], IsFinished=0)
        assert (False, [30, 29, 28]) == (page.finished, [e.msg_seq for e in page.entries])

    async def test_a_short_page_with_is_finished_1_is_the_end(self):
        """IsFinished 1 and fewer than asked for: nothing older is left."""
        page = await self.page(RspMsgList=[history_item(s) for s in (3, 2)], IsFinished=1)
        assert page.finished

    async def test_a_full_page_is_not_the_end(self):
        """Twenty returned as asked: older messages may follow."""
        page = await self.page(
            RspMsgList=[history_item(s) for s in range(40, 20, -1)], IsFinished=1
        )
        assert not page.finished

    async def test_is_finished_2_is_the_end(self):
        """IsFinished 2: the rest has expired; nothing older can be matched."""
        page = await self.page(RspMsgList=[history_item(9)], IsFinished=2)
        assert page.finished

    async def test_the_list_is_read_from_msg_list_too(self):
        """The field table names the list MsgList (the sample RspMsgList): both are read."""
        page = await self.page(MsgList=[history_item(5), history_item(4)], IsFinished=1)
        assert [5, 4] == [e.msg_seq for e in page.entries]

    async def test_placeholders_and_system_messages_are_marked(self):
        """IsPlaceMsg 1 / 2 become placeholders (no sender needed); IsSystemMsg 1 a system entry."""
        page = await self.page(
            RspMsgList=[
                history_item(3, IsSystemMsg=1),
                {"MsgSeq": 2, "IsPlaceMsg": 2, "MsgBody": []},
                history_item(1, IsPlaceMsg=1),
            ],
            IsFinished=1,
        )
        assert [(3, 0, True), (2, 2, False), (1, 1, False)] == [
            (e.msg_seq, e.placeholder, e.system) for e in page.entries
        ]

    async def test_with_recalled_asks_for_recalled_messages(self):
        """with_recalled=True sends WithRecalledMsg 1; by default the field is left out."""
        bodies = []

        def handler(request: httpx.Request) -> httpx.Response:
            bodies.append(json.loads(request.content))
            return ok(RspMsgList=[], IsFinished=1)

        tencent = provider(handler)
        await tencent.history("g", None, before_seq=None, limit=20)
        await tencent.history("g", None, before_seq=9, limit=20, with_recalled=True)
        assert [None, 1] == [body.get("WithRecalledMsg") for body in bodies]


class TestBatchRefusals:
    def refusing(self, code: int, info: str):
        return provider(
            lambda r: httpx.Response(
                200, json={"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": info}
            )
        )

    async def test_a_refusal_naming_a_message_says_which(self):
        """10004 for the whole call naming MsgList[3]: a BatchRefusedError with suspect 3."""
        with pytest.raises(BatchRefusedError) as caught:
            await self.refusing(10004, "MsgList[3].SendTime must be an integer").import_messages(
                "g", None, [message(n) for n in range(7)]
            )
        assert (10004, 3, ErrorClass.PERMANENT) == (
            caught.value.code,
            caught.value.suspect,
            caught.value.error_class,
        )

    @pytest.mark.parametrize(
        "info", ["message content too long", "MsgList[9] is bad", "MsgList[-1]"]
    )
    async def test_a_refusal_naming_no_message_of_the_call_has_no_suspect(self, info):
        """10020 without a name, or naming a position the call does not have: suspect None."""
        with pytest.raises(BatchRefusedError) as caught:
            await self.refusing(10020, info).import_messages(
                "g", None, [message(n) for n in range(3)]
            )
        assert caught.value.suspect is None

    async def test_a_group_refusal_is_not_a_batch_refusal(self):
        """10004 on import_group is about the group: a plain PermanentProviderError."""
        with pytest.raises(PermanentProviderError) as caught:
            await self.refusing(10004, "Name too long").import_group(
                GroupProfile(GroupId="g", Type="Public", Name="n")
            )
        assert not isinstance(caught.value, BatchRefusedError)


class TestPublicCodes:
    @pytest.mark.parametrize(
        ("code", "named"),
        [
            (60010, "admin"),
            (60020, "plan"),
            (60021, "allowlist"),
            (60006, "SDKAppID"),
            (60099, "public error code"),
        ],
    )
    async def test_public_600xx_codes_halt_with_a_clear_reason(self, code, named):
        """600xx other than frequency limits and timeouts are the app's configuration: halt, say why."""
        with pytest.raises(ConfigurationError) as caught:
            await provider(lambda r: fail(code)).import_messages("g", None, [message(0)])
        assert (code, ErrorClass.CONFIGURATION, True) == (
            caught.value.code,
            caught.value.error_class,
            named in caught.value.info,
        )

    @pytest.mark.parametrize(
        ("code", "error_class"),
        [
            (60007, ErrorClass.THROTTLED),
            (60011, ErrorClass.THROTTLED),
            (60018, ErrorClass.THROTTLED),
            (60019, ErrorClass.THROTTLED),
            (60008, ErrorClass.RETRY),
        ],
    )
    def test_frequency_limits_and_timeouts_keep_their_class(self, code, error_class):
        """The frequency limits back off, the service timeout retries: never a halt."""
        assert error_class == classify(code)


class TestRules:
    def test_rules_are_tencents_with_the_configured_size_limit(self):
        """The adapter validates with Tencent's rules; the 2022 edition's 8,000 bytes is a setting."""
        settings = Settings(
            tencent=TencentSettings(
                sdk_app_id=1400000001, secret_key=SecretStr(KEY), message_size_limit=8_000
            )
        )
        built = build_provider(settings, httpx.AsyncClient())
        assert (Rules(message_size_limit=8_000), 10004, 80002) == (
            built.rules,
            built.rules.codes.invalid_parameter,
            built.rules.codes.message_too_large,
        )

    def test_api_names_are_tencents(self):
        """Metric labels and budget keys use Tencent's own API names."""
        assert ApiNames(
            "import_group",
            "import_group_msg",
            "group_msg_get_simple",
            import_accounts="multiaccount_import",
            import_members="import_group_member",
            set_unread="set_unread_msg_num",
            members="get_group_member_info",
        ) == (provider(lambda r: ok()).api_names)


def recording(
    *answers: httpx.Response,
) -> tuple[list[httpx.Request], Callable[[httpx.Request], httpx.Response]]:
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return seen, handler


class TestAccounts:
    async def test_multiaccount_import_posts_the_account_list_to_the_login_service(self):
        """AccountList with UserID, Nick and FaceUrl as given, to im_open_login_svc."""
        seen, handler = recording(ok())
        accounts = [Account(UserID="leckie", Nick="L"), Account(UserID="peter")]
        results = await provider(handler).import_accounts(accounts)
        assert (
            "/v4/im_open_login_svc/multiaccount_import",
            {"AccountList": [{"UserID": "leckie", "Nick": "L"}, {"UserID": "peter"}]},
            [0, 0],
        ) == (
            seen[0].url.path,
            json.loads(seen[0].content),
            [r.code for r in results],
        )

    async def test_fail_accounts_fail_alone(self):
        """One account of 100 in FailAccounts: that one fails (70402), the 99 others do not."""
        accounts = [Account(UserID=f"u{n}") for n in range(100)]
        _, handler = recording(ok(FailAccounts=["u42"]))
        results = await provider(handler).import_accounts(accounts)
        assert ([42], 70402) == (
            [n for n, r in enumerate(results) if r.code],
            results[42].code,
        )

    async def test_an_unreadable_fail_accounts_is_ambiguous(self):
        """FailAccounts that is not a list of UserIDs: the answer cannot be read."""
        _, handler = recording(ok(FailAccounts="u1"))
        with pytest.raises(AmbiguousProviderError, match="FailAccounts"):
            await provider(handler).import_accounts([Account(UserID="u1")])

    @pytest.mark.parametrize(
        ("code", "error_class"),
        [
            (70402, ErrorClass.PERMANENT),
            (70398, ErrorClass.PERMANENT),
            (70500, ErrorClass.RETRY),
            (70169, ErrorClass.RETRY),
            (70107, ErrorClass.ACCOUNT_MISSING),
            (10019, ErrorClass.ACCOUNT_MISSING),
            (10014, ErrorClass.PERMANENT),
            (70003, ErrorClass.CONFIGURATION),
        ],
    )
    def test_account_codes_are_not_taken_for_user_sig_codes(
        self, code: int, error_class: ErrorClass
    ):
        """700xx account codes have their own class; other 700xx stay UserSig refusals."""
        assert error_class == classify(code)


class TestMembers:
    async def test_import_group_member_sends_the_members_and_reads_each_result(self):
        """Result 1 imported, 2 already a member (imported), 0 failed with 10004."""
        seen, handler = recording(
            ok(
                MemberList=[
                    {"Member_Account": "b", "Result": 2},
                    {"Member_Account": "a", "Result": 1},
                    {"Member_Account": "c", "Result": 0},
                ]
            )
        )
        members = [
            GroupMember(Member_Account="a", Role="Admin", JoinTime=1000),
            GroupMember(Member_Account="b"),
            GroupMember(Member_Account="c", UnreadMsgNum=3),
        ]
        results = await provider(handler).import_members("g-1", members)
        assert (
            "/v4/group_open_http_svc/import_group_member",
            {
                "GroupId": "g-1",
                "MemberList": [
                    {"Member_Account": "a", "Role": "Admin", "JoinTime": 1000},
                    {"Member_Account": "b"},
                    {"Member_Account": "c", "UnreadMsgNum": 3},
                ],
            },
            [(0, False), (0, True), (10004, False)],
        ) == (
            seen[0].url.path,
            json.loads(seen[0].content),
            [(r.code, r.already_member) for r in results],
        )

    async def test_an_answer_missing_a_member_cannot_be_read(self):
        """A member without a Result in the answer: ambiguous (importing again is safe)."""
        _, handler = recording(ok(MemberList=[{"Member_Account": "a", "Result": 1}]))
        members = [GroupMember(Member_Account="a"), GroupMember(Member_Account="b")]
        with pytest.raises(AmbiguousProviderError, match="'b'"):
            await provider(handler).import_members("g-1", members)

    @pytest.mark.parametrize(
        ("code", "error_class"),
        [
            (10010, ErrorClass.GROUP_MISSING),
            (10019, ErrorClass.ACCOUNT_MISSING),
            (10014, ErrorClass.PERMANENT),
            (10007, ErrorClass.PERMANENT),
        ],
    )
    async def test_whole_call_refusals_keep_their_class(self, code: int, error_class: ErrorClass):
        """10010 waits for the group, 10019 for accounts, 10014 and 10007 fail."""
        _, handler = recording(fail(code))
        with pytest.raises(PermanentProviderError) as caught:
            await provider(handler).import_members("g-1", [GroupMember(Member_Account="a")])
        assert (code, error_class) == (caught.value.code, caught.value.error_class)

    async def test_set_unread_msg_num_names_one_member(self):
        """GroupId, Member_Account and UnreadMsgNum to set_unread_msg_num."""
        seen, handler = recording(ok())
        await provider(handler).set_unread("g-1", "a", 5)
        assert (
            "/v4/group_open_http_svc/set_unread_msg_num",
            {"GroupId": "g-1", "Member_Account": "a", "UnreadMsgNum": 5},
        ) == (seen[0].url.path, json.loads(seen[0].content))

    async def test_get_group_member_info_pages_until_every_member_is_read(self):
        """Limit/Offset pages until MemberNum members are read: role, join time, read seq."""
        first = [{"Member_Account": f"m{n}", "Role": "Member", "MsgSeq": n} for n in range(100)]
        second = [{"Member_Account": "last", "Role": "Admin", "JoinTime": 5, "MsgSeq": 9}]
        seen, handler = recording(
            ok(MemberNum=101, MemberList=first), ok(MemberNum=101, MemberList=second)
        )
        members = await provider(handler).group_members("g-1")
        assert members is not None
        assert ([0, 100], 101, ("last", "Admin", 5, 9)) == (
            [json.loads(r.content)["Offset"] for r in seen],
            len(members),
            (members[-1].user_id, members[-1].role, members[-1].join_time, members[-1].read_seq),
        )


class TestRecentContactFlag:
    async def test_the_flag_is_sent_when_asked_and_by_the_default_setting(self):
        """1 from the event or the setting sends RecentContactFlag 1; 0 sends nothing."""
        seen, handler = recording(ok(ImportMsgResult=[{"MsgSeq": 1, "MsgTime": 1, "Result": 0}]))
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        flagged = TencentProvider(
            client,
            base_url="https://x",
            sdk_app_id=1,
            admin_identifier="administrator",
            user_sig=UserSigCache(sdk_app_id=1, identifier="administrator", secret_key=KEY),
            recent_contact_flag=1,
        )
        await flagged.import_messages("g", None, [message(1)])
        await flagged.import_messages("g", None, [message(2)], recent_contact=0)
        await provider(handler).import_messages("g", None, [message(3)], recent_contact=1)
        assert [1, None, 1] == [json.loads(r.content).get("RecentContactFlag") for r in seen]
