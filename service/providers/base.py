# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The one interface every provider adapter implements, and the values it returns.

Adapters work like httpx transports: each receives a shared ``httpx.AsyncClient`` and a rate
limiter, turns HTTP and JSON into these values, and raises ``service.errors.ProviderError`` (with
its ``ErrorClass``) for a call that gave no usable answer. A third provider is one new module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from service.domain.events import Account, GroupMember, GroupMessage, GroupProfile
from service.domain.recovery import Candidate, HistoryEntry
from service.domain.validation import Rules


@dataclass(frozen=True, slots=True)
class ApiNames:
    """The provider's own names of its APIs, for metric labels and call budgets."""

    import_group: str
    import_messages: str
    history: str
    import_accounts: str = "import_accounts"
    import_members: str = "import_members"
    set_unread: str = "set_unread"
    members: str = "members"  # the member list, read back by verify


@dataclass(frozen=True, slots=True)
class CallLimits:
    """Documented limits of single APIs, besides the app-wide budget every call shares.

    ``per_api``: calls per second for the whole app, where an API's limit is below the app's
    budget (Tencent ``multiaccount_import`` 100); ``per_group``: calls per second for one group
    (ZIM ``InviteUsersIntoGroup`` 1).
    """

    per_api: Mapping[str, float] = field(default_factory=dict)
    per_group: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccountResult:
    """The provider's answer for one account of a call (code 0: imported or updated)."""

    code: int
    info: str = ""


@dataclass(frozen=True, slots=True)
class MemberResult:
    """The provider's answer for one member of a call (code 0: in the group now)."""

    code: int
    already_member: bool = False
    info: str = ""


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """A member as the provider lists it (verify); ``None``: the provider does not say."""

    user_id: str
    role: str | None = None
    join_time: int | None = None
    read_seq: int | None = None  # Tencent MsgSeq: the member's last read message


@dataclass(frozen=True, slots=True)
class MessageResult:
    """The provider's answer for one message of a call."""

    code: int
    msg_seq: int | None = None
    msg_time: int | None = None
    info: str = ""


@dataclass(frozen=True, slots=True)
class GroupResult:
    """The provider's answer to a group import."""

    group_id: str
    already_existed: bool = False


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Messages pulled back from the provider, newest first."""

    entries: tuple[HistoryEntry, ...]
    finished: bool
    group_exists: bool = True


class ChatProvider(Protocol):
    """What the pipeline needs from a provider."""

    @property
    def name(self) -> str:
        """The provider's name in outcomes (``tencent``, ``zego``)."""
        ...

    @property
    def group_missing_code(self) -> int:
        """The provider's code for "the group does not exist" (Tencent 10010)."""
        ...

    @property
    def messages_per_call(self) -> int:
        """How many messages one import call takes."""
        ...

    @property
    def rules(self) -> Rules:
        """The provider's limits and refusal codes: what its events are validated with."""
        ...

    @property
    def api_names(self) -> ApiNames:
        """The names of the APIs it calls (Tencent ``import_group_msg``, ZIM ``ImportGroupMsg``)."""
        ...

    @property
    def accounts_per_call(self) -> int:
        """How many accounts one account import call takes."""
        ...

    @property
    def members_per_call(self) -> int:
        """How many members one member import call takes."""
        ...

    @property
    def call_limits(self) -> CallLimits:
        """Limits of single APIs below the app-wide budget (per API, per group)."""
        ...

    async def import_accounts(self, accounts: Sequence[Account]) -> list[AccountResult]:
        """Create (or update) accounts; one result per account, in order."""
        ...

    async def import_members(
        self, group_id: str, members: Sequence[GroupMember], *, inviter: str | None = None
    ) -> list[MemberResult]:
        """Add members to one group; one result per member, in order.

        ``inviter``: the group's owner when known (ZIM invites in a user's name).
        """
        ...

    async def set_unread(self, group_id: str, member_account: str, count: int) -> None:
        """Set one member's unread message count."""
        ...

    async def group_members(self, group_id: str) -> list[MemberInfo] | None:
        """The group's members as the provider lists them; None when it cannot be asked."""
        ...

    async def import_group(self, group: GroupProfile) -> GroupResult:
        """Create one group with its profile."""
        ...

    async def import_messages(
        self,
        group_id: str,
        topic_id: str | None,
        messages: Sequence[GroupMessage],
        *,
        recent_contact: int | None = None,
    ) -> list[MessageResult]:
        """Import messages into one group, in order; one result per message.

        ``recent_contact``: the calls's RecentContactFlag (None: the adapter's default setting).
        """
        ...

    async def history(
        self,
        group_id: str,
        topic_id: str | None,
        *,
        before_seq: int | None,
        limit: int,
        with_recalled: bool = False,
    ) -> HistoryPage:
        """Pull up to ``limit`` messages with seq <= ``before_seq`` (newest when None).

        ``with_recalled``: recalled messages come back as placeholders instead of being left
        out (Tencent ``WithRecalledMsg``; ZIM always returns them as empty messages).
        ``HistoryPage.finished`` is True only when nothing older than this page is left.
        """
        ...

    def check_element_support(self, message: GroupMessage) -> tuple[int, str] | None:
        """A refusal (code, reason) when the provider cannot hold this message at all."""
        ...

    def recovery_key(self, message: GroupMessage, random: int) -> Candidate:
        """How a pending message is recognised in this provider's history (see ``HistoryEntry``).

        Tencent keeps sender, send time and Random; a provider without Random puts another
        stable fingerprint of the message in ``HistoryEntry.random`` and returns it here.
        """
        ...
