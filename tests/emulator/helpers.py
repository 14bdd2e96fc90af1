# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Helpers for the emulator tests: configuration, a fake clock, signing, an HTTP caller."""

from __future__ import annotations

import random
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from service.emulator.config import EmulatorConfig
from service.emulator.server import EmulatorServer
from service.providers.tencent_sig import sign_user_sig

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

SDK_APP_ID = 1_400_000_777
SECRET_KEY = "emulator-test-key-not-a-secret"
WRONG_SIGNING_KEY = "a-key-the-emulator-does-not-know"
ADMIN = "administrator"
API = "/v4/group_open_http_svc/"
HTTP_OK = 200


class FakeClock:
    """A clock the test moves by hand (Unix seconds)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        """Return the current fake time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


def make_config(**overrides: Any) -> EmulatorConfig:
    """Build the test app's emulator configuration, with ``overrides``."""
    fields: dict[str, Any] = {
        "sdk_app_id": SDK_APP_ID,
        "secret_key": SecretStr(SECRET_KEY),
        **overrides,
    }
    return EmulatorConfig(**fields)


def sign(identifier: str = ADMIN, **kwargs: Any) -> str:
    """Sign a UserSig the test app accepts (unless ``kwargs`` say otherwise)."""
    return sign_user_sig(
        sdk_app_id=kwargs.pop("sdk_app_id", SDK_APP_ID),
        identifier=identifier,
        secret_key=kwargs.pop("secret_key", SECRET_KEY),
        **kwargs,
    )


def query(**overrides: str | None) -> dict[str, str]:
    """Build a valid REST query string; an override of ``None`` leaves the field out."""
    params: dict[str, str | None] = {
        "sdkappid": str(SDK_APP_ID),
        "identifier": ADMIN,
        "usersig": sign(),
        "random": str(random.randint(0, 4_294_967_295)),
        "contenttype": "json",
        **overrides,
    }
    return {key: value for key, value in params.items() if value is not None}


def text_body(text: str = "hello") -> list[dict[str, Any]]:
    """Build a one-element text message body."""
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]


def message(send_time: int, text: str = "hello", **fields: Any) -> dict[str, Any]:
    """Build one ``MsgList`` entry."""
    return {"From_Account": "leckie", "SendTime": send_time, "MsgBody": text_body(text), **fields}


class Caller:
    """Calls the emulator over HTTP the way the provider adapter does."""

    def __init__(self, client: httpx.AsyncClient, server: EmulatorServer) -> None:
        self.client = client
        self.server = server

    async def call(self, api: str, body: Any, **params: str | None) -> httpx.Response:
        """POST ``body`` to ``api`` with a valid query string (``params`` override it)."""
        return await self.client.post(API + api, params=query(**params), json=body)

    async def ok(self, api: str, body: Any) -> dict[str, Any]:
        """Call ``api`` and return the decoded answer, which must be HTTP 200."""
        response = await self.call(api, body)
        if response.status_code != HTTP_OK:
            msg = f"HTTP {response.status_code} from {api}"
            raise AssertionError(msg)
        data: dict[str, Any] = response.json()
        return data

    async def import_group(self, group_id: str, create_time: int, **fields: Any) -> dict[str, Any]:
        """Call ``import_group`` for a Public group."""
        body = {"GroupId": group_id, "Type": "Public", "Name": "club", "CreateTime": create_time}
        return await self.ok("import_group", {**body, **fields})

    async def import_messages(
        self, group_id: str, messages: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Call ``import_group_msg``."""
        return await self.ok("import_group_msg", {"GroupId": group_id, "MsgList": messages})

    async def history(self, group_id: str, number: int, seq: int | None = None) -> dict[str, Any]:
        """Call ``group_msg_get_simple``."""
        body: dict[str, Any] = {"GroupId": group_id, "ReqMsgNumber": number}
        if seq is not None:
            body["ReqMsgSeq"] = seq
        return await self.ok("group_msg_get_simple", body)

    async def inspect(self, path: str) -> Any:
        """GET ``/_emulator{path}`` and return the decoded answer."""
        response = await self.client.get("/_emulator" + path)
        if response.status_code != HTTP_OK:
            msg = f"HTTP {response.status_code} from /_emulator{path}"
            raise AssertionError(msg)
        return response.json()


@asynccontextmanager
async def serving(config: EmulatorConfig) -> AsyncIterator[Caller]:
    """Serve an emulator with ``config`` on a free loopback port, with a caller for it."""
    async with (
        EmulatorServer(config) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
    ):
        yield Caller(client, server)
