"""Serving an ASGI app with uvicorn on 127.0.0.1, on a port the OS picks, stopped cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Generator, Iterator

import anyio
import anyio.to_thread
import sniffio
import uvicorn
from starlette.types import ASGIApp

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
LOOPBACK = "127.0.0.1"


class _QuietServer(uvicorn.Server):
    # An embedded server must not take over the host program's Ctrl-C.
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind_loopback(port: int = 0) -> socket.socket:
    """A listening-ready TCP socket on 127.0.0.1; port 0 lets the OS pick a free one."""
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says
    # TCP, and without it an answer written in two parts (uvicorn's h11 writes the headers,
    # then the body) waits ~40 ms for the client's delayed ACK on every keep-alive request.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    return sock


def _server(app: ASGIApp) -> _QuietServer:
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False, http="h11")
    return _QuietServer(config)


@contextlib.asynccontextmanager
async def serve(app: ASGIApp, *, port: int = 0) -> AsyncIterator[str]:
    """Serve `app` in the running event loop; yields `http://127.0.0.1:PORT`.

    uvicorn runs on asyncio only: under any other loop (trio) the app is served from a
    background thread with its own asyncio loop (`serve_in_thread`), entered and left
    without blocking the caller's loop.
    """
    if sniffio.current_async_library() != "asyncio":
        with contextlib.ExitStack() as stack:
            origin = await anyio.to_thread.run_sync(stack.enter_context, serve_in_thread(app, port=port))
            try:
                yield origin
            finally:
                with anyio.CancelScope(shield=True):  # stop the thread even when cancelled
                    await anyio.to_thread.run_sync(stack.pop_all().close)
        return
    sock = bind_loopback(port)
    server = _server(app)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if task.done() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start serving the fake Monite")
            await asyncio.sleep(0.01)
        yield f"http://{LOOPBACK}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, _STOP_TIMEOUT)
        finally:
            sock.close()


@contextlib.contextmanager
def serve_in_thread(app: ASGIApp, *, port: int = 0) -> Iterator[str]:
    """Serve `app` from a background thread with its own event loop; yields the origin URL."""
    sock = bind_loopback(port)
    server = _server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fake-monite", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start serving the fake Monite")
            time.sleep(0.01)
        yield f"http://{LOOPBACK}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(_STOP_TIMEOUT)
        sock.close()
