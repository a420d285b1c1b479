"""The one request pipeline: every resource method and `MoniteClient.call` go through here.

For any generated operation module it
1. builds the request (`build`) with the module's own request arguments
   (`_generated_ops.request_kwargs`), filling in the pinned `x_monite_version` (a caller's
   own must be a YYYY-MM-DD date); any argument the module or httpx2 cannot turn into a
   request is an InvalidRequestError, before anything is sent;
2. sends it (`send`) through the facade's httpx2 client (auth flow on top, retry transport
   below), signing it only if the operation is secured;
3. maps any failure to a typed error through `_error_mapping`, once: a non-2xx answer
   from the raw httpx2.Response (never through the generated `_build_response`, which
   calls `HTTPStatus(code)` and fails on 520 or 599), a send failure from httpx2's
   exception, a parse failure from the parser's;
4. parses a success with the module's parser (`_generated_ops.parse_success`).

So an operation added to the spec works through `call()` with no facade change.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import enum
import functools
import logging
import math
import time
import types
from collections.abc import Awaitable, Callable, Generator, Iterator
from typing import Any, TypeVar

import anyio
import httpx2
from monite_generated.errors import UnexpectedStatus

from . import _enums  # noqa: F401  (installs lenient enums before anything is parsed)
from . import _error_mapping as errors
from ._answers import request_id
from ._errors import ConfigurationError, MoniteError
from ._generated_ops import (
    accepts_version,
    operation_name,
    parse_success,
    request_kwargs,
    requires_auth,
    resolve_operation,
    url_template,
)
from ._options import CallOptions
from ._request_state import ATTEMPTS_EXTENSION, RequestState, request_state
from ._tracing import OperationRecord, Tracing
from ._transports import DeadlinePassed
from ._versioning import VERSION_HEADER, validate_api_version

__all__ = [
    "Call",
    "Carrier",
    "Outcome",
    "Pipeline",
    "ResourceFlow",
    "Runner",
    "SyncCarrier",
    "SyncPipeline",
    "SyncRunner",
    "call_budget",
    "carrier",
    "own_budget",
    "sync_carrier",
]

_logger = logging.getLogger("monite_async")

_Result = TypeVar("_Result")


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """A parsed success: the model, the raw response, how many attempts it took, and how
    long the whole call took (seconds: token fetch, attempts and waits included)."""

    parsed: Any
    response: httpx2.Response
    attempts: int
    elapsed: float = 0.0


# What the resources are given to run an operation: a client's checked `Pipeline.run`,
# with that client's options bound.
Runner = Callable[..., Awaitable[Outcome]]
SyncRunner = Callable[..., Outcome]


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    """A step of a resource's flow: run `operation` through the pipeline (sent its Outcome).
    A resource flow's other step is a number: wait that many seconds."""

    operation: object
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)


ResourceStep = Call | float
ResourceFlow = Generator[ResourceStep, Any, _Result]
Carrier = Callable[[ResourceStep], Awaitable[Any]]
SyncCarrier = Callable[[ResourceStep], Any]


def carrier(run: Runner) -> Carrier:
    """What carries out a resource flow's steps for the async client."""

    async def carry_out(step: ResourceStep) -> Outcome | None:
        if isinstance(step, Call):
            return await run(step.operation, *step.args, **step.kwargs)
        await anyio.sleep(step)
        return None

    return carry_out


def sync_carrier(run: SyncRunner) -> SyncCarrier:
    """What carries out a resource flow's steps for the blocking client."""

    def carry_out(step: ResourceStep) -> Outcome | None:
        if isinstance(step, Call):
            return run(step.operation, *step.args, **step.kwargs)
        time.sleep(step)
        return None

    return carry_out


# When the whole call a resource method makes must be over: its requests share one budget.
_CALL_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "monite_async_call_deadline", default=None
)


@contextlib.contextmanager
def call_budget(deadline: float) -> Iterator[None]:
    """Give every request made inside (unless an outer budget is open) `deadline` seconds in all."""
    if _CALL_DEADLINE.get() is not None:
        yield
        return
    token = _CALL_DEADLINE.set(time.monotonic() + deadline)
    try:
        yield
    finally:
        _CALL_DEADLINE.reset(token)


@contextlib.contextmanager
def own_budget(deadline_at: float = math.inf) -> Iterator[None]:
    """Run what is inside under its own options' deadline (and `deadline_at`, a monotonic
    time, if finite), never under the budget of the call around it: a token fetch fills the
    cache every caller shares, so its series of attempts must not end with one caller's budget."""
    token = _CALL_DEADLINE.set(deadline_at if math.isfinite(deadline_at) else None)
    try:
        yield
    finally:
        _CALL_DEADLINE.reset(token)


def _is_api_version(value: object) -> bool:
    try:
        validate_api_version(value)
    except ConfigurationError:
        return False
    return True


def _merge_url(base_url: httpx2.URL, path: str) -> httpx2.URL:
    # What httpx2.AsyncClient._merge_url does with a relative URL (append to the base path),
    # written with public httpx2 API. httpx2 re-parses both URLs on every request, which is
    # a fifth of a call's client CPU; the pipeline does it once per path instead.
    url = httpx2.URL(path)
    if not url.is_relative_url:
        return url
    return base_url.copy_with(raw_path=base_url.raw_path + url.raw_path.lstrip(b"/"))


def _header_text(value: object) -> str | bytes:
    # The generator puts typed header values (uuid, int, bool, enum) into the headers dict
    # unconverted; httpx2 accepts only str or bytes.
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _PipelineBase:
    """What both pipelines do: build, start the request's state, map, parse; no I/O."""

    def __init__(
        self,
        http_client: httpx2.AsyncClient | httpx2.Client,
        *,
        auth: httpx2.Auth,
        secrets: Callable[[], list[str]],
        tracing: Tracing | None = None,
    ) -> None:
        self._http = http_client
        self.tracing = tracing if tracing is not None else Tracing()
        self._auth = auth
        self._default_version = http_client.headers.get(VERSION_HEADER)
        # Bounded: paths that carry an id (delete, verify) are as many as the ids; the
        # fixed ones (list, create, token) stay hot. A partial, so the cache holds no `self`.
        self._absolute_url = functools.lru_cache(maxsize=256)(
            functools.partial(_merge_url, http_client.base_url)
        )
        self.redactor = errors.Redactor(secrets)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={str(self._http.base_url)!r})"

    def _start(
        self,
        options: CallOptions,
        module: types.ModuleType,
        name: str,
        traced: OperationRecord,
        arguments: tuple[tuple[Any, ...], dict[str, Any]],
    ) -> tuple[httpx2.Request, RequestState, httpx2.Auth | None]:
        """The request, its state (deadline, retries, trace) and its auth, if it needs one."""
        args, kwargs = arguments
        started = time.monotonic()
        request = self.build(module, name, args, kwargs, options)
        state = request_state(request)
        state.operation = name
        budget = _CALL_DEADLINE.get()
        state.deadline_at = (
            started + options.deadline if budget is None else min(budget, started + options.deadline)
        )
        state.max_retries = options.max_retries
        if traced.span is not None or self.tracing.enabled():
            state.traced = True
            state.url_template = url_template(module, args, self._relative_path(request))
        return request, state, self._auth if requires_auth(module) else None

    def _finish(
        self,
        response: httpx2.Response,
        module: types.ModuleType,
        name: str,
        traced: OperationRecord,
        started: float,
    ) -> Outcome:
        attempts = int(response.extensions.get(ATTEMPTS_EXTENSION, 1))
        traced.answered(attempts=attempts, request_id=request_id(response))
        if not 200 <= response.status_code < 300:
            raise errors.from_response(response, operation=name, redactor=self.redactor)
        parsed = self._parse(module, name, response)
        return Outcome(parsed, response, attempts, time.monotonic() - started)

    def _send_failure(
        self, failure: Exception, request: httpx2.Request, name: str, deadline: float
    ) -> MoniteError:
        if isinstance(failure, DeadlinePassed):  # the blocking client's waits, bounded
            return errors.deadline_passed(name, deadline, request_state(request).sends)
        return errors.from_send_failure(
            failure,
            request=request,
            operation=name,
            redactor=self.redactor,
            pool_closed=self._http.is_closed,
        )

    def _relative_path(self, request: httpx2.Request) -> str:
        base = self._http.base_url.path.rstrip("/")
        path = request.url.path
        return path[len(base) :] if base and path.startswith(base) else path

    def build(
        self,
        module: types.ModuleType,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        options: CallOptions,
    ) -> httpx2.Request:
        """The request for `module(*args, **kwargs)`; InvalidRequestError if it cannot be made."""
        if "client" in kwargs:
            raise errors.client_argument(name)
        if accepts_version(module):
            version = kwargs.get("x_monite_version")
            if version is None:
                kwargs = {**kwargs, "x_monite_version": options.api_version}
            elif not _is_api_version(version):
                raise errors.bad_version_argument(name, pinned=options.api_version, got=version)
        failure: Exception | None = None
        try:
            arguments = self._request_arguments(module, args, kwargs)
            if options.headers:
                arguments["headers"] = {**dict(options.headers), **(arguments.get("headers") or {})}
            if options.timeout != self._http.timeout:  # the client's own is the default: not passed again
                arguments["timeout"] = options.timeout
            return self._http.build_request(**arguments)
        except (TypeError, ValueError, AttributeError, httpx2.InvalidURL) as exc:
            # ValueError covers UnicodeEncodeError (a header value httpx2 cannot encode).
            failure = exc
        raise errors.bad_arguments(name, failure, self.redactor)  # unchained: nothing of the arguments kept

    def _request_arguments(
        self, module: types.ModuleType, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        arguments = request_kwargs(module, args, kwargs)
        if isinstance(arguments.get("url"), str):
            arguments["url"] = self._absolute_url(arguments["url"])
        headers = arguments.get("headers")
        if not isinstance(headers, dict):
            return arguments
        if VERSION_HEADER in headers and headers[VERSION_HEADER] == self._default_version:
            # The client sends this very header on every request already; an equal copy
            # here would only make httpx2 rebuild the merged headers.
            del headers[VERSION_HEADER]
        if not all(type(value) is str for value in headers.values()):
            arguments["headers"] = {k: _header_text(v) for k, v in headers.items()}
        return arguments

    def _parse(self, module: types.ModuleType, name: str, response: httpx2.Response) -> Any:
        failure: Exception | None = None
        try:
            return parse_success(module, response)
        except (UnexpectedStatus, ValueError, TypeError, AttributeError, KeyError) as exc:
            failure = exc  # ValueError: JSONDecodeError and unknown values the parser refused
        raise errors.from_parse_failure(failure, response=response, operation=name, redactor=self.redactor)


def _log_answer(request: httpx2.Request, response: httpx2.Response, name: str) -> None:
    if not _logger.isEnabledFor(logging.DEBUG):  # this runs on every request: build nothing unasked
        return
    attempts = int(response.extensions.get(ATTEMPTS_EXTENSION, 1))
    _logger.debug(
        "%s %s -> HTTP %d (%s, %d attempt%s)",
        request.method,
        request.url.path,
        response.status_code,
        name,
        attempts,
        "" if attempts == 1 else "s",
        extra={"monite_operation": name, "monite_status": response.status_code, "monite_attempts": attempts},
    )


class Pipeline(_PipelineBase):
    """Sends generated operations through one httpx2.AsyncClient with auth, version and errors."""

    _http: httpx2.AsyncClient

    async def run(self, options: CallOptions, operation: object, /, *args: Any, **kwargs: Any) -> Outcome:
        """Run `operation` (a generated module or one of its functions) with `options`."""
        module = resolve_operation(operation)
        name = operation_name(module)
        with self.tracing.operation(name, api_version=options.api_version) as traced:
            started = time.monotonic()
            request, state, auth = self._start(options, module, name, traced, (args, kwargs))
            # The deadline bounds everything: token fetch, waits for a slot or the rate window,
            # attempts and the waits between them. Attempts and waits also shrink to fit it
            # (the retry layer), so this scope fires only for waits nobody could foresee.
            with anyio.move_on_after(state.deadline_at - started) as scope:
                response = await self.send(request, name, auth=auth, deadline=options.deadline)
            if scope.cancelled_caught:
                raise errors.deadline_passed(name, options.deadline, state.sends)
            return self._finish(response, module, name, traced, started)

    async def send(
        self, request: httpx2.Request, name: str, *, auth: httpx2.Auth | None, deadline: float = math.inf
    ) -> httpx2.Response:
        """Send `request`; any failure to get an answer raises its typed error."""
        failure: Exception | None = None
        try:
            response = await self._http.send(request, auth=auth)
        except MoniteError:
            raise  # typed already (a shared token-fetch failure: each waiter has its own copy)
        except (httpx2.HTTPError, RuntimeError) as exc:
            failure = exc
        if failure is not None:
            # Outside the except block: httpx2's exception (it holds the request and its
            # headers) is neither __cause__ nor __context__.
            raise self._send_failure(failure, request, name, deadline)
        _log_answer(request, response, name)
        return _unbound(response)


class SyncPipeline(_PipelineBase):
    """`Pipeline` for the blocking client, through one httpx2.Client.

    No cancel scope can stop a thread: the call's deadline holds because every wait below
    (a slot, the window, another thread's token fetch, a retry) and every attempt's timeout
    is bounded by it.
    """

    _http: httpx2.Client

    def run(self, options: CallOptions, operation: object, /, *args: Any, **kwargs: Any) -> Outcome:
        """`Pipeline.run`, blocking."""
        module = resolve_operation(operation)
        name = operation_name(module)
        with self.tracing.operation(name, api_version=options.api_version) as traced:
            started = time.monotonic()
            request, _, auth = self._start(options, module, name, traced, (args, kwargs))
            response = self.send(request, name, auth=auth, deadline=options.deadline)
            return self._finish(response, module, name, traced, started)

    def send(
        self, request: httpx2.Request, name: str, *, auth: httpx2.Auth | None, deadline: float = math.inf
    ) -> httpx2.Response:
        """`Pipeline.send`, blocking."""
        failure: Exception | None = None
        try:
            response = self._http.send(request, auth=auth)
        except MoniteError:
            raise
        except (httpx2.HTTPError, RuntimeError) as exc:
            failure = exc
        if failure is not None:
            raise self._send_failure(failure, request, name, deadline)  # unchained, as in Pipeline.send
        _log_answer(request, response, name)
        return _unbound(response)


def _unbound(response: httpx2.Response) -> httpx2.Response:
    """`response` (read and closed) with its bytes as its stream, in place of httpx2's.

    httpx2 binds each response and its stream to each other (the stream times `elapsed` and
    closes the response): a reference cycle that holds the response, its request, their
    headers and the call's state, ~28 objects a call that only the garbage collector frees.
    At 100 tasks that collector took 7-11 % of the client's CPU. Once read, the response
    needs only its bytes; without the cycle, reference counting frees it all at once.
    """
    response.stream = httpx2.ByteStream(response.content)
    return response
