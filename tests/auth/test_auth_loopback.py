"""Token fetch, proactive refresh, refresh-once under concurrency, replay after a stale token,
bad credentials and cancellation: over real sockets, with exact request counts."""

from __future__ import annotations

import logging

import anyio
import anyio.lowlevel
import httpx2
import pytest
from anyio_tasks import gather, spawn
from loopback_server import CLIENT_ID, CLIENT_SECRET, STALE_MESSAGE, LoopbackServer, Recorded, Reply, error

from monite_async import (
    AuthenticationError,
    ConfigurationError,
    MoniteClient,
    MoniteConnectionError,
    MoniteTimeoutError,
    PermissionDeniedError,
    RetryPolicy,
    ServerError,
    UnexpectedResponseError,
)
from monite_async._auth.tokens import CredentialsCache, IssuedToken
from monite_async._flow.drive import AsyncPrimitive
from monite_async._http.answers import is_stale_token

pytestmark = [pytest.mark.event_loops("asyncio", "trio"), pytest.mark.sync_client]

SMALL_POOL = httpx2.Limits(max_connections=10, max_keepalive_connections=10)


def bearer_tokens(server: LoopbackServer, method: str, path: str) -> list[str]:
    return [r.headers.get("authorization", "") for r in server.recorded(method, path)]


async def test_token_is_fetched_lazily_once_and_reused(loopback: LoopbackServer) -> None:
    async with loopback.client() as monite:
        assert loopback.count() == 0  # constructing and entering sends nothing
        for _ in range(3):
            await monite.mailbox_domains.list()
    assert loopback.count("POST", "/auth/token") == 1
    token_request = loopback.recorded("POST", "/auth/token")[0]
    assert token_request.json() == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert token_request.headers["content-type"] == "application/json"
    assert "authorization" not in token_request.headers
    assert len(set(bearer_tokens(loopback, "GET", "/mailbox_domains"))) == 1


async def test_thousand_tasks_at_expiry_cause_exactly_one_token_request(loopback: LoopbackServer) -> None:
    loopback.token_lifetimes.append(0)  # the first token is due for refresh as soon as it arrives
    async with loopback.client(limits=SMALL_POOL) as monite:
        await monite.mailbox_domains.list()
        assert loopback.count("POST", "/auth/token") == 1
        results = await gather(*(monite.mailbox_domains.list() for _ in range(1000)))
    assert len(results) == 1000
    assert loopback.count("POST", "/auth/token") == 2
    assert loopback.count("GET", "/mailbox_domains") == 1001
    used = bearer_tokens(loopback, "GET", "/mailbox_domains")
    assert len(set(used[1:])) == 1  # all 1,000 used the one refreshed token
    assert used[1] != used[0]


@pytest.mark.parametrize(("tasks", "pool_size"), [(1000, 10), (100, 2)])
async def test_many_tasks_rejected_at_once_refresh_once_with_a_small_pool(
    loopback: LoopbackServer, tasks: int, pool_size: int
) -> None:
    # With every pooled connection held by a caller waiting for the refresh, the refresh
    # itself could never get one: rejected answers must be read and closed before waiting.
    # (Pool of 2: a flow that holds them deadlocks here; with 10, httpcore2 hides it more.)
    limits = httpx2.Limits(max_connections=pool_size, max_keepalive_connections=pool_size)
    async with loopback.client(limits=limits, timeout=10.0) as monite:
        await monite.mailbox_domains.list()
        loopback.revoke_all_tokens()  # every request in flight now meets 401
        results = await gather(*(monite.mailbox_domains.list() for _ in range(tasks)))
    assert results == [[]] * tasks
    assert loopback.count("POST", "/auth/token") == 2  # the first fetch and exactly one refresh
    # 1 warm-up + one attempt each + a replay for each attempt that met 401. Requests are
    # signed as they go out, so only those on the wire when the tokens were revoked (at most
    # the pool's connections, and those that took a freed one before the refresh began)
    # carried the old token; each of them was replayed once, the rest needed no replay.
    replays = loopback.count("GET", "/mailbox_domains") - 1 - tasks
    assert 1 <= replays <= 2 * pool_size


async def test_401_refreshes_once_and_replays_once(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", error(401, "Unauthorized"))
    async with loopback.client() as monite:
        assert await monite.mailbox_domains.list() == []
    assert loopback.count("POST", "/auth/token") == 2
    assert loopback.count("GET", "/mailbox_domains") == 2
    first, replay = bearer_tokens(loopback, "GET", "/mailbox_domains")
    assert first != replay


async def test_each_token_fetch_is_logged_with_its_reason_and_never_the_token(
    loopback: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    loopback.script("GET", "/mailbox_domains", error(401, "Unauthorized"))
    with caplog.at_level(logging.DEBUG, logger="monite_async"):
        async with loopback.client() as monite:
            await monite.mailbox_domains.list()
    fetched = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("Fetched a Monite access token")
    ]
    assert len(fetched) == 2
    assert "(no token yet)" in fetched[0]
    assert "(Monite refused the token)" in fetched[1]
    sent = {token.removeprefix("Bearer ") for token in bearer_tokens(loopback, "GET", "/mailbox_domains")}
    assert len(sent) == 2
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert CLIENT_SECRET not in text
        assert not any(token in text for token in sent)


async def test_second_401_raises_authentication_error(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", error(401, "Unauthorized"), error(401, "Still unauthorized"))
    async with loopback.client() as monite:
        with pytest.raises(AuthenticationError) as info:
            await monite.mailbox_domains.list()
    assert info.value.status_code == 401
    assert info.value.message == "Still unauthorized"
    assert loopback.count("POST", "/auth/token") == 2
    assert loopback.count("GET", "/mailbox_domains") == 2


@pytest.mark.parametrize("status", [400, 403])
async def test_monites_stale_token_message_on_400_or_403_is_a_stale_token(
    loopback: LoopbackServer, status: int
) -> None:
    loopback.stale_status = status
    async with loopback.client() as monite:
        await monite.mailbox_domains.list()
        loopback.revoke_all_tokens()
        assert await monite.mailbox_domains.list() == []
    assert loopback.count("POST", "/auth/token") == 2
    assert loopback.count("GET", "/mailbox_domains") == 3


async def test_stale_message_twice_raises_authentication_error(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", error(400, STALE_MESSAGE), error(400, STALE_MESSAGE))
    async with loopback.client() as monite:
        with pytest.raises(AuthenticationError) as info:
            await monite.mailbox_domains.list()
    assert info.value.status_code == 400
    assert loopback.count("POST", "/auth/token") == 2
    assert loopback.count("GET", "/mailbox_domains") == 2


async def test_403_without_a_token_message_is_permission_denied_without_refresh(
    loopback: LoopbackServer,
) -> None:
    loopback.script("GET", "/mailbox_domains", error(403, "This partner may not manage mailbox domains"))
    async with loopback.client() as monite:
        with pytest.raises(PermissionDeniedError):
            await monite.mailbox_domains.list()
    assert loopback.count("POST", "/auth/token") == 1
    assert loopback.count("GET", "/mailbox_domains") == 1


async def test_bad_credentials_raise_at_once(loopback: LoopbackServer) -> None:
    async with loopback.client(client_secret="wrong-secret-abc123") as monite:
        with pytest.raises(AuthenticationError) as info:
            await monite.mailbox_domains.list()
    assert loopback.count("POST", "/auth/token") == 1
    assert loopback.count("GET", "/mailbox_domains") == 0
    assert info.value.status_code == 401
    assert info.value.operation == "post_auth_token"
    for text in (str(info.value), repr(info.value), info.value.message):
        assert "wrong-secret-abc123" not in text


async def test_422_from_token_endpoint_is_bad_credentials_with_the_echoed_secret_redacted(
    loopback: LoopbackServer,
) -> None:
    echoed = {
        "detail": [
            {"loc": ["body", "client_secret"], "msg": "bad", "type": "value_error", "input": CLIENT_SECRET}
        ]
    }
    loopback.script("POST", "/auth/token", Reply(422, json=echoed))
    async with loopback.client() as monite:
        with pytest.raises(AuthenticationError) as info:
            await monite.mailbox_domains.list()
    assert loopback.count("POST", "/auth/token") == 1
    assert CLIENT_SECRET.encode() not in info.value.content
    assert b"[redacted]" in info.value.content
    assert CLIENT_SECRET not in str(info.value)


async def test_token_request_is_retried_like_any_other(
    loopback: LoopbackServer, instant_retries: None
) -> None:
    loopback.script("POST", "/auth/token", Reply(500, json={"error": {"message": "boom"}}), Reply(drop=True))
    async with loopback.client() as monite:
        assert await monite.mailbox_domains.list() == []
    assert loopback.count("POST", "/auth/token") == 3
    assert loopback.count("GET", "/mailbox_domains") == 1


@pytest.mark.async_only(
    "cancels a task; a blocking call cannot be cancelled (its deadline bounds it instead)"
)
async def test_cancelling_a_refresh_leaves_no_stuck_lock(loopback: LoopbackServer) -> None:
    loopback.script("POST", "/auth/token", Reply(delay=30))
    async with loopback.client() as monite, anyio.create_task_group() as tg:
        task = spawn(tg, monite.mailbox_domains.list())
        await loopback.wait_for("POST", "/auth/token", 1)
        task.cancel()
        await task.wait()
        assert task.cancelled  # it ended in anyio.get_cancelled_exc_class()
        # The next call must find the lock free and no half-set token: it fetches and works.
        with anyio.fail_after(10):
            assert await monite.mailbox_domains.list() == []
        lock = monite._core.flow.tokens.lock
        assert isinstance(lock, AsyncPrimitive)
        assert lock.free == 1
    assert loopback.count("POST", "/auth/token") == 2
    assert loopback.count("GET", "/mailbox_domains") == 1


@pytest.mark.async_only(
    "cancels a task; a blocking call cannot be cancelled (its deadline bounds it instead)"
)
async def test_cancelling_the_refreshing_task_lets_waiting_callers_refresh_once(
    loopback: LoopbackServer,
) -> None:
    loopback.script("POST", "/auth/token", Reply(delay=30))
    async with loopback.client() as monite, anyio.create_task_group() as tg:
        refreshing = spawn(tg, monite.mailbox_domains.list())
        await loopback.wait_for("POST", "/auth/token", 1)
        waiting = [spawn(tg, monite.mailbox_domains.list()) for _ in range(5)]
        await anyio.lowlevel.checkpoint()  # let them queue on the lock
        refreshing.cancel()
        with anyio.fail_after(10):
            results = [await task.result() for task in waiting]
        await refreshing.wait()
        assert refreshing.cancelled
    assert results == [[]] * 5
    assert loopback.count("POST", "/auth/token") == 2
    assert loopback.count("GET", "/mailbox_domains") == 5


async def test_static_token_is_sent_and_a_rejection_raises_without_token_requests(
    loopback: LoopbackServer,
) -> None:
    async with loopback.client(token="app-managed-token-xyz") as monite:
        with pytest.raises(AuthenticationError) as info:
            await monite.mailbox_domains.list()
    assert loopback.count("POST", "/auth/token") == 0
    assert bearer_tokens(loopback, "GET", "/mailbox_domains") == ["Bearer app-managed-token-xyz"]
    assert "app-managed-token-xyz" not in str(info.value) + repr(info.value)


@pytest.mark.async_only("an async token callable; MoniteSyncClient refuses one when it is made")
async def test_async_callable_token_is_awaited_and_asked_again_after_a_rejection(
    loopback: LoopbackServer,
) -> None:
    loopback.valid_tokens.add("second-token")
    handed_out: list[str] = []

    async def get_token() -> str:
        handed_out.append("first-token" if not handed_out else "second-token")
        return handed_out[-1]

    async with loopback.client(token=get_token) as monite:
        assert await monite.mailbox_domains.list() == []
    assert handed_out == ["first-token", "second-token"]
    assert bearer_tokens(loopback, "GET", "/mailbox_domains") == ["Bearer first-token", "Bearer second-token"]


async def test_revoke_revokes_the_cached_token_and_the_next_call_fetches_a_new_one(
    loopback: LoopbackServer,
) -> None:
    async with loopback.client() as monite:
        assert await monite.auth.revoke() is False  # nothing cached: nothing sent
        assert loopback.count() == 0
        await monite.mailbox_domains.list()
        (first,) = loopback.valid_tokens
        assert await monite.auth.revoke() is True
        assert loopback.valid_tokens == set()
        await monite.mailbox_domains.list()
    revoke = loopback.recorded("POST", "/auth/revoke")[0]
    assert revoke.json() == {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": first}
    assert revoke.headers["authorization"] == f"Bearer {first}"
    assert loopback.count("POST", "/auth/token") == 2


async def test_revoke_needs_client_credentials(loopback: LoopbackServer) -> None:
    async with loopback.client(token="fixed") as monite:
        with pytest.raises(ConfigurationError):
            await monite.auth.revoke()


def test_refresh_margin_is_a_capped_fraction_of_the_lifetime() -> None:
    now = [1000.0]
    provider = CredentialsCache(client_secret="s", lock=AsyncPrimitive(1), clock=lambda: now[0])
    plan = provider.plan(0, provider.generation)
    assert isinstance(plan, str)  # why to fetch
    first = provider.fetched(plan, IssuedToken("t1", 86400.0), now[0])
    assert first.refresh_at == 1000.0 + 86400 - 300  # 10 % would be 8,640 s: capped at 300 s
    now[0] = first.refresh_at - 0.001
    assert provider.ready(0) is first
    now[0] = first.refresh_at  # inside the margin, before expiry: refresh now
    assert provider.ready(0) is None
    plan = provider.plan(0, provider.generation)
    assert isinstance(plan, str)  # why to fetch
    second = provider.fetched(plan, IssuedToken("t2", 100.0), now[0])
    assert second is not first
    assert second.refresh_at == pytest.approx(now[0] + 100 - 10)  # 10 % of a 100 s lifetime
    assert "t2" not in repr(second)
    assert "t2" not in repr(provider)


async def test_a_plain_function_returning_a_token_works_too(loopback: LoopbackServer) -> None:
    loopback.valid_tokens.add("sync-token")
    async with loopback.client(token=lambda: "sync-token") as monite:
        assert await monite.mailbox_domains.list() == []
    assert bearer_tokens(loopback, "GET", "/mailbox_domains") == ["Bearer sync-token"]


def token_callable(loopback: LoopbackServer, value: str) -> object:
    """A token callable returning `value`: async for MoniteClient, plain for MoniteSyncClient."""
    if loopback.backend == "sync":
        return lambda: value

    async def returning() -> str:
        return value

    return returning


async def test_a_token_callable_returning_nonsense_is_a_configuration_error(loopback: LoopbackServer) -> None:
    async with loopback.client(token=token_callable(loopback, "")) as monite:
        with pytest.raises(ConfigurationError, match="non-empty str"):
            await monite.mailbox_domains.list()
    assert loopback.count() == 0


SIMULTANEOUS = (
    "premise: every caller's call began before the token answer came (one event-loop turn); "
    "threads start one by one: the blocking client's storms are in tests/auth/test_sync_threads.py"
)


@pytest.mark.async_only(SIMULTANEOUS)
async def test_a_failing_token_endpoint_is_asked_once_for_all_waiting_callers(
    loopback: LoopbackServer, instant_retries: None
) -> None:
    down = error(500, "auth is down")
    loopback.script("POST", "/auth/token", down, down, down)
    async with loopback.client() as monite:
        results = await gather(*(monite.mailbox_domains.list() for _ in range(50)), return_exceptions=True)
        assert all(isinstance(r, ServerError) for r in results)
        assert {r.operation for r in results if isinstance(r, ServerError)} == {"post_auth_token"}
        # One fetch (first attempt + 2 retries) for all 50 callers, not one per caller.
        assert loopback.count("POST", "/auth/token") == 3
        # A later call is not stuck with the old failure: it asks again, and succeeds.
        assert await monite.mailbox_domains.list() == []
    assert loopback.count("POST", "/auth/token") == 4
    assert loopback.count("GET", "/mailbox_domains") == 1


@pytest.mark.async_only(SIMULTANEOUS)
async def test_a_failing_token_request_fails_the_callers_queued_for_a_connection_too(
    loopback: LoopbackServer, instant_retries: None
) -> None:
    # 100 callers through 10 connections: 9 wait on the token lock, 90 for a connection.
    # Those 90 were waiting too: they share the failure instead of fetching again, wave by wave.
    loopback.script("POST", "/auth/token", *[error(500, "auth is down")] * 3)
    async with loopback.client(limits=SMALL_POOL) as monite:
        results = await gather(*(monite.mailbox_domains.list() for _ in range(100)), return_exceptions=True)
        assert [type(r) for r in results] == [ServerError] * 100
        assert loopback.count("POST", "/auth/token") == 3  # one fetch, retried
        assert await monite.mailbox_domains.list() == []  # a call begun after it asks again
    assert loopback.count("POST", "/auth/token") == 4


async def test_a_malformed_access_token_is_a_typed_error_that_does_not_quote_it(
    loopback: LoopbackServer,
) -> None:
    bad = "secret part\r\nx-injected: 1"
    loopback.script(
        "POST", "/auth/token", Reply(200, json={"access_token": bad, "expires_in": 60, "token_type": "x"})
    )
    async with loopback.client() as monite:
        with pytest.raises(UnexpectedResponseError, match="characters a bearer token cannot have") as info:
            await monite.mailbox_domains.list()
    assert "secret part" not in str(info.value) + repr(info.value)
    assert loopback.count("GET", "/mailbox_domains") == 0


async def test_a_token_callable_returning_a_header_breaking_value_is_refused(
    loopback: LoopbackServer,
) -> None:
    async with loopback.client(token=token_callable(loopback, "abc\ndef")) as monite:
        with pytest.raises(ConfigurationError, match="printable ASCII"):
            await monite.mailbox_domains.list()
    assert loopback.count() == 0


# --------------------------------------------------------------------------------
# Refreshing: "once" must hold for tokens without a usable lifetime, and
# a failed early refresh must not throw away a token that is still valid.


FIVE_CONNECTIONS = httpx2.Limits(max_connections=5, max_keepalive_connections=5)


async def no_wait(seconds: float) -> None:
    return None


@pytest.mark.async_only(SIMULTANEOUS)
async def test_tokens_that_expire_at_once_are_still_fetched_once_for_concurrent_callers(
    loopback: LoopbackServer,
) -> None:
    # expires_in 0: each token is due as soon as it arrives. The callers waiting while it
    # was fetched must take it, not fetch one each in turn.
    loopback.default_lifetime = 0
    async with loopback.client(limits=FIVE_CONNECTIONS) as monite:
        results = await gather(*(monite.mailbox_domains.list() for _ in range(50)))
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
    provider = monite._core.flow.tokens
    assert isinstance(provider, CredentialsCache)  # either client's
    provider.clock = clock


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
        results = await gather(*(monite.mailbox_domains.list() for _ in range(10)))
        assert results == [[]] * 10
        assert loopback.count("POST", "/auth/token") == 1 + 3  # one fetch (3 attempts), not ten
        assert set(bearers(loopback)) == {f"Bearer {first}"}

        # During the outage nobody asks again at once: the next try waits min(30, 5 / 2) s.
        await gather(*(monite.mailbox_domains.list() for _ in range(5)))
        clock.now = 97.0
        await monite.mailbox_domains.list()
        assert loopback.count("POST", "/auth/token") == 4

        clock.now = 98.0  # past the pause: one caller tries again, and it works now
        await gather(*(monite.mailbox_domains.list() for _ in range(5)))
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


@pytest.mark.async_only(SIMULTANEOUS)
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
        results = await gather(*(monite.mailbox_domains.list() for _ in range(10)), return_exceptions=True)
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


# --------------------------------------------------------------------------------
# A failure shared by many callers reaches each as its own exception object
# (same type and fields), so one caller's handling (or traceback) never shows in another's.


@pytest.mark.async_only(SIMULTANEOUS)
async def test_each_waiter_gets_its_own_copy_of_a_shared_token_failure(loopback: LoopbackServer) -> None:
    loopback.script("POST", "/auth/token", *[Reply(503, json={"error": {"message": "down"}})] * 3)
    async with loopback.client(retry_policy=RetryPolicy(sleep=no_wait)) as monite:
        results = await gather(*(monite.mailbox_domains.list() for _ in range(10)), return_exceptions=True)
    assert loopback.count("POST", "/auth/token") == 3  # one fetch, retried
    assert all(type(r) is ServerError for r in results)
    assert len({id(r) for r in results}) == 10
    first = results[0]
    assert isinstance(first, ServerError)
    for r in results:
        assert isinstance(r, ServerError)
        assert (r.message, r.status_code, r.request_id, r.attempts, r.operation, r.content) == (
            first.message,
            first.status_code,
            first.request_id,
            first.attempts,
            first.operation,
            first.content,
        )
        assert r.__cause__ is None


@pytest.mark.async_only(SIMULTANEOUS)
async def test_each_waiter_gets_its_own_connection_error(loopback: LoopbackServer) -> None:
    loopback.script("POST", "/auth/token", *[Reply(drop=True)] * 3)
    async with loopback.client(retry_policy=RetryPolicy(sleep=no_wait)) as monite:
        results = await gather(*(monite.mailbox_domains.list() for _ in range(10)), return_exceptions=True)
    assert loopback.count("POST", "/auth/token") == 3
    assert all(type(r) is MoniteConnectionError for r in results)
    assert len({id(r) for r in results}) == 10
    for r in results:
        assert isinstance(r, MoniteConnectionError)
        assert r.attempts == 3
        assert r.operation == "post_auth_token"
        assert r.args == (r.message,)
        assert r.__cause__ is None
        assert r.__context__ is None


# --------------------------------------------------------------------------------
# Only Monite's documented stale-token wording ("revoked, expired or not
# found") means "refresh the token"; a 403 about a token's scope is a permission error.


async def test_a_403_token_invalid_for_this_scope_is_permission_denied_without_a_refresh(
    loopback: LoopbackServer,
) -> None:
    async with loopback.client() as monite:
        await monite.mailbox_domains.list()
        loopback.script("GET", "/mailbox_domains", error(403, "token invalid for this scope"))
        with pytest.raises(PermissionDeniedError) as info:
            await monite.mailbox_domains.list()
    assert type(info.value) is PermissionDeniedError
    assert info.value.status_code == 403
    assert info.value.message == "token invalid for this scope"
    assert loopback.count("POST", "/auth/token") == 1  # no refresh
    assert loopback.count("GET", "/mailbox_domains") == 2  # no replay


def is_stale_token_response(status: int, body: bytes) -> bool:
    return is_stale_token(httpx2.Response(status, content=body))


def test_only_the_documented_wording_is_stale() -> None:
    body = b'{"error": {"message": "%s"}}'
    assert is_stale_token_response(400, body % b"The token has been revoked, expired or not found.")
    assert is_stale_token_response(403, body % b"Token expired")
    assert not is_stale_token_response(403, body % b"token invalid for this scope")
    assert not is_stale_token_response(400, body % b"invalid token format for entity")


# --------------------------------------------------------------------------------
# The token cache is shared by every caller: one caller's deadline, cancellation or
# timing never becomes another's failure, and a definite failure is shared with every
# call that was already under way when it ended.


async def test_a_short_deadline_fails_only_its_own_call_not_those_waiting_for_the_token(
    loopback: LoopbackServer,
) -> None:
    loopback.script("POST", "/auth/token", Reply(delay=30))  # the first token request hangs
    async with loopback.client() as monite, anyio.create_task_group() as tg:
        impatient = spawn(tg, monite.with_options(deadline=0.5).mailbox_domains.create("a.example.com"))
        await loopback.wait_for("POST", "/auth/token", 1)
        patient = [spawn(tg, monite.mailbox_domains.create(f"p{i}.example.com")) for i in range(3)]
        with anyio.fail_after(10):
            created = [await task.result() for task in patient]
        await impatient.wait()
        assert not impatient.cancelled
        with pytest.raises(MoniteTimeoutError):
            await impatient.result()
    assert sorted(domain.domain for domain in created) == [
        "p0.example.com",
        "p1.example.com",
        "p2.example.com",
    ]
    # The impatient call's fetch gave up with it; the next waiter fetched, once for all three.
    assert loopback.count("POST", "/auth/token") == 2
    assert loopback.count("POST", "/mailbox_domains") == 3


@pytest.mark.async_only(SIMULTANEOUS)  # threads: tests/auth/test_sync_token_cache.py
async def test_a_failing_token_endpoint_fails_every_queued_call_with_one_fetch(
    loopback: LoopbackServer, instant_retries: None
) -> None:
    # 40 calls, 4 connections: the calls queued for a connection while the fetch failed
    # began before it ended, so they share its failure instead of fetching wave by wave.
    loopback.script("POST", "/auth/token", *[error(500, "auth is down")] * 100)
    four = httpx2.Limits(max_connections=4, max_keepalive_connections=4)
    async with loopback.client(limits=four) as monite:
        results = await gather(*(monite.mailbox_domains.list() for _ in range(40)), return_exceptions=True)
    assert all(isinstance(r, ServerError) and r.operation == "post_auth_token" for r in results)
    assert loopback.count("POST", "/auth/token") == 3  # one fetch: its attempt and 2 retries
    assert loopback.count("GET", "/mailbox_domains") == 0


async def test_a_replay_is_not_signed_with_a_replacement_that_went_stale_while_it_waited(
    loopback: LoopbackServer,
) -> None:
    clock = FakeClock()
    loopback.valid_tokens.add("loopback-replacement")

    def replacement(request: Recorded) -> Reply:
        # Handed out, then the replay waits (for a slot, the window, the pacer) past its refresh point.
        clock.now += 1000.0
        return Reply(
            200, json={"access_token": "loopback-replacement", "expires_in": 100, "token_type": "Bearer"}
        )

    async with loopback.client() as monite:
        use_clock(monite, clock)
        await monite.mailbox_domains.list()
        loopback.revoke_all_tokens()
        loopback.valid_tokens.add("loopback-replacement")
        loopback.script("POST", "/auth/token", replacement)
        assert await monite.mailbox_domains.list() == []
    first, refused, replay = bearers(loopback)
    assert first == refused
    assert replay not in (first, "Bearer loopback-replacement")  # signed with a token fetched as it went out
    assert loopback.count("POST", "/auth/token") == 3
