"""A real DNS server on 127.0.0.1 (an ephemeral UDP port), serving a zone a test writes.

dnslib's `DNSServer` in a background thread, answering from a dict that the test may change
while it runs:

    with LoopbackDNS() as server:
        server.add("mail.example.com", "TXT", "v=spf1 -all")
        result = await monite_async.lib.dns.check(domain, nameserver=server.address)

Names not in the zone get NXDOMAIN; a name there without the asked type gets an empty
NOERROR answer (what dnspython calls NoAnswer). `publish(domain_json)` adds every record a
Monite `DomainResponse` (as JSON) asks for, exactly as Monite sent it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from dnslib import CNAME, MX, QTYPE, RCODE, RR, TXT, DNSRecord
from dnslib.server import BaseResolver, DNSServer

from monite_async.lib.dns import fqdn, mx_parts

__all__ = ["LoopbackDNS"]

_TTL = 300


class _Quiet:
    """dnslib's logger interface, saying nothing (pytest output stays clean)."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


class _ZoneResolver(BaseResolver):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.zone: dict[str, list[RR]] = {}
        self.queries: list[tuple[str, str]] = []

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).lower()
        kind = QTYPE[request.q.qtype]
        with self.lock:
            self.queries.append((name, kind))
            records = list(self.zone.get(name, []))
        if not records:
            reply.header.rcode = RCODE.NXDOMAIN
        for record in records:
            if QTYPE[record.rtype] == kind:
                reply.add_answer(record)
        return reply


class LoopbackDNS:
    """A UDP DNS server on 127.0.0.1; `address` is `127.0.0.1:PORT` for `--nameserver`."""

    def __init__(self) -> None:
        self._resolver = _ZoneResolver()
        self._server = DNSServer(self._resolver, address="127.0.0.1", port=0, logger=_Quiet())

    @property
    def address(self) -> str:
        host, port = self._server.server.server_address[:2]
        return f"{host}:{port}"

    @property
    def queries(self) -> list[tuple[str, str]]:
        with self._resolver.lock:
            return list(self._resolver.queries)

    def add(self, name: str, kind: str, value: str) -> None:
        """Serve one record: TXT `value` (split into 255-byte strings), MX `PREF HOST`, CNAME `HOST`."""
        owner = name if name.endswith(".") else name + "."
        if kind == "TXT":
            data = value.encode()
            rdata: Any = TXT([data[i : i + 255] for i in range(0, len(data), 255)] or [b""])
        elif kind == "MX":
            preference, host = mx_parts(value)
            rdata = MX(host, 10 if preference is None else preference)
        elif kind == "CNAME":
            rdata = CNAME(value if value.endswith(".") else value + ".")
        else:
            raise ValueError(f"the loopback zone serves TXT, MX and CNAME, not {kind}")
        record = RR(owner, getattr(QTYPE, kind), rdata=rdata, ttl=_TTL)
        with self._resolver.lock:
            self._resolver.zone.setdefault(owner.lower(), []).append(record)

    def publish(self, domain: dict[str, Any]) -> None:
        """Serve every record of a `DomainResponse` JSON, as Monite sent it."""
        for name, kind, value in records_of(domain):
            self.add(name, kind, value)

    def __enter__(self) -> LoopbackDNS:
        self._thread = threading.Thread(
            target=self._server.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.server.shutdown()
        self._server.server.server_close()
        self._thread.join(timeout=5)


def records_of(domain: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(fully qualified name, type, value) of every record of a `DomainResponse` JSON."""
    records = domain["dns_records"]
    for record in [*records["sending_dns_records"], *records["receiving_dns_records"]]:
        yield fqdn(record.get("name"), domain["domain"]), record["record_type"], record["value"]
