"""The pool's network backend: sockets as asyncio protocols on asyncio's loop, else httpcore's.

Why not httpcore's own (anyio streams under asyncio): at 100 tasks, about a quarter of a
loaded client's CPU went there (py-spy, on the bench's fake Monite). Every read and every
write opens an anyio cancel scope for its timeout and passes once more through the event
loop (anyio's checkpoints), and every reuse of an idle connection asks anyio for the
socket's attributes (a dict of eight rebuilt per question) to poll it. Here a socket is a
transport whose protocol keeps what arrived: a read takes from that buffer, or waits on one
future bounded by one timer; a write hands the bytes to the transport; an idle connection
was closed by the server if its protocol has seen the end or unexpected bytes, which the
loop has been reading all along (no syscall). On the same 2-vCPU machine the facade went
from ~960 to ~1,250 calls/s at 100 tasks; `benchmarks/bench.py --only concurrency`
measures it against raw httpx each run.

Only on asyncio's own selector loop (Linux, macOS), the one measured and tested: uvloop's
transports differ where it matters (its TLS layer drops what it has not decrypted when the
server closes; its create_connection does not race IPv6 against IPv4), and Windows'
proactor loop is not tested here. Those, and trio, keep httpcore's own streams.

The streams keep httpcore's interface and exceptions (ReadTimeout, ConnectError and so on,
raised from the OSError or ssl.SSLError that caused them), so the connections, and the
errors users see, are httpcore's as before.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from asyncio import selector_events
from collections.abc import Iterable
from typing import Any, cast

import anyio
import httpcore
import sniffio

__all__ = ["AsyncioStream", "NetworkBackend"]

# A reader that falls behind makes the transport stop reading past this many bytes buffered
# (TCP's own flow control then holds the server), and read again below a quarter of it.
_HIGH_WATER = 256 * 1024
_LOW_WATER = _HIGH_WATER // 4

# How long an address family gets before the next one is tried (RFC 8305's recommendation,
# and anyio's for httpcore's default backend).
_HAPPY_EYEBALLS_DELAY = 0.25

# Python 3.12+ reports every address's failure (an ExceptionGroup, in which the error
# mapping finds a refused connection); 3.11 joins their texts into one OSError.
_ALL_ERRORS: dict[str, Any] = {"all_errors": True} if sys.version_info >= (3, 12) else {}


class NetworkBackend(httpcore.AsyncNetworkBackend):
    """An `httpcore.AsyncNetworkBackend`: `AsyncioStream`s on asyncio's own selector loop,
    httpcore's own backend for any other (anyio's streams on uvloop, trio's under trio)."""

    def __init__(self) -> None:
        # httpcore's backend for each other async library met ("asyncio": another loop)
        self._others: dict[str, httpcore.AsyncNetworkBackend] = {}

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        library = sniffio.current_async_library()
        loop = asyncio.get_running_loop() if library == "asyncio" else None
        if loop is None or not _selector_loop(loop):
            return await self._other(library).connect_tcp(
                host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
            )
        protocol = _Protocol(loop)
        try:
            async with asyncio.timeout(timeout):
                transport, _ = await loop.create_connection(
                    lambda: protocol,
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                    happy_eyeballs_delay=_HAPPY_EYEBALLS_DELAY,
                    **_ALL_ERRORS,
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout("timed out connecting") from exc
        except (OSError, ExceptionGroup) as exc:
            raise httpcore.ConnectError(_connect_text(exc)) from exc
        try:
            sock = transport.get_extra_info("socket")
            for option in socket_options or ():
                sock.setsockopt(*option)
        except OSError as exc:
            transport.abort()
            raise httpcore.ConnectError(str(exc)) from exc
        return AsyncioStream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # Not reached (the pool connects to http(s) origins); httpcore's, to keep the interface whole.
        other = self._other(sniffio.current_async_library())
        return await other.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)

    def _other(self, library: str) -> httpcore.AsyncNetworkBackend:
        backend = self._others.get(library)
        if backend is None:
            backend = httpcore.TrioBackend() if library == "trio" else httpcore.AnyIOBackend()
            self._others[library] = backend
        return backend


def _selector_loop(loop: asyncio.AbstractEventLoop) -> bool:
    return isinstance(loop, selector_events.BaseSelectorEventLoop)


def _connect_text(exc: BaseException) -> str:
    if isinstance(exc, ExceptionGroup):
        return "; ".join(str(e) for e in exc.exceptions)[:300] or "connection failed"
    return str(exc) or type(exc).__name__


class _Protocol(asyncio.Protocol):
    """Keeps what the socket delivered until the stream reads it, and whether it has ended."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None  # set once connected (for TLS: by start_tls)
        self.buffer = bytearray()
        self.at_eof = False  # the server said it sends nothing more
        self.lost = False  # the connection is gone (either side closed it, or it broke)
        self.error: BaseException | None = None  # why it broke, when it did
        self.closed_here = False  # we closed it (a read then fails, as on anyio's streams)
        self.reading_paused = False
        self._writing_paused = False
        self._waiter: asyncio.Future[bool] | None = None  # the reader waiting for bytes or the end
        self._drainer: asyncio.Future[bool] | None = None  # the writer waiting for the buffer to drain

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _HIGH_WATER and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        _wake(self._waiter)

    def eof_received(self) -> bool:
        self.at_eof = True
        _wake(self._waiter)
        # A writer waiting for the server to take more will not be served: it writes again,
        # fails (WriteError), and httpcore reads the answer the server sent before it ended
        # (a 413 to a large upload, say) instead of waiting out its write timeout.
        _wake(self._drainer)
        return False  # close the transport: HTTP/1.1 has no use for a half-closed connection

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.error = exc
        _wake(self._waiter)
        _wake(self._drainer)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        _wake(self._drainer)

    def has_news(self) -> bool:
        """Whether a read would not wait."""
        return bool(self.buffer) or self.at_eof or self.lost

    def drained(self) -> bool:
        """Whether a writer need not wait: the transport takes more, or never will."""
        return not self._writing_paused or self.at_eof or self.lost

    async def wait_for_news(self, seconds: float | None) -> bool:
        """Wait until a read would not wait; False if `seconds` (None: no limit) passed first."""
        return await self._wait("_waiter", seconds) or self.has_news()

    async def wait_for_drain(self, seconds: float | None) -> bool:
        if self.drained():
            return True
        return await self._wait("_drainer", seconds) or self.drained()

    async def _wait(self, slot: str, seconds: float | None) -> bool:
        # One future and one timer: what asyncio.timeout() costs, without its cancel/uncancel
        # dance on the task, whose cancellation belongs to the caller's cancel scopes.
        future: asyncio.Future[bool] = self._loop.create_future()
        setattr(self, slot, future)
        timer = None if seconds is None else self._loop.call_later(max(seconds, 0.0), _time_out, future)
        try:
            return await future
        finally:
            setattr(self, slot, None)
            if timer is not None:
                timer.cancel()


def _wake(future: asyncio.Future[bool] | None) -> None:
    if future is not None and not future.done():
        future.set_result(True)


def _time_out(future: asyncio.Future[bool]) -> None:
    if not future.done():
        future.set_result(False)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """An `httpcore.AsyncNetworkStream` over an asyncio transport and its `_Protocol`."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol, *, tls: bool = False) -> None:
        self._transport = transport
        self._protocol = protocol
        self._tls = tls

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        protocol = self._protocol
        if not protocol.has_news() and not await protocol.wait_for_news(timeout):
            raise httpcore.ReadTimeout("timed out reading the answer")
        buffer = protocol.buffer
        if buffer:
            data = bytes(buffer[:max_bytes])
            del buffer[:max_bytes]
            if protocol.reading_paused and len(buffer) <= _LOW_WATER and not protocol.lost:
                protocol.reading_paused = False
                self._transport.resume_reading()
            return data
        error = protocol.error
        if error is not None:
            raise httpcore.ReadError(str(error) or type(error).__name__) from error
        if protocol.closed_here:
            raise httpcore.ReadError("the connection was closed")
        return b""  # the server ended the connection (h11 makes sense of it), as anyio's streams

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        protocol = self._protocol
        if protocol.lost or self._transport.is_closing():
            error = protocol.error
            raise httpcore.WriteError(str(error) if error else "the connection was closed") from error
        self._transport.write(buffer)
        if not await protocol.wait_for_drain(timeout):
            raise httpcore.WriteTimeout("timed out sending the request")

    async def aclose(self) -> None:
        self._protocol.closed_here = True
        if self._tls or self._transport.get_write_buffer_size():
            # At once: a close() waits until what is buffered is sent, and a server that reads
            # nothing (a write timeout) would hold the socket for ever. With TLS, no close_notify
            # exchange either, as httpcore's own streams (standard_compatible=False): HTTP/1.1
            # frames its messages, and a dead server must not hold a socket.
            self._transport.abort()
        else:
            self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
    ) -> AsyncioStream:
        if self._protocol.has_news():
            # Bytes (or the end) before our ClientHello: not a TLS server, or bytes injected
            # on the way. Never let them pass for what TLS delivers.
            self._transport.abort()
            raise httpcore.ConnectError(
                "the server sent data or closed the connection before the TLS handshake"
            )
        loop = asyncio.get_running_loop()
        protocol = _Protocol(loop)  # what TLS delivers, kept apart from the plain socket's
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport,
                    protocol,
                    ssl_context,
                    server_hostname=server_hostname,
                    # asyncio's own handshake limit (60 s) must not cut a longer connect timeout.
                    ssl_handshake_timeout=max(timeout, 0.001) if timeout is not None else None,
                )
        except BaseException as exc:
            self._transport.abort()
            if isinstance(exc, TimeoutError):
                raise httpcore.ConnectTimeout("timed out in the TLS handshake") from exc
            if isinstance(exc, ssl.SSLError | OSError):
                raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
            raise
        if transport is None or transport.is_closing():  # the connection went away during the handshake
            self._transport.abort()
            raise httpcore.ConnectError("the connection was closed during the TLS handshake")
        protocol.transport = transport
        return AsyncioStream(transport, protocol, tls=True)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # An idle HTTP/1.1 connection has nothing to read unless the server closed it:
            # the loop has been reading it all along, so the protocol knows without a poll.
            return self._protocol.has_news()
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None
