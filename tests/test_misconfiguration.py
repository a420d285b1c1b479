"""A client set up wrong says what is wrong: base URL without /v1, https:// to a plain-HTTP
server, nothing listening. Each over a real loopback socket, on both transports."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator

import pytest
from loopback_server import LoopbackServer

from monite_async import MoniteClient, MoniteConnectionError, NotFoundError, RetryPolicy, aiohttp_transport
from monite_async.testing import FakeMonite


async def no_wait(seconds: float) -> None:
    return None


@pytest.fixture(params=["httpx", "aiohttp"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def fake_origin() -> AsyncIterator[tuple[FakeMonite, str]]:
    """The fake Monite on a socket (uvicorn, which answers garbage with a plain-HTTP 400)."""
    fake = FakeMonite()
    async with fake.serve() as base_url:
        yield fake, base_url.removesuffix("/v1")


def client(backend: str, fake: FakeMonite, base_url: str) -> MoniteClient:
    return MoniteClient(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        base_url=base_url,
        retry_policy=RetryPolicy(sleep=no_wait),
        **({"transport": aiohttp_transport()} if backend == "aiohttp" else {}),
    )


async def test_a_base_url_without_v1_says_so_and_shows_the_url(
    backend: str, fake_origin: tuple[FakeMonite, str]
) -> None:
    fake, origin = fake_origin
    async with client(backend, fake, origin) as monite:
        with pytest.raises(NotFoundError) as info:
            await monite.mailbox_domains.list()
    message = info.value.message
    assert f"{origin}/auth/token" in message
    assert "does not end in /v1" in message
    assert info.value.operation == "post_auth_token"
    assert fake.client_secret not in str(info.value)


async def test_https_to_a_plain_http_server_is_not_retried_and_says_what_it_likely_means(
    backend: str, fake_origin: tuple[FakeMonite, str]
) -> None:
    fake, origin = fake_origin
    https = origin.replace("http://", "https://") + "/v1"
    async with client(backend, fake, https) as monite:
        with pytest.raises(MoniteConnectionError) as info:
            await monite.mailbox_domains.list()
    error = info.value
    assert type(error) is MoniteConnectionError
    assert error.attempts == 1  # a TLS failure is permanent: no retry
    assert "not retried" in error.message
    assert "plain HTTP" in error.message
    assert error.status_code is None
    assert error.request_id is None


async def test_nothing_listening_is_connection_refused_on_both_transports(backend: str) -> None:
    with socket.socket() as probe:  # a port nothing listens on: bound, then let go
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monite = MoniteClient(
        token="app-token-123",
        base_url=f"http://127.0.0.1:{port}/v1",
        max_retries=1,
        retry_policy=RetryPolicy(sleep=no_wait),
        **({"transport": aiohttp_transport()} if backend == "aiohttp" else {}),
    )
    async with monite:
        with pytest.raises(MoniteConnectionError) as info:
            await monite.mailbox_domains.list()
    assert type(info.value) is MoniteConnectionError
    assert "connection refused" in info.value.message
    assert info.value.attempts == 2  # refused is transient (a restart): retried
    assert info.value.operation == "get_mailbox_domains"


async def test_a_refused_connection_reads_the_same_from_the_loopback_fixture(
    loopback: LoopbackServer,
) -> None:
    monite = loopback.client(token="app-token-123", max_retries=0)
    await loopback.stop()
    async with monite:
        with pytest.raises(MoniteConnectionError, match="connection refused"):
            await monite.mailbox_domains.list()


async def test_an_untrusted_certificate_is_not_retried_and_says_what_it_likely_means(backend: str) -> None:
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()  # a CA this machine does not trust, as a TLS-inspecting proxy has
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    handshakes = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal handshakes
        handshakes += 1
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        async with MoniteClient(
            token="app-token-123",
            base_url=f"https://127.0.0.1:{port}/v1",
            retry_policy=RetryPolicy(sleep=no_wait),
            **({"transport": aiohttp_transport()} if backend == "aiohttp" else {}),
        ) as monite:
            with pytest.raises(MoniteConnectionError) as info:
                await monite.mailbox_domains.list()
    finally:
        server.close()
        await server.wait_closed()
    assert info.value.attempts == 1
    assert "certificate" in info.value.message
    assert "not retried" in info.value.message
    assert "verify=" in info.value.message
