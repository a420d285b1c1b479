"""`monite.mailbox_domains`: create, list, verify and delete, with arguments checked first.

domain = await monite.mailbox_domains.create("mail.example.com")
for record in domain.dns_records.sending_dns_records:
    print(record.record_type.value, record.name, record.value)
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TypeVar

import anyio
from monite_generated.api.mailbox_domains import (
    delete_mailbox_domains_id,
    get_mailbox_domains,
    post_mailbox_domains,
    post_mailbox_domains_id_verify,
)
from monite_generated.models import DomainListResponse, DomainRequest, DomainResponse, VerifyResponse

from . import _error_mapping as errors
from ._errors import ConflictError
from ._pipeline import Outcome, Runner
from ._raw import RawResponse
from ._validation import validate_hostname, validate_uuid

__all__ = ["MailboxDomains", "MailboxDomainsWithRawResponse"]

_logger = logging.getLogger("monite_async")

_Model = TypeVar("_Model")

VERIFIED = "verified"
INTERVAL_GROWTH = 1.5
"""Each wait of `wait_until_verified` is this much longer than the one before..."""
MAX_INTERVAL = 60.0
"""...up to 4 times the first one, and never past this many seconds (unless the first is longer)."""


def _seconds(name: str, value: object, *, allow_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise errors.wait_argument(name, value, allow_zero=allow_zero)
    if value < 0 or (value == 0 and not allow_zero):
        raise errors.wait_argument(name, value, allow_zero=allow_zero)
    return float(value)


def interval_cap(interval: float) -> float:
    """The longest wait between two checks for a first wait of `interval` seconds."""
    return max(interval, min(4 * interval, MAX_INTERVAL))


def _expect(model: type[_Model], operation: str) -> Callable[[Outcome], _Model]:
    def parse(outcome: Outcome) -> _Model:
        if isinstance(outcome.parsed, model):
            return outcome.parsed
        raise errors.unexpected_model(
            outcome.response, expected=model.__name__, got=type(outcome.parsed).__name__, operation=operation
        )

    return parse


_created = _expect(DomainResponse, "post_mailbox_domains")
_verified = _expect(VerifyResponse, "post_mailbox_domains_id_verify")
_listing = _expect(DomainListResponse, "get_mailbox_domains")


def _domains(outcome: Outcome) -> builtins.list[DomainResponse]:
    domains: builtins.list[DomainResponse] = _listing(outcome).data
    return domains


def _nothing(outcome: Outcome) -> None:
    return None


# Opens the operation's span before its arguments are checked, so a call refused before
# anything is sent still shows on a trace (see _tracing.py); no-op by default.
Traced = Callable[[str], AbstractContextManager[object]]


def _untraced(operation: str) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


class MailboxDomainsWithRawResponse:
    """The same four calls, each returning a `RawResponse` (status, headers, request id,
    attempts, elapsed, rate limit) whose `parse()` is what the plain method returns.

        raw = await monite.mailbox_domains.with_raw_response.list()
        print(raw.request_id, raw.rate_limit)
    """

    def __init__(self, run: Runner, *, traced: Traced = _untraced) -> None:
        self._run = run
        self._traced = traced

    def __repr__(self) -> str:
        return "MailboxDomainsWithRawResponse()"

    async def create(self, domain: str) -> RawResponse[DomainResponse]:
        """`MailboxDomains.create`, raw. After a 409 resolved to the existing domain (see there),
        the answer is the lookup's (`GET /mailbox_domains`), and `attempts` counts both calls."""
        with self._traced("post_mailbox_domains"):
            validate_hostname(domain)
            started = time.monotonic()
            try:
                outcome = await self._run(post_mailbox_domains, body=DomainRequest(domain=domain))
            except ConflictError as exc:
                if not exc.retried_after_uncertain_failure:
                    raise
                found = await self._find(domain, started=started, attempts_before=exc.attempts)
                if found is None:
                    raise
                return found
            return RawResponse(outcome, _created)

    async def list(self) -> RawResponse[builtins.list[DomainResponse]]:
        """`MailboxDomains.list`, raw."""
        return RawResponse(await self._run(get_mailbox_domains), _domains)

    async def verify(self, domain_id: uuid.UUID | str) -> RawResponse[VerifyResponse]:
        """`MailboxDomains.verify`, raw."""
        with self._traced("post_mailbox_domains_id_verify"):
            checked = validate_uuid(domain_id)
            return RawResponse(await self._run(post_mailbox_domains_id_verify, checked), _verified)

    async def delete(self, domain_id: uuid.UUID | str) -> RawResponse[None]:
        """`MailboxDomains.delete`, raw (204, no body: `parse()` returns None)."""
        with self._traced("delete_mailbox_domains_id"):
            checked = validate_uuid(domain_id)
            return RawResponse(await self._run(delete_mailbox_domains_id, checked), _nothing)

    async def _find(
        self, domain: str, *, started: float, attempts_before: int
    ) -> RawResponse[DomainResponse] | None:
        listing = await self._run(get_mailbox_domains)
        wanted = domain.lower()
        existing = next(
            (d for d in _domains(listing) if isinstance(d.domain, str) and d.domain.lower() == wanted), None
        )
        if existing is None:
            return None
        _logger.info(
            "Create of %s was retried and met 409; returning the domain Monite already has (id %s)",
            domain,
            existing.id,
            extra={"monite_operation": "post_mailbox_domains", "monite_attempts": attempts_before},
        )
        whole = Outcome(
            existing, listing.response, attempts_before + listing.attempts, time.monotonic() - started
        )
        return RawResponse(whole, _created)


class MailboxDomains:
    """The mailbox domains of the partner the client's credentials belong to."""

    def __init__(self, run: Runner, *, traced: Traced = _untraced) -> None:
        self.with_raw_response: MailboxDomainsWithRawResponse = MailboxDomainsWithRawResponse(
            run, traced=traced
        )
        """The same calls, returning `RawResponse`s: `await mailbox_domains.with_raw_response.list()`."""

    def __repr__(self) -> str:
        return "MailboxDomains()"

    async def create(self, domain: str) -> DomainResponse:
        """Register `domain` and return it with the DNS records to publish.

        Monite's create is not idempotent. If a create was re-sent after a failure that
        leaves unknown whether Monite already created the domain (a 5xx, a dropped
        connection, a timeout waiting for the answer) and then meets 409, the domain is
        looked up and returned instead of failing. Any other 409 (first attempt, or after
        a 429 or a refused token, which Monite never acted on) is a real ConflictError.
        """
        return (await self.with_raw_response.create(domain)).parse()

    async def list(self) -> builtins.list[DomainResponse]:
        """All mailbox domains (the API does not paginate)."""
        return (await self.with_raw_response.list()).parse()

    async def verify(self, domain_id: uuid.UUID | str) -> VerifyResponse:
        """Ask Monite to check the domain's DNS records again; return the resulting status."""
        return (await self.with_raw_response.verify(domain_id)).parse()

    async def delete(self, domain_id: uuid.UUID | str) -> None:
        """Remove the mailbox domain `domain_id`."""
        (await self.with_raw_response.delete(domain_id)).parse()

    async def wait_until_verified(
        self,
        domain_id: uuid.UUID | str,
        *,
        timeout: float = 600.0,  # noqa: ASYNC109 - the issue's name; it bounds a loop of calls
        interval: float = 15.0,
        on_check: Callable[[int, VerifyResponse], object] | None = None,
    ) -> VerifyResponse:
        """Call verify until Monite says `verified`; return that `VerifyResponse`.

        The first check is at once; the waits between checks grow by `INTERVAL_GROWTH`
        (x1.5) from `interval`, capped at `interval_cap(interval)` (4x the first wait, at
        most 60 s unless `interval` itself is longer). One INFO line is logged per check
        (logger `monite_async`). The last wait is cut short so that one last check happens
        when `timeout` seconds have passed; each verify call keeps its own deadline and
        retries, so a call in flight then may end a little later.

        `on_check(checks, answer)`, if given, is called after every check (a progress
        display, say). Every error other than "not verified yet" propagates as it is.

        Raises:
            VerificationTimeoutError: `timeout` passed without `verified`; it has
                `last_status`, `checks`, the last answer's `request_id`, and `attempts` (the
                requests sent over all checks).
            InvalidRequestError: a bad `domain_id`, `timeout` or `interval` (nothing sent).
        """
        checked = validate_uuid(domain_id)
        limit = _seconds("timeout", timeout, allow_zero=True)
        wait = _seconds("interval", interval, allow_zero=False)
        cap = interval_cap(wait)
        ends = time.monotonic() + limit
        checks = attempts = 0
        while True:
            raw = await self.with_raw_response.verify(checked)
            answer = raw.parse()
            checks += 1
            attempts += raw.attempts
            left = ends - time.monotonic()
            _log_check(checked, answer.status, checks, None if answer.status == VERIFIED else min(wait, left))
            if on_check is not None:
                on_check(checks, answer)
            if answer.status == VERIFIED:
                return answer
            if left <= 0:
                raise errors.verification_timeout(
                    checked, timeout=limit, last_status=answer.status, checks=checks,
                    request_id=raw.request_id, attempts=attempts,
                )  # fmt: skip
            await anyio.sleep(min(wait, left))
            wait = min(wait * INTERVAL_GROWTH, cap)


def _log_check(domain_id: uuid.UUID, status: str, checks: int, next_in: float | None) -> None:
    then = "" if next_in is None else (f"; next check in {next_in:.1f} s" if next_in > 0 else "; out of time")
    _logger.info(
        "Verify check %d of mailbox domain %s: %s%s",
        checks,
        domain_id,
        status,
        then,
        extra={"monite_operation": "post_mailbox_domains_id_verify", "monite_checks": checks},
    )
