# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Starting the outcome producer against a broker without idempotent producers."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, UnknownError
from pydantic import SecretStr

from service.embedded_broker import EmbeddedBroker
from service.errors import ProducerStartError
from service.messaging.producer_errors import (
    IDEMPOTENCE_SETTING,
    explain_producer_failure,
    start_producer,
)
from service.settings import KafkaSettings, Settings, TencentSettings, TopicsSettings
from service.tools.local_stack import settings_env

CLI_TIMEOUT_SECONDS = 60


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


async def run_command(env: dict[str, str]) -> tuple[int, list[str]]:
    """``chat-import run`` in its own process; its exit code and the lines it wrote on stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        "run",
        env={**{k: v for k, v in os.environ.items() if not k.startswith("CHAT_IMPORT_")}, **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT_SECONDS)
    assert process.returncode is not None
    return process.returncode, err.decode().splitlines()


@pytest.mark.kafka
class TestRunAgainstABrokerWithoutIdempotence:
    async def test_run_exits_with_one_line_naming_the_setting(
        self, kafka_broker: EmbeddedBroker, run_id: str
    ) -> None:
        """``chat-import run`` with idempotence on: exit 1, one line naming the setting to change.

        No traceback: every line on stderr is a JSON log line, and exactly one says what to set.
        """
        settings = Settings(
            kafka=KafkaSettings(
                bootstrap_servers=kafka_broker.bootstrap_servers,
                group_id=f"idempotence-{run_id}",
                idempotent_producer=True,
                topic_partitions=1,
            ),
            topics=TopicsSettings(
                groups=f"groups-{run_id}",
                messages=f"messages-{run_id}",
                outcomes=f"outcomes-{run_id}",
                dead_letter=f"dead-letter-{run_id}",
            ),
            tencent=TencentSettings(sdk_app_id=1_400_000_001, secret_key=SecretStr("k" * 32)),
            http_port=0,
        )
        code, lines = await run_command(settings_env(settings))
        logged = [json.loads(line) for line in lines]  # a traceback line is not JSON
        naming = [entry for entry in logged if f"{IDEMPOTENCE_SETTING}=false" in str(entry)]
        assert (1, 1) == (code, len(naming))
        assert ("error", "cannot start the outcome producer") == (
            naming[0]["level"],
            naming[0]["event"],
        )
