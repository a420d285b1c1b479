"""MoniteClient and MoniteSyncClient: the objects users hold.

    async with MoniteClient(client_id=..., client_secret=...) as monite:
        domain = await monite.mailbox_domains.create("mail.example.com")

    with MoniteSyncClient(client_id=..., client_secret=...) as monite:
        domain = monite.mailbox_domains.create("mail.example.com")

The rooms, top to bottom; a module imports only from its own room and the rows below it
(`tests/project/test_layout.py` checks it):

| room | what it holds |
|---|---|
| `__main__.py` | `python -m monite_async` and `monite-async`: runs the CLI, or names the missing extra |
| `lib/` | what uses the package as a user would: the `monite-async` CLI, DNS helpers, the demo |
| `testing/` | the fake Monite and its pytest plugin |
| `__init__.py` | the public names |
| `_client.py` | MoniteClient, MoniteSyncClient: views (`with_options`), `call()` |
| `resources/` | `mailbox_domains`, `auth`, raw responses, DNS records: arguments checked, models returned |
| `_core.py` | the client's arguments, checked; what it and its views share: flow, transport, loop |
| `_redis/` | a fleet's shared token and rate budget (the `redis` extra) |
| `_flow/` | the one flow of a call, its steps and drivers; request, options, operations, failures |
| `_auth/` | where tokens come from: the credentials cache, a fixed token, an app's callable |
| `_http/` | transports, retry rules, the rate window, what an answer says, waits, forks |
| `_observability/` | tracing (OpenTelemetry) and `MONITE_LOG` |
| `_errors.py` | the exceptions |
| `_defaults.py` | the defaults |
| `_version.py` | the version |

A request goes through one flow, top to bottom (`_flow/call.py`: admit, take a slot, sign,
send, classify, wait or replay) and its answer comes back; no layer calls back up. The
flow is a generator of I/O steps, carried out by `drive` (MoniteClient) or
`drive_blocking` (MoniteSyncClient): one copy of the logic for both clients.
"""

from __future__ import annotations

import functools
import http
import operator
import uuid
import warnings
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import httpx2
from monite_generated.types import Response

from ._core import Core, SyncCore
from ._defaults import (
    DEFAULT_DEADLINE,
    DEFAULT_LIMITS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)
from ._flow import failures as errors
from ._flow.drive import drive, drive_blocking
from ._flow.operations import operation_name, resolve_operation
from ._flow.options import NOT_GIVEN, CallOptions, NotGiven
from ._flow.request import Outcome
from ._http.retry import RetryPolicy
from .resources._base import Resource
from .resources._generated.calls import Calls, RawCallsBase, SyncCalls, SyncRawCallsBase
from .resources._generated.clients import Resources, SyncResources
from .resources.access_tokens import AuthResource, SyncAuthResource
from .resources.raw import RawResponse, made

__all__ = ["MoniteClient", "MoniteSyncClient", "RawCalls", "SyncRawCalls", "SyncTokenSource", "TokenSource"]

TokenSource = str | Callable[[], Awaitable[str]] | Callable[[], str]
"""What `token=` takes: a fixed token, or a callable (async or not) returning one."""

SyncTokenSource = str | Callable[[], str]
"""What `MoniteSyncClient(token=)` takes: a fixed token, or a plain callable returning one."""


_Args = tuple[object, ...]
_Kwargs = dict[str, object]


# `call()` and `with_raw_response.call()`: what runs once the rendered overloads
# (resources/_generated/calls.py, typed per operation) have taken the arguments, `finish`
# making the answer (`_answer`, or `_raw`). Bound with functools.partial to the core and
# options, not the client: no reference cycle.
_Finish = Callable[[object, Outcome], object]


async def _run(
    finish: _Finish, core: Core, options: CallOptions, operation: object, args: _Args, kwargs: _Kwargs
) -> object:
    call = core.flow.call(options, resolve_operation(operation), args, kwargs)
    return finish(operation, await drive(call, core.io))


def _run_blocking(
    finish: _Finish, core: SyncCore, options: CallOptions, operation: object, args: _Args, kwargs: _Kwargs
) -> object:
    call = core.flow.call(options, resolve_operation(operation), args, kwargs)
    return finish(operation, drive_blocking(call, core.io))


class RawCalls(Resource, RawCallsBase):
    """`monite.with_raw_response`: `call()` returning a `RawResponse` instead of the model."""

    def __init__(self, core: Core, options: CallOptions) -> None:
        self._run_call = functools.partial(_run, _raw, core, options)


class SyncRawCalls(Resource, SyncRawCallsBase):
    """`RawCalls` for `MoniteSyncClient`: `monite.with_raw_response.call(op, ...)`, blocking."""

    def __init__(self, core: SyncCore, options: CallOptions) -> None:
        self._run_call = functools.partial(_run_blocking, _raw, core, options)


def _raw(operation: object, outcome: Outcome) -> object:
    return RawResponse(outcome, operator.attrgetter("parsed"))


def _answer(operation: object, outcome: Outcome) -> Any:
    """What `call(operation)` returns: the parsed model, or for a `*_detailed` function the
    generated `Response` (status, headers, content, parsed)."""
    if getattr(operation, "__name__", None) not in ("asyncio_detailed", "sync_detailed"):
        return outcome.parsed
    response = outcome.response
    try:
        status = http.HTTPStatus(response.status_code)
    except ValueError:
        raise errors.nonstandard_status(
            response, operation=operation_name(resolve_operation(operation))
        ) from None
    return Response(
        status_code=status, content=response.content, headers=response.headers, parsed=outcome.parsed
    )


class _Lifetime:
    """Warns when a client never closed is dropped, as aiohttp's ClientSession does (its
    pooled sockets leak). Held by the client and by each of its views: it goes, and warns,
    when the last of them does. Not the client's own `__del__`: that would show on its
    `help()` page, and a view would have to keep the whole client alive."""

    __slots__ = ("_core", "_warning")

    def __init__(self, core: Core | SyncCore, warning: str) -> None:
        self._core = core
        self._warning = warning

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        if not self._core.flow.closed:
            _warn(self._warning, ResourceWarning, source=self)


class BaseClient:
    """What both clients share besides their I/O: options, views (`with_options`), what users
    read. Make a `MoniteClient` or a `MoniteSyncClient`, never this."""

    _core: Core | SyncCore
    _options: CallOptions
    _owner: bool = False  # until construction is complete: nothing to close, nothing to warn of
    _lifetime: _Lifetime | None = None
    _attach: Callable[[Any, CallOptions], None]  # each client's own, for its own kind of core

    def _start(self, core: Core | SyncCore, closing: str) -> None:
        """Become the client that owns `core`; `closing` says how to close it, in the warning
        of a client dropped unclosed."""
        self._attach(core, core.flow.options)
        self._owner = True
        self._lifetime = _Lifetime(core, f"unclosed {self!r}: use {closing}")

    def with_options(
        self,
        *,
        timeout: float | httpx2.Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven = NOT_GIVEN,
        headers: dict[str, str] | NotGiven = NOT_GIVEN,
        api_version: str | NotGiven = NOT_GIVEN,
        entity_id: str | uuid.UUID | NotGiven | None = NOT_GIVEN,
    ) -> Self:
        """A client for some calls with other options, sharing this one's pool and token cache.

            urgent = monite.with_options(timeout=5, max_retries=0)
            await urgent.mailbox_domains.list()

        Options left out keep this client's values; `headers` are added to its own (they may
        not set Authorization, x-monite-version or x-monite-entity-id: use `api_version=`,
        `entity_id=`; `entity_id=None` drops the client's). No pool, token request
        or event loop of its own: closing a view closes nothing; closing the client that made
        it ends every view. A wrong value is a ConfigurationError naming the argument.
        """
        # Every argument but self, by name: `replace` checks each given one.
        options = self._options.replace(**{name: value for name, value in locals().items() if name != "self"})
        view = type(self).__new__(type(self))
        # A view holds what warns of an unclosed client, not the client: a view of a client
        # made on the fly (`MoniteClient().with_options(...)`) keeps the warning quiet while
        # it lives, and is no reference cycle through it.
        view._lifetime = self._lifetime
        view._attach(self._core, options)
        return view

    @property
    def base_url(self) -> str:
        """The API's base URL (`DEFAULT_BASE_URL`, MONITE_BASE_URL, or `base_url=`)."""
        return str(self._core.base_url)

    @property
    def api_version(self) -> str:
        """The `x-monite-version` every request of this client sends."""
        return self._options.api_version

    @property
    def entity_id(self) -> str | None:
        """The entity that entity-scoped operations act for (their `x-monite-entity-id`), or None."""
        return self._options.entity_id

    @property
    def max_retries(self) -> int:
        """Retries after a call's first attempt (a 429 is waited out and counts none)."""
        return self._options.max_retries

    @property
    def timeout(self) -> httpx2.Timeout:
        """Each attempt's timeout."""
        return self._options.timeout

    @property
    def deadline(self) -> float:
        """Seconds one call may take in all."""
        return self._options.deadline

    @property
    def closed(self) -> bool:
        """Whether the client (or the client this view belongs to) was closed."""
        return self._core.flow.closed

    def __repr__(self) -> str:
        kind = type(self).__name__ if self._owner else f"{type(self).__name__} view"
        changed = self._options.changes()
        return (
            f"{kind}(base_url={self.base_url!r}, api_version={self.api_version!r}, "
            f"auth={self._core.auth_kind!r}, max_retries={self.max_retries}{changed})"
        )


class MoniteClient(BaseClient, Resources, Calls):
    """An async client for Monite's mailbox domains API, under asyncio or trio.

        async with MoniteClient() as monite:  # MONITE_CLIENT_ID / MONITE_CLIENT_SECRET
            domain = await monite.mailbox_domains.create("mail.example.com")

    Args (all keyword-only):
        client_id, client_secret: partner credentials; default from the MONITE_CLIENT_ID and
            MONITE_CLIENT_SECRET environment variables. Tokens are fetched and refreshed for you.
        token: instead of credentials, a fixed token, or an async callable returning one
            (awaited before every request) for apps that manage tokens themselves.
        base_url: default MONITE_BASE_URL, else the sandbox (`DEFAULT_BASE_URL`).
        api_version: the `x-monite-version` sent on every request; default `API_VERSION`.
        entity_id: the entity (a UUID) that entity-scoped operations act for, sent as
            `x-monite-entity-id` on the operations whose spec declares it and on no other;
            calling one without it is an InvalidRequestError, nothing sent.
        max_retries: retries after the first attempt for 408/5xx/connection errors/timeouts
            (a 429 is waited out, bounded by the deadline alone).
        timeout: seconds or an httpx2.Timeout per attempt; default `DEFAULT_TIMEOUT`. Never unlimited.
        deadline: seconds one call may take in all (token fetch, attempts, waits); default
            `DEFAULT_DEADLINE`. Each attempt's timeout shrinks to the time left.
        transport: an httpx2.AsyncBaseTransport to send through (closed by `aclose`, as httpx2 does).
        http_client: an httpx2.AsyncClient you own: requests go through it (its pool,
            proxies, TLS settings), with this client's auth, version, timeout and retries on
            top. `aclose` leaves it open. Exclusive with `transport`.
        retry_policy: waits between retries (`RetryPolicy`); see also `set_testing`.
        limits: connection limits of the client's own pool; default `DEFAULT_LIMITS`. At most
            `limits.max_connections` requests are on the wire at once; the others queue in the
            client, and get their token only when they go out.
        max_requests_per_second: start at most this many requests a second (off by default;
            Monite's own limit is learned from its answers either way).
        tracer_provider, meter_provider: OpenTelemetry providers for the client's spans and
            metrics (the `otel` extra); default: the global ones.
        redis: a Redis URL (default MONITE_REDIS_URL): every process of a fleet on the same
            client credentials shares one token and one rate budget there (the `redis` extra;
            "Many processes" in the docs). Redis down or slow never fails a call.

    Resources: `mailbox_domains` (create, list, verify, delete, wait_until_verified, and
    `.with_raw_response`), `auth` (revoke), `with_raw_response.call(op)`; `call(op)` runs any
    generated operation; `with_options(...)` makes a view with other options.

    One client serves any number of concurrent tasks in the event loop it is first used in;
    using it from another loop raises ClientStateError.
    """

    _core: Core
    auth: AuthResource
    """The client's own token: `monite.auth.revoke()`."""
    with_raw_response: RawCalls
    """`call()` returning a `RawResponse`: `monite.with_raw_response.call(op, ...)`."""

    def __init__(
        self,
        *,
        client_id: str | uuid.UUID | None = None,
        client_secret: str | None = None,
        token: TokenSource | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        entity_id: str | uuid.UUID | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float | httpx2.Timeout = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        transport: httpx2.AsyncBaseTransport | None = None,
        http_client: httpx2.AsyncClient | None = None,
        retry_policy: RetryPolicy | None = None,
        limits: httpx2.Limits = DEFAULT_LIMITS,
        max_requests_per_second: float | None = None,
        tracer_provider: object = None,
        meter_provider: object = None,
        redis: str | None = None,
    ) -> None:
        self._start(Core(locals()), "`async with MoniteClient(...)` or `await aclose()`")

    def _attach(self, core: Core, options: CallOptions) -> None:
        self._core, self._options = core, options
        self._attach_resources(core.flow, options, core.io)  # one per tag (resources/_generated/)
        self.auth = made(AuthResource, core.flow, options, core.io)
        self.with_raw_response = RawCalls(core, options)
        # call(), typed in resources/_generated/
        self._run_call = functools.partial(_run, _answer, core, options)

    async def aclose(self) -> None:
        """Close what this client owns (its connection pool); idempotent. A caller's
        `http_client` stays open; a view (`with_options`) owns nothing and closes nothing.

        Safe from another event loop once the first has ended (`asyncio.run(monite.aclose())`
        after the app's loop finished): the pooled connections died with their loop.
        """
        if self._owner:
            await self._core.aclose()

    async def __aenter__(self) -> Self:
        self._core.check_usable()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()


class MoniteSyncClient(BaseClient, SyncResources, SyncCalls):
    """A blocking client for Monite's mailbox domains API: for scripts, Django views, workers.

        with MoniteSyncClient() as monite:  # MONITE_CLIENT_ID / MONITE_CLIENT_SECRET
            domain = monite.mailbox_domains.create("mail.example.com")

    The same keyword-only options and defaults as `MoniteClient`, the same resources,
    errors, logs, retries, deadline and version pinning, with blocking calls; `token` is a
    str or a plain callable, `transport` an httpx2.BaseTransport, `http_client` an
    httpx2.Client (left open by `close`), and a `retry_policy`'s `sleep` a plain function.

    Resources: `mailbox_domains` (create, list, verify, delete, wait_until_verified, and
    `.with_raw_response`), `auth` (revoke), `with_raw_response.call(op)`; `call(op)` runs any
    generated operation; `with_options(...)` makes a view with other options.

    Thread-safe: share one client among any number of threads. When the token is due or
    refused, exactly one thread fetches a new one; the others wait (no longer than their
    call's deadline) and use it. A client made before a prefork server forks opens its own
    connections in each child.
    """

    _core: SyncCore
    auth: SyncAuthResource
    """The client's own token: `monite.auth.revoke()`."""
    with_raw_response: SyncRawCalls
    """`call()` returning a `RawResponse`: `monite.with_raw_response.call(op, ...)`."""

    def __init__(
        self,
        *,
        client_id: str | uuid.UUID | None = None,
        client_secret: str | None = None,
        token: SyncTokenSource | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        entity_id: str | uuid.UUID | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float | httpx2.Timeout = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        transport: httpx2.BaseTransport | None = None,
        http_client: httpx2.Client | None = None,
        retry_policy: RetryPolicy | None = None,
        limits: httpx2.Limits = DEFAULT_LIMITS,
        max_requests_per_second: float | None = None,
        tracer_provider: object = None,
        meter_provider: object = None,
        redis: str | None = None,
    ) -> None:
        self._start(SyncCore(locals()), "`with MoniteSyncClient(...)` or `close()`")

    def _attach(self, core: SyncCore, options: CallOptions) -> None:
        self._core, self._options = core, options
        self._attach_resources(core.flow, options, core.io)
        self.auth = made(SyncAuthResource, core.flow, options, core.io)
        self.with_raw_response = SyncRawCalls(core, options)
        self._run_call = functools.partial(_run_blocking, _answer, core, options)

    def close(self) -> None:
        """Close what this client owns (its connection pool); idempotent. A caller's
        `http_client` stays open; a view (`with_options`) owns nothing and closes nothing.
        Other threads' calls then fail with ClientStateError."""
        if self._owner:
            self._core.close()

    def __enter__(self) -> Self:
        self._core.check_usable()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


# help(), reprs and tracebacks name where users import them from.
MoniteClient.__module__ = MoniteSyncClient.__module__ = BaseClient.__module__ = "monite_async"
