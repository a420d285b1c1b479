"""`monite_async.dns_records(domain)`: the typed records, or an error naming what Monite sent."""

from __future__ import annotations

import pytest

import monite_async
from monite_async import (
    DNSRecords,
    DomainResponse,
    FreeFormDNSRecords,
    MoniteClient,
    UnexpectedResponseError,
    dns_records,
)
from monite_async.testing import FakeMonite

DOMAIN_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


def domain_with(records: object) -> DomainResponse:
    return DomainResponse.from_dict(
        {"id": DOMAIN_ID, "domain": "mail.example.com", "status": "verified", "dns_records": records}
    )


async def test_a_created_domain_has_typed_records(fake_monite: FakeMonite) -> None:
    async with MoniteClient(
        client_id=fake_monite.client_id,
        client_secret=fake_monite.client_secret,
        base_url=fake_monite.base_url,
        transport=fake_monite.transport(),
    ) as monite:
        domain = await monite.mailbox_domains.create("mail.example.com")
    records = dns_records(domain)
    assert isinstance(records, DNSRecords)
    assert records is domain.dns_records
    assert records.sending_dns_records[0].record_type.value == "TXT"


def test_the_free_form_alternative_is_representable_and_refused_by_name() -> None:
    domain = domain_with({"sending_dns_records": "v=spf1 sent-value", "hint": "x"})
    assert isinstance(domain.dns_records, FreeFormDNSRecords)

    with pytest.raises(UnexpectedResponseError) as caught:
        dns_records(domain)

    error = caught.value
    assert error.message == (
        f"dns_records of mailbox domain {DOMAIN_ID} do not have the documented shape: "
        "receiving_dns_records is missing; sending_dns_records is not a list "
        "(keys sent: ['hint', 'sending_dns_records'])"
    )
    assert "not a list'" not in error.message  # names what is wrong, never a value sent
    assert (error.status_code, error.request_id, error.operation) == (200, None, None)


def test_a_malformed_record_inside_the_lists_is_named_too() -> None:
    domain = domain_with({"sending_dns_records": [{"name": "x"}], "receiving_dns_records": []})
    with pytest.raises(UnexpectedResponseError, match="a record in them lacks a field"):
        dns_records(domain)


def test_repr_of_a_model_shows_unset_not_an_address() -> None:
    domain = domain_with({"sending_dns_records": [], "receiving_dns_records": []})
    assert isinstance(domain.dedicated_ip, monite_async.Unset)
    assert "dedicated_ip=UNSET" in repr(domain)
    assert "object at 0x" not in repr(domain)


async def test_an_answer_without_the_records_shape_fails_by_name_not_deep_in_the_app(
    fake_monite: FakeMonite,
) -> None:
    fake_monite.faults.fail_next("post_mailbox_domains", missing_field="dns_records.sending_dns_records")
    async with MoniteClient(
        client_id=fake_monite.client_id,
        client_secret=fake_monite.client_secret,
        base_url=fake_monite.base_url,
        transport=fake_monite.transport(),
    ) as monite:
        domain = await monite.mailbox_domains.create("mail.example.com")
    assert isinstance(domain.dns_records, FreeFormDNSRecords)  # the generated union's fallback
    with pytest.raises(UnexpectedResponseError, match="sending_dns_records is missing"):
        dns_records(domain)
