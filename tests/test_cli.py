# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The command's edge: a refused configuration is one line on stderr and exit code 2."""

from __future__ import annotations

from typer.testing import CliRunner

from service.cli import app

PASSWORD = "sasl-password-that-must-not-show"


def invoke(*args: str, env: dict[str, str]) -> tuple[int, list[str], str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stderr.splitlines(), result.stdout


class TestConfigurationError:
    def test_an_unknown_kafka_key_is_one_line(self) -> None:
        """``report`` with a misspelt Kafka key exits 2 with one line naming the key only."""
        code, lines, _ = invoke("report", env={"CHAT_IMPORT_KAFKA__SASL_PASWORD": PASSWORD})
        expected = ["configuration error: CHAT_IMPORT_KAFKA__SASL_PASWORD: unknown setting"]
        assert (2, expected) == (code, lines)

    def test_an_incomplete_sasl_setup_is_one_line_however_long(self) -> None:
        """A long reason is not wrapped: still one line, naming every missing setting."""
        env = {"CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL": "SASL_SSL"}
        code, lines, _ = invoke("produce", "/dev/null", env=env)
        assert (2, 1) == (code, len(lines))
        assert lines[0].endswith("CHAT_IMPORT_KAFKA__SASL_PASSWORD")

    def test_run_refuses_before_logging_anything(self) -> None:
        """``run`` with an incomplete SASL setup says why in one line and starts nothing."""
        env = {
            "CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "CHAT_IMPORT_KAFKA__SASL_MECHANISM": "PLAIN",
            "CHAT_IMPORT_KAFKA__SASL_PASSWORD": PASSWORD,
        }
        code, lines, out = invoke("run", env=env)
        expected = (
            "configuration error: CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL=SASL_PLAINTEXT needs "
            "CHAT_IMPORT_KAFKA__SASL_USERNAME"
        )
        assert (2, [expected], "") == (code, lines, out)
