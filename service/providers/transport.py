"""An httpx transport that spreads requests over several small connection pools.

httpcore's pool re-examines every pooled connection for each queued request whenever a request
starts or ends, so its CPU cost grows with the square of the pool size. At a provider's full rate
(hundreds of calls per second, tens in flight) one large pool costs more CPU than the whole
import. Several pools of at most ``connections_per_pool`` keep that cost small; each request
goes to the pool with the fewest requests in flight.
"""

from __future__ import annotations

import math

import httpx

CONNECTIONS_PER_POOL = 12


class ShardedTransport(httpx.AsyncBaseTransport):
    """Least-loaded dispatch over several ``httpx.AsyncHTTPTransport`` pools."""

    def __init__(
        self, *, max_connections: int, keepalive_expiry: float = 30.0, connections_per_pool: int = CONNECTIONS_PER_POOL
    ) -> None:
        per_pool = max(1, min(connections_per_pool, max_connections))
        count = max(1, math.ceil(max_connections / per_pool))
        limits = httpx.Limits(
            max_connections=per_pool, max_keepalive_connections=per_pool, keepalive_expiry=keepalive_expiry
        )
        self._pools = [httpx.AsyncHTTPTransport(limits=limits) for _ in range(count)]
        self._in_flight = [0] * count

    @property
    def pools(self) -> int:
        """How many pools requests are spread over."""
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the least busy pool."""
        index = min(range(len(self._pools)), key=self._in_flight.__getitem__)
        self._in_flight[index] += 1
        try:
            response = await self._pools[index].handle_async_request(request)
            await response.aread()
        finally:
            self._in_flight[index] -= 1
        return response

    async def aclose(self) -> None:
        """Close every pool."""
        for pool in self._pools:
            await pool.aclose()
