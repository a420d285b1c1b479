"""How the client waits before a retry or out a server's `Retry-After`, and the switch that
makes those waits instant in tests (in the spirit of `stamina.set_testing`).

    monite_async.set_testing(True)   # every retry wait and Retry-After hold takes no time
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable

import anyio

from .._errors import ConfigurationError

__all__ = [
    "ASYNC_SLEEP_TEXT",
    "AnySleep",
    "is_testing",
    "set_testing",
    "wait",
    "wait_blocking",
]

# An async `sleep` given to MoniteSyncClient: refused when the client is made if it can be
# told then, else at its first wait (`wait_blocking`); written once, here.
ASYNC_SLEEP_TEXT = (
    "MoniteSyncClient's RetryPolicy.sleep must be a plain function taking seconds "
    "(an async one belongs to MoniteClient)"
)

# What a RetryPolicy's `sleep` may be: async for MoniteClient, plain for MoniteSyncClient.
AnySleep = Callable[[float], Awaitable[None] | None]

_testing = False


def set_testing(testing: bool) -> None:
    """Make every retry wait (and every `Retry-After` hold) instant, process-wide, while
    still logging each wait's length. Meant for test suites:

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


async def wait(seconds: float, sleep: AnySleep | None = None) -> None:
    """Wait `seconds`: with `sleep` if given (a RetryPolicy's), instantly under set_testing."""
    if sleep is not None:
        waited = sleep(seconds)
        if inspect.isawaitable(waited):  # a plain function recording waits works too
            await waited
    else:  # under set_testing, a wait of 0 s (as a spy on sleep sees it): still a checkpoint
        await anyio.sleep(0 if _testing else seconds)


def wait_blocking(seconds: float, sleep: AnySleep | None = None) -> None:
    """`wait` for the blocking client: `sleep` is a plain function. One that returns an
    awaitable (a lambda returning a coroutine, say: the client could not tell when it was
    made) waited for nothing: it is refused (ConfigurationError), its coroutine closed."""
    if sleep is not None:
        waited = sleep(seconds)
        if inspect.isawaitable(waited):
            if inspect.iscoroutine(waited):
                waited.close()  # no "coroutine was never awaited" warning on top of the error
            raise ConfigurationError(ASYNC_SLEEP_TEXT)
    else:  # under set_testing, 0 s: still lets other threads run, as a real wait would
        time.sleep(0 if _testing else seconds)
