# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""ZIM users, groups, their members and messages, in memory and free of HTTP, with the rules.

Users are registered with ``UserRegister`` (or listed as registered at start); a user in
``unregistered_users`` is refused (``ErrorList``, SubCode 2) and never registered. Every user a
call names must be registered (660500002, naming it; unconfirmed code for all but the sender):
a group's owner and initial members (``CreateGroup``), the inviter and invitees
(``InviteUsersIntoGroup``, at most one call per second per group, else code 7), and a message's
sender. Per group, ``MsgSeq`` counts from 1 in import order. ``ImportGroupMsg`` refuses, in this
order: a group that does not exist (660600001), a sender that is not registered (660500002), a
message over the size limit (660400001), and a send time in the future, older than the retention
or earlier than the group's latest message (2; equal times are allowed). A refused message is not
stored. Times are Unix milliseconds throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from service.emulator import zego_rules as zr
from service.emulator.errors import ApiError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from service.emulator.zego_validation import (
        CreateGroupRequest,
        ImportMessageRequest,
        InviteRequest,
        MemberQuery,
        QueryMessagesRequest,
        UserInfo,
    )

_DAY_MS = 86_400_000


@dataclass(slots=True)
class ZimMessage:
    """A message the emulator holds."""

    seq: int
    time_ms: int
    sender: str
    message_type: int
    sub_msg_type: int
    priority: int
    message: str
    extended_data: str | None = None
    searched_content: str | None = None
    empty: bool = False


@dataclass(slots=True)
class ZimGroup:
    """A created group and its messages in seq order."""

    group_id: str
    owner: str
    name: str | None
    notice: str | None
    avatar: str | None
    members: dict[str, int]  # user -> when it entered (ms)
    attributes: dict[str, str]
    create_time_ms: int
    messages: list[ZimMessage] = field(default_factory=list)
    latest_time_ms: int | None = None
    last_invite_ms: int | None = None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One ``QueryGroupMsg`` answer: messages newest first, and the seq to resume at."""

    messages: tuple[ZimMessage, ...]
    next_seq: int | None


class ZimStore:
    """Groups and messages, with the documented ZIM import rules."""

    def __init__(
        self,
        *,
        message_size_limit: int = zr.MESSAGE_SIZE_LIMIT_DEFAULT,
        unregistered_users: Iterable[str] = (),
        registered_users: Iterable[str] = (),
        retention_days: int = zr.RETENTION_DAYS,
    ) -> None:
        self.message_size_limit = message_size_limit
        self.unregistered_users = set(unregistered_users)
        self.registered_at_start = tuple(registered_users)
        self.retention_days = retention_days
        self._groups: dict[str, ZimGroup] = {}
        self._users: dict[str, UserInfo | None] = dict.fromkeys(self.registered_at_start)

    def reset(self) -> None:
        """Forget every group and message, and every user registered since start."""
        self._groups.clear()
        self._users = dict.fromkeys(self.registered_at_start)

    # --- users ------------------------------------------------------------------------------------

    def users(self) -> list[str]:
        """Every registered user, in registration order."""
        return list(self._users)

    def is_registered(self, user_id: str) -> bool:
        """True when ``user_id`` is a registered ZIM user."""
        return user_id in self._users

    def _require_registered(self, users: Iterable[str], what: str) -> None:
        for user in users:
            if user not in self._users:
                raise ApiError(
                    zr.SENDER_NOT_REGISTERED, f"{what} {user!r} is not a registered ZIM user"
                )

    def register(self, users: Iterable[UserInfo]) -> list[tuple[str, int]]:
        """Register (or update) users; returns ``(UserId, SubCode)`` of those refused."""
        refused: list[tuple[str, int]] = []
        for user in users:
            if user.user_id in self.unregistered_users:
                refused.append((user.user_id, zr.REFUSED_USER_SUBCODE))
                continue
            self._users[user.user_id] = user
        return refused

    # --- queries ----------------------------------------------------------------------------------

    def groups(self) -> list[ZimGroup]:
        """Every group, in creation order."""
        return list(self._groups.values())

    def group(self, group_id: str) -> ZimGroup:
        """Return the group, or raise ``ApiError`` 660600001."""
        group = self._groups.get(group_id)
        if group is None:
            raise ApiError(zr.GROUP_NOT_FOUND, f"group {group_id!r} does not exist")
        return group

    def message_count(self) -> int:
        """Messages stored across all groups."""
        return sum(len(group.messages) for group in self._groups.values())

    # --- CreateGroup ------------------------------------------------------------------------------

    def create_group(self, request: CreateGroupRequest, *, now_ms: int) -> ZimGroup:
        """Create a group; 660600011 when its ID is taken, 2 for a creation time in the future."""
        if request.group_id in self._groups:
            raise ApiError(zr.GROUP_EXISTS, f"group {request.group_id!r} already exists")
        if request.create_time_ms is not None and request.create_time_ms > now_ms:
            raise ApiError(zr.PARAMETER_ERROR, "CreateGroupTime is in the future")
        self._require_registered([request.owner], "GroupOwner")
        self._require_registered(request.members, "UserId")
        created = request.create_time_ms or now_ms
        group = ZimGroup(
            group_id=request.group_id,
            owner=request.owner,
            name=request.name,
            notice=request.notice,
            avatar=request.avatar,
            members={request.owner: created, **dict.fromkeys(request.members, created)},
            attributes=dict(request.attributes),
            create_time_ms=created,
        )
        self._groups[group.group_id] = group
        return group

    # --- ImportGroupMsg ---------------------------------------------------------------------------

    def _check_size(self, request: ImportMessageRequest) -> None:
        size = zr.utf8_len(request.message)
        if size > self.message_size_limit:
            raise ApiError(
                zr.MESSAGE_TOO_LARGE,
                f"MessageBody.Message is {size} bytes; at most {self.message_size_limit}",
            )
        if request.extended_data is not None:
            size = zr.utf8_len(request.extended_data)
            maximum = zr.EXTENDED_DATA_MAX_BYTES
            if size > maximum:
                raise ApiError(
                    zr.MESSAGE_TOO_LARGE,
                    f"MessageBody.ExtendedData is {size} bytes; at most {maximum}",
                )

    def _check_time(self, group: ZimGroup, time_ms: int, now_ms: int) -> None:
        if time_ms > now_ms:
            raise ApiError(zr.PARAMETER_ERROR, "SendMessageTime is in the future")
        if time_ms < now_ms - self.retention_days * _DAY_MS:
            raise ApiError(
                zr.PARAMETER_ERROR,
                f"SendMessageTime is older than the {self.retention_days}-day retention",
            )
        if group.latest_time_ms is not None and time_ms < group.latest_time_ms:
            raise ApiError(
                zr.PARAMETER_ERROR,
                f"SendMessageTime {time_ms} is earlier than the group's latest message "
                f"({group.latest_time_ms}); import in chronological order",
            )

    def import_message(self, request: ImportMessageRequest, *, now_ms: int) -> ZimMessage:
        """Store one message and return it with its MsgSeq, or raise the refusal."""
        group = self.group(request.group_id)
        if not self.is_registered(request.sender):
            raise ApiError(
                zr.SENDER_NOT_REGISTERED, f"user {request.sender!r} is not a registered ZIM user"
            )
        self._check_size(request)
        time_ms = request.send_time_ms or now_ms
        self._check_time(group, time_ms, now_ms)
        message = ZimMessage(
            seq=len(group.messages) + 1,
            time_ms=time_ms,
            sender=request.sender,
            message_type=request.message_type,
            sub_msg_type=request.sub_msg_type or 0,
            priority=request.priority,
            message=request.message,
            extended_data=request.extended_data,
            searched_content=request.searched_content,
        )
        group.messages.append(message)
        group.latest_time_ms = time_ms
        return message

    def append(self, group_id: str, message: ZimMessage) -> ZimMessage:
        """Store ``message`` as given (a test's setup), ignoring every rule but the seq."""
        group = self.group(group_id)
        message.seq = len(group.messages) + 1
        group.messages.append(message)
        group.latest_time_ms = max(group.latest_time_ms or 0, message.time_ms)
        return message

    def empty(self, group_id: str, seq: int) -> ZimMessage:
        """Mark one message empty (deleted): history shows it with ``IsEmpty`` and no body."""
        group = self.group(group_id)
        if not 1 <= seq <= len(group.messages):
            raise KeyError(seq)
        message = group.messages[seq - 1]
        message.empty = True
        return message

    # --- InviteUsersIntoGroup ---------------------------------------------------------------------

    def invite(self, request: InviteRequest, *, now_ms: int) -> list[tuple[str, int]]:
        """Add the invitees; returns ``(UserId, SubCode)`` of those who could not join.

        At most one call per second per group (code 7). An invitee already in the group is not
        refused; one whose entry time is in the future or before the group's creation is.
        """
        group = self.group(request.group_id)
        last = group.last_invite_ms
        if last is not None and now_ms - last < zr.INVITE_INTERVAL_MS:
            raise ApiError(
                zr.CALLS_PER_SECOND_LIMIT,
                "InviteUsersIntoGroup: at most 1 call per second per group",
            )
        self._require_registered([request.inviter], "FromUserId")
        self._require_registered([user for user, _ in request.members], "UserId")
        group.last_invite_ms = now_ms
        refused: list[tuple[str, int]] = []
        for user, entered in request.members:
            if user in group.members:
                continue
            at = now_ms if entered is None else entered
            if not group.create_time_ms <= at <= now_ms:
                refused.append((user, zr.REFUSED_USER_SUBCODE))
                continue
            group.members[user] = at
        return refused

    def member_page(self, request: MemberQuery) -> tuple[list[tuple[str, int]], int]:
        """A page of the group's members (user, entry time) and the offset after it (0: none)."""
        group = self.group(request.group_id)
        members = list(group.members.items())
        page = members[request.offset : request.offset + request.limit]
        following = request.offset + len(page)
        return page, following if following < len(members) else 0

    # --- QueryGroupMsg ----------------------------------------------------------------------------

    def history(self, request: QueryMessagesRequest) -> HistoryPage:
        """Up to ``limit`` messages at or below the resume seq, newest first."""
        group = self.group(request.group_id)
        start = len(group.messages) if request.next_seq is None else request.next_seq
        if start > len(group.messages):
            raise ApiError(zr.PARAMETER_ERROR, "Next does not belong to this group's history")
        page: list[ZimMessage] = []
        seq = start
        while seq >= 1 and len(page) < request.limit:
            message = group.messages[seq - 1]
            if request.with_empty or not message.empty:
                page.append(message)
            seq -= 1
        return HistoryPage(messages=tuple(page), next_seq=seq if seq >= 1 else None)
