"""MoniteSyncClient shared by many threads, over real sockets on 127.0.0.1: exactly one token
request per expiry or refusal however many threads wait, a failed token request reaching
every waiting thread as its typed error with no lock left held, the deadline bounding every
wait, close() under queued threads, and no event loop to care about.

Every thread is joined within a bound; every wait for a condition is bounded in count and
time. Storms that need every thread waiting before the token request is answered hold that
answer on the wire (`Reply(hold=...)`) until the client's own slot semaphore and token lock
(counted, see `Counted`) show that all of them are queued.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
import trio
from loopback_server import LoopbackServer, Reply, error

from monite_async import (
    AuthenticationError,
    ClientStateError,
    ConfigurationError,
    MoniteSyncClient,
    MoniteTimeoutError,
    RetryPolicy,
    ServerError,
)
from monite_async._auth.tokens import CredentialsCache as SyncClientCredentialsProvider

POOL = httpx2.Limits(max_connections=10, max_keepalive_connections=10)
THREADS = 200
JOIN_TIMEOUT = 60.0  # for all threads of a test together
WAIT_STEPS, WAIT_STEP = 2000, 0.005  # at most 10 s of polling for a condition


def make(server: LoopbackServer, **options: Any) -> MoniteSyncClient:
    return server.sync_client(**options)


def in_threads(count: int, call: Callable[[], Any]) -> list[Any]:
    """`call()` in `count` threads released together; each one's result or exception, in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait(JOIN_TIMEOUT)
        try:
            results[index] = call()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    ends = time.monotonic() + JOIN_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, ends - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "threads still running"
    return results


def started(count: int, call: Callable[[], Any]) -> tuple[list[Any], Callable[[], None]]:
    """`in_threads` in the background: the results list (filled when done) and a join."""
    results: list[Any] = []
    runner = threading.Thread(target=lambda: results.extend(in_threads(count, call)), daemon=True)
    runner.start()

    def join() -> None:
        runner.join(JOIN_TIMEOUT + 5)
        assert not runner.is_alive()

    return results, join


def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(WAIT_STEPS):
        if condition():
            return
        time.sleep(WAIT_STEP)
    raise AssertionError(f"never happened: {what}")


class Counted:
    """A lock or the connection slots of the client, counting the threads that came to take
    it (`acquire`, or `take` a free one); everything else goes to the object underneath."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.threads: set[int] = set()
        self._guard = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _came(self) -> None:
        with self._guard:
            self.threads.add(threading.get_ident())

    def acquire(self, *args: Any, **kwargs: Any) -> bool:
        self._came()
        return bool(self.inner.acquire(*args, **kwargs))

    def take(self, holder: object) -> bool:
        self._came()
        return bool(self.inner.take(holder))

    def release(self, holder: object) -> None:
        self.inner.release(holder)

    def locked(self) -> bool:
        return bool(self.inner.free == 0)


def counted(monite: MoniteSyncClient) -> tuple[Counted, Counted]:
    """The client's connection slots and its token lock, counted (same objects underneath)."""
    core = monite._core
    provider = core.flow.tokens
    assert isinstance(provider, SyncClientCredentialsProvider)
    slots, lock = Counted(core.flow.slots), Counted(provider.lock)
    core.flow.slots, provider.lock = slots, lock  # type: ignore[assignment]
    return slots, lock


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def bearers(server: LoopbackServer) -> list[str]:
    return [r.headers["authorization"] for r in server.recorded("GET", "/mailbox_domains")]


# --------------------------------------------------------------------------------
# Exactly one token request per expiry or refusal.


def test_200_threads_at_token_expiry_through_10_connections_cause_exactly_one_token_request(
    server: LoopbackServer,
) -> None:
    clock = Clock()
    server.token_lifetimes.append(100)  # refreshed from t=90
    with make(server, limits=POOL) as monite:
        provider = monite._core.flow.tokens
        assert isinstance(provider, SyncClientCredentialsProvider)
        provider.clock = clock
        monite.mailbox_domains.list()
        clock.now = 95.0  # due: every thread finds it so
        results = in_threads(THREADS, monite.mailbox_domains.list)
        assert provider.lock.free == 1  # type: ignore[union-attr]
    assert results == [[]] * THREADS
    assert server.count("POST", "/auth/token") == 2  # the first, and exactly one refresh
    assert server.count("GET", "/mailbox_domains") == 1 + THREADS
    used = bearers(server)
    assert len(set(used[1:])) == 1
    assert used[1] != used[0]


def test_200_threads_meeting_a_revoked_token_cause_exactly_one_token_request(server: LoopbackServer) -> None:
    with make(server, limits=POOL, timeout=10.0) as monite:
        monite.mailbox_domains.list()
        server.revoke_all_tokens()
        results = in_threads(THREADS, monite.mailbox_domains.list)
    assert results == [[]] * THREADS
    assert server.count("POST", "/auth/token") == 2
    # Only requests on the wire with the old token were refused and replayed (see the
    # async suite's twin): at most two pools' worth.
    replays = server.count("GET", "/mailbox_domains") - 1 - THREADS
    assert 1 <= replays <= 2 * POOL.max_connections  # type: ignore[operator]


# --------------------------------------------------------------------------------
# A token request that fails reaches every waiting thread; nothing stays locked.


def failed_token_storm(server: LoopbackServer, monite: MoniteSyncClient, *answers: Reply) -> list[Any]:
    """200 threads through 10 slots, all queued (9 on the token lock, 190 on the slots)
    while the token request is held; then it is answered with `answers` (its attempts)."""
    hold = threading.Event()
    answers[0].hold = hold
    server.script("POST", "/auth/token", *answers)
    slots, lock = counted(monite)
    results, join = started(THREADS, monite.mailbox_domains.list)
    try:
        until(lambda: len(slots.threads) == THREADS, "every thread at the connection slots")
        until(lambda: len(lock.threads) == POOL.max_connections, "every slot holder at the token lock")
        until(lambda: server.count("POST", "/auth/token") == 1, "the token request held on the wire")
    finally:
        hold.set()
        join()
    assert not lock.locked()
    return results


def test_a_token_request_failing_with_500s_fails_every_waiting_thread_and_the_next_call_works(
    server: LoopbackServer, instant_retries: None
) -> None:
    with make(server, limits=POOL) as monite:
        results = failed_token_storm(server, monite, *[error(500, "auth is down") for _ in range(3)])
        assert all(type(r) is ServerError for r in results), {type(r).__name__ for r in results}
        assert {r.operation for r in results} == {"post_auth_token"}
        assert len({id(r) for r in results}) == THREADS  # each thread its own exception
        assert server.count("POST", "/auth/token") == 3  # one fetch, retried: not one per wave
        assert server.count("GET", "/mailbox_domains") == 0
        assert monite.mailbox_domains.list() == []  # no held lock, no half-set token
    assert server.count("POST", "/auth/token") == 4


def test_a_token_request_refused_with_401_fails_every_waiting_thread_and_the_next_call_works(
    server: LoopbackServer,
) -> None:
    with make(server, limits=POOL) as monite:
        results = failed_token_storm(server, monite, error(401, "Wrong client credentials"))
        assert all(type(r) is AuthenticationError for r in results), {type(r).__name__ for r in results}
        assert server.count("POST", "/auth/token") == 1
        assert monite.mailbox_domains.list() == []
    assert server.count("POST", "/auth/token") == 2
    assert server.count("GET", "/mailbox_domains") == 1


# --------------------------------------------------------------------------------
# The call's deadline bounds a thread's wait for a slot or for another thread's token fetch.


def test_the_deadline_bounds_a_thread_waiting_for_a_connection_slot(server: LoopbackServer) -> None:
    one = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
    with make(server, limits=one, timeout=10.0) as monite:
        monite.mailbox_domains.list()
        hold = threading.Event()
        server.script("GET", "/mailbox_domains", Reply(200, json={"data": []}, hold=hold))
        first, join = started(1, monite.mailbox_domains.list)
        try:
            until(lambda: server.count("GET", "/mailbox_domains") == 2, "the first call on the wire")
            began = time.monotonic()
            # The slot wait's pool timeout is shrunk to the deadline: a timeout, as on MoniteClient.
            with pytest.raises(MoniteTimeoutError):
                monite.with_options(deadline=0.5).mailbox_domains.list()
            waited = time.monotonic() - began
        finally:
            hold.set()
            join()
    assert 0.4 <= waited < 3.0
    assert first == [[]]
    assert server.count("GET", "/mailbox_domains") == 2  # the bounded call never went out


def test_the_deadline_bounds_a_thread_waiting_for_another_threads_token_fetch(
    server: LoopbackServer,
) -> None:
    hold = threading.Event()
    server.script("POST", "/auth/token", Reply(hold=hold, **token_answer(server)))
    with make(server, timeout=10.0) as monite:
        fetching, join = started(1, monite.mailbox_domains.list)
        try:
            until(lambda: server.count("POST", "/auth/token") == 1, "the token request on the wire")
            began = time.monotonic()
            with pytest.raises(MoniteTimeoutError, match=r"deadline of 0\.5 s"):
                monite.with_options(deadline=0.5).mailbox_domains.list()
            waited = time.monotonic() - began
        finally:
            hold.set()
            join()
        assert fetching == [[]]
        assert monite.mailbox_domains.list() == []  # the lock was released: the token is cached
    assert 0.4 <= waited < 3.0
    assert server.count("POST", "/auth/token") == 1


def token_answer(server: LoopbackServer) -> dict[str, Any]:
    token = "held-token-1"
    server.valid_tokens.add(token)
    return {"status": 200, "json": {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}}


# --------------------------------------------------------------------------------
# close() with threads queued, and a client that has no event loop to belong to.


def test_close_while_threads_are_queued_gives_each_a_client_state_error(server: LoopbackServer) -> None:
    one = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
    monite = make(server, limits=one, timeout=10.0)
    monite.mailbox_domains.list()
    hold = threading.Event()
    server.script("GET", "/mailbox_domains", Reply(200, json={"data": []}, hold=hold))
    slots, _ = counted(monite)
    results, join = started(20, monite.mailbox_domains.list)
    try:
        until(lambda: len(slots.threads) == 20, "all 20 threads at the connection slot")
        until(lambda: server.count("GET", "/mailbox_domains") == 2, "the slot holder's request on the wire")
        monite.close()
    finally:
        hold.set()
        join()
    assert monite.closed
    queued = [r for r in results if r != []]
    assert len(queued) >= 19  # all but the one on the wire, whose answer may still arrive
    assert all(type(r) is ClientStateError for r in queued), {type(r).__name__ for r in queued}
    assert server.count("GET", "/mailbox_domains") == 2  # nothing queued went out after close
    with pytest.raises(ClientStateError, match="closed"):
        monite.mailbox_domains.list()


def test_one_client_used_from_several_event_loops_and_threads(server: LoopbackServer) -> None:
    async def in_a_loop(monite: MoniteSyncClient) -> object:
        return monite.mailbox_domains.list()  # blocking inside a loop: the client does not care

    with make(server) as monite:
        assert asyncio.run(in_a_loop(monite)) == []
        assert asyncio.run(in_a_loop(monite)) == []
        assert trio.run(in_a_loop, monite) == []
        assert in_threads(5, lambda: asyncio.run(in_a_loop(monite))) == [[]] * 5
        assert in_threads(5, monite.mailbox_domains.list) == [[]] * 5
        assert monite.mailbox_domains.list() == []
    assert server.count("POST", "/auth/token") == 1
    assert server.count("GET", "/mailbox_domains") == 3 + 5 + 5 + 1


class AsyncWaitRecorder:
    async def __call__(self, seconds: float) -> None:
        return None


async def async_wait(seconds: float) -> None:
    return None


@pytest.mark.parametrize("sleep", [async_wait, AsyncWaitRecorder()], ids=["function", "callable-object"])
def test_an_async_retry_sleep_is_refused_when_the_blocking_client_is_made(sleep: Any) -> None:
    # Called from a thread, it would return a coroutine nobody awaits: no wait at all.
    with pytest.raises(ConfigurationError, match=r"RetryPolicy\.sleep must be a plain function"):
        MoniteSyncClient(token="t", retry_policy=RetryPolicy(sleep=sleep))
