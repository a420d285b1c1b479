"""Where a request's bearer token comes from: plain helpers the flow asks at its *sign* step.

Three sources, one per way a client is made:
- `CredentialsCache` (client_id/client_secret): Monite has no refresh grant, so a
  "refresh" is asking `POST /auth/token` again. The cache decides when a token is due
  (min(300 s, 10 % of its lifetime) before expiry), which token failed, and what a waiter
  may share; the flow holds `lock` around the decision and runs the token request itself
  (`Flow._fetch`), so any number of concurrent callers cause exactly one token request.
- `StaticToken` (`token="..."`): one fixed token; a refusal cannot be fixed here.
- `AppTokens` (`token=callable`): the application's callable, called before every request.

A token request that fails with the token endpoint's own answer (bad credentials; Monite
down after the fetch's retries) fails every caller that waited for it with its error: one
request, not one per caller. A caller counts as waiting when its call began before the fetch
ended, or began while such calls are still in flight (a thread a moment late to the same
storm): the failure lasts as long as the wave of calls it met, and a call after it asks
again. A fetch that ran out of time or was cancelled records nothing, and the next waiter
fetches.
An early refresh that fails while the cached token has not expired keeps that token, logs a
WARNING and is tried again after min(30 s, half the time left).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeGuard

from monite_generated.models import AccessTokenResponse, GrantType, ObtainTokenPayload

from .._errors import (
    ConfigurationError,
    MoniteAPIError,
    MoniteConnectionError,
    MoniteTimeoutError,
)
from .._http.forks import on_fork_in_child
from .._http.retry import is_retryable_status
from .secret import SecretStr

__all__ = [
    "AppTokens",
    "CredentialsCache",
    "IssuedToken",
    "StaticToken",
    "Token",
    "TokenSource",
    "is_valid_token",
    "issued_token",
    "token_request_body",
]

_logger = logging.getLogger("monite_async")

# What an Authorization header can carry: printable ASCII. This only refuses what would break
# or smuggle into the header (CR/LF, control characters) or cannot be encoded in it.
_TOKEN_SHAPE = re.compile(r"[\x20-\x7e]+")

# The longest token lifetime taken as it is said: a year (see `issued_token`).
_MAX_LIFETIME = 365 * 24 * 3600.0


class Lock(Protocol):
    """The fetch lock: the flow acquires it for a holder (within `patience` seconds: True, or
    False; awaited in the async client) and releases what that holder has."""

    def acquire(self, holder: object, patience: float) -> object: ...

    def release(self, holder: object) -> None: ...


def is_valid_token(value: object) -> TypeGuard[str]:
    """True if `value` can be sent as a bearer token."""
    return isinstance(value, str) and bool(value.strip()) and _TOKEN_SHAPE.fullmatch(value) is not None


@dataclasses.dataclass(slots=True, eq=False)
class Token:
    """A bearer token and when to stop using it. Its repr never shows the value."""

    value: str = dataclasses.field(repr=False)
    _: dataclasses.KW_ONLY
    expires_at: float = math.inf
    refresh_at: float = math.inf


@dataclasses.dataclass(frozen=True, slots=True)
class IssuedToken:
    """What a token request returned: the value and its lifetime in seconds (0 or less: over
    already)."""

    value: str = dataclasses.field(repr=False)  # its repr never shows the value
    expires_in: float
    elapsed: float = 0.0  # of its lifetime already (a token another process of the fleet fetched)


def token_request_body(client_id: uuid.UUID, client_secret: str) -> ObtainTokenPayload:
    return ObtainTokenPayload(
        client_id=client_id, client_secret=client_secret, grant_type=GrantType.CLIENT_CREDENTIALS
    )


def issued_token(parsed: object) -> IssuedToken | str:
    """The token in a token answer, or what makes the answer unusable, in words that quote
    nothing of it."""
    if not isinstance(parsed, AccessTokenResponse):
        return "the body is not an AccessTokenResponse"
    if not is_valid_token(parsed.access_token):
        return "access_token is empty or has characters a bearer token cannot have"
    expires_in: object = parsed.expires_in
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        return f"expires_in is not a number ({type(expires_in).__name__})"
    if expires_in != expires_in:  # NaN, which Python's JSON reader accepts
        return "expires_in is not a number (NaN)"
    # At most a year, so the refresh arithmetic stays finite (a 400-digit integer, JSON's
    # Infinity); compared before float(): that integer overflows a float, min/max are exact.
    lifetime = float(max(-_MAX_LIFETIME, min(expires_in, _MAX_LIFETIME)))
    return IssuedToken(SecretStr(parsed.access_token), lifetime)


class TokenSource:
    """What the flow asks at its sign step (the subclasses say where tokens come from)."""

    # The tokens lately handed out, newest first: an error body echoing a token just
    # replaced is still redacted.
    _recent: Sequence[str] = ()

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or errors (tokens, the client secret)."""
        return list(self._recent)

    def _remember(self, value: str) -> None:
        self._recent = [value, *[v for v in self._recent if v != value]][:4]

    def ready(self, since: int) -> Token | None:
        """A token that serves without the lock (most calls), else None."""
        return None

    def begin(self) -> int:
        """A call begins: the fetch count it began at (its `since`); `end(since)` when it ends."""
        return 0

    def end(self, since: int) -> None:
        return None

    def current(self, token: Token) -> bool:
        """Whether `token`, handed out earlier, may still go out now."""
        return True


class StaticToken(TokenSource):
    """One fixed token, the application's own (the default repr shows nothing of it)."""

    def __init__(self, token: str) -> None:
        self._token = Token(token)
        self._remember(token)

    def ready(self, since: int) -> Token | None:
        return self._token


class AppTokens(TokenSource):
    """Tokens from an application's callable (async or plain), called before every request.

    The application caches; after a refusal the callable is called once more and the
    request replayed if it returned a different token.
    """

    def __init__(self, get_token: Any) -> None:
        self.get_token = get_token

    def accepted(self, value: object) -> Token:
        """The token the callable returned, checked."""
        if not is_valid_token(value):
            raise ConfigurationError(
                "the token callable must return a non-empty str of printable ASCII characters"
            )
        self._remember(value)
        return Token(value)


# A token is refreshed a tenth of its lifetime before it expires, at most five minutes before.
_MAX_MARGIN = 300.0
_MARGIN_FRACTION = 0.1
# How long a failed early refresh pauses refreshing, at most (see `failed`).
_MAX_REFRESH_PAUSE = 30.0


@dataclasses.dataclass(repr=False, eq=False, kw_only=True)  # object's repr: nothing of the secret
class CredentialsCache(TokenSource):
    """The client-credentials token cache: what is due, what to share; no lock and no I/O.

    The flow takes `lock`, asks `plan`, runs the fetch it asks for (for the reason it gives),
    and reports its end with `fetched` or `failed`. `cached` is the token it holds (None: none yet, or
    forgotten).
    """

    client_secret: str
    lock: Lock
    clock: Callable[[], float] = time.monotonic
    on_fetch: Callable[[str], None] = lambda reason: None  # told each fetch's reason (a metric)
    fetch_attempts: int = 1  # a fetch's whole series: its attempt and its retries
    cached: Token | None = dataclasses.field(default=None, init=False)
    # Fetches that completed, or failed with an answer every waiter may share (see `failed`):
    # a call's `since` is this count when it began.
    generation: int = dataclasses.field(default=0, init=False)
    _last_failure: Exception | None = dataclasses.field(default=None, init=False)
    # A token with no usable lifetime serves the calls that began before the fetch count it
    # arrived at (0 for a token with a lifetime: none); see `ready`.
    _serves_before: int = dataclasses.field(default=0, init=False)

    def __post_init__(self) -> None:
        on_fork_in_child(self._start_over_counting)

    def secrets(self) -> list[str]:
        return [self.client_secret, *self._recent]

    def current(self, token: Token) -> bool:
        return self.clock() < token.refresh_at

    def margin(self, lifetime: float) -> float:
        """How long before its expiry a token of `lifetime` seconds is refreshed."""
        return min(_MAX_MARGIN, _MARGIN_FRACTION * lifetime)

    def ready(self, since: int) -> Token | None:
        token = self.cached
        if token is None or self.clock() < token.refresh_at:
            return token
        # A token with no usable lifetime is due the moment it arrives; a call already waiting
        # when it arrived may use it, else every wave of queued requests would fetch its own.
        return token if since < self._serves_before and self._last_failure is None else None

    def _start_over_counting(self) -> None:
        # Calls in flight, by the fetch count when each began: a failure is shared while calls
        # that began before it are still here (see `plan`). Started over in a forked child
        # too: a parent's thread may have held the lock, and the calls it counted are the
        # parent's, not in flight here.
        self._in_flight: dict[int, int] = {}  # a plain dict: a Counter's deletion runs in Python
        # The blocking client's threads begin and end calls at once: a count's read and write
        # are two steps (two threads ending the last calls of a count both deleted it).
        self._counting = threading.Lock()

    def begin(self) -> int:
        with self._counting:
            since = self.generation
            self._in_flight[since] = self._in_flight.get(since, 0) + 1
            return since

    def end(self, since: int) -> None:
        with self._counting:
            left = self._in_flight.pop(since, 1) - 1  # absent: begun before a fork
            if left:
                self._in_flight[since] = left

    def plan(self, since: int, seen: int, refused: Token | None = None) -> Token | str:
        """With the lock held, for a call begun at fetch count `since` that saw `seen` before
        it waited for the lock (a token fetched after that serves it, due or not): the token
        to use, or why a fetch must run. After Monite refused `refused`, forget it only if
        nobody replaced it already."""
        self.forget(refused)
        token = self.cached
        fetched_since = self.generation != seen and self._last_failure is None
        if token is not None and (self.current(token) or fetched_since):
            return token  # another caller refreshed while we waited: "once" means once
        # A fetch failed after this call began, or while calls that began before it are still
        # in flight (the same storm): share its error instead of asking again.
        with self._counting:
            earlier = any(began < self.generation for began in self._in_flight)
        if self._last_failure is not None and (self.generation != since or earlier):
            raise copy.copy(self._last_failure)  # each waiter its own: no shared traceback
        if refused is not None:
            return "Monite refused the token"
        return "no token yet" if token is None else "the token is due for refresh"

    def forget(self, token: Token | None) -> None:
        """Drop `token` if it is still the cached one (after a revoke, a refusal)."""
        if self.cached is token:
            self.cached = None

    def failed(self, failure: Exception) -> Token:
        """The fetch (the lock held) raised `failure`: keep the cached token if it has not
        expired (an early refresh), else raise `failure`, shared with the callers waiting for
        this fetch only if it is the endpoint's answer."""
        now = self.clock()
        token = self.cached  # a refused token is forgotten already (`plan`)
        if token is None or now >= token.expires_at:
            # Shared only if it is the token endpoint's own answer: credentials refused, a
            # malformed answer; a 5xx, a 429 or a lost connection only after the fetch's whole
            # series of attempts (`fetch_attempts`), not when a deadline cut its retries short.
            # Running out of time never is, for that may be the fetching call's time alone.
            # Else the next waiter fetches again.
            transient = isinstance(failure, MoniteConnectionError) or (
                isinstance(failure, MoniteAPIError) and is_retryable_status(failure.status_code)
            )
            if not isinstance(failure, MoniteTimeoutError) and (
                not transient or getattr(failure, "attempts", 0) >= self.fetch_attempts
            ):
                self._ended(failure)
            raise failure
        # The refresh was early: the token has time left. Failing every call now would turn a
        # token-endpoint outage into a full one: keep it, and pause refreshing (half the time
        # left, at most _MAX_REFRESH_PAUSE), so the outage costs one fetch, not one per caller.
        self._ended(None)
        remaining = token.expires_at - now
        pause = min(_MAX_REFRESH_PAUSE, remaining / 2)
        token.refresh_at = now + pause  # before its expiry: it serves until then
        status = getattr(failure, "status_code", None)
        _logger.warning(  # names the failure, never its text: no body, no token
            "Could not refresh the Monite access token (%s%s); using the current one, valid "
            "%.0f s more, and trying again in %.0f s",
            type(failure).__name__,
            f", HTTP {status}" if status is not None else "",
            remaining,
            pause,
            extra={"monite_token_remaining": remaining, "monite_refresh_pause": pause},
        )
        return token

    def _ended(self, failure: Exception | None) -> None:
        """A fetch ended: with a token (None), or with a failure its waiters share."""
        self.generation += 1
        self._last_failure = failure

    def fetched(self, reason: str, issued: IssuedToken, started: float) -> Token:
        """The fetch (the lock held), begun at `started`, returned `issued`: cache and return it.

        Its lifetime counts from before the request was sent (the server's clock started no
        later); one that is over already (0 or less) serves the requests waiting now, then
        the next one fetches anew."""
        self._ended(None)
        lifetime = max(0.0, issued.expires_in)
        expires_at = started + lifetime
        token = Token(issued.value, expires_at=expires_at, refresh_at=expires_at - self.margin(lifetime))
        self.cached = token
        self._serves_before = 0 if lifetime else self.generation
        self._remember(token.value)
        self.on_fetch(reason)
        _logger.info(  # why and for how long; never the token itself
            "Fetched a Monite access token (%s); valid for %s, refreshed %s before it expires",
            reason,
            f"{lifetime:.0f} s" if lifetime else "an unknown time",
            f"{token.expires_at - token.refresh_at:.3g} s",
            extra={"monite_token_reason": reason, "monite_token_lifetime": issued.expires_in},
        )
        return token
