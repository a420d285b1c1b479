"""Retries over real sockets: which failures, how many attempts, which waits, what is logged."""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable

import anyio
import anyio.lowlevel
import httpx2
import pytest
from anyio_tasks import spawn
from loopback_server import LoopbackServer, Recorded, Reply, error
from monite_generated.api.mailbox_domains import get_mailbox_domains

import monite_async
from monite_async import (
    BadRequestError,
    ConfigurationError,
    ConflictError,
    MoniteAPIError,
    MoniteConnectionError,
    MoniteTimeoutError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    ValidationError,
)
from monite_async._http.answers import parse_retry_after

pytestmark = [pytest.mark.event_loops("asyncio", "trio"), pytest.mark.sync_client]


class WaitRecorder:
    """A RetryPolicy sleep that records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def waits() -> WaitRecorder:
    return WaitRecorder()


def retry_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "monite_async" and r.getMessage().startswith("Retrying")]


async def test_500_twice_then_200_is_three_attempts_and_two_logged_retries(
    loopback: LoopbackServer, waits: WaitRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="monite_async")
    boom = error(500, "Internal error")
    loopback.script("GET", "/mailbox_domains", boom, boom)
    async with loopback.client(retry_policy=RetryPolicy(sleep=waits)) as monite:
        assert await monite.mailbox_domains.list() == []
    assert loopback.count("GET", "/mailbox_domains") == 3
    records = retry_records(caplog)
    assert [(r.monite_attempt, r.monite_status) for r in records] == [(1, 500), (2, 500)]  # type: ignore[attr-defined]
    assert [r.monite_delay for r in records] == waits.waits  # type: ignore[attr-defined]
    assert "attempt 1 of 3 failed" in records[0].getMessage()
    assert "GET /v1/mailbox_domains" in records[0].getMessage()
    assert "HTTP 500" in records[0].getMessage()
    assert len(waits.waits) == 2


async def test_retries_are_bounded_by_max_retries(loopback: LoopbackServer, waits: WaitRecorder) -> None:
    loopback.script("GET", "/mailbox_domains", *[error(502, "Bad gateway")] * 5)
    async with loopback.client(max_retries=3, retry_policy=RetryPolicy(sleep=waits)) as monite:
        with pytest.raises(ServerError) as info:
            await monite.mailbox_domains.list()
    assert info.value.status_code == 502
    assert info.value.attempts == 4
    assert loopback.count("GET", "/mailbox_domains") == 4
    assert len(waits.waits) == 3


async def test_max_retries_zero_sends_once(loopback: LoopbackServer, waits: WaitRecorder) -> None:
    loopback.script("GET", "/mailbox_domains", error(503, "Unavailable"))
    async with loopback.client(max_retries=0, retry_policy=RetryPolicy(sleep=waits)) as monite:
        with pytest.raises(ServerError):
            await monite.mailbox_domains.list()
    assert loopback.count("GET", "/mailbox_domains") == 1
    assert waits.waits == []


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_each_transient_status_is_retried(
    loopback: LoopbackServer, waits: WaitRecorder, status: int
) -> None:
    loopback.script("GET", "/mailbox_domains", error(status, "transient"))
    async with loopback.client(retry_policy=RetryPolicy(sleep=waits)) as monite:
        assert await monite.mailbox_domains.list() == []
    assert loopback.count("GET", "/mailbox_domains") == 2
    assert len(waits.waits) == 1


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequestError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, ValidationError),
        (418, MoniteAPIError),
    ],
)
async def test_other_4xx_are_never_retried(
    loopback: LoopbackServer,
    waits: WaitRecorder,
    caplog: pytest.LogCaptureFixture,
    status: int,
    error_class: type[MoniteAPIError],
) -> None:
    caplog.set_level(logging.INFO, logger="monite_async")
    loopback.script("GET", "/mailbox_domains", error(status, "no"))
    async with loopback.client(retry_policy=RetryPolicy(sleep=waits)) as monite:
        with pytest.raises(error_class) as info:
            await monite.mailbox_domains.list()
    assert type(info.value) is error_class
    assert info.value.attempts == 1
    assert loopback.count("GET", "/mailbox_domains") == 1
    assert waits.waits == []
    assert retry_records(caplog) == []


async def test_retry_after_seconds_is_a_floor(loopback: LoopbackServer, waits: WaitRecorder) -> None:
    loopback.script("GET", "/mailbox_domains", error(503, "busy", **{"Retry-After": "2"}))
    policy = RetryPolicy(sleep=waits, initial_backoff=0.01, max_backoff=0.02)
    async with loopback.client(retry_policy=policy) as monite:
        await monite.mailbox_domains.list()
    assert loopback.count("GET", "/mailbox_domains") == 2
    assert len(waits.waits) == 1
    assert waits.waits[0] >= 2


async def test_retry_after_ms_is_honoured(loopback: LoopbackServer, waits: WaitRecorder) -> None:
    loopback.script("GET", "/mailbox_domains", error(429, "slow down", **{"retry-after-ms": "1500"}))
    policy = RetryPolicy(sleep=waits, initial_backoff=0.01, max_backoff=0.02)
    async with loopback.client(retry_policy=policy) as monite:
        await monite.mailbox_domains.list()
    assert len(waits.waits) == 1
    assert waits.waits[0] >= 1.5


async def test_retry_after_http_date_is_honoured(loopback: LoopbackServer, waits: WaitRecorder) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    loopback.script("GET", "/mailbox_domains", error(503, "maintenance", **{"Retry-After": when}))
    policy = RetryPolicy(sleep=waits, initial_backoff=0.01, max_backoff=0.02)
    async with loopback.client(retry_policy=policy) as monite:
        await monite.mailbox_domains.list()
    assert len(waits.waits) == 1
    # The date has whole-second resolution: the asked wait is between 29 and 30 s.
    assert 28.0 < waits.waits[0] <= 30.0


async def test_retry_after_beyond_the_cap_fails_fast_with_the_wait(
    loopback: LoopbackServer, waits: WaitRecorder
) -> None:
    loopback.script("GET", "/mailbox_domains", error(429, "Too many requests", **{"Retry-After": "3600"}))
    async with loopback.client(retry_policy=RetryPolicy(sleep=waits, max_retry_after=60)) as monite:
        with pytest.raises(RateLimitError) as info:
            await monite.mailbox_domains.list()
    assert info.value.retry_after == 3600
    assert info.value.attempts == 1
    assert "3600" in str(info.value)
    assert loopback.count("GET", "/mailbox_domains") == 1
    assert waits.waits == []


async def test_503_beyond_the_cap_is_a_server_error_carrying_the_wait(
    loopback: LoopbackServer, waits: WaitRecorder
) -> None:
    loopback.script("GET", "/mailbox_domains", error(503, "down", **{"Retry-After": "120"}))
    async with loopback.client(retry_policy=RetryPolicy(sleep=waits, max_retry_after=60)) as monite:
        with pytest.raises(ServerError) as info:
            await monite.mailbox_domains.list()
    assert info.value.retry_after == 120
    assert loopback.count("GET", "/mailbox_domains") == 1


async def test_dropped_connections_are_retried_then_raise_connection_error(
    loopback: LoopbackServer, waits: WaitRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="monite_async")
    loopback.script("GET", "/mailbox_domains", *[Reply(drop=True)] * 3)
    async with loopback.client(retry_policy=RetryPolicy(sleep=waits)) as monite:
        with pytest.raises(MoniteConnectionError) as info:
            await monite.mailbox_domains.list()
    assert type(info.value) is MoniteConnectionError
    assert info.value.attempts == 3
    assert info.value.operation == "get_mailbox_domains"
    assert loopback.count("GET", "/mailbox_domains") == 3
    assert len(waits.waits) == 2
    records = retry_records(caplog)
    assert [(r.monite_attempt, r.monite_status, r.monite_error) for r in records] == [  # type: ignore[attr-defined]
        (1, None, "RemoteProtocolError"),
        (2, None, "RemoteProtocolError"),
    ]


async def test_a_dropped_connection_then_success(loopback: LoopbackServer, waits: WaitRecorder) -> None:
    loopback.script("GET", "/mailbox_domains", Reply(drop=True))
    async with loopback.client(retry_policy=RetryPolicy(sleep=waits)) as monite:
        assert await monite.mailbox_domains.list() == []
    assert loopback.count("GET", "/mailbox_domains") == 2


async def test_timeouts_are_retried_then_raise_timeout_error(
    loopback: LoopbackServer, waits: WaitRecorder
) -> None:
    loopback.script("GET", "/mailbox_domains", *[Reply(delay=30)] * 3)
    async with loopback.client(timeout=0.2, retry_policy=RetryPolicy(sleep=waits)) as monite:
        with pytest.raises(MoniteTimeoutError) as info:
            await monite.mailbox_domains.list()
    assert info.value.attempts == 3
    assert isinstance(info.value, MoniteConnectionError)
    assert loopback.count("GET", "/mailbox_domains") == 3


async def test_set_testing_makes_waits_instant_but_still_logged(
    loopback: LoopbackServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []

    async def spy(seconds: float, *args: object) -> None:
        slept.append(seconds)
        await anyio.lowlevel.checkpoint()  # what anyio.sleep(0) is, without the patched sleep

    def blocking_spy(seconds: float) -> None:
        slept.append(seconds)  # what the blocking client's wait calls (time.sleep), recorded

    monkeypatch.setattr("monite_async._http.waits.anyio.sleep", spy)
    monkeypatch.setattr("monite_async._http.waits.time.sleep", blocking_spy)
    caplog.set_level(logging.INFO, logger="monite_async")
    loopback.script("GET", "/mailbox_domains", error(503, "busy", **{"Retry-After": "45"}))
    monite_async.set_testing(True)
    try:
        assert monite_async.is_testing()
        async with loopback.client() as monite:
            await monite.mailbox_domains.list()
    finally:
        monite_async.set_testing(False)
    assert slept == [0]  # no real wait
    (record,) = retry_records(caplog)
    assert record.monite_delay >= 45  # type: ignore[attr-defined]
    assert loopback.count("GET", "/mailbox_domains") == 2


async def test_a_retried_create_that_meets_409_returns_the_existing_domain(
    loopback: LoopbackServer, waits: WaitRecorder
) -> None:
    def created_then_failed(request: Recorded) -> Reply:
        loopback.add_domain(request.json()["domain"].lower())  # Monite did create it...
        return error(500, "Internal error")  # ...but the answer was lost

    loopback.script("POST", "/mailbox_domains", created_then_failed)
    async with loopback.client(retry_policy=RetryPolicy(sleep=waits)) as monite:
        domain = await monite.mailbox_domains.create("Mail.Example.com")
    assert str(domain.id) == loopback.domains[0]["id"]
    assert domain.domain == "mail.example.com"
    assert loopback.count("POST", "/mailbox_domains") == 2
    assert loopback.count("GET", "/mailbox_domains") == 1
    assert len(loopback.domains) == 1


async def test_a_retried_create_whose_409_is_about_something_else_still_raises(
    loopback: LoopbackServer, waits: WaitRecorder
) -> None:
    loopback.script(
        "POST", "/mailbox_domains", error(503, "busy"), error(409, "Partner domain quota reached")
    )
    async with loopback.client(retry_policy=RetryPolicy(sleep=waits)) as monite:
        with pytest.raises(ConflictError) as info:
            await monite.mailbox_domains.create("mail.example.com")
    assert info.value.attempts == 2
    assert loopback.count("GET", "/mailbox_domains") == 1


async def test_a_409_on_the_first_attempt_is_a_conflict(loopback: LoopbackServer) -> None:
    loopback.add_domain("mail.example.com")
    async with loopback.client() as monite:
        with pytest.raises(ConflictError) as info:
            await monite.mailbox_domains.create("mail.example.com")
    assert info.value.attempts == 1
    assert loopback.count("POST", "/mailbox_domains") == 1
    assert loopback.count("GET", "/mailbox_domains") == 0


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=8.0, jitter=0.0)
    assert [policy.backoff(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_jitter_only_shortens_the_wait_by_at_most_its_fraction() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=8.0, jitter=0.25)
    samples = [policy.backoff(3) for _ in range(200)]
    assert all(3.0 <= s <= 4.0 for s in samples)
    assert len(set(samples)) > 1


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ConfigurationError, match="jitter"):
        RetryPolicy(jitter=1.5)
    with pytest.raises(ConfigurationError, match="negative"):
        RetryPolicy(initial_backoff=-1)


@pytest.mark.parametrize(
    "options",
    [
        {"initial_backoff": float("nan")},
        {"max_backoff": float("inf")},
        {"max_retry_after": None},
        {"jitter": "0.1"},
        {"initial_backoff": True},
        {"sleep": 3},
    ],
)
def test_retry_policy_refuses_what_is_not_a_wait_with_a_typed_error(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="RetryPolicy"):
        RetryPolicy(**options)  # type: ignore[arg-type]


def test_parse_retry_after_forms() -> None:
    def parse(headers: dict[str, str], now: Callable[[], float] = time.time) -> float | None:
        return parse_retry_after(httpx2.Headers(headers), now=now)  # an answer's headers: any case

    assert parse({"Retry-After": "7"}) == 7.0
    assert parse({"Retry-After": "1.5"}) == 1.5
    assert parse({"retry-after-ms": "250", "Retry-After": "9"}) == 0.25
    assert parse({"Retry-After": "-3"}) == 0.0
    assert parse({"Retry-After": "soon"}) is None
    assert parse({"Retry-After": "nan"}) is None
    assert parse({}) is None
    date = "Wed, 21 Oct 2026 07:28:00 GMT"
    at = email.utils.parsedate_to_datetime(date).timestamp()
    assert parse({"Retry-After": date}, now=lambda: at - 12) == 12.0
    assert parse({"Retry-After": date}, now=lambda: at + 12) == 0.0


async def test_a_retry_wait_holds_no_pooled_connection(loopback: LoopbackServer) -> None:
    a_is_waiting, b_is_done = anyio.Event(), anyio.Event()

    async def wait_for_b(seconds: float) -> None:
        a_is_waiting.set()
        with anyio.fail_after(10):
            await b_is_done.wait()

    one_connection = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
    policy = RetryPolicy(sleep=wait_for_b)
    async with (
        loopback.client(limits=one_connection, retry_policy=policy, timeout=10.0) as monite,
        anyio.create_task_group() as tg,
    ):
        await monite.mailbox_domains.list()
        loopback.script("GET", "/mailbox_domains", error(503, "busy"))
        a = spawn(tg, monite.mailbox_domains.list())
        with anyio.fail_after(10):
            await a_is_waiting.wait()
        # A is between attempts. B needs the pool's only connection: A must have given it back.
        with anyio.fail_after(10):
            assert await monite.mailbox_domains.list() == []
        b_is_done.set()
        assert await a.result() == []
    assert loopback.count("GET", "/mailbox_domains") == 4


async def test_a_create_whose_answer_was_lost_then_replayed_after_a_stale_token_is_resolved(
    loopback: LoopbackServer, waits: WaitRecorder
) -> None:
    def created_then_dropped(request: Recorded) -> Reply:
        loopback.add_domain(request.json()["domain"])
        return Reply(drop=True)  # created, but the connection died before the answer

    # 1st send: created, answer lost. Retry: the token expired meanwhile (401). Replay: 409.
    loopback.script("POST", "/mailbox_domains", created_then_dropped, error(401, "expired"))
    async with loopback.client(retry_policy=RetryPolicy(sleep=waits)) as monite:
        domain = await monite.mailbox_domains.create("mail.example.com")
    assert str(domain.id) == loopback.domains[0]["id"]
    assert loopback.count("POST", "/mailbox_domains") == 3
    assert loopback.count("POST", "/auth/token") == 2


@pytest.mark.parametrize("first", [error(429, "slow down"), error(401, "expired")])
async def test_a_409_after_a_failure_monite_never_acted_on_is_a_conflict(
    loopback: LoopbackServer, waits: WaitRecorder, first: Reply
) -> None:
    loopback.add_domain("mail.example.com")  # it existed before: the 409 is real
    loopback.script("POST", "/mailbox_domains", first)
    async with loopback.client(retry_policy=RetryPolicy(sleep=waits)) as monite:
        with pytest.raises(ConflictError) as info:
            await monite.mailbox_domains.create("mail.example.com")
    assert not info.value.retried_after_uncertain_failure
    assert loopback.count("POST", "/mailbox_domains") == 2
    assert loopback.count("GET", "/mailbox_domains") == 0


# --------------------------------------------------------------------------------
# A connection that drops (or stalls) while the body is read is a retried
# failure, as much as one that drops before the status line.


# Headers promise 100 bytes; 8 arrive, then the connection ends.
CUT_BODY = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"data":'


async def no_wait(seconds: float) -> None:
    return None


INSTANT = RetryPolicy(sleep=no_wait)


async def test_a_body_cut_short_is_retried_then_a_connection_error(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", *[Reply(raw=CUT_BODY)] * 3)
    async with loopback.client(retry_policy=INSTANT) as monite:
        with pytest.raises(MoniteConnectionError) as info:
            await monite.mailbox_domains.list()
    assert type(info.value) is MoniteConnectionError
    assert info.value.attempts == 3
    assert info.value.operation == "get_mailbox_domains"
    assert loopback.count("GET", "/mailbox_domains") == 3  # max_retries + 1


async def test_a_body_cut_short_then_a_whole_one_succeeds(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", Reply(raw=CUT_BODY))
    async with loopback.client(retry_policy=INSTANT) as monite:
        assert await monite.mailbox_domains.list() == []
    assert loopback.count("GET", "/mailbox_domains") == 2


async def test_a_body_that_stalls_is_retried_then_a_timeout_error(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", *[Reply(raw=CUT_BODY, stall=30)] * 2)
    async with loopback.client(timeout=0.3, max_retries=1, retry_policy=INSTANT) as monite:
        with pytest.raises(MoniteTimeoutError) as info:
            await monite.mailbox_domains.list()
    assert info.value.attempts == 2
    assert loopback.count("GET", "/mailbox_domains") == 2


async def test_a_cut_create_answer_is_an_uncertain_failure(loopback: LoopbackServer) -> None:
    # The server may have acted before the body was lost: a 409 after it is the echo of
    # our own create, resolved to the existing domain.
    def created_then_cut(request: object) -> Reply:
        loopback.add_domain("mail.example.com")
        return Reply(raw=b"HTTP/1.1 201 Created\r\ncontent-length: 50\r\n\r\n{")

    loopback.script("POST", "/mailbox_domains", created_then_cut)
    async with loopback.client(retry_policy=INSTANT) as monite:
        domain = await monite.mailbox_domains.create("mail.example.com")
    assert domain.domain == "mail.example.com"
    assert loopback.count("POST", "/mailbox_domains") == 2


async def test_a_callers_http_client_gets_the_body_retry_too(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", Reply(raw=CUT_BODY))
    own = loopback.caller_client()
    async with own, loopback.client(http_client=own, retry_policy=INSTANT) as monite:
        assert await monite.mailbox_domains.list() == []
    assert loopback.count("GET", "/mailbox_domains") == 2


async def test_an_answer_read_by_the_retry_layer_is_still_a_whole_httpx_response(
    loopback: LoopbackServer,
) -> None:
    async with loopback.client(retry_policy=INSTANT) as monite:
        raw = await monite.with_raw_response.call(get_mailbox_domains)
    response = raw.http_response
    assert response.is_closed
    assert response.json() == {"data": []}
    assert response.elapsed.total_seconds() >= 0  # httpx2 timed it, as any answer it reads
    assert response.extensions["monite_async.attempts"] == 1
