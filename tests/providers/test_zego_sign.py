# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import pytest

from service.providers.zego_sign import (
    TIMESTAMP_TOLERANCE_SECONDS,
    SignatureProblem,
    new_nonce,
    signature,
    signed_params,
    verify_signature,
)

APP_ID = 1234567890
NONCE = "0123456789abcdef"
SECRET = "fa6b2d8c4e1f3a5b7c9d0e2f4a6b8c0d"
TIMESTAMP = 1_700_000_000
OTHER_SECRET = "not-the-server-secret"
# printf '%s' "1234567890" "0123456789abcdef" "fa6b2d8c4e1f3a5b7c9d0e2f4a6b8c0d" "1700000000" | md5sum
EXPECTED = "9f61df27134c6d19024c648b79f60570"


def params(**overrides: str | None) -> dict[str, str]:
    base: dict[str, str | None] = {
        **signed_params(APP_ID, SECRET, timestamp=TIMESTAMP, nonce=NONCE),
        **overrides,
    }
    return {key: value for key, value in base.items() if value is not None}


class TestSignature:
    def test_signature_is_the_md5_of_app_nonce_secret_and_timestamp(self) -> None:
        """Lowercase hex MD5 of AppId + SignatureNonce + ServerSecret + Timestamp."""
        assert EXPECTED == signature(APP_ID, NONCE, SECRET, TIMESTAMP)

    def test_signed_params_carry_the_five_common_parameters(self) -> None:
        """AppId, SignatureNonce, Timestamp, Signature and SignatureVersion 2.0."""
        assert {
            "AppId": "1234567890",
            "SignatureNonce": NONCE,
            "Timestamp": "1700000000",
            "Signature": EXPECTED,
            "SignatureVersion": "2.0",
        } == signed_params(APP_ID, SECRET, timestamp=TIMESTAMP, nonce=NONCE)

    def test_every_call_gets_a_fresh_sixteen_hex_character_nonce(self) -> None:
        """Two signings never share a nonce; each nonce is 16 hex characters."""
        nonces = {signed_params(APP_ID, SECRET)["SignatureNonce"] for _ in range(100)}
        assert (100, {16}) == (len(nonces), {len(n) for n in nonces})
        assert all(int(n, 16) >= 0 for n in nonces)

    def test_new_nonce_is_lowercase_hex(self) -> None:
        """The nonce uses 0-9 and a-f only."""
        assert set(new_nonce()) <= set("0123456789abcdef")

    def test_secret_never_appears_in_the_parameters(self) -> None:
        """The server secret is only hashed, never sent."""
        assert all(SECRET not in value for value in signed_params(APP_ID, SECRET).values())


class TestVerification:
    def test_a_fresh_signature_verifies(self) -> None:
        """What signed_params builds is accepted by the server-side check."""
        assert (
            verify_signature(params(), app_id=APP_ID, server_secret=SECRET, now=TIMESTAMP) is None
        )

    @pytest.mark.parametrize(
        ("overrides", "problem"),
        [
            ({"Signature": None}, SignatureProblem.MISSING),
            ({"SignatureNonce": None}, SignatureProblem.MISSING),
            ({"SignatureVersion": "1.0"}, SignatureProblem.WRONG_VERSION),
            ({"SignatureNonce": "0123456789abcdeg"}, SignatureProblem.MALFORMED),
            ({"SignatureNonce": "0123"}, SignatureProblem.MALFORMED),
            ({"Timestamp": "soon"}, SignatureProblem.MALFORMED),
            ({"AppId": "x1"}, SignatureProblem.MALFORMED),
            ({"AppId": "42"}, SignatureProblem.UNKNOWN_APP),
            ({"Signature": EXPECTED.upper()}, SignatureProblem.MISMATCH),
            ({"Signature": "0" * 32}, SignatureProblem.MISMATCH),
        ],
    )
    def test_refusals_say_why(
        self, overrides: dict[str, str | None], problem: SignatureProblem
    ) -> None:
        """Each broken parameter is refused with its own reason."""
        verdict = verify_signature(
            params(**overrides), app_id=APP_ID, server_secret=SECRET, now=TIMESTAMP
        )
        assert verdict is not None
        assert problem == verdict[0]

    def test_another_secret_does_not_verify(self) -> None:
        """A signature made with another secret is a mismatch."""
        verdict = verify_signature(
            params(),
            app_id=APP_ID,
            server_secret=OTHER_SECRET,
            now=TIMESTAMP,
        )
        assert verdict is not None
        assert SignatureProblem.MISMATCH == verdict[0]

    @pytest.mark.parametrize("offset", [TIMESTAMP_TOLERANCE_SECONDS, -TIMESTAMP_TOLERANCE_SECONDS])
    def test_timestamp_within_ten_minutes_is_accepted(self, offset: int) -> None:
        """The clock may differ by up to 10 minutes either way."""
        assert 600 == TIMESTAMP_TOLERANCE_SECONDS
        verdict = verify_signature(
            params(), app_id=APP_ID, server_secret=SECRET, now=TIMESTAMP + offset
        )
        assert verdict is None

    @pytest.mark.parametrize("offset", [601, -601])
    def test_timestamp_beyond_ten_minutes_has_expired(self, offset: int) -> None:
        """Beyond 10 minutes the signature is expired, whichever way the clocks differ."""
        verdict = verify_signature(
            params(), app_id=APP_ID, server_secret=SECRET, now=TIMESTAMP + offset
        )
        assert verdict is not None
        assert SignatureProblem.EXPIRED == verdict[0]

    def test_reasons_never_carry_the_secret(self) -> None:
        """A refusal's text names the rule, not the secret or the expected signature."""
        verdict = verify_signature(
            params(Signature="0" * 32), app_id=APP_ID, server_secret=SECRET, now=TIMESTAMP
        )
        assert verdict is not None
        assert SECRET not in verdict[1]
        assert EXPECTED not in verdict[1]
