"""asyncio's task helpers, on an anyio task group, for tests that run under asyncio and trio.

    results = await gather(*(monite.mailbox_domains.list() for _ in range(10)))
    failures = await gather(*calls, return_exceptions=True)

    async with anyio.create_task_group() as tg:
        call = spawn(tg, monite.mailbox_domains.list())   # asyncio.create_task
        ...
        call.cancel()                                     # task.cancel()
        await call.wait()
        assert call.cancelled                             # it ended in the cancellation

`gather` keeps asyncio.gather's contract the tests rely on: results in the order given; with
`return_exceptions=True` each failure (an `Exception`) in its place. Without it, the first
failure cancels the rest and is raised (in an ExceptionGroup, as a task group raises it).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Generic, Literal, TypeVar, overload

import anyio
import anyio.abc

__all__ = ["Task", "gather", "spawn"]

T = TypeVar("T")


@overload
async def gather(*awaitables: Awaitable[T], return_exceptions: Literal[False] = False) -> list[T]: ...
@overload
async def gather(*awaitables: Awaitable[T], return_exceptions: Literal[True]) -> list[T | Exception]: ...
async def gather(*awaitables: Awaitable[T], return_exceptions: bool = False) -> list[T] | list[T | Exception]:
    """Await all of `awaitables` concurrently, each in its own task; their results in order."""
    results: list[T | Exception | None] = [None] * len(awaitables)

    async def run(index: int, awaitable: Awaitable[T]) -> None:
        if not return_exceptions:
            results[index] = await awaitable
            return
        try:
            results[index] = await awaitable
        except Exception as exc:
            results[index] = exc

    async with anyio.create_task_group() as tg:
        for index, awaitable in enumerate(awaitables):
            tg.start_soon(run, index, awaitable)
    return results  # type: ignore[return-value]


class Task(Generic[T]):
    """One awaitable running in a task group under its own cancel scope (see `spawn`)."""

    def __init__(self, awaitable: Awaitable[T]) -> None:
        self._awaitable = awaitable
        self.scope = anyio.CancelScope()
        self.cancelled = False  # True once it ended by raising anyio.get_cancelled_exc_class()
        self._done = anyio.Event()
        self._result: T | None = None
        self._error: Exception | None = None

    async def _run(self) -> None:
        with self.scope:
            try:
                self._result = await self._awaitable
            except anyio.get_cancelled_exc_class():
                self.cancelled = True
                raise  # the scope, cancelled by cancel(), ends it here
            except Exception as exc:
                self._error = exc
            finally:
                self._done.set()

    def cancel(self) -> None:
        """Cancel this task alone, as asyncio's `task.cancel()` does."""
        self.scope.cancel()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    async def wait(self) -> None:
        """Until it ended: with a result, an exception, or cancelled."""
        await self._done.wait()

    async def result(self) -> T:
        """Its result (waiting for it), or the exception it raised; fails if it was cancelled."""
        await self._done.wait()
        if self._error is not None:
            raise self._error
        assert not self.cancelled, "the task was cancelled"
        return self._result  # type: ignore[return-value]


def spawn(tg: anyio.abc.TaskGroup, awaitable: Awaitable[T]) -> Task[T]:
    """Run `awaitable` in `tg` as a `Task` that can be cancelled on its own."""
    task = Task(awaitable)
    tg.start_soon(task._run)
    return task
