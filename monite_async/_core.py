"""The part of a client that views share: connection pool, token cache, rate window, and
the event loop they all belong to. `MoniteClient` and every `with_options` view of it
hold one `ClientCore`; only the client that built it closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from typing import Any

import httpx
import sniffio

from . import _error_mapping as errors
from ._access_tokens import TokenFetcher
from ._auth import (
    BearerAuth,
    CallableTokenProvider,
    ClientCredentialsProvider,
    StaticTokenProvider,
    TokenProvider,
    is_valid_token,
)
from ._defaults import USER_AGENT
from ._errors import ConfigurationError
from ._gate import SendGate
from ._options import CallOptions
from ._pipeline import Outcome, Pipeline
from ._pool import ConnectionPoolTransport
from ._rate_limit import Pacer, RateWindow
from ._retry import RetryPolicy, RetryTransport
from ._tracing import Tracing
from ._transports import ApiHttpClient, CallerClientTransport, is_asyncio_only
from ._versioning import VERSION_HEADER, VersionEchoWatcher

__all__ = ["ClientCore", "LoopBinding", "connection_slots", "network_transport"]


class LoopBinding:
    """The event loop (an asyncio loop, or a trio run) a client was first used in.

    Pooled connections and locks belong to it; using them from another loop fails in
    obscure ways deep inside httpx, so `check()` refuses that with ClientStateError.
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


class ClientCore:
    """Everything a client and its views share; see the module docstring."""

    def __init__(
        self,
        *,
        base_url: str,
        options: CallOptions,
        token: object,
        credentials: tuple[uuid.UUID, str] | None,
        network: httpx.AsyncBaseTransport,
        connections: int,
        retry_policy: RetryPolicy | None,
        max_requests_per_second: float | None,
        tracing: Tracing,
    ) -> None:
        self.base_url = base_url
        self.tracing = tracing
        self.closed = False
        self.loop = LoopBinding()
        self.asyncio_only = is_asyncio_only(network)
        self.window = RateWindow(hold_sleep=retry_policy.sleep if retry_policy is not None else None)
        self.gate = SendGate(
            network,
            connections=connections,
            window=self.window,
            pacer=None if max_requests_per_second is None else Pacer(max_requests_per_second),
            tracing=tracing,
        )
        self.http = ApiHttpClient(
            base_url=base_url,
            transport=RetryTransport(
                self.gate,
                max_retries=options.max_retries,
                policy=retry_policy,
                window=self.window,
                tracing=tracing,
            ),
            timeout=options.timeout,
            headers={VERSION_HEADER: options.api_version, "User-Agent": USER_AGENT},
            event_hooks={"response": [VersionEchoWatcher()]},
            follow_redirects=False,
        )
        self.credentials = credentials
        self.auth_kind, self.provider = self._token_provider(token, credentials, options)
        auth = BearerAuth(self.provider)
        self.gate.signer = auth.sign
        self.pipeline = Pipeline(self.http, auth=auth, secrets=self.provider.secrets, tracing=tracing)

    def __repr__(self) -> str:
        return f"ClientCore(base_url={self.base_url!r}, auth={self.auth_kind!r}, closed={self.closed})"

    def _token_provider(
        self, token: object, credentials: tuple[uuid.UUID, str] | None, options: CallOptions
    ) -> tuple[str, TokenProvider]:
        """Where tokens come from: a fixed one, an app's callable, or the client-credentials grant."""
        if credentials is not None:
            client_id, secret = credentials

            # The token fetch runs inside a call that has passed the open/loop check already
            # (the one whose request needs a token), with the client's own options.
            async def run(operation: object, /, *args: Any, **kwargs: Any) -> Outcome:
                return await self.pipeline.run(options, operation, *args, **kwargs)

            fetcher = TokenFetcher(run, client_id=client_id, client_secret=secret)
            provider = ClientCredentialsProvider(
                fetcher, client_secret=secret, on_fetch=self.tracing.token_fetched
            )
            return "client credentials", provider
        if isinstance(token, str):
            if not is_valid_token(token):
                raise ConfigurationError("token must be a non-empty str of printable ASCII characters")
            return "static token", StaticTokenProvider(token)
        if callable(token):
            return "token callable", CallableTokenProvider(token)
        raise ConfigurationError("token must be a str or an async callable returning one")

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


def network_transport(
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
    return ConnectionPoolTransport(limits=limits)


def connection_slots(transport: httpx.AsyncBaseTransport | None, limits: httpx.Limits) -> int:
    """How many requests may be on the wire at once: the pool's connection limit."""
    given = getattr(transport, "limits", None)
    chosen = given if isinstance(given, httpx.Limits) else limits
    return chosen.max_connections if chosen.max_connections is not None else 100
