# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Connecting as the clients will, and one sentence naming the cause and the setting if not.

Each test puts a TLS or SASL listener (``kafka_fronts``) in front of the embedded broker and
checks a connection made with the service's own options, right or wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr

from service.embedded_broker import free_port
from service.errors import KafkaAccessError
from service.messaging.kafka_check import check_kafka
from service.settings import KafkaSettings, SaslMechanism, SecurityProtocol
from tests.integration.certificates import CLIENT_KEY_PASSWORD, Pki, make_pki, server_context
from tests.integration.kafka_fronts import FrontStats, SaslUsers, kafka_front

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from service.embedded_broker import EmbeddedBroker

pytestmark = pytest.mark.kafka

USER = "chat-import"
PASSWORD = "right-password-for-tests"
WRONG = "wrong-password-that-must-not-show"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def port() -> int:
    return free_port()


def settings(port: int, protocol: SecurityProtocol, **more: Any) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", security_protocol=protocol, **more)


def scram(port: int, password: str, protocol: SecurityProtocol, **more: Any) -> KafkaSettings:
    return settings(
        port,
        protocol,
        sasl_mechanism=more.pop("sasl_mechanism", SaslMechanism.SCRAM_SHA_256),
        sasl_username=USER,
        sasl_password=SecretStr(password),
        **more,
    )


async def refusal(kafka: KafkaSettings, *, timeout: float = 5.0) -> str:
    with pytest.raises(KafkaAccessError) as caught:
        await check_kafka(kafka, timeout=timeout)
    return str(caught.value)


@pytest.fixture
async def sasl_front(kafka_broker: EmbeddedBroker, port: int) -> AsyncIterator[FrontStats]:
    async with kafka_front(port, kafka_broker.port, sasl=SaslUsers({USER: PASSWORD})) as stats:
        yield stats


@pytest.fixture
async def tls_front(kafka_broker: EmbeddedBroker, port: int, pki: Pki) -> AsyncIterator[None]:
    async with kafka_front(port, kafka_broker.port, tls=server_context(pki)):
        yield


@pytest.fixture
async def mutual_tls_front(
    kafka_broker: EmbeddedBroker, port: int, pki: Pki
) -> AsyncIterator[FrontStats]:
    context = server_context(pki, require_client_cert=True)
    async with kafka_front(port, kafka_broker.port, tls=context) as stats:
        yield stats


class TestAccepted:
    async def test_scram_sha_256(self, sasl_front: FrontStats, port: int) -> None:
        """The right SCRAM-SHA-256 password authenticates; the check returns."""
        await check_kafka(scram(port, PASSWORD, SecurityProtocol.SASL_PLAINTEXT))
        assert [f"{USER}/SCRAM-SHA-256"] == sasl_front.authenticated

    async def test_sasl_ssl_with_plain(
        self, kafka_broker: EmbeddedBroker, port: int, pki: Pki
    ) -> None:
        """SASL_SSL with PLAIN (Confluent Cloud's way): TLS first, then the credentials."""
        users = SaslUsers({USER: PASSWORD})
        async with kafka_front(
            port, kafka_broker.port, tls=server_context(pki), sasl=users
        ) as stats:
            kafka = scram(
                port,
                PASSWORD,
                SecurityProtocol.SASL_SSL,
                sasl_mechanism=SaslMechanism.PLAIN,
                ssl_cafile=pki.ca,
            )
            await check_kafka(kafka)
        assert [f"{USER}/PLAIN"] == stats.authenticated

    async def test_mutual_tls(self, mutual_tls_front: FrontStats, port: int, pki: Pki) -> None:
        """A client certificate with its password-protected key satisfies a mutual-TLS listener."""
        kafka = settings(
            port,
            SecurityProtocol.SSL,
            ssl_cafile=pki.ca,
            ssl_certfile=pki.client_cert,
            ssl_keyfile=pki.client_key,
            ssl_keyfile_password=SecretStr(CLIENT_KEY_PASSWORD),
        )
        await check_kafka(kafka)
        assert 1 == mutual_tls_front.connections


class TestRefusedCredentials:
    async def test_wrong_password(self, sasl_front: FrontStats, port: int) -> None:
        """A wrong password (error 58) names the SASL settings and never the password."""
        message = await refusal(scram(port, WRONG, SecurityProtocol.SASL_PLAINTEXT))
        assert message.startswith(f"the broker at 127.0.0.1:{port} refused the SASL credentials")
        assert message.endswith(
            "check CHAT_IMPORT_KAFKA__SASL_USERNAME, CHAT_IMPORT_KAFKA__SASL_PASSWORD and "
            "CHAT_IMPORT_KAFKA__SASL_MECHANISM"
        )
        assert WRONG not in message

    async def test_mechanism_not_offered(self, kafka_broker: EmbeddedBroker, port: int) -> None:
        """A mechanism the listener does not offer (error 33) names SASL_MECHANISM."""
        users = SaslUsers({USER: PASSWORD}, mechanisms=("SCRAM-SHA-512",))
        async with kafka_front(port, kafka_broker.port, sasl=users):
            message = await refusal(scram(port, PASSWORD, SecurityProtocol.SASL_PLAINTEXT))
        expected = (
            f"the broker at 127.0.0.1:{port} does not offer SASL mechanism SCRAM-SHA-256: check "
            "CHAT_IMPORT_KAFKA__SASL_MECHANISM, and CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL (now "
            "SASL_PLAINTEXT) if that listener takes no SASL at all"
        )
        assert expected == message


class TestRefusedTls:
    async def test_untrusted_certificate(self, tls_front: None, port: int, pki: Pki) -> None:
        """A broker certificate no trusted CA signed names SSL_CAFILE."""
        message = await refusal(settings(port, SecurityProtocol.SSL, ssl_cafile=pki.other_ca))
        expected = (
            f"the certificate of the broker at 127.0.0.1:{port} is not trusted (unable to get "
            "local issuer certificate): check CHAT_IMPORT_KAFKA__SSL_CAFILE (the CA that signed "
            "the broker's certificate)"
        )
        assert expected == message

    async def test_certificate_of_another_host(
        self, kafka_broker: EmbeddedBroker, port: int, pki: Pki
    ) -> None:
        """A trusted certificate for another name names SSL_CHECK_HOSTNAME."""
        async with kafka_front(port, kafka_broker.port, tls=server_context(pki, misnamed=True)):
            message = await refusal(settings(port, SecurityProtocol.SSL, ssl_cafile=pki.ca))
        assert "is not for that address" in message
        assert message.endswith("or set CHAT_IMPORT_KAFKA__SSL_CHECK_HOSTNAME=false")

    async def test_no_client_certificate_for_mutual_tls(
        self, mutual_tls_front: FrontStats, port: int, pki: Pki
    ) -> None:
        """A listener that requires a client certificate names SSL_CERTFILE and SSL_KEYFILE."""
        message = await refusal(settings(port, SecurityProtocol.SSL, ssl_cafile=pki.ca))
        assert (
            "check CHAT_IMPORT_KAFKA__SSL_CERTFILE and CHAT_IMPORT_KAFKA__SSL_KEYFILE (the "
            "listener may require a client certificate)"
        ) in message


class TestWrongProtocol:
    async def test_plaintext_client_at_a_tls_listener(self, tls_front: None, port: int) -> None:
        """Speaking plaintext to a TLS listener names SECURITY_PROTOCOL."""
        message = await refusal(settings(port, SecurityProtocol.PLAINTEXT))
        expected = (
            f"the broker at 127.0.0.1:{port} closed the connection while it was being set up: "
            "check CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL (now PLAINTEXT; the listener may expect "
            "TLS or SASL)"
        )
        assert expected == message

    async def test_plaintext_client_at_a_sasl_listener(
        self, sasl_front: FrontStats, port: int
    ) -> None:
        """Skipping SASL at a SASL listener is caught (at the first request after ApiVersions)."""
        message = await refusal(settings(port, SecurityProtocol.PLAINTEXT))
        assert "check CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL (now PLAINTEXT" in message

    async def test_tls_client_at_a_plaintext_listener(
        self, kafka_broker: EmbeddedBroker, pki: Pki
    ) -> None:
        """A TLS client waits for an answer that never comes: bounded, naming the protocol."""
        kafka = settings(kafka_broker.port, SecurityProtocol.SSL, ssl_cafile=pki.ca)
        message = await refusal(kafka, timeout=0.5)
        assert "CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL (now SSL" in message


class TestUnreachable:
    async def test_nothing_listening(self, port: int) -> None:
        """A refused connection names BOOTSTRAP_SERVERS."""
        message = await refusal(settings(port, SecurityProtocol.PLAINTEXT))
        assert message.startswith(f"cannot connect to the broker at 127.0.0.1:{port}")
        assert message.endswith("check CHAT_IMPORT_KAFKA__BOOTSTRAP_SERVERS")

    async def test_a_refusal_is_reported_over_an_unreachable_address(
        self, sasl_front: FrontStats, port: int
    ) -> None:
        """Of a dead address and one refusing the password, the refusal is what is said."""
        kafka = scram(port, WRONG, SecurityProtocol.SASL_PLAINTEXT)
        kafka.bootstrap_servers = f"127.0.0.1:{free_port()},127.0.0.1:{port}"
        message = await refusal(kafka)
        assert f"the broker at 127.0.0.1:{port} refused the SASL credentials" in message

    async def test_one_reachable_address_is_enough(self, sasl_front: FrontStats, port: int) -> None:
        """A dead address among the bootstrap servers does not fail the check."""
        kafka = scram(port, PASSWORD, SecurityProtocol.SASL_PLAINTEXT)
        kafka.bootstrap_servers = f"127.0.0.1:{free_port()},127.0.0.1:{port}"
        await check_kafka(kafka)
        assert [f"{USER}/SCRAM-SHA-256"] == sasl_front.authenticated
