"""Bearer tokens as an `httpx2.Auth` flow: fetched lazily, refreshed early, refreshed once.

Monite has no refresh grant: a "refresh" is asking `POST /auth/token` again. The flow:

1. Before a request, take the cached token; if it is missing or inside its refresh margin
   (min(300 s, 10 % of its lifetime) before expiry), fetch one under a lock, so any number
   of concurrent callers cause exactly one token request.
2. If the answer says the token is stale (401; or 400/403 whose message says the token
   expired, was revoked or was not found), read and close that answer first (its pooled
   connection must go back before we wait for anything), forget the token only if it is
   still the one that failed, get a fresh one (again once for everyone), replay once.
3. A second rejection goes up and becomes AuthenticationError.

A token request that fails with the token endpoint's own answer (bad credentials; Monite
down after the fetch's retries) fails every caller that was waiting for it, with its error:
one request, not one per caller. The fetch runs under the client's own options, not the
budget of the call that happened to need the token; each caller's wait for it is bounded by
its own deadline. A fetch that ran out of time (perhaps only the fetching call's time) or
was cancelled records nothing, and the next waiter fetches itself. An early refresh
that fails while the cached token has not expired (and Monite did not refuse it) keeps that
token instead, logs a WARNING, and is tried again after min(30 s, half the time left). Cancellation
anywhere just propagates: the lock is released by `async with`, the cache is only written
once a token has fully arrived, and the next waiter simply asks again.

The async client and the blocking one (`MoniteSyncClient`) share this logic: what is due
and which token failed is decided by `_CredentialsCache` and `_BearerFlow`; their
subclasses only lock (an anyio lock, or a thread lock), fetch and read.
"""

from __future__ import annotations

import collections
import dataclasses
import inspect
import logging
import math
import re
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import Any, Protocol, TypeGuard

import anyio
import httpx2

from ._answers import is_stale_token
from ._drive import Run
from ._errors import ConfigurationError, MoniteAPIError, MoniteConnectionError, MoniteTimeoutError, fresh_copy
from ._forks import on_fork_in_child
from ._request_state import RequestState, request_state
from ._retry import is_retryable_status
from ._token import Token
from ._transports import DeadlinePassed

__all__ = [
    "BearerAuth",
    "CallableTokenProvider",
    "ClientCredentialsProvider",
    "IssuedToken",
    "StaticTokenProvider",
    "SyncBearerAuth",
    "SyncCallableTokenProvider",
    "SyncClientCredentialsProvider",
    "SyncStaticTokenProvider",
    "SyncTokenProvider",
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


class _Provider(Protocol):
    @property
    def generation(self) -> int:
        """How many token fetches have ended so far (0 for providers that never fetch)."""
        ...

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or errors (token, client secret)."""
        ...

    def current(self, token: Token) -> bool:
        """Whether `token`, handed out earlier, may still be sent now (before its refresh point)."""
        ...


class TokenProvider(_Provider, Protocol):
    """Where BearerAuth gets tokens from."""

    async def get(self, since: int | None = None, deadline_at: float = math.inf) -> Token:
        """A token to use now, for a request whose call began at fetch generation `since`."""
        ...

    async def replace(
        self, failed: Token, since: int | None = None, deadline_at: float = math.inf
    ) -> Token | None:
        """`failed` was rejected: a different token to replay with, or None if there is none."""
        ...


class SyncTokenProvider(_Provider, Protocol):
    """Where SyncBearerAuth gets tokens from: `TokenProvider`, blocking. `deadline_at`
    bounds the wait for another thread's fetch, and this thread's own (a thread cannot be
    cancelled)."""

    def get(self, since: int | None = None, deadline_at: float = math.inf) -> Token: ...

    def replace(
        self, failed: Token, since: int | None = None, deadline_at: float = math.inf
    ) -> Token | None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class _Refresh:
    """What a caller holding the lock must do: fetch, for `reason` (`still_valid`: see
    `_CredentialsCache._failed`)."""

    reason: str
    still_valid: Token | None = None


class _CredentialsCache:
    """The client-credentials token cache: what is due, what to share; no lock and no I/O.

    Its two subclasses hold the lock around `_get_locked`/`_replace_locked` and the fetch
    a `_Refresh` asks for, and report the fetch's end with `_fetched` or `_failed`.
    """

    def __init__(
        self,
        *,
        client_secret: str,
        max_margin: float = 300.0,
        margin_fraction: float = 0.1,
        max_refresh_pause: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        on_fetch: Callable[[str], None] | None = None,
        fetch_attempts: int = 1,
    ) -> None:
        self._on_fetch = on_fetch  # told the reason of each token fetched (a metrics counter)
        self._fetch_attempts = fetch_attempts  # a fetch's whole series: its attempt and its retries
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
        # Fetches that completed, or failed with an answer every waiter may share (see _shared).
        self._fetches_ended = 0
        self._last_failure: Exception | None = None
        self._token_generation = 0  # the fetch generation the cached token came from
        self._token_has_lifetime = True

    def __repr__(self) -> str:
        return f"{type(self).__name__}(cached={self._token is not None})"

    @property
    def cached(self) -> Token | None:
        return self._token

    @property
    def generation(self) -> int:
        return self._fetches_ended

    def current(self, token: Token) -> bool:
        return self._clock() < token.refresh_at

    def _usable(self, token: Token | None) -> bool:
        if token is None:
            return False
        now = self._clock()
        return now < token.refresh_at or (now < self._refresh_paused_until and now < token.expires_at)

    def _unlocked(self, since: int | None) -> Token | None:
        """The cached token if it serves without the lock (most calls), else None."""
        token = self._token
        if token is not None and (self._usable(token) or self._arrived_while_waiting(since)):
            return token
        return None

    def _seen(self, since: int | None) -> tuple[int, int]:
        """Where the fetches stand for a caller about to wait for the lock: the count now (a
        token fetched after it serves this caller, due or not), and when its call began, at
        `since` (a definite failure ended after that is shared with it: the calls queued for
        a connection while a fetch failed began before it ended, and get its answer)."""
        attempt_seen = self._fetches_ended
        return attempt_seen, attempt_seen if since is None else min(since, attempt_seen)

    def _get_locked(self, attempt_seen: int, began: int) -> Token | _Refresh:
        # Another caller may have refreshed while we waited: "once" means once.
        token = self._token
        if token is not None and (self._usable(token) or self._fetched_since(attempt_seen)):
            return token
        self._raise_shared_failure(began)
        if token is None:
            return _Refresh("no token yet")
        return _Refresh("the token is due for refresh", still_valid=token)

    def _replace_locked(self, failed: Token, attempt_seen: int, began: int) -> Token | _Refresh:
        if self._token is failed:
            self._token = None  # forget it only if nobody replaced it already
        token = self._token
        if token is not None and (self._usable(token) or self._fetched_since(attempt_seen)):
            return token
        self._raise_shared_failure(began)
        return _Refresh("Monite refused the token")

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

    def _raise_shared_failure(self, began: int) -> None:
        # A fetch ended after this call began and it failed: share its error instead of asking
        # again, so a failing token endpoint gets one (retried) request, not one per caller
        # (nor one per wave of callers let through the connection slots).
        # A cancelled fetch records nothing: the next waiter simply fetches.
        if self._fetches_ended != began and self._last_failure is not None:
            raise fresh_copy(self._last_failure)  # each waiter its own: no shared traceback

    def forget(self, token: Token) -> None:
        """Drop `token` from the cache if it is still the cached one (after a revoke)."""
        if self._token is token:
            self._token = None

    def _failed(self, refresh: _Refresh, failure: Exception) -> Token:
        """A fetch (the lock held) raised `failure`: keep `refresh.still_valid` if it has not
        expired (an early refresh, never one after a rejection), else raise `failure`, and
        share it with the callers waiting for this fetch only if it is the endpoint's answer."""
        now = self._clock()
        if refresh.still_valid is not None and now < refresh.still_valid.expires_at:
            self._fetches_ended += 1
            return self._keep_after_failed_refresh(refresh.still_valid, failure, now)
        if _shared(failure, self._fetch_attempts):
            self._fetches_ended += 1
            self._last_failure = failure
        # Else nothing is recorded, as for a cancelled fetch: the next waiter fetches itself.
        raise failure

    def _fetched(self, refresh: _Refresh, issued: IssuedToken, started: float) -> Token:
        """A fetch (the lock held), begun at `started`, returned `issued`: cache and return it."""
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
            self._on_fetch(refresh.reason)
        self._token_generation = self._fetches_ended
        self._token_has_lifetime = lifetime is not None and lifetime > 0
        self._recent.append(token.value)
        # Says why and for how long; never the token itself.
        _logger.info(
            "Fetched a Monite access token (%s); valid for %s, refreshed %s before it expires",
            refresh.reason,
            "an unknown time" if lifetime is None or lifetime <= 0 else f"{lifetime:.0f} s",
            f"{token.expires_at - token.refresh_at:.3g} s",
            extra={"monite_token_reason": refresh.reason, "monite_token_lifetime": lifetime},
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


def _shared(failure: Exception, series: int) -> bool:
    """Whether a token fetch's `failure` is the token endpoint's own answer, which every
    caller waiting for that fetch is given (else the next one fetches again).

    Credentials refused, a malformed answer: yes. A 5xx, a 429 or a lost connection: only
    after the fetch's whole `series` of attempts, not when a deadline cut its retries short.
    Running out of time: never, for that may be the fetching call's time alone.
    """
    if isinstance(failure, MoniteTimeoutError | DeadlinePassed):
        return False
    status = failure.status_code if isinstance(failure, MoniteAPIError) else None
    if isinstance(failure, MoniteConnectionError) or (status is not None and is_retryable_status(status)):
        return getattr(failure, "attempts", 0) >= series
    return True


class ClientCredentialsProvider(_CredentialsCache):
    """Tokens from the client-credentials grant, cached and refreshed once for all callers.

    `fetch` performs `POST /auth/token` and returns an IssuedToken; `clock` is monotonic time.
    """

    def __init__(self, fetch: Callable[[], Awaitable[IssuedToken]], **cache: Any) -> None:
        super().__init__(**cache)
        self._fetch = fetch
        # Created on first use, inside the running event loop (asyncio or trio), which it belongs to.
        self._lock: anyio.Lock | None = None

    def _get_lock(self) -> anyio.Lock:
        if self._lock is None:
            self._lock = anyio.Lock()
        return self._lock

    async def get(self, since: int | None = None, deadline_at: float = math.inf) -> Token:
        token = self._unlocked(since)
        if token is not None:
            return token
        seen = self._seen(since)
        # The call's own cancel scope bounds this wait, and the fetch if this call runs it:
        # cancelled, it records nothing, and the next waiter fetches.
        async with self._get_lock():
            return await self._settle(self._get_locked(*seen))

    async def replace(
        self, failed: Token, since: int | None = None, deadline_at: float = math.inf
    ) -> Token | None:
        seen = self._seen(since)
        async with self._get_lock():  # bounded by the call's cancel scope, as in `get`
            return await self._settle(self._replace_locked(failed, *seen))

    async def _settle(self, plan: Token | _Refresh) -> Token:
        if isinstance(plan, Token):
            return plan
        started = self._clock()
        try:
            issued = await self._fetch()  # the client's own options, not this call's budget
        except Exception as exc:  # not BaseException: a cancelled fetch records nothing
            return self._failed(plan, exc)
        return self._fetched(plan, issued, started)


class SyncClientCredentialsProvider(_CredentialsCache):
    """`ClientCredentialsProvider` for the blocking client: a thread lock, a blocking fetch.

    However many threads find the token due, one fetches; the others wait on the lock (no
    longer than their call's deadline) and take its token, or its failure (see `_shared`).
    A thread cannot be cancelled: the fetching thread's attempts shrink to its own deadline,
    and a fetch that runs out of that time fails that thread alone.
    """

    def __init__(self, fetch: Callable[[float], IssuedToken], **cache: Any) -> None:
        super().__init__(**cache)
        self._fetch = fetch
        self._lock = threading.Lock()
        on_fork_in_child(self._start_over)

    def _start_over(self) -> None:
        # In a forked child: a fetch the parent's other thread had under way is not coming.
        self._lock = threading.Lock()

    def get(self, since: int | None = None, deadline_at: float = math.inf) -> Token:
        token = self._unlocked(since)
        if token is not None:
            return token
        seen = self._seen(since)
        with self._locked(deadline_at):
            return self._settle(self._get_locked(*seen), deadline_at)

    def replace(self, failed: Token, since: int | None = None, deadline_at: float = math.inf) -> Token | None:
        seen = self._seen(since)
        with self._locked(deadline_at):
            return self._settle(self._replace_locked(failed, *seen), deadline_at)

    def _locked(self, deadline_at: float) -> _HeldLock:
        return _HeldLock(self._lock, deadline_at)

    def _settle(self, plan: Token | _Refresh, deadline_at: float) -> Token:
        if isinstance(plan, Token):
            return plan
        started = self._clock()
        try:
            issued = self._fetch(deadline_at)  # the client's own options, within this thread's deadline
        except Exception as exc:
            return self._failed(plan, exc)
        return self._fetched(plan, issued, started)


class _HeldLock:
    """Takes `lock` on entering the `with` block, waiting no longer than `deadline_at`
    (DeadlinePassed), and releases it on leaving.

    The acquire is the last thing `__enter__` does, and `__exit__` owns the lock from
    there: no line of Python runs between the two, so an exception raised in between (a
    KeyboardInterrupt from a signal handler) cannot leave the lock held for good.
    """

    __slots__ = ("_deadline_at", "_lock")

    def __init__(self, lock: threading.Lock, deadline_at: float) -> None:
        self._lock = lock
        self._deadline_at = deadline_at

    def __enter__(self) -> None:
        left = self._deadline_at - time.monotonic()
        if not self._lock.acquire(timeout=max(0.0, left) if math.isfinite(left) else -1):
            raise DeadlinePassed("the call's deadline passed while another thread fetched the token")

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class _StaticToken:
    """One fixed token, managed by the application; a rejection cannot be fixed here."""

    def __init__(self, token: str) -> None:
        self._token = Token(token, expires_at=float("inf"), refresh_at=float("inf"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"

    @property
    def generation(self) -> int:
        return 0

    def current(self, token: Token) -> bool:
        return True  # the application's token: never refreshed here

    def secrets(self) -> list[str]:
        return [self._token.value]


class StaticTokenProvider(_StaticToken):
    async def get(self, since: int | None = None, deadline_at: float = math.inf) -> Token:
        return self._token

    async def replace(
        self, failed: Token, since: int | None = None, deadline_at: float = math.inf
    ) -> Token | None:
        return None


class SyncStaticTokenProvider(_StaticToken):
    def get(self, since: int | None = None, deadline_at: float = math.inf) -> Token:
        return self._token

    def replace(self, failed: Token, since: int | None = None, deadline_at: float = math.inf) -> Token | None:
        return None


class _TokenCallable:
    """Tokens from an application's callable, called before every request.

    The application caches; after a rejection the callable is called once more and the
    request replayed if it returned a different token.
    """

    def __init__(self, get_token: Callable[[], Any]) -> None:
        self._get_token = get_token
        self._recent: list[str] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"

    @property
    def generation(self) -> int:
        return 0

    def current(self, token: Token) -> bool:
        return True  # the application caches and refreshes its own tokens

    def secrets(self) -> list[str]:
        return list(self._recent)

    def _produced(self) -> tuple[object, Exception | None]:
        try:
            return self._get_token(), None
        except Exception as exc:  # the app's own failure (a vault sealed, say): named, chained
            return None, exc

    def _accepted(self, value: object, failure: Exception | None) -> Token:
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

    @staticmethod
    def _differs(token: Token, failed: Token) -> Token | None:
        return None if token.value == failed.value else token


class CallableTokenProvider(_TokenCallable):
    """Tokens from an async callable (or a plain one: Monite's own SDK takes sync callables)."""

    async def _call(self) -> Token:
        produced, failure = self._produced()
        if failure is None and inspect.isawaitable(produced):
            try:
                produced = await produced
            except Exception as exc:
                failure = exc
        return self._accepted(produced, failure)

    async def get(self, since: int | None = None, deadline_at: float = math.inf) -> Token:
        return await self._call()

    async def replace(
        self, failed: Token, since: int | None = None, deadline_at: float = math.inf
    ) -> Token | None:
        return self._differs(await self._call(), failed)


class SyncCallableTokenProvider(_TokenCallable):
    """Tokens from a plain callable, for the blocking client (an async one is refused when
    the client is made: there is no event loop to await it in)."""

    def get(self, since: int | None = None, deadline_at: float = math.inf) -> Token:
        return self._accepted(*self._produced())

    def replace(self, failed: Token, since: int | None = None, deadline_at: float = math.inf) -> Token | None:
        return self._differs(self.get(), failed)


# An answer with one of these may say the token was refused (see is_stale_token).
_REFUSALS = (400, 401, 403)


@dataclasses.dataclass(frozen=True, slots=True)
class _Read:
    """Read (and so close) this refusal whole, BEFORE waiting for the refresh lock: a caller
    that holds an unread answer holds a pooled connection the refresh may need."""

    response: httpx2.Response


@dataclasses.dataclass(frozen=True, slots=True)
class _Replace:
    """`failed` was refused: a replacement from the provider (or None) is sent back, waited
    for no longer than the call's deadline (`deadline_at`), for a call begun at `since`."""

    failed: Token
    since: int
    deadline_at: float


class _BearerFlow(httpx2.Auth):
    """The bearer-token flow: marks a request as secured (the send gate signs it when it
    goes out), and replays it once after a stale-token answer.

    Signing happens in `sign`, which the send gate calls right before each attempt goes
    out, not here when the request starts: a request that then waits (for a connection,
    the rate window, a retry) would otherwise carry a token that may go stale meanwhile.
    """

    provider: _Provider

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.provider!r})"

    def _steps(self, request: httpx2.Request, generation: int) -> Generator[Any, Any, None]:
        state = request_state(request)
        state.sign = True
        state.generation = generation
        response: httpx2.Response = yield request
        if response.status_code not in _REFUSALS:
            return
        yield _Read(response)
        if not is_stale_token(response) or state.token is None:  # the body is parsed once, kept
            return
        fresh = yield _Replace(state.token, state.generation, state.deadline_at)
        if fresh is None:
            return  # nothing better to offer: the rejection goes up as AuthenticationError
        state.replacement = fresh
        yield request  # signed again when sent: with `fresh`, if it is still current then

    def _replacement(self, state: RequestState) -> Token | None:
        """The token fetched for this replay after a refusal, if it may still go out now. A
        replay waits (for a slot, the rate window, the pacer) like any attempt, and a token
        is read the moment its request goes out: past its refresh point, ask the provider."""
        token, state.replacement = state.replacement, None
        return token if token is not None and self.provider.current(token) else None


def _signed(request: httpx2.Request, state: RequestState, token: Token) -> None:
    request.headers["Authorization"] = f"Bearer {token.value}"
    state.token = token


class BearerAuth(_BearerFlow):
    """The bearer-token flow of the async client (see `_BearerFlow`)."""

    provider: TokenProvider

    def __init__(self, provider: TokenProvider) -> None:
        self.provider = provider

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        raise RuntimeError("BearerAuth is the async client's: use SyncBearerAuth with httpx2.Client")

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        run = Run(self._steps(request, self.provider.generation))
        while not run.done:
            if isinstance(run.step, httpx2.Request):
                run.result = yield run.step
            else:
                run.result = await self._carry_out(run.step)
            run.resume()

    async def _carry_out(self, step: _Read | _Replace) -> object:
        if isinstance(step, _Read):
            try:
                return await step.response.aread()
            finally:
                await step.response.aclose()
        return await self.provider.replace(step.failed, since=step.since, deadline_at=step.deadline_at)

    async def sign(self, request: httpx2.Request) -> None:
        """Put the token on `request` now (the send gate calls this as the attempt goes out)."""
        state = request_state(request)
        token = self._replacement(state)
        if token is None:
            token = await self.provider.get(since=state.generation)
        _signed(request, state, token)


class SyncBearerAuth(_BearerFlow):
    """The bearer-token flow of the blocking client (see `_BearerFlow`)."""

    provider: SyncTokenProvider

    def __init__(self, provider: SyncTokenProvider) -> None:
        self.provider = provider

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        run = Run(self._steps(request, self.provider.generation))
        while not run.done:
            if isinstance(run.step, httpx2.Request):
                run.result = yield run.step
            else:
                run.result = self._carry_out(run.step)
            run.resume()

    def _carry_out(self, step: _Read | _Replace) -> object:
        if isinstance(step, _Read):
            try:
                return step.response.read()
            finally:
                step.response.close()
        return self.provider.replace(step.failed, since=step.since, deadline_at=step.deadline_at)

    def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        raise RuntimeError("SyncBearerAuth is the blocking client's: use BearerAuth with httpx2.AsyncClient")

    def sign(self, request: httpx2.Request) -> None:
        """`BearerAuth.sign`, blocking; no longer than the call's deadline for another's fetch."""
        state = request_state(request)
        token = self._replacement(state)
        if token is None:
            token = self.provider.get(since=state.generation, deadline_at=state.deadline_at)
        _signed(request, state, token)
