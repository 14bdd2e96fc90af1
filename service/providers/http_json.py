# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""One provider call over HTTP: what the transport's failures mean, and a JSON object back.

Both providers answer a POST with a JSON object that carries their own result code; what can
go wrong before that code is read is the same for both, and so is what it means for a retry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from service.domain.retry_policy import ErrorClass
from service.errors import AmbiguousProviderError, ConfigurationError, RetryableProviderError

HTTP_OK = 200
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVER_ERROR = 500


async def post_for_object(  # noqa: PLR0913 - the request, and who counts its failures
    client: httpx.AsyncClient,
    url: str,
    *,
    api: str,
    params: Mapping[str, str],
    body: object,
    count: Callable[[str], None],
) -> dict[str, Any]:
    """POST ``body`` to ``url``; the answer as a JSON object, or the error its failure means.

    ``count`` hears each failure's label (the caller counts the code it then reads). A call that
    never left may simply be retried; one that may have been applied is ambiguous (a timeout, a
    broken connection, HTTP 5xx, and a 200 whose body is not a JSON object: the provider may
    have applied the call before the answer was mangled). HTTP 429 is a gateway's frequency
    limit (back off); any other answer than 200 means the configuration is wrong.
    """
    try:
        response = await client.post(url, params=params, json=body)
    except httpx.PoolTimeout:
        count("pool_timeout")  # never sent: plain retry, nothing to verify
        raise RetryableProviderError(0, f"{api}: no connection free in time") from None
    except httpx.TimeoutException as exc:
        count("timeout")
        raise AmbiguousProviderError(0, f"{api}: timed out ({type(exc).__name__})") from None
    except httpx.TransportError as exc:
        count("connection_error")
        raise AmbiguousProviderError(
            0, f"{api}: connection failed ({type(exc).__name__})"
        ) from None
    status = response.status_code
    if status >= HTTP_SERVER_ERROR:  # server side: maybe applied
        count(f"http_{status}")
        raise AmbiguousProviderError(status, f"{api}: HTTP {status} from the provider")
    if status == HTTP_TOO_MANY_REQUESTS:
        count(f"http_{status}")
        raise RetryableProviderError(
            status, f"{api}: HTTP 429, calls over a frequency limit", ErrorClass.THROTTLED
        )
    if status != HTTP_OK:
        count(f"http_{status}")  # wrong base URL or a proxy refusing us
        raise ConfigurationError(status, f"{api}: HTTP {status}; check the base URL")
    try:
        data = response.json()
    except ValueError:
        count("bad_response")
        raise AmbiguousProviderError(0, f"{api}: response is not JSON") from None
    if not isinstance(data, dict):
        count("bad_response")
        raise AmbiguousProviderError(0, f"{api}: response is not a JSON object")
    return data
