"""`monite-async` in process (click's runner) against the fake Monite on a loopback port:
every command, every exit code, `--json` as one document on stdout, no credential option."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import click.testing
import dns.zone
import pytest
from loopback_dns import LoopbackDNS, records_of

from monite_async.lib.cli import cli
from monite_async.testing import FakeMonite

DOMAIN = "mail.example.com"


class Shell:
    """The CLI with MONITE_* pointing at one fake."""

    def __init__(self, fake: FakeMonite, base_url: str) -> None:
        self.fake = fake
        self.env = {
            "MONITE_CLIENT_ID": fake.client_id,
            "MONITE_CLIENT_SECRET": fake.client_secret,
            "MONITE_BASE_URL": base_url,
            "MONITE_DNS_NAMESERVER": None,
        }

    def __call__(self, *args: str, input: str | None = None, **env: str | None) -> click.testing.Result:
        runner = click.testing.CliRunner()
        return runner.invoke(cli, list(args), env={**self.env, **env}, input=input, catch_exceptions=False)

    def json(self, *args: str) -> Any:
        result = self(*args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


def comparable(domain: dict[str, Any]) -> dict[str, Any]:
    """A DomainResponse JSON without `last_updated_at` (the SDK writes `+00:00` for `Z`)."""
    return {key: value for key, value in domain.items() if key != "last_updated_at"}


@pytest.fixture
def shell(request: pytest.FixtureRequest) -> Iterator[Shell]:
    marker = request.node.get_closest_marker("fake_monite")
    fake = FakeMonite(**(marker.kwargs if marker else {}))
    with fake.serve_in_thread() as base_url:
        yield Shell(fake, base_url)


def test_create_list_records_in_every_format(shell: Shell) -> None:
    created = shell("domains", "create", DOMAIN)
    assert created.exit_code == 0
    assert created.stderr.startswith(f"created {DOMAIN} (id ")
    header, *rows = created.stdout.splitlines()
    assert header.split() == ["TYPE", "NAME", "PURPOSE", "VALUE"]
    assert [(row.split()[0], row.split()[2]) for row in rows] == [
        ("TXT", "SPF"),
        ("TXT", "DKIM"),
        ("CNAME", "tracking"),
        ("MX", "receiving"),
        ("MX", "receiving"),
    ]

    listed = shell.json("domains", "list", "--json")
    domain_id = listed["data"][0]["id"]
    assert [comparable(d) for d in listed["data"]] == [comparable(d) for d in shell.fake.domains]
    plain = shell("domains", "list")
    assert plain.stdout.splitlines()[1].split() == [DOMAIN, "waiting_to_be_verified", domain_id]

    records = shell.json("domains", "records", DOMAIN, "--format", "json")
    assert comparable(records) == comparable(shell.fake.domains[0])
    by_id = shell("domains", "records", domain_id, "--format", "zone")
    zone = dns.zone.from_text(by_id.stdout, origin=DOMAIN, relativize=False, check_origin=False)
    assert len(list(zone.iterate_rdatas())) == 5
    assert shell("domains", "records", DOMAIN.upper() + ".", "--format", "zone").stdout == by_id.stdout


def test_create_with_json_is_one_document(shell: Shell) -> None:
    result = shell("domains", "create", DOMAIN, "--format", "json")
    assert comparable(json.loads(result.stdout)) == comparable(shell.fake.domains[0])


def test_check_exit_codes_against_a_loopback_dns_server(shell: Shell) -> None:
    shell("domains", "create", DOMAIN)
    records = list(records_of(shell.fake.domains[0]))
    with LoopbackDNS() as server:
        for name, kind, value in records[:2] + records[3:]:  # the CNAME is not published
            server.add(name, kind, value)
        missing = shell("domains", "check", DOMAIN, "--nameserver", server.address)
        assert missing.exit_code == 1
        lines = missing.stdout.splitlines()
        assert [line.split()[0] for line in lines[1:6]] == ["ok", "ok", "missing", "ok", "ok"]
        assert lines[-1] == "4 of 5 records published; 1 missing"

        server.add(records[2][0], "CNAME", "elsewhere.example.net")
        different = shell("domains", "check", DOMAIN, "--json", MONITE_DNS_NAMESERVER=server.address)
        assert different.exit_code == 1
        document = json.loads(different.stdout)
        assert document["ok"] is False
        assert [r["state"] for r in document["records"]] == ["ok", "ok", "different", "ok", "ok"]
        assert document["records"][2]["found"] == "elsewhere.example.net."

    with LoopbackDNS() as server:
        server.publish(shell.fake.domains[0])
        published = shell("domains", "check", DOMAIN, "--nameserver", server.address)
        assert published.exit_code == 0, published.output
        assert published.stdout.splitlines()[-1] == "5 of 5 records published"


def test_check_without_an_answering_dns_server_exits_3(shell: Shell) -> None:
    import socket

    shell("domains", "create", DOMAIN)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        result = shell("domains", "check", DOMAIN, "--nameserver", address)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith("monite-async: error: DNSLookupError: DNS lookup of ")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.fake_monite(verify_after=3)
def test_verify_once_and_with_wait(shell: Shell) -> None:
    shell("domains", "create", DOMAIN)
    once = shell("domains", "verify", DOMAIN)
    assert once.exit_code == 1
    assert once.stdout == f"{DOMAIN}: not verified; last status waiting_to_be_verified after 1 check(s)\n"

    waited = shell("domains", "verify", DOMAIN, "--wait", "--interval", "0.05")
    assert waited.exit_code == 0, waited.output
    assert waited.stdout.startswith(f"{DOMAIN}: verified (2 checks, ")
    assert [line.split(":")[1].strip() for line in waited.stderr.splitlines()] == [
        "waiting_to_be_verified",
        "verified",
    ]
    assert waited.stderr.splitlines()[0].startswith("check 1 at ")

    document = shell.json("domains", "verify", DOMAIN, "--json")
    assert {k: document[k] for k in ("domain", "status", "verified", "checks")} == {
        "domain": DOMAIN,
        "status": "verified",
        "verified": True,
        "checks": 1,
    }


@pytest.mark.fake_monite(verify_after=1000)
def test_verify_wait_timeout_exits_1(shell: Shell) -> None:
    shell("domains", "create", DOMAIN)
    result = shell("domains", "verify", DOMAIN, "--wait", "--timeout", "0.3", "--interval", "0.05", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["verified"] is False
    assert document["status"] == "waiting_to_be_verified"
    assert document["checks"] >= 3
    assert len(result.stderr.splitlines()) == document["checks"]  # one progress line per check

    human = shell("domains", "verify", DOMAIN, "--wait", "--timeout", "0", "--interval", "1")
    assert human.exit_code == 1
    assert human.stdout == (
        f"{DOMAIN}: not verified within 0 s; last status waiting_to_be_verified after 1 check(s)\n"
    )


def test_delete_asks_refuses_or_goes_ahead(shell: Shell) -> None:
    shell("domains", "create", DOMAIN)
    refused = shell("domains", "delete", DOMAIN)  # the runner's stdin is not a terminal
    assert refused.exit_code == 2
    assert "not on a terminal: pass --yes to delete without a prompt" in refused.stderr
    assert len(shell.fake.domains) == 1

    deleted = shell("domains", "delete", DOMAIN, "--yes")
    assert deleted.exit_code == 0
    assert deleted.stdout.startswith(f"deleted {DOMAIN} (")
    assert shell.fake.domains == []


def test_monite_errors_exit_3_in_one_line_with_the_request_id(shell: Shell) -> None:
    shell.fake.faults.fail_next("post_mailbox_domains_id_verify", status=403)
    result = shell("domains", "verify", str(uuid.uuid4()))  # not the partner's: a usage error
    assert result.exit_code == 2
    assert "no mailbox domain" in result.stderr

    shell("domains", "create", DOMAIN)
    result = shell("domains", "verify", DOMAIN)
    assert result.exit_code == 3
    (line,) = result.stderr.splitlines()
    assert line.startswith("monite-async: error: PermissionDeniedError: ")
    assert "HTTP 403, operation post_mailbox_domains_id_verify, request id " in line
    assert "Traceback" not in result.output


def test_creating_a_domain_that_exists_exits_4_not_3(shell: Shell) -> None:
    """3 is "Monite, the network or DNS failed"; a 409 on create is neither: its own code."""
    shell("domains", "create", DOMAIN)
    conflict = shell("domains", "create", DOMAIN, "--format", "json")
    assert conflict.exit_code == 4
    assert conflict.stdout == ""
    error, hint = conflict.stderr.splitlines()
    assert error.startswith("monite-async: error: ConflictError: ")
    assert "request id " in error
    assert hint == (
        f"monite-async: {DOMAIN} already exists: `monite-async domains records {DOMAIN}` shows its records"
    )
    assert "Traceback" not in conflict.output
    # A 409 elsewhere (verify) is still Monite refusing: 3.
    shell.fake.faults.fail_next("post_mailbox_domains_id_verify", status=409)
    assert shell("domains", "verify", DOMAIN).exit_code == 3
    # --help says so, as the README's table does.
    assert "4  `domains create`: the domain already exists" in shell("--help").stdout
    assert "Exits 4 when the partner has DOMAIN already" in shell("domains", "create", "--help").stdout


def test_json_is_accepted_before_and_after_the_command(shell: Shell) -> None:
    created = shell.json("--json", "domains", "create", DOMAIN)
    assert comparable(created) == comparable(shell.fake.domains[0])
    assert shell.json("domains", "create", "other.example.com", "--json")["domain"] == "other.example.com"
    # The same document wherever --json is typed.
    listed = [
        shell.json("--json", "domains", "list"),
        shell.json("domains", "--json", "list"),
        shell.json("domains", "list", "--json"),
    ]
    assert listed[0] == listed[1] == listed[2]
    assert [d["domain"] for d in listed[0]["data"]] == [DOMAIN, "other.example.com"]
    assert shell.json("--json", "domains", "records", DOMAIN) == shell.json(
        "domains", "records", DOMAIN, "--format", "json"
    )
    once = shell("--json", "domains", "verify", DOMAIN)  # not verified yet: exit 1, still JSON
    assert once.exit_code == 1
    assert json.loads(once.stdout)["domain"] == DOMAIN
    # --json and an explicit other --format disagree: a usage error, nothing printed.
    both = shell("--json", "domains", "records", DOMAIN, "--format", "zone")
    assert both.exit_code == 2
    assert "--json and --format zone ask for different outputs" in both.stderr
    assert both.stdout == ""
    deleted = shell.json("domains", "--json", "delete", "other.example.com", "--yes")
    assert deleted == {"id": listed[0]["data"][1]["id"], "domain": "other.example.com", "deleted": True}
    # Without --json anywhere, tables as before.
    assert shell("domains", "list").stdout.split()[:3] == ["DOMAIN", "STATUS", "ID"]


def test_no_credentials_and_no_server(shell: Shell, unused_tcp_port: int) -> None:
    missing = shell("domains", "list", MONITE_CLIENT_ID=None, MONITE_CLIENT_SECRET=None)
    assert missing.exit_code == 2  # a usage error: nothing was sent
    assert "set MONITE_CLIENT_ID and MONITE_CLIENT_SECRET" in missing.stderr
    assert "client_id" not in missing.stderr  # the library's argument names are not the command's
    assert shell.fake.requests == []

    nobody = shell("--base-url", f"http://127.0.0.1:{unused_tcp_port}/v1", "domains", "list", "--json")
    assert nobody.exit_code == 3
    assert nobody.stdout == ""
    assert "MoniteConnectionError: Could not reach Monite" in nobody.stderr


def test_usage_errors_exit_2_and_no_option_takes_a_credential(shell: Shell) -> None:
    assert shell("domains", "frobnicate").exit_code == 2
    assert shell("domains", "records", DOMAIN, "--format", "yaml").exit_code == 2
    assert shell("domains", "verify", DOMAIN, "--interval", "0").exit_code == 2
    assert shell("domains", "list", "--client-secret", "s").exit_code == 2
    assert shell("domains", "records", "nobody.example.com").exit_code == 2
    bad_version = shell("--api-version", "yesterday", "domains", "list")
    assert bad_version.exit_code == 2
    assert bad_version.stderr.startswith("monite-async: error: ConfigurationError: ")
    assert bad_version.stderr.rstrip().endswith("(no request id)")
    malformed = shell("domains", "create", "localhost")  # refused before anything is sent
    assert malformed.exit_code == 2
    assert malformed.stderr.startswith("monite-async: error: InvalidRequestError: ")
    assert shell.fake.requests_to("post_mailbox_domains") == []
    helps = "".join(
        shell(*command, "--help").stdout
        for command in [(), ("domains",), *(("domains", c) for c in ("list", "create", "records"))]
        + [("domains", c) for c in ("check", "verify", "delete")]
    )
    assert "secret" not in helps.replace("MONITE_CLIENT_SECRET", "")
    assert "--client-id" not in helps


@pytest.mark.parametrize("command", [["-m", "monite_async"], ["monite-async"]])
def test_python_m_and_the_console_script_are_the_same_program(command: list[str]) -> None:
    argv = (
        [sys.executable, *command]
        if command[0] == "-m"
        else [os.path.join(os.path.dirname(sys.executable), command[0])]
    )
    result = subprocess.run(  # noqa: S603
        [*argv, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("monite-async, version ")
    usage = subprocess.run(  # noqa: S603
        [*argv, "domains", "nothing"], capture_output=True, text=True, timeout=60, check=False
    )
    assert usage.returncode == 2


def test_without_click_python_m_says_which_extra() -> None:
    code = (
        "import importlib.util, sys\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name == 'click' else real(name, *a)\n"
        "import runpy; runpy.run_module('monite_async', run_name='__main__')\n"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert result.stderr == (
        "monite-async needs the 'cli' extra: pip install '.[cli]' from a checkout of monite_async\n"
    )
