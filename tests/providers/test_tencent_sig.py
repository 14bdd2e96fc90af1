# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
import base64
import hashlib
import hmac
import json
import zlib

import pytest

from service.providers.tencent_sig import (
    SIG_EXPIRED,
    SIG_INVALID,
    UserSigCache,
    UserSigError,
    sign_user_sig,
    verify_user_sig,
)

KEY = "kRv2s0V3cXmQ8jR1tZ5yU7wA9dF2gH4j"


def decode(sig: str) -> dict[str, object]:
    raw = sig.replace("*", "+").replace("-", "/").replace("_", "=")
    document: dict[str, object] = json.loads(zlib.decompress(base64.b64decode(raw)))
    return document


class TestSignUserSig:
    def test_document_follows_tls_sig_api_v2(self):
        """The decoded sig carries version 2.0 and the HMAC-SHA256 of the documented content."""
        sig = sign_user_sig(
            sdk_app_id=1400000001,
            identifier="administrator",
            secret_key=KEY,
            expire=86400,
            now=1_700_000_000,
        )
        document = decode(sig)
        content = "TLS.identifier:administrator\nTLS.sdkappid:1400000001\nTLS.time:1700000000\nTLS.expire:86400\n"
        expected = base64.b64encode(
            hmac.new(KEY.encode(), content.encode(), hashlib.sha256).digest()
        ).decode()
        assert {
            "TLS.ver": "2.0",
            "TLS.identifier": "administrator",
            "TLS.sdkappid": 1400000001,
            "TLS.expire": 86400,
            "TLS.time": 1700000000,
            "TLS.sig": expected,
        } == document

    def test_sig_is_url_safe(self):
        """No '+', '/' or '=' remains (they are replaced by '*', '-', '_')."""
        sig = sign_user_sig(sdk_app_id=1, identifier="a", secret_key=KEY)
        assert not set("+/=") & set(sig)

    def test_round_trip_verifies(self):
        """A fresh sig verifies with the same key."""
        sig = sign_user_sig(sdk_app_id=7, identifier="admin", secret_key=KEY)
        assert (
            "admin"
            == verify_user_sig(sig, sdk_app_id=7, identifier="admin", secret_key=KEY).identifier
        )

    def test_wrong_key_is_invalid(self):
        """Signed with another key: 70003."""
        sig = sign_user_sig(sdk_app_id=7, identifier="admin", secret_key="another-key-entirely")
        with pytest.raises(UserSigError) as caught:
            verify_user_sig(sig, sdk_app_id=7, identifier="admin", secret_key=KEY)
        assert SIG_INVALID == caught.value.code

    def test_expired_sig_is_refused(self):
        """A sig past time + expire: 70001."""
        sig = sign_user_sig(sdk_app_id=7, identifier="admin", secret_key=KEY, expire=60, now=1000)
        with pytest.raises(UserSigError) as caught:
            verify_user_sig(sig, sdk_app_id=7, identifier="admin", secret_key=KEY, now=2000)
        assert SIG_EXPIRED == caught.value.code


class TestUserSigCache:
    def test_reuses_until_half_the_lifetime(self):
        """The same sig serves until renewal is due, then a new one is signed."""
        now = [1000.0]
        cache = UserSigCache(
            sdk_app_id=7, identifier="a", secret_key=KEY, expire=100, clock=lambda: now[0]
        )
        first = cache.current()
        now[0] = 1049.0
        second = cache.current()
        now[0] = 1051.0
        third = cache.current()
        assert (True, False) == (first == second, second == third)

    def test_repr_hides_the_key(self):
        """Printing the cache never shows the secret key."""
        assert KEY not in repr(UserSigCache(sdk_app_id=7, identifier="a", secret_key=KEY))
