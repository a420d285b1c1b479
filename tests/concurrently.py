"""Run awaitables at once and collect their results, on asyncio or trio (anyio task group).

results = await gather(*(monite.mailbox_domains.list() for _ in range(100)))
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import anyio


async def gather(*awaitables: Awaitable[Any], return_exceptions: bool = False) -> list[Any]:
    """The results in order; with `return_exceptions`, each failure in its place instead of raising."""
    results: list[Any] = [None] * len(awaitables)

    async def one(index: int, awaitable: Awaitable[Any]) -> None:
        try:
            results[index] = await awaitable
        except Exception as exc:
            if not return_exceptions:
                raise
            results[index] = exc

    async with anyio.create_task_group() as group:
        for index, awaitable in enumerate(awaitables):
            group.start_soon(one, index, awaitable)
    return results
