"""The Redis room (monite_async._redis) against a real redis-server: both faces, asyncio and trio.

`SharedState` runs on asyncio (redis.asyncio) and on trio (the blocking client in worker
threads); `SyncSharedState` is driven through the same async face here (`kind="sync"`),
each call blocking the test's loop, which is all a blocking client does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import multiprocessing
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
import redis
from redis_server import RedisServer
from redis_workers import BASE_URL, CLIENT_ID, SECRET, race_for_the_lock, shared

from monite_async._redis import Fence, SharedState, SharedToken, SyncSharedState
from monite_async._redis._room import _PAUSE, _WINDOW_MS, TIMEOUT

pytestmark = [pytest.mark.event_loops("asyncio", "trio"), pytest.mark.timeout(60)]
KINDS = ("async", "sync")
# How long a grant stays in the budget's log: Monite's second and a margin (1.05 s, pinned by
# test_a_unit_comes_back_a_margin_after_monites_second); no wait the budget answers is longer.
WINDOW = _WINDOW_MS / 1000
TOKEN = "tok-3f9a1c7e5b2d4f60a8e1c3b5d7f9a2c4"


class _Blocking:
    """A SyncSharedState behind SharedState's async method names."""

    def __init__(self, state: SyncSharedState) -> None:
        self.state = state

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.state, "close" if name == "aclose" else name)

        async def call(*args: Any) -> Any:
            return method(*args)

        return call


@contextlib.asynccontextmanager
async def opened(kind: str, url: str, **overrides: Any) -> AsyncIterator[Any]:
    settings: dict[str, Any] = {"base_url": BASE_URL, "client_id": CLIENT_ID, "client_secret": SECRET}
    settings |= overrides
    state: Any = (
        SharedState(url, **settings) if kind == "async" else _Blocking(SyncSharedState(url, **settings))
    )
    try:
        yield state
    finally:
        await state.aclose()


def raw(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(server.url)


@pytest.mark.parametrize("kind", KINDS)
async def test_take_admits_the_limit_per_window_then_answers_a_wait(
    redis_server: RedisServer, kind: str
) -> None:
    async with opened(kind, redis_server.url) as state:
        answers: list[float | None] = []

        async def take() -> None:
            answers.append(await state.take())

        async with anyio.create_task_group() as tg:
            for _ in range(45):
                tg.start_soon(take)

    go = [a for a in answers if a == 0.0]
    waits = [a for a in answers if a != 0.0]
    assert len(go) == 30  # Monite's default until an answer says otherwise
    assert len(waits) == 15
    assert all(a is not None and 0.0 < a <= WINDOW for a in waits)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_unit_comes_back_a_margin_after_monites_second(redis_server: RedisServer, kind: str) -> None:
    # Each grant is sent some milliseconds after Redis's clock gave it, and Monite's window
    # starts at an arrival: a budget that gave the 31st unit exactly one second after the
    # first let 31 requests land in one of Monite's seconds (the bench's fleet met 429s).
    clock = raw(redis_server)
    async with opened(kind, redis_server.url) as state:
        before = clock.time()
        assert [await state.take() for _ in range(30)] == [0.0] * 30
        wait = await state.take()
        after = clock.time()
    asked_within = (after[0] - before[0]) + (after[1] - before[1]) / 1e6
    assert wait is not None
    # The 31st unit is free no sooner than 1.05 s after the first grant (ms rounding aside).
    assert wait >= 1.05 - asked_within - 0.002, (wait, asked_within)


@pytest.mark.parametrize("kind", KINDS)
async def test_takers_that_wait_as_told_stay_within_the_limit(redis_server: RedisServer, kind: str) -> None:
    # Bounded: 6 takers for about 2 s at 5 per second. Counted on Redis's clock.
    limit, takers, run_for = 5, 6, 2.0
    clock = raw(redis_server)
    async with opened(kind, redis_server.url) as state:
        await state.learn(limit, limit, None)
        granted = 0
        started = clock.time()
        stop = time.monotonic() + run_for

        async def taker() -> None:
            nonlocal granted
            while time.monotonic() < stop:
                wait = await state.take()
                assert wait is not None
                if wait == 0.0:
                    granted += 1
                else:
                    await anyio.sleep(wait)

        async with anyio.create_task_group() as tg:
            for _ in range(takers):
                tg.start_soon(taker)
        ended = clock.time()
    elapsed = (ended[0] - started[0]) + (ended[1] - started[1]) / 1e6
    assert granted <= limit * math.ceil(elapsed)  # no window of one second holds more than the limit
    assert granted >= limit * math.floor(elapsed) - limit  # and the budget is used, not wasted


@pytest.mark.parametrize("kind", KINDS)
async def test_learn_lowers_and_raises_the_limit(redis_server: RedisServer, kind: str) -> None:
    async with opened(kind, redis_server.url) as state:
        await state.learn(3, 3, 1.0)
        lowered = [await state.take() for _ in range(4)]
        await state.learn(6, 3, 1.0)  # Monite counted the 3 we sent: 3 left
        raised = [await state.take() for _ in range(4)]

    assert lowered[:3] == [0.0, 0.0, 0.0]
    assert lowered[3] is not None
    assert lowered[3] > 0
    assert raised[:3] == [0.0, 0.0, 0.0]
    assert raised[3] is not None
    assert raised[3] > 0


@pytest.mark.parametrize("kind", KINDS)
async def test_monite_counting_more_than_the_fleet_wins(redis_server: RedisServer, kind: str) -> None:
    async with opened(kind, redis_server.url) as state:
        assert await state.take() == 0.0
        await state.learn(30, 0, 1.0)  # spent elsewhere: nothing left in this window
        wait = await state.take()

    assert wait is not None
    assert WINDOW - 0.1 <= wait <= WINDOW


@pytest.mark.parametrize("kind", KINDS)
async def test_nonsense_from_headers_is_clamped(redis_server: RedisServer, kind: str) -> None:
    async with opened(kind, redis_server.url) as state:
        await state.learn(-5, 3, None)  # no limit: ignored, the default stays
        await state.learn(10**15, -7, float("nan"))  # clamped to 1,000 and 0..limit
        await state.hold(float("inf"))  # clamped to ten minutes
        await state.hold(-3.0)  # nothing
        held = await state.take()
        fence = await state.lock(5.0)
        refused = [
            await state.learn("30", 2, None),  # not a number: ignored
            await state.hold("soon"),
            await state.store("tok-\ud800", 60.0, fence),  # does not encode: nothing stored
            await state.discard(None),
        ]
        after = await state.token()
        breaker_closed = await state.lock(5.0)  # the lock is still ours: Redis was asked

    assert held is not None
    assert 590 < held <= 600
    assert refused == [None] * 4
    assert after is None
    assert breaker_closed == "held"
    assert raw(redis_server).hget(f"monite_async:{{{_scope(redis_server)}}}:rate", "limit") == b"1000"


def _scope(server: RedisServer) -> str:
    keys = {key.decode() for key in raw(server).scan_iter("monite_async:*")}
    (scope,) = {key.split("{", 1)[1].split("}", 1)[0] for key in keys}
    return scope


@pytest.mark.parametrize("kind", KINDS)
async def test_a_hold_is_seen_by_every_client_object(redis_server: RedisServer, kind: str) -> None:
    async with opened(kind, redis_server.url) as first, opened("async", redis_server.url) as second:
        other = shared(redis_server.url)
        try:
            await first.hold(2.0)
            waits = [await first.take(), await second.take(), other.take()]
        finally:
            other.close()

    assert all(w is not None and 1.5 < w <= 2.0 for w in waits), waits


@pytest.mark.parametrize("kind", KINDS)
async def test_token_round_trip_with_the_fetch_lock(redis_server: RedisServer, kind: str) -> None:
    async with opened(kind, redis_server.url) as state, opened(kind, redis_server.url) as other:
        assert await state.token() is None
        fence = await state.lock(5.0)
        assert isinstance(fence, Fence)
        assert await other.lock(5.0) == "held"
        await state.store(TOKEN, 120.0, fence)
        shared_token = await other.token()
        relocked = await other.lock(5.0)  # store released the lock

    assert isinstance(shared_token, SharedToken)
    assert shared_token.value == TOKEN
    assert shared_token.lifetime == 120.0
    assert 119.0 < shared_token.left <= 120.0
    assert TOKEN not in repr(shared_token)
    assert isinstance(relocked, Fence)
    assert repr(fence) == "Fence()"


@pytest.mark.parametrize("kind", KINDS)
async def test_release_frees_the_lock_only_for_its_holder(redis_server: RedisServer, kind: str) -> None:
    async with opened(kind, redis_server.url) as state:
        stale = await state.lock(0.05)
        assert isinstance(stale, Fence)
        await anyio.sleep(0.1)  # its lock expired
        current = await state.lock(5.0)
        assert isinstance(current, Fence)
        await state.release(stale)  # not ours any more: nothing happens
        still_held = await state.lock(5.0)
        await state.release(current)
        free_again = await state.lock(5.0)

    assert still_held == "held"
    assert isinstance(free_again, Fence)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_stale_fence_cannot_overwrite_a_newer_token(redis_server: RedisServer, kind: str) -> None:
    async with opened(kind, redis_server.url) as slow, opened(kind, redis_server.url) as fast:
        slow_fence = await slow.lock(0.05)
        assert isinstance(slow_fence, Fence)
        await anyio.sleep(0.1)  # the slow fetch outlives its lock
        fast_fence = await fast.lock(5.0)
        assert isinstance(fast_fence, Fence)
        await fast.store("tok-newer", 60.0, fast_fence)
        await slow.store("tok-older", 60.0, slow_fence)
        kept = await slow.token()

    assert kept is not None
    assert kept.value == "tok-newer"


@pytest.mark.parametrize("kind", KINDS)
async def test_discard_deletes_only_the_token_that_failed(redis_server: RedisServer, kind: str) -> None:
    async with opened(kind, redis_server.url) as state:
        fence = await state.lock(5.0)
        await state.store("tok-first", 60.0, fence)
        fence = await state.lock(5.0)
        await state.store("tok-second", 60.0, fence)
        await state.discard("tok-first")  # a 401 on the old one: the newer token stays
        after_old = await state.token()
        await state.discard("tok-second")
        after_current = await state.token()

    assert after_old is not None
    assert after_old.value == "tok-second"
    assert after_current is None


@pytest.mark.parametrize("kind", KINDS)
async def test_redis_holds_neither_the_token_nor_the_client_id(redis_server: RedisServer, kind: str) -> None:
    async with opened(kind, redis_server.url) as state:
        fence = await state.lock(5.0)
        await state.store(TOKEN, 60.0, fence)
        await state.take()
        await state.learn(30, 20, 1.0)
        await state.hold(1.0)
        assert await state.token() is not None
        assert isinstance(await state.lock(5.0), Fence)  # a fetch under way: the lock is there too

    client = raw(redis_server)
    keys = sorted(key.decode().rsplit(":", 1)[1] for key in client.scan_iter("*"))
    assert keys == ["lock", "log", "rate", "token"]
    dump = b""
    for key in client.scan_iter("*"):
        kind_of = client.type(key)
        if kind_of == b"string":
            value: Any = client.get(key)
        elif kind_of == b"hash":
            value = client.hgetall(key)
        else:
            value = client.lrange(key, 0, -1)
        dump += key + b"\n" + repr(value).encode() + b"\n"
    for secret in (TOKEN, str(CLIENT_ID), CLIENT_ID.hex, SECRET, BASE_URL):
        assert secret.encode() not in dump, secret


@pytest.mark.parametrize("kind", KINDS)
async def test_another_client_id_base_url_or_secret_reads_nothing(
    redis_server: RedisServer, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with opened(kind, redis_server.url) as state:
        fence = await state.lock(5.0)
        await state.store(TOKEN, 60.0, fence)
        await state.hold(5.0)
    others = (
        {"client_id": uuid.uuid4()},
        {"base_url": "https://api.monite.com/v1"},
        {"entity_user_id": uuid.uuid4(), "grant": "entity_user"},
        {"client_secret": "another-secret"},
    )
    seen = []
    with caplog.at_level(logging.WARNING, logger="monite_async"):
        for overrides in others:
            async with opened(kind, redis_server.url, **overrides) as other:
                seen.append((await other.token(), await other.take()))

    assert [token for token, _ in seen] == [None] * 4
    assert [take for _, take in seen[:3]] == [0.0] * 3  # their own budgets: no hold there
    assert seen[3][1] is not None
    assert seen[3][1] > 4
    assert "does not open with this client secret" in caplog.text
    assert TOKEN not in caplog.text
    assert "another-secret" not in caplog.text


@pytest.mark.parametrize("kind", KINDS)
async def test_a_tampered_token_reads_none(redis_server: RedisServer, kind: str) -> None:
    async with opened(kind, redis_server.url) as state:
        fence = await state.lock(5.0)
        await state.store(TOKEN, 60.0, fence)
        client = raw(redis_server)
        (key,) = client.scan_iter("*:token")
        client.hset(key, "l", "86400.0")  # a longer lifetime, written by someone without the secret
        assert await state.token() is None


@pytest.mark.parametrize("kind", KINDS)
async def test_redis_killed_every_method_gives_up_quickly_with_one_warning(
    redis_server: RedisServer, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with opened(kind, redis_server.url) as state:
        assert await state.take() == 0.0  # connected
        redis_server.kill()
        fence = Fence(b"0123456789abcdef")
        with caplog.at_level(logging.INFO, logger="monite_async"):
            started = time.monotonic()
            answers = [
                await state.take(),
                await state.learn(30, 29, 1.0),
                await state.hold(1.0),
                await state.token(),
                await state.lock(5.0),
                await state.store(TOKEN, 60.0, fence),
                await state.release(fence),
                await state.discard(TOKEN),
            ]
            took = time.monotonic() - started

    assert answers == [None] * 8
    assert took < 4 * TIMEOUT
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].getMessage().startswith(f"Redis at {redis_server.url} did not answer")


@pytest.mark.parametrize("kind", KINDS)
async def test_a_silent_redis_costs_one_short_timeout(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    # A server that takes the connection and never answers: the socket timeout, then the breaker.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        async with opened(kind, url) as state:
            started = time.monotonic()
            first = await state.take()
            first_took = time.monotonic() - started
            started = time.monotonic()
            rest = [await state.token(), await state.lock(1.0), await state.take()]
            rest_took = time.monotonic() - started

    assert first is None
    assert rest == [None, None, None]
    assert first_took < 4 * TIMEOUT + 0.5
    assert rest_took < 0.1  # the breaker keeps them off the silent server


@pytest.mark.parametrize("kind", KINDS)
async def test_redis_restarted_the_room_rejoins_after_the_pause(
    redis_server: RedisServer, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with opened(kind, redis_server.url) as state:
        assert await state.take() == 0.0
        with caplog.at_level(logging.INFO, logger="monite_async"):
            redis_server.kill()
            assert await state.take() is None
            redis_server.start()  # the same port; its scripts are gone (NOSCRIPT, then EVAL)
            assert await state.take() is None  # the breaker's pause is not over
            await anyio.sleep(_PAUSE + 0.1)
            rejoined = await state.take()
            fence = await state.lock(5.0)

    assert rejoined == 0.0
    assert isinstance(fence, Fence)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("did not answer" in m for m in messages) == 1
    assert sum("answers again" in m for m in messages) == 1


async def test_repr_and_logs_show_no_password(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    # This server has no password: AUTH fails, which is one more way for Redis to be wrong.
    url = redis_server.url.replace("redis://", "redis://user:hunter2-pw@")
    state = SharedState(url, base_url=BASE_URL, client_id=CLIENT_ID, client_secret=SECRET)
    blocking = SyncSharedState(url, base_url=BASE_URL, client_id=CLIENT_ID, client_secret=SECRET)
    with caplog.at_level(logging.DEBUG, logger="monite_async"):
        assert await state.take() is None
        assert blocking.take() is None
    await state.aclose()
    blocking.close()

    for text in (repr(state), repr(blocking), caplog.text):
        assert "hunter2-pw" not in text
        assert SECRET not in text
        assert "user" not in text
    assert repr(blocking) == f"SyncSharedState('{redis_server.url}')"
    assert "did not answer" in caplog.text


def test_processes_racing_for_the_lock_one_gets_the_fence(redis_server: RedisServer) -> None:
    setter = shared(redis_server.url)
    setter.hold(30.0)  # and every process sees the fleet's hold
    setter.close()
    context = multiprocessing.get_context("spawn")
    workers = 3
    with context.Manager() as manager, context.Pool(workers) as pool:
        barrier = manager.Barrier(workers)
        results = pool.starmap(race_for_the_lock, [(redis_server.url, barrier)] * workers, chunksize=1)

    kinds = sorted(kind for kind, _ in results)
    assert kinds == ["fence", "held", "held"]
    assert all(take is not None and 20 < take <= 30 for _, take in results)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork here")
def test_a_forked_child_opens_its_own_connection(redis_server: RedisServer) -> None:
    state = shared(redis_server.url)
    assert state.take() == 0.0
    parent_id = state._client._client.client_id()  # type: ignore[union-attr]
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running pytest's teardown
        try:
            answer = state.take()
            child_id = state._client._client.client_id()  # type: ignore[union-attr]
            os.write(writer, f"{answer} {child_id}".encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        answer, child_id = pipe.read().split()
    os.waitpid(pid, 0)
    after = state.take()  # the parent's connection was not disturbed by the child
    same_id = state._client._client.client_id()  # type: ignore[union-attr]
    state.close()

    assert answer == "0.0"
    assert int(child_id) != parent_id
    assert after == 0.0
    assert same_id == parent_id


def test_threads_of_the_blocking_face_share_one_budget(redis_server: RedisServer) -> None:
    state = shared(redis_server.url)
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: state.take(), range(40)))
    finally:
        state.close()

    assert answers.count(0.0) == 30
    assert all(a is not None and 0.0 < a <= WINDOW for a in answers if a != 0.0)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork here")
def test_a_forked_child_of_an_asyncio_app_opens_its_own_connection(redis_server: RedisServer) -> None:
    state = SharedState(redis_server.url, base_url=BASE_URL, client_id=CLIENT_ID, client_secret=SECRET)

    async def take_and_name() -> tuple[float | None, int]:
        answer = await state.take()
        return answer, await state._async._client.client_id()  # type: ignore[union-attr]

    answer, parent_id = asyncio.run(take_and_name())
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            child_answer, child_id = asyncio.run(take_and_name())
            os.write(writer, f"{child_answer} {child_id}".encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        child_answer, child_id = pipe.read().split()
    os.waitpid(pid, 0)

    assert answer == 0.0
    assert child_answer == "0.0"
    assert int(child_id) != parent_id


def test_import_monite_async_loads_neither_redis_nor_cryptography() -> None:
    code = (
        "import sys, monite_async, monite_async._redis\n"
        "loaded = sorted(m for m in ('redis', 'cryptography') if m in sys.modules)\n"
        "print(loaded)\n"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
