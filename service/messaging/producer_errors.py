# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Why the outcome producer could not start, in one line.

An idempotent producer asks the broker for a producer id (``InitProducerId``) as it starts.
A Kafka-compatible broker without that request (the embedded one) answers with an error that
aiokafka raises as a bare ``UnknownError`` at the end of a long traceback, which tells an
operator nothing. ``explain_producer_failure`` recognises that failure and says what to set;
``start_producer`` starts a producer and raises ``ProducerStartError`` with that line instead.
"""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING, Final

from service.errors import ProducerStartError

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer

IDEMPOTENCE_SETTING: Final = "CHAT_IMPORT_KAFKA__IDEMPOTENT_PRODUCER"
# aiokafka's steps that ask for a producer id (aiokafka/producer/sender.py)
_PRODUCER_ID_STEPS: Final = frozenset({"_maybe_wait_for_pid", "_do_init_pid"})


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _asked_for_a_producer_id(exc: BaseException) -> bool:
    return any(
        frame.name in _PRODUCER_ID_STEPS
        for link in _chain(exc)
        for frame in traceback.extract_tb(link.__traceback__)
    )


def explain_producer_failure(exc: BaseException, *, idempotent: bool) -> str | None:
    """One line naming the setting to change when ``exc`` is the idempotence failure, else None."""
    if not idempotent or not _asked_for_a_producer_id(exc):
        return None
    return (
        f"the broker refused the idempotent outcome producer (InitProducerId failed: "
        f"{type(exc).__name__}); set {IDEMPOTENCE_SETTING}=false for a broker without "
        "idempotent producers (such as the embedded one), or allow IdempotentWrite on this one"
    )


async def start_producer(producer: AIOKafkaProducer, *, idempotent: bool) -> None:
    """Start ``producer``; a broker refusing idempotence raises ``ProducerStartError`` (one line).

    The producer is stopped first; any other failure is raised unchanged.
    """
    try:
        await producer.start()
    except Exception as exc:
        line = explain_producer_failure(exc, idempotent=idempotent)
        if line is None:
            raise
        await producer.stop()
        raise ProducerStartError(line) from None
