# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The redaction step every log line passes, and the two output formats."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from service.embedded_broker import EmbeddedBroker
from service.log import REDACTED, Redactor, configure_logging
from service.settings import Settings
from tests.integration.events import message_record
from tests.integration.harness import SECRET_KEY, make_settings, produce, running, wait_for

KEY = "fake-signing-key-0123456789"
SIG = "eJyrVspOLSjITM5WslIqSS0pVajVUgxS"
URL = (
    "https://adminapisgp.im.qcloud.com/v4/group_open_http_svc/import_group_msg"
    f"?sdkappid=1400000001&identifier=administrator&usersig={SIG}&random=42&contenttype=json"
)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    configure_logging(level="WARNING", fmt="json")


class TestRedactor:
    def test_configured_secrets_are_replaced_everywhere_in_an_event(self) -> None:
        """Strings, nested dicts, lists, tuples and exceptions lose every configured secret."""
        redactor = Redactor([KEY])
        event = {
            "event": f"signing with {KEY}",
            "nested": {"inner": [f"x{KEY}y", (KEY, 3)]},
            "error": ValueError(f"bad key {KEY}"),
            "count": 7,
        }
        cleaned = redactor(None, "info", event)
        assert KEY not in repr(cleaned)
        assert {
            "event": f"signing with {REDACTED}",
            "nested": {"inner": [f"x{REDACTED}y", (REDACTED, 3)]},
            "error": f"ValueError: bad key {REDACTED}",
            "count": 7,
        } == cleaned

    def test_usersig_query_values_are_replaced_without_knowing_them(self) -> None:
        """A signed URL loses its usersig value; the other parameters stay readable."""
        text = Redactor().scrub(URL)
        assert SIG not in text
        assert f"usersig={REDACTED}&random=42" in text
        assert "sdkappid=1400000001&identifier=administrator" in text
        assert f"UserSig={REDACTED} " in Redactor().scrub(f"UserSig={SIG} refused")

    def test_secrets_added_at_run_time_are_replaced_from_then_on(self) -> None:
        """A UserSig signed while running is registered and scrubbed; short strings are not."""
        redactor = Redactor()
        assert SIG in redactor.scrub(f"sig {SIG}")
        redactor.add(SIG)
        redactor.add("abc")
        assert (f"sig {REDACTED}", "abc") == (redactor.scrub(f"sig {SIG}"), redactor.scrub("abc"))


class TestOutput:
    def test_json_lines_carry_fields_and_no_secret(self, captured: io.StringIO) -> None:
        """The default format is one JSON object a line, with the event's fields, scrubbed."""
        configure_logging(level="INFO", fmt="json", secrets=[KEY], stream=captured)
        structlog.get_logger("test").info(
            "event failed", event_id="e-1", group_id="g-1", partition=3, offset=42, url=URL, key=KEY
        )
        line = json.loads(captured.getvalue().strip().splitlines()[-1])
        assert {
            "event": "event failed",
            "event_id": "e-1",
            "group_id": "g-1",
            "partition": 3,
            "offset": 42,
            "level": "info",
            "key": REDACTED,
        } == {
            k: line[k]
            for k in ("event", "event_id", "group_id", "partition", "offset", "level", "key")
        }
        assert (False, False) == (KEY in captured.getvalue(), SIG in captured.getvalue())

    def test_standard_library_records_are_scrubbed_too(self, captured: io.StringIO) -> None:
        """A library logging through ``logging`` cannot leak a signed URL."""
        configure_logging(level="INFO", fmt="json", secrets=[KEY], stream=captured)
        logging.getLogger("some.library").warning("request to %s with %s failed", URL, KEY)
        assert (False, False, True) == (
            KEY in captured.getvalue(),
            SIG in captured.getvalue(),
            f"usersig={REDACTED}" in captured.getvalue(),
        )

    def test_console_format_is_for_humans(self, captured: io.StringIO) -> None:
        """``CHAT_IMPORT_LOG_FORMAT=console`` gives readable lines, scrubbed as well."""
        configure_logging(level="INFO", fmt="console", secrets=[KEY], stream=captured)
        structlog.get_logger("test").info("provider call will be retried", group_id="g-1", key=KEY)
        text = captured.getvalue()
        assert "provider call will be retried" in text
        assert "group_id=g-1" in text
        assert KEY not in text
        with pytest.raises(json.JSONDecodeError):
            json.loads(text.strip().splitlines()[-1])

    def test_json_is_the_default_format(self) -> None:
        """Without CHAT_IMPORT_LOG_FORMAT the service logs JSON."""
        assert ("json", "INFO") == (Settings().log_format, Settings().log_level)


@pytest.mark.kafka
class TestServiceLogs:
    async def test_every_line_of_a_run_is_json_and_a_failure_names_its_record(
        self, kafka_broker: EmbeddedBroker, run_id: str, captured: io.StringIO
    ) -> None:
        """FastStream's own lines included; a failed event carries event_id, group, partition, offset."""
        configure_logging(level="INFO", fmt="json", secrets=[SECRET_KEY], stream=captured)
        settings = make_settings(kafka_broker.bootstrap_servers, "http://127.0.0.1:9", run_id)
        bad = message_record(settings, "lg", 0, SendTime=4_102_444_800)  # in the future: 10004
        async with running(settings):
            await produce(kafka_broker.bootstrap_servers, [bad])

            async def failure_logged() -> bool:
                return '"event failed"' in captured.getvalue()

            await wait_for(failure_logged, timeout=30)
        lines = [json.loads(line) for line in captured.getvalue().splitlines()]
        assert {"service.app", "service.engine", "service.faststream"} <= {
            line.get("logger") for line in lines
        }
        failed = next(line for line in lines if line["event"] == "event failed")
        assert {
            "event_id": "it:msg:lg:00000",
            "group_id": "lg",
            "topic": settings.topics.messages,
            "error_code": 10004,
            "detected_by": "service",
        } == {k: failed[k] for k in ("event_id", "group_id", "topic", "error_code", "detected_by")}
        assert (int, int) == (type(failed["partition"]), type(failed["offset"]))
        assert SECRET_KEY not in captured.getvalue()
