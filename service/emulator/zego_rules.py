# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The documented ZIM server API rules the emulator enforces: codes, limits, request shape.

Sources: the ZIM ``ImportGroupMsg`` page (``shared/seeds/004``) and the ZIM section of
``shared/provider-notes.md`` (common parameters, codes, ``CreateGroup`` and ``QueryGroupMsg``).
Figures marked *unconfirmed* are a reading of the documentation, not a documented number.

Like ``rules``, these constants are independent of the service's adapter (``providers.zego``):
the emulator is the check on the service, so a wrong figure there must not be mirrored here.
"""

from __future__ import annotations

import string
from typing import Final

# --- Codes (``Code`` in every answer) -----------------------------------------------------------
OK: Final = 0
SERVER_BUSY: Final = 1
PARAMETER_ERROR: Final = 2
AUTHENTICATION_FAILED: Final = 3
CALLS_PER_SECOND_LIMIT: Final = 7  # the default answer to a call over the budget (a setting)
APP_FREQUENCY_LIMIT: Final = 660300005
MESSAGE_TOO_LARGE: Final = 660400001
SENDER_NOT_REGISTERED: Final = 660500002
GROUP_NOT_FOUND: Final = 660600001
GROUP_EXISTS: Final = 660600011
SIGNATURE_EXPIRED: Final = 100000004
SIGNATURE_ERROR: Final = 100000005

# unconfirmed: the codes of a malformed or missing common parameter (2), an unknown AppId (3)
# and a nonce used twice within the timestamp tolerance (100000005, a signature error).
REPLAYED_NONCE: Final = SIGNATURE_ERROR

# --- Request shape ------------------------------------------------------------------------------
CREATE_GROUP: Final = "CreateGroup"
IMPORT_GROUP_MSG: Final = "ImportGroupMsg"
QUERY_GROUP_MSG: Final = "QueryGroupMsg"
USER_REGISTER: Final = "UserRegister"
INVITE_USERS: Final = "InviteUsersIntoGroup"
QUERY_GROUP_MEMBERS: Final = "QueryGroupMemberList"  # unconfirmed name and shape
CALLS_PER_SECOND: Final = 20  # each API, for the whole app
INVITE_INTERVAL_MS: Final = 1_000  # InviteUsersIntoGroup: 1 call per second per group
# Characters a user or group ID may hold (ImportGroupMsg page, "Note").
ID_CHARACTERS: Final = frozenset(
    string.ascii_letters + string.digits + "!#$%&()+-:;<=.>?@[]^_ {}|~"
)

# --- Groups -------------------------------------------------------------------------------------
GROUP_ID_MAX_BYTES: Final = 32
GROUP_ID_FORBIDDEN_PREFIX: Final = "#"
GROUP_NAME_MAX_BYTES: Final = 50
GROUP_NOTICE_MAX_BYTES: Final = 300
GROUP_AVATAR_MAX_BYTES: Final = 500
GROUP_MEMBERS_MAX: Final = 100  # the UserId list of CreateGroup
INVITE_MEMBERS_MAX: Final = 100  # GroupMemberInfos of InviteUsersIntoGroup
MEMBER_PAGE_MAX: Final = 100  # QueryGroupMemberList's Limit (unconfirmed)

# --- Users --------------------------------------------------------------------------------------
USERS_PER_CALL: Final = 100  # UserRegister's UserInfo
USER_ID_MAX_BYTES: Final = 32
USER_AVATAR_MAX_BYTES: Final = 500
# unconfirmed: the SubCode of a user UserRegister refuses, and of an invitee that cannot join
REFUSED_USER_SUBCODE: Final = PARAMETER_ERROR
ATTRIBUTES_MAX: Final = 10
ATTRIBUTE_KEY_MAX_BYTES: Final = 16
ATTRIBUTE_VALUE_MAX_BYTES: Final = 1_024

# --- Messages -----------------------------------------------------------------------------------
MESSAGE_TYPE_TEXT: Final = 1
MESSAGE_TYPE_COMMAND: Final = 2  # signalling: not importable
MESSAGE_TYPE_CUSTOM: Final = 200
EMULATED_MESSAGE_TYPES: Final = frozenset({MESSAGE_TYPE_TEXT, MESSAGE_TYPE_CUSTOM})
PRIORITIES: Final = frozenset({1, 2, 3})
SUB_MSG_TYPE_MAX: Final = 200
SEARCHED_CONTENT_MAX_BYTES: Final = 64
# unconfirmed: "2 KB" and "1 KB" read as 2,048 and 1,024 bytes of UTF-8; the app can raise the
# message limit to 32 KB (a setting). The custom message's Message is held to the same limit.
MESSAGE_SIZE_LIMIT_DEFAULT: Final = 2 * 1_024
EXTENDED_DATA_MAX_BYTES: Final = 1_024
# unconfirmed: the plan's message retention (SendMessageTime may not be older); a setting.
RETENTION_DAYS: Final = 30

# --- History ------------------------------------------------------------------------------------
HISTORY_LIMIT_MAX: Final = 100
# ``Next`` is opaque to clients: the emulator encodes a seq so that a client computing its own
# cursor from a seq is caught (the answer is parameter error).
CURSOR_STRIDE: Final = 7_919
CURSOR_OFFSET: Final = 104_729


def utf8_len(text: str) -> int:
    """Length of ``text`` in UTF-8 bytes, the unit of every documented string limit."""
    return len(text.encode("utf-8"))


def encode_cursor(seq: int) -> int:
    """The ``Next`` that resumes a page at ``seq`` (0 when nothing is left)."""
    return seq * CURSOR_STRIDE + CURSOR_OFFSET if seq > 0 else 0


def decode_cursor(cursor: int) -> int | None:
    """The seq a ``Next`` value resumes at, or ``None`` when no answer ever returned it."""
    seq, rest = divmod(cursor - CURSOR_OFFSET, CURSOR_STRIDE)
    return seq if rest == 0 and seq > 0 else None
