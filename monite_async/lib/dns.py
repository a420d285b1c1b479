"""A mailbox domain's DNS records as a zone file, and a check of what DNS has published.

    from monite_async import dns

    print(dns.zone_text(domain))           # paste into a BIND zone file
    result = await dns.check(domain)       # needs the `dns` extra (dnspython)
    for item in result.records:
        print(item.state, item.record.record_type.value, item.record.name, item.found)

`zone_text` needs nothing beyond the SDK. `check` looks the records up with dnspython's
async resolver (installed by the `dns` extra: `pip install '.[dns]'` from a checkout of monite_async), under
asyncio or trio; dnspython is imported only when `check` runs, so `import monite_async`
stays light.

Record names: Monite sends fully qualified names without the trailing dot
(`mx1._domainkey.mail.example.com`). A name that is the domain or ends in it is taken as
it is; any other name (and `@` or a missing name) is taken relative to the domain.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

import anyio
import sniffio
from monite_generated.models import DNSRecord, DomainResponse
from monite_generated.types import Unset

from .._errors import ConfigurationError, DNSLookupError, InvalidRequestError
from ..resources.dns_records import dns_records

if TYPE_CHECKING:
    import dns.asyncresolver

__all__ = ["DEFAULT_MX_PREFERENCE", "DnsCheck", "RecordCheck", "check", "fqdn", "mx_parts", "zone_text"]

DEFAULT_MX_PREFERENCE = 10
"""The MX preference published when Monite's MX value names a host without one."""

State = Literal["ok", "missing", "different"]

_MAX_STRING = 255  # bytes in one <character-string> of a TXT record (RFC 1035)
_MAX_TTL = 2**31 - 1
_NO_DNSPYTHON = (
    "monite_async.dns.check needs dnspython, the 'dns' extra: "
    "pip install '.[dns]' from a checkout of monite_async"
)
_DEFAULT_PREFERENCE_NOTE = (
    "; Monite's MX value for {name} names no preference: {preference} is this SDK's choice"
)


@dataclasses.dataclass(frozen=True, slots=True)
class RecordCheck:
    """What DNS has for one record Monite asked to publish.

    Attributes:
        record: the record, as Monite returned it.
        name: the name looked up, fully qualified with the trailing dot.
        state: `"ok"` (DNS has it), `"missing"` (no record of that type at the name) or
            `"different"` (records of that type are there, none of them this one).
        found: what DNS answered, as zone-file text (several answers joined by `, `; TXT
            values are shown joined and JSON-quoted); None when missing.
    """

    record: DNSRecord
    name: str
    state: State
    found: str | None

    @property
    def ok(self) -> bool:
        return self.state == "ok"


@dataclasses.dataclass(frozen=True, slots=True)
class DnsCheck:
    """The result of `check`: one `RecordCheck` per record, sending records first."""

    domain: str
    records: list[RecordCheck]

    @property
    def ok(self) -> bool:
        """Whether every record is published as Monite asked."""
        return all(item.state == "ok" for item in self.records)


def fqdn(name: str | Unset | None, domain: str) -> str:
    """The fully qualified name, with the trailing dot, of a record of `domain` called `name`."""
    base = domain.rstrip(".").lower()
    if not isinstance(name, str) or name.strip() in ("", "@"):
        return base + "."
    text = name.strip().lower()
    if text.endswith("."):
        return text
    if text == base or text.endswith("." + base):
        return text + "."
    return f"{text}.{base}."


def mx_parts(value: str) -> tuple[int | None, str]:
    """An MX value split into (preference, host with the trailing dot); preference None if absent."""
    parts = value.split()
    if len(parts) == 2 and parts[0].isdigit():
        return int(parts[0]), _absolute(parts[1])
    return None, _absolute(value.strip())


def _absolute(host: str) -> str:
    return host if host.endswith(".") else host + "."


def _records(domain: DomainResponse) -> Iterator[tuple[str, DNSRecord]]:
    records = dns_records(domain)
    for record in records.sending_dns_records:
        yield "sending", record
    for record in records.receiving_dns_records:
        yield "receiving", record


# ---- zone_text -------------------------------------------------------------------------


def zone_text(domain: DomainResponse, *, ttl: int = 3600) -> str:
    """The domain's records as lines for a BIND zone file (fully qualified names).

    One line per record: `NAME TTL IN TYPE DATA`, tab-separated. MX data is `PREFERENCE
    HOST.` (when Monite's value has no preference, `DEFAULT_MX_PREFERENCE`, with a comment
    line saying so); CNAME data is `TARGET.`; TXT data is the value quoted and escaped, in
    strings of at most 255 bytes each (a 2048-bit DKIM key needs two). A record of a type
    this SDK does not know becomes a comment line. Comment lines start with `;`.

    Raises:
        InvalidRequestError: `ttl` is not an int from 0 to 2**31 - 1.
        UnexpectedResponseError: the domain's records do not have the documented shape.
    """
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= _MAX_TTL:
        raise InvalidRequestError(f"ttl must be an int from 0 to {_MAX_TTL} seconds; got {ttl!r}")
    lines = [f"; mailbox domain {domain.domain} (Monite id {domain.id}): the records Monite asks for"]
    section = ""
    for kind, record in _records(domain):
        if kind != section:
            section = kind
            lines.append(f"; {kind}")
        lines.extend(_zone_lines(record, domain.domain, ttl))
    return "\n".join(lines) + "\n"


def _zone_lines(record: DNSRecord, domain: str, ttl: int) -> list[str]:
    name = fqdn(record.name, domain)
    kind = str(record.record_type.value)
    lines: list[str] = []
    if kind == "TXT":
        data = " ".join(_txt_strings(record.value))
    elif kind == "MX":
        preference, host = mx_parts(record.value)
        if preference is None:
            preference = DEFAULT_MX_PREFERENCE
            lines.append(_DEFAULT_PREFERENCE_NOTE.format(name=name, preference=preference))
        data = f"{preference} {host}"
    elif kind == "CNAME":
        data = _absolute(record.value.strip())
    else:
        return [f"; a {kind} record this SDK does not know, at {name}: {json.dumps(record.value)}"]
    lines.append(f"{name}\t{ttl}\tIN\t{kind}\t{data}")
    return lines


def _txt_strings(value: str) -> list[str]:
    """`value` as quoted zone-file strings of at most 255 bytes, never splitting an escape."""
    data = value.encode("utf-8")
    chunks = [data[i : i + _MAX_STRING] for i in range(0, len(data), _MAX_STRING)] or [b""]
    return ['"' + "".join(_escape(byte) for byte in chunk) + '"' for chunk in chunks]


def _escape(byte: int) -> str:
    if byte in (0x22, 0x5C):  # " and \
        return "\\" + chr(byte)
    if 0x20 <= byte < 0x7F:
        return chr(byte)
    return f"\\{byte:03d}"


# ---- check -----------------------------------------------------------------------------


async def check(
    domain: DomainResponse,
    *,
    nameserver: str | None = None,
    timeout: float = 5.0,  # noqa: ASYNC109 - dnspython's own per-lookup lifetime, not a cancel scope
) -> DnsCheck:
    """Look up each of the domain's records in DNS and say which are published.

    `nameserver` is an IP address, optionally with a port (`192.0.2.53`, `192.0.2.53:5353`,
    `[2001:db8::53]:53`); None uses the system's resolvers. `timeout` bounds each lookup,
    in seconds. Matching: TXT when one TXT record at the name equals the value (its strings
    joined); MX by host and preference (host only when Monite's value has no preference);
    CNAME by target. Names and hosts compare without case and trailing dot.

    Raises:
        ConfigurationError: dnspython is not installed (the `dns` extra), or a bad
            `nameserver` or `timeout`.
        DNSLookupError: a lookup got no answer at all (timeout, no nameserver answered).
        UnexpectedResponseError: the domain's records do not have the documented shape.
    """
    resolver = _resolver(nameserver, timeout)
    records = [record for _, record in _records(domain)]
    results: list[RecordCheck | None] = [None] * len(records)
    failures: list[DNSLookupError] = []

    async def one(index: int, record: DNSRecord) -> None:
        try:
            results[index] = await _check_record(resolver, record, domain.domain)
        except DNSLookupError as exc:  # raised alone below, not in an exception group
            failures.append(exc)

    async with anyio.create_task_group() as group:
        for index, record in enumerate(records):
            group.start_soon(one, index, record)
    if failures:
        raise failures[0]
    return DnsCheck(domain=domain.domain, records=[item for item in results if item is not None])


def _resolver(nameserver: str | None, timeout: float) -> dns.asyncresolver.Resolver:
    try:
        import dns.asyncresolver
    except ImportError:
        raise ConfigurationError(_NO_DNSPYTHON) from None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < 3600:
        raise ConfigurationError(
            f"timeout must be a number of seconds above 0 and below 3600; got {timeout!r}"
        )
    if nameserver is None:
        resolver = dns.asyncresolver.Resolver()
    else:
        host, port = _nameserver(nameserver)
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [host]
        resolver.port = port
    resolver.timeout = resolver.lifetime = float(timeout)
    resolver.cache = None
    return resolver


def _nameserver(text: str) -> tuple[str, int]:
    host, port = text.strip(), "53"
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        port = rest.removeprefix(":") or port
    elif host.count(":") == 1:
        host, port = host.split(":")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        number = -1
    if not 0 < number < 65536:
        raise ConfigurationError(
            f"nameserver must be an IP address, optionally with :PORT (such as 127.0.0.1:5353); got {text!r}"
        )
    return host, number


async def _check_record(resolver: dns.asyncresolver.Resolver, record: DNSRecord, domain: str) -> RecordCheck:
    import dns.asyncbackend
    import dns.exception
    import dns.rdatatype
    import dns.resolver

    name = fqdn(record.name, domain)
    kind = str(record.record_type.value)
    # dnspython remembers the first event loop library it met; name the running one.
    backend = dns.asyncbackend.get_backend(sniffio.current_async_library())
    try:
        answer = await resolver.resolve(name, kind, search=False, backend=backend)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return RecordCheck(record=record, name=name, state="missing", found=None)
    except dns.rdatatype.UnknownRdatatype:
        return RecordCheck(record=record, name=name, state="missing", found=None)
    except dns.exception.DNSException as exc:  # no answer at all, or a name DNS cannot carry
        raise DNSLookupError(f"DNS lookup of {name} {kind} failed: {exc}") from None
    found = [rdata for rdata in answer]
    matched = any(_matches(kind, record.value, rdata) for rdata in found)
    return RecordCheck(
        record=record, name=name, state="ok" if matched else "different", found=_found_text(kind, found)
    )


def _matches(kind: str, value: str, rdata: object) -> bool:
    if kind == "TXT":
        return _txt_value(rdata) == value
    if kind == "MX":
        preference, host = mx_parts(value)
        got_host = str(getattr(rdata, "exchange", "")).lower()
        same_preference = preference is None or getattr(rdata, "preference", None) == preference
        return same_preference and got_host == host.lower()
    if kind == "CNAME":
        return str(getattr(rdata, "target", "")).lower() == _absolute(value.strip()).lower()
    return str(rdata).rstrip(".").lower() == value.strip().rstrip(".").lower()


def _txt_value(rdata: object) -> str:
    strings: tuple[bytes, ...] = getattr(rdata, "strings", ())
    return b"".join(strings).decode("utf-8", errors="replace")


def _found_text(kind: str, found: list[object]) -> str:
    if kind == "TXT":
        return ", ".join(json.dumps(_txt_value(rdata)) for rdata in found)
    return ", ".join(str(rdata) for rdata in found)
