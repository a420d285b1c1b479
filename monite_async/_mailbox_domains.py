"""`monite.mailbox_domains`: create, list, verify and delete, with arguments checked first.

domain = await monite.mailbox_domains.create("mail.example.com")
for record in domain.dns_records.sending_dns_records:
    print(record.record_type.value, record.name, record.value)
"""

from __future__ import annotations

import builtins
import logging
import uuid
from typing import TypeVar

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
from ._validation import validate_hostname, validate_uuid

__all__ = ["MailboxDomains"]

_logger = logging.getLogger("monite_async")

_Model = TypeVar("_Model")


def _expect(outcome: Outcome, model: type[_Model], operation: str) -> _Model:
    if isinstance(outcome.parsed, model):
        return outcome.parsed
    raise errors.unexpected_model(
        outcome.response, expected=model.__name__, got=type(outcome.parsed).__name__, operation=operation
    )


class MailboxDomains:
    """The mailbox domains of the partner the client's credentials belong to."""

    def __init__(self, run: Runner) -> None:
        self._run = run

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
        validate_hostname(domain)
        try:
            outcome = await self._run(post_mailbox_domains, body=DomainRequest(domain=domain))
        except ConflictError as exc:
            if not exc.retried_after_uncertain_failure:
                raise
            existing = await self._find(domain)
            if existing is None:
                raise
            _logger.info(
                "Create of %s was retried and met 409; returning the domain Monite already has (id %s)",
                domain,
                existing.id,
                extra={"monite_operation": "post_mailbox_domains", "monite_attempts": exc.attempts},
            )
            return existing
        return _expect(outcome, DomainResponse, "post_mailbox_domains")

    async def list(self) -> builtins.list[DomainResponse]:
        """All mailbox domains (the API does not paginate)."""
        outcome = await self._run(get_mailbox_domains)
        return _expect(outcome, DomainListResponse, "get_mailbox_domains").data

    async def verify(self, domain_id: uuid.UUID | str) -> VerifyResponse:
        """Ask Monite to check the domain's DNS records again; return the resulting status."""
        checked = validate_uuid(domain_id)
        outcome = await self._run(post_mailbox_domains_id_verify, checked)
        return _expect(outcome, VerifyResponse, "post_mailbox_domains_id_verify")

    async def delete(self, domain_id: uuid.UUID | str) -> None:
        """Remove the mailbox domain `domain_id`."""
        checked = validate_uuid(domain_id)
        await self._run(delete_mailbox_domains_id, checked)

    async def _find(self, domain: str) -> DomainResponse | None:
        wanted = domain.lower()
        for candidate in await self.list():
            if isinstance(candidate.domain, str) and candidate.domain.lower() == wanted:
                return candidate
        return None
