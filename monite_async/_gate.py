"""The send gate: the last step before the network, once per attempt.

In this order, each attempt
1. waits for room in Monite's rate window (and any `Retry-After` hold) and the pacer; a
   wait that would pass the call's deadline is not taken (RateLimitHold);
2. waits for one of the client's connection slots (as many as its pool has connections,
   no longer than the pool timeout),
   so requests queue here, first come first served, instead of on the wire (the blocking
   client's threads wait in `_ThreadSlots`' queue, bounded by the call's deadline too);
3. only then is signed with the bearer token, so no token goes stale while its request
   waits (for a slot, the window, a hold): it is read the moment the request goes out;
4. is sent, and its answer read whole before the slot is given back (a connection that
   drops while the body arrives fails here, where the retry layer above can see it).

The token request itself is not signed and takes no slot: the requests holding slots may
be the very ones waiting for that token, and they hold no connection while they wait.

Before any answer has told the window, an attempt that needs the token takes its slot and
its token first and is admitted to the window only then: on a fresh client the first
answer is usually the token's, and it carries Monite's rate limit, so a first burst of
calls is admitted against the limit it reports instead of going out blind (100 calls
against a limit of 20 would otherwise meet 80 429s). Such an attempt is signed again if
it then had to wait for the window.
"""

from __future__ import annotations

import collections
import contextlib
import math
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import anyio
import anyio.lowlevel
import httpx2

from ._drive import drive, drive_blocking
from ._forks import on_fork_in_child
from ._rate_limit import Pacer, Pause, RateWindow, parse_rate_limit
from ._request_state import RequestState, request_state
from ._tracing import Tracing
from ._transports import CLOSED_TEXT, DeadlinePassed
from ._waits import wait, wait_blocking

__all__ = ["SendGate", "SyncSendGate"]

Signer = Callable[[httpx2.Request], Awaitable[None]]
SyncSigner = Callable[[httpx2.Request], None]


class _Step:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


# The steps of a gate flow besides a `Pause` (a wait for the window or the pacer).
TAKE_SLOT = _Step("TAKE_SLOT")  # wait for a connection slot, within the pool timeout
SIGN = _Step("SIGN")  # put the token on the request now
SEND = _Step("SEND")  # send it and read its answer whole; sent the answer
GateStep = Pause | _Step


class _GateRules:
    """The order of things in front of the network (see the module docstring); no I/O.

    The two gates below carry the steps out; each has its own slots (an anyio semaphore,
    or `_ThreadSlots`) and gives one back with `_release_slot`.
    """

    def __init__(
        self,
        *,
        connections: int,
        window: RateWindow,
        pacer: Pacer | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.tracing = tracing if tracing is not None else Tracing()
        self._connections = connections
        self._closed = False
        self.window = window
        self._pacer = pacer
        self.signs = False  # set by the client when it gives the gate its signer

    def __repr__(self) -> str:
        return f"{type(self).__name__}(connections={self._connections}, {self.window!r})"

    def flow(self, request: httpx2.Request) -> Generator[GateStep, Any, httpx2.Response]:
        state = request_state(request)
        # Nothing learned yet: admit after the token arrives (its answer may teach the window).
        blind = state.sign and not self.window.known
        if not blind:
            # RateLimitHold past the deadline: nothing taken.
            yield from self.window.admission(state.deadline_at, hold_served=state.waited_out_hold)
            state.waited_out_hold = False
        admitted = not blind
        rate = None
        try:
            if not state.sign:
                # The token request: no pacing and no slot, for the slot holders may be the
                # very requests waiting for this token.
                self._check_open()
                response = yield from self._sent(request, state)
            else:
                if self._pacer is not None:
                    yield from self._pacer.pauses()
                try:
                    # Inside the try: whatever is raised once the slot is taken (a pool
                    # timeout, a KeyboardInterrupt from a signal) gives back what this
                    # request holds, and nothing if it holds no slot.
                    yield TAKE_SLOT
                    self._check_open()  # the client may have been closed while this request waited
                    if self.signs:
                        yield SIGN
                    if blind:
                        waits = not self.window.admits_now()
                        yield from self.window.admission(state.deadline_at, hold_served=state.waited_out_hold)
                        state.waited_out_hold = False
                        admitted = True
                        if waits and self.signs:
                            yield SIGN  # that wait may have outlasted the token
                    response = yield from self._sent(request, state)
                finally:
                    self._release_slot(request)
            rate = parse_rate_limit(response.headers)
        finally:
            if admitted:
                self.window.done(rate)
        return response

    def _sent(
        self, request: httpx2.Request, state: RequestState
    ) -> Generator[GateStep, Any, httpx2.Response]:
        state.sends += 1
        if not state.traced:  # nothing records spans or metrics: no hook at all (the common case)
            response: httpx2.Response = yield SEND
            return response
        with self.tracing.attempt(request, template=state.url_template, resends=state.sends - 1) as attempt:
            response = yield SEND
            attempt.answered(response)
        return response

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(CLOSED_TEXT)

    def _release_slot(self, request: httpx2.Request) -> None:
        raise NotImplementedError


class SendGate(_GateRules, httpx2.AsyncBaseTransport):
    """Wrap `transport` with rate admission, connection slots, late signing and a whole read."""

    def __init__(self, transport: httpx2.AsyncBaseTransport, **rules: Any) -> None:
        super().__init__(**rules)
        self._transport = transport
        self._slots: anyio.Semaphore | None = None  # made in the running event loop, on first use
        self._holders: set[httpx2.Request] = set()  # the requests holding a slot
        self.signer: Signer | None = None  # set by the client: the auth flow's `sign`

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        async def carry_out(step: GateStep) -> httpx2.Response | None:
            if step is SEND:
                return await self._read(request)
            if step is TAKE_SLOT:
                await self._take_slot(request)
            elif step is SIGN and self.signer is not None:
                await self.signer(request)
            elif isinstance(step, Pause):
                await (wait(step.seconds, self.window.hold_sleep) if step.hold else anyio.sleep(step.seconds))
            return None

        return await drive(self.flow(request), carry_out)

    async def _take_slot(self, request: httpx2.Request) -> None:
        """One connection slot, waited for no longer than the request's pool timeout."""
        if self._slots is None:
            self._slots = anyio.Semaphore(self._connections)
        if self._slots.value > 0:
            # A free slot: take it, still passing through the event loop as acquire() would
            # (a call that never yields starves the loop), without a timeout scope to build.
            await anyio.lowlevel.checkpoint_if_cancelled()
            self._slots.acquire_nowait()
            self._holders.add(request)
            await anyio.lowlevel.cancel_shielded_checkpoint()
            return
        with anyio.move_on_after(_pool_timeout(request)) as scope:
            await self._slots.acquire()
            self._holders.add(request)  # no checkpoint between: taken is owned
        if scope.cancelled_caught:
            raise httpx2.PoolTimeout("no connection slot came free within the pool timeout", request=request)

    def _release_slot(self, request: httpx2.Request) -> None:
        if request in self._holders and self._slots is not None:
            self._holders.discard(request)
            self._slots.release()

    async def _read(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._transport.handle_async_request(request)
        try:
            await _buffer(response)
        except BaseException:
            await _close_quietly(response)
            raise
        return response

    async def aclose(self) -> None:
        self._closed = True
        await self._transport.aclose()


class SyncSendGate(_GateRules, httpx2.BaseTransport):
    """`SendGate` for the blocking client: the same flow; threads wait for slots and pauses.

    A thread cannot be cancelled, so the call's deadline bounds the wait for a slot here
    (DeadlinePassed), as the attempt timeouts and the waits above are bounded by it.
    """

    def __init__(self, transport: httpx2.BaseTransport, **rules: Any) -> None:
        super().__init__(**rules)
        self._transport = transport
        self._slots = _ThreadSlots(self._connections)
        self.signer: SyncSigner | None = None

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        def carry_out(step: GateStep) -> httpx2.Response | None:
            if step is SEND:
                return self._read(request)
            if step is TAKE_SLOT:
                self._take_slot(request)
            elif step is SIGN and self.signer is not None:
                self.signer(request)
            elif isinstance(step, Pause):
                (wait_blocking if step.hold else _sleep)(step.seconds, self.window.hold_sleep)
            return None

        return drive_blocking(self.flow(request), carry_out)

    def _take_slot(self, request: httpx2.Request) -> None:
        pool = _pool_timeout(request)
        left = request_state(request).deadline_at - time.monotonic()
        if self._slots.take(request, min(pool, left)):
            return
        if pool < left:
            raise httpx2.PoolTimeout("no connection slot came free within the pool timeout", request=request)
        raise DeadlinePassed("no connection slot came free within the call's deadline", request=request)

    def _release_slot(self, request: httpx2.Request) -> None:
        self._slots.give_back(request)

    def _read(self, request: httpx2.Request) -> httpx2.Response:
        response = self._transport.handle_request(request)
        stream = response.stream
        if isinstance(stream, httpx2.SyncByteStream) and not isinstance(stream, httpx2.ByteStream):
            try:
                body = b"".join(stream)
            except BaseException:
                with contextlib.suppress(httpx2.TransportError):
                    response.close()
                raise
            stream.close()  # the connection goes back to the pool
            response.stream = httpx2.ByteStream(body)
        return response

    def close(self) -> None:
        self._closed = True
        self._transport.close()


class _ThreadSlots:
    """The blocking gate's connection slots: first come first served, as anyio's semaphore.

    A `threading.Semaphore` is not: the thread that gives a slot back and asks again at
    once takes it before the waiter it woke has run, so under load a few threads keep the
    slots and the others wait out their pool timeout. Here a slot given back goes straight
    to the oldest waiter, and a newcomer takes a free slot only when nobody waits.

    A slot belongs to a `holder` (the request): taking it is adding the holder to a set, one
    step, so no exception (a KeyboardInterrupt from a signal) can fall between taking a
    slot and owning it; `give_back(holder)` frees whatever the holder has (its slot, or its
    place in the queue), and does nothing for a holder that has neither.
    """

    def __init__(self, count: int) -> None:
        self._count = count
        self._lock = threading.Lock()
        self._holders: set[object] = set()
        # The waiters, oldest first, each with a lock held for it, released when it is handed a slot.
        self._queue: collections.deque[tuple[object, threading.Lock]] = collections.deque()
        on_fork_in_child(self._start_over)

    def _start_over(self) -> None:
        # In a forked child: the parent's other threads, their slots and places, are not here.
        self._lock = threading.Lock()
        self._holders = set()
        self._queue = collections.deque()

    def __repr__(self) -> str:
        return f"_ThreadSlots(free={self.free}, waiting={len(self._queue)})"

    @property
    def free(self) -> int:
        return self._count - len(self._holders)

    def take(self, holder: object, timeout: float) -> bool:
        """A slot for `holder` within `timeout` seconds (inf: no limit); whether it got one.
        A slot handed over just as the wait ran out is kept (True)."""
        with self._lock:
            self._hand_over()
            if not self._queue and len(self._holders) < self._count:
                self._holders.add(holder)
                return True
            bell = threading.Lock()
            bell.acquire()
            self._queue.append((holder, bell))
        got = False
        try:
            bell.acquire(timeout=-1 if timeout >= threading.TIMEOUT_MAX else max(0.0, timeout))
        finally:
            with self._lock:
                got = holder in self._holders
                if not got:
                    self._leave(holder)
        return got

    def give_back(self, holder: object) -> None:
        """`holder` is done: its slot goes to the oldest waiter (or comes free); its place
        in the queue, if it has one still, is given up."""
        with self._lock:
            if holder in self._holders:
                self._holders.discard(holder)
            else:
                self._leave(holder)
            self._hand_over()

    def _hand_over(self) -> None:
        # The holder owns the slot before it leaves the queue: an exception between the
        # two leaves it first in line, owning its slot, and the next hand-over goes on.
        while self._queue and len(self._holders) < self._count:
            holder, bell = self._queue[0]
            self._holders.add(holder)
            self._queue.popleft()
            bell.release()

    def _leave(self, holder: object) -> None:
        for entry in self._queue:
            if entry[0] is holder:
                self._queue.remove(entry)
                return


def _sleep(seconds: float, _unused: object) -> None:
    time.sleep(seconds)  # the window's own reset: waited for real, even in tests


def _pool_timeout(request: httpx2.Request) -> float:
    timeouts = request.extensions.get("timeout")
    pool = timeouts.get("pool") if isinstance(timeouts, dict) else None
    return pool if isinstance(pool, int | float) else math.inf


async def _buffer(response: httpx2.Response) -> None:
    """Read the answer's bytes off the network now, and leave the response unread.

    The bytes stay as they came (still gzip-encoded, say): httpx2 decodes them once when it
    reads the response as usual, and times it (`elapsed`) and closes it as it does any
    answer. The same response object goes up, so nothing is copied but the stream.
    """
    stream = response.stream
    if not isinstance(stream, httpx2.AsyncByteStream) or isinstance(stream, httpx2.ByteStream):
        return  # already in memory (or not an async stream we could read here)
    try:
        body = b"".join([part async for part in stream])
    finally:
        await stream.aclose()  # the connection goes back to the pool
    response.stream = httpx2.ByteStream(body)


async def _close_quietly(response: httpx2.Response) -> None:
    # The answer is lost already; failing to close it tells nothing more.
    with contextlib.suppress(httpx2.TransportError), anyio.CancelScope(shield=True):
        await response.aclose()
