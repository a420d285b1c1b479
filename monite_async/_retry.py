"""Retries as an httpx2 transport wrapper: transient failures are re-sent below the auth flow.

What is retried, as the anchors (Stainless, azure-core) have it: HTTP 408, 429 and every
5xx but 501 (Not Implemented) and 505 (HTTP Version Not Supported), so a CDN's 520-530 is
retried; connection errors and timeouts (also while the body is read: the send gate below
reads every answer whole). Never another status, and never a TLS failure (a wrong scheme
or an untrusted certificate stays wrong). A failure that outlasts the retries goes up as
httpx2's own exception (the pipeline maps it), the attempts counted on the request's state.

`max_retries` counts retries after the first attempt (the call's own, from
`with_options`, else the client's). Waits grow exponentially with jitter up to a cap, and
a server's `Retry-After` (seconds or an HTTP date) or `retry-after-ms` is a floor: never
retry earlier than asked; a 429's wait holds every request of the client. When the server
asks for longer than `RetryPolicy.max_retry_after`, or the wait would pass the call's
deadline, there is no retry: the last answer (or failure) goes up now and becomes an error
that carries the wait. Each attempt's timeout is shrunk to the time the deadline leaves.

Because this sits under the auth flow, a 401 passes straight up to it, and the token
request itself is retried by the same rules.

In tests, make every wait instant (the waits are still logged, with their length):

    import monite_async
    monite_async.set_testing(True)

or give one client its own sleep to record the waits:

    waits = []
    async def record(seconds: float) -> None:
        waits.append(seconds)
    MoniteClient(..., retry_policy=RetryPolicy(sleep=record))
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import httpx2

from ._answers import parse_retry_after
from ._drive import drive, drive_blocking
from ._errors import ConfigurationError
from ._rate_limit import RateLimitHold, RateWindow
from ._request_state import RequestState, finish, request_state
from ._tracing import Tracing
from ._transports import CLOSED_TEXT, NEVER_SENT, DeadlinePassed, TLSError, plain_transport_error
from ._waits import is_testing, set_testing, wait, wait_blocking

__all__ = [
    "ATTEMPT",
    "RetryPolicy",
    "RetryRules",
    "RetryTransport",
    "SyncRetryTransport",
    "is_retryable_status",
    "is_testing",
    "set_testing",
]

_logger = logging.getLogger("monite_async")

# Failures no retry can fix: a wrong scheme or an untrusted certificate; a request httpx2
# refuses to write (a bad header name) or a scheme it does not speak; and the client's own
# hold (a Retry-After or spent rate window that outlasts the call's deadline), or its deadline.
_PERMANENT = (TLSError, RateLimitHold, DeadlinePassed, httpx2.LocalProtocolError, httpx2.UnsupportedProtocol)

# 501 and 505 say the server will never do this; every other 5xx may pass.
_PERMANENT_5XX = frozenset({501, 505})


def is_retryable_status(status: int) -> bool:
    """Whether an answer with `status` is worth sending again.

    >>> [code for code in (408, 429, 500, 501, 503, 505, 520, 404) if is_retryable_status(code)]
    [408, 429, 500, 503, 520]
    """
    return status in (408, 429) or (500 <= status <= 599 and status not in _PERMANENT_5XX)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How long to wait between attempts.

    Attributes:
        initial_backoff: wait before the first retry, in seconds, before jitter.
        max_backoff: cap of the exponential wait (the server's Retry-After may exceed it).
        jitter: fraction of each wait removed at random (0 = none, 1 = "full jitter").
        max_retry_after: the longest server-requested wait honoured; longer means no retry.
        sleep: how to wait: an async function for MoniteClient, a plain one for
            MoniteSyncClient; None means `anyio.sleep` or `time.sleep` (instant under
            `set_testing(True)`).
    """

    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    sleep: Callable[[float], Awaitable[None] | None] | None = None

    def __post_init__(self) -> None:
        for name in ("initial_backoff", "max_backoff", "max_retry_after", "jitter"):
            value = getattr(self, name)
            # NaN would slip past every comparison below and turn each wait into a surprise.
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigurationError(f"RetryPolicy.{name} must be a finite number; got {value!r:.40}")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise ConfigurationError("RetryPolicy waits must not be negative")
        if not 0 <= self.jitter <= 1:
            raise ConfigurationError("RetryPolicy.jitter must be between 0 and 1")
        if self.sleep is not None and not callable(self.sleep):
            raise ConfigurationError("RetryPolicy.sleep must be an async callable taking seconds, or None")

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (1-based), jitter applied."""
        base = min(self.max_backoff, self.initial_backoff * 2.0 ** max(0, attempt - 1))
        # Jitter spreads clients that failed together; not a security use of randomness.
        return base * (1 - self.jitter * random.random())  # noqa: S311


class Attempt:
    """The step of a retry flow that sends the request once more (see `RetryRules.flow`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ATTEMPT"


ATTEMPT = Attempt()

# What one attempt ends in: an answer, or a transport failure (plain, nothing chained).
AttemptOutcome = httpx2.Response | httpx2.TransportError


class RetryRules:
    """What to retry and how long to wait: the logic of both retry transports, no I/O."""

    def __init__(
        self,
        *,
        max_retries: int = 2,
        policy: RetryPolicy | None = None,
        window: RateWindow | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._tracing = tracing if tracing is not None else Tracing()
        self.max_retries = max_retries
        self.policy = policy if policy is not None else RetryPolicy()
        self._window = window  # a 429's Retry-After holds it: every request of the client waits
        self.closed = False

    def flow(
        self, request: httpx2.Request
    ) -> Generator[Attempt | float, AttemptOutcome | None, httpx2.Response]:
        """Yields ATTEMPT (send once more; sent its outcome) or seconds to wait; returns the
        final answer or raises the final failure."""
        state = request_state(request)
        max_retries = self.max_retries if state.max_retries is None else state.max_retries
        state.attempts = 0
        while True:
            state.attempts += 1
            if self.closed:
                # The client was closed while this request was in flight (a replay after a
                # refresh, or a retry): never send through a closed client.
                raise RuntimeError(CLOSED_TEXT)
            _shrink_timeout(request, state)
            outcome = yield ATTEMPT
            assert outcome is not None  # the drivers send every attempt's outcome
            if self.closed and not isinstance(outcome, httpx2.Response):
                raise RuntimeError(CLOSED_TEXT)  # the pool was closed under this attempt
            delay = self._next_wait(request, state, outcome, max_retries)
            if delay is None:
                if isinstance(outcome, httpx2.Response):
                    return finish(request, outcome)
                raise outcome  # raised here, outside any except block: nothing chained
            if isinstance(outcome, httpx2.Response) and isinstance(outcome.stream, httpx2.SyncByteStream):
                outcome.close()  # read whole already (the send gate): nothing goes back to the pool
            self._announce_wait(request, state.attempts, max_retries, delay, outcome)
            yield delay
            # Its own wait covered the Retry-After: the hold it set is for the other requests.
            state.waited_out_hold = isinstance(outcome, httpx2.Response) and outcome.status_code == 429

    def _next_wait(
        self,
        request: httpx2.Request,
        state: RequestState,
        outcome: AttemptOutcome,
        max_retries: int,
    ) -> float | None:
        """How long to wait before the next attempt; None: no next attempt, `outcome` goes up."""
        status = outcome.status_code if isinstance(outcome, httpx2.Response) else None
        if status is not None and not is_retryable_status(status):
            return None  # most answers: nothing to parse, nothing to wait for
        asked = parse_retry_after(outcome.headers) if isinstance(outcome, httpx2.Response) else None
        if status == 429 and self._window is not None:
            # Never longer than the client would wait for one call. A longer ask fails that
            # call with its Retry-After (below), and the others at once while the hold lasts:
            # held, each would wait out its whole deadline and then fail all the same.
            hold = asked if asked is not None else self.policy.backoff(state.attempts)
            longest = self.policy.max_retry_after
            self._window.hold(min(hold, longest), refuse=hold > longest)
        if isinstance(outcome, _PERMANENT) or state.attempts > max_retries:
            return None  # sending it again cannot help (see _PERMANENT)
        if asked is not None and asked > self.policy.max_retry_after:
            self._log_no_retry(
                request, state, status, asked, f"more than the {self.policy.max_retry_after:.3f} s allowed"
            )
            return None
        delay = max(self.policy.backoff(state.attempts), asked or 0.0)
        if time.monotonic() + delay >= state.deadline_at:
            self._log_no_retry(
                request, state, status, delay, "past the call's deadline", type(outcome).__name__
            )
            return None
        # Going to retry: did the failed attempt leave unknown whether Monite acted on it?
        if status is None:
            state.uncertain = state.uncertain or not isinstance(outcome, NEVER_SENT)
        elif status not in (408, 429):  # a 5xx may come after Monite (or the service behind it) acted
            state.uncertain = True
        return delay

    def _log_no_retry(
        self,
        request: httpx2.Request,
        state: RequestState,
        status: int | None,
        wait: float,
        why: str,
        what: str = "a connection failure",
    ) -> None:
        _logger.info(
            "Not retrying %s %s after %s: the wait of %.3f s is %s",
            request.method,
            request.url.path,
            f"HTTP {status}" if status is not None else what,
            wait,
            why,
            extra={"monite_attempt": state.attempts, "monite_status": status, "monite_retry_after": wait},
        )

    def _announce_wait(
        self,
        request: httpx2.Request,
        attempt: int,
        max_retries: int,
        delay: float,
        outcome: AttemptOutcome,
    ) -> None:
        status = outcome.status_code if isinstance(outcome, httpx2.Response) else None
        error = None if isinstance(outcome, httpx2.Response) else type(outcome).__name__
        cause = f"HTTP {status}" if status is not None else error
        _logger.info(
            "Retrying %s %s after %s (attempt %d of %d failed); waiting %.3f s",
            request.method,
            request.url.path,
            cause,
            attempt,
            max_retries + 1,
            delay,
            extra={
                "monite_attempt": attempt,
                "monite_status": status,
                "monite_error": error,
                "monite_delay": delay,
                "monite_method": request.method,
                "monite_path": request.url.path,
            },
        )
        state = request_state(request)
        if state.traced:
            self._tracing.waiting(operation=state.operation, delay=delay, reason=str(cause))


class RetryTransport(httpx2.AsyncBaseTransport):
    """Wrap `transport`, re-sending transient failures up to `max_retries` times."""

    def __init__(self, transport: httpx2.AsyncBaseTransport, rules: RetryRules) -> None:
        self._transport = transport
        self.rules = rules

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        async def carry_out(step: Attempt | float) -> AttemptOutcome | None:
            if isinstance(step, Attempt):
                return await self._attempt(request)
            await wait(step, self.rules.policy.sleep)
            return None

        return await drive(self.rules.flow(request), carry_out)

    async def _attempt(self, request: httpx2.Request) -> AttemptOutcome:
        """One send; a failure is returned (plain, nothing chained), not raised."""
        try:
            return await self._transport.handle_async_request(request)
        except httpx2.TransportError as exc:
            # httpx2's exception holds the request and its headers (a token): it must be
            # neither __cause__ nor __context__ of what goes up.
            return plain_transport_error(exc, request)

    async def aclose(self) -> None:
        self.rules.closed = True
        await self._transport.aclose()


class SyncRetryTransport(httpx2.BaseTransport):
    """`RetryTransport` for the blocking client: the same rules; the thread sleeps."""

    def __init__(self, transport: httpx2.BaseTransport, rules: RetryRules) -> None:
        self._transport = transport
        self.rules = rules

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        def carry_out(step: Attempt | float) -> AttemptOutcome | None:
            if isinstance(step, Attempt):
                return self._attempt(request)
            wait_blocking(step, self.rules.policy.sleep)
            return None

        return drive_blocking(self.rules.flow(request), carry_out)

    def _attempt(self, request: httpx2.Request) -> AttemptOutcome:
        try:
            return self._transport.handle_request(request)
        except httpx2.TransportError as exc:
            return plain_transport_error(exc, request)  # plain, as in RetryTransport._attempt

    def close(self) -> None:
        self.rules.closed = True
        self._transport.close()


_DEADLINE_MARGIN = 0.05


def _shrink_timeout(request: httpx2.Request, state: RequestState) -> None:
    """Give this attempt no more time than the call's deadline leaves."""
    if state.deadline_at == math.inf:
        return
    timeouts = request.extensions.get("timeout")
    if not isinstance(timeouts, dict):
        return
    if state.timeout is None:
        state.timeout = dict(timeouts)  # the call's own, before any shrinking
    # A little less than what is left: the attempt's own timeout, a typed failure of that
    # attempt, should end it before the deadline's cancel scope has to.
    left = max(0.001, state.deadline_at - time.monotonic() - _DEADLINE_MARGIN)
    shrunk: dict[str, Any] = {
        name: left if value is None else min(value, left) for name, value in state.timeout.items()
    }
    request.extensions["timeout"] = shrunk
