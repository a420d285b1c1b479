"""`monite.mailbox_domains`: create, list, verify and delete, with arguments checked first.

domain = await monite.mailbox_domains.create("mail.example.com")
for record in domain.dns_records.sending_dns_records:
    print(record.record_type.value, record.name, record.value)
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable

from monite_generated.api.mailbox_domains import get_mailbox_domains, post_mailbox_domains
from monite_generated.models import DomainRequest, DomainResponse, VerifyResponse

from .._errors import ConflictError
from .._flow import failures as errors
from .._flow.drive import drive, drive_blocking
from .._flow.request import Outcome
from .._flow.steps import Sleep
from ._base import ResourceFlow
from ._generated import mailbox_domains as generated
from .raw import RawResponse
from .validation import validate_hostname, validate_uuid

__all__ = [
    "MailboxDomains",
    "MailboxDomainsWithRawResponse",
    "SyncMailboxDomains",
    "SyncMailboxDomainsWithRawResponse",
]

_logger = logging.getLogger("monite_async")

DEFAULT_VERIFY_TIMEOUT = 600.0
"""How long `wait_until_verified` keeps checking, by default (seconds)."""
DEFAULT_VERIFY_INTERVAL = 15.0
"""Its first wait between two checks, by default (seconds)."""
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


class _Flows(generated.MailboxDomainsFlows):
    """The rendered flows, with what differs by hand: create checks the domain first, takes
    it positionally, and resolves a 409 met after a retry; `wait_until_verified` loops."""

    def create(self, domain: str) -> ResourceFlow[RawResponse[DomainResponse]]:
        with self._traced("post_mailbox_domains"):
            body = DomainRequest(domain=validate_hostname(domain))  # checked before anything is sent
            started, ends = time.monotonic(), self._budget()
            try:
                outcome = yield from self._call(post_mailbox_domains, body=body, budget_at=ends)
            except ConflictError as exc:
                if not exc.retried_after_uncertain_failure:
                    raise
                # An earlier attempt may have created the domain before its answer was lost:
                # if Monite lists it, that is the answer (the lookup shares the deadline).
                listing: Outcome = yield from self._call(get_mailbox_domains, budget_at=ends)
                wanted = domain.lower()
                # str(): a hostile answer's domain may be any JSON value (never equal to a checked one).
                found = next((d for d in generated._LIST(listing) if str(d.domain).lower() == wanted), None)
                if found is None:
                    raise
                _logger.info(
                    "Create of %s was retried and met 409; returning the domain Monite already has (id %s)",
                    domain,
                    found.id,
                    extra={"monite_operation": "post_mailbox_domains", "monite_attempts": exc.attempts},
                )
                outcome = Outcome(
                    found, listing.response, exc.attempts + listing.attempts, time.monotonic() - started
                )
            return RawResponse(outcome, generated._CREATE)

    def wait_until_verified(
        self,
        domain_id: uuid.UUID | str,
        timeout: float,
        interval: float,
        on_check: Callable[[int, VerifyResponse], object] | None,
    ) -> ResourceFlow[VerifyResponse]:
        checked = validate_uuid(domain_id)
        limit = _seconds("timeout", timeout, allow_zero=True)
        wait = _seconds("interval", interval, allow_zero=False)
        cap = max(wait, min(4 * wait, MAX_INTERVAL))
        ends = time.monotonic() + limit
        checks = attempts = 0
        while True:
            raw = yield from self.verify(checked)
            answer = raw.parse()
            checks += 1
            attempts += raw.attempts
            left = ends - time.monotonic()
            verified = answer.status == "verified"
            then = f"; next check in {min(wait, left):.1f} s" if left > 0 else "; out of time"
            _logger.info(
                "Verify check %d of mailbox domain %s: %s%s",
                checks,
                checked,
                answer.status,
                "" if verified else then,
                extra={"monite_operation": "post_mailbox_domains_id_verify", "monite_checks": checks},
            )
            if on_check is not None:
                on_check(checks, answer)
            if verified:
                return answer
            if left <= 0:
                raise errors.verification_timeout(
                    checked, timeout=limit, last_status=answer.status, checks=checks,
                    request_id=raw.request_id, attempts=attempts,
                )  # fmt: skip
            yield Sleep(min(wait, left), real=True)
            wait = min(wait * INTERVAL_GROWTH, cap)


class MailboxDomainsWithRawResponse(generated.MailboxDomainsWithRawResponse):
    """The same calls as `MailboxDomains`, each returning a `RawResponse` (status, headers,
    request id, attempts, elapsed, rate limit) whose `parse()` is what the plain method returns.

        raw = await monite.mailbox_domains.with_raw_response.list()
        print(raw.request_id, raw.rate_limit)
    """

    _flows_class = _Flows
    _flows: _Flows

    async def create(self, domain: str) -> RawResponse[DomainResponse]:
        """`MailboxDomains.create`, raw. After a 409 resolved to the existing domain (see there),
        the answer is the lookup's (`GET /mailbox_domains`), and `attempts` counts both calls."""
        return await drive(self._flows.create(domain), self._io)


class MailboxDomains(generated.MailboxDomains):
    """The mailbox domains of the partner the client's credentials belong to."""

    _raw_class = MailboxDomainsWithRawResponse
    with_raw_response: MailboxDomainsWithRawResponse

    async def create(self, domain: str) -> DomainResponse:
        """Register `domain` and return it with the DNS records to publish.

        Monite's create is not idempotent. If a create was re-sent after a failure that
        leaves unknown whether Monite already created the domain (a 5xx, a dropped
        connection, a timeout waiting for the answer) and then meets 409, the domain is
        looked up and returned instead of failing. Any other 409 (first attempt, or after
        a 429 or a refused token, which Monite never acted on) is a real ConflictError.
        """
        return (await self.with_raw_response.create(domain)).parse()

    async def wait_until_verified(
        self,
        domain_id: uuid.UUID | str,
        *,
        timeout: float = DEFAULT_VERIFY_TIMEOUT,  # noqa: ASYNC109 - the issue's name; it bounds a loop of calls
        interval: float = DEFAULT_VERIFY_INTERVAL,
        on_check: Callable[[int, VerifyResponse], object] | None = None,
    ) -> VerifyResponse:
        """Call verify until Monite says `verified`; return that `VerifyResponse`.

        The first check is at once; the waits between checks grow by `INTERVAL_GROWTH`
        (x1.5) from `interval`, capped at 4x the first wait (at most 60 s unless `interval`
        itself is longer). One INFO line is logged per check
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
        flow = self.with_raw_response._flows.wait_until_verified(domain_id, timeout, interval, on_check)
        return await drive(flow, self.with_raw_response._io)


class SyncMailboxDomainsWithRawResponse(generated.SyncMailboxDomainsWithRawResponse):
    """`MailboxDomainsWithRawResponse` for `MoniteSyncClient`: the same calls, blocking."""

    _flows_class = _Flows
    _flows: _Flows

    def create(self, domain: str) -> RawResponse[DomainResponse]:
        """`MailboxDomainsWithRawResponse.create`, blocking."""
        return drive_blocking(self._flows.create(domain), self._io)


class SyncMailboxDomains(generated.SyncMailboxDomains):
    """`MailboxDomains` for `MoniteSyncClient`: the same calls and errors, blocking."""

    _raw_class = SyncMailboxDomainsWithRawResponse
    with_raw_response: SyncMailboxDomainsWithRawResponse

    def create(self, domain: str) -> DomainResponse:
        """`MailboxDomains.create` (a retried create that meets 409 returns the existing domain)."""
        return self.with_raw_response.create(domain).parse()

    def wait_until_verified(
        self,
        domain_id: uuid.UUID | str,
        *,
        timeout: float = DEFAULT_VERIFY_TIMEOUT,
        interval: float = DEFAULT_VERIFY_INTERVAL,
        on_check: Callable[[int, VerifyResponse], object] | None = None,
    ) -> VerifyResponse:
        """`MailboxDomains.wait_until_verified`, blocking: the thread sleeps between checks."""
        flow = self.with_raw_response._flows.wait_until_verified(domain_id, timeout, interval, on_check)
        return drive_blocking(flow, self.with_raw_response._io)
