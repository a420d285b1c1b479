"""A fleet on one API client (issue 27): worker processes against one fake Monite process
limited to 30 requests/s per client id, with and without a shared Redis (a real
redis-server, started by the test)."""

from __future__ import annotations

import multiprocessing
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from fleet_workers import fleet_worker
from redis_server import RedisServer

from monite_async.testing import FakeMonite

LIMIT = 30
PROCESSES = 4
CALLS = 30  # per process: 120 in all, at least 4 s at the limit


@pytest.fixture
def limited_fake() -> Iterator[str]:
    """`python -m monite_async.testing --port 0 --rate-limit 30` in its own process."""
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "monite_async.testing", "--port", "0", "--rate-limit", str(LIMIT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+/v1)", first)
        assert match, first
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(10)


def run_fleet(
    base_url: str, redis_url: str | None, during: object = None, *, calls: int = CALLS, tasks: int = 10
) -> tuple[dict[str, int], float]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Manager().Barrier(PROCESSES + 1)
    with context.Pool(PROCESSES) as pool:
        pending = [
            pool.apply_async(fleet_worker, (base_url, redis_url, calls, tasks, barrier))
            for _ in range(PROCESSES)
        ]
        barrier.wait(timeout=120)
        started = time.monotonic()
        if callable(during):
            during()
        results = [result.get(timeout=120) for result in pending]
    took = time.monotonic() - started
    total = {key: sum(r[key] for r in results) for key in results[0]}
    return total, took


def test_a_fleet_alone_fails_no_call_that_monite_only_throttled(limited_fake: str) -> None:
    total, took = run_fleet(limited_fake, None)
    print(f"fleet alone: {total}, {took:.2f} s")
    assert total["failed"] == 0, total
    assert total["ok"] == PROCESSES * CALLS
    # Each process its own token. Counted as issued: alone, a process's token request may
    # itself meet a 429 (the limit counts token requests too) and be sent again.
    assert total["tokens_fetched"] == PROCESSES, total


def test_a_fleet_on_redis_shares_one_token_and_one_budget(
    limited_fake: str, redis_server: RedisServer
) -> None:
    total, took = run_fleet(limited_fake, redis_server.url)
    print(f"fleet on redis: {total}, {took:.2f} s")
    assert total["failed"] == 0, total
    assert total["ok"] == PROCESSES * CALLS
    assert total["token_requests"] == 1, total
    assert total["throttled"] <= 5, total
    floor = (PROCESSES * CALLS + 1) / LIMIT
    assert took <= 2 * floor + 2.0, (took, floor)  # the bench holds it to 1.15x, on a quiet machine


def test_redis_restarted_mid_run_fails_no_call(limited_fake: str, redis_server: RedisServer) -> None:
    def restart() -> None:
        time.sleep(1.0)
        redis_server.restart()

    total, _ = run_fleet(limited_fake, redis_server.url, during=restart)
    assert total["failed"] == 0, total
    assert total["ok"] == PROCESSES * CALLS


def test_a_token_revoked_mid_run_is_fetched_again_once_for_the_fleet(redis_server: RedisServer) -> None:
    fake = FakeMonite(rate_limit=LIMIT)

    def revoke_every_token() -> None:
        time.sleep(1.5)
        fake.expire_tokens()  # Monite refuses them now: the fleet's token is stale for everyone

    with fake.serve_in_thread() as base_url:
        total, _ = run_fleet(base_url, redis_server.url, during=revoke_every_token)
    assert total["failed"] == 0, total
    assert total["ok"] == PROCESSES * CALLS
    assert fake.token_requests == 2  # the first, and one after the revocation: not one per process


def test_a_short_token_refreshed_mid_run_costs_the_fleet_no_429_burst(redis_server: RedisServer) -> None:
    # A 2 s token (refreshed 0.2 s before it expires) over 240 calls at 30/s (8 s): refreshed
    # about four times while 200 tasks wait for the budget. A task that waited signs again
    # before taking its unit: were the refresh between the unit and the send, the tasks that
    # waited for the fleet's fetch would reach Monite at once with units given over the
    # fetch's time, past the limit (the bench's fleet of 8 met 96 to 425 429s so).
    lifetime, calls = 2.0, 60
    fake = FakeMonite(rate_limit=LIMIT, token_lifetime=lifetime)
    with fake.serve_in_thread() as base_url:
        total, took = run_fleet(base_url, redis_server.url, calls=calls, tasks=50)
    print(f"fleet on redis, {lifetime:g} s token: {total}, {took:.2f} s")
    assert total["failed"] == 0, total
    assert total["ok"] == PROCESSES * calls
    assert total["throttled"] <= 5, total
    assert fake.token_requests <= took / (lifetime * 0.9) + 1, (fake.token_requests, took)
