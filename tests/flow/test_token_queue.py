"""No token goes stale in a queue: requests that wait longer than their token lives (for a
pooled connection, here) are signed when they go out, so none is refused."""

from __future__ import annotations

import httpx2
import pytest
from anyio_tasks import gather

from monite_async import MoniteClient
from monite_async.testing import FakeMonite

pytestmark = [
    pytest.mark.event_loops("asyncio", "trio"),  # both loops (tests/event_loops.py)
    pytest.mark.sync_client,  # and the blocking client ("sync", tests/event_loops.py)
]


async def test_requests_held_past_their_tokens_refresh_point_are_never_refused() -> None:
    # Tokens live 2 s (refreshed 0.2 s early). 60 calls through 3 connections, each answer
    # taking 0.15 s: the last calls go out 3 s after they were made, past two lifetimes'
    # worth of refresh points for the token that was current when they were made.
    fake = FakeMonite(token_lifetime=2.0)
    fake.faults.fail_next("get_mailbox_domains", times=60, delay=0.15)
    with fake.serve_in_thread() as base_url:
        async with MoniteClient(
            client_id=fake.client_id,
            client_secret=fake.client_secret,
            base_url=base_url,
            limits=httpx2.Limits(max_connections=3, max_keepalive_connections=3),
        ) as monite:
            results = await gather(
                *(monite.mailbox_domains.list() for _ in range(60)), return_exceptions=True
            )
    failures = [r for r in results if isinstance(r, BaseException)]
    statuses = [r.status for r in fake.requests if r.operation_id == "get_mailbox_domains"]
    assert failures == []
    assert statuses == [200] * 60  # not one refusal: no request carried a stale token
    assert 2 <= fake.token_requests <= 3  # the first token and its proactive refreshes
