"""What to retry and how long to wait: a plain helper the flow asks after every attempt.

What is retried, as the anchors (Stainless, azure-core) have it: HTTP 408, 429 and every
5xx but 501 (Not Implemented) and 505 (HTTP Version Not Supported), so a CDN's 520-530 is
retried; connection errors and timeouts (also while the body is read). Never another
status, and never a TLS failure (a wrong scheme or an untrusted certificate stays wrong).

`max_retries` counts retries after the first attempt. A 429 is back-pressure, not a
failure: it is waited out (its `Retry-After`, else the backoff) however often it comes,
bounded by the call's deadline alone. Waits grow exponentially with jitter up to a cap, and
a server's `Retry-After` (seconds or an HTTP date) or `retry-after-ms` is a floor: never
retry earlier than asked. When the server asks for longer than
`RetryPolicy.max_retry_after`, or the wait would pass the call's deadline, there is no
retry: the last answer (or failure) becomes an error that carries the wait.

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
from collections.abc import Awaitable, Callable

import httpx2

from .._errors import ConfigurationError
from .answers import parse_retry_after
from .transports import NEVER_SENT, DeadlinePassed, TLSError

__all__ = ["Attempts", "RetryPolicy", "is_retryable_status", "next_wait"]

_logger = logging.getLogger("monite_async")

# Failures no retry can fix: a wrong scheme or an untrusted certificate; a request httpx2
# refuses to write (a bad header name) or a scheme it does not speak; the call's deadline,
# passed while the blocking client waited; a RuntimeError: the client was closed under the
# call. (A rate limit's hold longer than the deadline, RateLimitHold, is never an attempt's
# outcome: the flow raises it before sending.)
_PERMANENT = (
    TLSError,
    DeadlinePassed,
    httpx2.LocalProtocolError,
    httpx2.UnsupportedProtocol,
    RuntimeError,
)


def is_retryable_status(status: int) -> bool:
    """Whether an answer with `status` is worth sending again.

    >>> [code for code in (408, 429, 500, 501, 503, 505, 520, 404) if is_retryable_status(code)]
    [408, 429, 500, 503, 520]
    """
    # 501 and 505 say the server will never do this; every other 5xx may pass.
    return status in (408, 429) or (500 <= status <= 599 and status not in (501, 505))


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

    Example:

        MoniteClient(retry_policy=RetryPolicy(initial_backoff=1.0, max_backoff=20.0))
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
        base = min(self.max_backoff, self.initial_backoff * 2.0 ** max(0, min(attempt, 64) - 1))
        # Jitter spreads clients that failed together; not a security use of randomness.
        return base * (1 - self.jitter * random.random())  # noqa: S311


@dataclasses.dataclass(slots=True)
class Attempts:
    """How one call's attempts went so far (the flow's count; `next_wait` reads it)."""

    max_retries: int
    deadline_at: float
    retries: int = 0  # retries spent after failures (a 429 spends none)
    throttled: int = 0  # 429s waited out
    sends: int = 0  # requests sent in all: what errors and RawResponse report as `attempts`
    uncertain: bool = False  # a failed send may have reached Monite


# What one attempt ends in: an answer, or a transport failure (plain, nothing chained).
Outcome = httpx2.Response | httpx2.TransportError | RuntimeError


def next_wait(
    policy: RetryPolicy, attempts: Attempts, outcome: Outcome, request: httpx2.Request
) -> float | None:
    """How long to wait before the next attempt; None: no next attempt, `outcome` goes up."""
    status = outcome.status_code if isinstance(outcome, httpx2.Response) else None
    if status is not None and not is_retryable_status(status):
        return None  # most answers: nothing to parse, nothing to wait for
    if isinstance(outcome, _PERMANENT):
        return None  # sending it again cannot help
    if status != 429 and attempts.retries >= attempts.max_retries:
        return None
    asked = parse_retry_after(outcome.headers) if isinstance(outcome, httpx2.Response) else None
    what = f"HTTP {status}" if status is not None else type(outcome).__name__
    if asked is not None and asked > policy.max_retry_after:
        _no_retry(request, attempts, what, asked, f"more than the {policy.max_retry_after:.3f} s allowed")
        return None
    tries = attempts.throttled + 1 if status == 429 else attempts.retries + 1
    delay = max(policy.backoff(tries), asked or 0.0)
    if time.monotonic() + delay >= attempts.deadline_at:
        _no_retry(request, attempts, what, delay, "past the call's deadline")
        return None
    # Going to retry: did the failed attempt leave unknown whether Monite acted on it? A 5xx
    # may come after Monite (or the service behind it) acted; a 408 or 429 says it did not.
    attempts.uncertain |= status not in (408, 429) and not isinstance(outcome, NEVER_SENT)
    if status == 429:
        attempts.throttled += 1
    else:
        attempts.retries += 1
    _logger.info(
        "Retrying %s %s after %s (attempt %d of %d failed); waiting %.3f s",
        request.method,
        request.url.path,
        what,
        attempts.sends,
        attempts.max_retries + 1,
        delay,
        extra={
            "monite_attempt": attempts.sends,
            "monite_status": status,
            "monite_error": None if status is not None else what,
            "monite_delay": delay,
            "monite_method": request.method,
            "monite_path": request.url.path,
        },
    )
    return delay


def _no_retry(request: httpx2.Request, attempts: Attempts, what: str, wait: float, why: str) -> None:
    _logger.info(
        "Not retrying %s %s after %s: the wait of %.3f s is %s",
        request.method,
        request.url.path,
        what,
        wait,
        why,
        extra={"monite_attempt": attempts.sends, "monite_retry_after": wait},
    )
