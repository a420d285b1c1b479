"""Retries as an httpx transport wrapper: transient failures are re-sent below the auth flow.

What is retried: HTTP 429, 500, 502, 503, 504, connection errors and timeouts (also while
the body is read: every answer is read whole here); never any other status, and never a
TLS failure (a wrong scheme or an untrusted certificate stays wrong). A failure that
outlasts the retries goes up as httpx's own exception (the pipeline maps it), with the
number of attempts on the request's `ATTEMPTS_EXTENSION`. `max_retries`
counts retries after the first attempt. Waits grow exponentially with jitter up to a cap,
and a server's `Retry-After` (seconds or an HTTP date) or `retry-after-ms` is a floor:
never retry earlier than asked. When the server asks
for longer than `RetryPolicy.max_retry_after`, there is no retry: its answer goes up and
becomes an error that carries the wait.

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

import asyncio
import contextlib
import dataclasses
import logging
import math
import random
from collections.abc import Awaitable, Callable

import httpx

from ._answers import parse_retry_after
from ._errors import ConfigurationError
from ._transports import CLOSED_TEXT, NEVER_SENT, TLSError, plain_transport_error

__all__ = [
    "ATTEMPTS_EXTENSION",
    "RETRYABLE_STATUSES",
    "UNCERTAIN_EXTENSION",
    "RetryPolicy",
    "RetryTransport",
    "is_testing",
    "set_testing",
]

_logger = logging.getLogger("monite_async")

RETRYABLE_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})

# The retry layer tells the layers above, on the request (and on its final response), how
# many times it was sent, and whether an earlier send failed in a way that leaves unknown
# if Monite acted on it; the mailbox-domain resource needs that to recognise a retried
# create that met 409. On the request, so both survive the auth flow replaying it.
ATTEMPTS_EXTENSION = "monite_async.attempts"
UNCERTAIN_EXTENSION = "monite_async.retried_after_uncertain_failure"

_testing = False


def set_testing(testing: bool) -> None:
    """Make every retry wait instant (process-wide) while still logging each wait's length.

    Meant for test suites, in the spirit of `stamina.set_testing`:

        @pytest.fixture(autouse=True)
        def instant_retries():
            monite_async.set_testing(True)
            yield
            monite_async.set_testing(False)
    """
    global _testing
    _testing = testing


def is_testing() -> bool:
    """Whether `set_testing(True)` is in effect."""
    return _testing


@dataclasses.dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How long to wait between attempts.

    Attributes:
        initial_backoff: wait before the first retry, in seconds, before jitter.
        max_backoff: cap of the exponential wait (the server's Retry-After may exceed it).
        jitter: fraction of each wait removed at random (0 = none, 1 = "full jitter").
        max_retry_after: the longest server-requested wait honoured; longer means no retry.
        sleep: how to wait; None means `asyncio.sleep` (instant under `set_testing(True)`).
    """

    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    sleep: Callable[[float], Awaitable[None]] | None = None

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


class RetryTransport(httpx.AsyncBaseTransport):
    """Wrap `transport`, re-sending transient failures up to `max_retries` times."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        *,
        max_retries: int = 2,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._transport = transport
        self.max_retries = max_retries
        self.policy = policy if policy is not None else RetryPolicy()
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            request.extensions[ATTEMPTS_EXTENSION] = attempt
            if self._closed:
                # aclose() ran while this request was in flight (a replay after a refresh,
                # or a retry): never send through a closed client.
                raise RuntimeError(CLOSED_TEXT)
            outcome = await self._attempt(request)
            if not isinstance(outcome, httpx.Response):
                if self._closed:
                    raise RuntimeError(CLOSED_TEXT)  # the pool was closed under this attempt
                if not isinstance(outcome, NEVER_SENT):
                    request.extensions[UNCERTAIN_EXTENSION] = True  # it may have arrived; the answer did not
                if attempt > self.max_retries or isinstance(outcome, TLSError):
                    raise outcome  # TLS: a wrong scheme or an untrusted certificate stays wrong
                await self._wait(request, attempt, self.policy.backoff(attempt), None, type(outcome).__name__)
                continue
            response = outcome
            status = response.status_code
            if status not in RETRYABLE_STATUSES or attempt > self.max_retries:
                return _finish(request, response)
            if status != 429:  # a 5xx may come after Monite (or the service behind a proxy) acted
                request.extensions[UNCERTAIN_EXTENSION] = True
            asked = parse_retry_after(response.headers)
            if asked is not None and asked > self.policy.max_retry_after:
                _logger.info(
                    "Not retrying %s %s: HTTP %d asks to wait %.3f s, more than the %.3f s allowed",
                    request.method,
                    request.url.path,
                    status,
                    asked,
                    self.policy.max_retry_after,
                    extra={"monite_attempt": attempt, "monite_status": status, "monite_retry_after": asked},
                )
                return _finish(request, response)
            await response.aclose()  # read already: its connection is back in the pool
            delay = max(self.policy.backoff(attempt), asked or 0.0)
            await self._wait(request, attempt, delay, status, None)

    async def _attempt(self, request: httpx.Request) -> httpx.Response | httpx.TransportError:
        """One send, the answer read whole; a failure is returned (plain, nothing chained)."""
        try:
            response = await self._transport.handle_async_request(request)
        except httpx.TransportError as exc:
            # Returned, not raised here: httpx's exception holds the request and its headers
            # (a token), and must be neither __cause__ nor __context__ of what goes up.
            return plain_transport_error(exc, request)
        # Read the whole answer here, inside the loop: a connection that drops (or times
        # out) while the body arrives is as transient as one that drops before the status
        # line, and httpx would read it later, past every retry. Monite's bodies are small
        # JSON and nothing above streams them. Reading also gives a retried answer's
        # connection back to the pool before the wait.
        try:
            await _buffer(response)
        except httpx.TransportError as exc:
            failure = plain_transport_error(exc, request)
            await _close_quietly(response)
            return failure
        return response

    async def _wait(
        self, request: httpx.Request, attempt: int, delay: float, status: int | None, error: str | None
    ) -> None:
        cause = f"HTTP {status}" if status is not None else error
        _logger.info(
            "Retrying %s %s after %s (attempt %d of %d failed); waiting %.3f s",
            request.method,
            request.url.path,
            cause,
            attempt,
            self.max_retries + 1,
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
        if self.policy.sleep is not None:
            await self.policy.sleep(delay)
        elif _testing:
            await asyncio.sleep(0)  # still a checkpoint, like a real wait
        else:
            await asyncio.sleep(delay)

    async def aclose(self) -> None:
        self._closed = True
        await self._transport.aclose()


async def _buffer(response: httpx.Response) -> None:
    """Read the answer's bytes off the network now, and leave the response unread.

    The bytes stay as they came (still gzip-encoded, say): httpx decodes them once when it
    reads the response as usual, and times it (`elapsed`) and closes it as it does any
    answer. The same response object goes up, so nothing is copied but the stream.
    """
    stream = response.stream
    if not isinstance(stream, httpx.AsyncByteStream) or isinstance(stream, httpx.ByteStream):
        return  # already in memory (or not an async stream we could read here)
    try:
        body = b"".join([part async for part in stream])
    finally:
        await stream.aclose()  # the connection goes back to the pool
    response.stream = httpx.ByteStream(body)


async def _close_quietly(response: httpx.Response) -> None:
    # The answer is lost already; failing to close it tells nothing more.
    with contextlib.suppress(httpx.TransportError):
        await response.aclose()


def _finish(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    response.extensions[ATTEMPTS_EXTENSION] = request.extensions[ATTEMPTS_EXTENSION]
    response.extensions[UNCERTAIN_EXTENSION] = bool(request.extensions.get(UNCERTAIN_EXTENSION, False))
    return response
