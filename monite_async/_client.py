"""MoniteClient: the one object users hold.

    async with MoniteClient(client_id=..., client_secret=...) as monite:
        domain = await monite.mailbox_domains.create("mail.example.com")

The layers, top to bottom; a module imports only modules below its own row:

| module | room |
|---|---|
| `_client.py` | MoniteClient: options, lifecycle (one event loop, `aclose`), `call()` |
| `_mailbox_domains.py`, `_access_tokens.py` | the resources: arguments checked, models returned |
| `_pipeline.py` | one request pipeline: build, send, map failures, parse |
| `_generated_ops.py` | the only reader of the generated modules' private functions |
| `_error_mapping.py` | where every failure becomes a MoniteError; every message text |
| `_auth.py` | the bearer-token `httpx.Auth` flow and the token providers |
| `_retry.py` | the retry transport and `RetryPolicy` |
| `_transports.py` | the network: httpx's pool, a caller's client, aiohttp; failures classified |
| `_answers.py` | what an answer says: error body (parsed once), stale token, Retry-After |
| `_validation.py`, `_versioning.py`, `_enums.py` | arguments checked; the version header; lenient enums |
| `_defaults.py` | every default (base URL, timeout, retries, pool limits, User-Agent) |
| `_version.py`, `_errors.py` | the package version; the exception classes |

A request goes down the table (pipeline -> httpx.AsyncClient with the auth flow -> retry
transport -> network transport) and its answer or failure comes back up to the pipeline,
which alone turns a failure into a typed error.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import os
import uuid
import warnings
import weakref
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import httpx
from monite_generated.types import Response

from . import _error_mapping as errors
from ._access_tokens import AuthResource, TokenFetcher
from ._auth import (
    BearerAuth,
    CallableTokenProvider,
    ClientCredentialsProvider,
    StaticTokenProvider,
    TokenProvider,
    is_valid_token,
)
from ._defaults import DEFAULT_BASE_URL, DEFAULT_LIMITS, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, USER_AGENT
from ._errors import ConfigurationError
from ._generated_ops import operation_name, resolve_operation
from ._mailbox_domains import MailboxDomains
from ._pipeline import Outcome, Pipeline
from ._retry import RetryPolicy, RetryTransport
from ._transports import ApiHttpClient, CallerClientTransport
from ._versioning import API_VERSION, VERSION_HEADER, VersionEchoWatcher, validate_api_version

__all__ = ["MoniteClient", "TokenSource"]

TokenSource = str | Callable[[], Awaitable[str]] | Callable[[], str]
"""What `token=` takes: a fixed token, or a callable (async or not) returning one."""


def _check_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float | httpx.Timeout):
        raise ConfigurationError(
            "timeout must be seconds (a number) or an httpx.Timeout; None is not allowed"
        )
    result = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(float(timeout))
    parts = (result.connect, result.read, result.write, result.pool)
    if any(part is None or part <= 0 for part in parts):
        raise ConfigurationError(
            "every part of timeout must be a positive number of seconds (never no timeout)"
        )
    return result


def _check_base_url(base_url: str) -> str:
    if not isinstance(base_url, str) or not base_url.startswith(("https://", "http://")):
        raise ConfigurationError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r}")
    return base_url.rstrip("/")


class MoniteClient:
    """An async client for Monite's mailbox domains API.

    Args (all keyword-only):
        client_id, client_secret: partner credentials; default from the MONITE_CLIENT_ID and
            MONITE_CLIENT_SECRET environment variables. Tokens are fetched and refreshed for you.
        token: instead of credentials, a fixed token, or an async callable returning one
            (awaited before every request) for apps that manage tokens themselves.
        base_url: default MONITE_BASE_URL, else the sandbox (`DEFAULT_BASE_URL`).
        api_version: the `x-monite-version` sent on every request; default `API_VERSION`.
        max_retries: retries after the first attempt for 429/5xx/connection errors/timeouts.
        timeout: seconds or an httpx.Timeout; default `DEFAULT_TIMEOUT`. Never unlimited.
        transport: an httpx.AsyncBaseTransport to send through (closed by `aclose`, as httpx does).
        http_client: an httpx.AsyncClient you own: requests go through it (its pool,
            proxies, TLS settings), with this client's auth, version, timeout and retries on
            top. `aclose` leaves it open. Exclusive with `transport`.
        retry_policy: waits between retries (`RetryPolicy`); see also `set_testing`.
        limits: connection pool limits of the client's own transport; default `DEFAULT_LIMITS`.

    One client serves any number of concurrent tasks in the event loop it is first used in;
    using it from another loop raises ClientStateError.
    """

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
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        retry_policy: RetryPolicy | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        self._closed = True  # until construction is complete: nothing to close, nothing to warn of
        self._api_version = validate_api_version(api_version if api_version is not None else API_VERSION)
        self._base_url = _check_base_url(
            base_url if base_url is not None else os.environ.get("MONITE_BASE_URL") or DEFAULT_BASE_URL
        )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError("max_retries must be an int >= 0")
        self._max_retries = max_retries
        checked_timeout = _check_timeout(timeout)
        network = _network_transport(transport, http_client, limits)
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None

        self._version_watcher = VersionEchoWatcher(self._api_version)
        self._http = ApiHttpClient(
            base_url=self._base_url,
            transport=RetryTransport(network, max_retries=max_retries, policy=retry_policy),
            timeout=checked_timeout,
            headers={VERSION_HEADER: self._api_version, "User-Agent": USER_AGENT},
            event_hooks={"response": [self._version_watcher]},
            follow_redirects=False,
        )
        self._pipeline: Pipeline
        credentials = _credentials(client_id, client_secret) if token is None else None
        if token is not None and (client_id is not None or client_secret is not None):
            raise ConfigurationError("pass token or client_id/client_secret, not both")
        self._provider = self._token_provider(token, credentials)
        self._pipeline = Pipeline(
            self._http,
            auth=BearerAuth(self._provider),
            api_version=self._api_version,
            secrets=self._provider.secrets,
        )
        self.mailbox_domains: MailboxDomains = MailboxDomains(self._run)
        """Create, list, verify and delete mailbox domains."""
        self.auth: AuthResource = AuthResource(
            self._run,
            self._provider,
            client_id=credentials[0] if credentials else None,
            client_secret=credentials[1] if credentials else None,
        )
        """The client's own token: `await monite.auth.revoke()`."""
        self._closed = False

    def _token_provider(
        self, token: TokenSource | None, credentials: tuple[uuid.UUID, str] | None
    ) -> TokenProvider:
        """Where tokens come from: a fixed one, an app's callable, or the client-credentials grant."""
        if credentials is not None:
            client_id, secret = credentials
            # The token fetch runs inside a call that has passed the open/loop check already
            # (the one whose auth flow needs a token), so it runs on the pipeline directly.
            fetcher = TokenFetcher(
                lambda *a, **k: self._pipeline.run(*a, **k), client_id=client_id, client_secret=secret
            )
            self._auth_kind = "client credentials"
            return ClientCredentialsProvider(fetcher, client_secret=secret)
        if isinstance(token, str):
            if not is_valid_token(token):
                raise ConfigurationError("token must be a non-empty str of printable ASCII characters")
            self._auth_kind = "static token"
            return StaticTokenProvider(token)
        if callable(token):
            self._auth_kind = "token callable"
            return CallableTokenProvider(token)
        raise ConfigurationError("token must be a str or an async callable returning one")

    # -- what users read ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def api_version(self) -> str:
        return self._api_version

    @property
    def max_retries(self) -> int:
        return self._max_retries

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        return (
            f"MoniteClient(base_url={self._base_url!r}, api_version={self._api_version!r}, "
            f"auth={self._auth_kind!r}, max_retries={self._max_retries})"
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
        `http_client` stays open.

        Safe from another event loop once the first has ended (`asyncio.run(monite.aclose())`
        after the app's loop finished): the pooled connections died with their loop, so
        there is nothing left to close gracefully, and the client is simply marked closed.
        """
        if self._closed:
            return
        self._closed = True
        if self._first_loop_is_gone():
            with contextlib.suppress(RuntimeError):  # "Event loop is closed": sockets died with it
                await self._http.aclose()
            return
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        self._check_usable()
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
        if getattr(self, "_closed", True):
            return
        _warn(
            f"unclosed {self!r}: use `async with MoniteClient(...)` or `await aclose()`",
            ResourceWarning,
            source=self,
        )

    # -- internals ---------------------------------------------------------------------

    def _first_loop_is_gone(self) -> bool:
        if self._loop is None:
            return False
        loop = self._loop()
        return loop is None or loop.is_closed()

    def _check_usable(self) -> None:
        if self._closed:
            raise errors.closed_client()
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = weakref.ref(loop)
        elif self._loop() is not loop:
            raise errors.wrong_event_loop()

    async def _run(self, operation: object, /, *args: Any, **kwargs: Any) -> Outcome:
        self._check_usable()
        return await self._pipeline.run(operation, *args, **kwargs)


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
    return parsed_id, secret


def _network_transport(
    transport: httpx.AsyncBaseTransport | None, http_client: httpx.AsyncClient | None, limits: httpx.Limits
) -> httpx.AsyncBaseTransport:
    """What sends under the retry layer: the caller's client, the caller's transport, or our pool."""
    if transport is not None and http_client is not None:
        raise ConfigurationError("pass transport or http_client, not both")
    if http_client is not None:
        if not isinstance(http_client, httpx.AsyncClient):
            raise ConfigurationError("http_client must be an httpx.AsyncClient")
        return CallerClientTransport(http_client, user_agent=USER_AGENT)
    if transport is not None:
        return transport
    return httpx.AsyncHTTPTransport(limits=limits)
