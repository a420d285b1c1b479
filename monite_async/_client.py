"""MoniteClient: the one object users hold.

    async with MoniteClient(client_id=..., client_secret=...) as monite:
        domain = await monite.mailbox_domains.create("mail.example.com")

The layers, top to bottom; a module imports only modules below its own row:

| module | room |
|---|---|
| `__main__.py` | `python -m monite_async` and `monite-async`: runs `cli.py`, or names the missing extra |
| `_client.py` | MoniteClient: options, views (`with_options`), raw calls, `call()` |
| `_core.py` | what a client and its views share: pool, token cache, rate window, event loop |
| `_mailbox_domains.py`, `_access_tokens.py` | the resources: arguments checked, models returned |
| `_raw.py` | `RawResponse`: status, headers, request id, attempts, elapsed, rate limit |
| `_pipeline.py` | one request pipeline: build, send (within the call's deadline), map failures, parse |
| `_options.py` | per-call options (timeout, retries, deadline, headers, version), checked once |
| `_generated_ops.py` | the only reader of the generated modules' private functions |
| `_error_mapping.py` | where every failure becomes a MoniteError; every message text |
| `_auth.py` | the bearer-token `httpx.Auth` flow and the token providers |
| `_retry.py` | the retry transport and `RetryPolicy`: what to retry, how long to wait |
| `_gate.py` | the send gate: rate window, connection slots, signing at send time, whole reads |
| `_rate_limit.py` | Monite's rate limit: `RateLimit` parsed, the window kept, optional pacing |
| `_request_state.py` | what a request carries between the layers: deadline, attempts, token used |
| `_pool.py` | the default network transport: httpcore connections, O(1) checkout and return |
| `_transports.py` | the network: a caller's client, aiohttp; failures classified |
| `_answers.py` | what an answer says: error body (parsed once), stale token, Retry-After |
| `_validation.py`, `_versioning.py`, `_enums.py`, `_dns.py` | arguments; version header; enums; DNS records |
| `_defaults.py`, `_tracing.py`, `_logging.py`, `_waits.py` | defaults; traces; MONITE_LOG; waits |
| `_version.py`, `_errors.py`, `_token.py`, `_secret.py` | version; exceptions; a token; a secret str |

The public modules `cli.py` (the command, on click), `dns.py` (zone text, DNS check) and
`demo.py` sit beside the table: they use the package as a user would.

A request goes down the table (pipeline -> httpx.AsyncClient with the auth flow -> retry
transport -> send gate -> network transport) and its answer or failure comes back up to
the pipeline, which alone turns a failure into a typed error.
"""

from __future__ import annotations

import contextlib
import functools
import http
import os
import uuid
import warnings
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Self

import httpx
from monite_generated.types import Response

from . import _error_mapping as errors
from ._access_tokens import AuthResource
from ._core import ClientCore, connection_slots, network_transport
from ._defaults import (
    DEFAULT_BASE_URL,
    DEFAULT_DEADLINE,
    DEFAULT_LIMITS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)
from ._errors import ConfigurationError
from ._generated_ops import operation_name, resolve_operation
from ._mailbox_domains import MailboxDomains
from ._options import UNSET_OPTION, CallOptions, check_deadline, check_max_retries, check_timeout
from ._pipeline import Outcome, Runner, call_budget
from ._raw import RawResponse
from ._retry import RetryPolicy
from ._secret import SecretStr
from ._tracing import Tracing
from ._versioning import API_VERSION, validate_api_version

__all__ = ["MoniteClient", "RawCalls", "TokenSource"]

TokenSource = str | Callable[[], Awaitable[str]] | Callable[[], str]
"""What `token=` takes: a fixed token, or a callable (async or not) returning one."""


def _check_base_url(base_url: str) -> str:
    if not isinstance(base_url, str) or not base_url.startswith(("https://", "http://")):
        raise ConfigurationError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r}")
    try:
        userinfo = httpx.URL(base_url).userinfo
    except httpx.InvalidURL:
        raise ConfigurationError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r}") from None
    if userinfo:
        # It would show in every error text, log line and trace that names a URL.
        raise ConfigurationError(
            "base_url must not carry a user name or password; give a proxy's credentials to an "
            "http_client=httpx.AsyncClient(proxy=...) of yours"
        )
    return base_url.rstrip("/")


def _check_rate(per_second: object) -> float | None:
    if per_second is None:
        return None
    if isinstance(per_second, bool) or not isinstance(per_second, int | float) or not per_second > 0:
        raise ConfigurationError("max_requests_per_second must be a positive number, or None (no pacing)")
    return float(per_second)


class MoniteClient:
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
        timeout: seconds or an httpx.Timeout per attempt; default `DEFAULT_TIMEOUT`. Never unlimited.
        deadline: seconds one call may take in all (token fetch, attempts, waits); default
            `DEFAULT_DEADLINE`. Each attempt's timeout shrinks to the time left.
        transport: an httpx.AsyncBaseTransport to send through (closed by `aclose`, as httpx does).
        http_client: an httpx.AsyncClient you own: requests go through it (its pool,
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

    _core: ClientCore
    _options: CallOptions
    _owner: bool
    _parent: MoniteClient | None = None

    def __init__(
        self,
        *,
        client_id: str | uuid.UUID | None = None,
        client_secret: str | None = None,
        token: TokenSource | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        retry_policy: RetryPolicy | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        max_requests_per_second: float | None = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
    ) -> None:
        self._owner = False  # until construction is complete: nothing to close, nothing to warn of
        options = CallOptions(
            timeout=check_timeout(timeout),
            max_retries=check_max_retries(max_retries),
            deadline=check_deadline(deadline),
            api_version=validate_api_version(api_version if api_version is not None else API_VERSION),
        )
        resolved_url = _check_base_url(
            base_url if base_url is not None else os.environ.get("MONITE_BASE_URL") or DEFAULT_BASE_URL
        )
        if token is not None and (client_id is not None or client_secret is not None):
            raise ConfigurationError("pass token or client_id/client_secret, not both")
        credentials = _credentials(client_id, client_secret) if token is None else None
        network = network_transport(transport, http_client, limits)
        core = ClientCore(
            base_url=resolved_url,
            options=options,
            token=token,
            credentials=credentials,
            network=network,
            connections=connection_slots(transport, limits),
            retry_policy=retry_policy,
            max_requests_per_second=_check_rate(max_requests_per_second),
            tracing=Tracing(tracer_provider=tracer_provider, meter_provider=meter_provider),
        )
        self._attach(core, options)
        self._owner = True

    def _attach(self, core: ClientCore, options: CallOptions) -> None:
        self._core = core
        self._options = options
        # Partials of the core, not bound methods: a view is then no reference cycle, and is
        # freed the moment it is dropped.
        runner = functools.partial(core.run, options)
        self.mailbox_domains: MailboxDomains = MailboxDomains(
            runner, traced=functools.partial(_call_scope, core, options)
        )
        """Create, list, verify and delete mailbox domains."""
        client_id, secret = core.credentials if core.credentials else (None, None)
        self.auth: AuthResource = AuthResource(
            runner, core.provider, client_id=client_id, client_secret=secret
        )
        """The client's own token: `await monite.auth.revoke()`."""
        self.with_raw_response: RawCalls = RawCalls(runner)
        """`call()` returning a `RawResponse`: `await monite.with_raw_response.call(op, ...)`."""

    # -- per-call options ------------------------------------------------------------------

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | Any = UNSET_OPTION,
        max_retries: int | Any = UNSET_OPTION,
        deadline: float | Any = UNSET_OPTION,
        headers: dict[str, str] | Any = UNSET_OPTION,
        api_version: str | Any = UNSET_OPTION,
    ) -> MoniteClient:
        """A client for some calls with other options, sharing this one's pool and token cache.

            urgent = monite.with_options(timeout=5, max_retries=0)
            await urgent.mailbox_domains.list()
            await monite.with_options(deadline=120).with_options(headers={"x-trace": "42"}).call(op)

        Options left out keep this client's values; `headers` are added to its own (they may
        not set Authorization or x-monite-version: use `api_version=`). No pool, token request
        or event loop of its own: closing a view closes nothing; closing the client that made
        the first one ends every view.
        """
        options = self._options.replace(
            timeout=timeout,
            max_retries=max_retries,
            deadline=deadline,
            headers=headers,
            api_version=api_version,
        )
        view = MoniteClient.__new__(MoniteClient)
        view._owner = False
        # The client that owns the pool lives as long as any view of it: a view of a client
        # made on the fly (`MoniteClient().with_options(...)`) must not see it collected.
        view._parent = self if self._owner else self._parent
        view._attach(self._core, options)
        return view

    # -- what users read ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def api_version(self) -> str:
        return self._options.api_version

    @property
    def max_retries(self) -> int:
        return self._options.max_retries

    @property
    def timeout(self) -> httpx.Timeout:
        return self._options.timeout

    @property
    def deadline(self) -> float:
        return self._options.deadline

    @property
    def closed(self) -> bool:
        return self._core.closed

    def __repr__(self) -> str:
        kind = "MoniteClient" if self._owner else "MoniteClient view"
        return (
            f"{kind}(base_url={self.base_url!r}, api_version={self.api_version!r}, "
            f"auth={self._core.auth_kind!r}, max_retries={self.max_retries})"
        )

    # -- the escape hatch --------------------------------------------------------------

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
        outcome = await self._run(module, *args, **kwargs)
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

    # -- lifecycle ---------------------------------------------------------------------

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

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        # As aiohttp's ClientSession does: a client never closed leaks its pooled sockets.
        if not getattr(self, "_owner", False) or self._core.closed:
            return
        _warn(
            f"unclosed {self!r}: use `async with MoniteClient(...)` or `await aclose()`",
            ResourceWarning,
            source=self,
        )

    # -- internals ---------------------------------------------------------------------

    async def _run(self, operation: object, /, *args: Any, **kwargs: Any) -> Outcome:
        return await self._core.run(self._options, operation, *args, **kwargs)


@contextlib.contextmanager
def _call_scope(core: ClientCore, options: CallOptions, operation: str) -> Iterator[None]:
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


def _parsed(outcome: Outcome) -> Any:
    return outcome.parsed


def _credentials(client_id: str | uuid.UUID | None, client_secret: str | None) -> tuple[uuid.UUID, str]:
    """The client-credentials pair, from the arguments or MONITE_CLIENT_ID/MONITE_CLIENT_SECRET."""
    raw_id = client_id if client_id is not None else os.environ.get("MONITE_CLIENT_ID")
    secret = client_secret if client_secret is not None else os.environ.get("MONITE_CLIENT_SECRET")
    if not raw_id or not secret:
        raise ConfigurationError(
            "no credentials: pass client_id and client_secret (or set MONITE_CLIENT_ID and "
            "MONITE_CLIENT_SECRET), or pass token"
        )
    try:
        parsed_id = raw_id if isinstance(raw_id, uuid.UUID) else uuid.UUID(str(raw_id))
    except ValueError:
        raise ConfigurationError("client_id must be a UUID, as Monite issues them") from None
    return parsed_id, SecretStr(secret)  # shown as '[redacted]' in any repr or traceback
