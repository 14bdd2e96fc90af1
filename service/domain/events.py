# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Input and outcome events: the shapes the contract fixes, as pydantic models.

Inner objects keep the provider's documented field names verbatim (``GroupId``, ``MsgBody``...), so
an exporter can write what the Tencent documentation shows. Unknown fields inside them are refused
(a typo such as ``Nmae`` must not be imported as a group without a name); unknown fields on the
envelope are ignored so exporters can add tracing fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr


class EventType(StrEnum):
    """Event types the service understands; an outcome's type is ``<type>.result``."""

    ACCOUNT_IMPORT = "account.import"
    GROUP_IMPORT = "group.import"
    MEMBER_IMPORT = "group.member.import"
    MESSAGE_IMPORT = "group.message.import"
    UNREAD_SET = "group.member.unread"

    @property
    def result_type(self) -> str:
        """The type of the outcome event answering this one."""
        return f"{self.value}.result"


class _ProviderObject(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Account(_ProviderObject):
    """An account, with the field names of Tencent ``multiaccount_import``."""

    UserID: StrictStr
    Nick: StrictStr | None = None
    FaceUrl: StrictStr | None = None


class GroupMember(_ProviderObject):
    """A group member, with the field names of Tencent ``import_group_member``."""

    Member_Account: StrictStr
    Role: StrictStr | None = None
    JoinTime: StrictInt | None = None
    UnreadMsgNum: StrictInt | None = None


class MemberUnread(_ProviderObject):
    """A member's unread count, with the field names of Tencent ``set_unread_msg_num``."""

    Member_Account: StrictStr
    UnreadMsgNum: StrictInt


class AppDefinedItem(_ProviderObject):
    """One custom group field."""

    Key: StrictStr
    Value: StrictStr


class GroupProfile(_ProviderObject):
    """A group's profile, with the field names of Tencent ``import_group``."""

    GroupId: StrictStr
    Type: StrictStr
    Name: StrictStr
    Owner_Account: StrictStr | None = None
    CreateTime: StrictInt | None = None
    Introduction: StrictStr | None = None
    Notification: StrictStr | None = None
    FaceUrl: StrictStr | None = None
    MaxMemberCount: StrictInt | None = None
    ApplyJoinOption: StrictStr | None = None
    AppDefinedData: list[AppDefinedItem] | None = None
    SupportTopic: StrictInt | None = None


class MessageElement(_ProviderObject):
    """One element of a message body (``TIMMsgElement``)."""

    MsgType: StrictStr
    MsgContent: dict[str, Any]


class GroupMessage(_ProviderObject):
    """One message, with the field names of Tencent ``import_group_msg``."""

    From_Account: StrictStr
    SendTime: StrictInt
    Random: StrictInt | None = None
    MsgBody: list[MessageElement]


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: StrictStr = Field(min_length=1)


class AccountImportEvent(_Envelope):
    """``account.import``: create (or update) one account at the provider."""

    type: Literal["account.import"] = "account.import"
    account: Account


class GroupImportEvent(_Envelope):
    """``group.import``: create one group at the provider."""

    type: Literal["group.import"] = "group.import"
    group: GroupProfile


class MessageImportEvent(_Envelope):
    """``group.message.import``: import one message into a group."""

    type: Literal["group.message.import"] = "group.message.import"
    group_id: StrictStr
    topic_id: StrictStr | None = None
    # Tencent RecentContactFlag: 1 updates the members' recent contacts (conversations); None
    # takes the setting's default. Not sent for Community groups, nor to ZIM.
    recent_contact_flag: StrictInt | None = None
    message: GroupMessage


class MemberImportEvent(_Envelope):
    """``group.member.import``: add one member to a group, after the group's import."""

    type: Literal["group.member.import"] = "group.member.import"
    group_id: StrictStr
    member: GroupMember


class UnreadSetEvent(_Envelope):
    """``group.member.unread``: set one member's unread count, after the messages before it."""

    type: Literal["group.member.unread"] = "group.member.unread"
    group_id: StrictStr
    member: MemberUnread


class Status(StrEnum):
    """Terminal status of an event."""

    IMPORTED = "imported"
    FAILED = "failed"


class DetectedBy(StrEnum):
    """Who decided an outcome."""

    PROVIDER = "provider"
    SERVICE = "service"
    RECOVERED = "recovered"


class SourceRef(BaseModel):
    """Where an input event was read."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int


class OutcomeEvent(BaseModel):
    """The one result event published for each input event."""

    model_config = ConfigDict(frozen=True)

    type: str
    event_id: str
    group_id: str | None
    # the account (account.import) or member (group.member.*) the event is about
    user_id: str | None = None
    provider: str
    status: Status
    msg_seq: int | None = None
    msg_time: int | None = None
    # group.member.unread: the unread count set (None when the provider ignores it)
    unread_msg_num: int | None = None
    error_code: int = 0
    error_info: str = ""
    detected_by: DetectedBy
    attempts: int = 0
    source: SourceRef


@dataclass(frozen=True, slots=True)
class InputRecord:
    """A Kafka record as read, before anything is decoded."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def source(self) -> SourceRef:
        """Where this record was read, for outcomes and dead letters."""
        return SourceRef(topic=self.topic, partition=self.partition, offset=self.offset)
