# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The import engine: key-ordered concurrency over records, provider calls, outcomes, offsets.

Records are submitted in partition order and never block the consumer. Each record ends as
exactly one published outcome or dead letter; only then is its offset finished, and a partition's
committable offset is the lowest unfinished one (``OffsetTracker``). Messages of one group run
strictly in order (one lane per group and event kind); different groups run at once, each call
waiting on the shared rate limiter. While a group's call is in flight its new messages queue, and
the next call takes up to ``messages_per_call`` of them.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

import structlog

from service.domain import limits, outcomes
from service.domain.batching import batch_size
from service.domain.events import DetectedBy, EventType, InputRecord, OutcomeEvent
from service.domain.offsets import OffsetTracker
from service.domain.ordering import Lanes
from service.domain.recovery import HistoryIndex, Verdict
from service.domain.retry_policy import Action, ErrorClass, RetryPolicy, decide
from service.domain.validation import (
    Rejection,
    Rules,
    ValidEvent,
    ValidGroupImport,
    ValidMessageImport,
    decode_envelope,
    validate_event,
)
from service.errors import BadInputError, ProviderError
from service.metrics import Metrics
from service.providers.base import ChatProvider
from service.providers.ratelimit import ApiBudgets
from service.runtime.groups import GroupRegistry, GroupStatus
from service.runtime.sinks import OutcomeSink

log = structlog.get_logger("service.engine")

TopicPartition = tuple[str, int]
LaneKey = tuple[EventType, str]
T = TypeVar("T")

MAX_HISTORY_PAGES = 50
THROTTLE_PAUSE_SECONDS = 0.1
UNREACHABLE_AFTER = 3
UNKNOWN_GROUP_GRACE_SECONDS = 1.0
UNKNOWN_GROUP_MAX_WAIT_SECONDS = 30.0
IMPORT_GROUP = "import_group"
IMPORT_MESSAGES = "import_group_msg"
HISTORY = "group_msg_get_simple"
PUBLISH_RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)


@dataclass(slots=True)
class WorkItem:
    """A valid event waiting for (or in) a provider call."""

    record: InputRecord
    event: ValidEvent
    attempts: int = 0

    @property
    def topic_id(self) -> str | None:
        """The topic a message goes to (None for groups and topic-less messages)."""
        return self.event.topic_id if isinstance(self.event, ValidMessageImport) else None

    @property
    def tp(self) -> TopicPartition:
        """The partition the record was read from."""
        return (self.record.topic, self.record.partition)


@dataclass(slots=True)
class LaneState:
    """Per-lane state that lives as long as the lane's worker."""

    needs_recovery: bool | None = None  # decided at the lane's first call
    history: HistoryIndex | None = None
    group_wait_started: float | None = None
    grace_taken: bool = False
    abandoned: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True, slots=True)
class _GiveUp:
    code: int
    info: str
    error_class: ErrorClass = ErrorClass.PERMANENT
    detected_by: DetectedBy = DetectedBy.PROVIDER


@dataclass(frozen=True, slots=True)
class _Verify:
    pass


class LaneAbandonedError(Exception):
    """The lane's partition was revoked or the service is stopping."""


class Engine:
    """Turns input records into provider calls and outcome events."""

    def __init__(  # noqa: PLR0913 - the engine's collaborators, each injected for tests
        self,
        provider: ChatProvider,
        sink: OutcomeSink,
        *,
        policy: RetryPolicy,
        rules: Rules,
        max_in_flight_calls: int,
        metrics: Metrics,
        budgets: ApiBudgets,
        clock: Callable[[], float] = time.time,
        messages_per_call: int | None = None,
    ) -> None:
        self._provider = provider
        self._sink = sink
        self._policy = policy
        self._rules = rules
        self._metrics = metrics
        self._budgets = budgets
        self._clock = clock
        self._per_call = min(
            messages_per_call or provider.messages_per_call, provider.messages_per_call
        )
        self._slots = asyncio.Semaphore(max_in_flight_calls)
        self._rng = random.Random()  # noqa: S311 - back-off jitter, not security
        self._trackers: dict[TopicPartition, OffsetTracker] = {}
        # A partition revoked and assigned again starts a new generation: work still finishing
        # from the old one must not mark records of the new one done.
        self._generation: Counter[TopicPartition] = Counter()
        self._read_in: dict[tuple[str, int, int], int] = {}
        self._unfinished: Counter[TopicPartition] = Counter()
        self._lanes: Lanes[LaneKey, WorkItem] = Lanes()
        self._lane_tasks: dict[LaneKey, asyncio.Task[None]] = {}
        self._lane_states: dict[LaneKey, LaneState] = {}
        self._lane_tp: dict[LaneKey, TopicPartition] = {}
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._groups = GroupRegistry()
        self._accepting = True
        self._halted_reason: str | None = None
        self._unanswered_calls = 0
        self._progress = asyncio.Event()
        # Set while every group.import of the held partitions has been read (the consumer says
        # when); an engine on its own has nothing more to wait for.
        self._groups_read = asyncio.Event()
        self._groups_read.set()

    # ----------------------------------------------------------------- intake

    def submit(self, record: InputRecord) -> None:
        """Take one record read from Kafka; returns at once, the work runs in the background."""
        if not self._accepting:
            return  # not finished, so never committed: it is read again after the restart
        tp = (record.topic, record.partition)
        self._trackers.setdefault(tp, OffsetTracker()).read(record.offset)
        self._read_in[(record.topic, record.partition, record.offset)] = self._generation[tp]
        self._unfinished[tp] += 1
        self._metrics.records_consumed.labels(record.topic).inc()
        try:
            envelope = decode_envelope(record.value)
            checked = validate_event(record, envelope, now=int(self._clock()), rules=self._rules)
            if isinstance(checked, ValidMessageImport):
                refusal = self._provider.check_element_support(checked.message)
                if refusal is not None:
                    checked = Rejection(
                        EventType.MESSAGE_IMPORT, checked.event_id, checked.group_id, *refusal
                    )
        except BadInputError as exc:
            self._spawn(self._dead_letter(record, exc.reason))
            return
        except Exception as exc:
            log.exception(
                "record could not be checked; sent to the dead-letter topic",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            )
            reason = f"the service could not check this record ({type(exc).__name__})"
            self._spawn(self._dead_letter(record, reason))
            return
        if isinstance(checked, Rejection):
            if checked.event_type is EventType.GROUP_IMPORT and checked.group_id:
                self._group_refused(checked.group_id, checked.code, checked.info)
            outcome = outcomes.rejected(checked, provider=self._provider.name, source=record.source)
            self._spawn(self._finish([(record, outcome)]))
            return
        if isinstance(checked, ValidGroupImport):
            self._groups.import_queued(checked.group_id)
            key: LaneKey = (EventType.GROUP_IMPORT, checked.group_id)
        else:
            key = (EventType.MESSAGE_IMPORT, checked.group_id)
        self._lane_tp[key] = tp
        if self._lanes.push(key, WorkItem(record, checked)):
            self._start_lane(key)

    def groups_topic_read(self, *, caught_up: bool) -> None:
        """Whether the consumer has read the groups topic to its end on the partitions held.

        While it has not, a message of a group not seen yet waits (bounded) for its import: the
        import is probably among the unread records, and calling for a group that does not
        exist yet costs a history pull and a refused call from the shared budget.
        """
        if caught_up:
            self._groups_read.set()
        else:
            self._groups_read.clear()

    def _group_refused(self, group_id: str, code: int, info: str) -> None:
        if code == limits.NO_PERMISSION:
            self._groups.import_failed(group_id, code, info)
        else:
            self._groups.import_failed(
                group_id,
                self._provider.group_missing_code,
                f"group {group_id} does not exist: its group.import failed ({code}: {info})",
            )

    def _start_lane(self, key: LaneKey) -> None:
        state = LaneState()
        self._lane_states[key] = state
        runner = (
            self._run_group_lane if key[0] is EventType.GROUP_IMPORT else self._run_message_lane
        )
        task = asyncio.create_task(self._lane_guard(key, runner, state))
        self._lane_tasks[key] = task

    def _spawn(self, work: Coroutine[None, None, None]) -> None:
        task = asyncio.create_task(work)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _lane_guard(
        self,
        key: LaneKey,
        runner: Callable[[LaneKey, LaneState], Awaitable[None]],
        state: LaneState,
    ) -> None:
        try:
            await runner(key, state)
        except (LaneAbandonedError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception(
                "lane failed unexpectedly",
                group_id=key[1],
                kind=key[0].value,
                partition=self._lane_tp.get(key, ("", None))[1],
            )
        finally:
            if self._lane_tasks.get(key) is asyncio.current_task():
                del self._lane_tasks[key]
                self._lane_states.pop(key, None)
            # a lane that ends with work still queued (it crashed) would strand it: restart it
            if self._lanes.peek(key) and key not in self._lane_tasks and self._accepting:
                self._start_lane(key)
            elif not self._lanes.peek(key):
                self._lanes.release(key)

    # ------------------------------------------------------------ group lanes

    async def _run_group_lane(self, key: LaneKey, state: LaneState) -> None:
        while True:
            items = self._lanes.take(key, 1)
            if not items:
                if self._lanes.release(key):
                    return
                continue
            await self._import_group(items[0], state)

    async def _import_group(self, item: WorkItem, state: LaneState) -> None:
        event = item.event
        assert isinstance(event, ValidGroupImport)  # noqa: S101 - group lanes hold group events
        result = await self._attempt(
            IMPORT_GROUP, lambda: self._provider.import_group(event.group), [item], state
        )
        if isinstance(result, _Verify):  # pragma: no cover - only message imports verify
            return
        if isinstance(result, _GiveUp):
            self._group_refused(event.group_id, result.code, result.info)
            outcome = self._failed(item, result.code, result.info)
        else:
            self._groups.imported(result.group_id, created_here=not result.already_existed)
            outcome = self._imported(
                item,
                group_id=result.group_id,
                detected_by=DetectedBy.RECOVERED if result.already_existed else DetectedBy.PROVIDER,
                info="the group already existed at the provider" if result.already_existed else "",
            )
        await self._finish([(item.record, outcome)])

    # ---------------------------------------------------------- message lanes

    async def _run_message_lane(self, key: LaneKey, state: LaneState) -> None:
        group_id = key[1]
        while True:
            queue = self._lanes.peek(key)
            if not queue:
                if self._lanes.release(key):
                    return
                continue
            facts = self._groups.facts(group_id)
            if facts.status is GroupStatus.PENDING:
                await self._wait_for_group(group_id, 5.0, state)
                continue
            if facts.status is GroupStatus.FAILED:
                items = self._lanes.take(key, len(queue))
                await self._fail_all(items, facts.code, facts.info, DetectedBy.SERVICE)
                continue
            unknown = facts.status is GroupStatus.UNKNOWN
            if state.needs_recovery is None and unknown and not state.grace_taken:
                state.grace_taken = True
                await self._await_unseen_group(group_id, state)
                continue
            if state.needs_recovery is None:
                # A group this process created holds no messages from anyone else: no history
                # check. Otherwise an earlier run (or owner) may have imported these already.
                state.needs_recovery = not facts.created_here
            prepaid = False
            if not state.needs_recovery and len(queue) < self._per_call:
                # Wait for the call's slot first and cut the batch when it may leave: messages
                # read meanwhile join it, so a budget-bound import makes fewer, fuller calls.
                await self._budgets.for_api(IMPORT_MESSAGES).acquire()
                prepaid = True
                queue = self._lanes.peek(key)
                if not queue:
                    continue
            batch = self._lanes.take(key, batch_size(queue, self._per_call))
            await self._import_batch(group_id, batch, state, prepaid=prepaid)

    async def _import_batch(
        self, group_id: str, batch: list[WorkItem], state: LaneState, *, prepaid: bool = False
    ) -> None:
        pending = batch
        topic_id = batch[0].topic_id
        while pending:
            if state.needs_recovery:
                recovered, pending = await self._recover(group_id, topic_id, pending, state)
                if recovered:
                    await self._finish(recovered)
                if not pending:
                    return
            current = pending
            result = await self._attempt(
                IMPORT_MESSAGES,
                partial(
                    self._provider.import_messages,
                    group_id,
                    topic_id,
                    [item.event.message for item in current],  # type: ignore[union-attr]
                ),
                current,
                state,
                verify_ambiguous=True,
                group_id=group_id,
                prepaid=prepaid,
            )
            prepaid = False
            if isinstance(result, _Verify):
                state.needs_recovery = True
                state.history = None  # the call may have changed it: read it afresh
                continue
            if isinstance(result, _GiveUp):
                if result.error_class is ErrorClass.GROUP_MISSING:
                    self._groups.import_failed(
                        group_id,
                        result.code,
                        f"group {group_id} does not exist at the provider "
                        f"(waited {self._policy.group_wait_seconds:.0f} s for its import)",
                    )
                await self._fail_all(current, result.code, result.info, result.detected_by)
                return
            state.needs_recovery = False
            state.group_wait_started = None
            self._groups.seen_existing(group_id)
            self._metrics.batch_size.observe(len(current))
            await self._finish(
                [
                    (
                        item.record,
                        self._imported(item, msg_seq=answer.msg_seq, msg_time=answer.msg_time)
                        if answer.code == 0
                        else self._failed(item, answer.code, answer.info),
                    )
                    for item, answer in zip(current, result, strict=True)
                ]
            )
            return

    async def _recover(
        self, group_id: str, topic_id: str | None, pending: list[WorkItem], state: LaneState
    ) -> tuple[list[tuple[InputRecord, OutcomeEvent]], list[WorkItem]]:
        """Report the pending messages already at the provider; return the rest to import."""
        index = state.history or HistoryIndex()
        found: list[tuple[InputRecord, OutcomeEvent]] = []
        for position, item in enumerate(pending):
            event = item.event
            assert isinstance(event, ValidMessageImport)  # noqa: S101
            candidate = self._provider.recovery_key(event.message, event.random)
            while True:
                verdict, entry = (
                    index.judge(candidate) if index.pages else (Verdict.NEED_OLDER, None)
                )
                if verdict is not Verdict.NEED_OLDER or index.pages >= MAX_HISTORY_PAGES:
                    break
                before = None if index.oldest_seq is None else index.oldest_seq - 1
                page = await self._attempt(
                    HISTORY,
                    lambda before=before: self._provider.history(  # type: ignore[misc]
                        group_id, topic_id, before_seq=before, limit=limits.HISTORY_PAGE_SIZE
                    ),
                    [],
                    state,
                )
                if isinstance(page, _GiveUp | _Verify):
                    # Cannot read the history: import and let Random de-duplication protect us.
                    state.needs_recovery = False
                    state.history = None
                    return found, pending[position:]
                index.add_page(page.entries, finished=page.finished)
            if verdict is Verdict.PRESENT and entry is not None:
                found.append(
                    (
                        item.record,
                        self._imported(
                            item,
                            msg_seq=entry.msg_seq,
                            msg_time=entry.msg_time,
                            detected_by=DetectedBy.RECOVERED,
                            info="already at the provider; not imported again",
                        ),
                    )
                )
                continue
            state.needs_recovery = False
            state.history = None
            return found, pending[position:]
        state.history = index
        return found, []

    # -------------------------------------------------------------- retrying

    async def _attempt(  # noqa: C901, PLR0912, PLR0913, PLR0915 - the retry loop, one branch per action
        self,
        api: str,
        call: Callable[[], Awaitable[T]],
        items: Sequence[WorkItem],
        state: LaneState,
        *,
        verify_ambiguous: bool = False,
        group_id: str | None = None,
        prepaid: bool = False,
    ) -> T | _GiveUp | _Verify:
        """Call until it succeeds or the policy gives up; sleeps between tries.

        Every call waits for its slot in the call budget first (``prepaid``: the first one
        already has it).
        """
        limiter = self._budgets.for_api(api)
        attempt = 0
        while True:
            self._check_abandoned(state)
            attempt += 1
            for item in items:
                item.attempts += 1
            if not prepaid:
                await limiter.acquire()
            prepaid = False
            self._check_abandoned(state)
            # Only calls that have their slot in the budget wait here, so a call leaves right
            # after its slot: waiting between the two would send calls late and bunched.
            async with self._slots:
                started = time.monotonic()
                try:
                    answer = await call()
                except ProviderError as exc:
                    error: ProviderError | None = exc
                else:
                    error = None
            if error is not None:
                if error.error_class is ErrorClass.AMBIGUOUS:
                    self._unanswered_calls += 1  # timeout, reset, or HTTP 5xx
                else:
                    self._unanswered_calls = 0
                if error.error_class is ErrorClass.THROTTLED:
                    limiter.penalise(THROTTLE_PAUSE_SECONDS)
                self._metrics.provider_latency.labels(api).observe(time.monotonic() - started)
                self._metrics.provider_calls.labels(api, str(error.code or error.error_class)).inc()
                waited = 0.0
                if error.error_class is ErrorClass.GROUP_MISSING:
                    now = self._clock()
                    if state.group_wait_started is None:
                        state.group_wait_started = now
                    waited = now - state.group_wait_started
                decision = decide(
                    error.error_class,
                    attempt=attempt,
                    waited_for_group=waited,
                    policy=self._policy,
                    jitter=self._rng.random(),
                )
                self._metrics.retries.labels(error.error_class.value).inc()
                if decision.action is Action.FAIL:
                    return _GiveUp(error.code, error.info, error.error_class)
                if decision.action is Action.HALT:
                    await self._halt(error, decision.delay, state)
                    continue
                self._log_retry(api, error, decision.delay, items)
                if decision.action is Action.WAIT_FOR_GROUP and group_id is not None:
                    await self._wait_for_group(group_id, decision.delay, state)
                    facts = self._groups.facts(group_id)
                    if facts.status is GroupStatus.FAILED:
                        # its group.import was refused meanwhile: it will never exist
                        return _GiveUp(facts.code, facts.info, detected_by=DetectedBy.SERVICE)
                    continue
                await self._pause(decision.delay, state)
                if decision.action is Action.VERIFY_THEN_RETRY and verify_ambiguous:
                    return _Verify()
                continue
            self._unanswered_calls = 0
            self._metrics.provider_latency.labels(api).observe(time.monotonic() - started)
            self._metrics.provider_calls.labels(api, "0").inc()
            if self._halted_reason is not None:
                self._halted_reason = None
                self._metrics.halted.set(0)
                log.warning("provider accepts the configuration again; calls resumed")
            return answer

    def _log_retry(
        self, api: str, exc: ProviderError, delay: float, items: Sequence[WorkItem]
    ) -> None:
        first = items[0] if items else None
        log.info(
            "provider call will be retried",
            api=api,
            error_code=exc.code,
            error_class=exc.error_class.value,
            error_info=exc.info,
            delay_seconds=round(delay, 3),
            event_id=first.event.event_id if first else None,
            group_id=first.event.group_id if first else None,
            partition=first.record.partition if first else None,
            offset=first.record.offset if first else None,
        )

    async def _halt(self, exc: ProviderError, pause: float, state: LaneState) -> None:
        if self._halted_reason is None:
            self._halted_reason = exc.info
            self._metrics.halted.set(1)
            log.error(
                "the provider refuses the service's configuration; no calls until it is fixed",
                error_code=exc.code,
                error_info=exc.info,
                pause_seconds=pause,
            )
        await self._pause(pause, state)

    async def _pause(self, seconds: float, state: LaneState) -> None:
        if seconds <= 0:
            self._check_abandoned(state)
            return
        try:
            await asyncio.wait_for(state.abandoned.wait(), seconds)
        except TimeoutError:
            return
        raise LaneAbandonedError

    async def _await_unseen_group(self, group_id: str, state: LaneState) -> None:
        """Give the import of a group not seen yet the chance to arrive before calling for it.

        It may be a moment behind on the other topic: wait a short grace, and past it as long
        as the groups topic still has unread records here (bounded), or until the group is seen.
        """
        started = time.monotonic()
        await self._wait_for_group(group_id, UNKNOWN_GROUP_GRACE_SECONDS, state)
        while (
            self._groups.facts(group_id).status is GroupStatus.UNKNOWN
            and not self._groups_read.is_set()
        ):
            left = UNKNOWN_GROUP_MAX_WAIT_SECONDS - (time.monotonic() - started)
            if left <= 0:
                log.warning(
                    "gave up waiting for a group's import while the groups topic is still read; "
                    "importing its messages now",
                    group_id=group_id,
                    waited_seconds=UNKNOWN_GROUP_MAX_WAIT_SECONDS,
                )
                return
            await self._wait_for_group(group_id, left, state, self._groups_read)

    async def _wait_for_group(
        self, group_id: str, seconds: float, state: LaneState, *also: asyncio.Event
    ) -> None:
        """Until the group's state changes, ``seconds`` pass, the lane is abandoned, or ``also``."""
        waits = [
            asyncio.ensure_future(event.wait())
            for event in (self._groups.change_event(group_id), state.abandoned, *also)
        ]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        self._check_abandoned(state)

    @staticmethod
    def _check_abandoned(state: LaneState) -> None:
        if state.abandoned.is_set():
            raise LaneAbandonedError

    # ------------------------------------------------------------ finishing

    async def _finish(self, results: Iterable[tuple[InputRecord, OutcomeEvent]]) -> None:
        """Publish outcomes (acks=all), then finish their offsets."""
        pairs = list(results)
        await self._retry_publish(lambda: self._sink.publish_outcomes([o for _, o in pairs]))
        for record, outcome in pairs:
            self._metrics.outcomes.labels(
                outcome.type,
                outcome.status.value,
                str(outcome.error_code),
                outcome.detected_by.value,
            ).inc()
            if outcome.status.value == "failed":
                log.info(
                    "event failed",
                    event_id=outcome.event_id,
                    group_id=outcome.group_id,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    error_code=outcome.error_code,
                    error_info=outcome.error_info,
                    detected_by=outcome.detected_by.value,
                )
            self._done(record)

    async def _fail_all(
        self, items: Sequence[WorkItem], code: int, info: str, detected_by: DetectedBy
    ) -> None:
        """Publish a failed outcome with the same code and reason for each item."""
        await self._finish(
            [(item.record, self._failed(item, code, info, detected_by)) for item in items]
        )

    def _imported(  # noqa: PLR0913 - the outcome's optional fields
        self,
        item: WorkItem,
        *,
        group_id: str | None = None,
        msg_seq: int | None = None,
        msg_time: int | None = None,
        detected_by: DetectedBy = DetectedBy.PROVIDER,
        info: str = "",
    ) -> OutcomeEvent:
        """The outcome of ``item`` now at the provider, with the attempts it took."""
        return outcomes.imported(
            item.event,
            provider=self._provider.name,
            source=item.record.source,
            attempts=item.attempts,
            group_id=group_id,
            msg_seq=msg_seq,
            msg_time=msg_time,
            detected_by=detected_by,
            info=info,
        )

    def _failed(
        self,
        item: WorkItem,
        code: int,
        info: str,
        detected_by: DetectedBy = DetectedBy.PROVIDER,
    ) -> OutcomeEvent:
        """The failed outcome of ``item``, with the attempts it took."""
        return outcomes.failed(
            item.event,
            provider=self._provider.name,
            source=item.record.source,
            attempts=item.attempts,
            code=code,
            info=info,
            detected_by=detected_by,
        )

    async def _dead_letter(self, record: InputRecord, reason: str) -> None:
        log.warning(
            "record is not an event; sent to the dead-letter topic",
            reason=reason,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )
        await self._retry_publish(lambda: self._sink.publish_dead_letter(record, reason))
        self._metrics.dead_letters.inc()
        self._done(record)

    async def _retry_publish(self, publish: Callable[[], Awaitable[None]]) -> None:
        attempt = 0
        while True:
            try:
                await publish()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any broker failure: keep the record unfinished, retry
                delay = PUBLISH_RETRY_SECONDS[min(attempt, len(PUBLISH_RETRY_SECONDS) - 1)]
                attempt += 1
                log.warning(
                    "publishing failed; retrying", error=type(exc).__name__, delay_seconds=delay
                )
                await asyncio.sleep(delay)
            else:
                return

    def _done(self, record: InputRecord) -> None:
        tp = (record.topic, record.partition)
        generation = self._read_in.pop((record.topic, record.partition, record.offset), None)
        tracker = self._trackers.get(tp)
        if tracker is None or generation != self._generation[tp]:
            return  # the partition was revoked meanwhile; its owner reads the record again
        tracker.finish(record.offset)
        self._unfinished[tp] -= 1
        self._progress.set()

    # ----------------------------------------------------- offsets and flow

    def committable(self) -> dict[TopicPartition, int]:
        """The offset each partition may commit now."""
        return {
            tp: mark
            for tp, tracker in self._trackers.items()
            if (mark := tracker.watermark) is not None
        }

    def buffered(self, tp: TopicPartition | None = None) -> int:
        """Records read and not finished (all partitions, or one)."""
        if tp is not None:
            return self._unfinished.get(tp, 0)
        return sum(self._unfinished.values())

    @property
    def provider_unreachable(self) -> bool:
        """True after several calls in a row got no answer from the provider."""
        return self._unanswered_calls >= UNREACHABLE_AFTER

    @property
    def halted(self) -> bool:
        """True while the provider refuses the configuration."""
        return self._halted_reason is not None

    @property
    def queued(self) -> int:
        """Valid events waiting in lanes (not yet in a call)."""
        return len(self._lanes)

    async def release_partitions(
        self, tps: Iterable[TopicPartition], timeout: float
    ) -> dict[TopicPartition, int]:
        """Stop work of revoked partitions: drop queued, let in-flight finish within ``timeout``.

        Returns the offsets to commit for them; their trackers are then forgotten.
        """
        revoked = set(tps)
        dropped = self._lanes.remove_where(lambda item: item.tp in revoked)
        for item in dropped:
            self._unfinished[item.tp] -= 1
            if isinstance(item.event, ValidGroupImport):
                self._groups.import_abandoned(item.event.group_id)
        lanes = [key for key, tp in self._lane_tp.items() if tp in revoked]
        # Abandoned lanes start nothing new (no retry, no wait for a group, no next batch), but
        # a call already on the wire finishes and its outcomes are published.
        for key in lanes:
            state = self._lane_states.get(key)
            if state is not None:
                state.abandoned.set()
        deadline = time.monotonic() + timeout
        await self._wait_until(lambda: all(key not in self._lane_tasks for key in lanes), timeout)
        side = [task for task in self._side_tasks if not task.done()]
        if side:
            await asyncio.wait(side, timeout=max(0.0, deadline - time.monotonic()))
        for key in lanes:
            task = self._lane_tasks.get(key)
            if task is not None:
                task.cancel()
            self._lane_tp.pop(key, None)
        self._groups.forget_creations()
        marks = {
            tp: mark
            for tp in revoked
            if (tracker := self._trackers.pop(tp, None)) is not None
            and (mark := tracker.watermark) is not None
        }
        for tp in revoked:
            self._unfinished.pop(tp, None)
            self._generation[tp] += 1
        return marks

    async def drain(self, timeout: float) -> dict[TopicPartition, int]:
        """Stop taking records, finish in-flight work within ``timeout``; return final offsets."""
        self._accepting = False
        return await self.release_partitions(list(self._trackers), timeout)

    async def _wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), min(remaining, 0.25))
            except TimeoutError:
                continue
        return True

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until every record read is finished (tests and the demo)."""
        return await self._wait_until(lambda: self.buffered() == 0, timeout)
