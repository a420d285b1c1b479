"""What Monite's answers say, read once: the error body, the stale-token rule, the waits asked.

Both the auth flow (is this a stale token?) and the error mapping (which error, what
message?) need the error body of the same answer. It is parsed here once and the result
kept on the response, so neither re-parses what the other already read.

    >>> parse_retry_after({"retry-after": "2"})
    2.0
"""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import json
import math
import time
from collections.abc import Callable, Mapping

import httpx2

__all__ = [
    "REDACT_EXTENSION",
    "error_body",
    "is_stale_token",
    "parse_retry_after",
    "request_id",
]

_ERROR_BODY_EXTENSION = "monite_async.error_body"
# Put by the flow on every answer: a function that blanks each secret the client knows (its
# client secret, its recent tokens), which a request carries only some of (a GET carries no
# client secret, yet a server may echo it).
REDACT_EXTENSION = "monite_async.redact"

# Monite's mocks answer 400 "The token has been revoked, expired or not found."; its older
# SDK refreshed on 400/401/403 with such a message. Matched on the lower-cased message.
# Only those words: "invalid" would also match a 403 such as "token invalid for this
# scope", which a new token cannot fix (it is PermissionDeniedError, not a refresh).
_STALE_WORDS = ("expired", "revoked", "not found")

# Request body fields that hold a secret (the token request's, the revoke request's).
_SECRET_FIELDS = frozenset({"client_secret", "token", "access_token", "refresh_token"})


@dataclasses.dataclass(frozen=True, slots=True)
class ErrorBody:
    """An error answer's body as parsed once.

    Attributes:
        payload: the JSON document, or None when the body is empty or not JSON.
        is_json: whether the body parsed as JSON (an empty body counts as JSON: nothing to parse).
        message: Monite's `error.message` (or FastAPI's string `detail`), unredacted; None if absent.
    """

    payload: object
    is_json: bool
    message: str | None


def error_body(response: httpx2.Response) -> ErrorBody:
    """The parsed body of `response` (which must have been read), parsed on first use only."""
    parsed: ErrorBody | None = response.extensions.get(_ERROR_BODY_EXTENSION)
    if parsed is None:
        parsed = response.extensions[_ERROR_BODY_EXTENSION] = _parse(response.content)
    return parsed


def _parse(content: bytes) -> ErrorBody:
    try:  # an empty body is no JSON to parse, and no error either
        payload: object = json.loads(content) if content else None
    except (ValueError, RecursionError):  # UnicodeDecodeError included; RecursionError: "[[[[..."
        return ErrorBody(payload=None, is_json=False, message=None)
    message: str | None = None
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            message = str(error["message"])
        elif isinstance(payload.get("detail"), str):  # FastAPI's own {"detail": "Not authenticated"}
            message = str(payload["detail"])
    return ErrorBody(payload=payload, is_json=True, message=message)


def is_stale_token(response: httpx2.Response) -> bool:
    """True if Monite's (read) answer means "your token is no good", not "you may not do this"."""
    if response.status_code not in (400, 403):
        return response.status_code == 401
    message = (error_body(response).message or "").lower()
    return "token" in message and any(word in message for word in _STALE_WORDS)


def request_id(response: httpx2.Response) -> str | None:
    """The answer's `x-request-id`, to quote to Monite's support, without any secret the
    request carried or the client knows (a server may echo its bearer token or client secret
    there): every reader of it (logs, spans, errors, RawResponse) gets it from here."""
    value = response.headers.get("x-request-id")
    if value is None:
        return None
    # Every answer the flow reads has both its redactor and its request.
    redact: Callable[[str], str] = response.extensions[REDACT_EXTENSION]
    # And what the request carried: its bearer token, its JSON body's secret fields
    # (client_secret, token).
    scheme, _, credentials = response.request.headers.get("authorization", "").partition(" ")
    carried = [credentials.strip()] if scheme.lower() == "bearer" else []
    if response.request.headers.get("content-type", "").startswith("application/json"):  # the flow's: read
        body = _parse(response.request.content).payload
        if isinstance(body, dict):
            carried += [v for k, v in body.items() if k in _SECRET_FIELDS and isinstance(v, str)]
    value = redact(value)
    for secret in filter(None, carried):  # "" would match everywhere
        value = value.replace(secret, "[redacted]")
    return value[:200]


def parse_retry_after(headers: Mapping[str, str], *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds the server asked to wait, from `retry-after-ms` or `Retry-After`, else None.

    `headers`: an answer's `httpx2.Headers` (any case), or a dict of lowercased names.

    >>> parse_retry_after({"retry-after-ms": "1500"})
    1.5
    """
    for name, per_second in (("retry-after-ms", 1000), ("retry-after", 1)):
        try:  # float() ignores surrounding whitespace
            value = float(headers[name]) / per_second
        except (KeyError, ValueError):
            continue
        if math.isfinite(value):
            return max(0.0, value)
    try:  # not a finite number: an HTTP date, perhaps (NaN and infinity are none either)
        when = email.utils.parsedate_to_datetime(headers.get("retry-after", ""))
    except (TypeError, ValueError, IndexError):  # not a date, or no Retry-After at all ("")
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive parse means "-0000"
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - now())
