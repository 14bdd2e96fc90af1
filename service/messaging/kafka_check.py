# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Whether Kafka accepts the service's connection, and if not, why, in one sentence.

aiokafka's clients swallow the cause of a failed bootstrap: an untrusted certificate or a
refused password ends as ``KafkaConnectionError: Unable to bootstrap from [...]``, after a log
line per attempt. ``check_kafka`` connects to the bootstrap servers once, as every client of the
service will (``kafka_clients.security_options``): TLS handshake, ApiVersions, SASL handshake
and authentication. When no server accepts, it raises ``KafkaAccessError`` with what
``explain`` makes of the error.

``explain`` is the one place that maps what aiokafka and ``ssl`` raise to a cause and the
setting to check:

==========================================  ==========================================
error                                       setting named
==========================================  ==========================================
``ssl.SSLCertVerificationError``            ``SSL_CAFILE`` (``SSL_CHECK_HOSTNAME`` for a
                                            certificate of another host)
other ``ssl.SSLError``                      ``SECURITY_PROTOCOL``, ``SSL_CERTFILE`` /
                                            ``SSL_KEYFILE``
``SaslAuthenticationFailed`` (58),          ``SASL_USERNAME``, ``SASL_PASSWORD``,
``AuthenticationFailedError``               ``SASL_MECHANISM``
``UnsupportedSaslMechanismError`` (33)      ``SASL_MECHANISM``
``IncompatibleBrokerVersion``,              ``SECURITY_PROTOCOL`` (no SASL on that
``IllegalSaslStateError`` (34)              listener)
connection closed during set-up             ``SECURITY_PROTOCOL`` (TLS or SASL expected),
                                            or the client certificate
refused, unresolvable, timed out            ``BOOTSTRAP_SERVERS``
==========================================  ==========================================
"""

from __future__ import annotations

import asyncio
import socket
import ssl

from aiokafka.conn import collect_hosts, create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    IllegalSaslStateError,
    IncompatibleBrokerVersion,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.protocol.metadata import MetadataRequest

from service.errors import KafkaAccessError
from service.messaging.kafka_clients import security_options
from service.settings import KafkaSettings, env_name

CHECK_TIMEOUT_SECONDS = 10.0
HOSTNAME_MISMATCH = 62  # X509_V_ERR_HOSTNAME_MISMATCH
IP_ADDRESS_MISMATCH = 64  # X509_V_ERR_IP_ADDRESS_MISMATCH


def _setting(name: str) -> str:
    return env_name("kafka", name)


async def check_kafka(kafka: KafkaSettings, *, timeout: float = CHECK_TIMEOUT_SECONDS) -> None:
    """Return once a bootstrap server accepts the connection; else raise ``KafkaAccessError``."""
    options = security_options(kafka)
    failures: list[tuple[str, BaseException]] = []
    for host, port, _ in collect_hosts(kafka.bootstrap_servers, randomize=False):
        address = f"{host}:{port}"
        try:
            await asyncio.wait_for(_connect(host, port, kafka, options, timeout), timeout)
        except (OSError, KafkaError, TimeoutError, EOFError, ValueError) as exc:
            # EOFError: closed mid-read (asyncio.IncompleteReadError); ValueError: a SCRAM
            # answer the client could not follow
            failures.append((address, exc))
            continue
        return
    if not failures:
        msg = f"no broker address in {_setting('bootstrap_servers')}"
        raise KafkaAccessError(msg)
    address, error = _most_telling(failures)
    raise KafkaAccessError(explain(error, kafka, address)) from None


async def _connect(
    host: str, port: int, kafka: KafkaSettings, options: dict[str, object], timeout: float
) -> None:
    """Connect and authenticate as the clients do, then ask for metadata as their bootstrap does.

    The metadata request matters: a SASL listener answers ApiVersions without authentication
    and only closes the connection at the next request.
    """
    connection = await create_conn(
        host,
        port,
        client_id=f"{kafka.client_id}-check",
        request_timeout_ms=int(timeout * 1000),
        **options,
    )
    try:
        await connection.send(MetadataRequest([]))
    finally:
        connection.close()


def _most_telling(failures: list[tuple[str, BaseException]]) -> tuple[str, BaseException]:
    """A refused certificate or password says more than one unreachable address of several."""
    for address, error in failures:
        cause = _cause(error)
        if isinstance(cause, ssl.SSLError) or not isinstance(cause, OSError | TimeoutError):
            return address, error
    return failures[0]


def _cause(error: BaseException) -> BaseException:
    """The error under aiokafka's ``KafkaConnectionError`` wrapper, when it kept one."""
    while isinstance(error, KafkaConnectionError) and error.__cause__ is not None:
        error = error.__cause__
    return error


def explain(error: BaseException, kafka: KafkaSettings, address: str) -> str:  # noqa: C901, PLR0911 - one answer per cause
    """One sentence: what went wrong connecting to ``address``, and the setting to check."""
    error = _cause(error)
    protocol = kafka.security_protocol.value
    if isinstance(error, ssl.SSLCertVerificationError):
        detail = error.verify_message or str(error)
        if error.verify_code in {HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH}:
            return (
                f"the certificate of the broker at {address} is not for that address "
                f"({detail}): connect by a name the certificate holds, or set "
                f"{_setting('ssl_check_hostname')}=false"
            )
        return (
            f"the certificate of the broker at {address} is not trusted ({detail}): check "
            f"{_setting('ssl_cafile')} (the CA that signed the broker's certificate)"
        )
    if isinstance(error, ssl.SSLError):
        return (
            f"TLS with the broker at {address} failed ({error.reason or error}): check "
            f"{_setting('security_protocol')} (now {protocol}; is the listener TLS?), and "
            f"{_setting('ssl_certfile')} and {_setting('ssl_keyfile')} if it requires a client "
            "certificate"
        )
    if isinstance(error, SaslAuthenticationFailed | AuthenticationFailedError):
        return (
            f"the broker at {address} refused the SASL credentials of user "
            f"{kafka.sasl_username!r} ({_broker_message(error)}): check "
            f"{_setting('sasl_username')}, {_setting('sasl_password')} and "
            f"{_setting('sasl_mechanism')}"
        )
    if isinstance(error, UnsupportedSaslMechanismError):
        return (
            f"the broker at {address} does not offer SASL mechanism {kafka.sasl_mechanism}: "
            f"check {_setting('sasl_mechanism')}, and {_setting('security_protocol')} (now "
            f"{protocol}) if that listener takes no SASL at all"
        )
    if isinstance(error, IncompatibleBrokerVersion | IllegalSaslStateError):
        return (
            f"the listener at {address} does not take SASL ({_broker_message(error)}): check "
            f"{_setting('security_protocol')} (now {protocol}) and the port in "
            f"{_setting('bootstrap_servers')}"
        )
    if isinstance(error, socket.gaierror):
        return (
            f"cannot resolve the broker address {address} ({error.strerror}): check "
            f"{_setting('bootstrap_servers')}"
        )
    if isinstance(error, TimeoutError):
        return (
            f"no answer from the broker at {address}: check {_setting('bootstrap_servers')}, "
            f"and {_setting('security_protocol')} (now {protocol}; a TLS client waits like "
            "this on a plaintext listener)"
        )
    if isinstance(error, KafkaConnectionError | EOFError | ConnectionResetError | BrokenPipeError):
        if kafka.security_protocol.uses_tls:
            return (
                f"the broker at {address} closed the connection while it was being set up: "
                f"check {_setting('ssl_certfile')} and {_setting('ssl_keyfile')} (the listener "
                f"may require a client certificate), and {_setting('security_protocol')} (now "
                f"{protocol})"
            )
        return (
            f"the broker at {address} closed the connection while it was being set up: check "
            f"{_setting('security_protocol')} (now {protocol}; the listener may expect TLS or "
            "SASL)"
        )
    if isinstance(error, OSError):
        return (
            f"cannot connect to the broker at {address} ({error.strerror or error}): check "
            f"{_setting('bootstrap_servers')}"
        )
    return f"cannot connect to the broker at {address} ({type(error).__name__}: {error})"


def _broker_message(error: BaseException) -> str:
    text = str(error).strip()
    return text if text and text != "None" else type(error).__name__
