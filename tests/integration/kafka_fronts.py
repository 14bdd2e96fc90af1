# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""A secured listener in front of the embedded broker, which serves neither TLS nor SASL.

``kafka_front`` listens on a loopback port and passes every connection through to the broker,
after the layers it is given:

- **TLS** (an ``ssl.SSLContext``): the front terminates TLS, as a broker's SSL listener does,
  and may require a client certificate (mutual TLS).
- **SASL** (``SaslUsers``): before anything reaches the broker the client must authenticate the
  way Kafka clients do it since Kafka 1.0 (and aiokafka does it, ``aiokafka/conn.py``):

  1. ``ApiVersions`` (key 18, v0-v2): passed to the broker; its answer is given back with
     ``SaslHandshake`` (key 17, v1) and ``SaslAuthenticate`` (key 36, v0-v1) added, which the
     broker itself does not offer;
  2. ``SaslHandshake``: the mechanism is chosen; an unknown one gets error 33
     (UNSUPPORTED_SASL_MECHANISM) and the list of enabled mechanisms;
  3. ``SaslAuthenticate``: the SASL exchange, each token in one request. SCRAM-SHA-256/512 is
     the server side of RFC 5802 (``scramp``), two round trips; PLAIN is one. Refused
     credentials get error 58 (SASL_AUTHENTICATION_FAILED) with Kafka's own message, and the
     connection is closed, as Kafka closes it.

  Any other request before authentication closes the connection, as Kafka does.

Run the broker with its advertised address set to the front's port, so that the clients'
connections after the bootstrap (to the partition leaders, the group coordinator) come back
through the front too.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scramp import ScramException, ScramMechanism

if TYPE_CHECKING:
    import ssl

API_VERSIONS = 18
SASL_HANDSHAKE = 17
SASL_AUTHENTICATE = 36
UNSUPPORTED_SASL_MECHANISM = 33
SASL_AUTHENTICATION_FAILED = 58
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
SCRAM_ITERATIONS = 4096  # Kafka's minimum
SESSION_LIFETIME_MS = 0  # no re-authentication


class FrontClosedError(Exception):
    """The client left, or broke the protocol; the connection is dropped."""


@dataclass
class SaslUsers:
    """The accounts the front accepts, and the mechanisms it offers."""

    passwords: Mapping[str, str]
    mechanisms: tuple[str, ...] = ("PLAIN", *SCRAM_MECHANISMS)

    def failure(self, mechanism: str) -> str:
        """Kafka's message for refused credentials."""
        return (
            "Authentication failed during authentication due to invalid credentials with SASL "
            f"mechanism {mechanism}"
        )


@dataclass
class FrontStats:
    """What happened at the front: successful and refused authentications, connections."""

    connections: int = 0
    authenticated: list[str] = field(default_factory=list)  # "user/mechanism"
    refused: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------ wire format


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    try:
        size = struct.unpack(">i", await reader.readexactly(4))[0]
        return await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
        raise FrontClosedError from exc


def _frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def _string(value: str | None) -> bytes:
    if value is None:
        return struct.pack(">h", -1)
    data = value.encode()
    return struct.pack(">h", len(data)) + data


def _bytes(value: bytes) -> bytes:
    return struct.pack(">i", len(value)) + value


@dataclass(frozen=True)
class _Request:
    api_key: int
    api_version: int
    correlation_id: int
    body: bytes


def _parse_request(frame: bytes) -> _Request:
    api_key, api_version, correlation_id, client_id_length = struct.unpack_from(">hhih", frame)
    return _Request(api_key, api_version, correlation_id, frame[10 + max(client_id_length, 0) :])


def _with_sasl_versions(response: bytes, api_version: int) -> bytes:
    """The broker's ApiVersions answer (v0-v2) with the SASL APIs the front serves added."""
    correlation_id, error_code, count = struct.unpack_from(">ihi", response)
    offset = 10
    versions: dict[int, tuple[int, int]] = {}
    for _ in range(max(count, 0)):
        key, low, high = struct.unpack_from(">hhh", response, offset)
        versions[key] = (low, high)
        offset += 6
    rest = response[offset:]  # throttle_time_ms from v1 on
    versions[SASL_HANDSHAKE] = (1, 1)
    versions[SASL_AUTHENTICATE] = (0, 1)
    del api_version  # v0-v2 share the layout up to the array
    body = struct.pack(">ihi", correlation_id, error_code, len(versions))
    body += b"".join(struct.pack(">hhh", key, *versions[key]) for key in sorted(versions))
    return body + rest


def _handshake_response(correlation_id: int, error_code: int, mechanisms: tuple[str, ...]) -> bytes:
    body = struct.pack(">ihi", correlation_id, error_code, len(mechanisms))
    return body + b"".join(_string(name) for name in mechanisms)


def _authenticate_response(
    request: _Request, error_code: int, message: str | None, auth_bytes: bytes
) -> bytes:
    body = struct.pack(">ih", request.correlation_id, error_code)
    body += _string(message) + _bytes(auth_bytes)
    if request.api_version >= 1:
        body += struct.pack(">q", SESSION_LIFETIME_MS)
    return body


def _auth_bytes(request: _Request) -> bytes:
    (length,) = struct.unpack_from(">i", request.body)
    return request.body[4 : 4 + length]


# ------------------------------------------------------------------------------ SASL exchange


class _Exchange:
    """One connection's SASL state: the mechanism chosen, the SCRAM server's progress."""

    def __init__(self, users: SaslUsers, scram: Mapping[str, ScramMechanism]) -> None:
        self._users = users
        self._scram = scram
        self.mechanism: str | None = None
        self.username: str | None = None
        self._server: object | None = None
        self.done = False

    def step(self, token: bytes) -> bytes:
        """The server's answer to ``token``; ``ScramException`` or ``ValueError`` refuses."""
        if self.mechanism == "PLAIN":
            _, username, password = token.decode().split("\0")
            self.username = username
            if self._users.passwords.get(username) != password:
                msg = "wrong PLAIN credentials"
                raise ValueError(msg)
            self.done = True
            return b""
        if self._server is None:
            mechanism = self._scram[str(self.mechanism)]
            passwords = self._users.passwords

            def auth_info(username: str) -> tuple[bytes, bytes, bytes, int]:
                self.username = username
                if username not in passwords:
                    msg = "unknown user"
                    raise ScramException(msg)
                info: tuple[bytes, bytes, bytes, int] = mechanism.make_auth_info(
                    passwords[username], iteration_count=SCRAM_ITERATIONS
                )
                return info

            server = mechanism.make_server(auth_info)
            server.set_client_first(token.decode())
            self._server = server
            return str(server.get_server_first()).encode()
        server = self._server
        server.set_client_final(token.decode())  # type: ignore[attr-defined]
        self.done = True
        return str(server.get_server_final()).encode()  # type: ignore[attr-defined]


async def _authenticate(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    broker: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    users: SaslUsers,
    scram: Mapping[str, ScramMechanism],
    stats: FrontStats,
) -> bool:
    """Run the SASL conversation; True once the client is authenticated."""
    reader, writer = client
    exchange = _Exchange(users, scram)
    while not exchange.done:
        frame = await _read_frame(reader)
        request = _parse_request(frame)
        if request.api_key == API_VERSIONS and request.api_version <= 2:
            broker[1].write(_frame(frame))
            answer = await _read_frame(broker[0])
            writer.write(_frame(_with_sasl_versions(answer, request.api_version)))
        elif request.api_key == SASL_HANDSHAKE and request.api_version == 1:
            (length,) = struct.unpack_from(">h", request.body)
            mechanism = request.body[2 : 2 + length].decode()
            known = mechanism in users.mechanisms
            writer.write(
                _frame(
                    _handshake_response(
                        request.correlation_id,
                        0 if known else UNSUPPORTED_SASL_MECHANISM,
                        users.mechanisms,
                    )
                )
            )
            if not known:
                stats.refused.append(f"unsupported mechanism {mechanism}")
                await writer.drain()
                return False
            exchange.mechanism = mechanism
        elif request.api_key == SASL_AUTHENTICATE and exchange.mechanism is not None:
            try:
                answer_bytes = exchange.step(_auth_bytes(request))
            except (ScramException, ValueError, UnicodeDecodeError):
                stats.refused.append(f"{exchange.username}/{exchange.mechanism}")
                writer.write(
                    _frame(
                        _authenticate_response(
                            request,
                            SASL_AUTHENTICATION_FAILED,
                            users.failure(exchange.mechanism),
                            b"",
                        )
                    )
                )
                await writer.drain()
                return False
            writer.write(_frame(_authenticate_response(request, 0, None, answer_bytes)))
        else:
            stats.refused.append(f"request {request.api_key} before authentication")
            return False
        await writer.drain()
    stats.authenticated.append(f"{exchange.username}/{exchange.mechanism}")
    return True


# ------------------------------------------------------------------------------ the server


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
        while data := await reader.read(65_536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        writer.close()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 1)


@asynccontextmanager
async def kafka_front(
    port: int,
    broker_port: int,
    *,
    tls: ssl.SSLContext | None = None,
    sasl: SaslUsers | None = None,
) -> AsyncIterator[FrontStats]:
    """Listen on 127.0.0.1:``port`` with the given layers, in front of the broker's port."""
    stats = FrontStats()
    scram = {name: ScramMechanism(name) for name in SCRAM_MECHANISMS}
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stats.connections += 1
        try:
            broker = await asyncio.open_connection("127.0.0.1", broker_port)
        except OSError:
            await _close(writer)
            return
        try:
            if sasl is not None and not await _authenticate(
                (reader, writer), broker, sasl, scram, stats
            ):
                return
        except FrontClosedError:
            return
        except BaseException:
            await _close(broker[1])
            await _close(writer)
            raise
        else:
            up = asyncio.create_task(_pipe(reader, broker[1]))
            down = asyncio.create_task(_pipe(broker[0], writer))
            tasks.update((up, down))
            await asyncio.gather(up, down, return_exceptions=True)
            tasks.difference_update((up, down))
        finally:
            await _close(broker[1])
            await _close(writer)

    server = await asyncio.start_server(
        serve, "127.0.0.1", port, ssl=tls, ssl_handshake_timeout=5 if tls else None
    )
    try:
        yield stats
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5)
