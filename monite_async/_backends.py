"""Opt-in network backends: transports that replace httpx's own connection pool.

httpx's pool scans every queued request against every connection, which costs more the
more requests wait; past ~10 concurrent requests an aiohttp-backed transport is several
times faster (figures in docs/benchmarks.md). Auth, retries, version pinning and errors
sit above the transport, so they behave the same on either:

    from monite_async import MoniteClient, aiohttp_transport

    monite = MoniteClient(transport=aiohttp_transport())  # the 'fast' extra: pip install '.[fast]'
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ._client import DEFAULT_LIMITS
from ._errors import ClientStateError, ConfigurationError

__all__ = ["aiohttp_transport"]


def aiohttp_transport(*, limits: httpx.Limits = DEFAULT_LIMITS) -> httpx.AsyncBaseTransport:
    """An httpx transport that sends through aiohttp (the `fast` extra), with `limits` as
    its connection pool. `MoniteClient.aclose()` closes it, as it closes any `transport=`."""
    try:
        import aiohttp
        from httpx_aiohttp import AiohttpTransport
    except ImportError:
        raise ConfigurationError(
            "aiohttp_transport() needs the 'fast' extra: "
            "pip install '.[fast]' from a checkout of monite_async"
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
            # As on httpx's transport (see _client._NoCookies): no cookie is kept or sent.
            if hasattr(session, "_cookie_jar"):
                session._cookie_jar = aiohttp.DummyCookieJar()
            return session

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            failure: Exception | None = None
            try:
                response = await super().handle_async_request(request)
            except (httpx.TransportError, aiohttp.ClientError, RuntimeError) as exc:
                failure = _plain_error(exc, request)
            if failure is not None:
                # Raised outside the except block: the aiohttp exception is neither its
                # __cause__ nor its __context__ (its repr quotes the request's headers).
                raise failure
            if isinstance(response.stream, httpx.AsyncByteStream):
                response.stream = _PlainErrorStream(response.stream, request)
            return response

    transport: httpx.AsyncBaseTransport = MoniteAiohttpTransport(limits=limits)
    return transport


class _PlainErrorStream(httpx.AsyncByteStream):
    """The response body, failing as httpx does while it is read: no aiohttp error escapes."""

    def __init__(self, stream: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import aiohttp

        chunks = self._stream.__aiter__()
        while True:
            failure: Exception | None = None
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            except (httpx.TransportError, aiohttp.ClientError, RuntimeError) as exc:
                failure = _plain_error(exc, self._request)
            if failure is not None:
                raise failure
            yield chunk

    async def aclose(self) -> None:
        import aiohttp

        failure: Exception | None = None
        try:
            await self._stream.aclose()
        except (httpx.TransportError, aiohttp.ClientError, RuntimeError) as exc:
            failure = _plain_error(exc, self._request)
        if failure is not None:
            raise failure


def _plain_error(exc: Exception, request: httpx.Request) -> Exception:
    """The httpx error (or ClientStateError) that stands for `exc`, with nothing chained.

    httpx-aiohttp chains aiohttp's exception as __cause__, and re-raises unmapped ones
    as they are: aiohttp.ClientResponseError (a malformed answer) carries request_info,
    whose repr holds the Authorization header. Messages name the failure, never headers.
    """
    import aiohttp

    if isinstance(exc, RuntimeError):
        if "closed" in str(exc).lower():  # aiohttp: "Session is closed"
            return ClientStateError("this MoniteClient is closed; create a new one")
        return exc
    cause: Any = exc.__cause__ if isinstance(exc, httpx.TransportError) else exc
    if isinstance(exc, httpx.ConnectTimeout) and not (
        cause is None or isinstance(cause, asyncio.TimeoutError)
    ):
        # httpx-aiohttp maps every aiohttp.ClientConnectionError it has no better entry
        # for to ConnectTimeout, a dropped connection included: that would surface as a
        # timeout. Give it the error httpx itself raises.
        if isinstance(cause, aiohttp.ServerDisconnectedError):
            return httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx.ReadError(f"Connection failed: {type(cause).__name__}", request=request)
    if isinstance(exc, httpx.TransportError):
        return type(exc)(str(exc)[:200], request=request)
    if isinstance(exc, aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(
            f"The answer is not valid HTTP ({type(exc).__name__}, status {exc.status})", request=request
        )
    return httpx.ReadError(f"Connection failed: {type(exc).__name__}", request=request)
