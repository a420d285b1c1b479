"""What the fake Monite remembers: issued tokens and mailbox domains with their DNS records."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

WAITING = "waiting_to_be_verified"
VERIFIED = "verified"


@dataclass
class StoredToken:
    """One opaque bearer token, the client it was issued to, and when it stops working (on the
    fake's clock)."""

    expires_at: float
    client_id: str = ""
    revoked: bool = False

    def usable(self, now: float) -> bool:
        return not self.revoked and now < self.expires_at


@dataclass
class Domain:
    """A mailbox domain as the fake stores it; `as_json()` is its `DomainResponse`."""

    name: str
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    status: str = WAITING
    verify_calls: int = 0
    last_updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Stable per domain, so repeated reads show the same records.
    dkim_selector: str = field(default_factory=lambda: "mx" + secrets.token_hex(2))
    dedicated_ip: str = field(default_factory=lambda: f"192.0.2.{secrets.randbelow(254) + 1}")

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "domain": self.name,
            "status": self.status,
            "dedicated_ip": self.dedicated_ip,
            "last_updated_at": self.last_updated_at.isoformat().replace("+00:00", "Z"),
            "dns_records": {
                "sending_dns_records": self._sending_records(),
                "receiving_dns_records": self._receiving_records(),
            },
        }

    def verify_json(self) -> dict[str, Any]:
        return {"id": str(self.id), "domain": self.name, "status": self.status}

    def _valid(self) -> str:
        return "valid" if self.status == VERIFIED else "unknown"

    def _record(
        self, record_type: str, value: str, *, name: str | None, purpose: str | None
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "is_active": True,
            "record_type": record_type,
            "valid": self._valid(),
            "value": value,
        }
        if name is not None:
            record["name"] = name
        if purpose is not None:
            record["record_purpose"] = purpose
        return record

    def _sending_records(self) -> list[dict[str, Any]]:
        return [
            self._record("TXT", "v=spf1 include:mailgun.org ~all", name=self.name, purpose="SPF"),
            self._record(
                "TXT",
                f"k=rsa; p={self._dkim_public_key()}",
                name=f"{self.dkim_selector}._domainkey.{self.name}",
                purpose="DKIM",
            ),
            self._record("CNAME", "mailgun.org", name=f"email.{self.name}", purpose=None),
        ]

    def _receiving_records(self) -> list[dict[str, Any]]:
        return [
            self._record("MX", "10 mxa.mailgun.org", name=self.name, purpose=None),
            self._record("MX", "10 mxb.mailgun.org", name=self.name, purpose=None),
        ]

    def _dkim_public_key(self) -> str:
        # The size of a real 2048-bit RSA key (392 base64 characters, so the TXT value needs
        # two DNS strings) and stable per domain; nothing checks it cryptographically.
        seed = f"{self.id}:{self.name}".encode()
        body = b"".join(hashlib.sha512(seed + bytes([i])).digest() for i in range(5))[:261]
        return _RSA_2048_SPKI_PREFIX + base64.b64encode(body).decode()


# The base64 of the DER header every 2048-bit RSA SubjectPublicKeyInfo starts with.
_RSA_2048_SPKI_PREFIX = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"


@dataclass
class State:
    """Everything the fake serves from; guarded by the owning FakeMonite's lock."""

    tokens: dict[str, StoredToken] = field(default_factory=dict)
    domains: dict[uuid.UUID, Domain] = field(default_factory=dict)
    token_requests: int = 0
    # The rate limit's window per client id, as Monite counts: (start, requests in it). Every
    # token of a client spends one budget; "" is the window of requests no client owns.
    windows: dict[str, tuple[float, int]] = field(default_factory=dict)

    def issue_token(self, *, now: float, lifetime: float, client_id: str) -> str:
        token = secrets.token_urlsafe(32)
        self.tokens[token] = StoredToken(expires_at=now + lifetime, client_id=client_id)
        return token

    def find_domain(self, name: str) -> Domain | None:
        return next((domain for domain in self.domains.values() if domain.name == name), None)
