"""`SharedState` (async: asyncio and trio) and `SyncSharedState` (blocking): the same methods.

Each method runs one script and never raises for Redis's sake: down, slow or wrong, it
answers None (or does nothing), logs one WARNING per outage, and the breaker keeps further
calls off Redis for a short pause, after which the next call tries again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Literal, TypeVar

import anyio
import anyio.to_thread
import sniffio

from ._clients import AsyncClient, SyncClient
from ._room import TIMEOUT, Fence, Plan, Room, SharedToken

__all__ = ["SharedState", "SyncSharedState"]

T = TypeVar("T")
_log = logging.getLogger("monite_async")
Held = Literal["held"]
_OVERALL = 4 * TIMEOUT  # connect + one command, with room to spare; the socket timeouts act first


def _require_extra() -> None:
    try:
        import cryptography  # noqa: F401
        import redis  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "sharing state on Redis needs the redis extra: pip install 'monite-async[redis]'"
        ) from exc


def _plan(build: Callable[[], Plan[T] | None]) -> Plan[T] | None:
    # Arguments no script can take (a token that does not encode, say) are the caller's
    # problem, not Redis's: no call fails for them, and the breaker stays closed.
    try:
        return build()
    except Exception as exc:
        _log.debug("Redis room: arguments refused (%s)", type(exc).__name__)
        return None


def _lock_answer(answer: Fence | str | None) -> Fence | Held | None:
    return answer if answer is None or isinstance(answer, Fence) else "held"


class SyncSharedState:
    """The fleet's token and rate budget on Redis, for `MoniteSyncClient` (blocking; thread-safe)."""

    def __init__(
        self,
        url: str,
        *,
        base_url: str,
        client_id: uuid.UUID,
        client_secret: str,
        grant: str = "client_credentials",
        entity_user_id: uuid.UUID | None = None,
    ) -> None:
        _require_extra()
        self._room = Room(
            url,
            base_url=base_url,
            client_id=client_id,
            client_secret=client_secret,
            grant=grant,
            entity_user_id=entity_user_id,
        )
        self._client = SyncClient(self._room.url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._room.where!r})"

    def _run(self, build: Callable[[], Plan[T] | None]) -> T | None:
        plan = _plan(build) if self._room.ready() else None
        if plan is None:
            return None
        try:
            answer = plan.read(self._client.run(plan))
        except Exception as exc:  # Redis down, slow or wrong never fails a call
            self._room.failed(exc)
            return None
        self._room.succeeded()
        return answer

    def take(self) -> float | None:
        """0.0: a unit was taken; > 0: seconds to wait before asking again; None: Redis unavailable."""
        return self._run(self._room.take)

    def learn(self, limit: int, remaining: int, reset_after: float | None) -> None:
        """Share what an answer's `RateLimit-*` headers said."""
        self._run(lambda: self._room.learn(limit, remaining, reset_after))

    def hold(self, seconds: float) -> None:
        """Share a 429's `Retry-After`: `take()` answers its remaining time while it lasts."""
        self._run(lambda: self._room.hold(seconds))

    def token(self) -> SharedToken | None:
        """The fleet's token, or None: there is none, it does not decrypt, or Redis is unavailable."""
        return self._run(self._room.token)

    def lock(self, ttl: float) -> Fence | Held | None:
        """A Fence: this process fetches; "held": another does; None: Redis unavailable."""
        return _lock_answer(self._run(lambda: self._room.lock(ttl)))

    def store(self, token_value: str, lifetime: float, fence: Fence) -> None:
        """Share a fetched token for `lifetime` seconds if `fence` still holds the lock; release it."""
        self._run(lambda: self._room.store(token_value, lifetime, fence))

    def release(self, fence: Fence) -> None:
        """Release the lock if it is still ours (after a failed fetch)."""
        self._run(lambda: self._room.release(fence))

    def discard(self, token_value: str) -> None:
        """Delete the shared token if it is still `token_value` (after a 401)."""
        self._run(lambda: self._room.discard(token_value))

    def close(self) -> None:
        self._client.close()


class SharedState:
    """The fleet's token and rate budget on Redis, for `MoniteClient` (asyncio or trio).

    Under asyncio it uses `redis.asyncio`; under trio, where that client cannot run, the
    blocking client's calls run in a worker thread.
    """

    def __init__(
        self,
        url: str,
        *,
        base_url: str,
        client_id: uuid.UUID,
        client_secret: str,
        grant: str = "client_credentials",
        entity_user_id: uuid.UUID | None = None,
    ) -> None:
        _require_extra()
        self._room = Room(
            url,
            base_url=base_url,
            client_id=client_id,
            client_secret=client_secret,
            grant=grant,
            entity_user_id=entity_user_id,
        )
        self._async = AsyncClient(self._room.url)
        self._sync = SyncClient(self._room.url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._room.where!r})"

    async def _run(self, build: Callable[[], Plan[T] | None]) -> T | None:
        plan = _plan(build) if self._room.ready() else None
        if plan is None:
            return None
        try:
            with anyio.fail_after(_OVERALL):
                if sniffio.current_async_library() == "asyncio":
                    raw = await self._async.run(plan)
                else:
                    raw = await anyio.to_thread.run_sync(self._sync.run, plan)
            answer = plan.read(raw)
        except Exception as exc:  # Redis down, slow or wrong never fails a call
            self._room.failed(exc)
            return None
        self._room.succeeded()
        return answer

    async def take(self) -> float | None:
        """0.0: a unit was taken; > 0: seconds to wait before asking again; None: Redis unavailable."""
        return await self._run(self._room.take)

    async def learn(self, limit: int, remaining: int, reset_after: float | None) -> None:
        """Share what an answer's `RateLimit-*` headers said."""
        await self._run(lambda: self._room.learn(limit, remaining, reset_after))

    async def hold(self, seconds: float) -> None:
        """Share a 429's `Retry-After`: `take()` answers its remaining time while it lasts."""
        await self._run(lambda: self._room.hold(seconds))

    async def token(self) -> SharedToken | None:
        """The fleet's token, or None: there is none, it does not decrypt, or Redis is unavailable."""
        return await self._run(self._room.token)

    async def lock(self, ttl: float) -> Fence | Held | None:
        """A Fence: this process fetches; "held": another does; None: Redis unavailable."""
        return _lock_answer(await self._run(lambda: self._room.lock(ttl)))

    async def store(self, token_value: str, lifetime: float, fence: Fence) -> None:
        """Share a fetched token for `lifetime` seconds if `fence` still holds the lock; release it."""
        await self._run(lambda: self._room.store(token_value, lifetime, fence))

    async def release(self, fence: Fence) -> None:
        """Release the lock if it is still ours (after a failed fetch)."""
        await self._run(lambda: self._room.release(fence))

    async def discard(self, token_value: str) -> None:
        """Delete the shared token if it is still `token_value` (after a 401)."""
        await self._run(lambda: self._room.discard(token_value))

    async def aclose(self) -> None:
        if sniffio.current_async_library() == "asyncio":
            await self._async.aclose()
        self._sync.close()
