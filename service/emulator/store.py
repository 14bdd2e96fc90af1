# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The emulator's state, in memory and free of HTTP: accounts, groups, their members and messages.

Accounts (``multiaccount_import``) are created or updated; an account in ``refused_accounts``, or
one over ``max_accounts``, is listed in ``FailAccounts``. A group's owner is its first member.
``import_group_member`` refuses the whole call for a member that is not an account (10019) or a
group without room (10014, ``MaxMemberCount``, 2,000 by default); each member is then ``Result``
1 (imported), 2 (already a member) or 0 (its ``JoinTime`` is not after the group's creation and
before now). A member's unread count is kept as the seq it has read: importing messages sets it
to the newest (every unread count becomes 0), and an unread count set by ``import_group_member``
or ``set_unread_msg_num`` is clamped to the group's message count (``set_unread_msg_num`` is
ignored for Meeting, ChatRoom and AVChatRoom groups).

Per group, ``MsgSeq`` counts from 1 in import order. A message is refused on its own (its
batch-mates are still stored) when its send time breaks the ordering rules (10004), its body is
over the size limit (80002) or its text holds a restricted word (80001). With
``oversized_refuses_call`` a body over the size limit refuses the whole call instead (10020,
naming the message), and none of its messages is stored. A message whose
``Random`` matches a message already in the group sent within the de-duplication window is
discarded, and the answer is the first message's ``MsgSeq`` and ``MsgTime``.

History shows a deleted message as a placeholder (``IsPlaceMsg`` 1, empty body) and a recalled
one as ``IsPlaceMsg`` 2 when asked with ``WithRecalledMsg`` 1 (left out otherwise). With
``history_page_limit`` set, an answer carries at most that many messages and says
``IsFinished`` 0 when it held back requested ones, as the provider does with long messages.
"""

from __future__ import annotations

import random as random_module
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from service.emulator import rules
from service.emulator.errors import ApiError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from service.emulator.validation import (
        AccountImport,
        GroupImportRequest,
        HistoryRequest,
        MemberImportRequest,
        MemberInfoRequest,
        MessageImport,
        MessageImportRequest,
        UnreadRequest,
    )

_ID_ALPHABET = string.ascii_uppercase + string.digits
_GENERATED_ID_LENGTH = 9


@dataclass(slots=True)
class StoredMessage:
    """A message the emulator holds."""

    seq: int
    time: int
    sender: str
    random: int
    body: list[Any]
    topic_id: str | None = None
    random_generated: bool = False
    deleted: bool = False
    recalled: bool = False
    system: bool = False


@dataclass(slots=True)
class StoredAccount:
    """An account the emulator holds."""

    user_id: str
    nick: str | None = None
    face_url: str | None = None


@dataclass(slots=True)
class Member:
    """A group member: role ``Owner``, ``Admin`` or ``Member``, and the seq it has read."""

    account: str
    role: str
    join_time: int
    read_seq: int


@dataclass(slots=True)
class Group:
    """An imported group, its members and its messages in seq order."""

    group_id: str
    type: str
    name: str
    create_time: int
    support_topic: int
    profile: dict[str, Any]
    messages: list[StoredMessage] = field(default_factory=list)
    latest_time: int | None = None
    by_random: dict[int, list[StoredMessage]] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    max_member_count: int = rules.DEFAULT_MAX_MEMBER_COUNT
    recent_contact_updates: int = 0

    def next_seq(self) -> int:
        """Return the MsgSeq the next stored message gets."""
        return len(self.messages) + 1

    def unread(self, member: Member) -> int:
        """The member's unread message count."""
        return max(0, len(self.messages) - member.read_seq)


@dataclass(frozen=True, slots=True)
class MessageResult:
    """One entry of ``ImportMsgResult``; ``seq`` is ``None`` for a refused message."""

    result: int
    time: int
    seq: int | None = None
    duplicate: bool = False


class EmulatorStore:
    """Groups and messages, with the documented import rules."""

    def __init__(  # noqa: PLR0913 - one argument per configurable rule
        self,
        *,
        message_size_limit: int = rules.MESSAGE_SIZE_LIMIT_2024,
        restricted_words: Iterable[str] = (),
        dedup_window_seconds: int = rules.DEDUP_WINDOW_SECONDS,
        dedup_before_time_check: bool = True,
        seed: int | None = None,
        history_page_limit: int | None = None,
        oversized_refuses_call: bool = False,
        members_per_call: int = rules.MEMBERS_PER_CALL,
        refused_accounts: Iterable[str] = (),
        max_accounts: int | None = None,
    ) -> None:
        self.members_per_call = members_per_call
        self.refused_accounts = frozenset(refused_accounts)
        self.max_accounts = max_accounts
        self._accounts: dict[str, StoredAccount] = {}
        self.message_size_limit = message_size_limit
        self.oversized_refuses_call = oversized_refuses_call
        self.history_page_limit = history_page_limit
        self.restricted_words = tuple(word for word in restricted_words if word)
        self.dedup_window_seconds = dedup_window_seconds
        self.dedup_before_time_check = dedup_before_time_check
        self._rng = random_module.Random(seed)
        self._groups: dict[str, Group] = {}
        self.duplicates_discarded = 0

    # --- queries ------------------------------------------------------------------------------

    def groups(self) -> list[Group]:
        """Every group, in import order."""
        return list(self._groups.values())

    def group(self, group_id: str) -> Group:
        """Return the group, or raise ``ApiError`` 10010."""
        group = self._groups.get(group_id)
        if group is None:
            raise ApiError(rules.GROUP_NOT_FOUND, f"group {group_id!r} does not exist")
        return group

    def message_count(self) -> int:
        """Messages stored across all groups."""
        return sum(len(group.messages) for group in self._groups.values())

    def accounts(self) -> list[StoredAccount]:
        """Every account, in import order."""
        return list(self._accounts.values())

    def has_account(self, user_id: str) -> bool:
        """True when ``user_id`` is an account."""
        return user_id in self._accounts

    # --- multiaccount_import ------------------------------------------------------------------

    def import_accounts(self, accounts: Sequence[AccountImport]) -> list[str]:
        """Create or update each account; returns the UserIDs refused (``FailAccounts``)."""
        failed: list[str] = []
        for account in accounts:
            new = account.user_id not in self._accounts
            full = self.max_accounts is not None and len(self._accounts) >= self.max_accounts
            if (
                account.user_id in self.refused_accounts
                or rules.utf8_len(account.user_id) > rules.USER_ID_MAX_BYTES
                or (new and full)
            ):
                failed.append(account.user_id)
                continue
            self._accounts[account.user_id] = StoredAccount(
                account.user_id, account.nick, account.face_url
            )
        return failed

    # --- import_group_member ------------------------------------------------------------------

    def import_members(self, request: MemberImportRequest, *, now: int) -> list[int]:
        """Add the members; one ``Result`` per member (0 failed, 1 imported, 2 already one)."""
        group = self.group(request.group_id)
        if group.type == rules.AVCHATROOM:
            raise ApiError(rules.NO_PERMISSION, "AVChatRoom groups do not support member import")
        for member in request.members:
            if member.account not in self._accounts:
                raise ApiError(
                    rules.ACCOUNT_NOT_FOUND, f"Member_Account {member.account!r} is not an account"
                )
        joining = [m for m in request.members if m.account not in group.members]
        if len(group.members) + len(joining) > group.max_member_count:
            raise ApiError(
                rules.GROUP_FULL,
                f"the group holds {len(group.members)} of {group.max_member_count} members",
            )
        results: list[int] = []
        count = len(group.messages)
        for member in request.members:
            if member.account in group.members:
                results.append(rules.MEMBER_RESULT_ALREADY)
                continue
            join_time = now if member.join_time is None else member.join_time
            if not group.create_time < join_time < now:
                results.append(rules.MEMBER_RESULT_FAILED)
                continue
            unread = min(member.unread or 0, count)
            group.members[member.account] = Member(
                member.account, member.role or "Member", join_time, count - unread
            )
            results.append(rules.MEMBER_RESULT_IMPORTED)
        return results

    # --- set_unread_msg_num -------------------------------------------------------------------

    def set_unread(self, request: UnreadRequest) -> None:
        """Set one member's unread count, clamped to the message count (some types: ignored)."""
        group = self.group(request.group_id)
        if group.type in rules.NO_UNREAD_GROUP_TYPES:
            return
        member = group.members.get(request.account)
        if member is None:
            raise ApiError(
                rules.NOT_A_MEMBER, f"{request.account!r} is not a member of {group.group_id!r}"
            )
        count = len(group.messages)
        member.read_seq = count - min(request.unread, count)

    # --- get_group_member_info ----------------------------------------------------------------

    def member_page(self, request: MemberInfoRequest) -> tuple[int, list[Member]]:
        """The group's member count and the members of the page asked for, in join order."""
        group = self.group(request.group_id)
        members = list(group.members.values())
        return len(members), members[request.offset : request.offset + request.limit]

    # --- import_group -------------------------------------------------------------------------

    def _generate_group_id(self, group_type: str) -> str:
        while True:
            suffix = "".join(self._rng.choices(_ID_ALPHABET, k=_GENERATED_ID_LENGTH))
            group_id = rules.GENERATED_GROUP_ID_PREFIX + suffix
            if group_type == rules.COMMUNITY:  # the provider's community IDs carry this prefix
                group_id = rules.COMMUNITY_GROUP_ID_PREFIX + group_id
            if group_id not in self._groups:
                return group_id

    def import_group(self, request: GroupImportRequest, *, now: int) -> Group:
        """Create the group; an existing GroupId is ``ApiError`` 10021."""
        if request.type == rules.AVCHATROOM:
            raise ApiError(rules.NO_PERMISSION, "AVChatRoom groups cannot be imported")
        if request.group_id is not None and request.group_id in self._groups:
            raise ApiError(rules.GROUP_ID_IN_USE, f"GroupId {request.group_id!r} is already in use")
        group_id = request.group_id or self._generate_group_id(request.type)
        create_time = now if request.create_time is None else request.create_time
        profile = {**request.profile, "GroupId": group_id, "CreateTime": create_time}
        group = Group(
            group_id=group_id,
            type=request.type,
            name=request.name,
            create_time=create_time,
            support_topic=request.support_topic,
            profile=profile,
        )
        max_members = request.profile.get("MaxMemberCount")
        if isinstance(max_members, int):
            group.max_member_count = max_members
        owner = request.profile.get("Owner_Account")
        if isinstance(owner, str) and owner:
            group.members[owner] = Member(owner, "Owner", create_time, 0)
        self._groups[group_id] = group
        return group

    # --- import_group_msg ---------------------------------------------------------------------

    def _importable_group(self, group_id: str, topic_id: str | None) -> Group:
        group = self.group(group_id)
        if group.type == rules.AVCHATROOM:
            raise ApiError(rules.NO_PERMISSION, "AVChatRoom groups do not support import_group_msg")
        if topic_id is not None and not group.support_topic:
            raise ApiError(
                rules.INVALID_PARAMETER, "TopicId is only valid for topic-enabled Community groups"
            )
        return group

    def _duplicate_of(self, group: Group, message: MessageImport) -> StoredMessage | None:
        if message.random is None:
            return None
        for earlier in group.by_random.get(message.random, ()):
            if abs(message.send_time - earlier.time) <= self.dedup_window_seconds:
                return earlier
        return None

    def _time_problem(self, group: Group, send_time: int, now: int) -> bool:
        # "earlier than the current time, and later than the group creation time"
        if send_time <= group.create_time or send_time >= now:
            return True
        return group.latest_time is not None and send_time < group.latest_time

    def _has_restricted_words(self, body: Sequence[Any]) -> bool:
        if not self.restricted_words:
            return False
        for element in body:
            if not isinstance(element, dict) or element.get("MsgType") != "TIMTextElem":
                continue
            content = element.get("MsgContent")
            text = content.get("Text") if isinstance(content, dict) else None
            if isinstance(text, str) and any(word in text for word in self.restricted_words):
                return True
        return False

    def _rejection(self, group: Group, message: MessageImport, now: int) -> int:
        if self._time_problem(group, message.send_time, now):
            return rules.INVALID_PARAMETER
        if rules.message_body_size(message.body) > self.message_size_limit:
            return rules.MESSAGE_TOO_LARGE
        if self._has_restricted_words(message.body):
            return rules.RESTRICTED_WORDS
        return rules.OK

    def _import_one(
        self, group: Group, message: MessageImport, topic_id: str | None, now: int
    ) -> MessageResult:
        duplicate = self._duplicate_of(group, message) if self.dedup_before_time_check else None
        if duplicate is None:
            code = self._rejection(group, message, now)
            if code != rules.OK:
                return MessageResult(result=code, time=message.send_time)
            if not self.dedup_before_time_check:
                duplicate = self._duplicate_of(group, message)
        if duplicate is not None:
            self.duplicates_discarded += 1
            return MessageResult(
                result=rules.OK, time=duplicate.time, seq=duplicate.seq, duplicate=True
            )
        stored = self.append(group, message, topic_id)
        return MessageResult(result=rules.OK, time=stored.time, seq=stored.seq)

    def import_messages(self, request: MessageImportRequest, *, now: int) -> list[MessageResult]:
        """Import up to seven messages in order; one result per message."""
        group = self._importable_group(request.group_id, request.topic_id)
        if self.oversized_refuses_call:
            for index, message in enumerate(request.messages):
                size = rules.message_body_size(message.body)
                if size > self.message_size_limit:
                    raise ApiError(
                        rules.CONTENT_TOO_LONG,
                        f"MsgList[{index}].MsgBody is {size} bytes; the message content is "
                        f"too long (at most {self.message_size_limit})",
                    )
        results = [
            self._import_one(group, message, request.topic_id, now) for message in request.messages
        ]
        # "the unread message count for all members will become 0"
        for member in group.members.values():
            member.read_seq = len(group.messages)
        if request.recent_contact and group.type != rules.COMMUNITY:  # not for Community groups
            group.recent_contact_updates += 1
        return results

    def append(
        self,
        group: Group,
        message: MessageImport,
        topic_id: str | None,
        *,
        system: bool = False,
    ) -> StoredMessage:
        """Store ``message`` with the next seq, bypassing every rule (tests use it directly).

        ``system``: a message the provider wrote itself (history flags it ``IsSystemMsg`` 1).
        """
        generated = message.random is None
        random_value = (
            self._rng.randint(0, rules.RANDOM_MAX) if message.random is None else message.random
        )
        stored = StoredMessage(
            seq=group.next_seq(),
            time=message.send_time,
            sender=message.from_account,
            random=random_value,
            body=message.body,
            topic_id=topic_id,
            random_generated=generated,
            system=system,
        )
        group.messages.append(stored)
        if not generated:
            group.by_random.setdefault(random_value, []).append(stored)
        if group.latest_time is None or stored.time > group.latest_time:
            group.latest_time = stored.time
        return stored

    # --- group_msg_get_simple -----------------------------------------------------------------

    def history(self, request: HistoryRequest) -> list[StoredMessage]:
        """Up to ``number`` messages with seq <= ``max_seq`` (if given), newest first.

        Recalled messages are left out unless ``with_recalled`` (then they are placeholders).
        """
        group = self.group(request.group_id)
        if group.type == rules.AVCHATROOM:
            raise ApiError(rules.NO_PERMISSION, "AVChatRoom groups keep no history")
        if request.topic_id is not None and not group.support_topic:
            raise ApiError(
                rules.INVALID_PARAMETER, "TopicId is only valid for topic-enabled Community groups"
            )
        top = (
            len(group.messages)
            if request.max_seq is None
            else min(request.max_seq, len(group.messages))
        )
        page: list[StoredMessage] = []
        for index in range(top - 1, -1, -1):
            message = group.messages[index]
            if request.topic_id is not None and message.topic_id != request.topic_id:
                continue
            if message.recalled and not request.with_recalled:
                continue
            page.append(message)
            if len(page) == request.number:
                break
        return page

    # --- control ------------------------------------------------------------------------------

    def delete(self, group_id: str, seq: int) -> StoredMessage:
        """Mark the message deleted (history then shows a placeholder); ``KeyError`` if absent."""
        group = self.group(group_id)
        if not 1 <= seq <= len(group.messages):
            raise KeyError(seq)
        message = group.messages[seq - 1]
        message.deleted = True
        return message

    def recall(self, group_id: str, seq: int) -> StoredMessage:
        """Mark the message recalled (history leaves it out, or shows IsPlaceMsg 2 when asked)."""
        group = self.group(group_id)
        if not 1 <= seq <= len(group.messages):
            raise KeyError(seq)
        message = group.messages[seq - 1]
        message.recalled = True
        return message

    def reset(self, *, seed: int | None = None) -> None:
        """Forget every account, group and message."""
        self._groups.clear()
        self._accounts.clear()
        self.duplicates_discarded = 0
        self._rng = random_module.Random(seed)
