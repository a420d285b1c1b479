"""A small scriptable HTTP/1.1 server on 127.0.0.1 (ephemeral port) for socket-level tests.

It plays a minimal Monite (tokens and mailbox domains) and records every request. Tests
script faults per route: each scripted `Reply` answers one request, in order, before the
default behaviour takes over again. A reply can be delayed, or drop the connection without
answering.

    server.script("GET", "/mailbox_domains", Reply(500), Reply(500))
    async with server.client() as monite:
        await monite.mailbox_domains.list()   # 500, 500, then the real answer
    assert server.count("GET", "/mailbox_domains") == 3

Raw asyncio rather than an ASGI server: a test must control the socket (drop it, delay it)
and send statuses such as 520 or 599 verbatim.

The server runs its own asyncio loop in a background thread, so the test itself may run
under asyncio or trio (the `loopback` fixture starts and stops it synchronously; `await
start()` / `await stop()` do the same from any event loop). What that means for a test:

- A scripted handler (`Handler`) runs in the server's thread. It may call this server's
  methods (`add_domain`, `count`, ...), but must not touch the test's event-loop objects
  (an `anyio.Event`, an `asyncio.Future`, a task): to wait for a request, the test calls
  `await server.wait_for(...)`; to block a reply, script `Reply(delay=...)`.
- The server's records and state (`requests`, `valid_tokens`, `domains`, the scripts) are
  changed under `lock` in the server thread; `recorded()`, `count()`, `script()`,
  `add_domain()` and `revoke_all_tokens()` take it too. Read the plain attributes directly
  only when no request is in flight (after the client's `async with` block, say).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import http
import itertools
import json
import ssl
import threading
import uuid
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
from sync_adapter import CallerClient, ThreadedSyncClient, sync_options

from monite_async import DEFAULT_LIMITS, MoniteClient, MoniteSyncClient, aiohttp_transport

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "STALE_MESSAGE", "LoopbackServer", "Recorded", "Reply"]

CLIENT_ID = "0b4c7d5e-6f8a-4b9c-8d1e-2f3a4b5c6d7e"
CLIENT_SECRET = "loopback-very-secret-value-42"
STALE_MESSAGE = "The token has been revoked, expired or not found."
BASE_PATH = "/v1"
_MAX_BODY = 1_000_000
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
_HOLD_TIMEOUT = 10.0


@dataclasses.dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering
    raw: bytes | None = None  # send these bytes verbatim (a broken or cut answer), then close
    stall: float = 0.0  # with raw: seconds to keep the connection open before closing it
    # Answer only once the test sets this event (at most _HOLD_TIMEOUT s): a request the
    # test holds on the wire while it sees what the client's other callers do.
    hold: threading.Event | None = None

    def encoded(self) -> tuple[bytes, str]:
        if self.body is not None:
            return self.body, self.headers.get("content-type", "text/plain")
        if self.json is None:
            return b"", "application/json"
        return json.dumps(self.json).encode(), "application/json"


@dataclasses.dataclass
class Recorded:
    """One request as the server received it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Recorded], Reply]


def _awaitable(hook: Callable[..., None]) -> Callable[..., Any]:
    async def awaited(*args: Any) -> None:
        hook(*args)

    return awaited


def error(status: int, message: str, **headers: str) -> Reply:
    return Reply(status, json={"error": {"message": message}}, headers=dict(headers))


class LoopbackServer:
    """Start with `open()` (or `await start()`), stop with `close()` (or `await stop()`); the
    `loopback` fixture does both. Stopping twice is fine."""

    def __init__(self, *, backend: str = "httpx2", ssl_context: ssl.SSLContext | None = None) -> None:
        # The client `client()` builds: MoniteClient on "httpx2" or "aiohttp"; or "sync", the
        # blocking MoniteSyncClient behind an async face (tests/sync_adapter.py).
        self.backend = backend
        self._ssl_context = ssl_context  # given: it serves https (its certificate is the test's)
        # Connections accepted, and connections whose handler has ended (the client closed
        # it, or the server dropped it), changed under `lock`.
        self.connections_opened = 0
        self.connections_closed = 0
        self.requests: list[Recorded] = []
        self.valid_tokens: set[str] = set()
        self.token_lifetimes: collections.deque[int] = collections.deque()
        self.default_lifetime = 3600
        self.echo_version: str | None = None  # None: echo what the client sent
        self.stale_status = 401
        self.domains: list[dict[str, Any]] = []
        self._scripts: dict[tuple[str, str], collections.deque[Reply | Handler]] = collections.defaultdict(
            collections.deque
        )
        self._token_numbers = itertools.count(1)
        self._request_ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self.lock = threading.RLock()  # the server thread's changes to the records and state
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------

    def open(self) -> None:
        """Start serving from a background thread (its own asyncio loop); returns once listening."""
        if self._thread is not None:
            raise RuntimeError("this LoopbackServer was started already")
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="loopback-server", daemon=True)
        self._thread.start()
        if not ready.wait(_START_TIMEOUT):
            raise RuntimeError(f"the loopback server did not start within {_START_TIMEOUT} s")
        if self._failure is not None:
            raise RuntimeError("the loopback server could not start") from self._failure

    def close(self) -> None:
        """Stop serving: close the listener, end every connection, join the thread (idempotent)."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None or not thread.is_alive():
            return
        if loop is not None and stopping is not None:
            # RuntimeError: the loop closed meanwhile, and the thread is ending on its own.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        thread.join(_STOP_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError(f"the loopback server did not stop within {_STOP_TIMEOUT} s")

    async def start(self) -> None:
        """`open()`, from any event loop (asyncio or trio) without blocking it."""
        await anyio.to_thread.run_sync(self.open)

    async def stop(self) -> None:
        """`close()`, from any event loop (asyncio or trio) without blocking it."""
        await anyio.to_thread.run_sync(self.close)

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(ready))
        except BaseException as exc:  # reported by open(), which is waiting on `ready`
            self._failure = exc
        finally:
            ready.set()
            loop.close()

    async def _main(self, ready: threading.Event) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._serve, host="127.0.0.1", port=0, ssl=self._ssl_context)
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=5)
            await server.wait_closed()

    @property
    def base_url(self) -> str:
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}{BASE_PATH}"

    def _settings(self, options: dict[str, Any]) -> dict[str, Any]:
        """This server's URL and credentials (none when `options` give a token), then `options`."""
        settings: dict[str, Any] = {"base_url": self.base_url}
        if "token" not in options:
            settings.update(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        return {**settings, **options}

    def client(self, **options: Any) -> Any:
        """A MoniteClient pointed at this server with its credentials (options override).

        For the "sync" backend: a MoniteSyncClient made with the same options (their
        blocking equivalents), that the test awaits as it would a MoniteClient
        (`ThreadedSyncClient`: each call runs in a worker thread)."""
        settings = self._settings(options)
        if self.backend == "aiohttp" and "transport" not in settings and "http_client" not in settings:
            # The same test on the opt-in aiohttp backend: pool limits go to its transport.
            settings["transport"] = aiohttp_transport(limits=settings.pop("limits", DEFAULT_LIMITS))
        if self.backend == "sync":
            return ThreadedSyncClient(MoniteSyncClient(**sync_options(settings)))
        return MoniteClient(**settings)

    def caller_client(
        self, *, event_hooks: dict[str, list[Callable[..., None]]] | None = None, **options: Any
    ) -> Any:
        """An HTTP client of the test's own, for `client(http_client=...)`: an httpx2.AsyncClient,
        or for the "sync" backend an httpx2.Client (in a `CallerClient`, awaited the same way).
        `event_hooks` are plain functions; the async client gets them as async ones."""
        if self.backend == "sync":
            return CallerClient(httpx2.Client(event_hooks=event_hooks or {}, **options))
        hooks = {name: [_awaitable(hook) for hook in hooks] for name, hooks in (event_hooks or {}).items()}
        return httpx2.AsyncClient(event_hooks=hooks, **options)

    def sync_client(self, **options: Any) -> MoniteSyncClient:
        """A MoniteSyncClient pointed at this server with its credentials (options override)."""
        settings = self._settings(options)
        return MoniteSyncClient(**settings)

    # -- scripting and inspection -----------------------------------------------------

    def script(self, method: str, path: str, *replies: Reply | Handler) -> None:
        """Answer the next requests to `method path` (path without /v1) with `replies`, in order."""
        with self.lock:
            self._scripts[(method.upper(), BASE_PATH + path)].extend(replies)

    def recorded(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        with self.lock:
            requests = list(self.requests)
        return [
            r
            for r in requests
            if (method is None or r.method == method.upper()) and (path is None or r.path == BASE_PATH + path)
        ]

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return len(self.recorded(method, path))

    async def wait_for(self, method: str, path: str, count: int = 1) -> None:
        """Wait (at most 5 s, in 500 bounded steps) until `count` such requests arrived.

        Polls with `anyio.sleep`, so it waits the same under asyncio and trio."""
        for _ in range(500):
            if self.count(method, path) >= count:
                return
            await anyio.sleep(0.01)
        raise AssertionError(f"{count} x {method} {path} never arrived; got {self.count(method, path)}")

    def add_domain(self, domain: str, **fields: Any) -> dict[str, Any]:
        record = {
            "id": str(uuid.uuid4()),
            "domain": domain,
            "status": "waiting_to_be_verified",
            "dns_records": {
                "sending_dns_records": [
                    {
                        "is_active": True,
                        "name": domain,
                        "record_purpose": "SPF",
                        "record_type": "TXT",
                        "valid": "unknown",
                        "value": "v=spf1 include:mailgun.org ~all",
                    },
                ],
                "receiving_dns_records": [
                    {
                        "is_active": True,
                        "record_type": "MX",
                        "valid": "unknown",
                        "value": "10 mxa.mailgun.org",
                    },
                ],
            },
        }
        record.update(fields)
        with self.lock:
            self.domains.append(record)
        return record

    # -- the default, Monite-like behaviour -------------------------------------------

    def _default(self, request: Recorded) -> Reply:
        route = (request.method, request.path.removeprefix(BASE_PATH))
        if route == ("POST", "/auth/token"):
            return self._issue_token(request)
        bearer = request.headers.get("authorization", "")
        if not bearer.startswith("Bearer ") or bearer[7:] not in self.valid_tokens:
            return error(self.stale_status, STALE_MESSAGE)
        if route == ("POST", "/auth/revoke"):
            self.valid_tokens.discard(request.json().get("token"))
            return Reply(200, json={"message": "Token revoked"})
        if route == ("GET", "/mailbox_domains"):
            return Reply(200, json={"data": self.domains})
        if route == ("POST", "/mailbox_domains"):
            name = request.json()["domain"]
            if any(d["domain"].lower() == name.lower() for d in self.domains):
                return error(409, f"Domain {name} already exists")
            return Reply(201, json=self.add_domain(name))
        parts = route[1].split("/")
        if len(parts) >= 3 and parts[1] == "mailbox_domains":
            found = [d for d in self.domains if d["id"] == parts[2]]
            if not found:
                return error(404, "Mailbox domain not found")
            if route[0] == "DELETE" and len(parts) == 3:
                self.domains.remove(found[0])
                return Reply(204)
            if route[0] == "POST" and parts[3:] == ["verify"]:
                return Reply(
                    200, json={"id": found[0]["id"], "domain": found[0]["domain"], "status": "verified"}
                )
        return error(405, "Method not allowed")

    def _issue_token(self, request: Recorded) -> Reply:
        try:
            payload = request.json()
        except ValueError:
            return Reply(422, json={"detail": [{"loc": ["body"], "msg": "invalid JSON", "type": "json"}]})
        if payload.get("client_id") != CLIENT_ID or payload.get("client_secret") != CLIENT_SECRET:
            return error(401, "Wrong client credentials")
        token = f"loopback-token-{next(self._token_numbers)}-{uuid.uuid4().hex}"
        self.valid_tokens.add(token)
        lifetime = self.token_lifetimes.popleft() if self.token_lifetimes else self.default_lifetime
        return Reply(200, json={"access_token": token, "expires_in": lifetime, "token_type": "Bearer"})

    def revoke_all_tokens(self) -> None:
        with self.lock:
            self.valid_tokens.clear()

    # -- HTTP/1.1 plumbing ------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        with self.lock:
            self.connections_opened += 1
        try:
            await self._serve_connection(reader, writer)
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            # stop() cancels handlers still sleeping on a delayed reply. Ending normally
            # matters: asyncio 3.11 logs a cancelled connection handler as an error.
            # (A TLS client may close without close_notify: ssl.SSLError.)
            pass
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()
            with self.lock:
                self.connections_closed += 1

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await self._read_request(reader)
            if request is None:
                return
            with self.lock:  # a handler may call back into the server: the lock is re-entrant
                self.requests.append(request)
                scripted = self._scripts.get((request.method, request.path))
                entry = scripted.popleft() if scripted else self._default
                reply = entry if isinstance(entry, Reply) else entry(request)
            if reply.delay:
                await asyncio.sleep(reply.delay)
            if reply.hold is not None:
                await asyncio.to_thread(reply.hold.wait, _HOLD_TIMEOUT)
            if reply.drop:
                return
            if reply.raw is not None:
                writer.write(reply.raw)
                await writer.drain()
                if reply.stall:
                    await asyncio.sleep(reply.stall)
                return
            writer.write(self._encode(reply, request))
            await writer.drain()
            if request.headers.get("connection", "").lower() == "close":
                return

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> Recorded | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = min(int(headers.get("content-length", "0") or 0), _MAX_BODY)
        body = await reader.readexactly(length) if length else b""
        return Recorded(method=method, path=target.split("?", 1)[0], headers=headers, body=body)

    def _encode(self, reply: Reply, request: Recorded) -> bytes:
        body, content_type = reply.encoded()
        try:
            reason = http.HTTPStatus(reply.status).phrase
        except ValueError:
            reason = "Unknown"
        headers = {
            "content-type": content_type,
            "x-request-id": f"req-{next(self._request_ids)}",
        }
        version = self.echo_version or request.headers.get("x-monite-version")
        if version:
            headers["x-monite-version"] = version
        headers.update({k.lower(): v for k, v in reply.headers.items()})
        if reply.status == 204:
            body = b""
        headers["content-length"] = str(len(body))
        head = f"HTTP/1.1 {reply.status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return head.encode("latin-1") + b"\r\n" + body
