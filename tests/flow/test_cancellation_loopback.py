"""Cancelling a call mid-refresh or mid-backoff, each loop's own way, leaves nothing behind.

Every way a caller cancels: anyio's `move_on_after` and a cancelled scope (both loops),
trio's own `move_on_after` and `CancelScope`, asyncio's `task.cancel()` and `wait_for`.
After each: the token lock is free, no half-set token is cached, every send slot is back,
and the next call works on a one-connection pool with exactly one token request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import anyio
import httpx2
import pytest
import trio
from anyio_tasks import spawn
from loopback_server import LoopbackServer, Reply, error

from monite_async import MoniteClient
from monite_async._auth.tokens import CredentialsCache as ClientCredentialsProvider

pytestmark = pytest.mark.event_loops("asyncio", "trio")

STYLES = {
    "asyncio": ("anyio.move_on_after", "anyio.CancelScope", "asyncio task.cancel()", "asyncio.wait_for"),
    "trio": ("anyio.move_on_after", "anyio.CancelScope", "trio.move_on_after", "trio.CancelScope"),
}
ONE_CONNECTION = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
PATIENCE = 0.5  # deadline styles: the request arrives within ms; the reply or wait takes 30 s


async def cancel_mid_call(
    style: str,
    loopback: LoopbackServer,
    call: Callable[[], Awaitable[object]],
    method: str,
    path: str,
    count: int,
) -> None:
    """Start `call()`, and cancel it `style`'s way once `count` requests to `method path` arrived."""

    async def arrived() -> None:
        await loopback.wait_for(method, path, count)

    if style == "anyio.move_on_after":
        with anyio.move_on_after(PATIENCE) as scope:
            await call()
        assert scope.cancelled_caught
    elif style == "anyio.CancelScope":
        async with anyio.create_task_group() as tg:
            task = spawn(tg, call())
            await arrived()
            task.cancel()
        assert task.cancelled  # it ended in anyio.get_cancelled_exc_class()
    elif style == "trio.move_on_after":
        with trio.move_on_after(PATIENCE) as trio_scope:
            await call()
        assert trio_scope.cancelled_caught
    elif style == "trio.CancelScope":
        cancel_scope = trio.CancelScope()

        async def cancellable() -> None:
            with cancel_scope:
                await call()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(cancellable)
            await arrived()
            cancel_scope.cancel()
        assert cancel_scope.cancelled_caught
    elif style == "asyncio task.cancel()":

        async def as_coroutine() -> object:
            return await call()

        asyncio_task = asyncio.create_task(as_coroutine())
        await arrived()
        asyncio_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio_task
    elif style == "asyncio.wait_for":
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(call(), PATIENCE)
    else:
        raise AssertionError(style)
    assert loopback.count(method, path) == count, f"{style}: cancelled before the request arrived"


def assert_nothing_left_behind(monite: MoniteClient, style: str) -> None:
    provider = monite._core.flow.tokens
    assert isinstance(provider, ClientCredentialsProvider)
    assert provider.lock.free == 1, f"{style}: the token lock is still held"  # type: ignore[union-attr]
    assert monite._core.flow.slots.free == 1, f"{style}: a send slot was not given back"  # type: ignore[attr-defined]


async def test_a_call_cancelled_mid_refresh_leaves_no_stuck_lock_or_half_set_token(
    loopback: LoopbackServer, event_loop_name: str
) -> None:
    for style in STYLES[event_loop_name]:
        before = loopback.count("POST", "/auth/token")
        loopback.script("POST", "/auth/token", Reply(delay=30))  # the refresh hangs
        async with loopback.client(limits=ONE_CONNECTION) as monite:
            await cancel_mid_call(
                style, loopback, monite.mailbox_domains.list, "POST", "/auth/token", before + 1
            )
            assert_nothing_left_behind(monite, style)
            provider = monite._core.flow.tokens
            assert isinstance(provider, ClientCredentialsProvider)
            assert provider.cached is None, f"{style}: a half-set token"
            with anyio.fail_after(10):
                assert await monite.mailbox_domains.list() == [], style
        # The cancelled fetch, then exactly one for the next call.
        assert loopback.count("POST", "/auth/token") == before + 2, style
    assert loopback.count("GET", "/mailbox_domains") == len(STYLES[event_loop_name])


async def test_a_call_cancelled_mid_backoff_leaves_the_client_usable_with_its_one_token(
    loopback: LoopbackServer, event_loop_name: str
) -> None:
    for style in STYLES[event_loop_name]:
        tokens = loopback.count("POST", "/auth/token")
        gets = loopback.count("GET", "/mailbox_domains")
        # Answered at once; the retry then waits 30 s (Retry-After, a real anyio.sleep).
        loopback.script("GET", "/mailbox_domains", error(503, "busy", **{"Retry-After": "30"}))
        async with loopback.client(limits=ONE_CONNECTION) as monite:
            await cancel_mid_call(
                style, loopback, monite.mailbox_domains.list, "GET", "/mailbox_domains", gets + 1
            )
            assert_nothing_left_behind(monite, style)
            provider = monite._core.flow.tokens
            assert isinstance(provider, ClientCredentialsProvider)
            assert provider.cached is not None, f"{style}: the valid token was dropped"
            with anyio.fail_after(10):
                assert await monite.mailbox_domains.list() == [], style
        assert loopback.count("POST", "/auth/token") == tokens + 1, f"{style}: one token request"
        assert loopback.count("GET", "/mailbox_domains") == gets + 2, style  # the 503, then the next call
