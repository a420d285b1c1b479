"""MoniteClient's options, lifecycle, event-loop binding and the `call()` escape hatch."""

from __future__ import annotations

import asyncio
import gc
import http
import importlib.metadata
import logging
import types
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import httpx2
import pytest
import trio
from anyio_tasks import gather
from loopback_server import CLIENT_ID, CLIENT_SECRET, STALE_MESSAGE, LoopbackServer, Recorded, Reply, error
from monite_generated.api.access_tokens import post_auth_token
from monite_generated.api.mailbox_domains import get_mailbox_domains, post_mailbox_domains
from monite_generated.models import DomainRequest, GrantType, ObtainTokenPayload

import monite_async
from monite_async import (
    API_VERSION,
    DEFAULT_BASE_URL,
    DEFAULT_LIMITS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    AccessTokenResponse,
    ClientStateError,
    ConfigurationError,
    DomainListResponse,
    DomainResponse,
    InvalidRequestError,
    MoniteClient,
    NotFoundError,
)
from monite_async._auth.tokens import CredentialsCache
from monite_async._flow.drive import AsyncPrimitive

pytestmark = [pytest.mark.event_loops("asyncio", "trio"), pytest.mark.sync_client]


async def test_aclose_is_idempotent_and_a_closed_client_refuses_work(loopback: LoopbackServer) -> None:
    monite = loopback.client()
    await monite.mailbox_domains.list()
    await monite.aclose()
    await monite.aclose()
    assert monite.closed
    with pytest.raises(ClientStateError, match="closed"):
        await monite.mailbox_domains.list()
    async with loopback.client() as other:
        pass
    await other.aclose()  # after async with: still fine
    assert loopback.count("GET", "/mailbox_domains") == 1


async def test_a_callers_http_client_is_used_and_left_open(loopback: LoopbackServer) -> None:
    seen: list[str] = []

    def hook(request: httpx2.Request) -> None:
        seen.append(f"{request.method} {request.url.path}")

    headers = {"x-team": "billing", "x-monite-version": "1999-01-01"}
    async with loopback.caller_client(event_hooks={"request": [hook]}, headers=headers) as mine:
        async with loopback.client(http_client=mine) as monite:
            await monite.mailbox_domains.list()
        assert not mine.is_closed
        response = await mine.get(f"{loopback.base_url}/mailbox_domains")  # still usable
        assert response.status_code == 401
    assert seen == ["POST /v1/auth/token", "GET /v1/mailbox_domains", "GET /v1/mailbox_domains"]
    # Auth and version were applied by MoniteClient on top of the caller's client.
    first_get = loopback.recorded("GET", "/mailbox_domains")[0]
    assert first_get.headers["authorization"].startswith("Bearer ")
    assert first_get.headers["x-monite-version"] == API_VERSION  # ours wins over the caller's default
    assert first_get.headers["x-team"] == "billing"  # the caller's own default header is kept


async def test_a_callers_http_client_still_gets_retries(
    loopback: LoopbackServer, instant_retries: None
) -> None:
    from loopback_server import error

    loopback.script("GET", "/mailbox_domains", error(503, "busy"))
    mine = loopback.caller_client()
    async with mine, loopback.client(http_client=mine) as monite:
        assert await monite.mailbox_domains.list() == []
    assert loopback.count("GET", "/mailbox_domains") == 2


async def test_a_closed_callers_http_client_is_a_typed_error(loopback: LoopbackServer) -> None:
    mine = loopback.caller_client()
    await mine.aclose()
    async with loopback.client(http_client=mine) as monite:
        with pytest.raises(ClientStateError, match="http_client"):
            await monite.mailbox_domains.list()


def run_elsewhere(run: Callable[[], object]) -> BaseException | None:
    """What `run()` (a whole asyncio.run or trio.run, in another thread) raised, if anything."""
    try:
        run()
    except BaseException as exc:
        return exc
    return None


@pytest.mark.event_loops("asyncio")  # about asyncio loops; the trio twin is below
@pytest.mark.async_only("event-loop binding: the blocking client belongs to no loop (test_sync_threads.py)")
async def test_use_from_a_second_event_loop_raises_a_clear_error(loopback: LoopbackServer) -> None:
    async with loopback.client() as monite:
        await monite.mailbox_domains.list()

        def in_another_loop() -> BaseException | None:
            return run_elsewhere(lambda: asyncio.run(monite.mailbox_domains.list()))

        raised = await anyio.to_thread.run_sync(in_another_loop)
        assert isinstance(raised, ClientStateError)
        assert "event loop" in str(raised)
        await monite.mailbox_domains.list()  # the first loop still works
    assert loopback.count("GET", "/mailbox_domains") == 2


@pytest.mark.event_loops("trio")
async def test_use_from_a_second_trio_run_or_an_asyncio_loop_raises_a_clear_error(
    loopback: LoopbackServer,
) -> None:
    # trio has one run per thread: a second trio.run (another thread) is "another event loop".
    async with loopback.client() as monite:
        await monite.mailbox_domains.list()

        def in_another_run() -> list[BaseException | None]:
            return [
                run_elsewhere(lambda: trio.run(monite.mailbox_domains.list)),
                run_elsewhere(lambda: asyncio.run(monite.mailbox_domains.list())),
            ]

        for raised in await anyio.to_thread.run_sync(in_another_run):
            assert isinstance(raised, ClientStateError)
            assert "event loop" in str(raised)
        await monite.mailbox_domains.list()  # the first run still works
    assert loopback.count("GET", "/mailbox_domains") == 2


async def test_credentials_and_base_url_default_from_the_environment(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("MONITE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("MONITE_BASE_URL", loopback.base_url)
    # No credentials and no URL given (None is what MoniteClient() passes): the environment's.
    async with loopback.client(client_id=None, client_secret=None, base_url=None) as monite:
        assert monite.base_url == loopback.base_url
        await monite.mailbox_domains.list()
    assert loopback.count("POST", "/auth/token") == 1


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITE_BASE_URL", raising=False)
    monite = MoniteClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert monite.base_url == DEFAULT_BASE_URL == "https://api.sandbox.monite.com/v1"
    assert monite.api_version == API_VERSION == "2024-05-25"
    assert monite.max_retries == DEFAULT_MAX_RETRIES == 2
    assert DEFAULT_TIMEOUT.read == 30.0
    assert DEFAULT_TIMEOUT.connect == 5.0
    # The pool size the README promises.
    assert (DEFAULT_LIMITS.max_connections, DEFAULT_LIMITS.max_keepalive_connections) == (16, 16)


@pytest.mark.parametrize("version", ["2024-13-01", "2024-02-30", "latest", "2024-5-25", "", "2024-05-25 "])
def test_a_malformed_version_is_rejected_at_construction(version: str) -> None:
    with pytest.raises(ConfigurationError, match="api_version"):
        MoniteClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_version=version)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({}, "no credentials"),
        ({"client_id": CLIENT_ID}, "no credentials"),
        ({"client_id": "not-a-uuid", "client_secret": CLIENT_SECRET}, "UUID"),
        ({"token": "t", "client_id": CLIENT_ID}, "not both"),
        ({"token": ""}, "non-empty"),
        ({"token": "   "}, "non-empty"),
        ({"token": "line\nbreak"}, "printable ASCII"),
        ({"token": "tökén"}, "printable ASCII"),
        ({"token": 42}, "token"),
        ({"token": "t", "timeout": None}, "timeout"),
        ({"token": "t", "timeout": httpx2.Timeout(10, read=None)}, "never no timeout"),
        ({"token": "t", "max_retries": -1}, "max_retries"),
        ({"token": "t", "base_url": "api.monite.com"}, "base_url"),
    ],
)
def test_bad_options_raise_configuration_error(
    monkeypatch: pytest.MonkeyPatch, options: dict[str, object], match: str | None
) -> None:
    for name in ("MONITE_CLIENT_ID", "MONITE_CLIENT_SECRET", "MONITE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match=match):
        MoniteClient(**options)  # type: ignore[arg-type]


async def test_transport_and_http_client_are_exclusive() -> None:
    async with httpx2.AsyncClient() as mine:
        with pytest.raises(ConfigurationError, match="not both"):
            MoniteClient(token="t", transport=httpx2.AsyncHTTPTransport(), http_client=mine)


def test_repr_and_str_hold_no_secret() -> None:
    monite = MoniteClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    fixed = MoniteClient(token="fixed-token-value-123")
    for text in (repr(monite), str(monite), repr(fixed), str(fixed), repr(vars(monite)), repr(vars(fixed))):
        assert CLIENT_SECRET not in text
        assert "fixed-token-value-123" not in text
    assert repr(monite) == (
        f"MoniteClient(base_url={DEFAULT_BASE_URL!r}, api_version='2024-05-25', "
        "auth='client credentials', max_retries=2)"
    )


async def test_call_runs_a_generated_module_or_function(loopback: LoopbackServer) -> None:
    async with loopback.client() as monite:
        created = await monite.call(post_mailbox_domains, body=DomainRequest(domain="mail.example.com"))
        listing = await monite.call(get_mailbox_domains)
        via_function = await monite.call(get_mailbox_domains.asyncio)
        detailed = await monite.call(get_mailbox_domains.asyncio_detailed)
    assert isinstance(created, DomainResponse)
    assert isinstance(listing, DomainListResponse)
    assert isinstance(via_function, DomainListResponse)
    assert [d.id for d in listing.data] == [created.id]
    assert detailed.status_code == http.HTTPStatus.OK
    assert isinstance(detailed.parsed, DomainListResponse)
    assert detailed.headers["x-monite-version"] == API_VERSION
    assert all(r.headers["x-monite-version"] == API_VERSION for r in loopback.requests)


async def test_call_maps_errors_and_leaves_open_operations_unsigned(loopback: LoopbackServer) -> None:
    from monite_generated.api.mailbox_domains import delete_mailbox_domains_id

    payload = ObtainTokenPayload(
        client_id=uuid.UUID(CLIENT_ID), client_secret=CLIENT_SECRET, grant_type=GrantType.CLIENT_CREDENTIALS
    )
    async with loopback.client() as monite:
        token = await monite.call(post_auth_token, body=payload)
        with pytest.raises(NotFoundError):
            await monite.call(delete_mailbox_domains_id, uuid.uuid4())
    assert isinstance(token, AccessTokenResponse)
    # The open operation went out unsigned, and only once: no token was fetched for it.
    first = loopback.requests[0]
    assert first.path == "/v1/auth/token"
    assert "authorization" not in first.headers
    assert loopback.count("POST", "/auth/token") == 2  # ours, then the one the DELETE needed


async def test_call_rejects_what_is_not_an_operation(loopback: LoopbackServer) -> None:
    async with loopback.client() as monite:
        with pytest.raises(InvalidRequestError, match="not a generated operation"):
            await monite.call(len)
        with pytest.raises(InvalidRequestError, match="client="):
            await monite.call(get_mailbox_domains, client=object())
        with pytest.raises(InvalidRequestError, match="bad arguments"):
            await monite.call(post_mailbox_domains, nonsense=1)
    assert loopback.count() == 0


async def test_call_sends_typed_header_values_as_the_generator_writes_them(loopback: LoopbackServer) -> None:
    # A generated operation with typed headers (x-monite-entity-id: uuid, a bool): our template
    # of the generator writes each as text (openapi/templates/property_templates/
    # uuid_property.py.jinja; the generator's own bool template), for httpx2 takes only text.
    # tests/project/test_new_operation.py checks the generated code itself.
    import types

    entity = uuid.UUID("9d2b4c8f-2087-4738-ba91-7359683c49a4")
    operation = types.ModuleType("monite_generated.api.fake.get_with_typed_headers")

    def _get_kwargs(*, x_monite_entity_id: uuid.UUID, flag: bool, x_monite_version: str) -> dict[str, object]:
        headers = {
            "x-monite-entity-id": str(x_monite_entity_id),
            "x-flag": "true" if flag else "false",
            "x-monite-version": x_monite_version,
        }
        return {"method": "get", "url": "/mailbox_domains", "headers": headers}

    operation._get_kwargs = _get_kwargs  # type: ignore[attr-defined]
    operation._parse_response = get_mailbox_domains._parse_response  # type: ignore[attr-defined]
    async with loopback.client() as monite:
        listing = await monite.call(operation, x_monite_entity_id=entity, flag=True)
    assert isinstance(listing, DomainListResponse)
    sent = loopback.recorded("GET", "/mailbox_domains")[0].headers
    assert sent["x-monite-entity-id"] == str(entity)
    assert sent["x-flag"] == "true"
    assert sent["authorization"].startswith("Bearer ")  # no REQUIRES_AUTH: secured by default


# --------------------------------------------------------------------------------
# `call()` raises only MoniteError subclasses for bad arguments, a
# caller-supplied x_monite_version included, and sends nothing when it does.


@pytest.mark.parametrize("version", ["2024-05-25é", "2024-13-01", "latest", "2024-05-25\r\nx-evil: 1", ""])
async def test_a_bad_x_monite_version_is_an_invalid_request(loopback: LoopbackServer, version: str) -> None:
    async with loopback.client() as monite:
        with pytest.raises(InvalidRequestError, match="x_monite_version"):
            await monite.call(get_mailbox_domains, x_monite_version=version)
    assert loopback.count() == 0


async def test_a_good_x_monite_version_is_sent(
    loopback: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="monite_async")
    async with loopback.client() as monite:
        await monite.call(get_mailbox_domains, x_monite_version="2024-01-31")
    assert loopback.recorded("GET", "/mailbox_domains")[0].headers["x-monite-version"] == "2024-01-31"
    # Monite echoed the version this call asked for (not the client's): nothing to warn of.
    assert [r.getMessage() for r in caplog.records if r.name == "monite_async"] == []


def operation(kwargs: dict[str, Any]) -> types.ModuleType:
    """A module shaped like a generated operation (as a newly generated one would be)."""
    module = types.ModuleType("monite_generated.api.mailbox_domains.get_something_new")
    module._get_kwargs = lambda: dict(kwargs)  # type: ignore[attr-defined]
    module._parse_response = lambda *, client, response: None  # type: ignore[attr-defined]
    return module


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "get", "url": "/mailbox_domains", "headers": {"x-note": "naïve"}},
        {"method": "get", "url": "http://[::1/mailbox_domains"},
    ],
    ids=["non-ascii-header", "invalid-url"],
)
async def test_a_request_httpx_cannot_build_is_an_invalid_request(
    loopback: LoopbackServer, kwargs: dict[str, Any]
) -> None:
    async with loopback.client() as monite:
        with pytest.raises(InvalidRequestError, match="get_something_new"):
            await monite.call(operation(kwargs))
    assert loopback.count() == 0


# --------------------------------------------------------------------------------
# Closing the client while calls are in flight gives every caller a typed
# error; a token fetch that failed that way is shared, not retried by each waiter; nothing is
# re-sent on a closed client.


async def ten_calls_refused_after_aclose(loopback: LoopbackServer, monite: MoniteClient) -> list[object]:
    await monite.mailbox_domains.list()  # a token, to be refused below
    # Ten calls in flight; each meets a stale-token answer only after the client is closed.
    stale = error(401, STALE_MESSAGE)
    stale.delay = 1.0  # long enough that aclose() comes first, on a busy machine too
    loopback.script("GET", "/mailbox_domains", *[stale] * 10)
    results: list[object] = []

    async def ten_calls() -> None:
        calls = (monite.mailbox_domains.list() for _ in range(10))
        results.extend(await gather(*calls, return_exceptions=True))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(ten_calls)
            await loopback.wait_for("GET", "/mailbox_domains", 1 + 10)
            await monite.aclose()
    return results


async def test_a_refresh_needed_after_aclose_is_a_client_state_error_met_once(
    loopback: LoopbackServer,
) -> None:
    # A caller's http_client stays open, so the stale answers arrive; the refresh they need
    # then meets the closed MoniteClient (httpx2: RuntimeError "client has been closed").
    async with loopback.caller_client() as own:
        monite = loopback.client(http_client=own)
        results = await ten_calls_refused_after_aclose(loopback, monite)
    assert all(isinstance(r, ClientStateError) for r in results), [type(r) for r in results]
    # Each replay after the close fails before anything is sent: no token request either.
    assert loopback.count("POST", "/auth/token") == 1  # only the first token
    assert loopback.count("GET", "/mailbox_domains") == 1 + 10


async def test_calls_cut_by_aclose_are_not_retried_on_the_closed_client(loopback: LoopbackServer) -> None:
    # The client's own pool closes under the calls in flight: their attempts fail, and the
    # retry layer must not send them again through the closed transport.
    monite = loopback.client()
    results = await ten_calls_refused_after_aclose(loopback, monite)
    assert all(isinstance(r, ClientStateError) for r in results), [type(r) for r in results]
    assert loopback.count("GET", "/mailbox_domains") == 1 + 10
    assert loopback.count("POST", "/auth/token") == 1


async def test_a_call_whose_token_arrives_after_aclose_sends_nothing(loopback: LoopbackServer) -> None:
    # A caller's http_client stays open, so the token answer arrives after the close; the
    # request it was fetched for must not go out then (the transport itself would send it).
    def slow_token(request: Recorded) -> Reply:
        reply = loopback._issue_token(request)
        reply.delay = 0.5
        return reply

    loopback.script("POST", "/auth/token", slow_token)
    async with loopback.caller_client() as own:
        monite = loopback.client(http_client=own)
        results: list[object] = []

        async def one_call() -> None:
            results.extend(await gather(monite.mailbox_domains.list(), return_exceptions=True))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(one_call)
                await loopback.wait_for("POST", "/auth/token", 1)
                await monite.aclose()
    assert [type(r) for r in results] == [ClientStateError]
    assert loopback.count("GET", "/mailbox_domains") == 0


def test_a_fetch_failing_with_any_exception_is_shared_with_its_waiters() -> None:
    # Not only MoniteError: whatever the fetch raised, the callers that waited for it get
    # it too instead of each trying again (the cache decides; the flow runs the fetch).
    cache = CredentialsCache(client_secret="s", lock=AsyncPrimitive(1))
    seen = [cache.generation for _ in range(10)]  # ten callers queued for the lock
    plan = cache.plan(0, seen[0])
    assert plan == "no token yet"  # a fetch to run
    with pytest.raises(RuntimeError):
        cache.failed(RuntimeError("Cannot send a request, as the client has been closed."))
    for waiter in seen[1:]:  # each waiter takes the lock in turn: the failure, no new fetch
        with pytest.raises(RuntimeError, match="closed"):
            cache.plan(0, waiter)


# --------------------------------------------------------------------------------
# Lifecycle across event loops, and a client never closed.


def test_closing_from_another_loop_after_the_first_ended_works() -> None:
    server_ready: list[LoopbackServer] = []

    async def use() -> MoniteClient:
        server = LoopbackServer()
        await server.start()
        server_ready.append(server)
        monite = server.client()
        await monite.mailbox_domains.list()  # a pooled connection, bound to this loop
        await server.stop()
        return monite

    monite = asyncio.run(use())
    asyncio.run(monite.aclose())  # the first loop is gone: no "Event loop is closed"
    assert monite.closed
    with pytest.raises(ClientStateError, match="closed"):
        asyncio.run(monite.mailbox_domains.list())


def test_closing_from_a_second_trio_run_after_the_first_ended_works() -> None:
    # The trio twin: a pooled connection of the first trio.run, closed from a second one.
    async def use() -> MoniteClient:
        server = LoopbackServer()
        await server.start()
        monite = server.client()
        await monite.mailbox_domains.list()
        assert server.count("GET", "/mailbox_domains") == 1
        await server.stop()
        return monite

    monite = trio.run(use)
    trio.run(monite.aclose)
    assert monite.closed
    with pytest.raises(ClientStateError, match="closed"):
        trio.run(monite.mailbox_domains.list)


def test_a_client_never_closed_warns_when_collected() -> None:
    monite = MoniteClient(token="app-token-123", base_url="http://127.0.0.1:9/v1")
    with pytest.warns(ResourceWarning, match=r"unclosed MoniteClient\(base_url='http://127.0.0.1:9/v1'"):
        del monite  # no reference cycle: dropping the last reference collects it at once


async def test_a_closed_client_and_a_failed_construction_do_not_warn() -> None:
    gc.collect()  # what earlier tests left behind is theirs, not this test's
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        async with MoniteClient(token="app-token-123", base_url="http://127.0.0.1:9/v1"):
            pass
        with pytest.raises(ConfigurationError):
            MoniteClient(token="app-token-123", base_url="http://127.0.0.1:9/v1", max_retries=-1)
        gc.collect()


# --------------------------------------------------------------------------------
# The User-Agent comes from the package version; a caller's own is kept, ours appended.


async def test_the_user_agent_is_the_package_version(loopback: LoopbackServer) -> None:
    async with loopback.client() as monite:
        await monite.mailbox_domains.list()
    agents = {r.headers.get("user-agent") for r in loopback.requests}
    assert agents == {f"monite-async/{monite_async.__version__}"}
    assert importlib.metadata.version("monite-async") == monite_async.__version__


async def test_a_callers_user_agent_is_kept_and_ours_appended(loopback: LoopbackServer) -> None:
    async with (
        loopback.caller_client(headers={"User-Agent": "billing-app/3.2"}) as mine,
        loopback.client(http_client=mine) as monite,
    ):
        await monite.mailbox_domains.list()
    agents = {r.headers.get("user-agent") for r in loopback.requests}
    assert agents == {f"billing-app/3.2 monite-async/{monite_async.__version__}"}


async def test_a_finished_call_is_freed_without_the_garbage_collector(loopback: LoopbackServer) -> None:
    # httpx2 binds each response and its stream to each other; the pipeline cuts that cycle
    # once the answer is read, so a loaded client's collector has nothing of a call to find.
    from monite_async._flow.call import _Exchange as RequestState

    loopback.add_domain("mail.example.com")
    async with loopback.client() as monite:
        await monite.mailbox_domains.list()  # the token and the connection, made once
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector would free lands in gc.garbage
        try:
            for _ in range(20):
                assert len(await monite.mailbox_domains.list()) == 1
            gc.collect()
            left = [o for o in gc.garbage if isinstance(o, httpx2.Response | httpx2.Request | RequestState)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    assert left == []
