"""MoniteSyncClient behind an async face, so that the socket suites' test bodies drive it too.

    async with loopback.client() as monite:          # kind "sync": a ThreadedSyncClient
        await monite.mailbox_domains.list()           # MoniteSyncClient...list(), in a worker thread

The adapter holds a real `MoniteSyncClient` and reimplements nothing: every call goes to the
sync client's own method (`mailbox_domains.*`, `with_raw_response.*`, `auth.revoke`, `call`,
`close`, `__enter__`/`__exit__`), run with `anyio.to_thread.run_sync` in a worker thread, so
many concurrent calls of a test are many threads sharing the one client. What is not I/O is
read straight from the sync client (`closed`, `base_url`, `_core`, `repr`), and `with_options`
makes the sync client's own view (and wraps it).

Only options are translated, to their blocking equivalents (see `sync_options`): a
`RetryPolicy` whose `sleep` is an async function (the suites' wait recorders) gets a plain
one that runs it on the test's event loop (`anyio.from_thread.run`) and blocks the calling
thread until it returns; a `CallerClient` (tests' `loopback.caller_client()`) gives its
`httpx2.Client`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import anyio
import anyio.from_thread
import anyio.to_thread
import httpx2

from monite_async import MoniteSyncClient, RetryPolicy

__all__ = ["CallerClient", "ThreadedSyncClient", "sync_options"]

# Worker threads one client may use at once: more than any suite's concurrency (1,000 calls).
THREADS = 1100


class _Threads:
    """The worker-thread limiter of one client and its views (made in the test's loop)."""

    def __init__(self) -> None:
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(THREADS)
        return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs), limiter=self._limiter)


class _Threaded:
    """An object of the sync client (a resource): its methods, awaitable, each run in a thread."""

    def __init__(self, target: object, threads: _Threads) -> None:
        self._target = target
        self._threads = threads

    def __repr__(self) -> str:
        return repr(self._target)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if callable(value):
            return functools.partial(self._threads.run, value)
        if type(value).__module__.startswith("monite_async."):
            return _Threaded(value, self._threads)  # a nested resource: with_raw_response
        return value


class ThreadedSyncClient:
    """A `MoniteSyncClient` the async test bodies can `await` (see the module docstring)."""

    def __init__(self, client: MoniteSyncClient, threads: _Threads | None = None) -> None:
        self.sync = client
        self._threads = threads if threads is not None else _Threads()
        self.mailbox_domains = _Threaded(client.mailbox_domains, self._threads)
        self.auth = _Threaded(client.auth, self._threads)
        self.with_raw_response = _Threaded(client.with_raw_response, self._threads)

    def __repr__(self) -> str:
        return repr(self.sync)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sync, name)  # closed, base_url, api_version, _core, ...: no I/O

    def with_options(self, **options: Any) -> ThreadedSyncClient:
        return ThreadedSyncClient(self.sync.with_options(**options), self._threads)

    async def call(self, operation: object, /, *args: Any, **kwargs: Any) -> Any:
        return await self._threads.run(self.sync.call, operation, *args, **kwargs)

    async def _run(self, operation: object, /, *args: Any, **kwargs: Any) -> Any:
        return await self._threads.run(self.sync._run, operation, *args, **kwargs)

    async def aclose(self) -> None:
        await self._threads.run(self.sync.close)

    async def __aenter__(self) -> Self:
        await self._threads.run(self.sync.__enter__)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._threads.run(self.sync.__exit__, exc_type, exc, tb)


def _is_async(func: object) -> bool:
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(type(func).__call__)


def _blocking_sleep(sleep: Callable[[float], Any]) -> Callable[[float], None]:
    def blocking(seconds: float) -> None:
        anyio.from_thread.run(sleep, seconds)  # the worker thread waits for the test's own sleep

    return blocking


class CallerClient:
    """The `httpx2.Client` a test passes as `http_client=` to the sync client, with the
    async face the test bodies use for their own `httpx2.AsyncClient` (see
    `LoopbackServer.caller_client`)."""

    def __init__(self, client: httpx2.Client) -> None:
        self.client = client

    @property
    def is_closed(self) -> bool:
        return self.client.is_closed

    async def get(self, url: str) -> httpx2.Response:
        return await anyio.to_thread.run_sync(self.client.get, url)

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self.client.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def sync_options(settings: dict[str, Any]) -> dict[str, Any]:
    """`MoniteClient` options as `MoniteSyncClient` takes them (see the module docstring)."""
    options = dict(settings)
    policy = options.get("retry_policy")
    if isinstance(policy, RetryPolicy) and policy.sleep is not None and _is_async(policy.sleep):
        options["retry_policy"] = dataclasses.replace(policy, sleep=_blocking_sleep(policy.sleep))
    if isinstance(options.get("http_client"), CallerClient):
        options["http_client"] = options["http_client"].client
    return options
