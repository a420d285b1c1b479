"""The fake Monite on a real socket: uvicorn on 127.0.0.1, a free port, started and stopped here."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx2
import pytest

from monite_async.testing import FakeMonite

VERSION = {"x-monite-version": "2024-05-25"}


async def test_serve_answers_over_a_socket_and_drops_connections() -> None:
    fake = FakeMonite()
    headers = {**VERSION, "authorization": f"Bearer {fake.issue_token()}"}
    async with fake.serve() as base_url, httpx2.AsyncClient(base_url=base_url, timeout=5.0) as http:
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/v1")
        created = await http.post("/mailbox_domains", json={"domain": "a.example.com"}, headers=headers)
        fake.faults.fail_next("get_mailbox_domains", drop_connection=True)
        with pytest.raises(httpx2.RemoteProtocolError):
            await http.get("/mailbox_domains", headers=headers)
        listed = await http.get("/mailbox_domains", headers=headers)

    assert created.status_code == 201
    assert listed.json()["data"][0]["domain"] == "a.example.com"
    # Stopped: the port no longer answers.
    async with httpx2.AsyncClient(timeout=2.0) as after:
        with pytest.raises(httpx2.ConnectError):
            await after.get(base_url + "/mailbox_domains")


def test_fixture_serves_from_a_thread(fake_monite: FakeMonite, fake_monite_server: str) -> None:
    token = httpx2.post(
        fake_monite_server + "/auth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": fake_monite.client_id,
            "client_secret": fake_monite.client_secret,
        },
        headers=VERSION,
        timeout=5.0,
    ).json()["access_token"]
    fake_monite.faults.fail_next("get_mailbox_domains", status=503)

    first = httpx2.get(
        fake_monite_server + "/mailbox_domains",
        headers={**VERSION, "authorization": f"Bearer {token}"},
        timeout=5.0,
    )

    assert first.status_code == 503
    assert fake_monite.token_requests == 1


def test_command_line_serves_on_the_given_port(unused_tcp_port: int) -> None:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "monite_async.testing", "--port", str(unused_tcp_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{unused_tcp_port}/v1"
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert base_url in banner
        response = None
        for _ in range(50):  # bounded: up to about 5 s for uvicorn to start listening
            try:
                response = httpx2.get(base_url + "/mailbox_domains", headers=VERSION, timeout=2.0)
                break
            except httpx2.ConnectError:
                time.sleep(0.1)
        assert response is not None
        assert response.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_command_line_refuses_bad_knobs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "monite_async.testing", "--port", "0", "--verify-after", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 2
    assert "verify_after" in result.stderr


def test_serve_in_thread_stops_cleanly() -> None:
    fake = FakeMonite()
    with fake.serve_in_thread() as base_url:
        answered = httpx2.get(base_url + "/mailbox_domains", headers=VERSION, timeout=5.0)

    assert answered.status_code == 401
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(base_url + "/mailbox_domains", timeout=2.0)


async def test_app_speaks_the_lifespan_protocol() -> None:
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return incoming.pop(0)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await FakeMonite().app({"type": "lifespan"}, receive, send)

    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


async def test_keep_alive_answers_do_not_wait_for_a_delayed_ack() -> None:
    """Each answer arrives whole at once: the server's sockets have TCP_NODELAY. Without it,
    uvicorn's h11 writes the headers, then the body, and Nagle holds the body until the
    client's delayed ACK, ~40 ms on Linux, on every request after the first of a connection."""
    fake = FakeMonite()
    headers = {**VERSION, "authorization": f"Bearer {fake.issue_token()}"}
    async with fake.serve() as base_url, httpx2.AsyncClient(base_url=base_url, timeout=5.0) as http:
        await http.get("/mailbox_domains", headers=headers)
        times = []
        for _ in range(15):  # bounded: 15 requests on one keep-alive connection
            started = time.perf_counter()
            await http.get("/mailbox_domains", headers=headers)
            times.append(time.perf_counter() - started)
    times.sort()
    assert times[len(times) // 2] < 0.030, times  # the median: a busy machine may slow a few


async def test_a_request_is_recorded_before_its_answer_goes_out() -> None:
    """A test that has the answer finds the request in `requests` already, wherever the fake
    runs (another thread, another task). It was recorded after the answer went out, so a test
    counting requests right after a call could miss the last one, or find it after clearing."""
    fake = FakeMonite()
    token = fake.issue_token()
    recorded_when_answered: list[int] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            recorded_when_answered.append(len(fake.requests))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/mailbox_domains",
        "raw_path": b"/v1/mailbox_domains",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"x-monite-version", b"2024-05-25"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    for _ in range(3):  # bounded: three requests, each recorded as its answer starts
        await fake.app(scope, receive, send)
    assert recorded_when_answered == [1, 2, 3]
    assert [entry.status for entry in fake.requests] == [200, 200, 200]
