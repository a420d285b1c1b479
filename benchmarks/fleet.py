"""Section 6 of `make bench`: a fleet of processes on one Monite API client (issue 27).

N worker processes (spawned: fresh interpreters, as gunicorn or Celery workers are), each
one `MoniteClient` with 50 tasks, share the fleet's `list()` calls against ONE fake Monite
process started as a user starts it: `python -m monite_async.testing --port 0 --rate-limit 30`
(30 requests a second per client id, token requests included; 429 with `Retry-After` past
it). Each run gets a fake of its own, so its limit window and its counts start from zero.

What is counted, and from where:
- the fake's side (authoritative): its access log, one line per request with its status,
  read from the moment the workers are told to go: token requests and 429s;
- the client's side, in each worker (a cross-check): the `monite_async` logger's
  "Fetched a Monite access token" records and the records of a 429 met ("Retrying ...
  after HTTP 429", "Not retrying ... after HTTP 429"); and every failed call, by error type.

The wall time runs from "go" (every worker has imported, built its client and is waiting)
to the last worker's last answer; the floor is calls / rate limit.

A fleet variant is a set of extra `MoniteClient` keyword arguments, for example
`{"redis": "redis://127.0.0.1:6379/0"}` (`bench.py --fleet-client-kwargs`). They reach the
workers on their standard input, never on a command line, and only their names are shown.
`{"redis": OWN_REDIS}` (what `make bench` runs) means: a fresh redis-server of the run's own
on 127.0.0.1 (tests/redis_server.py), started for that run and stopped after it, so no
two runs share a token or a budget; `restart_redis_after` kills it that many seconds after
"go" and starts it again on the same port `REDIS_DOWN_S` later.

Run as `python fleet.py worker` by `run_fleet` (its configuration on the first stdin line).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# The tests' real redis-server (tests/redis_server.py): one copy serves both.
sys.path.append(str(Path(__file__).resolve().parent.parent / "tests"))
from redis_server import RedisServer, find_binary

RATE_LIMIT = 30
"""Monite's default: requests per second per API client."""
TASKS_PER_WORKER = 50
FLEET_CALLS = 600
FLEET_SIZES = (1, 4, 8, 16)
SHORT_TOKEN_LIFETIME = 3.0
"""The token case: a 3 s token, refreshed many times during the fleet's calls."""

# One process's whole run may not take longer than this (a hung worker is killed, and the
# run fails): 600 calls at 30/s need 20 s; a call's own deadline is the default 60 s.
RUN_LIMIT_S = 240.0
REDIS_RESTART_AFTER_S = 5.0
"""The restart case: the fleet's redis-server is killed this long after "go" ..."""
REDIS_DOWN_S = 1.0
"""... and started again on its port this long after."""
OWN_REDIS = "<a redis-server of the bench's own>"
"""The `redis` value that stands for a fresh redis-server per run (see `run_fleet`)."""
START_LIMIT_S = 60.0

ACCESS_LINE = re.compile(r'"([A-Z]+) (\S+) HTTP/[0-9.]+" (\d{3})')


def variant_label(client_kwargs: dict[str, Any]) -> str:
    """`MoniteClient(redis=...)`: the names alone (a value may hold a password)."""
    if not client_kwargs:
        return "default MoniteClient"
    return "MoniteClient(" + ", ".join(f"{name}=..." for name in sorted(client_kwargs)) + ")"


@contextlib.contextmanager
def fake_monite(
    *, rate_limit: int, token_lifetime: float | None, log_dir: Path
) -> Iterator[tuple[str, Path]]:
    """The fake as its own command; yields its base URL and the file its log goes to."""
    command = [sys.executable, "-m", "monite_async.testing", "--port", "0", "--rate-limit", str(rate_limit)]
    if token_lifetime is not None:
        command += ["--token-lifetime", str(token_lifetime)]
    log_path = log_dir / f"fake-{time.monotonic_ns()}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=_worker_env())
    try:
        deadline = time.monotonic() + START_LIMIT_S
        while True:  # bounded: until it prints its URL, exits, or START_LIMIT_S pass
            found = re.search(r"Fake Monite at (\S+);", log_path.read_text())
            if found:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the fake Monite did not start:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        yield found[1], log_path
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _worker_env() -> dict[str, str]:
    # No MONITE_* from the caller's shell: the default variant must be the default client
    # (a MONITE_REDIS_URL would quietly make it a shared one).
    return {name: value for name, value in os.environ.items() if not name.startswith("MONITE_")}


@contextlib.contextmanager
def own_redis(
    client_kwargs: dict[str, Any], workdir: Path
) -> Iterator[tuple[dict[str, Any], RedisServer | None]]:
    """`client_kwargs` with `OWN_REDIS` replaced by the URL of a fresh redis-server (stopped
    on exit), and that server; any other `client_kwargs` as they are, and None."""
    if client_kwargs.get("redis") != OWN_REDIS:
        yield client_kwargs, None
        return
    binary = find_binary()
    if binary is None:
        raise RuntimeError("no redis-server here (see tests/redis_server.py)")
    server = RedisServer(binary, workdir)
    server.start()
    try:
        yield {**client_kwargs, "redis": server.url}, server
    finally:
        server.kill()


def _restart(server: RedisServer, go: float, into: dict[str, Any]) -> None:
    """Kill the fleet's redis-server, and start it again on its port `REDIS_DOWN_S` later."""
    try:
        server.kill()
        into["killed"] = time.monotonic() - go
        time.sleep(REDIS_DOWN_S)
        server.start()
        into["back"] = time.monotonic() - go
    except Exception as exc:  # raised in the run's thread (run_fleet)
        into["error"] = repr(exc)


def count_requests(log_text: str) -> dict[str, int]:
    """Requests, token requests and 429s in the fake's access log text."""
    requests = tokens = throttled = 0
    for found in ACCESS_LINE.finditer(log_text):
        method, path, status = found[1], found[2], int(found[3])
        requests += 1
        tokens += method == "POST" and path.rstrip("/").endswith("/auth/token")
        throttled += status == 429
    return {"requests": requests, "token_requests": tokens, "429s": throttled}


def run_fleet(
    *,
    processes: int,
    calls: int,
    client_kwargs: dict[str, Any],
    token_lifetime: float | None = None,
    rate_limit: int = RATE_LIMIT,
    tasks: int = TASKS_PER_WORKER,
    restart_redis_after: float | None = None,
) -> dict[str, Any]:
    """One fleet run against a fresh fake: `processes` workers share `calls` calls. With
    `{"redis": OWN_REDIS}`, against a fresh redis-server too (restarted mid-run if asked)."""
    from monite_async.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    shares = [calls // processes + (index < calls % processes) for index in range(processes)]
    restarted: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="monite-fleet-") as log_dir,
        fake_monite(rate_limit=rate_limit, token_lifetime=token_lifetime, log_dir=Path(log_dir)) as (
            base_url,
            log_path,
        ),
        own_redis(client_kwargs, Path(log_dir)) as (client_kwargs, server),
    ):
        if restart_redis_after is not None and server is None:
            raise ValueError("restart_redis_after needs the bench's own redis-server (OWN_REDIS)")
        workers = [
            subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=_worker_env(),
            )
            for _ in shares
        ]
        # Whatever happens, no worker outlives the run's limit.
        watchdog = threading.Timer(RUN_LIMIT_S, lambda: [worker.kill() for worker in workers])
        watchdog.start()
        restarter: threading.Timer | None = None
        try:
            for worker, share in zip(workers, shares, strict=True):
                assert worker.stdin is not None
                config = {
                    "base_url": base_url,
                    "client_id": DEFAULT_CLIENT_ID,
                    "client_secret": DEFAULT_CLIENT_SECRET,
                    "calls": share,
                    "tasks": tasks,
                    "client_kwargs": client_kwargs,
                }
                worker.stdin.write(json.dumps(config) + "\n")
                worker.stdin.flush()
            for worker in workers:
                assert worker.stdout is not None
                if worker.stdout.readline().strip() != "ready":
                    raise RuntimeError(f"a fleet worker did not start (exit status {worker.wait()})")
            offset = log_path.stat().st_size  # what the fake logged before "go" is not counted
            go = time.monotonic()
            for worker in workers:
                assert worker.stdin is not None
                worker.stdin.write("go\n")
                worker.stdin.flush()
            if server is not None and restart_redis_after is not None:
                restarter = threading.Timer(restart_redis_after, _restart, (server, go, restarted))
                restarter.start()
            results = []
            for worker in workers:
                assert worker.stdout is not None
                line = worker.stdout.readline()
                if not line:
                    raise RuntimeError(f"a fleet worker gave no result (exit status {worker.wait()})")
                results.append(json.loads(line))
        finally:
            watchdog.cancel()
            if restarter is not None:
                restarter.cancel()
                restarter.join()
            for worker in workers:
                with contextlib.suppress(OSError):
                    if worker.stdin is not None:
                        worker.stdin.close()
                try:
                    worker.wait(10)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
        if "error" in restarted:
            raise RuntimeError(f"the redis-server did not start again: {restarted['error']}")
        wall = max(result["ended"] for result in results) - go
        time.sleep(0.2)  # the fake's last access lines
        with log_path.open() as log:
            log.seek(offset)
            served = count_requests(log.read())
    failed: dict[str, int] = {}
    for result in results:
        for name, count in result["failed"].items():
            failed[name] = failed.get(name, 0) + count
    latencies = sorted(latency for result in results for latency in result["latencies"])
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    floor = calls / rate_limit
    return {
        "processes": processes,
        "calls": calls,
        "token_lifetime_s": token_lifetime,
        "redis": "redis" in client_kwargs,
        # When Redis went away and came back, in seconds after go (None: not restarted).
        "redis_killed_s": restarted.get("killed"),
        "redis_back_s": restarted.get("back"),
        **served,
        "client_token_fetches": sum(result["token_fetches"] for result in results),
        "client_429s": sum(result["throttled"] for result in results),
        "failures": sum(failed.values()),
        "failed_by_type": failed,
        "wall_s": wall,
        "floor_s": floor,
        "wall_over_floor": wall / floor,
        "p50_s": quantiles[49],
        "p99_s": quantiles[98],
        "max_s": latencies[-1] if latencies else 0.0,
    }


def fleet_section(
    variants: dict[str, dict[str, Any]],
    *,
    sizes: tuple[int, ...] = FLEET_SIZES,
    calls: int = FLEET_CALLS,
    token_sizes: dict[str, tuple[int, ...]] | None = None,
    restart_sizes: dict[str, tuple[int, ...]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Every variant at every fleet size, then its token case (a 3 s token) at the sizes
    `token_sizes` gives it (default: 1 process), then its Redis restart case at the sizes
    `restart_sizes` gives it (default: none; own Redis only). Keys: `"<label>/N"`,
    `"<label>/token/N"` and `"<label>/restart/N"`."""
    out: dict[str, dict[str, Any]] = {}
    for label, client_kwargs in variants.items():
        for processes in sizes:
            out[f"{label}/{processes}"] = run_fleet(
                processes=processes, calls=calls, client_kwargs=client_kwargs
            )
            _print(label, out[f"{label}/{processes}"])
        for processes in (token_sizes or {}).get(label, (1,)):
            result = run_fleet(
                processes=processes,
                calls=calls,
                client_kwargs=client_kwargs,
                token_lifetime=SHORT_TOKEN_LIFETIME,
            )
            out[f"{label}/token/{processes}"] = result
            _print(f"{label}, {SHORT_TOKEN_LIFETIME:g} s token", result)
        for processes in (restart_sizes or {}).get(label, ()):
            result = run_fleet(
                processes=processes,
                calls=calls,
                client_kwargs=client_kwargs,
                restart_redis_after=REDIS_RESTART_AFTER_S,
            )
            out[f"{label}/restart/{processes}"] = result
            _print(f"{label}, {restart_label(result)}", result)
    return out


def restart_label(result: dict[str, Any]) -> str:
    """ "Redis killed at 5.0 s, back at 6.1 s" (after go), or that the run ended before."""
    killed, back = result["redis_killed_s"], result["redis_back_s"]
    if killed is None:
        return "Redis to be killed, but the run ended first"
    return f"Redis killed at {killed:.1f} s, back at {back:.1f} s"


def _print(label: str, result: dict[str, Any]) -> None:
    print(
        f"  fleet, {label}, {result['processes']} process(es): {result['token_requests']} token "
        f"request(s), {result['429s']} 429s (client saw {result['client_429s']}), "
        f"{result['failures']} failed {result['failed_by_type']}, wall {result['wall_s']:.1f} s = "
        f"{result['wall_over_floor']:.2f}x the floor, p50 / p99 / max call {result['p50_s']:.2f} / "
        f"{result['p99_s']:.2f} / {result['max_s']:.2f} s",
        flush=True,
    )


# -- the worker process ---------------------------------------------------------------------------


class _Counts(logging.Handler):
    """Counts the `monite_async` logger's token fetches and 429s met, in this process."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.token_fetches = 0
        self.throttled = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Fetched a Monite access token"):
            self.token_fetches += 1
        elif "after HTTP 429" in message:
            self.throttled += 1


async def _work(config: dict[str, Any]) -> dict[str, Any]:
    from monite_async import MoniteClient

    counts = _Counts()
    logger = logging.getLogger("monite_async")
    logger.addHandler(counts)
    logger.setLevel(logging.INFO)
    latencies: list[float] = []
    failed: dict[str, int] = {}
    remaining = config["calls"]
    async with MoniteClient(
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        base_url=config["base_url"],
        **config["client_kwargs"],
    ) as monite:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # "go"

        async def task() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.monotonic()
                try:
                    await monite.mailbox_domains.list()
                except Exception as exc:  # counted, never raised: the run shows what failed
                    failed[type(exc).__name__] = failed.get(type(exc).__name__, 0) + 1
                latencies.append(time.monotonic() - started)

        await asyncio.gather(*(task() for _ in range(min(config["tasks"], config["calls"]))))
        # CLOCK_MONOTONIC is one clock for every process of the machine: the parent compares it.
        ended = time.monotonic()
    return {
        "ended": ended,
        "latencies": latencies,
        "failed": failed,
        "token_fetches": counts.token_fetches,
        "throttled": counts.throttled,
    }


def worker() -> int:
    config = json.loads(sys.stdin.readline())
    result = asyncio.run(_work(config))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__" and sys.argv[1:] == ["worker"]:
    sys.exit(worker())
