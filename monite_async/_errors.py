"""Every error monite_async raises: one tree under `MoniteError`.

Nothing from httpx2 or the generated code reaches a caller raw; the request pipeline turns
each failure into one of these. No secret (client secret, token) is ever part of an error:
the pipeline redacts bodies before they get here, and `__str__` never prints headers.

    try:
        await monite.mailbox_domains.verify(domain_id)
    except NotFoundError as exc:
        print(exc.status_code, exc.request_id)  # 404, quote the id to Monite's support
"""

from __future__ import annotations

import dataclasses
import json
from typing import ClassVar, TypedDict, Unpack

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ClientStateError",
    "ConfigurationError",
    "ConflictError",
    "DNSLookupError",
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
    "VerificationTimeoutError",
]


class MoniteError(Exception):
    """Base class of every error monite_async raises, with one shape for all of them.

    Every `MoniteError` has the same five attributes, so a handler never needs to know the
    subclass to report it:

        except MoniteError as exc:
            log.warning("Monite failed: %s (request %s)", exc.message, exc.request_id)

    Attributes:
        message: what went wrong, in words (never a secret).
        request_id: Monite's `x-request-id` for the answer, or None when there was none
            (nothing sent, no connection, no HTTP answer): quote it to Monite's support.
        status_code: the HTTP status of Monite's answer, or None when there was no answer.
        operation: the operation that failed, such as `post_mailbox_domains`, or None.
        attempts: how many times the request was sent (retries included); 0 when it was
            refused before anything was sent.

    Each class has a `default_message`, the `message` of one raised without a text of its own.
    """

    default_message: ClassVar[str] = "monite_async failed"

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        operation: str | None = None,
        attempts: int = 0,
    ) -> None:
        self._message = message or self.default_message
        self._status_code = status_code
        self._request_id = request_id
        self._operation = operation
        self._attempts = attempts
        super().__init__(self._message)

    @property
    def message(self) -> str:
        """What went wrong, in words."""
        return self._message

    @property
    def status_code(self) -> int | None:
        """The HTTP status of Monite's answer; None when there was no answer."""
        return self._status_code

    @property
    def request_id(self) -> str | None:
        """Monite's `x-request-id` of the answer; None when there was no answer."""
        return self._request_id

    @property
    def operation(self) -> str | None:
        """The operation that failed (`get_mailbox_domains`, ...), if one was under way."""
        return self._operation

    @property
    def attempts(self) -> int:
        """How many times the request was sent; 0 when nothing was sent."""
        return self._attempts

    def __str__(self) -> str:
        parts: list[str] = []
        if self._status_code is not None:
            parts.append(f"HTTP {self._status_code}")
        if self._operation:
            parts.append(f"operation {self._operation}")
        if self._request_id:
            parts.append(f"request id {self._request_id}")
        if self._status_code is not None and self._attempts > 1:
            parts.append(f"after {self._attempts} attempts")
        elif self._status_code is None and self._attempts >= 1:
            parts.append(f"{self._attempts} attempt{'s' if self._attempts != 1 else ''}")
        parts.extend(self._details())
        return f"{self._message} ({', '.join(parts)})" if parts else self._message

    def _details(self) -> list[str]:
        return []

    def __reduce__(self) -> tuple[object, ...]:
        """What pickle (Celery's results, multiprocessing) and `copy.copy` rebuild the error
        from: its args and its fields. (BaseException's own calls the class with its args alone,
        which misses the keyword-only fields: a MoniteAPIError's `status_code` is required.) A
        copy has no traceback, cause or context (an error shared by many callers, such as one
        token fetch's failure, is raised as a copy by each: no traceback shows in another's)."""
        return (_rebuilt, (type(self), self.args), vars(self))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self._message!r}, status_code={self._status_code!r}, "
            f"request_id={self._request_id!r}, operation={self._operation!r}, attempts={self._attempts})"
        )


class ConfigurationError(MoniteError, ValueError):
    """The client was built with options that cannot work (missing credentials, bad version...)."""

    default_message = "the client's configuration cannot work"


class InvalidRequestError(MoniteError, ValueError):
    """An argument was rejected before anything was sent (bad host name, bad UUID...)."""

    default_message = "the request was refused before anything was sent"


class ClientStateError(MoniteError, RuntimeError):
    """The client was used after `aclose()`, or from an event loop it does not belong to."""

    default_message = "the client cannot be used in this state"


@dataclasses.dataclass(frozen=True, slots=True)
class FieldError:
    """One field error of a 422 answer: where (`location`), what (`message`), and its `type`."""

    location: tuple[str | int, ...]
    message: str
    type: str


class MoniteAPIError(MoniteError):
    """Monite answered with a status that is not success.

    Besides the attributes every MoniteError has (`status_code` is always set here):
        body: what Monite sent, decoded: the JSON value (`{"error": {"message": ...}}`,
            mostly), else the text (secrets redacted either way).
        content: the same body as the bytes that came (secrets redacted).
        retry_after: seconds the server asked to wait (Retry-After), if it said.
        retried_after_uncertain_failure: an earlier attempt failed in a way (5xx, dropped
            connection, timeout waiting for the answer) that leaves unknown whether Monite
            acted on it; a 409 then may be the echo of that earlier attempt.
    """

    default_message = "Monite answered with an error"

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
        self._body = body
        self._retry_after = retry_after
        self._retried_after_uncertain_failure = retried_after_uncertain_failure
        super().__init__(
            message, status_code=status_code, request_id=request_id, operation=operation, attempts=attempts
        )

    @property
    def status_code(self) -> int:
        """The HTTP status, as an int (520 and 599 included)."""
        assert self._status_code is not None  # always given to MoniteAPIError
        return self._status_code

    @property
    def body(self) -> object:
        """The response body decoded: its JSON value, else its text (secrets redacted).

        except ConflictError as exc:
            print(exc.body)  # {'error': {'message': '...', 'type': 'conflict'}}
        """
        text = self._body.decode("utf-8", "replace")
        try:
            return json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to be Monite's
            return text

    @property
    def content(self) -> bytes:
        """The response body as the bytes that came, secrets redacted."""
        return self._body

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked to wait before trying again, if it said."""
        return self._retry_after

    @property
    def retried_after_uncertain_failure(self) -> bool:
        """Whether an earlier attempt may have been acted on by Monite (see the class)."""
        return self._retried_after_uncertain_failure

    def _details(self) -> list[str]:
        return [] if self._retry_after is None else [f"server asked to wait {self._retry_after:g} s"]


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


class _APIErrorFields(TypedDict, total=False):
    """MoniteAPIError's keyword arguments besides `status_code`, for its subclasses to pass on."""

    request_id: str | None
    body: bytes
    operation: str | None
    attempts: int
    retry_after: float | None
    retried_after_uncertain_failure: bool


class ValidationError(MoniteAPIError):
    """422: the request did not validate; `field_errors` says which fields and why."""

    default_message = "The request did not validate"

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int = 422,
        field_errors: tuple[FieldError, ...] = (),
        **fields: Unpack[_APIErrorFields],
    ) -> None:
        self._field_errors = field_errors
        super().__init__(message, status_code=status_code, **fields)

    @property
    def field_errors(self) -> tuple[FieldError, ...]:
        """Which fields did not validate, and why."""
        return self._field_errors


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
    """No HTTP answer at all: connection refused or dropped, a TLS failure... after all retries.

    `status_code` and `request_id` are None (there was no answer); `attempts` says how many
    times the request was tried.
    """

    default_message = "Could not reach Monite"


class MoniteTimeoutError(MoniteConnectionError):
    """The request timed out (connect, read, write or waiting for a pooled connection)."""

    default_message = "Monite did not answer in time"


class VerificationTimeoutError(MoniteError):
    """`wait_until_verified` ran out of time: Monite still did not say `verified`.

    Besides the attributes every MoniteError has:
        last_status: the status Monite's last verify answer gave (`waiting_to_be_verified`...).
        checks: how many verify calls were made.

    `operation` is `post_mailbox_domains_id_verify`, `request_id` that of the last verify
    answer, and `attempts` the requests sent over all checks (retries included, so at least
    `checks`). `status_code` is None: no answer failed; the last one was a 200 that said
    "not yet".
    """

    default_message = "the mailbox domain was not verified in time"

    def __init__(
        self,
        message: str | None = None,
        *,
        last_status: str = "",
        checks: int = 0,
        request_id: str | None = None,
        attempts: int = 0,
    ) -> None:
        self._last_status = last_status
        self._checks = checks
        super().__init__(
            message, request_id=request_id, operation="post_mailbox_domains_id_verify", attempts=attempts
        )

    @property
    def last_status(self) -> str:
        """The status of Monite's last verify answer."""
        return self._last_status

    @property
    def checks(self) -> int:
        """How many verify calls were made before the timeout passed."""
        return self._checks

    def _details(self) -> list[str]:
        return [f"{self._checks} check{'s' if self._checks != 1 else ''}, last status {self._last_status}"]


class DNSLookupError(MoniteError):
    """`monite_async.dns.check` could not ask DNS (no nameserver answered, a timeout...).

    A name or record DNS does not have is not this error: the check reports it as `missing`.
    `status_code`, `request_id` and `operation` are None (Monite was not asked); `attempts` is 0.
    """

    default_message = "DNS could not be asked"


def _rebuilt(kind: type[MoniteError], args: tuple[object, ...]) -> MoniteError:
    """An error of `kind` with `args`, its fields to be restored (see `MoniteError.__reduce__`)."""
    return kind.__new__(kind, *args)


# Tracebacks and reprs name the public path (`monite_async.ConflictError`), where users import
# them from, not this private module; pickling finds them there too.
for _public in __all__:  # every one a class
    globals()[_public].__module__ = "monite_async"
