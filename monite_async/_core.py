"""The part of a client that views share: connection pool, token cache, rate window, and
the event loop they all belong to. `MoniteClient` and every `with_options` view of it
hold one `ClientCore`; only the client that built it closes it. `MoniteSyncClient` holds
a `SyncClientCore`: the same layers, the blocking drivers of the same flows.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import uuid
import weakref
from collections.abc import Callable
from typing import Any

import httpx2
import sniffio

from . import _error_mapping as errors
from ._access_tokens import SyncTokenFetcher, TokenFetcher
from ._auth import (
    BearerAuth,
    CallableTokenProvider,
    ClientCredentialsProvider,
    StaticTokenProvider,
    SyncBearerAuth,
    SyncCallableTokenProvider,
    SyncClientCredentialsProvider,
    SyncStaticTokenProvider,
    SyncTokenProvider,
    TokenProvider,
    is_valid_token,
)
from ._defaults import USER_AGENT
from ._errors import ConfigurationError
from ._gate import SendGate, SyncSendGate
from ._options import CallOptions
from ._pipeline import Outcome, Pipeline, SyncPipeline, carrier, sync_carrier
from ._rate_limit import Pacer, RateWindow
from ._retry import RetryPolicy, RetryRules, RetryTransport, SyncRetryTransport
from ._tracing import Tracing
from ._transports import (
    ApiHttpClient,
    CallerClientTransport,
    ForkSafeHTTPTransport,
    SyncApiHttpClient,
    SyncCallerClientTransport,
    is_asyncio_only,
)
from ._versioning import VERSION_HEADER, VersionEchoWatcher

__all__ = [
    "ClientCore",
    "LoopBinding",
    "SyncClientCore",
    "connection_slots",
    "network_transport",
    "sync_network_transport",
]


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
    """What both cores hold and build: the rate window, the retry rules, the send gate, the
    httpx2 client, the token provider and the pipeline, stacked as the module docstring says.
    Each subclass gives the classes of its kind (`_stack`, `_token_provider`, `_signing`).
    """

    def __init__(
        self,
        *,
        base_url: str,
        options: CallOptions,
        token: object,
        credentials: tuple[uuid.UUID, str] | None,
        network: Any,
        connections: int,
        retry_policy: RetryPolicy | None,
        max_requests_per_second: float | None,
        tracing: Tracing,
    ) -> None:
        self.base_url = base_url
        self.tracing = tracing
        self.closed = False
        self.window = RateWindow(hold_sleep=retry_policy.sleep if retry_policy is not None else None)
        retry = RetryRules(
            max_retries=options.max_retries, policy=retry_policy, window=self.window, tracing=tracing
        )
        pacer = None if max_requests_per_second is None else Pacer(max_requests_per_second)
        gate = {"connections": connections, "window": self.window, "pacer": pacer, "tracing": tracing}
        settings = {
            "base_url": base_url,
            "timeout": options.timeout,
            "headers": {VERSION_HEADER: options.api_version, "User-Agent": USER_AGENT},
            "follow_redirects": False,
        }
        self._stack(network, retry, gate, settings)
        self.credentials = credentials
        self.auth_kind = _token_kind(token, credentials)
        self._signing(self._token_provider(token, options))

    def __repr__(self) -> str:
        kind = type(self).__name__
        return f"{kind}(base_url={self.base_url!r}, auth={self.auth_kind!r}, closed={self.closed})"

    def _stack(self, network: Any, retry: RetryRules, gate: dict[str, Any], settings: dict[str, Any]) -> None:
        """Make `self.gate` over `network` and `self.http` over the retry layer over it."""
        raise NotImplementedError

    def _token_provider(self, token: object, options: CallOptions) -> Any:
        raise NotImplementedError

    _signers: tuple[Callable[..., Any], Callable[..., Any]]  # the auth flow's class, the pipeline's
    gate: SendGate | SyncSendGate
    http: ApiHttpClient | SyncApiHttpClient

    def _signing(self, provider: Any) -> None:
        """Keep `provider`; make the auth flow (which signs at the gate) and the pipeline."""
        auth_class, pipeline_class = self._signers
        self.provider = provider
        auth = auth_class(provider)
        self.gate.signer, self.gate.signs = auth.sign, True
        self.pipeline = pipeline_class(self.http, auth=auth, secrets=provider.secrets, tracing=self.tracing)

    def _cache_settings(self, options: CallOptions) -> dict[str, Any]:
        assert self.credentials is not None
        return {
            "client_secret": self.credentials[1],
            "on_fetch": self.tracing.token_fetched,
            "fetch_attempts": 1 + options.max_retries,  # the client's own: the fetch runs with them
        }


def _token_kind(token: object, credentials: tuple[uuid.UUID, str] | None) -> str:
    """Which token source `token`/`credentials` name; a bad token is refused here."""
    if credentials is not None:
        return "client credentials"
    if isinstance(token, str):
        if not is_valid_token(token):
            raise ConfigurationError("token must be a non-empty str of printable ASCII characters")
        return "static token"
    if callable(token):
        return "token callable"
    raise ConfigurationError("token must be a str or an async callable returning one")


class ClientCore(_CoreBase):
    """Everything a client and its views share; see the module docstring."""

    gate: SendGate
    http: ApiHttpClient
    provider: TokenProvider
    pipeline: Pipeline

    def _stack(self, network: Any, retry: RetryRules, gate: dict[str, Any], settings: dict[str, Any]) -> None:
        self.loop = LoopBinding()
        self.asyncio_only = is_asyncio_only(network)
        self.gate = SendGate(network, **gate)
        hooks: dict[str, list[Callable[..., Any]]] = {"response": [VersionEchoWatcher()]}
        self.http = ApiHttpClient(transport=RetryTransport(self.gate, retry), event_hooks=hooks, **settings)

    def _token_provider(self, token: object, options: CallOptions) -> TokenProvider:
        """Where tokens come from: a fixed one, an app's callable, or the client-credentials grant."""
        if self.credentials is not None:
            # The token fetch runs inside a call that has passed the open/loop check already
            # (the one whose request needs a token), with the client's own options and not
            # that call's budget (`TokenFetcher`): it fills the cache every caller shares.
            async def run(operation: object, /, *args: Any, **kwargs: Any) -> Outcome:
                return await self.pipeline.run(options, operation, *args, **kwargs)

            client_id, secret = self.credentials
            fetcher = TokenFetcher(carrier(run), client_id=client_id, client_secret=secret)
            return ClientCredentialsProvider(fetcher, **self._cache_settings(options))
        if isinstance(token, str):
            return StaticTokenProvider(token)
        return CallableTokenProvider(token)  # type: ignore[arg-type]

    _signers = (BearerAuth, Pipeline)

    def check_usable(self) -> None:
        """Raise the typed error that says why this client cannot send now, if it cannot."""
        if self.closed:
            raise errors.closed_client()
        self.loop.check()
        if self.asyncio_only and self.loop.library == "trio":
            raise errors.asyncio_only_transport()

    async def run(self, options: CallOptions, operation: object, /, *args: Any, **kwargs: Any) -> Outcome:
        self.check_usable()
        return await self.pipeline.run(options, operation, *args, **kwargs)

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.loop.first_is_gone():
            # "Event loop is closed" (or trio's equivalent): the sockets died with that loop.
            with contextlib.suppress(RuntimeError):
                await self.http.aclose()
            return
        await self.http.aclose()


class SyncClientCore(_CoreBase):
    """`ClientCore` for `MoniteSyncClient`: the same layers over httpx2.Client, shared by any
    number of threads (no event loop to belong to)."""

    gate: SyncSendGate
    http: SyncApiHttpClient
    provider: SyncTokenProvider
    pipeline: SyncPipeline

    def _stack(self, network: Any, retry: RetryRules, gate: dict[str, Any], settings: dict[str, Any]) -> None:
        self.gate = SyncSendGate(network, **gate)
        hooks: dict[str, list[Callable[..., Any]]] = {"response": [VersionEchoWatcher().check]}
        self.http = SyncApiHttpClient(
            transport=SyncRetryTransport(self.gate, retry), event_hooks=hooks, **settings
        )

    def _token_provider(self, token: object, options: CallOptions) -> SyncTokenProvider:
        if self.credentials is not None:

            def run(operation: object, /, *args: Any, **kwargs: Any) -> Outcome:
                return self.pipeline.run(options, operation, *args, **kwargs)

            client_id, secret = self.credentials
            fetcher = SyncTokenFetcher(sync_carrier(run), client_id=client_id, client_secret=secret)
            return SyncClientCredentialsProvider(fetcher, **self._cache_settings(options))
        if isinstance(token, str):
            return SyncStaticTokenProvider(token)
        if inspect.iscoroutinefunction(token) or inspect.iscoroutinefunction(type(token).__call__):
            raise errors.async_token_callable()
        return SyncCallableTokenProvider(token)  # type: ignore[arg-type]

    _signers = (SyncBearerAuth, SyncPipeline)

    def check_usable(self) -> None:
        if self.closed:
            raise errors.closed_client()

    def run(self, options: CallOptions, operation: object, /, *args: Any, **kwargs: Any) -> Outcome:
        self.check_usable()
        return self.pipeline.run(options, operation, *args, **kwargs)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.http.close()


@dataclasses.dataclass(frozen=True)
class _NetworkKind:
    """What one client takes as its network: the caller's client or transport, or our pool."""

    client: str
    caller_client: type[httpx2.AsyncClient] | type[httpx2.Client]
    transport: type[httpx2.AsyncBaseTransport] | type[httpx2.BaseTransport]
    wrap_caller: Callable[..., Any]
    own_pool: Callable[..., Any]


# Both clients' own pool is httpx2's.
_ASYNC = _NetworkKind(
    "MoniteClient",
    httpx2.AsyncClient,
    httpx2.AsyncBaseTransport,
    CallerClientTransport,
    httpx2.AsyncHTTPTransport,
)
_BLOCKING = _NetworkKind(
    "MoniteSyncClient", httpx2.Client, httpx2.BaseTransport, SyncCallerClientTransport, ForkSafeHTTPTransport
)


def _network(kind: _NetworkKind, transport: object, http_client: object, limits: httpx2.Limits) -> Any:
    if transport is not None and http_client is not None:
        raise ConfigurationError("pass transport or http_client, not both")
    if http_client is not None:
        if not isinstance(http_client, kind.caller_client):
            raise ConfigurationError(
                f"{kind.client}'s http_client must be an httpx2.{kind.caller_client.__name__}"
            )
        return kind.wrap_caller(http_client, user_agent=USER_AGENT)
    if transport is not None:
        if not isinstance(transport, kind.transport):
            raise ConfigurationError(f"{kind.client}'s transport must be an httpx2.{kind.transport.__name__}")
        return transport
    return kind.own_pool(limits=limits)


def network_transport(
    transport: httpx2.AsyncBaseTransport | None, http_client: httpx2.AsyncClient | None, limits: httpx2.Limits
) -> httpx2.AsyncBaseTransport:
    """What sends under the retry layer: the caller's client, the caller's transport, or our pool."""
    network: httpx2.AsyncBaseTransport = _network(_ASYNC, transport, http_client, limits)
    return network


def sync_network_transport(
    transport: httpx2.BaseTransport | None, http_client: httpx2.Client | None, limits: httpx2.Limits
) -> httpx2.BaseTransport:
    """`network_transport` for the blocking client: an httpx2.Client or httpx2.BaseTransport."""
    network: httpx2.BaseTransport = _network(_BLOCKING, transport, http_client, limits)
    return network


def connection_slots(transport: object, limits: httpx2.Limits) -> int:
    """How many requests may be on the wire at once: the pool's connection limit."""
    given = getattr(transport, "limits", None)
    chosen = given if isinstance(given, httpx2.Limits) else limits
    return chosen.max_connections if chosen.max_connections is not None else 100
