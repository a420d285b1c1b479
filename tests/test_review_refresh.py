"""Review findings on refreshing: "once" must hold for tokens without a usable lifetime, and
a failed early refresh must not throw away a token that is still valid."""

from __future__ import annotations

import asyncio

import httpx
from loopback_server import LoopbackServer

SMALL_POOL = httpx.Limits(max_connections=5, max_keepalive_connections=5)


async def test_tokens_that_expire_at_once_are_still_fetched_once_for_concurrent_callers(
    loopback: LoopbackServer,
) -> None:
    # expires_in 0: each token is due as soon as it arrives. The callers waiting while it
    # was fetched must take it, not fetch one each in turn.
    loopback.default_lifetime = 0
    async with loopback.client(limits=SMALL_POOL) as monite:
        results = await asyncio.gather(*(monite.mailbox_domains.list() for _ in range(50)))
        assert results == [[]] * 50
        assert loopback.count("POST", "/auth/token") == 1
        # A later call (not waiting on that fetch) gets a new one: the token is over.
        await monite.mailbox_domains.list()
    assert loopback.count("POST", "/auth/token") == 2
    assert loopback.count("GET", "/mailbox_domains") == 51
