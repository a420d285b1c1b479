"""The Python examples of the README and the docs pages run as written, against the fake Monite.

Each block is taken from its page by the heading above it (tests/readme_blocks.py), so an
edit that breaks an example fails here instead of in a user's first five minutes. That the
blocks type-check is tests/project/test_readme_types.py; that the testing example passes in a fresh
project with only its page's install line is tests/project/test_readme_fresh_project.py. The
programs also run one after another against one fake, in two orders: a user tries them in
any order against one `python -m monite_async.testing`.
"""

from __future__ import annotations

import atexit
import os
import re
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fake_requests import auth
from readme_blocks import code_blocks, file_name_of, python_blocks
from redis_server import RedisServer

from monite_async.testing import FakeMonite


def env_for(fake: FakeMonite, base_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "MONITE_CLIENT_ID": fake.client_id,
        "MONITE_CLIENT_SECRET": fake.client_secret,
        "MONITE_BASE_URL": base_url,
    }


def run_example(program: str, fake: FakeMonite, base_url: str) -> subprocess.CompletedProcess[str]:
    """Run a README program as a user would, pointed at the fake at `base_url`; it must exit 0."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", program],
        env=env_for(fake, base_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def run_quickstart(program: str, fake: FakeMonite, base_url: str, domain: str = "mail.example.com") -> None:
    """Run `program` (the Quickstart's shape) against the fake at `base_url`; check what it did."""
    result = run_example(program, fake, base_url)
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"TXT {domain} v=spf1")  # the sending records, one a line
    assert "verified" in lines
    assert f"['{domain}']" in lines
    assert fake.domains == []  # and it cleaned up after itself


@pytest.mark.fake_monite(verify_after=1)
def test_quickstart_runs_against_the_fake(fake_monite: FakeMonite, fake_monite_server: str) -> None:
    block, _ = python_blocks("## Quickstart")
    run_quickstart(block, fake_monite, fake_monite_server)


def test_the_quickstart_with_nothing_set_points_at_the_fake() -> None:
    # What a newcomer meets who runs the Quickstart before setting anything.
    block, _ = python_blocks("## Quickstart")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITE_")}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", block], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("monite_async"), last
    assert "ConfigurationError: no credentials" in last, last
    assert "run `python -m monite_async.testing` and export what it prints" in last, last


@pytest.mark.fake_monite(verify_after=1)
def test_the_sync_quickstart_runs_against_the_fake(fake_monite: FakeMonite, fake_monite_server: str) -> None:
    _, block = python_blocks("## Quickstart")
    assert len([line for line in block.splitlines() if line]) == 5  # "in five lines"
    result = run_example(block, fake_monite, fake_monite_server)
    assert result.stdout == "verified\n"
    assert [r.operation_id for r in fake_monite.requests] == [
        "post_auth_token",
        "post_mailbox_domains",
        "post_mailbox_domains_id_verify",
        "delete_mailbox_domains_id",
    ]
    assert fake_monite.domains == []


def load_sync_example(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The "Sync or async?" block as a module of its own, configured by `env` (MONITE_*);
    what it hands to `atexit.register` is kept under "at_exit" instead of being registered."""
    (block,) = python_blocks("## Sync or async?", "docs/sync.md")
    for key, value in env.items():
        if key.startswith("MONITE_"):
            monkeypatch.setenv(key, value)
    at_exit: list[Any] = []
    monkeypatch.setattr(atexit, "register", at_exit.append)
    namespace: dict[str, Any] = {}
    exec(compile(block, "docs/sync.md", "exec"), namespace)  # noqa: S102
    return namespace | {"at_exit": at_exit}


@pytest.mark.fake_monite(verify_after=1000)  # every call answers waiting_to_be_verified
def test_sync_example_serves_threads_with_one_token_and_maps_errors(
    fake_monite: FakeMonite, fake_monite_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = load_sync_example(env_for(fake_monite, fake_monite_server), monkeypatch)
    domain_status = example["domain_status"]
    domain_id = httpx2.post(
        f"{fake_monite_server}/mailbox_domains",
        json={"domain": "mail.example.com"},
        headers=auth(fake_monite),
        timeout=10,
    ).json()["id"]
    fake_monite.clear_requests()

    with ThreadPoolExecutor(16) as pool:  # the client shared by 16 threads, 32 calls
        statuses = set(pool.map(domain_status, [domain_id] * 32))
    assert statuses == {"waiting_to_be_verified"}
    assert fake_monite.token_requests == 1  # one token for every thread

    assert domain_status("3fa85f64-5717-4562-b3fc-2c963f66afa6") == "no such domain"
    assert domain_status("not-a-uuid") == "no such domain"  # refused before anything is sent
    assert not any("not-a-uuid" in r.path for r in fake_monite.requests)
    fake_monite.faults.fail_next("post_mailbox_domains_id_verify", times=3, status=503)
    failed = domain_status(domain_id)  # retry waits: instant (fixture)
    assert failed.startswith("Monite failed: "), failed
    assert "(request None)" not in failed  # the fake sends an x-request-id
    assert fake_monite.client_secret not in failed

    assert example["at_exit"] == [example["monite"].close]
    example["at_exit"][0]()
    assert example["monite"].closed


def test_sync_example_says_monite_failed_when_it_is_unreachable(
    fake_monite: FakeMonite, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nothing listens on: bound, then released
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    example = load_sync_example(env_for(fake_monite, f"http://127.0.0.1:{port}/v1"), monkeypatch)
    try:
        answer = example["domain_status"]("3fa85f64-5717-4562-b3fc-2c963f66afa6")
    finally:
        example["monite"].close()
    assert answer.startswith("Monite failed: Could not reach Monite"), answer
    assert answer.endswith("(request None)"), answer  # no answer, so no request id


# The last line of each block, and what runs it under trio instead (issue 13's "Done when").
LAST_LINES = {
    ("README.md", "## Quickstart"): "asyncio.run(main())",
    ("docs/trio.md", "# Under trio"): 'trio.run(main)  # or: anyio.run(main, backend="trio")',
}
DOMAINS = {"README.md": "mail.example.com", "docs/trio.md": "trio.example.com"}
TRIO_RUNNERS = {
    "trio.run": "import trio\ntrio.run(main)",
    "anyio.run": 'import anyio\nanyio.run(main, backend="trio")',
}


@pytest.mark.fake_monite(verify_after=1)
@pytest.mark.parametrize("runner", TRIO_RUNNERS)
@pytest.mark.parametrize("where", LAST_LINES)
def test_the_quickstart_runs_under_trio_against_the_fake(
    fake_monite: FakeMonite, fake_monite_server: str, where: tuple[str, str], runner: str
) -> None:
    # The Quickstart with trio.run / anyio.run(backend="trio") for its asyncio.run, and the
    # "Under trio" block as written (trio.run) and with the anyio.run its comment offers.
    page, heading = where
    block = python_blocks(heading, page)[0]
    body, last = block.rstrip().rsplit("\n", 1)
    assert last == LAST_LINES[where]
    run_quickstart(f"{body}\n{TRIO_RUNNERS[runner]}\n", fake_monite, fake_monite_server, DOMAINS[page])


@pytest.mark.fake_monite(rate_limit=50)
def test_the_options_example_runs_against_the_fake(fake_monite: FakeMonite, fake_monite_server: str) -> None:
    (block,) = python_blocks("## Per-call options, raw responses and a deadline", "docs/client.md")
    result = run_example(block, fake_monite, fake_monite_server)
    count, raw, domains, *rest = result.stdout.splitlines()
    assert count == "0"
    status, request_id, attempts, rate = raw.split(" ", 3)
    assert (status, attempts) == ("200", "1")
    assert len(request_id) == 36  # the fake's x-request-id, a UUID
    assert rate.startswith("RateLimit(limit=50, remaining=")
    assert domains == "[]"
    assert rest == []  # the fake answers well within half a second
    trace_ids = {r.headers.get("x-trace-id") for r in fake_monite.requests_to("get_mailbox_domains")}
    assert trace_ids == {"t-42", None}


def test_the_fleet_example_shares_its_token_on_redis(
    fake_monite: FakeMonite, fake_monite_server: str, redis_server: RedisServer
) -> None:
    (block,) = python_blocks("## One token and one rate budget for the fleet", "docs/many-processes.md")
    env = {**env_for(fake_monite, fake_monite_server), "MONITE_REDIS_URL": redis_server.url}
    for _ in range(2):  # two processes of a fleet, one after the other: one token between them
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-c", block], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["0"]
    assert len(fake_monite.requests_to("post_auth_token")) == 1


def test_the_tracing_example_prints_the_spans_of_a_call(
    fake_monite: FakeMonite, fake_monite_server: str
) -> None:
    (block,) = python_blocks("## OpenTelemetry", "docs/tracing.md")
    result = run_example(block, fake_monite, fake_monite_server)
    names = re.findall(r'"name": "([^"]+)"', result.stdout)
    assert names == [
        "POST /auth/token",
        "monite.post_auth_token",
        "GET /mailbox_domains",
        "monite.get_mailbox_domains",
    ]
    assert fake_monite.client_secret not in result.stdout


def load_web_app(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The web app of docs/web-apps.md, as a module of its own, configured by `env` (MONITE_*)."""
    (block,) = python_blocks("# In a web app", "docs/web-apps.md")
    for key, value in env.items():
        if key.startswith("MONITE_"):
            monkeypatch.setenv(key, value)
    namespace: dict[str, Any] = {}
    exec(compile(block, "docs/web-apps.md", "exec"), namespace)  # noqa: S102
    return namespace["app"]


async def test_web_app_example_serves_verify_and_maps_errors(
    fake_monite: FakeMonite, fake_monite_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = load_web_app(env_for(fake_monite, fake_monite_server), monkeypatch)
    domain_id = await fake_monite_domain(fake_monite)

    # The app's lifespan opens and closes its MoniteClient, as a server would run it.
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://app.test") as http,
    ):
        ok = await http.post(f"/domains/{domain_id}/verify")
        missing = await http.post("/domains/3fa85f64-5717-4562-b3fc-2c963f66afa6/verify")
        not_a_uuid = await http.post("/domains/not-a-uuid/verify")
        fake_monite.faults.fail_next("post_mailbox_domains_id_verify", times=3, status=503)
        failing = await http.post(f"/domains/{domain_id}/verify")  # retry waits: instant (fixture)

    assert ok.status_code == 200
    assert ok.json() == {"status": "waiting_to_be_verified"}
    assert missing.status_code == 404
    assert not_a_uuid.status_code == 404
    assert not_a_uuid.json() == {"detail": "no such domain"}
    assert failing.status_code == 502
    assert failing.json()["detail"].startswith("Monite failed: ")
    assert "(request None)" not in failing.json()["detail"]  # the fake sends an x-request-id
    assert fake_monite.client_secret not in failing.text
    assert fake_monite.token_requests == 1  # one token for the app's whole life
    # A malformed id was refused by the SDK before anything was sent.
    assert not any("not-a-uuid" in r.path for r in fake_monite.requests)


async def test_web_app_example_answers_502_when_monite_is_unreachable(
    fake_monite: FakeMonite, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nothing listens on: bound, then released
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = load_web_app(env_for(fake_monite, f"http://127.0.0.1:{port}/v1"), monkeypatch)

    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://app.test") as http,
    ):
        answer = await http.post("/domains/3fa85f64-5717-4562-b3fc-2c963f66afa6/verify")

    assert answer.status_code == 502, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("Monite failed: Could not reach Monite"), detail
    assert detail.endswith("(request None)"), detail  # no answer, so no request id: still no 500


async def fake_monite_domain(fake: FakeMonite) -> str:
    """A domain stored in the fake, made through the fake's own API."""
    async with httpx2.AsyncClient(transport=fake.transport(), base_url=fake.base_url) as http:
        created = await http.post(
            "/mailbox_domains",
            json={"domain": "mail.example.com"},
            headers=auth(fake),
        )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_fake_monite_example_passes_as_a_users_test(tmp_path: Path) -> None:
    # The files exactly as docs/testing.md has them, its pyproject.toml the only pytest
    # configuration, and every warning an error: pytest-asyncio's unset loop scope would be one.
    (config,) = code_blocks("toml", "## With pytest", "docs/testing.md")
    assert config.startswith("# pyproject.toml\n")
    (tmp_path / "pyproject.toml").write_text(config)
    blocks = python_blocks("## With pytest", "docs/testing.md")
    assert [file_name_of(b) for b in blocks] == ["conftest.py", "test_domains.py", "test_domains_sync.py"]
    for block in blocks:
        (tmp_path / file_name_of(block)).write_text(block)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-W", "error", "-p", "no:cacheprovider", "--durations=0", "-vv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "configfile: pyproject.toml" in result.stdout
    assert "2 passed" in result.stdout
    assert "warning" not in (result.stdout + result.stderr).lower(), result.stdout + result.stderr
    # The SDK retried each 503 (0.5 s of backoff and jitter), but the fixture made it instant.
    durations = re.findall(r"([\d.]+)s call .*test_create_survives_a_503", result.stdout)
    assert len(durations) == 2, result.stdout
    assert all(float(duration) < 0.4 for duration in durations), result.stdout
