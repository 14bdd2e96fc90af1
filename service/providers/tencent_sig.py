# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""TLSSigAPIv2 UserSig: the signature Tencent Cloud Chat REST calls carry in their URL.

``sign_user_sig`` makes one, ``verify_user_sig`` checks one (the emulator's side), and
``UserSigCache`` keeps one signature per process and renews it well before it expires.
The secret key never leaves this module in any printable form.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_EXPIRE_SECONDS = 15_552_000  # 180 days, the reference library's default
_RENEW_FRACTION = 0.5  # renew once half the lifetime has passed

_TO_URLSAFE = str.maketrans({"+": "*", "/": "-", "=": "_"})
_FROM_URLSAFE = str.maketrans({"*": "+", "-": "/", "_": "="})


class UserSigError(ValueError):
    """A UserSig that cannot be decoded, does not verify, or has expired."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# Public error codes the provider uses for signature problems.
SIG_EXPIRED = 70001
SIG_INVALID = 70003


def _hmac_content(identifier: str, sdk_app_id: int, issued_at: int, expire: int) -> str:
    return (
        f"TLS.identifier:{identifier}\n"
        f"TLS.sdkappid:{sdk_app_id}\n"
        f"TLS.time:{issued_at}\n"
        f"TLS.expire:{expire}\n"
    )


def _hmac(secret_key: str, content: str) -> str:
    digest = hmac.new(secret_key.encode(), content.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign_user_sig(
    *,
    sdk_app_id: int,
    identifier: str,
    secret_key: str,
    expire: int = DEFAULT_EXPIRE_SECONDS,
    now: int | None = None,
) -> str:
    """Return a TLSSigAPIv2 UserSig for ``identifier``, valid for ``expire`` seconds."""
    issued_at = int(time.time()) if now is None else now
    document = {
        "TLS.ver": "2.0",
        "TLS.identifier": identifier,
        "TLS.sdkappid": sdk_app_id,
        "TLS.expire": expire,
        "TLS.time": issued_at,
        "TLS.sig": _hmac(secret_key, _hmac_content(identifier, sdk_app_id, issued_at, expire)),
    }
    compressed = zlib.compress(json.dumps(document, separators=(",", ":")).encode())
    return base64.b64encode(compressed).decode().translate(_TO_URLSAFE)


@dataclass(frozen=True, slots=True)
class VerifiedSig:
    """What a valid UserSig asserts."""

    identifier: str
    sdk_app_id: int
    issued_at: int
    expire: int


def verify_user_sig(
    user_sig: str,
    *,
    sdk_app_id: int,
    identifier: str,
    secret_key: str,
    now: int | None = None,
) -> VerifiedSig:
    """Check ``user_sig`` as the provider does; raise ``UserSigError`` with its code if it fails."""
    try:
        raw = zlib.decompress(base64.b64decode(user_sig.translate(_FROM_URLSAFE), validate=True))
        document = json.loads(raw)
        issued_at = int(document["TLS.time"])
        expire = int(document["TLS.expire"])
        signed_identifier = str(document["TLS.identifier"])
        signed_app = int(document["TLS.sdkappid"])
        signature = str(document["TLS.sig"])
    except (ValueError, KeyError, TypeError, zlib.error) as exc:
        raise UserSigError(SIG_INVALID, "UserSig cannot be decoded") from exc
    if signed_identifier != identifier:
        raise UserSigError(SIG_INVALID, "UserSig was issued for another identifier")
    if signed_app != sdk_app_id:
        raise UserSigError(SIG_INVALID, "UserSig was issued for another SDKAppID")
    expected = _hmac(secret_key, _hmac_content(identifier, sdk_app_id, issued_at, expire))
    if not hmac.compare_digest(expected, signature):
        raise UserSigError(SIG_INVALID, "UserSig signature does not verify")
    current = int(time.time()) if now is None else now
    if issued_at + expire < current:
        raise UserSigError(SIG_EXPIRED, "UserSig has expired")
    return VerifiedSig(signed_identifier, signed_app, issued_at, expire)


class UserSigCache:
    """One UserSig per process, renewed once half its lifetime has passed."""

    def __init__(
        self,
        *,
        sdk_app_id: int,
        identifier: str,
        secret_key: str,
        expire: int = DEFAULT_EXPIRE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sdk_app_id = sdk_app_id
        self._identifier = identifier
        self._secret_key = secret_key
        self._expire = expire
        self._clock = clock
        self._sig: str | None = None
        self._renew_at = 0.0

    def __repr__(self) -> str:
        return f"UserSigCache(sdk_app_id={self._sdk_app_id}, identifier={self._identifier!r})"

    def current(self) -> str:
        """The cached UserSig, signing a fresh one when none is cached or renewal is due."""
        now = self._clock()
        if self._sig is None or now >= self._renew_at:
            self._sig = sign_user_sig(
                sdk_app_id=self._sdk_app_id,
                identifier=self._identifier,
                secret_key=self._secret_key,
                expire=self._expire,
                now=int(now),
            )
            self._renew_at = now + self._expire * _RENEW_FRACTION
        return self._sig

    def invalidate(self) -> None:
        """Forget the cached UserSig (after the provider said it expired)."""
        self._sig = None
