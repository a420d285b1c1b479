"""redis-py's clients, made lazily in each process (a forked child opens its own connection).

No retries inside redis-py (its default retries three times with backoff): one short try,
then the room's breaker decides when to try again.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import TYPE_CHECKING

from .._http.forks import on_fork_in_child
from ._room import SCRIPTS, TIMEOUT, Plan

if TYPE_CHECKING:
    import redis
    import redis.asyncio
    from redis.commands.core import AsyncScript, Script

__all__ = ["AsyncClient", "SyncClient"]


class SyncClient:
    """`redis.Redis` for this process; thread-safe (redis-py's pool hands each thread a connection)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._pid = 0
        self._client: redis.Redis | None = None
        self._scripts: dict[str, Script] = {}
        on_fork_in_child(self._after_fork)  # makes the guard now, and again in a forked child

    def _after_fork(self) -> None:
        # Another thread of the parent may have held the guard at the fork.
        self._guard = threading.Lock()

    def run(self, plan: Plan[object]) -> object:
        if self._pid != os.getpid():
            with self._guard:
                if self._pid != os.getpid():
                    self._open()
        return self._scripts[plan.script](keys=plan.keys, args=plan.args)

    def _open(self) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # The parent's client is left alone: closing it here would shut the parent's sockets.
        client = redis.Redis.from_url(
            self._url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT, retry=Retry(NoBackoff(), 0)
        )
        self._scripts = {name: client.register_script(source) for name, source in SCRIPTS.items()}
        self._client, self._pid = client, os.getpid()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._pid == os.getpid():
            client.close()
        self._pid = 0


class AsyncClient:
    """`redis.asyncio.Redis` for this process and event loop (its connections belong to one loop)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._owner: tuple[int, asyncio.AbstractEventLoop] | None = None
        self._client: redis.asyncio.Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}

    async def run(self, plan: Plan[object]) -> object:
        owner = (os.getpid(), asyncio.get_running_loop())
        if self._owner != owner:
            import redis.asyncio
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            client = redis.asyncio.Redis.from_url(
                self._url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT, retry=Retry(NoBackoff(), 0)
            )
            self._scripts = {name: client.register_script(source) for name, source in SCRIPTS.items()}
            self._client, self._owner = client, owner
        return await self._scripts[plan.script](keys=plan.keys, args=plan.args)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        owner, self._owner = self._owner, None
        if client is not None and owner == (os.getpid(), asyncio.get_running_loop()):
            await client.aclose()
