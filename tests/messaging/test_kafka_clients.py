# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The clients' TLS and SASL options, built from the settings in one place."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

import pytest
from faststream.kafka.security import parse_security
from faststream.security import SASLPlaintext, SASLScram256, SASLScram512
from pydantic import SecretStr

from service.errors import KafkaAccessError
from service.messaging.kafka_clients import broker_security, security_options, ssl_context
from service.settings import KafkaSettings, SaslMechanism, SecurityProtocol
from tests.integration.certificates import CLIENT_KEY_PASSWORD, Pki, make_pki

if TYPE_CHECKING:
    from pathlib import Path

PASSWORD = "sasl-password-for-tests"
AIOKAFKA_DEFAULTS = {"security_protocol": "PLAINTEXT", "ssl_context": None}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def sasl(protocol: SecurityProtocol, mechanism: SaslMechanism, **more: Any) -> KafkaSettings:
    return KafkaSettings(
        security_protocol=protocol,
        sasl_mechanism=mechanism,
        sasl_username="chat-import",
        sasl_password=SecretStr(PASSWORD),
        **more,
    )


def comparable(options: dict[str, Any]) -> dict[str, Any]:
    """Options with the TLS context reduced to what it checks (two builds are two objects)."""
    context = options.get("ssl_context")
    if isinstance(context, ssl.SSLContext):
        return {**options, "ssl_context": (context.verify_mode, context.check_hostname)}
    return options


class TestSecurityOptions:
    def test_plaintext(self) -> None:
        """PLAINTEXT: no TLS context, no SASL arguments."""
        expected = {"security_protocol": "PLAINTEXT", "ssl_context": None}
        assert expected == security_options(KafkaSettings())

    def test_sasl_plaintext_passes_the_credentials(self) -> None:
        """SASL_PLAINTEXT with SCRAM-SHA-256 gives aiokafka the mechanism, user and password."""
        expected = {
            "security_protocol": "SASL_PLAINTEXT",
            "ssl_context": None,
            "sasl_mechanism": "SCRAM-SHA-256",
            "sasl_plain_username": "chat-import",
            "sasl_plain_password": PASSWORD,
        }
        kafka = sasl(SecurityProtocol.SASL_PLAINTEXT, SaslMechanism.SCRAM_SHA_256)
        assert expected == security_options(kafka)

    def test_ssl_verifies_the_broker_against_the_ca(self, pki: Pki) -> None:
        """SSL: a context that requires the broker's certificate, checks its name, trusts the CA."""
        context = ssl_context(
            KafkaSettings(security_protocol=SecurityProtocol.SSL, ssl_cafile=pki.ca)
        )
        assert context is not None
        subjects = [ca["subject"] for ca in context.get_ca_certs()]
        assert (ssl.CERT_REQUIRED, True, [((("commonName", "chat-import test CA"),),)]) == (
            context.verify_mode,
            context.check_hostname,
            subjects,
        )

    def test_hostname_check_can_be_turned_off(self, pki: Pki) -> None:
        """Without the host name check the certificate is still verified against the CA."""
        kafka = KafkaSettings(
            security_protocol=SecurityProtocol.SSL, ssl_cafile=pki.ca, ssl_check_hostname=False
        )
        context = ssl_context(kafka)
        assert context is not None
        assert (ssl.CERT_REQUIRED, False) == (context.verify_mode, context.check_hostname)

    def test_an_encrypted_client_key_opens_with_its_password(self, pki: Pki) -> None:
        """Mutual TLS: the client certificate and its password-protected key are loaded."""
        kafka = mutual_tls(pki, CLIENT_KEY_PASSWORD)
        assert isinstance(ssl_context(kafka), ssl.SSLContext)

    def test_an_encrypted_client_key_without_password_fails_without_prompting(
        self, pki: Pki
    ) -> None:
        """No password for an encrypted key is an error naming the settings, not a prompt."""
        with pytest.raises(KafkaAccessError) as caught:
            ssl_context(mutual_tls(pki, None))
        assert str(caught.value).endswith(
            "check CHAT_IMPORT_KAFKA__SSL_CERTFILE, CHAT_IMPORT_KAFKA__SSL_KEYFILE and "
            "CHAT_IMPORT_KAFKA__SSL_KEYFILE_PASSWORD"
        )

    def test_a_ca_file_that_is_not_pem_names_the_setting(self, tmp_path: Path) -> None:
        """A CA file that holds no certificate is refused, naming SSL_CAFILE."""
        junk = tmp_path / "ca.pem"
        junk.write_text("this is not a certificate\n")
        with pytest.raises(KafkaAccessError) as caught:
            ssl_context(KafkaSettings(security_protocol=SecurityProtocol.SSL, ssl_cafile=junk))
        assert str(caught.value).startswith(
            "cannot load the CA certificates in CHAT_IMPORT_KAFKA__SSL_CAFILE"
        )


def mutual_tls(pki: Pki, password: str | None) -> KafkaSettings:
    secret = SecretStr(password) if password is not None else None
    return KafkaSettings(
        security_protocol=SecurityProtocol.SSL,
        ssl_cafile=pki.ca,
        ssl_certfile=pki.client_cert,
        ssl_keyfile=pki.client_key,
        ssl_keyfile_password=secret,
    )


class TestBrokerSecurity:
    def test_plaintext_needs_no_security_object(self) -> None:
        """PLAINTEXT: FastStream's broker gets no security object (its AsyncAPI stays plain)."""
        assert None is broker_security(KafkaSettings())

    @pytest.mark.parametrize(
        ("mechanism", "security_type"),
        [
            (SaslMechanism.PLAIN, SASLPlaintext),
            (SaslMechanism.SCRAM_SHA_256, SASLScram256),
            (SaslMechanism.SCRAM_SHA_512, SASLScram512),
        ],
    )
    def test_each_mechanism_has_its_faststream_class(
        self, mechanism: SaslMechanism, security_type: type
    ) -> None:
        """Each SASL mechanism maps to FastStream's class of the same mechanism."""
        security = broker_security(sasl(SecurityProtocol.SASL_PLAINTEXT, mechanism))
        assert security_type is type(security)

    @pytest.mark.parametrize("protocol", list(SecurityProtocol), ids=str)
    def test_faststream_gives_its_consumer_the_same_options(
        self, protocol: SecurityProtocol, pki: Pki
    ) -> None:
        """FastStream turns the security object into the options every other client gets."""
        tls = {"ssl_cafile": pki.ca} if protocol.uses_tls else {}
        kafka = (
            sasl(protocol, SaslMechanism.SCRAM_SHA_512, **tls)
            if protocol.uses_sasl
            else KafkaSettings(security_protocol=protocol, **tls)
        )
        expected = comparable(security_options(kafka))
        actual = {**AIOKAFKA_DEFAULTS, **parse_security(broker_security(kafka))}
        assert expected == comparable(actual)
