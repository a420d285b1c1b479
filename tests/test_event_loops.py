"""The trio half of the socket suites cannot stop running unnoticed (tests/event_loops.py).

Each case runs one socket test (on asyncio and trio) in a pytest of its own, from this
checkout's configuration: as it is, and with anyio's plugin disabled, so nothing runs the
trio item on trio any more: the session must then fail, saying why.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE_TEST = ["tests/test_auth_loopback.py", "-k", "test_token_is_fetched_lazily_once_and_reused"]


def pytest_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *ONE_TEST, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_trio_half_runs_and_is_counted() -> None:
    result = pytest_run("-v")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_token_is_fetched_lazily_once_and_reused[trio-httpx2] PASSED" in result.stdout
    assert "test_token_is_fetched_lazily_once_and_reused[asyncio-sync] PASSED" in result.stdout
    # httpx2, aiohttp and the blocking client on asyncio; httpx2 on trio.
    assert "3 socket-suite runs on asyncio, 1 on trio (test_auth_loopback.py 1)" in result.stdout


def test_a_trio_test_whose_body_did_not_run_under_trio_fails_the_session() -> None:
    result = pytest_run("-p", "no:anyio")
    assert result.returncode != 0, result.stdout
    assert "event loops: FAILED: 1 trio test(s) ran without their body running under trio" in result.stdout


def test_deselecting_the_trio_half_is_said_and_allowed() -> None:
    result = pytest_run("--event-loops=asyncio")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 on trio (none); the trio half deselected by --event-loops" in result.stdout
    assert " 3 passed, " in result.stdout


def test_transports_deselects_a_kind_of_client_and_says_so() -> None:
    result = pytest_run("--transports=httpx2,sync")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 socket-suite runs on asyncio, 1 on trio (test_auth_loopback.py 1)" in result.stdout
    assert "clients: httpx2,sync (--transports)" in result.stdout
    assert re.search(r" 3 passed, \d+ deselected", result.stdout), result.stdout  # -k deselects the rest
    assert pytest_run("--transports=carrier-pigeon").returncode != 0


def test_under_xdist_the_workers_counts_reach_the_summary_and_the_check() -> None:
    """`make test` runs the suite in xdist workers: the controller adds their counts up."""
    parallel = ("-n", "2", "--dist", "loadgroup", "--transports=httpx2,sync")
    result = pytest_run(*parallel)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 socket-suite runs on asyncio, 1 on trio (test_auth_loopback.py 1)" in result.stdout
    broken = pytest_run(*parallel, "-p", "no:anyio")
    assert broken.returncode != 0, broken.stdout
    assert "event loops: FAILED: 1 trio test(s) ran without their body running under trio" in broken.stdout
