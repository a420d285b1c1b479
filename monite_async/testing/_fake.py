"""`FakeMonite`: the fake's public face, with the knobs a test turns."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import anyio.from_thread
import httpx2

from . import _server
from ._app import BASE_PATH, KNOWN_VERSIONS, ConnectionDropped, MoniteApp, RecordedRequest, Settings
from ._faults import Faults

DEFAULT_CLIENT_ID = "6f1d4c2e-8a3b-4e5f-9c7d-0b1a2c3d4e5f"
DEFAULT_CLIENT_SECRET = "fake-monite-secret"  # noqa: S105 - a documented test credential


class FakeMonite:
    """An in-memory Monite with the six mailbox-domain operations and scriptable faults.

    In process, no sockets::

        fake = FakeMonite(verify_after=1)
        async with httpx2.AsyncClient(transport=fake.transport(), base_url=fake.base_url) as http:
            ...

    On a real socket (uvicorn on 127.0.0.1, a free port; under asyncio or trio)::

        async with fake.serve() as base_url:  # "http://127.0.0.1:PORT/v1"
            ...

    Knobs:
        client_id, client_secret: the only credentials `/auth/token` accepts.
        token_lifetime: seconds a token lives (on `clock`); `expires_in` is this, rounded down.
        stale_token_status: 401 (what the spec says) or 400 (what Monite answers in practice)
            for an expired, revoked or unknown token.
        verify_after: the verify call that flips a domain to `verified` (1 = the first).
        rate_limit: requests per second per client id (all its tokens, and its token requests)
            before 429 with `Retry-After`; None for no limit.
        versions: accepted `x-monite-version` values.
        clock: seconds, monotonic; pass your own to expire tokens without waiting.
        log_limit: how many requests `requests` keeps (the newest); older ones are dropped.
    """

    base_url = "http://fake-monite.test" + BASE_PATH
    """The base URL to use with `transport()`; the host is never resolved."""

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        token_lifetime: float = 3600.0,
        stale_token_status: int = 401,
        verify_after: int = 2,
        rate_limit: int | None = None,
        versions: tuple[str, ...] = KNOWN_VERSIONS,
        clock: Callable[[], float] = time.monotonic,
        log_limit: int = 10_000,
    ) -> None:
        if stale_token_status not in (400, 401):
            raise ValueError("stale_token_status must be 401 (the spec) or 400 (Monite in practice)")
        if verify_after < 1:
            raise ValueError("verify_after must be at least 1")
        if rate_limit is not None and rate_limit < 1:
            raise ValueError("rate_limit must be at least 1 request per second, or None")
        if token_lifetime <= 0:
            raise ValueError("token_lifetime must be positive")
        if log_limit < 1:
            raise ValueError("log_limit must be at least 1")
        self._app = MoniteApp(
            Settings(
                client_id=client_id,
                client_secret=client_secret,
                token_lifetime=token_lifetime,
                stale_token_status=stale_token_status,
                verify_after=verify_after,
                rate_limit=rate_limit,
                versions=versions,
                clock=clock,
                log_limit=log_limit,
            )
        )

    def __repr__(self) -> str:
        return (
            f"FakeMonite(client_id={self._app.settings.client_id!r}, domains={len(self._app.state.domains)})"
        )

    @property
    def app(self) -> MoniteApp:
        """The ASGI app; paths live under `/v1`, as on Monite."""
        return self._app

    @property
    def faults(self) -> Faults:
        """Scripted failures: `fake.faults.fail_next("post_mailbox_domains", status=500)`."""
        return self._app.faults

    @property
    def client_id(self) -> str:
        return self._app.settings.client_id

    @property
    def client_secret(self) -> str:
        return self._app.settings.client_secret

    def transport(self) -> httpx2.AsyncBaseTransport:
        """An httpx2 transport that calls the app in process; a dropped connection raises
        `httpx2.RemoteProtocolError`, as it does over a socket.

        >>> client = httpx2.AsyncClient(transport=FakeMonite().transport(), base_url=FakeMonite.base_url)
        """
        return _InProcessTransport(app=self._app)

    def sync_transport(self) -> httpx2.BaseTransport:
        """`transport()` for blocking clients (`MoniteSyncClient`, `httpx2.Client`): the app
        runs in process, on an event loop of its own in a background thread (started with
        the first request, ended when the transport is closed). It fails as `transport()`
        does: a dropped connection raises `httpx2.RemoteProtocolError`. Safe to share
        among threads. For a Django view's test, say:

        >>> fake = FakeMonite()
        >>> with MoniteSyncClient(  # doctest: +SKIP
        ...     client_id=fake.client_id, client_secret=fake.client_secret,
        ...     base_url=fake.base_url, transport=fake.sync_transport(),
        ... ) as monite:
        ...     monite.mailbox_domains.create("mail.example.com")
        """
        return _BlockingInProcessTransport(_InProcessTransport(app=self._app))

    @contextlib.asynccontextmanager
    async def serve(self, *, port: int = 0) -> AsyncIterator[str]:
        """Serve on 127.0.0.1 in the running event loop; yields the base URL with `/v1`.

        uvicorn runs on asyncio only: under trio the app is served from a background thread
        instead (as `serve_in_thread` does), so `async with fake.serve()` works there too.

        >>> async with FakeMonite().serve() as base_url:  # doctest: +SKIP
        ...     print(base_url)
        http://127.0.0.1:54321/v1
        """
        async with _server.serve(self._app, port=port) as origin:
            yield origin + BASE_PATH

    @contextlib.contextmanager
    def serve_in_thread(self, *, port: int = 0) -> Iterator[str]:
        """Serve on 127.0.0.1 from a background thread (for synchronous callers); yields the base URL.

        >>> with FakeMonite().serve_in_thread() as base_url:  # doctest: +SKIP
        ...     httpx2.get(base_url + "/mailbox_domains")
        """
        with _server.serve_in_thread(self._app, port=port) as origin:
            yield origin + BASE_PATH

    def issue_token(self) -> str:
        """A valid token without a `/auth/token` call, for tests that start past the login."""
        settings = self._app.settings
        with self._app.lock:
            return self._app.state.issue_token(
                now=settings.clock(), lifetime=settings.token_lifetime, client_id=settings.client_id
            )

    def expire_tokens(self) -> None:
        """Make every token issued so far expired; later ones are fresh."""
        now = self._app.settings.clock()
        with self._app.lock:
            for issued in self._app.state.tokens.values():
                issued.expires_at = min(issued.expires_at, now)

    def revoke(self, token: str) -> None:
        """Revoke one token, as `/auth/revoke` would."""
        with self._app.lock:
            issued = self._app.state.tokens.get(token)
            if issued is None:
                raise KeyError("the fake never issued this token")
            issued.revoked = True

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first, with secrets redacted."""
        with self._app.lock:
            return list(self._app.log)

    def clear_requests(self) -> None:
        """Forget the recorded requests, to assert on the next step alone."""
        with self._app.lock:
            self._app.log.clear()

    def requests_to(self, operation_id: str) -> list[RecordedRequest]:
        """The recorded requests to one operation, such as `"post_mailbox_domains"`."""
        return [entry for entry in self.requests if entry.operation_id == operation_id]

    @property
    def token_requests(self) -> int:
        """How many `/auth/token` requests reached the token handler (scripted faults excluded)."""
        with self._app.lock:
            return self._app.state.token_requests

    @property
    def domains(self) -> list[dict[str, Any]]:
        """The stored domains as `DomainResponse` JSON, oldest first."""
        with self._app.lock:
            return [domain.as_json() for domain in self._app.state.domains.values()]


class _InProcessTransport(httpx2.ASGITransport):
    """ASGITransport, failing as a socket would: a dropped connection is a protocol error,
    and a scripted delay longer than the client's read timeout is a ReadTimeout
    (ASGITransport itself enforces no timeout at all)."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        timeouts = request.extensions.get("timeout", {})
        read_timeout = timeouts.get("read") if isinstance(timeouts, dict) else None
        try:
            with anyio.fail_after(read_timeout):
                return await super().handle_async_request(request)
        except ConnectionDropped:
            raise httpx2.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
        except TimeoutError:
            raise httpx2.ReadTimeout(f"no answer within {read_timeout} s", request=request) from None


_PORTAL_TIMEOUT = 10.0


class _BlockingInProcessTransport(httpx2.BaseTransport):
    """`_InProcessTransport`, driven from blocking code: each request runs on an event loop
    in a background thread (an anyio blocking portal), the calling thread waiting for it."""

    def __init__(self, transport: _InProcessTransport) -> None:
        self._transport = transport
        self._lock = threading.Lock()
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._thread: threading.Thread | None = None
        self._stop: Callable[[], None] | None = None
        self._closed = False

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        portal = self._started()
        # The app reads the body as an async stream: hand it one made of the bytes.
        inner = httpx2.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=request.read(),
            extensions=request.extensions,
        )
        failure: httpx2.TransportError | None = None
        try:
            status, headers, body = portal.call(self._send, inner)
        except httpx2.TransportError as exc:
            failure = type(exc)(str(exc), request=request)  # about the caller's request
        if failure is not None:
            raise failure
        return httpx2.Response(status, headers=headers, content=body, request=request)

    async def _send(self, request: httpx2.Request) -> tuple[int, httpx2.Headers, bytes]:
        response = await self._transport.handle_async_request(request)
        try:
            return response.status_code, response.headers, await response.aread()
        finally:
            await response.aclose()

    def _started(self) -> anyio.from_thread.BlockingPortal:
        with self._lock:
            if self._closed:
                raise RuntimeError("this FakeMonite.sync_transport() is closed")
            if self._portal is None:
                self._portal, self._thread, self._stop = _portal_thread()
            return self._portal

    def close(self) -> None:
        with self._lock:
            self._closed = True
            stop, thread = self._stop, self._thread
            self._portal = self._stop = self._thread = None
        if stop is not None and thread is not None:
            stop()
            thread.join(_PORTAL_TIMEOUT)


def _portal_thread() -> tuple[anyio.from_thread.BlockingPortal, threading.Thread, Callable[[], None]]:
    """A blocking portal on an event loop in a daemon thread (a transport never closed does
    not keep the interpreter from exiting); the third value stops it."""
    ready = threading.Event()
    made: list[anyio.from_thread.BlockingPortal] = []

    async def serve() -> None:
        async with anyio.from_thread.BlockingPortal() as portal:
            made.append(portal)
            ready.set()
            await portal.sleep_until_stopped()

    thread = threading.Thread(target=anyio.run, args=(serve,), name="fake-monite-portal", daemon=True)
    thread.start()
    if not ready.wait(_PORTAL_TIMEOUT):
        raise RuntimeError("the fake's event loop thread did not start")
    portal = made[0]

    def stop() -> None:
        portal.call(portal.stop, True)  # cancel what still runs there

    return portal, thread, stop
