"""What the fleet tests run in worker processes (multiprocessing "spawn" imports this module):
one MoniteClient per process, many tasks, counting from its own DEBUG answer lines what it
sent and what came back."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anyio

from monite_async import MoniteClient, MoniteError
from monite_async.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET


class _Tally(logging.Handler):
    """Counts the answers the client logs at DEBUG: token answers (`token_requests`, a 429
    to a token request included), tokens issued (`tokens_fetched`, the 2xx ones), 429s."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.counts = {"token_requests": 0, "tokens_fetched": 0, "throttled": 0}

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("%s %s -> HTTP"):
            if getattr(record, "monite_operation", None) == "post_auth_token":
                self.counts["token_requests"] += 1
                self.counts["tokens_fetched"] += 200 <= getattr(record, "monite_status", 0) < 300
            if getattr(record, "monite_status", None) == 429:
                self.counts["throttled"] += 1


def fleet_worker(
    base_url: str, redis_url: str | None, calls: int, tasks: int, barrier: Any
) -> dict[str, int]:
    """`calls` list() calls over `tasks` tasks; the counts, and how many failed (and why)."""
    tally = _Tally()
    logger = logging.getLogger("monite_async")
    logger.addHandler(tally)
    logger.setLevel(logging.DEBUG)
    outcome = {"ok": 0, "failed": 0}

    async def run() -> None:
        async with MoniteClient(
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            base_url=base_url,
            redis=redis_url,
            deadline=30.0,
        ) as monite:
            left = [calls]

            async def task() -> None:
                while left[0] > 0:
                    left[0] -= 1
                    try:
                        await monite.mailbox_domains.list()
                        outcome["ok"] += 1
                    except MoniteError:
                        outcome["failed"] += 1

            barrier.wait(timeout=60)  # every process starts calling together
            async with anyio.create_task_group() as group:
                for _ in range(tasks):
                    group.start_soon(task)

    asyncio.run(run())
    return outcome | tally.counts
