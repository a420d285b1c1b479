"""Monite's rate limit, read from its answers and kept to, for the whole client.

Monite counts requests per API client in a window (30 per second by default) and says so
on every answer: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (and
`X-RateLimit-Limit-Second`, `X-RateLimit-Remaining-Second`). Over it, 429 with
`Retry-After`. `RateWindow` learns the window from those headers and admits at most what
is left until the reset, then at most the limit per window; the other requests wait
instead of spending themselves on 429s. A 429's `Retry-After` holds every request of
the client, not only the one that got it. Before any answer has shown the headers
nothing is known, and everything is admitted.

`Pacer` is the opt-in `max_requests_per_second=`: requests start at most that often.
Both only decide what to wait for (`admission`, `pauses`); the flow's driver waits (anyio
under asyncio and trio alike, where the limiter libraries around, aiolimiter and
asyncio-throttle, are asyncio-only; `time.sleep` in the blocking client's threads).

    >>> parse_rate_limit({"ratelimit-limit": "30", "ratelimit-remaining": "29", "ratelimit-reset": "1"})
    RateLimit(limit=30, remaining=29, reset_after=1.0)
"""

from __future__ import annotations

import collections
import dataclasses
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple, TypeVar

import httpx2

from .forks import on_fork_in_child

__all__ = ["RATE_HEADERS", "Pacer", "RateLimit", "RateLimitHold", "RateWindow", "parse_rate_limit"]

# RateLimit-Reset is delta-seconds in the IETF draft; Monite calls it a timestamp. A value
# this large can only be a Unix time (about 2001-09-09 onwards).
_TIMESTAMP_FLOOR = 1e9
_LEADING_NUMBER = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)")
# When an answer says nothing of the window's length, assume Monite's: one second.
_DEFAULT_WINDOW = 1.0
# No window is taken to be longer than this, whatever an answer says (a clock far off).
_MAX_WINDOW = 60.0
# After the window's reset, wait this much more: our clock and Monite's are not one clock.
_RESET_MARGIN = 0.05
# No header number is taken above this (a count or a Unix time far beyond any real one): a
# 400-digit value would otherwise be infinity as a float, and int() of that raises.
_MAX_NUMBER = 1e12


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimit:
    """The rate limit an answer reported.

    Attributes:
        limit: requests allowed per window, or None if the answer did not say.
        remaining: requests left in the current window, or None if it did not say.
        reset_after: seconds until the window resets, or None if it did not say.
    """

    limit: int | None
    remaining: int | None
    reset_after: float | None


# Where an answer states each number, in the order they are read: the IETF draft's names,
# then the per-second ones.
_LIMIT = ("ratelimit-limit", "x-ratelimit-limit-second")
_REMAINING = ("ratelimit-remaining", "x-ratelimit-remaining-second")
_RESET = ("ratelimit-reset",)
RATE_HEADERS = frozenset(_LIMIT + _REMAINING + _RESET)

_N = TypeVar("_N", int, float)


def _number(headers: Mapping[str, str], kind: type[_N], names: tuple[str, ...]) -> _N | None:
    """The first of `names` that the headers carry, as a `kind` (a count, or seconds)."""
    for name in names:
        raw = headers.get(name)
        # "30" or the draft's "30, 30;w=1"; digits only: never negative or NaN
        if raw is not None and (match := _LEADING_NUMBER.match(raw)) is not None:
            return kind(min(float(match.group(1)), _MAX_NUMBER))
    return None


def parse_rate_limit(headers: Mapping[str, str], *, now: Callable[[], float] = time.time) -> RateLimit | None:
    """The RateLimit an answer's headers describe, or None when they carry none.

    `headers`: an answer's `httpx2.Headers` (any case), or a dict of lowercased names (the
    flow's one pass over the raw headers, on every answer)."""
    limit = _number(headers, int, _LIMIT)
    remaining = _number(headers, int, _REMAINING)
    reset = _number(headers, float, _RESET)
    if limit is None and remaining is None and reset is None:
        return None
    if reset is not None and reset > _TIMESTAMP_FLOOR:
        reset = max(0.0, reset - now())
    return RateLimit(limit, remaining, reset)


class Pause(NamedTuple):
    """A wait before the window admits: out a 429's hold (`hold`) or until the window resets."""

    seconds: float
    hold: bool


class RateLimitHold(httpx2.TransportError):
    """Not sent: Monite asked this client to wait (a 429's Retry-After, or a spent window)
    longer than the call's deadline leaves. `retry_after`: seconds the wait still takes."""

    def __init__(self, message: str, *, retry_after: float, request: httpx2.Request | None = None) -> None:
        super().__init__(message, request=request)
        self.retry_after = retry_after


def _pause(until: float, now: float, refuse_at: float, what: str, *, hold: bool) -> Pause:
    """The wait until `until`; RateLimitHold instead when it reaches `refuse_at` (the call's
    deadline, or -inf: a hold longer than any call waits)."""
    if until >= refuse_at:
        longer = "a call waits" if refuse_at == -math.inf else "the call's deadline leaves"
        raise RateLimitHold(
            f"Monite's rate limit holds this client for {until - now:.3f} s more ({what}), "
            f"longer than {longer}",
            retry_after=until - now,
        )
    return Pause(until - now, hold)


class RateWindow:
    """The client's view of Monite's window; `admission()` before every send, `done()` after.

    It decides the waits (`admission`); the flow's driver waits them out: a 429's hold with
    the RetryPolicy's sleep (instant under `set_testing(True)`, as retry waits are), the
    window's own resets for real.
    """

    def __init__(self) -> None:
        self._limit: int | None = None
        self._remaining: int | None = None  # None: nothing learned yet, admit everyone
        self._reset_at = -math.inf
        self._recent_resets: collections.deque[float] = collections.deque(maxlen=32)
        self._hold_until = -math.inf
        # The hold came from a Retry-After longer than any call waits: the requests it holds
        # are refused at once instead of waiting (bounded only by their deadline) for nothing.
        self._hold_refuses = False
        on_fork_in_child(self._start_over)

    def _start_over(self) -> None:
        # Held only between waits, never across one: a blocking client's threads share this.
        # Made anew in a forked child, where the parent's requests in flight are not counted.
        self._mutex = threading.Lock()
        self._in_flight = 0

    def __repr__(self) -> str:
        return f"RateWindow(limit={self._limit}, remaining={self._remaining})"

    @property
    def _window(self) -> float:
        # The window's length, as the longest time-to-reset of the recent answers (one odd
        # answer ages out); Monite's per-second headers say one second.
        return min(_MAX_WINDOW, max(self._recent_resets, default=_DEFAULT_WINDOW))

    @property
    def known(self) -> bool:
        """Whether an answer has told the window yet (before that, everything is admitted)."""
        return self._remaining is not None and self._limit is not None

    def admission(self, deadline_at: float = math.inf, *, hold_served: bool = False) -> Iterator[Pause]:
        """The waits before the window has room for one more request; when they are over, it
        is taken. Raises RateLimitHold, taking nothing, when a wait would pass `deadline_at`.

        Each pass either admits, raises or waits until a known later time: it never spins.
        `hold_served`: this request has waited out the 429 that set the hold already.
        """
        while True:
            with self._mutex:  # threads of the blocking client share the window
                pause = self._admit_or_pause(deadline_at, hold_served)
            if pause is None:
                return
            yield pause
            hold_served = hold_served or pause.hold  # served, even by an instant test sleep

    def _admit_or_pause(self, deadline_at: float, held: bool) -> Pause | None:
        now = time.monotonic()
        if now < self._hold_until and not held:
            # A Retry-After longer than any call waits: refused at once, whatever the deadline.
            refuse_at = -math.inf if self._hold_refuses else deadline_at
            return _pause(self._hold_until, now, refuse_at, "a 429's Retry-After", hold=True)
        if self._remaining is not None and self._limit is not None:
            if now >= self._reset_at:  # the window Monite described is over: a new one
                self._remaining = self._limit
                self._reset_at = now + self._window + _RESET_MARGIN
            if self._remaining <= 0:
                return _pause(self._reset_at, now, deadline_at, "the rate window's reset", hold=False)
            self._remaining -= 1
        self._in_flight += 1
        return None

    def done(self, rate: RateLimit | None) -> None:
        """An admitted request ended; `rate` is what its answer said (None: no answer or no headers)."""
        with self._mutex:
            self._in_flight = max(0, self._in_flight - 1)
            if rate is None or rate.limit is None or rate.remaining is None or rate.limit < 1:
                return  # nothing usable (a limit of 0 would admit nothing ever again)
            if rate.reset_after is not None and rate.reset_after > 0:
                self._recent_resets.append(min(rate.reset_after, _MAX_WINDOW))
            reset_after = min(rate.reset_after if rate.reset_after is not None else self._window, _MAX_WINDOW)
            reset_at = time.monotonic() + reset_after + _RESET_MARGIN
            # What Monite counted left, less what we sent that it had not counted yet: it counts
            # every process sharing the credentials, so its figure wins over ours when lower.
            left = max(0, rate.remaining - self._in_flight)
            self._limit = rate.limit
            if self._remaining is None or reset_at > self._reset_at:
                self._remaining, self._reset_at = left, reset_at
            else:
                self._remaining = min(self._remaining, left)

    def hold(self, seconds: float, *, refuse: bool = False) -> None:
        """Monite asked (429 Retry-After) to wait: no request of this client goes before then.

        `refuse`: Monite asked for longer than a call waits (`seconds` is then that longest
        wait): until then the others are refused at once (RateLimitHold), not held."""
        with self._mutex:
            until = time.monotonic() + seconds
            # The longer hold says whether it refuses; a shorter one can only add refusing.
            self._hold_refuses = refuse or (self._hold_refuses and until < self._hold_until)
            self._hold_until = max(self._hold_until, until)
            if self._remaining is not None:
                self._remaining, self._reset_at = 0, max(self._reset_at, until)


class Pacer:
    """Starts at most `per_second` requests a second, evenly spaced.

    It paces by the last actual start, not by booked slots: a waiter that is cancelled
    (its deadline) leaves nothing behind that would delay the others.
    """

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._last = -math.inf
        on_fork_in_child(self._start_over)

    def _start_over(self) -> None:
        self._mutex = threading.Lock()  # anew in a forked child: a parent's thread may have held it

    def pauses(self) -> Iterator[Pause]:
        """The waits before the next start is due; when they are over, it is taken."""
        while True:
            with self._mutex:
                now = time.monotonic()
                if (gap := self._last + self._interval - now) <= 0:
                    self._last = now
                    return
            yield Pause(gap, hold=False)
