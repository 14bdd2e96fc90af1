# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The control topic's channel: when it warns about the reports' time stamps."""

from __future__ import annotations

from structlog.testing import capture_logs

from service.messaging.control_channel import ControlChannel
from service.settings import KafkaSettings

WARNING = (
    "the control topic keeps the producers' time stamps: the replicas' clocks must agree "
    "closely; set message.timestamp.type=LogAppendTime on it"
)


async def test_producer_time_stamps_are_worth_a_warning_once_two_clocks_stamp_them() -> None:
    """One replica alone (the demo) has one clock; a second one makes their agreement matter."""
    channel = ControlChannel(KafkaSettings(bootstrap_servers="127.0.0.1:1"), "control")
    with capture_logs() as logs:
        channel._note_producer_stamp("a")
        channel._note_producer_stamp("a")
        assert [entry for entry in logs if entry["event"] == WARNING] == []
        channel._note_producer_stamp("b")
        channel._note_producer_stamp("c")
    assert [entry["topic"] for entry in logs if entry["event"] == WARNING] == ["control"]
