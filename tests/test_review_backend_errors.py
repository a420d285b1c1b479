"""Review finding: on either backend, a malformed HTTP answer is a retried connection
failure, and no exception in the chain a caller sees can quote the request's headers."""

from __future__ import annotations

import pytest
from loopback_server import CLIENT_SECRET, LoopbackServer, Reply

from monite_async import MoniteConnectionError, RetryPolicy

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
