"""The default network transport: a connection pool with O(1) checkout and return.

Why not httpx's own (`httpx.AsyncHTTPTransport`, i.e. httpcore's `AsyncConnectionPool`):
for every request it starts and every response it closes, httpcore walks its whole list
of connections (asking each whether it has expired, which polls the idle ones' sockets)
and its whole queue of requests. Counted at 100 tasks on 100 connections: ~2,300
connection-state checks per request, 134 of them socket polls. That was where a loaded
client's CPU went: on it the facade made 0.98x raw httpx's calls/s at 100 tasks, p99
7.5x its p50 (`make bench`, section 2). Here a request takes one slot of a first-come-
first-served semaphore and pops the most recently used idle connection of its origin
(checking only that one has not ended); a closed response pushes its connection back.
Measured in one run of `benchmarks/bench.py --only concurrency` on 2 busy cores: 1,496
calls/s at 100 tasks, 2.49x raw httpx's 602, p99 2.0x p50.

What it keeps of httpx's transport: httpcore's own HTTP/1.1 connections (public API),
httpx's default TLS context (`verify=True`, SSL_CERT_FILE / SSL_CERT_DIR honoured),
`httpx.Limits` and the pool timeout, and httpx's exceptions for httpcore's. What it leaves
out: HTTP/2, proxies and the other knobs nobody could pass to the facade's own transport
(an app that needs them passes `http_client=` or `transport=`); env proxies were never read
for it either, as httpx ignores them for an explicit transport. While a test mocks httpx
the way pytest-httpx does, requests go through httpx's transport, where the mock is.

It runs on anyio, so under asyncio and trio alike. Its sockets are asyncio protocols on
asyncio's own loop, httpcore's own streams on uvloop and under trio (`_network.py` says why).

The blocking client's own transport (`SyncPoolTransport`) is httpx's, whose pool makes its
sockets through a network backend that keeps track of them: closing a socket does not wake
a thread blocked reading it (the anyio streams of the async pool do wake their readers), so
its `close()` shuts them down first, and a thread waiting for its answer fails at once.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import math
import socket
import ssl
import threading
import time
import weakref
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any, cast

import anyio
import httpx

if TYPE_CHECKING:
    # Imported when the first pool is made, as httpx's own transport does: it is a fifth of
    # `import monite_async` otherwise.
    import httpcore

from ._defaults import DEFAULT_LIMITS
from ._forks import on_fork_in_child
from ._transports import CLOSED_TEXT

__all__ = ["ConnectionPoolTransport", "SyncPoolTransport"]

_Key = tuple[bytes, bytes, int]  # an origin's scheme, host and port (httpcore.Origin is not hashable)

# pytest-httpx, and any mock that works as it does, replaces this method on httpx's class
# to intercept every request of every httpx client. While it is replaced, the pool sends
# through a real AsyncHTTPTransport, so such a mock sees the facade's requests as it did
# when that was the facade's default transport (instead of letting them reach the network).
_HTTPX_SEND = httpx.AsyncHTTPTransport.handle_async_request


@functools.cache
def _exceptions() -> tuple[tuple[type[Exception], type[httpx.TransportError]], ...]:
    """httpcore's exceptions as httpx's, most specific first (the first match wins): the
    table httpx's own transport applies, written with public classes."""
    import httpcore

    return (
        (httpcore.ConnectTimeout, httpx.ConnectTimeout),
        (httpcore.ReadTimeout, httpx.ReadTimeout),
        (httpcore.WriteTimeout, httpx.WriteTimeout),
        (httpcore.PoolTimeout, httpx.PoolTimeout),
        (httpcore.TimeoutException, httpx.TimeoutException),
        (httpcore.ConnectError, httpx.ConnectError),
        (httpcore.ReadError, httpx.ReadError),
        (httpcore.WriteError, httpx.WriteError),
        (httpcore.NetworkError, httpx.NetworkError),
        (httpcore.LocalProtocolError, httpx.LocalProtocolError),
        (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
        (httpcore.ProtocolError, httpx.ProtocolError),
        (httpcore.ProxyError, httpx.ProxyError),
        (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    )


def _as_httpx(exc: Exception, request: httpx.Request) -> httpx.TransportError | None:
    for theirs, ours in _exceptions():
        if isinstance(exc, theirs):
            return ours(str(exc), request=request)
    return None


class ConnectionPoolTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 connections kept per origin, at most `limits.max_connections` in all.

    A request waits for a free connection at most its pool timeout (then httpx.PoolTimeout),
    first come first served. An idle connection is reused newest first, so the warm ones
    carry the traffic and the cold ones reach `keepalive_expiry` and are closed.
    `ssl_context` is for tests and callers with their own CA; the default is httpx's.
    """

    def __init__(self, *, limits: httpx.Limits = DEFAULT_LIMITS, ssl_context: ssl.SSLContext | None = None):
        # httpcore and the network backend built on it: the first pool pays for them (see above).
        from ._network import NetworkBackend

        self.limits = limits  # what connection_slots() reads
        self._ssl_context = ssl_context if ssl_context is not None else httpx.create_ssl_context()
        self._max_connections = limits.max_connections
        keepalive = limits.max_keepalive_connections
        self._max_idle = math.inf if keepalive is None else keepalive
        self._expiry = limits.keepalive_expiry
        self._slots: anyio.Semaphore | None = None  # made in the running event loop, on first use
        # Per origin, idle connections with when they went idle: newest on the right.
        self._idle: dict[_Key, collections.deque[tuple[httpcore.AsyncHTTPConnection, float]]] = {}
        self._idle_count = 0
        self._busy: set[httpcore.AsyncHTTPConnection] = set()  # each holds a slot
        self._closed = False
        self._httpx: httpx.AsyncHTTPTransport | None = None  # see _HTTPX_SEND
        self._network = NetworkBackend()

    def __repr__(self) -> str:
        busy, idle = len(self._busy), self._idle_count
        return f"ConnectionPoolTransport(busy={busy}, idle={idle}, closed={self._closed})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError(CLOSED_TEXT)
        if httpx.AsyncHTTPTransport.handle_async_request is not _HTTPX_SEND:
            return await self._through_httpx(request)
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{url.scheme}://'.")
        assert isinstance(request.stream, AsyncIterable)
        import httpcore

        # As httpx's AsyncHTTPTransport builds it.
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        origin = core.url.origin
        key = _key(origin)
        await self._take_slot(request)
        try:
            if self._closed:  # aclose() ran while this request waited for its slot
                raise RuntimeError(CLOSED_TEXT)
            connection = await self._checkout(origin, key)
        except BaseException:
            self._release_slot()
            raise
        try:
            response = await connection.handle_async_request(core)
        except BaseException as exc:
            # Failed or cancelled half way: never reused (httpcore has closed it already).
            await self._drop(connection)
            failure = _as_httpx(exc, request) if isinstance(exc, Exception) else None
            if failure is None:
                raise
            raise failure from exc  # httpcore's error as the cause, as httpx chains it (TLS reasons)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_PooledStream(self, connection, key, response.stream, request),
            extensions=response.extensions,
        )

    async def _through_httpx(self, request: httpx.Request) -> httpx.Response:
        """Send through httpx's own transport, whose send method a test has replaced."""
        if self._httpx is None:
            self._httpx = httpx.AsyncHTTPTransport(verify=self._ssl_context, limits=self.limits)
        return await self._httpx.handle_async_request(request)

    async def _take_slot(self, request: httpx.Request) -> None:
        if self._max_connections is None:
            return
        if self._slots is None:
            self._slots = anyio.Semaphore(self._max_connections)
        if self._slots.value > 0:
            # Free: taken without a timeout scope to build; the request's own I/O yields.
            self._slots.acquire_nowait()
            return
        timeouts = request.extensions.get("timeout")
        pool = timeouts.get("pool") if isinstance(timeouts, dict) else None
        with anyio.move_on_after(pool if isinstance(pool, int | float) else math.inf) as scope:
            await self._slots.acquire()
        if scope.cancelled_caught:
            raise httpx.PoolTimeout("no connection came free within the pool timeout", request=request)

    def _release_slot(self) -> None:
        if self._slots is not None:
            self._slots.release()

    async def _checkout(self, origin: httpcore.Origin, key: _Key) -> httpcore.AsyncHTTPConnection:
        """The newest idle connection to `origin` still usable, or a new one (not yet connected)."""
        idle = self._idle.get(key)
        while idle:
            connection, _ = idle.pop()
            self._idle_count -= 1
            if not connection.has_expired():  # past keepalive_expiry, or the server closed it
                self._busy.add(connection)
                return connection
            await _close(connection)
        if self._max_connections is not None and len(self._busy) + self._idle_count >= self._max_connections:
            # Every connection is ours or idle to another origin: close the coldest of those.
            other = next(queue for queue in self._idle.values() if queue)
            self._idle_count -= 1
            await _close(other.popleft()[0])
        import httpcore

        connection = httpcore.AsyncHTTPConnection(
            origin=origin,
            ssl_context=self._ssl_context,
            keepalive_expiry=self._expiry,
            http1=True,
            http2=False,
            network_backend=self._network,
        )
        self._busy.add(connection)
        return connection

    async def _give_back(self, connection: httpcore.AsyncHTTPConnection, key: _Key) -> None:
        """After its response is closed: idle again if it can carry another request, else closed."""
        if connection not in self._busy:
            return  # dropped already
        # Not has_expired() here: it polls the socket, and checkout does that before reuse.
        if self._closed or not connection.is_idle():
            await self._drop(connection)
            return
        self._busy.discard(connection)
        self._release_slot()
        idle = self._idle.setdefault(key, collections.deque())
        now = time.monotonic()
        idle.append((connection, now))
        self._idle_count += 1
        # The coldest first: past their expiry, or beyond the keep-alive limit.
        while idle and (self._idle_count > self._max_idle or _expired(idle[0][1], now, self._expiry)):
            self._idle_count -= 1
            await _close(idle.popleft()[0])

    async def _drop(self, connection: httpcore.AsyncHTTPConnection) -> None:
        """Close a connection that failed or cannot be reused, and free its slot."""
        if connection in self._busy:
            self._busy.discard(connection)
            self._release_slot()
        await _close(connection)

    async def aclose(self) -> None:
        self._closed = True
        connections = [c for queue in self._idle.values() for c, _ in queue] + list(self._busy)
        self._idle.clear()
        self._idle_count = 0
        # Busy ones too (their requests fail): what httpx's pool does. Their slots come
        # back when their responses are closed.
        for connection in connections:
            await _close(connection)
        if self._httpx is not None:
            await self._httpx.aclose()


class _PooledStream(httpx.AsyncByteStream):
    """The response body; closing it hands its connection back to the pool."""

    def __init__(
        self,
        pool: ConnectionPoolTransport,
        connection: httpcore.AsyncHTTPConnection,
        key: _Key,
        stream: AsyncIterable[bytes],
        request: httpx.Request,
    ) -> None:
        self._pool = pool
        self._connection = connection
        self._key = key
        self._stream = stream
        self._request = request
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except Exception as exc:
            failure = _as_httpx(exc, self._request)
            if failure is None:
                raise
            raise failure from exc

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Shielded: a cancelled reader must still return its slot and its connection.
        with anyio.CancelScope(shield=True):
            try:
                closer = getattr(self._stream, "aclose", None)
                if closer is not None:
                    await closer()  # httpcore marks the connection idle, or closes it
            except Exception as exc:
                failure = _as_httpx(exc, self._request)
                if failure is None:
                    raise
                raise failure from exc
            finally:
                await self._pool._give_back(self._connection, self._key)


def _key(origin: httpcore.Origin) -> _Key:
    return (origin.scheme, origin.host, origin.port)


def _expired(since: float, now: float, expiry: float | None) -> bool:
    return expiry is not None and now - since > expiry


async def _close(connection: httpcore.AsyncHTTPConnection) -> None:
    # Shielded: a cancelled caller must not leave a socket half closed. A connection
    # being thrown away has nothing left to report.
    with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
        await connection.aclose()


class SyncPoolTransport(httpx.HTTPTransport):
    """The blocking client's own transport: httpx's, whose `close()` also wakes the threads
    blocked on its connections (see the module docstring). A caller's `transport=` or
    `http_client=` is never this: what its sockets do on close is the caller's business.

    It stays an `httpx.HTTPTransport` (handle_request is httpx's own, so a mock that
    replaces it, as pytest-httpx does, still sees every request); only its httpcore pool is
    made with a network backend of ours, with what httpx would give it otherwise.
    """

    def __init__(self, *, limits: httpx.Limits = DEFAULT_LIMITS, ssl_context: ssl.SSLContext | None = None):
        import httpcore

        if ssl_context is None:  # for tests, as ConnectionPoolTransport's; else what httpx makes
            ssl_context = httpx.create_ssl_context()
        super().__init__(verify=ssl_context, limits=limits)
        self.limits = limits  # what connection_slots() reads
        self._ssl_context = ssl_context
        self._own_pool = isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool)
        self._sockets = _Sockets(httpcore.SyncBackend())
        if self._own_pool:  # else: close() as httpx's
            self._pool = self._new_pool()
        on_fork_in_child(self._start_over)

    def _new_pool(self) -> Any:
        import httpcore

        self._sockets = _Sockets(httpcore.SyncBackend())
        return httpcore.ConnectionPool(
            ssl_context=self._ssl_context,
            max_connections=self.limits.max_connections,
            max_keepalive_connections=self.limits.max_keepalive_connections,
            keepalive_expiry=self.limits.keepalive_expiry,
            network_backend=cast("httpcore.NetworkBackend", self._sockets),
        )

    def _start_over(self) -> None:
        # In a forked child: the pooled connections are the parent's sockets too (two
        # processes reading one answer). Left as they are, not closed: closing a TLS one
        # could write to the parent's stream. The child opens its own from here on.
        if self._own_pool:
            self._pool = self._new_pool()

    def close(self) -> None:
        self._sockets.shut_down()  # threads reading wake (their requests fail: the client is closed)
        super().close()


class _Sockets:
    """httpcore's blocking network backend, keeping the streams it opens until they close."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._lock = threading.Lock()
        # Weak: a stream httpcore drops without closing it is not kept alive here.
        self._open: weakref.WeakSet[_TrackedStream] = weakref.WeakSet()

    def connect_tcp(self, *args: Any, **kwargs: Any) -> _TrackedStream:
        return self._tracked(self._backend.connect_tcp(*args, **kwargs))

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> _TrackedStream:
        return self._tracked(self._backend.connect_unix_socket(*args, **kwargs))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)

    def _tracked(self, stream: Any) -> _TrackedStream:
        tracked = _TrackedStream(stream, self)
        with self._lock:
            self._open.add(tracked)
        return tracked

    def forget(self, stream: _TrackedStream) -> None:
        with self._lock:
            self._open.discard(stream)

    def shut_down(self) -> None:
        """Shut every open socket down (both ways): a thread blocked reading one reads the end now."""
        with self._lock:
            streams = list(self._open)
        for stream in streams:
            stream.shut_down()


class _TrackedStream:
    """An httpcore network stream, its TLS one after start_tls, that can be shut down from another thread."""

    def __init__(self, stream: Any, sockets: _Sockets) -> None:
        self._stream = stream
        self._sockets = sockets

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = self._stream.read(max_bytes, timeout)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._sockets.forget(self)
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> _TrackedStream:
        try:
            self._stream = self._stream.start_tls(ssl_context, server_hostname, timeout)
        except BaseException:
            self._sockets.forget(self)  # closed by httpcore's stream already
            raise
        return self

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)

    def shut_down(self) -> None:
        sock = self._stream.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            # socket.socket's own shutdown, also for a TLS socket: ssl.SSLSocket's also drops
            # its SSL object, and a thread reading it next would meet a ValueError ("Read on
            # closed or unwrapped SSL socket"), not a network error. OSError: closed meanwhile.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
