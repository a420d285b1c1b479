"""Bearer tokens as an `httpx.Auth` flow: fetched lazily, refreshed early, refreshed once.

Monite has no refresh grant: a "refresh" is asking `POST /auth/token` again. The flow:

1. Before a request, take the cached token; if it is missing or inside its refresh margin
   (min(300 s, 10 % of its lifetime) before expiry), fetch one under a lock, so any number
   of concurrent callers cause exactly one token request.
2. If the answer says the token is stale (401; or 400/403 whose message says the token
   expired, was revoked or was not found), read and close that answer first (its pooled
   connection must go back before we wait for anything), forget the token only if it is
   still the one that failed, get a fresh one (again once for everyone), replay once.
3. A second rejection goes up and becomes AuthenticationError.

A token request that fails (bad credentials, Monite down after retries) fails every caller
that was waiting for it, with its error: one request, not one per caller. An early refresh
that fails while the cached token has not expired (and Monite did not refuse it) keeps that
token instead, logs a WARNING, and is tried again after min(30 s, half the time left). Cancellation
anywhere just propagates: the lock is released by `async with`, the cache is only written
once a token has fully arrived, and the next waiter simply asks again.
"""

from __future__ import annotations

import collections
import inspect
import logging
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import Protocol, TypeGuard

import anyio
import httpx

from ._answers import is_stale_token
from ._errors import ConfigurationError, fresh_copy
from ._request_state import request_state
from ._token import Token

__all__ = [
    "BearerAuth",
    "CallableTokenProvider",
    "ClientCredentialsProvider",
    "IssuedToken",
    "StaticTokenProvider",
    "Token",
    "TokenProvider",
    "is_valid_token",
]

_logger = logging.getLogger("monite_async")

# What an Authorization header can carry: printable ASCII. Monite's tokens are plain
# base64-like strings; this only refuses what would break or smuggle into the header
# (CR/LF and other control characters) or cannot be encoded in it (non-ASCII).
_TOKEN_SHAPE = re.compile(r"[\x20-\x7e]+")


def is_valid_token(value: object) -> TypeGuard[str]:
    """True if `value` can be sent as a bearer token."""
    return isinstance(value, str) and bool(value.strip()) and _TOKEN_SHAPE.fullmatch(value) is not None


class IssuedToken:
    """What a token fetch returns: the value and its lifetime in seconds (None: unknown)."""

    __slots__ = ("expires_in", "value")

    value: str
    expires_in: float | None

    def __init__(self, value: str, expires_in: float | None) -> None:
        self.value = value
        self.expires_in = expires_in

    def __repr__(self) -> str:
        return f"IssuedToken(<redacted>, expires_in={self.expires_in!r})"


class TokenProvider(Protocol):
    """Where BearerAuth gets tokens from."""

    @property
    def generation(self) -> int:
        """How many token fetches have ended so far (0 for providers that never fetch)."""
        ...

    async def get(self, since: int | None = None) -> Token:
        """A token to use now, for a request whose call began at fetch generation `since`."""
        ...

    async def replace(self, failed: Token) -> Token | None:
        """`failed` was rejected: a different token to replay with, or None if there is none."""
        ...

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or errors (token, client secret)."""
        ...


class ClientCredentialsProvider:
    """Tokens from the client-credentials grant, cached and refreshed once for all callers.

    `fetch` performs `POST /auth/token` and returns an IssuedToken; `clock` is monotonic time.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[IssuedToken]],
        *,
        client_secret: str,
        max_margin: float = 300.0,
        margin_fraction: float = 0.1,
        max_refresh_pause: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        on_fetch: Callable[[str], None] | None = None,
    ) -> None:
        self._fetch = fetch
        self._on_fetch = on_fetch  # told the reason of each token fetched (a metrics counter)
        self._client_secret = client_secret
        self._max_margin = max_margin
        self._margin_fraction = margin_fraction
        self._max_refresh_pause = max_refresh_pause
        self._clock = clock
        self._token: Token | None = None
        # After a failed early refresh the cached token (still valid) serves until then.
        self._refresh_paused_until = float("-inf")
        # Recent values, so an error body echoing a just-replaced token is still redacted.
        self._recent: collections.deque[str] = collections.deque(maxlen=4)
        # Created on first use, inside the running event loop (asyncio or trio), which it belongs to.
        self._lock: anyio.Lock | None = None
        self._fetches_ended = 0  # fetches that completed or failed (not cancelled ones)
        self._last_failure: Exception | None = None
        self._token_generation = 0  # the fetch generation the cached token came from
        self._token_has_lifetime = True

    def __repr__(self) -> str:
        return f"ClientCredentialsProvider(cached={self._token is not None})"

    @property
    def cached(self) -> Token | None:
        return self._token

    def _get_lock(self) -> anyio.Lock:
        if self._lock is None:
            self._lock = anyio.Lock()
        return self._lock

    def _usable(self, token: Token | None) -> bool:
        if token is None:
            return False
        now = self._clock()
        return now < token.refresh_at or (now < self._refresh_paused_until and now < token.expires_at)

    @property
    def generation(self) -> int:
        return self._fetches_ended

    async def get(self, since: int | None = None) -> Token:
        token = self._token
        if token is not None and (self._usable(token) or self._arrived_while_waiting(since)):
            return token
        attempt_seen = self._fetches_ended
        async with self._get_lock():
            # Another caller may have refreshed while we waited: "once" means once.
            token = self._token
            if token is not None and (self._usable(token) or self._fetched_since(attempt_seen)):
                return token
            self._raise_shared_failure(attempt_seen)
            if token is None:
                return await self._refresh_locked("no token yet")
            return await self._refresh_locked("the token is due for refresh", still_valid=token)

    async def replace(self, failed: Token) -> Token | None:
        attempt_seen = self._fetches_ended
        async with self._get_lock():
            if self._token is failed:
                self._token = None  # forget it only if nobody replaced it already
            token = self._token
            if token is not None and (self._usable(token) or self._fetched_since(attempt_seen)):
                return token
            self._raise_shared_failure(attempt_seen)
            return await self._refresh_locked("Monite refused the token")

    def _arrived_while_waiting(self, since: int | None) -> bool:
        # A token with no usable lifetime is due the moment it arrives. A call that was
        # already waiting (in the queue for a connection, say) when it arrived may use it:
        # else every wave of queued requests would fetch its own, and "once" would be one
        # fetch per wave. A token that has a lifetime is refreshed as usual once it is due.
        return (
            since is not None
            and not self._token_has_lifetime
            and self._token_generation > since
            and self._last_failure is None
        )

    def _fetched_since(self, attempt_seen: int) -> bool:
        # A fetch ended while we waited and it succeeded: its token is the fresh one, whatever
        # its refresh_at (a token without a usable lifetime is due the moment it arrives, and
        # every waiter re-fetching in turn would make "once" one fetch per caller).
        return self._fetches_ended != attempt_seen and self._last_failure is None

    def _raise_shared_failure(self, attempt_seen: int) -> None:
        # A fetch ended while we waited and it failed: share its error instead of asking
        # again, so a failing token endpoint gets one (retried) request, not one per caller.
        # A cancelled fetch records nothing: the next waiter simply fetches.
        if self._fetches_ended != attempt_seen and self._last_failure is not None:
            raise fresh_copy(self._last_failure)  # each waiter its own: no shared traceback

    def forget(self, token: Token) -> None:
        """Drop `token` from the cache if it is still the cached one (after a revoke)."""
        if self._token is token:
            self._token = None

    async def _refresh_locked(self, reason: str, *, still_valid: Token | None = None) -> Token:
        """Fetch a token (the lock is held). `still_valid`: the cached token, when this is an
        early refresh (never after a rejection): kept, if not yet expired, should the fetch fail."""
        started = self._clock()
        try:
            issued = await self._fetch()
        except Exception as exc:  # not BaseException: a cancelled fetch records nothing
            self._fetches_ended += 1
            now = self._clock()
            if still_valid is not None and now < still_valid.expires_at:
                return self._keep_after_failed_refresh(still_valid, exc, now)
            self._last_failure = exc
            raise
        self._fetches_ended += 1
        self._last_failure = None
        self._refresh_paused_until = float("-inf")
        lifetime = issued.expires_in
        if lifetime is None or lifetime <= 0:
            # Unknown or already over: use it for the requests waiting now (see _fetched_since),
            # fetch anew for the next caller.
            token = Token(issued.value, expires_at=started, refresh_at=started)
        else:
            # Count the lifetime from before the request was sent: the server's clock started
            # ticking no later than that. Refresh early: a token used at the last instant can
            # expire in flight.
            margin = min(self._max_margin, self._margin_fraction * lifetime)
            token = Token(issued.value, expires_at=started + lifetime, refresh_at=started + lifetime - margin)
        self._token = token
        if self._on_fetch is not None:
            self._on_fetch(reason)
        self._token_generation = self._fetches_ended
        self._token_has_lifetime = lifetime is not None and lifetime > 0
        self._recent.append(token.value)
        # Says why and for how long; never the token itself.
        _logger.info(
            "Fetched a Monite access token (%s); valid for %s, refreshed %s before it expires",
            reason,
            "an unknown time" if lifetime is None or lifetime <= 0 else f"{lifetime:.0f} s",
            f"{token.expires_at - token.refresh_at:.3g} s",
            extra={"monite_token_reason": reason, "monite_token_lifetime": lifetime},
        )
        return token

    def _keep_after_failed_refresh(self, token: Token, failure: Exception, now: float) -> Token:
        # The refresh was early: the token has time left. Failing every call now would turn a
        # token-endpoint outage into a full one. Keep it, and pause refreshing (half the time
        # left, at most max_refresh_pause) so the outage costs one fetch, not one per caller.
        remaining = token.expires_at - now
        pause = min(self._max_refresh_pause, remaining / 2)
        self._refresh_paused_until = now + pause
        self._last_failure = None  # nothing to share: waiters take the kept token
        status = getattr(failure, "status_code", None)
        # Names the failure, never its text: only type and status, no body, no token.
        _logger.warning(
            "Could not refresh the Monite access token (%s%s); using the current one, valid "
            "%.0f s more, and trying again in %.0f s",
            type(failure).__name__,
            f", HTTP {status}" if status is not None else "",
            remaining,
            pause,
            extra={"monite_token_remaining": remaining, "monite_refresh_pause": pause},
        )
        return token

    def secrets(self) -> list[str]:
        return [self._client_secret, *self._recent]


class StaticTokenProvider:
    """One fixed token, managed by the application; a rejection cannot be fixed here."""

    def __init__(self, token: str) -> None:
        self._token = Token(token, expires_at=float("inf"), refresh_at=float("inf"))

    def __repr__(self) -> str:
        return "StaticTokenProvider(<redacted>)"

    @property
    def generation(self) -> int:
        return 0

    async def get(self, since: int | None = None) -> Token:
        return self._token

    async def replace(self, failed: Token) -> Token | None:
        return None

    def secrets(self) -> list[str]:
        return [self._token.value]


class CallableTokenProvider:
    """Tokens from an application's async callable, awaited before every request.

    The application caches; after a rejection the callable is awaited once more and the
    request replayed if it returned a different token.
    """

    def __init__(self, get_token: Callable[[], Awaitable[str] | str]) -> None:
        self._get_token = get_token
        self._recent: list[str] = []

    def __repr__(self) -> str:
        return "CallableTokenProvider(<redacted>)"

    async def _call(self) -> Token:
        failure: Exception | None = None
        try:
            produced: object = self._get_token()
            # A plain function returning a str works too (Monite's own SDK takes sync callables).
            value = await produced if inspect.isawaitable(produced) else produced
        except Exception as exc:  # the app's own failure (a vault sealed, say): named, chained
            failure = exc
        if failure is not None:
            raise ConfigurationError(
                f"the token callable raised {type(failure).__name__}; no request was sent"
            ) from failure
        if not is_valid_token(value):
            raise ConfigurationError(
                "the token callable must return a non-empty str of printable ASCII characters"
            )
        self._recent = [value, *[v for v in self._recent if v != value]][:4]
        return Token(value, expires_at=float("inf"), refresh_at=float("inf"))

    @property
    def generation(self) -> int:
        return 0

    async def get(self, since: int | None = None) -> Token:
        return await self._call()

    async def replace(self, failed: Token) -> Token | None:
        token = await self._call()
        return None if token.value == failed.value else token

    def secrets(self) -> list[str]:
        return list(self._recent)


class BearerAuth(httpx.Auth):
    """The bearer-token flow: marks a request as secured, signs it when it is sent, and
    replays it once after a stale-token answer.

    Signing happens in `sign`, which the send gate calls right before each attempt goes
    out, not here when the request starts: a request that then waits (for a connection,
    the rate window, a retry) would otherwise carry a token that may go stale meanwhile.
    """

    def __init__(self, provider: TokenProvider) -> None:
        self.provider = provider

    def __repr__(self) -> str:
        return f"BearerAuth({self.provider!r})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("monite_async is async-only: use httpx.AsyncClient")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        state = request_state(request)
        state.sign = True
        state.generation = self.provider.generation
        response = yield request

        if response.status_code not in (400, 401, 403):
            return
        # Read (and so close) the answer BEFORE waiting for the refresh lock: a caller that
        # holds an unread answer holds a pooled connection the refresh may need.
        try:
            await response.aread()
        finally:
            await response.aclose()
        if not is_stale_token(response) or state.token is None:  # the body is parsed once, kept
            return
        fresh = await self.provider.replace(state.token)
        if fresh is None:
            return  # nothing better to offer: the rejection goes up as AuthenticationError
        state.replacement = fresh
        yield request  # signed again when sent: with `fresh`

    async def sign(self, request: httpx.Request) -> None:
        """Put the token on `request` now (the send gate calls this as the attempt goes out)."""
        state = request_state(request)
        token, state.replacement = state.replacement, None
        if token is None:
            token = await self.provider.get(since=state.generation)
        request.headers["Authorization"] = f"Bearer {token.value}"
        state.token = token
