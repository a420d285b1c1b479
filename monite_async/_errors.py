"""Every error monite_async raises: one tree under `MoniteError`.

Nothing from httpx or the generated code reaches a caller raw; the request pipeline turns
each failure into one of these. No secret (client secret, token) is ever part of an error:
the pipeline redacts bodies before they get here, and `__str__` never prints headers.

    try:
        await monite.mailbox_domains.verify(domain_id)
    except NotFoundError as exc:
        print(exc.status_code, exc.request_id)  # 404, quote the id to Monite's support
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, TypeVar

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ClientStateError",
    "ConfigurationError",
    "ConflictError",
    "FieldError",
    "InvalidRequestError",
    "MoniteAPIError",
    "MoniteConnectionError",
    "MoniteError",
    "MoniteTimeoutError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "UnexpectedResponseError",
    "ValidationError",
]


class MoniteError(Exception):
    """Base class of every error monite_async raises."""


class ConfigurationError(MoniteError, ValueError):
    """The client was built with options that cannot work (missing credentials, bad version...)."""


class InvalidRequestError(MoniteError, ValueError):
    """An argument was rejected before anything was sent (bad host name, bad UUID...)."""


class ClientStateError(MoniteError, RuntimeError):
    """The client was used after `aclose()`, or from an event loop it does not belong to."""


@dataclasses.dataclass(frozen=True, slots=True)
class FieldError:
    """One field error of a 422 answer: where (`location`), what (`message`), and its `type`."""

    location: tuple[str | int, ...]
    message: str
    type: str


class MoniteAPIError(MoniteError):
    """Monite answered with a status that is not success.

    Attributes:
        status_code: the HTTP status, as an int (520 and 599 included).
        message: Monite's `error.message`, or a description of what was wrong with the answer.
        request_id: the `x-request-id` response header, if any: quote it to Monite's support.
        body: the raw response body (secrets redacted).
        operation: the operation that failed, such as `post_mailbox_domains`.
        attempts: how many times the request was sent (retries included).
        retry_after: seconds the server asked to wait (Retry-After), if it said.
        retried_after_uncertain_failure: an earlier attempt failed in a way (5xx, dropped
            connection, timeout waiting for the answer) that leaves unknown whether Monite
            acted on it; a 409 then may be the echo of that earlier attempt.
    """

    default_message: ClassVar[str] = "Monite answered with an error"

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int,
        request_id: str | None = None,
        body: bytes = b"",
        operation: str | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
        retried_after_uncertain_failure: bool = False,
    ) -> None:
        self.message = message or self.default_message
        self.status_code = status_code
        self.request_id = request_id
        self.body = body
        self.operation = operation
        self.attempts = attempts
        self.retry_after = retry_after
        self.retried_after_uncertain_failure = retried_after_uncertain_failure
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = [f"HTTP {self.status_code}"]
        if self.operation:
            parts.append(f"operation {self.operation}")
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        if self.attempts > 1:
            parts.append(f"after {self.attempts} attempts")
        if self.retry_after is not None:
            parts.append(f"server asked to wait {self.retry_after:g} s")
        return f"{self.message} ({', '.join(parts)})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, message={self.message!r}, "
            f"request_id={self.request_id!r}, operation={self.operation!r})"
        )


class BadRequestError(MoniteAPIError):
    """400: Monite refused the request as malformed."""

    default_message = "Bad request"


class AuthenticationError(MoniteAPIError):
    """Credentials or token refused: bad client ID/secret, or a token rejected even after a refresh."""

    default_message = "Authentication failed"


class PermissionDeniedError(MoniteAPIError):
    """403: the token may not do this."""

    default_message = "Permission denied"


class NotFoundError(MoniteAPIError):
    """404: no such object (for example, no mailbox domain with this ID)."""

    default_message = "Not found"


class ConflictError(MoniteAPIError):
    """409: the request conflicts with existing state (for example, the domain already exists)."""

    default_message = "Conflict"


class ValidationError(MoniteAPIError):
    """422: the request did not validate; `field_errors` says which fields and why."""

    default_message = "The request did not validate"

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int = 422,
        field_errors: tuple[FieldError, ...] = (),
        request_id: str | None = None,
        body: bytes = b"",
        operation: str | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
        retried_after_uncertain_failure: bool = False,
    ) -> None:
        self.field_errors = field_errors
        super().__init__(
            message,
            status_code=status_code,
            request_id=request_id,
            body=body,
            operation=operation,
            attempts=attempts,
            retry_after=retry_after,
            retried_after_uncertain_failure=retried_after_uncertain_failure,
        )


class RateLimitError(MoniteAPIError):
    """429: too many requests. `retry_after` is the wait the server asked for, in seconds."""

    default_message = "Rate limited"


class ServerError(MoniteAPIError):
    """5xx (520 and 599 included): Monite or a proxy in front of it failed."""

    default_message = "Monite server error"


class UnexpectedResponseError(MoniteAPIError):
    """The answer was not what the API describes: an undeclared status, a body that is not
    JSON, a missing or malformed field. The message names what was wrong."""

    default_message = "Unexpected response"


class MoniteConnectionError(MoniteError):
    """No HTTP answer at all: connection refused, dropped, TLS failure... after all retries."""

    def __init__(self, message: str, *, operation: str | None = None, attempts: int = 1) -> None:
        self.message = message
        self.operation = operation
        self.attempts = attempts
        super().__init__(message)

    def __str__(self) -> str:
        where = f" (operation {self.operation}" if self.operation else " ("
        sep = ", " if self.operation else ""
        return f"{self.message}{where}{sep}{self.attempts} attempt{'s' if self.attempts != 1 else ''})"


class MoniteTimeoutError(MoniteConnectionError):
    """The request timed out (connect, read, write or waiting for a pooled connection)."""


_E = TypeVar("_E", bound=BaseException)


def fresh_copy(error: _E) -> _E:
    """A new exception of the same type with the same args and fields (message, status,
    request id, attempts, body...), and no traceback, cause or context.

    For a failure shared by many callers (one token fetch for everyone who waited): each
    raises its own object, so one caller's traceback or handling never shows in another's.
    """
    copy = type(error).__new__(type(error), *error.args)
    copy.__dict__.update(vars(error))
    return copy
