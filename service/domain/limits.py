# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Documented limits of the providers, each in one place so a correction touches one line.

Sources: ``shared/seeds`` (Tencent ``import_group``, ``import_group_msg`` 2024 and 2022 editions,
``group_msg_get_simple``) and ``shared/provider-notes.md``. Limits marked *unconfirmed* are our
reading of the documentation, not a documented figure.
"""

from __future__ import annotations

import json
from typing import Any, Final

# Tencent error codes used by the service.
OK: Final = 0
INTERNAL_ERROR: Final = 10002
INVALID_COMMAND: Final = 10003
INVALID_PARAMETER: Final = 10004
NO_PERMISSION: Final = 10007
GROUP_NOT_FOUND: Final = 10010
INVALID_GROUP_ID: Final = 10015
CONTENT_TOO_LONG: Final = 10020
GROUP_ID_IN_USE: Final = 10021
RESTRICTED_WORDS: Final = 80001
MESSAGE_TOO_LARGE: Final = 80002
GROUP_FULL: Final = 10014  # import_group_member: the group has no room for more members
ACCOUNT_NOT_FOUND: Final = 10019  # import_group_member: a Member_Account is not an account
TOO_MANY_MEMBERS: Final = 10005  # import_group_member: more members than one call takes
# Account APIs (multiaccount_import): provider-notes lists the codes without their meaning;
# unconfirmed readings, each in one place.
ACCOUNT_INVALID_PARAMETER: Final = 70402  # a field missing or malformed
ACCOUNT_LIMIT_REACHED: Final = 70398  # the app's plan holds no more accounts
ACCOUNT_NEEDS_ADMIN: Final = 70403  # the call needs the app admin
ACCOUNT_MISSING: Final = 70107  # the account does not exist
ACCOUNT_RETRY_CODES: Final = frozenset({70169, 70202, 70500})  # internal errors and timeouts

# The service's own code for a call that never got an answer (timeouts, resets) when it gives up:
# HTTP's Request Timeout, beside the HTTP status it reports for 5xx answers without a body.
NO_ANSWER: Final = 408
# The service's own code for an event it could not process (an unexpected failure, repeated).
SERVICE_FAILURE: Final = 500
# The service's own code for a message the provider does not hold while later messages of its
# group are (it was refused on its own before, or removed since): not sent again, since it would
# be stored behind messages sent after it. HTTP's Conflict.
NOT_STORED_BEFORE_LATER: Final = 409

MESSAGES_PER_CALL: Final = 7
ACCOUNTS_PER_CALL: Final = 100  # multiaccount_import
# import_group_member: 20 on the newest page, 100, 300 or 500 on older editions (a setting)
MEMBERS_PER_CALL: Final = 20
USER_ID_MAX_BYTES: Final = 32
MEMBER_ROLES: Final = frozenset({"Admin"})  # import_group_member: "Admin", or absent (a member)
# set_unread_msg_num is silently ignored for these group types (no unread counts there)
NO_UNREAD_GROUP_TYPES: Final = frozenset({"Meeting", "ChatRoom", "AVChatRoom"})
HISTORY_PAGE_SIZE: Final = 20
DEDUP_WINDOW_SECONDS: Final = 300
RANDOM_MAX: Final = 4_294_967_295

GROUP_TYPES: Final = frozenset(
    {"Private", "Public", "ChatRoom", "AVChatRoom", "Community", "Work", "Meeting"}
)
UNSUPPORTED_GROUP_TYPE: Final = "AVChatRoom"
APPLY_JOIN_OPTIONS: Final = frozenset({"FreeAccess", "NeedPermission", "DisableApply"})
NAME_MAX_BYTES: Final = 30
INTRODUCTION_MAX_BYTES: Final = 240
NOTIFICATION_MAX_BYTES: Final = 300
FACE_URL_MAX_BYTES: Final = 100
MAX_MEMBER_COUNT: Final = 6_000
COMMUNITY_MAX_MEMBER_COUNT: Final = 100_000
# unconfirmed: custom group IDs are at most 48 bytes and may not use the generated prefix.
GROUP_ID_MAX_BYTES: Final = 48
GENERATED_GROUP_ID_PREFIX: Final = "@TGS#"
# The form of the IDs the provider gives Community groups (import_group sample answer).
COMMUNITY_GROUP_ID_PREFIX: Final = "@TGS#_"

MESSAGE_TYPES: Final = frozenset({"TIMTextElem", "TIMFaceElem", "TIMLocationElem", "TIMCustomElem"})
MESSAGE_SIZE_LIMIT_2024: Final = 12_000
MESSAGE_SIZE_LIMIT_2022: Final = 8_000


def encodable(text: str) -> bool:
    """True when ``text`` is valid Unicode (JSON escapes can carry lone surrogates, which not)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def utf8_len(text: str) -> int:
    """Length of ``text`` in UTF-8 bytes, the unit of every documented string limit."""
    return len(text.encode("utf-8"))


_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def message_body_size(body: list[dict[str, Any]] | list[Any]) -> int:
    """Size of a message body as the size limit counts it (unconfirmed: compact UTF-8 JSON)."""
    return utf8_len(_COMPACT_JSON.encode(body))
