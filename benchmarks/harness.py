"""Timing loops shared by every benchmark variant, Monite's own SDK included.

Only the standard library: `bench.py` also runs this file inside a throwaway environment
that has Monite's `monite` package (built on httpx) and not ours (built on httpx2), so the
replaying transports are made for whichever of the two HTTP packages the caller passes.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any


def canned_transports(http: ModuleType) -> tuple[type, type]:
    """(async, blocking) transports of `http` (the httpx2 or the httpx module) that answer
    every request with the same recorded response, so a loop over them measures client CPU
    alone: no socket, no server. Built with `(status, headers, content)`."""

    class CannedTransport(http.AsyncBaseTransport):  # type: ignore[name-defined,misc]
        def __init__(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
            self._status = status
            self._headers = headers
            self._content = content

        async def handle_async_request(self, request: Any) -> Any:
            return http.Response(self._status, headers=self._headers, content=self._content)

    class SyncCannedTransport(http.BaseTransport):  # type: ignore[name-defined,misc]
        def __init__(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
            self._status = status
            self._headers = headers
            self._content = content

        def handle_request(self, request: Any) -> Any:
            return http.Response(self._status, headers=self._headers, content=self._content)

    return CannedTransport, SyncCannedTransport


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
) -> dict[str, dict[str, Any]]:
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
    return {name: _figures(rates[name], latencies[name]) for name in names}


def _figures(rates: list[float], latencies: list[float]) -> dict[str, Any]:
    """A variant's figures: its median round's calls/s, p50/p99 over every call, and each
    round's calls/s in order (for `paired_ratio`)."""
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "calls_per_s": statistics.median(rates),
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
        "round_rates": list(rates),
    }


def paired_ratio(variant: dict[str, Any], baseline: dict[str, Any]) -> float:
    """`variant`'s time per call over `baseline`'s: the median, over rounds, of the ratio of
    the two rounds run side by side (interleaved rounds: round i of every variant ran in the
    same pass, one after another).

    A ratio of medians lets a slow stretch of the machine fall on one variant's median round
    and not the other's; a ratio per pass cancels most of it, for both rounds share it.
    Without round figures for both (a variant measured apart), the ratio of the medians.
    """
    ours, theirs = variant.get("round_rates"), baseline.get("round_rates")
    if not ours or not theirs or len(ours) != len(theirs):
        return float(baseline["calls_per_s"] / variant["calls_per_s"])
    return statistics.median(base / rate for rate, base in zip(ours, theirs, strict=True))


# -- blocking clients: threads sharing one client -----------------------------------------------

Round = Callable[[int, int], tuple[float, list[float]]]
"""One round of a variant: (threads, calls per thread) -> (seconds, every call's latency)."""


def threaded_round(call: Callable[[], Any], threads: int, per_thread: int) -> tuple[float, list[float]]:
    """`threads` threads, each making `per_thread` calls in a loop; they start together (a
    barrier) and the round ends when the last one does. Every call's latency is kept."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)

    def worker(mine: list[float]) -> None:
        barrier.wait()
        try:
            for _ in range(per_thread):
                started = time.perf_counter()
                call()
                mine.append(time.perf_counter() - started)
        except BaseException as exc:  # raised again in the measuring thread
            failures.append(exc)

    workers = [threading.Thread(target=worker, args=(mine,)) for mine in latencies]
    for thread in workers:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    return elapsed, [latency for mine in latencies for latency in mine]


def measure_rounds_interleaved(
    rounds_by_name: dict[str, Round], *, threads: int, calls: int, rounds: int
) -> dict[str, dict[str, Any]]:
    """`measure_interleaved` for blocking clients: `calls` calls spread over `threads` threads
    sharing one client, `rounds` times per variant, the variants' rounds interleaved in a
    rotating order. One warm-up round of one call per thread comes first for each variant.
    A variant is a `Round`, so one may run in another process (`serve_rounds`)."""
    names = list(rounds_by_name)
    for name in names:
        rounds_by_name[name](threads, 1)
    per_thread = max(1, calls // threads)
    rates: dict[str, list[float]] = {name: [] for name in names}
    latencies: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed, taken = rounds_by_name[name](threads, per_thread)
            rates[name].append(per_thread * threads / elapsed)
            latencies[name] += taken
    return {name: _figures(rates[name], latencies[name]) for name in names}


def serve_rounds(calls_by_name: dict[str, Callable[[], Any]]) -> None:
    """Run rounds for another process: read `{"name", "threads", "per_thread"}` lines on
    stdin, answer each with a `{"elapsed", "latencies"}` line on stdout; stop at EOF."""
    print(json.dumps({"ready": sorted(calls_by_name)}), flush=True)
    for line in sys.stdin:
        asked = json.loads(line)
        elapsed, latencies = threaded_round(
            calls_by_name[asked["name"]], asked["threads"], asked["per_thread"]
        )
        print(json.dumps({"elapsed": elapsed, "latencies": latencies}), flush=True)
