"""A client set up wrong says what is wrong: base URL without /v1, https:// to a plain-HTTP
server, nothing listening. Each over a real loopback socket, on both transports."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import anyio
import pytest
from anyio.abc import AnyByteStream
from anyio.streams.tls import TLSListener
from loopback_server import LoopbackServer

from monite_async import (
    ConfigurationError,
    MoniteClient,
    MoniteConnectionError,
    NotFoundError,
    RetryPolicy,
    aiohttp_transport,
)
from monite_async.testing import FakeMonite

pytestmark = [pytest.mark.event_loops("asyncio", "trio"), pytest.mark.sync_client]


async def no_wait(seconds: float) -> None:
    return None


@pytest.fixture
def backend(transport_name: str) -> str:
    """httpx2's transport or the aiohttp backend (under trio: httpx2's alone; tests/event_loops.py)."""
    return transport_name


@pytest.fixture
def fake_origin() -> Iterator[tuple[FakeMonite, str]]:
    """The fake Monite on a socket (uvicorn, which answers garbage with a plain-HTTP 400),
    served from a thread: the test may run under asyncio or trio."""
    fake = FakeMonite()
    with fake.serve_in_thread() as base_url:
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

    class Listener(TLSListener):
        # A refused handshake is the point here: close quietly instead of logging it.
        @staticmethod
        async def handle_handshake_error(exc: BaseException, stream: AnyByteStream) -> None:
            await anyio.aclose_forcefully(stream)
            if not isinstance(exc, Exception):
                raise exc

    async def serve(stream: AnyByteStream) -> None:
        await stream.aclose()

    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = tcp.listeners[0].extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 - not Django
    async with anyio.create_task_group() as server:
        server.start_soon(Listener(tcp, context, standard_compatible=False).serve, serve)
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
            server.cancel_scope.cancel()
    assert info.value.attempts == 1
    assert "certificate" in info.value.message
    assert "not retried" in info.value.message
    assert "verify=" in info.value.message


# --------------------------------------------------------------------------------
# The aiohttp backend under trio: the one test of that combination (the suites above run
# it under asyncio only), building it in the trio run and using one built before it.


@pytest.mark.event_loops("trio")
async def test_the_aiohttp_backend_under_trio_is_a_configuration_error_naming_the_default() -> None:
    with pytest.raises(ConfigurationError) as built:
        aiohttp_transport()
    prebuilt = await anyio.to_thread.run_sync(aiohttp_transport)  # built outside any event loop
    monite = MoniteClient(token="app-token-123", base_url="http://127.0.0.1:9/v1", transport=prebuilt)
    try:
        with pytest.raises(ConfigurationError) as entered:
            async with monite:
                pass
        with pytest.raises(ConfigurationError) as used:
            await monite.mailbox_domains.list()
    finally:
        await monite.aclose()
    for raised in (built.value, entered.value, used.value):
        assert "only under asyncio" in raised.message
        assert "default transport" in raised.message
