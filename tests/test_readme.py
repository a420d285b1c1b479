"""The README's Python examples run as written, against the fake Monite.

Each block is taken from README.md by the heading above it, so an edit that breaks an
example fails here instead of in a user's first five minutes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_requests import auth

import monite_async
from monite_async.testing import FakeMonite

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(heading: str) -> list[str]:
    """The ```python blocks of the section under `heading`, up to the next heading."""
    text = README.read_text()
    start = text.index(f"\n{heading}\n")
    following = re.search(r"\n#{2,3} ", text[start + len(heading) + 2 :])
    end = start + len(heading) + 2 + following.start() if following else len(text)
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.DOTALL)


def env_for(fake: FakeMonite, base_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "MONITE_CLIENT_ID": fake.client_id,
        "MONITE_CLIENT_SECRET": fake.client_secret,
        "MONITE_BASE_URL": base_url,
    }


@pytest.mark.fake_monite(verify_after=1)
def test_quickstart_runs_against_the_fake(fake_monite: FakeMonite, fake_monite_server: str) -> None:
    (block,) = python_blocks("## Quickstart")
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", block],
        env=env_for(fake_monite, fake_monite_server),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("TXT mail.example.com v=spf1")  # the sending records, one a line
    assert "verified" in lines
    assert "['mail.example.com']" in lines
    assert fake_monite.domains == []  # and it cleaned up after itself


async def test_web_app_example_serves_verify_and_maps_errors(
    fake_monite: FakeMonite, fake_monite_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (block,) = python_blocks("### In a web app")
    for key, value in env_for(fake_monite, fake_monite_server).items():
        if key.startswith("MONITE_"):
            monkeypatch.setenv(key, value)
    namespace: dict[str, Any] = {}
    exec(compile(block, "README.md (web app)", "exec"), namespace)  # noqa: S102
    app = namespace["app"]
    domain_id = await fake_monite_domain(fake_monite)

    # The app's lifespan opens and closes its MoniteClient, as a server would run it.
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test") as http,
    ):
        ok = await http.post(f"/domains/{domain_id}/verify")
        missing = await http.post("/domains/3fa85f64-5717-4562-b3fc-2c963f66afa6/verify")
        fake_monite.faults.fail_next("post_mailbox_domains_id_verify", times=3, status=503)
        monite_async.set_testing(True)
        try:
            failing = await http.post(f"/domains/{domain_id}/verify")
        finally:
            monite_async.set_testing(False)

    assert ok.status_code == 200
    assert ok.json() == {"status": "waiting_to_be_verified"}
    assert missing.status_code == 404
    assert failing.status_code == 502
    assert failing.json()["detail"].startswith("Monite failed: ")
    assert fake_monite.client_secret not in failing.text
    assert fake_monite.token_requests == 1  # one token for the app's whole life


async def fake_monite_domain(fake: FakeMonite) -> str:
    """A domain stored in the fake, made through the fake's own API."""
    async with httpx.AsyncClient(transport=fake.transport(), base_url=fake.base_url) as http:
        created = await http.post(
            "/mailbox_domains",
            json={"domain": "mail.example.com"},
            headers=auth(fake),
        )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_fake_monite_example_passes_as_a_users_test(tmp_path: Path) -> None:
    conftest, test_module = python_blocks("## Testing your app with the fake Monite")[0].split(
        "# test_domains.py\n"
    )
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "test_domains.py").write_text(
        textwrap.dedent(test_module) + "\n\nimport monite_async\nmonite_async.set_testing(True)\n"
    )
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=auto",
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
