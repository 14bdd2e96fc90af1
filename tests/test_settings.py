# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Kafka's security settings: what combinations are refused, and how a refusal reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr, ValidationError

from service.settings import (
    KafkaSettings,
    SaslMechanism,
    SecurityProtocol,
    Settings,
    describe_error,
    env_name,
)

if TYPE_CHECKING:
    from pathlib import Path

PASSWORD = "sasl-password-that-must-not-show"
SASL = {
    "CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
    "CHAT_IMPORT_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
    "CHAT_IMPORT_KAFKA__SASL_USERNAME": "chat-import",
    "CHAT_IMPORT_KAFKA__SASL_PASSWORD": PASSWORD,
}


def refusal(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> str:
    """The one-line description of why ``Settings()`` refuses ``env``."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    return describe_error(caught.value)


@pytest.fixture
def pem(tmp_path: Path) -> Path:
    """A file where a PEM file is expected (its content is not read by the settings)."""
    path = tmp_path / "file.pem"
    path.write_text("not read here\n")
    return path


class TestDefaults:
    def test_plaintext_without_credentials(self) -> None:
        """By default the service connects in plaintext, without SASL or TLS settings."""
        kafka = KafkaSettings()
        assert (SecurityProtocol.PLAINTEXT, None, None, None, True) == (
            kafka.security_protocol,
            kafka.sasl_mechanism,
            kafka.sasl_password,
            kafka.ssl_cafile,
            kafka.ssl_check_hostname,
        )


class TestAccepted:
    def test_sasl_ssl_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """SASL_SSL with SCRAM-SHA-512, a user and a password is a complete configuration."""
        for name, value in SASL.items():
            monkeypatch.setenv(name, value)
        kafka = Settings().kafka
        assert (SecurityProtocol.SASL_SSL, SaslMechanism.SCRAM_SHA_512, "chat-import") == (
            kafka.security_protocol,
            kafka.sasl_mechanism,
            kafka.sasl_username,
        )
        assert PASSWORD == kafka.sasl_password.get_secret_value()  # type: ignore[union-attr]

    def test_the_password_is_not_in_the_settings_repr(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Printing the settings (or logging them by mistake) shows no SASL password."""
        for name, value in SASL.items():
            monkeypatch.setenv(name, value)
        assert PASSWORD not in repr(Settings())

    def test_values_are_case_insensitive(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """``sasl_ssl`` and ``scram-sha-256`` are read as Kafka's own clients read them."""
        for name, value in SASL.items():
            monkeypatch.setenv(name, value.lower() if "PASSWORD" not in name else value)
        kafka = Settings().kafka
        assert (SecurityProtocol.SASL_SSL, SaslMechanism.SCRAM_SHA_512) == (
            kafka.security_protocol,
            kafka.sasl_mechanism,
        )

    def test_mutual_tls(self, pem: Path) -> None:
        """SSL with a CA, a client certificate, its key and the key's password is accepted."""
        kafka = KafkaSettings(
            security_protocol=SecurityProtocol.SSL,
            ssl_cafile=pem,
            ssl_certfile=pem,
            ssl_keyfile=pem,
            ssl_keyfile_password=SecretStr("x"),
        )
        assert (pem, pem) == (kafka.ssl_certfile, kafka.ssl_keyfile)


class TestRefused:
    def test_sasl_protocol_without_credentials(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A SASL protocol without mechanism, username and password names all three."""
        expected = (
            "CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL=SASL_PLAINTEXT needs "
            "CHAT_IMPORT_KAFKA__SASL_MECHANISM, CHAT_IMPORT_KAFKA__SASL_USERNAME, "
            "CHAT_IMPORT_KAFKA__SASL_PASSWORD"
        )
        env = {"CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT"}
        assert expected == refusal(monkeypatch, env)

    def test_sasl_protocol_without_password(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A missing password alone is named alone (a Secret not mounted, typically)."""
        env = {k: v for k, v in SASL.items() if "PASSWORD" not in k}
        expected = (
            "CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL=SASL_SSL needs CHAT_IMPORT_KAFKA__SASL_PASSWORD"
        )
        assert expected == refusal(monkeypatch, env)

    def test_sasl_credentials_without_a_sasl_protocol(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Credentials with PLAINTEXT would connect without them: refused, naming the protocol."""
        env = {k: v for k, v in SASL.items() if "PROTOCOL" not in k}
        message = refusal(monkeypatch, env)
        assert message.endswith(
            "set, but CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL is PLAINTEXT: use SASL_SSL or "
            "SASL_PLAINTEXT to authenticate"
        )
        assert PASSWORD not in message

    def test_tls_files_without_a_tls_protocol(
        self, monkeypatch: pytest.MonkeyPatch, pem: Path
    ) -> None:
        """A CA file with PLAINTEXT would connect unencrypted: refused, naming both settings."""
        expected = (
            "CHAT_IMPORT_KAFKA__SSL_CAFILE set, but CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL is "
            "PLAINTEXT: use SSL or SASL_SSL to connect with TLS"
        )
        assert expected == refusal(monkeypatch, {"CHAT_IMPORT_KAFKA__SSL_CAFILE": str(pem)})

    def test_certificate_without_key(self, pem: Path) -> None:
        """A client certificate without its key (or the reverse) is refused."""
        with pytest.raises(ValidationError) as caught:
            KafkaSettings(security_protocol=SecurityProtocol.SSL, ssl_certfile=pem)
        assert describe_error(caught.value).startswith(
            "CHAT_IMPORT_KAFKA__SSL_CERTFILE and CHAT_IMPORT_KAFKA__SSL_KEYFILE go together"
        )

    def test_key_password_without_key(self) -> None:
        """A key password with no key to open is refused."""
        with pytest.raises(ValidationError) as caught:
            KafkaSettings(
                security_protocol=SecurityProtocol.SSL, ssl_keyfile_password=SecretStr("pw")
            )
        expected = (
            "CHAT_IMPORT_KAFKA__SSL_KEYFILE_PASSWORD set without CHAT_IMPORT_KAFKA__SSL_KEYFILE"
        )
        assert expected == describe_error(caught.value)

    def test_missing_ca_file(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """A CA file that does not exist is refused at start-up, with its path."""
        missing = tmp_path / "ca.pem"
        env = {
            "CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL": "SSL",
            "CHAT_IMPORT_KAFKA__SSL_CAFILE": str(missing),
        }
        expected = f"CHAT_IMPORT_KAFKA__SSL_CAFILE: Path does not point to a file ({missing})"
        assert expected == refusal(monkeypatch, env)

    def test_unknown_protocol(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """An unknown protocol lists the four Kafka knows."""
        expected = (
            "CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL: Input should be 'PLAINTEXT', 'SSL', "
            "'SASL_PLAINTEXT' or 'SASL_SSL'"
        )
        env = {"CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL": "TLS"}
        assert expected == refusal(monkeypatch, env)


class TestUnknownKafkaKeys:
    def test_a_misspelt_key_is_refused_by_name(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A typo under CHAT_IMPORT_KAFKA__ is an error naming the key, not an ignored setting."""
        env = {"CHAT_IMPORT_KAFKA__SASL_PASWORD": PASSWORD}
        assert "CHAT_IMPORT_KAFKA__SASL_PASWORD: unknown setting" == refusal(monkeypatch, env)

    def test_the_refused_value_is_never_shown(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The misspelt key's value (a password, here) is not in the message."""
        message = refusal(monkeypatch, {"CHAT_IMPORT_KAFKA__SASL_PASWORD": PASSWORD})
        assert PASSWORD not in message

    def test_every_problem_is_on_one_line(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Several refused settings are listed on one line, separated by semicolons."""
        env = {"CHAT_IMPORT_KAFKA__SASL_PASWORD": PASSWORD, "CHAT_IMPORT_HTTP_PORT": "-1"}
        message = refusal(monkeypatch, env)
        assert [0, 2] == [message.count("\n"), len(message.split("; "))]


class TestEnvName:
    def test_nested_setting(self) -> None:
        """A nested setting's variable is the prefix, the group and the field, upper case."""
        assert "CHAT_IMPORT_KAFKA__SSL_CAFILE" == env_name("kafka", "ssl_cafile")


class TestMigrationSettings:
    def test_member_maximum_and_recent_contact_flag_come_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """MEMBERS_PER_CALL, RECENT_CONTACT_FLAG and ACCOUNT_WAIT_SECONDS are read as numbers."""
        monkeypatch.setenv("CHAT_IMPORT_TENCENT__MEMBERS_PER_CALL", "100")
        monkeypatch.setenv("CHAT_IMPORT_TENCENT__RECENT_CONTACT_FLAG", "1")
        monkeypatch.setenv("CHAT_IMPORT_PIPELINE__ACCOUNT_WAIT_SECONDS", "30")
        settings = Settings()
        assert (100, 1, 30.0) == (
            settings.tencent.members_per_call,
            settings.tencent.recent_contact_flag,
            settings.pipeline.account_wait_seconds,
        )

    def test_a_recent_contact_flag_other_than_0_or_1_is_refused(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """RecentContactFlag is 0 or 1: 2 is refused, naming the variable."""
        monkeypatch.setenv("CHAT_IMPORT_TENCENT__RECENT_CONTACT_FLAG", "2")
        with pytest.raises(ValidationError) as caught:
            Settings()
        assert "CHAT_IMPORT_TENCENT__RECENT_CONTACT_FLAG" in describe_error(caught.value)
