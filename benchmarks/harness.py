"""Timing loops shared by every benchmark variant, Monite's own SDK included.

Only the standard library and httpx: `bench.py` also runs this file inside a throwaway
environment that has Monite's `monite` package and not ours.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx


class CannedTransport(httpx.AsyncBaseTransport):
    """Answers every request with the same recorded response, so a loop over it measures
    client CPU alone: no socket, no server."""

    def __init__(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
        self._status = status
        self._headers = headers
        self._content = content

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(self._status, headers=self._headers, content=self._content)


async def measure(
    call: Callable[[], Awaitable[Any]], *, tasks: int, calls: int, rounds: int
) -> dict[str, float]:
    """Run `calls` calls spread over `tasks` concurrent tasks, `rounds` times.

    Returns the median round's calls/s and the p50/p99 latency (ms) over every call of
    every round. One warm-up round of `tasks` calls comes first (connections, token).
    """
    await asyncio.gather(*(call() for _ in range(tasks)))
    per_task = max(1, calls // tasks)
    rates: list[float] = []
    latencies: list[float] = []

    async def worker() -> None:
        for _ in range(per_task):
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    for _ in range(rounds):
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(tasks)))
        rates.append(per_task * tasks / (time.perf_counter() - started))
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "calls_per_s": statistics.median(rates),
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
    }


async def measure_interleaved(
    calls_by_name: dict[str, Callable[[], Awaitable[Any]]], *, tasks: int, calls: int, rounds: int
) -> dict[str, dict[str, float]]:
    """`measure` for several variants at once, their rounds interleaved (in a rotating order),
    so that drift over the run (a warming server, garbage collection) falls on all alike."""
    names = list(calls_by_name)
    for name in names:
        await asyncio.gather(*(calls_by_name[name]() for _ in range(tasks)))
    per_task = max(1, calls // tasks)
    rates: dict[str, list[float]] = {name: [] for name in names}
    latencies: dict[str, list[float]] = {name: [] for name in names}

    async def worker(name: str) -> None:
        call = calls_by_name[name]
        for _ in range(per_task):
            started = time.perf_counter()
            await call()
            latencies[name].append(time.perf_counter() - started)

    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            await asyncio.gather(*(worker(name) for _ in range(tasks)))
            rates[name].append(per_task * tasks / (time.perf_counter() - started))
    results: dict[str, dict[str, float]] = {}
    for name in names:
        quantiles = statistics.quantiles(latencies[name], n=100)
        results[name] = {
            "calls_per_s": statistics.median(rates[name]),
            "p50_ms": quantiles[49] * 1000,
            "p99_ms": quantiles[98] * 1000,
        }
    return results
