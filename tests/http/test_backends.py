"""The opt-in aiohttp backend. Its behaviour under the facade is proven by running every
socket test on it too (the `loopback` fixture is parametrized over both transports)."""

from __future__ import annotations

import sys

import httpx2
import pytest
from loopback_server import CLIENT_SECRET, LoopbackServer, Reply

from monite_async import (
    AuthenticationError,
    ConfigurationError,
    MoniteClient,
    MoniteConnectionError,
    RetryPolicy,
    aiohttp_transport,
)


def test_without_the_fast_extra_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # What an absent package looks like (the adapter too: an earlier test may have imported it).
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)
    monkeypatch.setitem(sys.modules, "httpx_aiohttp.httpx2", None)
    expected = r"the 'fast' extra: pip install '\.\[fast\]' from a checkout of monite_async$"
    with pytest.raises(ConfigurationError, match=expected):
        aiohttp_transport()


async def test_the_transport_takes_its_pool_limits_and_its_session_closes_with_the_client(
    fake_monite_server: str,
) -> None:
    transport = aiohttp_transport(limits=httpx2.Limits(max_connections=7))
    assert transport.limits.max_connections == 7  # type: ignore[attr-defined]
    async with MoniteClient(token="t", base_url=fake_monite_server, transport=transport) as monite:
        with pytest.raises(AuthenticationError):  # the fake never issued "t"
            await monite.mailbox_domains.list()
        session = transport.client  # type: ignore[attr-defined]
        assert not session.closed
    assert session.closed


# --------------------------------------------------------------------------------
# On either backend, a malformed HTTP answer is a retried connection
# failure, and no exception in the chain a caller sees can quote the request's headers.


BROKEN_HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nthis line is no header\r\n\r\n{}"


async def no_wait(seconds: float) -> None:
    return None


def chain(exc: BaseException) -> list[BaseException]:
    """`exc` and everything reachable through __cause__ and __context__ (bounded)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 50:
        current = todo.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return seen


async def test_a_malformed_answer_is_retried_then_a_connection_error_quoting_no_header(
    loopback: LoopbackServer,
) -> None:
    async with loopback.client(retry_policy=RetryPolicy(sleep=no_wait)) as monite:
        await monite.mailbox_domains.list()  # a token, so the failing requests carry one
        loopback.script("GET", "/mailbox_domains", *[Reply(raw=BROKEN_HEAD)] * 3)
        with pytest.raises(MoniteConnectionError) as info:
            await monite.mailbox_domains.list()
    assert info.value.attempts == 3
    assert loopback.count("GET", "/mailbox_domains") == 1 + 3
    (token,) = loopback.valid_tokens
    for exc in chain(info.value):
        said = f"{exc!r} {exc!s} {exc.args!r}"
        for secret in ("Bearer", token, CLIENT_SECRET):
            assert secret not in said, type(exc)
        assert "aiohttp" not in type(exc).__module__


async def test_a_malformed_answer_then_a_good_one_succeeds(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", Reply(raw=BROKEN_HEAD))
    async with loopback.client(retry_policy=RetryPolicy(sleep=no_wait)) as monite:
        assert await monite.mailbox_domains.list() == []
    assert loopback.count("GET", "/mailbox_domains") == 2
