# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""``chat-import verify``: compare what the provider holds with what the outcomes topic says.

Every group with imported messages in the outcomes topic (the latest outcome of each event) has
its history pulled back with ``group_msg_get_simple``: newest first, at most 20 messages a call,
the next call asking for ``ReqMsgSeq`` = the smallest seq returned - 1. Every call waits on one
call budget shared by all groups. The two sides are then compared:

``missing``
    an imported outcome whose MsgSeq is absent at the provider or only a placeholder
    (``IsPlaceMsg`` != 0: deleted, expired, not stored or recalled)
``extra``
    a message at the provider that no imported outcome claims
``out_of_order``
    the outcomes sorted by MsgSeq do not ascend in source offset (within one source partition),
    or the provider's send times go back as MsgSeq goes up
``mismatch``
    a MsgSeq claimed by more than one event, or whose time at the provider differs from the
    outcome's ``msg_time``
``unverified``
    the group's history could not be read

Members and unread counts are checked where the provider can be asked (Tencent
``get_group_member_info``; ZIM ``QueryGroupMemberList``, members only: ZIM keeps no unread
count): a member with an imported outcome must be in the group (``missing`` otherwise), and a
member's unread count at the provider (the group's newest MsgSeq less the member's read MsgSeq)
must be the last count set for it, clamped to the group's messages, or 0 when a message of the
group was imported after it in the same partition (importing messages resets unread counts;
``mismatch`` otherwise). Unread counts the provider ignores (Meeting, ChatRoom, AVChatRoom
groups, whose outcome carries no ``unread_msg_num``) are not checked.

Only the group-level history is pulled (no ``TopicId``): outcomes do not say which topic of a
topic-enabled Community group a message went to. Pages ask for recalled messages too
(``WithRecalledMsg`` 1), so a recalled import shows as a placeholder rather than a gap, and
system messages (``IsSystemMsg`` 1, written by the provider itself) are left out of the
comparison.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from itertools import pairwise
from typing import TYPE_CHECKING, TypeVar

import httpx
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from service.domain import limits
from service.domain.retry_policy import ErrorClass
from service.errors import ConfigurationError, ProviderError, RetryableProviderError
from service.providers.factory import build_provider
from service.providers.ratelimit import RateLimiter
from service.tools.report import load_outcomes

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from rich.console import Console

    from service.domain.recovery import HistoryEntry
    from service.providers.base import ChatProvider, MemberInfo
    from service.settings import Settings

MESSAGE_RESULT = "group.message.import.result"
MEMBER_RESULT = "group.member.import.result"
UNREAD_RESULT = "group.member.unread.result"
IMPORTED = "imported"
T = TypeVar("T")
CALL_ATTEMPTS = 5
RETRY_FIRST_SECONDS = 0.5
THROTTLE_PAUSE_SECONDS = 1.0
CONNECT_TIMEOUT_SECONDS = 5.0


class IssueKind(StrEnum):
    """What kind of difference verification found."""

    MISSING = "missing"
    EXTRA = "extra"
    OUT_OF_ORDER = "out_of_order"
    MISMATCH = "mismatch"
    UNVERIFIED = "unverified"


@dataclass(frozen=True, slots=True)
class Issue:
    """One difference between the provider and the outcomes topic."""

    kind: IssueKind
    group_id: str
    msg_seq: int | None
    event_id: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class ImportedMessage:
    """An event whose latest outcome says its message was imported."""

    event_id: str
    group_id: str
    msg_seq: int
    msg_time: int | None
    source_topic: str
    source_partition: int
    # where the event was first read (a re-sent event keeps its first place in the export)
    source_offset: int


@dataclass(frozen=True, slots=True)
class ImportedMember:
    """An event whose latest outcome says its member was imported."""

    event_id: str
    group_id: str
    user_id: str


@dataclass(frozen=True, slots=True)
class UnreadCount:
    """The last unread count set for a member (the latest outcome, latest in its partition)."""

    event_id: str
    group_id: str
    user_id: str
    count: int
    source_topic: str
    source_partition: int
    source_offset: int


@dataclass(slots=True)
class GroupCheck:
    """The comparison of one group."""

    group_id: str
    imported: int
    at_provider: int = 0
    placeholders: int = 0
    issues: list[Issue] = field(default_factory=list)
    members: int = 0  # members with an imported outcome
    members_at_provider: int | None = None  # None: not asked (or the provider cannot say)
    unread_checked: int = 0


@dataclass(slots=True)
class VerifyReport:
    """Everything verification found."""

    groups: list[GroupCheck] = field(default_factory=list)
    outcomes_read: int = 0
    unreadable: int = 0
    events: int = 0

    @property
    def issues(self) -> list[Issue]:
        """Every issue of every group."""
        return [issue for group in self.groups for issue in group.issues]

    @property
    def counts(self) -> Counter[IssueKind]:
        """Issues by kind."""
        return Counter(issue.kind for issue in self.issues)

    @property
    def clean(self) -> bool:
        """True when the provider holds exactly what the outcomes say, in order."""
        return not any(group.issues for group in self.groups)


# ------------------------------------------------------------------ outcomes side


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _source(outcome: Mapping[str, object]) -> tuple[str, int, int] | None:
    source = outcome.get("source")
    if not isinstance(source, Mapping):
        return None
    topic, partition, offset = (
        source.get("topic"),
        _int(source.get("partition")),
        _int(source.get("offset")),
    )
    if not isinstance(topic, str) or partition is None or offset is None:
        return None
    return topic, partition, offset


def imported_messages(outcomes: Iterable[Mapping[str, object]]) -> dict[str, list[ImportedMessage]]:
    """Group id → messages whose latest outcome (in topic order) is ``imported``."""
    latest: dict[str, Mapping[str, object]] = {}
    first_source: dict[str, tuple[str, int, int]] = {}
    for outcome in outcomes:
        event_id = outcome.get("event_id")
        if not isinstance(event_id, str) or outcome.get("type") != MESSAGE_RESULT:
            continue
        latest[event_id] = outcome
        source = _source(outcome)
        if source is not None:
            first_source.setdefault(event_id, source)
    by_group: dict[str, list[ImportedMessage]] = defaultdict(list)
    for event_id, outcome in latest.items():
        group_id = outcome.get("group_id")
        msg_seq = _int(outcome.get("msg_seq"))
        source = first_source.get(event_id)
        if outcome.get("status") != IMPORTED or not isinstance(group_id, str) or msg_seq is None:
            continue
        if source is None:
            continue
        by_group[group_id].append(
            ImportedMessage(
                event_id=event_id,
                group_id=group_id,
                msg_seq=msg_seq,
                msg_time=_int(outcome.get("msg_time")),
                source_topic=source[0],
                source_partition=source[1],
                source_offset=source[2],
            )
        )
    return dict(by_group)


def _latest(outcomes: Iterable[Mapping[str, object]], kind: str) -> dict[str, Mapping[str, object]]:
    latest: dict[str, Mapping[str, object]] = {}
    for outcome in outcomes:
        event_id = outcome.get("event_id")
        if isinstance(event_id, str) and outcome.get("type") == kind:
            latest[event_id] = outcome
    return latest


def imported_members(outcomes: Iterable[Mapping[str, object]]) -> dict[str, list[ImportedMember]]:
    """Group id → members whose latest outcome (in topic order) is ``imported``."""
    by_group: dict[str, list[ImportedMember]] = defaultdict(list)
    for event_id, outcome in _latest(outcomes, MEMBER_RESULT).items():
        group_id, user_id = outcome.get("group_id"), outcome.get("user_id")
        if outcome.get("status") != IMPORTED or not isinstance(group_id, str):
            continue
        if isinstance(user_id, str):
            by_group[group_id].append(ImportedMember(event_id, group_id, user_id))
    return dict(by_group)


def unread_counts(outcomes: Iterable[Mapping[str, object]]) -> dict[str, dict[str, UnreadCount]]:
    """Group id → member → the last unread count set for it (by source offset)."""
    by_group: dict[str, dict[str, UnreadCount]] = defaultdict(dict)
    for event_id, outcome in _latest(outcomes, UNREAD_RESULT).items():
        group_id, user_id = outcome.get("group_id"), outcome.get("user_id")
        count, source = _int(outcome.get("unread_msg_num")), _source(outcome)
        if outcome.get("status") != IMPORTED or count is None or source is None:
            continue
        if not isinstance(group_id, str) or not isinstance(user_id, str):
            continue
        known = by_group[group_id].get(user_id)
        if known is None or known.source_offset < source[2]:
            by_group[group_id][user_id] = UnreadCount(event_id, group_id, user_id, count, *source)
    return dict(by_group)


# ------------------------------------------------------------------- comparison


def compare_members(  # noqa: PLR0913, PLR0917 - one group's every side
    check: GroupCheck,
    members: Sequence[ImportedMember],
    unread: Mapping[str, UnreadCount],
    listed: Sequence[MemberInfo],
    history: Sequence[HistoryEntry],
    messages: Sequence[ImportedMessage],
) -> None:
    """Add the member and unread-count differences of one group to ``check``."""
    at_provider = {member.user_id: member for member in listed}
    check.members_at_provider = len(at_provider)
    newest = max((entry.msg_seq for entry in history if not entry.system), default=0)
    for member in members:
        if member.user_id not in at_provider:
            check.issues.append(
                Issue(
                    IssueKind.MISSING,
                    check.group_id,
                    None,
                    member.event_id,
                    f"member {member.user_id} is not in the group at the provider",
                )
            )
    for user_id, count in sorted(unread.items()):
        held = at_provider.get(user_id)
        if held is None or held.read_seq is None:
            continue  # reported missing above, or the provider keeps no unread count
        check.unread_checked += 1
        later = any(
            message.source_topic == count.source_topic
            and message.source_partition == count.source_partition
            and message.source_offset > count.source_offset
            for message in messages
        )
        expected = 0 if later else min(count.count, newest)
        actual = max(0, newest - held.read_seq)
        if actual != expected:
            check.issues.append(
                Issue(
                    IssueKind.MISMATCH,
                    check.group_id,
                    None,
                    count.event_id,
                    f"unread count of {user_id}: the provider has {actual}, expected {expected}"
                    + (" (messages were imported after it)" if later else ""),
                )
            )


def compare(
    group_id: str, messages: Sequence[ImportedMessage], history: Sequence[HistoryEntry]
) -> GroupCheck:
    """Compare one group's imported outcomes with its history at the provider."""
    check = GroupCheck(group_id=group_id, imported=len(messages))
    at_provider: dict[int, HistoryEntry] = {}
    for entry in history:
        if not entry.system:
            at_provider.setdefault(entry.msg_seq, entry)
    real = [at_provider[seq] for seq in sorted(at_provider) if not at_provider[seq].placeholder]
    check.at_provider = len(real)
    check.placeholders = len(at_provider) - len(real)
    claims: dict[int, list[ImportedMessage]] = defaultdict(list)
    for message in messages:
        claims[message.msg_seq].append(message)
    issues = check.issues
    for seq in sorted(claims):
        claimed = claims[seq]
        held = at_provider.get(seq)
        for message in claimed:
            if held is None:
                issues.append(_issue(IssueKind.MISSING, message, "no message with this MsgSeq"))
            elif held.placeholder:
                issues.append(
                    _issue(
                        IssueKind.MISSING,
                        message,
                        f"only a placeholder (IsPlaceMsg {held.placeholder}: deleted, expired "
                        "or recalled)",
                    )
                )
            elif message.msg_time is not None and message.msg_time != held.msg_time:
                issues.append(
                    _issue(
                        IssueKind.MISMATCH,
                        message,
                        f"outcome says MsgTime {message.msg_time}, the provider has "
                        f"{held.msg_time} (sender {held.sender})",
                    )
                )
        if len(claimed) > 1:
            names = ", ".join(m.event_id for m in claimed)
            issues.append(
                Issue(
                    IssueKind.MISMATCH,
                    group_id,
                    seq,
                    None,
                    f"MsgSeq claimed by {len(claimed)} events: {names}",
                )
            )
    issues.extend(
        Issue(
            IssueKind.EXTRA,
            group_id,
            entry.msg_seq,
            None,
            f"no imported outcome: sender {entry.sender}, time {entry.msg_time}, "
            f"random {entry.random}",
        )
        for entry in real
        if entry.msg_seq not in claims
    )
    issues.extend(_provider_order(group_id, real))
    issues.extend(_outcome_order(messages))
    return check


def _issue(kind: IssueKind, message: ImportedMessage, detail: str) -> Issue:
    return Issue(kind, message.group_id, message.msg_seq, message.event_id, detail)


def _provider_order(group_id: str, real: Sequence[HistoryEntry]) -> list[Issue]:
    """Send times at the provider must not go back as MsgSeq goes up (equal times are fine)."""
    return [
        Issue(
            IssueKind.OUT_OF_ORDER,
            group_id,
            later.msg_seq,
            None,
            f"at the provider MsgSeq {later.msg_seq} has time {later.msg_time}, earlier than "
            f"MsgSeq {earlier.msg_seq} at {earlier.msg_time}",
        )
        for earlier, later in pairwise(real)
        if later.msg_time < earlier.msg_time
    ]


def _outcome_order(messages: Sequence[ImportedMessage]) -> list[Issue]:
    """Sorted by MsgSeq, each source partition's events must ascend in offset."""
    by_source: dict[tuple[str, int], list[ImportedMessage]] = defaultdict(list)
    for message in messages:
        by_source[(message.source_topic, message.source_partition)].append(message)
    issues: list[Issue] = []
    for (topic, partition), group in sorted(by_source.items()):
        ordered = sorted(group, key=lambda m: (m.msg_seq, m.source_offset))
        issues.extend(
            _issue(
                IssueKind.OUT_OF_ORDER,
                later,
                f"MsgSeq {later.msg_seq} went to offset {later.source_offset} of "
                f"{topic}:{partition}, but the lower MsgSeq {earlier.msg_seq} to the later "
                f"offset {earlier.source_offset} ({earlier.event_id})",
            )
            for earlier, later in pairwise(ordered)
            if later.msg_seq > earlier.msg_seq and later.source_offset < earlier.source_offset
        )
    return issues


# ---------------------------------------------------------------- provider side


async def _call(limiter: RateLimiter, call: Callable[[], Awaitable[T]]) -> T:
    """One history call within the budget; transient failures are tried again (reads are safe)."""
    attempt = 0
    while True:
        attempt += 1
        await limiter.acquire()
        try:
            return await call()
        except RetryableProviderError as exc:
            if attempt >= CALL_ATTEMPTS:
                raise
            if exc.error_class is ErrorClass.THROTTLED:
                limiter.penalise(THROTTLE_PAUSE_SECONDS)
            await asyncio.sleep(RETRY_FIRST_SECONDS * 2 ** (attempt - 1))


async def fetch_history(
    provider: ChatProvider, limiter: RateLimiter, group_id: str
) -> tuple[list[HistoryEntry], bool]:
    """Pull the group's whole history, newest first; also say whether the group exists."""
    entries: list[HistoryEntry] = []
    before: int | None = None
    while True:
        page = await _call(
            limiter,
            partial(
                provider.history,
                group_id,
                None,
                before_seq=before,
                limit=limits.HISTORY_PAGE_SIZE,
                with_recalled=True,
            ),
        )
        if not page.group_exists:
            return entries, False
        if not page.entries:
            return entries, True
        entries.extend(page.entries)
        smallest = min(entry.msg_seq for entry in page.entries)
        if smallest <= 1 or (before is not None and smallest > before):
            return entries, True
        before = smallest - 1


@dataclass(frozen=True, slots=True)
class GroupSide:
    """What the outcomes say one group holds."""

    messages: Sequence[ImportedMessage] = ()
    members: Sequence[ImportedMember] = ()
    unread: Mapping[str, UnreadCount] = field(default_factory=dict)


async def check_group(
    provider: ChatProvider, limiter: RateLimiter, group_id: str, side: GroupSide
) -> GroupCheck:
    """Pull one group's history (and members) and compare; a refused read is reported."""
    messages = side.messages
    try:
        history, exists = await fetch_history(provider, limiter, group_id)
        listed = (
            await _call(limiter, partial(provider.group_members, group_id))
            if exists and (side.members or side.unread)
            else None
        )
    except ConfigurationError:
        raise
    except ProviderError as exc:
        check = GroupCheck(group_id=group_id, imported=len(messages), members=len(side.members))
        check.issues.append(
            Issue(
                IssueKind.UNVERIFIED,
                group_id,
                None,
                None,
                f"history or members could not be read ({exc.code}: {exc.info})",
            )
        )
        return check
    if not exists:
        check = GroupCheck(group_id=group_id, imported=len(messages), members=len(side.members))
        check.issues.extend(
            _issue(IssueKind.MISSING, message, "the group does not exist at the provider")
            for message in messages
        )
        check.issues.extend(
            Issue(
                IssueKind.MISSING,
                group_id,
                None,
                member.event_id,
                f"member {member.user_id}: the group does not exist at the provider",
            )
            for member in side.members
        )
        return check
    check = compare(group_id, messages, history)
    check.members = len(side.members)
    if listed is not None:
        compare_members(check, side.members, side.unread, listed, history, messages)
    return check


async def verify_groups(
    provider: ChatProvider,
    groups: Mapping[str, GroupSide],
    *,
    limiter: RateLimiter,
    concurrency: int = 4,
    progress: Progress | None = None,
) -> list[GroupCheck]:
    """Check every group, ``concurrency`` at a time, all calls sharing ``limiter``."""
    gate = asyncio.Semaphore(max(1, concurrency))
    task_id = progress.add_task("groups", total=len(groups)) if progress is not None else None

    async def one(group_id: str) -> GroupCheck:
        async with gate:
            check = await check_group(provider, limiter, group_id, groups[group_id])
        if progress is not None and task_id is not None:
            progress.advance(task_id)
        return check

    try:
        async with asyncio.TaskGroup() as tasks:
            running = [tasks.create_task(one(group_id)) for group_id in sorted(groups)]
    except* ConfigurationError as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in running]


def sides(outcomes: Sequence[Mapping[str, object]]) -> dict[str, GroupSide]:
    """Group id → what the outcomes say it holds (messages, members, unread counts)."""
    messages = imported_messages(outcomes)
    members = imported_members(outcomes)
    unread = unread_counts(outcomes)
    return {
        group_id: GroupSide(
            messages.get(group_id, ()), members.get(group_id, ()), unread.get(group_id, {})
        )
        for group_id in sorted(messages.keys() | members.keys() | unread.keys())
    }


async def verify_outcomes(
    settings: Settings,
    *,
    console: Console | None = None,
    concurrency: int = 4,
    calls_per_second: float | None = None,
) -> VerifyReport:
    """Read the outcomes topic, pull every imported group's history, compare.

    Builds its own httpx client and provider adapter. Raises ``ConfigurationError`` when the
    provider refuses the credentials (nothing can be verified then).
    """
    pairs, unreadable = await load_outcomes(settings.kafka, settings.topics.outcomes)
    outcomes = [outcome for outcome, _ in pairs]
    groups = sides(outcomes)
    report = VerifyReport(
        outcomes_read=len(outcomes),
        unreadable=unreadable,
        events=len({o.get("event_id") for o in outcomes if isinstance(o.get("event_id"), str)}),
    )
    limiter = RateLimiter(calls_per_second or settings.provider_calls_per_second)
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(settings.http_timeout_seconds, connect=CONNECT_TIMEOUT_SECONDS)
    ) as client:
        provider = build_provider(settings, client)
        with Progress(
            TextColumn("[bold]verifying[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=console is None,
            transient=False,
        ) as progress:
            report.groups = await verify_groups(
                provider, groups, limiter=limiter, concurrency=concurrency, progress=progress
            )
    return report


# ----------------------------------------------------------------------- output


def render(report: VerifyReport, console: Console, *, limit: int = 50) -> None:
    """Print the per-group table of differences, the first ``limit`` issues, and the verdict."""
    kinds = list(IssueKind)
    groups = Table(title="Verification by group")
    groups.add_column("group")
    groups.add_column("imported", justify="right")
    groups.add_column("at provider", justify="right")
    groups.add_column("members", justify="right")
    groups.add_column("members at provider", justify="right")
    groups.add_column("unread checked", justify="right")
    for kind in kinds:
        groups.add_column(kind.value.replace("_", " "), justify="right")
    totals: Counter[IssueKind] = Counter()
    for check in report.groups:
        counts = Counter(issue.kind for issue in check.issues)
        totals.update(counts)
        groups.add_row(
            check.group_id,
            str(check.imported),
            str(check.at_provider),
            str(check.members),
            "-" if check.members_at_provider is None else str(check.members_at_provider),
            str(check.unread_checked),
            *(_cell(counts[kind]) for kind in kinds),
        )
    groups.add_section()
    groups.add_row(
        f"{len(report.groups)} groups",
        str(sum(c.imported for c in report.groups)),
        str(sum(c.at_provider for c in report.groups)),
        str(sum(c.members for c in report.groups)),
        str(sum(c.members_at_provider or 0 for c in report.groups)),
        str(sum(c.unread_checked for c in report.groups)),
        *(_cell(totals[kind]) for kind in kinds),
    )
    console.print(groups)
    issues = report.issues
    if issues:
        details = Table(title=f"Issues (first {min(limit, len(issues))} of {len(issues)})")
        details.add_column("kind")
        details.add_column("group")
        details.add_column("MsgSeq", justify="right")
        details.add_column("event")
        details.add_column("detail")
        for issue in issues[:limit]:
            details.add_row(
                issue.kind.value,
                issue.group_id,
                "" if issue.msg_seq is None else str(issue.msg_seq),
                issue.event_id or "",
                issue.detail,
            )
        console.print(details)
    console.print(
        f"outcome records read: {report.outcomes_read}; events: {report.events}; "
        f"unreadable: {report.unreadable}"
    )
    if report.clean:
        console.print(
            "[bold green]clean:[/] the provider holds every imported message, in order, and "
            "every imported member with its unread count where it can be asked"
        )
    else:
        summary = ", ".join(f"{totals[kind]} {kind.value}" for kind in kinds if totals[kind])
        console.print(f"[bold red]differences found:[/] {summary}")


def _cell(count: int) -> str:
    return f"[red]{count}[/]" if count else "0"
