"""`make demo`: the SDK's main job, end to end, in a dozen lines of output.

    python -m monite_async.demo

With no MONITE_CLIENT_ID / MONITE_CLIENT_SECRET in the environment, it starts the fake
Monite (`monite_async.testing`, needs the `testing` extra) on a loopback port, and on the
way scripts one HTTP 500 and one expired token so the log shows a retry and a token
refresh. With both set, it runs the same walkthrough against MONITE_BASE_URL (default: the
sandbox) without any scripted failure; MONITE_DEMO_DOMAIN names the domain it creates and
deletes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import sys
import textwrap
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from monite_generated.models import DNSRecord, DNSRecords, DomainResponse

from .. import MoniteClient, MoniteError
from .dns import zone_text

if TYPE_CHECKING:
    from ..testing import FakeMonite

_VERIFY_ATTEMPTS = 5
_VERIFY_PAUSE = 0.2  # seconds between verify calls against the fake; Monite needs DNS time


class Demo:
    """One walkthrough: token, create, DNS table and zone text, verify, list, delete."""

    def __init__(self, monite: MoniteClient, *, domain: str, fake: FakeMonite | None) -> None:
        self.monite: MoniteClient = monite
        self.domain: str = domain
        self.fake: FakeMonite | None = fake
        self.step: int = 0

    def say(self, text: str) -> None:
        self.step += 1
        print(f"\n[{self.step}] {text}", flush=True)

    def note(self, text: str) -> None:
        print(f"    {text}", flush=True)

    async def run(self) -> None:
        self.say("Sign in: the first call exchanges the client credentials for a token")
        existing = await self.monite.mailbox_domains.list()
        self.note(f"signed in; the partner has {len(existing)} mailbox domain(s)")
        if self.fake is not None:
            self.note(f"(fake Monite: {self.fake.token_requests} token request so far)")

        self.say(f"Create the mailbox domain {self.domain}")
        created = await self.monite.mailbox_domains.create(self.domain)
        self.note(f"id {created.id}, status {created.status}")

        self.say("Publish these DNS records at your DNS provider")
        print(dns_table(created), flush=True)
        self.note("or, as lines for a BIND zone file (`monite-async domains records DOMAIN --format zone`):")
        print(textwrap.indent(zone_text(created), "    "), end="", flush=True)

        if self.fake is not None:
            self.fake.expire_tokens()
            self.note("(fake Monite: every token issued so far has just expired)")
        self.say("Verify the domain until Monite has seen the records")
        before = self.fake.token_requests if self.fake is not None else 0
        status = await self._verify(created)
        if self.fake is not None and self.fake.token_requests > before:
            refreshes = self.fake.token_requests - before
            self.note(f"the expired token was refused; the SDK refreshed it ({refreshes} new token request)")
        self.note(f"status: {status}")

        if self.fake is not None:
            self.fake.faults.fail_next("get_mailbox_domains", status=500)
            self.note("(fake Monite: the next list call answers HTTP 500)")
        self.say("List the partner's mailbox domains")
        for domain in await self.monite.mailbox_domains.list():
            self.note(f"{domain.domain:<40} {domain.status:<24} {domain.id}")

        self.say(f"Delete {self.domain}")
        await self.monite.mailbox_domains.delete(created.id)
        self.note("deleted")

    async def _verify(self, created: DomainResponse) -> str:
        status = created.status
        for attempt in range(1, _VERIFY_ATTEMPTS + 1):
            result = await self.monite.mailbox_domains.verify(created.id)
            status = result.status
            self.note(f"check {attempt}: {status}")
            if status == "verified" or self.fake is None:
                # Against the real Monite, DNS takes minutes to hours: one check is the demo.
                break
            await asyncio.sleep(_VERIFY_PAUSE)
        return status


def dns_table(domain: DomainResponse) -> str:
    """The records as aligned columns (TYPE, HOST, PURPOSE, VALUE) to copy into a DNS provider.

    VALUE comes last: a DKIM key is long, and nothing after it needs lining up.
    """
    rows = [("TYPE", "HOST", "PURPOSE", "VALUE")]
    records = domain.dns_records
    if not isinstance(records, DNSRecords):
        return "    (Monite sent DNS records in a shape this SDK does not know)"
    for record in records.sending_dns_records:
        rows.append(_row(record, domain.domain, default_purpose="sending"))
    for record in records.receiving_dns_records:
        rows.append(_row(record, domain.domain, default_purpose="receiving"))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(
        "    "
        + "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    )


def _row(record: DNSRecord, domain: str, *, default_purpose: str) -> tuple[str, str, str, str]:
    name = record.name if isinstance(record.name, str) else domain
    purpose: Any = record.record_purpose
    if isinstance(purpose, str):  # a DNSRecordPurpose (a StrEnum), known or not
        label = str(purpose.value if hasattr(purpose, "value") else purpose)
    elif record.record_type.value == "CNAME":
        label = "tracking"
    else:
        label = default_purpose
    return (record.record_type.value, name, label, record.value)


@contextlib.asynccontextmanager
async def _client(fake: FakeMonite | None) -> AsyncIterator[MoniteClient]:
    if fake is None:
        # Credentials and base URL from MONITE_CLIENT_ID, MONITE_CLIENT_SECRET, MONITE_BASE_URL.
        async with MoniteClient() as monite:
            yield monite
        return
    async with (
        fake.serve() as base_url,
        MoniteClient(client_id=fake.client_id, client_secret=fake.client_secret, base_url=base_url) as monite,
    ):
        print(f"Fake Monite listening at {base_url}", flush=True)
        yield monite


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("    log: %(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("monite_async")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


async def _main() -> None:
    fake: FakeMonite | None = None
    if os.environ.get("MONITE_CLIENT_ID") and os.environ.get("MONITE_CLIENT_SECRET"):
        print(f"Running against {os.environ.get('MONITE_BASE_URL') or 'the Monite sandbox'}", flush=True)
        domain = os.environ.get("MONITE_DEMO_DOMAIN") or f"demo-{secrets.token_hex(4)}.example.com"
    else:
        try:
            from ..testing import FakeMonite
        except ImportError as exc:
            raise SystemExit(f"demo failed: {exc}") from None
        print("No MONITE_CLIENT_ID/MONITE_CLIENT_SECRET set: running against the fake Monite", flush=True)
        fake = FakeMonite(verify_after=2)
        domain = "mail.example.com"
    async with _client(fake) as monite:
        await Demo(monite, domain=domain, fake=fake).run()
    print("\nDone.", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; 0 on success, 1 with a one-line reason on failure (no traceback)."""
    del argv  # no options; the environment decides
    _configure_logging()
    try:
        asyncio.run(_main())
    except MoniteError as exc:
        print(f"demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except (OSError, RuntimeError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("demo interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
