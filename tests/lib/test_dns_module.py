"""`monite_async.lib.dns`: the zone text read back by dnspython's zone parser, and the DNS check
against a real DNS server on loopback (dnslib), under asyncio and trio."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

import anyio
import dns.rdatatype
import dns.zone
import pytest
from loopback_dns import LoopbackDNS, records_of

from monite_async import (
    ConfigurationError,
    DNSLookupError,
    DomainResponse,
    InvalidRequestError,
    MoniteClient,
    UnexpectedResponseError,
)
from monite_async.lib import dns as monite_dns
from monite_async.testing import FakeMonite

DOMAIN = "mail.example.com"
DKIM_400 = "k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "x" * (400 - 53)


def record(kind: str, value: str, name: str | None = None, purpose: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"is_active": True, "record_type": kind, "valid": "unknown", "value": value}
    if name is not None:
        data["name"] = name
    if purpose is not None:
        data["record_purpose"] = purpose
    return data


def domain_json(sending: list[dict[str, Any]], receiving: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "domain": DOMAIN,
        "status": "waiting_to_be_verified",
        "dns_records": {"sending_dns_records": sending, "receiving_dns_records": receiving},
    }


TRICKY = domain_json(
    [
        record("TXT", "v=spf1 include:mailgun.org ~all", DOMAIN, "SPF"),
        record("TXT", DKIM_400, f"mx._domainkey.{DOMAIN}", "DKIM"),
        record("TXT", 'say "hi"; then \\ leave; caf\u00e9', f"quotes.{DOMAIN}"),
        record("TXT", "relative name", "rel"),
        record("CNAME", "mailgun.org", f"email.{DOMAIN}"),
    ],
    [record("MX", "10 mxa.mailgun.org", DOMAIN), record("MX", "mxb.mailgun.org", DOMAIN)],
)


def parsed(text: str) -> set[tuple[str, str, str]]:
    """(name, type, value) of every record dnspython's zone parser reads from `text`."""
    zone = dns.zone.from_text(text, origin=DOMAIN, relativize=False, check_origin=False)
    found: set[tuple[str, str, str]] = set()
    for name, rdataset in zone.iterate_rdatasets():
        assert rdataset.ttl == 3600
        for rdata in rdataset:
            kind = dns.rdatatype.to_text(rdataset.rdtype)
            if kind == "TXT":
                value = b"".join(rdata.strings).decode()
                assert all(len(s) <= 255 for s in rdata.strings)
            elif kind == "MX":
                value = f"{rdata.preference} {rdata.exchange}"
            else:
                value = str(rdata)
            found.add((str(name), kind, value))
    return found


def test_zone_text_reads_back_to_exactly_the_records_monite_returned() -> None:
    text = monite_dns.zone_text(DomainResponse.from_dict(TRICKY))

    assert parsed(text) == {
        (f"{DOMAIN}.", "TXT", "v=spf1 include:mailgun.org ~all"),
        (f"mx._domainkey.{DOMAIN}.", "TXT", DKIM_400),
        (f"quotes.{DOMAIN}.", "TXT", 'say "hi"; then \\ leave; caf\u00e9'),
        (f"rel.{DOMAIN}.", "TXT", "relative name"),
        (f"email.{DOMAIN}.", "CNAME", "mailgun.org."),
        (f"{DOMAIN}.", "MX", "10 mxa.mailgun.org."),
        (f"{DOMAIN}.", "MX", "10 mxb.mailgun.org."),
    }
    lines = text.splitlines()
    dkim = next(line for line in lines if line.startswith("mx._domainkey."))
    assert dkim.split("\t")[:4] == [f"mx._domainkey.{DOMAIN}.", "3600", "IN", "TXT"]
    assert dkim.count('" "') == 1  # 400 bytes: two strings
    assert f"; Monite's MX value for {DOMAIN}. names no preference: 10 is this SDK's choice" in lines
    assert sum(1 for line in lines if not line.startswith(";")) == 7


def test_zone_text_of_the_fakes_domain_and_its_ttl() -> None:
    fake = FakeMonite()
    created = anyio.run(create_in_fake, fake, DOMAIN)
    text = monite_dns.zone_text(created, ttl=300)
    zone = dns.zone.from_text(text, origin=DOMAIN, relativize=False, check_origin=False)
    assert {rdataset.ttl for _, rdataset in zone.iterate_rdatasets()} == {300}
    assert {(n, k, v) for n, k, v in records_of(fake.domains[0]) if k == "TXT"} <= parsed(
        text.replace("\t300\t", "\t3600\t")
    )
    with pytest.raises(InvalidRequestError, match="ttl must be an int"):
        monite_dns.zone_text(created, ttl=-1)


def test_zone_text_refuses_free_form_records() -> None:
    free = {**TRICKY, "dns_records": {"something": "else"}}
    with pytest.raises(UnexpectedResponseError, match="do not have the documented shape"):
        monite_dns.zone_text(DomainResponse.from_dict(free))


async def create_in_fake(fake: FakeMonite, name: str) -> DomainResponse:
    async with MoniteClient(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        base_url=fake.base_url,
        transport=fake.transport(),
    ) as monite:
        return await monite.mailbox_domains.create(name)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_check_against_a_loopback_dns_server(backend: str) -> None:
    fake = FakeMonite()
    created = anyio.run(create_in_fake, fake, DOMAIN)
    served = list(records_of(fake.domains[0]))
    spf, dkim, _cname, mxa, mxb = served
    with LoopbackDNS() as server:
        for name, kind, value in (spf, mxa, mxb):  # the CNAME is missing
            server.add(name, kind, value)
        server.add(dkim[0], "TXT", "k=rsa; p=an-old-key")  # the DKIM key differs
        server.add(spf[0], "TXT", "google-site-verification=abc")  # another TXT at the name: fine
        server.add(mxb[0], "MX", "20 backup.example.net")  # another MX: fine
        result = anyio.run(_check, created, server.address, backend=backend)

    states = [(item.record.record_type.value, item.state) for item in result.records]
    assert states == [("TXT", "ok"), ("TXT", "different"), ("CNAME", "missing"), ("MX", "ok"), ("MX", "ok")]
    assert result.records[1].found == '"k=rsa; p=an-old-key"'
    assert result.ok is False
    assert result.records[2].found is None
    assert result.records[2].name == f"email.{DOMAIN}."


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_check_reports_different_with_what_dns_has(backend: str) -> None:
    created = DomainResponse.from_dict(TRICKY)
    with LoopbackDNS() as server:
        server.add(DOMAIN, "TXT", "v=spf1 include:mailgun.org ~all")
        server.add(f"mx._domainkey.{DOMAIN}", "TXT", DKIM_400)
        server.add(f"quotes.{DOMAIN}", "TXT", "something else")
        server.add(f"rel.{DOMAIN}", "TXT", "relative name")
        server.add(f"EMAIL.{DOMAIN}", "CNAME", "MAILGUN.org.")  # case and dot ignored
        server.add(DOMAIN, "MX", "20 mxa.mailgun.org")  # wrong preference
        server.add(DOMAIN, "MX", "30 mxb.mailgun.org")  # Monite named none: any preference
        result = anyio.run(_check, created, server.address, backend=backend)

    assert [item.state for item in result.records] == [
        "ok",
        "ok",
        "different",
        "ok",
        "ok",
        "different",
        "ok",
    ]
    assert result.records[2].found == '"something else"'
    assert result.records[5].found is not None
    assert "20 mxa.mailgun.org." in result.records[5].found
    assert not result.ok


def test_check_is_ok_when_everything_is_published() -> None:
    created = DomainResponse.from_dict(TRICKY)
    with LoopbackDNS() as server:
        for name, kind, value in records_of(TRICKY):
            server.add(name, kind, value)
        result = anyio.run(_check, created, server.address)
    assert result.ok
    assert all(item.found for item in result.records)


async def _check(domain: DomainResponse, nameserver: str) -> monite_dns.DnsCheck:
    return await monite_dns.check(domain, nameserver=nameserver, timeout=2.0)


def test_a_nameserver_that_never_answers_is_a_dns_lookup_error() -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # bound, never read
        silent.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        created = DomainResponse.from_dict(TRICKY)
        with pytest.raises(DNSLookupError, match=r"DNS lookup of .* failed"):
            anyio.run(lambda: monite_dns.check(created, nameserver=address, timeout=0.3))


@pytest.mark.parametrize("nameserver", ["ns1.example.com", "127.0.0.1:0", "127.0.0.1:x", "[::1]:99999"])
def test_a_bad_nameserver_is_a_configuration_error(nameserver: str) -> None:
    created = DomainResponse.from_dict(TRICKY)
    with pytest.raises(ConfigurationError, match="nameserver must be an IP address"):
        anyio.run(lambda: monite_dns.check(created, nameserver=nameserver))


def test_without_dnspython_check_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dns.asyncresolver", None)
    created = DomainResponse.from_dict(TRICKY)
    with pytest.raises(ConfigurationError, match=r"the 'dns' extra: pip install '\.\[dns\]' from a checkout"):
        anyio.run(lambda: monite_dns.check(created))


def test_import_monite_async_does_not_import_dnspython() -> None:
    code = (
        "import sys, monite_async, monite_async.lib.dns\n"
        "print(sorted(m for m in sys.modules if m == 'dns' or m.startswith('dns.')))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
