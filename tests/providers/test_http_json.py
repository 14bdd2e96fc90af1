# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
import httpx
import pytest

from service.domain.retry_policy import ErrorClass
from service.errors import (
    AmbiguousProviderError,
    ConfigurationError,
    ProviderError,
    RetryableProviderError,
)
from service.providers.http_json import post_for_object


async def post(response: httpx.Response) -> dict[str, object]:
    counted: list[str] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: response)) as client:
        return await post_for_object(
            client,
            "https://provider.test/api",
            api="api",
            params={},
            body={},
            count=counted.append,
        )


class TestHttpStatus:
    async def test_http_429_is_throttling(self):
        """HTTP 429 (a gateway limiting us) is the frequency limit: back off, never halt."""
        with pytest.raises(RetryableProviderError) as caught:
            await post(httpx.Response(429))
        assert (ErrorClass.THROTTLED, 429) == (caught.value.error_class, caught.value.code)

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 405])
    async def test_other_4xx_are_configuration_errors(self, status):
        """Any other 4xx means a wrong base URL or a proxy refusing us: halt."""
        with pytest.raises(ConfigurationError) as caught:
            await post(httpx.Response(status))
        assert ErrorClass.CONFIGURATION == caught.value.error_class

    @pytest.mark.parametrize("status", [500, 502, 503])
    async def test_5xx_is_ambiguous(self, status):
        """A server error may hide an applied call."""
        with pytest.raises(AmbiguousProviderError):
            await post(httpx.Response(status))


class TestBody:
    @pytest.mark.parametrize(
        "response",
        [
            httpx.Response(200, content=b"<html>busy</html>"),
            httpx.Response(200, json=[1, 2]),
            httpx.Response(200, json="OK"),
        ],
    )
    async def test_an_unreadable_200_answer_is_ambiguous(self, response):
        """A 200 whose body is not a JSON object may come after the call was applied: check first."""
        with pytest.raises(ProviderError) as caught:
            await post(response)
        assert ErrorClass.AMBIGUOUS == caught.value.error_class

    async def test_a_json_object_is_returned(self):
        """The answer's object is handed back for the adapter to read."""
        assert {"Code": 0} == await post(httpx.Response(200, json={"Code": 0}))
