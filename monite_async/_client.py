"""MoniteClient: the one object users hold.

    async with MoniteClient(client_id=..., client_secret=...) as monite:
        domain = await monite.mailbox_domains.create("mail.example.com")

Layers, top to bottom: resource methods and `call()` -> the pipeline (`_call.py`: request
building, typed errors, safe parsing) -> httpx.AsyncClient with the bearer auth flow
(`_auth.py`) -> the retry transport (`_retry.py`) -> the network transport.
"""

from __future__ import annotations

import asyncio
import http
import os
import uuid
import weakref
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import httpx
from monite_generated.types import Response

from ._auth import (
    BearerAuth,
    CallableTokenProvider,
    ClientCredentialsProvider,
    StaticTokenProvider,
    TokenProvider,
    is_valid_token,
)
from ._call import Outcome, Pipeline, resolve_operation
from ._errors import ClientStateError, ConfigurationError, UnexpectedResponseError
from ._mailbox_domains import MailboxDomains
from ._retry import RetryPolicy, RetryTransport
from ._tokens import AuthResource, TokenFetcher
from ._versioning import API_VERSION, VERSION_HEADER, VersionEchoWatcher, validate_api_version

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "MoniteClient",
]

DEFAULT_BASE_URL = "https://api.sandbox.monite.com/v1"
DEFAULT_MAX_RETRIES = 2
# Never "no timeout": a hung connection must end in MoniteTimeoutError, not a hung task.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# Monite allows 30 requests/s per client by default; 100 connections is far above what that
# needs, yet bounded: thousands of concurrent tasks queue for a connection instead of
# opening thousands of sockets.
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=15.0)
USER_AGENT = "monite-async/0.1.0"

TokenSource = str | Callable[[], Awaitable[str]] | Callable[[], str]


class _CallerClientTransport(httpx.AsyncBaseTransport):
    """Sends through an httpx.AsyncClient the caller owns (its pool, proxies, TLS settings,
    event hooks). The caller closes it, so `aclose` here does nothing."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # `send` skips the client's default headers; add the caller's (a custom header they
        # set, say), never replacing ours (Authorization, x-monite-version, content-type).
        for name, value in self._client.headers.items():
            if name not in request.headers:
                request.headers[name] = value
        try:
            # auth=None: Authorization is ours; the caller client's own auth must not replace it.
            return await self._client.send(request, stream=True, auth=None, follow_redirects=False)
        except RuntimeError as exc:  # httpx: "Cannot send a request, as the client has been closed."
            raise ClientStateError(f"the http_client passed to MoniteClient cannot send: {exc}") from None

    async def aclose(self) -> None:
        return None


class _NoCookies(httpx.Cookies):
    """A jar that keeps nothing. Monite's API authenticates with bearer tokens alone, so a
    cookie a proxy or load balancer sets would only carry state from one call into the next;
    and httpx builds a urllib request and an email message per response to store one."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _ApiHttpClient(httpx.AsyncClient):
    """The facade's own httpx client (never a caller's): it neither stores nor sends cookies."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise AttributeError("the MoniteClient's HTTP client keeps no cookies")


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
        self._api_version = validate_api_version(api_version if api_version is not None else API_VERSION)
        self._base_url = _check_base_url(
            base_url if base_url is not None else os.environ.get("MONITE_BASE_URL") or DEFAULT_BASE_URL
        )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError("max_retries must be an int >= 0")
        self._max_retries = max_retries
        checked_timeout = _check_timeout(timeout)
        if transport is not None and http_client is not None:
            raise ConfigurationError("pass transport or http_client, not both")
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise ConfigurationError("http_client must be an httpx.AsyncClient")

        self._closed = False
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None

        inner: httpx.AsyncBaseTransport
        if http_client is not None:
            inner = _CallerClientTransport(http_client)
        elif transport is not None:
            inner = transport
        else:
            inner = httpx.AsyncHTTPTransport(limits=limits)
        self._version_watcher = VersionEchoWatcher(self._api_version)
        self._http = _ApiHttpClient(
            base_url=self._base_url,
            transport=RetryTransport(inner, max_retries=max_retries, policy=retry_policy),
            timeout=checked_timeout,
            headers={VERSION_HEADER: self._api_version, "User-Agent": USER_AGENT},
            event_hooks={"response": [self._version_watcher]},
            follow_redirects=False,
        )

        credentials_id: uuid.UUID | None = None
        secret: str | None = None
        provider: TokenProvider
        if token is not None:
            if client_id is not None or client_secret is not None:
                raise ConfigurationError("pass token or client_id/client_secret, not both")
            if isinstance(token, str):
                if not is_valid_token(token):
                    raise ConfigurationError("token must be a non-empty str of printable ASCII characters")
                provider = StaticTokenProvider(token)
                self._auth_kind = "static token"
            elif callable(token):
                provider = CallableTokenProvider(token)
                self._auth_kind = "token callable"
            else:
                raise ConfigurationError("token must be a str or an async callable returning one")
        else:
            raw_id = client_id if client_id is not None else os.environ.get("MONITE_CLIENT_ID")
            secret = client_secret if client_secret is not None else os.environ.get("MONITE_CLIENT_SECRET")
            if not raw_id or not secret:
                raise ConfigurationError(
                    "no credentials: pass client_id and client_secret (or set MONITE_CLIENT_ID and "
                    "MONITE_CLIENT_SECRET), or pass token"
                )
            try:
                credentials_id = raw_id if isinstance(raw_id, uuid.UUID) else uuid.UUID(str(raw_id))
            except ValueError:
                raise ConfigurationError("client_id must be a UUID, as Monite issues them") from None
            fetcher = TokenFetcher(self._pipeline_run, client_id=credentials_id, client_secret=secret)
            provider = ClientCredentialsProvider(fetcher, client_secret=secret)
            self._auth_kind = "client credentials"
        self._provider = provider
        self._pipeline = Pipeline(
            self._http, auth=BearerAuth(provider), api_version=self._api_version, secrets=provider.secrets
        )
        self.mailbox_domains: MailboxDomains = MailboxDomains(self._run)
        self.auth: AuthResource = AuthResource(
            self._run, provider, client_id=credentials_id, client_secret=secret
        )

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
            raise UnexpectedResponseError(
                f"HTTP {response.status_code} is not a standard status",
                status_code=response.status_code,
                operation=module.__name__.rpartition(".")[2],
            ) from None
        return Response(
            status_code=status, content=response.content, headers=response.headers, parsed=outcome.parsed
        )

    # -- lifecycle ---------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close what this client owns (its connection pool); idempotent. A caller's
        `http_client` stays open."""
        if self._closed:
            return
        self._closed = True
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

    # -- internals ---------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._closed:
            raise ClientStateError("this MoniteClient is closed; create a new one")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = weakref.ref(loop)
        elif self._loop() is not loop:
            # Its pooled connections and locks belong to the first loop; using them from
            # another one fails in obscure ways deep inside httpx.
            raise ClientStateError(
                "this MoniteClient belongs to the event loop it was first used in; "
                "create one MoniteClient per event loop"
            )

    async def _run(self, operation: object, /, *args: Any, **kwargs: Any) -> Outcome:
        self._check_usable()
        return await self._pipeline.run(operation, *args, **kwargs)

    async def _pipeline_run(self, operation: object, /, *args: Any, **kwargs: Any) -> Outcome:
        return await self._pipeline.run(operation, *args, **kwargs)
