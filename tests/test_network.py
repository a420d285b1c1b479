"""The pool's network streams (`monite_async._network`) over real sockets on 127.0.0.1.

Under asyncio they are asyncio protocols of ours; under trio, httpcore's own. Each case is
run on both loops: what a caller sees (bytes, timeouts, errors, reuse) must not depend on
which streams carried it. The servers here are plain blocking sockets in a thread, so a
test controls exactly what the other side does: read nothing, stall a handshake, answer
with bytes nobody asked for. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from asyncio import selector_events
from collections.abc import Awaitable, Callable, Iterator

import anyio
import httpx
import pytest
import sniffio
from exception_chains import chain
from loopback_server import CLIENT_ID, CLIENT_SECRET, LoopbackServer

from monite_async._network import AsyncioStream, NetworkBackend
from monite_async._pool import ConnectionPoolTransport

pytestmark = pytest.mark.event_loops("asyncio", "trio")

BOUND = 10.0  # seconds any one test may take
IO_TIMEOUT = 5.0  # what the server threads wait on a socket at most

Serve = Callable[[socket.socket], None]


class RawServer:
    """Accepts connections on 127.0.0.1 and hands each to `serve` in its own thread."""

    def __init__(self, serve: Serve) -> None:
        self._serve = serve
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(IO_TIMEOUT)
            self.accepted += 1
            self._sockets.append(conn)
            thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self._serve(conn)

    def close(self) -> None:
        self._stop.set()
        self._acceptor.join(IO_TIMEOUT)
        self._listener.close()
        for conn in self._sockets:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for thread in self._threads:
            thread.join(IO_TIMEOUT)

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/work"


@contextlib.contextmanager
def raw_server(serve: Serve) -> Iterator[RawServer]:
    server = RawServer(serve)
    try:
        yield server
    finally:
        server.close()


def read_head(conn: socket.socket) -> bytes:
    """A request's head (bounded: 64 KiB)."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        part = conn.recv(4096)
        if not part:
            break
        data += part
    return data


def answer(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


def serve_answers(body: bytes, *, count: int = 10) -> Serve:
    def serve(conn: socket.socket) -> None:
        for _ in range(count):
            if not read_head(conn):
                return
            conn.sendall(answer(body))

    return serve


def pool() -> ConnectionPoolTransport:
    return ConnectionPoolTransport(limits=httpx.Limits(max_connections=4, keepalive_expiry=15.0))


def on_asyncio_selector_loop() -> bool:
    if sniffio.current_async_library() != "asyncio":
        return False
    return isinstance(asyncio.get_running_loop(), selector_events.BaseSelectorEventLoop)


async def test_asyncio_gets_asyncio_streams_and_trio_gets_httpcores() -> None:
    with raw_server(serve_answers(b"ok")) as server:
        with anyio.fail_after(BOUND):
            stream = await NetworkBackend().connect_tcp("127.0.0.1", server.port, timeout=IO_TIMEOUT)
            try:
                # Ours on asyncio's own selector loop; httpcore's on uvloop and under trio.
                assert isinstance(stream, AsyncioStream) == on_asyncio_selector_loop()
                await stream.write(b"GET /work HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n", timeout=IO_TIMEOUT)
                received = b""
                while not received.endswith(b"ok"):
                    part = await stream.read(65536, timeout=IO_TIMEOUT)
                    assert part, "the server ended before answering"
                    received += part
                assert received.startswith(b"HTTP/1.1 200 OK")
                assert stream.get_extra_info("server_addr")[:2] == ("127.0.0.1", server.port)
                assert stream.get_extra_info("is_readable") is False  # answered whole: nothing more
            finally:
                await stream.aclose()


async def test_a_body_far_larger_than_the_read_buffer_arrives_whole_and_in_order() -> None:
    # 8 MiB, past the streams' 256 KiB high-water mark many times over: reading pauses while
    # the caller does not read and resumes as it does, and not a byte is lost or reordered.
    body = bytes(range(256)) * (8 * 4096)
    with raw_server(serve_answers(body)) as server:
        with anyio.fail_after(BOUND):
            async with httpx.AsyncClient(transport=pool()) as client:
                async with client.stream("GET", server.url()) as response:
                    received = bytearray()
                    async for part in response.aiter_raw():
                        received += part
                        if len(received) < 1024 * 1024:
                            await anyio.sleep(0.001)  # a slow reader for the first MiB
                assert bytes(received) == body
                again = await client.get(server.url())  # the connection is reusable afterwards
                assert again.content == body
    assert server.accepted == 1


async def test_an_answer_that_never_comes_is_a_read_timeout() -> None:
    def stall(conn: socket.socket) -> None:
        read_head(conn)
        conn.recv(1)  # holds until the client goes away

    with raw_server(stall) as server:
        with anyio.fail_after(BOUND):
            async with httpx.AsyncClient(transport=pool()) as client:
                started = anyio.current_time()
                with pytest.raises(httpx.ReadTimeout):
                    await client.get(server.url(), timeout=httpx.Timeout(5.0, read=0.3))
                assert anyio.current_time() - started < 3.0


async def test_a_server_that_reads_nothing_makes_a_large_upload_a_write_timeout() -> None:
    def deaf(conn: socket.socket) -> None:
        conn.recv(1)  # one byte, then nothing more: the socket buffers fill up

    upload = b"x" * (64 * 1024 * 1024)  # far more than loopback's socket buffers hold
    with raw_server(deaf) as server:
        with anyio.fail_after(BOUND):
            async with httpx.AsyncClient(transport=pool()) as client:
                with pytest.raises(httpx.WriteTimeout):
                    await client.post(server.url(), content=upload, timeout=httpx.Timeout(5.0, write=0.3))


async def test_a_refused_connection_is_a_connect_error_with_the_os_error_in_its_chain() -> None:
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    with anyio.fail_after(BOUND):
        async with httpx.AsyncClient(transport=pool()) as client:
            with pytest.raises(httpx.ConnectError) as info:
                await client.get(f"http://127.0.0.1:{port}/work")
    # httpcore's error, raised from the OS's (trio words it as an OSError of its own).
    assert any(isinstance(e, OSError) for e in chain(info.value))
    if sniffio.current_async_library() == "asyncio":
        assert any(isinstance(e, ConnectionRefusedError) for e in chain(info.value))


async def test_a_tls_handshake_that_never_comes_is_a_connect_timeout() -> None:
    def silent(conn: socket.socket) -> None:
        conn.recv(65536)  # the ClientHello, never answered

    with raw_server(silent) as server:
        with anyio.fail_after(BOUND):
            async with httpx.AsyncClient(transport=pool()) as client:
                started = anyio.current_time()
                with pytest.raises(httpx.ConnectTimeout):
                    await client.get(server.url("https"), timeout=httpx.Timeout(5.0, connect=0.3))
                assert anyio.current_time() - started < 3.0


async def test_a_plain_http_server_behind_https_is_a_connect_error_from_the_ssl_error() -> None:
    def plain(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")

    with raw_server(plain) as server:
        with anyio.fail_after(BOUND):
            async with httpx.AsyncClient(transport=pool()) as client:
                with pytest.raises(httpx.ConnectError) as info:
                    await client.get(server.url("https"))
    assert any(isinstance(e, ssl.SSLError) for e in chain(info.value))


async def test_bytes_before_the_tls_handshake_are_a_connect_error_never_an_answer() -> None:
    # Plain bytes on the socket before the ClientHello is answered: a server that is not TLS,
    # or bytes injected on the way. They must never pass for what TLS delivers.
    def eager(conn: socket.socket) -> None:
        conn.sendall(answer(b"injected"))
        conn.recv(65536)

    with raw_server(eager) as server:
        with anyio.fail_after(BOUND):
            async with httpx.AsyncClient(transport=pool()) as client:
                with pytest.raises(httpx.ConnectError):
                    await client.get(server.url("https"))


@pytest.mark.event_loops("asyncio")
async def test_an_answer_sent_while_the_upload_is_refused_is_read() -> None:
    # The server answers 413 after the head and ends its side, reading nothing more: the
    # upload waiting for the socket to drain stops at once and the answer is read, rather
    # than the call waiting out its write timeout (httpcore's anyio streams do that).
    def refuse(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 413 Content Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        conn.shutdown(socket.SHUT_WR)
        stop.wait(IO_TIMEOUT)  # reads nothing: the client's bytes pile up

    stop = threading.Event()
    upload = b"x" * (64 * 1024 * 1024)
    assert on_asyncio_selector_loop()
    with raw_server(refuse) as server:
        try:
            with anyio.fail_after(BOUND):
                async with httpx.AsyncClient(transport=pool()) as client:
                    started = anyio.current_time()
                    response = await client.post(server.url(), content=upload, timeout=httpx.Timeout(8.0))
                    assert response.status_code == 413
                    assert anyio.current_time() - started < 4.0
        finally:
            stop.set()


async def test_an_idle_connection_the_server_wrote_to_is_not_reused() -> None:
    # Bytes after a complete answer, arriving once the connection is idle: no valid HTTP/1.1
    # state allows them, so the connection is dropped at checkout and the next request goes
    # out on a new one (and succeeds), never taking the stray bytes for its answer.
    stray_sent = threading.Event()

    def serve(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(answer(b"ok"))
        if not stray_sent.is_set():
            stray_sent.wait(0.2)  # nothing comes: only lets the client finish reading
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nstray")
            stray_sent.set()
        serve_answers(b"ok")(conn)

    with raw_server(serve) as server:
        with anyio.fail_after(BOUND):
            async with httpx.AsyncClient(transport=pool()) as client:
                assert (await client.get(server.url())).content == b"ok"
                for _ in range(500):  # until the stray bytes are sent (bounded)
                    if stray_sent.is_set():
                        break
                    await anyio.sleep(0.01)
                await anyio.sleep(0.2)  # and have crossed loopback
                assert (await client.get(server.url())).content == b"ok"
    assert server.accepted == 2


async def test_closing_the_pool_ends_a_request_waiting_for_its_answer() -> None:
    def stall(conn: socket.socket) -> None:
        read_head(conn)
        conn.recv(1)

    transport = pool()
    with raw_server(stall) as server:
        with anyio.fail_after(BOUND):
            async with httpx.AsyncClient(transport=transport) as client:
                failures: list[BaseException] = []

                async def waiting() -> None:
                    try:
                        await client.get(server.url(), timeout=httpx.Timeout(30.0))
                    except httpx.TransportError as exc:
                        failures.append(exc)

                async with anyio.create_task_group() as group:
                    group.start_soon(waiting)
                    for _ in range(500):  # until the request is on the wire (bounded)
                        if "busy=1" in repr(transport):
                            break
                        await anyio.sleep(0.01)
                    await anyio.sleep(0.05)
                    started = anyio.current_time()
                    await transport.aclose()
                assert anyio.current_time() - started < 3.0
    assert len(failures) == 1


UVLOOP_CASES = [
    test_asyncio_gets_asyncio_streams_and_trio_gets_httpcores,
    test_a_body_far_larger_than_the_read_buffer_arrives_whole_and_in_order,
    test_an_answer_that_never_comes_is_a_read_timeout,
    test_a_server_that_reads_nothing_makes_a_large_upload_a_write_timeout,
    test_a_refused_connection_is_a_connect_error_with_the_os_error_in_its_chain,
    test_a_tls_handshake_that_never_comes_is_a_connect_timeout,
    test_a_plain_http_server_behind_https_is_a_connect_error_from_the_ssl_error,
    test_bytes_before_the_tls_handshake_are_a_connect_error_never_an_answer,
    test_an_idle_connection_the_server_wrote_to_is_not_reused,
    test_closing_the_pool_ends_a_request_waiting_for_its_answer,
]


@pytest.mark.parametrize("case", UVLOOP_CASES, ids=lambda case: case.__name__.removeprefix("test_"))
def test_the_same_on_uvloop(case: Callable[[], Awaitable[None]]) -> None:
    # uvloop is asyncio to sniffio, but its connections get httpcore's anyio streams: its
    # transports differ from asyncio's where the asyncio streams depend on them (TLS, connect).
    uvloop = pytest.importorskip("uvloop")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(case())


def test_a_client_on_uvloop_makes_its_calls_over_tls_and_plain_http(authority: object) -> None:
    uvloop = pytest.importorskip("uvloop")
    from monite_async import MoniteClient

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)  # type: ignore[attr-defined]
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)  # type: ignore[attr-defined]

    async def calls(server: LoopbackServer, pool: ConnectionPoolTransport) -> None:
        with anyio.fail_after(BOUND):
            async with MoniteClient(
                client_id=CLIENT_ID, client_secret=CLIENT_SECRET, base_url=server.base_url, transport=pool
            ) as monite:
                created = await monite.mailbox_domains.create("mail.example.com")
                assert [d.id for d in await monite.mailbox_domains.list()] == [created.id]

    for server, pool in (
        (LoopbackServer(), ConnectionPoolTransport()),
        (LoopbackServer(ssl_context=context), ConnectionPoolTransport(ssl_context=trusting)),
    ):
        server.open()
        try:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(calls(server, pool))
        finally:
            server.close()
        assert server.connections_opened == 1
