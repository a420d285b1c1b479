"""A call's request, built before anything is sent, and its answer parsed: no I/O.

For any generated operation module, `build` makes the request with the module's own
request arguments (`_generated_ops.request_kwargs`), filling in the pinned
`x_monite_version` (a caller's own must be a YYYY-MM-DD date); any argument the module or
httpx2 cannot turn into a request is an InvalidRequestError. `parse` turns a 2xx answer
into the operation's model, any failure into a typed error. So an operation added to the
spec works through `call()` with no facade change.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Callable
from typing import Any

import httpx2
from monite_generated.errors import UnexpectedStatus

from .._errors import ConfigurationError
from . import failures as errors
from .operations import parameters, parse_success, request_kwargs
from .options import CallOptions
from .versioning import validate_api_version

__all__ = ["Outcome", "Target", "build", "parse"]


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """A parsed success: the model, the raw response, how many attempts it took, and how
    long the whole call took (seconds: token fetch, attempts and waits included)."""

    parsed: Any
    response: httpx2.Response
    attempts: int
    elapsed: float = 0.0


class Target:
    """Where a client's requests go and what each carries before its own arguments: the base
    URL, httpx2's default headers with ours (`x-monite-version`, `User-Agent`) (each request
    carries its call's own timeout: `CallOptions.timeout`).

    What an httpx2 client would merge into every request; the flow builds its requests itself
    and sends them straight to the transport, for an httpx2 client has nothing to add to them
    (no auth, redirects, cookies or hooks: the flow does the first, Monite needs none of the
    rest), and its `build_request` and `send` were a large part of a call's CPU (the
    'tuned' variant of docs/benchmarks.md sends as the flow does).

    `url(path)`: `path` joined to the base URL, made once per path (paths with an id are as
    many as the ids: the memo is bounded). `headers_with(*added)`: these headers with `added`
    (a view's own, then the operation's) put over them, once per combination (they are few:
    API versions, entities; bounded too); not to be changed: a request copies it.
    """

    __slots__ = ("base_url", "headers", "headers_with", "url")

    def __init__(self, base_url: str, *, headers: dict[str, str]) -> None:
        # Made by an httpx2 client itself, so they follow httpx2: a base path that ends with "/"
        # (a request path is appended to it), and httpx2's default headers (Accept,
        # Accept-Encoding: the decoders this httpx2 has, Connection, User-Agent) with ours over
        # them. No socket, no TLS context is made (trust_env=False: no proxy transports either).
        with httpx2.Client(
            base_url=base_url, headers=headers, transport=httpx2.BaseTransport(), trust_env=False
        ) as client:
            self.base_url: httpx2.URL = client.base_url
            self.headers: httpx2.Headers = client.headers
        # The memos hold the base URL and headers, not the Target: no reference cycle.
        self.url: Callable[[str], httpx2.URL] = _MEMO(functools.partial(_joined, self.base_url))
        self.headers_with: Callable[..., httpx2.Headers] = _MEMO(functools.partial(_merged, self.headers))


_MEMO = functools.lru_cache(maxsize=256)


def _joined(base_url: httpx2.URL, path: str) -> httpx2.URL:
    url = httpx2.URL(path)
    if not url.is_relative_url:
        return url
    return base_url.copy_with(raw_path=base_url.raw_path + url.raw_path.lstrip(b"/"))


def _merged(headers: httpx2.Headers, *added: tuple[str, str]) -> httpx2.Headers:
    headers = headers.copy()
    for name, value in added:
        headers[name] = value
    return headers


def build(
    target: Target,
    module: types.ModuleType,
    name: str,
    call: tuple[tuple[Any, ...], dict[str, Any]],
    options: CallOptions,
    redactor: errors.Redactor,
) -> httpx2.Request:
    """The request for `module(*args, **kwargs)`; InvalidRequestError if it cannot be made."""
    args, kwargs = call
    if "client" in kwargs:
        raise errors.client_argument(name)
    accepted = parameters(module)
    if "x_monite_version" in accepted:
        version = kwargs.get("x_monite_version")
        if version is None:
            kwargs = {**kwargs, "x_monite_version": options.api_version}
        else:
            try:
                validate_api_version(version)
            except ConfigurationError:
                raise errors.bad_version_argument(name, pinned=options.api_version, got=version) from None
    if "x_monite_entity_id" in accepted and kwargs.get("x_monite_entity_id") is None:
        if options.entity_id is None:
            raise errors.missing_entity_id(name)
        kwargs = {**kwargs, "x_monite_entity_id": options.entity_id}
    try:
        arguments = request_kwargs(module, args, kwargs)
        if isinstance(arguments.get("url"), str):
            arguments["url"] = target.url(arguments["url"])
        # The generated code writes every header value as text (openapi/templates/).
        arguments["headers"] = target.headers_with(
            *options.headers, *(arguments.get("headers") or {}).items()
        )
        arguments["extensions"] = {"timeout": options.timeout.as_dict()}
        return httpx2.Request(**arguments)
    except (TypeError, ValueError, AttributeError, httpx2.InvalidURL) as exc:
        # Raised below, outside the handler: unchained, so nothing of the arguments is kept.
        failure = exc  # ValueError covers UnicodeEncodeError (a header value httpx2 cannot encode)
    raise errors.bad_arguments(name, failure, redactor)


def parse(module: types.ModuleType, name: str, response: httpx2.Response, redactor: errors.Redactor) -> Any:
    """The model for a 2xx answer, or the typed error for one the parser refuses."""
    try:
        return parse_success(module, response)
    except RecursionError:
        # JSON nested thousands deep: json.loads recurses per level. One failure like any parse error.
        failure: Exception = ValueError("the body is nested too deeply to parse")
    except (UnexpectedStatus, ValueError, TypeError, AttributeError, KeyError) as exc:
        # ValueError: JSONDecodeError, unknown values the parser refused.
        failure = exc
    raise errors.from_parse_failure(failure, response=response, operation=name, redactor=redactor)
