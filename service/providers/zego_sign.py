# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""ZEGOCLOUD server API request signing (signature version 2.0), and its verification.

Every call carries five common query parameters: ``AppId``, ``SignatureNonce`` (16 random hex
characters), ``Timestamp`` (Unix seconds), ``Signature`` and ``SignatureVersion=2.0``, where

    Signature = lowercase hex MD5(AppId + SignatureNonce + ServerSecret + Timestamp)

(string concatenation). A call is signed afresh every time: new nonce, current time. The server
refuses a timestamp further than ``TIMESTAMP_TOLERANCE_SECONDS`` from its clock.

``verify_signature`` is the server side of the same rule (the emulator uses it). Nothing here
ever puts the server secret or a signature into a message.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Final

SIGNATURE_VERSION: Final = "2.0"
NONCE_HEX_CHARS: Final = 16
TIMESTAMP_TOLERANCE_SECONDS: Final = 600  # 10 minutes either way (provider notes)
COMMON_PARAMETERS: Final = ("AppId", "SignatureNonce", "Timestamp", "Signature", "SignatureVersion")

_HEX = frozenset(string.hexdigits)
_MD5_HEX_CHARS = 32


def signature(app_id: int, nonce: str, server_secret: str, timestamp: int) -> str:
    """Lowercase hex MD5 of ``AppId + SignatureNonce + ServerSecret + Timestamp``."""
    text = f"{app_id}{nonce}{server_secret}{timestamp}"
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - the provider's scheme


def new_nonce() -> str:
    """A fresh ``SignatureNonce``: 16 random hex characters."""
    return secrets.token_hex(NONCE_HEX_CHARS // 2)


def signed_params(
    app_id: int,
    server_secret: str,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The common query parameters of one call (fresh nonce and current time by default)."""
    when = int(time.time()) if timestamp is None else timestamp
    once = new_nonce() if nonce is None else nonce
    return {
        "AppId": str(app_id),
        "SignatureNonce": once,
        "Timestamp": str(when),
        "Signature": signature(app_id, once, server_secret, when),
        "SignatureVersion": SIGNATURE_VERSION,
    }


class SignatureProblem(StrEnum):
    """Why a signed query string is refused."""

    MISSING = "missing"  # a common parameter is absent
    MALFORMED = "malformed"  # a parameter is present but not of the documented form
    WRONG_VERSION = "wrong_version"  # SignatureVersion is not 2.0
    UNKNOWN_APP = "unknown_app"  # AppId is not the app the server knows
    EXPIRED = "expired"  # Timestamp further than the tolerance from the server's clock
    MISMATCH = "mismatch"  # the Signature is not the MD5 of the documented string


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _form_problem(  # noqa: PLR0911 - one return per documented parameter rule
    params: Mapping[str, str],
) -> tuple[SignatureProblem, str] | None:
    for name in COMMON_PARAMETERS:
        if not params.get(name):
            return SignatureProblem.MISSING, f"the query string has no {name}"
    if params["SignatureVersion"] != SIGNATURE_VERSION:
        return SignatureProblem.WRONG_VERSION, f"SignatureVersion must be {SIGNATURE_VERSION}"
    if not _is_digits(params["AppId"]):
        return SignatureProblem.MALFORMED, "AppId must be a number"
    nonce = params["SignatureNonce"]
    if len(nonce) != NONCE_HEX_CHARS or not set(nonce) <= _HEX:
        return (
            SignatureProblem.MALFORMED,
            f"SignatureNonce must be {NONCE_HEX_CHARS} hex characters",
        )
    if not _is_digits(params["Timestamp"]):
        return SignatureProblem.MALFORMED, "Timestamp must be Unix seconds"
    sig = params["Signature"]
    if len(sig) != _MD5_HEX_CHARS or not set(sig) <= _HEX:
        return SignatureProblem.MALFORMED, "Signature must be 32 hex characters"
    return None


def verify_signature(
    params: Mapping[str, str],
    *,
    app_id: int,
    server_secret: str,
    now: float,
    tolerance_seconds: float = TIMESTAMP_TOLERANCE_SECONDS,
) -> tuple[SignatureProblem, str] | None:
    """``None`` when the query string is signed for ``app_id`` and fresh, else why not."""
    problem = _form_problem(params)
    if problem is not None:
        return problem
    if int(params["AppId"]) != app_id:
        return SignatureProblem.UNKNOWN_APP, f"AppId {params['AppId']} is not this app"
    timestamp = int(params["Timestamp"])
    if abs(now - timestamp) > tolerance_seconds:
        return (
            SignatureProblem.EXPIRED,
            (
                f"Timestamp is {int(now - timestamp)} s from the server's clock; "
                f"at most {tolerance_seconds:g} s allowed"
            ),
        )
    expected = signature(app_id, params["SignatureNonce"], server_secret, timestamp)
    if not hmac.compare_digest(expected, params["Signature"]):
        return SignatureProblem.MISMATCH, "Signature does not match"
    return None
