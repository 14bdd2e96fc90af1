# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Isolating the message that made the provider refuse a whole call, so only it fails.

When ``import_group_msg`` is refused as a whole (Tencent 10004, 10020) for what one of its
messages holds, the lane hands the batch here. ``service.domain.isolation.IsolationPlan`` says
which calls to make: the batch without the message the answer names, then halves, down to single
messages. Each call goes through the ``ProviderCaller`` (budget, retries), one after another and
in the batch's order, so the group's order is kept. Every message ends with a ``MessageResult``:
its own result from a call that was answered, or the refusal that isolated it.

A call that may have been applied (``Unsure``) or a group that went missing stops the plan: the
messages settled so far keep their results, and the lane takes the others back (it checks the
history first, then sends them again as one call).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from service.domain.isolation import IsolationPlan
from service.providers.base import MessageResult
from service.runtime.caller import Answered, CallResult, GaveUp, GroupMissing, Refused, Unsure
from service.runtime.work import WorkItem

Call = Callable[[list[WorkItem]], Awaitable[CallResult[list[MessageResult]]]]


@dataclass(slots=True)
class Isolated:
    """How the messages of a refused batch ended."""

    # the messages settled, in the batch's order, each with its result
    settled: list[tuple[WorkItem, MessageResult]] = field(default_factory=list)
    # the messages left when a call stopped the plan (in the batch's order), and that call
    rest: list[WorkItem] = field(default_factory=list)
    stopped_by: Unsure | GroupMissing | None = None
    # messages of ``rest`` a refusal named (code, reason): what they fail with if the history
    # then shows their batch-mates stored without them
    named: dict[WorkItem, tuple[int, str]] = field(default_factory=dict)


async def isolate(
    call: Call,
    batch: Sequence[WorkItem],
    refusal: Refused,
    *,
    isolatable: frozenset[int],
) -> Isolated:
    """Make the plan's calls for ``batch``, whose whole call was just refused with ``refusal``.

    ``call`` makes one import call of the messages given (through the ``ProviderCaller``).
    """
    plan = IsolationPlan.after_refusal(
        len(batch),
        refusal.code,
        refusal.info,
        suspect=refusal.suspect,
        isolatable=isolatable,
    )
    answers: dict[int, MessageResult] = {}
    stopped_by: Unsure | GroupMissing | None = None
    named = _named({}, tuple(range(len(batch))), refusal)
    while (positions := plan.next_call()) is not None:
        items = [batch[p] for p in positions]
        result = await call(items)
        if isinstance(result, Answered):
            plan.answered()
            answers.update(zip(positions, result.value, strict=True))
        elif isinstance(result, Refused):
            plan.refused(result.code, result.info, suspect=result.suspect)
            named = _named(named, positions, result)
        elif isinstance(result, GaveUp):
            plan.abandon(result.code, result.info)
        else:
            stopped_by = result
            break
    isolated = Isolated(stopped_by=stopped_by)
    fates = plan.fates
    for position, item in enumerate(batch):
        fate = fates.get(position)
        if fate is None:
            isolated.rest.append(item)
            if position in named:
                isolated.named[item] = named[position]
        elif fate.answered:
            isolated.settled.append((item, answers[position]))
        else:
            isolated.settled.append((item, MessageResult(fate.code, info=fate.info)))
    return isolated


def _named(
    named: dict[int, tuple[int, str]], positions: tuple[int, ...], refusal: Refused
) -> dict[int, tuple[int, str]]:
    """``named`` plus the position the refusal of a call of ``positions`` names, if any."""
    suspect = refusal.suspect
    if suspect is None or not 0 <= suspect < len(positions):
        return named
    return {**named, positions[suspect]: (refusal.code, refusal.info)}
