# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""What every Kafka client of the service is built with: TLS and SASL from ``KafkaSettings``.

Every client the service and its tools make goes through here, so they cannot disagree on how
to reach the cluster:

- ``security_options(kafka)``: aiokafka's keyword arguments (``security_protocol``,
  ``ssl_context``, ``sasl_mechanism``, ``sasl_plain_username``, ``sasl_plain_password``) for
  ``AIOKafkaProducer``, ``AIOKafkaConsumer``, ``AIOKafkaAdminClient`` and a bare connection;
- ``broker_security(kafka)``: the same as the ``security`` object FastStream's ``KafkaBroker``
  takes, which FastStream turns back into exactly those arguments for its consumers.

A certificate or key that cannot be loaded raises ``KafkaAccessError`` naming the setting.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from service.errors import KafkaAccessError
from service.settings import KafkaSettings, SaslMechanism, SecurityProtocol, env_name

if TYPE_CHECKING:
    from faststream.security import BaseSecurity


def _reason(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    return exc.strerror or str(exc)


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """The TLS context of SSL and SASL_SSL connections (None for the others).

    The broker's certificate is verified against ``ssl_cafile`` (the system's CAs without it),
    and its name against the address connected to unless ``ssl_check_hostname`` is off. An
    encrypted key without ``ssl_keyfile_password`` fails here instead of prompting on a
    terminal nobody watches.
    """
    if not kafka.security_protocol.uses_tls:
        return None
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=kafka.ssl_cafile)
    except (OSError, ValueError) as exc:
        reason = _reason(exc) if isinstance(exc, OSError) else str(exc)
        raise KafkaAccessError(
            f"cannot load the CA certificates in {env_name('kafka', 'ssl_cafile')} "
            f"({reason}): it must be a PEM file of certificates"
        ) from None
    context.check_hostname = kafka.ssl_check_hostname
    if kafka.ssl_certfile is not None:
        secret = kafka.ssl_keyfile_password
        try:
            context.load_cert_chain(
                kafka.ssl_certfile,
                kafka.ssl_keyfile,
                password=lambda: secret.get_secret_value() if secret is not None else "",
            )
        except OSError as exc:
            raise KafkaAccessError(
                f"cannot load the client certificate and key ({_reason(exc)}): check "
                f"{env_name('kafka', 'ssl_certfile')}, {env_name('kafka', 'ssl_keyfile')} "
                f"and {env_name('kafka', 'ssl_keyfile_password')}"
            ) from None
    return context


def security_options(kafka: KafkaSettings) -> dict[str, Any]:
    """The connection keyword arguments of aiokafka's clients for ``kafka``'s security."""
    options: dict[str, Any] = {
        "security_protocol": kafka.security_protocol.value,
        "ssl_context": ssl_context(kafka),
    }
    if kafka.security_protocol.uses_sasl:
        mechanism, username, password = _sasl(kafka)
        options |= {
            "sasl_mechanism": mechanism.value,
            "sasl_plain_username": username,
            "sasl_plain_password": password,
        }
    return options


def broker_security(kafka: KafkaSettings) -> BaseSecurity | None:
    """FastStream's ``KafkaBroker(security=...)`` for ``kafka``; None for PLAINTEXT."""
    # imported here: the tools that only read or publish need no FastStream (half a second)
    from faststream.security import (  # noqa: PLC0415
        BaseSecurity,
        SASLPlaintext,
        SASLScram256,
        SASLScram512,
    )

    protocol = kafka.security_protocol
    if protocol is SecurityProtocol.PLAINTEXT:
        return None
    context = ssl_context(kafka)
    if not protocol.uses_sasl:
        return BaseSecurity(ssl_context=context, use_ssl=True)
    mechanism, username, password = _sasl(kafka)
    security = {
        SaslMechanism.PLAIN: SASLPlaintext,
        SaslMechanism.SCRAM_SHA_256: SASLScram256,
        SaslMechanism.SCRAM_SHA_512: SASLScram512,
    }[mechanism]
    return security(username, password, ssl_context=context, use_ssl=protocol.uses_tls)


def _sasl(kafka: KafkaSettings) -> tuple[SaslMechanism, str, str]:
    # KafkaSettings refuses a SASL protocol without these three; this keeps mypy and a
    # hand-built settings object honest.
    if kafka.sasl_mechanism is None or kafka.sasl_username is None or kafka.sasl_password is None:
        msg = f"{kafka.security_protocol.value} needs a SASL mechanism, username and password"
        raise KafkaAccessError(msg)
    return kafka.sasl_mechanism, kafka.sasl_username, kafka.sasl_password.get_secret_value()
