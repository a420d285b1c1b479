"""The fake counts its rate limit per client id, across that client's tokens, as Monite does;
and `python -m monite_async.testing --rate-limit N --token-lifetime S` serves such a fake."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading

import httpx2
from fake_requests import VERSION

from monite_async.testing import FakeMonite


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _token(http: httpx2.Client, fake: FakeMonite, client_id: str | None = None) -> httpx2.Response:
    body = {
        "grant_type": "client_credentials",
        "client_id": client_id or fake.client_id,
        "client_secret": fake.client_secret,
    }
    return http.post("/auth/token", json=body, headers=VERSION)


def _list(http: httpx2.Client, token: str) -> httpx2.Response:
    return http.get("/mailbox_domains", headers={**VERSION, "authorization": f"Bearer {token}"})


def test_every_token_of_a_client_spends_one_budget() -> None:
    clock = Clock()
    fake = FakeMonite(rate_limit=4, clock=clock)
    with httpx2.Client(transport=fake.sync_transport(), base_url=fake.base_url) as http:
        first = _token(http, fake).json()["access_token"]
        second = _token(http, fake).json()["access_token"]  # two token requests: 2 of 4 spent
        answers = [_list(http, first), _list(http, second), _list(http, second)]
        clock.now += 1.0
        next_window = _list(http, first)

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[1].headers["ratelimit-remaining"] == "0"
    assert answers[2].headers["retry-after"] == "1"
    assert answers[2].headers["ratelimit-limit"] == "4"
    assert next_window.status_code == 200


def test_another_client_ids_requests_do_not_spend_this_clients_budget() -> None:
    fake = FakeMonite(rate_limit=2, clock=Clock())
    stranger = "11111111-2222-4333-8444-555555555555"
    with httpx2.Client(transport=fake.sync_transport(), base_url=fake.base_url) as http:
        refused = [_token(http, fake, client_id=stranger) for _ in range(3)]
        token = _token(http, fake)
        listed = _list(http, token.json()["access_token"])
        unknown = [_list(http, "never-issued") for _ in range(3)]
        again = _list(http, token.json()["access_token"])

    assert [r.status_code for r in refused] == [401, 401, 429]  # the stranger's own window
    assert token.status_code == 200
    assert listed.status_code == 200
    assert [r.status_code for r in unknown] == [401, 401, 429]  # no client's window at all
    assert again.status_code == 429  # 2 per second: the token request and one list


def test_the_command_serves_a_rate_limited_fake_with_short_tokens() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "monite_async.testing", "--port=0", "--rate-limit=3", "--token-lifetime=2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    try:
        banner = [lines.get(timeout=20) for _ in range(7)]
        base_url = next(
            line.split("=", 1)[1] for line in banner if line.startswith("export MONITE_BASE_URL=")
        )
        fake = FakeMonite()  # only for the default credentials the command accepts
        with httpx2.Client(base_url=base_url, timeout=5) as http:
            # Within one second of the fake's clock: the token request and two lists, then 429.
            token = _token(http, fake)
            answers = [_list(http, token.json()["access_token"]) for _ in range(3)]
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert token.json()["expires_in"] == 2
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["ratelimit-limit"] == "3"
    assert answers[2].headers["retry-after"] == "1"
