"""Opt-in network backends: transports that replace httpx's own connection pool.

httpx's pool scans every queued request against every connection, which costs more the
more requests wait; past ~10 concurrent requests an aiohttp-backed transport is several
times faster (figures in docs/benchmarks.md). Auth, retries, version pinning and errors
sit above the transport, so they behave the same on either:

    from monite_async import MoniteClient, aiohttp_transport

    monite = MoniteClient(transport=aiohttp_transport())  # pip install 'monite-async[fast]'
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from ._client import DEFAULT_LIMITS
from ._errors import ConfigurationError

__all__ = ["aiohttp_transport"]


def aiohttp_transport(*, limits: httpx.Limits = DEFAULT_LIMITS) -> httpx.AsyncBaseTransport:
    """An httpx transport that sends through aiohttp (the `fast` extra), with `limits` as
    its connection pool. `MoniteClient.aclose()` closes it, as it closes any `transport=`."""
    try:
        import aiohttp
        from httpx_aiohttp import AiohttpTransport
    except ImportError:
        raise ConfigurationError(
            "aiohttp_transport() needs the 'fast' extra: pip install 'monite-async[fast]'"
        ) from None

    class MoniteAiohttpTransport(AiohttpTransport):
        """httpx-aiohttp, made to fail the way httpx does, so the retry layer counts right."""

        def get_client(self) -> aiohttp.ClientSession:
            session = super().get_client()
            # aiohttp silently re-sends an idempotent request once when a kept-alive
            # connection drops; then one attempt of ours would be two on the wire. Only our
            # retry layer may re-send. (aiohttp's own test client switches it off this way.)
            if hasattr(session, "_retry_connection"):
                session._retry_connection = False
            return session

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            try:
                return await super().handle_async_request(request)
            except httpx.ConnectTimeout as exc:
                # httpx-aiohttp maps every aiohttp.ClientConnectionError it has no better
                # entry for to ConnectTimeout, a dropped connection included: that would
                # surface as a timeout. Give it the error httpx itself raises.
                raise _disconnect_error(exc, request) from exc.__cause__

    transport: httpx.AsyncBaseTransport = MoniteAiohttpTransport(limits=limits)
    return transport


def _disconnect_error(exc: httpx.ConnectTimeout, request: httpx.Request) -> httpx.TransportError:
    import aiohttp

    cause: Any = exc.__cause__
    if cause is None or isinstance(cause, asyncio.TimeoutError):
        return exc
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
    return httpx.ReadError(str(exc), request=request)
