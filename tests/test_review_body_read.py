"""Review finding: a connection that drops (or stalls) while the body is read is a retried
failure, as much as one that drops before the status line."""

from __future__ import annotations

import httpx
import pytest
from loopback_server import LoopbackServer, Reply
from monite_generated.api.mailbox_domains import get_mailbox_domains

from monite_async import MoniteConnectionError, MoniteTimeoutError, RetryPolicy

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
    async with httpx.AsyncClient() as own, loopback.client(http_client=own, retry_policy=INSTANT) as monite:
        assert await monite.mailbox_domains.list() == []
    assert loopback.count("GET", "/mailbox_domains") == 2


async def test_an_answer_read_by_the_retry_layer_is_still_a_whole_httpx_response(
    loopback: LoopbackServer,
) -> None:
    async with loopback.client(retry_policy=INSTANT) as monite:
        outcome = await monite._run(get_mailbox_domains)
    response = outcome.response
    assert response.is_closed
    assert response.json() == {"data": []}
    assert response.elapsed.total_seconds() >= 0  # httpx timed it, as any answer it reads
    assert response.extensions["monite_async.attempts"] == 1
