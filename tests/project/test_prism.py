"""The SDK against Stoplight Prism, a mock server built from our fragment by someone else.

Prism (pinned in scripts/node_tools.py, installed into .tools/node) checks every request
against the fragment and reports problems in an `sl-violations` response header; in
dynamic mode it invents responses from the schemas, which the SDK must parse. Prism gives
no answer at all to a malformed JSON body (a known bug), so every call here is bounded.
Skipped only where Node.js is absent; a failed install on a machine with Node fails.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from monite_async import DomainResponse, MoniteClient, VerifyResponse

ROOT = Path(__file__).resolve().parents[2]
FRAGMENT = ROOT / "openapi" / "mailbox_domains.yaml"
NODE_TOOLS = ROOT / "scripts" / "node_tools.py"
CLIENT_ID = "0b4c7d5e-6f8a-4b9c-8d1e-2f3a4b5c6d7e"
TIMEOUT = httpx2.Timeout(10.0, connect=5.0)
_START_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def prism_executable() -> str:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are not installed: the Prism contract checks need them")
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(NODE_TOOLS), "path", "prism"],
        capture_output=True,
        text=True,
        timeout=660,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"installing Prism failed although Node.js is present:\n{result.stderr}")
    return result.stdout.strip()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _prism(executable: str, log: Path, *extra: str) -> Iterator[str]:
    port = _free_port()
    command = [executable, "mock", str(FRAGMENT), "-h", "127.0.0.1", "-p", str(port), *extra]
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            base_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + _START_TIMEOUT
            while "Prism is listening" not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"Prism did not start:\n{log.read_text(errors='replace')[-3000:]}")
                time.sleep(0.1)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def prism_static(prism_executable: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _prism(prism_executable, tmp_path_factory.mktemp("prism") / "static.log") as base_url:
        yield base_url


@pytest.fixture(scope="module")
def prism_dynamic(prism_executable: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("prism") / "dynamic.log"
    with _prism(prism_executable, log, "--dynamic", "--seed", "20240525") as base_url:
        yield base_url


class Recorder(httpx2.AsyncBaseTransport):
    """Sends over the network and keeps (method, path, status, sl-violations) of each answer."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.seen: list[tuple[str, str, int, list[dict[str, object]]]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        violations = json.loads(response.headers.get("sl-violations") or "[]")
        self.seen.append((request.method, request.url.path, response.status_code, violations))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _client(base_url: str, recorder: Recorder) -> MoniteClient:
    # Prism serves the paths at its root: the fragment's server path (/v1) is not mocked.
    return MoniteClient(
        client_id=CLIENT_ID,
        client_secret="example-client-secret",
        base_url=base_url,
        transport=recorder,
        max_retries=0,
        timeout=TIMEOUT,
    )


async def _every_operation(
    monite: MoniteClient,
) -> tuple[DomainResponse, list[DomainResponse], VerifyResponse]:
    created = await monite.mailbox_domains.create("mail.example.com")  # token, then create
    listed = await monite.mailbox_domains.list()
    verified = await monite.mailbox_domains.verify(created.id)
    await monite.mailbox_domains.delete(created.id)
    await monite.auth.revoke()
    return created, listed, verified


_ALL_OPERATIONS = {
    ("POST", "/auth/token"),
    ("POST", "/mailbox_domains"),
    ("GET", "/mailbox_domains"),
    ("POST", "/mailbox_domains/{id}/verify"),
    ("DELETE", "/mailbox_domains/{id}"),
    ("POST", "/auth/revoke"),
}


def _operations(seen: list[tuple[str, str, int, list[dict[str, object]]]]) -> set[tuple[str, str]]:
    result = set()
    for method, path, _, _ in seen:
        parts = ["{id}" if _is_uuid(part) else part for part in path.split("/")]
        result.add((method, "/".join(parts)))
    return result


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def test_sdk_requests_have_no_violations(prism_static: str) -> None:
    recorder = Recorder()
    async with _client(prism_static, recorder) as monite:
        created, listed, verified = await _every_operation(monite)

    assert _operations(recorder.seen) == _ALL_OPERATIONS
    assert [(m, p, v) for m, p, _, v in recorder.seen if v] == []
    assert all(200 <= status < 300 for _, _, status, _ in recorder.seen)
    # Prism's static answers are the fragment's examples.
    assert created.domain == "mail.example.com"
    assert listed[0].id == created.id
    assert verified.status == "verified"


async def test_violation_header_is_seen_when_a_request_is_wrong(prism_static: str) -> None:
    # The check above can fail: an extra body field and no token are both reported.
    async with httpx2.AsyncClient(base_url=prism_static, timeout=TIMEOUT) as http:
        response = await http.post(
            "/mailbox_domains",
            json={"domain": "mail.example.com", "unexpected": 1},
            headers={"x-monite-version": "2024-05-25"},
        )

    messages = [item["message"] for item in json.loads(response.headers["sl-violations"])]
    assert any("additional properties" in message for message in messages)
    assert any("security" in message for message in messages)


async def test_sdk_parses_dynamic_responses(prism_dynamic: str) -> None:
    recorder = Recorder()
    async with _client(prism_dynamic, recorder) as monite:
        for _ in range(3):  # bounded: three rounds of invented answers for each operation
            created, listed, verified = await _every_operation(monite)
            assert isinstance(created, DomainResponse)
            assert all(isinstance(item, DomainResponse) for item in listed)
            assert isinstance(verified, VerifyResponse)

    assert _operations(recorder.seen) == _ALL_OPERATIONS
    assert [(m, p, v) for m, p, _, v in recorder.seen if v] == []
