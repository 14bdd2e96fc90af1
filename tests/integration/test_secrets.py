# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Secrets never reach logs or outcomes, even when the provider refuses them."""

from __future__ import annotations

import io
import re

import pytest
from pydantic import SecretStr

from service.embedded_broker import EmbeddedBroker
from service.emulator.server import EmulatorServer
from service.log import configure_logging

from .events import group_record, message_record
from .harness import SECRET_KEY, make_settings, produce, read_outcomes, running, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.emulator]

SIG_IN_URL = re.compile(r"usersig=(?!\[redacted\])")


@pytest.fixture
def captured_logs():
    stream = io.StringIO()
    configure_logging(level="DEBUG", fmt="json", secrets=[SECRET_KEY], stream=stream)
    yield stream
    configure_logging(level="WARNING", fmt="json")


class TestSecrets:
    async def test_a_whole_run_logs_no_secret(
        self,
        kafka_broker: EmbeddedBroker,
        emulator: EmulatorServer,
        run_id: str,
        captured_logs: io.StringIO,
    ):
        """At DEBUG, through imports and retries, neither the key nor a signed URL is logged."""
        settings = make_settings(kafka_broker.bootstrap_servers, emulator.url, run_id)
        async with running(settings):
            await produce(kafka_broker.bootstrap_servers, [message_record(settings, "s", 0)])

            async def retried() -> bool:
                return "provider call will be retried" in captured_logs.getvalue()

            await wait_for(retried, timeout=30)
            await produce(kafka_broker.bootstrap_servers, [group_record(settings, "s")])

            async def done() -> bool:
                return (
                    len(
                        await read_outcomes(
                            kafka_broker.bootstrap_servers, settings.topics.outcomes
                        )
                    )
                    >= 2
                )

            await wait_for(done, timeout=30)
        logs = captured_logs.getvalue()
        outcomes = str(
            await read_outcomes(kafka_broker.bootstrap_servers, settings.topics.outcomes)
        )
        assert (False, None, False) == (
            SECRET_KEY in logs,
            SIG_IN_URL.search(logs),
            "usersig" in outcomes,
        )

    async def test_a_refused_key_is_reported_without_the_key(
        self,
        kafka_broker: EmbeddedBroker,
        emulator: EmulatorServer,
        run_id: str,
        captured_logs: io.StringIO,
    ):
        """With a wrong key the service halts calls and says why (70003), never printing the key."""
        wrong = "a-wrong-key-that-must-not-be-printed"
        settings = make_settings(kafka_broker.bootstrap_servers, emulator.url, run_id)
        settings.tencent.secret_key = SecretStr(wrong)
        configure_logging(level="DEBUG", fmt="json", secrets=[wrong], stream=captured_logs)
        async with running(settings) as service:
            await produce(kafka_broker.bootstrap_servers, [group_record(settings, "k")])

            async def halted() -> bool:
                return service.resources is not None and service.resources.engine.halted

            await wait_for(halted, timeout=30)
            ready, reason = service.readiness()
        logs = captured_logs.getvalue()
        assert (False, "the provider refuses the configuration") == (ready, reason)
        assert "70003" in logs
        assert (False, None) == (wrong in logs, SIG_IN_URL.search(logs))
