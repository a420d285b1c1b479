"""`monite-async`: the mailbox-domain workflow from a shell (needs the `cli` extra: click).

    monite-async domains create mail.example.com --format zone > mail.example.com.zone
    monite-async domains check mail.example.com        # needs the `dns` extra too
    monite-async domains verify mail.example.com --wait

`python -m monite_async` is the same program. Credentials come from MONITE_CLIENT_ID and
MONITE_CLIENT_SECRET only: a command line is visible to every user of the machine, so no
option takes them. Results go to stdout (`--json`: one JSON document; accepted before the
command as well, `monite-async --json domains list`), progress and logs to stderr.

Exit codes: 0 done; 1 the thing did not hold (a record missing or different, the domain
not verified (before the timeout, with `--wait`), a prompt declined); 2 a usage error,
nothing sent (click's own, an unknown or malformed DOMAIN, credentials not in the
environment, an option the client refuses, `delete` off a terminal without `--yes`, the
`cli` or `dns` extra missing); 3 Monite, the network or DNS failed (a MoniteError: one
line with its request id on stderr, no traceback); 4 `create`: the domain already exists
(Monite answered 409; `records DOMAIN` shows it); 130 interrupted.

Each command runs one blocking `MoniteSyncClient` (it was the async client under
`anyio.run`): a command is one call after another, so plain functions read simplest, with
no coroutine wrapper per command, no task group for the live line of `verify --wait` (a
daemon thread redraws it) and no event loop held up by `delete`'s prompt. `check` alone
runs an event loop, around `monite_async.dns.check` (dnspython's async resolver) and not
around the client: still one client per command.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import anyio
import click
from monite_generated.models import DNSRecord, DomainResponse, VerifyResponse

from .._client import MoniteSyncClient
from .._defaults import DEFAULT_BASE_URL
from .._errors import (
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    MoniteError,
    VerificationTimeoutError,
)
from .._flow.versioning import API_VERSION
from .._version import __version__
from ..resources.dns_records import dns_records
from . import dns as monite_dns

__all__ = ["EXIT_EXISTS", "EXIT_FAILED", "EXIT_NOT_HELD", "EXIT_OK", "EXIT_USAGE", "cli", "main"]

EXIT_OK = 0
EXIT_NOT_HELD = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
# Not a failure of Monite or the network: a script creating a domain it may have created
# before tells this apart from 3 without reading stderr.
EXIT_EXISTS = 4
_EXIT_INTERRUPTED = 130
_VALUE_WIDTH = 60  # characters of a record's value in a table; --json and zone have it all
_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True)
class _Settings:
    base_url: str
    api_version: str
    as_json: bool = False  # `--json` given before the command (on `monite-async` or `domains`)


def _wants_json(ctx: click.Context, as_json: bool) -> bool:
    """`--json` given on the command itself or on a group before it."""
    settings = ctx.find_object(_Settings)
    return as_json or (settings is not None and settings.as_json)


def _run(ctx: click.Context, work: Callable[[MoniteSyncClient], _T], *, exists: str | None = None) -> _T:
    """Run `work` with a client; a MoniteError exits in one line: 2 when what the user gave
    cannot work (nothing was sent), 3 when Monite or the network failed; with `exists` (the
    hint to print), a 409 Conflict exits 4: what was to be created is there already."""
    settings = ctx.find_object(_Settings)
    assert settings is not None  # set by `cli`, the group every command is under
    if not (os.environ.get("MONITE_CLIENT_ID") and os.environ.get("MONITE_CLIENT_SECRET")):
        # The library's own text names client_id=/token= arguments this command does not have.
        raise click.UsageError(
            "set MONITE_CLIENT_ID and MONITE_CLIENT_SECRET (no option takes them: a command "
            "line is visible to every user of the machine)",
            ctx=ctx,
        )
    try:
        with MoniteSyncClient(base_url=settings.base_url, api_version=settings.api_version) as monite:
            return work(monite)
    except MoniteError as exc:
        line = f"monite-async: error: {type(exc).__name__}: {exc}"
        if exc.request_id is None:
            line += " (no request id)"
        click.echo(line, err=True)
        if exists is not None and isinstance(exc, ConflictError):
            click.echo(f"monite-async: {exists}", err=True)
            ctx.exit(EXIT_EXISTS)
        ctx.exit(EXIT_USAGE if isinstance(exc, ConfigurationError | InvalidRequestError) else EXIT_FAILED)
    except KeyboardInterrupt:
        click.echo("\nmonite-async: interrupted", err=True)
        ctx.exit(_EXIT_INTERRUPTED)


def _echo_json(document: object) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=False))


def _find(monite: MoniteSyncClient, wanted: str) -> DomainResponse:
    """The domain named `wanted`, or with that id; an unknown one is a usage error."""
    domains = monite.mailbox_domains.list()
    try:
        as_id: uuid.UUID | None = uuid.UUID(wanted)
    except ValueError:
        as_id = None
    name = wanted.rstrip(".").lower()
    for domain in domains:
        if domain.id == as_id or (isinstance(domain.domain, str) and domain.domain.lower() == name):
            return domain
    known = ", ".join(sorted(d.domain for d in domains)) or "none"
    raise click.BadParameter(f"no mailbox domain {wanted!r} (the partner has: {known})", param_hint="DOMAIN")


_JSON = click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--base-url",
    envvar="MONITE_BASE_URL",
    default=DEFAULT_BASE_URL,
    show_default="MONITE_BASE_URL, else the sandbox",
    help="Monite's API base URL, with /v1.",
)
@click.option("--api-version", default=API_VERSION, show_default=True, help="The x-monite-version to send.")
@_JSON
@click.version_option(__version__, prog_name="monite-async")
@click.pass_context
def cli(ctx: click.Context, base_url: str, api_version: str, as_json: bool) -> None:
    """Monite's mailbox domains from a shell.

    Credentials come from MONITE_CLIENT_ID and MONITE_CLIENT_SECRET (never from the command
    line). `--json` works here, after `domains` or after the command.

    \b
    Exit codes:
      0  done
      1  it did not hold (a record missing, not verified, a prompt declined)
      2  usage error, nothing sent
      3  Monite, the network or DNS failed
      4  `domains create`: the domain already exists
    """
    ctx.obj = _Settings(base_url=base_url, api_version=api_version, as_json=as_json)


@cli.group()
@_JSON
@click.pass_context
def domains(ctx: click.Context, as_json: bool) -> None:
    """Create, inspect, check, verify and delete mailbox domains. DOMAIN is a name or an id."""
    if as_json:
        settings = ctx.find_object(_Settings)
        assert settings is not None  # set by `cli`, the group above
        ctx.obj = dataclasses.replace(settings, as_json=True)


# ---- list, create, records ---------------------------------------------------------------


@domains.command("list")
@_JSON
@click.pass_context
def list_domains(ctx: click.Context, as_json: bool) -> None:
    """The partner's mailbox domains."""
    found = _run(ctx, lambda monite: monite.mailbox_domains.list())
    if _wants_json(ctx, as_json):
        _echo_json({"data": [domain.to_dict() for domain in found]})
        return
    rows = [("DOMAIN", "STATUS", "ID")] + [(d.domain, d.status, str(d.id)) for d in found]
    click.echo(_table(rows))


_FORMAT = click.option(
    "--format",
    "output",
    type=click.Choice(["table", "zone", "json"]),
    default="table",
    show_default=True,
    help="table: for reading; zone: lines for a BIND zone file; json: Monite's DomainResponse.",
)
_FORMAT_JSON = click.option("--json", "as_json", is_flag=True, help="The same as --format json.")


def _output(ctx: click.Context, output: str, as_json: bool) -> str:
    """--format, where --json (here or before the command) means json; a --format given
    explicitly that says otherwise is a usage error."""
    if not _wants_json(ctx, as_json) or output == "json":
        return output
    if ctx.get_parameter_source("output") is click.core.ParameterSource.DEFAULT:
        return "json"
    raise click.UsageError(f"--json and --format {output} ask for different outputs", ctx=ctx)


@domains.command()
@click.argument("domain")
@_FORMAT
@_FORMAT_JSON
@click.pass_context
def create(ctx: click.Context, domain: str, output: str, as_json: bool) -> None:
    """Create the mailbox domain DOMAIN (a name) and show the DNS records to publish.

    Exits 4 when the partner has DOMAIN already (`records DOMAIN` shows it)."""
    output = _output(ctx, output, as_json)
    created = _run(
        ctx,
        lambda monite: monite.mailbox_domains.create(domain),
        exists=f"{domain} already exists: `monite-async domains records {domain}` shows its records",
    )
    click.echo(f"created {created.domain} (id {created.id}, status {created.status})", err=True)
    _show_records(created, output)


@domains.command()
@click.argument("domain")
@_FORMAT
@_FORMAT_JSON
@click.pass_context
def records(ctx: click.Context, domain: str, output: str, as_json: bool) -> None:
    """The DNS records Monite asks to publish for DOMAIN."""
    output = _output(ctx, output, as_json)
    _show_records(_run(ctx, lambda monite: _find(monite, domain)), output)


def _show_records(domain: DomainResponse, output: str) -> None:
    if output == "json":
        _echo_json(domain.to_dict())
    elif output == "zone":
        click.echo(monite_dns.zone_text(domain), nl=False)
    else:
        rows = [("TYPE", "NAME", "PURPOSE", "VALUE")]
        rows += [
            (_kind(record), monite_dns.fqdn(record.name, domain.domain), purpose, _short(record.value))
            for purpose, record in _each_record(domain)
        ]
        click.echo(_table(rows))


def _each_record(domain: DomainResponse) -> list[tuple[str, DNSRecord]]:
    both = dns_records(domain)
    return [(_purpose(r, "sending"), r) for r in both.sending_dns_records] + [
        (_purpose(r, "receiving"), r) for r in both.receiving_dns_records
    ]


def _purpose(record: DNSRecord, default: str) -> str:
    purpose = record.record_purpose
    if isinstance(purpose, str):
        return str(getattr(purpose, "value", purpose))
    return "tracking" if _kind(record) == "CNAME" else default


def _kind(record: DNSRecord) -> str:
    return str(record.record_type.value)


def _short(value: str) -> str:
    return value if len(value) <= _VALUE_WIDTH else value[: _VALUE_WIDTH - 3] + "..."


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    """Aligned columns, two spaces apart; the last column is not padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    )


# ---- check --------------------------------------------------------------------------------


@domains.command()
@click.argument("domain")
@click.option(
    "--nameserver",
    envvar="MONITE_DNS_NAMESERVER",
    metavar="HOST[:PORT]",
    help="Ask this DNS server (an IP address) instead of the system's resolvers; "
    "default MONITE_DNS_NAMESERVER.",
)
@_JSON
@click.pass_context
def check(ctx: click.Context, domain: str, nameserver: str | None, as_json: bool) -> None:
    """Look DOMAIN's records up in DNS: exit 0 when all are published, 1 when not."""

    def work(monite: MoniteSyncClient) -> monite_dns.DnsCheck:
        found = _find(monite, domain)  # dnspython's resolver is async: one event loop for DNS
        return anyio.run(lambda: monite_dns.check(found, nameserver=nameserver))

    result = _run(ctx, work)
    if _wants_json(ctx, as_json):
        _echo_json(
            {"domain": result.domain, "ok": result.ok, "records": [_check_json(r) for r in result.records]}
        )
    else:
        click.echo(_check_table(result))
    ctx.exit(EXIT_OK if result.ok else EXIT_NOT_HELD)


def _check_json(item: monite_dns.RecordCheck) -> dict[str, Any]:
    return {
        "type": _kind(item.record),
        "name": item.name,
        "value": item.record.value,
        "state": item.state,
        "found": item.found,
    }


def _check_table(result: monite_dns.DnsCheck) -> str:
    rows = [("STATE", "TYPE", "NAME", "VALUE")]
    for item in result.records:
        value = _short(item.record.value)
        if item.state == "different":
            value += f"   DNS has: {_short(item.found or '')}"
        rows.append((item.state, _kind(item.record), item.name, value))
    states = [item.state for item in result.records]
    summary = f"{states.count('ok')} of {len(states)} records published"
    problems = [f"{states.count(s)} {s}" for s in ("missing", "different") if s in states]
    return _table(rows) + "\n" + summary + (f"; {', '.join(problems)}" if problems else "")


# ---- verify, delete -----------------------------------------------------------------------


@domains.command()
@click.argument("domain")
@click.option("--wait", is_flag=True, help="Verify again and again until verified (or --timeout).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=600.0,
    show_default=True,
    help="Seconds to keep checking (with --wait).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    default=15.0,
    show_default=True,
    help="Seconds before the second check; later waits grow x1.5, up to 4x (at most 60 s).",
)
@_JSON
@click.pass_context
def verify(
    ctx: click.Context, domain: str, wait: bool, timeout: float, interval: float, as_json: bool
) -> None:
    """Ask Monite to verify DOMAIN: exit 0 when verified, 1 when not (yet)."""
    started = time.monotonic()
    progress = _Progress(started, live=sys.stderr.isatty())

    def work(monite: MoniteSyncClient) -> tuple[str, str, str, int]:
        found = _find(monite, domain)
        if not wait:
            answer = monite.mailbox_domains.verify(found.id)
            return str(found.id), found.domain, answer.status, 1
        try:
            answer = progress.around(
                lambda: monite.mailbox_domains.wait_until_verified(
                    found.id, timeout=timeout, interval=interval, on_check=progress.checked
                )
            )
        except VerificationTimeoutError as exc:
            return str(found.id), found.domain, exc.last_status, exc.checks
        return str(found.id), found.domain, answer.status, progress.checks

    domain_id, name, status, checks = _run(ctx, work)
    verified = status == "verified"
    elapsed = time.monotonic() - started
    if _wants_json(ctx, as_json):
        document = {"id": domain_id, "domain": name, "status": status, "verified": verified, "checks": checks}
        _echo_json(document | {"elapsed": round(elapsed, 3)})
    elif verified:
        click.echo(f"{name}: verified ({checks} check{'s' if checks != 1 else ''}, {elapsed:.0f} s)")
    else:
        limit = f" within {timeout:g} s" if wait else ""
        click.echo(f"{name}: not verified{limit}; last status {status} after {checks} check(s)")
    ctx.exit(EXIT_OK if verified else EXIT_NOT_HELD)


class _Progress:
    """What `verify --wait` shows on stderr: a live line on a terminal, else a line per check."""

    def __init__(self, started: float, *, live: bool) -> None:
        self.started = started
        self.live = live
        self.checks = 0
        self.status = "not checked yet"

    def checked(self, checks: int, answer: VerifyResponse) -> None:
        self.checks, self.status = checks, answer.status
        if self.live:
            self._draw()
        else:
            click.echo(f"check {checks} at {self._elapsed():.0f} s: {answer.status}", err=True)

    def around(self, waiting: Callable[[], _T]) -> _T:
        if not self.live:
            return waiting()
        done = threading.Event()
        ticker = threading.Thread(target=self._tick, args=(done,), daemon=True)
        ticker.start()
        try:
            return waiting()
        finally:
            done.set()
            ticker.join()
            self._draw()  # the last state, whatever the ticker drew last
            click.echo("", err=True)  # end the live line

    def _tick(self, done: threading.Event) -> None:
        while not done.wait(0.5):  # the wait itself is bounded by --timeout
            self._draw()

    def _elapsed(self) -> float:
        return time.monotonic() - self.started

    def _draw(self) -> None:
        line = f"waiting for verification: {self._elapsed():.0f} s, {self.checks} check(s), "
        click.echo(f"\r\x1b[K{line}last status {self.status}", nl=False, err=True)


@domains.command()
@click.argument("domain")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (required off a terminal).")
@_JSON
@click.pass_context
def delete(ctx: click.Context, domain: str, yes: bool, as_json: bool) -> None:
    """Delete the mailbox domain DOMAIN (asks first, on a terminal)."""
    if not yes and not (sys.stdin is not None and sys.stdin.isatty()):
        raise click.UsageError("not on a terminal: pass --yes to delete without a prompt", ctx=ctx)

    def work(monite: MoniteSyncClient) -> DomainResponse:
        found = _find(monite, domain)
        if not yes:
            click.confirm(f"Delete the mailbox domain {found.domain} ({found.id})?", abort=True, err=True)
        monite.mailbox_domains.delete(found.id)
        return found

    found = _run(ctx, work)
    if _wants_json(ctx, as_json):
        _echo_json({"id": str(found.id), "domain": found.domain, "deleted": True})
    else:
        click.echo(f"deleted {found.domain} ({found.id})")


def main(argv: list[str] | None = None) -> None:
    """Run the command and exit with its code (click handles usage errors: exit 2)."""
    cli.main(args=argv, prog_name="monite-async")
