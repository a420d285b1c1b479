"""Review findings on refreshing: "once" must hold for tokens without a usable lifetime, and
a failed early refresh must not throw away a token that is still valid."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from loopback_server import CLIENT_SECRET, LoopbackServer, Reply

from monite_async import MoniteClient, RetryPolicy, ServerError
from monite_async._auth import ClientCredentialsProvider

SMALL_POOL = httpx.Limits(max_connections=5, max_keepalive_connections=5)


async def no_wait(seconds: float) -> None:
    return None


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


class FakeClock:
    """Monotonic time the test moves by hand (the provider's `clock`)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def use_clock(monite: MoniteClient, clock: FakeClock) -> None:
    provider = monite._provider
    assert isinstance(provider, ClientCredentialsProvider)
    provider._clock = clock


def bearers(server: LoopbackServer) -> list[str]:
    return [r.headers["authorization"] for r in server.recorded("GET", "/mailbox_domains")]


async def test_a_failed_early_refresh_keeps_the_valid_token_and_retries_later_once(
    loopback: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="monite_async")
    clock = FakeClock()
    loopback.token_lifetimes.append(100)  # refreshed from t=90 (10 % margin), expires at t=100
    async with loopback.client(retry_policy=RetryPolicy(sleep=no_wait)) as monite:
        use_clock(monite, clock)
        await monite.mailbox_domains.list()
        assert loopback.count("POST", "/auth/token") == 1
        (first,) = loopback.valid_tokens

        clock.now = 95.0  # due for refresh, 5 s still valid; the token endpoint is down
        loopback.script("POST", "/auth/token", *[Reply(503)] * 3)
        results = await asyncio.gather(*(monite.mailbox_domains.list() for _ in range(10)))
        assert results == [[]] * 10
        assert loopback.count("POST", "/auth/token") == 1 + 3  # one fetch (3 attempts), not ten
        assert set(bearers(loopback)) == {f"Bearer {first}"}

        # During the outage nobody asks again at once: the next try waits min(30, 5 / 2) s.
        await asyncio.gather(*(monite.mailbox_domains.list() for _ in range(5)))
        clock.now = 97.0
        await monite.mailbox_domains.list()
        assert loopback.count("POST", "/auth/token") == 4

        clock.now = 98.0  # past the pause: one caller tries again, and it works now
        await asyncio.gather(*(monite.mailbox_domains.list() for _ in range(5)))
        assert loopback.count("POST", "/auth/token") == 5
        assert bearers(loopback)[-1] != f"Bearer {first}"

    warnings = [r for r in caplog.records if r.name == "monite_async" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "refresh" in text
    for record in caplog.records:
        said = record.getMessage() + repr(vars(record))
        for secret in (CLIENT_SECRET, *loopback.valid_tokens, first):
            assert secret not in said


async def test_a_failed_refresh_without_a_valid_token_fails_every_waiter_with_one_fetch(
    loopback: LoopbackServer,
) -> None:
    clock = FakeClock()
    loopback.token_lifetimes.append(100)
    async with loopback.client(retry_policy=RetryPolicy(sleep=no_wait)) as monite:
        use_clock(monite, clock)
        await monite.mailbox_domains.list()
        clock.now = 100.0  # expired: nothing to fall back on
        loopback.script("POST", "/auth/token", *[Reply(503)] * 3)
        results = await asyncio.gather(
            *(monite.mailbox_domains.list() for _ in range(10)), return_exceptions=True
        )
    assert all(isinstance(r, ServerError) for r in results)
    assert loopback.count("POST", "/auth/token") == 1 + 3
    assert loopback.count("GET", "/mailbox_domains") == 1


async def test_a_rejected_token_is_never_kept_when_its_refresh_fails(loopback: LoopbackServer) -> None:
    clock = FakeClock()
    loopback.token_lifetimes.append(100)
    async with loopback.client(retry_policy=RetryPolicy(sleep=no_wait)) as monite:
        use_clock(monite, clock)
        await monite.mailbox_domains.list()
        clock.now = 95.0
        loopback.revoke_all_tokens()  # Monite refuses it although it has 5 s left
        # The early refresh fails (kept: not refused yet); the request meets 401; the refresh
        # after the refusal fails too, and then there is nothing to fall back on.
        loopback.script("POST", "/auth/token", *[Reply(503)] * 6)
        with pytest.raises(ServerError):
            await monite.mailbox_domains.list()
        assert loopback.count("POST", "/auth/token") == 1 + 3 + 3
        assert loopback.count("GET", "/mailbox_domains") == 2
        await monite.mailbox_domains.list()  # the refused token is gone: a new one is fetched
    assert loopback.count("POST", "/auth/token") == 1 + 3 + 3 + 1
