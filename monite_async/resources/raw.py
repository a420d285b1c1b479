"""Raw responses: what Monite answered to a successful call, besides the parsed model.

raw = await monite.mailbox_domains.with_raw_response.create("mail.example.com")
print(raw.status_code, raw.request_id, raw.attempts, raw.elapsed, raw.rate_limit)
domain = raw.parse()  # the DomainResponse the plain method returns
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import httpx2

from .._flow.request import Outcome
from .._http.answers import request_id
from .._http.rate import RateLimit, parse_rate_limit

__all__ = ["RawResponse", "made"]

T = TypeVar("T")


def made(kind: type[T], *parts: object) -> T:
    """A resource, bound to a client's flow, options and driver by its private `_bind`: a
    resource has no public constructor (users get theirs from a client), so neither
    `help()` nor a type checker shows the flow's internals as part of the API."""
    resource = kind.__new__(kind)
    resource._bind(*parts)  # type: ignore[attr-defined]
    return resource


class RawResponse(Generic[T]):
    """A successful call's answer: status, headers, request id, attempts, time, rate limit.

    Attributes:
        status_code: the HTTP status Monite answered with.
        headers: the answer's headers (httpx2.Headers: case-insensitive).
        request_id: Monite's `x-request-id`, to quote to its support.
        attempts: how many times the request was sent (retries included).
        elapsed: seconds the whole call took: token fetch, attempts and waits.
        rate_limit: the rate limit the answer reported, or None if it reported none.
    """

    __slots__ = ("_outcome", "_parse")

    def __init__(self, outcome: Outcome, parse: Callable[[Outcome], T]) -> None:
        self._outcome = outcome
        self._parse = parse

    def __repr__(self) -> str:
        return (
            f"RawResponse(status_code={self.status_code}, request_id={self.request_id!r}, "
            f"attempts={self.attempts}, elapsed={self.elapsed:.3f})"
        )

    @property
    def status_code(self) -> int:
        return self._outcome.response.status_code

    @property
    def headers(self) -> httpx2.Headers:
        return self._outcome.response.headers

    @property
    def request_id(self) -> str | None:
        return request_id(self._outcome.response)

    @property
    def attempts(self) -> int:
        return self._outcome.attempts

    @property
    def elapsed(self) -> float:
        return self._outcome.elapsed

    @property
    def rate_limit(self) -> RateLimit | None:
        return parse_rate_limit(self._outcome.response.headers)

    @property
    def http_response(self) -> httpx2.Response:
        """The httpx2.Response itself (its body already read)."""
        return self._outcome.response

    def parse(self) -> T:
        """The parsed model, exactly what the plain method returns."""
        return self._parse(self._outcome)
