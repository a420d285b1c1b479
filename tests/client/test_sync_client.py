"""MoniteSyncClient over real sockets (tests/loopback_server.py): what a blocking client
is given (a RetryPolicy's sleep) and how its calls are bounded (a resource method's deadline)."""

from __future__ import annotations

import dataclasses
import gc
import time
import warnings

import anyio
import pytest
from loopback_server import LoopbackServer, Recorded, Reply, error
from pytest_httpx2 import HTTPXMock

from monite_async import ConfigurationError, MoniteSyncClient, MoniteTimeoutError, RetryPolicy


class _AsyncSleeper:
    async def __call__(self, seconds: float) -> None:
        await anyio.sleep(seconds)


def test_an_object_with_an_async_call_is_refused_as_a_blocking_clients_sleep() -> None:
    with pytest.raises(ConfigurationError, match="plain function"):
        MoniteSyncClient(
            token="app-token-123",
            base_url="http://127.0.0.1:9/v1",
            retry_policy=RetryPolicy(sleep=_AsyncSleeper()),
        )


def test_a_sleep_returning_a_coroutine_fails_the_first_wait_instead_of_skipping_it(
    server: LoopbackServer,
) -> None:
    # Nothing tells it apart from a plain function until it is called: then its coroutine
    # would be dropped unawaited, and every retry wait (and Retry-After hold) skipped.
    policy = RetryPolicy(sleep=lambda seconds: anyio.sleep(seconds), initial_backoff=1.0, jitter=0)
    server.script("GET", "/mailbox_domains", error(503, "busy"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with (
            server.sync_client(retry_policy=policy) as monite,
            pytest.raises(ConfigurationError, match="plain function"),
        ):
            monite.mailbox_domains.list()
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []
    assert server.count("GET", "/mailbox_domains") == 1  # not retried without its wait


def test_lists_deadline_bounds_the_token_fetch_it_waits_for(server: LoopbackServer) -> None:
    # As create, verify and delete: every request list() makes shares its deadline, the
    # token fetch its request needs first too (a thread cannot be cancelled; each of its
    # waits and attempts is bounded by the budget the call opens).
    def slow_token(request: Recorded) -> Reply:
        return dataclasses.replace(server._issue_token(request), delay=4.0)

    server.script("POST", "/auth/token", slow_token)
    with server.sync_client() as monite:
        started = time.monotonic()
        with pytest.raises(MoniteTimeoutError):
            monite.with_options(deadline=1.0).mailbox_domains.list()
        assert time.monotonic() - started < 2.5
    assert server.count("GET", "/mailbox_domains") == 0


def test_a_mock_of_httpx2s_transport_still_sees_the_blocking_clients_requests(httpx2_mock: HTTPXMock) -> None:
    # The default transport is httpx2.HTTPTransport, whose handle_request httpx2-pytest replaces.
    httpx2_mock.add_response(url="http://127.0.0.1:9/v1/mailbox_domains", json={"data": []})
    with MoniteSyncClient(token="app-token-123", base_url="http://127.0.0.1:9/v1") as monite:
        assert monite.mailbox_domains.list() == []
    assert len(httpx2_mock.get_requests()) == 1
