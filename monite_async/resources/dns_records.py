"""`dns_records(domain)`: a domain's DNS records, typed, without an isinstance in every app.

Monite's schema declares `dns_records` as `anyOf[DNSRecords, object]`, so the generated
`DomainResponse.dns_records` is `DNSRecords | FreeFormDNSRecords`: the typed records, or
whatever object Monite sent when it did not have their shape. Every answer Monite gives
today has the typed shape, so apps read the records through this function:

    for record in dns_records(domain).sending_dns_records:
        print(record.record_type.value, record.name, record.value)

and an answer without that shape fails loudly, naming what was wrong, instead of as an
AttributeError deep in the app. Code that wants the free-form alternative reads
`domain.dns_records` itself and checks `isinstance(..., FreeFormDNSRecords)`.
"""

from __future__ import annotations

from monite_generated.models import DNSRecords, DomainResponse
from monite_generated.models import DomainResponseDnsRecordsType1 as FreeFormDNSRecords

from .._errors import UnexpectedResponseError

__all__ = ["FreeFormDNSRecords", "dns_records"]

_FIELDS = ("receiving_dns_records", "sending_dns_records")


def dns_records(domain: DomainResponse) -> DNSRecords:
    """The typed DNS records of `domain` (sending and receiving, each a list of DNSRecord).

    Raises:
        UnexpectedResponseError: Monite sent `dns_records` without the documented shape (the
            free-form alternative of its schema). The message names the domain and what was
            missing or malformed, never a value. The function sees the parsed domain, not the
            answer it came in: `status_code` is 200 (the answer was a success), and
            `request_id` and `operation` are None.
    """
    records = domain.dns_records
    if isinstance(records, DNSRecords):
        return records
    sent = records.additional_properties
    missing = [f"{name} is missing" for name in _FIELDS if name not in sent]
    wrong = [f"{name} is not a list" for name in _FIELDS if not isinstance(sent.get(name, []), list)]
    # Both lists right, yet the typed parse failed: the fault is inside a record.
    problems = missing + wrong or ["a record in them lacks a field or has one of the wrong type"]
    raise UnexpectedResponseError(
        f"dns_records of mailbox domain {domain.id} do not have the documented shape: "
        f"{'; '.join(problems)} (keys sent: {sorted(sent)})",
        status_code=200,
    )
