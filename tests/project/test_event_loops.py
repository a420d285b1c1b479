"""The trio half of the socket suites cannot stop running unnoticed (tests/event_loops.py).

Each case runs one socket test (on asyncio and trio) in a pytest of its own, from this
checkout's configuration: as it is, and with anyio's plugin disabled, so nothing runs the
trio item on trio any more: the session must then fail, saying why.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ONE_TEST = ["tests/auth/test_auth_loopback.py", "-k", "test_token_is_fetched_lazily_once_and_reused"]


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


def test_under_xdist_a_lost_trio_half_still_fails_and_transports_deselects() -> None:
    """`make test` runs the suite in xdist workers, and the reruns on other Pythons pass
    `--transports`: one parallel run shows both. The controller adds up the workers' counts
    (two asyncio runs: httpx2 and the blocking client, aiohttp deselected) and fails the
    session when the trio half did not run under trio (anyio's plugin disabled)."""
    result = pytest_run("-n", "2", "--dist", "loadgroup", "--transports=httpx2,sync", "-p", "no:anyio")
    assert result.returncode != 0, result.stdout
    assert "event loops: 2 socket-suite runs on asyncio, 0 on trio (none)" in result.stdout
    assert "clients: httpx2,sync (--transports)" in result.stdout
    assert "event loops: FAILED: 1 trio test(s) ran without their body running under trio" in result.stdout
