"""Review nit: errors built from httpx's exceptions must carry no chain at all (`from None`
still leaves __context__, and httpx's exceptions hold the request with its headers)."""

from __future__ import annotations

import pytest
from loopback_server import LoopbackServer, Reply

from monite_async import MoniteConnectionError, MoniteTimeoutError, RetryPolicy


async def no_wait(seconds: float) -> None:
    return None


async def test_a_connection_error_after_retries_has_no_context(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", *[Reply(drop=True)] * 3)
    async with loopback.client(retry_policy=RetryPolicy(sleep=no_wait)) as monite:
        with pytest.raises(MoniteConnectionError) as info:
            await monite.mailbox_domains.list()
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


async def test_a_timeout_error_after_retries_has_no_context(loopback: LoopbackServer) -> None:
    loopback.script("GET", "/mailbox_domains", *[Reply(delay=30)] * 2)
    async with loopback.client(timeout=0.2, max_retries=1, retry_policy=RetryPolicy(sleep=no_wait)) as monite:
        with pytest.raises(MoniteTimeoutError) as info:
            await monite.mailbox_domains.list()
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
