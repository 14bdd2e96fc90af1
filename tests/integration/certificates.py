# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Certificates made for a test run: a CA, a broker certificate it signs, a client certificate.

Everything is generated with ``cryptography`` (EC P-256 keys, valid for a day) into a directory
of PEM files, the shapes a cluster hands out: the CA for ``ssl_cafile``, the client certificate
and its password-protected key for mutual TLS. A second, unrelated CA lets a test trust the
wrong authority.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    from pathlib import Path

CLIENT_KEY_PASSWORD = "client-key-password-for-tests"
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Pki:
    """PEM files of one test run's certificates."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path  # encrypted with CLIENT_KEY_PASSWORD
    other_ca: Path  # signs nothing here: trusting only it, the broker is untrusted
    misnamed_cert: Path  # signed by ``ca`` for another host name only
    misnamed_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None = None,
    *,
    names: list[x509.GeneralName] | None = None,
    usage: x509.ObjectIdentifier | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer if issuer is not None else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write_cert(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey, password: str | None = None) -> Path:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password is not None
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return path


def make_pki(directory: Path) -> Pki:
    """Generate the CA, the broker's certificate for 127.0.0.1 and localhost, a client's."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("chat-import test CA", ca_key)
    issuer = (ca.subject, ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _issue(
        "broker",
        server_key,
        issuer,
        names=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))],
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _issue("chat-import", client_key, issuer, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    misnamed_key = ec.generate_private_key(ec.SECP256R1())
    misnamed = _issue(
        "elsewhere",
        misnamed_key,
        issuer,
        names=[x509.DNSName("kafka.elsewhere.test")],
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
    )
    other_key = ec.generate_private_key(ec.SECP256R1())
    return Pki(
        ca=_write_cert(directory / "ca.pem", ca),
        server_cert=_write_cert(directory / "broker.pem", server),
        server_key=_write_key(directory / "broker.key", server_key),
        client_cert=_write_cert(directory / "client.pem", client),
        client_key=_write_key(directory / "client.key", client_key, CLIENT_KEY_PASSWORD),
        other_ca=_write_cert(directory / "other-ca.pem", _issue("another CA", other_key)),
        misnamed_cert=_write_cert(directory / "misnamed.pem", misnamed),
        misnamed_key=_write_key(directory / "misnamed.key", misnamed_key),
    )


def server_context(
    pki: Pki, *, require_client_cert: bool = False, misnamed: bool = False
) -> ssl.SSLContext:
    """The broker side's TLS context; with ``require_client_cert``, mutual TLS."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if misnamed:
        context.load_cert_chain(pki.misnamed_cert, pki.misnamed_key)
    else:
        context.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca)
    return context
