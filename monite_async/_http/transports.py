"""The network under the retry layer: which transport sends, and how its failures look.

Everything here speaks httpx2: a transport raises httpx2's own exceptions (never a
`MoniteError`; the pipeline maps failures to those, once), with nothing chained that
could quote a request's headers. Three ways to send:

- httpx2's own pool (the default): `httpx2.AsyncHTTPTransport` as `TrailingBytesGuard` (the
  blocking client: `ForkSafeHTTPTransport`), which the flow sends to directly (no httpx2
  client: no cookies);
- an `httpx2.AsyncClient` the caller owns (`CallerClientTransport`), or the blocking
  client's `httpx2.Client` (`SyncCallerClientTransport`);
- aiohttp, opt-in, faster under high concurrency (`aiohttp_transport`, the `fast` extra,
  which installs httpx-aiohttp and so httpx as well; `import monite_async` never imports it):

    from monite_async import MoniteClient, aiohttp_transport

    monite = MoniteClient(transport=aiohttp_transport())  # the 'fast' extra: pip install '.[fast]'

`plain_error` is the one place a network failure is classified: a TLS failure becomes
`TLSError` (permanent: retrying cannot fix a wrong scheme or an untrusted certificate),
a refused connection a `ConnectError` that says so, whatever the backend.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import socket
import ssl
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpcore2
import httpx2
import sniffio

from .._defaults import DEFAULT_LIMITS
from .._errors import ConfigurationError
from .forks import on_fork_in_child

__all__ = [
    "ASYNCIO_ONLY_TEXT",
    "NEVER_SENT",
    "READ_DEADLINE",
    "CallerClientTransport",
    "DeadlinePassed",
    "ForkSafeHTTPTransport",
    "SyncCallerClientTransport",
    "TLSError",
    "TrailingBytesGuard",
    "aiohttp_transport",
    "default_tls",
    "is_asyncio_only",
    "plain_error",
    "refuse_foreign_http",
]

# What httpx2 raises (a RuntimeError) when a closed client is asked to send; `plain_error`
# says the same for aiohttp's closed session.
CLOSED_TEXT = "Cannot send a request, as the client has been closed."

# Building or using aiohttp_transport() under trio; written once, here (see is_asyncio_only).
ASYNCIO_ONLY_TEXT = (
    "aiohttp_transport() runs only under asyncio; under trio, use the default transport "
    "(leave MoniteClient's transport= unset)"
)

# Failures that prove the request never reached Monite (no connection, or none free).
NEVER_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)


class DeadlinePassed(httpx2.TransportError):
    """Not sent: the call's deadline passed while it waited (the blocking client's threads
    cannot be cancelled as an async task is, so its waits are bounded by the deadline)."""


class TLSError(httpx2.ConnectError):
    """The TLS handshake failed: a wrong scheme or port, or a certificate not trusted.

    `reason` is "certificate" (verification failed) or "protocol" (the other side does
    not speak TLS, or not a version we accept).
    """

    def __init__(self, message: str, *, reason: str, request: httpx2.Request | None = None) -> None:
        super().__init__(message, request=request)
        self.reason = reason


class _CallerClient:
    """What both caller-client transports add to a request before it goes through the
    caller's client (its pool, proxies, TLS settings, event hooks)."""

    def __init__(self, client: httpx2.AsyncClient | httpx2.Client, *, user_agent: str) -> None:
        self._client = client
        self._headers = client.headers
        # Theirs first, ours appended: a proxy or log still sees who the app is.
        caller_agent = self._headers.get("user-agent")
        self._user_agent = f"{caller_agent} {user_agent}" if caller_agent else user_agent

    def _prepared(self, request: httpx2.Request) -> httpx2.Request:
        # `send` skips the client's default headers; add the caller's (a custom header they
        # set, say), never replacing ours (Authorization, x-monite-version, content-type).
        for name, value in self._headers.items():
            if name not in request.headers:
                request.headers[name] = value
        request.headers["user-agent"] = self._user_agent
        return request


class CallerClientTransport(_CallerClient, httpx2.AsyncBaseTransport):
    """Sends through an httpx2.AsyncClient the caller owns. The caller closes it, so
    `aclose` here does nothing (the base class's)."""

    _client: httpx2.AsyncClient

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        # auth=None: Authorization is ours; the caller client's own auth must not replace it.
        # A closed caller client raises httpx2's RuntimeError, which the pipeline maps.
        return await self._client.send(
            self._prepared(request), stream=True, auth=None, follow_redirects=False
        )


class SyncCallerClientTransport(_CallerClient, httpx2.BaseTransport):
    """`CallerClientTransport` for the blocking client: through the caller's httpx2.Client
    (left open: `close` is the base class's, which does nothing)."""

    _client: httpx2.Client

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        return self._client.send(self._prepared(request), stream=True, auth=None, follow_redirects=False)


def default_tls() -> ssl.SSLContext:
    """The TLS context of the clients' own pools: httpx2's default (the system's trust store),
    made once per process. Loading the trust store is nearly all of what building a client
    costs; an SSLContext serves any number of connections and threads.
    Made again when SSL_CERT_FILE or SSL_CERT_DIR (which httpx2 reads) change."""
    return _tls_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_for(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpcore2.default_ssl_context()


class ForkSafeHTTPTransport(httpx2.HTTPTransport):
    """The blocking client's default transport: httpx2's own pool, with what a thread needs.

    - Started afresh in a forked child: a prefork server's child (gunicorn `--preload`,
      Celery) inherits the pooled sockets, and would send on the parent's connections. The
      parent's pool is left as it is, not closed (closing a TLS connection could write to the
      parent's stream).
    - Every read, write and connect ends by the call's deadline (`READ_DEADLINE`): a thread
      has no cancel scope, and a server trickling a byte at a time defeats a read timeout.
    - `close()` shuts the pool's sockets down, which wakes the threads blocked reading them
      (closing a socket does not; see `_DeadlineStream.close`).
    - A connection left with bytes after a complete answer is closed, not reused.
    """

    def __init__(self, *, limits: httpx2.Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        on_fork_in_child(self._start_over)

    def _start_over(self) -> None:
        super().__init__(limits=self.limits, verify=default_tls())
        # httpx2.HTTPTransport takes no network backend: it goes into its httpcore2 pool, a
        # private attribute (if it moves, the trickle cases of tests/hostile fail).
        self._pool._network_backend = _DeadlineBackend()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        for connection in _poisoned(self._pool):
            connection.close()
        return httpx2.HTTPTransport.handle_request(self, request)  # fast path: no super() per call


def aiohttp_transport(*, limits: httpx2.Limits = DEFAULT_LIMITS) -> httpx2.AsyncBaseTransport:
    """An httpx2 transport that sends through aiohttp (the `fast` extra), with `limits` as
    its connection pool. `MoniteClient.aclose()` closes it, as it closes any `transport=`.

        monite = MoniteClient(transport=aiohttp_transport(limits=httpx2.Limits(max_connections=50)))
    """
    # Built outside any event loop: checked again when first used (see is_asyncio_only).
    with contextlib.suppress(sniffio.AsyncLibraryNotFoundError):
        if sniffio.current_async_library() == "trio":
            raise ConfigurationError(ASYNCIO_ONLY_TEXT)
    try:
        import aiohttp

        # The adapter for httpx2 (the package's top level speaks httpx); imported through
        # the package, so an absent one fails here even when the adapter was imported before.
        from httpx_aiohttp import httpx2 as adapter
    except ImportError:
        raise ConfigurationError(
            "aiohttp_transport() needs the 'fast' extra: "
            "pip install '.[fast]' from a checkout of monite_async"
        ) from None

    class SafeReasonResponse(aiohttp.ClientResponse):
        """A reason phrase that encodes: aiohttp keeps bytes that are not UTF-8 as surrogates,
        and httpx-aiohttp's `reason.encode()` would raise on them with the response left
        open. The phrase means nothing to us; its text is kept."""

        async def start(self, connection: aiohttp.connector.Connection) -> aiohttp.ClientResponse:
            await super().start(connection)
            if self.reason:
                self.reason = self.reason.encode("utf-8", "replace").decode()
            return self

    class MoniteAiohttpTransport(adapter.AiohttpTransport):
        """httpx-aiohttp with aiohttp's own re-sends and cookies off. What it raises, while
        sending or reading, the flow's driver classifies (`plain_error`) as it does httpx2's."""

        asyncio_only = True  # aiohttp runs on asyncio alone (see is_asyncio_only)

        def get_client(self) -> aiohttp.ClientSession:
            session = super().get_client()
            # aiohttp (3.11+) silently re-sends an idempotent request once when a kept-alive
            # connection drops; then one attempt of ours would be two on the wire. Only our
            # retry layer may re-send. (aiohttp's own test client switches it off this way.)
            session._retry_connection = False
            # As with httpx2's transport (the flow sends to it with no client): no cookie is kept or sent.
            session._cookie_jar = aiohttp.DummyCookieJar()
            session._response_class = SafeReasonResponse
            return session

    return MoniteAiohttpTransport(limits=limits)


def refuse_foreign_http(**arguments: object) -> None:
    """Refuse any argument that is an httpx (not httpx2) object: a client, transport,
    `Timeout` or `Limits`, or a subclass of one, with what to pass instead.

    httpx2 would otherwise fail on it only when sending (an `AssertionError` or `TypeError`
    from deep inside), or run a second HTTP stack beside ours. Recognised by the module its
    classes come from, so httpx is never imported here (it is not our dependency).
    """
    for argument, value in arguments.items():
        for foreign in type(value).__mro__:  # the first httpx class it is or derives from
            if _root_module(foreign) != "httpx":
                continue
            name = foreign.__qualname__
            subclass = type(value) is not foreign
            passed = f"{type(value).__qualname__} (an httpx.{name})" if subclass else f"an httpx.{name}"
            instead = f"a subclass of httpx2.{name}" if subclass else f"an httpx2.{name}"
            if not hasattr(httpx2, name):
                instead = "its httpx2 equivalent"
            raise ConfigurationError(
                f"{argument}= got {passed}, from httpx; monite_async runs on httpx2: "
                f"pass {instead} instead (import httpx2)"
            )


def _root_module(kind: type) -> str:
    return kind.__module__.partition(".")[0]


def is_asyncio_only(transport: httpx2.AsyncBaseTransport) -> bool:
    """Whether `transport` can run only under asyncio (aiohttp's can; httpx2's own runs on anyio)."""
    return bool(getattr(transport, "asyncio_only", False))


def _chain(exc: BaseException | None, seen: list[BaseException]) -> Iterator[BaseException]:
    """`exc` and everything it was raised from or during, depth first: a group's exceptions
    (the last first), then its context, then its cause; each once (chains can loop), and at
    most 32 in all. `seen`: those met already."""
    if exc is None or len(seen) >= 32 or any(exc is earlier for earlier in seen):
        return
    seen.append(exc)
    yield exc
    grouped = exc.exceptions if isinstance(exc, BaseExceptionGroup) else ()
    for linked in (*reversed(grouped), exc.__context__, exc.__cause__):
        yield from _chain(linked, seen)


def plain_error(exc: BaseException, request: httpx2.Request) -> httpx2.TransportError | RuntimeError:
    """The httpx2 exception (or RuntimeError) that stands for `exc`, with nothing chained.

    Texts name the failure, never headers: httpx-aiohttp chains aiohttp's exception, whose
    repr can hold the Authorization header, and re-raises unmapped ones as they are.
    """
    if isinstance(exc, RuntimeError):
        # httpx2's closed client; aiohttp's "Session is closed"
        return RuntimeError(CLOSED_TEXT if "closed" in str(exc).lower() else str(exc)[:200])
    # A network failure: always one of httpx2's transport errors.
    linked = list(_chain(exc, []))
    tls = [e for e in linked if isinstance(e, ssl.SSLError)]
    if tls:
        # The standard library's own error, not a wrapper of it (aiohttp's subclass one).
        error = next((e for e in tls if type(e).__module__ == "ssl"), tls[0])
        text = getattr(error, "verify_message", None) or getattr(error, "reason", None) or error
        certificate = any(isinstance(e, ssl.SSLCertVerificationError) for e in tls)
        return TLSError(str(text)[:120], reason="certificate" if certificate else "protocol", request=request)
    if any(isinstance(e, ConnectionRefusedError) for e in linked):
        return httpx2.ConnectError("connection refused", request=request)
    cause = exc.__cause__
    aiohttp_failure = _root_module(type(cause)) == "aiohttp" and not isinstance(cause, TimeoutError)
    if isinstance(exc, httpx2.ConnectTimeout) and aiohttp_failure:
        # httpx-aiohttp maps every aiohttp.ClientConnectionError it has no better entry
        # for to ConnectTimeout, a dropped connection included: that would surface as a
        # timeout. Give it the error httpx2 itself raises.
        return _from_aiohttp(cause, request)
    if isinstance(exc, httpx2.TransportError):
        return type(exc)(str(exc)[:200] or type(exc).__name__, request=request)
    return _from_aiohttp(exc, request)


def _from_aiohttp(exc: BaseException | None, request: httpx2.Request) -> httpx2.TransportError:
    """The error httpx2's own transport raises where aiohttp raised `exc` (unmapped by
    httpx-aiohttp, or mapped to ConnectTimeout); anything else a caller's transport raised
    is a ReadError."""
    aiohttp: Any = sys.modules.get("aiohttp")  # not imported: none of its errors can exist
    name = type(exc).__name__
    if aiohttp is None:
        return httpx2.ReadError(f"Connection failed: {name}", request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx2.RemoteProtocolError("Server disconnected without sending a response.", request=request)
    if isinstance(exc, UnicodeError | aiohttp.ClientResponseError):
        return httpx2.RemoteProtocolError(f"The answer is not valid HTTP ({name})", request=request)
    kind = httpx2.ConnectError if isinstance(exc, aiohttp.ClientConnectorError) else httpx2.ReadError
    return kind(f"Connection failed: {name}", request=request)


# -- What httpx2's own pools cannot do for us (issue 29) --------------------------------------
#
# A connection with bytes after its answer: httpcore2 2.17 gives an HTTP/1.1 connection back
# to the pool once both sides are DONE (`_response_closed` calls `start_next_cycle()`),
# keeping whatever h11 read past the answer, which then becomes the next request's answer.
# Its check on reuse (`is_readable`) sees only the socket, not h11's buffer. The fix belongs
# there (close the connection when `_h11_state.trailing_data[0]` is not empty); no public API
# reaches h11's state, so until httpcore2 does it, `TrailingBytesGuard` reads it through
# httpcore2's private attributes with getattr: if they move, it checks nothing, and the
# class-5 cases of tests/hostile/test_hostile_classes.py fail.


def _poisoned(pool: httpcore2.ConnectionPool | httpcore2.AsyncConnectionPool) -> Iterator[Any]:
    """The idle connections of an httpcore2 pool whose h11 state holds bytes past an answer."""
    for connection in pool.connections:  # a copy: closing one changes nothing here
        h11_state = getattr(getattr(connection, "_connection", None), "_h11_state", None)
        if h11_state is not None and connection.is_idle() and h11_state.trailing_data[0]:
            yield connection


class TrailingBytesGuard(httpx2.AsyncHTTPTransport):
    """httpx2's transport, closing every connection left with bytes after a complete answer
    before each request (instead of letting the pool hand it to that request)."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        for connection in _poisoned(self._pool):
            await connection.aclose()
        # Fast path: the base class's method named, not a super() object made per call.
        return await httpx2.AsyncHTTPTransport.handle_async_request(self, request)


# A trickle: httpx2's read timeout bounds each read, so one byte every 0.5 s keeps a blocking
# call going for as long as the server likes (a thread has no cancel scope). The blocking
# driver sets `READ_DEADLINE`, before each send, to the monotonic time its thread's reads must
# end by; the network stream of `ForkSafeHTTPTransport` shrinks each read's timeout to what is
# left of it (httpcore2 maps the socket.timeout to httpx2.ReadTimeout, which the flow maps
# already). Set, never reset, and no default: only that driver sends to this pool, and it sets
# it before every send (a call's deadline is always finite).
READ_DEADLINE: contextvars.ContextVar[float] = contextvars.ContextVar("monite_async_read_deadline")


def _bounded(timeout: float | None) -> float | None:
    left = max(READ_DEADLINE.get() - time.monotonic(), 0.001)  # 0 would mean non-blocking, not "over"
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore2.NetworkStream):
    def __init__(self, stream: httpcore2.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout))

    def close(self) -> None:
        # Shut down first: that wakes a thread blocked reading the socket, closing it does
        # not (how the blocking client's close() fails the calls in flight at once).
        with contextlib.suppress(OSError, AttributeError):
            self._stream.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore2.SyncBackend):
    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, *args: Any, **kwargs: Any
    ) -> httpcore2.NetworkStream:
        stream = super().connect_tcp(host, port, _bounded(timeout), *args, **kwargs)
        return _DeadlineStream(stream)
