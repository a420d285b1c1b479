"""The one flow of a call, top to bottom, written once for both clients.

    admit -> take a slot -> sign -> send -> classify -> wait or replay

until an answer, a typed error, or the deadline:

- *admit*: Monite's rate window and a 429's client-wide hold (`_http.rate.RateWindow`),
  then the opt-in pacer; a request that would wait past its deadline is refused here.
- *take a slot*: one of `limits.max_connections`, so requests wait here, unsigned, never
  in the HTTP library's pool.
- *sign*: the token, taken as the request goes out (a request that waited must not carry
  a token that went stale meanwhile); fetched or refreshed here when due, as a step of this
  same flow (`_fetch`), once for every caller waiting.
- *send*: the driver sends and reads the answer whole (`drive.AsyncIO`, `drive.BlockingIO`).
- *classify*: a stale-token answer is replayed once with a new token; a transient failure
  is retried after a wait (`_http.retry.next_wait`); anything else is the answer or a
  typed error (`failures`, the one place failures become `MoniteError`s).

The deadline is decided here alone: every step carries it (`until`) and the driver bounds
the step's I/O by it; attempts' timeouts shrink to what it leaves. The flow is a generator
that yields its I/O (`steps`), the shape of httpx's `Auth.auth_flow`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
import types
import uuid
from collections.abc import Generator
from typing import Any

import httpx2
from monite_generated.api.access_tokens import post_auth_token

from .._auth.tokens import (
    AppTokens,
    CredentialsCache,
    IssuedToken,
    Token,
    TokenSource,
    issued_token,
    token_request_body,
)
from .._errors import (
    AuthenticationError,
    ConfigurationError,
    MoniteError,
    UnexpectedResponseError,
)
from .._http.answers import REDACT_EXTENSION, is_stale_token, parse_retry_after, request_id
from .._http.rate import RATE_HEADERS, Pacer, RateLimitHold, RateWindow, parse_rate_limit
from .._http.retry import Attempts, RetryPolicy, next_wait
from .._http.transports import DeadlinePassed
from .._observability.tracing import Tracing
from . import failures as errors
from .drive import AsyncPrimitive, ThreadPrimitive
from .operations import operation_name
from .options import CallOptions
from .request import Outcome as Parsed
from .request import Target, build, parse
from .steps import TIMED_OUT, Call, Send, Sleep, Step
from .versioning import VERSION_HEADER, warn_of_version

__all__ = ["Flow"]

_logger = logging.getLogger("monite_async")

Gen = Generator[Step, Any, Any]

# A little less than what the deadline leaves: an attempt's own timeout (a typed failure of
# that attempt) should end it before the driver's bound on the step has to.
_DEADLINE_MARGIN = 0.05

# The fleet's fetch lock lives this long (a process that died holding it frees it then); the
# others ask for the token this often while it is held.
_FLEET_LOCK_TTL = 30.0
_FLEET_POLL = 0.05

# What the flow reads of every answer: the rate limit, and the version Monite served.
_WATCHED = frozenset(name.encode() for name in RATE_HEADERS | {VERSION_HEADER})


@dataclasses.dataclass(slots=True, eq=False)  # eq=False: hashed by identity (a slot's holder)
class _Exchange:
    """One call's request and where it stands."""

    request: httpx2.Request
    operation: str
    attempts: Attempts
    secured: bool
    queued: bool  # takes a slot and is paced (the token request, which slot holders await, is not)
    traced: bool
    options: CallOptions  # the call's own (its api_version, its deadline)
    template: str = ""
    generation: int = 0  # the token source's fetch count when the call began
    token: Token | None = None  # what the last send was signed with
    replacement: Token | None = None  # fetched after a refusal, for the replay
    hold_served: bool = False  # this request waited out its own 429's hold already
    replayed: bool = False  # sent again once already after a refused token
    timeout: dict[str, Any] = dataclasses.field(default_factory=dict)  # the call's own, never changed


@dataclasses.dataclass(eq=False, kw_only=True, repr=False)  # its own repr: nothing secret
class Flow:
    """Runs generated operations: everything a client and its views share but the I/O."""

    target: Target
    options: CallOptions  # the client's own: the token request runs with them
    tokens: TokenSource
    credentials: tuple[uuid.UUID, str] | None
    slots: AsyncPrimitive | ThreadPrimitive  # the client's send slots (`limits.max_connections`)
    policy: RetryPolicy
    window: RateWindow
    pacer: Pacer | None
    tracing: Tracing
    # The fleet's token and rate budget on Redis (`_redis.SharedState`, or its blocking
    # twin), asked at the admit and sign steps; None: this process alone.
    shared: Any = None
    closed: bool = False
    redactor: errors.Redactor = dataclasses.field(init=False)
    version_warned: bool = False  # Monite served another API version than asked: said once

    def __post_init__(self) -> None:
        self.redactor = errors.Redactor(self.tokens.secrets)

    def __repr__(self) -> str:
        return f"Flow(base_url={str(self.target.base_url)!r}, {self.window!r})"

    # -- one call ---------------------------------------------------------------------------

    def call(
        self,
        options: CallOptions,
        module: types.ModuleType,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        budget_at: float = math.inf,
    ) -> Generator[Step, Any, Parsed]:
        """Run `module(*args, **kwargs)` with `options`, within `options.deadline` (and
        `budget_at`, a monotonic time that a resource method's calls share)."""
        name = operation_name(module)
        with self.tracing.operation(name, api_version=options.api_version) as traced:
            started = time.monotonic()
            request = build(self.target, module, name, (args, kwargs or {}), options, self.redactor)
            x = _Exchange(
                request,
                name,
                Attempts(options.max_retries, min(budget_at, started + options.deadline)),
                # Whether the spec secures the operation (`REQUIRES_AUTH`, which our template of the
                # generator writes into every operation module; a module without it is taken as secured).
                secured=bool(getattr(module, "REQUIRES_AUTH", True)),
                queued=module is not post_auth_token,
                traced=traced.span is not None or self.tracing.metered(),
                options=options,
                timeout=request.extensions["timeout"],
            )
            if x.traced:
                # The path below the base URL's, as the spec writes it (/mailbox_domains/{domain_id}):
                # `PATH`, which our template of the generator writes into every operation module.
                x.template = str(getattr(module, "PATH", ""))
            x.generation = self.tokens.begin() if x.secured else 0
            try:
                response = yield from self._exchange(x)
            finally:
                if x.secured:
                    self.tokens.end(x.generation)
            if traced.span is not None:  # every call comes here: read the id only for a span
                traced.answered(attempts=x.attempts.sends, request_id=request_id(response))
            response.extensions[errors.ATTEMPTS_EXTENSION] = max(1, x.attempts.sends)
            if not 200 <= response.status_code < 300:
                raise errors.from_response(
                    response, operation=name, redactor=self.redactor, uncertain=x.attempts.uncertain
                )
            parsed = parse(module, name, response, self.redactor)
            return Parsed(parsed, response, max(1, x.attempts.sends), time.monotonic() - started)

    def _exchange(self, x: _Exchange) -> Gen:
        """Attempts until an answer to return (any status) or a failure to raise, typed."""
        while True:
            outcome = yield from self._attempt(x)
            answered = isinstance(outcome, httpx2.Response)
            if answered:
                outcome.extensions[REDACT_EXTENSION] = self.redactor.text  # for every reader of its id
                _log_answer(x, outcome)
                if outcome.status_code == 429:
                    yield from self._hold(x, outcome)
                elif self.shared is not None:
                    yield from self._tell_the_fleet(outcome)
                # Monite refused the token (a 401, or a 400/403 that says it is stale)? Only a
                # signed request has a token.
                if not x.replayed and x.token is not None and is_stale_token(outcome):
                    x.replayed = True
                    if self.shared is not None:  # the fleet's token (a fleet has client credentials)
                        yield Call(self.shared.discard, (x.token.value,))  # only if still that one
                    x.replacement = yield from self._token(x, failed=x.token)
                    if x.replacement is not None:
                        continue  # replayed once, with the new token, and no wait
            delay = next_wait(self.policy, x.attempts, outcome, x.request)
            if delay is None:
                if answered:
                    return outcome
                raise self._failure(outcome, x)
            if x.traced:
                reason = f"HTTP {outcome.status_code}" if answered else type(outcome).__name__
                self.tracing.waiting(operation=x.operation, delay=delay, reason=reason)
            yield Sleep(delay)
            # Its own wait covered its Retry-After: the hold it set is for the other requests.
            x.hold_served = answered and outcome.status_code == 429

    def _attempt(self, x: _Exchange) -> Gen:
        """Admit, take a slot, sign and send once: the answer or the plain failure."""
        if self.closed:
            raise errors.closed_in_flight()
        # Nothing learned of the window yet: admit after the token arrives (its answer teaches it).
        blind = x.secured and not self.window.known
        # Whether the client's own rate window admitted this attempt: tell it its end.
        windowed = False if blind else (yield from self._admit(x))
        rate = None
        try:
            if x.queued and self.pacer is not None:
                for pause in self.pacer.pauses():
                    yield Sleep(pause.seconds, real=True)
            if x.queued:
                yield from self._take_slot(x)
            if x.secured:
                yield from self._sign(x)
            if blind:
                windowed = yield from self._admit(x, sign=True)
            # The client may have been closed while this request waited (a slot, a token):
            # the transport itself would send anyway (httpx2's pool opens a new connection).
            if self.closed:
                raise errors.closed_in_flight()
            _shrink_timeout(x)
            x.attempts.sends += 1
            if not x.traced:
                outcome = yield Send(x.request, x.attempts.deadline_at)
            else:
                resends = x.attempts.sends - 1
                with self.tracing.attempt(x.request, template=x.template, resends=resends) as traced:
                    outcome = yield Send(x.request, x.attempts.deadline_at)
                    if isinstance(outcome, httpx2.Response):
                        traced.status = outcome.status_code
            if isinstance(outcome, httpx2.Response):
                said = {  # one pass over the raw headers: decoding them all costs more
                    key.decode(): value.decode("latin-1")
                    for name, value in outcome.headers.raw
                    if (key := name.lower()) in _WATCHED
                }
                rate = parse_rate_limit(said)
                echoed = said.get(VERSION_HEADER)
                if echoed != x.options.api_version and not self.version_warned:
                    self.version_warned = warn_of_version(echoed, x.request)
        finally:
            self.slots.release(x)  # whatever x holds: nothing if it took no slot
            if windowed:
                self.window.done(rate)
        return outcome

    def _admit(self, x: _Exchange, *, sign: bool = False) -> Generator[Step, Any, bool]:
        """The rate window's waits (and its 429 hold's); whether the client's own window
        admitted the request (not the fleet's). With a fleet, its budget on Redis decides, and
        the client's own window only while Redis is away.

        `sign`: after each wait, sign again before asking for the unit, so that a token due
        meanwhile is fetched (or waited for) before the unit, not between the unit and the
        send: a unit counts from when Redis gives it, and requests that each waited for the
        fleet's fetch after their unit reached Monite together, past the limit."""
        served, x.hold_served = x.hold_served, False  # a hold served counts for one admission
        try:
            while self.shared is not None:
                wait = yield Call(self.shared.take, (), x.attempts.deadline_at)
                if not isinstance(wait, int | float):
                    break  # Redis is away (None): this process's own window, until it is back
                if wait <= 0:
                    return False
                if time.monotonic() + wait >= x.attempts.deadline_at:
                    raise RateLimitHold(
                        f"the fleet's rate budget has no room for {wait:.3f} s, longer than the "
                        "call's deadline leaves",
                        retry_after=wait,
                    )
                yield Sleep(wait, real=True)
                if sign:
                    yield from self._sign(x)
            for pause in self.window.admission(x.attempts.deadline_at, hold_served=served):
                yield Sleep(pause.seconds, real=not pause.hold)
                if sign:
                    yield from self._sign(x)  # that wait may have outlasted the token
        except RateLimitHold as hold:
            raise self._failure(hold, x) from None
        return True

    def _take_slot(self, x: _Exchange) -> Gen:
        if self.slots.take(x):
            return  # free: no step (nearly every request)
        pool = x.timeout["pool"]  # the pool timeout: how long a request waits for a slot
        if not (yield Call(self.slots.acquire, (x, min(pool, x.attempts.deadline_at - time.monotonic())))):
            if pool < x.attempts.deadline_at - time.monotonic():
                failure = httpx2.PoolTimeout("no connection slot came free within the pool timeout")
                raise self._failure(failure, x)
            raise errors.deadline_passed(x.operation, x.options.deadline, x.attempts.sends)

    def _tell_the_fleet(self, response: httpx2.Response) -> Gen:
        """Monite's own count, told to every process when it runs low (it counts what other
        clients of the API client sent too); a 429's hold is told instead (`_hold`)."""
        rate = parse_rate_limit(response.headers)
        if rate is None or not rate.limit or rate.remaining is None:
            return
        if rate.remaining <= rate.limit // 4:
            yield Call(self.shared.learn, (rate.limit, rate.remaining, rate.reset_after))

    def _hold(self, x: _Exchange, response: httpx2.Response) -> Gen:
        """A 429 holds every request of the client, and with a fleet every process's (never
        longer than a call would wait: a longer ask refuses the others at once while it lasts)."""
        asked = parse_retry_after(response.headers)
        hold = asked if asked is not None else self.policy.backoff(x.attempts.throttled + 1)
        longest = self.policy.max_retry_after
        self.window.hold(min(hold, longest), refuse=hold > longest)
        if self.shared is not None:
            yield Call(self.shared.hold, (min(hold, longest),))

    def _failure(self, failure: Exception, x: _Exchange) -> MoniteError:
        if self.closed:
            return errors.closed_in_flight()  # whatever the send met: the client was closed under it
        if isinstance(failure, DeadlinePassed):
            return errors.deadline_passed(x.operation, x.options.deadline, x.attempts.sends)
        return errors.from_send_failure(
            failure,
            request=x.request,
            operation=x.operation,
            attempts=x.attempts.sends,
            redactor=self.redactor,
        )

    # -- sign -------------------------------------------------------------------------------

    def _sign(self, x: _Exchange) -> Gen:
        """Put the token on the request now."""
        token, x.replacement = x.replacement, None
        if token is None or not self.tokens.current(token):
            token = yield from self._token(x)
        x.request.headers["Authorization"] = f"Bearer {token.value}"
        x.token = token

    def _token(self, x: _Exchange, failed: Token | None = None) -> Gen:
        """The token to sign with; after Monite refused `failed`, a different one or None."""
        tokens = self.tokens
        if isinstance(tokens, AppTokens):
            try:
                value = yield Call(tokens.get_token, (), x.attempts.deadline_at)
            except Exception as exc:  # the app's own failure (a vault sealed, say): named, chained
                raise ConfigurationError(
                    f"the token callable raised {type(exc).__name__}; no request was sent"
                ) from exc
            if value is TIMED_OUT:
                raise errors.deadline_passed(x.operation, x.options.deadline, x.attempts.sends)
            given = tokens.accepted(value)
            return None if failed is not None and given.value == failed.value else given
        token = tokens.ready(x.generation) if failed is None else None
        if token is not None or not isinstance(tokens, CredentialsCache):
            return token  # a fixed token is ready, and a refusal cannot be fixed
        seen = tokens.generation
        try:
            if not (yield Call(tokens.lock.acquire, (x, x.attempts.deadline_at - time.monotonic()))):
                raise errors.deadline_passed(x.operation, x.options.deadline, x.attempts.sends)
            plan = tokens.plan(x.generation, seen, failed)
            if isinstance(plan, Token):
                return plan
            return (yield from self._fetch(x, tokens, plan))
        finally:
            tokens.lock.release(x)

    def _fetch(self, x: _Exchange, tokens: CredentialsCache, plan: str) -> Gen:
        """The token request (`POST /auth/token`), with the lock held, under the client's own
        options and no longer than the call that needs it; its end is told to the cache. With
        a fleet, a token another process fetched is taken instead, and one process fetches
        while the others wait for it."""
        fence = None
        if self.shared is not None:
            fence = yield from self._fleet_token(x, tokens)
            if isinstance(fence, IssuedToken):
                return tokens.fetched(plan, fence, tokens.clock() - fence.elapsed)
        started = tokens.clock()
        issued = yield from self._request_token(x.attempts.deadline_at)
        if isinstance(issued, Exception):
            if fence is not None:
                yield Call(self.shared.release, (fence,))
            return tokens.failed(issued)
        if fence is not None:  # stored for the fleet (one that is over already: the lock released)
            yield Call(self.shared.store, (issued.value, issued.expires_in, fence))
        return tokens.fetched(plan, issued, started)

    def _fleet_token(self, x: _Exchange, tokens: CredentialsCache) -> Gen:
        """A fresh token from the fleet (an IssuedToken), or the fence of the fetch this process
        is to run (None: Redis is away, fetch alone). While another process holds the fetch
        lock, wait for its token, no longer than the lock lives or the call's deadline."""
        until = x.attempts.deadline_at
        fence = None
        while True:
            found = yield Call(self.shared.token, (), until)
            if found is not None and found is not TIMED_OUT and found.left > tokens.margin(found.lifetime):
                if fence is not None:  # stored by another process just before we locked
                    yield Call(self.shared.release, (fence,))
                return IssuedToken(found.value, found.lifetime, elapsed=found.lifetime - found.left)
            if fence is not None:
                return fence  # locked, and still no fresh token: this process fetches
            fence = yield Call(self.shared.lock, (_FLEET_LOCK_TTL,), until)
            if fence is None or fence is TIMED_OUT:
                return None  # Redis is away: fetch alone
            if fence == "held":
                fence = None
                if time.monotonic() + _FLEET_POLL >= until:
                    raise errors.deadline_passed("post_auth_token", x.options.deadline, 0)
                yield Sleep(_FLEET_POLL, real=True)
            # Locked: look once more (double-checked), for a token stored between our look and our lock.

    def _request_token(self, until: float) -> Generator[Step, Any, IssuedToken | Exception]:
        """The token request's token, or its failure: returned, not raised, so that raising it
        later chains nothing to it, and no frame of this one, which holds the answer, is in
        its traceback (error trackers keep locals)."""
        assert self.credentials is not None
        body = token_request_body(*self.credentials)
        try:
            outcome: Parsed = yield from self.call(
                self.options, post_auth_token, kwargs={"body": body}, budget_at=until
            )
        except Exception as exc:  # not BaseException: a cancelled fetch records nothing
            # Refused credentials (`failures.from_response` made the refusal so), or a success
            # the parser refused (its body holds a token nobody knows to redact yet, so the error
            # carries none): no traceback either, whose frames hold the request or its answer.
            refused = isinstance(exc, AuthenticationError)
            if refused or (isinstance(exc, UnexpectedResponseError) and 200 <= exc.status_code < 300):
                return exc.with_traceback(None)
            return exc
        issued = issued_token(outcome.parsed)
        if isinstance(issued, str):
            return errors.bad_token_answer(outcome.response, issued)
        return issued


def _shrink_timeout(x: _Exchange) -> None:
    """Give this attempt no more time than the call's deadline leaves. Nearly every first
    attempt's timeout ends before it already, and is sent as it is; one shrunk before is shrunk
    again (what the deadline leaves only gets shorter)."""
    # The deadline and every part of the timeout are finite (`check_deadline`, `check_timeout`).
    left = max(0.001, x.attempts.deadline_at - time.monotonic() - _DEADLINE_MARGIN)
    if max(x.timeout.values()) > left:
        x.request.extensions["timeout"] = {name: min(value, left) for name, value in x.timeout.items()}


def _log_answer(x: _Exchange, response: httpx2.Response) -> None:
    if not _logger.isEnabledFor(logging.DEBUG):  # every answer comes here: build nothing unasked
        return
    rid = request_id(response)
    _logger.debug(
        "%s %s -> HTTP %d (%s, attempt %d, request id %s)",
        x.request.method,
        x.request.url.path,
        response.status_code,
        x.operation,
        x.attempts.sends,
        rid,
        extra={
            "monite_operation": x.operation,
            "monite_status": response.status_code,
            "monite_attempts": x.attempts.sends,
            "monite_request_id": rid,
        },
    )
