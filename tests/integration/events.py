# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Building input records for integration tests."""

from __future__ import annotations

import json
import time
from typing import Any

from service.settings import Settings

from .harness import Out

BASE = int(time.time()) - 7 * 86_400


def group_record(settings: Settings, gid: str, **fields: Any) -> Out:
    group = {
        "GroupId": gid,
        "Type": "Public",
        "Name": f"group {gid}",
        "CreateTime": BASE - 100,
        **fields,
    }
    value = {"type": "group.import", "event_id": f"it:group:{gid}", "group": group}
    return Out(settings.topics.groups, gid.encode(), json.dumps(value).encode())


def message_record(
    settings: Settings, gid: str, n: int, *, text: str | None = None, **fields: Any
) -> Out:
    message = {
        "From_Account": f"user-{n % 3}",
        "SendTime": BASE + n // 2,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text or f"{gid} #{n}"}}],
        **fields,
    }
    value = {
        "type": "group.message.import",
        "event_id": f"it:msg:{gid}:{n:05d}",
        "group_id": gid,
        "message": message,
    }
    return Out(settings.topics.messages, gid.encode(), json.dumps(value).encode())


def account_record(settings: Settings, user: str, **fields: Any) -> Out:
    value = {
        "type": "account.import",
        "event_id": f"it:account:{user}",
        "account": {"UserID": user, **fields},
    }
    return Out(settings.topics.groups, user.encode(), json.dumps(value).encode())


def member_record(settings: Settings, gid: str, user: str, **fields: Any) -> Out:
    value = {
        "type": "group.member.import",
        "event_id": f"it:member:{gid}:{user}",
        "group_id": gid,
        "member": {"Member_Account": user, "JoinTime": BASE - 50, **fields},
    }
    return Out(settings.topics.messages, gid.encode(), json.dumps(value).encode())


def unread_record(settings: Settings, gid: str, user: str, count: int) -> Out:
    value = {
        "type": "group.member.unread",
        "event_id": f"it:unread:{gid}:{user}:{count}",
        "group_id": gid,
        "member": {"Member_Account": user, "UnreadMsgNum": count},
    }
    return Out(settings.topics.messages, gid.encode(), json.dumps(value).encode())
