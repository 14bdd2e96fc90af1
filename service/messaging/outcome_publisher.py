# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Publishing outcome events and dead letters with acks=all (the Kafka side of ``OutcomeSink``).

A plain aiokafka producer is used rather than FastStream's publisher so that a dead letter is the
original record byte for byte (binary header values included) and so that a batch of outcomes is
appended in order and awaited once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError

from service.domain.events import InputRecord, OutcomeEvent
from service.messaging.dead_letter import dead_letter_headers
from service.settings import TopicsSettings


def encode_outcome(outcome: OutcomeEvent) -> bytes:
    """The outcome's JSON, as consumers of the outcomes topic read it."""
    return outcome.model_dump_json().encode("utf-8")


class KafkaOutcomeSink:
    """Publishes to the outcomes and dead-letter topics."""

    def __init__(self, producer: AIOKafkaProducer, topics: TopicsSettings) -> None:
        self._producer = producer
        self._topics = topics

    async def publish_outcomes(self, outcomes: Sequence[OutcomeEvent]) -> None:
        """Append every outcome in order, then wait for all acknowledgements."""
        futures = [
            await self._producer.send(
                self._topics.outcomes,
                value=encode_outcome(outcome),
                # the group's key; an account's outcome is keyed by the account
                key=(outcome.group_id or outcome.user_id or "").encode("utf-8"),
            )
            for outcome in outcomes
        ]
        await asyncio.gather(*futures)

    async def publish_dead_letter(self, record: InputRecord, reason: str) -> None:
        """Publish the record unchanged (key, value, headers) plus the error headers.

        A record too large for the dead-letter topic is published without its value, with an
        ``error.value-omitted`` header giving its size: the original stays in the input topic,
        and consumption goes on instead of retrying a record that can never be written.
        """
        headers = dead_letter_headers(record, reason)
        try:
            future = await self._producer.send(
                self._topics.dead_letter, value=record.value, key=record.key, headers=headers
            )
            await future
        except (MessageSizeTooLargeError, RecordTooLargeError):
            size = str(len(record.value or b"")).encode("ascii")
            future = await self._producer.send(
                self._topics.dead_letter,
                value=None,
                key=record.key,
                headers=[*headers, ("error.value-omitted", size)],
            )
            await future
