"""MoniteClient and MoniteSyncClient: the objects users hold.

    async with MoniteClient(client_id=..., client_secret=...) as monite:
        domain = await monite.mailbox_domains.create("mail.example.com")

    with MoniteSyncClient(client_id=..., client_secret=...) as monite:
        domain = monite.mailbox_domains.create("mail.example.com")

The layers, top to bottom; a module imports only modules below its own row:

| module | room |
|---|---|
| `__main__.py` | `python -m monite_async` and `monite-async`: runs `cli.py`, or names the missing extra |
| `_client.py` | MoniteClient, MoniteSyncClient: options, views (`with_options`), raw calls, `call()` |
| `_core.py` | what a client and its views share: pool, token cache, rate window, event loop |
| `_mailbox_domains.py`, `_access_tokens.py` | the resources: arguments checked, models returned |
| `_raw.py` | `RawResponse`: status, headers, request id, attempts, elapsed, rate limit |
| `_pipeline.py` | one request pipeline: build, send (within the call's deadline), map failures, parse |
| `_options.py` | per-call options (timeout, retries, deadline, headers, version), checked once |
| `_generated_ops.py` | the only reader of the generated modules' private functions |
| `_error_mapping.py` | where every failure becomes a MoniteError; every message text |
| `_auth.py` | the bearer-token `httpx2.Auth` flow and the token providers |
| `_retry.py` | the retry transport and `RetryPolicy`: what to retry, how long to wait |
| `_gate.py` | the send gate: rate window, connection slots, signing at send time, whole reads |
| `_rate_limit.py` | Monite's rate limit: `RateLimit` parsed, the window kept, optional pacing |
| `_request_state.py` | what a request carries between the layers: deadline, attempts, token used |
| `_transports.py` | the network: a caller's client, aiohttp; failures classified |
| `_answers.py` | what an answer says: error body (parsed once), stale token, Retry-After |
| `_validation.py`, `_versioning.py`, `_enums.py`, `_dns.py` | arguments; version header; enums; DNS records |
| `_defaults.py`, `_tracing.py`, `_logging.py`, `_waits.py` | defaults; traces; MONITE_LOG; waits |
| `_version.py`, `_errors.py`, `_token.py`, `_secret.py` | version; exceptions; a token; a secret str |
| `_drive.py`, `_forks.py` | the drivers of every sans-I/O flow (async, blocking); what a fork resets |

The public modules `cli.py` (the command, on click), `dns.py` (zone text, DNS check) and
`demo.py` sit beside the table: they use the package as a user would.

A request goes down the table (pipeline -> httpx2.AsyncClient with the auth flow -> retry
transport -> send gate -> network transport) and its answer or failure comes back up to
the pipeline, which alone turns a failure into a typed error.

One copy of the logic for both clients: every layer that waits or sends is written as a
sans-I/O flow (a generator that yields the I/O it needs: send, wait, take a slot, sign,
run an operation) and driven by `_drive.drive` for MoniteClient and `drive_blocking` for
MoniteSyncClient, as httpx2 drives one `Auth.auth_flow` from both of its clients. What to
retry and how long to wait (`RetryRules`), when a request may go out (the gate's flow, the
rate window's `admission`), when a token is due and which one failed (`_CredentialsCache`),
what a resource method asks for (`_Flows`), request building, error mapping, parsing and
redaction exist once; the `Sync*` classes beside the async ones only send, sleep and lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import http
import inspect
import os
import uuid
import warnings
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx2
from monite_generated.types import Response

from . import _error_mapping as errors
from ._access_tokens import AuthResource, SyncAuthResource
from ._core import ClientCore, SyncClientCore, connection_slots, network_transport, sync_network_transport
from ._defaults import (
    DEFAULT_BASE_URL,
    DEFAULT_DEADLINE,
    DEFAULT_LIMITS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)
from ._errors import ConfigurationError
from ._generated_ops import operation_name, resolve_operation
from ._mailbox_domains import MailboxDomains, SyncMailboxDomains
from ._options import UNSET_OPTION, CallOptions, check_deadline, check_max_retries, check_timeout
from ._pipeline import Outcome, Runner, SyncRunner, call_budget, carrier, sync_carrier
from ._raw import RawResponse
from ._retry import RetryPolicy
from ._secret import SecretStr
from ._tracing import Tracing
from ._versioning import API_VERSION, validate_api_version

__all__ = [
    "MoniteClient",
    "MoniteSyncClient",
    "RawCalls",
    "SyncRawCalls",
    "SyncTokenSource",
    "TokenSource",
]

TokenSource = str | Callable[[], Awaitable[str]] | Callable[[], str]
"""What `token=` takes: a fixed token, or a callable (async or not) returning one."""

SyncTokenSource = str | Callable[[], str]
"""What `MoniteSyncClient(token=)` takes: a fixed token, or a plain callable returning one."""


def _check_base_url(base_url: str) -> str:
    if not isinstance(base_url, str) or not base_url.startswith(("https://", "http://")):
        raise ConfigurationError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r}")
    try:
        userinfo = httpx2.URL(base_url).userinfo
    except httpx2.InvalidURL:
        raise ConfigurationError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r}") from None
    if userinfo:
        # It would show in every error text, log line and trace that names a URL.
        raise ConfigurationError(
            "base_url must not carry a user name or password; give a proxy's credentials to an "
            "http_client=httpx2.AsyncClient(proxy=...) of yours"
        )
    return base_url.rstrip("/")


def _check_rate(per_second: object) -> float | None:
    if per_second is None:
        return None
    if isinstance(per_second, bool) or not isinstance(per_second, int | float) or not per_second > 0:
        raise ConfigurationError("max_requests_per_second must be a positive number, or None (no pacing)")
    return float(per_second)


def _options(
    *, timeout: object, max_retries: object, deadline: object, api_version: str | None
) -> CallOptions:
    return CallOptions(
        timeout=check_timeout(timeout),
        max_retries=check_max_retries(max_retries),
        deadline=check_deadline(deadline),
        api_version=validate_api_version(api_version if api_version is not None else API_VERSION),
    )


def _source(
    token: object, client_id: str | uuid.UUID | None, client_secret: str | None, base_url: str | None
) -> tuple[str, tuple[uuid.UUID, str] | None]:
    """The base URL and the credentials (None when a token is given)."""
    resolved_url = _check_base_url(
        base_url if base_url is not None else os.environ.get("MONITE_BASE_URL") or DEFAULT_BASE_URL
    )
    if token is not None and (client_id is not None or client_secret is not None):
        raise ConfigurationError("pass token or client_id/client_secret, not both")
    return resolved_url, _credentials(client_id, client_secret) if token is None else None


# How many views `with_options` keeps made, per client: the options of the few views an app
# makes over and over (one per call, say) are then checked once, not on every call.
_VIEWS_KEPT = 32


# Kinds of argument that are their own key with their type beside them (and hashable).
_PLAIN_KINDS = frozenset({int, float, str, type(UNSET_OPTION)})


def _view_key(*values: object) -> tuple[object, ...] | None:
    """A hashable key for `with_options` arguments, or None (then nothing is kept)."""
    kinds = tuple(map(type, values))
    if _PLAIN_KINDS.issuperset(kinds):
        # The common case (`with_options(timeout=5)` per call): a flat key, no walk through
        # `_typed`; twice as long as a walked key, so the two never meet.
        return kinds + values
    key = tuple(_typed(value) for value in values)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _typed(value: object) -> object:
    """`value` for a view's key, with the type of every part: True == 1 == 1.0 in a dict's
    keys, and a kept view made with 1 must not answer for True, which is refused."""
    if isinstance(value, httpx2.Timeout):
        return ("timeout", *(_typed(part) for part in (value.connect, value.read, value.write, value.pool)))
    if isinstance(value, dict):
        return ("headers", *((_typed(name), _typed(text)) for name, text in value.items()))
    return (type(value), value)


_Core = TypeVar("_Core", bound="ClientCore | SyncClientCore")
_Domains = TypeVar("_Domains")
_Auth = TypeVar("_Auth")
_Raw = TypeVar("_Raw")
_Transport = TypeVar("_Transport")
_HttpClient = TypeVar("_HttpClient")
_Token = TypeVar("_Token")
_CoreT = TypeVar("_CoreT")
_DomainsT = TypeVar("_DomainsT")
_AuthT = TypeVar("_AuthT")
_RawT = TypeVar("_RawT")


@contextlib.contextmanager
def _call_scope(core: ClientCore | SyncClientCore, options: CallOptions, operation: str) -> Iterator[None]:
    """What a resource method opens before anything else: its span, and its deadline, which
    every request it makes (a create's lookup after a 409 too) shares."""
    with core.tracing.operation(operation, api_version=options.api_version), call_budget(options.deadline):
        yield


class RawCalls:
    """`monite.with_raw_response`: `call()` returning a `RawResponse` instead of the model."""

    def __init__(self, run: Runner) -> None:
        self._run = run

    def __repr__(self) -> str:
        return "RawCalls()"

    async def call(self, operation: object, /, *args: Any, **kwargs: Any) -> RawResponse[Any]:
        """As `MoniteClient.call`, returning the answer's status, headers, request id,
        attempts, elapsed time and rate limit; `parse()` is the parsed model."""
        outcome = await self._run(resolve_operation(operation), *args, **kwargs)
        return RawResponse(outcome, _parsed)


class SyncRawCalls:
    """`RawCalls` for `MoniteSyncClient`: `monite.with_raw_response.call(op, ...)`, blocking."""

    def __init__(self, run: SyncRunner) -> None:
        self._run = run

    def __repr__(self) -> str:
        return "SyncRawCalls()"

    def call(self, operation: object, /, *args: Any, **kwargs: Any) -> RawResponse[Any]:
        """`RawCalls.call`, blocking."""
        return RawResponse(self._run(resolve_operation(operation), *args, **kwargs), _parsed)


def _parsed(outcome: Outcome) -> Any:
    return outcome.parsed


@dataclasses.dataclass(frozen=True)
class _Kind(Generic[_CoreT, _DomainsT, _AuthT, _RawT]):
    """The classes one client is made of: its core, network, carrier and resources."""

    core: Callable[..., _CoreT]
    network: Callable[..., Any]
    carrier: Callable[[Any], Any]
    domains: Callable[..., _DomainsT]
    auth: Callable[..., _AuthT]
    raw: Callable[..., _RawT]


class _Client(Generic[_Core, _Domains, _Auth, _Raw, _Transport, _HttpClient, _Token]):
    """What both clients are besides their I/O: options, views, what users read.

    One `__init__` for both: the type parameters are what differs (the kind of transport,
    http_client and token each takes), so a type checker shows each client its own.
    """

    _core: _Core
    _options: CallOptions
    _owner: bool
    _lifetime: _Lifetime | None = None
    _views: dict[tuple[object, ...], Self] | None = None
    # with_options' last five arguments, then their view
    _last_view: tuple[object, object, object, object, object, Self] | None = None
    mailbox_domains: _Domains
    """Create, list, verify and delete mailbox domains."""
    auth: _Auth
    """The client's own token: `monite.auth.revoke()`."""
    with_raw_response: _Raw
    """`call()` returning a `RawResponse`: `monite.with_raw_response.call(op, ...)`."""

    def __init__(
        self,
        *,
        client_id: str | uuid.UUID | None = None,
        client_secret: str | None = None,
        token: _Token | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float | httpx2.Timeout = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        transport: _Transport | None = None,
        http_client: _HttpClient | None = None,
        retry_policy: RetryPolicy | None = None,
        limits: httpx2.Limits = DEFAULT_LIMITS,
        max_requests_per_second: float | None = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
    ) -> None:
        self._owner = False  # until construction is complete: nothing to close, nothing to warn of
        options = _options(
            timeout=timeout, max_retries=max_retries, deadline=deadline, api_version=api_version
        )
        resolved_url, credentials = _source(token, client_id, client_secret, base_url)
        self._check_policy(retry_policy)
        core = self._make_core(
            transport,
            http_client,
            limits,
            base_url=resolved_url,
            options=options,
            token=token,
            credentials=credentials,
            connections=connection_slots(transport, limits),
            retry_policy=retry_policy,
            max_requests_per_second=_check_rate(max_requests_per_second),
            tracing=Tracing(tracer_provider=tracer_provider, meter_provider=meter_provider),
        )
        self._attach(core, options)
        self._owner = True
        self._lifetime = _Lifetime(core, f"unclosed {self!r}: use {self._CLOSING}")

    def _check_policy(self, retry_policy: RetryPolicy | None) -> None:
        return None

    _KIND: _Kind[_Core, _Domains, _Auth, _Raw]

    def _make_core(
        self,
        transport: _Transport | None,
        http_client: _HttpClient | None,
        limits: httpx2.Limits,
        **core: Any,
    ) -> _Core:
        return self._KIND.core(network=self._KIND.network(transport, http_client, limits), **core)

    def _resources(self, core: _Core, options: CallOptions) -> tuple[_Domains, _Auth, _Raw]:
        kind = self._KIND
        runner = functools.partial(core.run, options)
        carry_out = kind.carrier(runner)
        client_id, secret = core.credentials if core.credentials else (None, None)
        return (
            kind.domains(carry_out, traced=functools.partial(_call_scope, core, options)),
            kind.auth(carry_out, core.provider, client_id=client_id, client_secret=secret),
            kind.raw(runner),
        )

    def _attach(self, core: _Core, options: CallOptions) -> None:
        self._core = core
        self._options = options
        # The resources are partials of the core, not bound methods: a view is then no
        # reference cycle, and is freed the moment neither a caller nor its client keeps it.
        self.mailbox_domains, self.auth, self.with_raw_response = self._resources(core, options)

    def with_options(
        self,
        *,
        timeout: float | httpx2.Timeout | Any = UNSET_OPTION,
        max_retries: int | Any = UNSET_OPTION,
        deadline: float | Any = UNSET_OPTION,
        headers: dict[str, str] | Any = UNSET_OPTION,
        api_version: str | Any = UNSET_OPTION,
    ) -> Self:
        """A client for some calls with other options, sharing this one's pool and token cache.

            urgent = monite.with_options(timeout=5, max_retries=0)
            await urgent.mailbox_domains.list()
            await monite.with_options(deadline=120).with_options(headers={"x-trace": "42"}).call(op)

        Options left out keep this client's values; `headers` are added to its own (they may
        not set Authorization or x-monite-version: use `api_version=`). No pool, token request
        or event loop of its own: closing a view closes nothing; closing the client that made
        the first one ends every view. Making the same view again is cheap (0.2 us with plain
        options, a few with a headers dict): the last few are kept, and the same options give
        back the same view.
        """
        last = self._last_view
        if (
            last is not None
            and timeout is last[0]
            and max_retries is last[1]
            and deadline is last[2]
            and headers is last[3]
            and api_version is last[4]
        ):
            # The very objects of the last call, each immutable (see below): its view. The
            # per-call pattern in a loop lands here without building or hashing a key.
            return last[5]
        key = _view_key(timeout, max_retries, deadline, headers, api_version)
        views = self._views
        view = views.get(key) if views is not None and key is not None else None
        if view is not None:
            self._remember(view, timeout, max_retries, deadline, headers, api_version)
            return view  # views never change: one per set of options serves every caller
        view = self._view(
            self._options.replace(
                timeout=timeout,
                max_retries=max_retries,
                deadline=deadline,
                headers=headers,
                api_version=api_version,
            )
        )
        if key is not None:
            views = views if views is not None else {}
            if len(views) >= _VIEWS_KEPT:
                views.clear()
                self._last_view = None  # kept views are these, at most _VIEWS_KEPT
            views[key] = view
            self._views = views
            self._remember(view, timeout, max_retries, deadline, headers, api_version)
        return view

    def _view(self, options: CallOptions) -> Self:
        view = type(self).__new__(type(self))
        view._owner = False
        # A view holds what warns of an unclosed client, not the client: a view of a client
        # made on the fly (`MoniteClient().with_options(...)`) keeps the warning quiet while
        # it lives, and a kept view is no reference cycle through the client that keeps it.
        view._lifetime = self._lifetime
        view._attach(self._core, options)
        return view

    def _remember(self, view: Self, a: object, b: object, c: object, d: object, e: object) -> None:
        """Keep `view` as the answer to these very argument objects, if none can change: an
        int, float, str or the unset marker (a headers dict may be changed and passed again)."""
        if _PLAIN_KINDS.issuperset(map(type, (a, b, c, d, e))):
            self._last_view = (a, b, c, d, e, view)

    @property
    def base_url(self) -> str:
        return str(self._core.base_url)

    @property
    def api_version(self) -> str:
        return self._options.api_version

    @property
    def max_retries(self) -> int:
        return self._options.max_retries

    @property
    def timeout(self) -> httpx2.Timeout:
        return self._options.timeout

    @property
    def deadline(self) -> float:
        return self._options.deadline

    @property
    def closed(self) -> bool:
        return bool(self._core.closed)

    def __repr__(self) -> str:
        kind = type(self).__name__ if self._owner else f"{type(self).__name__} view"
        return (
            f"{kind}(base_url={self.base_url!r}, api_version={self.api_version!r}, "
            f"auth={self._core.auth_kind!r}, max_retries={self.max_retries})"
        )

    _CLOSING = "`async with MoniteClient(...)` or `await aclose()`"


class _Lifetime:
    """Warns when a client never closed is dropped, as aiohttp's ClientSession does (its
    pooled sockets leak). Held by the client and by each of its views: it goes, and warns,
    when the last of them does."""

    __slots__ = ("_core", "_warning")

    def __init__(self, core: ClientCore | SyncClientCore, warning: str) -> None:
        self._core = core
        self._warning = warning

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        if not self._core.closed:
            _warn(self._warning, ResourceWarning, source=self)


def _answer(operation: object, module: Any, outcome: Outcome) -> Any:
    """What `call(operation)` returns: the parsed model, or for a `*_detailed` function the
    generated `Response` (status, headers, content, parsed)."""
    if getattr(operation, "__name__", None) not in ("asyncio_detailed", "sync_detailed"):
        return outcome.parsed
    response = outcome.response
    try:
        status = http.HTTPStatus(response.status_code)
    except ValueError:
        status = None
    if status is None:
        raise errors.nonstandard_status(response, operation=operation_name(module))
    return Response(
        status_code=status, content=response.content, headers=response.headers, parsed=outcome.parsed
    )


class MoniteClient(
    _Client[
        ClientCore,
        MailboxDomains,
        AuthResource,
        RawCalls,
        httpx2.AsyncBaseTransport,
        httpx2.AsyncClient,
        TokenSource,
    ]
):
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
        max_retries: retries after the first attempt for 408/429/5xx/connection errors/timeouts.
        timeout: seconds or an httpx2.Timeout per attempt; default `DEFAULT_TIMEOUT`. Never unlimited.
        deadline: seconds one call may take in all (token fetch, attempts, waits); default
            `DEFAULT_DEADLINE`. Each attempt's timeout shrinks to the time left.
        transport: an httpx2.AsyncBaseTransport to send through (closed by `aclose`, as httpx2 does).
        http_client: an httpx2.AsyncClient you own: requests go through it (its pool,
            proxies, TLS settings), with this client's auth, version, timeout and retries on
            top. `aclose` leaves it open. Exclusive with `transport`.
        retry_policy: waits between retries (`RetryPolicy`); see also `set_testing`.
        limits: connection pool limits of the client's own transport; default `DEFAULT_LIMITS`.
            At most `limits.max_connections` requests are on the wire at once; the others
            queue in the client, and get their token only when they go out.
        max_requests_per_second: start at most this many requests a second (off by default;
            Monite's own limit is learned from its answers either way).
        tracer_provider, meter_provider: OpenTelemetry providers for the client's spans and
            metrics (the `otel` extra); default: the global ones. Without opentelemetry-api
            installed, or with no SDK configured, tracing costs nothing.

    One client serves any number of concurrent tasks in the event loop it is first used in;
    using it from another loop raises ClientStateError. `with_options(...)` makes views of
    it for some calls, sharing its pool and token cache.
    """

    _KIND = _Kind(ClientCore, network_transport, carrier, MailboxDomains, AuthResource, RawCalls)

    async def call(self, operation: object, /, *args: Any, **kwargs: Any) -> Any:
        """Run any generated operation with this client's auth, version, retries and errors.

            from monite_generated.api.mailbox_domains import get_mailbox_domains
            listing = await monite.call(get_mailbox_domains)            # -> DomainListResponse
            detailed = await monite.call(get_mailbox_domains.asyncio_detailed)  # -> Response[...]

        Pass the operation's own arguments except `client`; `x_monite_version` is filled in
        (pass one to override it for this call: a YYYY-MM-DD date, else InvalidRequestError,
        as for any argument that cannot make a request; nothing is sent then).
        Non-2xx answers raise the same typed errors as the resource methods. Given an
        `asyncio_detailed` function, returns the generated `Response` (status, headers,
        content, parsed) instead of the parsed model.
        """
        module = resolve_operation(operation)
        return _answer(operation, module, await self._core.run(self._options, module, *args, **kwargs))

    async def aclose(self) -> None:
        """Close what this client owns (its connection pool); idempotent. A caller's
        `http_client` stays open; a view (`with_options`) owns nothing and closes nothing.

        Safe from another event loop once the first has ended (`asyncio.run(monite.aclose())`
        after the app's loop finished): the pooled connections died with their loop, so
        there is nothing left to close gracefully, and the client is simply marked closed.
        """
        if self._owner:
            await self._core.aclose()

    async def __aenter__(self) -> Self:
        self._core.check_usable()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self, operation: object, /, *args: Any, **kwargs: Any) -> Outcome:
        return await self._core.run(self._options, operation, *args, **kwargs)


class MoniteSyncClient(
    _Client[
        SyncClientCore,
        SyncMailboxDomains,
        SyncAuthResource,
        SyncRawCalls,
        httpx2.BaseTransport,
        httpx2.Client,
        SyncTokenSource,
    ]
):
    """A blocking client for Monite's mailbox domains API: for scripts, Django views, workers.

        with MoniteSyncClient() as monite:  # MONITE_CLIENT_ID / MONITE_CLIENT_SECRET
            domain = monite.mailbox_domains.create("mail.example.com")

    The same keyword-only options and defaults as `MoniteClient`, the same resources,
    errors, logs, retries, deadline and version pinning, with blocking calls; `token` is a
    str or a plain callable, `transport` an httpx2.BaseTransport, `http_client` an
    httpx2.Client (left open by `close`), and a `retry_policy`'s `sleep` a plain function.

    Thread-safe: share one client among any number of threads. When the token is due or
    refused, exactly one thread fetches a new one; the others wait (no longer than their
    call's deadline) and use it. At most `limits.max_connections` requests are on the wire
    at once; the other threads queue, and get their token only when they go out.
    """

    def _check_policy(self, retry_policy: RetryPolicy | None) -> None:
        sleep = retry_policy.sleep if retry_policy is not None else None
        if sleep is not None and (
            inspect.iscoroutinefunction(sleep) or inspect.iscoroutinefunction(type(sleep).__call__)
        ):
            raise errors.async_sleep_for_sync_client()  # else refused at its first wait

    _CLOSING = "`with MoniteSyncClient(...)` or `close()`"
    _KIND = _Kind(
        SyncClientCore,
        sync_network_transport,
        sync_carrier,
        SyncMailboxDomains,
        SyncAuthResource,
        SyncRawCalls,
    )

    def call(self, operation: object, /, *args: Any, **kwargs: Any) -> Any:
        """`MoniteClient.call`, blocking: pass a generated operation module or its `sync` /
        `sync_detailed` function (a `*_detailed` one returns the generated `Response`)."""
        module = resolve_operation(operation)
        return _answer(operation, module, self._core.run(self._options, module, *args, **kwargs))

    def close(self) -> None:
        """Close what this client owns (its connection pool); idempotent. A caller's
        `http_client` stays open; a view (`with_options`) owns nothing and closes nothing.

        Other threads' calls fail with ClientStateError, as MoniteClient's tasks do on
        `aclose()`: those waiting for a connection slot, and those waiting for an answer
        on the client's own pool at once (its sockets are shut down, which wakes a thread
        blocked reading one). Through a caller's `transport=` or `http_client=`, whose
        sockets are theirs, a call already sent fails when its answer or timeout comes."""
        if self._owner:
            self._core.close()

    def __enter__(self) -> Self:
        self._core.check_usable()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self, operation: object, /, *args: Any, **kwargs: Any) -> Outcome:
        return self._core.run(self._options, operation, *args, **kwargs)


def _credentials(client_id: str | uuid.UUID | None, client_secret: str | None) -> tuple[uuid.UUID, str]:
    """The client-credentials pair, from the arguments or MONITE_CLIENT_ID/MONITE_CLIENT_SECRET."""
    raw_id = client_id if client_id is not None else os.environ.get("MONITE_CLIENT_ID")
    secret = client_secret if client_secret is not None else os.environ.get("MONITE_CLIENT_SECRET")
    if not raw_id or not secret:
        raise ConfigurationError(
            "no credentials: pass client_id and client_secret (or set MONITE_CLIENT_ID and "
            "MONITE_CLIENT_SECRET), or pass token; to try the SDK without an account, run "
            "`python -m monite_async.testing` and export what it prints"
        )
    try:
        parsed_id = raw_id if isinstance(raw_id, uuid.UUID) else uuid.UUID(str(raw_id))
    except ValueError:
        raise ConfigurationError("client_id must be a UUID, as Monite issues them") from None
    return parsed_id, SecretStr(secret)  # shown as '[redacted]' in any repr or traceback
