# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Finding the message that made the provider refuse a whole call, so only it fails.

Tencent refuses a whole ``import_group_msg`` call (10004, 10020) when one of its up to seven
messages breaks a rule; failing all seven for one of them is wrong. ``IsolationPlan`` says which
calls to make next, one at a time, from what the provider answered:

- a call **answered** (HTTP and ``ErrorCode`` 0): its messages are settled by their own
  per-message results (imported, or refused one by one);
- a call **refused** with an isolatable code, of more than one message: if the refusal names a
  message (``suspect``, its position in that call), the same call without it is tried, and if
  that is answered the suspect fails with the refusal; otherwise (or if the call without the
  suspect is refused too) the call is split in halves, earlier half first, down to single
  messages; a single message refused fails with the refusal;
- a call refused with any other code fails its messages with it (``abandon`` fails the rest).

Calls are made strictly one after another and each holds messages in their original order, and
the earlier ones first: the group's order is kept. Every message ends answered or failed
exactly once. The plan is pure: positions in, positions out; the caller makes the calls.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Fate:
    """How one message of the batch ended: answered by a call, or refused (code and reason)."""

    answered: bool
    code: int = 0
    info: str = ""


ANSWERED = Fate(answered=True)


@dataclass(frozen=True, slots=True)
class _Call:
    positions: tuple[int, ...]
    # the suspect left out of this call, the refusal that named it, and the call it came from
    held: int | None = None
    held_fate: Fate | None = None
    whole: tuple[int, ...] = ()


def _halves(positions: tuple[int, ...]) -> list[_Call]:
    middle = (len(positions) + 1) // 2
    return [_Call(positions[:middle]), _Call(positions[middle:])]


class IsolationPlan:
    """The calls that isolate the refused message(s) of one batch of ``size`` messages."""

    def __init__(self, size: int, *, isolatable: frozenset[int]) -> None:
        if size < 1:
            msg = "a batch holds at least one message"
            raise ValueError(msg)
        self._size = size
        self._isolatable = isolatable
        self._queue: deque[_Call] = deque([_Call(tuple(range(size)))])
        self._current: _Call | None = None
        self._fates: dict[int, Fate] = {}
        self.calls = 0

    @classmethod
    def after_refusal(
        cls,
        size: int,
        code: int,
        info: str,
        *,
        suspect: int | None,
        isolatable: frozenset[int],
    ) -> IsolationPlan:
        """The plan for a batch whose whole call was just refused with ``code``."""
        plan = cls(size, isolatable=isolatable)
        plan.next_call()
        plan.refused(code, info, suspect=suspect)
        return plan

    @property
    def done(self) -> bool:
        """True when every message of the batch is settled."""
        return len(self._fates) == self._size

    @property
    def fates(self) -> dict[int, Fate]:
        """Position in the batch -> how it ended (so far)."""
        return dict(self._fates)

    @property
    def failures(self) -> dict[int, Fate]:
        """The positions refused by isolation, with the code and reason to fail them with."""
        return {p: fate for p, fate in self._fates.items() if not fate.answered}

    def next_call(self) -> tuple[int, ...] | None:
        """Positions (ascending) of the messages of the next call; None when nothing is left."""
        if self._current is not None:
            msg = "the previous call has no answer yet"
            raise RuntimeError(msg)
        while self._queue:
            call = self._queue.popleft()
            if call.positions:
                self._current = call
                self.calls += 1
                return call.positions
            if call.held is not None and call.held_fate is not None:  # nothing left but it
                self._settle(call.held, call.held_fate)
        return None

    def answered(self) -> None:
        """The current call was answered: its messages take their per-message results."""
        call = self._take()
        for position in call.positions:
            self._settle(position, ANSWERED)
        if call.held is not None and call.held_fate is not None:
            # the same call without the suspect went through: the suspect was the fault
            self._settle(call.held, call.held_fate)

    def refused(self, code: int, info: str, *, suspect: int | None = None) -> None:
        """The current call was refused as a whole; ``suspect``: the position the answer names."""
        call = self._take()
        fate = Fate(answered=False, code=code, info=info)
        if code not in self._isolatable:
            for position in call.positions:
                self._settle(position, fate)
            if call.held is not None and call.held_fate is not None:
                self._settle(call.held, call.held_fate)
            return
        if call.held is not None:
            # refused without the suspect too: the fault (also) lies elsewhere; halve the whole
            self._queue.extendleft(reversed(_halves(call.whole)))
            return
        if len(call.positions) == 1:
            self._settle(call.positions[0], fate)
            return
        if suspect is not None and 0 <= suspect < len(call.positions):
            named = call.positions[suspect]
            rest = tuple(p for p in call.positions if p != named)
            self._queue.appendleft(_Call(rest, held=named, held_fate=fate, whole=call.positions))
            return
        self._queue.extendleft(reversed(_halves(call.positions)))

    def abandon(self, code: int, info: str) -> None:
        """Fail every message not settled yet (the call in flight included) with ``code``."""
        fate = Fate(answered=False, code=code, info=info)
        self._current = None
        self._queue.clear()
        for position in range(self._size):
            if position not in self._fates:
                self._settle(position, fate)

    def _take(self) -> _Call:
        call = self._current
        if call is None:
            msg = "no call is in flight"
            raise RuntimeError(msg)
        self._current = None
        return call

    def _settle(self, position: int, fate: Fate) -> None:
        if position in self._fates:
            msg = f"message {position} was settled twice"
            raise RuntimeError(msg)
        self._fates[position] = fate
