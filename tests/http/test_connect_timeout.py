"""A connect that times out on httpx2's own pool is a `MoniteTimeoutError` that says so.

`plain_error` reclassifies httpx-aiohttp's ConnectTimeout when aiohttp's own non-timeout error
caused it (a dropped connection); httpx2's own ConnectTimeout is caused by httpcore2's, which
that rule once took for aiohttp's: a real connect timeout came out as a connection error
("ReadError: Connection failed"), counted as possibly sent.

A listener whose accept queue is full makes the kernel drop further SYNs, so a connect to it
hangs until its timeout, on loopback.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import httpx2
import pytest

from monite_async import MoniteClient, MoniteSyncClient, MoniteTimeoutError

_TIMEOUT = httpx2.Timeout(5.0, connect=0.3)


@pytest.fixture
def unanswering_url() -> Iterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers: list[socket.socket] = []
    for _ in range(4):  # bounded: enough to fill a queue of one and have SYNs dropped
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):  # a non-blocking connect goes on alone
            filler.connect(address)
        fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{address[1]}/v1"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def _check(error: MoniteTimeoutError) -> None:
    assert "ConnectTimeout" in error.message
    assert error.attempts == 1
    assert error.status_code is None


def test_the_blocking_client_says_the_connect_timed_out(unanswering_url: str) -> None:
    with (
        MoniteSyncClient(
            token="app-token", base_url=unanswering_url, max_retries=0, timeout=_TIMEOUT
        ) as monite,
        pytest.raises(MoniteTimeoutError) as info,
    ):
        monite.mailbox_domains.list()
    _check(info.value)


async def test_the_async_client_says_the_connect_timed_out(unanswering_url: str) -> None:
    async with MoniteClient(
        token="app-token", base_url=unanswering_url, max_retries=0, timeout=_TIMEOUT
    ) as monite:
        with pytest.raises(MoniteTimeoutError) as info:
            await monite.mailbox_domains.list()
    _check(info.value)
