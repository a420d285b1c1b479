"""Review nit: a failure shared by many callers reaches each as its own exception object
(same type and fields), so one caller's handling (or traceback) never shows in another's."""

from __future__ import annotations

import asyncio

from loopback_server import LoopbackServer, Reply

from monite_async import MoniteConnectionError, RetryPolicy, ServerError


async def no_wait(seconds: float) -> None:
    return None


async def test_each_waiter_gets_its_own_copy_of_a_shared_token_failure(loopback: LoopbackServer) -> None:
    loopback.script("POST", "/auth/token", *[Reply(503, json={"error": {"message": "down"}})] * 3)
    async with loopback.client(retry_policy=RetryPolicy(sleep=no_wait)) as monite:
        results = await asyncio.gather(
            *(monite.mailbox_domains.list() for _ in range(10)), return_exceptions=True
        )
    assert loopback.count("POST", "/auth/token") == 3  # one fetch, retried
    assert all(type(r) is ServerError for r in results)
    assert len({id(r) for r in results}) == 10
    first = results[0]
    assert isinstance(first, ServerError)
    for r in results:
        assert isinstance(r, ServerError)
        assert (r.message, r.status_code, r.request_id, r.attempts, r.operation, r.body) == (
            first.message,
            first.status_code,
            first.request_id,
            first.attempts,
            first.operation,
            first.body,
        )
        assert r.__cause__ is None


async def test_each_waiter_gets_its_own_connection_error(loopback: LoopbackServer) -> None:
    loopback.script("POST", "/auth/token", *[Reply(drop=True)] * 3)
    async with loopback.client(retry_policy=RetryPolicy(sleep=no_wait)) as monite:
        results = await asyncio.gather(
            *(monite.mailbox_domains.list() for _ in range(10)), return_exceptions=True
        )
    assert loopback.count("POST", "/auth/token") == 3
    assert all(type(r) is MoniteConnectionError for r in results)
    assert len({id(r) for r in results}) == 10
    for r in results:
        assert isinstance(r, MoniteConnectionError)
        assert r.attempts == 3
        assert r.operation == "post_auth_token"
        assert r.args == (r.message,)
        assert r.__cause__ is None
        assert r.__context__ is None
