"""A fresh client's first burst is admitted against the rate limit its token answer reports."""

from __future__ import annotations

import asyncio

from monite_async import MoniteClient
from monite_async.testing import FakeMonite


async def test_first_burst_of_a_fresh_client_meets_no_429() -> None:
    # Before the send gate waited for the token's answer (which carries RateLimit-*), every
    # call of a first burst went out blind: 12 calls against a limit of 5 met 429s.
    fake = FakeMonite(rate_limit=5)
    async with MoniteClient(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        base_url=fake.base_url,
        transport=fake.transport(),
    ) as monite:
        results = await asyncio.gather(*(monite.mailbox_domains.list() for _ in range(12)))
    assert results == [[]] * 12
    statuses = [entry.status for entry in fake.requests]
    assert statuses.count(429) == 0
    assert len(statuses) == 13  # the token request and one attempt per call
