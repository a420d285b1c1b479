"""What a client and its `with_options` views share: the flow (token cache, rate window,
slots), the HTTP client it sends through, and (async) the event loop they belong to. Only
the client that built a core closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import uuid
import weakref
from collections.abc import Callable
from typing import Any

import httpx2
import sniffio

from ._auth.tokens import AppTokens, CredentialsCache, StaticToken, TokenSource, is_valid_token
from ._defaults import USER_AGENT
from ._errors import ConfigurationError
from ._flow import failures as errors
from ._flow.call import Flow
from ._flow.drive import AsyncIO, AsyncPrimitive, BlockingIO, ThreadPrimitive
from ._flow.options import CallOptions
from ._flow.request import Target
from ._flow.versioning import VERSION_HEADER
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
)
from ._observability.tracing import Tracing

__all__ = ["Core", "SyncCore", "connection_slots", "network"]


class LoopBinding:
    """The event loop (an asyncio loop, or a trio run) a client was first used in.

    Pooled connections and locks belong to it; using them from another loop fails in
    obscure ways deep inside httpx2, so `check()` refuses that with ClientStateError.
    """

    def __init__(self) -> None:
        self._asyncio: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._trio: object | None = None  # the run's TrioToken: one per trio.run

    def __repr__(self) -> str:
        return f"LoopBinding(bound={self._asyncio is not None or self._trio is not None})"

    @property
    def library(self) -> str | None:
        return "trio" if self._trio is not None else "asyncio" if self._asyncio is not None else None

    def check(self) -> None:
        running = asyncio._get_running_loop()
        if (
            running is not None
            and self._asyncio is not None
            and running is self._asyncio()
            and sniffio.thread_local.name is None  # what trio (and trio-asyncio) set
            and sniffio.current_async_library_cvar.get() is None
        ):
            return  # the running loop is the bound one: no sniffing (sniffio imports per call)
        if sniffio.current_async_library() == "trio":
            import trio

            token = trio.lowlevel.current_trio_token()
            if self._trio is None and self._asyncio is None:
                self._trio = token
            elif self._trio is not token:
                raise errors.wrong_event_loop()
            return
        loop = asyncio.get_running_loop()
        if self._asyncio is None and self._trio is None:
            self._asyncio = weakref.ref(loop)
        elif self._asyncio is None or self._asyncio() is not loop:
            raise errors.wrong_event_loop()

    def first_is_gone(self) -> bool:
        """Whether the loop the client was bound to has ended (so its sockets died with it)."""
        if self._asyncio is not None:
            loop = self._asyncio()
            return loop is None or loop.is_closed()
        if self._trio is not None:
            import trio

            try:  # trio runs one at a time per thread: another token means the first run ended
                return trio.lowlevel.current_trio_token() is not self._trio
            except RuntimeError:
                return True
        return False


class _CoreBase:
    """Builds the flow from a client's arguments (checked already)."""

    _primitive: Callable[[int], Any]
    _io_class: Any  # AsyncIO, BlockingIO
    _send_method: str  # the transport's: requests go straight to it (see `Target`)
    io: Any

    def __init__(
        self,
        *,
        base_url: str,
        options: CallOptions,
        token: object,
        credentials: tuple[uuid.UUID, str] | None,
        network: Any,
        slots: int,
        retry_policy: RetryPolicy | None,
        max_requests_per_second: float | None,
        tracing: Tracing,
        redis: str | None = None,
    ) -> None:
        self.base_url = base_url
        self.auth_kind: str = _token_kind(token, credentials)
        self.asyncio_only: bool = is_asyncio_only(network)
        # The flow sends straight to it (see `Target`): closed with the client, as httpx2 does.
        self.network = network
        policy = retry_policy if retry_policy is not None else RetryPolicy()
        target = Target(
            base_url,
            headers={VERSION_HEADER: options.api_version, "User-Agent": USER_AGENT},
        )
        self.flow: Flow = Flow(
            target=target,
            options=options,
            tokens=self._tokens(token, credentials, options, tracing),
            credentials=credentials,
            slots=self._primitive(slots),
            policy=policy,
            window=RateWindow(),
            pacer=None if max_requests_per_second is None else Pacer(max_requests_per_second),
            tracing=tracing,
            shared=None if redis is None else self._shared(redis, base_url, credentials),
        )
        self.io = self._io_class(getattr(network, self._send_method), policy.sleep, self.check_usable)

    def __repr__(self) -> str:
        kind = type(self).__name__
        return f"{kind}(base_url={self.base_url!r}, auth={self.auth_kind!r}, closed={self.closed})"

    @property
    def closed(self) -> bool:
        return self.flow.closed

    @closed.setter
    def closed(self, closed: bool) -> None:
        self.flow.closed = closed

    @property
    def provider(self) -> TokenSource:
        return self.flow.tokens

    def check_usable(self) -> str | None:
        raise NotImplementedError

    def _shared(self, url: str, base_url: str, credentials: tuple[uuid.UUID, str] | None) -> Any:
        """The fleet's room on Redis (the `redis` extra, imported only here)."""
        if credentials is None:
            raise ConfigurationError(
                "redis= shares the token of client credentials: pass client_id/client_secret"
            )
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigurationError("redis= must be a redis://, rediss:// or unix:// URL")
        from ._redis import SharedState, SyncSharedState  # imports redis-py only when made

        kind = SyncSharedState if isinstance(self, SyncCore) else SharedState
        try:
            return kind(url, base_url=base_url, client_id=credentials[0], client_secret=credentials[1])
        except ImportError:
            raise ConfigurationError("redis= needs the 'redis' extra: pip install '.[redis]'") from None

    def _tokens(
        self, token: object, credentials: tuple[uuid.UUID, str] | None, options: CallOptions, tracing: Tracing
    ) -> TokenSource:
        """Where tokens come from: the client-credentials grant, a fixed one, or an app's callable."""
        if credentials is not None:
            return CredentialsCache(
                client_secret=credentials[1],
                lock=self._primitive(1),
                on_fetch=tracing.token_fetched,
                fetch_attempts=1 + options.max_retries,  # the client's own: the fetch runs with them
            )
        if isinstance(token, str):
            return StaticToken(token)
        if isinstance(self, SyncCore) and is_async(token):
            raise errors.async_token_callable()
        return AppTokens(token)


def _token_kind(token: object, credentials: tuple[uuid.UUID, str] | None) -> str:
    """Which token source `token`/`credentials` name; a bad token is refused here."""
    if credentials is not None:
        return "client credentials"
    if isinstance(token, str) and not is_valid_token(token):
        raise ConfigurationError("token must be a non-empty str of printable ASCII characters")
    if not isinstance(token, str) and not callable(token):
        raise ConfigurationError("token must be a str or an async callable returning one")
    return "static token" if isinstance(token, str) else "token callable"


def connection_slots(transport: object, limits: httpx2.Limits) -> int:
    """How many requests may be on the wire at once: the pool's connection limit."""
    given = getattr(transport, "limits", None)
    chosen = given if isinstance(given, httpx2.Limits) else limits
    return chosen.max_connections if chosen.max_connections is not None else 100


def _pool_limits(limits: httpx2.Limits) -> httpx2.Limits:
    # One connection more than the slots: the token request, which takes no slot (the slot
    # holders may be the very requests waiting for it), never waits inside the pool.
    if limits.max_connections is None:
        return limits
    return httpx2.Limits(
        max_connections=limits.max_connections + 1,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
    )


class Core(_CoreBase):
    """What `MoniteClient` and its views share (see the module docstring)."""

    io: AsyncIO
    _primitive = AsyncPrimitive
    _send_method = "handle_async_request"
    _io_class = AsyncIO

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.loop: LoopBinding = LoopBinding()

    def check_usable(self) -> str | None:
        """Raise the typed error that says why this client cannot send now, if it cannot;
        else the event loop's library ("asyncio" or "trio")."""
        if self.closed:
            raise errors.closed_client()
        self.loop.check()
        library = self.loop.library
        if self.asyncio_only and library == "trio":
            raise ConfigurationError(ASYNCIO_ONLY_TEXT)
        return library

    async def aclose(self) -> None:
        if self.closed:
            return
        self.flow.closed = True
        if self.flow.shared is not None:
            with contextlib.suppress(Exception):  # Redis away or another loop's: nothing to keep
                await self.flow.shared.aclose()
        # Once the first loop has ended: "Event loop is closed" (or trio's equivalent), for
        # the sockets died with that loop.
        gone = self.loop.first_is_gone()
        with contextlib.suppress(RuntimeError) if gone else contextlib.nullcontext():
            await self.network.aclose()


class SyncCore(_CoreBase):
    """What `MoniteSyncClient` and its views share: the same flow over httpx2.Client, for any
    number of threads (no event loop to belong to)."""

    io: BlockingIO
    _primitive = ThreadPrimitive
    _send_method = "handle_request"
    _io_class = BlockingIO

    def check_usable(self) -> str | None:
        if self.closed:
            raise errors.closed_client()
        return None

    def close(self) -> None:
        if not self.closed:
            self.flow.closed = True
            if self.flow.shared is not None:
                self.flow.shared.close()
            self.network.close()


def is_async(function: object) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(type(function).__call__)


def network(transport: object, http_client: object, limits: httpx2.Limits, *, blocking: bool) -> Any:
    """What the flow sends through: the caller's client, the caller's transport, or httpx2's pool."""
    client_type, transport_type = (
        (httpx2.Client, httpx2.BaseTransport) if blocking else (httpx2.AsyncClient, httpx2.AsyncBaseTransport)
    )
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
    pooled = _pool_limits(limits)
    if blocking:
        return ForkSafeHTTPTransport(limits=pooled)
    return TrailingBytesGuard(limits=pooled, verify=default_tls())
