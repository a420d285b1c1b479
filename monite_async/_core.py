"""What a client and its `with_options` views share: the flow (token cache, rate window,
slots), the HTTP client it sends through, and (async) the event loop they belong to. A
core is built from a client's constructor arguments, each checked here; only the client
that built a core closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import os
import types
import uuid
import weakref
from collections.abc import Callable
from typing import Any

import httpx2
import sniffio

from ._auth.secret import SecretStr
from ._auth.tokens import AppTokens, CredentialsCache, StaticToken, TokenSource, is_valid_token
from ._defaults import DEFAULT_BASE_URL, USER_AGENT
from ._errors import ConfigurationError
from ._flow import failures as errors
from ._flow.call import Flow
from ._flow.drive import AsyncIO, AsyncPrimitive, BlockingIO, ThreadPrimitive
from ._flow.options import CallOptions, check_deadline, check_entity_id, check_max_retries, check_timeout
from ._flow.request import Target
from ._flow.versioning import API_VERSION, VERSION_HEADER, validate_api_version
from ._http.rate import Pacer, RateWindow
from ._http.retry import RetryPolicy
from ._http.transports import (
    ASYNCIO_ONLY_TEXT,
    CallerClientTransport,
    ForkSafeHTTPTransport,
    SyncCallerClientTransport,
    TrailingBytesGuard,
    default_tls,
    is_asyncio_only,
    refuse_foreign_http,
)
from ._http.waits import ASYNC_SLEEP_TEXT
from ._observability.tracing import Tracing

__all__ = ["Core", "SyncCore"]


class _CoreBase:
    """Checks a client's constructor arguments (its locals) one by one, in the order of
    `__init__` (the first wrong one is the error), then builds the flow from them."""

    io: Any
    check_usable: Callable[[], str | None]

    def __init__(self, arguments: dict[str, Any]) -> None:
        given = types.SimpleNamespace(**arguments)
        blocking = isinstance(self, SyncCore)
        primitive: Callable[[int], Any] = ThreadPrimitive if blocking else AsyncPrimitive
        refuse_foreign_http(transport=given.transport, http_client=given.http_client, limits=given.limits)
        # Each checked as `CallOptions.replace` checks it, in this order (None: the pinned version).
        options = CallOptions(
            timeout=check_timeout(given.timeout),
            max_retries=check_max_retries(given.max_retries),
            deadline=check_deadline(given.deadline),
            api_version=API_VERSION if given.api_version is None else validate_api_version(given.api_version),
            entity_id=check_entity_id(given.entity_id),
        )
        default_url = os.environ.get("MONITE_BASE_URL") or DEFAULT_BASE_URL
        self.base_url: str = _check_base_url(default_url if given.base_url is None else given.base_url)
        if given.token is not None and (given.client_id is not None or given.client_secret is not None):
            raise ConfigurationError("pass token or client_id/client_secret, not both")
        credentials = _credentials(given.client_id, given.client_secret) if given.token is None else None
        if not isinstance(given.limits, httpx2.Limits):
            raise ConfigurationError(f"limits must be an httpx2.Limits; got {type(given.limits).__name__}")
        policy = RetryPolicy() if given.retry_policy is None else given.retry_policy
        if not isinstance(policy, RetryPolicy):
            raise ConfigurationError("retry_policy must be a monite_async.RetryPolicy")
        if blocking and policy.sleep is not None and is_async(policy.sleep):
            raise ConfigurationError(ASYNC_SLEEP_TEXT)  # else refused at its first wait
        # The flow sends straight to it (see `Target`): closed with the client, as httpx2 does.
        self.network: Any = network(given.transport, given.http_client, given.limits, blocking=blocking)
        tracing = Tracing(tracer_provider=given.tracer_provider, meter_provider=given.meter_provider)
        # Where tokens come from (the client-credentials grant, or the app's), and what the repr calls it.
        if credentials is not None:
            self.auth_kind: str = "client credentials"
            tokens: TokenSource = CredentialsCache(
                client_secret=credentials[1],
                lock=primitive(1),
                on_fetch=tracing.token_fetched,
                fetch_attempts=1 + options.max_retries,  # the client's own: the fetch runs with them
            )
        else:
            self.auth_kind, tokens = _app_tokens(given.token, blocking=blocking)
        # At most the pool's connection limit on the wire at once (an aiohttp_transport's own).
        pool = getattr(given.transport, "limits", None)
        pool = pool if isinstance(pool, httpx2.Limits) else given.limits
        self.flow: Flow = Flow(
            target=Target(
                self.base_url, headers={VERSION_HEADER: options.api_version, "User-Agent": USER_AGENT}
            ),
            options=options,
            tokens=tokens,
            credentials=credentials,
            slots=primitive(100 if pool.max_connections is None else pool.max_connections),
            policy=policy,
            window=RateWindow(),
            pacer=_pacer(given.max_requests_per_second),
            tracing=tracing,
            shared=_shared(given.redis, self.base_url, credentials, blocking=blocking),
        )
        driver = BlockingIO if blocking else AsyncIO
        send = self.network.handle_request if blocking else self.network.handle_async_request
        self.io = driver(send, policy.sleep, self.check_usable)


def _app_tokens(token: object, *, blocking: bool) -> tuple[str, TokenSource]:
    """A token of the app's own, and what the client's repr calls it: a fixed one, or a
    callable returning one."""
    if isinstance(token, str):
        if not is_valid_token(token):
            raise ConfigurationError("token must be a non-empty str of printable ASCII characters")
        return "static token", StaticToken(token)
    if not callable(token):
        raise ConfigurationError("token must be a str or an async callable returning one")
    if blocking and is_async(token):
        raise errors.async_token_callable()
    return "token callable", AppTokens(token)


def _check_base_url(base_url: str) -> str:
    if isinstance(base_url, str) and base_url.startswith(("https://", "http://")):
        with contextlib.suppress(httpx2.InvalidURL):
            if httpx2.URL(base_url).userinfo:
                # It would show in every error text, log line and trace that names a URL.
                raise ConfigurationError(
                    "base_url must not carry a user name or password; give a proxy's credentials to an "
                    "http_client=httpx2.AsyncClient(proxy=...) of yours"
                )
            return base_url.rstrip("/")
    raise ConfigurationError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r}")


def _pacer(per_second: object) -> Pacer | None:
    if per_second is None:
        return None
    if isinstance(per_second, bool) or not isinstance(per_second, int | float) or not per_second > 0:
        raise ConfigurationError("max_requests_per_second must be a positive number, or None (no pacing)")
    return Pacer(float(per_second))


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


def _shared(
    redis: str | None, base_url: str, credentials: tuple[uuid.UUID, str] | None, *, blocking: bool
) -> Any:
    """The fleet's room on Redis, or None: `redis=`, else MONITE_REDIS_URL (for client
    credentials: a token of the app's own is not shared). The `redis` extra is imported only here."""
    if redis is None and credentials is not None:
        redis = os.environ.get("MONITE_REDIS_URL") or None
    if redis is None:
        return None
    if not isinstance(redis, str):
        raise ConfigurationError(f"redis must be a redis:// URL; got {type(redis).__name__}")
    if credentials is None:
        raise ConfigurationError(
            "redis= shares the token of client credentials: pass client_id/client_secret"
        )
    if not redis.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError("redis= must be a redis://, rediss:// or unix:// URL")
    from ._redis import SharedState, SyncSharedState  # imports redis-py only when made

    kind = SyncSharedState if blocking else SharedState
    try:
        return kind(redis, base_url=base_url, client_id=credentials[0], client_secret=credentials[1])
    except ImportError:
        raise ConfigurationError("redis= needs the 'redis' extra: pip install '.[redis]'") from None


def _trio_token() -> object:
    """The running trio run's token (RuntimeError outside one)."""
    import trio

    return trio.lowlevel.current_trio_token()


class Core(_CoreBase):
    """What `MoniteClient` and its views share (see the module docstring), and the event loop
    (an asyncio loop, or a trio run) the client was first used in.

    Pooled connections and locks belong to that loop; using them from another fails in
    obscure ways deep inside httpx2, so `check_usable()` refuses that with ClientStateError.
    """

    io: AsyncIO
    _loop: weakref.ref[Any] | None = None  # the asyncio loop, or the trio run's TrioToken

    def check_usable(self) -> str | None:
        """Raise the typed error that says why this client cannot send now, if it cannot;
        else the event loop's library ("asyncio" or "trio")."""
        if self.flow.closed:
            raise errors.closed_client()
        running = asyncio._get_running_loop()
        if (
            running is not None
            and self._loop is not None
            and running is self._loop()
            and sniffio.thread_local.name is None  # what trio (and trio-asyncio) set
            and sniffio.current_async_library_cvar.get() is None
        ):
            return "asyncio"  # fast path: the running loop is the bound one (sniffio imports per call)
        library = "trio" if sniffio.current_async_library() == "trio" else "asyncio"
        current = _trio_token() if library == "trio" else asyncio.get_running_loop()
        if self._loop is None:
            self._loop = weakref.ref(current)
        elif self._loop() is not current:
            raise errors.wrong_event_loop()
        if library == "trio" and is_asyncio_only(self.network):
            raise ConfigurationError(ASYNCIO_ONLY_TEXT)
        return library

    def _first_is_gone(self) -> bool:
        """Whether the loop the client was bound to has ended (so its sockets died with it)."""
        if self._loop is None:
            return False
        first = self._loop()  # an asyncio loop, a trio run's token, or None once collected
        if first is None or isinstance(first, asyncio.AbstractEventLoop):
            return first is None or first.is_closed()
        with contextlib.suppress(RuntimeError):  # outside a trio run: the first one ended
            # trio runs one at a time per thread: another token means the first run ended
            return _trio_token() is not first
        return True

    async def aclose(self) -> None:
        if not self.flow.closed:
            self.flow.closed = True
            if self.flow.shared is not None:
                with contextlib.suppress(Exception):  # Redis away or another loop's: nothing to keep
                    await self.flow.shared.aclose()
            # Once the first loop has ended: "Event loop is closed" (or trio's equivalent), for
            # the sockets died with that loop.
            gone = self._first_is_gone()
            with contextlib.suppress(RuntimeError) if gone else contextlib.nullcontext():
                await self.network.aclose()


class SyncCore(_CoreBase):
    """What `MoniteSyncClient` and its views share: the same flow over httpx2.Client, for any
    number of threads (no event loop to belong to)."""

    io: BlockingIO

    def check_usable(self) -> None:
        if self.flow.closed:
            raise errors.closed_client()

    def close(self) -> None:
        if not self.flow.closed:
            self.flow.closed = True
            if self.flow.shared is not None:
                self.flow.shared.close()
            self.network.close()


def is_async(function: object) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(type(function).__call__)


def network(transport: object, http_client: object, limits: httpx2.Limits, *, blocking: bool) -> Any:
    """What the flow sends through: the caller's client, the caller's transport, or httpx2's pool."""
    client_type = httpx2.Client if blocking else httpx2.AsyncClient
    transport_type = httpx2.BaseTransport if blocking else httpx2.AsyncBaseTransport
    name = "MoniteSyncClient" if blocking else "MoniteClient"
    if transport is not None and http_client is not None:
        raise ConfigurationError("pass transport or http_client, not both")
    if http_client is not None:
        if not isinstance(http_client, client_type):
            raise ConfigurationError(f"{name}'s http_client must be an httpx2.{client_type.__name__}")
        wrap = SyncCallerClientTransport if blocking else CallerClientTransport
        return wrap(http_client, user_agent=USER_AGENT)
    if transport is not None:
        if not isinstance(transport, transport_type):
            raise ConfigurationError(f"{name}'s transport must be an httpx2.{transport_type.__name__}")
        return transport
    # One connection more than the slots: the token request, which takes no slot (the slot
    # holders may be the very requests waiting for it), never waits inside the pool.
    if limits.max_connections is not None:
        limits = dataclasses.replace(limits, max_connections=limits.max_connections + 1)
    if blocking:
        return ForkSafeHTTPTransport(limits=limits)
    return TrailingBytesGuard(limits=limits, verify=default_tls())
