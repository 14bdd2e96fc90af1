# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The documented rules the emulator enforces: error codes, limits and the message size measure.

Sources: the Tencent Cloud Chat pages for ``import_group``, ``import_group_msg`` (2024 and 2022
editions) and ``group_msg_get_simple``, the public REST error code table, and the migration
section of ``shared/provider-notes.md`` (``multiaccount_import``, ``import_group_member``,
``set_unread_msg_num``; ``get_group_member_info`` is read back by verify). Figures marked
*unconfirmed* are a reading of the documentation, not a documented number; each lives here only.

These constants are deliberately independent of ``service.domain.limits``: the emulator is the
check on the service, so a wrong figure in the service must not be mirrored here.
"""

from __future__ import annotations

import json
from typing import Any, Final

# --- Result and error codes -------------------------------------------------------------------
OK: Final = 0
INTERNAL_ERROR: Final = 10002  # "internal server error, try again"
INVALID_COMMAND: Final = 10003  # unknown API (command word)
INVALID_PARAMETER: Final = 10004  # bad request field; also a message's invalid send time
NO_PERMISSION: Final = 10007  # e.g. AVChatRoom groups
GROUP_NOT_FOUND: Final = 10010
INVALID_GROUP_ID: Final = 10015
CONTENT_TOO_LONG: Final = 10020  # the whole call refused: a message's content is too long
GROUP_ID_IN_USE: Final = 10021
TOO_MANY_MEMBERS: Final = 10005  # import_group_member: more members than one call takes
GROUP_FULL: Final = 10014  # import_group_member: no room for more members
ACCOUNT_NOT_FOUND: Final = 10019  # import_group_member: a Member_Account is not an account
# unconfirmed: set_unread_msg_num for an account that is not a member of the group
NOT_A_MEMBER: Final = NO_PERMISSION
# multiaccount_import: a malformed account (unconfirmed reading of 70402)
ACCOUNT_INVALID_PARAMETER: Final = 70402
RESTRICTED_WORDS: Final = 80001  # 2022 edition
MESSAGE_TOO_LARGE: Final = 80002

# Public codes (60000-79999) shared by every REST API.
URL_PARSE_ERROR: Final = 60002  # bad query string (random, contenttype)
RATE_LIMITED: Final = 60007  # REST API call frequency over the limit (default; a setting)
SDKAPPID_MISSING: Final = 60012  # the URL carries no usable sdkappid
SIG_EXPIRED: Final = 70001
SIG_EMPTY: Final = 70002  # unconfirmed for Chat REST: "UserSig length is 0" in the account codes
SIG_INVALID: Final = 70003
SDKAPPID_UNKNOWN: Final = 70020  # "SDKAppID does not exist"
SIG_LOCKED: Final = 70050  # too many UserSig failures: calls blocked for a while

# unconfirmed: an identifier that is not the app admin. The public table also has 60010
# ("request needs App admin permission"); a 700xx code is used so that clients treat a wrong
# identifier as the configuration error it is.
NOT_ADMIN: Final = SIG_INVALID

# unconfirmed: a body that is not a JSON object. The public table lists 60003 ("HTTP request
# JSON parse error") and the group service 10011; the emulator answers 10004 (invalid parameter).
MALFORMED_BODY: Final = INVALID_PARAMETER

# --- Request shape ----------------------------------------------------------------------------
RANDOM_MAX: Final = 4_294_967_295  # the ``random`` query parameter and a message's ``Random``
MESSAGES_PER_CALL: Final = 7
HISTORY_PAGE_MAX: Final = 20
# group_msg_get_simple: IsFinished 1 every requested message returned, 0 the answer was cut
# (messages too long); IsPlaceMsg 1 deleted, expired or not stored, 2 recalled.
IS_FINISHED_ALL: Final = 1
IS_FINISHED_CUT: Final = 0
PLACEHOLDER_DELETED: Final = 1
PLACEHOLDER_RECALLED: Final = 2

# --- Accounts and members -------------------------------------------------------------------
GROUP_SERVICE: Final = "group_open_http_svc"
LOGIN_SERVICE: Final = "im_open_login_svc"
ACCOUNTS_PER_CALL: Final = 100
MULTIACCOUNT_IMPORT_CALLS_PER_SECOND: Final = 100  # below the app's 200
USER_ID_MAX_BYTES: Final = 32
# import_group_member: 20 members a call on the newest page (100, 300, 500 on older editions);
# the emulator enforces the newest figure unless configured otherwise.
MEMBERS_PER_CALL: Final = 20
MEMBER_ROLE_ADMIN: Final = "Admin"
MEMBER_RESULT_FAILED: Final = 0
MEMBER_RESULT_IMPORTED: Final = 1
MEMBER_RESULT_ALREADY: Final = 2
DEFAULT_MAX_MEMBER_COUNT: Final = 2_000  # import_group: "The default value is 2,000"
# set_unread_msg_num: "no error will be returned" for these; nothing is set
NO_UNREAD_GROUP_TYPES: Final = frozenset({"ChatRoom", "Meeting", "AVChatRoom"})
MEMBER_PAGE_MAX: Final = 6_000  # unconfirmed: get_group_member_info's largest Limit

# --- Groups -----------------------------------------------------------------------------------
AVCHATROOM: Final = "AVChatRoom"
COMMUNITY: Final = "Community"
GROUP_TYPES: Final = frozenset(
    {"Private", "Public", "ChatRoom", AVCHATROOM, COMMUNITY, "Work", "Meeting"}
)
APPLY_JOIN_OPTIONS: Final = frozenset({"FreeAccess", "NeedPermission", "DisableApply"})
NAME_MAX_BYTES: Final = 30
INTRODUCTION_MAX_BYTES: Final = 240
NOTIFICATION_MAX_BYTES: Final = 300
FACE_URL_MAX_BYTES: Final = 100
MAX_MEMBER_COUNT: Final = 6_000
COMMUNITY_MAX_MEMBER_COUNT: Final = 100_000
# unconfirmed: custom group IDs are at most 48 bytes and may not use the generated prefix;
# community IDs may carry the community prefix the provider itself generates.
GROUP_ID_MAX_BYTES: Final = 48
GENERATED_GROUP_ID_PREFIX: Final = "@TGS#"
COMMUNITY_GROUP_ID_PREFIX: Final = "@TGS#_"

# --- Messages ---------------------------------------------------------------------------------
MESSAGE_TYPES: Final = frozenset({"TIMTextElem", "TIMFaceElem", "TIMLocationElem", "TIMCustomElem"})
MESSAGE_SIZE_LIMIT_2024: Final = 12_000
MESSAGE_SIZE_LIMIT_2022: Final = 8_000
DEDUP_WINDOW_SECONDS: Final = 300
IMPORTED_MSG_PRIORITY: Final = 1  # unconfirmed: what history reports for imported messages


def utf8_len(text: str) -> int:
    """Length of ``text`` in UTF-8 bytes, the unit of every documented string limit."""
    return len(text.encode("utf-8"))


def message_body_size(body: Any) -> int:  # noqa: ANN401 - a decoded JSON value
    """Size of a ``MsgBody`` as the size limit counts it.

    unconfirmed measure: the UTF-8 byte length of the compact JSON of ``MsgBody`` (the decoded
    element list re-encoded with ``ensure_ascii=False`` and ``separators=(",", ":")``).
    """
    return utf8_len(json.dumps(body, ensure_ascii=False, separators=(",", ":")))
