"""Per-call options (`with_options`), raw responses, the deadline and the retry rules,
over real loopback sockets with exact counts."""

from __future__ import annotations

import gc
import time
import tracemalloc
import warnings
import weakref
from typing import Any

import anyio
import httpx2
import pytest
from anyio_tasks import gather
from loopback_server import LoopbackServer, Reply, error
from monite_generated.api.mailbox_domains import get_mailbox_domains

from monite_async import (
    DEFAULT_DEADLINE,
    ClientStateError,
    ConfigurationError,
    DomainListResponse,
    MoniteAPIError,
    MoniteClient,
    MoniteSyncClient,
    MoniteTimeoutError,
    RateLimit,
    RateLimitError,
    RetryPolicy,
    ServerError,
)

pytestmark = [
    pytest.mark.event_loops("asyncio", "trio"),  # both loops (tests/event_loops.py)
    pytest.mark.sync_client,  # and the blocking client ("sync", tests/event_loops.py)
]


async def no_wait(seconds: float) -> None:
    return None


INSTANT = RetryPolicy(sleep=no_wait)
LIMIT_HEADERS = {"RateLimit-Limit": "30", "RateLimit-Remaining": "29", "RateLimit-Reset": "1"}


# -- with_options ----------------------------------------------------------------------


async def test_per_call_retries_are_honoured_while_the_parent_keeps_its_own(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", *[error(503, "busy")] * 3)
    async with loopback.client(retry_policy=INSTANT) as monite:
        with pytest.raises(ServerError) as info:
            await monite.with_options(max_retries=0).mailbox_domains.list()
        assert info.value.attempts == 1
        assert loopback.count("GET", "/mailbox_domains") == 1
        assert await monite.mailbox_domains.list() == []  # two more 503s, then the answer
    assert loopback.count("GET", "/mailbox_domains") == 4
    assert monite.max_retries == 2


async def test_per_call_timeout_is_honoured_while_the_parent_keeps_its_own(loopback: LoopbackServer) -> None:
    slow = Reply(200, json={"data": []}, delay=0.6)
    loopback.script("GET", "/mailbox_domains", slow, slow)
    async with loopback.client(retry_policy=INSTANT) as monite:
        with pytest.raises(MoniteTimeoutError):
            await monite.with_options(timeout=0.2, max_retries=0).mailbox_domains.list()
        assert await monite.mailbox_domains.list() == []  # 30 s per attempt: the slow answer comes
    assert loopback.count("GET", "/mailbox_domains") == 2
    assert monite.timeout.read == 30.0


async def test_views_share_one_pool_one_token_and_one_loop(loopback: LoopbackServer) -> None:
    async with loopback.client() as monite:
        views = [monite.with_options(timeout=5), monite.with_options(max_retries=0), monite.with_options()]
        await gather(*(view.mailbox_domains.list() for view in [monite, *views]))
        for view in views:
            assert view._core is monite._core  # the pool, token cache, rate window and loop binding
            assert view._core.network is monite._core.network
    assert loopback.count("POST", "/auth/token") == 1
    assert loopback.count("GET", "/mailbox_domains") == 4


async def test_closing_a_view_closes_nothing_and_closing_the_parent_ends_every_view(
    loopback: LoopbackServer,
) -> None:
    monite = loopback.client()
    view = monite.with_options(timeout=5)
    async with view:
        await view.mailbox_domains.list()
    assert not view.closed
    assert await monite.mailbox_domains.list() == []  # still open
    await monite.aclose()
    assert view.closed
    with pytest.raises(ClientStateError, match="closed"):
        await view.mailbox_domains.list()


async def test_options_chain_and_headers_reach_monite(loopback: LoopbackServer) -> None:
    async with loopback.client() as monite:
        view = monite.with_options(timeout=5).with_options(max_retries=0, headers={"x-trace-id": "t-1"})
        assert (view.timeout.read, view.max_retries) == (5.0, 0)
        await view.with_options(headers={"x-team": "billing"}).mailbox_domains.list()
        await monite.mailbox_domains.list()
    first, second = loopback.recorded("GET", "/mailbox_domains")
    assert (first.headers["x-trace-id"], first.headers["x-team"]) == ("t-1", "billing")
    assert "x-trace-id" not in second.headers


async def test_a_views_api_version_is_sent_without_changing_the_parents(loopback: LoopbackServer) -> None:
    async with loopback.client() as monite:
        await monite.with_options(api_version="2024-01-31").mailbox_domains.list()
        await monite.mailbox_domains.list()
    versions = [r.headers["x-monite-version"] for r in loopback.recorded("GET", "/mailbox_domains")]
    assert versions == ["2024-01-31", monite.api_version]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"headers": {"Authorization": "Bearer mine"}}, "Authorization"),
        ({"headers": {"X-Monite-Version": "2024-01-31"}}, "api_version="),
        ({"headers": {"x-evil": "a\r\nb"}}, "printable ASCII"),
        ({"timeout": None}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"deadline": 0}, "deadline"),
        ({"deadline": float("inf")}, "deadline"),
        ({"api_version": "latest"}, "api_version"),
    ],
)
def test_bad_options_are_configuration_errors(options: dict[str, object], match: str) -> None:
    monite = MoniteClient(token="app-token-123", base_url="http://127.0.0.1:9/v1")
    try:
        with pytest.raises(ConfigurationError, match=match):
            monite.with_options(**options)
    finally:
        monite._core.flow.closed = True  # never used: nothing to close, no warning


@pytest.mark.parametrize("client_class", [MoniteClient, MoniteSyncClient])
@pytest.mark.parametrize(
    ("kept", "refused"),
    [
        ({"max_retries": 1}, {"max_retries": True}),
        ({"max_retries": 0}, {"max_retries": False}),
        ({"deadline": 1}, {"deadline": True}),
        ({"timeout": 1}, {"timeout": True}),
        ({"max_retries": 1}, {"max_retries": 1.0}),
    ],
)
def test_a_kept_view_never_answers_for_an_equal_value_that_is_refused(
    client_class: type[MoniteClient] | type[MoniteSyncClient], kept: dict[str, Any], refused: dict[str, Any]
) -> None:
    # True == 1 == 1.0 (and hash alike): the kept views' keys must tell them apart.
    monite = client_class(token="app-token-123", base_url="http://127.0.0.1:9/v1")
    try:
        monite.with_options(**kept)
        with pytest.raises(ConfigurationError):
            monite.with_options(**refused)
    finally:
        monite._core.flow.closed = True


def test_ten_thousand_views_leak_nothing() -> None:
    monite = MoniteClient(token="app-token-123", base_url="http://127.0.0.1:9/v1")
    try:
        monite.with_options(timeout=5)  # warm up whatever is created once
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        alive = []
        for n in range(10_000):  # 10,000 different views, and the same one 10,000 times
            alive.append(weakref.ref(monite.with_options(timeout=5, headers={"x-n": str(n)})))
            alive.append(weakref.ref(monite.with_options(timeout=5, headers={"x-n": "1"})))
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        kept = {id(view) for view in (ref() for ref in alive) if view is not None}
        assert kept == set()  # every view was freed the moment it was dropped
        assert grown < 2_000_000, grown  # the 20,000 weakrefs themselves are about 1.6 MB
        # Every client object on this core, found by the collector (not by who refers to the
        # core: CPython may keep an object's attributes in a dict of their own, and then that
        # dict is the referrer): the client and its kept views, no other.
        clients = [o for o in gc.get_objects() if isinstance(o, MoniteClient) and o._core is monite._core]
        assert len(clients) == 1
    finally:
        monite._core.flow.closed = True


def test_a_view_of_a_view_keeps_what_the_first_changed() -> None:
    monite = MoniteClient(token="app-token-123", base_url="http://127.0.0.1:9/v1")
    try:
        view = monite.with_options(timeout=5, headers={"x-team": "billing"})
        chained = view.with_options(max_retries=0)
        assert chained.timeout == view.timeout == httpx2.Timeout(5)
        assert chained._options.headers == (("x-team", "billing"),)
        assert chained.max_retries == 0
        assert view.max_retries == monite.max_retries
    finally:
        monite._core.flow.closed = True


def test_a_headers_dict_changed_and_passed_again_gives_a_view_with_the_new_headers() -> None:
    # The last call's arguments answer by identity only when none can change (a dict can).
    monite = MoniteClient(token="app-token-123", base_url="http://127.0.0.1:9/v1")
    try:
        headers = {"x-team": "billing"}
        first = monite.with_options(timeout=5, headers=headers)
        headers["x-team"] = "payroll"
        second = monite.with_options(timeout=5, headers=headers)
        assert second is not first
        assert second._options.headers == (("x-team", "payroll"),)
        assert first._options.headers == (("x-team", "billing"),)
    finally:
        monite._core.flow.closed = True


def test_a_client_dropped_unclosed_warns_at_once_though_it_kept_views() -> None:
    monite = MoniteClient(token="app-token-123", base_url="http://127.0.0.1:9/v1")
    monite.with_options(timeout=5)  # kept by the client: no reference cycle through it
    with pytest.warns(ResourceWarning, match=r"unclosed MoniteClient\(base_url='http://127.0.0.1:9/v1'"):
        del monite


def test_a_view_of_a_client_made_on_the_fly_warns_when_it_goes_unclosed() -> None:
    view = MoniteSyncClient(token="app-token-123", base_url="http://127.0.0.1:9/v1").with_options(timeout=5)
    closing = r"unclosed MoniteSyncClient\(.*: use `with MoniteSyncClient\(\.\.\.\)`"
    with pytest.warns(ResourceWarning, match=closing):
        del view


# -- raw responses ---------------------------------------------------------------------


async def test_raw_responses_carry_the_servers_request_id_and_rate_limit(loopback: LoopbackServer) -> None:
    loopback.script(
        "GET", "/mailbox_domains", error(503, "busy"), Reply(200, json={"data": []}, headers=LIMIT_HEADERS)
    )
    async with loopback.client(retry_policy=INSTANT) as monite:
        raw = await monite.mailbox_domains.with_raw_response.list()
    assert raw.status_code == 200
    assert str(raw.request_id).startswith("req-")  # the server's own
    assert raw.attempts == 2
    assert raw.elapsed > 0
    assert raw.rate_limit == RateLimit(limit=30, remaining=29, reset_after=1.0)
    assert raw.headers["x-monite-version"] == monite.api_version
    assert raw.parse() == []


async def test_raw_create_verify_delete_and_call(loopback: LoopbackServer) -> None:
    async with loopback.client() as monite:
        created = await monite.mailbox_domains.with_raw_response.create("mail.example.com")
        assert created.status_code == 201
        domain = created.parse()
        verified = await monite.mailbox_domains.with_raw_response.verify(domain.id)
        assert verified.parse().status == "verified"
        listing = await monite.with_raw_response.call(get_mailbox_domains)
        assert isinstance(listing.parse(), DomainListResponse)
        assert listing.rate_limit is None  # this server sends no rate-limit headers
        deleted = await monite.mailbox_domains.with_raw_response.delete(domain.id)
        assert (deleted.status_code, deleted.parse()) == (204, None)


async def test_raw_create_recovers_a_409_after_a_lost_answer_as_the_plain_method_does(
    loopback: LoopbackServer,
) -> None:
    def created_then_lost(request: object) -> Reply:
        loopback.add_domain("mail.example.com")
        return Reply(drop=True)

    loopback.script("POST", "/mailbox_domains", created_then_lost)
    async with loopback.client(retry_policy=INSTANT) as monite:
        raw = await monite.mailbox_domains.with_raw_response.create("mail.example.com")
    assert raw.parse().domain == "mail.example.com"
    assert raw.attempts == 3  # two creates (lost, then 409) and the lookup
    assert loopback.count("POST", "/mailbox_domains") == 2


async def test_raw_errors_raise_as_the_plain_methods_do(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", error(429, "slow down", **{"Retry-After": "120"}))
    async with loopback.client() as monite:
        with pytest.raises(RateLimitError) as info:
            await monite.mailbox_domains.with_raw_response.list()
    assert info.value.retry_after == 120


# -- the deadline ----------------------------------------------------------------------


def test_the_default_deadline_is_finite_and_at_most_a_minute() -> None:
    assert 0 < DEFAULT_DEADLINE <= 60
    monite = MoniteClient(token="app-token-123", base_url="http://127.0.0.1:9/v1")
    monite._core.flow.closed = True
    assert monite.deadline == DEFAULT_DEADLINE


async def test_the_deadline_holds_against_a_hung_server(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", *[Reply(200, json={"data": []}, delay=30)] * 3)
    async with loopback.client(token="app-token-123") as monite:  # default 30 s per attempt
        loopback.valid_tokens.add("app-token-123")
        started = time.monotonic()
        with pytest.raises(MoniteTimeoutError) as info:
            await monite.with_options(deadline=1.0).mailbox_domains.list()
        took = time.monotonic() - started
    assert 0.9 < took < 2.5, took
    assert info.value.operation == "get_mailbox_domains"


async def test_a_retry_after_past_the_deadline_fails_now_with_the_wait_on_the_error(
    loopback: LoopbackServer,
) -> None:
    async with loopback.client() as monite:
        await monite.mailbox_domains.list()  # a token first
        loopback.script("GET", "/mailbox_domains", error(503, "busy", **{"Retry-After": "5"}))
        started = time.monotonic()
        with pytest.raises(ServerError) as info:
            await monite.with_options(deadline=2.0).mailbox_domains.list()
        took = time.monotonic() - started
    assert took < 1.0, took  # no 5 s wait that the deadline could not cover
    assert info.value.retry_after == 5
    assert info.value.attempts == 1


async def test_each_attempt_shrinks_to_the_time_the_deadline_leaves(loopback: LoopbackServer) -> None:
    async with loopback.client(timeout=httpx2.Timeout(30.0), retry_policy=INSTANT) as monite:
        await monite.mailbox_domains.list()  # a token first: the deadline below is the GET's alone
        loopback.script("GET", "/mailbox_domains", *[Reply(200, json={"data": []}, delay=30)] * 3)
        with pytest.raises(MoniteTimeoutError) as info:
            await monite.with_options(deadline=1.5).mailbox_domains.list()
    # The attempt's own read timeout (30 s, shrunk to what the deadline left) ran out first:
    # a typed timeout of the attempt, not the backstop of the deadline's scope.
    assert "ReadTimeout" in info.value.message
    assert info.value.attempts == 1


# -- what is retried ---------------------------------------------------------------------


@pytest.mark.parametrize(("status", "attempts"), [(408, 3), (520, 3), (530, 3), (501, 1), (505, 1)])
async def test_what_is_retried(loopback: LoopbackServer, status: int, attempts: int) -> None:
    loopback.script("GET", "/mailbox_domains", *[error(status, "no")] * 3)
    async with loopback.client(retry_policy=INSTANT, token="app-token-123") as monite:
        loopback.valid_tokens.add("app-token-123")
        with pytest.raises(MoniteAPIError) as info:  # ServerError for the 5xx
            await monite.mailbox_domains.list()
    assert info.value.attempts == attempts
    assert loopback.count("GET", "/mailbox_domains") == attempts


async def test_a_429_holds_the_whole_client_not_only_the_call_that_got_it(loopback: LoopbackServer) -> None:
    async with loopback.client() as monite:  # real waits: the hold is what is measured
        await monite.mailbox_domains.list()  # a token first
        loopback.script("GET", "/mailbox_domains", error(429, "slow down", **{"Retry-After": "1"}))
        finished: dict[str, float] = {}

        async def first() -> None:
            await monite.mailbox_domains.list()
            finished["first"] = time.monotonic()

        started = time.monotonic()
        async with anyio.create_task_group() as group:
            group.start_soon(first)
            await anyio.sleep(0.3)  # the 429 is back by now; the client is held until 1 s
            assert await monite.mailbox_domains.list() == []
            finished["second"] = time.monotonic()
    assert finished["first"] - started >= 0.95  # its own Retry-After
    assert finished["second"] - started >= 0.95  # the neighbour's Retry-After held it too
    assert loopback.count("GET", "/mailbox_domains") == 1 + 2 + 1


# -- what an independent review found, each fixed ------------------------------------------


async def test_calls_queued_when_the_client_closes_are_not_sent_afterwards(loopback: LoopbackServer) -> None:
    monite = loopback.client(limits=httpx2.Limits(max_connections=1))
    await monite.mailbox_domains.list()
    loopback.script("GET", "/mailbox_domains", *[Reply(200, json={"data": []}, delay=0.5)] * 3)
    async with anyio.create_task_group() as group:
        results: list[object] = []

        async def one() -> None:
            try:
                results.append(await monite.mailbox_domains.list())
            except ClientStateError as exc:
                results.append(exc)

        for _ in range(3):
            group.start_soon(one)
        await anyio.sleep(0.2)  # one on the wire, two queued for the only slot
        sent_before_close = loopback.count("GET", "/mailbox_domains")
        await monite.aclose()
    assert loopback.count("GET", "/mailbox_domains") == sent_before_close  # nothing after aclose()
    assert sum(isinstance(r, ClientStateError) for r in results) >= 2


def test_a_view_of_a_client_made_on_the_fly_keeps_its_pool_open_and_the_warning_quiet() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        view = MoniteClient(token="app-token-123", base_url="http://127.0.0.1:9/v1").with_options(timeout=5)
        gc.collect()  # the client that made it goes; its pool, and the view, live on unwarned
        assert not view.closed
    view._core.flow.closed = True  # never used: nothing to close


async def test_a_creates_lookup_after_409_shares_the_calls_deadline(loopback: LoopbackServer) -> None:
    async with loopback.client(deadline=1.0, retry_policy=INSTANT) as monite:
        await monite.mailbox_domains.list()
        loopback.add_domain("a.example.com")
        loopback.script("POST", "/mailbox_domains", Reply(503, delay=0.3), error(409, "exists"))
        loopback.script("GET", "/mailbox_domains", Reply(200, json={"data": loopback.domains}, delay=2.0))
        started = time.monotonic()
        with pytest.raises(MoniteTimeoutError):
            await monite.mailbox_domains.create("a.example.com")
        assert time.monotonic() - started < 1.3  # one budget for the create and its lookup


async def test_attempts_count_every_send_replays_included(loopback: LoopbackServer) -> None:
    from loopback_server import STALE_MESSAGE

    async with loopback.client(retry_policy=INSTANT) as monite:
        await monite.mailbox_domains.list()
        loopback.script("GET", "/mailbox_domains", error(503, "busy"), error(401, STALE_MESSAGE))
        raw = await monite.mailbox_domains.with_raw_response.list()
    assert raw.attempts == 3  # 503, 401, then the replay's 200
    assert loopback.count("GET", "/mailbox_domains") == 1 + 3


async def test_the_pool_timeout_bounds_the_wait_for_a_connection_slot(loopback: LoopbackServer) -> None:
    timeout = httpx2.Timeout(10.0, pool=0.3)
    limits = httpx2.Limits(max_connections=1)
    async with loopback.client(limits=limits, timeout=timeout, max_retries=0) as monite:
        await monite.mailbox_domains.list()
        loopback.script("GET", "/mailbox_domains", Reply(200, json={"data": []}, delay=2.0))
        async with anyio.create_task_group() as group:
            group.start_soon(monite.mailbox_domains.list)
            await anyio.sleep(0.1)
            started = time.monotonic()
            with pytest.raises(MoniteTimeoutError, match="PoolTimeout"):
                await monite.mailbox_domains.list()
            assert time.monotonic() - started < 1.0
        slots = monite._core.flow.slots
        free = slots.free  # type: ignore[attr-defined]
        assert free == 1  # the one slot back, none made up


def test_a_bad_header_name_is_refused_where_it_is_given() -> None:
    monite = MoniteClient(token="app-token-123", base_url="http://127.0.0.1:9/v1")
    try:
        for name in ("X-Trace\r\nX-Evil", "X Trace", ""):
            with pytest.raises(ConfigurationError, match="header name"):
                monite.with_options(headers={name: "1"})
    finally:
        monite._core.flow.closed = True


async def test_a_token_callable_that_raises_is_named_not_mistaken_for_a_closed_client(
    loopback: LoopbackServer,
) -> None:
    def sealed() -> str:
        raise RuntimeError("vault sealed")

    async def sealed_async() -> str:
        return sealed()

    # Each client its own kind of callable: MoniteSyncClient refuses an async one.
    async with loopback.client(token=sealed if loopback.backend == "sync" else sealed_async) as monite:
        with pytest.raises(ConfigurationError, match="the token callable raised RuntimeError") as info:
            await monite.mailbox_domains.list()
    assert isinstance(info.value.__cause__, RuntimeError)  # the app's own, for its traceback
    assert loopback.count() == 0


async def test_a_422_echoing_a_secret_is_redacted_in_its_field_errors(loopback: LoopbackServer) -> None:
    from loopback_server import CLIENT_SECRET

    detail = [
        {"loc": ["body", "client_secret"], "msg": f"{CLIENT_SECRET} is not active", "type": "value_error"}
    ]
    loopback.script("POST", "/auth/token", Reply(422, json={"detail": detail}))
    async with loopback.client() as monite:
        with pytest.raises(MoniteAPIError) as info:
            await monite.mailbox_domains.list()
    said = str(info.value) + repr(info.value) + repr(getattr(info.value, "field_errors", ()))
    assert CLIENT_SECRET not in said


def test_a_base_url_with_credentials_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="user name or password"):
        MoniteClient(token="app-token-123", base_url="https://gw:gateway-pass-123@proxy.example/v1")


def test_views_are_no_reference_cycles() -> None:
    monite = MoniteClient(token="app-token-123", base_url="http://127.0.0.1:9/v1")
    monite._core.flow.closed = True  # never used: nothing to close, no warning
    gc.disable()
    try:
        refs = [weakref.ref(monite.with_options(timeout=5 + n)) for n in range(100)]
        kept = [r for r in refs if r() is not None]
        assert kept == []  # each freed the moment it was dropped
        del monite
        assert [r for r in refs if r() is not None] == []  # freed with the client, without the collector
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("answer", "payload_in_locals"),
    [
        # A refusal is raised from no frame that held the token request's payload.
        (error(401, "Wrong client credentials"), False),
        # A failure of the token request keeps its traceback, whose frames hold the payload.
        (error(503, "busy"), True),
    ],
)
async def test_no_secret_in_a_tracebacks_recorded_locals(
    loopback: LoopbackServer, answer: Reply, payload_in_locals: bool
) -> None:
    import traceback

    from loopback_server import CLIENT_SECRET

    from monite_async import MoniteAPIError

    loopback.script("POST", "/auth/token", answer)
    async with loopback.client(max_retries=0) as monite:
        with pytest.raises(MoniteAPIError) as info:
            await monite.mailbox_domains.list()
        # As Sentry and other error trackers record them: every frame's locals, by repr.
        raised = info.value
        assert raised.status_code == answer.status
        inside = raised.__traceback__.tb_next if raised.__traceback__ else None  # past this test's frame
        recorded = "".join(
            traceback.TracebackException(type(raised), raised, inside, capture_locals=True).format()
        )
        assert ("client_secret" in recorded) is payload_in_locals  # the payload among the locals...
        assert CLIENT_SECRET not in recorded  # ...but its secret shows as '[redacted]'
        assert CLIENT_SECRET not in repr(monite._core.flow.credentials)
