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
import enum
import functools
import types
from typing import Any

import httpx2
from monite_generated.errors import UnexpectedStatus

from .._errors import ConfigurationError
from . import enums  # noqa: F401  (installs lenient enums before anything is parsed)
from . import failures as errors
from .operations import accepts_entity, accepts_version, parse_success, request_kwargs
from .options import CallOptions
from .versioning import VERSION_HEADER, validate_api_version

__all__ = ["Outcome", "build", "parse"]


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """A parsed success: the model, the raw response, how many attempts it took, and how
    long the whole call took (seconds: token fetch, attempts and waits included)."""

    parsed: Any
    response: httpx2.Response
    attempts: int
    elapsed: float = 0.0


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


@functools.lru_cache(maxsize=256)
def _absolute(base_url: httpx2.URL, path: str) -> httpx2.URL:
    # What httpx2's client does with a relative URL (appended to the base path), once per
    # path instead of on every request: it parses both URLs again each time, which was a third
    # of a call's CPU. Bounded: paths with an id (delete, verify) are as many as the ids.
    url = httpx2.URL(path)
    if not url.is_relative_url:
        return url
    base = base_url.raw_path if base_url.raw_path.endswith(b"/") else base_url.raw_path + b"/"
    return base_url.copy_with(raw_path=base + url.raw_path.lstrip(b"/"))


def build(
    http: httpx2.AsyncClient | httpx2.Client,
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
    if accepts_version(module):
        version = kwargs.get("x_monite_version")
        if version is None:
            kwargs = {**kwargs, "x_monite_version": options.api_version}
        else:
            try:
                validate_api_version(version)
            except ConfigurationError:
                raise errors.bad_version_argument(name, pinned=options.api_version, got=version) from None
    if accepts_entity(module) and kwargs.get("x_monite_entity_id") is None:
        if options.entity_id is None:
            raise errors.missing_entity_id(name)
        kwargs = {**kwargs, "x_monite_entity_id": options.entity_id}
    failure: Exception | None = None
    try:
        arguments = request_kwargs(module, args, kwargs)
        if isinstance(arguments.get("url"), str):
            arguments["url"] = _absolute(http.base_url, arguments["url"])
        headers = {k: _header_text(v) for k, v in (arguments.get("headers") or {}).items()}
        if VERSION_HEADER in headers and headers[VERSION_HEADER] == http.headers.get(VERSION_HEADER):
            del headers[VERSION_HEADER]  # the client sends this very header on every request already
        arguments["headers"] = {**dict(options.headers), **headers}
        if options.timeout != http.timeout:  # the client's own is the default: not passed again
            arguments["timeout"] = options.timeout
        return http.build_request(**arguments)
    except (TypeError, ValueError, AttributeError, httpx2.InvalidURL) as exc:
        failure = exc  # ValueError covers UnicodeEncodeError (a header value httpx2 cannot encode)
    raise errors.bad_arguments(name, failure, redactor)  # unchained: nothing of the arguments kept


def parse(module: types.ModuleType, name: str, response: httpx2.Response, redactor: errors.Redactor) -> Any:
    """The model for a 2xx answer, or the typed error for one the parser refuses."""
    failure: Exception | None = None
    try:
        return parse_success(module, response)
    except (UnexpectedStatus, ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
        failure = exc  # ValueError: JSONDecodeError and unknown values the parser refused
    raise errors.from_parse_failure(failure, response=response, operation=name, redactor=redactor)
