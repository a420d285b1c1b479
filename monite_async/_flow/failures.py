"""Where every failure becomes a `MoniteError`: the one status table, the one exception
mapping, the parse failures, and every message text, each written once.

The layers below raise what they are (httpx2's exceptions, a RuntimeError from a closed
pool); the pipeline calls one function here per failure and raises what it returns:

    error = from_response(response, operation="get_mailbox_domains", redactor=redactor, uncertain=False)
    raise error

Nothing made here carries a secret: bodies and texts pass the `Redactor` first, and no
error is chained to httpx2's exceptions (they hold the request and its headers).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable

import httpx2
from monite_generated.errors import UnexpectedStatus

from .._defaults import DEFAULT_BASE_URL
from .._errors import (
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
    VerificationTimeoutError,
    _APIErrorFields,
)
from .._http.answers import error_body, is_stale_token, parse_retry_after, request_id
from .._http.rate import RateLimitHold
from .._http.transports import TLSError

__all__ = [
    "Redactor",
    "bad_arguments",
    "bad_token_answer",
    "bad_version_argument",
    "client_argument",
    "closed_client",
    "deadline_passed",
    "from_parse_failure",
    "from_response",
    "from_send_failure",
    "missing_entity_id",
    "nonstandard_status",
    "not_an_operation",
    "unexpected_model",
    "verification_timeout",
    "wait_argument",
    "wrong_event_loop",
]

_REDACTED = b"[redacted]"
# A value under a key that names a secret, as JSON writes it (escapes included: "\u002d"
# would defeat a byte-for-byte match on the value). Blanked in every body put on an error.
_SECRET_JSON_VALUE = re.compile(
    rb'("(?:access_token|refresh_token|client_secret|token)"\s*:\s*)"(?:[^"\\]|\\.)*"'
)

# The status table: statuses with their own class. Others: 5xx ServerError, 4xx MoniteAPIError.
_BY_STATUS: dict[int, type[MoniteAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}


@dataclasses.dataclass(frozen=True, slots=True)
class Redactor:
    """Blanks every known secret value (`secrets()`: client secret, recent tokens) and every
    value under a secret JSON key, in bytes and texts that go on an error or a log line."""

    secrets: Callable[[], list[str]] = dataclasses.field(repr=False)

    def bytes(self, data: bytes) -> bytes:
        for secret in self.secrets():
            if secret:
                data = data.replace(secret.encode(), _REDACTED)
        return _SECRET_JSON_VALUE.sub(rb'\1"' + _REDACTED + b'"', data)

    def text(self, text: str) -> str:
        return self.bytes(text.encode("utf-8", "replace")).decode("utf-8", "replace")


# Put by the flow on the final response: how often the request was sent.
ATTEMPTS_EXTENSION = "monite_async.attempts"


# -- Monite answered, with a status that is not success -----------------------------------


def from_response(
    response: httpx2.Response, *, operation: str, redactor: Redactor, uncertain: bool
) -> MoniteAPIError:
    """The typed error for a non-2xx answer (the body must have been read); `uncertain`: an
    earlier attempt failed in a way that leaves unknown whether Monite acted on it."""
    status = response.status_code
    field_errors = _field_errors(error_body(response).payload, redactor) if status == 422 else ()
    fields = _APIErrorFields(
        request_id=request_id(response),  # redacted: the flow put its redactor on every answer
        body=redactor.bytes(response.content),
        operation=operation,
        attempts=response.extensions[ATTEMPTS_EXTENSION],
        retry_after=parse_retry_after(response.headers),
        retried_after_uncertain_failure=uncertain,
    )
    message = _message(response, operation, field_errors, redactor)
    if operation == "post_auth_token" and status in (400, 401, 403, 422):
        # The token request itself refused: bad credentials, which no retry or refresh can fix.
        message = f"Monite refused the client credentials: {message}"
        return AuthenticationError(message, status_code=status, **fields)
    # 1xx/3xx: nothing the API declares. A stale token is one still refused after one refresh and replay.
    other = ServerError if status >= 500 else MoniteAPIError if status >= 400 else UnexpectedResponseError
    error_class = AuthenticationError if is_stale_token(response) else _BY_STATUS.get(status, other)
    if error_class is ValidationError:
        return ValidationError(message, status_code=status, field_errors=field_errors, **fields)
    return error_class(message, status_code=status, **fields)


def _message(
    response: httpx2.Response, operation: str, field_errors: tuple[FieldError, ...], redactor: Redactor
) -> str:
    status = response.status_code
    parsed = error_body(response)
    # 499, 520-527, 599: proxies and CDNs send statuses that have no standard phrase.
    reason = httpx2.codes.get_reason_phrase(status) or "non-standard status"
    if not 400 <= status < 600:
        return f"HTTP {status} {reason} is a status the API does not declare for {operation}"
    if status == 404 and operation == "post_auth_token":
        url = response.request.url
        base = str(url.copy_with(query=None)).removesuffix("/auth/token")
        if base.endswith("/v1"):
            return f"Monite answered 404 for {url}: check that base_url {base!r} is Monite's API"
        return (
            f"Monite answered 404 for {url}: base_url {base!r} does not end in /v1, as Monite's base "
            f"URLs do (such as {DEFAULT_BASE_URL!r})"
        )
    if field_errors:
        return "; ".join(
            f"{'.'.join(str(part) for part in error.location) or '?'}: {error.message}"
            for error in field_errors
        )[:500]
    if parsed.message is not None:
        return redactor.text(parsed.message)[:500]
    if not parsed.is_json:
        return f"HTTP {status} {reason}; the body is not JSON ({_content_type(response)})"
    return f"HTTP {status} {reason}" + ("" if response.content else "; empty body")


def _content_type(response: httpx2.Response) -> str:
    return response.headers.get("content-type", "no content type")[:60]


def _field_errors(payload: object, redactor: Redactor) -> tuple[FieldError, ...]:
    detail = payload.get("detail") if isinstance(payload, dict) else None
    if not isinstance(detail, list):
        return ()
    return tuple(_field_error(item, redactor) for item in detail[:50] if isinstance(item, dict))


def _field_error(item: dict[str, object], redactor: Redactor) -> FieldError:
    loc = item.get("loc")
    parts = loc if isinstance(loc, list) else []
    # Redacted, each: a server may echo the value it refused (a secret, a token) in any
    # of them, the location included.
    location = tuple(redactor.text(x) if isinstance(x, str) else x for x in parts if isinstance(x, str | int))
    return FieldError(location, _text(item.get("msg"), redactor), _text(item.get("type"), redactor))


def _text(value: object, redactor: Redactor) -> str:
    # A str, or a number's text; never str() of a nested list or dict (a deep one recurses).
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return redactor.text(value[:500] if isinstance(value, str) else str(value) if number else "")


# -- no answer: the request could not be sent, or its answer never came ------------------


def from_send_failure(
    failure: Exception, *, request: httpx2.Request, operation: str, attempts: int, redactor: Redactor
) -> MoniteError:
    """The typed error for what sending `request` raised (after `attempts` sends): what
    `plain_error` made of it (httpx2's errors, a RuntimeError), or the flow's own refusal
    (`RateLimitHold`, `httpx2.PoolTimeout`)."""
    if isinstance(failure, RateLimitHold):
        return RateLimitError(
            f"{failure}; not sent",
            status_code=429,
            operation=operation,
            attempts=attempts,
            retry_after=failure.retry_after,
        )
    detail = redactor.text(str(failure))[:200]
    if not isinstance(failure, httpx2.HTTPError):
        return ClientStateError(
            f"{operation}: the HTTP client cannot send (is an http_client of yours closed?): {detail}",
            operation=operation,
        )
    name = type(failure).__name__
    timed_out = isinstance(failure, httpx2.TimeoutException)
    error_class = MoniteTimeoutError if timed_out else MoniteConnectionError
    if isinstance(failure, TLSError):
        message = _tls_message(failure, request.url)
    elif timed_out:
        message = f"{error_class.default_message}: {name}"
    else:
        message = f"{error_class.default_message}: {name}: {detail or name}"
    return error_class(message, operation=operation, attempts=attempts)


def _tls_message(failure: TLSError, url: httpx2.URL) -> str:
    origin = f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")
    if failure.reason == "certificate":
        return (
            f"The TLS certificate of {origin} could not be verified ({failure}); not retried. Likely a "
            "proxy that presents its own certificate, or a missing CA bundle: pass an "
            "http_client=httpx2.AsyncClient(verify=...) that trusts it"
        )
    return (
        f"TLS with {origin} failed ({failure}); not retried. Likely https:// to a server that speaks "
        "plain HTTP on that port: check the scheme and port of base_url"
    )


# -- Monite answered with success, but not with what the API describes --------------------


def from_parse_failure(
    failure: Exception, *, response: httpx2.Response, operation: str, redactor: Redactor
) -> UnexpectedResponseError:
    """The error for a success answer the generated parser rejected with `failure`."""
    status = response.status_code
    # A token answer's success body is itself a secret (a fresh token the redactor does not know
    # yet): it never goes on an error, nor does a parser's detail text about it.
    secret_answer = operation == "post_auth_token"
    if isinstance(failure, UnexpectedStatus):
        problem = f"HTTP {status} is a success status the API does not declare for {operation}"
    elif isinstance(failure, json.JSONDecodeError):
        problem = f"{operation}: the HTTP {status} body is not JSON ({_content_type(response)})"
    elif isinstance(failure, KeyError):
        field = failure.args[0] if failure.args else "?"
        problem = f"{operation}: the HTTP {status} body lacks the required field {field!r}"
    else:
        # The parser's text may quote the value; for a token answer that is the token.
        detail = "" if secret_answer else f": {redactor.text(str(failure))[:200]}"
        problem = (
            f"{operation}: the HTTP {status} body has a malformed value ({type(failure).__name__}{detail})"
        )
    return _unexpected(
        response, problem, operation, b"" if secret_answer else redactor.bytes(response.content)
    )


def _unexpected(
    response: httpx2.Response, message: str, operation: str, body: bytes = b""
) -> UnexpectedResponseError:
    # No body unless given: the other callers say what was wrong in words, and a token
    # answer's body is a token. The request id was redacted by the flow's redactor on the answer.
    return UnexpectedResponseError(
        message,
        status_code=response.status_code,
        request_id=request_id(response),
        body=body,
        operation=operation,
        attempts=response.extensions[ATTEMPTS_EXTENSION],
    )


def unexpected_model(
    response: httpx2.Response, *, expected: str, got: str, operation: str
) -> UnexpectedResponseError:
    """A parsed success of another model than the operation's own."""
    return _unexpected(response, f"{operation}: expected a {expected}, got {got}", operation)


def nonstandard_status(response: httpx2.Response, *, operation: str) -> UnexpectedResponseError:
    """The generated `Response` needs an `HTTPStatus`; 520 or 599 has none."""
    return _unexpected(response, f"HTTP {response.status_code} is not a standard status", operation)


def bad_token_answer(response: httpx2.Response, problem: str) -> UnexpectedResponseError:
    """A token answer that parsed but cannot be used; never quotes the body (a token)."""
    return _unexpected(response, f"post_auth_token: {problem}", "post_auth_token")


# -- refused before anything was sent ----------------------------------------------------


def not_an_operation(operation: object) -> InvalidRequestError:
    return InvalidRequestError(
        f"{operation!r} is not a generated operation: pass a module from monite_generated.api "
        "(or one of its functions, such as asyncio_detailed)"
    )


def _refused(operation: str, problem: str) -> InvalidRequestError:
    return InvalidRequestError(f"{operation}: {problem}", operation=operation)


def client_argument(operation: str) -> InvalidRequestError:
    return _refused(operation, "do not pass client=; the Monite client supplies it")


def missing_entity_id(operation: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"{operation} acts for an entity: give the client entity_id= (or a view, "
        "monite.with_options(entity_id=...)); its x-monite-entity-id header was not sent",
        operation=operation,
    )


def bad_version_argument(operation: str, *, pinned: str, got: object) -> InvalidRequestError:
    # A per-call argument, so InvalidRequestError (ConfigurationError is for the client's
    # own api_version). Checked before building: httpx2 would fail on a non-ASCII value with
    # a bare UnicodeEncodeError, and send a wrong date as it is.
    return _refused(
        operation,
        f"x_monite_version must be a date written as YYYY-MM-DD, such as {pinned!r}; got {str(got)[:40]!r}",
    )


def bad_arguments(operation: str, failure: Exception, redactor: Redactor) -> InvalidRequestError:
    # Named as the user called it, not as the generated module's private function is.
    detail = redactor.text(str(failure)).replace("_get_kwargs()", f"{operation}()")[:300]
    return _refused(operation, f"bad arguments: {type(failure).__name__}: {detail}")


def deadline_passed(operation: str, deadline: float, attempts: int) -> MoniteTimeoutError:
    """The call's whole budget (token fetch, attempts, waits) ran out."""
    return MoniteTimeoutError(
        f"{MoniteTimeoutError.default_message}: the call did not finish within its deadline "
        f"of {deadline:g} s",
        operation=operation,
        attempts=attempts,
    )


# -- the client's own state --------------------------------------------------------------


def closed_client() -> ClientStateError:
    return ClientStateError("this client is closed; create a new one")


def closed_in_flight() -> ClientStateError:
    return ClientStateError("this client was closed while the call was in flight; create a new one")


def async_token_callable() -> ConfigurationError:
    return ConfigurationError(
        "MoniteSyncClient's token= must be a str or a plain callable returning one; an async "
        "callable needs MoniteClient (there is no event loop here to await it in)"
    )


def wrong_event_loop() -> ClientStateError:
    # Its pooled connections and locks belong to the first loop; using them from another
    # one fails in obscure ways deep inside httpx2.
    return ClientStateError(
        "this MoniteClient belongs to the event loop it was first used in; "
        "create one MoniteClient per event loop"
    )


def wait_argument(name: str, value: object, *, allow_zero: bool) -> InvalidRequestError:
    bound = "zero or more" if allow_zero else "more than zero"
    return InvalidRequestError(
        f"{name} must be a finite number of seconds, {bound}; got {value!r}",
        operation="post_mailbox_domains_id_verify",
    )


def verification_timeout(
    domain_id: object, *, timeout: float, last_status: str, checks: int, request_id: str | None, attempts: int
) -> VerificationTimeoutError:
    return VerificationTimeoutError(
        f"mailbox domain {domain_id} was not verified within {timeout:g} s",
        last_status=last_status,
        checks=checks,
        request_id=request_id,
        attempts=attempts,
    )
