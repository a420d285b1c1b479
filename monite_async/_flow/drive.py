"""Drives the one flow: the only place where the async and the blocking client differ.

The flow (`call.Flow`) is a generator that yields the I/O it needs (`steps.Send`, `Sleep`,
`Call`) and is sent each step's result, or has its failure thrown in. The
async client carries the steps out with `drive` and an `AsyncIO`, the blocking one with
`drive_blocking` and a `BlockingIO`. This is the shape of httpx's `Auth.auth_flow`, which
drives one generator from both of its clients.

    outcome = await drive(flow.call(options, module, args, kwargs), io)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

import anyio
import httpx2

from .._http.forks import on_fork_in_child
from .._http.transports import READ_DEADLINE, DeadlinePassed, plain_error
from .._http.waits import AnySleep, wait, wait_blocking
from .steps import TIMED_OUT, Call, Send, Sleep

__all__ = ["AsyncIO", "AsyncPrimitive", "BlockingIO", "Run", "ThreadPrimitive", "drive", "drive_blocking"]

_Result = TypeVar("_Result")
_Send = TypeVar("_Send")


class Run:
    """Where a flow stands: the step it waits on.

    A driver puts the step's `result` (or `failure`) here and calls `resume`; they are
    handed to the flow without being bound to a name in any frame, so a traceback's
    recorded locals (error trackers keep them) never show an answer the flow refused.
    The flow's end is its StopIteration, out of `resume` (or of `Run(flow)`), with what it
    returned.
    """

    __slots__ = ("_flow", "failure", "result", "step")

    def __init__(self, flow: Generator[Any, Any, Any]) -> None:
        self._flow = flow
        self.result: Any = None
        self.failure: BaseException | None = None
        self.resume()

    def resume(self) -> None:
        """Send the last step's result into the flow (or throw its failure in); stop at the next."""
        result, failure, self.result, self.failure = self.result, self.failure, None, None
        self.step: Any = self._flow.send(result) if failure is None else self._flow.throw(failure)


async def drive(flow: Generator[Any, Any, _Result], io: AsyncIO) -> _Result:
    """Run `flow` to its end, awaiting `io(step)` for each step it yields.

    Closed on the way out: left waiting on a step by an exception raised between two (a
    KeyboardInterrupt from a signal), its `finally` blocks run now (a slot given back), not
    when it is collected."""
    io.trio = io.check() == "trio"  # one event loop's library per client (another is refused)
    try:
        run = Run(flow)
        while True:
            try:
                run.result = await io(run.step)
            except BaseException as exc:
                # Thrown back in outside this except block, so that nothing the flow raises
                # is chained to it (cancellation too: the flow's `finally` blocks run).
                run.failure = exc
            run.resume()
    except StopIteration as end:
        return end.value  # type: ignore[no-any-return]
    finally:
        flow.close()  # a try, not contextlib.closing: no object made per call


def drive_blocking(flow: Generator[Any, Any, _Result], io: BlockingIO) -> _Result:
    """Run `flow` to its end, calling `io(step)`, which blocks, for each step it yields (as `drive`)."""
    io.check()
    try:
        run = Run(flow)
        while True:
            try:
                run.result = io(run.step)
            except BaseException as exc:
                run.failure = exc  # thrown back in outside this block, as in `drive`
            run.resume()
    except StopIteration as end:
        return end.value  # type: ignore[no-any-return]
    finally:
        flow.close()


class _Slots:
    """A FIFO semaphore of `count`; a lock is one of 1. What is taken belongs to a `holder`
    (the call's exchange), and `release(holder)` frees only what that holder has: the flow can
    release in a `finally` that also runs when it was interrupted before it learned it had the
    slot. A release hands the slot straight to the oldest waiter, which owns it before it wakes:
    the one that gives a slot back and asks again at once queues behind those already waiting.

    The flow's slots and token lock: `take(holder)` takes one that is free now, without waiting
    (True), so that a free slot costs the flow no step; a subclass's `acquire(holder, patience)`
    waits up to `patience` seconds for one (True, or False when none came; the flow asks for it
    with a `Call` step, awaited in the async client); `release(holder)` never blocks, and frees
    nothing for a holder that has nothing."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._holders: set[object] = set()
        self._queue: dict[object, Callable[[], None]] = {}  # the waiters, oldest first, and their bells

    @property
    def free(self) -> int:
        return self._count - len(self._holders)

    def take(self, holder: object) -> bool:
        if self._queue or len(self._holders) >= self._count:
            return False
        self._holders.add(holder)
        return True

    def _served(self, holder: object) -> bool:
        """Whether the slot came to `holder`, which has stopped waiting: if not, it leaves the queue
        (a holder handed the slot, perhaps just as the wait ran out, left it then: it is ours)."""
        self._queue.pop(holder, None)
        return holder in self._holders

    def release(self, holder: object) -> None:
        # A holder is either served or still waiting (interrupted in `acquire`), or neither.
        self._holders.discard(holder)
        self._queue.pop(holder, None)
        while self._queue and len(self._holders) < self._count:
            waiter = next(iter(self._queue))
            self._holders.add(waiter)  # owned before it wakes: nothing can fall between
            self._queue.pop(waiter)()


class AsyncPrimitive(_Slots):
    """The slots of the async client's tasks (asyncio and trio: anyio's event wakes a waiter)."""

    async def acquire(self, holder: object, patience: float) -> bool:
        if self.take(holder):
            return True
        bell = anyio.Event()
        self._queue[holder] = bell.set
        with anyio.move_on_after(patience):
            await bell.wait()
        return self._served(holder)


class ThreadPrimitive(_Slots):
    """The slots of the blocking client's threads, behind a mutex. A `threading.Semaphore`
    would not do: the thread that gives a slot back and asks again at once takes it before
    the waiter it woke has run, so under load a few threads keep the slots while the others
    wait out their timeout."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        on_fork_in_child(self._start_over)  # its mutex now, and a fresh one in a forked child

    def _start_over(self) -> None:
        # Also in a forked child: the parent's other threads, their slots and places, are not here.
        self._mutex = threading.Lock()
        self._holders.clear()
        self._queue.clear()

    def take(self, holder: object) -> bool:
        with self._mutex:
            return _Slots.take(self, holder)  # fast path: no super() object per call

    def acquire(self, holder: object, timeout: float) -> bool:
        with self._mutex:
            if _Slots.take(self, holder):
                return True
            bell = threading.Event()
            self._queue[holder] = bell.set
        bell.wait(None if timeout >= threading.TIMEOUT_MAX else timeout)  # a wait under 0 is no wait
        with self._mutex:
            return self._served(holder)

    def release(self, holder: object) -> None:
        with self._mutex:
            _Slots.release(self, holder)


class _IO(Generic[_Send]):
    """What a driver's I/O is given: `send` sends one request (a transport's own method; a
    caller's client comes wrapped as a transport), `sleep` is the RetryPolicy's (None: the
    library's); `check` raises why the client cannot run a call now (closed, another event
    loop), before anything starts, and answers the event loop's library (async; else None)."""

    def __init__(self, send: _Send, sleep: AnySleep | None, check: Callable[[], str | None]) -> None:
        self._send = send
        self._sleep = sleep
        self.check = check


class AsyncIO(_IO[Callable[[httpx2.Request], Awaitable[httpx2.Response]]]):
    """Carries out the flow's steps for `MoniteClient` (see `_IO`); `trio`: the loop's library,
    as `drive` learned it from `check`."""

    trio = False

    async def __call__(self, step: Send | Sleep | Call) -> object:
        if isinstance(step, Send):  # the answer, read whole; or the failure, plain, returned
            request = step.request
            timer: asyncio.Timeout | None = None
            try:
                if self.trio:
                    with anyio.move_on_after(step.until - time.monotonic()):
                        return await self._read(request)
                else:  # asyncio's own timeout: half what anyio's cancel scope costs, on every call
                    async with asyncio.timeout(step.until - time.monotonic()) as timer:
                        return await self._read(request)
            except Exception as exc:
                if timer is None or not timer.expired():
                    return plain_error(exc, request)
            # trio's scope moved on, or asyncio's timer expired
            return DeadlinePassed("the call's deadline passed while the answer was awaited", request=request)
        if isinstance(step, Sleep):  # a real one (the window's own reset) even under set_testing
            await wait(step.seconds, anyio.sleep if step.real else self._sleep)
            return None
        with anyio.move_on_after(step.until - time.monotonic()):
            answer = step.function(*step.args)
            return await answer if inspect.isawaitable(answer) else answer
        return TIMED_OUT

    async def _read(self, request: httpx2.Request) -> httpx2.Response:
        started = time.perf_counter()
        response = await self._send(request)
        try:
            response.request = request
            await response.aread()
        except BaseException:  # the deadline's cancellation too
            with contextlib.suppress(Exception), anyio.CancelScope(shield=True):
                await response.aclose()  # an answer not read whole: its connection goes
            raise
        response.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)  # as httpx2's client
        return response


class BlockingIO(_IO[Callable[[httpx2.Request], httpx2.Response]]):
    """`AsyncIO` for `MoniteSyncClient`: the thread waits."""

    def __call__(self, step: Send | Sleep | Call) -> object:
        if isinstance(step, Send):  # as in `AsyncIO`
            request = step.request
            response: httpx2.Response | None = None
            READ_DEADLINE.set(step.until)  # every read ends by it: a thread has no cancel scope
            try:
                started = time.perf_counter()
                response = self._send(request)
                response.request = request
                response.read()
                response.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
                return response
            except Exception as exc:
                if response is not None:
                    with contextlib.suppress(Exception):
                        response.close()  # an answer not read whole: its connection goes
                return plain_error(exc, request)
        if isinstance(step, Sleep):  # as in `AsyncIO`
            wait_blocking(step.seconds, time.sleep if step.real else self._sleep)
            return None
        return step.function(*step.args)
