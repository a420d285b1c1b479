"""The I/O a flow asks its driver for: each step is one thing to wait on, and `until`, the
call's deadline (a `time.monotonic()` value), bounds it.

The flow decides (what to send, how long to wait, which lock to take); the driver only
carries the step out and sends back what came of it. Both drivers (`drive.AsyncIO`,
`drive.BlockingIO`) handle the same three steps.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Final

import httpx2

__all__ = ["TIMED_OUT", "Call", "Send", "Sleep", "Step"]


@dataclasses.dataclass(frozen=True, slots=True)
class Send:
    """Send `request`, read its answer whole: sent back the `httpx2.Response`, or the plain
    transport failure (an `httpx2.TransportError` or `RuntimeError`, returned, not raised)."""

    request: httpx2.Request
    until: float = math.inf


@dataclasses.dataclass(frozen=True, slots=True)
class Sleep:
    """Wait `seconds`. `real`: a wait the server's clock sets (a rate window's reset, the pacer),
    never shortened; else a retry or a 429's hold: the RetryPolicy's sleep, instant under
    `set_testing(True)`."""

    seconds: float
    real: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    """Call `function(*args)`, awaited when it is async (the application's token callable, the
    fleet's Redis room, a slot's or the token lock's acquire): sent back what it returned;
    what it raised is thrown back in."""

    function: Callable[..., object]
    args: tuple[object, ...] = ()
    until: float = math.inf


TIMED_OUT: Final = object()
"""What a step that reached its `until` is answered with."""

Step = Send | Sleep | Call
