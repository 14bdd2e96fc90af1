# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The emulator's state, in memory and free of HTTP: groups, their messages, and the import rules.

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
        GroupImportRequest,
        HistoryRequest,
        MessageImport,
        MessageImportRequest,
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
class Group:
    """An imported group and its messages in seq order."""

    group_id: str
    type: str
    name: str
    create_time: int
    support_topic: int
    profile: dict[str, Any]
    messages: list[StoredMessage] = field(default_factory=list)
    latest_time: int | None = None
    by_random: dict[int, list[StoredMessage]] = field(default_factory=dict)

    def next_seq(self) -> int:
        """Return the MsgSeq the next stored message gets."""
        return len(self.messages) + 1


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
    ) -> None:
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
        return [
            self._import_one(group, message, request.topic_id, now) for message in request.messages
        ]

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
        """Forget every group and message."""
        self._groups.clear()
        self.duplicates_discarded = 0
        self._rng = random_module.Random(seed)
