"""The send gate: the last step before the network, once per attempt.

In this order, each attempt
1. waits for room in Monite's rate window (and any `Retry-After` hold) and the pacer; a
   wait that would pass the call's deadline is not taken (RateLimitHold);
2. waits for one of the client's connection slots (as many as its pool has connections,
   no longer than the pool timeout),
   so requests queue here, first come first served, instead of in httpx's pool, whose
   queue is scanned whole for every request;
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

import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import anyio.lowlevel
import httpx

from ._rate_limit import Pacer, RateWindow, parse_rate_limit
from ._request_state import request_state
from ._tracing import Tracing
from ._transports import CLOSED_TEXT

__all__ = ["SendGate"]

Signer = Callable[[httpx.Request], Awaitable[None]]


class SendGate(httpx.AsyncBaseTransport):
    """Wrap `transport` with rate admission, connection slots, late signing and a whole read."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        *,
        connections: int,
        window: RateWindow,
        pacer: Pacer | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._transport = transport
        self.tracing = tracing if tracing is not None else Tracing()
        self._connections = connections
        self._slots: anyio.Semaphore | None = None  # made in the running event loop, on first use
        self._closed = False
        self.window = window
        self._pacer = pacer
        self.signer: Signer | None = None  # set by the client: the auth flow's `sign`

    def __repr__(self) -> str:
        return f"SendGate(connections={self._connections}, {self.window!r})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        state = request_state(request)
        # Nothing learned yet: admit after the token arrives (its answer may teach the window).
        blind = state.sign and not self.window.known
        if not blind:
            # RateLimitHold past the deadline: nothing taken.
            await self.window.admit(state.deadline_at, hold_served=state.waited_out_hold)
            state.waited_out_hold = False
        admitted = not blind
        rate = None
        try:
            if not state.sign:
                # The token request: no pacing and no slot, for the slot holders may be the
                # very requests waiting for this token.
                self._check_open()
                response = await self._send(request)
            else:
                if self._pacer is not None:
                    await self._pacer.wait()
                async with self._slot(request):
                    self._check_open()  # aclose() may have run while this request waited
                    if self.signer is not None:
                        await self.signer(request)
                    if blind:
                        waits = not self.window.admits_now()
                        await self.window.admit(state.deadline_at, hold_served=state.waited_out_hold)
                        state.waited_out_hold = False
                        admitted = True
                        if waits and self.signer is not None:
                            await self.signer(request)  # that wait may have outlasted the token
                    response = await self._send(request)
            rate = parse_rate_limit(response.headers)
        finally:
            if admitted:
                self.window.done(rate)
        return response

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(CLOSED_TEXT)

    @contextlib.asynccontextmanager
    async def _slot(self, request: httpx.Request) -> AsyncIterator[None]:
        """One connection slot, waited for no longer than the request's pool timeout."""
        if self._slots is None:
            self._slots = anyio.Semaphore(self._connections)
        if self._slots.value > 0:
            # A free slot: take it, still passing through the event loop as acquire() would
            # (a call that never yields starves the loop), without a timeout scope to build.
            await anyio.lowlevel.checkpoint_if_cancelled()
            self._slots.acquire_nowait()
            await anyio.lowlevel.cancel_shielded_checkpoint()
        else:
            timeouts = request.extensions.get("timeout")
            pool = timeouts.get("pool") if isinstance(timeouts, dict) else None
            with anyio.move_on_after(pool if isinstance(pool, int | float) else math.inf) as scope:
                await self._slots.acquire()
            if scope.cancelled_caught:
                raise httpx.PoolTimeout(
                    "no connection slot came free within the pool timeout", request=request
                )
        try:
            yield
        finally:
            self._slots.release()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        state = request_state(request)
        state.sends += 1
        if not state.traced:  # nothing records spans or metrics: no hook at all (the common case)
            return await self._read(request)
        with self.tracing.attempt(request, template=state.url_template, resends=state.sends - 1) as attempt:
            response = await self._read(request)
            attempt.answered(response)
        return response

    async def _read(self, request: httpx.Request) -> httpx.Response:
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
    with contextlib.suppress(httpx.TransportError), anyio.CancelScope(shield=True):
        await response.aclose()
