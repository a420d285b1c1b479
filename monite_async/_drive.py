"""Drives a sans-I/O flow: the one place where the async and the blocking client differ in
how a step of logic is carried out.

The logic of a layer (what to retry and how long to wait, when a request may go out, what a
resource method asks for next) is written once, as a generator that yields the I/O it
needs (a *step*: send this, wait that long, run that operation) and is sent each step's
result, or has its failure thrown in. The async client carries the steps out with `drive`,
the blocking one with `drive_blocking`; each gives a `handle` that does one step's I/O.
This is the shape of httpx2's `Auth.auth_flow`, which drives one generator from both
`sync_auth_flow` and `async_auth_flow`.

    def flow() -> Generator[Step, object, int]:
        answer = yield Send(request)       # the driver sends; the flow decides
        return answer.status_code

    status = await drive(flow(), handle_async)   # or: drive_blocking(flow(), handle)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

__all__ = ["Flow", "Run", "drive", "drive_blocking"]

_Result = TypeVar("_Result")
_Step = TypeVar("_Step")

Flow = Generator[_Step, Any, _Result]


class Run:
    """Where a flow stands: the step it waits on, or its end and what it returned.

    A driver puts the step's `result` (or `failure`) here and calls `resume`; they are
    handed to the flow without being bound to a name in any frame, so a traceback's
    recorded locals (error trackers keep them) never show an answer the flow refused.
    """

    __slots__ = ("_flow", "done", "failure", "result", "step", "value")

    def __init__(self, flow: Generator[Any, Any, Any]) -> None:
        self._flow = flow
        self.done = False
        self.value: Any = None
        self.step: Any = None
        self.result: Any = None
        self.failure: BaseException | None = None
        self.resume()

    def resume(self) -> None:
        """Send the last step's result into the flow (or throw its failure in); stop at the next."""
        try:
            if self.failure is None:
                self.step = self._flow.send(self._taken_result())
            else:
                self.step = self._flow.throw(self._taken_failure())
        except StopIteration as end:
            self.done, self.value = True, end.value

    def _taken_result(self) -> Any:
        result, self.result = self.result, None
        return result

    def _taken_failure(self) -> BaseException:
        failure, self.failure = self.failure, None
        assert failure is not None
        return failure


async def drive(flow: Generator[_Step, Any, _Result], handle: Callable[[_Step], Awaitable[Any]]) -> _Result:
    """Run `flow` to its end, awaiting `handle(step)` for each step it yields."""
    run = Run(flow)
    try:
        while not run.done:
            try:
                run.result = await handle(run.step)
            except BaseException as exc:
                # Thrown back in outside this except block, so that nothing the flow raises
                # is chained to it (cancellation too: the flow's `finally` blocks run).
                run.failure = exc
            run.resume()
    finally:
        # Ended or failed, the flow is done and this does nothing. Left waiting on a step
        # by an exception raised between two (a KeyboardInterrupt from a signal), its
        # `finally` blocks run now (a connection slot given back), not when it is collected.
        flow.close()
    return run.value  # type: ignore[no-any-return]


def drive_blocking(flow: Generator[_Step, Any, _Result], handle: Callable[[_Step], Any]) -> _Result:
    """Run `flow` to its end, calling `handle(step)`, which blocks, for each step it yields."""
    run = Run(flow)
    try:
        while not run.done:
            try:
                run.result = handle(run.step)
            except BaseException as exc:
                run.failure = exc  # thrown back in outside this block, as in `drive`
            run.resume()
    finally:
        flow.close()  # as in `drive`
    return run.value  # type: ignore[no-any-return]
