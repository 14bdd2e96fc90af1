# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Starting the outcome producer against a broker without idempotent producers."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, UnknownError

from service.embedded_broker import EmbeddedBroker
from service.errors import ProducerStartError
from service.messaging.producer_errors import (
    IDEMPOTENCE_SETTING,
    explain_producer_failure,
    start_producer,
)


def _do_init_pid() -> None:
    """Named like aiokafka's InitProducerId step, as the traceback shows it."""
    raise UnknownError


def failure_from_init_producer_id() -> BaseException:
    try:
        _do_init_pid()
    except UnknownError as exc:
        failure: BaseException = exc
        return failure
    raise AssertionError


class TestExplain:
    def test_an_init_producer_id_failure_is_one_line_naming_the_setting(self) -> None:
        """The 150-line traceback becomes one line telling what to set."""
        line = explain_producer_failure(failure_from_init_producer_id(), idempotent=True)
        assert (True, True) == (
            line is not None and f"{IDEMPOTENCE_SETTING}=false" in line,
            line is not None and "\n" not in line,
        )

    def test_other_failures_are_left_alone(self) -> None:
        """A broker that cannot be reached, or a producer that is not idempotent: no advice."""
        assert (None, None) == (
            explain_producer_failure(KafkaConnectionError("no broker"), idempotent=True),
            explain_producer_failure(failure_from_init_producer_id(), idempotent=False),
        )


@pytest.mark.kafka
class TestAgainstTheEmbeddedBroker:
    async def test_an_idempotent_producer_fails_with_one_clear_line(
        self, kafka_broker: EmbeddedBroker
    ) -> None:
        """The embedded broker has no InitProducerId: ProducerStartError naming the setting."""
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka_broker.bootstrap_servers, enable_idempotence=True
        )
        with pytest.raises(ProducerStartError) as caught:
            await start_producer(producer, idempotent=True)
        message = str(caught.value)
        assert (True, True, None) == (
            f"{IDEMPOTENCE_SETTING}=false" in message,
            "\n" not in message,
            caught.value.__cause__,
        )
