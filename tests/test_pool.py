"""The default network transport (`monite_async._pool.ConnectionPoolTransport`) over real
sockets on 127.0.0.1: connection counts as the server sees them, keep-alive, limits, the
pool timeout, failures, cancellation, TLS and closing. Each test is bounded in time."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator

import anyio
import httpx
import pytest
from exception_chains import chain
from loopback_server import LoopbackServer, Reply
from pytest_httpx import HTTPXMock

from monite_async import MoniteClient, MoniteConnectionError, RetryPolicy
from monite_async._core import connection_slots, network_transport
from monite_async._pool import ConnectionPoolTransport

pytestmark = pytest.mark.event_loops("asyncio", "trio")

BOUND = 10.0  # seconds any one test may take
CUT_BODY = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"


async def no_wait(seconds: float) -> None:
    return None


def limits(**given: float | None) -> httpx.Limits:
    settings: dict[str, float | None] = {
        "max_connections": 10,
        "max_keepalive_connections": 10,
        "keepalive_expiry": 15.0,
    }
    settings.update(given)
    return httpx.Limits(**settings)  # type: ignore[arg-type]


def http(pool: ConnectionPoolTransport, server: LoopbackServer, **options: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=pool, base_url=server.base_url, **options)  # type: ignore[arg-type]


def ok(delay: float = 0.0) -> Reply:
    return Reply(200, json={"ok": True}, delay=delay)


async def wait_until(check: Callable[[], bool], what: str) -> None:
    """Poll (500 steps of 10 ms at most) until `check()` holds."""
    for _ in range(500):
        if check():
            return
        await anyio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def test_n_concurrent_requests_over_k_connections_open_exactly_k(server: LoopbackServer) -> None:
    server.script("GET", "/work", *[ok(delay=0.05)] * 20)
    statuses: list[int] = []
    pool = ConnectionPoolTransport(limits=limits(max_connections=4))
    with anyio.fail_after(BOUND):
        async with http(pool, server) as client:

            async def one() -> None:
                statuses.append((await client.get("/work")).status_code)

            async with anyio.create_task_group() as group:
                for _ in range(20):
                    group.start_soon(one)
    assert statuses == [200] * 20
    assert server.connections_opened == 4


async def test_sequential_calls_reuse_one_connection(server: LoopbackServer) -> None:
    server.script("GET", "/work", *[ok()] * 5)
    with anyio.fail_after(BOUND):
        async with http(ConnectionPoolTransport(limits=limits()), server) as client:
            for _ in range(5):
                assert (await client.get("/work")).json() == {"ok": True}
            assert server.connections_opened == 1
            assert server.connections_closed == 0


async def test_a_connection_idle_past_keepalive_expiry_is_not_reused(server: LoopbackServer) -> None:
    server.script("GET", "/work", ok(), ok())
    with anyio.fail_after(BOUND):
        async with http(ConnectionPoolTransport(limits=limits(keepalive_expiry=0.2)), server) as client:
            assert (await client.get("/work")).status_code == 200
            await anyio.sleep(0.4)
            assert (await client.get("/work")).status_code == 200
            assert server.connections_opened == 2
            await wait_until(lambda: server.connections_closed == 1, "the expired connection closed")


async def test_max_keepalive_connections_is_honoured(server: LoopbackServer) -> None:
    server.script("GET", "/work", *[ok(delay=0.1)] * 4, *[ok()] * 3)
    pool = ConnectionPoolTransport(limits=limits(max_connections=4, max_keepalive_connections=1))
    with anyio.fail_after(BOUND):
        async with http(pool, server) as client:
            async with anyio.create_task_group() as group:
                for _ in range(4):
                    group.start_soon(client.get, "/work")
            assert server.connections_opened == 4
            await wait_until(lambda: server.connections_closed == 3, "all but one idle connection closed")
            for _ in range(3):  # the one kept carries them
                assert (await client.get("/work")).status_code == 200
            assert server.connections_opened == 4


async def test_the_pool_timeout_raises_pool_timeout_when_every_connection_is_held(
    server: LoopbackServer,
) -> None:
    server.script("GET", "/hold", ok(delay=0.5))
    server.script("GET", "/work", ok())
    pool = ConnectionPoolTransport(limits=limits(max_connections=1))
    with anyio.fail_after(BOUND):
        async with http(pool, server) as client, anyio.create_task_group() as group:
            group.start_soon(client.get, "/hold")
            await server.wait_for("GET", "/hold")
            with pytest.raises(httpx.PoolTimeout):
                await client.get("/work", timeout=httpx.Timeout(5.0, pool=0.1))
            # Once the held one is answered, the connection serves the next.
            assert (await client.get("/work", timeout=httpx.Timeout(5.0, pool=2.0))).status_code == 200
    assert server.connections_opened == 1


async def test_requests_waiting_for_a_connection_are_served_first_come_first_served(
    server: LoopbackServer,
) -> None:
    server.script("GET", "/hold", ok(delay=0.3))
    server.script("GET", "/work", *[ok()] * 5)
    pool = ConnectionPoolTransport(limits=limits(max_connections=1))
    with anyio.fail_after(BOUND):
        async with http(pool, server) as client, anyio.create_task_group() as group:
            group.start_soon(client.get, "/hold")
            await server.wait_for("GET", "/hold")
            for number in range(5):
                group.start_soon(lambda n=number: client.get("/work", headers={"x-n": str(n)}))
                await anyio.sleep(0.02)  # each has queued before the next starts
    order = [r.headers["x-n"] for r in server.recorded("GET", "/work")]
    assert order == ["0", "1", "2", "3", "4"]


async def test_a_server_that_closes_mid_answer_is_a_transport_error_and_not_reused(
    server: LoopbackServer,
) -> None:
    server.script("GET", "/work", Reply(raw=CUT_BODY), ok())
    with anyio.fail_after(BOUND):
        async with http(ConnectionPoolTransport(limits=limits()), server) as client:
            with pytest.raises(httpx.TransportError):
                await client.get("/work")
            assert (await client.get("/work")).json() == {"ok": True}
    assert server.connections_opened == 2


async def test_a_server_that_closes_mid_answer_is_retried_by_the_client(server: LoopbackServer) -> None:
    server.script("GET", "/mailbox_domains", Reply(raw=CUT_BODY))
    with anyio.fail_after(BOUND):
        async with server.client(retry_policy=RetryPolicy(sleep=no_wait)) as monite:
            assert await monite.mailbox_domains.list() == []
    assert server.count("GET", "/mailbox_domains") == 2


async def test_a_server_that_closes_a_kept_alive_connection_is_not_reused(server: LoopbackServer) -> None:
    # The server ends the connection after answering (as an idle timeout on its side would):
    # the pool sees the socket readable (EOF) at checkout and opens a new one.
    server.script("GET", "/work", ok(), ok())
    with anyio.fail_after(BOUND):
        async with http(ConnectionPoolTransport(limits=limits()), server) as client:
            first = await client.get("/work", headers={"connection": "close"})
            assert first.status_code == 200
            await wait_until(lambda: server.connections_closed == 1, "the server closed it")
            assert (await client.get("/work")).status_code == 200
    assert server.connections_opened == 2


async def test_cancelled_requests_leak_no_slot_and_no_half_read_connection(server: LoopbackServer) -> None:
    server.script("GET", "/hold", ok(delay=0.5), ok(delay=0.5))
    server.script("GET", "/slow", ok(delay=3.0))
    server.script("GET", "/cut", Reply(raw=CUT_BODY, stall=3.0))
    server.script("GET", "/work", ok(delay=0.2), ok(delay=0.2))
    pool = ConnectionPoolTransport(limits=limits(max_connections=2))
    with anyio.fail_after(BOUND):
        async with http(pool, server) as client:
            async with anyio.create_task_group() as group:
                group.start_soon(client.get, "/hold")
                group.start_soon(client.get, "/hold")
                await server.wait_for("GET", "/hold", 2)
                with anyio.move_on_after(0.1) as waiting:  # while waiting for a connection
                    await client.get("/work")
                assert waiting.cancelled_caught
            with anyio.move_on_after(0.2) as answering:  # while waiting for the answer's head
                await client.get("/slow")
            assert answering.cancelled_caught
            with anyio.move_on_after(0.3) as reading:  # while reading the body
                await client.get("/cut")
            assert reading.cancelled_caught
            assert "busy=0" in repr(pool)
            # Both slots free, and no connection carries a half-read answer: two parallel
            # requests, neither allowed to wait for a connection, both answered whole.
            bodies: list[object] = []

            async def work() -> None:
                response = await client.get("/work", timeout=httpx.Timeout(5.0, pool=0.05))
                bodies.append(response.json())

            async with anyio.create_task_group() as group:
                group.start_soon(work)
                group.start_soon(work)
    assert bodies == [{"ok": True}, {"ok": True}]
    assert server.count("GET", "/work") == 2  # the cancelled waiter never went out


async def test_a_request_to_another_origin_closes_an_idle_connection_at_the_limit(
    server: LoopbackServer,
) -> None:
    other = LoopbackServer()
    await other.start()
    try:
        server.script("GET", "/work", ok())
        other.script("GET", "/work", ok())
        pool = ConnectionPoolTransport(limits=limits(max_connections=1))
        with anyio.fail_after(BOUND):
            async with httpx.AsyncClient(transport=pool) as client:
                assert (await client.get(server.base_url + "/work")).status_code == 200
                assert (await client.get(other.base_url + "/work")).status_code == 200
                await wait_until(lambda: server.connections_closed == 1, "the first origin's closed")
    finally:
        await other.stop()


@pytest.fixture
def tls_server(authority: object) -> Iterator[LoopbackServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)  # type: ignore[attr-defined]
    loopback = LoopbackServer(ssl_context=context)
    loopback.open()
    try:
        yield loopback
    finally:
        loopback.close()


async def test_tls_to_a_trusted_certificate_works_and_keeps_the_connection(
    tls_server: LoopbackServer, authority: object
) -> None:
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)  # type: ignore[attr-defined]
    tls_server.script("GET", "/work", ok(), ok())
    pool = ConnectionPoolTransport(limits=limits(), ssl_context=trusting)
    with anyio.fail_after(BOUND):
        async with http(pool, tls_server) as client:
            assert tls_server.base_url.startswith("https://")
            for _ in range(2):
                assert (await client.get("/work")).json() == {"ok": True}
    assert tls_server.connections_opened == 1


async def test_an_untrusted_certificate_fails_as_a_tls_error(tls_server: LoopbackServer) -> None:
    with anyio.fail_after(BOUND):
        async with http(ConnectionPoolTransport(limits=limits()), tls_server) as client:
            with pytest.raises(httpx.ConnectError) as info:
                await client.get("/work")
    # The ssl error is in the chain (httpcore's error, and under trio anyio's, in between),
    # where the facade's classification finds it.
    assert any(isinstance(e, ssl.SSLCertVerificationError) for e in chain(info.value))
    async with MoniteClient(
        token="app-token-123", base_url=tls_server.base_url, retry_policy=RetryPolicy(sleep=no_wait)
    ) as monite:
        with pytest.raises(MoniteConnectionError) as failed:
            await monite.mailbox_domains.list()
    assert "could not be verified" in failed.value.message
    assert failed.value.attempts == 1  # a TLS failure is permanent


async def test_closing_the_pool_closes_its_idle_sockets_and_a_later_request_fails(
    server: LoopbackServer,
) -> None:
    server.script("GET", "/work", *[ok(delay=0.1)] * 3)
    pool = ConnectionPoolTransport(limits=limits())
    with anyio.fail_after(BOUND):
        async with http(pool, server) as client:
            async with anyio.create_task_group() as group:
                for _ in range(3):
                    group.start_soon(client.get, "/work")
            assert server.connections_opened == 3
            assert server.connections_closed == 0
            await pool.aclose()
            await wait_until(lambda: server.connections_closed == 3, "the pool's 3 sockets closed")
            with pytest.raises(RuntimeError, match="client has been closed"):
                await client.get("/work")
    assert server.count("GET", "/work") == 3


def test_the_client_builds_the_pool_with_its_limits() -> None:
    given = httpx.Limits(max_connections=7, max_keepalive_connections=3, keepalive_expiry=2.0)
    transport = network_transport(None, None, given)
    assert isinstance(transport, ConnectionPoolTransport)
    assert transport.limits is given
    assert connection_slots(None, given) == 7


async def test_the_default_transport_ignores_proxy_variables_as_before(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # httpx reads HTTP(S)_PROXY only for a client without a transport of its own, and the
    # facade's client always has one: proxies come with an http_client= of the caller's.
    proxy = LoopbackServer()
    await proxy.start()
    try:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with anyio.fail_after(BOUND):
            async with server.client() as monite:
                assert await monite.mailbox_domains.list() == []
        assert proxy.connections_opened == 0
        assert server.count("GET", "/mailbox_domains") == 1
    finally:
        await proxy.stop()


async def test_pytest_httpx_still_intercepts_the_default_transport(
    server: LoopbackServer, httpx_mock: HTTPXMock
) -> None:
    # It replaces httpx.AsyncHTTPTransport.handle_async_request; the pool then sends through
    # httpx's own transport, so the mock answers and nothing reaches the network.
    httpx_mock.add_response(url=f"{server.base_url}/mailbox_domains", json={"data": []})
    with anyio.fail_after(BOUND):
        async with server.client(token="app-token-123") as monite:
            assert await monite.mailbox_domains.list() == []
    assert len(httpx_mock.get_requests()) == 1
    assert server.connections_opened == 0
