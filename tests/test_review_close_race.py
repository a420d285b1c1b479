"""Review finding: closing the client while calls are in flight gives every caller a typed
error; a token fetch that failed that way is shared, not retried by each waiter; nothing is
re-sent on a closed client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
from loopback_server import STALE_MESSAGE, LoopbackServer, error

from monite_async import ClientStateError, MoniteClient
from monite_async._auth import ClientCredentialsProvider, IssuedToken


def count_fetches(monite: MoniteClient) -> list[int]:
    provider = monite._provider
    assert isinstance(provider, ClientCredentialsProvider)
    fetch: Callable[[], Awaitable[IssuedToken]] = provider._fetch
    fetches = [0]

    async def counted() -> IssuedToken:
        fetches[0] += 1
        return await fetch()

    provider._fetch = counted
    return fetches


async def ten_calls_refused_after_aclose(loopback: LoopbackServer, monite: MoniteClient) -> list[object]:
    await monite.mailbox_domains.list()  # a token, to be refused below
    # Ten calls in flight; each meets a stale-token answer only after the client is closed.
    stale = error(401, STALE_MESSAGE)
    stale.delay = 0.3
    loopback.script("GET", "/mailbox_domains", *[stale] * 10)
    calls = [asyncio.ensure_future(monite.mailbox_domains.list()) for _ in range(10)]
    await loopback.wait_for("GET", "/mailbox_domains", 1 + 10)
    await monite.aclose()
    return await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), timeout=10)


async def test_a_refresh_needed_after_aclose_is_a_client_state_error_met_once(
    loopback: LoopbackServer,
) -> None:
    # A caller's http_client stays open, so the stale answers arrive; the refresh they need
    # then meets the closed MoniteClient (httpx: RuntimeError "client has been closed").
    async with httpx.AsyncClient() as own:
        monite = loopback.client(http_client=own)
        fetches = count_fetches(monite)
        results = await ten_calls_refused_after_aclose(loopback, monite)
    assert all(isinstance(r, ClientStateError) for r in results), [type(r) for r in results]
    assert loopback.count("POST", "/auth/token") == 1  # only the first token
    # Each refresh after the close fails before anything is sent.
    assert fetches[0] >= 2


async def test_calls_cut_by_aclose_are_not_retried_on_the_closed_client(loopback: LoopbackServer) -> None:
    # The client's own pool closes under the calls in flight: their attempts fail, and the
    # retry layer must not send them again through the closed transport.
    monite = loopback.client()
    results = await ten_calls_refused_after_aclose(loopback, monite)
    assert all(isinstance(r, ClientStateError) for r in results), [type(r) for r in results]
    assert loopback.count("GET", "/mailbox_domains") == 1 + 10
    assert loopback.count("POST", "/auth/token") == 1


async def test_a_fetch_failing_with_any_exception_is_shared_with_its_waiters() -> None:
    # Not only MoniteError: whatever the fetch raised, the callers that waited for it get
    # it too instead of each trying again.
    release = asyncio.Event()
    calls = 0

    async def failing_fetch() -> IssuedToken:
        nonlocal calls
        calls += 1
        await release.wait()
        raise RuntimeError("Cannot send a request, as the client has been closed.")

    provider = ClientCredentialsProvider(failing_fetch, client_secret="s")
    waiting = [asyncio.ensure_future(provider.get()) for _ in range(10)]
    for _ in range(100):  # let every task reach the lock (bounded)
        await asyncio.sleep(0)
    release.set()
    results = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), timeout=5)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert calls == 1
