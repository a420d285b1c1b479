"""The one request pipeline: every resource method and `MoniteClient.call` go through here.

For any generated operation module it
1. builds the request with the module's own `_get_kwargs(...)`, filling in the pinned
   `x_monite_version` (a caller's own must be a YYYY-MM-DD date); any argument the module
   or httpx cannot turn into a request is an InvalidRequestError, before anything is sent;
2. sends it through the facade's httpx client (auth flow on top, retry transport below),
   signing it only if the operation is secured (the generated `asyncio_detailed` takes an
   `AuthenticatedClient` only then);
3. maps any non-2xx answer to a typed error from the raw httpx.Response, never through the
   generated `_build_response` (it calls `HTTPStatus(code)` and fails on 520 or 599);
4. parses a success with the module's `_parse_response`, turning KeyError, ValueError,
   TypeError or a JSON error into UnexpectedResponseError that names what was wrong.

So an operation added to the spec works through `call()` with no facade change.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import http
import inspect
import json
import logging
import re
import sys
import types
from collections.abc import Callable
from typing import Any

import httpx
from monite_generated.client import AuthenticatedClient, Client
from monite_generated.errors import UnexpectedStatus

from . import _enums  # noqa: F401  (installs lenient enums before anything is parsed)
from ._auth import is_stale_token_response
from ._errors import (
    AuthenticationError,
    BadRequestError,
    ClientStateError,
    ConfigurationError,
    ConflictError,
    FieldError,
    InvalidRequestError,
    MoniteAPIError,
    MoniteConnectionError,
    MoniteError,
    MoniteTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    ValidationError,
)
from ._retry import ATTEMPTS_EXTENSION, UNCERTAIN_EXTENSION, parse_retry_after
from ._versioning import VERSION_HEADER, validate_api_version

__all__ = ["Outcome", "Pipeline", "error_from_response", "operation_name", "resolve_operation"]

_logger = logging.getLogger("monite_async")

# `_parse_response` only reads `raise_on_unexpected_status` from its client; with it set, an
# undeclared status raises instead of silently parsing to None.
_STRICT_PARSER_CLIENT = Client(base_url="http://unused.invalid", raise_on_unexpected_status=True)
_SUCCESS_CODES = (200, 201, 202, 204)
_REDACTED = b"[redacted]"
# Answers whose success body is itself a secret (a fresh token the redactor does not know
# yet): such a body never goes on an error, nor does a parser's detail text about it.
_SECRET_ANSWERS = frozenset({"post_auth_token"})
# A value under a key that names a secret, as JSON writes it (escapes included: "\u002d"
# would defeat a byte-for-byte match on the value). Blanked in every body put on an error.
_SECRET_JSON_VALUE = re.compile(
    rb'("(?:access_token|refresh_token|client_secret|token)"\s*:\s*)"(?:[^"\\]|\\.)*"'
)


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """A parsed success: the model, the raw response, and how many attempts it took."""

    parsed: Any
    response: httpx.Response
    attempts: int


def resolve_operation(operation: object) -> types.ModuleType:
    """Accept a generated operation module or any of its functions; return the module."""
    module: object = operation
    if not isinstance(operation, types.ModuleType):
        module_name = getattr(operation, "__module__", None)
        module = sys.modules.get(module_name) if isinstance(module_name, str) else None
    if (
        not isinstance(module, types.ModuleType)
        or not callable(getattr(module, "_get_kwargs", None))
        or not callable(getattr(module, "_parse_response", None))
    ):
        raise InvalidRequestError(
            f"{operation!r} is not a generated operation: pass a module from monite_generated.api "
            "(or one of its functions, such as asyncio_detailed)"
        )
    return module


def operation_name(module: types.ModuleType) -> str:
    return module.__name__.rpartition(".")[2]


@functools.cache
def _requires_auth(module: types.ModuleType) -> bool:
    # The generator types `client` as `AuthenticatedClient` for secured operations and as
    # `AuthenticatedClient | Client` for open ones (POST /auth/token): the spec's security,
    # read back from the code.
    detailed = getattr(module, "asyncio_detailed", None)
    if detailed is None:
        return True
    parameter = inspect.signature(detailed).parameters.get("client")
    if parameter is None:
        return True
    annotation = parameter.annotation
    if isinstance(annotation, str):
        return annotation.strip() == "AuthenticatedClient"
    return annotation is AuthenticatedClient


def _is_api_version(value: object) -> bool:
    try:
        validate_api_version(value)
    except ConfigurationError:
        return False
    return True


@functools.cache
def _accepts_version(module: types.ModuleType) -> bool:
    return "x_monite_version" in inspect.signature(module._get_kwargs).parameters


def _merge_url(base_url: httpx.URL, path: str) -> httpx.URL:
    # What httpx.AsyncClient._merge_url does with a relative URL (append to the base path),
    # written with public httpx API. httpx re-parses both URLs on every request, which is
    # a fifth of a call's client CPU; the pipeline does it once per path instead.
    url = httpx.URL(path)
    if not url.is_relative_url:
        return url
    return base_url.copy_with(raw_path=base_url.raw_path + url.raw_path.lstrip(b"/"))


def _header_text(value: object) -> str | bytes:
    # The generator puts typed header values (uuid, int, bool, enum) into the headers dict
    # unconverted; httpx accepts only str or bytes.
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "non-standard status"


def _field_errors(payload: object) -> tuple[FieldError, ...]:
    if not isinstance(payload, dict) or not isinstance(payload.get("detail"), list):
        return ()
    found: list[FieldError] = []
    for item in payload["detail"]:
        if not isinstance(item, dict):
            continue
        raw_loc = item.get("loc")
        loc = tuple(x for x in raw_loc if isinstance(x, str | int)) if isinstance(raw_loc, list) else ()
        found.append(
            FieldError(location=loc, message=str(item.get("msg", "")), type=str(item.get("type", "")))
        )
    return tuple(found)


def _error_class(status: int, body: bytes) -> type[MoniteAPIError]:
    if status in (400, 401, 403) and is_stale_token_response(status, body):
        return AuthenticationError  # still stale after one refresh and replay
    fixed: dict[int, type[MoniteAPIError]] = {
        400: BadRequestError,
        403: PermissionDeniedError,
        404: NotFoundError,
        409: ConflictError,
        422: ValidationError,
        429: RateLimitError,
    }
    if status in fixed:
        return fixed[status]
    if status >= 500:
        return ServerError
    if 400 <= status < 500:
        return MoniteAPIError
    return UnexpectedResponseError  # 1xx/3xx: nothing the API declares


def error_from_response(
    response: httpx.Response, *, operation: str | None, redact: Callable[[bytes], bytes] = lambda b: b
) -> MoniteAPIError:
    """The typed error for a non-2xx answer (the body must have been read)."""
    status = response.status_code
    body = redact(response.content)
    payload: object = None
    message: str
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        content_type = response.headers.get("content-type", "no content type")
        message = f"HTTP {status} {_reason(status)}; the body is not JSON ({content_type[:60]})"
    else:
        message = f"HTTP {status} {_reason(status)}" + ("" if body else "; empty body")
        if isinstance(payload, dict):
            error = payload.get("error")
            if isinstance(error, dict) and isinstance(error.get("message"), str):
                message = str(error["message"])[:500]
            elif isinstance(payload.get("detail"), str):  # FastAPI's own {"detail": "Not authenticated"}
                message = str(payload["detail"])[:500]
    field_errors = _field_errors(payload) if status == 422 else ()
    if field_errors:
        message = "; ".join(
            f"{'.'.join(str(part) for part in error.location) or '?'}: {error.message}"
            for error in field_errors
        )[:500]
    common: dict[str, Any] = {
        "status_code": status,
        "request_id": response.headers.get("x-request-id"),
        "body": body,
        "operation": operation,
        "attempts": int(response.extensions.get(ATTEMPTS_EXTENSION, 1)),
        "retry_after": parse_retry_after(response.headers),
        "retried_after_uncertain_failure": bool(response.extensions.get(UNCERTAIN_EXTENSION, False)),
    }
    error_class = _error_class(status, body)
    if error_class is ValidationError:
        return ValidationError(message, field_errors=field_errors, **common)
    if error_class is UnexpectedResponseError:
        message = f"HTTP {status} {_reason(status)} is a status the API does not declare for {operation}"
    return error_class(message, **common)


class Pipeline:
    """Sends generated operations through one httpx client with auth, version and errors."""

    def __init__(
        self,
        http_client: httpx.AsyncClient,
        *,
        auth: httpx.Auth,
        api_version: str,
        secrets: Callable[[], list[str]],
    ) -> None:
        self._http = http_client
        self._auth = auth
        self._default_version = http_client.headers.get(VERSION_HEADER)
        # Bounded: paths that carry an id (delete, verify) are as many as the ids; the
        # fixed ones (list, create, token) stay hot. A partial, so the cache holds no `self`.
        self._absolute_url = functools.lru_cache(maxsize=256)(
            functools.partial(_merge_url, http_client.base_url)
        )
        self.api_version = api_version
        self._secrets = secrets

    def redact(self, data: bytes) -> bytes:
        """`data` with every known secret value and every value of a secret JSON key blanked."""
        for secret in self._secrets():
            if secret:
                data = data.replace(secret.encode(), _REDACTED)
        return _SECRET_JSON_VALUE.sub(rb'\1"' + _REDACTED + b'"', data)

    def _redact_text(self, text: str) -> str:
        return self.redact(text.encode("utf-8", "replace")).decode("utf-8", "replace")

    async def run(self, operation: object, /, *args: Any, **kwargs: Any) -> Outcome:
        """Run `operation` (a generated module or one of its functions) and return its Outcome."""
        module = resolve_operation(operation)
        name = operation_name(module)
        if "client" in kwargs:
            raise InvalidRequestError(f"{name}: do not pass client=; the MoniteClient supplies it")
        if _accepts_version(module):
            version = kwargs.get("x_monite_version")
            if version is None:
                kwargs["x_monite_version"] = self.api_version
            elif not _is_api_version(version):
                # A per-call argument, so InvalidRequestError (ConfigurationError is for the
                # client's own api_version). Checked here: httpx would fail on a non-ASCII
                # value with a bare UnicodeEncodeError, and send a wrong date as it is.
                raise InvalidRequestError(
                    f"{name}: x_monite_version must be a date written as YYYY-MM-DD, such as "
                    f"{self.api_version!r}; got {str(version)[:40]!r}"
                )
        problem: str | None = None
        try:
            request_kwargs = module._get_kwargs(*args, **kwargs)
            if isinstance(request_kwargs.get("url"), str):
                request_kwargs["url"] = self._absolute_url(request_kwargs["url"])
            headers = request_kwargs.get("headers")
            if (
                isinstance(headers, dict)
                and VERSION_HEADER in headers
                and headers[VERSION_HEADER] == self._default_version
            ):
                # The client sends this very header on every request already; an equal copy
                # here would only make httpx rebuild the merged headers.
                del headers[VERSION_HEADER]
            if isinstance(headers, dict) and not all(type(value) is str for value in headers.values()):
                request_kwargs["headers"] = {k: _header_text(v) for k, v in headers.items()}
            request = self._http.build_request(**request_kwargs)
        except (TypeError, ValueError, AttributeError, httpx.InvalidURL) as exc:
            # ValueError covers UnicodeEncodeError (a header value httpx cannot encode).
            problem = f"{name}: bad arguments: {type(exc).__name__}: {self._redact_text(str(exc))[:300]}"
        if problem is not None:
            raise InvalidRequestError(problem)  # unchained: nothing of the arguments kept
        auth = self._auth if _requires_auth(module) else None
        failure: MoniteError | None = None
        try:
            response = await self._http.send(request, auth=auth)
        except MoniteConnectionError as exc:
            # A copy: the same error may be shared by every caller that waited for one
            # token fetch, and must not be edited under the others.
            failure = type(exc)(
                self._redact_text(exc.message), operation=exc.operation or name, attempts=exc.attempts
            )
        except httpx.TimeoutException as exc:
            failure = MoniteTimeoutError(
                f"Monite did not answer in time: {type(exc).__name__}", operation=name
            )
        except httpx.HTTPError as exc:
            detail = self._redact_text(str(exc))[:200]
            failure = MoniteConnectionError(
                f"Could not reach Monite: {type(exc).__name__}: {detail}", operation=name
            )
        except RuntimeError as exc:
            if isinstance(exc, MoniteError):  # ClientStateError, already typed
                raise
            # httpx: "Cannot send a request, as the client has been closed." when aclose()
            # ran while this call was in flight (a token fetch it needed started after it).
            failure = ClientStateError(
                "this MoniteClient was closed while the call was in flight; create a new one"
                if "closed" in str(exc)
                else f"{name}: the HTTP client cannot send: {self._redact_text(str(exc))[:200]}"
            )
        if failure is not None:
            # Outside the except block: httpx's exception (it holds the request and its
            # headers) is neither __cause__ nor __context__.
            raise failure
        attempts = int(response.extensions.get(ATTEMPTS_EXTENSION, 1))
        if _logger.isEnabledFor(logging.DEBUG):  # this runs on every request: build nothing unasked
            _logger.debug(
                "%s %s -> HTTP %d (%s, %d attempt%s)",
                request.method,
                request.url.path,
                response.status_code,
                name,
                attempts,
                "" if attempts == 1 else "s",
                extra={
                    "monite_operation": name,
                    "monite_status": response.status_code,
                    "monite_attempts": attempts,
                },
            )
        if not 200 <= response.status_code < 300:
            raise error_from_response(response, operation=name, redact=self.redact)
        return Outcome(self._parse(module, name, response), response, attempts)

    def _parse(self, module: types.ModuleType, name: str, response: httpx.Response) -> Any:
        status = response.status_code
        secret_answer = name in _SECRET_ANSWERS
        problem: str
        try:
            return self._parse_success(module, response)
        except UnexpectedStatus:
            problem = f"HTTP {status} is a success status the API does not declare for {name}"
        except json.JSONDecodeError:
            content_type = response.headers.get("content-type", "no content type")
            problem = f"{name}: the HTTP {status} body is not JSON ({content_type[:60]})"
        except KeyError as exc:
            field = exc.args[0] if exc.args else "?"
            problem = f"{name}: the HTTP {status} body lacks the required field {field!r}"
        except (ValueError, TypeError, AttributeError) as exc:
            # The parser's text may quote the value; for a token answer that is the token.
            detail = "" if secret_answer else f": {self._redact_text(str(exc))[:200]}"
            problem = f"{name}: the HTTP {status} body has a malformed value ({type(exc).__name__}{detail})"
        raise UnexpectedResponseError(
            problem,
            status_code=status,
            request_id=response.headers.get("x-request-id"),
            body=b"" if secret_answer else self.redact(response.content),
            operation=name,
            attempts=int(response.extensions.get(ATTEMPTS_EXTENSION, 1)),
        )

    @staticmethod
    def _parse_success(module: types.ModuleType, response: httpx.Response) -> Any:
        try:
            return module._parse_response(client=_STRICT_PARSER_CLIENT, response=response)
        except UnexpectedStatus:
            # Success codes differ between API versions (create: 201, but 200 under
            # 2023-09-01). Parse as the success the operation does declare.
            for code in _SUCCESS_CODES:
                if code == response.status_code:
                    continue
                stand_in = httpx.Response(
                    code, headers=response.headers, content=response.content, request=response.request
                )
                try:
                    return module._parse_response(client=_STRICT_PARSER_CLIENT, response=stand_in)
                except UnexpectedStatus:
                    continue
            raise
